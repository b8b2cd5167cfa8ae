//! Building a [`Pipeline`]: setters that never fail, one `build` that reports.

use std::sync::Arc;

use super::{DEFAULT_INSTRUCTIONS, Inner, OnModelFailure, Pipeline};
use crate::audit::{AuditSink, NoopSink};
use crate::backend::ModelBackend;
use crate::backend::dispatch::{DispatchConfig, Dispatcher};
use crate::enrich::{HeuristicCounter, Template, TokenCounter};
use crate::error::{Error, Result};
use crate::index::Retriever;
use crate::redact::{Redactor, RedactorBuilder, UrlValues};
use crate::route::{ComplexityWeights, DefaultPolicy, LearnedRouter, RoutingPolicy};

/// The settings a builder collects and a pipeline keeps.
pub(super) struct Config {
    pub(super) redactor: Option<Redactor>,
    pub(super) retriever: Option<Arc<dyn Retriever>>,
    pub(super) public_index: bool,
    pub(super) top_k: usize,
    pub(super) template: Template,
    pub(super) instructions: String,
    pub(super) budget: usize,
    pub(super) counter: Arc<dyn TokenCounter>,
    pub(super) weights: ComplexityWeights,
    pub(super) router: Option<Arc<LearnedRouter>>,
    /// The hand-set keyword score instead of the default learned router.
    pub(super) hand_set: bool,
    #[cfg(feature = "embeddings")]
    pub(super) router_embedder: Option<Arc<crate::index::Embedder>>,
    pub(super) policy: Arc<dyn RoutingPolicy>,
    pub(super) backends: Vec<Arc<dyn ModelBackend>>,
    pub(super) dispatch: DispatchConfig,
    pub(super) audit: Arc<dyn AuditSink>,
    #[cfg(feature = "metrics")]
    pub(super) metrics: Option<Arc<crate::audit::Metrics>>,
    pub(super) max_tokens: usize,
    pub(super) temperature: f32,
    pub(super) on_model_failure: OnModelFailure,
    pub(super) url_values: UrlValues,
    /// The configuration file's text, when the pipeline was read from one.
    pub(super) source: Option<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            redactor: None,
            retriever: None,
            public_index: false,
            top_k: 4,
            template: Template::default(),
            instructions: DEFAULT_INSTRUCTIONS.to_string(),
            budget: 3000,
            counter: Arc::new(HeuristicCounter),
            weights: ComplexityWeights::default(),
            router: None,
            hand_set: false,
            #[cfg(feature = "embeddings")]
            router_embedder: None,
            policy: Arc::new(DefaultPolicy::default()),
            backends: Vec::new(),
            dispatch: DispatchConfig::default(),
            audit: Arc::new(NoopSink),
            #[cfg(feature = "metrics")]
            metrics: None,
            max_tokens: 512,
            temperature: 0.2,
            on_model_failure: OnModelFailure::Refuse,
            url_values: UrlValues::Withhold,
            source: None,
        }
    }
}

// Defined here, with the pipeline that uses it: the layer that sees both the rules and the
// NER detector.
impl RedactorBuilder {
    /// The default detectors: the default rules and, in a build with the feature `ner`, the
    /// NER detector with its shipped settings (`default_ner`, loaded once per process).
    /// What a [`Pipeline`] redacts with when given no redactor.
    /// Where the feature is built, missing model files are an error naming
    /// `scripts/fetch-assets`, never a silent fallback to the rules alone.
    pub fn default_detectors(self) -> Self {
        let builder = self.default_rules();
        #[cfg(feature = "ner")]
        let builder = builder.default_ner();
        builder
    }
}

/// Builds a [`Pipeline`]. Setters never fail: errors (a rule file that does not load, a
/// template that does not parse, two backends with one name) are kept and returned by
/// [`build`](PipelineBuilder::build), the first one found.
#[must_use]
#[derive(Default)]
pub struct PipelineBuilder {
    config: Config,
    errors: Vec<Error>,
}

impl std::fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("backends", &self.config.backends)
            .field("retriever", &self.config.retriever.is_some())
            .field("errors", &self.errors.len())
            .finish_non_exhaustive()
    }
}

