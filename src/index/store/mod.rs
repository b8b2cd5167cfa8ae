//! The on-disk (or in-RAM) knowledge index: a tantivy BM25 index over passages and a manifest
//! naming what it holds and what built it.
//!
//! Layout of an index directory:
//!
//! ```text
//! PATH/promptveil-index.json   manifest: format, counts, embedding model (if any)
//! PATH/documents.json          document ids, in ingestion order
//! PATH/meta.json, PATH/*.idx…  tantivy's files
//! ```
//!
//! An index is written whole into a temporary sibling directory and renamed into place, so a
//! reader never sees a half-written index and a failed build leaves the old one untouched. A
//! directory that exists and is not a promptveil index is never overwritten.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::BooleanQuery;
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

mod disk;

use super::Passage;
use crate::error::{Error, ErrorKind, Result};
use disk::{
    check_passages, check_replaceable, manifest_for, read_manifest, write_json, write_manifest,
    write_passages,
};
#[cfg(feature = "embeddings")]
use disk::{embedded_text, reuse_vectors};

/// The manifest's file name inside an index directory.
pub(crate) const MANIFEST: &str = "promptveil-index.json";
/// The document ids' file inside an index directory.
const DOCUMENTS: &str = "documents.json";
/// The manifest format this version writes and reads.
const FORMAT: u32 = 1;
/// Memory budget of the single indexing thread.
const WRITER_BYTES: usize = 64 << 20;

/// What an index holds and what built it, stored next to tantivy's files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Manifest {
    /// Manifest format version.
    pub format: u32,
    /// Number of passages.
    pub passages: u64,
    /// Number of distinct documents.
    pub documents: u64,
    /// The embedding model that made `vectors.f32`, when the index has vectors.
    pub embedding: Option<EmbeddingInfo>,
}

/// The model behind an index's vectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbeddingInfo {
    /// Model name, e.g. `all-MiniLM-L6-v2-int8`.
    pub model: String,
    /// Vector length.
    pub dims: usize,
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    doc: Field,
    source: Field,
    title: Field,
    text: Field,
    start: Field,
    end: Field,
    ord: Field,
    doc_ord: Field,
    content: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = b.add_text_field("id", STRING | STORED);
    let doc = b.add_text_field("doc", STRING | STORED);
    let source = b.add_text_field("source", STORED);
    let title = b.add_text_field("title", STORED);
    let text = b.add_text_field("text", STORED);
    let start = b.add_u64_field("start", STORED);
    let end = b.add_u64_field("end", STORED);
    let ord = b.add_u64_field("ord", tantivy::schema::FAST | STORED);
    let doc_ord = b.add_u64_field("doc_ord", tantivy::schema::FAST);
    // Title and body searched together: one combined field, English stemming, term
    // frequencies without positions (no phrase queries are made).
    let content = b.add_text_field(
        "content",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("en_stem")
                .set_index_option(IndexRecordOption::WithFreqs),
        ),
    );
    (
        b.build(),
        Fields {
            id,
            doc,
            source,
            title,
            text,
            start,
            end,
            ord,
            doc_ord,
            content,
        },
    )
}

fn index_error(
    what: impl Into<String>,
    e: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::new(ErrorKind::Index, what).with_source(e)
}

/// A BM25 hit before its passage is read: the passage's ordinal and score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scored {
    pub(crate) ord: u32,
    pub(crate) score: f32,
}

/// A built knowledge index, open for search. Cheap to share behind an `Arc`; every search
/// takes its own reader snapshot.
pub struct KnowledgeIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    manifest: Manifest,
    /// Where each passage lives, by ordinal.
    address: Vec<DocAddress>,
    /// Each segment's documents' ordinals.
    ords: Vec<Vec<u32>>,
    /// Each passage's document, by passage ordinal, as an index into `documents`.
    doc_of: Vec<u32>,
    /// Document ids, in first-seen order (`documents.json` on disk).
    documents: Vec<String>,
    path: Option<PathBuf>,
    #[cfg(feature = "embeddings")]
    vectors: Option<super::dense::Vectors>,
}

