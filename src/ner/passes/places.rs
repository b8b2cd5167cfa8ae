//! Places: gazetteer countries, states, cities and demonyms, and the acronyms that look like
//! them.

use crate::redact::Span;

use super::super::candidate::{Candidate, Source, Target, line_around};
use super::super::decode::Kind;
use super::super::gazetteer::{Place, PlaceHit};
use super::super::lexicon::{L, Lexicon};
use super::{Ctx, Work};

/// The evidence weight of a demonym from the gazetteer ("Norwegian").
const NATIONALITY_SCORE: f32 = 0.75;

/// Gazetteer places: a place glued to a model address (a country after the city line)
/// extends the address; one inside a model person or address is dropped; the rest are
/// locations. A demonym no model entity holds is a nationality.
pub(super) fn places(ctx: &Ctx<'_>, work: &mut Work) {
    let text = ctx.text;
    let out = &mut work.out;
    let hits = ctx.gazetteers.places(text);
    for hit in &hits {
        let word = text.get(hit.span.range()).unwrap_or_default();
        if ctx.is_opener(word) || !stands_alone(ctx.lexicon, text, hit.span, hit.place, &hits) {
            continue;
        }
        if hit.place == Place::Nationality {
            // "this nice new Hungarian place": the model's place is the demonym.
            out.retain(|c| {
                !(c.source == Source::Model
                    && c.kind == Target::Model(Kind::Location)
                    && c.span.overlaps(&hit.span))
            });
            if !out
                .iter()
                .any(|c| c.span.overlaps(&hit.span) && ctx.passes_threshold(c))
            {
                out.push(Candidate::new(
                    hit.span,
                    Target::Nationality,
                    NATIONALITY_SCORE,
                    Source::Gazetteer,
                ));
            }
            continue;
        }
        let mut absorbed = false;
        for c in out.iter_mut() {
            if c.source != Source::Model {
                continue;
            }
            let overlaps = c.span.overlaps(&hit.span);
            match c.kind {
                Target::Model(Kind::Address) => {
                    let gap = text.get(c.span.end..hit.span.start);
                    let adjacent = gap.is_some_and(|g| {
                        (g.chars().count() <= 3
                            && g.chars().all(|ch| ch.is_whitespace() || ch == ','))
                            || (hit.place == Place::Country && is_town_gap(g))
                    });
                    if overlaps || adjacent {
                        c.span = Span::new(
                            c.span.start.min(hit.span.start),
                            c.span.end.max(hit.span.end),
                        );
                        absorbed = true;
                    }
                }
                Target::Model(Kind::Person)
                    if c.span == hit.span && matches!(hit.place, Place::Country | Place::State) =>
                {
                    // A country the model took for a name ("Sweden" on an address line).
                    c.kind = Target::Model(Kind::Location);
                    absorbed = true;
                }
                Target::Model(Kind::Person | Kind::Location) if overlaps => absorbed = true,
                _ => {}
            }
        }
        if absorbed {
            continue;
        }
        let score = match hit.place {
            Place::Nationality => NATIONALITY_SCORE,
            Place::Country => 0.9,
            Place::State => 0.85,
            Place::City { population } if population >= 1_000_000 => 0.8,
            Place::City { .. } => 0.7,
        };
        let mut c = Candidate::new(
            hit.span,
            Target::Model(Kind::Location),
            score,
            Source::Gazetteer,
        );
        c.place = Some(hit.place);
        out.push(c);
    }
}

/// A country named as a party or a government ("an application against the United Kingdom",
/// "the Swedish Government") is the state, not a place someone lives in: its candidate
/// becomes a `STATE`, which the settings report or not (off by default).
pub(super) fn states_as_parties(ctx: &Ctx<'_>, work: &mut Work) {
    // The gazetteer's places are looked up again only for a location named as a party: the
    // `places` pass kept no record of them for the model's own locations.
    let hits = std::cell::OnceCell::new();
    for c in &mut work.out {
        let candidate = matches!(c.kind, Target::Nationality | Target::Model(Kind::Location));
        if !candidate || !named_as_party(ctx.lexicon, ctx.text, c.span) {
            continue;
        }
        let country = c.kind == Target::Nationality
            || hits
                .get_or_init(|| ctx.gazetteers.places(ctx.text))
                .iter()
                .any(|h: &PlaceHit| {
                    h.place == Place::Country
                        && c.span.start <= h.span.start
                        && h.span.end <= c.span.end
                });
        if country {
            c.kind = Target::State;
        }
    }
}

