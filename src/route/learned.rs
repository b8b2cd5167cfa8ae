//! A router learned from outcomes: which prompts did the small model get wrong that the large
//! one got right?
//!
//! [`LearnedRouter`] weighs the named [`features`](super::features) of a prompt — and, when
//! trained with embeddings, how much the large model helped on the training prompts most like
//! it (`similar_prompts`) — with a ridge regression fitted to `strong − weak` quality on
//! records of prompts whose outcome on both models is known. Its raw score is turned into a
//! **percentile** of the scores of its training prompts, so a threshold is a stated share:
//! "at most 30% to the large model" is a threshold of 0.7
//! ([`LearnedRouter::threshold_for_large_share`]). Every score names the features that moved
//! it most ([`RouterScore::drivers`]).
//!
//! Trained on the outcomes of more than one pair of models, a router holds a **head** (weights
//! and calibration) fitted to them all and one fitted to each pair alone: the prompts a small
//! model fails depend on the model. [`LearnedRouter::for_models`] chooses a pair's head.
//!
//! A router is a data file (JSON): the feature names, each head's standardisation, weights
//! and calibration quantiles, and what it was trained on — each training file's digest, record
//! count and model pair, the seed, and the cross-validated figures
//! ([`RoutingMetrics`](super::RoutingMetrics)) — so a reviewer can tell which router decided
//! and how good it was measured to be; a router with neighbours has a binary file beside it
//! (`.neighbours`: the training prompts' embeddings in 8 bits, and their outcomes).
//! [`train`](super::train) fits one; `promptveil route train` is the command.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::features::{FEATURE_COUNT, FEATURE_NAMES, features, features_digest};
use super::metrics::RoutingMetrics;
use super::neighbours::{Neighbours, quantize};
use super::train::TrainOptions;
use crate::error::{Error, ErrorKind, Result};

/// The format tag a router file carries.
pub const ROUTER_FORMAT: &str = "promptveil-router/2";

/// The feature the neighbours make.
const SIMILAR: &str = "similar_prompts";

/// A head of no features, never used: a router read or trained has at least one.
static EMPTY_HEAD: Head = Head {
    models: None,
    mean: Vec::new(),
    scale: Vec::new(),
    weights: Vec::new(),
    bias: 0.0,
    calibration: Vec::new(),
};

/// How many features a score names as its drivers.
const DRIVERS: usize = 3;

/// One training file's part in a router: where it came from and how the router did on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrainedOn {
    /// The set's name (its file's folder or stem).
    pub name: String,
    /// Digest of the file's bytes.
    pub digest: String,
    /// Records used.
    pub records: usize,
    /// The weak model.
    pub weak: String,
    /// The strong model.
    pub strong: String,
    /// Out-of-fold figures of the cross-validation, when the set has a gap to recover: of
    /// the head its pair of models scores with (its own when the router has one).
    pub cross_validated: Option<RoutingMetrics>,
    /// The same for the head fitted to all the router's outcomes, when the set's pair has a
    /// head of its own too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_validated_all_pairs: Option<RoutingMetrics>,
}

/// What a router's neighbours file holds, as its JSON says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NeighbourInfo {
    pub(super) k: usize,
    pub(super) dims: usize,
    pub(super) count: usize,
    /// The embedding model the vectors (and a query's) come from.
    pub(super) model: String,
    pub(super) digest: String,
}

/// One fitted regression: standardisation, weights, bias and calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Head {
    /// `[weak, strong]`: the pair of models whose outcomes alone it was fitted to; absent
    /// for the head fitted to all of the router's outcomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) models: Option<[String; 2]>,
    pub(super) mean: Vec<f32>,
    pub(super) scale: Vec<f32>,
    pub(super) weights: Vec<f32>,
    pub(super) bias: f32,
    /// Raw scores of its training prompts at every percent, 0% to 100% (101 values).
    pub(super) calibration: Vec<f32>,
}

