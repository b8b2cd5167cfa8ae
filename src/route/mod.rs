//! Routing: which model may see a prompt, and which should.
//!
//! A [`RoutingPolicy`] is synchronous and pure: it reads a [`RouteSummary`] of the request —
//! the highest sensitivity the redactor found, the entity types, token estimates, a
//! [`Complexity`] score, budgets, caller tags — and the [`BackendProfile`]s with their health,
//! never the prompt text, and returns a [`RouteDecision`]: an ordered chain of backends to try,
//! or a refusal, with machine-readable [`Reason`]s either way.
//!
//! The pipeline does not trust a policy with what may see a prompt: it first [`admit`]s the
//! backends the request may go to at all (its sensitivity against each backend's
//! `never_receives`, cooldowns, context windows), shows the policy only those, and refuses a
//! chain that names any other. A policy ranks and chooses.
//!
//! [`DefaultPolicy`] decides in this order:
//!
//! 1. **What may see the prompt at all.** A backend whose profile says it must never receive
//!    a level the prompt touched (even redacted) is out: by default an external backend never
//!    receives a prompt that touched `Restricted` data.
//! 2. **Health and fit.** Backends in cooldown, and backends whose context window cannot hold
//!    the prompt and the answer, are out.
//! 3. **Budgets.** Backends whose estimated cost or typical latency exceed the request's budget
//!    are out.
//! 4. **Complexity.** A score at or above the threshold prefers large models, below it small
//!    ones (the on-premises SLM): power where the prompt needs it, efficiency where it does
//!    not.
//! 5. **Order.** The preferred size first; within a size, on-premises before external, then
//!    cheaper, then faster, then by name.
//! 6. **Fallback.** The chain goes on to the other backends left, except that an external
//!    backend only follows an on-premises one when the policy allows escalation
//!    ([`DefaultPolicy::escalate_to_external`], off by default): an on-premises failure never
//!    sends the prompt out of the building unless configured.
//!
//! ```
//! use promptveil::Sensitivity;
//! use promptveil::route::{BackendProfile, DefaultPolicy, Locality, RouteSummary, RoutingPolicy, Size};
//!
//! let slm = BackendProfile::new("local-slm", Locality::OnPremises, Size::Small, 8192);
//! let llm = BackendProfile::new("cloud-llm", Locality::External, Size::Large, 200_000)
//!     .with_prices(3.0, 15.0);
//! let policy = DefaultPolicy::default();
//!
//! // A hard question about restricted data stays on premises, and says why.
//! let summary = RouteSummary::new(Sensitivity::Restricted, 400, 0.9);
//! let decision = policy.route(&summary, &[slm.clone(), llm.clone()]);
//! assert_eq!(decision.chain(), ["local-slm"]);
//!
//! // The same question without sensitive data goes to the large model first.
//! let summary = RouteSummary::new(Sensitivity::Public, 400, 0.9);
//! assert_eq!(policy.route(&summary, &[slm, llm]).chain(), ["cloud-llm", "local-slm"]);
//! ```

mod complexity;
mod features;
mod learned;
mod metrics;
mod neighbours;
mod outcomes;
mod train;

use serde::{Deserialize, Serialize};

pub use complexity::{Complexity, ComplexityWeights, Feature};
pub use features::{FEATURE_COUNT, FEATURE_NAMES, features};
pub use learned::{LearnedRouter, ROUTER_FORMAT, RouterScore, TrainedOn};
pub use metrics::{RoutingMetrics, routing_metrics};
pub use outcomes::{Outcome, OutcomeSet};
pub use train::{TrainOptions, TrainingEmbeddings, train, train_with_embeddings};

use crate::sensitivity::Sensitivity;

crate::id::text_id!(
    /// A backend's name, unique among a pipeline's backends (`local-slm`): what a routing
    /// chain, an attempt and the audit trail name it by.
    ///
    /// ```
    /// use promptveil::route::BackendId;
    ///
    /// let id = BackendId::from("local-slm");
    /// assert_eq!(id, "local-slm");
    /// assert_eq!(serde_json::to_string(&id)?, "\"local-slm\"");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    BackendId
);

/// Where a backend runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Locality {
    /// Inside the building: the prompt does not leave the organisation's machines.
    OnPremises,
    /// A third party's service.
    External,
}

