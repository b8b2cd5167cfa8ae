//! The Anthropic Messages API (feature `http`).
//!
//! `POST {base_url}/messages` (base URL ending in `/v1`, e.g. `https://api.anthropic.com/v1`)
//! with headers `x-api-key` and `anthropic-version: 2023-06-01`, and one user message holding
//! the enriched prompt. The answer's text blocks are joined; `usage.input_tokens` and
//! `usage.output_tokens` are read. Error bodies (`{"type": "error", "error": {"type":
//! "overloaded_error", ...}}`) keep their type; 529 (overloaded) is retryable like any 5xx.
//!
//! Streaming reads the event types `message_start` (model, input tokens),
//! `content_block_delta` with `text_delta`, `message_delta` (stop reason, output tokens) and
//! `message_stop`; `ping` and other block events are skipped, and an `error` event becomes
//! [`BackendError::Remote`].
//!
//! ```
//! use promptveil::backend::{ApiKey, ModelBackend};
//! use promptveil::backend::anthropic::AnthropicBackend;
//! use promptveil::route::{BackendProfile, Locality, Size};
//!
//! let claude = AnthropicBackend::new("https://api.anthropic.com/v1", "claude-sonnet-4-5",
//!     BackendProfile::new("claude", Locality::External, Size::Large, 200_000).with_prices(3.0, 15.0))?
//!     .with_api_key(ApiKey::new("sk-ant-from-the-environment"));
//! // External: never a prompt that touched restricted data, only public data in clear.
//! assert_eq!(claude.profile().never_receives, Some(promptveil::Sensitivity::Restricted));
//! assert!(!format!("{claude:?}").contains("sk-ant"));
//! # Ok::<(), promptveil::Error>(())
//! ```

use std::collections::VecDeque;

use async_trait::async_trait;
use serde::Deserialize;

use super::ApiKey;
use super::http::{EventDecoder, Expect, Http, error_kind_of, event_json};
use super::sse::SseEvent;
use super::{
    BackendError, BackendRequest, BackendResponse, BackendStream, ModelBackend, StreamEvent, Usage,
};
use crate::error::Result;
use crate::route::BackendProfile;

/// The API version sent in `anthropic-version`.
pub const API_VERSION: &str = "2023-06-01";

/// A backend speaking the Anthropic Messages wire format.
#[derive(Debug, Clone)]
pub struct AnthropicBackend {
    http: Http,
    url: String,
    model: String,
    key: Option<ApiKey>,
    profile: BackendProfile,
}

impl AnthropicBackend {
    /// A backend at `base_url` (ending in `/v1`) asking for `model`; timeout 60 s, answers up
    /// to 4 MiB.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when `base_url` is not an http(s) URL or
    /// the HTTP client cannot be built.
    pub fn new(base_url: &str, model: &str, profile: BackendProfile) -> Result<AnthropicBackend> {
        let (http, base) = Http::new(&profile, base_url)?;
        // The Messages API takes tools, and images but no recordings.
        let mut profile = profile.with_tools(true);
        profile
            .media
            .retain(|k| *k == crate::enrich::MediaKind::Image);
        Ok(AnthropicBackend {
            http,
            url: format!("{base}/messages"),
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
        let (system, messages) = super::wire::anthropic_messages(request)?;
        let mut body = serde_json::json!({
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": messages,
            "temperature": request.temperature,
            "stream": stream,
        });
        if let Some(fields) = body.as_object_mut() {
            if let Some(system) = system {
                fields.insert("system".into(), system.into());
            }
            if let Some(tools) = super::wire::anthropic_tools(request) {
                fields.insert("tools".into(), tools);
            }
        }
        let mut http = self
            .http
            .client
            .post(&self.url)
            .header("anthropic-version", API_VERSION)
            .json(&body);
        if let Some(key) = &self.key {
            http = http.header("x-api-key", key.expose());
        }
        Ok(http)
    }
}

super::http::http_backend_settings!(AnthropicBackend, "in `x-api-key`");

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    model: String,
    content: Vec<Block>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    input: Option<serde_json::Value>,
}

#[derive(Deserialize, Clone, Copy, Default)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

/// The fields of the stream events this client reads.
#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    index: usize,
    #[serde(default)]
    content_block: Option<Block>,
    #[serde(default)]
    message: Option<StartMessage>,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct StartMessage {
    #[serde(default)]
    model: String,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    partial_json: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Default)]