impl Head {
    /// Checks lengths and numbers against `n` features.
    fn check(&self, n: usize) -> Result<()> {
        if self.mean.len() != n
            || self.scale.len() != n
            || self.weights.len() != n
            || self.calibration.len() != 101
        {
            return Err(Error::config("the router's vectors have the wrong lengths"));
        }
        let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
        let ordered = self
            .calibration
            .iter()
            .zip(self.calibration.iter().skip(1))
            .all(|(a, b)| a <= b);
        if !finite(&self.mean)
            || !finite(&self.scale)
            || !finite(&self.weights)
            || !finite(&self.calibration)
            || !self.bias.is_finite()
            || self.scale.iter().any(|s| *s <= 0.0)
            || !ordered
        {
            return Err(Error::config(
                "the router holds a number that is not finite, a scale of 0 or less, or \
                 calibration values out of order",
            ));
        }
        Ok(())
    }
}

/// A router learned from outcomes. See the module documentation of `route::learned`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedRouter {
    format: String,
    features: Vec<String>,
    /// Digest of the features' definitions (names, word lists) it was fitted to.
    features_digest: String,
    /// The head fitted to every outcome first, then one per pair of models when the router
    /// was trained on more than one pair.
    heads: Vec<Head>,
    /// Ridge penalty.
    alpha: f32,
    /// Seed of the cross-validation's folds.
    seed: u64,
    /// Folds of the cross-validation.
    folds: usize,
    trained_on: Vec<TrainedOn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    neighbours: Option<NeighbourInfo>,
    #[serde(skip)]
    data: Option<Arc<Neighbours>>,
    /// The head that scores (see [`LearnedRouter::for_models`]).
    #[serde(skip)]
    selected: usize,
}

/// A prompt's score, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RouterScore {
    /// The share of the router's training prompts that scored lower, in `0.0..=1.0`.
    pub percentile: f32,
    /// The regression's own output (expected `strong − weak` quality).
    pub raw: f32,
    /// The features that moved the score most, with their signed contribution.
    pub drivers: Vec<(&'static str, f32)>,
}

/// `bias + Σ wᵢ · (xᵢ − meanᵢ) / scaleᵢ`.
pub(super) fn linear(x: &[f32], mean: &[f32], scale: &[f32], weights: &[f32], bias: f32) -> f32 {
    contributions(x, mean, scale, weights).fold(bias, |s, c| s + c)
}

/// Each feature's term `wᵢ · (xᵢ − meanᵢ) / scaleᵢ`.
fn contributions<'a>(
    x: &'a [f32],
    mean: &'a [f32],
    scale: &'a [f32],
    weights: &'a [f32],
) -> impl Iterator<Item = f32> + 'a {
    x.iter()
        .zip(mean)
        .zip(scale)
        .zip(weights)
        .map(|(((x, m), s), w)| w * (x - m) / s)
}

impl LearnedRouter {
    pub(super) fn from_fit(
        heads: Vec<Head>,
        options: TrainOptions,
        trained_on: Vec<TrainedOn>,
        neighbours: Option<(NeighbourInfo, Arc<Neighbours>)>,
    ) -> LearnedRouter {
        let mut features: Vec<String> = FEATURE_NAMES.iter().map(|s| (*s).to_string()).collect();
        if neighbours.is_some() {
            features.push(SIMILAR.to_string());
        }
        let (neighbours, data) = neighbours.unzip();
        LearnedRouter {
            format: ROUTER_FORMAT.to_string(),
            features,
            features_digest: features_digest(),
            heads,
            alpha: options.alpha,
            seed: options.seed,
            folds: options.folds,
            trained_on,
            neighbours,
            data,
            selected: 0,
        }
    }

    /// Reads a router file, and its neighbours file beside it (same name, extension
    /// `.neighbours`) when it has one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when a file cannot be read, [`ErrorKind::Config`] naming the file
    /// when it is not a router of this format, its features differ from this version's or its
    /// neighbours file is not the one it was trained with.
    pub fn from_file(path: &Path) -> Result<LearnedRouter> {
        let named = |e: Error| {
            Error::new(
                ErrorKind::Config,
                format!("{}: {}", path.display(), e.message()),
            )
        };
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let router = LearnedRouter::from_json(&text).map_err(named)?;
        if router.neighbours.is_none() {
            return Ok(router);
        }
        let beside = path.with_extension("neighbours");
        let bytes = std::fs::read(&beside).map_err(|e| Error::io(&beside, e))?;
        router.with_neighbours(&bytes).map_err(named)
    }

