//! Column headers as context: in a table (CSV, TSV, pipe or Markdown rows), the word that
//! says what a value is stands in the header of its column, often far above it.
//!
//! A table is a run of consecutive lines split by one delimiter (tab, `|`, `;` or `,`, the
//! first of these a line holds). Its header is
//! - the run's first line, when it holds no digit (header cells are names), and at least one
//!   row follows; or
//! - the line right before the run, when it splits by some delimiter into as many cells as
//!   the run's first line ("the columns are (name, national_id, birth):" above pipe rows).
//!
//! A header's cells are names: none longer than a few words (a paragraph whose lines hold
//! commas is no table), and a lead-in before the last `(` of a line above the rows is not a
//! cell. A value in a row then has, as context, the header cell of the column it stands in
//! (the number of delimiters before it on its line), its last [`HEADER_TOKENS`] tokens.
//! Rows may hold more delimiters than the header (a decimal comma in an amount), never fewer.

/// How many tokens at the end of a header cell count as context.
pub(crate) const HEADER_TOKENS: usize = 3;

/// The delimiters, in the order a line's own delimiter is chosen.
const DELIMITERS: [u8; 4] = [b'\t', b'|', b';', b','];

/// Longest header cell, in bytes and in tokens: a header cell is a name; longer comma-separated
/// pieces are prose (a paragraph whose lines all hold commas is no table).
const MAX_CELL_BYTES: usize = 40;
const MAX_CELL_TOKENS: usize = 4;

/// A table row: the line's range, its delimiter, and where its columns' header cells are in
/// [`Tables::cells`].
#[derive(Debug, Clone, Copy)]
struct Row {
    start: usize,
    end: usize,
    delim: u8,
    cells: (usize, usize),
}

/// The table rows of one text (sorted), built once on first need.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    rows: Vec<Row>,
    /// Each header's cells, as the byte ranges of their last [`HEADER_TOKENS`] tokens.
    cells: Vec<(usize, usize)>,
}

fn count(line: &[u8], d: u8) -> usize {
    memchr::memchr_iter(d, line).count()
}

/// The header cells of the line at `start..end` split by `d`, trimmed to their last tokens,
/// when every cell is short enough to be a name. A lead-in before the last `(` is dropped
/// ("the columns are (name, tax_id, gross):").
fn header_cells(text: &str, (start, end): (usize, usize), d: u8) -> Option<Vec<(usize, usize)>> {
    let line = text.get(start..end)?;
    let (mut at, body) = match line.rfind('(') {
        Some(i) if d != b'|' => (start + i + 1, line.get(i + 1..)?),
        _ => (start, line),
    };
    let body = body.trim_end_matches([')', ':', ' ', '\t', '\r']);
    let mut out = Vec::new();
    for cell in body.split(char::from(d)) {
        let tokens: Vec<usize> = token_starts(cell);
        if cell.len() > MAX_CELL_BYTES || tokens.len() > MAX_CELL_TOKENS {
            return None;
        }
        let from = tokens
            .len()
            .checked_sub(HEADER_TOKENS)
            .and_then(|k| tokens.get(k))
            .or(tokens.first())
            .copied()
            .unwrap_or(cell.len());
        out.push((at + from, at + cell.len()));
        at += cell.len() + 1;
    }
    (out.len() >= 2).then_some(out)
}

/// Where each run of letters and digits in `s` starts.
fn token_starts(s: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut in_token = false;
    for (i, c) in s.char_indices() {
        let word = c.is_alphanumeric();
        if word && !in_token {
            out.push(i);
        }
        in_token = word;
    }
    out
}

/// One line, read once: its range, its delimiter and how many times it holds it.
#[derive(Debug, Clone, Copy)]
struct LineInfo {
    start: usize,
    end: usize,
    delim: Option<u8>,
    count: usize,
}

impl LineInfo {
    /// The line at `start..end`, given how many tabs, pipes, semicolons and commas it holds:
    /// its delimiter is the first of these it holds at all.
    fn new(start: usize, end: usize, counts: [usize; 4]) -> LineInfo {
        let (delim, count) = DELIMITERS
            .into_iter()
            .zip(counts)
            .find(|&(_, n)| n > 0)
            .map_or((None, 0), |(d, n)| (Some(d), n));
        LineInfo {
            start,
            end,
            delim,
            count,
        }
    }

    fn has_digit(&self, b: &[u8]) -> bool {
        b.get(self.start..self.end)
            .unwrap_or_default()
            .iter()
            .any(u8::is_ascii_digit)
    }
}

