//! The pipeline: redact → retrieve → enrich → route → guard → dispatch → restore, with one
//! audit event per step.
//!
//! A [`Pipeline`] is built once ([`PipelineBuilder`], in code or from a TOML file:
//! [`PipelineBuilder::from_toml_file`]) and shared: it is a cheap [`Clone`] over an `Arc`, and
//! every request gets its own vault, so placeholders of one request never resolve in
//! another's answer.
//!
//! For each [`PromptRequest`]:
//!
//! 1. **Redact** the prompt into numbered placeholders with a fresh vault — and, for a
//!    conversation ([`PromptRequest::with_history`]), every earlier turn with the same vault,
//!    so a value is one placeholder throughout.
//! 2. **Retrieve** passages for the *redacted* question without its placeholders (values never
//!    reach the retriever, which may be a remote search service; placeholder names would match
//!    documents about e-mail or phones), and redact each passage with the same vault —
//!    the same person is the same placeholder in question and context — unless the index was
//!    declared public.
//! 3. **Enrich**: the template filled within the token budget, with numbered citations; the
//!    most recent earlier turns that fit what is left go before it as messages of their own.
//! 4. **Route**: the [`RoutingPolicy`] reads a summary (highest sensitivity touched by the
//!    question, the earlier turns *and* the passages, token counts, complexity score,
//!    budgets, backends cooling down) and approves an ordered chain, with reasons.
//! 5. **Guard**: the exact payload (prompt and earlier turns) is scanned again; if it holds
//!    anything above what a backend of the chain may receive in clear, the request is
//!    refused ([`ErrorKind::Refused`]), fail closed: the guard firing means a rule missed
//!    something or an index was wrongly declared public, and rerouting would hide that.
//! 6. **Dispatch** along the chain: retries, backoff, cooldown, fallback only within it.
//! 7. **Restore** the placeholders in the answer (whole, or chunk by chunk when streaming,
//!    holding back only what could be the start of a placeholder).
//!
//! From a configuration file (the TOML schema is in [`PipelineBuilder::from_toml_file`]'s
//! module docs; here the file names an index folder and an OpenAI-compatible server, so the
//! example needs the feature `http`):
//!
#![cfg_attr(feature = "http", doc = "```")]
#![cfg_attr(not(feature = "http"), doc = "```ignore")]
//! # let dir = tempfile::tempdir().expect("tempdir");
//! # let passages = [promptveil::index::Passage::new("refunds#0", "refunds.md", "Refunds", "Refunds are paid within 14 days.")];
//! # promptveil::index::KnowledgeIndex::build(&dir.path().join("index"), &passages)?;
//! # std::fs::write(dir.path().join("promptveil.toml"), r#"
//! # [retrieval]
//! # index = "index"
//! # [[backends]]
//! # name = "local-slm"
//! # api = "openai"
//! # base_url = "http://127.0.0.1:8080/v1"
//! # model = "local"
//! # locality = "on_premises"
//! # size = "small"
//! # context_window = 8192
//! # "#).expect("config");
//! # let path = dir.path().join("promptveil.toml");
//! use promptveil::pipeline::{Pipeline, PromptRequest};
//!
//! let pipeline = Pipeline::builder().from_toml_file(&path).build()?;
//! assert_eq!(pipeline.profiles()[0].name, "local-slm");
//! // let out = pipeline.run(PromptRequest::new("Draft a reply to anna@example.com")).await?;
//! # let _ = PromptRequest::new("");
//! # Ok::<(), promptveil::Error>(())
//! ```
//!
//! [`Pipeline::run`] and [`Pipeline::run_stream`] show whole requests with a stand-in
//! backend.

mod config;
pub mod guard;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::Stream;

use crate::audit::{AuditEvent, AuditSink, NoopSink, RequestId};
use crate::backend::dispatch::{Attempt, DispatchConfig, DispatchError, Dispatcher};
use crate::backend::{
    BackendError, BackendRequest, BackendStream, ModelBackend, StreamEvent, Usage,
};
use crate::enrich::{
    Citation, ContextPassage, EnrichedPrompt, HeuristicCounter, Role, Template, TokenCounter, Turn,
    enrich,
};
use crate::error::{Error, ErrorKind, Result};
use crate::index::Retriever;
use crate::redact::{RedactionReport, Redactor, RestoreReport, StreamRestorer, Vault};
use crate::route::{
    BackendProfile, Complexity, ComplexityWeights, DefaultPolicy, Locality, RouteDecision,
    RouteSummary, RoutingPolicy, estimate_tokens, score,
};
use crate::sensitivity::Sensitivity;
use guard::check_egress_all;

