//! Model backends: the trait the dispatcher calls, the request only an enriched prompt makes,
//! and typed errors.
//!
//! A [`BackendRequest`] is built from an [`EnrichedPrompt`] and
//! nothing else, so what a backend receives went through the redactor (or was declared
//! public). A backend reports failures as [`BackendError`]s the dispatcher can act on:
//! [`BackendError::is_retryable`] says whether trying again may help, and a 429's
//! `Retry-After` is kept. No error holds the prompt or the answer text.
//!
//! A backend answers whole ([`ModelBackend::complete`]) or as a stream of
//! [`StreamEvent`]s ([`ModelBackend::stream`]): text deltas, then exactly one
//! [`StreamEvent::Finished`] with the usage. A backend that cannot stream need not implement
//! `stream`: the default sends the whole answer as one delta.
//!
//! Shipped (feature `http`): [`OpenAiBackend`](openai::OpenAiBackend), the OpenAI-compatible
//! chat completions API — llama.cpp's server, vLLM, Ollama, OpenAI — and
//! [`AnthropicBackend`](anthropic::AnthropicBackend), the Anthropic Messages API; both in JSON
//! and server-sent events ([`sse`]).
//!
//! A backend of your own (an in-house service, a test stand-in) is one struct and two
//! methods; `stream` comes for free:
//!
//! ```
//! use futures_util::StreamExt;
//! use promptveil::backend::{BackendError, BackendRequest, BackendResponse, ModelBackend, StreamEvent};
//! use promptveil::route::{BackendProfile, Locality, Size};
//!
//! #[derive(Debug)]
//! struct Shouter(BackendProfile);
//!
//! #[async_trait::async_trait]
//! impl ModelBackend for Shouter {
//!     fn profile(&self) -> &BackendProfile { &self.0 }
//!     async fn complete(&self, r: &BackendRequest) -> Result<BackendResponse, BackendError> {
//!         Ok(BackendResponse::new(r.prompt().to_uppercase(), "shouter"))
//!     }
//! }
//!
//! # let prompt = promptveil::enrich::enrich(&promptveil::enrich::Template::parse("{question}")?, "",
//! #     promptveil::redact::Redactor::builder().default_rules().build()?.redact("hi [EMAIL_1]", &Default::default()).text(),
//! #     &[], 100, &promptveil::enrich::HeuristicCounter)?;
//! let b = Shouter(BackendProfile::new("shouter", Locality::OnPremises, Size::Small, 4096));
//! let request = BackendRequest::new(prompt, 64, 0.0); // only from an enriched prompt
//! # let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
//! let events: Vec<_> = rt.block_on(async { b.stream(&request).await?.collect::<Vec<_>>().await.into_iter().collect::<Result<Vec<_>, _>>() })?;
//! assert!(matches!(&events[0], StreamEvent::Delta(t) if t == "HI [EMAIL_1]"));
//! assert!(matches!(events[1], StreamEvent::Finished { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "http")]
pub mod anthropic;
pub mod dispatch;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "http")]
pub mod openai;
pub mod sse;
#[cfg(feature = "http")]
pub(crate) mod wire;

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::Stream;
use serde::{Deserialize, Serialize};

use crate::enrich::{EnrichedPrompt, RedactedTool, Role, ToolCall, Turn};
use crate::error::{Error, Result as CrateResult};
use crate::route::BackendProfile;

/// An API key: sent, never shown, and wiped from memory when dropped (every clone too).
///
/// ```
/// use promptveil::backend::ApiKey;
///
/// let key = ApiKey::new("sk-live-0123456789");
/// assert_eq!(format!("{key:?}"), "ApiKey(***)");
/// ```
#[derive(Clone)]
pub struct ApiKey(zeroize::Zeroizing<String>);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(zeroize::Zeroizing::new(key.into()))
    }

    /// Reads a key from the environment variable `var`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the variable when it is unset
    /// or empty.
    pub fn from_env(var: &str) -> CrateResult<ApiKey> {
        match std::env::var(var) {
            Ok(k) => {
                // The variable's own copy is wiped too, once trimmed.
                let k = zeroize::Zeroizing::new(k);
                match k.trim() {
                    "" => Err(no_key(var)),
                    key => Ok(ApiKey::new(key)),
                }
            }
            Err(_) => Err(no_key(var)),
        }
    }
}

