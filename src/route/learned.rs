//! A router learned from outcomes: which prompts did the small model get wrong that the large
//! one got right?
//!
//! [`LearnedRouter`] weighs the named [`features`](super::features) of a prompt with a ridge
//! regression fitted to `strong − weak` quality on records of prompts whose outcome on both
//! models is known. Its raw score is turned into a **percentile** of the scores of its
//! training prompts, so a threshold is a stated share: "at most 30% to the large model" is a
//! threshold of 0.7 ([`LearnedRouter::threshold_for_large_share`]). Every score names the
//! features that moved it most ([`RouterScore::drivers`]).
//!
//! A router is a data file (JSON): the feature names, the standardisation and weights, the
//! calibration quantiles, and what it was trained on — each training file's digest, record
//! count and model pair, the seed, and the cross-validated figures
//! ([`RoutingMetrics`]) — so a reviewer can tell which router decided and how good it was
//! measured to be. [`train`] fits one; `promptveil route train` is the command.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::features::{FEATURE_COUNT, FEATURE_NAMES, features};
use super::metrics::{RoutingMetrics, routing_metrics};
use crate::error::{Error, ErrorKind, Result};

/// The format tag a router file carries.
pub const ROUTER_FORMAT: &str = "promptveil-router/1";

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
    /// The weak and the strong model.
    pub weak: String,
    /// The strong model.
    pub strong: String,
    /// Out-of-fold figures of the cross-validation, when the set has a gap to recover.
    pub cross_validated: Option<RoutingMetrics>,
}

/// A router learned from outcomes. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedRouter {
    format: String,
    features: Vec<String>,
    mean: Vec<f32>,
    scale: Vec<f32>,
    weights: Vec<f32>,
    bias: f32,
    /// Raw scores of the training prompts at every percent, 0% to 100% (101 values).
    calibration: Vec<f32>,
    /// Ridge penalty.
    alpha: f32,
    /// Seed of the cross-validation's folds.
    seed: u64,
    /// Folds of the cross-validation.
    folds: usize,
    trained_on: Vec<TrainedOn>,
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

impl LearnedRouter {
    /// Reads a router file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when it cannot be read, [`ErrorKind::Config`] naming the file when
    /// it is not a router of this format or its features differ from this version's.
    pub fn from_file(path: &Path) -> Result<LearnedRouter> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        LearnedRouter::from_json(&text).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("{}: {}", path.display(), e.message()),
            )
        })
    }

    /// The shipped router (`fixtures/routing/router.json`), trained by `scripts/train-router`
    /// on the development splits of the routing evaluation sets (MMLU-Pro with
    /// Llama-3.1-8B-Instruct against GPT-4o; RouteLLM's MMLU and GSM8K with Mixtral-8x7B against
    /// GPT-4), its cross-validated figures in [`trained_on`](LearnedRouter::trained_on).
    ///
    /// # Errors
    ///
    /// None in practice: the file is checked by the test suite.
    pub fn shipped() -> Result<LearnedRouter> {
        LearnedRouter::from_json(include_str!("../../fixtures/routing/router.json"))
    }

    /// Reads a router from its JSON text.
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
        if router.features != FEATURE_NAMES {
            return Err(Error::config(
                "the router's features are not this version's: train it again",
            ));
        }
        let n = FEATURE_COUNT;
        if router.mean.len() != n
            || router.scale.len() != n
            || router.weights.len() != n
            || router.calibration.len() != 101
        {
            return Err(Error::config("the router's vectors have the wrong lengths"));
        }
        let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
        if !finite(&router.mean)
            || !finite(&router.scale)
            || !finite(&router.weights)
            || !finite(&router.calibration)
            || !router.bias.is_finite()
            || router.scale.iter().any(|s| *s <= 0.0)
            || router
                .calibration
                .iter()
                .zip(router.calibration.iter().skip(1))
                .any(|(a, b)| a > b)
        {
            return Err(Error::config(
                "the router holds a number that is not finite, a scale of 0 or less, or \
                 calibration values out of order",
            ));
        }
        Ok(router)
    }

    /// The router as JSON, as [`LearnedRouter::from_json`] reads it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// What it was trained on, with the cross-validated figures.
    pub fn trained_on(&self) -> &[TrainedOn] {
        &self.trained_on
    }

    /// Digest of the router itself, for the audit trail.
    pub fn digest(&self) -> String {
        crate::digest::of([self.to_json().as_bytes()])
    }

    /// The threshold on [`RouterScore::percentile`] that sends about `share` of prompts like
    /// the training ones to the large model: `1 − share`, clamped to `0..=1`.
    pub fn threshold_for_large_share(share: f32) -> f32 {
        (1.0 - share).clamp(0.0, 1.0)
    }

    /// Scores a (redacted) prompt.
    pub fn score(&self, text: &str) -> RouterScore {
        let x = features(text);
        let raw = linear(&x, &self.mean, &self.scale, &self.weights, self.bias);
        let mut parts: Vec<(&'static str, f32)> = FEATURE_NAMES
            .iter()
            .copied()
            .zip(contributions(&x, &self.mean, &self.scale, &self.weights))
            .collect();
        parts.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        parts.truncate(DRIVERS);
        RouterScore {
            percentile: percentile(&self.calibration, raw),
            raw,
            drivers: parts,
        }
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

/// One prompt with the quality of the weak and the strong model's answers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Outcome {
    /// The record's id.
    pub id: String,
    /// The prompt as the router will see it.
    pub prompt: String,
    /// The weak model's quality (0/1 correctness, or a grade).
    pub weak: f64,
    /// The strong model's quality.
    pub strong: f64,
}

impl Outcome {
    /// An outcome.
    pub fn new(id: impl Into<String>, prompt: impl Into<String>, weak: f64, strong: f64) -> Self {
        Outcome {
            id: id.into(),
            prompt: prompt.into(),
            weak,
            strong,
        }
    }
}

/// A set of outcomes for one pair of models.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OutcomeSet {
    /// Its name.
    pub name: String,
    /// Digest of its source.
    pub digest: String,
    /// The weak model.
    pub weak: String,
    /// The strong model.
    pub strong: String,
    /// The outcomes.
    pub outcomes: Vec<Outcome>,
}

