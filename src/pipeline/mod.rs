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
//!    conversation ([`PromptRequest::with_history`], [`PromptRequest::conversation`]), every
//!    earlier turn with the same vault, so a value is one placeholder throughout — tool calls'
//!    arguments and JSON tool answers as JSON, and the tools' descriptions and schemas
//!    ([`PromptRequest::with_tools`]) too. A redaction a detector could not finish
//!    (its model failed on part of the text) refuses the request: fail closed.
//! 2. **Retrieve** passages for the *redacted* question without its placeholders (values never
//!    reach the retriever, which may be a remote search service; placeholder names would match
//!    documents about e-mail or phones), and redact each passage with the same vault —
//!    the same person is the same placeholder in question and context — unless the index was
//!    declared public.
//! 3. **Enrich**: the template filled within the token budget, with numbered citations; the
//!    most recent earlier turns that fit what is left go before it as messages of their own.
//! 4. **Route**: the [`RoutingPolicy`] reads a summary (highest sensitivity touched by the
//!    question, the earlier turns *and* the passages, token counts, complexity score,
//!    budgets, backends cooling down, whether tools are involved) and approves an ordered
//!    chain, with reasons, among the backends admitted (a request with tools only goes to
//!    backends that can call them; one with images or recordings, which nothing redacts,
//!    only to on-premises backends that take them, and is routed as restricted). A chain
//!    naming a backend the pipeline does not have is refused.
//! 5. **Guard**: the exact payload (prompt, earlier turns, tool calls and answers, tool
//!    definitions, the names and ids sent as they are, media's URLs) is scanned again; if it
//!    holds anything above what a backend of the chain may receive in clear, or media a
//!    backend of the chain may not receive, the request is
//!    refused ([`ErrorKind::Refused`]), fail closed: the guard firing means a rule missed
//!    something or an index was wrongly declared public, and rerouting would hide that.
//! 6. **Dispatch** along the chain: retries, backoff, cooldown, fallback only within it.
//! 7. **Restore** the placeholders in the answer (whole, or chunk by chunk when streaming,
//!    holding back only what could be the start of a placeholder) and in the tools the model
//!    called ([`PipelineOutput::tool_calls`]; a stream's in its [`StreamSummary`]), each
//!    string of their JSON arguments on its own so they stay JSON.
//!
//! Each request is also a `tracing` span, `promptveil.request`, with a child span per step
//! (`promptveil.redact`, `promptveil.retrieve`, `promptveil.enrich`, `promptveil.route`,
//! `promptveil.guard`, `chat` for the model call — `otel.name = "chat {backend}"`,
//! `gen_ai.*` attributes after the OpenTelemetry GenAI conventions — and
//! `promptveil.restore`). Their fields are ids, backend names, counts and levels: never text
//! of the prompt, the context or the answer. With the feature `metrics`, each step's duration
//! and every audit event also go to `PipelineBuilder::metrics`.
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

mod builder;
pub mod guard;
mod output;
mod request;
mod spans;
mod steps;
mod stream;
mod toml;
mod tools;

use std::sync::Arc;
use std::time::Instant;

use spans::{chat_span, record_error, record_response, request_span};
use tracing::Instrument;

pub use builder::PipelineBuilder;
pub use output::{PipelineOutput, Readiness, RequestTrace, StreamSummary};
pub use request::{Message, PromptRequest};
pub use stream::PipelineStream;

/// What a request does when a model detector (the NER) fails on part of a text: its runtime
/// errors on a window, say. Any other detector's failure always refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OnModelFailure {
    /// Refuse the request: an [`ErrorKind::Refused`] error, audited.
    /// The default.
    #[default]
    Refuse,
    /// Go on with what the rules (and the model, where it did read) found. The parts the
    /// model could not read may hold anything, so the request is handled as if it touched
    /// restricted data: routed by that level, and refused by the egress guard for every
    /// backend that must never receive such a prompt
    /// ([`BackendProfile::never_receives`](crate::route::BackendProfile::never_receives):
    /// external backends by default). Audited as `degraded`.
    ContinueWithRules,
}

use crate::audit::{AuditEvent, AuditSink, RequestId};
use crate::backend::dispatch::{Attempt, DispatchError, Dispatcher};
use crate::backend::{BackendRequest, Usage};
use crate::enrich::{Role, Template, TokenCounter, enrich};
use crate::error::{Error, ErrorKind, Result};
use crate::index::Retriever;
use crate::redact::{RedactionReport, Redactor, StreamRestorer, Vault};
use crate::route::{BackendProfile, Complexity, ComplexityWeights, RouteDecision, RoutingPolicy};