/// How capable a backend's model is, for complexity routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// A small model: fast, cheap, less capable.
    Small,
    /// A large model.
    Large,
}

/// What a backend is and what it may receive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BackendProfile {
    /// Its name, unique among the backends.
    pub name: BackendId,
    /// Where it runs.
    pub locality: Locality,
    /// Its model's size.
    pub size: Size,
    /// The lowest sensitivity level it must never receive, even redacted: a prompt that
    /// touched this level or above does not go to it. `None`: any level, redacted. The
    /// default is `Restricted` for external backends and `None` on premises.
    pub never_receives: Option<Sensitivity>,
    /// The highest level it may receive in clear (not redacted): what the egress guard lets
    /// through. The default is `Public` for external backends and `Confidential` on premises
    /// (restricted values — card numbers, national ids, secrets — are never sent in clear).
    pub in_clear: Sensitivity,
    /// Tokens of prompt plus answer it accepts.
    pub context_window: usize,
    /// Price per million input tokens (any currency, the same for all backends).
    pub price_in: f64,
    /// Price per million output tokens.
    pub price_out: f64,
    /// Typical latency of a short answer, in milliseconds.
    pub typical_latency_ms: u64,
    /// Whether it can call tools: a request that carries tool definitions, calls or results
    /// goes only to backends that can. The shipped HTTP backends can; a custom backend says
    /// so with [`with_tools`](Self::with_tools).
    #[serde(default)]
    pub tools: bool,
    /// The kinds of media it takes (images, recordings). Media is never redacted, so a
    /// request that carries any goes only to an on-premises backend that takes every kind it
    /// carries, whatever this says of an external one. Empty by default: a backend takes
    /// media only when its configuration says so (`media = ["image"]`).
    #[serde(default)]
    pub media: Vec<crate::enrich::MediaKind>,
}

impl BackendProfile {
    /// A free backend with typical latency 1 s; external backends never receive prompts that
    /// touched `Restricted` data, and receive only `Public` data in clear (on premises:
    /// `Confidential`).
    pub fn new(
        name: impl Into<BackendId>,
        locality: Locality,
        size: Size,
        context_window: usize,
    ) -> BackendProfile {
        BackendProfile {
            name: name.into(),
            locality,
            size,
            never_receives: match locality {
                Locality::External => Some(Sensitivity::Restricted),
                Locality::OnPremises => None,
            },
            in_clear: match locality {
                Locality::External => Sensitivity::Public,
                Locality::OnPremises => Sensitivity::Confidential,
            },
            context_window,
            price_in: 0.0,
            price_out: 0.0,
            typical_latency_ms: 1000,
            tools: false,
            media: Vec::new(),
        }
    }

    /// Sets the kinds of media the backend takes (it receives them only on premises: see
    /// [`media`](Self::media)).
    pub fn with_media(
        mut self,
        kinds: impl IntoIterator<Item = crate::enrich::MediaKind>,
    ) -> BackendProfile {
        self.media = kinds.into_iter().collect();
        self
    }

    /// True when the backend may receive a request carrying media of every kind in `kinds`:
    /// it runs on premises and takes each of them. Always true for no media.
    pub fn takes_media(&self, kinds: &[crate::enrich::MediaKind]) -> bool {
        kinds.is_empty()
            || (self.locality == Locality::OnPremises
                && kinds.iter().all(|k| self.media.contains(k)))
    }

    /// Sets whether the backend can call tools.
    pub fn with_tools(mut self, tools: bool) -> BackendProfile {
        self.tools = tools;
        self
    }

    /// Sets the prices per million input and output tokens.
    pub fn with_prices(mut self, price_in: f64, price_out: f64) -> BackendProfile {
        self.price_in = price_in;
        self.price_out = price_out;
        self
    }

    /// Sets the lowest level the backend must never receive (`None`: any, redacted).
    pub fn never_receiving(mut self, level: Option<Sensitivity>) -> BackendProfile {
        self.never_receives = level;
        self
    }

    /// Sets the highest level the backend may receive in clear.
    pub fn receiving_in_clear(mut self, level: Sensitivity) -> BackendProfile {
        self.in_clear = level;
        self
    }

