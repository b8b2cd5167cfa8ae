//! Rules carry their own evidence: examples that must and must not match, checked here.

use std::fmt;

use serde::Serialize;

use super::RuleSet;
use crate::error::{Error, ErrorKind, Location, Result};
use crate::redact::RuleId;

impl RuleSet {
    /// Runs every rule's examples, each rule alone, and reports what failed.
    ///
    /// A `match` text passes when the rule reports at least one finding in it (for an exact
    /// example: a finding whose value is exactly `value`); a `no_match` text passes when the
    /// rule reports nothing.
    pub fn check_evidence(&self) -> EvidenceReport {
        let mut report = EvidenceReport::default();
        for (i, rule) in self.inner.rules.iter().enumerate() {
            for ex in &rule.examples {
                report.checked += 1;
                let mut found = Vec::new();
                self.detect_rule(i, &ex.text, &mut found);
                let ok = match &ex.value {
                    None => !found.is_empty(),
                    Some(v) => found
                        .iter()
                        .any(|f| ex.text.get(f.span().range()) == Some(v.as_str())),
                };
                if !ok {
                    report.failures.push(EvidenceFailure {
                        rule: rule.id.clone(),
                        kind: if ex.value.is_some() && !found.is_empty() {
                            EvidenceFailureKind::WrongValue
                        } else {
                            EvidenceFailureKind::Missed
                        },
                        example: ex.text.clone(),
                        location: ex.location.clone(),
                    });
                }
            }
            for ex in &rule.no_match {
                report.checked += 1;
                let mut found = Vec::new();
                self.detect_rule(i, &ex.text, &mut found);
                if !found.is_empty() {
                    report.failures.push(EvidenceFailure {
                        rule: rule.id.clone(),
                        kind: EvidenceFailureKind::FalseMatch,
                        example: ex.text.clone(),
                        location: ex.location.clone(),
                    });
                }
            }
        }
        report
    }
}

/// What went wrong with one evidence text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceFailureKind {
    /// A `match` example the rule did not detect.
    Missed,
    /// An exact `match` example where the rule found something else than `value`.
    WrongValue,
    /// A `no_match` example the rule detected.
    FalseMatch,
}

/// One failed evidence text.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceFailure {
    /// The rule.
    pub rule: RuleId,
    /// What went wrong.
    pub kind: EvidenceFailureKind,
    /// The example text, as the reviewer wrote it.
    pub example: String,
    /// Where it is written.
    #[serde(serialize_with = "serialize_location")]
    pub location: Option<Location>,
}

fn serialize_location<S: serde::Serializer>(
    l: &Option<Location>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match l {
        Some(l) => s.serialize_str(&l.to_string()),
        None => s.serialize_none(),
    }
}

impl fmt::Display for EvidenceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = &self.location {
            write!(f, "{l}: ")?;
        }
        let what = match self.kind {
            EvidenceFailureKind::Missed => "does not detect",
            EvidenceFailureKind::WrongValue => "detects another value than expected in",
            EvidenceFailureKind::FalseMatch => "wrongly detects",
        };
        write!(f, "rule `{}` {what} {:?}", self.rule, self.example)
    }
}

/// The outcome of [`RuleSet::check_evidence`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvidenceReport {
    /// How many example texts were run.
    pub checked: usize,
    /// The ones that failed.
    pub failures: Vec<EvidenceFailure>,
}

impl EvidenceReport {
    /// True when every example passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// `Ok` when every example passed, else an [`ErrorKind::Evidence`](crate::ErrorKind::Evidence) error naming the first
    /// failure and the count.
    ///
    /// # Errors
    ///
    /// As described.
    pub fn into_result(self) -> Result<()> {
        match self.failures.first() {
            None => Ok(()),
            Some(first) => {
                let mut e = Error::new(
                    ErrorKind::Evidence,
                    format!(
                        "{} of {} examples failed; first: {}",
                        self.failures.len(),
                        self.checked,
                        first
                    ),
                )
                .with_rule(first.rule.as_str());
                if let Some(l) = &first.location {
                    e = e.with_location(l.clone());
                }
                Err(e)
            }
        }
    }
}
