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
pub(crate) struct View {
    text: String,
    /// For each byte of the view, the original character's byte range.
    origin: Vec<(u32, u32)>,
}

impl View {
    /// A view made of `pieces` as they are.
    pub(super) fn from_pieces(pieces: Vec<Piece>) -> View {
        let mut text = String::with_capacity(pieces.len());
        let mut origin = Vec::with_capacity(pieces.len());
        for (c, start, end) in pieces {
            text.push(c);
            origin.extend(std::iter::repeat_n((start, end), c.len_utf8()));
        }
        View { text, origin }
    }

    /// Maps every byte's origin through `outer` (this view was made from `outer`'s text).
    fn compose(mut self, outer: &View) -> View {
        for o in &mut self.origin {
            let s = outer.to_original(Span::new(o.0 as usize, o.1 as usize));
            *o = (s.start as u32, s.end as u32);
        }
        self
    }

    /// The text detectors read.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The original bytes behind `span` of the view: from the start of the character its
    /// first byte came from to the end of the one its last byte came from.
    pub(crate) fn to_original(&self, span: Span) -> Span {
        if span.is_empty() {
            // A point: where the character at it starts, or the end of the text.
            let at = self
                .origin
                .get(span.start)
                .map(|o| o.0)
                .or_else(|| self.origin.last().map(|o| o.1))
                .unwrap_or(0) as usize;
            return Span::new(at, at);
        }
        let (Some(first), Some(last)) =
            (self.origin.get(span.start), self.origin.get(span.end - 1))
        else {
            return span;
        };
        Span::new(first.0 as usize, (last.1 as usize).max(first.0 as usize))
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
    /// `john dot smith at…`; see `spelled.rs`): read in addition, by the detectors that read
    /// derived views.
    pub(crate) spelled: Option<View>,
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
    let folded = fold(chars_of(text));
    if escapes {
        let decoded = fold(decode(text));
        if decoded.text != folded.text {
            out.decoded = Some(decoded);
        }
    }
    if folded.text != text {
        out.spelled = super::spelled::view(&folded.text).map(|v| v.compose(&folded));
        out.folded = Some(folded);
    } else {
        out.spelled = super::spelled::view(text);
    }
    out
}

/// A character of a text and the byte range of the original it stands for.
pub(super) type Piece = (char, u32, u32);

fn chars_of(text: &str) -> impl Iterator<Item = Piece> + '_ {
    text.char_indices().map(|(i, c)| {
        let start = i as u32;
        (c, start, start + c.len_utf8() as u32)
    })
}

/// Folds a stream of pieces into a view (see the module docs).
fn fold(pieces: impl Iterator<Item = Piece>) -> View {
    let pieces: Vec<Piece> = pieces.collect();
    let mut out = String::with_capacity(pieces.len() + 8);
    let mut origin = Vec::with_capacity(pieces.len() + 8);
    let mut i = 0;
    while let Some(&(c, start, end)) = pieces.get(i) {
        if !c.is_alphanumeric() {
            push_folded(c, start, end, false, &mut out, &mut origin);
            i += 1;
            continue;
        }
        // A word (a run of letters and digits): look-alike letters are mapped only when it
        // mixes them with ASCII letters or digits (a homoglyph inside Latin text), so a word
        // of Russian or Greek stays as it is.
        let stop = pieces
            .iter()
            .skip(i)
            .position(|(c, ..)| !c.is_alphanumeric())
            .map_or(pieces.len(), |n| i + n);
        let word = pieces.get(i..stop).unwrap_or_default();
        let mixed = word.iter().any(|(c, ..)| c.is_ascii_alphanumeric())
            && word.iter().any(|(c, ..)| !c.is_ascii());
        for &(c, start, end) in word {
            push_folded(c, start, end, mixed, &mut out, &mut origin);
        }
        i = stop.max(i + 1);
    }
    View { text: out, origin }
}

/// Appends what `c` folds to, each byte mapped to `start..end`.
fn push_folded(
    c: char,
    start: u32,
    end: u32,
    confusables: bool,
    out: &mut String,
    origin: &mut Vec<(u32, u32)>,
) {
    let mut push = |f: char| {
        out.push(f);
        origin.extend(std::iter::repeat_n((start, end), f.len_utf8()));
    };
    if c.is_ascii() {
        push(c);
        return;
    }
    match c.general_category() {
        // Zero-width spaces and joiners, soft hyphens, bidirectional marks: gone.
        GeneralCategory::Format => return,
        GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark
            if is_combining_mark(c) =>
        {
            // Gone from the view, but part of the character before it in the original: a
            // value ending on it takes it along (`4̶` is one character to a reader).
            if let Some(last) = origin.last_mut()
                && last.1 == start
            {
                last.1 = end;
            }
            return;
        }
        GeneralCategory::SpaceSeparator => return push(' '),
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
            return push('\n');
        }
        GeneralCategory::DashPunctuation => return push('-'),
        GeneralCategory::DecimalNumber => {
            if let Some(d) = decimal_value(c) {
                return push(d);
            }
        }
        _ => {}
    }
    if c == '\u{2212}' {
        // The minus sign is a math symbol, not a dash, but reads as one between digits.
        return push('-');
    }
    if matches!(c, '\u{3002}' | '\u{FF61}') {
        // Ideographic full stops stand for the dot of an address or a domain.
        return push('.');
    }
    if confusables && c.is_alphabetic() {
        let mut buf = [0; 4];
        let mut skeleton =
            unicode_security::confusable_detection::skeleton(c.encode_utf8(&mut buf));
        if let (Some(s), None) = (skeleton.next(), skeleton.next())
            && s.is_ascii_alphanumeric()
        {
            return push(s);
        }
    }
    let mut buf = [0; 4];
    let one: &str = c.encode_utf8(&mut buf);
    for f in one.nfkc() {
        // What NFKC gives may itself be a space, a dash or a digit of another script.
        match f {
            f if f.is_ascii() => push(f),
            f => match f.general_category() {
                GeneralCategory::SpaceSeparator => push(' '),
                GeneralCategory::DashPunctuation => push('-'),
                GeneralCategory::DecimalNumber => push(decimal_value(f).unwrap_or(f)),
                GeneralCategory::Format => {}
                _ => push(f),
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