    /// Sets the typical latency.
    pub fn with_latency_ms(mut self, ms: u64) -> BackendProfile {
        self.typical_latency_ms = ms;
        self
    }

    /// Estimated cost of a request with these token counts.
    pub fn estimated_cost(&self, tokens_in: usize, tokens_out: usize) -> f64 {
        (tokens_in as f64 * self.price_in + tokens_out as f64 * self.price_out) / 1e6
    }
}

/// What a policy knows of a request: counts and levels, never text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RouteSummary {
    /// The highest sensitivity among the redacted findings (and retrieved passages).
    pub max_sensitivity: Sensitivity,
    /// Entity types found, for policies that care (`"PERSON"`, `"IBAN"`).
    pub entity_types: Vec<String>,
    /// Estimated tokens of the enriched prompt.
    pub tokens_in: usize,
    /// Tokens the answer may take.
    pub tokens_out: usize,
    /// Complexity score in `0.0..1.0`.
    pub complexity: f32,
    /// The features that moved the complexity score most, by name.
    pub complexity_drivers: Vec<String>,
    /// Most the request may cost (same unit as the profiles' prices); `None`: no limit.
    pub max_cost: Option<f64>,
    /// Longest typical latency acceptable, in milliseconds; `None`: no limit.
    pub max_latency_ms: Option<u64>,
    /// Backends in cooldown after repeated failures.
    pub cooling_down: Vec<BackendId>,
    /// Free-form tags of the caller (`"batch"`, `"interactive"`), for custom policies.
    pub tags: Vec<String>,
    /// Whether the request carries tool definitions, calls or results.
    pub tools: bool,
    /// The kinds of media the request carries (never redacted: the request may go only to an
    /// on-premises backend that takes them all).
    pub media: Vec<crate::enrich::MediaKind>,
}

impl RouteSummary {
    /// A summary with 512 answer tokens, no budgets, no tags, every backend healthy.
    pub fn new(max_sensitivity: Sensitivity, tokens_in: usize, complexity: f32) -> RouteSummary {
        RouteSummary {
            max_sensitivity,
            entity_types: Vec::new(),
            tokens_in,
            tokens_out: 512,
            complexity,
            complexity_drivers: Vec::new(),
            max_cost: None,
            max_latency_ms: None,
            cooling_down: Vec::new(),
            tags: Vec::new(),
            tools: false,
            media: Vec::new(),
        }
    }

    /// Sets the cost and latency budgets.
    pub fn with_budget(
        mut self,
        max_cost: Option<f64>,
        max_latency_ms: Option<u64>,
    ) -> RouteSummary {
        self.max_cost = max_cost;
        self.max_latency_ms = max_latency_ms;
        self
    }

    /// Sets the backends in cooldown.
    pub fn with_cooling_down(mut self, names: Vec<BackendId>) -> RouteSummary {
        self.cooling_down = names;
        self
    }

    /// Sets the answer's token allowance.
    pub fn with_tokens_out(mut self, tokens_out: usize) -> RouteSummary {
        self.tokens_out = tokens_out;
        self
    }
}

/// Why a policy did what it did: one entry per consideration.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// The prompt touched a level this backend must never receive.
    SensitivityExcludes {
        /// The backend.
        backend: BackendId,
        /// The level the prompt touched.
        touched: Sensitivity,
        /// The backend's limit.
        never_receives: Sensitivity,
    },
    /// The request carries tools and the backend cannot call them.
    NoTools {
        /// The backend.
        backend: BackendId,
    },
    /// The request carries media and the backend is external or does not take that kind.
    NoMedia {
        /// The backend.
        backend: BackendId,
        /// The kinds the request carries.
        kinds: Vec<crate::enrich::MediaKind>,
    },
    /// The backend is in cooldown.
    CoolingDown {
        /// The backend.
        backend: BackendId,
    },
    /// Prompt and answer do not fit the backend's context window.
    ContextTooSmall {
        /// The backend.
        backend: BackendId,
        /// Tokens needed.
        needed: usize,
        /// Its window.
        window: usize,
    },
    /// The estimated cost exceeds the budget.
    OverBudget {
        /// The backend.
        backend: BackendId,
        /// Estimated cost.
        cost: f64,
        /// The budget.
        budget: f64,
    },
    /// The typical latency exceeds the budget.
    TooSlow {
        /// The backend.
        backend: BackendId,
        /// Its typical latency.
        latency_ms: u64,
        /// The budget.
        budget_ms: u64,
    },
    /// The complexity score picked the preferred model size.
    Complexity {
        /// The score.
        score: f32,
        /// The threshold.
        threshold: f32,
        /// The size preferred.
        prefers: Size,
        /// The features that moved the score most, by name (`numbers`, `reasoning`).
        drivers: Vec<String>,
    },
    /// An external backend was left out of the fallback after an on-premises one.
    NoEscalation {
        /// The backend left out.
        backend: BackendId,
    },
    /// No backend may take the request.
    NoBackend,
}

