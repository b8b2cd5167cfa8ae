//! The guard: what would leave the building is scanned again before it does.
//!
//! Two checks share one question — does a text hold a value above what a backend may receive
//! in clear? — and the same redactor as the pipeline:
//!
//! - the **egress guard** ([`check_egress`], [`check_egress_all`]) runs on the exact payload
//!   about to be sent, after enrichment. Redaction ran on the question and on the passages;
//!   this check runs on what actually leaves, so a bug, a passage from an index wrongly
//!   declared public, or a value the first pass missed in a context it did not see is caught
//!   before it is sent. It fails closed: any finding above
//!   [`BackendProfile::in_clear`](crate::route::BackendProfile::in_clear) refuses the request
//!   ([`EgressRefusal`]).
//! - the **public-index check** ([`PublicCheck`]) runs on every passage of an index before it
//!   is declared public (its passages then go out in clear): it lists the passages the egress
//!   guard would refuse.
//!
//! Both read with the pipeline's redactor **and** with the restricted-level default rules
//! ([`RuleSet::restricted_floor`]: cards, bank accounts, national ids, secrets), unless the
//! pipeline's rules already hold all of those as shipped: a rule set weakened by a reviewer's
//! file, or one that never had them, cannot let a card number out. Both name entity types,
//! levels, rule ids and places — never a value.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Serialize;

use crate::backend::BackendRequest;
use crate::error::Result;
use crate::index::{KnowledgeIndex, Passage, PassageId};
use crate::redact::{EntityType, RedactionReport, Redactor, RuleId};
use crate::route::{BackendId, BackendProfile};
use crate::rules::RuleSet;
use crate::sensitivity::Sensitivity;

/// A request the guard refused to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EgressRefusal {
    /// The backend it was meant for.
    pub backend: BackendId,
    /// The most the backend may receive in clear.
    pub in_clear: Sensitivity,
    /// What was found above it: entity type, sensitivity and rule id, in payload order.
    pub found: Vec<(EntityType, Sensitivity, RuleId)>,
    /// Parts of the payload a detector could not scan. Fail closed: the guard cannot vouch
    /// for a payload it did not read whole, whatever the backend may receive.
    pub unscanned: usize,
    /// The kinds of media in the payload this backend may not receive: media goes only to
    /// on-premises backends that take it (and may receive restricted data), because no
    /// detector reads it. Empty when the media was not the cause.
    pub media: Vec<crate::enrich::MediaKind>,
}

impl std::fmt::Display for EgressRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.found.is_empty() && !self.media.is_empty() {
            let kinds: Vec<&str> = self.media.iter().map(|k| k.as_str()).collect();
            return write!(
                f,
                "refused to send to `{}`: the payload carries {} media, which goes only to an \
                 on-premises backend that takes it",
                self.backend,
                kinds.join(" and ")
            );
        }
        if self.found.is_empty() && self.unscanned > 0 {
            return write!(
                f,
                "refused to send to `{}`: {} part(s) of the payload could not be scanned",
                self.backend, self.unscanned
            );
        }
        let kinds: Vec<String> = self
            .found
            .iter()
            .map(|(entity, level, rule)| format!("{entity} ({level}, rule {rule})"))
            .collect();
        write!(
            f,
            "refused to send to `{}`: the payload still holds {} above {}",
            self.backend,
            kinds.join(", "),
            self.in_clear
        )
    }
}

impl std::error::Error for EgressRefusal {}

/// Scans `request`'s payload (its prompt and earlier turns) with `redactor` and refuses it
/// when a finding is above what `profile` may receive in clear. Placeholders already in the
/// payload are not findings.
///
/// ```
/// use promptveil::backend::BackendRequest;
/// use promptveil::pipeline::guard::check_egress;
/// use promptveil::enrich::{ContextPassage, HeuristicCounter, Template, enrich};
/// use promptveil::index::Passage;
/// use promptveil::redact::{Redactor, Vault};
/// use promptveil::route::{BackendProfile, Locality, Size};
///
/// let redactor = Redactor::builder().default_rules().build()?;
/// let q = redactor.redact("What does the deploy note say?", &Vault::new());
/// // A passage from an index wrongly declared public still holds a secret.
/// let doc = Passage::new("ops#0", "ops.md", "Deploy", "Use key AKIAQ7XMPLE4CANARY2Z for the job.");
/// let prompt = enrich(&Template::default(), "", q.text(), &[ContextPassage::public(&doc)],
///                     500, &HeuristicCounter)?;
/// let request = BackendRequest::new(prompt, 100, 0.0);
/// let cloud = BackendProfile::new("cloud", Locality::External, Size::Large, 100_000);
/// let refusal = check_egress(&redactor, &request, &cloud).unwrap_err();
/// assert_eq!(refusal.found[0].0.as_str(), "SECRET");
/// assert!(!refusal.to_string().contains("AKIA"));
/// # Ok::<(), promptveil::Error>(())
/// ```
///
/// # Errors
///
/// [`EgressRefusal`] naming what was found (never the values).
pub fn check_egress(
    redactor: &Redactor,
    request: &BackendRequest,
    profile: &BackendProfile,
) -> Result<(), EgressRefusal> {
    check_egress_all(redactor, request, [profile])
}

