//! Token windows: the tokens on each side of a candidate that its rule's context words are
//! looked for in, bounded in tokens, in bytes and by blank lines (a paragraph's words do not
//! describe the next paragraph's values), with placeholders and masked values left out.

use super::context::MAX_WINDOW_BYTES;
use crate::redact::Span;

/// The tokens of one side of a window, on the stack.
///
/// Placeholder tokens are left out; `clear` counts the tokens nearest the candidate that come
/// before the first placeholder. Negative words are looked for in the whole window, positive
/// words only in the clear part: a placeholder hides how many tokens its value had, so a
/// positive word behind one may be nearer in a redacted text than it was in the original,
/// and a second redaction would find what the first did not. With positive words stopped at
/// placeholders and negative words seen through them, redacting a redacted text can only
/// lower a score, never raise it.
pub(super) struct Window<'t> {
    toks: [&'t str; MAX_TOKENS],
    len: usize,
    clear: Option<usize>,
}

/// Most tokens a window holds on one side (the rule-file limit on `window`).
const MAX_TOKENS: usize = 32;

impl<'t> Window<'t> {
    pub(super) fn new() -> Window<'t> {
        Window {
            toks: [""; MAX_TOKENS],
            len: 0,
            clear: None,
        }
    }

    pub(super) fn push(&mut self, t: &'t str) {
        if let Some(slot) = self.toks.get_mut(self.len) {
            *slot = t;
            self.len += 1;
        }
    }

    pub(super) fn as_slice(&self) -> &[&'t str] {
        self.toks.get(..self.len).unwrap_or_default()
    }

    /// Marks the first placeholder seen walking away from the candidate.
    fn placeholder(&mut self) {
        self.clear.get_or_insert(self.len);
    }

    /// How many tokens nearest the candidate precede the first placeholder.
    pub(super) fn clear_len(&self) -> usize {
        self.clear.unwrap_or(self.len)
    }
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// True when the token at `start..end` of `text` is part of a placeholder (`[EMAIL_1]`) or
/// hash token: placeholders spell entity names, which must not count as context words, or a
/// second redaction of the same text would find more than the first.
fn in_placeholder(text: &str, start: usize, end: usize) -> bool {
    let b = text.as_bytes();
    if !b
        .get(start)
        .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c.is_ascii_hexdigit())
    {
        return false;
    }
    let mut i = start;
    while i > 0 && start - i < 48 {
        match b.get(i - 1) {
            Some(b'[') => {
                return crate::redact::placeholder::exact_token_at(text, i - 1)
                    .is_some_and(|(token_end, _)| token_end >= end);
            }
            Some(c) if c.is_ascii_alphanumeric() || *c == b'_' || *c == b':' => i -= 1,
            _ => return false,
        }
    }
    false
}

