//! Ingestion: a folder of Markdown, plain text and JSON Lines files into passages.
//!
//! Files are read in path order (so the same folder always gives the same passages, with the
//! same ids). A text is cut into sections at Markdown headings, sections into paragraphs at
//! blank lines, and paragraphs are packed into passages of at most
//! [`ChunkConfig::max_chars`] characters. A paragraph longer than that is cut at sentence ends
//! (else at spaces) into pieces that overlap by about [`ChunkConfig::overlap_chars`]; when a
//! passage closes because it is full, the next one starts with the last paragraph of the
//! previous one if that paragraph is no longer than the overlap, so a fact that straddles two
//! passages is whole in one of them.
//!
//! JSON Lines files hold one document per line: an object with `text` (required), `title`
//! (optional) and `_id` or `id` (optional; the line number otherwise) — the BEIR `corpus.jsonl`
//! format. A line that is not such an object is an error naming the file and line.
//!
//! Files that cannot be indexed are skipped and listed in [`IngestReport::skipped`] with the
//! reason: not UTF-8, larger than [`ChunkConfig::max_file_bytes`], an extension we do not read.
//! A corpus with no passage at all is an error.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Passage;
use crate::error::{Error, ErrorKind, Result};

/// How documents are cut into passages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChunkConfig {
    /// Longest passage, in characters. Default 1,200.
    pub max_chars: usize,
    /// Characters shared by consecutive pieces of a long paragraph. Default 200.
    pub overlap_chars: usize,
    /// Files larger than this are skipped. Default 32 MiB.
    pub max_file_bytes: u64,
}

impl Default for ChunkConfig {
    fn default() -> ChunkConfig {
        ChunkConfig {
            max_chars: 1200,
            overlap_chars: 200,
            max_file_bytes: 32 << 20,
        }
    }
}

impl ChunkConfig {
    /// Sets the longest passage (at least 64 characters) and the overlap (at most half of it).
    pub fn with_max_chars(mut self, max_chars: usize, overlap_chars: usize) -> ChunkConfig {
        self.max_chars = max_chars.max(64);
        self.overlap_chars = overlap_chars.min(self.max_chars / 2);
        self
    }
}

/// Why a file was not indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The file is not valid UTF-8.
    NotUtf8,
    /// The file is larger than [`ChunkConfig::max_file_bytes`].
    TooLarge {
        /// Its size in bytes.
        bytes: u64,
    },
    /// The file has no text (empty or white space only).
    Empty,
    /// Not a Markdown (`.md`, `.markdown`), text (`.txt`) or JSON Lines (`.jsonl`) file.
    UnknownType,
}

/// What ingestion read and what it left out.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct IngestReport {
    /// Files read.
    pub files: usize,
    /// Documents read (a file, or a JSON Lines record).
    pub documents: usize,
    /// Files left out, with the reason.
    pub skipped: Vec<(PathBuf, SkipReason)>,
}

/// One document before chunking.
struct Document {
    /// Document id: the path relative to the ingested folder, or a JSON Lines record's id.
    id: String,
    /// The file it came from, relative to the ingested folder.
    source: String,
    title: String,
    text: String,
    markdown: bool,
}

