//! An explainable estimate of how hard a prompt is, from cheap features of its text.
//!
//! The score is a weighted sum of features, squashed into `0.0..=1.0`; every feature's share
//! is reported, so a routing decision can say *why* a prompt went to the large model. The
//! weights are settings ([`ComplexityWeights`]); the defaults are hand-set, not fitted: no
//! labelled set of prompts by difficulty exists in this project yet.

use serde::{Deserialize, Serialize};

/// A prompt feature the scorer looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Feature {
    /// Estimated tokens of the question (log-scaled).
    Length,
    /// Question marks beyond the first.
    ExtraQuestions,
    /// "why", "explain", "prove", "step by step", ...
    Reasoning,
    /// "compare", "versus", "pros and cons", ...
    Comparison,
    /// "plan", "design", "strategy", "roadmap", ...
    Planning,
    /// Code fences or code-like lines.
    Code,
    /// A long answer asked for ("in detail", "a report", "1000 words").
    LongAnswer,
    /// Estimated tokens of retrieved context (log-scaled).
    Context,
}

/// Weights of the features; the score is `1 - exp(-sum)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ComplexityWeights {
    /// Per doubling of the question's tokens beyond 32.
    pub length: f32,
    /// Per extra question (at most 4 counted).
    pub extra_questions: f32,
    /// Per reasoning cue (at most 3 counted).
    pub reasoning: f32,
    /// Per comparison cue (at most 3 counted).
    pub comparison: f32,
    /// Per planning cue (at most 3 counted).
    pub planning: f32,
    /// When the prompt holds code.
    pub code: f32,
    /// When a long answer is asked for.
    pub long_answer: f32,
    /// Per doubling of the context's tokens beyond 512.
    pub context: f32,
}

impl Default for ComplexityWeights {
    fn default() -> ComplexityWeights {
        ComplexityWeights {
            length: 0.15,
            extra_questions: 0.15,
            reasoning: 0.3,
            comparison: 0.3,
            planning: 0.3,
            code: 0.4,
            long_answer: 0.4,
            context: 0.1,
        }
    }
}

/// A complexity score and the share of each feature in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Complexity {
    /// In `0.0..=1.0`; higher is harder.
    pub score: f32,
    /// The features that contributed, with their contribution to the sum.
    pub features: Vec<(Feature, f32)>,
    /// The names of the features that moved the score most, largest first: the hand-set
    /// features above, or a learned router's ([`LearnedRouter`](super::LearnedRouter)).
    pub drivers: Vec<String>,
}

pub(super) const REASONING: &[&str] = &[
    "why",
    "explain",
    "reason",
    "prove",
    "derive",
    "justify",
    "step by step",
    "analyse",
    "analyze",
    "evaluate",
    "infer",
    "implications",
];
pub(super) const COMPARISON: &[&str] = &[
    "compare",
    "comparison",
    "versus",
    " vs ",
    "difference between",
    "differences between",
    "pros and cons",
    "trade-off",
    "tradeoff",
    "better than",
    "which is best",
];
pub(super) const PLANNING: &[&str] = &[
    "plan",
    "design",
    "strategy",
    "roadmap",
    "architecture",
    "steps to",
    "migrate",
    "schedule",
    "prioritise",
    "prioritize",
];
pub(super) const LONG_ANSWER: &[&str] = &[
    "in detail",
    "detailed",
    "comprehensive",
    "thorough",
    "essay",
    "report",
    "full draft",
    " words",
    "pages",
];

fn cues(lower: &str, list: &[&str]) -> usize {
    list.iter().filter(|c| lower.contains(*c)).count().min(3)
}

fn doublings(tokens: usize, base: usize) -> f32 {
    if tokens <= base {
        0.0
    } else {
        (tokens as f32 / base as f32).log2()
    }
}

fn has_code(text: &str) -> bool {
    text.contains("```")
        || text.lines().any(|l| {
            let t = l.trim_start();
            t.starts_with("fn ")
                || t.starts_with("def ")
                || t.starts_with("SELECT ")
                || t.starts_with("class ")
                || t.starts_with("#include")
                || (t.ends_with(';') && t.contains('('))
                || (t.ends_with('{') && t.contains('('))
        })
}