fn no_key(var: &str) -> Error {
    Error::config(format!("the environment variable {var} holds no API key"))
}

impl ApiKey {
    /// The key itself, to put in a request header (a custom backend needs it too). Never
    /// log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}
impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// What is sent to a model: the enriched prompt and generation settings. Made from an
/// [`EnrichedPrompt`] only, so raw text cannot reach a backend (checked at compile time):
///
/// ```compile_fail,E0308
/// use promptveil::backend::BackendRequest;
/// let request = BackendRequest::new("Card 4111 1111 1111 1111 was charged twice", 100, 0.0);
/// ```
#[derive(Clone)]
pub struct BackendRequest {
    prompt: EnrichedPrompt,
    /// Longest answer, in tokens.
    pub max_tokens: usize,
    /// Sampling temperature.
    pub temperature: f32,
}

impl std::fmt::Debug for BackendRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendRequest")
            .field("prompt_len", &self.prompt.text().len())
            .field("history", &self.prompt.history().len())
            .field("max_tokens", &self.max_tokens)
            .field("temperature", &self.temperature)
            .finish()
    }
}

impl BackendRequest {
    /// A request for `prompt`: the only way to make one. The request keeps the prompt, so
    /// what was sent can be shown afterwards exactly as it was.
    pub fn new(prompt: EnrichedPrompt, max_tokens: usize, temperature: f32) -> BackendRequest {
        BackendRequest {
            prompt,
            max_tokens,
            temperature,
        }
    }

    /// The prompt text (redacted).
    pub fn prompt(&self) -> &str {
        self.prompt.text()
    }

    /// The earlier turns of the conversation (redacted), oldest first, to send before the
    /// prompt as messages of their own; empty for a single question.
    pub fn history(&self) -> &[Turn] {
        self.prompt.history()
    }

    /// The enriched prompt the request was made from: text, history, citations, tokens.
    pub fn enriched(&self) -> &EnrichedPrompt {
        &self.prompt
    }

    /// The tools the model may call (redacted); empty when the request has none.
    pub fn tools(&self) -> &[RedactedTool] {
        self.prompt.tools()
    }

    /// True when the request carries tool definitions, calls or results: only a backend
    /// whose profile says it can call tools gets it.
    pub fn uses_tools(&self) -> bool {
        !self.tools().is_empty()
            || self
                .history()
                .iter()
                .any(|t| t.role() == Role::Tool || !t.calls().is_empty())
    }

    /// The images and recordings the request carries, in the earlier turns then with the
    /// question, as they are (never redacted: see [`Media`](crate::enrich::Media)).
    pub fn media(&self) -> impl Iterator<Item = &crate::enrich::Media> {
        self.history()
            .iter()
            .flat_map(Turn::media)
            .chain(self.prompt.media())
    }

