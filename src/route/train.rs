//! Fitting a [`LearnedRouter`]: ridge regression of `strong − weak` quality on the prompt
//! features (and, given embeddings, the neighbours' outcome), grouped k-fold
//! cross-validation, percentile calibration.

use std::sync::Arc;

use super::features::features;
use super::learned::{Head, LearnedRouter, NeighbourInfo, TrainedOn, linear};
use super::metrics::routing_metrics;
use super::neighbours::{Neighbours, quantize};
use super::outcomes::OutcomeSet;
use crate::error::{Error, Result};

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
    /// Training prompts whose outcomes make the `similar_prompts` feature, when embeddings
    /// are given (default 50).
    pub neighbours: usize,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            alpha: 10.0,
            folds: 5,
            seed: 7,
            balance_sets: true,
            neighbours: 50,
        }
    }
}

/// The embeddings of the training prompts: one vector per outcome of each set, in order,
/// with the name of the model that made them.
#[derive(Debug, Clone)]
pub struct TrainingEmbeddings {
    /// The embedding model's name, recorded in the router.
    pub model: String,
    /// Per set, per outcome, a unit-length vector.
    pub vectors: Vec<Vec<Vec<f32>>>,
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
    fn raw(&self, x: &[f32]) -> f32 {
        linear(x, &self.mean, &self.scale, &self.weights, self.bias)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Weighted ridge regression of `y` on the standardised rows: the normal equations
/// `(ZᵀWZ + αI) w = ZᵀW(y − ȳ)`, solved by conjugate gradients.
fn fit(rows: &[Vec<f32>], y: &[f64], weight: &[f64], alpha: f64) -> Fit {
    let d = rows.first().map_or(0, Vec::len);
    let n = weight.iter().sum::<f64>().max(1e-9);
    let mut mean = vec![0f64; d];
    for (r, w) in rows.iter().zip(weight) {
        for (m, x) in mean.iter_mut().zip(r) {
            *m += w * f64::from(*x) / n;
        }
    }
    let mut var = vec![0f64; d];
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
    let mut gram = vec![vec![0f64; d]; d];
    let mut b = vec![0f64; d];
    let mut z = vec![0f64; d];
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
fn conjugate_gradients(a: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
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

/// One outcome, ready to fit: its set, features, target, fold, weight.
struct Sample {
    set: usize,
    x: Vec<f32>,
    y: f64,
    fold: usize,
    weight: f64,
}

/// Fits a router to `sets` (all together), cross-validates it by folds of prompts, and
/// calibrates its percentiles on the training prompts' scores. Deterministic given the
/// options.
///
/// # Errors
///
/// [`ErrorKind::Config`](crate::ErrorKind::Config) when the sets hold fewer than 10
/// outcomes or the penalty is not a positive number.
pub fn train(sets: &[OutcomeSet], options: TrainOptions) -> Result<LearnedRouter> {
    train_router(sets, options, None)
}

/// As [`train`], with the training prompts' embeddings: the router then also weighs how much
/// the large model helped on the training prompts most like the new one (feature
/// `similar_prompts`, the mean outcome of the [`TrainOptions::neighbours`] nearest), and
/// needs the prompt's embedding by the same model to score it. The router file then comes
/// with a neighbours file beside it.
///
/// # Errors
///
/// As [`train`]; [`ErrorKind::Config`](crate::ErrorKind::Config) when the embeddings do not
/// match the outcomes one for one or differ in length.
pub fn train_with_embeddings(
    sets: &[OutcomeSet],
    embeddings: &TrainingEmbeddings,
    options: TrainOptions,
) -> Result<LearnedRouter> {
    train_router(sets, options, Some(embeddings))
}

fn train_router(
    sets: &[OutcomeSet],
    options: TrainOptions,
    embeddings: Option<&TrainingEmbeddings>,
) -> Result<LearnedRouter> {
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
    let samples: Vec<Sample> = sets
        .iter()
        .enumerate()
        .flat_map(|(k, s)| {
            let weight = if options.balance_sets {
                total as f64 / (sets.len() as f64 * s.outcomes.len().max(1) as f64)
            } else {
                1.0
            };
            s.outcomes.iter().map(move |o| Sample {
                set: k,
                x: features(&o.prompt).to_vec(),
                y: o.strong - o.weak,
                fold: fold_of(&o.prompt, options.seed, folds),
                weight,
            })
        })
        .collect();
    let all = match embeddings {
        Some(e) => Some(neighbours_of(sets, &samples, e, options.neighbours)?),
        None => None,
    };
    // The `similar_prompts` column: in each fold of the cross-validation from the other
    // folds' prompts alone, and over every prompt for the final fit; a training prompt is
    // never its own neighbour.
    let similar = all.as_ref().map(|n| Similar {
        folds: cross_validation_folds(folds)
            .map(|k| similar_in_fold(n, &samples, k))
            .collect(),
        all: (0..samples.len())
            .map(|i| n.score(n.vector(i), Some(i)))
            .collect(),
    });
    // One head over every outcome; with more than one pair of models, one per pair too.
    let mut pairs: Vec<[String; 2]> = Vec::new();
    for s in sets {
        let pair = [s.weak.clone(), s.strong.clone()];
        if !pairs.contains(&pair) {
            pairs.push(pair);
        }
    }
    let everyone: Vec<usize> = (0..samples.len()).collect();
    let (pooled, pooled_oof) = fit_head(&samples, &everyone, similar.as_ref(), folds, alpha);
    let mut heads = vec![pooled];
    // Per sample: the out-of-fold score of the head its pair scores with.
    let mut own_oof = pooled_oof.clone();
    if pairs.len() > 1 {
        for pair in pairs {
            let [weak, strong] = &pair;
            let members: Vec<usize> = samples
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    sets.get(s.set)
                        .is_some_and(|o| &o.weak == weak && &o.strong == strong)
                })
                .map(|(i, _)| i)
                .collect();
            let (mut head, oof) = fit_head(&samples, &members, similar.as_ref(), folds, alpha);
            for (i, r) in members.iter().zip(oof) {
                if let Some(o) = own_oof.get_mut(*i) {
                    *o = r;
                }
            }
            head.models = Some(pair);
            heads.push(head);
        }
    }
    let figures = |k: usize, scores: &[f64]| {
        if folds <= 1 {
            return None;
        }
        let set = sets.get(k)?;
        let items: Vec<(f64, f64, f64)> = set
            .outcomes
            .iter()
            .zip(samples.iter().zip(scores).filter(|(s, _)| s.set == k))
            .map(|(o, (_, r))| (o.weak, o.strong, *r))
            .collect();
        routing_metrics(&items)
    };
    let trained_on = sets
        .iter()
        .enumerate()
        .map(|(k, s)| TrainedOn {
            name: s.name.clone(),
            digest: s.digest.clone(),
            records: s.outcomes.len(),
            weak: s.weak.clone(),
            strong: s.strong.clone(),
            cross_validated: figures(k, &own_oof),
            cross_validated_all_pairs: if heads.len() > 1 {
                figures(k, &pooled_oof)
            } else {
                None
            },
        })
        .collect();
    let info = match (&all, embeddings) {
        (Some(n), Some(e)) => Some(NeighbourInfo {
            k: n.k(),
            dims: n.dims(),
            count: n.len(),
            model: e.model.clone(),
            digest: n.digest(),
        }),
        _ => None,
    };
    Ok(LearnedRouter::from_fit(
        heads,
        options,
        trained_on,
        info.zip(all.map(Arc::new)),
    ))
}

/// The folds a cross-validation runs: none with 0 or 1.
fn cross_validation_folds(folds: usize) -> std::ops::Range<usize> {
    0..if folds > 1 { folds } else { 0 }
}

/// The `similar_prompts` feature of every sample: per fold, then over all.
struct Similar {
    folds: Vec<Vec<f32>>,
    all: Vec<f32>,
}

/// The feature in fold `k`: the prompts of the other folds are the neighbours; one of them
/// is scored without itself, one of fold `k` as a new prompt.
fn similar_in_fold(n: &Neighbours, samples: &[Sample], k: usize) -> Vec<f32> {
    let keep: Vec<bool> = samples.iter().map(|s| s.fold != k).collect();
    let subset = n.subset(&keep);
    let mut position = 0;
    samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if s.fold == k {
                subset.score(n.vector(i), None)
            } else {
                position += 1;
                subset.score(n.vector(i), Some(position - 1))
            }
        })
        .collect()
}

