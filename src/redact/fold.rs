//! The folded matching view: what detectors read instead of the raw text, with an exact map
//! back to the original bytes.
//!
//! Values hide behind characters a pattern does not expect: full-width or mathematical
//! digits, a non-breaking or narrow space between digit groups, a Unicode dash, a zero-width
//! space or soft hyphen inside a value, a Cyrillic `а` in an e-mail address, strike-through
//! marks on every digit. Detectors see a *folded* copy instead, built character by character:
//!
//! - compatibility folding (Unicode NFKC: `５` → `5`, `𝟒` → `4`, `＠` → `@`, `ﬁ` → `fi`,
//!   non-breaking and narrow spaces → a space);
//! - format characters removed (zero-width spaces and joiners, word joiners, soft hyphens,
//!   bidirectional marks, byte-order marks), and combining marks that stand alone;
//! - every other Unicode space a space, every line or paragraph separator a line break, every
//!   dash a hyphen;
//! - decimal digits of every script their ASCII digit;
//! - a letter that looks like a Latin letter or digit (its UTS #39 skeleton is one ASCII
//!   character: Cyrillic `о`, Greek `ο`) mapped to it — only inside a word that also holds
//!   an ASCII letter or digit, so Russian or Greek text stays as it is.
//!
//! A second, *decoded* view undoes percent-encoding (`%2B49…`) and HTML character
//! references (`&#43;49&#32;30…`, `&amp;`) on top of that, for texts that hold any.
//!
//! Every byte of a view knows the original character it came from, so a finding in a view
//! becomes the original bytes of the value — the invisible characters inside it included —
//! and a placeholder replaces exactly those. Text that is ASCII with no escape has no view to
//! build: it is matched as it is, at no cost.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::finding::Span;

/// A view of a text for matching, and where each of its bytes came from.
///
/// The map is a list of segments in view order: a stretch copied from the original byte for
/// byte (most of any text), or one original character (with the marks it carries) that became
/// other bytes, or none. Mostly-ASCII text folds to a few segments.
pub(crate) struct View {
    text: String,
    segments: Vec<Segment>,
}

/// A stretch of a view and the original bytes it came from.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    /// Where it starts in the view, and its length there.
    view: u32,
    view_len: u32,
    /// Where it starts in the original, and its length there.
    orig: u32,
    orig_len: u32,
    /// Copied byte for byte (offsets inside map one to one), or rewritten (every byte maps
    /// to the whole original range).
    copied: bool,
}

impl Segment {
    fn view_end(&self) -> u32 {
        self.view + self.view_len
    }
}

/// Builds a view piece by piece.
#[derive(Default)]
struct Builder {
    text: String,
    segments: Vec<Segment>,
}

impl Builder {
    fn with_capacity(n: usize) -> Builder {
        Builder {
            text: String::with_capacity(n + 8),
            segments: Vec::new(),
        }
    }

    fn view_len(&self) -> u32 {
        self.text.len() as u32
    }

    /// Appends `s`, copied from the original at `orig`.
    fn copy(&mut self, s: &str, orig: u32) {
        if s.is_empty() {
            return;
        }
        let view = self.view_len();
        let len = s.len() as u32;
        self.text.push_str(s);
        if let Some(last) = self.segments.last_mut()
            && last.copied
            && last.view_end() == view
            && last.orig + last.orig_len == orig
        {
            last.view_len += len;
            last.orig_len += len;
            return;
        }
        self.segments.push(Segment {
            view,
            view_len: len,
            orig,
            orig_len: len,
            copied: true,
        });
    }

    /// Appends `c`, which stands for the original bytes `start..end`.
    fn put(&mut self, c: char, start: u32, end: u32) {
        if c.len_utf8() as u32 == end - start {
            // Same length: byte offsets inside map one to one, whatever the character.
            let mut buf = [0; 4];
            return self.copy(c.encode_utf8(&mut buf), start);
        }
        let view = self.view_len();
        self.text.push(c);
        let len = c.len_utf8() as u32;
        if let Some(last) = self.segments.last_mut()
            && !last.copied
            && last.view_end() == view
            && last.orig == start
            && last.orig_len == end - start
        {
            // One original character written as several (`ﬁ` → `fi`).
            last.view_len += len;
            return;
        }
        self.segments.push(Segment {
            view,
            view_len: len,
            orig: start,
            orig_len: end - start,
            copied: false,
        });
    }