impl Reason {
    /// The backend this consideration is about, if it is about one.
    pub fn backend(&self) -> Option<&BackendId> {
        match self {
            Reason::SensitivityExcludes { backend, .. }
            | Reason::CoolingDown { backend }
            | Reason::NoTools { backend }
            | Reason::NoMedia { backend, .. }
            | Reason::ContextTooSmall { backend, .. }
            | Reason::OverBudget { backend, .. }
            | Reason::TooSlow { backend, .. }
            | Reason::NoEscalation { backend } => Some(backend),
            Reason::Complexity { .. } | Reason::NoBackend => None,
        }
    }
}

/// A policy's answer: the backends to try in order, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RouteDecision {
    /// Backends, first choice first; empty when refused.
    pub chain: Vec<BackendId>,
    /// Every consideration, in the order the policy made them.
    pub reasons: Vec<Reason>,
}

impl RouteDecision {
    /// The backends to try, first choice first.
    pub fn chain(&self) -> &[BackendId] {
        &self.chain
    }

    /// True when no backend may take the request.
    pub fn is_refused(&self) -> bool {
        self.chain.is_empty()
    }
}

/// Chooses backends for a request. Implementations must be pure: the same summary and
/// profiles give the same decision.
pub trait RoutingPolicy: Send + Sync + std::fmt::Debug {
    /// The decision for `summary` among `backends`.
    fn route(&self, summary: &RouteSummary, backends: &[BackendProfile]) -> RouteDecision;
}

/// The default policy (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DefaultPolicy {
    /// Complexity at or above which large models are preferred. Default 0.6.
    pub complexity_threshold: f32,
    /// May an external backend follow an on-premises one in the fallback chain? Default no.
    pub escalate_to_external: bool,
}

impl Default for DefaultPolicy {
    fn default() -> DefaultPolicy {
        DefaultPolicy {
            complexity_threshold: 0.6,
            escalate_to_external: false,
        }
    }
}

impl DefaultPolicy {
    /// Sets the complexity score at and above which large models are preferred.
    pub fn with_complexity_threshold(mut self, threshold: f32) -> DefaultPolicy {
        self.complexity_threshold = threshold;
        self
    }

    /// Allows (or forbids) an external backend to follow an on-premises one in the chain.
    pub fn with_escalation(mut self, escalate_to_external: bool) -> DefaultPolicy {
        self.escalate_to_external = escalate_to_external;
        self
    }
}