/// The row of sample `i`: its features, and the neighbours' feature from `column`.
fn row(samples: &[Sample], i: usize, column: Option<&[f32]>) -> Vec<f32> {
    let mut x = samples.get(i).map(|s| s.x.clone()).unwrap_or_default();
    if let Some(c) = column {
        x.push(c.get(i).copied().unwrap_or(0.0));
    }
    x
}

/// Fits a head to the samples `members` (weights rescaled to average 1 among them),
/// calibrated on their scores, with the out-of-fold scores of each member, in order.
fn fit_head(
    samples: &[Sample],
    members: &[usize],
    similar: Option<&Similar>,
    folds: usize,
    alpha: f64,
) -> (Head, Vec<f64>) {
    let picked: Vec<&Sample> = members.iter().filter_map(|i| samples.get(*i)).collect();
    let mean_weight =
        (picked.iter().map(|s| s.weight).sum::<f64>() / picked.len().max(1) as f64).max(1e-12);
    let mut out_of_fold = vec![0f64; members.len()];
    for k in cross_validation_folds(folds) {
        let column = similar.and_then(|s| s.folds.get(k)).map(Vec::as_slice);
        let train: Vec<usize> = members
            .iter()
            .copied()
            .filter(|i| samples.get(*i).is_some_and(|s| s.fold != k))
            .collect();
        let rows: Vec<Vec<f32>> = train.iter().map(|i| row(samples, *i, column)).collect();
        let (y, w): (Vec<f64>, Vec<f64>) = train
            .iter()
            .filter_map(|i| samples.get(*i))
            .map(|s| (s.y, s.weight / mean_weight))
            .unzip();
        let model = fit(&rows, &y, &w, alpha);
        for (out, i) in out_of_fold.iter_mut().zip(members) {
            if samples.get(*i).is_some_and(|s| s.fold == k) {
                *out = f64::from(model.raw(&row(samples, *i, column)));
            }
        }
    }
    let column = similar.map(|s| s.all.as_slice());
    let rows: Vec<Vec<f32>> = members.iter().map(|i| row(samples, *i, column)).collect();
    let (y, w): (Vec<f64>, Vec<f64>) = picked.iter().map(|s| (s.y, s.weight / mean_weight)).unzip();
    let model = fit(&rows, &y, &w, alpha);
    let mut raws: Vec<f32> = rows.iter().map(|x| model.raw(x)).collect();
    raws.sort_by(f32::total_cmp);
    let last = raws.len().saturating_sub(1);
    let calibration: Vec<f32> = (0..=100)
        .map(|p| raws.get((p * last) / 100).copied().unwrap_or(0.0))
        .collect();
    let head = Head {
        models: None,
        mean: model.mean,
        scale: model.scale,
        weights: model.weights,
        bias: model.bias,
        calibration,
    };
    (head, out_of_fold)
}

