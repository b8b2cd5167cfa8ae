//! The spelled view: values written out in words, read as the characters they spell.
//!
//! People dictate numbers and hide addresses from scrapers: `four one five, eight six seven,
//! two three nine one`, `0-seven-nine-one-one 123 456`, `john dot smith at example dot com`,
//! `anna(at)example(dot)org`. The spelled view rewrites those — and only those — into digits
//! and `@`/`.`, with every byte mapped back to the words it came from, so the number and
//! e-mail rules (and their validators) find the value and the placeholder replaces the words.
//!
//! The words are data, in `fixtures/rules/spelled.toml` (digits in nine languages, the words
//! for `@` and `.`), compiled into the crate. What counts:
//!
//! - **digits**: a run of number words and digit groups, joined by spaces, commas, hyphens,
//!   dots or slashes (one line break at most), with three number words or more and seven digits
//!   or more in all. Between two single digits a space or hyphen goes; any other gap becomes a
//!   hyphen if it holds one, else a space (`415 867 2391`, `123-45-6789`). Counting (`one two
//!   three`) stays words.
//! - **e-mail**: a local part, an `@` and a domain with a dot, where a separator is spelled:
//!   in brackets (`(at)`, `[dot]`) on its own, or as a bare word (` at `, ` dot `) when a dot is
//!   spelled too — `visit us at example.com` stays a sentence.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex_automata::meta::Regex;

use super::fold::{Piece, View};
use crate::validate::known_tld;

const DATA: &str = include_str!("../../fixtures/rules/spelled.toml");

/// The compiled word lists.
struct Spelled {
    /// Number word (lower case) → its digit.
    digits: HashMap<String, char>,
    /// Any number word, as a whole word.
    word: Regex,
    /// A number word or a group of ASCII digits.
    token: Regex,
    /// A spelled separator of an address worth a closer look (bracketed, or a dot word).
    hint: Regex,
    /// An address with spelled separators.
    email: Regex,
    /// One separator inside such an address: spelled, bracketed, or punctuation with spaces.
    separator: Regex,
    /// The words for `@`, lower case.
    at_words: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Data {
    digits: HashMap<String, Vec<String>>,
    #[serde(default)]
    digit_variants: HashMap<String, Vec<String>>,
    email: EmailWords,
}

#[derive(serde::Deserialize)]
struct EmailWords {
    at: Vec<String>,
    dot: Vec<String>,
}

/// The word lists, compiled once. `None` only if the shipped data were broken, which the
/// tests rule out; the redactor then reads no spelled view.
fn spelled() -> Option<&'static Spelled> {
    static SPELLED: OnceLock<Option<Spelled>> = OnceLock::new();
    SPELLED.get_or_init(compile).as_ref()
}

fn compile() -> Option<Spelled> {
    let data: Data = toml::from_str(DATA).ok()?;
    let mut digits = HashMap::new();
    for words in data.digits.values() {
        for (d, w) in words.iter().enumerate() {
            digits.insert(
                w.to_lowercase(),
                char::from_digit(u32::try_from(d).ok()?, 10)?,
            );
        }
    }
    for (d, words) in &data.digit_variants {
        let digit = d.chars().next().filter(char::is_ascii_digit)?;
        for w in words {
            digits.insert(w.to_lowercase(), digit);
        }
    }
    let alternation = |words: &mut dyn Iterator<Item = &String>| {
        let mut ws: Vec<String> = words.map(|w| regex_syntax::escape(w)).collect();
        // Longest first, so that `punkt` is not read as `punk` + `t`, say.
        ws.sort_by_key(|w| std::cmp::Reverse(w.len()));
        ws.dedup();
        ws.join("|")
    };
    let number_words = alternation(&mut digits.keys());
    let at = alternation(&mut data.email.at.iter());
    let dot = alternation(&mut data.email.dot.iter());
    let open = r"[(\[{<]";
    let close = r"[)\]}>]";
    let at_sep = format!(r"(?:\s*{open}\s*(?:{at})\s*{close}\s*|\s+(?:{at})\s+|\s*@\s*)");
    let dot_sep = format!(r"(?:\s*{open}\s*(?:{dot})\s*{close}\s*|\s+(?:{dot})\s+|\s*\.\s*)");
    let local = r"[\p{L}\p{N}_%+\-]+";
    let label = r"[\p{L}\p{N}\-]+";
    Some(Spelled {
        word: Regex::new(&format!(r"(?i)\b(?:{number_words})\b")).ok()?,
        token: Regex::new(&format!(r"(?i)\b(?:{number_words})\b|[0-9]+")).ok()?,
        hint: Regex::new(&format!(
            r"(?i){open}\s*(?:{at}|{dot})\s*{close}|\s(?:{dot})\s"
        ))
        .ok()?,
        email: Regex::new(&format!(
            r"(?i){local}(?:{dot_sep}{local})*{at_sep}{label}(?:{dot_sep}{label})+"
        ))
        .ok()?,
        separator: Regex::new(&format!(
            r"(?i)\s*{open}\s*(?:{at}|{dot})\s*{close}\s*|\s+(?:{at}|{dot})\s+|\s*[@.]\s*"
        ))
        .ok()?,
        digits,
        at_words: data.email.at.iter().map(|w| w.to_lowercase()).collect(),
    })
}

