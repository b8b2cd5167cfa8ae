//! One text rule: its settings, evidence, and how it judges a candidate.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

use super::context::{ContextHits, ContextScorer, NearIds, RuleWords};
use super::{DEFAULT_CONTEXT_DELTA, DEFAULT_WINDOW};
use crate::error::Location;
use crate::redact::{Action, EntityType, Finding, RuleId, Span};
use crate::sensitivity::Sensitivity;
use crate::validate::{self, NamedValidator, shannon_entropy};

/// How many space-separated trailing words a rejected validated match may shed.
const MAX_SPACE_BACKOFF: usize = 4;

/// Context configuration of a rule, as written in its file.
#[derive(Debug, Clone, Serialize)]
pub struct RuleContext {
    /// Words or phrases that raise the score when near a candidate.
    pub words: Vec<String>,
    /// Words or phrases that lower it.
    pub negative: Vec<String>,
    /// How much a positive word adds.
    pub boost: f32,
    /// How much a negative word subtracts.
    pub penalty: f32,
    /// Tokens on each side that are looked at.
    pub window: usize,
    /// Positive words count only before the value (and in its table column's header), as
    /// for a word that labels what follows it ("passport K4417203").
    pub before_only: bool,
}

impl Default for RuleContext {
    fn default() -> RuleContext {
        RuleContext {
            words: Vec::new(),
            negative: Vec::new(),
            boost: DEFAULT_CONTEXT_DELTA,
            penalty: DEFAULT_CONTEXT_DELTA,
            window: DEFAULT_WINDOW,
            before_only: false,
        }
    }
}

/// One evidence text of a rule.
#[derive(Debug, Clone)]
pub struct Example {
    pub(super) text: String,
    pub(super) value: Option<String>,
    pub(super) location: Option<Location>,
}

impl Example {
    /// The example text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// For an exact example, the value the rule must report.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// Where the example is written.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }
}

/// One detection rule, read from a rule file.
pub struct Rule {
    pub(super) id: RuleId,
    pub(super) entity: EntityType,
    pub(super) sensitivity: Sensitivity,
    pub(super) description: String,
    pub(super) patterns: Vec<String>,
    pub(super) validator: Option<NamedValidator>,
    pub(super) min_entropy: Option<f64>,
    pub(super) score: f32,
    pub(super) threshold: f32,
    pub(super) action: Action,
    pub(super) context: RuleContext,
    pub(super) scorer: ContextScorer,
    pub(super) allow: Vec<String>,
    pub(super) allow_set: HashSet<String>,
    /// This rule's words in the rule set's context index.
    pub(super) words: RuleWords,
    pub(super) examples: Vec<Example>,
    pub(super) no_match: Vec<Example>,
    pub(super) location: Option<Location>,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("id", &self.id)
            .field("entity", &self.entity)
            .field("sensitivity", &self.sensitivity)
            .field("patterns", &self.patterns.len())
            .field(
                "validator",
                &self.validator.as_ref().map(NamedValidator::name),
            )
            .field("action", &self.action)
            .finish_non_exhaustive()
    }
}

impl Rule {
    /// The rule's id.
    pub fn id(&self) -> &RuleId {
        &self.id
    }
    /// The entity type it reports.
    pub fn entity(&self) -> &EntityType {
        &self.entity
    }
    /// Its sensitivity level.
    pub fn sensitivity(&self) -> Sensitivity {
        self.sensitivity
    }
    /// The reviewer's description.
    pub fn description(&self) -> &str {
        &self.description
    }
    /// The patterns, as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
    /// The validator's name, if any.
    pub fn validator(&self) -> Option<&str> {
        self.validator.as_ref().map(NamedValidator::name)
    }
    /// The entropy floor, if any.
    pub fn min_entropy(&self) -> Option<f64> {
        self.min_entropy
    }
    /// Base score.
    pub fn score(&self) -> f32 {
        self.score
    }
    /// Threshold below which findings are dropped.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }
    /// What replaces a finding.
    pub fn action(&self) -> Action {
        self.action
    }
    /// Context configuration.
    pub fn context(&self) -> &RuleContext {
        &self.context
    }
    /// Values never reported.
    pub fn allow(&self) -> &[String] {
        &self.allow
    }
    /// Texts the rule must detect.
    pub fn examples(&self) -> &[Example] {
        &self.examples
    }
    /// Texts the rule must not detect.
    pub fn no_match_examples(&self) -> &[Example] {
        &self.no_match
    }
    /// Where the rule is written.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }

    /// True when the rule needs a context word to reach its threshold.
    pub(super) fn is_gated(&self) -> bool {
        self.score + 1e-4 < self.threshold
    }

