//! People: names the model cut short, doubted or missed, and names found again.

use crate::redact::Span;

use super::super::candidate::{Candidate, Source, Target, line_around};
use super::super::decode::Kind;
use super::super::gazetteer;
use super::super::lexicon::L;
use super::plausible::name_shaped;
use super::{Ctx, Work};

/// The least score of a person the model doubted (a possessive before it, "Fernwell's Jonas
/// Ek", splits its attention) whose name opens with a known given name and is shaped like a
/// name, two or three words long.
const NAMED_PERSON_SCORE: f32 = 0.55;

/// The least model score such a person needs to be lifted: below it the model saw no name.
const NAMED_PERSON_FLOOR: f32 = 0.3;

/// The score of a name written with a middle initial ("Ella H. Snider") that opens with a
/// known given name or stands alone on its line, whether or not the model saw it.
const INITIALLED_NAME_SCORE: f32 = 0.6;

/// The score of a name the model missed whose first word is a known given name and whose last
/// is a known surname ("Łukasz Zieliński", "Sjoerd van den Broek").
const KNOWN_NAME_SCORE: f32 = 0.6;

/// Most words of such a name, particles included.
const KNOWN_NAME_WORDS: usize = 5;

/// A surname or given name repeated alone scores this fraction of the full name's score.
const PROPAGATED_DISCOUNT: f32 = 0.9;

/// A person the model ended on a known given name, followed on the line by a capitalised
/// word it left untagged ("Joakim Westgard"), takes that word as the surname.
pub(super) fn complete_given_names(ctx: &Ctx<'_>, work: &mut Work) {
    let text = ctx.text;
    let spans: Vec<Span> = work.out.iter().map(|c| c.span).collect();
    for c in work.out.iter_mut().filter(|c| c.is_person()) {
        let name = text.get(c.span.range()).unwrap_or_default();
        let last = name.rsplit(char::is_whitespace).next().unwrap_or_default();
        if !ctx.gazetteers.is_given_name(last) {
            continue;
        }
        let rest = text.get(c.span.end..).unwrap_or_default();
        let Some(word) = rest.strip_prefix(' ') else {
            continue;
        };
        let len = word
            .find(|ch: char| !(ch.is_alphabetic() || ch == '-' || ch == '\''))
            .unwrap_or(word.len());
        let word = word.get(..len).unwrap_or_default();
        let start = c.span.end + 1;
        let surname = Span::new(start, start + len);
        if word.chars().count() >= 2
            && word.starts_with(char::is_uppercase)
            && word.chars().skip(1).any(char::is_lowercase)
            && !ctx.is_opener(word)
            && !spans.iter().any(|s| s.overlaps(&surname))
        {
            c.span = Span::new(c.span.start, surname.end);
        }
    }
}

/// A person the model doubted whose name opens with a known given name and whose every word
/// is shaped like a name ("Jonas Ek", two or three words) gets [`NAMED_PERSON_SCORE`]: the
/// model and the census list agree on it.
pub(super) fn lift_named_people(ctx: &Ctx<'_>, work: &mut Work) {
    for c in work
        .out
        .iter_mut()
        .filter(|c| c.is_person() && (NAMED_PERSON_FLOOR..NAMED_PERSON_SCORE).contains(&c.score))
    {
        let name = ctx.text.get(c.span.range()).unwrap_or_default();
        let words: Vec<&str> = name.split_whitespace().collect();
        let shaped = (2..=3).contains(&words.len())
            && words
                .iter()
                .all(|w| name_shaped(ctx.lexicon, w) && !ctx.is_opener(w));
        if shaped
            && words
                .first()
                .is_some_and(|w| ctx.gazetteers.is_given_name(w))
        {
            c.score = NAMED_PERSON_SCORE;
        }
    }
}