struct EventsDecoder {
    model: String,
    usage: Option<Usage>,
    stop_reason: Option<String>,
}

impl EventDecoder for EventsDecoder {
    fn decode(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<StreamEvent>,
    ) -> Result<bool, BackendError> {
        let value: serde_json::Value = event_json(&event.data, "a Messages stream event")?;
        if value.get("type").and_then(|t| t.as_str()) == Some("error") {
            return Err(BackendError::Remote {
                kind: error_kind_of(&value),
            });
        }
        let e: Event = serde_json::from_value(value).map_err(|e| BackendError::Malformed {
            detail: format!("not a Messages stream event: {}", super::http::classify(&e)),
        })?;
        match e.kind.as_str() {
            "message_start" => {
                if let Some(m) = e.message {
                    self.model = m.model;
                    if let Some(u) = m.usage {
                        self.usage = Some(Usage {
                            input_tokens: u.input_tokens,
                            output_tokens: u.output_tokens,
                        });
                    }
                }
            }
            "content_block_start" => {
                if let Some(b) = e.content_block
                    && b.kind == "tool_use"
                {
                    let call = super::wire::anthropic_call(b.id, b.name, None)?;
                    out.push_back(StreamEvent::ToolCallDelta {
                        index: e.index,
                        id: Some(call.id),
                        name: Some(call.name),
                        // The input arrives in `input_json_delta` pieces.
                        arguments: String::new(),
                    });
                }
            }
            "content_block_delta" => match e.delta {
                Some(d) if d.kind.as_deref() == Some("text_delta") => {
                    if let Some(text) = d.text.filter(|t| !t.is_empty()) {
                        out.push_back(StreamEvent::Delta(text));
                    }
                }
                Some(d) if d.kind.as_deref() == Some("input_json_delta") => {
                    out.push_back(StreamEvent::ToolCallDelta {
                        index: e.index,
                        id: None,
                        name: None,
                        arguments: d.partial_json.unwrap_or_default(),
                    });
                }
                _ => {}
            },
            "message_delta" => {
                if let Some(reason) = e.delta.and_then(|d| d.stop_reason) {
                    self.stop_reason = Some(reason);
                }
                if let Some(u) = e.usage {
                    // Output tokens are cumulative here; input tokens came with the start.
                    let usage = self.usage.get_or_insert_with(Usage::default);
                    usage.output_tokens = u.output_tokens;
                    if u.input_tokens > 0 {
                        usage.input_tokens = u.input_tokens;
                    }
                }
            }
            "message_stop" => {
                out.push_back(StreamEvent::Finished {
                    usage: self.usage,
                    model: std::mem::take(&mut self.model),
                    finish_reason: self.stop_reason.take(),
                });
                return Ok(true);
            }
            // ping, content_block_start, content_block_stop, and event types added later.
            _ => {}
        }
        Ok(false)
    }
}

#[async_trait]
impl ModelBackend for AnthropicBackend {
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
        let message: Message = self.http.json(response, "a Messages answer").await?;
        let mut texts = Vec::new();
        let mut calls = Vec::new();
        for b in message.content {
            match b.kind.as_str() {
                "text" => texts.extend(b.text),
                "tool_use" => calls.push(super::wire::anthropic_call(b.id, b.name, b.input)?),
                _ => {}
            }
        }
        if texts.is_empty() && calls.is_empty() {
            return Err(BackendError::Malformed {
                detail: "the answer has no text block and calls no tool".into(),
            });
        }
        Ok(BackendResponse {
            text: texts.concat(),
            usage: message.usage.map(|u| Usage {
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
            }),
            model: message.model,
            finish_reason: message.stop_reason,
            tool_calls: calls,
        })
    }

    async fn stream(&self, request: &BackendRequest) -> Result<BackendStream, BackendError> {
        let response = self
            .http
            .send(self.request(request, true)?, Expect::EventStream)
            .await?;
        Ok(self.http.events(response, EventsDecoder::default()))
    }
}