impl Complexity {
    /// Scores the (redacted) question, its length and the size of its retrieved context, both
    /// in tokens as the pipeline's [`TokenCounter`](crate::enrich::TokenCounter) counts them
    /// ([`EnrichedPrompt::question_tokens`](crate::enrich::EnrichedPrompt::question_tokens),
    /// [`EnrichedPrompt::context_tokens`](crate::enrich::EnrichedPrompt::context_tokens)).
    ///
    /// ```
    /// use promptveil::route::{Complexity, ComplexityWeights, Feature};
    ///
    /// let w = ComplexityWeights::default();
    /// assert!(Complexity::score("When do you open?", 5, 100, &w).score < 0.2);
    /// let q = "Compare both plans, explain why step by step, and design a detailed \
    ///          migration strategy with pros and cons?";
    /// let hard = Complexity::score(q, 28, 1500, &w);
    /// assert!(hard.score > 0.6);
    /// // Every feature's share is reported, so the route can say why.
    /// assert!(hard.features.iter().any(|(f, share)| *f == Feature::Comparison && *share > 0.0));
    /// ```
    pub fn score(
        question: &str,
        question_tokens: usize,
        context_tokens: usize,
        w: &ComplexityWeights,
    ) -> Complexity {
        let lower = format!(" {} ", question.to_lowercase());
        let questions = question.matches('?').count();
        let parts = [
            (Feature::Length, w.length * doublings(question_tokens, 32)),
            (
                Feature::ExtraQuestions,
                w.extra_questions * questions.saturating_sub(1).min(4) as f32,
            ),
            (
                Feature::Reasoning,
                w.reasoning * cues(&lower, REASONING) as f32,
            ),
            (
                Feature::Comparison,
                w.comparison * cues(&lower, COMPARISON) as f32,
            ),
            (
                Feature::Planning,
                w.planning * cues(&lower, PLANNING) as f32,
            ),
            (Feature::Code, if has_code(question) { w.code } else { 0.0 }),
            (
                Feature::LongAnswer,
                if cues(&lower, LONG_ANSWER) > 0 {
                    w.long_answer
                } else {
                    0.0
                },
            ),
            (Feature::Context, w.context * doublings(context_tokens, 512)),
        ];
        let features: Vec<(Feature, f32)> = parts.into_iter().filter(|(_, c)| *c > 0.0).collect();
        let sum: f32 = features.iter().map(|(_, c)| c).sum();
        let mut ranked = features.clone();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let drivers = ranked
            .iter()
            .take(3)
            .map(|(f, _)| {
                serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .collect();
        Complexity {
            score: 1.0 - (-sum).exp(),
            features,
            drivers,
        }
    }

    /// The complexity of a learned router's score: its percentile among the router's
    /// training prompts, and the features that moved it most (up or down).
    ///
    /// ```
    /// use promptveil::route::{Complexity, LearnedRouter};
    ///
    /// let router = LearnedRouter::shipped()?;
    /// let c = Complexity::learned(&router, "Solve 3x + 7 = 22 for x, then compute x^2 - 4x.", None)?;
    /// assert!((0.0..=1.0).contains(&c.score));
    /// assert_eq!(c.drivers.len(), 3);
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`LearnedRouter::score`](super::LearnedRouter::score): a router that reads the
    /// prompt's embedding was given none.
    pub fn learned(
        router: &super::LearnedRouter,
        question: &str,
        embedding: Option<&[f32]>,
    ) -> crate::Result<Complexity> {
        let s = router.score(question, embedding)?;
        Ok(Complexity {
            score: s.percentile,
            features: Vec::new(),
            drivers: s.drivers.iter().map(|(n, _)| (*n).to_string()).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(q: &str) -> Complexity {
        let tokens = crate::enrich::TokenCounter::count(&crate::enrich::HeuristicCounter, q);
        Complexity::score(q, tokens, 0, &ComplexityWeights::default())
    }

    #[test]
    fn simple_lookups_score_low_and_analysis_scores_high() {
        let easy = s("What are the clinic's opening hours on Saturday?");
        assert!(easy.score < 0.2, "{easy:?}");
        let hard = s(
            "Compare the two payment plan designs and explain step by step why one is better \
             for patients with large balances. Which risks does each carry? What would you \
             plan for the migration? Write a detailed report.",
        );
        assert!(hard.score > 0.8, "{hard:?}");
        let kinds: Vec<Feature> = hard.features.iter().map(|(f, _)| *f).collect();
        for f in [
            Feature::Comparison,
            Feature::Reasoning,
            Feature::Planning,
            Feature::ExtraQuestions,
            Feature::LongAnswer,
        ] {
            assert!(kinds.contains(&f), "{f:?} missing from {kinds:?}");
        }
    }

    #[test]
    fn code_and_context_raise_the_score() {
        let plain = s("Fix this function");
        let code = s("Fix this function\n```rust\nfn f(x: u32) -> u32 { x + 1 }\n```");
        assert!(code.score > plain.score);
        let with_context = Complexity::score("Summarise", 3, 8192, &ComplexityWeights::default());
        assert!(
            with_context
                .features
                .iter()
                .any(|(f, _)| *f == Feature::Context)
        );
    }

    #[test]
    fn the_score_stays_in_range_and_weights_can_switch_features_off() {
        let all =
            "why? why? why? compare versus plan design strategy ```code``` report ".repeat(500);
        let c = s(&all);
        assert!(c.score <= 1.0 && c.score > 0.95, "{c:?}");
        let off = ComplexityWeights {
            reasoning: 0.0,
            ..ComplexityWeights::default()
        };
        let c = Complexity::score("explain why", 3, 0, &off);
        assert_eq!(c.score, 0.0);
        assert!(c.features.is_empty());
    }
}