/// Like [`check_egress`] for every backend a request may go to, scanning the payload once:
/// refuses at the first backend (in the order given) that may not receive it.
///
/// # Errors
///
/// [`EgressRefusal`] for that backend.
pub fn check_egress_all<'a>(
    redactor: &Redactor,
    request: &BackendRequest,
    profiles: impl IntoIterator<Item = &'a BackendProfile>,
) -> Result<(), EgressRefusal> {
    check_egress_with(redactor, request, profiles, ModelGaps::Refuse)
}

/// What the guard makes of a part of the payload only a model (the NER) could not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelGaps {
    /// Refuse, for every backend.
    Refuse,
    /// Treat it as restricted data: refuse for every backend that must never receive a
    /// prompt that touched that level ([`BackendProfile::never_receives`]; external backends
    /// by default), as [`OnModelFailure::ContinueWithRules`](super::OnModelFailure) routes.
    AsRestricted,
}

pub(crate) fn check_egress_with<'a>(
    redactor: &Redactor,
    request: &BackendRequest,
    profiles: impl IntoIterator<Item = &'a BackendProfile>,
    model_gaps: ModelGaps,
) -> Result<(), EgressRefusal> {
    // Each text (earlier turns and their tool calls, the tools, then the prompt) is scanned on
    // its own, as it is sent; the values found are never kept.
    let mut records = Vec::new();
    let mut unscanned = 0;
    let mut models_only = true;
    for text in request.texts() {
        let report = scan(redactor, &text);
        unscanned += report.unscanned.len();
        models_only &= report.is_complete_but_for_models();
        records.extend(report.records);
    }
    let tolerated = unscanned > 0 && models_only && model_gaps == ModelGaps::AsRestricted;
    let media = request.media_kinds();
    for profile in profiles {
        let found: Vec<(EntityType, Sensitivity, RuleId)> = records
            .iter()
            .filter(|r| r.sensitivity > profile.in_clear)
            .map(|r| (r.entity.clone(), r.sensitivity, r.rule.clone()))
            .collect();
        // Text nobody read whole goes only where restricted data may go (redacted).
        let may_take_restricted = profile
            .never_receives
            .is_none_or(|limit| limit > Sensitivity::Restricted);
        let unread_refused = unscanned > 0 && !(tolerated && may_take_restricted);
        // Media nobody reads: only on premises, to a backend that takes it and may receive
        // restricted data.
        let media_ok = media.is_empty() || (profile.takes_media(&media) && may_take_restricted);
        let media_refused = !media_ok;
        if !found.is_empty() || unread_refused || media_refused {
            return Err(EgressRefusal {
                backend: profile.name.clone(),
                in_clear: profile.in_clear,
                found,
                unscanned,
                media: if media_refused { media } else { Vec::new() },
            });
        }
    }
    Ok(())
}

/// The redactor holding the restricted-level default rules alone; `None` only if the
/// compiled-in rules were broken (then every payload counts as unread: fail closed).
fn floor() -> Option<&'static Redactor> {
    static FLOOR: OnceLock<Option<Redactor>> = OnceLock::new();
    FLOOR
        .get_or_init(|| {
            let rules = RuleSet::restricted_floor().ok()?;
            Redactor::builder().rules(rules).build().ok()
        })
        .as_ref()
}

/// What the guard finds in `text`: the pipeline redactor's findings, and the floor's where
/// the pipeline's rules do not hold it (those of its findings that overlap none of the
/// redactor's).
fn scan(redactor: &Redactor, text: &str) -> RedactionReport {
    let mut report = redactor.scan(text);
    if redactor.keeps_floor() {
        return report;
    }
    let Some(floor) = floor() else {
        report
            .unscanned
            .push(crate::redact::Span::new(0, text.len()));
        report.models_only_unscanned = false;
        return report;
    };
    let extra = floor.scan(text);
    // A gap in the floor's reading is no model's: the payload was not read whole.
    report.models_only_unscanned &= extra.unscanned.is_empty();
    report.unscanned.extend(extra.unscanned);
    for r in extra.records {
        let overlaps = report
            .records
            .iter()
            .any(|k| k.span.start < r.span.end && r.span.start < k.span.end);
        if !overlaps {
            report.push(r);
        }
    }
    report
}

