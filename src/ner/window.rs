//! Cutting a text into the short windows the tagger reads best, and skipping windows that
//! cannot hold a name or an address.

use std::borrow::Cow;
use std::ops::Range;

use super::lexicon::Lexicon;

/// `text` with the markers that start its lines blanked out: quote marks of a quoted mail
/// (`>`, `|`), and bullets (`*`, `-`, `•`, `·`, or the `?` that a lost bullet character
/// becomes) followed by white space. Each marker becomes as many spaces as it has bytes, so
/// every offset stays valid in the original. The tagger reads a signature block behind
/// `> ` or `??? ` as noise and misses the names in it; blanked, it reads the block as lines.
pub(crate) fn blank_line_markers(text: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let body = line.get(indent..).unwrap_or_default();
        // Quote marks only when a space follows: the tagger reads ">Ana Lima" well as it is.
        let marks = body.len() - body.trim_start_matches(['>', '|']).len();
        let quotes = if body
            .get(marks..)
            .is_some_and(|r| r.starts_with([' ', '\t']))
        {
            marks
        } else {
            0
        };
        let after = body.get(quotes..).unwrap_or_default();
        let bullets = after.len() - after.trim_start_matches(['*', '-', '•', '·', '?']).len();
        let bullets = if bullets > 0
            && after
                .get(bullets..)
                .is_some_and(|r| r.starts_with([' ', '\t']))
        {
            bullets
        } else {
            0
        };
        let marked = quotes + bullets;
        if marked > 0 {
            let s =
                out.get_or_insert_with(|| text.get(..line_start).unwrap_or_default().to_string());
            s.push_str(line.get(..indent).unwrap_or_default());
            s.extend(std::iter::repeat_n(' ', marked));
            s.push_str(line.get(indent + marked..).unwrap_or_default());
        } else if let Some(s) = out.as_mut() {
            s.push_str(line);
        }
        line_start += line.len();
    }
    out.map_or(Cow::Borrowed(text), Cow::Owned)
}

/// Cuts `text` into windows of about `target` characters.
///
/// A window ends at a sentence end (`.`, `!`, `?` followed by white space) or a blank line
/// when one falls in its second half, else at a line break, else at a space; a window cut at
/// a space (no boundary at all) overlaps the next by about `target / 6` characters so that a
/// name straddling the cut is whole in one of them. Windows never split a character and
/// together cover the text.
pub(crate) fn plan(text: &str, target: usize) -> Vec<Range<usize>> {
    let target = target.max(16);
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let rest = text.get(start..).unwrap_or_default();
        // Byte offset (in `rest`) just past `target` characters.
        let limit = rest
            .char_indices()
            .nth(target)
            .map_or(rest.len(), |(i, _)| i);
        if limit == rest.len() {
            out.push(start..text.len());
            break;
        }
        let window = rest.get(..limit).unwrap_or_default();
        let half = limit / 2;
        let mut sentence = None;
        let mut line = None;
        let mut space = None;
        let mut prev = '\0';
        for (i, c) in window.char_indices() {
            if c.is_whitespace() {
                if matches!(prev, '.' | '!' | '?') || (c == '\n' && prev == '\n') {
                    sentence = Some(i);
                } else if c == '\n' {
                    line = Some(i);
                }
                space = Some(i);
            }
            prev = c;
        }
        let (cut, overlap) = match (sentence, line, space) {
            (Some(s), _, _) if s >= half => (s, false),
            (_, Some(l), _) if l >= half => (l, false),
            (Some(s), _, _) if s > 0 => (s, false),
            (_, Some(l), _) if l > 0 => (l, false),
            (_, _, Some(w)) if w > 0 => (w, true),
            _ => (limit, false),
        };
        let end = start + cut;
        out.push(start..end);
        let mut next = end;
        if overlap {
            // Back up to a space about a sixth of a window before the cut.
            let back = window
                .get(..cut)
                .unwrap_or_default()
                .char_indices()
                .rev()
                .nth(target / 6)
                .map_or(0, |(i, _)| i);
            if let Some(w) = window.get(back..cut).and_then(|s| s.find(' ')) {
                let candidate = start + back + w + 1;
                if candidate > start && candidate < end {
                    next = candidate;
                }
            }
        }
        // Skip the white space at the boundary.
        let skipped = text
            .get(next..)
            .unwrap_or_default()
            .char_indices()
            .find(|(_, c)| !c.is_whitespace())
            .map_or(text.len() - next, |(i, _)| i);
        start = next + skipped;
    }
    out
}