/// The backends a request may go to at all, whatever a policy prefers: not one that must
/// never receive a level the request touched (even redacted), not one that cannot call the
/// tools the request carries, not one that may not receive its media (only on-premises
/// backends that take every kind it carries may), not one in cooldown, not one whose context
/// window cannot hold the prompt and the answer. Each left out gets its [`Reason`].
///
/// The pipeline admits before it asks its policy: the policy is shown the admitted backends
/// only, and a chain naming any other is refused. So "a prompt that touched restricted data
/// never goes to an external model" holds for every [`RoutingPolicy`], not only for
/// [`DefaultPolicy`].
///
/// ```
/// use promptveil::Sensitivity;
/// use promptveil::route::{BackendProfile, Locality, RouteSummary, Size, admit};
///
/// let slm = BackendProfile::new("local-slm", Locality::OnPremises, Size::Small, 8192);
/// let llm = BackendProfile::new("cloud-llm", Locality::External, Size::Large, 200_000);
/// let (admitted, reasons) = admit(&RouteSummary::new(Sensitivity::Restricted, 400, 0.9), &[slm, llm]);
/// assert_eq!(admitted.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(), ["local-slm"]);
/// assert_eq!(reasons.len(), 1);
/// ```
pub fn admit(
    summary: &RouteSummary,
    backends: &[BackendProfile],
) -> (Vec<BackendProfile>, Vec<Reason>) {
    let mut reasons = Vec::new();
    let mut admitted = Vec::new();
    for b in backends {
        if let Some(limit) = b.never_receives
            && summary.max_sensitivity >= limit
        {
            reasons.push(Reason::SensitivityExcludes {
                backend: b.name.clone(),
                touched: summary.max_sensitivity,
                never_receives: limit,
            });
            continue;
        }
        if summary.tools && !b.tools {
            reasons.push(Reason::NoTools {
                backend: b.name.clone(),
            });
            continue;
        }
        if !b.takes_media(&summary.media) {
            reasons.push(Reason::NoMedia {
                backend: b.name.clone(),
                kinds: summary.media.clone(),
            });
            continue;
        }
        if summary.cooling_down.contains(&b.name) {
            reasons.push(Reason::CoolingDown {
                backend: b.name.clone(),
            });
            continue;
        }
        let needed = summary.tokens_in + summary.tokens_out;
        if needed > b.context_window {
            reasons.push(Reason::ContextTooSmall {
                backend: b.name.clone(),
                needed,
                window: b.context_window,
            });
            continue;
        }
        admitted.push(b.clone());
    }
    (admitted, reasons)
}