    /// The kinds of media the request carries, sorted, each once.
    pub fn media_kinds(&self) -> Vec<crate::enrich::MediaKind> {
        let mut kinds: Vec<_> = self.media().map(crate::enrich::Media::kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }

    /// Every text the request carries, as the egress guard reads it: the history's turns
    /// (and their tool calls' names, ids and arguments), the tools' names, descriptions and
    /// schemas, the URLs media is fetched from, then the prompt.
    pub fn texts(&self) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        // Names and ids are identifiers, sent as they are: read as words (`lookup_4111…` as
        // `lookup 4111…`), so a value glued into one is still seen.
        let words = |id: &str| Cow::Owned(id.replace(['_', '-'], " "));
        let turns = self.history().iter().flat_map(move |t| {
            t.texts().map(Cow::Borrowed).chain(
                t.calls()
                    .iter()
                    .flat_map(move |c| [words(&c.id), words(&c.name)])
                    .chain(t.call_id().map(words)),
            )
        });
        let tools = self.tools().iter().flat_map(move |t| {
            [
                words(t.name()),
                Cow::Borrowed(t.description()),
                Cow::Owned(t.parameters().to_string()),
            ]
        });
        let urls = self
            .media()
            .filter_map(crate::enrich::Media::fetch_url)
            .map(Cow::Borrowed);
        turns
            .chain(tools)
            .chain(urls)
            .chain(std::iter::once(Cow::Borrowed(self.prompt())))
    }
}

/// Tokens a backend reported for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Answer tokens.
    pub output_tokens: u64,
}

/// A model's answer (still with placeholders in it).
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct BackendResponse {
    /// The answer text.
    pub text: String,
    /// Token counts, when the backend reported them.
    pub usage: Option<Usage>,
    /// The model that answered, as the backend named it.
    pub model: String,
    /// Why generation stopped (`stop`, `length`, `tool_calls`, ...), as the backend said.
    pub finish_reason: Option<String>,
    /// The tools the model called, in order (placeholders in their arguments).
    pub tool_calls: Vec<ToolCall>,
}

impl BackendResponse {
    /// An answer `text` from `model`, without usage or finish reason.
    pub fn new(text: impl Into<String>, model: impl Into<String>) -> BackendResponse {
        BackendResponse {
            text: text.into(),
            usage: None,
            model: model.into(),
            finish_reason: None,
            tool_calls: Vec::new(),
        }
    }

    /// Sets the tools the model called.
    pub fn with_tool_calls(mut self, calls: Vec<ToolCall>) -> BackendResponse {
        self.tool_calls = calls;
        self
    }

    /// Sets the token counts.
    pub fn with_usage(mut self, usage: Usage) -> BackendResponse {
        self.usage = Some(usage);
        self
    }

    /// Sets why generation stopped.
    pub fn with_finish_reason(mut self, reason: impl Into<String>) -> BackendResponse {
        self.finish_reason = Some(reason.into());
        self
    }
}

impl std::fmt::Debug for BackendResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendResponse")
            .field("text_len", &self.text.len())
            .field("usage", &self.usage)
            .field("model", &self.model)
            .field("finish_reason", &self.finish_reason)
            .field("tool_calls", &self.tool_calls)
            .finish()
    }
}

/// Why a backend call failed. Messages never hold prompt or answer text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendError {
    /// No connection (refused, DNS, TLS).
    Connect {
        /// What failed.
        detail: String,
    },
    /// No complete answer within the timeout.
    Timeout,
    /// The backend answered with an HTTP error status.
    Status {
        /// The status code.
        code: u16,
        /// The backend's own error type or code, when its body said (`rate_limit_error`).
        kind: Option<String>,
        /// How long a 429 or 503 asked to wait.
        retry_after: Option<Duration>,
        /// The backend's own word on trying again (`x-should-retry: true|false`, as the
        /// OpenAI and Anthropic APIs send it), which overrides the status code's: `false` on a
        /// 429 is a spent quota, not a burst; `true` on a 409 is a lock worth waiting for.
        should_retry: Option<bool>,
    },
    /// The answer did not follow the wire format (bad JSON, no choices, wrong content type).
    Malformed {
        /// What was wrong.
        detail: String,
    },
    /// The answer was larger than the configured limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request holds something the backend's wire format cannot carry (a recording to
    /// the Anthropic API, audio other than WAV or MP3 to the OpenAI API): nothing was sent.
    Unsupported {
        /// What could not be sent.
        detail: String,
    },
    /// The backend reported an error inside a streamed answer (an SSE `error` event).
    Remote {
        /// The backend's own error type (`overloaded_error`), when it gave a short one.
        kind: Option<String>,
    },
}

