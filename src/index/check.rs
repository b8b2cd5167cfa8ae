//! Checking an index before it is declared public.
//!
//! A pipeline sends the passages of an index declared public in clear, and its egress guard
//! refuses any payload holding a value above what the backend may receive in clear. An index
//! that holds one such value makes every request that retrieves it fail. [`PublicCheck`] finds
//! those passages first, with the same redactor, naming where each value is and what it is,
//! never the value.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{KnowledgeIndex, Passage};
use crate::error::Result;
use crate::redact::Redactor;
use crate::sensitivity::Sensitivity;

/// A value found in a passage: what it is and where, never what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// Entity type (`EMAIL`, `SECRET`, …).
    pub entity: String,
    /// Its rule's level.
    pub sensitivity: Sensitivity,
    /// The rule that found it.
    pub rule: String,
    /// `title` or `text`: the part of the passage it is in.
    pub field: &'static str,
    /// Byte range in the document (for `text`: the passage's range plus the value's offset;
    /// for `title`: the range in the title).
    pub at: std::ops::Range<usize>,
}

/// A passage holding values above the level checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FlaggedPassage {
    /// The passage's id (its citation).
    pub id: String,
    /// The file it came from.
    pub source: String,
    /// What was found in it, in text order (title first).
    pub found: Vec<Finding>,
}

/// Per entity type: values found, passages holding them, highest level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EntityTally {
    /// Values of this type found.
    pub values: usize,
    /// Passages holding at least one.
    pub passages: usize,
    /// The highest level among them.
    pub sensitivity: Sensitivity,
}

/// What a backend receiving `in_clear` in clear would be refused, passage by passage.
///
/// ```
/// use promptveil::index::{KnowledgeIndex, Passage, PublicCheck};
/// use promptveil::redact::Redactor;
/// use promptveil::Sensitivity;
///
/// let index = KnowledgeIndex::build_in_ram(&[
///     Passage::new("hours.md#0", "hours.md", "Hours", "The clinic opens at 8:00 on weekdays."),
///     Passage::new("staff.md#0", "staff.md", "Staff", "Write to ana.lima@example.org for leave."),
/// ])?;
/// let check = PublicCheck::run(&index, &Redactor::builder().build()?, Sensitivity::Public)?;
/// assert_eq!(check.passages, 2);
/// assert_eq!(check.flagged[0].id, "staff.md#0");
/// assert_eq!(check.flagged[0].found[0].entity, "EMAIL");
/// assert!(!serde_json::to_string(&check)?.contains("ana.lima"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PublicCheck {
    /// The level a backend receives in clear (`public` for external backends by default).
    pub in_clear: Sensitivity,
    /// Passages scanned.
    pub passages: usize,
    /// Passages holding a value above `in_clear`, in index order.
    pub flagged: Vec<FlaggedPassage>,
}

impl PublicCheck {
    /// An empty check against `in_clear`; feed it passages with [`PublicCheck::scan`].
    pub fn new(in_clear: Sensitivity) -> PublicCheck {
        PublicCheck {
            in_clear,
            passages: 0,
            flagged: Vec::new(),
        }
    }

    /// Scans every passage of `index` with `redactor` (the pipeline's own, so the check finds
    /// what its egress guard would).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Index`](crate::ErrorKind::Index) when a stored passage cannot be read.
    pub fn run(
        index: &KnowledgeIndex,
        redactor: &Redactor,
        in_clear: Sensitivity,
    ) -> Result<PublicCheck> {
        let mut check = PublicCheck::new(in_clear);
        for passage in index.passages() {
            check.scan(&passage?, redactor);
        }
        Ok(check)
    }

    /// Scans one passage's title and text.
    pub fn scan(&mut self, passage: &Passage, redactor: &Redactor) {
        self.passages += 1;
        let mut found = Vec::new();
        for (field, text, offset) in [
            ("title", passage.title.as_str(), 0),
            ("text", passage.text.as_str(), passage.range.start),
        ] {
            found.extend(
                redactor
                    .scan(text)
                    .records
                    .iter()
                    .filter(|r| r.sensitivity > self.in_clear)
                    .map(|r| Finding {
                        entity: r.entity.as_str().to_string(),
                        sensitivity: r.sensitivity,
                        rule: r.rule.as_str().to_string(),
                        field,
                        at: offset + r.span.start..offset + r.span.end,
                    }),
            );
        }
        if !found.is_empty() {
            self.flagged.push(FlaggedPassage {
                id: passage.id.clone(),
                source: passage.source.clone(),
                found,
            });
        }
    }

    /// True when no passage holds a value above `in_clear`: the index may be declared public
    /// for backends receiving that level.
    pub fn is_clean(&self) -> bool {
        self.flagged.is_empty()
    }

    /// Per entity type, what was found.
    pub fn by_entity(&self) -> BTreeMap<String, EntityTally> {
        let mut m: BTreeMap<String, EntityTally> = BTreeMap::new();
        for passage in &self.flagged {
            let mut seen: Vec<&str> = Vec::new();
            for f in &passage.found {
                let t = m.entry(f.entity.clone()).or_insert(EntityTally {
                    values: 0,
                    passages: 0,
                    sensitivity: f.sensitivity,
                });
                t.values += 1;
                t.sensitivity = t.sensitivity.max(f.sensitivity);
                if !seen.contains(&f.entity.as_str()) {
                    seen.push(&f.entity);
                    t.passages += 1;
                }
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_scanned_and_tallies_count_values_and_passages() {
        let redactor = Redactor::builder().build().expect("default rules");
        let mut check = PublicCheck::new(Sensitivity::Public);
        let mut p = Passage::new(
            "team.md#0",
            "team.md",
            "Contact ana.lima@example.org",
            "Or bo.berg@example.org, or cy.dahl@example.org.",
        );
        p.range = 100..146;
        check.scan(&p, &redactor);
        check.scan(
            &Passage::new("hours.md#0", "hours.md", "Hours", "Open at eight."),
            &redactor,
        );
        check.scan(
            &Passage::new("desk.md#0", "desk.md", "Desk", "Mail desk.q@example.org."),
            &redactor,
        );
        assert_eq!(check.passages, 3);
        let ids: Vec<&str> = check.flagged.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["team.md#0", "desk.md#0"]);
        let found = &check.flagged[0].found;
        assert_eq!(found[0].field, "title");
        assert_eq!(found[0].at, 8..28);
        // In the text: offsets in the document, past the passage's start.
        assert_eq!((found[1].field, found[1].at.clone()), ("text", 103..122));
        let tally = check.by_entity()["EMAIL"];
        assert_eq!((tally.values, tally.passages), (4, 2));
        assert_eq!(tally.sensitivity, Sensitivity::Confidential);
        assert!(!check.is_clean());

        // Backends receiving confidential data in clear are refused nothing here.
        let mut lenient = PublicCheck::new(Sensitivity::Confidential);
        lenient.scan(&p, &redactor);
        assert!(lenient.is_clean());
        assert!(lenient.by_entity().is_empty());
    }
}