    /// The shipped router (`fixtures/routing/router.json`), trained by `scripts/train-router`
    /// on the development splits of the routing evaluation sets (MMLU-Pro with
    /// Llama-3.1-8B-Instruct against GPT-4o; RouteLLM's MMLU and GSM8K with Mixtral-8x7B against
    /// GPT-4) from the prompt's features alone, its cross-validated figures in
    /// [`trained_on`](LearnedRouter::trained_on).
    ///
    /// # Errors
    ///
    /// None in practice: the file is checked by the test suite.
    pub fn shipped() -> Result<LearnedRouter> {
        LearnedRouter::from_json(include_str!("../../fixtures/routing/router.json"))
    }

    /// The shipped router that also reads the prompt's embedding (all-MiniLM-L6-v2, as the
    /// index's [`Embedder`](crate::index::Embedder) makes it):
    /// `fixtures/routing/router-dense.json` and its neighbours, trained by the same script.
    ///
    /// # Errors
    ///
    /// None in practice: the files are checked by the test suite.
    #[cfg(feature = "embeddings")]
    pub fn shipped_dense() -> Result<LearnedRouter> {
        LearnedRouter::from_json(include_str!("../../fixtures/routing/router-dense.json"))?
            .with_neighbours(include_bytes!(
                "../../fixtures/routing/router-dense.neighbours"
            ))
    }

    /// The best shipped router this build can run, the default of a pipeline and of
    /// `promptveil eval routing`: [`LearnedRouter::shipped_dense`] where the feature
    /// `embeddings` is built, else [`LearnedRouter::shipped`].
    ///
    /// # Errors
    ///
    /// None in practice: the files are checked by the test suite.
    pub fn shipped_best() -> Result<LearnedRouter> {
        #[cfg(feature = "embeddings")]
        return LearnedRouter::shipped_dense();
        #[cfg(not(feature = "embeddings"))]
        LearnedRouter::shipped()
    }

    /// Reads a router from its JSON text. A router with neighbours needs them too
    /// ([`LearnedRouter::from_file`] reads both).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when it is not a router of this format.
    pub fn from_json(text: &str) -> Result<LearnedRouter> {
        let router: LearnedRouter = serde_json::from_str(text).map_err(|e| {
            Error::config(format!(
                "not a router file (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))
        })?;
        if router.format != ROUTER_FORMAT {
            return Err(Error::config(format!(
                "router format {:?}, expected {ROUTER_FORMAT:?}",
                router.format
            )));
        }
        let expected = FEATURE_NAMES
            .iter()
            .copied()
            .chain(router.neighbours.as_ref().map(|_| SIMILAR));
        if !router.features.iter().map(String::as_str).eq(expected)
            || router.features_digest != features_digest()
        {
            return Err(Error::config(
                "the router's features are not this version's: train it again",
            ));
        }
        let n = router.features.len();
        for head in &router.heads {
            head.check(n)?;
        }
        let pairs: Vec<Option<&[String; 2]>> =
            router.heads.iter().map(|h| h.models.as_ref()).collect();
        let unique = pairs
            .iter()
            .enumerate()
            .all(|(i, p)| !pairs.iter().skip(i + 1).any(|q| q == p));
        if pairs.first() != Some(&None) || pairs.iter().skip(1).any(Option::is_none) || !unique {
            return Err(Error::config(
                "a router has one head fitted to all its outcomes first, then at most one per \
                 pair of models",
            ));
        }
        Ok(router)
    }

    /// The router with its neighbours, read from their file's bytes.
    fn with_neighbours(mut self, bytes: &[u8]) -> Result<LearnedRouter> {
        let Some(info) = &self.neighbours else {
            return Err(Error::config("the router was trained without neighbours"));
        };
        let data = Neighbours::from_bytes(bytes)?;
        if data.digest() != info.digest
            || data.len() != info.count
            || data.dims() != info.dims
            || data.k() != info.k
        {
            return Err(Error::config(
                "the neighbours file is not the one the router was trained with",
            ));
        }
        self.data = Some(Arc::new(data));
        Ok(self)
    }

    /// The router as JSON, as [`LearnedRouter::from_json`] reads it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Writes the router to `path`, and its neighbours beside it when it has some.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when a file cannot be written.
    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_json() + "\n").map_err(|e| Error::io(path, e))?;
        if let Some(data) = &self.data {
            let beside = path.with_extension("neighbours");
            std::fs::write(&beside, data.to_bytes()).map_err(|e| Error::io(&beside, e))?;
        }
        Ok(())
    }