    /// Drops the original bytes `start..end`. A combining mark (`attach`) stays with the
    /// character before it: a value ending on that character takes the mark along.
    fn drop_bytes(&mut self, start: u32, end: u32, attach: bool) {
        let Some(last) = self.segments.last_mut() else {
            return;
        };
        if !attach || last.orig + last.orig_len != start {
            return;
        }
        if !last.copied {
            last.orig_len = end - last.orig;
            return;
        }
        // Split the character before off the copied stretch, as a rewritten one.
        let Some(prev) = self.text.chars().next_back() else {
            return;
        };
        let n = prev.len_utf8() as u32;
        if last.view_len < n {
            return;
        }
        last.view_len -= n;
        last.orig_len -= n;
        let split = Segment {
            view: last.view + last.view_len,
            view_len: n,
            orig: last.orig + last.orig_len,
            orig_len: n + (end - start),
            copied: false,
        };
        if last.view_len == 0 {
            *last = split;
        } else {
            self.segments.push(split);
        }
    }

    fn finish(self) -> View {
        View {
            text: self.text,
            segments: self.segments,
        }
    }
}

impl View {
    /// A view made of `pieces` as they are.
    pub(super) fn from_pieces(pieces: Vec<Piece>) -> View {
        let mut b = Builder::with_capacity(pieces.len());
        for (c, start, end) in pieces {
            b.put(c, start, end);
        }
        b.finish()
    }

    /// The text detectors read.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The segment holding view byte `pos`.
    fn segment_at(&self, pos: usize) -> Option<&Segment> {
        let i = self
            .segments
            .partition_point(|s| (s.view_end() as usize) <= pos);
        self.segments.get(i).filter(|s| s.view as usize <= pos)
    }

    /// The stretches of the view, in view offsets, where it differs from the text it was
    /// made from: rewritten characters, and the points where original bytes were dropped.
    pub(crate) fn changes(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut orig_end = 0;
        for s in &self.segments {
            let (start, end) = (s.view as usize, s.view_end() as usize);
            if !s.copied {
                out.push((start, end));
            } else if s.orig != orig_end {
                out.push((start, start));
            }
            orig_end = s.orig + s.orig_len;
        }
        out
    }

    /// The original bytes behind `span` of the view: from the start of the character its
    /// first byte came from to the end of the one its last byte came from.
    pub(crate) fn to_original(&self, span: Span) -> Span {
        let start = |pos: usize| {
            self.segment_at(pos).map(|s| {
                if s.copied {
                    s.orig as usize + (pos - s.view as usize)
                } else {
                    s.orig as usize
                }
            })
        };
        if span.is_empty() {
            // A point: where the character at it starts, or the end of the text.
            let at = start(span.start)
                .or_else(|| self.segments.last().map(|s| (s.orig + s.orig_len) as usize))
                .unwrap_or(0);
            return Span::new(at, at);
        }
        let end = self.segment_at(span.end - 1).map(|s| {
            if s.copied {
                s.orig as usize + (span.end - s.view as usize)
            } else {
                (s.orig + s.orig_len) as usize
            }
        });
        match (start(span.start), end) {
            (Some(a), Some(b)) => Span::new(a, b.max(a)),
            _ => span,
        }
    }
}

/// The views of a text that differ from it.
#[derive(Default)]
pub(crate) struct Views {
    /// The folded text, when folding changes anything. Stands for the text: every detector
    /// reads it instead of the original.
    pub(crate) folded: Option<View>,
    /// The folded text with percent-escapes and character references decoded, when it holds
    /// any: read in addition, by the detectors that read derived views.
    pub(crate) decoded: Option<View>,
    /// The folded text with values spelled out in words rewritten (`four one five…`,
    /// `john dot smith at…`; see `spelled/`): read in addition, by the detectors that read
    /// derived views.
    pub(crate) spelled: Option<View>,
}

impl Views {
    /// Maps a span of the spelled view to the original (it was made from the folded text,
    /// when there is one).
    pub(crate) fn spelled_to_original(&self, span: Span) -> Span {
        let Some(spelled) = &self.spelled else {
            return span;
        };
        let span = spelled.to_original(span);
        self.folded.as_ref().map_or(span, |f| f.to_original(span))
    }
}