impl std::fmt::Debug for KnowledgeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeIndex")
            .field("path", &self.path)
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

impl KnowledgeIndex {
    /// Builds an index of `passages` in `dir`, replacing the index there if there is one.
    ///
    /// The index is written into a temporary sibling directory and renamed into place.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Corpus`] when `passages` is empty, [`ErrorKind::Index`] when `dir` exists
    /// and is neither empty nor a promptveil index, [`ErrorKind::Io`] when writing fails.
    pub fn build(dir: &Path, passages: &[Passage]) -> Result<KnowledgeIndex> {
        Self::build_files(dir, passages, None, |_| Ok(()))
    }

    /// Builds an index of `passages` in `dir` with their vectors from `embedder` (title and
    /// text embedded together), replacing the index there if there is one. Passages that
    /// index already holds unchanged, with vectors of the same model, keep their vectors
    /// rather than being embedded again.
    ///
    /// # Errors
    ///
    /// As [`KnowledgeIndex::build`], and [`ErrorKind::Model`] when embedding fails.
    #[cfg(feature = "embeddings")]
    pub fn build_with_embeddings(
        dir: &Path,
        passages: &[Passage],
        embedder: &super::Embedder,
    ) -> Result<KnowledgeIndex> {
        Self::build_with_embeddings_progress(dir, passages, embedder, &mut |_, _| {})
    }