    /// What it was trained on, with the cross-validated figures.
    pub fn trained_on(&self) -> &[TrainedOn] {
        &self.trained_on
    }

    /// The embedding model whose vectors it reads, when it reads one: a prompt is then scored
    /// with its embedding by that model.
    pub fn embedding_model(&self) -> Option<&str> {
        self.neighbours.as_ref().map(|n| n.model.as_str())
    }

    /// Digest of the router (and its neighbours, and which pair's head scores), for the
    /// audit trail.
    pub fn digest(&self) -> String {
        let (weak, strong) = self.models().unwrap_or(("", ""));
        crate::digest::of([
            self.to_json().as_bytes(),
            weak.as_bytes(),
            b"\0",
            strong.as_bytes(),
        ])
    }

    /// The head that scores: the one chosen by [`LearnedRouter::for_models`], else the one
    /// fitted to every outcome.
    fn head(&self) -> &Head {
        self.heads
            .get(self.selected)
            .or_else(|| self.heads.first())
            .unwrap_or(&EMPTY_HEAD)
    }

    /// The pairs of models `(weak, strong)` the router has a head of its own for: a router
    /// trained on the outcomes of more than one pair fits one head to them all and one to
    /// each pair alone.
    pub fn model_pairs(&self) -> Vec<(&str, &str)> {
        self.heads
            .iter()
            .filter_map(|h| h.models.as_ref())
            .map(|[w, s]| (w.as_str(), s.as_str()))
            .collect()
    }

    /// The pair whose own head scores, when one was chosen.
    pub fn models(&self) -> Option<(&str, &str)> {
        self.heads
            .get(self.selected)
            .and_then(|h| h.models.as_ref())
            .map(|[w, s]| (w.as_str(), s.as_str()))
    }

    /// The router scoring with its head fitted to the outcomes of `weak` against `strong`
    /// alone: which prompts a small model fails, and how much a large one helps on them,
    /// depends on the models. Percentiles are then among that pair's training prompts.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when the router has no head for that pair, naming those it has.
    pub fn for_models(mut self, weak: &str, strong: &str) -> Result<LearnedRouter> {
        let found = self.heads.iter().position(|h| {
            h.models
                .as_ref()
                .is_some_and(|[w, s]| w == weak && s == strong)
        });
        let Some(i) = found else {
            let known: Vec<String> = self
                .model_pairs()
                .iter()
                .map(|(w, s)| format!("{w} -> {s}"))
                .collect();
            return Err(Error::config(format!(
                "the router has no head for {weak} -> {strong}; it has {}",
                if known.is_empty() {
                    "one for all its outcomes together only".to_string()
                } else {
                    known.join(", ")
                }
            )));
        };
        self.selected = i;
        Ok(self)
    }

    /// The threshold on [`RouterScore::percentile`] that sends about `share` of prompts like
    /// the training ones to the large model: `1 − share`, clamped to `0..=1`.
    pub fn threshold_for_large_share(share: f32) -> f32 {
        (1.0 - share).clamp(0.0, 1.0)
    }

