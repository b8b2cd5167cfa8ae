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
//! A value in a row then has, as context, the header cell of the column it stands in (the
//! number of delimiters before it on its line). Only the last [`HEADER_TOKENS`] tokens of a
//! header cell count: a cell is a name, and a long one is likely prose that happens to hold
//! commas. Rows may hold more delimiters than the header (a decimal comma in an amount),
//! never fewer.

/// How many tokens at the end of a header cell count as context.
pub(crate) const HEADER_TOKENS: usize = 3;

/// The delimiters, in the order a line's own delimiter is chosen.
const DELIMITERS: [u8; 4] = [b'\t', b'|', b';', b','];

/// One line of a text: where it starts and, for a table row, its delimiter and header.
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    row: Option<Row>,
}

#[derive(Debug, Clone, Copy)]
struct Row {
    delim: u8,
    /// The header line: its range and its own delimiter.
    header: (usize, usize),
    header_delim: u8,
}

/// The table structure of one text, built once on first need.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    lines: Vec<Line>,
}

fn delimiter(line: &[u8]) -> Option<u8> {
    DELIMITERS.into_iter().find(|d| line.contains(d))
}

fn count(line: &[u8], d: u8) -> usize {
    line.iter().filter(|&&c| c == d).count()
}

impl Tables {
    /// Finds the tables of `text`.
    pub(crate) fn new(text: &str) -> Tables {
        let b = text.as_bytes();
        let mut lines = Vec::new();
        let mut start = 0;
        for (i, &c) in b.iter().enumerate() {
            if c == b'\n' {
                lines.push(Line {
                    start,
                    end: i,
                    row: None,
                });
                start = i + 1;
            }
        }
        lines.push(Line {
            start,
            end: b.len(),
            row: None,
        });
        let bytes = |l: &Line| b.get(l.start..l.end).unwrap_or_default();
        let mut i = 0;
        while i < lines.len() {
            let Some(first) = lines.get(i).copied() else {
                break;
            };
            let Some(d) = delimiter(bytes(&first)) else {
                i += 1;
                continue;
            };
            let mut j = i + 1;
            while lines.get(j).is_some_and(|l| delimiter(bytes(l)) == Some(d)) {
                j += 1;
            }
            let cells = count(bytes(&first), d);
            let (header, header_delim, rows) =
                if !bytes(&first).iter().any(u8::is_ascii_digit) && j > i + 1 {
                    ((first.start, first.end), d, i + 1..j)
                } else if let Some(prev) = i.checked_sub(1).and_then(|p| lines.get(p)).copied()
                    && let Some(pd) = delimiter(bytes(&prev))
                    && pd != d
                    && count(bytes(&prev), pd) == cells
                {
                    ((prev.start, prev.end), pd, i..j)
                } else {
                    i = j;
                    continue;
                };
            let min = count(b.get(header.0..header.1).unwrap_or_default(), header_delim);
            for k in rows {
                if let Some(line) = lines.get_mut(k)
                    && count(b.get(line.start..line.end).unwrap_or_default(), d) >= min
                {
                    line.row = Some(Row {
                        delim: d,
                        header,
                        header_delim,
                    });
                }
            }
            i = j;
        }
        Tables { lines }
    }

    /// The header cell of the column that byte `pos` of `text` stands in, as a byte range,
    /// when `pos` is in a table row.
    pub(crate) fn header_cell(&self, text: &str, pos: usize) -> Option<(usize, usize)> {
        let k = self
            .lines
            .partition_point(|l| l.start <= pos)
            .checked_sub(1)?;
        let line = self.lines.get(k)?;
        let row = line.row?;
        let before = text.as_bytes().get(line.start..pos)?;
        let column = count(before, row.delim);
        let header = text.as_bytes().get(row.header.0..row.header.1)?;
        let mut at = row.header.0;
        for (n, cell) in header.split(|&c| c == row.header_delim).enumerate() {
            if n == column {
                return Some((at, at + cell.len()));
            }
            at += cell.len() + 1;
        }
        None
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
        assert_eq!(header(t, "654321"), Some(" member_no"));
        let t = "| who | id |\n|---|---|\n| Ann | 778899 |";
        assert_eq!(header(t, "778899"), Some(" id "));
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
    }
}