    /// [`build_with_embeddings`](KnowledgeIndex::build_with_embeddings), calling
    /// `progress(done, total)` once before embedding (`done` = 0, `total` = the passages to
    /// embed) and after each batch (embedding is the long part: minutes for thousands of
    /// passages).
    ///
    /// When `dir` already holds an index built with the same model, the vectors of passages
    /// whose title and text are unchanged are taken from it rather than embedded again, so
    /// re-indexing a folder where a few files changed embeds only those files' passages
    /// (`total` counts the others).
    ///
    /// # Errors
    ///
    /// As [`KnowledgeIndex::build_with_embeddings`].
    #[cfg(feature = "embeddings")]
    pub fn build_with_embeddings_progress(
        dir: &Path,
        passages: &[Passage],
        embedder: &super::Embedder,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<KnowledgeIndex> {
        check_passages(passages)?;
        let texts: Vec<String> = passages.iter().map(embedded_text).collect();
        let dims = embedder.info().dims;
        let mut data = vec![0.0_f32; passages.len() * dims];
        let reused = reuse_vectors(dir, embedder.info(), &texts, &mut data);
        // Embedded in order of length, so each batch pads to a similar length; rows are put
        // back in passage order.
        let mut order: Vec<usize> = (0..texts.len())
            .filter(|&i| reused.get(i) != Some(&true))
            .collect();
        order.sort_by_key(|&i| texts.get(i).map_or(0, String::len));
        let mut done = 0;
        progress(0, order.len());
        for chunk in order.chunks(256) {
            let refs: Vec<&str> = chunk
                .iter()
                .filter_map(|&i| texts.get(i).map(String::as_str))
                .collect();
            for (&i, v) in chunk.iter().zip(embedder.embed(&refs)?) {
                if let Some(row) = data.get_mut(i * dims..(i + 1) * dims) {
                    row.copy_from_slice(&v);
                }
            }
            done += chunk.len();
            progress(done, order.len());
        }
        let vectors = super::dense::Vectors::new(dims, data)?;
        Self::build_files(dir, passages, Some(embedder.info().clone()), |tmp| {
            vectors.write(tmp)
        })
    }

    /// The vector of passage `ord`, when the index has vectors.
    #[cfg(feature = "embeddings")]
    fn vector(&self, ord: usize) -> Option<&[f32]> {
        self.vectors.as_ref()?.row(ord)
    }

    fn build_files(
        dir: &Path,
        passages: &[Passage],
        embedding: Option<EmbeddingInfo>,
        extra: impl Fn(&Path) -> Result<()>,
    ) -> Result<KnowledgeIndex> {
        check_passages(passages)?;
        if dir.exists() {
            check_replaceable(dir)?;
        }
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "index".into());
        let unique = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let tmp = parent.join(format!(".{name}.building-{unique}"));
        let result = (|| {
            std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
            let (schema, fields) = schema();
            let index = Index::create_in_dir(&tmp, schema).map_err(|e| {
                index_error(format!("cannot create an index in {}", tmp.display()), e)
            })?;
            let documents = write_passages(&index, fields, passages)?;
            let manifest = manifest_for(passages, embedding.clone());
            write_json(&tmp.join(DOCUMENTS), &documents)?;
            extra(&tmp)?;
            // The manifest last: a directory without one is not an index.
            write_manifest(&tmp, &manifest)?;
            Ok::<(), Error>(())
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        // Swap: the old index (if any) aside, the new one in, the old one removed.
        let old = parent.join(format!(".{name}.old-{unique}"));
        let had_old = dir.exists();
        if had_old {
            std::fs::rename(dir, &old).map_err(|e| Error::io(dir, e))?;
        }
        if let Err(e) = std::fs::rename(&tmp, dir) {
            if had_old {
                let _ = std::fs::rename(&old, dir);
            }
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(Error::io(dir, e));
        }
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        KnowledgeIndex::open(dir)
    }

    /// Builds an index of `passages` in memory (nothing on disk).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Corpus`] when `passages` is empty.
    pub fn build_in_ram(passages: &[Passage]) -> Result<KnowledgeIndex> {
        check_passages(passages)?;
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        let documents = write_passages(&index, fields, passages)?;
        let manifest = manifest_for(passages, None);
        KnowledgeIndex::from_index(index, fields, manifest, documents, None)
    }

    /// Opens the index in `dir` for search (memory-mapped).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Index`] when `dir` is not a promptveil index, its manifest or files are
    /// corrupt, or the files disagree with the manifest.
    pub fn open(dir: &Path) -> Result<KnowledgeIndex> {
        let manifest = read_manifest(dir)?;
        let index = Index::open_in_dir(dir).map_err(|e| {
            index_error(
                format!("{}: the tantivy index cannot be opened", dir.display()),
                e,
            )
        })?;
        let (expected, _) = schema();
        if index.schema() != expected {
            return Err(Error::new(
                ErrorKind::Index,
                format!(
                    "{}: the index schema is not the one this version writes",
                    dir.display()
                ),
            ));
        }
        let (_, fields) = schema();
        let path = dir.join(DOCUMENTS);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let documents: Vec<String> = serde_json::from_slice(&bytes).map_err(|e| {
            index_error(
                format!("{}: the document list is corrupt", path.display()),
                e,
            )
        })?;
        if documents.len() as u64 != manifest.documents {
            return Err(Error::new(
                ErrorKind::Index,
                format!(
                    "{}: {} documents, the manifest says {}",
                    path.display(),
                    documents.len(),
                    manifest.documents
                ),
            ));
        }
        let opened = KnowledgeIndex::from_index(
            index,
            fields,
            manifest,
            documents,
            Some(dir.to_path_buf()),
        )?;
        #[cfg(feature = "embeddings")]
        let opened = {
            let mut opened = opened;
            if let Some(info) = &opened.manifest.embedding {
                opened.vectors = Some(super::dense::Vectors::read(dir, info.dims, opened.len())?);
            }
            opened
        };
        Ok(opened)
    }

    fn from_index(
        index: Index,
        fields: Fields,
        manifest: Manifest,
        documents: Vec<String>,
        path: Option<PathBuf>,
    ) -> Result<KnowledgeIndex> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| index_error("cannot open an index reader", e))?;
        let searcher = reader.searcher();
        let total = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
        if total as u64 != manifest.passages {
            return Err(Error::new(
                ErrorKind::Index,
                format!(
                    "{}: the index holds {total} passages, its manifest says {}",
                    path.as_deref()
                        .map_or_else(|| "<ram>".into(), |p| p.display().to_string()),
                    manifest.passages
                ),
            ));
        }
        let corrupt = || {
            Error::new(
                ErrorKind::Index,
                "a passage or document ordinal is out of range: the index is corrupt",
            )
        };
        let mut address = vec![DocAddress::new(0, 0); total];
        let mut doc_of = vec![0_u32; total];
        let mut ords = Vec::with_capacity(searcher.segment_readers().len());
        for (seg, reader) in searcher.segment_readers().iter().enumerate() {
            let column = |name: &str| {
                reader
                    .fast_fields()
                    .u64(name)
                    .map_err(|e| index_error("the passage ordinals cannot be read", e))
            };
            let (ord_col, doc_col) = (column("ord")?, column("doc_ord")?);
            let mut seg_ords = Vec::with_capacity(reader.max_doc() as usize);
            for doc in 0..reader.max_doc() {
                let ord = ord_col.first(doc).unwrap_or(u64::MAX);
                let d = doc_col.first(doc).unwrap_or(u64::MAX);
                let o = usize::try_from(ord).map_err(|_| corrupt())?;
                let slot = address.get_mut(o).ok_or_else(corrupt)?;
                *slot = DocAddress::new(seg as u32, doc);
                let d = u32::try_from(d)
                    .ok()
                    .filter(|&d| (d as usize) < documents.len())
                    .ok_or_else(corrupt)?;
                if let Some(slot) = doc_of.get_mut(o) {
                    *slot = d;
                }
                seg_ords.push(ord as u32);
            }
            ords.push(seg_ords);
        }
        Ok(KnowledgeIndex {
            index,
            reader,
            fields,
            manifest,
            address,
            ords,
            doc_of,
            documents,
            path,
            #[cfg(feature = "embeddings")]
            vectors: None,
        })
    }