    /// The share of prompts a budget lets go to a large model: `budget_per_1000` (in the
    /// backends' price unit) per 1,000 requests, a request costing `small` on the small model
    /// and `large` on the large one; clamped to `0..=1` (a budget below the small model's
    /// cost gives 0).
    ///
    /// ```
    /// use promptveil::route::LearnedRouter;
    ///
    /// // 1,000 requests at 0.001 each on premises and 0.011 outside, with 4.0 to spend: 30%.
    /// let share = LearnedRouter::share_for_budget(4.0, 0.001, 0.011);
    /// assert!((share - 0.3).abs() < 1e-6);
    /// ```
    pub fn share_for_budget(budget_per_1000: f64, small: f64, large: f64) -> f32 {
        let extra = large - small;
        if !extra.is_finite() || !budget_per_1000.is_finite() {
            return 0.0;
        }
        if extra <= 0.0 {
            return 1.0;
        }
        ((budget_per_1000 / 1000.0 - small) / extra).clamp(0.0, 1.0) as f32
    }

    /// Scores a (redacted) prompt; `embedding` is its vector by
    /// [`embedding_model`](LearnedRouter::embedding_model), for a router that reads one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when the router reads an embedding and none was given, or one of
    /// another length, or its neighbours were not loaded.
    pub fn score(&self, text: &str, embedding: Option<&[f32]>) -> Result<RouterScore> {
        let mut x: Vec<f32> = features(text).to_vec();
        if self.neighbours.is_some() && self.data.is_none() {
            return Err(Error::config(
                "the router's neighbours are not loaded: read it with LearnedRouter::from_file",
            ));
        }
        if let Some(data) = &self.data {
            let Some(v) = embedding.filter(|v| v.len() == data.dims()) else {
                return Err(Error::config(format!(
                    "this router reads the prompt's embedding ({} values by {})",
                    data.dims(),
                    self.embedding_model().unwrap_or("its model")
                )));
            };
            x.push(data.score(&quantize(v), None));
        }
        let head = self.head();
        let raw = linear(&x, &head.mean, &head.scale, &head.weights, head.bias);
        let names = FEATURE_NAMES
            .iter()
            .copied()
            .chain(self.data.as_ref().map(|_| SIMILAR));
        let mut parts: Vec<(&'static str, f32)> = names
            .zip(contributions(&x, &head.mean, &head.scale, &head.weights))
            .collect();
        parts.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        parts.truncate(DRIVERS);
        Ok(RouterScore {
            percentile: percentile(&head.calibration, raw),
            raw,
            drivers: parts,
        })
    }
}

/// Where `raw` falls among the calibration quantiles, interpolated, in `0..=1`.
fn percentile(quantiles: &[f32], raw: f32) -> f32 {
    let last = quantiles.len().saturating_sub(1);
    if last == 0 || !raw.is_finite() {
        return 0.5;
    }
    let above = quantiles.partition_point(|q| *q <= raw);
    let (Some(lo), Some(hi)) = (
        above.checked_sub(1).and_then(|i| quantiles.get(i)),
        quantiles.get(above),
    ) else {
        return if above == 0 { 0.0 } else { 1.0 };
    };
    let within = if hi > lo { (raw - lo) / (hi - lo) } else { 0.0 };
    ((above - 1) as f32 + within) / last as f32
}

const _: () = assert!(FEATURE_COUNT == FEATURE_NAMES.len());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::{Outcome, OutcomeSet, TrainingEmbeddings, train, train_with_embeddings};

    /// Outcomes where the weak model fails exactly the prompts with many numbers.
    fn synthetic(n: usize) -> OutcomeSet {
        let outcomes = (0..n)
            .map(|i| {
                let hard = i % 3 == 0;
                let prompt = if hard {
                    format!(
                        "Item {i}: compute 12 * 7 + 3 / 5 - 44 and 91 ^ 2 for case {}",
                        i * 7
                    )
                } else {
                    format!("Item {i}: name the capital of the country in the story")
                };
                Outcome::new(i.to_string(), prompt, if hard { 0.0 } else { 1.0 }, 1.0)
            })
            .collect();
        OutcomeSet::new("synthetic", "d", "small", "large", outcomes)
    }