impl PipelineBuilder {
    /// The redactor. Default: the default rules and, in a build with the feature `ner`, the
    /// NER detector ([`RedactorBuilder::default_detectors`](crate::redact::RedactorBuilder::default_detectors));
    /// missing model files are then an error of [`build`](PipelineBuilder::build).
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.config.redactor = Some(redactor);
        self
    }

    /// Where passages come from; `public` declares its passages free to send in clear (they
    /// are then not redacted; [`PublicCheck`](super::guard::PublicCheck) finds the passages
    /// the egress guard would refuse). Default: no retriever, prompts go without context.
    pub fn retriever(mut self, retriever: Arc<dyn Retriever>, public: bool) -> Self {
        self.config.retriever = Some(retriever);
        self.config.public_index = public;
        self
    }

    /// Passages retrieved per request (default 4).
    pub fn top_k(mut self, k: usize) -> Self {
        self.config.top_k = k;
        self
    }

    /// The prompt template (default [`DEFAULT_TEMPLATE`](crate::enrich::DEFAULT_TEMPLATE)).
    pub fn template(mut self, template: Template) -> Self {
        self.config.template = template;
        self
    }

    /// The prompt template, parsed at [`build`](PipelineBuilder::build).
    pub fn template_str(mut self, source: &str) -> Self {
        match Template::parse(source) {
            Ok(t) => self.config.template = t,
            Err(e) => self.errors.push(e),
        }
        self
    }

    /// The instructions put in the template's `{instructions}` slot (default
    /// [`DEFAULT_INSTRUCTIONS`]).
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.config.instructions = instructions.into();
        self
    }

    /// Tokens the enriched prompt may take, earlier turns included (default 3,000).
    pub fn budget(mut self, tokens: usize) -> Self {
        self.config.budget = tokens;
        self
    }

    /// How tokens are counted, for the budget and the routing's complexity score alike
    /// (default [`HeuristicCounter`]).
    pub fn token_counter(mut self, counter: Arc<dyn TokenCounter>) -> Self {
        self.config.counter = counter;
        self
    }

    /// Scores complexity with the hand-set keyword score
    /// ([`Complexity::score`](crate::route::Complexity::score)) weighted by `weights`, instead
    /// of the default learned router.
    pub fn complexity_weights(mut self, weights: ComplexityWeights) -> Self {
        self.config.weights = weights;
        self.config.hand_set = true;
        self
    }

    /// Scores complexity with the hand-set keyword score at its default weights instead of
    /// the default learned router. The keyword score is not measured against outcomes; the
    /// learned router is (docs/measurements.md).
    pub fn hand_set_complexity(mut self) -> Self {
        self.config.hand_set = true;
        self
    }

    /// Scores complexity with `router` instead of the default one. Without this (nor
    /// [`hand_set_complexity`](Self::hand_set_complexity)) the pipeline scores with the
    /// shipped router: [`LearnedRouter::shipped_dense`] with the process's shared
    /// [`Embedder`](crate::index::Embedder) where the feature `embeddings` is built (the model
    /// files must be there: `scripts/fetch-assets`), else [`LearnedRouter::shipped`], each
    /// with its head for all pairs of models. The score
    /// the policy reads is the prompt's percentile among the router's training prompts,
    /// so a threshold of 0.7 sends about 30% of such prompts to large models
    /// ([`LearnedRouter::threshold_for_large_share`]), and the route's reasons name the
    /// features that moved it. Sensitivity still comes first: admission and the policy keep
    /// restricted prompts where they may go, whatever the score.
    pub fn router(mut self, router: LearnedRouter) -> Self {
        self.config.router = Some(Arc::new(router));
        self
    }

    /// The embedder of a router that reads the question's embedding
    /// ([`LearnedRouter::embedding_model`]): the same model the router was trained with.
    #[cfg(feature = "embeddings")]
    pub fn router_embedder(mut self, embedder: Arc<crate::index::Embedder>) -> Self {
        self.config.router_embedder = Some(embedder);
        self
    }

    /// The routing policy (default [`DefaultPolicy`]).
    pub fn policy(mut self, policy: Arc<dyn RoutingPolicy>) -> Self {
        self.config.policy = policy;
        self
    }

    /// Adds a backend. Default: none (and a pipeline needs one).
    pub fn backend(mut self, backend: Arc<dyn ModelBackend>) -> Self {
        self.config.backends.push(backend);
        self
    }

    /// Retries, backoff and cooldown (default [`DispatchConfig::default`]).
    pub fn dispatch(mut self, config: DispatchConfig) -> Self {
        self.config.dispatch = config;
        self
    }

    /// Where audit events go (default: nowhere, [`NoopSink`]).
    pub fn audit(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.config.audit = sink;
        self
    }

    /// Prometheus metrics (feature `metrics`): the pipeline records every audit event and the
    /// duration of every step into them, beside its audit sink; serve them with
    /// [`Metrics::encode`](crate::audit::Metrics::encode).
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, metrics: Arc<crate::audit::Metrics>) -> Self {
        self.config.metrics = Some(metrics);
        self
    }

    /// Default answer length, in tokens, for requests that do not set one (default 512).
    pub fn max_tokens(mut self, tokens: usize) -> Self {
        self.config.max_tokens = tokens;
        self
    }

    /// Default sampling temperature for requests that do not set one (default 0.2).
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.config.temperature = temperature;
        self
    }

    /// What a request does when a model detector (the NER) fails on part of a text: refuse
    /// (the default) or go on with the rules, handled as restricted. See [`OnModelFailure`].
    pub fn on_model_failure(mut self, on_failure: OnModelFailure) -> Self {
        self.config.on_model_failure = on_failure;
        self
    }

    /// Whether the answer's placeholders inside URLs (Markdown links and images, autolinks,
    /// bare URLs, HTML attributes) get their values: by default they stay placeholders, so an
    /// injected passage or a compromised model cannot make the client fetch a URL holding a
    /// value ([`UrlValues`]). Withheld ones are counted in the `restored` audit event.
    pub fn values_in_urls(mut self, urls: UrlValues) -> Self {
        self.config.url_values = urls;
        self
    }

    /// The configuration file's text, whose digest then names the configuration in the
    /// audit trail.
    pub(super) fn configuration_text(mut self, text: &str) -> Self {
        self.config.source = Some(text.to_string());
        self
    }

    /// Keeps an error for [`build`](PipelineBuilder::build) to return.
    pub(super) fn defer(mut self, error: Error) -> Self {
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
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when no backend was added, two share a
    /// name, the budget is 0, or the default rule set fails to build;
    /// [`ErrorKind::Asset`](crate::ErrorKind::Asset) when no redactor was given, the crate is
    /// built with the feature `ner` and the model files are missing.
    pub fn build(mut self) -> Result<Pipeline> {
        if !self.errors.is_empty() {
            return Err(self.errors.swap_remove(0));
        }
        let mut c = self.config;
        if c.backends.is_empty() {
            return Err(Error::config("the pipeline has no backend"));
        }
        if c.budget == 0 {
            return Err(Error::config("the token budget is 0"));
        }
        let redactor = match c.redactor {
            Some(r) => r,
            None => Redactor::builder().default_detectors().build()?,
        };
        if c.router.is_none() && !c.hand_set {
            #[cfg(feature = "embeddings")]
            let router = default_router(&mut c.router_embedder)?;
            #[cfg(not(feature = "embeddings"))]
            let router = default_router()?;
            c.router = Some(Arc::new(router));
        }
        if c.hand_set {
            c.router = None;
        }
        if let Some(model) = c.router.as_ref().and_then(|r| r.embedding_model()) {
            #[cfg(feature = "embeddings")]
            let given = c.router_embedder.as_ref().map(|e| e.info().model.clone());
            #[cfg(not(feature = "embeddings"))]
            let given: Option<String> = None;
            if given.as_deref() != Some(model) {
                return Err(Error::config(format!(
                    "the router reads embeddings by {model}: give the pipeline an embedder of \
                     that model (router_embedder, feature `embeddings`){}",
                    given.map_or(String::new(), |g| format!("; it has {g}"))
                )));
            }
        }
        let dispatcher = Dispatcher::new(c.backends, c.dispatch)?;
        let profiles = dispatcher.profiles();
        // Which shield processes the requests: the detectors' digests, and one of the
        // configuration — the file's text when it was read from one, else the settings (no
        // key: an API key is no part of them).
        let config = match &c.source {
            Some(text) => crate::digest::of([text.as_bytes()]),
            None => {
                let settings = format!(
                    "{:?}|{:?}|{}|{}|{}|{}|{:?}|{:?}|{:?}|{:?}|{}|{}|{:?}|{:?}",
                    c.template,
                    c.instructions,
                    c.budget,
                    c.top_k,
                    c.public_index,
                    c.retriever.is_some(),
                    c.weights,
                    c.policy,
                    profiles,
                    c.dispatch,
                    c.max_tokens,
                    c.temperature,
                    c.on_model_failure,
                    c.url_values,
                );
                crate::digest::of([settings.as_bytes()])
            }
        };
        let mut shield = redactor.provenance();
        shield.insert("config".to_string(), config);
        if let Some(router) = &c.router {
            shield.insert("router".to_string(), router.digest());
        }
        #[cfg(feature = "metrics")]
        if let Some(m) = &c.metrics {
            m.set_prices(&profiles);
        }
        Ok(Pipeline {
            inner: Arc::new(Inner {
                redactor,
                retriever: c.retriever,
                public_index: c.public_index,
                top_k: c.top_k,
                template: c.template,
                instructions: c.instructions,
                budget: c.budget,
                counter: c.counter,
                weights: c.weights,
                router: c.router,
                #[cfg(feature = "embeddings")]
                router_embedder: c.router_embedder,
                policy: c.policy,
                dispatcher,
                profiles,
                audit: c.audit,
                #[cfg(feature = "metrics")]
                metrics: c.metrics,
                max_tokens: c.max_tokens,
                temperature: c.temperature,
                on_model_failure: c.on_model_failure,
                url_values: c.url_values,
                shield,
            }),
        })
    }
}

/// The router of a pipeline configured with none: the best shipped router the build can run
/// (the one `promptveil eval routing` measures by default).
#[cfg(feature = "embeddings")]
fn default_router(embedder: &mut Option<Arc<crate::index::Embedder>>) -> Result<LearnedRouter> {
    if embedder.is_none() {
        let assets = crate::index::EmbeddingAssets::discover();
        *embedder = Some(crate::index::Embedder::shared(&assets)?);
    }
    LearnedRouter::shipped_best()
}

#[cfg(not(feature = "embeddings"))]
fn default_router() -> Result<LearnedRouter> {
    LearnedRouter::shipped_best()
}