impl BackendError {
    /// Might the same request succeed if tried again: connection failures, timeouts, 429 and
    /// 5xx, unless the backend said otherwise (`should_retry`). A 4xx other than 429 or a
    /// malformed answer will not get better.
    ///
    /// ```
    /// use promptveil::backend::BackendError;
    ///
    /// let busy = BackendError::Status { code: 529, kind: Some("overloaded_error".into()), retry_after: None, should_retry: None };
    /// assert!(busy.is_retryable());
    /// let denied = BackendError::Status { code: 401, kind: None, retry_after: None, should_retry: None };
    /// assert!(!denied.is_retryable());
    /// let spent = BackendError::Status { code: 429, kind: None, retry_after: None, should_retry: Some(false) };
    /// assert!(!spent.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            BackendError::Connect { .. } | BackendError::Timeout => true,
            BackendError::Status {
                code, should_retry, ..
            } => should_retry.unwrap_or(*code == 429 || (500..600).contains(code)),
            BackendError::Remote { kind } => kind
                .as_deref()
                .is_some_and(|k| k.contains("overloaded") || k.contains("rate_limit")),
            BackendError::Malformed { .. }
            | BackendError::TooLarge { .. }
            | BackendError::Unsupported { .. } => false,
        }
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendError::Connect { detail } => write!(f, "cannot reach the backend: {detail}"),
            BackendError::Timeout => f.write_str("the backend did not answer in time"),
            BackendError::Status {
                code,
                kind,
                retry_after,
                ..
            } => {
                write!(f, "the backend answered HTTP {code}")?;
                if let Some(k) = kind {
                    write!(f, " ({k})")?;
                }
                if let Some(d) = retry_after {
                    write!(f, ", retry after {} s", d.as_secs())?;
                }
                Ok(())
            }
            BackendError::Malformed { detail } => write!(f, "malformed backend answer: {detail}"),
            BackendError::Unsupported { detail } => {
                write!(f, "not sent: the backend's API cannot carry {detail}")
            }
            BackendError::TooLarge { limit } => {
                write!(f, "the backend's answer exceeds {limit} bytes")
            }
            BackendError::Remote { kind } => {
                f.write_str("the backend reported an error mid-answer")?;
                if let Some(k) = kind {
                    write!(f, " ({k})")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for BackendError {}

/// One step of a streamed answer.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// The next piece of the answer's text.
    Delta(String),
    /// A piece of a tool call: the call's first piece has its id and name; its arguments
    /// (JSON text) arrive in pieces, to be joined in order.
    ToolCallDelta {
        /// Which call of the answer this piece belongs to (0 for the first).
        index: usize,
        /// The call's id, in its first piece.
        id: Option<String>,
        /// The tool's name, in its first piece.
        name: Option<String>,
        /// The next piece of the arguments.
        arguments: String,
    },
    /// The answer is complete: always the last event of a stream that did not fail.
    Finished {
        /// Token counts, when the backend reported them.
        usage: Option<Usage>,
        /// The model that answered, as the backend named it.
        model: String,
        /// Why generation stopped, as the backend said.
        finish_reason: Option<String>,
    },
}

impl std::fmt::Debug for StreamEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamEvent::Delta(t) => f.debug_struct("Delta").field("len", &t.len()).finish(),
            StreamEvent::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            } => f
                .debug_struct("ToolCallDelta")
                .field("index", index)
                .field("id", id)
                .field("name", name)
                .field("len", &arguments.len())
                .finish(),
            StreamEvent::Finished {
                usage,
                model,
                finish_reason,
            } => f
                .debug_struct("Finished")
                .field("usage", usage)
                .field("model", model)
                .field("finish_reason", finish_reason)
                .finish(),
        }
    }
}

