//! The NER detector's passes: named steps over the model's entities, run in the order of
//! [`PASSES`].
//!
//! The model's words, joined into entities, are the first candidates. Each pass then checks,
//! completes, joins, adds or drops candidates, reading the text, the gazetteers, the
//! organisation patterns and the [lexicon](super::Lexicon) — never a word list of its own.
//! A pass can be switched off by name ([`NerConfig::disabled_passes`](super::NerConfig)), and
//! every finding names the last pass that produced or changed it in its rule id
//! (`ner-person.complete-given-names`). A case corpus under `fixtures/ner/cases/` holds each
//! pass's own examples, each failing with its pass switched off.
//!
//! | family | file |
//! |---|---|
//! | plausibility: model guesses the text contradicts | `plausible.rs` |
//! | people: names completed, lifted, repeated | `people.rs` |
//! | addresses: streets, intersections, lone numbers | `addresses.rs` |
//! | places: gazetteer places and nationalities, acronyms | `places.rs` |
//! | organisations: patterns, cues, fusion with people | `orgs.rs` |

mod addresses;
mod orgs;
mod people;
mod places;
mod plausible;

use std::fmt;

use crate::redact::Span;

use super::candidate::Candidate;
use super::config::Compiled;
use super::gazetteer::{Gazetteers, Place};
use super::lexicon::{Lexicon, Probe};
use super::org::{OrgFinder, OrgHit};

/// The family a pass belongs to (and the file it lives in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PassFamily {
    /// Model guesses the text contradicts are dropped or cut.
    Plausibility,
    /// People: names completed, lifted, found with an initial, found again.
    People,
    /// Addresses: streets the model took for people, intersections, addressees, measures.
    Addresses,
    /// Places from the gazetteers; nationalities; acronyms that are no places.
    Places,
    /// Organisations: legal forms, partners, cues, and their fusion with people.
    Organizations,
}

impl fmt::Display for PassFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PassFamily::Plausibility => "plausibility",
            PassFamily::People => "people",
            PassFamily::Addresses => "addresses",
            PassFamily::Places => "places",
            PassFamily::Organizations => "organizations",
        })
    }
}

/// What a pass reads besides the candidates.
pub(crate) struct Ctx<'a> {
    pub(crate) text: &'a str,
    pub(crate) gazetteers: &'a Gazetteers,
    pub(crate) orgs: &'a OrgFinder,
    pub(crate) lexicon: &'a Lexicon,
    pub(crate) config: &'a Compiled,
}

impl Ctx<'_> {
    /// Does a candidate reach its entity type's threshold?
    pub(crate) fn passes_threshold(&self, c: &Candidate) -> bool {
        self.config
            .entity(c.kind.entity())
            .is_some_and(|s| c.score >= s.threshold)
    }

    /// True for a capitalised common sentence opener ("The", "What", "Please").
    pub(crate) fn is_opener(&self, word: &str) -> bool {
        self.lexicon.is_opener(word)
    }

    /// One word, not a known given name: a model person that a firm's cue can overrule.
    pub(crate) fn lone_word(&self, span: Span) -> bool {
        let word = self.text.get(span.range()).unwrap_or_default();
        !word.contains(char::is_whitespace) && !self.gazetteers.is_given_name(word)
    }

    pub(crate) fn lone_word_person(&self, c: &Candidate) -> bool {
        c.is_person() && self.lone_word(c.span)
    }
}

/// What the passes change: the candidates, and the organisation names found so far.
#[derive(Default)]
pub(crate) struct Work {
    pub(crate) out: Vec<Candidate>,
    /// Organisation names found by the patterns and cues, before they meet the people.
    pub(crate) orgs: Vec<OrgHit>,
    /// Names a list of people holds (set aside from the organisation names), with the pass
    /// that found them.
    pub(crate) listed: Vec<(Span, u8)>,
    /// The running pass.
    pub(crate) current: u8,
    next_id: u32,
}

impl Work {
    /// Starts from the model's candidates.
    pub(crate) fn new(out: Vec<Candidate>) -> Work {
        let mut w = Work {
            out,
            ..Work::default()
        };
        w.number_new();
        w
    }

    /// Gives every new candidate its identity; returns how many there were.
    fn number_new(&mut self) {
        for c in self.out.iter_mut().filter(|c| c.id == 0) {
            self.next_id += 1;
            c.id = self.next_id;
        }
    }
}

