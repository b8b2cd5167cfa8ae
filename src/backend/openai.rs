//! The OpenAI-compatible chat completions API (feature `http`): llama.cpp's server, vLLM,
//! Ollama, LM Studio on premises; OpenAI and compatible hosted services outside.
//!
//! `POST {base_url}/chat/completions` with one user message holding the enriched prompt.
//! Answers are read with a size limit; an error status keeps the service's own error type
//! (`error.type` or `error.code` of the body) and the wait the service asked for (`retry-after-ms`,
//! or `Retry-After` as seconds or an HTTP date; capped). The API key
//! is sent as a bearer token and never appears in `Debug` output or errors.
//!
//! Streaming asks for `stream_options.include_usage`, so the usage arrives in a last chunk
//! with no choices; the stream ends at `data: [DONE]`. An `{"error": ...}` chunk becomes
//! [`BackendError::Remote`]; a stream that stops before `[DONE]` is an error, not a short
//! answer.
//!
//! ```
//! use std::time::Duration;
//! use promptveil::backend::{ApiKey, ModelBackend};
//! use promptveil::backend::openai::OpenAiBackend;
//! use promptveil::route::{BackendProfile, Locality, Size};
//!
//! // llama.cpp's `llama-server --port 8080` on premises...
//! let local = OpenAiBackend::new("http://127.0.0.1:8080/v1", "local-model",
//!     BackendProfile::new("local", Locality::OnPremises, Size::Small, 8192))?
//!     .with_timeout(Duration::from_secs(120))
//!     .with_max_concurrency(4); // the server's parallel slots
//! // ...and OpenAI outside, its key from the environment (here: a stand-in).
//! let gpt = OpenAiBackend::new("https://api.openai.com/v1", "gpt-4.1",
//!     BackendProfile::new("gpt", Locality::External, Size::Large, 128_000).with_prices(2.0, 8.0))?
//!     .with_api_key(ApiKey::new("sk-from-the-environment"));
//! assert!(!format!("{gpt:?}").contains("sk-from"));
//! assert_eq!(local.profile().name, "local");
//! # Ok::<(), promptveil::Error>(())
//! ```

use std::collections::VecDeque;

use async_trait::async_trait;
use serde::Deserialize;

pub use super::ApiKey;
use super::http::{EventDecoder, Expect, Http, classify, error_kind_of, event_json};
use super::sse::SseEvent;
use super::{
    BackendError, BackendRequest, BackendResponse, BackendStream, ModelBackend, StreamEvent, Usage,
};
use crate::enrich::ToolCall;
use crate::error::Result;
use crate::route::BackendProfile;

/// A backend speaking the OpenAI chat completions wire format.
#[derive(Debug, Clone)]
pub struct OpenAiBackend {
    http: Http,
    url: String,
    model: String,
    key: Option<ApiKey>,
    profile: BackendProfile,
}

impl OpenAiBackend {
    /// A backend at `base_url` (ending in `/v1`, e.g. `http://127.0.0.1:8080/v1`) asking for
    /// `model`; timeout 60 s, answers up to 4 MiB.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when `base_url` is not an http(s) URL or
    /// the HTTP client cannot be built.
    pub fn new(base_url: &str, model: &str, profile: BackendProfile) -> Result<OpenAiBackend> {
        let (http, base) = Http::new(&profile, base_url)?;
        // The chat completions API takes tools (a model that cannot use them ignores them).
        let profile = profile.with_tools(true);
        Ok(OpenAiBackend {
            http,
            url: format!("{base}/chat/completions"),
            model: model.to_string(),
            key: None,
            profile,
        })
    }

    fn request(
        &self,
        request: &BackendRequest,
        stream: bool,
    ) -> Result<reqwest::RequestBuilder, BackendError> {
        let mut body = serde_json::json!({
            "model": self.model,
            "messages": super::wire::openai_messages(request)?,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": stream,
        });
        if let (Some(tools), Some(fields)) =
            (super::wire::openai_tools(request), body.as_object_mut())
        {
            fields.insert("tools".into(), tools);
        }
        if stream && let Some(fields) = body.as_object_mut() {
            fields.insert(
                "stream_options".into(),
                serde_json::json!({"include_usage": true}),
            );
        }
        let mut http = self.http.client.post(&self.url).json(&body);
        if let Some(key) = &self.key {
            http = http.bearer_auth(key.expose());
        }
        Ok(http)
    }
}

