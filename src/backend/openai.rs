//! The OpenAI-compatible chat completions API (feature `http`): llama.cpp's server, vLLM,
//! Ollama, LM Studio on premises; OpenAI and compatible hosted services outside.
//!
//! `POST {base_url}/chat/completions` with one user message holding the enriched prompt.
//! Answers are read with a size limit; an error status keeps the service's own error type
//! (`error.type` or `error.code` of the body) and a `Retry-After` given in seconds. The API key
//! is sent as a bearer token and never appears in `Debug` output or errors.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::{BackendError, BackendRequest, BackendResponse, ModelBackend, Usage};
use crate::error::{Error, Result};
use crate::route::BackendProfile;

/// An API key: sent, never shown.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// Reads a key from the environment variable `var`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the variable when it is unset
    /// or empty.
    pub fn from_env(var: &str) -> Result<ApiKey> {
        match std::env::var(var) {
            Ok(k) if !k.trim().is_empty() => Ok(ApiKey(k.trim().to_string())),
            _ => Err(Error::config(format!(
                "the environment variable {var} holds no API key"
            ))),
        }
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Longest `Retry-After` honoured; longer waits are capped to it.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A backend speaking the OpenAI chat completions wire format.
#[derive(Debug, Clone)]
pub struct OpenAiBackend {
    client: reqwest::Client,
    url: String,
    model: String,
    key: Option<ApiKey>,
    profile: BackendProfile,
    timeout: Duration,
    max_body: usize,
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
        let base = base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::config(format!(
                "backend `{}`: the base URL must start with http:// or https://",
                profile.name
            )));
        }
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::config("cannot build the HTTP client").with_source(e))?;
        Ok(OpenAiBackend {
            client,
            url: format!("{base}/chat/completions"),
            model: model.to_string(),
            key: None,
            profile,
            timeout: Duration::from_secs(60),
            max_body: 4 << 20,
        })
    }

    /// Sends `key` as a bearer token.
    pub fn with_api_key(mut self, key: ApiKey) -> OpenAiBackend {
        self.key = Some(key);
        self
    }

    /// Sets the time allowed for a whole answer.
    pub fn with_timeout(mut self, timeout: Duration) -> OpenAiBackend {
        self.timeout = timeout;
        self
    }

    /// Sets the largest answer body accepted, in bytes.
    pub fn with_max_body(mut self, bytes: usize) -> OpenAiBackend {
        self.max_body = bytes;
        self
    }

    fn transport_error(e: reqwest::Error) -> BackendError {
        if e.is_timeout() {
            BackendError::Timeout
        } else if e.is_connect() {
            BackendError::Connect {
                detail: "connection failed".into(),
            }
        } else {
            // reqwest's messages name the URL and the failure, never the body we sent.
            BackendError::Connect {
                detail: e.without_url().to_string(),
            }
        }
    }

    /// Reads the body, failing past `max_body` bytes.
    async fn body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, BackendError> {
        let mut out = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(Self::transport_error)? {
            if out.len() + chunk.len() > self.max_body {
                return Err(BackendError::TooLarge {
                    limit: self.max_body,
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

/// `Retry-After` in seconds (an HTTP date is not honoured: the dispatcher's own backoff
/// applies), capped at [`MAX_RETRY_AFTER`].
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// The service's error type from an error body: `{"error": {"type": ..., "code": ...}}`.
fn error_kind(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let e = v.get("error")?;
    let field = |k: &str| e.get(k).and_then(|x| x.as_str()).map(str::to_string);
    // Only short identifiers: a message could echo the prompt.
    field("type").or_else(|| field("code")).filter(|k| {
        k.len() <= 64
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    })
}

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
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

#[async_trait]
impl ModelBackend for OpenAiBackend {
    fn profile(&self) -> &BackendProfile {
        &self.profile
    }

    async fn complete(&self, request: &BackendRequest) -> Result<BackendResponse, BackendError> {
        let body = serde_json::json!({
            "model": self.model,
            "messages": [{"role": "user", "content": request.prompt()}],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": false,
        });
        let mut http = self
            .client
            .post(&self.url)
            .timeout(self.timeout)
            .json(&body);
        if let Some(ApiKey(key)) = &self.key {
            http = http.bearer_auth(key);
        }
        let response = http.send().await.map_err(Self::transport_error)?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let json_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let bytes = self.body(response).await?;
        if !status.is_success() {
            return Err(BackendError::Status {
                code: status.as_u16(),
                kind: error_kind(&bytes),
                retry_after: wait,
            });
        }
        if !json_type {
            return Err(BackendError::Malformed {
                detail: "the answer is not application/json".into(),
            });
        }
        let completion: Completion =
            serde_json::from_slice(&bytes).map_err(|e| BackendError::Malformed {
                // serde_json names the line, column and expected type, not the content.
                detail: format!("not a chat completion: {}", e.classify_and_position()),
            })?;
        let choice = completion
            .choices
            .into_iter()
            .next()
            .ok_or(BackendError::Malformed {
                detail: "no choices in the answer".into(),
            })?;
        let text = choice.message.content.ok_or(BackendError::Malformed {
            detail: "the first choice has no text content".into(),
        })?;
        Ok(BackendResponse {
            text,
            usage: completion.usage.map(|u| Usage {
                input_tokens: u.prompt_tokens,
                output_tokens: u.completion_tokens,
            }),
            model: completion.model,
            finish_reason: choice.finish_reason,
        })
    }
}

/// A serde_json error's category and position, without the offending input.
trait Classify {
    fn classify_and_position(&self) -> String;
}

impl Classify for serde_json::Error {
    fn classify_and_position(&self) -> String {
        let category = match self.classify() {
            serde_json::error::Category::Io => "i/o",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "truncated",
        };
        format!(
            "{category} at line {} column {}",
            self.line(),
            self.column()
        )
    }
}

#[cfg(test)]
mod tests {
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
