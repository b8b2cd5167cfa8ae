//! The egress guard: the exact payload about to be sent is scanned again, and refused when it
//! still holds data above what the chosen backend may receive in clear.
//!
//! Redaction ran on the question and on the passages; this check runs on what actually
//! leaves, after enrichment, so a bug, a passage from an index wrongly declared public, or a
//! value the first pass missed in a context it did not see is caught before it is sent. The
//! check fails closed: any finding above [`BackendProfile::in_clear`] refuses the request.
//! The refusal names entity types, levels and rule ids — never a value.

use serde::Serialize;

use super::BackendRequest;
use crate::redact::Redactor;
use crate::route::BackendProfile;
use crate::sensitivity::Sensitivity;

/// A request the guard refused to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EgressRefusal {
    /// The backend it was meant for.
    pub backend: String,
    /// The most the backend may receive in clear.
    pub in_clear: Sensitivity,
    /// What was found above it: entity type, sensitivity and rule id, in payload order.
    pub found: Vec<(String, Sensitivity, String)>,
}

impl std::fmt::Display for EgressRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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
/// use promptveil::backend::egress::check_egress;
/// use promptveil::enrich::{ContextPassage, HeuristicCounter, Template, enrich};
/// use promptveil::index::Passage;
/// use promptveil::redact::{Redactor, Vault};
/// use promptveil::route::{BackendProfile, Locality, Size};
///
/// let redactor = Redactor::builder().build()?;
/// let q = redactor.redact("What does the deploy note say?", &Vault::new());
/// // A passage from an index wrongly declared public still holds a secret.
/// let doc = Passage::new("ops#0", "ops.md", "Deploy", "Use key AKIAQ7XMPLE4CANARY2Z for the job.");
/// let prompt = enrich(&Template::default(), "", q.text(), &[ContextPassage::public(&doc)],
///                     500, &HeuristicCounter)?;
/// let request = BackendRequest::new(&prompt, 100, 0.0);
/// let cloud = BackendProfile::new("cloud", Locality::External, Size::Large, 100_000);
/// let refusal = check_egress(&redactor, &request, &cloud).unwrap_err();
/// assert_eq!(refusal.found[0].0, "SECRET");
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
    // Each text (earlier turns, then the prompt) is scanned on its own, as it is sent; the
    // values found are never kept.
    let records: Vec<_> = request
        .texts()
        .flat_map(|text| redactor.scan(text).records)
        .collect();
    for profile in profiles {
        let found: Vec<(String, Sensitivity, String)> = records
            .iter()
            .filter(|r| r.sensitivity > profile.in_clear)
            .map(|r| {
                (
                    r.entity.as_str().to_string(),
                    r.sensitivity,
                    r.rule.as_str().to_string(),
                )
            })
            .collect();
        if !found.is_empty() {
            return Err(EgressRefusal {
                backend: profile.name.clone(),
                in_clear: profile.in_clear,
                found,
            });
        }
    }
    Ok(())
}