/// Reads every indexable file under `root` (a folder, or one file) into passages.
///
/// ```
/// use std::path::Path;
/// use promptveil::index::{ChunkConfig, ingest_path};
///
/// let (passages, report) = ingest_path(Path::new("fixtures/knowledge/clinic"), &ChunkConfig::default())?;
/// assert_eq!(report.files, 5);
/// let plan = passages.iter().find(|p| p.title.ends_with("Payment plans")).expect("a section");
/// assert_eq!(plan.source, "billing.md");
/// assert!(plan.id.as_str().starts_with("billing.md#"));
/// # Ok::<(), promptveil::Error>(())
/// ```
///
/// # Errors
///
/// [`ErrorKind::Io`] when `root` or a file cannot be read, [`ErrorKind::Corpus`] for a
/// malformed JSON Lines record or when no passage results.
pub fn ingest_path(root: &Path, config: &ChunkConfig) -> Result<(Vec<Passage>, IngestReport)> {
    let mut files = Vec::new();
    if root.is_dir() {
        walk(root, &mut files)?;
    } else {
        files.push(root.to_path_buf());
    }
    files.sort();
    let mut report = IngestReport::default();
    let mut passages = Vec::new();
    for path in files {
        let relative = if root.is_dir() {
            path.strip_prefix(root).unwrap_or(&path)
        } else {
            path.file_name().map_or(path.as_path(), Path::new)
        };
        let source = relative.to_string_lossy().replace('\\', "/");
        let kind = match path.extension().and_then(|e| e.to_str()) {
            Some("md" | "markdown") => Kind::Markdown,
            Some("txt") => Kind::Text,
            Some("jsonl") => Kind::JsonLines,
            _ => {
                report
                    .skipped
                    .push((relative.to_path_buf(), SkipReason::UnknownType));
                continue;
            }
        };
        let size = std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
        if size > config.max_file_bytes {
            report
                .skipped
                .push((relative.to_path_buf(), SkipReason::TooLarge { bytes: size }));
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let Ok(text) = String::from_utf8(bytes) else {
            report
                .skipped
                .push((relative.to_path_buf(), SkipReason::NotUtf8));
            continue;
        };
        if text.trim().is_empty() {
            report
                .skipped
                .push((relative.to_path_buf(), SkipReason::Empty));
            continue;
        }
        report.files += 1;
        let documents = match kind {
            Kind::JsonLines => json_lines(&path, &source, &text)?,
            Kind::Markdown | Kind::Text => vec![Document {
                id: source.clone(),
                title: file_title(&text, relative, kind == Kind::Markdown),
                source: source.clone(),
                text,
                markdown: kind == Kind::Markdown,
            }],
        };
        report.documents += documents.len();
        for doc in &documents {
            chunk_document(doc, config, &mut passages);
        }
    }
    if passages.is_empty() {
        return Err(Error::new(
            ErrorKind::Corpus,
            format!(
                "{}: no passage to index ({} files read, {} skipped)",
                root.display(),
                report.files,
                report.skipped.len()
            ),
        ));
    }
    Ok((passages, report))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Markdown,
    Text,
    JsonLines,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        // Hidden files and folders (`.git`) are not documents.
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// A Markdown file's first `# ` heading, else a text's first line if short, else the file
/// name without extension.
fn file_title(text: &str, path: &Path, markdown: bool) -> String {
    if markdown && let Some(h) = text.lines().find_map(|l| l.strip_prefix("# ")) {
        return h.trim().to_string();
    }
    path.file_stem()
        .map(|s| s.to_string_lossy().replace(['-', '_'], " "))
        .unwrap_or_default()
}

fn json_lines(path: &Path, source: &str, text: &str) -> Result<Vec<Document>> {
    #[derive(Deserialize)]
    struct Record {
        #[serde(rename = "_id", alias = "id", default)]
        id: Option<serde_json::Value>,
        #[serde(default)]
        title: Option<String>,
        text: String,
    }
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(line).map_err(|e| {
            // serde_json's message names the expected type and column, never the value.
            Error::new(
                ErrorKind::Corpus,
                format!(
                    "{}:{}: not a JSON object with a \"text\" string: {}",
                    path.display(),
                    n + 1,
                    e
                ),
            )
        })?;
        let id = match record.id {
            Some(serde_json::Value::String(s)) => s,
            Some(serde_json::Value::Number(x)) => x.to_string(),
            _ => format!("{source}:{}", n + 1),
        };
        out.push(Document {
            id,
            source: source.to_string(),
            title: record.title.unwrap_or_default(),
            text: record.text,
            markdown: false,
        });
    }
    Ok(out)
}

/// A stretch of a document's text: a paragraph, under the section title in force.
struct Block {
    range: Range<usize>,
    title: Option<String>,
    /// Starts a new section (a heading came before it).
    section_start: bool,
}

fn blocks(doc: &Document) -> Vec<Block> {
    let text = doc.text.as_str();
    let mut out = Vec::new();
    let mut title: Option<String> = None;
    let mut section_start = true;
    let mut para_start: Option<usize> = None;
    let mut offset = 0;
    let mut close = |start: Option<usize>, end: usize, title: &Option<String>, new: &mut bool| {
        if let Some(s) = start {
            let body = text.get(s..end).unwrap_or_default();
            let trimmed_end = s + body.trim_end().len();
            if trimmed_end > s {
                out.push(Block {
                    range: s..trimmed_end,
                    title: title.clone(),
                    section_start: *new,
                });
                *new = false;
            }
        }
    };
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        let heading = doc.markdown
            && trimmed.starts_with('#')
            && trimmed.trim_start_matches('#').starts_with(' ');
        if trimmed.is_empty() || heading {
            close(para_start.take(), offset, &title, &mut section_start);
            if heading {
                title = Some(trimmed.trim_start_matches('#').trim().to_string());
                section_start = true;
            }
        } else if para_start.is_none() {
            para_start = Some(offset + (line.len() - line.trim_start().len()));
        }
        offset += line.len();
    }
    close(para_start.take(), offset, &title, &mut section_start);
    out
}