/// A streamed answer: deltas, then [`StreamEvent::Finished`]; or an error, after which the
/// stream ends. A stream that ends without `Finished` was cut short.
pub type BackendStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, BackendError>> + Send>>;

/// A language model the dispatcher can call.
///
/// A request may carry earlier turns of a conversation ([`BackendRequest::history`]) besides
/// its prompt; a service without chat messages should fold them into its input rather than
/// drop them (a conversation's answer depends on them).
///
/// A request may carry tools ([`BackendRequest::tools`], and tool calls and results in its
/// history). Only a backend whose [profile](BackendProfile::tools) says it can call tools is
/// sent such a request; the default profile says it cannot, so a custom backend that does
/// nothing about tools is never given one. One that can answers with
/// [`BackendResponse::tool_calls`] (and [`StreamEvent::ToolCallDelta`] when streaming).
#[async_trait]
pub trait ModelBackend: Send + Sync + std::fmt::Debug {
    /// What the backend is and what it may receive; routing reads it.
    fn profile(&self) -> &BackendProfile;

    /// One complete answer.
    async fn complete(&self, request: &BackendRequest) -> Result<BackendResponse, BackendError>;

    /// Whether the backend can be reached now, for a readiness probe; sends no prompt. The
    /// default says yes (a backend inside the process); the HTTP backends ask their server
    /// for its model list and count any HTTP answer, even an error status, as reachable.
    async fn probe(&self) -> Result<(), BackendError> {
        Ok(())
    }

    /// The answer as it is generated. Returns once the backend accepted the request (the
    /// HTTP status is known); errors after that arrive in the stream.
    ///
    /// The default calls [`complete`](ModelBackend::complete) and sends its text as one
    /// delta, then each tool call whole.
    async fn stream(&self, request: &BackendRequest) -> Result<BackendStream, BackendError> {
        let r = self.complete(request).await?;
        let mut events = vec![Ok(StreamEvent::Delta(r.text))];
        events.extend(r.tool_calls.into_iter().enumerate().map(|(index, c)| {
            Ok(StreamEvent::ToolCallDelta {
                index,
                id: Some(c.id),
                name: Some(c.name),
                arguments: c.arguments,
            })
        }));
        events.push(Ok(StreamEvent::Finished {
            usage: r.usage,
            model: r.model,
            finish_reason: r.finish_reason,
        }));
        Ok(Box::pin(futures_util::stream::iter(events)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_errors_are_the_transient_ones() {
        assert!(BackendError::Timeout.is_retryable());
        assert!(
            BackendError::Status {
                code: 429,
                kind: None,
                retry_after: Some(Duration::from_secs(2)),
                should_retry: None,
            }
            .is_retryable()
        );
        assert!(
            BackendError::Status {
                code: 503,
                kind: None,
                retry_after: None,
                should_retry: None,
            }
            .is_retryable()
        );
        assert!(
            !BackendError::Status {
                code: 401,
                kind: Some("invalid_api_key".into()),
                retry_after: None,
                should_retry: None,
            }
            .is_retryable()
        );
        assert!(!BackendError::Malformed { detail: "x".into() }.is_retryable());
        // The backend's own word wins over the status code's, both ways.
        let said = |code, should_retry| BackendError::Status {
            code,
            kind: None,
            retry_after: None,
            should_retry,
        };
        assert!(!said(429, Some(false)).is_retryable());
        assert!(!said(503, Some(false)).is_retryable());
        assert!(said(409, Some(true)).is_retryable());
        assert!(!said(409, None).is_retryable());
        let shown = BackendError::Status {
            code: 429,
            kind: Some("rate_limit_error".into()),
            retry_after: Some(Duration::from_secs(3)),
            should_retry: None,
        }
        .to_string();
        assert_eq!(
            shown,
            "the backend answered HTTP 429 (rate_limit_error), retry after 3 s"
        );
    }
}