impl RoutingPolicy for DefaultPolicy {
    fn route(&self, summary: &RouteSummary, backends: &[BackendProfile]) -> RouteDecision {
        let (admitted, mut reasons) = admit(summary, backends);
        let mut eligible: Vec<&BackendProfile> = Vec::new();
        for b in &admitted {
            let cost = b.estimated_cost(summary.tokens_in, summary.tokens_out);
            if let Some(budget) = summary.max_cost
                && cost > budget
            {
                reasons.push(Reason::OverBudget {
                    backend: b.name.clone(),
                    cost,
                    budget,
                });
                continue;
            }
            if let Some(budget_ms) = summary.max_latency_ms
                && b.typical_latency_ms > budget_ms
            {
                reasons.push(Reason::TooSlow {
                    backend: b.name.clone(),
                    latency_ms: b.typical_latency_ms,
                    budget_ms,
                });
                continue;
            }
            eligible.push(b);
        }
        let prefers = if summary.complexity >= self.complexity_threshold {
            Size::Large
        } else {
            Size::Small
        };
        reasons.push(Reason::Complexity {
            score: summary.complexity,
            threshold: self.complexity_threshold,
            prefers,
            drivers: summary.complexity_drivers.clone(),
        });
        let key = |b: &BackendProfile| {
            (
                b.size != prefers,
                b.locality != Locality::OnPremises,
                b.estimated_cost(summary.tokens_in, summary.tokens_out),
                b.typical_latency_ms,
            )
        };
        eligible.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            ka.0.cmp(&kb.0)
                .then(ka.1.cmp(&kb.1))
                .then(ka.2.total_cmp(&kb.2))
                .then(ka.3.cmp(&kb.3))
                .then(a.name.cmp(&b.name))
        });
        let mut chain: Vec<BackendId> = Vec::new();
        let mut on_premises_before = false;
        for b in eligible {
            if b.locality == Locality::External && on_premises_before && !self.escalate_to_external
            {
                reasons.push(Reason::NoEscalation {
                    backend: b.name.clone(),
                });
                continue;
            }
            on_premises_before |= b.locality == Locality::OnPremises;
            chain.push(b.name.clone());
        }
        if chain.is_empty() {
            reasons.push(Reason::NoBackend);
        }
        RouteDecision { chain, reasons }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends() -> Vec<BackendProfile> {
        vec![
            BackendProfile::new("slm", Locality::OnPremises, Size::Small, 8192)
                .with_latency_ms(400),
            BackendProfile::new("big-local", Locality::OnPremises, Size::Large, 32_768)
                .with_latency_ms(3000),
            BackendProfile::new("claude", Locality::External, Size::Large, 200_000)
                .with_prices(3.0, 15.0)
                .with_latency_ms(2000),
            BackendProfile::new("gpt-mini", Locality::External, Size::Small, 128_000)
                .with_prices(0.15, 0.6)
                .with_latency_ms(800),
        ]
    }

    #[test]
    fn restricted_data_never_goes_external_even_when_hard() {
        let d = DefaultPolicy::default().route(
            &RouteSummary::new(Sensitivity::Restricted, 500, 0.95),
            &backends(),
        );
        assert_eq!(d.chain(), ["big-local", "slm"]);
        let excluded: Vec<&str> = d
            .reasons
            .iter()
            .filter_map(|r| match r {
                Reason::SensitivityExcludes { backend, .. } => Some(backend.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(excluded, ["claude", "gpt-mini"]);
        // Reasons serialise for the audit trail.
        let json = serde_json::to_string(&d.reasons).expect("json");
        assert!(
            json.contains("\"reason\":\"sensitivity_excludes\""),
            "{json}"
        );
    }

    #[test]
    fn complexity_picks_the_size_and_locality_breaks_ties() {
        let p = DefaultPolicy::default();
        let easy = p.route(
            &RouteSummary::new(Sensitivity::Internal, 200, 0.1),
            &backends(),
        );
        // Small first (on premises before external), then large; no escalation past the SLM.
        assert_eq!(easy.chain(), ["slm", "big-local"]);
        assert!(easy.reasons.contains(&Reason::NoEscalation {
            backend: "gpt-mini".into()
        }));
        let hard = p.route(
            &RouteSummary::new(Sensitivity::Public, 200, 0.9),
            &backends(),
        );
        assert_eq!(hard.chain(), ["big-local", "slm"]);
        // Without the large local model, a hard public prompt goes out first; falling back
        // from external to on premises is allowed.
        let no_big: Vec<BackendProfile> = backends()
            .into_iter()
            .filter(|b| b.name != "big-local")
            .collect();
        let hard = p.route(&RouteSummary::new(Sensitivity::Public, 200, 0.9), &no_big);
        assert_eq!(hard.chain(), ["claude", "slm"]);
        // Escalation when configured.
        let escalating = DefaultPolicy {
            escalate_to_external: true,
            ..DefaultPolicy::default()
        };
        let easy = escalating.route(&RouteSummary::new(Sensitivity::Internal, 200, 0.1), &no_big);
        assert_eq!(easy.chain(), ["slm", "gpt-mini", "claude"]);
    }

    #[test]
    fn budgets_health_and_context_windows_exclude_backends() {
        let p = DefaultPolicy {
            escalate_to_external: true,
            ..DefaultPolicy::default()
        };
        let s = RouteSummary::new(Sensitivity::Public, 20_000, 0.9)
            .with_budget(Some(0.05), Some(2500))
            .with_cooling_down(vec!["big-local".into()]);
        let d = p.route(&s, &backends());
        // slm: context too small; big-local: cooling down; claude: 20k*3/1e6 + 512*15/1e6 =
        // 0.068 > 0.05; gpt-mini fits.
        assert_eq!(d.chain(), ["gpt-mini"]);
        assert!(
            d.reasons
                .iter()
                .any(|r| matches!(r, Reason::ContextTooSmall { backend, .. } if backend == "slm"))
        );
        assert!(d.reasons.contains(&Reason::CoolingDown {
            backend: "big-local".into()
        }));
        assert!(
            d.reasons
                .iter()
                .any(|r| matches!(r, Reason::OverBudget { backend, .. } if backend == "claude"))
        );
        // Nothing left: a refusal with its reasons.
        let none = p.route(&s.with_budget(Some(0.0001), None), &backends());
        assert!(none.is_refused());
        assert_eq!(none.reasons.last(), Some(&Reason::NoBackend));
    }

    #[test]
    fn the_same_input_gives_the_same_decision() {
        let p = DefaultPolicy::default();
        let s = RouteSummary::new(Sensitivity::Confidential, 300, 0.4);
        let mut shuffled = backends();
        shuffled.reverse();
        assert_eq!(p.route(&s, &backends()).chain, p.route(&s, &shuffled).chain);
    }
}