#[derive(Deserialize)]
struct Record {
    id: String,
    prompt: String,
    scores: std::collections::BTreeMap<String, f64>,
}

#[derive(Deserialize)]
struct Meta {
    weak: Option<String>,
    strong: Option<String>,
}

impl OutcomeSet {
    /// Reads a JSONL file of `{"id", "prompt", "scores": {model: quality}}` records. The
    /// pair is `weak` and `strong` when given, else the one `meta.json` beside the file names,
    /// else, when the records hold exactly two models, the one with the lower mean is weak.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the file cannot be read; [`ErrorKind::Config`] naming the file
    /// and line of a record that is not one, has no score for a model of the pair, or
    /// repeats an id, and when the pair cannot be told.
    pub fn from_jsonl(path: &Path, weak: Option<&str>, strong: Option<&str>) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8_lossy(&bytes);
        let at = |line: usize, message: String| {
            Error::config(format!("{}:{line}: {message}", path.display()))
        };
        let mut records = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let r: Record = serde_json::from_str(line)
                .map_err(|e| at(i + 1, format!("not an outcome record: {e}")))?;
            records.push((i + 1, r));
        }
        let meta: Option<Meta> = path
            .parent()
            .map(|d| d.join("meta.json"))
            .and_then(|m| std::fs::read_to_string(m).ok())
            .and_then(|t| serde_json::from_str(&t).ok());
        let (weak, strong) = pair(&records, weak, strong, meta)
            .ok_or_else(|| at(0, "name the weak and the strong model".into()))?;
        let mut seen = std::collections::HashSet::new();
        let mut outcomes = Vec::with_capacity(records.len());
        for (line, r) in records {
            if !seen.insert(r.id.clone()) {
                return Err(at(line, format!("the id {:?} is repeated", r.id)));
            }
            let get = |m: &str| {
                r.scores
                    .get(m)
                    .copied()
                    .filter(|q| q.is_finite())
                    .ok_or_else(|| at(line, format!("no score for the model {m:?}")))
            };
            outcomes.push(Outcome::new(
                r.id.clone(),
                r.prompt,
                get(&weak)?,
                get(&strong)?,
            ));
        }
        let name = path
            .parent()
            .and_then(|d| d.file_name())
            .filter(|_| path.file_stem().is_some_and(|s| s == "dev" || s == "train"))
            .or_else(|| path.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(OutcomeSet {
            name,
            digest: crate::digest::of([bytes.as_slice()]),
            weak,
            strong,
            outcomes,
        })
    }
}