    #[test]
    fn a_learnable_signal_is_learned_and_cross_validated() {
        let router = train(&[synthetic(300)], TrainOptions::default()).expect("trained");
        let cv = router.trained_on()[0].cross_validated.expect("figures");
        // A third of the prompts need the large model: the oracle's APGR is 1 − 1/6, and the
        // cross-validated router reaches it.
        assert!((cv.apgr - 5.0 / 6.0).abs() < 1e-6, "{cv:?}");
        let score = |t: &str| router.score(t, None).expect("scored");
        let hard = score("compute 17 * 3 + 8 / 2 - 5 and 6 ^ 2 for case 81");
        let easy = score("name the capital of the country in the story");
        assert!(
            hard.percentile > 0.6 && easy.percentile < 0.6,
            "{hard:?} {easy:?}"
        );
        assert_eq!(hard.drivers.len(), DRIVERS);
        // The file reads back to the same router; a changed feature list is refused.
        let again = LearnedRouter::from_json(&router.to_json()).expect("reads back");
        assert_eq!(again, router);
        let renamed = router.to_json().replace("\"digit_share\"", "\"digits\"");
        assert!(LearnedRouter::from_json(&renamed).is_err());
        // Features of the same names computed otherwise (another word list): refused too.
        let redefined = router
            .to_json()
            .replace(&features_digest(), "0000000000000000");
        let err = LearnedRouter::from_json(&redefined).expect_err("other features");
        assert!(err.message().contains("train it again"), "{err}");
        let broken = router.to_json().replace(ROUTER_FORMAT, "other/1");
        assert!(LearnedRouter::from_json(&broken).is_err());
    }

    /// Two pairs of models that fail different prompts: one head fitted to both cannot tell
    /// them apart, a head per pair can, and it is chosen by the pair's names.
    #[test]
    fn each_pair_of_models_gets_a_head_of_its_own() {
        let pair = |name: &str, weak: &str, numbers_are_hard: bool| {
            let outcomes = (0..240)
                .map(|i| {
                    let numbers = i % 2 == 0;
                    let prompt = if numbers {
                        format!("Item {i}: compute 12 * 7 + 3 / 5 - 44 for case {}", i * 7)
                    } else {
                        format!("Item {i}: name the capital of the country in the story")
                    };
                    let weak_right = if numbers == numbers_are_hard {
                        0.0
                    } else {
                        1.0
                    };
                    Outcome::new(i.to_string(), prompt, weak_right, 1.0)
                })
                .collect();
            OutcomeSet::new(name, "d", weak, "large", outcomes)
        };
        let sets = [pair("a", "small-a", true), pair("b", "small-b", false)];
        let router = train(&sets, TrainOptions::default()).expect("trained");
        assert_eq!(
            router.model_pairs(),
            [("small-a", "large"), ("small-b", "large")]
        );
        for t in router.trained_on() {
            let own = t.cross_validated.expect("own head");
            let all = t.cross_validated_all_pairs.expect("pooled head");
            assert!(own.apgr > all.apgr + 0.2, "{}: {own:?} {all:?}", t.name);
        }
        let sum = "compute 17 * 3 + 8 / 2 - 5 for case 81";
        let story = "name the capital of the country in the story";
        let a = router.clone().for_models("small-a", "large").expect("a");
        let b = router.clone().for_models("small-b", "large").expect("b");
        assert_eq!(a.models(), Some(("small-a", "large")));
        assert_eq!(router.models(), None);
        let p = |r: &LearnedRouter, t: &str| r.score(t, None).expect("scored").percentile;
        assert!(p(&a, sum) > p(&a, story) && p(&b, sum) < p(&b, story));
        assert_ne!(a.digest(), b.digest());
        assert_ne!(a.digest(), router.digest());
        let err = router
            .clone()
            .for_models("small-c", "large")
            .expect_err("no such pair");
        assert!(err.message().contains("small-a -> large"), "{err}");
        // A head named twice, or a pooled head missing, is refused.
        let json = router.to_json();
        let twice = json.replace("\"small-b\"", "\"small-a\"");
        assert!(LearnedRouter::from_json(&twice).is_err());
        // One pair alone: one head, no per-pair figures.
        let single = train(&sets[..1], TrainOptions::default()).expect("trained");
        assert!(single.model_pairs().is_empty());
        assert!(single.trained_on()[0].cross_validated_all_pairs.is_none());
    }

