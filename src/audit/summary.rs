//! Reading an audit trail back: what left the building, per backend and sensitivity.
//!
//! The trail holds no values, and neither does the summary: per backend, how many requests
//! it answered, the highest level each of them had touched, which entity types went to it as
//! placeholders, the tokens, and how often it failed over to the next backend; plus the
//! refusals by cause. `promptveil audit summarize LOG.jsonl` prints it.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::route::Locality;
use crate::sensitivity::Sensitivity;

/// One backend's share of the trail.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BackendTally {
    /// Where it runs, as the trail recorded it.
    pub locality: Option<Locality>,
    /// Requests it answered.
    pub requests: usize,
    /// Those requests by the highest level they touched (`none` when nothing was redacted).
    pub by_sensitivity: BTreeMap<String, usize>,
    /// Entity types it received as placeholders (question and passages), with counts.
    pub placeholders: BTreeMap<String, usize>,
    /// Tokens in and out, as the backend reported them.
    pub input_tokens: u64,
    /// See `input_tokens`.
    pub output_tokens: u64,
    /// Calls to it that failed.
    pub failures: usize,
}

/// What a trail says.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AuditSummary {
    /// Distinct request ids.
    pub requests: usize,
    /// Requests a backend answered.
    pub answered: usize,
    /// Requests refused, by cause (`egress guard`, `no backend approved`, `chain outside the
    /// admitted backends`, `over budget`, `every backend failed`, `other`).
    pub refused: BTreeMap<String, usize>,
    /// Streamed requests the caller dropped before the end.
    pub cancelled: usize,
    /// Requests that ended in an error that is no refusal (a retriever failed, an answer
    /// stopped part way).
    pub failed: usize,
    /// Requests by the shield that processed them: the digests their `redacted` events carry
    /// (`config=…, ner_model=…, rules=…`), `unknown` for requests whose trail names none.
    pub shields: BTreeMap<String, usize>,
    /// Requests whose trail has no terminal event (`restored`, `refused`, `failed`,
    /// `cancelled`): still running when the trail was read, or cut off (a process that
    /// died). Zero for a complete trail.
    pub unfinished: usize,
    /// Per backend.
    pub backends: BTreeMap<String, BackendTally>,
    /// Requests answered by an external backend (the redacted prompt left the building).
    pub left_the_building: usize,
    /// The highest level any of those had touched.
    pub highest_level_sent_out: Option<Sensitivity>,
}

#[derive(Default)]
struct Request {
    max: Option<Sensitivity>,
    entities: BTreeMap<String, usize>,
    ended: bool,
    shield: Option<String>,
}

fn level_name(level: Option<Sensitivity>) -> String {
    level.map_or_else(|| "none".to_string(), |l| l.as_str().to_string())
}

/// Summarizes the JSON Lines trail at `path`.
///
/// # Errors
///
/// [`ErrorKind::Io`] when the file cannot be read; [`ErrorKind::Json`] naming the file and
/// line when a line is not an audit event (the line's content is not shown).
pub fn summarize_file(path: &Path) -> Result<AuditSummary> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    summarize(std::io::BufReader::new(file), &path.display().to_string())
}