    /// What the index holds and what built it.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Number of passages.
    pub fn len(&self) -> usize {
        self.address.len()
    }

    /// True when the index holds no passage (never, for an index this crate built).
    pub fn is_empty(&self) -> bool {
        self.address.is_empty()
    }

    /// Where the index lives, when on disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Every passage, in index (ingestion) order: for exports and checks such as
    /// [`PublicCheck`](crate::pipeline::guard::PublicCheck). Each is read from the store as it is reached.
    ///
    /// ```
    /// use promptveil::index::{KnowledgeIndex, Passage};
    ///
    /// let index = KnowledgeIndex::build_in_ram(&[
    ///     Passage::new("a.md#0", "a.md", "A", "First."),
    ///     Passage::new("b.md#0", "b.md", "B", "Second."),
    /// ])?;
    /// let ids: Vec<promptveil::index::PassageId> = index.passages().map(|p| p.map(|p| p.id)).collect::<Result<_, _>>()?;
    /// assert_eq!(ids, ["a.md#0", "b.md#0"]);
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    pub fn passages(&self) -> impl Iterator<Item = Result<Passage>> + '_ {
        (0..self.len()).map(|ord| self.passage(ord as u32))
    }

    /// Most terms of one BM25 query (the rarest are kept).
    const MAX_QUERY_TERMS: usize = 32;

    /// The `k` best passages for `query` by BM25 (ordinals and scores, best first; equal
    /// scores in passage order). The query is plain text: it is analysed like the passages
    /// (English stemming) and every term may match; no query syntax is interpreted.
    pub(crate) fn bm25(&self, query: &str, k: usize) -> Result<Vec<Scored>> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let mut analyzer = self
            .index
            .tokenizer_for_field(self.fields.content)
            .map_err(|e| index_error("the index has no analyser for its text", e))?;
        let mut stream = analyzer.token_stream(query);
        let mut seen = HashSet::new();
        let mut terms = Vec::new();
        while stream.advance() {
            let token = stream.token();
            if seen.insert(token.text.clone()) {
                terms.push(Term::from_field_text(self.fields.content, &token.text));
            }
        }
        let searcher = self.reader.searcher();
        // Terms in more than half of the passages ("the", "and", "of") weigh almost nothing in
        // BM25 (idf < ln 2, against 5 to 8 for a content word) but cost the most to score:
        // their posting lists are the longest. A long prompt holds dozens of them, so they are
        // left out of the query; a query of nothing but such terms keeps them.
        //
        // A long query keeps its MAX_QUERY_TERMS rarest terms, the ones that tell passages
        // apart: scoring cost grows with every term's posting list, and a 2 KB prompt holds
        // ~90 distinct terms. (SciFact's queries have fewer; their ranking is unchanged.)
        let half = searcher.num_docs() / 2;
        let mut weighed: Vec<(u64, usize, Term)> = terms
            .into_iter()
            .enumerate()
            .map(|(i, t)| (searcher.doc_freq(&t).unwrap_or(0), i, t))
            .collect();
        // Only terms the index holds count as telling passages apart: in an index of one or
        // two passages every term it holds is in "more than half", and dropping them all for
        // the absent ones would find nothing.
        if weighed.iter().any(|(n, _, _)| *n > 0 && *n <= half) {
            weighed.retain(|(n, _, _)| *n <= half);
        }
        if weighed.len() > Self::MAX_QUERY_TERMS {
            weighed.sort_by_key(|(n, i, _)| (*n, *i));
            weighed.truncate(Self::MAX_QUERY_TERMS);
        }
        let terms: Vec<Term> = weighed.into_iter().map(|(_, _, t)| t).collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let query = BooleanQuery::new_multiterms_query(terms);
        let top = searcher
            .search(&query, &TopDocs::with_limit(k))
            .map_err(|e| index_error("the search failed", e))?;
        let mut out: Vec<Scored> = top
            .into_iter()
            .filter_map(|(score, addr)| {
                let ord = self
                    .ords
                    .get(addr.segment_ord as usize)?
                    .get(addr.doc_id as usize)?;
                Some(Scored { ord: *ord, score })
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ord.cmp(&b.ord)));
        Ok(out)
    }

    /// The `k` passages whose vectors are closest to `query` (a unit vector).
    #[cfg(feature = "embeddings")]
    pub(crate) fn dense(&self, query: &[f32], k: usize) -> Result<Vec<Scored>> {
        let vectors = self.vectors.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "this index has no vectors: rebuild it with embeddings for dense or hybrid search",
            )
        })?;
        Ok(vectors.top_k(query, k))
    }

    /// The id of the document passage `ord` belongs to.
    pub(crate) fn document_of(&self, ord: u32) -> Option<&str> {
        let d = *self.doc_of.get(ord as usize)?;
        self.documents.get(d as usize).map(String::as_str)
    }

    /// Reads the passage with ordinal `ord`.
    pub(crate) fn passage(&self, ord: u32) -> Result<Passage> {
        let addr = *self.address.get(ord as usize).ok_or_else(|| {
            Error::new(
                ErrorKind::Index,
                "no passage with that ordinal in the index",
            )
        })?;
        let searcher = self.reader.searcher();
        let doc: TantivyDocument = searcher
            .doc(addr)
            .map_err(|e| index_error("a stored passage cannot be read", e))?;
        let text = |f: Field| {
            doc.get_first(f)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let num = |f: Field| {
            doc.get_first(f)
                .and_then(|v| v.as_u64())
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0)
        };
        Ok(Passage {
            id: text(self.fields.id).into(),
            doc: text(self.fields.doc),
            source: text(self.fields.source),
            title: text(self.fields.title),
            range: num(self.fields.start)..num(self.fields.end),
            text: text(self.fields.text),
        })
    }
}
