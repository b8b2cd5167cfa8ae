//! Prometheus metrics of a pipeline (feature `metrics`): counts and durations derived from its
//! audit events and step timings — entity types, levels, backends, causes; never a value, a
//! prompt or an id.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::{AuditEvent, AuditSink, RequestId};
use crate::route::BackendProfile;
use crate::sensitivity::Sensitivity;

type Labels<const N: usize> = [(&'static str, String); N];
type Histograms<const N: usize> = Family<Labels<N>, Histogram, fn() -> Histogram>;

/// Durations from 0.1 ms to about 26 s, doubling.
fn duration_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 19))
}

/// The pipeline's metrics, in one registry to serve at `/metrics`
/// ([`encode`](Self::encode)). Give it to a pipeline with
/// [`PipelineBuilder::metrics`](crate::pipeline::PipelineBuilder::metrics): it then reads every
/// audit event and the duration of every step.
///
/// | metric | labels |
/// |---|---|
/// | `promptveil_requests_total` | `outcome` (answered, refused, failed, cancelled), `backend` (`none` before one answered), `sensitivity` (the highest level the request touched) |
/// | `promptveil_entities_redacted_total` | `entity` |
/// | `promptveil_refusals_total` | `cause` (egress_guard, redaction_incomplete, no_backend_admitted, policy_out_of_bounds, over_budget, nothing_to_send, invalid_conversation, no_backend_answered, other) |
/// | `promptveil_step_duration_seconds` (histogram) | `step` (redact, retrieve, enrich, route, guard, dispatch, restore) |
/// | `promptveil_tokens_total` | `backend`, `direction` (input, output) |
/// | `promptveil_cost_total` | `backend` (the profiles' prices) |
/// | `promptveil_http_requests_total`, `promptveil_http_request_duration_seconds` | `endpoint`, `status` (the server's) |
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels<3>, Counter>,
    entities: Family<Labels<1>, Counter>,
    refusals: Family<Labels<1>, Counter>,
    steps: Histograms<1>,
    tokens: Family<Labels<2>, Counter>,
    cost: Family<Labels<1>, Counter<f64, std::sync::atomic::AtomicU64>>,
    http: Family<Labels<2>, Counter>,
    http_duration: Histograms<1>,
    /// Per backend: price per million input and output tokens.
    prices: Mutex<HashMap<String, (f64, f64)>>,
    /// Requests under way: the highest level touched and the backend, until their terminal
    /// event.
    open: Mutex<HashMap<RequestId, (Sensitivity, Option<String>)>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// Requests under way tracked at most: past it, the oldest labels are dropped (a request
/// whose terminal event never came must not grow the map for ever).
const MAX_OPEN: usize = 65_536;

impl Metrics {
    /// Empty metrics, registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::default();
        let entities = Family::default();
        let refusals = Family::default();
        let steps: Histograms<1> = Family::new_with_constructor(duration_buckets);
        let tokens = Family::default();
        let cost = Family::default();
        let http = Family::default();
        let http_duration: Histograms<1> = Family::new_with_constructor(duration_buckets);
        registry.register(
            "promptveil_requests",
            "Requests ended, by outcome, backend and the highest sensitivity touched",
            requests.clone(),
        );
        registry.register(
            "promptveil_entities_redacted",
            "Values replaced by placeholders, by entity type",
            entities.clone(),
        );
        registry.register(
            "promptveil_refusals",
            "Requests refused, by cause",
            refusals.clone(),
        );
        registry.register(
            "promptveil_step_duration_seconds",
            "Time spent in each step of the pipeline",
            steps.clone(),
        );
        registry.register(
            "promptveil_tokens",
            "Tokens the backends reported, by backend and direction",
            tokens.clone(),
        );
        registry.register(
            "promptveil_cost",
            "Estimated cost from the backends' prices, by backend",
            cost.clone(),
        );
        registry.register(
            "promptveil_http_requests",
            "HTTP requests answered by the server, by endpoint and status",
            http.clone(),
        );
        registry.register(
            "promptveil_http_request_duration_seconds",
            "Time to answer an HTTP request (to the first byte of a stream), by endpoint",
            http_duration.clone(),
        );
        Metrics {
            registry,
            requests,
            entities,
            refusals,
            steps,
            tokens,
            cost,
            http,
            http_duration,
            prices: Mutex::default(),
            open: Mutex::default(),
        }
    }

    /// Uses `profiles`' prices for the cost.
    pub fn set_prices(&self, profiles: &[BackendProfile]) {
        let mut prices = self.prices.lock().unwrap_or_else(|e| e.into_inner());
        for p in profiles {
            prices.insert(p.name.as_str().to_string(), (p.price_in, p.price_out));
        }
    }

    /// Records that `step` took `seconds`.
    pub fn observe_step(&self, step: &'static str, seconds: f64) {
        self.steps
            .get_or_create(&[("step", step.to_string())])
            .observe(seconds);
    }

    /// Records an HTTP request to `endpoint` answered with `status` after `seconds`.
    pub fn observe_http(&self, endpoint: &str, status: u16, seconds: f64) {
        self.http
            .get_or_create(&[
                ("endpoint", endpoint.to_string()),
                ("status", status.to_string()),
            ])
            .inc();
        self.http_duration
            .get_or_create(&[("endpoint", endpoint.to_string())])
            .observe(seconds);
    }

    /// The metrics in the OpenMetrics text format (what Prometheus scrapes).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    fn ended(&self, id: &RequestId, outcome: &str) {
        let (level, backend) = self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
            .unwrap_or((Sensitivity::Public, None));
        self.requests
            .get_or_create(&[
                ("outcome", outcome.to_string()),
                ("backend", backend.unwrap_or_else(|| "none".into())),
                ("sensitivity", level.to_string()),
            ])
            .inc();
    }

    fn update(&self, id: &RequestId, f: impl FnOnce(&mut (Sensitivity, Option<String>))) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= MAX_OPEN && !open.contains_key(id) {
            open.clear();
        }
        f(open
            .entry(id.clone())
            .or_insert((Sensitivity::Public, None)));
    }
}