    /// Turns a candidate span into a finding, or drops it: allow-list, validator, entropy
    /// floor, context-adjusted score against the threshold. Tokens inside `mask` spans are
    /// not context (see [`ContextScorer::adjust`]).
    pub(super) fn evaluate(
        &self,
        text: &str,
        span: Span,
        hits: &ContextHits,
        mask: &[Span],
    ) -> Verdict {
        self.evaluate_inner(text, span, hits, mask)
            .unwrap_or(Verdict::Dropped)
    }

    pub(super) fn evaluate_inner(
        &self,
        text: &str,
        span: Span,
        hits: &ContextHits,
        mask: &[Span],
    ) -> Option<Verdict> {
        let mut span = without_outer_closers(text, span);
        let mut value = text.get(span.range()).filter(|v| !v.is_empty())?;
        let validated = match &self.validator {
            Some(v) if !v.validate(value) => {
                // Patterns with optional spaced groups swallow the next word ("…1332 and")
                // or the first group of the next line; the value may still stand whole
                // before it. Try the prefixes that end before white space, longest first,
                // a few at most.
                let shorter = value
                    .match_indices(|c: char| c.is_whitespace())
                    .rev()
                    .take(MAX_SPACE_BACKOFF)
                    .map(|(at, _)| value.get(..at).unwrap_or("").trim_end())
                    .find(|p| !p.is_empty() && v.validate(p))?;
                span = Span::new(span.start, span.start + shorter.len());
                value = shorter;
                true
            }
            Some(_) => true,
            None => false,
        };
        if self
            .validator
            .as_ref()
            .is_some_and(|v| v.wants_whole_number())
            && !validate::stands_alone(text, span.start, span.end)
        {
            return None;
        }
        if !self.allow_set.is_empty() && self.allow_set.contains(&value.to_lowercase()) {
            return None;
        }
        if self
            .min_entropy
            .is_some_and(|min| shannon_entropy(value) < min)
        {
            return None;
        }
        // A rule that needs context cannot fire without a positive word nearby: skip the
        // window entirely then.
        if self.is_gated() && !hits.positive_near(&self.words, span.start, span.end) {
            return Some(Verdict::NoContext);
        }
        let mut score = self.score;
        if self.scorer.adjusts() {
            let mut buf = NearIds::default();
            let near = hits.near(&self.words, span.start, span.end, &mut buf);
            score += self.scorer.adjust(
                text,
                (span.start, span.end),
                &self.words,
                near,
                mask,
                hits.header_text(span.start),
            );
        }
        // A small tolerance so that 0.15 + 0.35 reaches a 0.5 threshold despite rounding.
        if score + 1e-4 < self.threshold {
            return Some(Verdict::BelowThreshold(span));
        }
        Some(Verdict::Found(
            Finding::new(span, self.id.clone(), self.entity.clone(), self.sensitivity)
                .with_score(score)
                .with_validated(validated)
                .with_action(self.action),
        ))
    }
}

/// `span` without the closing brackets at its end that close a bracket opened before it on
/// its line: `(see https://example.com/a)` ends the URL before `)`, `Client(secret=Zq8…)` ends
/// the secret before `)`, while a value whose own brackets balance (`/wiki/Foo_(bar)`), or one
/// with nothing open before it (`SECRET_KEY=…)` at the end of a line), keeps them.
pub(super) fn without_outer_closers(text: &str, span: Span) -> Span {
    let Some(value) = text
        .get(span.range())
        .filter(|v| v.ends_with([')', ']', '}']))
    else {
        return span;
    };
    let line_start = text
        .get(..span.start)
        .and_then(|b| b.rfind('\n'))
        .map_or(0, |i| i + 1);
    let before = text.get(line_start..span.start).unwrap_or_default();
    let mut end = value.len();
    while let Some(close) = value.get(..end).and_then(|v| v.chars().last()) {
        let open = match close {
            ')' => '(',
            ']' => '[',
            '}' => '{',
            _ => break,
        };
        let inner = value.get(..end).unwrap_or_default();
        let count = |s: &str, c: char| s.chars().filter(|&x| x == c).count();
        let excess = count(inner, close) > count(inner, open);
        let open_before = count(before, open) > count(before, close);
        if !(excess && open_before) {
            break;
        }
        end -= 1;
    }
    Span::new(span.start, span.start + end)
}

/// The union of `spans`, as disjoint spans sorted by start (findings of different rules may
/// overlap; the context masks need their ends in order too).
pub(super) fn union(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// What a rule makes of one candidate.
pub(super) enum Verdict {
    /// A finding.
    Found(Finding),
    /// A value of the rule's format whose context score fell short: the context may change
    /// once other values are known (see [`RuleSet::recheck`]).
    BelowThreshold(Span),
    /// A value of the rule's format with no positive context word anywhere near: masking can
    /// only take words away, so it stays below.
    NoContext,
    /// Not a value of the rule.
    Dropped,
}