/// Names written with a middle initial, "Given X. Surname": a person when the first word is
/// a known given name, or when the name is all its line holds (the head of a signature or an
/// address block, where the model has no sentence to read). "Vitamin D. Patients" is neither.
/// A model person or place inside the name grows to it; a name overlapping an address or a
/// firm is left to them.
pub(super) fn initialled_names(ctx: &Ctx<'_>, work: &mut Work) {
    let text = ctx.text;
    let words: Vec<(usize, &str)> = text
        .split_ascii_whitespace()
        .map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
        .collect();
    for triple in words.windows(3) {
        let [(start, first), (_, initial), (last_at, last)] = triple else {
            continue;
        };
        let last = last.trim_end_matches([',', '.', ';', ':', '!', '?', ')']);
        let mut letters = initial.chars();
        let is_initial = letters.next().is_some_and(char::is_uppercase) && letters.as_str() == ".";
        let word = |w: &str| {
            w.chars().filter(|c| c.is_alphabetic()).count() >= 2
                && w.chars()
                    .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
                && name_shaped(ctx.lexicon, w)
                && !ctx.is_opener(w)
        };
        if !is_initial || !word(first) || !word(last) {
            continue;
        }
        let span = Span::new(*start, last_at + last.len());
        // One line, single spaces: "Ella H. Snider", not words across a line end.
        if text
            .get(span.range())
            .is_none_or(|v| v.contains('\n') || v.contains("  "))
        {
            continue;
        }
        let (line_start, line_end) = line_around(text, span);
        let alone = text
            .get(line_start..line_end)
            .is_some_and(|l| l.trim() == text.get(span.range()).unwrap_or_default());
        if !alone && !ctx.gazetteers.is_given_name(first) {
            continue;
        }
        let out = &mut work.out;
        let overlapping = || out.iter().filter(|c| c.span.overlaps(&span));
        let held = |c: &Candidate| c.span.start <= span.start && span.end <= c.span.end;
        if overlapping().any(|c| {
            !matches!(c.kind, Target::Model(Kind::Person | Kind::Location))
                || (c.is_person() && held(c))
        }) {
            continue;
        }
        put_person(out, span, INITIALLED_NAME_SCORE);
    }
}

/// Puts a person at `span` in place of every candidate it overlaps, scoring `floor` or the
/// best score of the people it replaces.
fn put_person(out: &mut Vec<Candidate>, span: Span, floor: f32) {
    let score = out
        .iter()
        .filter(|c| c.is_person() && c.span.overlaps(&span))
        .map(|c| c.score)
        .fold(floor, f32::max);
    out.retain(|c| !c.span.overlaps(&span));
    out.push(Candidate::new(
        span,
        Target::Model(Kind::Person),
        score,
        Source::Context,
    ));
}

/// Initials before a surname belong to the name: "Mr C. Whomersley", "Ms N.Ö. Akın", "J. R.
/// Hartley". A person directly after one to three initials (a capital and a period, spaced or
/// not) on the same line grows to take them, and the pieces the model made of them go.
/// Masking the surname alone would leave "C." for the reader.
pub(super) fn initials_before_names(ctx: &Ctx<'_>, work: &mut Work) {
    let text = ctx.text;
    let mut grown: Vec<(usize, Span)> = Vec::new();
    for (k, c) in work.out.iter().enumerate() {
        if !c.is_person() {
            continue;
        }
        let start = initials_before(text, c.span.start);
        if start < c.span.start {
            grown.push((k, Span::new(start, c.span.end)));
        }
    }
    for (k, span) in &grown {
        if let Some(c) = work.out.get_mut(*k) {
            c.span = *span;
        }
    }
    // The pieces the model made of the initials ("C") are inside a grown name now.
    work.out.retain(|c| {
        !(c.is_person()
            && grown
                .iter()
                .any(|(_, g)| *g != c.span && g.start <= c.span.start && c.span.end <= g.end))
    });
}

/// Where the initials that stand right before byte `at` start (`at` when there are none):
/// one to three groups of an upper-case letter and a period, with or without a space after
/// each, preceded by the start of the line, a space or an opening bracket.
fn initials_before(text: &str, at: usize) -> usize {
    let before = text.get(..at).unwrap_or_default();
    let mut start = at;
    let mut rest = before.trim_end_matches(' ');
    for _ in 0..3 {
        let Some(head) = rest.strip_suffix('.') else {
            break;
        };
        let mut chars = head.char_indices().rev();
        let Some((i, letter)) = chars.next() else {
            break;
        };
        if !letter.is_uppercase() {
            break;
        }
        let prev = chars.next().map(|(_, p)| p);
        if prev.is_some_and(char::is_alphanumeric) && prev != Some('.') {
            break;
        }
        start = i;
        rest = head.get(..i).unwrap_or_default().trim_end_matches(' ');
        if !prev.is_some_and(|p| p == '.' || p == ' ') {
            break;
        }
    }
    start
}

