//! What detectors report: spans, identifiers, findings, and the push-model [`Detector`] trait.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sensitivity::Sensitivity;

/// A half-open byte range `[start, end)` into a text.
///
/// Offsets are in bytes of the UTF-8 text and always fall on character boundaries when they
/// come from this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Span {
    /// First byte of the span.
    pub start: usize,
    /// One past the last byte of the span.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (exclusive).
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// True when the span covers no byte.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// True when the two spans share at least one byte.
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// The span as a `Range`.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

impl From<Range<usize>> for Span {
    fn from(r: Range<usize>) -> Span {
        Span::new(r.start, r.end)
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $check:path, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            #[doc = concat!("Checks and wraps a ", $what, ".")]
            ///
            /// # Errors
            ///
            /// An error of kind [`Config`](crate::ErrorKind::Config) when the name does not have
            /// the required shape.
            pub fn new(name: &str) -> Result<$name> {
                if $check(name) {
                    Ok($name(Arc::from(name)))
                } else {
                    Err(Error::config(format!(concat!("invalid ", $what, " `{}`"), name)))
                }
            }

        }

        crate::id::text_id_common!($name);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(
    /// The id of a rule, as written in a rule file: `email`, `aws-access-key-id`.
    ///
    /// 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a letter or digit.
    ///
    /// ```
    /// use promptveil::redact::RuleId;
    /// assert!(RuleId::new("aws-access-key-id").is_ok());
    /// assert!(RuleId::new("bad id").is_err());
    /// ```
    RuleId,
    valid_rule_id,
    "rule id"
);

name_type!(
    /// The kind of entity a rule finds, which names its placeholders: `EMAIL` → `[EMAIL_1]`.
    ///
    /// Upper-case ASCII words separated by single underscores, each word starting with a letter,
    /// at most 32 bytes: `EMAIL`, `CREDIT_CARD`, `IPV4`. A word may not be all digits, so a
    /// placeholder's number is never ambiguous.
    ///
    /// ```
    /// use promptveil::redact::EntityType;
    /// assert!(EntityType::new("CREDIT_CARD").is_ok());
    /// assert!(EntityType::new("card").is_err());
    /// assert!(EntityType::new("ADDRESS_2").is_err());
    /// ```
    EntityType,
    valid_entity_type,
    "entity type"
);

fn valid_rule_id(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric())
        && s.len() <= 64
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub(crate) fn valid_entity_type(s: &str) -> bool {
    s.len() <= 32
        && !s.is_empty()
        && s.split('_').all(|word| {
            let mut b = word.bytes();
            matches!(b.next(), Some(c) if c.is_ascii_uppercase())
                && b.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
}

/// What the redactor puts in place of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A numbered placeholder such as `[EMAIL_1]`, reversible through the vault. The default.
    #[default]
    Placeholder,
    /// Every letter and digit replaced by `*`, punctuation kept. Not reversible.
    Mask,
    /// A keyed hash such as `[EMAIL:3f9a0c1d]`: stable for a deployment, so equal values can be
    /// correlated, but not reversible.
    Hash,
    /// Removed from the text. Not reversible.
    Drop,
}

impl Action {
    /// The lowercase name used in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Placeholder => "placeholder",
            Action::Mask => "mask",
            Action::Hash => "hash",
            Action::Drop => "drop",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One candidate piece of sensitive data found by a [`Detector`].
///
/// A finding holds a span into the scanned text, never the text itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    span: Span,
    rule: RuleId,
    entity: EntityType,
    sensitivity: Sensitivity,
    score: f32,
    validated: bool,
    action: Action,
}

impl Finding {
    /// A finding with score 1.0, not validated, action [`Action::Placeholder`].
    ///
    /// ```
    /// use promptveil::redact::{EntityType, Finding, RuleId, Span};
    /// use promptveil::Sensitivity;
    ///
    /// let f = Finding::new(
    ///     Span::new(0, 4),
    ///     RuleId::new("badge")?,
    ///     EntityType::new("BADGE_ID")?,
    ///     Sensitivity::Internal,
    /// )
    /// .with_score(0.8)
    /// .with_validated(true);
    /// assert_eq!(f.score(), 0.8);
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    pub fn new(span: Span, rule: RuleId, entity: EntityType, sensitivity: Sensitivity) -> Finding {
        Finding {
            span,
            rule,
            entity,
            sensitivity,
            score: 1.0,
            validated: false,
            action: Action::Placeholder,
        }
    }

    /// Sets the confidence score, clamped to `0.0..=1.0` (NaN becomes 0).
    #[must_use]
    pub fn with_score(mut self, score: f32) -> Finding {
        self.score = if score.is_nan() {
            0.0
        } else {
            score.clamp(0.0, 1.0)
        };
        self
    }

    /// Marks whether a validator (checksum, parser) confirmed the value.
    #[must_use]
    pub fn with_validated(mut self, validated: bool) -> Finding {
        self.validated = validated;
        self
    }

    /// Sets what replaces the value.
    #[must_use]
    pub fn with_action(mut self, action: Action) -> Finding {
        self.action = action;
        self
    }

    /// Byte span in the scanned text.
    pub fn span(&self) -> Span {
        self.span
    }

    pub(crate) fn set_span(&mut self, span: Span) {
        self.span = span;
    }

    /// The rule that produced it.
    pub fn rule(&self) -> &RuleId {
        &self.rule
    }

    /// The entity type, which names the placeholder.
    pub fn entity(&self) -> &EntityType {
        &self.entity
    }

    /// The sensitivity level of the rule.
    pub fn sensitivity(&self) -> Sensitivity {
        self.sensitivity
    }

    /// Confidence in `0.0..=1.0`, after context adjustment.
    pub fn score(&self) -> f32 {
        self.score
    }

    /// Whether a validator confirmed the value.
    pub fn is_validated(&self) -> bool {
        self.validated
    }

    /// What replaces the value.
    pub fn action(&self) -> Action {
        self.action
    }
}

/// Receives findings from a [`Detector`] (the push model: the detector drives, the sink collects).
///
/// Implemented for `Vec<Finding>` and for any `FnMut(Finding)`; those keep findings only. The
/// [`Redactor`](super::Redactor)'s own sink also records what a detector could not scan, and
/// marks its report incomplete ([`RedactionReport::is_complete`](super::RedactionReport::is_complete)).
pub trait FindingSink {
    /// Accepts one finding.
    fn push(&mut self, finding: Finding);

    /// Says that the detector could not scan `span` of the text (its model failed on it, say):
    /// values there may be left in clear. Fail closed: a detector that gives up on part of a
    /// text says so here rather than return quietly. The default does nothing.
    fn unscanned(&mut self, span: Span) {
        let _ = span;
    }
}

impl FindingSink for Vec<Finding> {
    fn push(&mut self, finding: Finding) {
        Vec::push(self, finding);
    }
}

impl<F: FnMut(Finding)> FindingSink for F {
    fn push(&mut self, finding: Finding) {
        self(finding)
    }
}

/// Finds sensitive data in a text and pushes what it finds into a sink.
///
/// Detectors are synchronous and CPU-bound; they must not panic on any input. The redactor
/// runs every detector over the same text and resolves overlaps between their findings.
///
/// # Examples
///
/// A detector for badge numbers such as `BX-1234`:
///
/// ```
/// use promptveil::redact::{Detector, EntityType, Finding, FindingSink, RuleId, Span};
/// use promptveil::Sensitivity;
///
/// struct Badges { rule: RuleId, entity: EntityType }
///
/// impl Detector for Badges {
///     fn detect(&self, text: &str, sink: &mut dyn FindingSink) {
///         for (i, _) in text.match_indices("BX-") {
///             let digits = text[i + 3..].bytes().take_while(u8::is_ascii_digit).count();
///             if digits == 4 {
///                 let span = Span::new(i, i + 7);
///                 sink.push(Finding::new(span, self.rule.clone(), self.entity.clone(), Sensitivity::Internal));
///             }
///         }
///     }
/// }
///
/// let d = Badges { rule: RuleId::new("badge")?, entity: EntityType::new("BADGE")? };
/// let mut found = Vec::new();
/// d.detect("badge BX-1234 at gate", &mut found);
/// assert_eq!(found[0].span(), Span::new(6, 13));
/// # Ok::<(), promptveil::Error>(())
/// ```
pub trait Detector: Send + Sync {
    /// Pushes every finding in `text` into `sink`.
    fn detect(&self, text: &str, sink: &mut dyn FindingSink);

    /// Whether the redactor also runs this detector over the views it derives from a text:
    /// the *decoded* view of a text that holds percent-escapes or character references
    /// (`%2B49…`, `&#64;`), and the *spelled* view of one that spells a value out in words
    /// (`four one five…`, `john dot smith at…`), so a value written that way is found. True
    /// by default; a detector whose cost grows with each reading, or that reads language
    /// rather than values, may decline.
    fn reads_derived_views(&self) -> bool {
        true
    }

    /// Whether this detector reads language with a model (the NER) rather than matching
    /// patterns. When a model fails on part of a text, a pipeline may be set to go on with
    /// the other detectors' findings instead of refusing; a failure of any other detector
    /// always refuses. False by default.
    fn is_model(&self) -> bool {
        false
    }

    /// What identifies this detector's configuration, for the audit trail: names and digests
    /// (`rules` → a digest of the rule sources), never a value. Empty by default.
    fn provenance(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

impl<D: Detector + ?Sized> Detector for &D {
    fn detect(&self, text: &str, sink: &mut dyn FindingSink) {
        (**self).detect(text, sink)
    }

    fn reads_derived_views(&self) -> bool {
        (**self).reads_derived_views()
    }

    fn is_model(&self) -> bool {
        (**self).is_model()
    }

    fn provenance(&self) -> Vec<(String, String)> {
        (**self).provenance()
    }
}

impl<D: Detector + ?Sized> Detector for Box<D> {
    fn detect(&self, text: &str, sink: &mut dyn FindingSink) {
        (**self).detect(text, sink)
    }

    fn reads_derived_views(&self) -> bool {
        (**self).reads_derived_views()
    }

    fn is_model(&self) -> bool {
        (**self).is_model()
    }

    fn provenance(&self) -> Vec<(String, String)> {
        (**self).provenance()
    }
}

impl<D: Detector + ?Sized> Detector for Arc<D> {
    fn detect(&self, text: &str, sink: &mut dyn FindingSink) {
        (**self).detect(text, sink)
    }

    fn reads_derived_views(&self) -> bool {
        (**self).reads_derived_views()
    }

    fn is_model(&self) -> bool {
        (**self).is_model()
    }

    fn provenance(&self) -> Vec<(String, String)> {
        (**self).provenance()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detector_is_object_safe() {
        fn _obj_safe(_: &dyn Detector) {}
    }

    #[test]
    fn entity_type_shape() {
        for ok in ["EMAIL", "CREDIT_CARD", "IPV4", "US_SSN", "A"] {
            assert!(valid_entity_type(ok), "{ok}");
        }
        for bad in [
            "",
            "email",
            "_EMAIL",
            "EMAIL_",
            "A__B",
            "ADDRESS_2",
            "1PHONE",
            "E-MAIL",
        ] {
            assert!(!valid_entity_type(bad), "{bad}");
        }
        assert!(!valid_entity_type(&"A".repeat(33)));
    }

    #[test]
    fn score_is_clamped() {
        let f = Finding::new(
            Span::new(0, 1),
            RuleId(Arc::from("r")),
            EntityType(Arc::from("X")),
            Sensitivity::Public,
        );
        assert_eq!(f.clone().with_score(3.0).score(), 1.0);
        assert_eq!(f.clone().with_score(-1.0).score(), 0.0);
        assert_eq!(f.with_score(f32::NAN).score(), 0.0);
    }
}
