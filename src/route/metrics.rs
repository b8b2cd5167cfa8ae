//! How well a router's scores order prompts for a pair of models, measured as RouteLLM does
//! (Ong et al. 2024, §3.2): the share of the quality gap between the weak and the strong
//! model recovered, over every share of calls sent to the strong model.

use serde::{Deserialize, Serialize};

/// A router's figures on a set of prompts with known outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoutingMetrics {
    /// Area under the performance-gap-recovered curve over the share of strong calls, from 0
    /// to 1: random 0.5.
    pub apgr: f64,
    /// The least share of strong calls that recovers half the gap: random 0.5.
    pub cpt50: f64,
    /// The least share of strong calls that recovers 80% of the gap: random 0.8.
    pub cpt80: f64,
    /// How many prompts.
    pub prompts: usize,
}

/// The quality reached as the share of strong calls grows, at the ends of each group of
/// equal scores (a threshold cannot split a tie, so inside one the curve is a straight line).
fn curve(items: &[(f64, f64, f64)]) -> Vec<(f64, f64)> {
    let n = items.len() as f64;
    let mut order: Vec<&(f64, f64, f64)> = items.iter().collect();
    order.sort_by(|a, b| b.2.total_cmp(&a.2));
    let mut quality = items.iter().map(|t| t.0).sum::<f64>() / n;
    let mut points = vec![(0.0, quality)];
    let mut done = 0;
    for (i, t) in order.iter().enumerate() {
        quality += (t.1 - t.0) / n;
        done += 1;
        // The end of a group of equal scores is a point of the curve.
        if order.get(i + 1).is_none_or(|next| next.2 != t.2) {
            points.push((done as f64 / n, quality));
        }
    }
    points
}

/// The figures of `items`, each `(weak quality, strong quality, router score)`; higher scores
/// go to the strong model first. `None` when there are no items or the strong model is not
/// better on average (no gap to recover).
///
/// ```
/// use promptveil::route::routing_metrics;
///
/// // The router sends first the prompt only the strong model gets right.
/// let m = routing_metrics(&[(0.0, 1.0, 0.9), (1.0, 1.0, 0.1), (0.0, 0.0, 0.2)]).unwrap();
/// assert!(m.apgr > 0.8 && m.cpt50 < 0.2);
/// ```
pub fn routing_metrics(items: &[(f64, f64, f64)]) -> Option<RoutingMetrics> {
    if items.is_empty() {
        return None;
    }
    let n = items.len() as f64;
    let weak = items.iter().map(|t| t.0).sum::<f64>() / n;
    let strong = items.iter().map(|t| t.1).sum::<f64>() / n;
    let gap = strong - weak;
    if gap <= 0.0 || !gap.is_finite() {
        return None;
    }
    let points = curve(items);
    let area: f64 = points
        .iter()
        .zip(points.iter().skip(1))
        .map(|((c0, q0), (c1, q1))| (c1 - c0) * (q0 + q1) / 2.0)
        .sum();
    let cpt = |x: f64| {
        let target = weak + x * gap;
        for (&(c0, q0), &(c1, q1)) in points.iter().zip(points.iter().skip(1)) {
            if q0 >= target {
                return c0;
            }
            if q1 >= target {
                return c0 + (c1 - c0) * (target - q0) / (q1 - q0);
            }
        }
        1.0
    };
    Some(RoutingMetrics {
        apgr: (area - weak) / gap,
        cpt50: cpt(0.5),
        cpt80: cpt(0.8),
        prompts: items.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_oracle_and_reverse_orders() {
        // Four prompts: strong only, both, neither, weak only.
        let outcomes = [(0.0, 1.0), (1.0, 1.0), (0.0, 0.0), (1.0, 0.0), (0.0, 1.0)];
        let with = |scores: [f64; 5]| {
            let items: Vec<_> = outcomes
                .iter()
                .zip(scores)
                .map(|(&(w, s), r)| (w, s, r))
                .collect();
            routing_metrics(&items).expect("a gap")
        };
        // A constant score is the random router: the straight line.
        let flat = with([0.5; 5]);
        assert!((flat.apgr - 0.5).abs() < 1e-12);
        assert!((flat.cpt50 - 0.5).abs() < 1e-12 && (flat.cpt80 - 0.8).abs() < 1e-12);
        let oracle = with([1.0, 0.0, 0.0, -1.0, 1.0]);
        let reverse = with([-1.0, 0.0, 0.0, 1.0, -1.0]);
        assert!(
            oracle.apgr > 0.9 && reverse.apgr < 0.3,
            "{oracle:?} {reverse:?}"
        );
        assert!((oracle.cpt50 - 0.1).abs() < 1e-12, "{oracle:?}");
        assert!(routing_metrics(&[]).is_none());
        // The evaluation's reference scorer (`score_routing.py`) gives these figures for this
        // generated set, ties included.
        let items: Vec<(f64, f64, f64)> = (0..200u32)
            .map(|i| {
                let flag = |b: bool| if b { 1.0 } else { 0.0 };
                (
                    flag(i * 7 % 3 == 0),
                    flag(i * 5 % 4 != 0),
                    f64::from(i * 37 % 23),
                )
            })
            .collect();
        let m = routing_metrics(&items).expect("a gap");
        assert!((m.apgr - 0.494_216_867_469_880_1).abs() < 1e-9, "{m:?}");
        assert!((m.cpt50 - 0.503_125).abs() < 1e-9 && (m.cpt80 - 0.804).abs() < 1e-9);
        assert!(routing_metrics(&[(1.0, 0.0, 0.3)]).is_none());
    }
}