/// The views of `text` (see [`Views`]). None for texts over 4 GiB, which offsets of 32 bits
/// cannot map; those are matched as they are. Plain ASCII without escapes has no folded or
/// decoded view, at no cost.
pub(crate) fn views(text: &str) -> Views {
    let mut out = Views::default();
    if u32::try_from(text.len()).is_err() {
        return out;
    }
    let escapes = has_escapes(text);
    if text.is_ascii() && !escapes {
        out.spelled = super::spelled::view(text);
        return out;
    }
    let folded = fold_text(text);
    if escapes {
        let decoded = fold(decode(text));
        if decoded.text != folded.text {
            out.decoded = Some(decoded);
        }
    }
    if folded.text != text {
        out.spelled = super::spelled::view(&folded.text);
        out.folded = Some(folded);
    } else {
        out.spelled = super::spelled::view(text);
    }
    out
}

/// The stretches of `text` around `spans` (sorted by start), widened by `margin` bytes and
/// out to white space (so a window never starts or ends inside a word), merged when they
/// overlap.
pub(super) fn windows(text: &str, spans: &[(usize, usize)], margin: usize) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &(start, end) in spans {
        let mut a = start.saturating_sub(margin);
        while a > 0
            && (!text.is_char_boundary(a)
                || text
                    .get(..a)
                    .and_then(|s| s.chars().next_back())
                    .is_some_and(|c| !c.is_whitespace()))
        {
            a -= 1;
        }
        let mut b = (end + margin).min(text.len());
        while b < text.len()
            && (!text.is_char_boundary(b)
                || text
                    .get(b..)
                    .and_then(|s| s.chars().next())
                    .is_some_and(|c| !c.is_whitespace()))
        {
            b += 1;
        }
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// A character of a text and the byte range of the original it stands for.
pub(super) type Piece = (char, u32, u32);

/// Folds `text` into a view (see the module docs): stretches of ASCII are copied as they are,
/// and only the words around other characters are looked at one character at a time.
fn fold_text(text: &str) -> View {
    let bytes = text.as_bytes();
    let mut b = Builder::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        // The next non-ASCII character, and the word around it: copy what comes before.
        let Some(next) = next_non_ascii(bytes, at) else {
            b.copy(text.get(at..).unwrap_or_default(), at as u32);
            break;
        };
        let mut word_start = next;
        while word_start > at
            && bytes
                .get(word_start - 1)
                .is_some_and(u8::is_ascii_alphanumeric)
        {
            word_start -= 1;
        }
        b.copy(text.get(at..word_start).unwrap_or_default(), at as u32);
        // The word (letters and digits) holding it, or the one character if it is neither.
        let rest = text.get(word_start..).unwrap_or_default();
        let word_len = rest
            .char_indices()
            .find(|&(_, c)| !c.is_alphanumeric())
            .map_or(rest.len(), |(i, _)| i);
        let (chunk, confusables) = if word_len == 0 {
            let c = rest.chars().next().map_or(1, char::len_utf8);
            (rest.get(..c).unwrap_or_default(), false)
        } else {
            // Look-alike letters are mapped only in a word that mixes them with ASCII letters
            // or digits (a homoglyph inside Latin text): Russian or Greek stays as it is.
            let word = rest.get(..word_len).unwrap_or_default();
            let mixed = word.chars().any(|c| c.is_ascii_alphanumeric()) && !word.is_ascii();
            (word, mixed)
        };
        for (i, c) in chunk.char_indices() {
            let start = (word_start + i) as u32;
            push_folded(c, start, start + c.len_utf8() as u32, confusables, &mut b);
        }
        at = word_start + chunk.len().max(1);
        while at < text.len() && !text.is_char_boundary(at) {
            at += 1;
        }
    }
    b.finish()
}

