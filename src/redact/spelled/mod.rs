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

use super::fold::{Piece, View, windows};

mod words;
use crate::validate::known_tld;
use words::{WordKind, WordTable};

const DATA: &str = include_str!("../../../fixtures/rules/spelled.toml");

/// The compiled word lists.
struct Spelled {
    /// Number word (lower case) → its digit.
    digits: HashMap<String, char>,
    /// Every number word and every word for `@` or `.`: the one cheap first pass over every
    /// text looks its words up here.
    words: WordTable,
    /// A number word or a group of ASCII digits, read in the windows the first pass found.
    token: Regex,
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
    let mut words = WordTable::default();
    for w in digits.keys() {
        words.add(w, WordKind::NUMBER);
    }
    for w in &data.email.at {
        words.add(w, WordKind::AT);
    }
    for w in &data.email.dot {
        words.add(w, WordKind::DOT);
    }
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
        words,
        token: Regex::new(&format!(r"(?i)\b(?:{number_words})\b|[0-9]+")).ok()?,
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
    let hits = Hits::of(s, text);
    let mut rewrites = digit_runs(s, text, &hits.numbers);
    rewrites.extend(addresses(s, text, &hits));
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

/// What the first pass found: the whole-word hits of the word lists, by kind.
struct Hits {
    numbers: Vec<(usize, usize)>,
    /// Words for `@` or `.` that hint at an address: bracketed, or a dot word.
    separators: Vec<(usize, usize)>,
    /// Every word for `@`, and every `@`.
    ats: Vec<usize>,
}

impl Hits {
    fn of(s: &Spelled, text: &str) -> Hits {
        let mut hits = Hits {
            numbers: Vec::new(),
            separators: Vec::new(),
            ats: text.match_indices('@').map(|(i, _)| i).collect(),
        };
        s.words.for_each_hit(text, |start, end, kind| {
            if kind.number {
                hits.numbers.push((start, end));
            }
            if kind.at {
                hits.ats.push(start);
            }
            if kind.at || kind.dot {
                let before = text.get(..start).unwrap_or_default().trim_end();
                let after = text.get(end..).unwrap_or_default().trim_start();
                let bracketed = before.ends_with(['(', '[', '{', '<'])
                    && after.starts_with([')', ']', '}', '>']);
                if bracketed || kind.dot {
                    hits.separators.push((start, end));
                }
            }
        });
        hits.ats.sort_unstable();
        hits
    }
}

/// Runs of number words and digit groups (see the module docs), rewritten as digits.
fn digit_runs(s: &Spelled, text: &str, numbers: &[(usize, usize)]) -> Vec<Rewrite> {
    // The first pass: number words, and clusters of three or more close together with
    // nothing but separators and digits between them. Most texts have none.
    let joinable = |gap: &str| {
        gap.len() <= 40
            && gap.chars().filter(|&c| c == '\n').count() <= 1
            && gap.chars().all(|c| {
                c.is_ascii_digit() || matches!(c, ' ' | '\t' | '\r' | '\n' | ',' | '-' | '.' | '/')
            })
    };
    let mut clusters = Vec::new();
    let mut current: Option<(usize, usize, usize)> = None;
    for &(m_start, m_end) in numbers {
        current = match current {
            Some((start, end, n)) if text.get(end..m_start).is_some_and(joinable) => {
                Some((start, m_end, n + 1))
            }
            other => {
                if let Some((start, end, n)) = other
                    && n >= 3
                {
                    clusters.push((start, end));
                }
                Some((m_start, m_end, 1))
            }
        };
    }
    if let Some((start, end, n)) = current
        && n >= 3
    {
        clusters.push((start, end));
    }
    let mut out = Vec::new();
    for (a, b) in windows(text, &clusters, 24) {
        let Some(window) = text.get(a..b) else {
            continue;
        };
        for mut r in digit_runs_in(s, window) {
            r.start += a;
            r.end += a;
            out.push(r);
        }
    }
    out
}

/// [`digit_runs`] over one window.
fn digit_runs_in(s: &Spelled, text: &str) -> Vec<Rewrite> {
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
fn addresses(s: &Spelled, text: &str, hits: &Hits) -> Vec<Rewrite> {
    let mut out = Vec::new();
    for (a, b) in windows(text, &hits.separators, 96) {
        // An address needs an `@`, spelled or not.
        let first_at = hits.ats.partition_point(|&i| i < a);
        if hits.ats.get(first_at).is_none_or(|&i| i >= b) {
            continue;
        }
        let Some(window) = text.get(a..b) else {
            continue;
        };
        for mut r in addresses_in(s, window) {
            r.start += a;
            r.end += a;
            out.push(r);
        }
    }
    out
}

/// [`addresses`] over one window.
fn addresses_in(s: &Spelled, text: &str) -> Vec<Rewrite> {
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
    fn the_first_pass_finds_whole_listed_words_only() {
        let s = spelled().expect("word lists");
        let hits = |text: &str| {
            let mut out = Vec::new();
            s.words
                .for_each_hit(text, |a, b, _| out.push(text[a..b].to_string()));
            out
        };
        assert_eq!(
            hits("Someone wrote FOUR, «fünf» und zwölf; anna snabel-a firma"),
            ["FOUR", "fünf", "snabel-a"]
        );
        assert_eq!(hits("one2 done_one atone at."), ["one", "at"]);
    }

    #[test]
    fn every_listed_word_is_found_in_any_case() {
        let s = spelled().expect("word lists");
        let data: Data = toml::from_str(DATA).expect("word lists parse");
        let words = data
            .digits
            .values()
            .chain(data.digit_variants.values())
            .chain([&data.email.at, &data.email.dot])
            .flatten();
        for word in words {
            let title: String = word
                .chars()
                .take(1)
                .flat_map(char::to_uppercase)
                .chain(word.chars().skip(1))
                .collect();
            for form in [word.clone(), word.to_uppercase(), title] {
                let text = format!("«{form}» and {form}");
                let mut found = Vec::new();
                s.words
                    .for_each_hit(&text, |a, b, _| found.push(text[a..b].to_string()));
                assert_eq!(found.iter().filter(|w| **w == form).count(), 2, "{text}");
            }
        }
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