/// A stretch of the text replaced in the view.
struct Rewrite {
    start: usize,
    end: usize,
    with: String,
}

/// The spelled view of `text`, when it spells a value out; `None` otherwise (most texts).
pub(crate) fn view(text: &str) -> Option<View> {
    let s = spelled()?;
    let mut rewrites = digit_runs(s, text);
    rewrites.extend(addresses(s, text));
    if rewrites.is_empty() {
        return None;
    }
    rewrites.sort_by_key(|r| r.start);
    let mut pieces: Vec<Piece> = Vec::with_capacity(text.len());
    let mut at = 0;
    for r in rewrites {
        if r.start < at {
            // Overlaps one taken already (a number inside an address, say): the first wins.
            continue;
        }
        push_original(text, at, r.start, &mut pieces);
        for c in r.with.chars() {
            pieces.push((c, r.start as u32, r.end as u32));
        }
        at = r.end;
    }
    push_original(text, at, text.len(), &mut pieces);
    Some(View::from_pieces(pieces))
}

fn push_original(text: &str, from: usize, to: usize, pieces: &mut Vec<Piece>) {
    let Some(part) = text.get(from..to) else {
        return;
    };
    for (i, c) in part.char_indices() {
        let start = from + i;
        pieces.push((c, start as u32, (start + c.len_utf8()) as u32));
    }
}

/// One number word or digit group, and the digits it stands for.
struct Token {
    start: usize,
    end: usize,
    digits: String,
    word: bool,
}

/// Runs of number words and digit groups (see the module docs), rewritten as digits.
fn digit_runs(s: &Spelled, text: &str) -> Vec<Rewrite> {
    // Cheap test first: three number words at least, anywhere.
    if s.word.find_iter(text).take(3).count() < 3 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut run: Vec<Token> = Vec::new();
    for m in s.token.find_iter(text) {
        let Some(raw) = text.get(m.range()) else {
            continue;
        };
        let (digits, word) = if raw.bytes().all(|b| b.is_ascii_digit()) {
            (raw.to_string(), false)
        } else {
            match s.digits.get(&raw.to_lowercase()) {
                Some(d) => (d.to_string(), true),
                None => continue,
            }
        };
        let joined = run
            .last()
            .and_then(|last| text.get(last.end..m.start()))
            .is_some_and(is_gap);
        if !joined {
            finish_run(text, &mut run, &mut out);
        }
        run.push(Token {
            start: m.start(),
            end: m.end(),
            digits,
            word,
        });
    }
    finish_run(text, &mut run, &mut out);
    out
}

/// What may join two tokens of one run: up to three spaces, commas, hyphens, dots or slashes,
/// and one line break at most.
fn is_gap(gap: &str) -> bool {
    gap.len() <= 4
        && gap.chars().filter(|&c| c == '\n').count() <= 1
        && gap
            .chars()
            .all(|c| matches!(c, ' ' | '\t' | '\r' | '\n' | ',' | '-' | '.' | '/'))
}

fn finish_run(text: &str, run: &mut Vec<Token>, out: &mut Vec<Rewrite>) {
    let words = run.iter().filter(|t| t.word).count();
    let digits: usize = run.iter().map(|t| t.digits.len()).sum();
    if words >= 3 && digits >= 7 {
        for (i, t) in run.iter().enumerate() {
            if let Some(prev) = i.checked_sub(1).and_then(|p| run.get(p)) {
                let gap = text.get(prev.end..t.start).unwrap_or_default();
                let singles = prev.digits.len() == 1 && t.digits.len() == 1;
                let with = if singles && matches!(gap, "" | " " | "-") {
                    // Digit by digit: one number.
                    ""
                } else if gap.contains('-') {
                    "-"
                } else {
                    " "
                };
                if gap != with {
                    out.push(Rewrite {
                        start: prev.end,
                        end: t.start,
                        with: with.to_string(),
                    });
                }
            }
            if t.word {
                out.push(Rewrite {
                    start: t.start,
                    end: t.end,
                    with: t.digits.clone(),
                });
            }
        }
    }
    run.clear();
}