/// Absolute offset of `sub` inside `whole` (both slices of the same text).
pub(super) fn offset_in(whole: &str, sub: &str) -> usize {
    (sub.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// True when one of `spans` (disjoint, sorted) overlaps `start..end`.
pub(super) fn touches(spans: &[Span], start: usize, end: usize) -> bool {
    let i = spans.partition_point(|m| m.end <= start);
    spans
        .get(i..)
        .unwrap_or_default()
        .iter()
        .take_while(|m| m.start < end)
        .any(|m| m.end > start)
}

/// Adds `t` (a slice of `text`) to the window unless it is part of a placeholder or of a
/// masked span.
fn push_token<'t>(text: &'t str, toks: &mut Window<'t>, t: &'t str, mask: &[Span]) {
    let at = offset_in(text, t);
    let end = at + t.len();
    if in_placeholder(text, at, end) || touches(mask, at, end) {
        toks.placeholder();
    } else {
        toks.push(t);
    }
}

/// A window stops at a blank line: the paragraph beyond says nothing of this value. Fed the
/// window's characters walking away from the candidate, it tells when one closes a blank line
/// (a second line break with only spaces since the first).
#[derive(Default)]
struct BlankLine {
    newline: bool,
}

impl BlankLine {
    fn ends_at(&mut self, c: char) -> bool {
        if c == '\n' {
            if self.newline {
                return true;
            }
            self.newline = true;
        } else if !matches!(c, ' ' | '\t' | '\r') {
            self.newline = false;
        }
        false
    }
}

/// The last `n` tokens before byte `start` (at most [`MAX_WINDOW_BYTES`] back), in text order.
pub(super) fn window_before<'t>(
    text: &'t str,
    start: usize,
    n: usize,
    mask: &[Span],
) -> Window<'t> {
    let n = n.min(MAX_TOKENS);
    let start = floor_boundary(text, start);
    let from = floor_boundary(text, start.saturating_sub(MAX_WINDOW_BYTES));
    let slice = text.get(from..start).unwrap_or_default();
    let mut toks = Window::new();
    let push = |toks: &mut Window<'t>, t: &'t str| push_token(text, toks, t, mask);
    // Walk backwards; `end` is the exclusive end of the token being read.
    let mut end: Option<usize> = None;
    let mut next: Option<char> = None; // the character to the right of the current one
    let mut blank = BlankLine::default();
    for (i, c) in slice.char_indices().rev() {
        if toks.len == n {
            break;
        }
        if blank.ends_at(c) {
            end = None;
            break;
        }
        if !c.is_alphanumeric() {
            if let Some(e) = end.take() {
                push(
                    &mut toks,
                    slice.get(i + c.len_utf8()..e).unwrap_or_default(),
                );
            }
            next = None;
            continue;
        }
        match end {
            None => end = Some(i + c.len_utf8()),
            // A camel-case hump between `c` (lower) and `next` (upper) ends a token.
            Some(e) if c.is_lowercase() && next.is_some_and(char::is_uppercase) => {
                push(
                    &mut toks,
                    slice.get(i + c.len_utf8()..e).unwrap_or_default(),
                );
                end = Some(i + c.len_utf8());
            }
            Some(_) => {}
        }
        next = Some(c);
    }
    if toks.len < n
        && let Some(e) = end
    {
        // The first token may be cut by the byte cap; it still counts, as a partial word
        // cannot create a false multi-token match more often than a whole one.
        push(&mut toks, slice.get(..e).unwrap_or_default());
    }
    if let Some(t) = toks.toks.get_mut(..toks.len) {
        t.reverse();
    }
    // Reversed, the tokens nearest the candidate are the last ones; `clear` still counts them.
    toks
}

/// The first `n` tokens after byte `end` (at most [`MAX_WINDOW_BYTES`] ahead).
pub(super) fn window_after<'t>(text: &'t str, end: usize, n: usize, mask: &[Span]) -> Window<'t> {
    let n = n.min(MAX_TOKENS);
    let end = floor_boundary(text, end);
    let to = floor_boundary(text, end.saturating_add(MAX_WINDOW_BYTES));
    let slice = text.get(end..to).unwrap_or_default();
    let mut toks = Window::new();
    let push = |toks: &mut Window<'t>, t: &'t str| push_token(text, toks, t, mask);
    let mut start: Option<usize> = None;
    let mut prev_lower = false;
    let mut blank = BlankLine::default();
    for (i, c) in slice.char_indices() {
        if toks.len == n || blank.ends_at(c) {
            return toks;
        }
        if !c.is_alphanumeric() {
            if let Some(st) = start.take() {
                push(&mut toks, slice.get(st..i).unwrap_or_default());
            }
            prev_lower = false;
            continue;
        }
        match start {
            None => start = Some(i),
            Some(st) if prev_lower && c.is_uppercase() => {
                push(&mut toks, slice.get(st..i).unwrap_or_default());
                start = Some(i);
            }
            Some(_) => {}
        }
        prev_lower = c.is_lowercase();
    }
    if toks.len < n
        && let Some(st) = start
    {
        push(&mut toks, slice.get(st..).unwrap_or_default());
    }
    toks
}