/// The cause of a refusal, from the reason the pipeline audited (its own wording).
fn cause(reason: &str) -> &'static str {
    const CAUSES: &[(&str, &str)] = &[
        ("egress guard", "egress_guard"),
        ("redaction incomplete", "redaction_incomplete"),
        (
            "the routing policy approved no backend",
            "no_backend_admitted",
        ),
        ("the routing policy named", "policy_out_of_bounds"),
        ("the routing policy chose", "policy_out_of_bounds"),
        ("over the token budget", "over_budget"),
        ("nothing to send", "nothing_to_send"),
        ("a message could not be redacted", "invalid_conversation"),
        ("the tool", "invalid_conversation"),
        ("no backend answered", "no_backend_answered"),
    ];
    CAUSES
        .iter()
        .find(|(start, _)| reason.starts_with(start))
        .map_or("other", |(_, c)| c)
}

impl AuditSink for Metrics {
    fn record(&self, id: &RequestId, event: &AuditEvent) {
        match event {
            AuditEvent::Redacted {
                entities,
                max_sensitivity,
                ..
            } => {
                for (entity, n) in entities {
                    self.entities
                        .get_or_create(&[("entity", entity.clone())])
                        .inc_by(*n as u64);
                }
                if let Some(level) = max_sensitivity {
                    self.update(id, |s| s.0 = s.0.max(*level));
                }
            }
            AuditEvent::Degraded { .. } | AuditEvent::MediaAttached { .. } => {
                self.update(id, |s| s.0 = Sensitivity::Restricted);
            }
            AuditEvent::Dispatched { backend, usage, .. } => {
                let name = backend.as_str().to_string();
                if let Some(u) = usage {
                    for (direction, n) in [("input", u.input_tokens), ("output", u.output_tokens)] {
                        self.tokens
                            .get_or_create(&[
                                ("backend", name.clone()),
                                ("direction", direction.to_string()),
                            ])
                            .inc_by(n);
                    }
                    let price = self
                        .prices
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(&name)
                        .copied();
                    if let Some((p_in, p_out)) = price {
                        let cost =
                            (u.input_tokens as f64 * p_in + u.output_tokens as f64 * p_out) / 1e6;
                        self.cost
                            .get_or_create(&[("backend", name.clone())])
                            .inc_by(cost);
                    }
                }
                self.update(id, |s| s.1 = Some(name));
            }
            AuditEvent::Refused { reason } => {
                self.refusals
                    .get_or_create(&[("cause", cause(reason).to_string())])
                    .inc();
                self.ended(id, "refused");
            }
            AuditEvent::Failed { .. } => self.ended(id, "failed"),
            AuditEvent::Cancelled { .. } => self.ended(id, "cancelled"),
            AuditEvent::Restored { .. } => self.ended(id, "answered"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_the_pipeline_words_has_its_cause() {
        for (reason, expected) in [
            ("egress guard: refused to send to `cloud`", "egress_guard"),
            (
                "redaction incomplete: a detector could not scan 1 part(s)",
                "redaction_incomplete",
            ),
            (
                "the routing policy approved no backend",
                "no_backend_admitted",
            ),
            (
                "the routing policy chose `x`, which this request may not go to",
                "policy_out_of_bounds",
            ),
            ("over the token budget: too long", "over_budget"),
            ("nothing to send: no question", "nothing_to_send"),
            (
                "a message could not be redacted: bad JSON",
                "invalid_conversation",
            ),
            ("the tool `t` could not be redacted", "invalid_conversation"),
            ("no backend answered: timeout", "no_backend_answered"),
            ("something new", "other"),
        ] {
            assert_eq!(cause(reason), expected, "{reason}");
        }
    }
}