/// The model pair: as given, else from `meta.json`, else the two models by mean.
fn pair(
    records: &[(usize, Record)],
    weak: Option<&str>,
    strong: Option<&str>,
    meta: Option<Meta>,
) -> Option<(String, String)> {
    let (meta_weak, meta_strong) = meta.map_or((None, None), |m| (m.weak, m.strong));
    let weak = weak.map(str::to_string).or(meta_weak);
    let strong = strong.map(str::to_string).or(meta_strong);
    if let (Some(w), Some(s)) = (&weak, &strong) {
        return (w != s).then(|| (w.clone(), s.clone()));
    }
    let scores = &records.first()?.1.scores;
    let [a, b] = <[&String; 2]>::try_from(scores.keys().collect::<Vec<_>>()).ok()?;
    let mean = |m: &str| {
        records
            .iter()
            .filter_map(|(_, r)| r.scores.get(m))
            .sum::<f64>()
    };
    let (a, b) = (a.clone(), b.clone());
    Some(if mean(&a) <= mean(&b) { (a, b) } else { (b, a) })
}

/// How a router is fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct TrainOptions {
    /// Ridge penalty on the standardised features (default 10).
    pub alpha: f32,
    /// Folds of the cross-validation (default 5; 0 or 1: none).
    pub folds: usize,
    /// Seed of the fold assignment (default 7).
    pub seed: u64,
    /// Whether each set weighs the same in the fit whatever its size (default true).
    pub balance_sets: bool,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            alpha: 10.0,
            folds: 5,
            seed: 7,
            balance_sets: true,
        }
    }
}

/// The fold of a prompt: by its first line, so a question asked again with other answer
/// choices, or in two sets, stays in one fold.
fn fold_of(prompt: &str, seed: u64, folds: usize) -> usize {
    let first = prompt.lines().next().unwrap_or("").trim().to_lowercase();
    let digest = crate::digest::of([seed.to_le_bytes().as_slice(), first.as_bytes()]);
    let n = u64::from_str_radix(digest.get(..12).unwrap_or("0"), 16).unwrap_or(0);
    (n % folds.max(1) as u64) as usize
}

/// The fitted part of a router: standardisation, weights, bias.
struct Fit {
    mean: Vec<f32>,
    scale: Vec<f32>,
    weights: Vec<f32>,
    bias: f32,
}

impl Fit {
    fn raw(&self, x: &[f32; FEATURE_COUNT]) -> f32 {
        linear(x, &self.mean, &self.scale, &self.weights, self.bias)
    }
}