/// The offset of the first byte at or after `from` that is not ASCII: eight bytes at a time,
/// since the folded view's text is mostly ASCII and this scan reads all of it.
fn next_non_ascii(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    let mut eights = rest.chunks_exact(8);
    let mut at = from;
    for eight in eights.by_ref() {
        let v = <[u8; 8]>::try_from(eight).map_or(0, u64::from_le_bytes);
        let high = v & 0x8080_8080_8080_8080;
        if high != 0 {
            return Some(at + (high.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    eights
        .remainder()
        .iter()
        .position(|&c| !c.is_ascii())
        .map(|i| at + i)
}

/// Folds a stream of pieces into a view (the decoded text, whose pieces stand for escapes).
fn fold(pieces: impl Iterator<Item = Piece>) -> View {
    let pieces: Vec<Piece> = pieces.collect();
    let mut b = Builder::with_capacity(pieces.len());
    let mut i = 0;
    while let Some(&(c, start, end)) = pieces.get(i) {
        if !c.is_alphanumeric() {
            push_folded(c, start, end, false, &mut b);
            i += 1;
            continue;
        }
        let stop = pieces
            .iter()
            .skip(i)
            .position(|(c, ..)| !c.is_alphanumeric())
            .map_or(pieces.len(), |n| i + n);
        let word = pieces.get(i..stop).unwrap_or_default();
        let mixed = word.iter().any(|(c, ..)| c.is_ascii_alphanumeric())
            && word.iter().any(|(c, ..)| !c.is_ascii());
        for &(c, start, end) in word {
            push_folded(c, start, end, mixed, &mut b);
        }
        i = stop.max(i + 1);
    }
    b.finish()
}

/// Appends what `c` (the original bytes `start..end`) folds to.
fn push_folded(c: char, start: u32, end: u32, confusables: bool, b: &mut Builder) {
    if c.is_ascii() {
        b.put(c, start, end);
        return;
    }
    match c.general_category() {
        // Zero-width spaces and joiners, soft hyphens, bidirectional marks: gone.
        GeneralCategory::Format => return b.drop_bytes(start, end, false),
        GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark
            if is_combining_mark(c) =>
        {
            // Gone from the view, but part of the character before it in the original: a
            // value ending on it takes it along (`4̶` is one character to a reader).
            return b.drop_bytes(start, end, true);
        }
        GeneralCategory::SpaceSeparator => return b.put(' ', start, end),
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
            return b.put('\n', start, end);
        }
        GeneralCategory::DashPunctuation => return b.put('-', start, end),
        GeneralCategory::DecimalNumber => {
            if let Some(d) = decimal_value(c) {
                return b.put(d, start, end);
            }
        }
        _ => {}
    }
    if c == '\u{2212}' {
        // The minus sign is a math symbol, not a dash, but reads as one between digits.
        return b.put('-', start, end);
    }
    if matches!(c, '\u{3002}' | '\u{FF61}') {
        // Ideographic full stops stand for the dot of an address or a domain.
        return b.put('.', start, end);
    }
    if confusables && c.is_alphabetic() {
        let mut buf = [0; 4];
        let mut skeleton =
            unicode_security::confusable_detection::skeleton(c.encode_utf8(&mut buf));
        if let (Some(s), None) = (skeleton.next(), skeleton.next())
            && s.is_ascii_alphanumeric()
        {
            return b.put(s, start, end);
        }
    }
    let mut buf = [0; 4];
    let one: &str = c.encode_utf8(&mut buf);
    if one.nfkc().eq(one.chars()) {
        // Unchanged (most letters of most scripts): the quick way.
        return b.put(c, start, end);
    }
    for f in one.nfkc() {
        // What NFKC gives may itself be a space, a dash or a digit of another script.
        match f {
            f if f.is_ascii() => b.put(f, start, end),
            f => match f.general_category() {
                GeneralCategory::SpaceSeparator => b.put(' ', start, end),
                GeneralCategory::DashPunctuation => b.put('-', start, end),
                GeneralCategory::DecimalNumber => b.put(decimal_value(f).unwrap_or(f), start, end),
                GeneralCategory::Format => {}
                _ => b.put(f, start, end),
            },
        }
    }
}

/// The ASCII digit of a decimal digit of any script. Unicode encodes every script's decimal
/// digits as one run from zero to nine, so a digit's value is how many decimal digits precede
/// it in its run, modulo ten (the mathematical digits are five such runs back to back).
fn decimal_value(c: char) -> Option<char> {
    let mut n = 0u32;
    let mut cp = c as u32;
    while n < 64 {
        let Some(prev) = cp.checked_sub(1).and_then(char::from_u32) else {
            break;
        };
        if prev.general_category() != GeneralCategory::DecimalNumber {
            break;
        }
        n += 1;
        cp -= 1;
    }
    char::from_digit(n % 10, 10)
}

/// Does `text` hold a percent-escape (`%2B`) or a character reference (`&#43;`, `&amp;`)?
fn has_escapes(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr2_iter(b'%', b'&', bytes).any(|i| match bytes.get(i) {
        Some(b'%') => bytes
            .get(i + 1..i + 3)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
        _ => reference_at(text, i).is_some(),
    })
}

/// The character a reference at byte `at` (`&#43;`, `&#x2B;`, `&amp;`) stands for, and the
/// reference's length.
fn reference_at(text: &str, at: usize) -> Option<(char, usize)> {
    let rest = text.get(at..)?.strip_prefix('&')?;
    let end = rest.get(..rest.len().min(12))?.find(';')?;
    let name = rest.get(..end)?;
    let c = if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        char::from_u32(code)?
    } else {
        // The references a value is written with in HTML and XML.
        match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => '\u{a0}',
            "commat" => '@',
            "period" => '.',
            "plus" => '+',
            "hyphen" | "dash" => '-',
            "colon" => ':',
            "sol" => '/',
            "lowbar" => '_',
            _ => return None,
        }
    };
    Some((c, end + 2))
}

/// The text with percent-escapes and character references decoded, each decoded character
/// mapped to the whole escape. Percent-escaped UTF-8 (`%C3%A9`) becomes its character; an
/// escape that is not valid UTF-8 is left as it is.
fn decode(text: &str) -> impl Iterator<Item = Piece> + '_ {
    let bytes = text.as_bytes();
    let mut out: Vec<Piece> = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if bytes.get(i) == Some(&b'%') {
            // A run of escapes: decode its bytes, take the valid UTF-8 characters.
            let mut j = i;
            let mut raw = Vec::new();
            while bytes.get(j) == Some(&b'%')
                && let Some(v) = bytes
                    .get(j + 1..j + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                raw.push((v, j));
                j += 3;
            }
            if !raw.is_empty() {
                let mut k = 0;
                while k < raw.len() {
                    let width = utf8_width(raw.get(k).map_or(0, |r| r.0));
                    let chunk: Vec<u8> = raw.iter().skip(k).take(width).map(|r| r.0).collect();
                    let start = raw.get(k).map_or(0, |r| r.1);
                    match std::str::from_utf8(&chunk)
                        .ok()
                        .and_then(|s| s.chars().next())
                    {
                        Some(c) if chunk.len() == width && width > 0 => {
                            out.push((c, start as u32, (start + 3 * width) as u32));
                            k += width;
                        }
                        _ => {
                            // Not UTF-8: the escape stays as written.
                            for (n, ch) in text
                                .get(start..start + 3)
                                .unwrap_or_default()
                                .char_indices()
                            {
                                out.push((ch, (start + n) as u32, (start + n + 1) as u32));
                            }
                            k += 1;
                        }
                    }
                }
                i = j;
                continue;
            }
        }
        if bytes.get(i) == Some(&b'&')
            && let Some((c, len)) = reference_at(text, i)
        {
            out.push((c, i as u32, (i + len) as u32));
            i += len;
            continue;
        }
        let Some(c) = text.get(i..).and_then(|s| s.chars().next()) else {
            break;
        };
        out.push((c, i as u32, (i + c.len_utf8()) as u32));
        i += c.len_utf8();
    }
    out.into_iter()
}

