//! The audit trail: one event per step of a request, with its request id, and never a
//! sensitive value.
//!
//! Events carry counts, entity types, levels, rule ids, passage ids, backend names, routing
//! reasons and token usage — what a reviewer needs to answer "what left the building for
//! request X, and why" — and are built from reports that hold no values
//! ([`RedactionReport`], [`RouteDecision`], [`BackendError`]'s messages). Sinks:
//! [`JsonLinesSink`] (append-only file, one line per event, flushed), [`TracingSink`]
//! (`tracing` events on the `promptveil::audit` target), [`NoopSink`]. [`summarize_file`] reads
//! a JSON Lines trail back and tells what left the building, per backend and sensitivity.
//!
//! ```
//! use promptveil::audit::{AuditEvent, AuditSink, JsonLinesSink, RequestId, summarize_file};
//! use promptveil::redact::{Redactor, Vault};
//!
//! let dir = tempfile::tempdir().expect("tempdir");
//! let path = dir.path().join("audit.jsonl");
//! let sink = JsonLinesSink::open(&path)?;
//! let id = RequestId::new();
//! let red = Redactor::builder().default_rules().build()?.redact("Mail ana@example.com", &Vault::new());
//! sink.record(&id, &AuditEvent::redacted("question", red.report()));
//! let trail = std::fs::read_to_string(&path).expect("read");
//! assert!(trail.contains(r#""entities":{"EMAIL":1}"#) && !trail.contains("ana@"));
//! assert_eq!(summarize_file(&path)?.requests, 1);
//! # Ok::<(), promptveil::Error>(())
//! ```

#[cfg(feature = "metrics")]
mod metrics;
mod summary;

#[cfg(feature = "metrics")]
pub use metrics::Metrics;
pub use summary::{AuditSummary, BackendTally, summarize, summarize_file};

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use crate::backend::{BackendError, Usage};
use crate::error::{Error, Result};
use crate::index::PassageId;
use crate::redact::{RedactionReport, RestoreReport};
use crate::route::{BackendId, Locality, Reason, RouteDecision};
use crate::sensitivity::Sensitivity;

/// A request's id: 128 random bits, in hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RequestId(String);