impl Tables {
    /// Finds the tables of `text` (one pass over its bytes, then one over its lines).
    pub(crate) fn new(text: &str) -> Tables {
        let mut tables = Tables::default();
        let b = text.as_bytes();
        if memchr::memchr3(b'\t', b'|', b';', b).is_none() && memchr::memchr(b',', b).is_none() {
            return tables;
        }
        // The delimiters are found by vectorised searches over the whole text and counted
        // into their lines: a search call per line cost more than all the rest of a clean
        // text's redaction.
        let mut rare = memchr::memchr3_iter(b'\t', b'|', b';', b).peekable();
        let mut commas = memchr::memchr_iter(b',', b).peekable();
        let mut lines: Vec<LineInfo> = Vec::new();
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', b).chain(std::iter::once(b.len()));
        for end in ends {
            let mut counts = [0usize; 4];
            while let Some(p) = rare.next_if(|&p| p < end) {
                let slot = match b.get(p) {
                    Some(b'\t') => 0,
                    Some(b'|') => 1,
                    _ => 2,
                };
                if let Some(n) = counts.get_mut(slot) {
                    *n += 1;
                }
            }
            let n_commas = std::iter::from_fn(|| commas.next_if(|&p| p < end)).count();
            if let Some(n) = counts.get_mut(3) {
                *n = n_commas;
            }
            lines.push(LineInfo::new(start, end, counts));
            start = end + 1;
        }
        if lines.len() < 2 {
            return tables;
        }
        let mut i = 0;
        while i < lines.len() {
            let Some(first) = lines.get(i).copied() else {
                break;
            };
            let Some(d) = first.delim else {
                i += 1;
                continue;
            };
            let mut j = i + 1;
            while lines.get(j).is_some_and(|l| l.delim == Some(d)) {
                j += 1;
            }
            let own = (j > i + 1 && !first.has_digit(b))
                .then(|| header_cells(text, (first.start, first.end), d).map(|h| (h, i + 1..j)))
                .flatten();
            let before = || {
                let prev = i.checked_sub(1).and_then(|p| lines.get(p))?;
                let pd = prev.delim.filter(|&pd| pd != d)?;
                let h = header_cells(text, (prev.start, prev.end), pd)?;
                (h.len() == first.count + 1).then_some((h, i..j))
            };
            if let Some((header, rows)) = own.or_else(before) {
                let from = tables.cells.len();
                let min = header.len() - 1;
                tables.cells.extend(header);
                let range = (from, tables.cells.len());
                for l in lines.get(rows).unwrap_or_default() {
                    if l.count >= min {
                        tables.rows.push(Row {
                            start: l.start,
                            end: l.end,
                            delim: d,
                            cells: range,
                        });
                    }
                }
            }
            i = j;
        }
        tables
    }

    /// The context part (last tokens) of the header cell of the column that byte `pos` of
    /// `text` stands in, as a byte range, when `pos` is in a table row.
    pub(crate) fn header_cell(&self, text: &str, pos: usize) -> Option<(usize, usize)> {
        let k = self
            .rows
            .partition_point(|r| r.start <= pos)
            .checked_sub(1)?;
        let row = self.rows.get(k).filter(|r| pos <= r.end)?;
        let column = count(text.as_bytes().get(row.start..pos)?, row.delim);
        self.cells
            .get(row.cells.0..row.cells.1)?
            .get(column)
            .copied()
            .filter(|(a, b)| a < b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'t>(text: &'t str, needle: &str) -> Option<&'t str> {
        let pos = text.find(needle)?;
        let (a, b) = Tables::new(text).header_cell(text, pos)?;
        text.get(a..b)
    }

    #[test]
    fn csv_rows_take_their_column_header() {
        let t = "name,tax_id,gross\nAnna Roth,12 345 678 901,EUR 2.821,50\nBo Li,98765432109,9\n";
        assert_eq!(header(t, "12 345"), Some("tax_id"));
        assert_eq!(header(t, "98765"), Some("tax_id"));
        assert_eq!(header(t, "Bo Li"), Some("name"));
        // The decimal comma adds a cell; the columns before it keep their headers.
        assert_eq!(header(t, "EUR"), Some("gross"));
    }

    #[test]
    fn a_line_of_names_above_pipe_rows_is_their_header() {
        let t = "Columns (name, member_no, born):\nA B | 123456 | 1970\nC D | 654321 | 1980";
        assert_eq!(header(t, "654321"), Some("member_no"));
        let t = "| who | id |\n|---|---|\n| Ann | 778899 |";
        assert_eq!(header(t, "778899"), Some("id "));
    }

    #[test]
    fn prose_and_data_without_a_header_have_none() {
        assert_eq!(header("Call me, maybe, at 555 0199", "555"), None);
        let t = "1,2,3\n4,5,6";
        assert_eq!(header(t, "5"), None);
        // A header alone, with no row under it.
        assert_eq!(header("a,b\n\nid 5", "5"), None);
        // A row with fewer cells than the header is not a row of that table.
        assert_eq!(header("a,b,c\nx 7,8", "7"), None);
        // A wrapped paragraph whose lines hold commas is prose, not a table.
        let t = "We met the team, then the client asked for the phone number,\nwhich was 555 0199, and left.";
        assert_eq!(header(t, "555"), None);
    }
}