/// The instructions used when none are given: answer from the context, cite, and keep the
/// placeholders as they are so they can be restored.
pub const DEFAULT_INSTRUCTIONS: &str = "Answer the question. Use the context when it helps and \
     cite it as [n]. Words in square brackets such as [PERSON_1] stand for hidden values: \
     repeat them exactly as written, never guess what they hide.";

/// One prompt to answer, with its per-request settings. Its `Debug` shows lengths, never the
/// prompt.
#[derive(Clone)]
#[non_exhaustive]
pub struct PromptRequest {
    prompt: String,
    history: Vec<(Role, String)>,
    /// Longest answer, in tokens; the pipeline's default when `None`.
    pub max_tokens: Option<usize>,
    /// Sampling temperature; the pipeline's default when `None`.
    pub temperature: Option<f32>,
    /// Most this request may cost (same unit as the backends' prices).
    pub max_cost: Option<f64>,
    /// Longest typical latency acceptable, in milliseconds.
    pub max_latency_ms: Option<u64>,
    /// Passages to retrieve; the pipeline's default when `None`; 0 skips retrieval.
    pub top_k: Option<usize>,
    /// Caller tags a custom policy may read.
    pub tags: Vec<String>,
}

impl std::fmt::Debug for PromptRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptRequest")
            .field("prompt_len", &self.prompt.len())
            .field("history", &self.history.len())
            .field("max_tokens", &self.max_tokens)
            .field("temperature", &self.temperature)
            .field("max_cost", &self.max_cost)
            .field("max_latency_ms", &self.max_latency_ms)
            .field("top_k", &self.top_k)
            .field("tags", &self.tags)
            .finish()
    }
}

impl PromptRequest {
    /// A request for `prompt` with the pipeline's defaults.
    ///
    /// ```
    /// use promptveil::pipeline::PromptRequest;
    ///
    /// let req = PromptRequest::new("Card 4111 1111 1111 1111, why charged twice?")
    ///     .with_max_tokens(200)
    ///     .with_budget(Some(0.01), None)
    ///     .with_tag("support");
    /// // Debug never shows the prompt.
    /// assert!(!format!("{req:?}").contains("4111"));
    /// ```
    pub fn new(prompt: impl Into<String>) -> PromptRequest {
        PromptRequest {
            prompt: prompt.into(),
            history: Vec::new(),
            max_tokens: None,
            temperature: None,
            max_cost: None,
            max_latency_ms: None,
            top_k: None,
            tags: Vec::new(),
        }
    }

    /// Sets the longest answer, in tokens.
    pub fn with_max_tokens(mut self, tokens: usize) -> PromptRequest {
        self.max_tokens = Some(tokens);
        self
    }

    /// Sets the sampling temperature.
    pub fn with_temperature(mut self, temperature: f32) -> PromptRequest {
        self.temperature = Some(temperature);
        self
    }

    /// Sets the cost and latency budgets.
    pub fn with_budget(mut self, max_cost: Option<f64>, max_latency_ms: Option<u64>) -> Self {
        self.max_cost = max_cost;
        self.max_latency_ms = max_latency_ms;
        self
    }

    /// Sets how many passages to retrieve (0: none).
    pub fn with_top_k(mut self, k: usize) -> PromptRequest {
        self.top_k = Some(k);
        self
    }

    /// Adds a tag for the routing policy.
    pub fn with_tag(mut self, tag: impl Into<String>) -> PromptRequest {
        self.tags.push(tag.into());
        self
    }

    /// Sets the conversation so far, oldest first, as the caller has it (in clear: the
    /// assistant's turns as they were shown, restored). Every turn is redacted with this
    /// request's vault, so a value is the same placeholder in every turn and in the question;
    /// the turns count towards the routing's sensitivity and the token budget (the most
    /// recent kept, see [`EnrichedPrompt::with_history`]), and go to the backend as messages
    /// of their own before the prompt.
    pub fn with_history(
        mut self,
        turns: impl IntoIterator<Item = (Role, impl Into<String>)>,
    ) -> PromptRequest {
        self.history = turns.into_iter().map(|(r, t)| (r, t.into())).collect();
        self
    }
}