/// True when a word of the lexicon's `state_party_words` stands right before `span` (an
/// article between allowed) or right after it.
pub(super) fn named_as_party(lexicon: &Lexicon, text: &str, span: Span) -> bool {
    let words = |s: &str| {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let mut from = span.start.saturating_sub(24);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let mut to = (span.end + 24).min(text.len());
    while !text.is_char_boundary(to) {
        to -= 1;
    }
    let before = words(text.get(from..span.start).unwrap_or_default());
    let mut back = before.iter().rev();
    let mut prev = back.next();
    if prev.is_some_and(|w| lexicon.has(L::Articles, &w.to_lowercase())) {
        prev = back.next();
    }
    let after = words(text.get(span.end..to).unwrap_or_default());
    prev.is_some_and(|w| lexicon.has(L::StatePartyWords, w))
        || after
            .first()
            .is_some_and(|w| lexicon.has(L::StatePartyWords, w))
}

/// A gazetteer place written as an acronym in prose is no place ([`acronym_in_prose`]).
pub(super) fn acronyms_in_prose(ctx: &Ctx<'_>, work: &mut Work) {
    work.out.retain(|c| {
        let Some(place) = c.place else {
            return true;
        };
        !acronym_in_prose(ctx.lexicon, ctx.text, c.span, place)
    });
}

/// Is a gazetteer hit a name of its own, rather than a piece of a longer one or a label? Not
/// when a hyphen glues it to a word ("Weeks-Rivas"), it opens a line before a colon ("Date:"),
/// or (places, not demonyms) a capitalised word other than a sentence opener or a word of the
/// lexicon's `calendar_words` stands next to it on the line ("European Union", "Golden
/// Helix", "Jordan Peterson"), unless that word is a place too ("Paris France").
pub(crate) fn stands_alone(
    lexicon: &Lexicon,
    text: &str,
    span: Span,
    place: Place,
    hits: &[PlaceHit],
) -> bool {
    let before = text.get(..span.start).unwrap_or_default();
    let after = text.get(span.end..).unwrap_or_default();
    let glued = |c: Option<char>| c == Some('-');
    let line_start = before
        .rsplit('\n')
        .next()
        .is_some_and(|l| l.trim().is_empty());
    if glued(before.chars().next_back())
        || glued(after.chars().next())
        || (line_start && after.starts_with(':'))
    {
        return false;
    }
    if place == Place::Nationality {
        // "Japanese Border Force": a demonym qualifies the name after it.
        return true;
    }
    let is_place = |start: usize| {
        hits.iter()
            .any(|h| h.span.start <= start && start < h.span.end)
    };
    let neighbour_is_name = |word: &str, start: usize| {
        let word = word.trim_end_matches(['.', ',', ';', '!', '?', '\'', ')']);
        word.chars().next().is_some_and(char::is_uppercase)
            && word.chars().skip(1).any(char::is_lowercase)
            && !lexicon.is_opener(word)
            && !lexicon.has(L::CalendarWords, word)
            && !is_place(start)
    };
    if let Some(rest) = after.strip_prefix(' ') {
        let word = rest.split([' ', '\t', '\n']).next().unwrap_or_default();
        if neighbour_is_name(word, span.end + 1) {
            return false;
        }
    }
    if let Some(head) = before.strip_suffix(' ') {
        let word = head.rsplit([' ', '\t', '\n']).next().unwrap_or_default();
        // "in Oslo" has no capitalised neighbour; "Ms. Oslo" ends with a period and is a name.
        if !word.ends_with([',', '.', ';', ':'])
            && neighbour_is_name(word, span.start - 1 - word.len())
        {
            return false;
        }
    }
    true
}

/// A word of four or more capitals (three for a town) on a line that also holds lower-case
/// words: an acronym ("the HALE cohort", "TATA box", "the AKI group"), not a town or a country
/// written out — unless a word of the lexicon's `place_prepositions` comes right before it
/// ("returned to ESPOO"). Address blocks write towns in capitals too, but there the model's
/// address takes the word in first.
pub(crate) fn acronym_in_prose(lexicon: &Lexicon, text: &str, span: Span, place: Place) -> bool {
    let word = text.get(span.range()).unwrap_or_default();
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    // Countries and states have three-letter forms of their own ("USA", "UAE"); towns do not.
    let shortest = if matches!(place, Place::City { .. }) {
        3
    } else {
        4
    };
    if letters < shortest
        || word.contains(char::is_whitespace)
        || word.chars().any(char::is_lowercase)
    {
        return false;
    }
    let before = text.get(..span.start).unwrap_or_default().trim_end();
    let previous = before
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or_default();
    if lexicon.has(L::PlacePrepositions, previous) {
        return false;
    }
    let (line_start, line_end) = line_around(text, span);
    text.get(line_start..line_end)
        .unwrap_or_default()
        .split_whitespace()
        .any(|w| w.chars().filter(|c| c.is_lowercase()).count() >= 2)
}

/// The town between an address and the country that ends it: at most three lines of at most
/// four words of letters ("Apt. 289 Mogyorosbanya Hungary", "Suite 7\n ASKIM\n Sweden").
fn is_town_gap(gap: &str) -> bool {
    let lines: Vec<&str> = gap.split('\n').collect();
    !gap.is_empty()
        && lines.len() <= 3
        && lines.iter().all(|line| {
            let words: Vec<&str> = line
                .split(|c: char| c.is_whitespace() || matches!(c, ',' | '>' | '?' | '*' | '•'))
                .filter(|w| !w.is_empty())
                .collect();
            words.len() <= 4
                && words.iter().all(|w| {
                    w.chars()
                        .all(|c| c.is_alphabetic() || matches!(c, '-' | '.' | '\''))
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acronyms_are_no_places() {
        let l = Lexicon::default();
        let town = Place::City { population: 1 };
        let at = |text: &str, word: &str, place: Place| {
            let start = text.find(word).unwrap_or_default();
            acronym_in_prose(&l, text, Span::new(start, start + word.len()), place)
        };
        assert!(at("the DENVER score was high", "DENVER", town));
        assert!(!at("we flew to DENVER today", "DENVER", town));
        assert!(!at("Suite 7\nDENVER\nUSA", "DENVER", town));
        assert!(at("rose in the AKI group", "AKI", town));
        assert!(!at("the USA cohort", "USA", Place::Country));
        assert!(!at("the UK cohort", "UK", Place::Country));
    }

    #[test]
    fn a_place_next_to_another_name_or_before_a_label_colon_is_not_a_place() {
        let l = Lexicon::default();
        let alone = |text: &str, word: &str| {
            let start = text.find(word).expect("word in text");
            stands_alone(
                &l,
                text,
                Span::new(start, start + word.len()),
                Place::City { population: 20_000 },
                &[],
            )
        };
        assert!(alone("She moved to Oslo in May.", "Oslo"));
        assert!(alone("Flights to Oslo Monday", "Oslo"));
        assert!(alone("serving Southern Oslo", "Oslo"));
        assert!(!alone("the Treaty on European Union", "Union"));
        assert!(!alone("The Golden Helix Orchestra", "Golden"));
        assert!(!alone("at Weeks-Rivas today", "Rivas"));
        assert!(!alone("Date: 2020-01-02", "Date"));
        assert!(alone("the home city Arlon: a list", "Arlon"));
    }

    #[test]
    fn a_town_line_may_sit_between_an_address_and_its_country() {
        assert!(is_town_gap(" Mogyorosbanya "));
        assert!(is_town_gap("\n ASKIM\n "));
        assert!(is_town_gap(", begunje na gorenjskem "));
        assert!(!is_town_gap("\n12 Elm Road\n"));
        assert!(!is_town_gap(" and then we flew on to "));
        assert!(!is_town_gap("\na\nb\nc\n"));
    }
}