/// The instructions used when none are given: answer from the context, cite, and keep the
/// placeholders as they are so they can be restored.
pub const DEFAULT_INSTRUCTIONS: &str = "Answer the question. Use the context when it helps and \
     cite it as [n]. Words in square brackets such as [PERSON_1] stand for hidden values: \
     repeat them exactly as written, never guess what they hide.";

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
    router: Option<Arc<crate::route::LearnedRouter>>,
    /// Embeds the question for a router that reads embeddings.
    #[cfg(feature = "embeddings")]
    router_embedder: Option<Arc<crate::index::Embedder>>,
    policy: Arc<dyn RoutingPolicy>,
    dispatcher: Dispatcher,
    profiles: Vec<BackendProfile>,
    audit: Arc<dyn AuditSink>,
    #[cfg(feature = "metrics")]
    metrics: Option<Arc<crate::audit::Metrics>>,
    max_tokens: usize,
    temperature: f32,
    on_model_failure: OnModelFailure,
    url_values: crate::redact::UrlValues,
    /// Digests of the rules, the NER and the configuration in force, for the audit trail.
    shield: std::collections::BTreeMap<String, String>,
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

/// A request ready to send: everything decided, nothing sent yet.
struct Prepared {
    id: RequestId,
    vault: Arc<Vault>,
    request: BackendRequest,
    decision: RouteDecision,
    redaction: RedactionReport,
    complexity: Complexity,
}

impl Prepared {
    /// The trace, once a backend answers (or begins to).
    fn trace(
        self,
        backend: crate::route::BackendId,
        attempts: Vec<Attempt>,
    ) -> (RequestTrace, Arc<Vault>) {
        let trace = RequestTrace {
            request_id: self.id,
            route: self.decision,
            backend,
            attempts,
            redaction: self.redaction,
            complexity: self.complexity,
            request: self.request,
        };
        (trace, self.vault)
    }
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

    /// Whether the pipeline can answer now, for a readiness probe: each backend probed
    /// ([`ModelBackend::probe`](crate::backend::ModelBackend::probe), no prompt sent) and the
    /// retriever's index searched once.
    pub async fn readiness(&self) -> Readiness {
        let backends = self
            .inner
            .dispatcher
            .probe()
            .await
            .into_iter()
            .map(|(name, r)| (name, r.err().map(|e| e.to_string())))
            .collect();
        let retriever = match &self.inner.retriever {
            None => None,
            Some(r) => Some(r.check().await.err().map(|e| e.to_string())),
        };
        Readiness {
            backends,
            retriever,
        }
    }

    /// The id for a request whose caller named it `caller` (an `x-request-id` header): that
    /// id when it is one (1 to 128 letters, digits, `-`, `_`, `.` or `:`) and the redactor
    /// finds nothing in it — it goes into the audit trail, and a value must never — else a
    /// fresh one.
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
    /// #     async fn complete(&self, _: &BackendRequest) -> Result<BackendResponse, BackendError> {
    /// #         Ok(BackendResponse::new("", "echo"))
    /// #     }
    /// # }
    /// # let pipeline = promptveil::pipeline::Pipeline::builder()
    /// #     .redactor(promptveil::redact::Redactor::builder().default_rules().build()?)
    /// #     .backend(Arc::new(Echo(BackendProfile::new("local", Locality::OnPremises, Size::Small, 8192))))
    /// #     .build()?;
    /// let id = pipeline.request_id_from("550e8400-e29b-41d4-a716-446655440000");
    /// assert_eq!(id.as_str(), "550e8400-e29b-41d4-a716-446655440000");
    /// assert_ne!(pipeline.request_id_from("4111111111111111").as_str(), "4111111111111111");
    /// assert_ne!(pipeline.request_id_from("ann lee").as_str(), "ann lee");
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    pub fn request_id_from(&self, caller: &str) -> RequestId {
        RequestId::from_caller(caller)
            .filter(|id| {
                let scan = self.inner.redactor.scan(id.as_str());
                scan.records.is_empty() && scan.is_complete()
            })
            .unwrap_or_default()
    }