/// What a request produced. Its `Debug` shows the answer's length, never the answer (it holds
/// the restored values).
#[derive(Clone)]
#[non_exhaustive]
pub struct PipelineOutput {
    /// The request's id, as in the audit trail.
    pub request_id: RequestId,
    answer: String,
    /// The passages the prompt cited.
    pub citations: Vec<Citation>,
    /// The route: the approved chain and why.
    pub route: RouteDecision,
    /// The backend that answered.
    pub backend: String,
    /// Every backend call made.
    pub attempts: Vec<Attempt>,
    /// What was redacted from the question and the passages (no values).
    pub redaction: RedactionReport,
    /// How the answer's placeholders were restored.
    pub restore: RestoreReport,
    /// Tokens, as the backend reported them.
    pub usage: Option<Usage>,
    /// The model that answered, as the backend named it.
    pub model: String,
    /// Why generation stopped (`stop`, `length`, `end_turn`, ...), as the backend said.
    pub finish_reason: Option<String>,
    /// The complexity score and its features.
    pub complexity: Complexity,
    sent: String,
    sent_history: Vec<Turn>,
}

impl PipelineOutput {
    /// The answer, with the placeholders restored.
    pub fn answer(&self) -> &str {
        &self.answer
    }

    /// The prompt exactly as it was sent to the backend: redacted question and passages in
    /// the template. Holds no value the redactor found (what the model saw).
    pub fn sent_prompt(&self) -> &str {
        &self.sent
    }

    /// The earlier turns exactly as they were sent before the prompt (redacted, oldest
    /// first; those the budget left out are not here).
    pub fn sent_history(&self) -> &[Turn] {
        &self.sent_history
    }
}

impl std::fmt::Debug for PipelineOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineOutput")
            .field("request_id", &self.request_id)
            .field("answer_len", &self.answer.len())
            .field("citations", &self.citations)
            .field("route", &self.route)
            .field("backend", &self.backend)
            .field("attempts", &self.attempts)
            .field("redaction", &self.redaction)
            .field("restore", &self.restore)
            .field("usage", &self.usage)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

struct Inner {
    redactor: Redactor,
    retriever: Option<Arc<dyn Retriever>>,
    public_index: bool,
    top_k: usize,
    template: Template,
    instructions: String,
    budget: usize,
    counter: Arc<dyn TokenCounter>,
    weights: ComplexityWeights,
    policy: Arc<dyn RoutingPolicy>,
    dispatcher: Dispatcher,
    profiles: Vec<BackendProfile>,
    audit: Arc<dyn AuditSink>,
    max_tokens: usize,
    temperature: f32,
}