/// Could this window hold a name, a place or an address? It could when it has a capitalised
/// word other than a common sentence opener (the lexicon's `openers` and `request_openers`),
/// or a number next to a capitalised word (house numbers, postal codes). All-lowercase prose
/// without such numbers is skipped.
pub(crate) fn worth_tagging(lexicon: &Lexicon, window: &str) -> bool {
    let mut prev_number = false;
    let mut prev_capital = false;
    for word in window.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-')) {
        let Some(first) = word.chars().next() else {
            continue;
        };
        let number = word.chars().all(|c| c.is_ascii_digit()) && word.len() <= 6;
        let capital = first.is_uppercase();
        if capital && !lexicon.is_opener(word) {
            return true;
        }
        if (number && prev_capital) || (capital && prev_number) {
            return true;
        }
        prev_number = number;
        prev_capital = capital;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_markers_become_spaces_of_the_same_length() {
        let text = "> Ana Lima\n>> Quillfeather\n??? 12 Elm Road\n• Suite 4\n- x\n-5 degrees\n>Ana\nWhy? Because";
        let blanked = blank_line_markers(text);
        assert_eq!(blanked.len(), text.len());
        assert_eq!(
            blanked,
            "  Ana Lima\n   Quillfeather\n    12 Elm Road\n    Suite 4\n  x\n-5 degrees\n>Ana\nWhy? Because"
        );
        assert!(matches!(
            blank_line_markers("plain text\n"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn short_text_is_one_window() {
        assert_eq!(plan("Hello Ana.", 240), vec![0..10]);
        assert!(plan("", 240).is_empty());
    }

    #[test]
    fn windows_end_at_sentences_and_cover_the_text() {
        let s = "This sentence is about forty characters. ";
        let text = s.repeat(20);
        let windows = plan(&text, 100);
        assert!(windows.len() >= 8, "{windows:?}");
        for w in &windows {
            let t = &text[w.clone()];
            assert!(t.chars().count() <= 100);
            assert!(t.trim_end().ends_with('.'), "{t:?}");
        }
        let covered: usize = windows.iter().map(|w| w.len()).sum();
        assert!(covered + windows.len() >= text.trim_end().len());
    }

    #[test]
    fn a_long_unbroken_line_is_cut_at_spaces_with_overlap() {
        let text = "word ".repeat(100);
        let windows = plan(&text, 60);
        for pair in windows.windows(2) {
            assert!(pair[1].start < pair[0].end, "{pair:?} overlap");
            assert!(pair[1].start > pair[0].start);
        }
        assert_eq!(windows.last().map(|w| w.end), Some(text.len()));
    }

    #[test]
    fn no_space_at_all_still_progresses_on_char_boundaries() {
        let text = "é".repeat(300);
        let windows = plan(&text, 100);
        assert_eq!(windows.len(), 3);
        assert!(windows.iter().all(|w| text.get(w.clone()).is_some()));
    }

    #[test]
    fn prefilter_skips_plain_lowercase_and_openers() {
        let l = Lexicon::default();
        assert!(!worth_tagging(
            &l,
            "What are my options? tell me more about it."
        ));
        assert!(!worth_tagging(&l, "i have 3 cats and 2 dogs"));
        assert!(worth_tagging(&l, "I met Ana yesterday"));
        assert!(worth_tagging(&l, "send it to 221b Baker Street"));
        assert!(worth_tagging(&l, "zip IL 62704"));
    }
}