/// The length of the UTF-8 sequence a lead byte starts (0 for a byte that starts none).
fn utf8_width(b: u8) -> usize {
    match b {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(text: &str) -> String {
        views(text)
            .folded
            .map_or_else(|| text.to_string(), |v| v.text().to_string())
    }

    #[test]
    fn the_scan_for_other_characters_finds_the_first_at_any_offset() {
        let text = format!("{}é{}ü", "a".repeat(21), "b".repeat(9));
        let bytes = text.as_bytes();
        for from in 0..=bytes.len() {
            let expected = (from..bytes.len()).find(|&i| !bytes[i].is_ascii());
            assert_eq!(next_non_ascii(bytes, from), expected, "from {from}");
        }
        assert_eq!(next_non_ascii(bytes, bytes.len() + 1), None);
    }

    #[test]
    fn unicode_tricks_fold_to_what_a_reader_sees() {
        assert_eq!(folded("５４２５ ０３０５"), "5425 0305");
        assert_eq!(folded("𝟒𝟓𝟑𝟐 𝟐𝟑𝟗𝟗"), "4532 2399");
        assert_eq!(folded("4716\u{200b}4660\u{200b}1637"), "471646601637");
        assert_eq!(
            folded("4929\u{a0}4071\u{202f}4729\u{3000}7334"),
            "4929 4071 4729 7334"
        );
        assert_eq!(
            folded("678\u{2013}45\u{2014}5189 \u{2212}3"),
            "678-45-5189 -3"
        );
        assert_eq!(folded("NL57\u{ad}RABO\u{ad}9967"), "NL57RABO9967");
        assert_eq!(folded("5\u{336}4\u{336}1\u{336}2\u{336}"), "5412");
        assert_eq!(
            folded("rahul\u{2060}.\u{2060}verma@outlook\u{2060}.\u{2060}com"),
            "rahul.verma@outlook.com"
        );
        assert_eq!(folded("ivan\u{fe6b}example\u{3002}com"), "ivan@example.com");
        // Arabic-Indic and Devanagari digits.
        assert_eq!(folded("\u{661}\u{662}\u{663} \u{967}\u{968}"), "123 12");
        // A Cyrillic letter inside a Latin word is a Latin letter; Russian stays Russian.
        assert_eq!(folded("j\u{43e}hn@ex\u{430}mple.com"), "john@example.com");
        assert_eq!(folded("Иван Петров"), "Иван Петров");
        // Accented letters are letters.
        assert_eq!(folded("Müller, Zoë"), "Müller, Zoë");
    }

    #[test]
    fn spans_map_back_to_the_original_bytes_invisible_characters_included() {
        let text = "card 4716\u{200b}4660\u{200b}1637 ok";
        let v = views(text).folded.expect("a view");
        let at = v.text().find("471646601637").expect("folded value");
        let span = v.to_original(Span::new(at, at + 12));
        assert_eq!(&text[span.range()], "4716\u{200b}4660\u{200b}1637");
        // Full-width digits: three bytes each in the original.
        let text = "SSN ６７８－４５－５１８９.";
        let v = views(text).folded.expect("a view");
        let at = v.text().find("678-45-5189").expect("folded");
        let span = v.to_original(Span::new(at, at + 11));
        assert_eq!(&text[span.range()], "６７８－４５－５１８９");
    }

    #[test]
    fn escapes_are_decoded_in_a_view_of_their_own() {
        let text = "tel=%2B4917612345678&x=1 and &#43;49&#32;30&#32;2093 &amp; 371%2D79%2D4407";
        let v = views(text);
        assert!(v.folded.is_none(), "ASCII: only the decoded view");
        let d = v.decoded.expect("decoded");
        assert_eq!(
            d.text(),
            "tel=+4917612345678&x=1 and +49 30 2093 & 371-79-4407"
        );
        let at = d.text().find("+49 30 2093").expect("phone");
        let span = d.to_original(Span::new(at, at + 11));
        assert_eq!(&text[span.range()], "&#43;49&#32;30&#32;2093");
        let d = views("caf%C3%A9 %FF%41").decoded.expect("decoded");
        assert_eq!(d.text(), "café %FFA");
        let none = views("50% off, R&D, AT&T; 100%");
        assert!(none.folded.is_none() && none.decoded.is_none());
    }

    proptest::proptest! {
        /// Any text: every view maps every span of itself into the original, on character
        /// boundaries, in order.
        #[test]
        fn views_map_any_span_onto_the_original(
            text in "[a-z0-9 %&#;.@\u{200b}\u{a0}\u{2013}５𝟒а\u{336}ü漢]{0,40}",
            a in 0usize..200,
            b in 0usize..200,
        ) {
            let all = views(&text);
            for v in all.folded.iter().chain(all.decoded.iter()) {
                let len = v.text().len();
                let (s, e) = (a % (len + 1), b % (len + 1));
                let (s, e) = (s.min(e), s.max(e));
                if !v.text().is_char_boundary(s) || !v.text().is_char_boundary(e) {
                    continue;
                }
                let o = v.to_original(Span::new(s, e));
                proptest::prop_assert!(o.start <= o.end && o.end <= text.len());
                proptest::prop_assert!(text.get(o.range()).is_some());
            }
        }
    }
}