/// `bias + Σ wᵢ · (xᵢ − meanᵢ) / scaleᵢ`.
fn linear(x: &[f32], mean: &[f32], scale: &[f32], weights: &[f32], bias: f32) -> f32 {
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

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Ridge regression of `y` on the standardised rows: the normal equations
/// `(ZᵀZ + αI) w = Zᵀ(y − ȳ)`, solved by conjugate gradients.
fn fit(rows: &[[f32; FEATURE_COUNT]], y: &[f64], weight: &[f64], alpha: f64) -> Fit {
    let n = weight.iter().sum::<f64>().max(1e-9);
    let mut mean = [0f64; FEATURE_COUNT];
    for (r, w) in rows.iter().zip(weight) {
        for (m, x) in mean.iter_mut().zip(r) {
            *m += w * f64::from(*x) / n;
        }
    }
    let mut var = [0f64; FEATURE_COUNT];
    for (r, w) in rows.iter().zip(weight) {
        for ((v, x), m) in var.iter_mut().zip(r).zip(&mean) {
            *v += w * (f64::from(*x) - m).powi(2) / n;
        }
    }
    // A feature constant over the training set gets scale 1 and, being 0 after centring,
    // no weight.
    let scale: Vec<f64> = var
        .iter()
        .map(|v| if *v > 1e-12 { v.sqrt() } else { 1.0 })
        .collect();
    let y_mean = y.iter().zip(weight).map(|(t, w)| t * w).sum::<f64>() / n;
    let mut gram = vec![[0f64; FEATURE_COUNT]; FEATURE_COUNT];
    let mut b = vec![0f64; FEATURE_COUNT];
    let mut z = [0f64; FEATURE_COUNT];
    for ((r, t), w) in rows.iter().zip(y).zip(weight) {
        for (((z, x), m), s) in z.iter_mut().zip(r).zip(&mean).zip(&scale) {
            *z = (f64::from(*x) - m) / s;
        }
        for ((row, zi), bi) in gram.iter_mut().zip(&z).zip(b.iter_mut()) {
            *bi += w * zi * (t - y_mean);
            for (a, zj) in row.iter_mut().zip(&z) {
                *a += w * zi * zj;
            }
        }
    }
    for (i, row) in gram.iter_mut().enumerate() {
        if let Some(a) = row.get_mut(i) {
            *a += alpha;
        }
    }
    let w = conjugate_gradients(&gram, &b);
    Fit {
        mean: mean.iter().map(|m| *m as f32).collect(),
        scale: scale.iter().map(|s| *s as f32).collect(),
        weights: w.iter().map(|x| *x as f32).collect(),
        bias: y_mean as f32,
    }
}

/// Solves `a x = b` for a symmetric positive definite `a` (the ridge penalty keeps it so):
/// exact after `d` steps in exact arithmetic; a few more absorb rounding.
fn conjugate_gradients(a: &[[f64; FEATURE_COUNT]], b: &[f64]) -> Vec<f64> {
    let times = |v: &[f64]| -> Vec<f64> { a.iter().map(|row| dot(row, v)).collect() };
    let mut x = vec![0f64; b.len()];
    let mut r = b.to_vec();
    let mut p = r.clone();
    let mut rr = dot(&r, &r);
    let tolerance = 1e-20 * dot(b, b).max(1e-300);
    for _ in 0..4 * b.len() {
        if rr <= tolerance {
            break;
        }
        let ap = times(&p);
        let step = rr / dot(&p, &ap);
        if !step.is_finite() {
            break;
        }
        for ((x, r), (p, ap)) in x.iter_mut().zip(r.iter_mut()).zip(p.iter().zip(&ap)) {
            *x += step * p;
            *r -= step * ap;
        }
        let next = dot(&r, &r);
        let beta = next / rr;
        for (p, r) in p.iter_mut().zip(&r) {
            *p = r + beta * *p;
        }
        rr = next;
    }
    x
}

/// Fits a router to `sets` (all together), cross-validates it by folds of prompts, and
/// calibrates its percentiles on the training prompts' scores. Deterministic given the
/// options.
///
/// # Errors
///
/// [`ErrorKind::Config`] when the sets hold fewer than 10 outcomes or the penalty is not a
/// positive number.
pub fn train(sets: &[OutcomeSet], options: TrainOptions) -> Result<LearnedRouter> {
    let total: usize = sets.iter().map(|s| s.outcomes.len()).sum();
    if total < 10 {
        return Err(Error::config(format!(
            "{total} outcomes are too few to train a router"
        )));
    }
    if !(options.alpha.is_finite() && options.alpha > 0.0) {
        return Err(Error::config("the ridge penalty must be a positive number"));
    }
    let alpha = f64::from(options.alpha);
    let folds = options.folds;
    // Each set weighs the same in the fit when balanced, whatever its size: a small set of
    // one kind of prompt is not drowned by a large one of another. Weights average 1.
    let total = total as f64;
    let set_weight: Vec<f64> = sets
        .iter()
        .map(|s| {
            if options.balance_sets {
                total / (sets.len() as f64 * s.outcomes.len().max(1) as f64)
            } else {
                1.0
            }
        })
        .collect();
    // Every outcome of every set, in order: (set, features, strong − weak, fold).
    let samples: Vec<(usize, [f32; FEATURE_COUNT], f64, usize)> = sets
        .iter()
        .enumerate()
        .flat_map(|(k, s)| {
            s.outcomes.iter().map(move |o| {
                let fold = fold_of(&o.prompt, options.seed, folds);
                (k, features(&o.prompt), o.strong - o.weak, fold)
            })
        })
        .collect();
    let mut out_of_fold = vec![0f64; samples.len()];
    if folds > 1 {
        for k in 0..folds {
            let (x, y): (Vec<[f32; FEATURE_COUNT]>, Vec<f64>) = samples
                .iter()
                .filter(|s| s.3 != k)
                .map(|s| (s.1, s.2))
                .unzip();
            let w: Vec<f64> = samples
                .iter()
                .filter(|s| s.3 != k)
                .map(|s| set_weight.get(s.0).copied().unwrap_or(1.0))
                .collect();
            let model = fit(&x, &y, &w, alpha);
            for (s, out) in samples.iter().zip(out_of_fold.iter_mut()) {
                if s.3 == k {
                    *out = f64::from(model.raw(&s.1));
                }
            }
        }
    }
    let (all_x, all_y): (Vec<[f32; FEATURE_COUNT]>, Vec<f64>) =
        samples.iter().map(|s| (s.1, s.2)).unzip();
    let all_w: Vec<f64> = samples
        .iter()
        .map(|s| set_weight.get(s.0).copied().unwrap_or(1.0))
        .collect();
    let model = fit(&all_x, &all_y, &all_w, alpha);
    let mut raws: Vec<f32> = all_x.iter().map(|x| model.raw(x)).collect();
    raws.sort_by(f32::total_cmp);
    let last = raws.len().saturating_sub(1);
    let calibration: Vec<f32> = (0..=100)
        .map(|p| raws.get((p * last) / 100).copied().unwrap_or(0.0))
        .collect();
    let trained_on = sets
        .iter()
        .enumerate()
        .map(|(k, s)| TrainedOn {
            name: s.name.clone(),
            digest: s.digest.clone(),
            records: s.outcomes.len(),
            weak: s.weak.clone(),
            strong: s.strong.clone(),
            cross_validated: if folds > 1 {
                let scores = samples
                    .iter()
                    .zip(&out_of_fold)
                    .filter(|(sample, _)| sample.0 == k)
                    .map(|(_, r)| *r);
                let items: Vec<(f64, f64, f64)> = s
                    .outcomes
                    .iter()
                    .zip(scores)
                    .map(|(o, r)| (o.weak, o.strong, r))
                    .collect();
                routing_metrics(&items)
            } else {
                None
            },
        })
        .collect();
    Ok(LearnedRouter {
        format: ROUTER_FORMAT.to_string(),
        features: FEATURE_NAMES.iter().map(|s| (*s).to_string()).collect(),
        mean: model.mean,
        scale: model.scale,
        weights: model.weights,
        bias: model.bias,
        calibration,
        alpha: options.alpha,
        seed: options.seed,
        folds,
        trained_on,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        OutcomeSet {
            name: "synthetic".into(),
            digest: "d".into(),
            weak: "small".into(),
            strong: "large".into(),
            outcomes,
        }
    }

    #[test]
    fn a_learnable_signal_is_learned_and_cross_validated() {
        let router = train(&[synthetic(300)], TrainOptions::default()).expect("trained");
        let cv = router.trained_on()[0].cross_validated.expect("figures");
        // A third of the prompts need the large model: the oracle's APGR is 1 − 1/6, and the
        // cross-validated router reaches it.
        assert!((cv.apgr - 5.0 / 6.0).abs() < 1e-6, "{cv:?}");
        let hard = router.score("compute 17 * 3 + 8 / 2 - 5 and 6 ^ 2 for case 81");
        let easy = router.score("name the capital of the country in the story");
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
        let broken = router.to_json().replace(ROUTER_FORMAT, "other/1");
        assert!(LearnedRouter::from_json(&broken).is_err());
    }

    #[test]
    fn training_is_deterministic_and_refuses_too_little() {
        let a = train(&[synthetic(120)], TrainOptions::default()).expect("a");
        let b = train(&[synthetic(120)], TrainOptions::default()).expect("b");
        assert_eq!(a.to_json(), b.to_json());
        assert!(train(&[synthetic(5)], TrainOptions::default()).is_err());
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
        let s = router.score("What time is it?");
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

    #[test]
    fn ridge_recovers_a_linear_rule() {
        // y = 2·z0 − z1 on standardised features: the solver finds the weights' signs.
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let mut x = [0f32; FEATURE_COUNT];
            x[0] = (i % 17) as f32;
            x[1] = (i % 11) as f32;
            y.push(2.0 * f64::from(x[0]) - f64::from(x[1]));
            rows.push(x);
        }
        let f = fit(&rows, &y, &vec![1.0; rows.len()], 0.01);
        assert!(f.weights[0] > 0.0 && f.weights[1] < 0.0);
        assert!(f.weights[2..].iter().all(|w| w.abs() < 1e-6));
        let err: f64 = rows
            .iter()
            .zip(&y)
            .map(|(r, t)| (f64::from(f.raw(r)) - t).abs())
            .sum::<f64>()
            / 200.0;
        assert!(err < 0.05, "{err}");
    }
}