/// Cuts one document into passages, appending to `out`.
fn chunk_document(doc: &Document, config: &ChunkConfig, out: &mut Vec<Passage>) {
    let text = doc.text.as_str();
    let chars = |r: &Range<usize>| text.get(r.clone()).map_or(0, |s| s.chars().count());
    let mut pieces: Vec<(Range<usize>, Option<String>, bool)> = Vec::new();
    for b in blocks(doc) {
        if chars(&b.range) <= config.max_chars {
            pieces.push((b.range, b.title, b.section_start));
        } else {
            let mut first = b.section_start;
            for r in split_long(text, b.range, config) {
                pieces.push((r, b.title.clone(), first));
                first = false;
            }
        }
    }
    let mut n = 0;
    let mut current: Option<(Range<usize>, Option<String>)> = None;
    let mut last_piece: Option<Range<usize>> = None;
    let mut emit = |range: Range<usize>, title: Option<String>, n: &mut usize| {
        let body = text.get(range.clone()).unwrap_or_default().to_string();
        let title = match title {
            Some(section) if !doc.title.is_empty() && section != doc.title => {
                format!("{} — {}", doc.title, section)
            }
            Some(section) => section,
            None => doc.title.clone(),
        };
        out.push(Passage {
            id: format!("{}#{}", doc.id, *n).into(),
            doc: doc.id.clone(),
            source: doc.source.clone(),
            title,
            range,
            text: body,
        });
        *n += 1;
    };
    for (range, title, section_start) in pieces {
        match current.take() {
            Some((cur, cur_title))
                if !section_start && chars(&(cur.start..range.end)) <= config.max_chars =>
            {
                current = Some((cur.start..range.end, cur_title));
            }
            Some((cur, cur_title)) => {
                let full = !section_start;
                emit(cur, cur_title, &mut n);
                // A passage closed because it was full starts the next with its last
                // paragraph, when that is short enough to be the overlap.
                let start = match &last_piece {
                    Some(p)
                        if full
                            && chars(p) <= config.overlap_chars
                            && chars(&(p.start..range.end)) <= config.max_chars =>
                    {
                        p.start
                    }
                    _ => range.start,
                };
                current = Some((start..range.end, title));
            }
            None => current = Some((range.clone(), title)),
        }
        last_piece = Some(range);
    }
    if let Some((cur, title)) = current {
        emit(cur, title, &mut n);
    }
}