/// The configured pipeline. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("backends", &self.inner.profiles.len())
            .field("retriever", &self.inner.retriever.is_some())
            .field("budget", &self.inner.budget)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Pipeline`]. Setters never fail: errors (a rule file that does not load, a
/// template that does not parse, two backends with one name) are kept and returned by
/// [`build`](PipelineBuilder::build), the first one found.
pub struct PipelineBuilder {
    redactor: Option<Redactor>,
    retriever: Option<Arc<dyn Retriever>>,
    public_index: bool,
    top_k: usize,
    template: Template,
    instructions: String,
    budget: usize,
    counter: Arc<dyn TokenCounter>,
    weights: ComplexityWeights,
    policy: Arc<dyn RoutingPolicy>,
    backends: Vec<Arc<dyn ModelBackend>>,
    dispatch: DispatchConfig,
    audit: Arc<dyn AuditSink>,
    max_tokens: usize,
    temperature: f32,
    errors: Vec<Error>,
}

impl std::fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("backends", &self.backends)
            .field("retriever", &self.retriever.is_some())
            .field("errors", &self.errors.len())
            .finish_non_exhaustive()
    }
}

impl Default for PipelineBuilder {
    fn default() -> PipelineBuilder {
        PipelineBuilder {
            redactor: None,
            retriever: None,
            public_index: false,
            top_k: 4,
            template: Template::default(),
            instructions: DEFAULT_INSTRUCTIONS.to_string(),
            budget: 3000,
            counter: Arc::new(HeuristicCounter),
            weights: ComplexityWeights::default(),
            policy: Arc::new(DefaultPolicy::default()),
            backends: Vec::new(),
            dispatch: DispatchConfig::default(),
            audit: Arc::new(NoopSink),
            max_tokens: 512,
            temperature: 0.2,
            errors: Vec::new(),
        }
    }
}

impl PipelineBuilder {
    /// The redactor (default: the built-in rule set).
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// Where passages come from; `public` declares its passages free to send in clear (they
    /// are then not redacted; [`PublicCheck`](guard::PublicCheck) finds the passages
    /// the egress guard would refuse). Without a retriever, prompts go without context.
    pub fn retriever(mut self, retriever: Arc<dyn Retriever>, public: bool) -> Self {
        self.retriever = Some(retriever);
        self.public_index = public;
        self
    }

    /// Passages retrieved per request (default 4).
    pub fn top_k(mut self, k: usize) -> Self {
        self.top_k = k;
        self
    }

    /// The prompt template (default [`DEFAULT_TEMPLATE`](crate::enrich::DEFAULT_TEMPLATE)).
    pub fn template(mut self, template: Template) -> Self {
        self.template = template;
        self
    }

    /// The prompt template, parsed at [`build`](PipelineBuilder::build).
    pub fn template_str(mut self, source: &str) -> Self {
        match Template::parse(source) {
            Ok(t) => self.template = t,
            Err(e) => self.errors.push(e),
        }
        self
    }

    /// The instructions put in the template's `{instructions}` slot (default
    /// [`DEFAULT_INSTRUCTIONS`]).
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = instructions.into();
        self
    }

    /// Tokens the enriched prompt may take (default 3,000), and how they are counted.
    pub fn budget(mut self, tokens: usize, counter: Arc<dyn TokenCounter>) -> Self {
        self.budget = tokens;
        self.counter = counter;
        self
    }

    /// The complexity score's weights.
    pub fn complexity_weights(mut self, weights: ComplexityWeights) -> Self {
        self.weights = weights;
        self
    }

    /// The routing policy (default [`DefaultPolicy`]).
    pub fn policy(mut self, policy: Arc<dyn RoutingPolicy>) -> Self {
        self.policy = policy;
        self
    }

    /// Adds a backend.
    pub fn backend(mut self, backend: Arc<dyn ModelBackend>) -> Self {
        self.backends.push(backend);
        self
    }

    /// Retries, backoff and cooldown.
    pub fn dispatch(mut self, config: DispatchConfig) -> Self {
        self.dispatch = config;
        self
    }

    /// Where audit events go (default: nowhere, [`NoopSink`]).
    pub fn audit(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = sink;
        self
    }

    /// Default answer length and temperature for requests that do not set them (512, 0.2).
    pub fn generation(mut self, max_tokens: usize, temperature: f32) -> Self {
        self.max_tokens = max_tokens;
        self.temperature = temperature;
        self
    }

    pub(crate) fn defer(mut self, error: Error) -> Self {
        self.errors.push(error);
        self
    }

    /// The pipeline.
    ///
    /// Setters keep their errors for this call:
    ///
    /// ```
    /// use promptveil::ErrorKind;
    /// use promptveil::pipeline::Pipeline;
    ///
    /// let err = Pipeline::builder().template_str("{question} {oops}").build().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// let err = Pipeline::builder().build().unwrap_err();
    /// assert_eq!(err.to_string(), "the pipeline has no backend");
    /// ```
    ///
    /// # Errors
    ///
    /// The first error a setter or the configuration file deferred;
    /// [`ErrorKind::Config`] when no backend was added, two share a name, the budget is 0,
    /// or the default rule set fails to build.
    pub fn build(mut self) -> Result<Pipeline> {
        if !self.errors.is_empty() {
            return Err(self.errors.swap_remove(0));
        }
        if self.backends.is_empty() {
            return Err(Error::config("the pipeline has no backend"));
        }
        if self.budget == 0 {
            return Err(Error::config("the token budget is 0"));
        }
        let redactor = match self.redactor {
            Some(r) => r,
            None => Redactor::builder().default_rules().build()?,
        };
        let dispatcher = Dispatcher::new(self.backends, self.dispatch)?;
        let profiles = dispatcher.profiles();
        Ok(Pipeline {
            inner: Arc::new(Inner {
                redactor,
                retriever: self.retriever,
                public_index: self.public_index,
                top_k: self.top_k,
                template: self.template,
                instructions: self.instructions,
                budget: self.budget,
                counter: self.counter,
                weights: self.weights,
                policy: self.policy,
                dispatcher,
                profiles,
                audit: self.audit,
                max_tokens: self.max_tokens,
                temperature: self.temperature,
            }),
        })
    }
}