/// One pass.
pub(crate) struct Pass {
    pub(crate) name: &'static str,
    pub(crate) family: PassFamily,
    /// What it does, in a sentence (printed by `promptveil ner inventory`).
    pub(crate) summary: &'static str,
    run: fn(&Ctx<'_>, &mut Work),
}

/// Every pass, in the order they run. The order is part of the behaviour: later passes read
/// what earlier ones made.
pub(crate) const PASSES: &[Pass] = &[
    Pass {
        name: "capitalised-runs",
        family: PassFamily::Plausibility,
        summary: "cuts a model name or place at lower-case words other than name particles; two words with the second in lower case are a term",
        run: plausible::capitalised_runs,
    },
    Pass {
        name: "plausible-identifiers",
        family: PassFamily::Plausibility,
        summary: "drops a model identifier (passport, tax id, account...) with no word naming an identifier near it",
        run: plausible::identifiers,
    },
    Pass {
        name: "plausible-addresses",
        family: PassFamily::Plausibility,
        summary: "drops a model address that is a description, a measure, a range, a one-word code or a word with a code after it (error 30007, seat 14C)",
        run: plausible::addresses,
    },
    Pass {
        name: "plausible-urls",
        family: PassFamily::Plausibility,
        summary: "drops a model URL that the url and domain validators reject",
        run: plausible::urls,
    },
    Pass {
        name: "plausible-phones",
        family: PassFamily::Plausibility,
        summary: "drops a model phone that the phone validator rejects or that is a piece of a longer number",
        run: plausible::phones,
    },
    Pass {
        name: "plausible-people",
        family: PassFamily::Plausibility,
        summary: "drops a model person that is lower case (unless a known given name), an acronym, a code or an eponym",
        run: plausible::people,
    },
    Pass {
        name: "plausible-places",
        family: PassFamily::Plausibility,
        summary: "drops a model place in lower case that is no gazetteer place, or a one-word eponym",
        run: plausible::places,
    },
    Pass {
        name: "complete-given-names",
        family: PassFamily::People,
        summary: "a person ending on a known given name takes the capitalised word after it as the surname",
        run: people::complete_given_names,
    },
    Pass {
        name: "lift-named-people",
        family: PassFamily::People,
        summary: "a person the model doubted (0.3-0.55) whose name opens with a known given name gets 0.55",
        run: people::lift_named_people,
    },
    Pass {
        name: "initialled-names",
        family: PassFamily::People,
        summary: "'Given X. Surname' is a person when it opens with a known given name or is all its line holds",
        run: people::initialled_names,
    },
    Pass {
        name: "known-names",
        family: PassFamily::People,
        summary: "a known given name, then capitalised words or particles ending on a known surname, is a person the model missed",
        run: people::known_names,
    },
    Pass {
        name: "streets-taken-for-people",
        family: PassFamily::Addresses,
        summary: "a person between two parts of an address line, or ending one, is part of the address",
        run: addresses::streets_taken_for_people,
    },
    Pass {
        name: "intersections",
        family: PassFamily::Addresses,
        summary: "'the corner of A and B', 'Leon and Elm Street 4': the address takes the other street",
        run: addresses::intersections,
    },
    Pass {
        name: "places",
        family: PassFamily::Places,
        summary: "gazetteer countries, states, cities and demonyms standing alone; a country or town after an address joins it",
        run: places::places,
    },
    Pass {
        name: "states-as-parties",
        family: PassFamily::Places,
        summary: "a country after 'against' or before 'Government' is the state as a party (STATE, off by default), not a place",
        run: places::states_as_parties,
    },
    Pass {
        name: "acronyms-in-prose",
        family: PassFamily::Places,
        summary: "a gazetteer place in four capitals (three for a town) on a line of prose is an acronym",
        run: places::acronyms_in_prose,
    },
    Pass {
        name: "lone-numbers",
        family: PassFamily::Addresses,
        summary: "a number-only address with no street, place or name within 40 bytes is a count or measure",
        run: addresses::lone_numbers,
    },
    Pass {
        name: "org-patterns",
        family: PassFamily::Organizations,
        summary: "names before a legal form, partners' names, names after or before a cue",
        run: orgs::patterns,
    },
    Pass {
        name: "orgs-near-people",
        family: PassFamily::Organizations,
        summary: "'Ana Lima of Quillfeather', 'Quillfeather's Ana Lima': the name next to a person",
        run: orgs::near_people,
    },
    Pass {
        name: "signature-orgs",
        family: PassFamily::Organizations,
        summary: "in a signature block, the line between a person and an address or another person",
        run: orgs::signatures,
    },
    Pass {
        name: "listed-people",
        family: PassFamily::Organizations,
        summary: "a list of names after a colon that names people is people, not a partners' firm",
        run: orgs::listed_people,
    },
    Pass {
        name: "named-partners",
        family: PassFamily::Organizations,
        summary: "a partners' firm needs half its names to be census surnames or given names",
        run: orgs::named_partners,
    },
    Pass {
        name: "organizations",
        family: PassFamily::Organizations,
        summary: "organisation names become findings, against the people they overlap",
        run: orgs::fuse,
    },
    Pass {
        name: "resolve-organizations",
        family: PassFamily::Organizations,
        summary: "of overlapping organisations the better keeps; a place inside one is its own",
        run: orgs::resolve,
    },
    Pass {
        name: "defined-acronyms",
        family: PassFamily::Organizations,
        summary: "an acronym defined in brackets after an organisation ('the Nationalist Party (BNP)') is the organisation wherever it recurs",
        run: orgs::defined_acronyms,
    },
    Pass {
        name: "propagate-names",
        family: PassFamily::People,
        summary: "a person found once is found again where the name, its surname or given name recurs",
        run: people::propagate_names,
    },
    Pass {
        name: "initials-before-names",
        family: PassFamily::People,
        summary: "a person right after initials ('Mr C. Whomersley', 'N.Ö. Akın') takes them into the name",
        run: people::initials_before_names,
    },
];

/// The index of the pass called `name`.
pub(crate) fn index_of(name: &str) -> Option<usize> {
    PASSES.iter().position(|p| p.name == name)
}

/// Runs the enabled passes in order, recording in each candidate the last pass that
/// produced or changed it.
pub(crate) fn run(ctx: &Ctx<'_>, work: &mut Work, enabled: &[bool]) {
    for (i, pass) in PASSES.iter().enumerate() {
        if !enabled.get(i).copied().unwrap_or(true) {
            continue;
        }
        let index = u8::try_from(i).unwrap_or(u8::MAX);
        work.current = index;
        let before = work.out.clone();
        (pass.run)(ctx, work);
        // Every pass keeps spans on the text's character boundaries (the passes slice with
        // `get`, so a broken span would read as an empty value): checked in debug builds, and
        // the redactor widens any span that is not (fail closed) in release ones.
        debug_assert!(
            work.out
                .iter()
                .all(|c| ctx.text.get(c.span.range()).is_some()),
            "pass {} made a span off the text's character boundaries",
            pass.name
        );
        for c in &mut work.out {
            if c.id == 0 {
                if c.pass.is_none() {
                    c.pass = Some(index);
                }
            } else if !before
                .iter()
                .find(|b| b.id == c.id)
                .is_some_and(|b| b.same_as(c))
            {
                c.pass = Some(index);
            }
        }
        work.number_new();
    }
}

/// A list example's check: the check of the pass that reads the list, on `text` at `span`.
pub(crate) fn probe(
    probe: Probe,
    lexicon: &Lexicon,
    orgs: &OrgFinder,
    text: &str,
    span: Span,
) -> bool {
    let value = text.get(span.range()).unwrap_or_default();
    match probe {
        Probe::Opener => lexicon.is_opener(value),
        Probe::IdentifierNamed => plausible::names_an_identifier(lexicon, text, span),
        Probe::NameKeptWhole => plausible::name_kept_whole(lexicon, text, span),
        Probe::NameShaped => plausible::name_shaped(lexicon, value),
        Probe::PersonParticle => lexicon.has(super::lexicon::L::PersonParticles, value),
        Probe::Eponym => plausible::is_eponym(lexicon, text, span),
        Probe::Measure => plausible::is_numeric_range(lexicon, value),
        Probe::Version => plausible::is_version(lexicon, text, span),
        Probe::NumberRole => plausible::named_other_number(lexicon, text, span),
        Probe::StateParty => places::named_as_party(lexicon, text, span),
        Probe::PlaceAlone => {
            places::stands_alone(lexicon, text, span, Place::City { population: 1 }, &[])
        }
        Probe::CapitalsPlace => {
            !places::acronym_in_prose(lexicon, text, span, Place::City { population: 1 })
        }
        Probe::CommonWordCountry => lexicon.has(super::lexicon::L::CommonWordCountries, value),
        Probe::AddressPrefix => super::decode::unit_prefix(lexicon, text, span.start) == 0,
        Probe::Firm => {
            let mut hits = Vec::new();
            orgs.find(text, 0, &mut hits);
            hits.iter().any(|h| h.span == span)
        }
        Probe::OrgName => orgs.name_at(text, span.start) == Some(span),
        Probe::Employer => orgs::employer_after(lexicon, orgs, text, span),
    }
}