/// Cuts an overlong paragraph into pieces of at most `max_chars` characters, at sentence ends
/// (else spaces, else anywhere on a character boundary), consecutive pieces overlapping by about
/// `overlap_chars`.
fn split_long(text: &str, range: Range<usize>, config: &ChunkConfig) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = range.start;
    while start < range.end {
        let rest = text.get(start..range.end).unwrap_or_default();
        let limit = rest
            .char_indices()
            .nth(config.max_chars)
            .map_or(rest.len(), |(i, _)| i);
        if limit == rest.len() {
            out.push(start..range.end);
            break;
        }
        let window = rest.get(..limit).unwrap_or_default();
        let half = limit / 2;
        let cut = window
            .match_indices(['.', '!', '?'])
            .map(|(i, _)| i + 1)
            .rfind(|&i| {
                i >= half
                    && window
                        .get(i..)
                        .is_some_and(|r| r.starts_with(char::is_whitespace))
            })
            .or_else(|| window.rfind(char::is_whitespace).filter(|&i| i >= half))
            .unwrap_or(limit);
        let end = start + cut;
        out.push(start..start + window.get(..cut).unwrap_or_default().trim_end().len());
        // Step back about `overlap_chars` characters, to a word start.
        let piece = text.get(start..end).unwrap_or_default();
        let back = piece
            .char_indices()
            .rev()
            .nth(config.overlap_chars)
            .map_or(0, |(i, _)| i);
        let next = piece
            .get(back..)
            .and_then(|s| s.find(char::is_whitespace).map(|w| back + w))
            .map_or(end, |w| start + w);
        let next = text
            .get(next..range.end)
            .map_or(end, |s| next + (s.len() - s.trim_start().len()));
        start = if next > start && next < end {
            next
        } else {
            end
        };
        // Skip the white space at the cut itself.
        start += text
            .get(start..range.end)
            .map_or(0, |s| s.len() - s.trim_start().len());
    }
    out.retain(|r| r.end > r.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str, markdown: bool) -> Document {
        Document {
            id: "guide.md".into(),
            source: "guide.md".into(),
            title: "Guide".into(),
            text: text.into(),
            markdown,
        }
    }

    fn chunks(text: &str, markdown: bool, max: usize, overlap: usize) -> Vec<Passage> {
        let mut out = Vec::new();
        let config = ChunkConfig::default().with_max_chars(max, overlap);
        chunk_document(&doc(text, markdown), &config, &mut out);
        out
    }

    #[test]
    fn headings_start_passages_and_name_them() {
        let text = "# Guide\n\nIntro line.\n\n## Refunds\n\nRefunds take five days.\n\nAsk the desk.\n\n## Hours\n\nOpen at nine.\n";
        let p = chunks(text, true, 400, 50);
        let got: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.title.as_str(), p.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("Guide", "Intro line."),
                (
                    "Guide — Refunds",
                    "Refunds take five days.\n\nAsk the desk."
                ),
                ("Guide — Hours", "Open at nine."),
            ]
        );
        // Ids are stable and byte ranges point into the source text.
        assert_eq!(p[1].id, "guide.md#1");
        for passage in &p {
            assert_eq!(&text[passage.range.clone()], passage.text);
        }
    }

    #[test]
    fn long_paragraphs_are_cut_at_sentences_with_overlap_and_bounded() {
        let sentence = "The clinic opens at nine and closes at five on weekdays. ";
        let text = sentence.repeat(40);
        let p = chunks(&text, false, 300, 60);
        assert!(p.len() >= 8, "{}", p.len());
        for (a, b) in p.iter().zip(p.iter().skip(1)) {
            assert!(a.text.chars().count() <= 300);
            assert!(b.range.start < a.range.end, "consecutive pieces overlap");
            assert!(a.text.ends_with('.'), "cut at a sentence end: {:?}", a.text);
        }
        assert_eq!(p.last().map(|x| x.range.end), Some(text.trim_end().len()));
    }

    #[test]
    fn full_passages_carry_a_short_last_paragraph_over() {
        let text = "A long first paragraph about billing codes and claims.\n\nShort fact.\n\nAnother long paragraph about appointment scheduling rules.";
        let p = chunks(text, false, 80, 20);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[1].text.starts_with("Short fact."), "{:?}", p[1].text);
    }

    #[test]
    fn text_without_boundaries_is_still_cut() {
        let text = "x".repeat(1000);
        let p = chunks(&text, false, 100, 10);
        assert!(p.iter().all(|x| x.text.chars().count() <= 100));
        assert_eq!(p.last().map(|x| x.range.end), Some(1000));
    }
}