/// Summarizes a JSON Lines trail read from `reader`; `name` names it in errors.
///
/// ```
/// use promptveil::audit::summarize;
///
/// let trail = r#"{"request":"r1","event":"redacted","what":"question","entities":{"EMAIL":1},"max_sensitivity":"confidential"}
/// {"request":"r1","event":"dispatched","backend":"cloud","locality":"external","attempts":1,"usage":null}
/// {"request":"r2","event":"refused","reason":"egress guard: refused to send to `cloud`"}"#;
/// let s = summarize(trail.as_bytes(), "audit.jsonl")?;
/// assert_eq!((s.requests, s.answered, s.left_the_building), (2, 1, 1));
/// assert_eq!(s.backends["cloud"].placeholders["EMAIL"], 1);
/// assert_eq!(s.refused["egress guard"], 1);
/// # Ok::<(), promptveil::Error>(())
/// ```
///
/// # Errors
///
/// As [`summarize_file`].
pub fn summarize(reader: impl BufRead, name: &str) -> Result<AuditSummary> {
    let mut summary = AuditSummary::default();
    let mut requests: HashMap<String, Request> = HashMap::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| {
            Error::new(ErrorKind::Io, format!("{name}: cannot read line {}", n + 1)).with_source(e)
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = || {
            Error::new(
                ErrorKind::Json,
                format!("{name}:{}: not an audit event", n + 1),
            )
        };
        let v: Value = serde_json::from_str(&line).map_err(|_| bad())?;
        let id = v.get("request").and_then(Value::as_str).ok_or_else(bad)?;
        let event = v.get("event").and_then(Value::as_str).ok_or_else(bad)?;
        let request = requests.entry(id.to_string()).or_default();
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
        request.ended |= matches!(event, "restored" | "refused" | "failed" | "cancelled");
        match event {
            "redacted" => {
                let level = v
                    .get("max_sensitivity")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<Sensitivity>().ok());
                request.max = request.max.max(level);
                if let Some(shield) = v.get("shield").and_then(Value::as_object)
                    && request.shield.is_none()
                {
                    let parts: Vec<String> = shield
                        .iter()
                        .map(|(k, d)| format!("{k}={}", d.as_str().unwrap_or_default()))
                        .collect();
                    request.shield = Some(parts.join(", "));
                }
                if let Some(entities) = v.get("entities").and_then(Value::as_object) {
                    for (entity, count) in entities {
                        *request.entities.entry(entity.clone()).or_insert(0) +=
                            count.as_u64().unwrap_or(0) as usize;
                    }
                }
            }
            "dispatched" => {
                let tally = summary
                    .backends
                    .entry(text("backend").to_string())
                    .or_default();
                if let Some(locality) = v
                    .get("locality")
                    .and_then(|l| serde_json::from_value::<Locality>(l.clone()).ok())
                {
                    tally.locality = Some(locality);
                }
                tally.requests += 1;
                *tally
                    .by_sensitivity
                    .entry(level_name(request.max))
                    .or_insert(0) += 1;
                for (entity, count) in &request.entities {
                    *tally.placeholders.entry(entity.clone()).or_insert(0) += count;
                }
                let usage = |k: &str| {
                    v.get("usage")
                        .and_then(|u| u.get(k))
                        .and_then(Value::as_u64)
                        .unwrap_or(0)
                };
                tally.input_tokens += usage("input_tokens");
                tally.output_tokens += usage("output_tokens");
                summary.answered += 1;
                if tally.locality == Some(Locality::External) {
                    summary.left_the_building += 1;
                    summary.highest_level_sent_out =
                        summary.highest_level_sent_out.max(request.max);
                }
            }
            "fell_back" => {
                summary
                    .backends
                    .entry(text("from").to_string())
                    .or_default()
                    .failures += 1;
            }
            "refused" => {
                let reason = text("reason");
                let cause = if reason.starts_with("egress guard") {
                    "egress guard"
                } else if reason.contains("approved no backend") {
                    "no backend approved"
                } else if reason.starts_with("no backend answered") {
                    "every backend failed"
                } else if reason.starts_with("over the token budget") {
                    "over budget"
                } else if reason.contains("may not go to") {
                    "chain outside the admitted backends"
                } else {
                    "other"
                };
                *summary.refused.entry(cause.to_string()).or_insert(0) += 1;
            }
            "cancelled" => summary.cancelled += 1,
            "failed" => summary.failed += 1,
            _ => {}
        }
    }
    summary.requests = requests.len();
    summary.unfinished = requests.values().filter(|r| !r.ended).count();
    for r in requests.values() {
        let shield = r.shield.clone().unwrap_or_else(|| "unknown".to_string());
        *summary.shields.entry(shield).or_insert(0) += 1;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trail_is_summarized_per_backend_and_level() {
        let trail = r#"{"ts_ms":1,"request":"a","event":"redacted","what":"question","entities":{"EMAIL":1,"US_SSN":1},"max_sensitivity":"restricted"}
{"ts_ms":2,"request":"a","event":"redacted","what":"billing.md#1","entities":{"PERSON":1},"max_sensitivity":"confidential"}
{"ts_ms":3,"request":"b","event":"redacted","what":"question","entities":{},"max_sensitivity":null}
{"ts_ms":4,"request":"a","event":"fell_back","from":"slm","error":"timeout"}
{"ts_ms":5,"request":"a","event":"dispatched","backend":"slm","locality":"on_premises","attempts":2,"usage":{"input_tokens":100,"output_tokens":20}}
{"ts_ms":6,"request":"b","event":"dispatched","backend":"cloud","locality":"external","attempts":1,"usage":null}

{"ts_ms":7,"request":"c","event":"refused","reason":"egress guard: refused to send to `cloud`"}
{"ts_ms":8,"request":"d","event":"cancelled","backend":"slm"}
"#;
        let s = summarize(trail.as_bytes(), "trail").expect("summary");
        assert_eq!(s.requests, 4);
        assert_eq!(s.answered, 2);
        assert_eq!(s.cancelled, 1);
        assert_eq!(s.refused["egress guard"], 1);
        let slm = &s.backends["slm"];
        assert_eq!(slm.locality, Some(Locality::OnPremises));
        assert_eq!(slm.by_sensitivity["restricted"], 1);
        assert_eq!(slm.placeholders["EMAIL"], 1);
        assert_eq!(slm.placeholders["PERSON"], 1);
        assert_eq!((slm.input_tokens, slm.output_tokens), (100, 20));
        assert_eq!(slm.failures, 1);
        assert_eq!(s.backends["cloud"].by_sensitivity["none"], 1);
        assert_eq!(s.left_the_building, 1);
        assert_eq!(s.highest_level_sent_out, None);

        let err =
            summarize("\nnot json, holds sk-secret-123\n".as_bytes(), "t").expect_err("malformed");
        assert_eq!(err.to_string(), "t:2: not an audit event");
        assert!(!format!("{err:?}").contains("sk-secret-123"));
        let err = summarize("{\"request\":\"a\"}\n".as_bytes(), "t").expect_err("no event");
        assert_eq!(err.kind(), ErrorKind::Json);
    }
}