    #[test]
    fn training_is_deterministic_and_refuses_too_little() {
        let a = train(&[synthetic(120)], TrainOptions::default()).expect("a");
        let b = train(&[synthetic(120)], TrainOptions::default()).expect("b");
        assert_eq!(a.to_json(), b.to_json());
        assert!(train(&[synthetic(5)], TrainOptions::default()).is_err());
    }

    /// Prompts alike in text, told apart only by their embeddings: the neighbours carry the
    /// signal, the router needs the embedding to score, and its files read back only as a
    /// pair.
    #[test]
    fn neighbours_carry_what_the_text_features_cannot_see() {
        let n = 200;
        let outcomes = (0..n)
            .map(|i| {
                // One text per prompt (folds group by first line), alike in every feature.
                let text = format!("Tell me about item {}.", 100 + i);
                Outcome::new(i.to_string(), text, f64::from(i % 2), 1.0)
            })
            .collect();
        let set = OutcomeSet::new("alike", "d", "small", "large", outcomes);
        // Prompts the small model fails point one way, the others another.
        let vectors = (0..n)
            .map(|i| {
                let a = if i % 2 == 0 { 0.1 } else { 1.4 } + (i % 7) as f32 * 0.01;
                vec![a.cos(), a.sin()]
            })
            .collect();
        let embeddings = TrainingEmbeddings {
            model: "test-2d".into(),
            vectors: vec![vectors],
        };
        let options = TrainOptions {
            neighbours: 5,
            ..TrainOptions::default()
        };
        let router = train_with_embeddings(&[set], &embeddings, options).expect("trained");
        let cv = router.trained_on()[0].cross_validated.expect("figures");
        assert!(cv.apgr > 0.7, "{cv:?}");
        assert_eq!(router.embedding_model(), Some("test-2d"));
        let near_hard = router
            .score("Tell me about it.", Some(&[0.1f32.cos(), 0.1f32.sin()]))
            .expect("scored");
        let near_easy = router
            .score("Tell me about it.", Some(&[1.4f32.cos(), 1.4f32.sin()]))
            .expect("scored");
        assert!(near_hard.percentile > near_easy.percentile);
        assert_eq!(near_hard.drivers[0].0, SIMILAR);
        assert!(router.score("Tell me about it.", None).is_err());
        assert!(router.score("Tell me about it.", Some(&[1.0])).is_err());

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.json");
        router.write(&path).expect("written");
        assert_eq!(LearnedRouter::from_file(&path).expect("reads back"), router);
        // Without its neighbours, or with others, the router does not load.
        assert!(
            LearnedRouter::from_json(&router.to_json())
                .and_then(|r| r.score("x", Some(&[1.0, 0.0])))
                .is_err()
        );
        let other = dir.path().join("r.neighbours");
        let mut bytes = std::fs::read(&other).expect("neighbours");
        if let Some(b) = bytes.last_mut() {
            *b = b.wrapping_add(1);
        }
        std::fs::write(&other, bytes).expect("written");
        assert!(LearnedRouter::from_file(&path).is_err());
    }

    #[test]
    fn the_shipped_router_reads_and_says_what_it_was_trained_on() {
        let router = LearnedRouter::shipped().expect("shipped router");
        let names: Vec<&str> = router
            .trained_on()
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(names, ["mmlu-pro", "routellm-mmlu", "routellm-gsm8k"]);
        assert!(
            router
                .trained_on()
                .iter()
                .all(|t| t.cross_validated.is_some())
        );
        let s = router.score("What time is it?", None).expect("scored");
        assert!((0.0..=1.0).contains(&s.percentile));
    }

    #[test]
    fn percentiles_interpolate_and_clamp() {
        let q: Vec<f32> = (0..=100).map(|i| i as f32).collect();
        assert_eq!(percentile(&q, -5.0), 0.0);
        assert_eq!(percentile(&q, 500.0), 1.0);
        assert!((percentile(&q, 30.5) - 0.305).abs() < 1e-6);
        assert_eq!(percentile(&q, f32::NAN), 0.5);
    }
}