/// A request ready to send: everything decided, nothing sent yet.
struct Prepared {
    id: RequestId,
    vault: Arc<Vault>,
    request: BackendRequest,
    decision: RouteDecision,
    prompt: EnrichedPrompt,
    redaction: RedactionReport,
    complexity: Complexity,
}

impl Pipeline {
    /// A builder with the defaults.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// The backends' profiles.
    pub fn profiles(&self) -> &[BackendProfile] {
        &self.inner.profiles
    }

    /// The redactor (for callers who redact other data with the same rules).
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    fn locality(&self, backend: &str) -> Option<Locality> {
        self.inner
            .profiles
            .iter()
            .find(|p| p.name == backend)
            .map(|p| p.locality)
    }

    fn audit(&self, id: &RequestId, event: AuditEvent) {
        self.inner.audit.record(id, &event);
    }

    fn refuse(&self, id: &RequestId, reason: String) -> Error {
        self.audit(
            id,
            AuditEvent::Refused {
                reason: reason.clone(),
            },
        );
        Error::new(
            ErrorKind::Refused,
            format!("request {}: {reason}", id.as_str()),
        )
    }

    /// Steps 1 to 5: redact, retrieve, enrich, route, guard.
    async fn prepare(&self, req: &PromptRequest) -> Result<Prepared> {
        let inner = &*self.inner;
        let id = RequestId::new();
        let vault = Arc::new(Vault::new());
        // The conversation first, in its order, so placeholders are numbered as said.
        let mut history = Vec::with_capacity(req.history.len());
        let mut earlier = RedactionReport::default();
        for (role, text) in &req.history {
            let (text, report) = inner.redactor.redact(text, &vault).into_parts();
            history.push(Turn::new(*role, &text));
            earlier.merge(report);
        }
        if !req.history.is_empty() {
            self.audit(&id, AuditEvent::redacted("history", &earlier));
        }
        let (question, mut redaction) = inner.redactor.redact(&req.prompt, &vault).into_parts();
        self.audit(&id, AuditEvent::redacted("question", &redaction));
        redaction.merge(earlier);

        let mut context = Vec::new();
        let k = req.top_k.unwrap_or(inner.top_k);
        if let Some(retriever) = &inner.retriever
            && k > 0
        {
            let hits = retriever
                .retrieve(&question.without_placeholders(), k)
                .await?;
            self.audit(
                &id,
                AuditEvent::Retrieved {
                    passages: hits.iter().map(|h| h.passage.id.clone()).collect(),
                    public: inner.public_index,
                },
            );
            for hit in &hits {
                if inner.public_index {
                    context.push(ContextPassage::public(&hit.passage));
                } else {
                    let (text, report) = inner
                        .redactor
                        .redact(&hit.passage.text, &vault)
                        .into_parts();
                    if !report.is_empty() {
                        self.audit(&id, AuditEvent::redacted(hit.passage.id.clone(), &report));
                        redaction.merge(report);
                    }
                    context.push(ContextPassage::redacted(&hit.passage, text));
                }
            }
        }

        let prompt = enrich(
            &inner.template,
            &inner.instructions,
            &question,
            &context,
            inner.budget,
            &*inner.counter,
        )?
        .with_history(history, inner.budget, &*inner.counter);
        let context_tokens = prompt
            .tokens()
            .saturating_sub(estimate_tokens(question.as_str()));
        let complexity = score(question.as_str(), context_tokens, &inner.weights);
        let max_tokens = req.max_tokens.unwrap_or(inner.max_tokens);
        let mut summary = RouteSummary::new(
            redaction.max_sensitivity.unwrap_or(Sensitivity::Public),
            prompt.tokens(),
            complexity.score,
        )
        .with_tokens_out(max_tokens)
        .with_budget(req.max_cost, req.max_latency_ms)
        .with_cooling_down(inner.dispatcher.cooling_down());
        summary.entity_types = redaction.entity_counts().into_keys().collect();
        summary.tags.clone_from(&req.tags);
        let decision = inner.policy.route(&summary, &inner.profiles);
        self.audit(&id, AuditEvent::routed(&decision));
        if decision.is_refused() {
            return Err(self.refuse(&id, "the routing policy approved no backend".into()));
        }

        let request = BackendRequest::new(
            &prompt,
            max_tokens,
            req.temperature.unwrap_or(inner.temperature),
        );
        let chain = decision
            .chain
            .iter()
            .filter_map(|name| inner.profiles.iter().find(|p| &p.name == name));
        if let Err(refusal) = check_egress_all(&inner.redactor, &request, chain) {
            let reason = format!("egress guard: {refusal}");
            return Err(self.refuse(&id, reason).with_source(refusal));
        }
        Ok(Prepared {
            id,
            vault,
            request,
            decision,
            prompt,
            redaction,
            complexity,
        })
    }