/// A value found in a passage: what it is and where, never what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PassageFinding {
    /// Entity type (`EMAIL`, `SECRET`, …).
    pub entity: EntityType,
    /// Its rule's level.
    pub sensitivity: Sensitivity,
    /// The rule that found it.
    pub rule: RuleId,
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
    pub id: PassageId,
    /// The file it came from.
    pub source: String,
    /// What was found in it, in text order (title first).
    pub found: Vec<PassageFinding>,
    /// Parts of it a detector could not scan: the egress guard would refuse it whatever it
    /// holds.
    #[serde(skip_serializing_if = "is_zero")]
    pub unscanned: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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
/// use promptveil::index::{KnowledgeIndex, Passage};
/// use promptveil::pipeline::guard::PublicCheck;
/// use promptveil::redact::Redactor;
/// use promptveil::Sensitivity;
///
/// let index = KnowledgeIndex::build_in_ram(&[
///     Passage::new("hours.md#0", "hours.md", "Hours", "The clinic opens at 8:00 on weekdays."),
///     Passage::new("staff.md#0", "staff.md", "Staff", "Write to ana.lima@example.org for leave."),
/// ])?;
/// let check = PublicCheck::run(&index, &Redactor::builder().default_rules().build()?, Sensitivity::Public)?;
/// assert_eq!(check.passages, 2);
/// assert_eq!(check.flagged[0].id, "staff.md#0");
/// assert_eq!(check.flagged[0].found[0].entity.as_str(), "EMAIL");
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
        let mut unscanned = 0;
        for (field, text, offset) in [
            ("title", passage.title.as_str(), 0),
            ("text", passage.text.as_str(), passage.range.start),
        ] {
            let report = scan(redactor, text);
            unscanned += report.unscanned.len();
            found.extend(
                report
                    .records
                    .iter()
                    .filter(|r| r.sensitivity > self.in_clear)
                    .map(|r| PassageFinding {
                        entity: r.entity.clone(),
                        sensitivity: r.sensitivity,
                        rule: r.rule.clone(),
                        field,
                        at: offset + r.span.start..offset + r.span.end,
                    }),
            );
        }
        if !found.is_empty() || unscanned > 0 {
            self.flagged.push(FlaggedPassage {
                id: passage.id.clone(),
                source: passage.source.clone(),
                found,
                unscanned,
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
                let t = m
                    .entry(f.entity.as_str().to_string())
                    .or_insert(EntityTally {
                        values: 0,
                        passages: 0,
                        sensitivity: f.sensitivity,
                    });
                t.values += 1;
                t.sensitivity = t.sensitivity.max(f.sensitivity);
                if !seen.contains(&f.entity.as_str()) {
                    seen.push(f.entity.as_str());
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
    use crate::enrich::{HeuristicCounter, Template, enrich};
    use crate::redact::{Detector, FindingSink, Span, Vault};
    use crate::route::{Locality, Size};

    /// A model that cannot read any text holding `unreadable`.
    struct Fails;

    impl Detector for Fails {
        fn detect(&self, text: &str, sink: &mut dyn FindingSink) {
            if let Some(at) = text.find("unreadable") {
                sink.unscanned(Span::new(at, at + 10));
            }
        }

        fn is_model(&self) -> bool {
            true
        }
    }

    #[test]
    fn text_a_model_could_not_read_goes_only_where_restricted_prompts_may_go() {
        let redactor = Redactor::builder()
            .default_rules()
            .detector(Fails)
            .build()
            .expect("redactor");
        let q = redactor.redact("An unreadable question.", &Vault::new());
        let prompt = enrich(
            &Template::default(),
            "",
            q.text(),
            &[],
            500,
            &HeuristicCounter,
        )
        .expect("prompt");
        let request = BackendRequest::new(prompt, 100, 0.0);
        let cloud = BackendProfile::new("cloud", Locality::External, Size::Large, 100_000);
        let local = BackendProfile::new("local", Locality::OnPremises, Size::Small, 8_000);
        // Strict: refused everywhere.
        for p in [&cloud, &local] {
            let refusal = check_egress_with(&redactor, &request, [p], ModelGaps::Refuse)
                .expect_err("refused");
            assert!(refusal.unscanned > 0);
        }
        // Going on with the rules: in the building only.
        assert!(check_egress_with(&redactor, &request, [&local], ModelGaps::AsRestricted).is_ok());
        let refusal = check_egress_with(&redactor, &request, [&cloud], ModelGaps::AsRestricted)
            .expect_err("refused outside");
        assert_eq!(refusal.backend.as_str(), "cloud");
        // A local backend set to never receive restricted prompts is refused too.
        let guarded = local.clone().never_receiving(Some(Sensitivity::Restricted));
        assert!(
            check_egress_with(&redactor, &request, [&guarded], ModelGaps::AsRestricted).is_err()
        );
    }

    #[test]
    fn titles_are_scanned_and_tallies_count_values_and_passages() {
        let redactor = Redactor::builder()
            .default_rules()
            .build()
            .expect("default rules");
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