/// Names the model missed, read from the name lists: a known given name, then up to three
/// more capitalised words or name particles, the last a known surname, on one line with
/// single spaces ("salarié Quentin Dubois", "mój dziadek Michał Wróbel", "Sjoerd van den
/// Broek"). The model reads European names in English prose well and in their own languages
/// less so; the census and locale lists (see `scripts/fetch-assets`) know them. A name that
/// overlaps anything but a person is left alone; a shorter person inside it grows to it.
pub(super) fn known_names(ctx: &Ctx<'_>, work: &mut Work) {
    let text = ctx.text;
    let gaz = ctx.gazetteers;
    let words: Vec<(usize, &str)> = text
        .split(|c: char| c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
        .collect();
    fn bare(w: &str) -> &str {
        w.trim_end_matches([',', '.', ';', ':', '!', '?', ')', '»', '"', '\'', '”', '’'])
    }
    let capitalised = |w: &str| {
        w.chars().filter(|c| c.is_alphabetic()).count() >= 2
            && w.chars()
                .all(|c| c.is_alphabetic() || c == '-' || c == '\'' || c == '’')
            && name_shaped(ctx.lexicon, w)
            && !ctx.is_opener(w)
    };
    let particle = |w: &str| ctx.lexicon.has(L::PersonParticles, w);
    let article = |k: usize| {
        k.checked_sub(1)
            .and_then(|p| words.get(p))
            .is_some_and(|(_, w)| ctx.lexicon.has(L::Articles, &w.to_lowercase()))
    };
    let mut i = 0;
    while i < words.len() {
        let Some(&(start, first)) = words.get(i) else {
            break;
        };
        // The given name must not end a clause ("…, Anna. Meyer …"), nor follow an article
        // ("The Princess Royal arrived").
        if first != bare(first) || !capitalised(first) || !gaz.is_given_name(first) || article(i) {
            i += 1;
            continue;
        }
        let mut end_word = None;
        for k in i + 1..(i + KNOWN_NAME_WORDS).min(words.len()) {
            let Some(&(at, w)) = words.get(k) else {
                break;
            };
            let b = bare(w);
            if particle(b) && b == w {
                continue;
            }
            if !capitalised(b) {
                break;
            }
            // "Apt." or "St." after a name is an address's, not a surname.
            let abbreviation = b != w && w.ends_with('.') && b.chars().count() <= 3;
            if gaz.is_surname(b) && !abbreviation && !ctx.lexicon.has(L::UnitWords, b) {
                end_word = Some((k, at + b.len()));
            }
            if b != w {
                break;
            }
        }
        let Some((k, end)) = end_word else {
            i += 1;
            continue;
        };
        let span = Span::new(start, end);
        i = k + 1;
        if text
            .get(span.range())
            .is_none_or(|v| v.contains('\n') || v.contains("  "))
        {
            continue;
        }
        let out = &mut work.out;
        let overlapping = || out.iter().filter(|c| c.span.overlaps(&span));
        let held = |c: &Candidate| c.span.start <= span.start && span.end <= c.span.end;
        if overlapping().any(|c| !c.is_person() || held(c))
            || overlapping().any(|c| !(span.start <= c.span.start && c.span.end <= span.end))
        {
            continue;
        }
        // Only people inside the name overlap it here.
        put_person(out, span, KNOWN_NAME_SCORE);
    }
}

/// A person found once is the same person elsewhere in the text: the whole name repeated, or
/// its surname or given name alone ("directed by Joakim Westgard and starring Westgard").
/// Leaving the second mention would undo the first one's redaction. Only capitalised
/// whole-word occurrences count; common sentence openers and words of fewer than three
/// letters are not propagated.
pub(super) fn propagate_names(ctx: &Ctx<'_>, work: &mut Work) {
    let text = ctx.text;
    let Some(person) = ctx.config.entity("PERSON") else {
        return;
    };
    let mut needles: Vec<(&str, f32)> = Vec::new();
    for c in work
        .out
        .iter()
        .filter(|c| c.is_person() && c.source == Source::Model && c.score >= person.threshold)
    {
        let Some(name) = text.get(c.span.range()) else {
            continue;
        };
        if !name.starts_with(char::is_uppercase) {
            continue;
        }
        needles.push((name, c.score));
        let words: Vec<&str> = name
            .split(|ch: char| ch.is_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        if words.len() >= 2 {
            for w in [words.first(), words.last()].into_iter().flatten() {
                let w = w.trim_end_matches(['.', ',']);
                if w.chars().count() >= 3 && w.starts_with(char::is_uppercase) && !ctx.is_opener(w)
                {
                    needles.push((w, c.score * PROPAGATED_DISCOUNT));
                }
            }
        }
    }
    // Longest first, so a repeated full name is one span rather than two words.
    needles.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
    needles.dedup_by(|a, b| a.0 == b.0);
    let mut found: Vec<Candidate> = Vec::new();
    for (needle, score) in needles {
        for (at, _) in text.match_indices(needle) {
            let span = Span::new(at, at + needle.len());
            if gazetteer::whole_word(text, span.start, span.end)
                && !work
                    .out
                    .iter()
                    .any(|c| c.span.overlaps(&span) && ctx.passes_threshold(c))
                && !found.iter().any(|c| c.span.overlaps(&span))
            {
                found.push(Candidate::new(
                    span,
                    Target::Model(Kind::Person),
                    score,
                    Source::Context,
                ));
            }
        }
    }
    work.out.extend(found);
}