    /// Every approved backend failed: audited (each failed call, then the refusal) and
    /// returned as [`ErrorKind::Backend`].
    fn no_answer(&self, id: &RequestId, e: DispatchError) -> Error {
        self.audit_attempts(id, &e.attempts);
        let reason = format!("no backend answered: {e}");
        self.audit(id, AuditEvent::Refused { reason });
        Error::new(ErrorKind::Backend, format!("request {}: {e}", id.as_str())).with_source(e)
    }

    fn audit_attempts(&self, id: &RequestId, attempts: &[Attempt]) {
        for a in attempts {
            if let Some(e) = &a.error {
                self.audit(id, AuditEvent::fell_back(a.backend.clone(), e));
            }
        }
    }

    /// Answers `req`: redacted, enriched, routed, guarded, dispatched, restored.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use promptveil::backend::{BackendError, BackendRequest, BackendResponse, ModelBackend};
    /// # use promptveil::route::{BackendProfile, Locality, Size};
    /// # #[derive(Debug)]
    /// # struct Echo(BackendProfile);
    /// # #[async_trait::async_trait]
    /// # impl ModelBackend for Echo {
    /// #     fn profile(&self) -> &BackendProfile { &self.0 }
    /// #     async fn complete(&self, r: &BackendRequest) -> Result<BackendResponse, BackendError> {
    /// #         let q = r.prompt().lines().find_map(|l| l.strip_prefix("Question: ")).unwrap_or("");
    /// #         Ok(BackendResponse::new(format!("Re: {q}"), "echo"))
    /// #     }
    /// # }
    /// # let echo = || Arc::new(Echo(BackendProfile::new("local-slm", Locality::OnPremises, Size::Small, 8192)));
    /// use promptveil::pipeline::{Pipeline, PromptRequest};
    ///
    /// let pipeline = Pipeline::builder().backend(echo()).build()?;
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    /// let out = rt.block_on(pipeline.run(PromptRequest::new("Mail ana@example.com the invoice")))?;
    /// assert_eq!(out.answer(), "Re: Mail ana@example.com the invoice");
    /// assert!(out.sent_prompt().contains("Mail [EMAIL_1] the invoice"));
    /// assert_eq!(out.route.chain(), ["local-slm"]);
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Refused`] when no backend was approved or the egress guard refused;
    /// [`ErrorKind::Backend`] when every approved backend failed (the source is the
    /// [`DispatchError`]); the retriever's error;
    /// [`ErrorKind::Config`] when the template and question alone exceed the budget.
    pub async fn run(&self, req: PromptRequest) -> Result<PipelineOutput> {
        let p = self.prepare(&req).await?;
        let dispatched = self
            .inner
            .dispatcher
            .dispatch(&p.decision, &p.request)
            .await
            .map_err(|e| self.no_answer(&p.id, e))?;
        self.audit_attempts(&p.id, &dispatched.attempts);
        self.audit(
            &p.id,
            AuditEvent::Dispatched {
                locality: self.locality(&dispatched.backend),
                backend: dispatched.backend.clone(),
                attempts: dispatched.attempts.len(),
                usage: dispatched.response.usage,
            },
        );
        let (answer, restore) = p.vault.restore(&dispatched.response.text).into_parts();
        self.audit(&p.id, AuditEvent::restored(&restore));
        Ok(PipelineOutput {
            request_id: p.id,
            answer,
            citations: p.prompt.citations().to_vec(),
            route: p.decision,
            backend: dispatched.backend,
            attempts: dispatched.attempts,
            redaction: p.redaction,
            restore,
            usage: dispatched.response.usage,
            model: dispatched.response.model,
            finish_reason: dispatched.response.finish_reason,
            complexity: p.complexity,
            sent: p.request.prompt().to_string(),
            sent_history: p.request.history().to_vec(),
        })
    }

    /// Answers `req` as a stream of restored text pieces. Returns once a backend began to
    /// answer (fallback happens before that, never after); see [`PipelineStream`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use promptveil::backend::{BackendError, BackendRequest, BackendResponse, ModelBackend};
    /// # use promptveil::route::{BackendProfile, Locality, Size};
    /// # #[derive(Debug)]
    /// # struct Echo(BackendProfile);
    /// # #[async_trait::async_trait]
    /// # impl ModelBackend for Echo {
    /// #     fn profile(&self) -> &BackendProfile { &self.0 }
    /// #     async fn complete(&self, r: &BackendRequest) -> Result<BackendResponse, BackendError> {
    /// #         let q = r.prompt().lines().find_map(|l| l.strip_prefix("Question: ")).unwrap_or("");
    /// #         Ok(BackendResponse::new(format!("Re: {q}"), "echo"))
    /// #     }
    /// # }
    /// # let echo = || Arc::new(Echo(BackendProfile::new("local-slm", Locality::OnPremises, Size::Small, 8192)));
    /// use futures_util::StreamExt;
    /// use promptveil::pipeline::{Pipeline, PromptRequest};
    ///
    /// let pipeline = Pipeline::builder().backend(echo()).build()?;
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    /// rt.block_on(async {
    ///     let mut stream = pipeline.run_stream(PromptRequest::new("Call +44 20 7946 0958")).await?;
    ///     let mut answer = String::new();
    ///     while let Some(piece) = stream.next().await {
    ///         answer.push_str(&piece?);
    ///     }
    ///     assert_eq!(answer, "Re: Call +44 20 7946 0958");
    ///     assert_eq!(stream.summary().map(|s| s.restore.exact), Some(1));
    ///     Ok::<(), promptveil::Error>(())
    /// })?;
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`run`](Pipeline::run), for everything up to the first piece of the answer.
    pub async fn run_stream(&self, req: PromptRequest) -> Result<PipelineStream> {
        let p = self.prepare(&req).await?;
        let opened = self
            .inner
            .dispatcher
            .dispatch_stream(&p.decision, &p.request)
            .await
            .map_err(|e| self.no_answer(&p.id, e))?;
        self.audit_attempts(&p.id, &opened.attempts);
        Ok(PipelineStream {
            sent: p.request.prompt().to_string(),
            sent_history: p.request.history().to_vec(),
            pipeline: self.clone(),
            id: p.id,
            backend: opened.backend,
            attempts: opened.attempts,
            route: p.decision,
            citations: p.prompt.citations().to_vec(),
            redaction: p.redaction,
            complexity: p.complexity,
            events: opened.stream,
            restorer: Some(StreamRestorer::new(p.vault)),
            pending: None,
            summary: None,
            done: false,
        })
    }
}

/// How a streamed answer ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamSummary {
    /// Tokens, as the backend reported them.
    pub usage: Option<Usage>,
    /// The model that answered.
    pub model: String,
    /// Why generation stopped.
    pub finish_reason: Option<String>,
    /// How the placeholders were restored.
    pub restore: RestoreReport,
}

/// A streamed answer: a [`Stream`] of restored text pieces. The route, citations and
/// redaction report are known from the start; [`summary`](PipelineStream::summary) once the
/// stream ended. Dropping it before the end cancels the backend call (the connection is
/// closed) and records [`AuditEvent::Cancelled`].
///
/// Text that could be the start of a placeholder is held back until the next piece shows
/// what it is (at most the longest placeholder of the request's vault); everything else is
/// yielded as soon as it arrives. After an error, nothing more is yielded.
pub struct PipelineStream {
    sent: String,
    sent_history: Vec<Turn>,
    pipeline: Pipeline,
    id: RequestId,
    backend: String,
    attempts: Vec<Attempt>,
    route: RouteDecision,
    citations: Vec<Citation>,
    redaction: RedactionReport,
    complexity: Complexity,
    events: BackendStream,
    restorer: Option<StreamRestorer<Arc<Vault>>>,
    /// An error to yield after the held-back text.
    pending: Option<Error>,
    summary: Option<StreamSummary>,
    done: bool,
}

impl std::fmt::Debug for PipelineStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineStream")
            .field("request_id", &self.id)
            .field("backend", &self.backend)
            .field("route", &self.route)
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl PipelineStream {
    /// The request's id.
    pub fn request_id(&self) -> &RequestId {
        &self.id
    }

    /// The backend answering.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// Calls made before the answer began (failed ones first, then the one answering).
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// The route.
    pub fn route(&self) -> &RouteDecision {
        &self.route
    }

    /// The passages the prompt cited.
    pub fn citations(&self) -> &[Citation] {
        &self.citations
    }

    /// What was redacted.
    pub fn redaction(&self) -> &RedactionReport {
        &self.redaction
    }

    /// The complexity score.
    pub fn complexity(&self) -> &Complexity {
        &self.complexity
    }

    /// The prompt exactly as it was sent (see [`PipelineOutput::sent_prompt`]).
    pub fn sent_prompt(&self) -> &str {
        &self.sent
    }

    /// The earlier turns exactly as they were sent (see [`PipelineOutput::sent_history`]).
    pub fn sent_history(&self) -> &[Turn] {
        &self.sent_history
    }

    /// How the answer ended, once the stream has.
    pub fn summary(&self) -> Option<&StreamSummary> {
        self.summary.as_ref()
    }

    /// Ends the restoration: the text held back, and the report.
    fn flush(&mut self) -> String {
        let Some(restorer) = self.restorer.take() else {
            return String::new();
        };
        let (rest, report) = restorer.finish();
        self.pipeline.audit(&self.id, AuditEvent::restored(&report));
        if let Some(s) = &mut self.summary {
            s.restore = report;
        }
        rest
    }

    fn fail(&mut self, e: BackendError) -> String {
        self.done = true;
        self.pipeline
            .audit(&self.id, AuditEvent::fell_back(self.backend.clone(), &e));
        self.pending = Some(
            Error::new(
                ErrorKind::Backend,
                format!("request {}: the answer stopped: {e}", self.id.as_str()),
            )
            .with_source(e),
        );
        self.flush()
    }
}

impl Drop for PipelineStream {
    fn drop(&mut self) {
        if !self.done {
            self.pipeline.audit(
                &self.id,
                AuditEvent::Cancelled {
                    backend: self.backend.clone(),
                },
            );
        }
    }
}

impl Stream for PipelineStream {
    type Item = Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<String>>> {
        let this = self.get_mut();
        loop {
            if let Some(e) = this.pending.take() {
                this.done = true;
                return Poll::Ready(Some(Err(e)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            let event = match this.events.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(e) => e,
            };
            let out = match event {
                Some(Ok(StreamEvent::Delta(text))) => match &mut this.restorer {
                    Some(r) => r.push(&text),
                    None => String::new(),
                },
                Some(Ok(StreamEvent::Finished {
                    usage,
                    model,
                    finish_reason,
                })) => {
                    this.pipeline.audit(
                        &this.id,
                        AuditEvent::Dispatched {
                            locality: this.pipeline.locality(&this.backend),
                            backend: this.backend.clone(),
                            attempts: this.attempts.len(),
                            usage,
                        },
                    );
                    this.summary = Some(StreamSummary {
                        usage,
                        model,
                        finish_reason,
                        restore: RestoreReport::default(),
                    });
                    this.done = true;
                    this.flush()
                }
                Some(Err(e)) => this.fail(e),
                None => this.fail(BackendError::Malformed {
                    detail: "the stream ended before the answer was complete".into(),
                }),
            };
            if !out.is_empty() {
                return Poll::Ready(Some(Ok(out)));
            }
        }
    }
}