/// Every training prompt's embedding, quantised, with its outcome.
fn neighbours_of(
    sets: &[OutcomeSet],
    samples: &[Sample],
    embeddings: &TrainingEmbeddings,
    k: usize,
) -> Result<Neighbours> {
    let mismatch =
        || Error::config("the embeddings do not match the outcomes one for one, in one length");
    if embeddings.vectors.len() != sets.len()
        || sets
            .iter()
            .zip(&embeddings.vectors)
            .any(|(s, v)| s.outcomes.len() != v.len())
    {
        return Err(mismatch());
    }
    let dims = embeddings
        .vectors
        .iter()
        .flatten()
        .next()
        .map_or(0, Vec::len);
    let mut vectors = Vec::with_capacity(samples.len() * dims);
    for v in embeddings.vectors.iter().flatten() {
        if v.len() != dims {
            return Err(mismatch());
        }
        vectors.extend(quantize(v));
    }
    let targets = samples.iter().map(|s| s.y as f32).collect();
    Neighbours::new(vectors, dims, targets, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::FEATURE_COUNT;

    #[test]
    fn ridge_recovers_a_linear_rule() {
        // y = 2·x0 − x1: the solver finds the weights' signs, and the rest stay 0.
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let mut x = vec![0f32; FEATURE_COUNT];
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