    /// The redactor (for callers who redact other data with the same rules).
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    fn audit(&self, id: &RequestId, event: AuditEvent) {
        self.inner.audit.record(id, &event);
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner.metrics {
            m.record(id, &event);
        }
    }

    /// The metrics the pipeline records into, when it was given some (feature `metrics`).
    #[cfg(feature = "metrics")]
    pub fn metrics(&self) -> Option<&Arc<crate::audit::Metrics>> {
        self.inner.metrics.as_ref()
    }

    /// Records that `step` took `elapsed` (into the metrics, when there are some).
    fn timed(&self, step: &'static str, elapsed: std::time::Duration) {
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner.metrics {
            m.observe_step(step, elapsed.as_secs_f64());
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (step, elapsed);
    }

    /// Refuses the request: audited with `reason`, returned as [`ErrorKind::Refused`].
    fn refuse(&self, id: &RequestId, reason: String) -> Error {
        let message = format!("request {}: {reason}", id.as_str());
        self.audit(id, AuditEvent::Refused { reason });
        Error::new(ErrorKind::Refused, message)
    }

    /// Refuses the request: audited with the full `reason`, returned with a short message
    /// (the caller attaches the cause as the error's source).
    fn refuse_as(&self, id: &RequestId, reason: String, message: &str) -> Error {
        self.audit(id, AuditEvent::Refused { reason });
        Error::new(
            ErrorKind::Refused,
            format!("request {}: {message}", id.as_str()),
        )
    }

    /// The question's embedding, for a router that reads one (build checked that an
    /// embedder by the router's model is there).
    /// The model runs on a blocking thread, as the retriever's does (a few milliseconds of
    /// CPU would stall the executor); an embedder shared with the retriever has the vector
    /// already.
    async fn router_embedding(
        &self,
        router: &crate::route::LearnedRouter,
        question: String,
    ) -> Result<Option<Vec<f32>>> {
        if router.embedding_model().is_none() {
            return Ok(None);
        }
        #[cfg(feature = "embeddings")]
        if let Some(embedder) = &self.inner.router_embedder {
            let embedder = Arc::clone(embedder);
            let vectors = tokio::task::spawn_blocking(move || embedder.embed(&[&question]))
                .await
                .map_err(|e| {
                    Error::new(ErrorKind::Model, "the router's embedding task failed")
                        .with_source(e)
                })??;
            return Ok(vectors.into_iter().next());
        }
        let _ = question;
        Err(Error::config(
            "the router reads embeddings and the pipeline has no embedder",
        ))
    }

    /// The audit event of a backend that answered.
    fn dispatched(&self, trace: &RequestTrace, usage: Option<Usage>) -> AuditEvent {
        AuditEvent::Dispatched {
            locality: self
                .inner
                .dispatcher
                .profile(&trace.backend)
                .map(|p| p.locality),
            backend: trace.backend.clone(),
            attempts: trace.attempts.len(),
            usage,
        }
    }

    /// Steps 1 to 5: redact, retrieve, enrich, route, guard. An error on the way ends the
    /// request in the audit trail: refusals are audited where they are made, anything else
    /// here as `failed`.
    async fn prepare(&self, req: &PromptRequest) -> Result<Prepared> {
        // A caller's id was checked when it was made (`request_id_from`).
        let id = req.request_id.clone().unwrap_or_default();
        self.prepare_as(&id, req).await.inspect_err(|e| {
            if e.kind() != ErrorKind::Refused {
                self.audit(
                    &id,
                    AuditEvent::Failed {
                        reason: e.to_string(),
                    },
                );
            }
        })
    }

    async fn prepare_as(&self, id: &RequestId, req: &PromptRequest) -> Result<Prepared> {
        let inner = &*self.inner;
        let id = id.clone();
        tracing::Span::current().record("promptveil.request_id", id.as_str());
        let vault = Arc::new(Vault::new());
        let started = Instant::now();
        let span = tracing::info_span!(
            "promptveil.redact",
            promptveil.entities = tracing::field::Empty,
            promptveil.max_sensitivity = tracing::field::Empty,
        );
        let conversation = span.in_scope(|| steps::redact_conversation(self, &id, req, &vault));
        self.timed("redact", started.elapsed());
        let steps::Conversation {
            question,
            history,
            tools,
            mut redaction,
        } = conversation?;
        span.record("promptveil.entities", redaction.records.len());
        if let Some(level) = redaction.max_sensitivity {
            span.record("promptveil.max_sensitivity", level.to_string());
        }
        // Each step's span closes when the step ends.
        drop(span);
        let started = Instant::now();
        let span = tracing::info_span!(
            "promptveil.retrieve",
            promptveil.passages = tracing::field::Empty
        );
        let context = steps::gather_context(self, &id, req, &question, &vault, &mut redaction)
            .instrument(span.clone())
            .await?;
        span.record("promptveil.passages", context.len());
        drop(span);
        self.timed("retrieve", started.elapsed());
        let started = Instant::now();
        let span = tracing::info_span!(
            "promptveil.enrich",
            promptveil.tokens = tracing::field::Empty,
            promptveil.citations = tracing::field::Empty,
        );
        let _enriching = span.enter();
        let prompt = enrich(
            &inner.template,
            &inner.instructions,
            &question,
            &context,
            inner.budget,
            &*inner.counter,
        )
        .map_err(|e| {
            let reason = format!("over the token budget: {e}");
            self.refuse_as(&id, reason, "the question does not fit the token budget")
                .with_source(e)
        })?
        .with_tools(tools, &*inner.counter)
        .with_media(req.media.clone())
        .with_history(history, inner.budget, &*inner.counter);
        if prompt.text().is_empty()
            && prompt.media().is_empty()
            && prompt.history().iter().all(|t| t.role() == Role::System)
        {
            return Err(self.refuse(
                &id,
                "nothing to send: no question, and no turn of the conversation fits the token budget".into(),
            ));
        }
        span.record("promptveil.tokens", prompt.tokens());
        span.record("promptveil.citations", prompt.citations().len());
        drop(_enriching);
        drop(span);
        self.timed("enrich", started.elapsed());
        let started = Instant::now();
        let span = tracing::info_span!(
            "promptveil.route",
            promptveil.complexity = tracing::field::Empty,
            promptveil.chain = tracing::field::Empty,
        );
        let routed = async {
        // A conversation that ends with a tool's answer asks nothing new: it is scored by the
        // user's last question, so a tool loop stays on the tier its question chose.
        let asked = if question.is_empty() {
            prompt
                .history()
                .iter()
                .rev()
                .find(|t| t.role() == Role::User)
                .map_or("", |t| t.text())
        } else {
            question.as_str()
        };
        let complexity = match &inner.router {
            Some(router) => {
                // Embedded as the retriever embeds it, without placeholders: an embedder
                // shared with the retriever then embeds the question once.
                let embedding = self
                    .router_embedding(router, crate::redact::without_placeholders(asked))
                    .await?;
                Complexity::learned(router, asked, embedding.as_deref())?
            }
            None => Complexity::score(
                asked,
                if question.is_empty() {
                    inner.counter.count(asked)
                } else {
                    prompt.question_tokens()
                },
                prompt.context_tokens(),
                &inner.weights,
            ),
        };
        let max_tokens = req.max_tokens.unwrap_or(inner.max_tokens);
        let summary = steps::summarize(self, req, &prompt, &redaction, &complexity, max_tokens);
        // Admission before policy: the policy ranks and chooses among the backends the
        // request may go to at all, and a chain naming any other is refused below.
        let named: Vec<BackendProfile>;
        let candidates = match &req.backend {
            None => &inner.profiles[..],
            Some(name) => {
                named = inner
                    .profiles
                    .iter()
                    .filter(|p| p.name.as_str() == name)
                    .cloned()
                    .collect();
                if named.is_empty() {
                    return Err(Error::config(format!(
                        "the request names the backend `{name}`, which the pipeline does not have"
                    )));
                }
                &named[..]
            }
        };
        let (admitted, mut reasons) = crate::route::admit(&summary, candidates);
        let mut decision = inner.policy.route(&summary, &admitted);
        reasons.append(&mut decision.reasons);
        decision.reasons = reasons;
        self.audit(&id, AuditEvent::routed(&decision));
        let chain = steps::chain_profiles(self, &id, &decision, &admitted)?;
        let names: Vec<&str> = chain.iter().map(|p| p.name.as_str()).collect();
        tracing::Span::current().record("promptveil.chain", names.join(","));
        tracing::Span::current().record("promptveil.complexity", complexity.score);
        Ok((prompt, complexity, max_tokens, decision, chain))
        }
        .instrument(span)
        .await;
        self.timed("route", started.elapsed());
        let (prompt, complexity, max_tokens, decision, chain) = routed?;
        let request = BackendRequest::new(
            prompt,
            max_tokens,
            req.temperature.unwrap_or(inner.temperature),
        );
        let started = Instant::now();
        let guarded = tracing::info_span!("promptveil.guard")
            .in_scope(|| steps::guard(self, &id, &request, &chain));
        self.timed("guard", started.elapsed());
        guarded?;
        Ok(Prepared {
            id,
            vault,
            request,
            decision,
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
        Error::new(
            ErrorKind::Backend,
            format!("request {}: no backend answered", id.as_str()),
        )
        .with_source(e)
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
    /// assert!(out.trace().sent_prompt().contains("Mail [EMAIL_1] the invoice"));
    /// assert_eq!(out.trace().route().chain(), ["local-slm"]);
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
        let span = request_span(false);
        self.run_inner(req).instrument(span).await
    }

    async fn run_inner(&self, req: PromptRequest) -> Result<PipelineOutput> {
        let p = self.prepare(&req).await.inspect_err(record_error)?;
        let started = Instant::now();
        let chat = chat_span(&p.decision, &p.request);
        let dispatched = match self
            .inner
            .dispatcher
            .dispatch(&p.decision, &p.request)
            .instrument(chat.clone())
            .await
        {
            Ok(d) => d,
            Err(e) => {
                self.timed("dispatch", started.elapsed());
                let e = self.no_answer(&p.id, e);
                record_error(&e);
                return Err(e);
            }
        };
        self.timed("dispatch", started.elapsed());
        self.audit_attempts(&p.id, &dispatched.attempts);
        let response = dispatched.response;
        let (trace, vault) = p.trace(dispatched.backend, dispatched.attempts);
        record_response(&chat, &trace, &response.model, response.usage);
        drop(chat);
        self.audit(&trace.request_id, self.dispatched(&trace, response.usage));
        let started = Instant::now();
        let restoring = tracing::info_span!(
            "promptveil.restore",
            promptveil.placeholders = tracing::field::Empty
        );
        let entered = restoring.enter();
        let (answer, mut restore) = vault
            .restore_with(&response.text, self.inner.url_values)
            .into_parts();
        let tool_calls = tools::restore_calls(
            &vault,
            &response.tool_calls,
            self.inner.url_values,
            &mut restore,
        );
        restoring.record("promptveil.placeholders", restore.exact + restore.tolerant);
        drop(entered);
        self.timed("restore", started.elapsed());
        self.audit(&trace.request_id, AuditEvent::restored(&restore));
        Ok(PipelineOutput {
            answer,
            trace,
            restore,
            usage: response.usage,
            model: response.model,
            finish_reason: response.finish_reason,
            tool_calls,
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
        let span = request_span(true);
        let mut stream = self.run_stream_inner(req).instrument(span.clone()).await?;
        stream.restore_span = tracing::info_span!(parent: &span, "promptveil.restore");
        stream.request_span = span;
        Ok(stream)
    }

    async fn run_stream_inner(&self, req: PromptRequest) -> Result<PipelineStream> {
        let p = self.prepare(&req).await.inspect_err(record_error)?;
        let started = Instant::now();
        let opened = match self
            .inner
            .dispatcher
            .dispatch_stream(&p.decision, &p.request)
            .instrument(chat_span(&p.decision, &p.request))
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let e = self.no_answer(&p.id, e);
                record_error(&e);
                return Err(e);
            }
        };
        // For a stream: until the backend began to answer.
        self.timed("dispatch", started.elapsed());
        self.audit_attempts(&p.id, &opened.attempts);
        let (trace, vault) = p.trace(opened.backend, opened.attempts);
        tracing::Span::current().record("promptveil.backend", trace.backend.as_str());
        Ok(PipelineStream {
            pipeline: self.clone(),
            trace,
            events: opened.stream,
            restorer: Some(
                StreamRestorer::new(Arc::clone(&vault)).with_urls(self.inner.url_values),
            ),
            vault,
            request_span: tracing::Span::none(),
            restore_span: tracing::Span::none(),
            restoring: std::time::Duration::ZERO,
            pending: None,
            summary: None,
            done: false,
            calls: std::collections::BTreeMap::new(),
        })
    }
}