impl RequestId {
    /// A new random id.
    pub fn new() -> RequestId {
        let mut bytes = [0_u8; 16];
        // Without an entropy source, fall back to the clock: still unique enough to correlate.
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes = nanos.to_le_bytes();
        }
        RequestId(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A caller's own id for a request (an `x-request-id` header), when it is 1 to 128
    /// letters, digits, `-`, `_`, `.` or `:` — a UUID, a trace id. Only
    /// [`Pipeline::request_id_from`](crate::pipeline::Pipeline::request_id_from) makes one,
    /// after its redactor found nothing in it: an id goes into the audit trail, and a value
    /// must never.
    pub(crate) fn from_caller(id: &str) -> Option<RequestId> {
        let ok = (1..=128).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        ok.then(|| RequestId(id.to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RequestId {
    fn default() -> RequestId {
        RequestId::new()
    }
}

/// One step of a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditEvent {
    /// The prompt (or a passage) was redacted.
    Redacted {
        /// What was redacted: `question` or a passage id.
        what: String,
        /// Findings replaced, by entity type.
        entities: BTreeMap<String, usize>,
        /// Findings replaced, by the rule that found them (for the NER: with the pass that
        /// made them, `ner-person.complete-given-names`).
        rules: BTreeMap<String, usize>,
        /// The highest level among them.
        max_sensitivity: Option<Sensitivity>,
        /// Parts of the text a detector could not scan (the request is then refused).
        #[serde(skip_serializing_if = "is_zero")]
        unscanned: usize,
        /// Rules of the redactor's rule sets that a reviewer turned off, with the reason
        /// given: what this redaction did *not* look for.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        turned_off: BTreeMap<String, String>,
        /// Which shield processed the request: digests of the rule set (`rules`), the NER
        /// model file, word lists and settings (`ner_model`, `ner_lexicon`, `ner_config`)
        /// and the pipeline's configuration (`config`). No value.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        shield: BTreeMap<String, String>,
    },
    /// A model detector (the NER) could not read part of a text and the pipeline went on with
    /// the rules (`on_model_failure = "continue_with_rules"`): the request is handled as
    /// holding restricted data.
    Degraded {
        /// What was redacted: `question`, `history` or a passage id.
        what: String,
        /// Parts of the text the model could not read.
        unscanned: usize,
    },
    /// The request carries images or recordings, which no detector reads: how many parts of
    /// each kind (`image`, `audio`). It may go only to on-premises backends that take them,
    /// and is routed and guarded as holding restricted data.
    MediaAttached {
        /// Parts by kind.
        parts: BTreeMap<String, usize>,
    },
    /// Passages were retrieved.
    Retrieved {
        /// Their ids, best first.
        passages: Vec<PassageId>,
        /// The index was declared public (passages not redacted).
        public: bool,
    },
    /// The routing policy decided.
    Routed {
        /// Backends to try, in order.
        chain: Vec<BackendId>,
        /// Why.
        reasons: Vec<Reason>,
    },
    /// A backend answered.
    Dispatched {
        /// The backend.
        backend: BackendId,
        /// Where it runs: `external` means the (redacted) prompt left the building.
        locality: Option<Locality>,
        /// Calls made in all.
        attempts: usize,
        /// Tokens, as the backend reported them.
        usage: Option<Usage>,
    },
    /// A backend failed and the next one in the chain was tried.
    FellBack {
        /// The backend that failed.
        from: BackendId,
        /// How it failed.
        error: String,
    },
    /// The request was refused (no backend approved, a chain outside the admitted backends,
    /// egress guard, incomplete redaction, over the token budget, every backend failed). A
    /// terminal event: see [`AuditEvent::is_terminal`].
    Refused {
        /// Why, without values.
        reason: String,
    },
    /// The request ended in an error that is no refusal: a retriever that failed, an answer
    /// that stopped part way. A terminal event.
    Failed {
        /// What failed, without values.
        reason: String,
    },
    /// The caller dropped a streamed answer before it ended; the backend call was cancelled.
    /// A terminal event.
    Cancelled {
        /// The backend that was answering.
        backend: BackendId,
    },
    /// The answer's placeholders were restored: the request was answered. A terminal event.
    Restored {
        /// Placeholders restored exactly.
        exact: usize,
        /// Placeholders restored from a form the model changed.
        tolerant: usize,
        /// Placeholder-shaped strings the vault never handed out.
        unknown: usize,
        /// Placeholders left unfilled because they were inside a URL (a link or image
        /// target, a bare URL, an HTML attribute): what an injected instruction may have
        /// tried to send out.
        #[serde(default, skip_serializing_if = "is_zero")]
        withheld_in_urls: usize,
    },
}

impl AuditEvent {
    /// The event for a restoration report.
    pub fn restored(report: &RestoreReport) -> AuditEvent {
        AuditEvent::Restored {
            exact: report.exact,
            tolerant: report.tolerant,
            unknown: report.unknown.len(),
            withheld_in_urls: report.withheld_in_urls,
        }
    }

    /// Whether the event ends its request. Every request the pipeline takes ends with exactly
    /// one: `restored` (answered), `refused`, `failed` or `cancelled`.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            AuditEvent::Restored { .. }
                | AuditEvent::Refused { .. }
                | AuditEvent::Failed { .. }
                | AuditEvent::Cancelled { .. }
        )
    }

    /// The event for a redaction report.
    pub fn redacted(what: impl Into<String>, report: &RedactionReport) -> AuditEvent {
        let mut entities = BTreeMap::new();
        let mut rules = BTreeMap::new();
        for r in &report.records {
            *entities.entry(r.entity.as_str().to_string()).or_insert(0) += 1;
            *rules.entry(r.rule.as_str().to_string()).or_insert(0) += 1;
        }
        AuditEvent::Redacted {
            what: what.into(),
            entities,
            rules,
            max_sensitivity: report.max_sensitivity,
            unscanned: report.unscanned.len(),
            turned_off: BTreeMap::new(),
            shield: BTreeMap::new(),
        }
    }

    /// The same event, listing the rules the redactor ran without (see
    /// [`Redactor::turned_off`](crate::redact::Redactor::turned_off)); other events unchanged.
    #[must_use]
    pub fn with_turned_off(mut self, rules: &[(String, String)]) -> AuditEvent {
        if let AuditEvent::Redacted { turned_off, .. } = &mut self {
            turned_off.extend(rules.iter().cloned());
        }
        self
    }

    /// The same event, naming the shield that processed the request (digests, see
    /// [`Redactor::provenance`](crate::redact::Redactor::provenance)); other events unchanged.
    #[must_use]
    pub fn with_shield(mut self, digests: &BTreeMap<String, String>) -> AuditEvent {
        if let AuditEvent::Redacted { shield, .. } = &mut self {
            shield.extend(digests.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        self
    }

    /// The event for a routing decision.
    pub fn routed(decision: &RouteDecision) -> AuditEvent {
        AuditEvent::Routed {
            chain: decision.chain.clone(),
            reasons: decision.reasons.clone(),
        }
    }

    /// The event for a failed backend call followed by a fallback.
    pub fn fell_back(from: impl Into<BackendId>, error: &BackendError) -> AuditEvent {
        AuditEvent::FellBack {
            from: from.into(),
            error: error.to_string(),
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// An event with its request id and time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord<'a> {
    /// Milliseconds since the Unix epoch.
    pub ts_ms: u64,
    /// The request.
    pub request: &'a RequestId,
    /// What happened.
    #[serde(flatten)]
    pub event: &'a AuditEvent,
}

/// Where audit events go.
pub trait AuditSink: Send + Sync + std::fmt::Debug {
    /// Records one event. A sink that cannot write reports it its own way (a log line);
    /// auditing never fails a request.
    fn record(&self, request: &RequestId, event: &AuditEvent);
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Appends one JSON object per event to a file, flushing each line.
#[derive(Debug)]
pub struct JsonLinesSink {
    file: Mutex<std::fs::File>,
    failures: std::sync::atomic::AtomicU64,
}

impl JsonLinesSink {
    /// Opens (creating if needed) `path` for appending.
    ///
    /// ```
    /// use promptveil::audit::{AuditEvent, AuditSink, JsonLinesSink, RequestId};
    ///
    /// let dir = tempfile::tempdir().expect("tempdir");
    /// let sink = JsonLinesSink::open(&dir.path().join("audit.jsonl"))?;
    /// sink.record(&RequestId::new(), &AuditEvent::Refused { reason: "no backend".into() });
    /// let trail = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("read");
    /// assert!(trail.contains(r#""event":"refused""#));
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the file cannot be opened.
    pub fn open(path: &Path) -> Result<JsonLinesSink> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(JsonLinesSink {
            file: Mutex::new(file),
            failures: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Events that could not be written since the sink was opened.
    pub fn failures(&self) -> u64 {
        self.failures.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl AuditSink for JsonLinesSink {
    fn record(&self, request: &RequestId, event: &AuditEvent) {
        let record = AuditRecord {
            ts_ms: now_ms(),
            request,
            event,
        };
        let Ok(mut line) = serde_json::to_vec(&record) else {
            self.failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return;
        };
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        // One write per line: with O_APPEND, lines of concurrent writers do not interleave.
        if file.write_all(&line).and_then(|()| file.flush()).is_err() {
            self.failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Emits each event as a `tracing` event (target `promptveil::audit`, level INFO) with the
/// event as JSON in the `event` field.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingSink;

impl AuditSink for TracingSink {
    fn record(&self, request: &RequestId, event: &AuditEvent) {
        let json = serde_json::to_string(event).unwrap_or_default();
        tracing::info!(target: "promptveil::audit", request = request.as_str(), event = %json);
    }
}

/// Drops every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopSink;

impl AuditSink for NoopSink {
    fn record(&self, _: &RequestId, _: &AuditEvent) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::{Redactor, Vault};
    use crate::route::{
        BackendProfile, DefaultPolicy, Locality, RouteSummary, RoutingPolicy, Size,
    };

    #[test]
    fn a_request_leaves_a_json_lines_trail_without_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let sink = JsonLinesSink::open(&path).expect("open");
        let id = RequestId::new();
        let canary = "canary.audit@example.org";
        let redactor = Redactor::builder().default_rules().build().expect("rules");
        let vault = Vault::new();
        let red = redactor.redact(&format!("Mail {canary}, card 4111 1111 1111 1111"), &vault);
        sink.record(&id, &AuditEvent::redacted("question", red.report()));
        let decision = DefaultPolicy::default().route(
            &RouteSummary::new(Sensitivity::Restricted, 40, 0.2),
            &[
                BackendProfile::new("slm", Locality::OnPremises, Size::Small, 4096),
                BackendProfile::new("cloud", Locality::External, Size::Large, 100_000),
            ],
        );
        sink.record(&id, &AuditEvent::routed(&decision));
        sink.record(&id, &AuditEvent::fell_back("slm", &BackendError::Timeout));
        let restored = vault.restore("Sent to [EMAIL_1].");
        sink.record(
            &id,
            &AuditEvent::Restored {
                exact: restored.report().exact,
                tolerant: restored.report().tolerant,
                unknown: restored.report().unknown.len(),
                withheld_in_urls: 0,
            },
        );
        assert_eq!(sink.failures(), 0);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains(canary) && !text.contains("4111"), "{text}");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(lines.len(), 4);
        assert!(lines.iter().all(|l| l["request"] == id.as_str()));
        assert_eq!(lines[0]["event"], "redacted");
        assert_eq!(lines[0]["entities"]["EMAIL"], 1);
        assert_eq!(lines[0]["max_sensitivity"], "restricted");
        assert_eq!(lines[1]["event"], "routed");
        assert_eq!(lines[1]["chain"][0], "slm");
        assert_eq!(lines[1]["reasons"][0]["reason"], "sensitivity_excludes");
        assert_eq!(lines[2]["event"], "fell_back");
        assert_eq!(lines[3]["exact"], 1);
        // Appending: a second sink on the same file adds lines.
        drop(sink);
        let again = JsonLinesSink::open(&path).expect("reopen");
        again.record(
            &id,
            &AuditEvent::Refused {
                reason: "no backend".into(),
            },
        );
        assert_eq!(
            std::fs::read_to_string(&path)
                .expect("read")
                .lines()
                .count(),
            5
        );
        // Request ids are random.
        assert_ne!(RequestId::new(), RequestId::new());
        assert_eq!(id.as_str().len(), 32);
    }
}