super::http::http_backend_settings!(OpenAiBackend, "as a bearer token");

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    model: String,
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<super::wire::OpenAiCall>,
}

#[derive(Deserialize, Clone, Copy)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
        }
    }
}

/// One streamed chunk: `choices[].delta.content`, and `usage` in the last one.
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ChunkDelta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<super::wire::OpenAiCallDelta>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<ChunkDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

/// The chunks of one streamed answer.
#[derive(Default)]
struct ChunkDecoder {
    model: String,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl EventDecoder for ChunkDecoder {
    fn decode(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<StreamEvent>,
    ) -> Result<bool, BackendError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            out.push_back(StreamEvent::Finished {
                usage: self.usage,
                model: std::mem::take(&mut self.model),
                finish_reason: self.finish_reason.take(),
            });
            return Ok(true);
        }
        let value: serde_json::Value = event_json(data, "a chat completion chunk")?;
        if value.get("error").is_some() {
            return Err(BackendError::Remote {
                kind: error_kind_of(&value),
            });
        }
        let chunk: Chunk = serde_json::from_value(value).map_err(|e| BackendError::Malformed {
            detail: format!("not a chat completion chunk: {}", classify(&e)),
        })?;
        if let Some(m) = chunk.model {
            self.model = m;
        }
        if let Some(u) = chunk.usage {
            self.usage = Some(u.into());
        }
        if let Some(choice) = chunk.choices.into_iter().next() {
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content
                    && !text.is_empty()
                {
                    out.push_back(StreamEvent::Delta(text));
                }
                out.extend(delta.tool_calls.into_iter().map(StreamEvent::from));
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
        Ok(false)
    }
}

#[async_trait]
impl ModelBackend for OpenAiBackend {
    fn profile(&self) -> &BackendProfile {
        &self.profile
    }

    async fn probe(&self) -> Result<(), BackendError> {
        self.http.probe().await
    }

    async fn complete(&self, request: &BackendRequest) -> Result<BackendResponse, BackendError> {
        let response = self
            .http
            .send(self.request(request, false)?, Expect::Json)
            .await?;
        let completion: Completion = self.http.json(response, "a chat completion").await?;
        let choice = completion
            .choices
            .into_iter()
            .next()
            .ok_or(BackendError::Malformed {
                detail: "no choices in the answer".into(),
            })?;
        let calls: Vec<ToolCall> = choice
            .message
            .tool_calls
            .into_iter()
            .map(ToolCall::from)
            .collect();
        let text = match choice.message.content {
            Some(text) => text,
            // A turn that only calls tools has no text.
            None if !calls.is_empty() => String::new(),
            None => {
                return Err(BackendError::Malformed {
                    detail: "the first choice has no text content and calls no tool".into(),
                });
            }
        };
        Ok(BackendResponse {
            text,
            usage: completion.usage.map(Usage::from),
            model: completion.model,
            finish_reason: choice.finish_reason,
            tool_calls: calls,
        })
    }

    async fn stream(&self, request: &BackendRequest) -> Result<BackendStream, BackendError> {
        let response = self
            .http
            .send(self.request(request, true)?, Expect::EventStream)
            .await?;
        Ok(self.http.events(response, ChunkDecoder::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::http::error_kind;
    use super::*;

    #[test]
    fn error_kinds_are_short_identifiers_only() {
        assert_eq!(
            error_kind(br#"{"error": {"type": "rate_limit_error", "message": "slow down"}}"#),
            Some("rate_limit_error".into())
        );
        assert_eq!(
            error_kind(br#"{"error": {"code": "context_length_exceeded"}}"#),
            Some("context_length_exceeded".into())
        );
        assert_eq!(
            error_kind(br#"{"error": {"type": "my prompt was: secret"}}"#),
            None
        );
        assert_eq!(error_kind(b"<html>oops</html>"), None);
    }

    #[test]
    fn keys_never_show() {
        let key = ApiKey::new("sk-test-123456");
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        assert!(ApiKey::from_env("PROMPTVEIL_SURELY_UNSET_VARIABLE").is_err());
    }
}
