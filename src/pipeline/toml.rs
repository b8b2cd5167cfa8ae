//! The pipeline's TOML configuration file.
//!
//! Every table is optional except `[[backends]]`; relative paths are relative to the file's
//! folder; unknown keys are errors, which name the file, line and column. API keys are never
//! written in the file: `api_key_env` names the environment variable that holds one.
//!
//! ```toml
//! [redaction]
//! rules = "rules.toml"        # added to the built-in rules, unless the file says
//!                             # `defaults = "replace"`; default: the built-in rules alone
//! ner = true                  # the local NER detector: on by default in a build with the
//!                             # feature `ner` (missing model files are then an error), off
//!                             # without it; `false` runs the rules alone
//! on_model_failure = "refuse" # or "continue_with_rules": when the NER fails on a text, go
//!                             # on with the rules' findings, handled as restricted
//! hash_key_env = "PROMPTVEIL_HASH_KEY"  # or hash_key_file = "secrets/hash.key": the key of
//!                             # the reports' value hashes (16 bytes or more), so that hashes
//!                             # match across runs and replicas; default: a random key per
//!                             # process. Never logged.
//!
//! [retrieval]
//! index = "var/index"         # a folder `promptveil index build` made
//! mode = "bm25"               # bm25 | dense | hybrid (dense and hybrid: feature `embeddings`)
//! top_k = 4
//! public = false              # true: passages are sent in clear, not redacted (check the
//!                             # index first: `promptveil index check --index PATH`)
//!
//! [enrich]
//! budget = 3000               # tokens of the whole prompt
//! instructions = "Answer from the context."
//! template = "{instructions}\n\nContext:\n{context}\n\nQuestion: {question}\n"
//!
//! [routing]
//! complexity_threshold = 0.6
//! escalate_to_external = false
//! # router = "shipped"          # default: "shipped-dense" where the feature `embeddings` is
//!                             # built (it reads the question's embedding), else "shipped";
//!                             # or a file of `promptveil route train`; or "complexity", the
//!                             # hand-set keyword score. A learned router's score is the
//!                             # prompt's percentile among its training prompts
//! # router_models = ["Llama-3.1-8B-Instruct", "gpt-4o-2024-05-13"]
//!                             # [weak, strong]: score with the router's head fitted to this
//!                             # pair's outcomes alone (default: the pair of the small and the
//!                             # large backends' `model` when the router has a head for it,
//!                             # else its head for all pairs)
//! # large_share = 0.3           # with a router, instead of complexity_threshold: about this
//!                             # share of prompts prefer large models
//! # cost_per_1000 = 4.0         # or: what 1,000 requests may cost, at the backends' prices
//!                             # for `typical_tokens = [1000, 500]` (in, out) each
//!
//! [dispatch]
//! retries = 2
//! base_backoff_ms = 200
//! max_backoff_ms = 5000
//! cooldown_after = 3
//! cooldown_s = 30
//!
//! [generation]
//! max_tokens = 512
//! temperature = 0.2
//!
//! [audit]
//! sink = "jsonl"              # jsonl | tracing | none
//! path = "audit.jsonl"
//!
//! [restore]
//! urls = "withhold"           # default: a placeholder inside a URL of the answer stays a
//!                             # placeholder; "restore" fills those too
//!
//! [[backends]]
//! name = "local-slm"
//! api = "openai"              # openai | anthropic (feature `http`)
//! base_url = "http://127.0.0.1:8080/v1"
//! model = "smollm2"
//! locality = "on_premises"    # on_premises | external
//! size = "small"              # small | large
//! context_window = 8192
//! # api_key_env = "OPENAI_API_KEY"
//! # price_in = 0.0, price_out = 0.0 (per million tokens), latency_ms = 1000, timeout_s = 60,
//! # max_concurrency = 64 (calls in flight at once; more wait for a slot)
//! # never_receives = "restricted" (external default) | "none"; in_clear = "public" | ...
//! # media = ["image", "audio"]: on premises only; the images and recordings it takes
//! ```
//!
//! A `[server]` table, if any, is the gateway's (`promptveil serve`; `server::ServerConfig`
//! with the feature `server`): the pipeline leaves it alone.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::PipelineBuilder;
use crate::audit::{AuditSink, JsonLinesSink, NoopSink, TracingSink};
use crate::backend::ModelBackend;
use crate::backend::dispatch::DispatchConfig;
use crate::enrich::Template;
use crate::error::{Error, ErrorKind, Location, Result};
use crate::index::Retriever;
use crate::redact::Redactor;
use crate::route::{ComplexityWeights, DefaultPolicy, Locality, Size};
use crate::sensitivity::Sensitivity;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    redaction: Redaction,
    retrieval: Option<Retrieval>,
    #[serde(default)]
    enrich: Enrich,
    #[serde(default)]
    routing: Routing,
    #[serde(default)]
    dispatch: Dispatch,
    #[serde(default)]
    generation: Generation,
    #[serde(default)]
    audit: Audit,
    #[serde(default)]
    restore: Restore,
    #[serde(default)]
    backends: Vec<Backend>,
    /// How the gateway runs (`promptveil::server::ServerConfig` reads it): not the
    /// pipeline's.
    #[serde(default)]
    #[allow(dead_code)]
    server: Option<toml::Table>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Restore {
    urls: Option<crate::redact::UrlValues>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Redaction {
    rules: Option<PathBuf>,
    /// The environment variable holding the key of the audit trail's value hashes.
    hash_key_env: Option<String>,
    /// A file holding that key.
    hash_key_file: Option<PathBuf>,
    /// Default: on in a build with the feature `ner`.
    ner: Option<bool>,
    #[serde(default)]
    on_model_failure: super::OnModelFailure,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Retrieval {
    index: PathBuf,
    #[serde(default = "bm25")]
    mode: String,
    top_k: Option<usize>,
    #[serde(default)]
    public: bool,
}

fn bm25() -> String {
    "bm25".into()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Enrich {
    budget: Option<usize>,
    instructions: Option<String>,
    template: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Routing {
    complexity_threshold: Option<f32>,
    escalate_to_external: Option<bool>,
    weights: Option<ComplexityWeights>,
    /// `"shipped"` or a router file: a learned router scores complexity.
    router: Option<String>,
    /// `[weak, strong]`: the router scores with its head for this pair of models.
    router_models: Option<[String; 2]>,
    /// The share of prompts to send to large models, with a router.
    large_share: Option<f32>,
    /// What 1,000 requests may cost, with a router: converted into a share.
    cost_per_1000: Option<f64>,
    /// Tokens in and out of a typical request, to price one (default 1,000 and 500).
    typical_tokens: Option<[usize; 2]>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Dispatch {
    retries: Option<u32>,
    base_backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    cooldown_after: Option<u32>,
    cooldown_s: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Generation {
    max_tokens: Option<usize>,
    temperature: Option<f32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Audit {
    sink: Option<String>,
    path: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Backend {
    name: String,
    api: String,
    base_url: String,
    model: String,
    locality: Locality,
    size: Size,
    context_window: usize,
    api_key_env: Option<String>,
    price_in: Option<f64>,
    price_out: Option<f64>,
    latency_ms: Option<u64>,
    timeout_s: Option<u64>,
    max_concurrency: Option<usize>,
    never_receives: Option<String>,
    in_clear: Option<Sensitivity>,
    #[serde(default)]
    media: Vec<crate::enrich::MediaKind>,
}

impl PipelineBuilder {
    /// Applies the configuration file at `path` (errors are returned by
    /// [`build`](PipelineBuilder::build)).
    pub fn from_toml_file(self, path: impl AsRef<Path>) -> PipelineBuilder {
        let path = path.as_ref();
        match std::fs::read_to_string(path) {
            Ok(src) => {
                let base = path.parent().unwrap_or(Path::new("."));
                self.from_toml_str(&src, Some(path), base)
            }
            Err(e) => self.defer(Error::io(path, e)),
        }
    }

    /// Applies a configuration given as text; `path` only names it in errors, and relative
    /// paths in it are relative to `base`.
    ///
    /// ```
    /// use std::path::Path;
    /// use promptveil::pipeline::Pipeline;
    ///
    /// let src = "[enrich]\nbudget = 2000\nbudgett = 1\n";
    /// let err = Pipeline::builder()
    ///     .from_toml_str(src, Some(Path::new("promptveil.toml")), Path::new("."))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("promptveil.toml:3:1: unknown field `budgett`"), "{err}");
    /// ```
    pub fn from_toml_str(self, src: &str, path: Option<&Path>, base: &Path) -> PipelineBuilder {
        let file = Source { src, path, base };
        match file.read() {
            Ok(parts) => parts.onto(self).configuration_text(src),
            Err(e) => self.defer(e),
        }
    }
}

/// A configuration file being read: its text, its name for errors, the folder its relative
/// paths start from.
struct Source<'a> {
    src: &'a str,
    path: Option<&'a Path>,
    base: &'a Path,
}

/// What a file configures, ready for the builder's setters.
struct Parts {
    redactor: Redactor,
    on_model_failure: super::OnModelFailure,
    retriever: Option<(Arc<dyn Retriever>, bool, Option<usize>)>,
    enrich: Enrich,
    template: Option<Template>,
    policy: DefaultPolicy,
    weights: Option<ComplexityWeights>,
    router: Option<crate::route::LearnedRouter>,
    #[cfg(feature = "embeddings")]
    router_embedder: Option<Arc<crate::index::Embedder>>,
    dispatch: DispatchConfig,
    generation: Generation,
    restore: Restore,
    audit: Arc<dyn AuditSink>,
    backends: Vec<Arc<dyn ModelBackend>>,
}

impl Parts {
    /// The file's settings, through the builder's public setters only.
    fn onto(self, mut b: PipelineBuilder) -> PipelineBuilder {
        b = b
            .redactor(self.redactor)
            .on_model_failure(self.on_model_failure);
        if let Some((retriever, public, top_k)) = self.retriever {
            b = b.retriever(retriever, public);
            if let Some(k) = top_k {
                b = b.top_k(k);
            }
        }
        if let Some(budget) = self.enrich.budget {
            b = b.budget(budget);
        }
        if let Some(i) = self.enrich.instructions {
            b = b.instructions(i);
        }
        if let Some(t) = self.template {
            b = b.template(t);
        }
        b = b.policy(Arc::new(self.policy));
        match (self.router, self.weights) {
            (Some(r), _) => b = b.router(r),
            (None, Some(w)) => b = b.complexity_weights(w),
            (None, None) => b = b.hand_set_complexity(),
        }
        #[cfg(feature = "embeddings")]
        if let Some(e) = self.router_embedder {
            b = b.router_embedder(e);
        }
        b = b.dispatch(self.dispatch);
        if let Some(t) = self.generation.max_tokens {
            b = b.max_tokens(t);
        }
        if let Some(t) = self.generation.temperature {
            b = b.temperature(t);
        }
        if let Some(urls) = self.restore.urls {
            b = b.values_in_urls(urls);
        }
        b = b.audit(self.audit);
        for backend in self.backends {
            b = b.backend(backend);
        }
        b
    }
}

impl Source<'_> {
    /// An error pointing at the first occurrence of `needle` in the file.
    fn at(&self, needle: &str, message: String) -> Error {
        let offset = self.src.find(needle).unwrap_or(0);
        Error::new(ErrorKind::Config, message)
            .with_location(Location::from_offset(self.path, self.src, offset))
    }

    fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    fn read(&self) -> Result<Parts> {
        let file: File = toml::from_str(self.src).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            let msg = e.message().trim_end_matches('\n').replace('\n', "; ");
            Error::new(ErrorKind::Config, msg)
                .with_location(Location::from_offset(self.path, self.src, offset))
        })?;
        let template = match &file.enrich.template {
            Some(t) => {
                Some(Template::parse(t).map_err(|e| self.at("template", e.message().to_string()))?)
            }
            None => None,
        };
        let mut policy = DefaultPolicy::default();
        if let Some(t) = file.routing.complexity_threshold {
            policy.complexity_threshold = t;
        }
        if let Some(e) = file.routing.escalate_to_external {
            policy.escalate_to_external = e;
        }
        let router = self.router(&file.routing, &file.backends)?;
        if file.backends.is_empty() {
            return Err(self.at("", "the file declares no [[backends]]".into()));
        }
        let mut backends = Vec::with_capacity(file.backends.len());
        for spec in file.backends {
            let needle = format!("\"{}\"", spec.name);
            backends.push(backend(spec).map_err(|e| self.at(&needle, e.message().to_string()))?);
        }
        if let Some(share) = self.large_share(&file.routing, router.is_some(), &backends)? {
            policy.complexity_threshold =
                crate::route::LearnedRouter::threshold_for_large_share(share);
        }
        let retriever = match &file.retrieval {
            Some(r) => Some(self.retriever(r)?),
            None => None,
        };
        Ok(Parts {
            redactor: self.redactor(&file.redaction)?,
            on_model_failure: file.redaction.on_model_failure,
            retriever,
            template,
            enrich: file.enrich,
            policy,
            weights: file.routing.weights,
            #[cfg(feature = "embeddings")]
            router_embedder: match router.as_ref().and_then(|r| r.embedding_model()) {
                Some(_) => Some(shared_embedder()?),
                None => None,
            },
            router,
            dispatch: dispatch(&file.dispatch),
            generation: file.generation,
            restore: file.restore,
            audit: self.audit(&file.audit)?,
            backends,
        })
    }

    /// `[redaction]`: the rule file (added to the default rules unless it replaces them in so
    /// many words; without one, the default rules) and the NER detector.
    fn redactor(&self, r: &Redaction) -> Result<Redactor> {
        let mut redactor = Redactor::builder();
        if let Some(key) = self.hash_key(r)? {
            redactor = redactor.hash_key(key);
        }
        redactor = match &r.rules {
            Some(rules) => redactor.rules(crate::rules::RuleSet::from_file(self.resolve(rules))?),
            None => redactor.default_rules(),
        };
        if r.ner.unwrap_or(cfg!(feature = "ner")) {
            #[cfg(feature = "ner")]
            {
                redactor = redactor.default_ner();
            }
            #[cfg(not(feature = "ner"))]
            return Err(self.at(
                "ner",
                "`ner = true` needs promptveil built with the feature `ner`".into(),
            ));
        }
        redactor.build()
    }

    /// `[routing] large_share`, or the share `cost_per_1000` affords at the backends' prices
    /// (the cheapest small and the cheapest large backend, for a typical request).
    fn large_share(
        &self,
        r: &Routing,
        has_router: bool,
        backends: &[Arc<dyn ModelBackend>],
    ) -> Result<Option<f32>> {
        let key = match (r.large_share, r.cost_per_1000) {
            (None, None) => return Ok(None),
            (Some(_), Some(_)) => {
                return Err(self.at(
                    "cost_per_1000",
                    "set `large_share` or `cost_per_1000`, not both".into(),
                ));
            }
            (Some(_), None) => "large_share",
            (None, Some(_)) => "cost_per_1000",
        };
        if !has_router {
            return Err(self.at(
                key,
                format!(
                    "`{key}` needs a learned router (not `router = \"complexity\"` nor \
                     `weights`): the hand-set score has no calibration"
                ),
            ));
        }
        if r.complexity_threshold.is_some() {
            return Err(self.at(
                key,
                format!("set `{key}` or `complexity_threshold`, not both"),
            ));
        }
        if let Some(share) = r.large_share {
            if !(0.0..=1.0).contains(&share) {
                return Err(self.at(key, "`large_share` is a share, from 0 to 1".into()));
            }
            return Ok(Some(share));
        }
        let budget = r.cost_per_1000.unwrap_or(0.0);
        let [tokens_in, tokens_out] = r.typical_tokens.unwrap_or([1000, 500]);
        let cheapest = |size: Size| {
            backends
                .iter()
                .map(|b| b.profile())
                .filter(|p| p.size == size)
                .map(|p| p.estimated_cost(tokens_in, tokens_out))
                .min_by(f64::total_cmp)
        };
        let (Some(small), Some(large)) = (cheapest(Size::Small), cheapest(Size::Large)) else {
            return Err(self.at(
                key,
                "`cost_per_1000` needs a small and a large backend to price".into(),
            ));
        };
        Ok(Some(crate::route::LearnedRouter::share_for_budget(
            budget, small, large,
        )))
    }

    /// `[routing] router`: `"complexity"` (or `weights` alone: the hand-set score, `None`),
    /// the default shipped router when unset, `"shipped"`, `"shipped-dense"` or a file; with
    /// `router_models` the head for that pair, else the head for the pair of the file's small
    /// and large backends' models when the router has exactly one such, else the head for all
    /// pairs.
    fn router(
        &self,
        r: &Routing,
        backends: &[Backend],
    ) -> Result<Option<crate::route::LearnedRouter>> {
        use crate::route::LearnedRouter;
        let hand_set = r.router.as_deref() == Some("complexity")
            || (r.router.is_none() && r.weights.is_some());
        if hand_set {
            if r.router_models.is_some() {
                return Err(self.at(
                    "router_models",
                    "`router_models` chooses a head of a learned router; the hand-set score \
                     has none"
                        .into(),
                ));
            }
            return Ok(None);
        }
        let router = match r.router.as_deref() {
            None => LearnedRouter::shipped_best()?,
            Some("shipped") => LearnedRouter::shipped()?,
            #[cfg(feature = "embeddings")]
            Some("shipped-dense") => LearnedRouter::shipped_dense()?,
            Some(file) => LearnedRouter::from_file(&self.resolve(Path::new(file)))
                .map_err(|e| self.at("router", e.message().to_string()))?,
        };
        if r.weights.is_some() {
            return Err(self.at(
                "weights",
                "`weights` are the hand-set score's: a learned router does not read them".into(),
            ));
        }
        if let Some([weak, strong]) = &r.router_models {
            return router.for_models(weak, strong).map(Some).map_err(|e| {
                self.at("router_models", format!("`router_models`: {}", e.message()))
            });
        }
        let model_of = |size: Size| -> Vec<&str> {
            backends
                .iter()
                .filter(|b| b.size == size)
                .map(|b| b.model.as_str())
                .collect()
        };
        let (small, large) = (model_of(Size::Small), model_of(Size::Large));
        let matching: Vec<(String, String)> = router
            .model_pairs()
            .into_iter()
            .filter(|(w, s)| small.contains(w) && large.contains(s))
            .map(|(w, s)| (w.to_string(), s.to_string()))
            .collect();
        match matching.as_slice() {
            [(weak, strong)] => router.for_models(weak, strong).map(Some),
            _ => Ok(Some(router)),
        }
    }

    /// The key of the value hashes, from the environment or a file; `None`: a random one.
    /// Errors name the variable or file and the key's length, never the key.
    fn hash_key(&self, r: &Redaction) -> Result<Option<crate::redact::HashKey>> {
        use zeroize::Zeroizing;
        let bytes = match (&r.hash_key_env, &r.hash_key_file) {
            (Some(_), Some(_)) => {
                return Err(self.at(
                    "hash_key_file",
                    "set `hash_key_env` or `hash_key_file`, not both".into(),
                ));
            }
            (Some(var), None) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Zeroizing::new(v.trim().as_bytes().to_vec()),
                _ => {
                    return Err(self.at(
                        "hash_key_env",
                        format!("the environment variable {var} holds no hash key"),
                    ));
                }
            },
            (None, Some(file)) => {
                let path = self.resolve(file);
                let raw = Zeroizing::new(std::fs::read(&path).map_err(|e| Error::io(&path, e))?);
                let trimmed = raw.trim_ascii();
                Zeroizing::new(trimmed.to_vec())
            }
            (None, None) => return Ok(None),
        };
        crate::redact::HashKey::from_bytes(&bytes)
            .map(Some)
            .map_err(|e| self.at("hash_key", e.message().to_string()))
    }

    /// `[retrieval]`: the index, the search mode, whether it is public, passages per request.
    fn retriever(&self, r: &Retrieval) -> Result<(Arc<dyn Retriever>, bool, Option<usize>)> {
        let index = crate::index::KnowledgeIndex::open(&self.resolve(&r.index))?;
        let mode: crate::index::SearchMode = r
            .mode
            .parse()
            .map_err(|e: Error| self.at("mode", e.message().to_string()))?;
        let retriever = crate::index::LocalRetriever::new(Arc::new(index), mode);
        let retriever = if mode == crate::index::SearchMode::Bm25 {
            retriever
        } else {
            #[cfg(feature = "embeddings")]
            {
                retriever.with_embedder(shared_embedder()?)?
            }
            #[cfg(not(feature = "embeddings"))]
            return Err(self.at(
                "mode",
                format!(
                    "mode `{}` needs promptveil built with the feature `embeddings`",
                    r.mode
                ),
            ));
        };
        Ok((Arc::new(retriever), r.public, r.top_k))
    }

    /// `[audit]`: where events go.
    fn audit(&self, a: &Audit) -> Result<Arc<dyn AuditSink>> {
        Ok(match a.sink.as_deref() {
            None | Some("none") => Arc::new(NoopSink),
            Some("tracing") => Arc::new(TracingSink),
            Some("jsonl") => match &a.path {
                Some(p) => Arc::new(JsonLinesSink::open(&self.resolve(p))?),
                None => return Err(self.at("jsonl", "the jsonl audit sink needs a `path`".into())),
            },
            Some(other) => {
                return Err(self.at(
                    "sink",
                    format!("unknown audit sink `{other}` (jsonl, tracing or none)"),
                ));
            }
        })
    }
}

/// `[dispatch]`: retries, backoff and cooldown over the defaults.
fn dispatch(d: &Dispatch) -> DispatchConfig {
    let defaults = DispatchConfig::default();
    DispatchConfig::default()
        .with_backoff(
            d.retries.unwrap_or(defaults.retries),
            d.base_backoff_ms
                .map_or(defaults.base_backoff, Duration::from_millis),
            d.max_backoff_ms
                .map_or(defaults.max_backoff, Duration::from_millis),
        )
        .with_cooldown(
            d.cooldown_after.unwrap_or(defaults.cooldown_after),
            d.cooldown_s.map_or(defaults.cooldown, Duration::from_secs),
        )
}

fn backend(spec: Backend) -> Result<Arc<dyn ModelBackend>> {
    let mut profile = crate::route::BackendProfile::new(
        &spec.name,
        spec.locality,
        spec.size,
        spec.context_window,
    )
    .with_prices(spec.price_in.unwrap_or(0.0), spec.price_out.unwrap_or(0.0));
    if let Some(ms) = spec.latency_ms {
        profile = profile.with_latency_ms(ms);
    }
    if let Some(level) = &spec.never_receives {
        profile = profile.never_receiving(match level.as_str() {
            "none" => None,
            other => Some(other.parse().map_err(|_| {
                Error::config(format!(
                    "backend `{}`: never_receives `{other}` is not a level (public, internal, \
                     confidential, restricted) or `none`",
                    spec.name
                ))
            })?),
        });
    }
    if let Some(level) = spec.in_clear {
        profile = profile.receiving_in_clear(level);
    }
    if !spec.media.is_empty() {
        if spec.locality == Locality::External {
            // Media is never redacted: it goes on premises only, whatever a file says.
            return Err(Error::config(format!(
                "backend `{}`: `media` is for on-premises backends only (media is never \
                 redacted, so it never leaves the building)",
                spec.name
            )));
        }
        profile = profile.with_media(spec.media);
    }
    #[cfg(feature = "http")]
    {
        use crate::backend::ApiKey;
        use crate::backend::anthropic::AnthropicBackend;
        use crate::backend::openai::OpenAiBackend;
        let key = spec
            .api_key_env
            .as_deref()
            .map(ApiKey::from_env)
            .transpose()?;
        let timeout = Duration::from_secs(spec.timeout_s.unwrap_or(60));
        match spec.api.as_str() {
            "openai" => {
                let mut b =
                    OpenAiBackend::new(&spec.base_url, &spec.model, profile)?.with_timeout(timeout);
                if let Some(n) = spec.max_concurrency {
                    b = b.with_max_concurrency(n);
                }
                if let Some(k) = key {
                    b = b.with_api_key(k);
                }
                Ok(Arc::new(b))
            }
            "anthropic" => {
                let mut b = AnthropicBackend::new(&spec.base_url, &spec.model, profile)?
                    .with_timeout(timeout);
                if let Some(n) = spec.max_concurrency {
                    b = b.with_max_concurrency(n);
                }
                if let Some(k) = key {
                    b = b.with_api_key(k);
                }
                Ok(Arc::new(b))
            }
            other => Err(Error::config(format!(
                "backend `{}`: unknown api `{other}` (openai or anthropic)",
                spec.name
            ))),
        }
    }
    #[cfg(not(feature = "http"))]
    {
        let _ = (
            &spec.base_url,
            &spec.model,
            &spec.api_key_env,
            spec.timeout_s,
            spec.max_concurrency,
            profile,
        );
        Err(Error::config(format!(
            "backend `{}`: the `{}` api needs promptveil built with the feature `http`",
            spec.name, spec.api
        )))
    }
}

/// The process's shared embedder ([`Embedder::shared`](crate::index::Embedder::shared)):
/// the retriever and the router of every pipeline read from a configuration use one, so a
/// question is embedded once.
#[cfg(feature = "embeddings")]
fn shared_embedder() -> Result<Arc<crate::index::Embedder>> {
    crate::index::Embedder::shared(&crate::index::EmbeddingAssets::discover())
}