/// Addresses with spelled separators (see the module docs), rewritten with `@` and `.`.
fn addresses(s: &Spelled, text: &str) -> Vec<Rewrite> {
    if s.hint.find(text).is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for m in s.email.find_iter(text) {
        let Some(found) = text.get(m.range()) else {
            continue;
        };
        let mut seps = Vec::new();
        let (mut bracketed, mut dot_words, mut spelled_seps) = (false, 0, 0);
        let mut last_end = 0;
        for sep in s.separator.find_iter(found) {
            last_end = sep.end();
            let raw = found.get(sep.range()).unwrap_or_default();
            let word: String = raw
                .trim_matches(|c: char| c.is_whitespace() || "()[]{}<>".contains(c))
                .to_lowercase();
            let is_at = word == "@" || s.at_words.contains(&word);
            let spelled = word != "@" && word != ".";
            if spelled {
                spelled_seps += 1;
                if raw.trim().starts_with(['(', '[', '{', '<']) {
                    bracketed = true;
                } else if !is_at {
                    dot_words += 1;
                }
            }
            // Spaces around plain punctuation go too (`john . smith @ example . com`).
            if spelled || raw.len() > 1 {
                seps.push((sep.start(), sep.end(), if is_at { "@" } else { "." }));
            }
        }
        // The last label must be a top-level domain: `at any point actually` is prose.
        let tld_ok = found
            .get(last_end..)
            .is_some_and(|tld| tld.chars().all(char::is_alphabetic) && known_tld(tld));
        if spelled_seps == 0 || !(bracketed || dot_words > 0) || !tld_ok {
            continue;
        }
        for (a, b, with) in seps {
            out.push(Rewrite {
                start: m.start() + a,
                end: m.start() + b,
                with: with.to_string(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::finding::Span;

    fn spelled_text(text: &str) -> String {
        view(text).map_or_else(|| text.to_string(), |v| v.text().to_string())
    }

    #[test]
    fn the_shipped_word_lists_compile() {
        let s = spelled().expect("fixtures/rules/spelled.toml compiles");
        assert_eq!(s.digits.get("neuf"), Some(&'9'));
        assert_eq!(s.digits.get("fünf"), Some(&'5'));
        assert_eq!(s.digits.get("oh"), Some(&'0'));
    }

    #[test]
    fn digits_in_words_become_digits() {
        assert_eq!(
            spelled_text("call four one five, eight six seven, two three nine one today"),
            "call 415 867 2391 today"
        );
        assert_eq!(
            spelled_text("mobile 0-seven-nine-one-one 123 456"),
            "mobile 07911 123 456"
        );
        assert_eq!(
            spelled_text("SSN one two three - four five - six seven eight nine."),
            "SSN 123-45-6789."
        );
        assert_eq!(
            spelled_text("Handy null eins sieben sechs, zwei drei vier fünf sechs sieben acht"),
            "Handy 0176 2345678"
        );
        // Counting, and short runs, stay words.
        for plain in [
            "one two three, go",
            "one of the two options",
            "chapter one, two and three",
            "four five six",
        ] {
            assert!(view(plain).is_none(), "{plain}");
        }
    }

    #[test]
    fn spelled_addresses_become_addresses() {
        assert_eq!(
            spelled_text("write to john dot smith at example dot com please"),
            "write to john.smith@example.com please"
        );
        assert_eq!(
            spelled_text("anna(at)example(dot)org or ivan [at] mail [dot] ru"),
            "anna@example.org or ivan@mail.ru"
        );
        assert_eq!(
            spelled_text("m.rossi chiocciola esempio punto it"),
            "m.rossi@esempio.it"
        );
        assert_eq!(
            spelled_text("kontakt: jan punkt kowalski (at) firma.pl"),
            "kontakt: jan.kowalski@firma.pl"
        );
        // A bare `at` with only real dots is a sentence.
        for plain in [
            "not at any point actually homeless",
            "messages taken at the point of transmission",
            "visit us at example.com today",
            "I am at home. Then at work.",
            "meet john at noon",
        ] {
            assert!(view(plain).is_none(), "{plain}");
        }
    }

    #[test]
    fn spans_map_back_to_the_words() {
        let text = "ring four one five, eight six seven, two three nine one now";
        let v = view(text).expect("a view");
        let at = v.text().find("415 867 2391").expect("digits");
        let span = v.to_original(Span::new(at, at + 12));
        assert_eq!(
            &text[span.range()],
            "four one five, eight six seven, two three nine one"
        );
    }
}
