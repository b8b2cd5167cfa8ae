//! The reviewer's inventory: one row per rule.

use serde::Serialize;

use super::RuleSet;
use crate::redact::Action;
use crate::sensitivity::Sensitivity;

/// One row of [`RuleSet::inventory`]: what a rule detects and what happens to it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct InventoryEntry {
    /// `text` for pattern rules, `field` for JSON field rules.
    pub kind: &'static str,
    /// Rule id.
    pub id: String,
    /// Entity type (names the placeholder).
    pub entity: String,
    /// Sensitivity level.
    pub sensitivity: Sensitivity,
    /// Replacement action.
    pub action: Action,
    /// Validator name, if any.
    pub validator: Option<String>,
    /// Number of patterns (text rules), or of keys plus pointers (field rules).
    pub patterns: usize,
    /// Whether the rule needs context words to reach its threshold.
    pub needs_context: bool,
    /// Base score.
    pub score: f32,
    /// Threshold.
    pub threshold: f32,
    /// Number of `match` and `no_match` examples.
    pub examples: usize,
    /// The reviewer's description.
    pub description: String,
    /// Where the rule is written (`file:line:column`).
    pub location: Option<String>,
}

pub(crate) fn build(set: &RuleSet) -> Vec<InventoryEntry> {
    let text = set.rules().iter().map(|r| InventoryEntry {
        kind: "text",
        id: r.id().to_string(),
        entity: r.entity().to_string(),
        sensitivity: r.sensitivity(),
        action: r.action(),
        validator: r.validator().map(str::to_string),
        patterns: r.patterns().len(),
        needs_context: r.score() + 1e-4 < r.threshold(),
        score: r.score(),
        threshold: r.threshold(),
        examples: r.examples().len() + r.no_match_examples().len(),
        description: r.description().to_string(),
        location: r.location().map(ToString::to_string),
    });
    let fields = set.fields().iter().map(|f| InventoryEntry {
        kind: "field",
        id: f.id().to_string(),
        entity: f.entity().to_string(),
        sensitivity: f.sensitivity(),
        action: f.action(),
        validator: None,
        patterns: f.keys().len() + f.pointers().len(),
        needs_context: false,
        score: 1.0,
        threshold: 0.0,
        examples: 0,
        description: f.description().to_string(),
        location: f.location().map(ToString::to_string),
    });
    text.chain(fields).collect()
}
