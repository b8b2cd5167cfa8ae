//! What the HTTP backends share: the client, sending with a timeout, status and error bodies,
//! bounded body reads, and the event-stream driver.
//!
//! Error details are built from status codes, header values, serde's error category and
//! position, and short identifiers from the error body — never from the prompt or the answer.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;

use super::sse::{SseEvent, SseParser};
use super::{BackendError, BackendStream, StreamEvent};
use crate::error::{Error, Result};
use crate::route::{BackendProfile, Locality};

/// Longest `Retry-After` honoured; longer waits are capped to it.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The client and limits of one backend.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    pub(crate) client: reqwest::Client,
    /// A whole JSON answer; for a stream, the wait for the first byte and between two chunks.
    pub(crate) timeout: Duration,
    /// Largest answer, in bytes (a stream's total).
    pub(crate) max_body: usize,
    /// The base URL (configuration, never user data): named when it cannot be reached.
    base: String,
    /// Calls in flight at once; more wait for a free slot.
    slots: Arc<tokio::sync::Semaphore>,
}

/// Which proxy a backend's client goes through.
pub(crate) enum ProxyUse {
    /// None: connect directly, whatever the environment says.
    None,
    /// The one the proxy environment variables name, if any (reqwest's default).
    FromEnvironment,
    /// This one.
    Given(Box<reqwest::Proxy>),
}

/// A backend's HTTP client.
pub(crate) fn client(proxy: ProxyUse) -> Result<reqwest::Client> {
    let builder = reqwest::Client::builder();
    let builder = match proxy {
        ProxyUse::None => builder.no_proxy(),
        ProxyUse::FromEnvironment => builder,
        ProxyUse::Given(p) => builder.proxy(*p),
    };
    builder
        .build()
        .map_err(|e| Error::config("cannot build the HTTP client").with_source(e))
}

/// Calls one backend takes at once by default: more wait their turn (a server has a few
/// parallel slots; a thousand connections at once only overflow its listen queue).
pub(crate) const DEFAULT_MAX_CONCURRENCY: usize = 64;

/// A response whose status and content type were checked, holding its slot until its body
/// has been read.
pub(crate) struct Sent {
    response: reqwest::Response,
    slot: tokio::sync::OwnedSemaphorePermit,
}

/// The expected kind of answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    Json,
    EventStream,
}

impl Http {
    /// A client for backend `profile` at `base_url`; returns it with the base URL without its
    /// trailing slash. An on-premises backend ignores the proxy environment variables
    /// (`HTTP(S)_PROXY`, `ALL_PROXY`): a prompt meant to stay in the building is not handed to
    /// a corporate proxy because the process happens to have one set. `with_proxy` sets one
    /// explicitly, for either kind.
    pub(crate) fn new(profile: &BackendProfile, base_url: &str) -> Result<(Http, String)> {
        let name = profile.name.as_str();
        let base = base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::config(format!(
                "backend `{name}`: the base URL must start with http:// or https://"
            )));
        }
        let client = client(match profile.locality {
            Locality::OnPremises => ProxyUse::None,
            Locality::External => ProxyUse::FromEnvironment,
        })?;
        Ok((
            Http {
                client,
                timeout: Duration::from_secs(60),
                max_body: 4 << 20,
                base: base.to_string(),
                slots: Arc::new(tokio::sync::Semaphore::new(DEFAULT_MAX_CONCURRENCY)),
            },
            base.to_string(),
        ))
    }

    /// Reachable: the server answers `GET {base}/models` with any HTTP status within five
    /// seconds (at most the backend's timeout). No prompt, no key.
    pub(crate) async fn probe(&self) -> std::result::Result<(), BackendError> {
        let wait = self.timeout.min(Duration::from_secs(5));
        match self
            .client
            .get(format!("{}/models", self.base))
            .timeout(wait)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_timeout() => Err(BackendError::Timeout),
            Err(_) => Err(BackendError::Connect {
                detail: format!("{}: no answer (is the server running?)", self.base),
            }),
        }
    }

    /// Sets how many calls may be in flight at once.
    pub(crate) fn set_max_concurrency(&mut self, n: usize) {
        self.slots = Arc::new(tokio::sync::Semaphore::new(n.max(1)));
    }

    /// Sends `http` once a slot is free; returns the response once its status is a success
    /// and its content type the one expected.
    pub(crate) async fn send(
        &self,
        http: reqwest::RequestBuilder,
        expect: Expect,
    ) -> Result<Sent, BackendError> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| BackendError::Connect {
                detail: "the backend's call slots are closed".into(),
            })?;
        let sent = match expect {
            // The whole answer within the timeout.
            Expect::Json => http.timeout(self.timeout).send().await,
            // The headers within the timeout; the body is timed chunk by chunk.
            Expect::EventStream => tokio::time::timeout(self.timeout, http.send())
                .await
                .map_err(|_| BackendError::Timeout)?,
        };
        let response = sent.map_err(|e| {
            if e.is_connect() {
                BackendError::Connect {
                    detail: format!("{}: connection failed (is the server running?)", self.base),
                }
            } else {
                transport_error(e)
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            let wait = retry_after(response.headers());
            let should_retry = should_retry(response.headers());
            let code = status.as_u16();
            // The error body is best effort: its kind only.
            let body = self.body(response).await.unwrap_or_default();
            return Err(BackendError::Status {
                code,
                kind: error_kind(&body),
                retry_after: wait,
                should_retry,
            });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let wanted = match expect {
            Expect::Json => "application/json",
            Expect::EventStream => "text/event-stream",
        };
        if !content_type.trim_start().starts_with(wanted) {
            return Err(BackendError::Malformed {
                detail: format!("the answer is not {wanted}"),
            });
        }
        Ok(Sent { response, slot })
    }

    /// Reads a JSON answer of type `T`.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        sent: Sent,
        what: &str,
    ) -> Result<T, BackendError> {
        let bytes = self.body(sent.response).await?;
        drop(sent.slot);
        serde_json::from_slice(&bytes).map_err(|e| BackendError::Malformed {
            detail: format!("not {what}: {}", classify(&e)),
        })
    }

    /// Reads the body, failing past `max_body` bytes.
    async fn body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, BackendError> {
        let mut out = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if out.len() + chunk.len() > self.max_body {
                return Err(BackendError::TooLarge {
                    limit: self.max_body,
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The answer's events, decoded by `decoder`.
    pub(crate) fn events<D: EventDecoder>(&self, sent: Sent, decoder: D) -> BackendStream {
        event_stream(
            Box::pin(sent.response.bytes_stream()),
            decoder,
            self.timeout,
            self.max_body,
            Some(sent.slot),
        )
    }
}

pub(crate) fn transport_error(e: reqwest::Error) -> BackendError {
    if e.is_timeout() {
        BackendError::Timeout
    } else if e.is_connect() {
        BackendError::Connect {
            detail: "connection failed".into(),
        }
    } else {
        // reqwest's messages name the failure, never the body we sent; the URL is dropped.
        BackendError::Connect {
            detail: e.without_url().to_string(),
        }
    }
}

/// How long the backend asked to be left alone, capped at [`MAX_RETRY_AFTER`]: `retry-after-ms`
/// (milliseconds, which OpenAI and Anthropic send) when present and readable, else
/// `Retry-After` as seconds or as an HTTP date (RFC 9110 §10.2.3; a date in the past is no
/// wait). An unreadable value is ignored: the dispatcher's own backoff applies.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    retry_after_at(headers, std::time::SystemTime::now())
}

fn retry_after_at(
    headers: &reqwest::header::HeaderMap,
    now: std::time::SystemTime,
) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    // Seconds (or milliseconds) as a non-negative number, fractions allowed.
    let number = |v: &str| v.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0);
    let wait = match text("retry-after-ms").and_then(number) {
        Some(ms) => Duration::from_secs_f64((ms / 1000.0).min(MAX_RETRY_AFTER.as_secs_f64())),
        None => {
            let v = text(reqwest::header::RETRY_AFTER.as_str())?;
            match number(v) {
                Some(secs) => Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())),
                None => httpdate::parse_http_date(v)
                    .ok()?
                    .duration_since(now)
                    .unwrap_or_default(),
            }
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The backend's own word on retrying, `x-should-retry: true|false` (as OpenAI and Anthropic
/// send it); any other value is no word.
pub(crate) fn should_retry(headers: &reqwest::header::HeaderMap) -> Option<bool> {
    let v = headers.get("x-should-retry")?.to_str().ok()?.trim();
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The service's error type from an error body, OpenAI's `{"error": {"type" | "code": ...}}`
/// or Anthropic's `{"type": "error", "error": {"type": ...}}`.
pub(crate) fn error_kind(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    error_kind_of(&v)
}

/// The error type of a parsed error object (see [`error_kind`]).
pub(crate) fn error_kind_of(v: &serde_json::Value) -> Option<String> {
    let e = v.get("error")?;
    let field = |k: &str| e.get(k).and_then(|x| x.as_str()).map(str::to_string);
    // Only short identifiers: a message could echo the prompt.
    field("type").or_else(|| field("code")).filter(|k| {
        k.len() <= 64
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    })
}

/// A serde_json error's category and position, without the offending input.
pub(crate) fn classify(e: &serde_json::Error) -> String {
    let category = match e.classify() {
        serde_json::error::Category::Io => "i/o",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected shape",
        serde_json::error::Category::Eof => "truncated",
    };
    format!("{category} at line {} column {}", e.line(), e.column())
}

/// Parses one event's JSON data.
pub(crate) fn event_json<T: DeserializeOwned>(data: &str, what: &str) -> Result<T, BackendError> {
    serde_json::from_str(data).map_err(|e| BackendError::Malformed {
        detail: format!("not {what}: {}", classify(&e)),
    })
}

/// Turns a service's events into [`StreamEvent`]s.
pub(crate) trait EventDecoder: Send + 'static {
    /// Handles one event, queueing what it yields; returns true when the answer is complete
    /// (a `Finished` event was queued).
    fn decode(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<StreamEvent>,
    ) -> Result<bool, BackendError>;
}

struct Driver<S, D> {
    body: S,
    parser: SseParser,
    decoder: D,
    queue: VecDeque<StreamEvent>,
    /// An error to yield once the queue is drained; the stream ends after it.
    failed: Option<BackendError>,
    /// No more bytes are read: the answer is complete or the stream failed.
    done: bool,
    idle: Duration,
    read: usize,
    limit: usize,
    /// The call's slot, freed when the stream ends or is dropped.
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl<S, B, D> Driver<S, D>
where
    S: Stream<Item = reqwest::Result<B>> + Send + Unpin + 'static,
    B: AsRef<[u8]>,
    D: EventDecoder,
{
    /// Reads one chunk and decodes its events.
    async fn read(&mut self) -> Result<(), BackendError> {
        let chunk = match tokio::time::timeout(self.idle, self.body.next()).await {
            Err(_) => return Err(BackendError::Timeout),
            Ok(None) => {
                return Err(BackendError::Malformed {
                    detail: "the event stream ended before the answer was complete".into(),
                });
            }
            Ok(Some(chunk)) => chunk.map_err(transport_error)?,
        };
        let bytes = chunk.as_ref();
        self.read += bytes.len();
        if self.read > self.limit {
            return Err(BackendError::TooLarge { limit: self.limit });
        }
        let mut events = Vec::new();
        self.parser
            .push(bytes, &mut events)
            .map_err(|e| BackendError::Malformed {
                detail: e.to_string(),
            })?;
        for event in events {
            if self.decoder.decode(event, &mut self.queue)? {
                self.done = true;
                break;
            }
        }
        Ok(())
    }
}

/// The stream of `decoder`'s events over `body`'s bytes: each chunk must come within `idle`,
/// the total stays under `limit` bytes, and a body that ends before the decoder saw the end
/// of the answer is an error.
pub(crate) fn event_stream<S, B, D>(
    body: S,
    decoder: D,
    idle: Duration,
    limit: usize,
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
) -> BackendStream
where
    S: Stream<Item = reqwest::Result<B>> + Send + Unpin + 'static,
    B: AsRef<[u8]>,
    D: EventDecoder,
{
    let driver = Driver {
        body,
        parser: SseParser::new(limit.min(1 << 20)),
        decoder,
        queue: VecDeque::new(),
        failed: None,
        done: false,
        idle,
        read: 0,
        limit,
        slot,
    };
    Box::pin(futures_util::stream::unfold(driver, |mut d| async move {
        loop {
            if let Some(event) = d.queue.pop_front() {
                return Some((Ok(event), d));
            }
            if let Some(e) = d.failed.take() {
                return Some((Err(e), d));
            }
            if d.done {
                return None;
            }
            if let Err(e) = d.read().await {
                d.failed = Some(e);
                d.done = true;
            }
            if d.done {
                // Nothing more is read: the slot is free for the next call now.
                d.slot = None;
            }
        }
    }))
}

/// The settings both HTTP backends share: API key, timeout, body limit, concurrency.
macro_rules! http_backend_settings {
    ($backend:ident, $key_doc:literal) => {
        impl $backend {
            #[doc = concat!("Sends `key` ", $key_doc, ".")]
            pub fn with_api_key(mut self, key: ApiKey) -> $backend {
                self.key = Some(key);
                self
            }

            /// Sets the time allowed for a whole answer; when streaming, for the first byte
            /// and between two chunks.
            pub fn with_timeout(mut self, timeout: std::time::Duration) -> $backend {
                self.http.timeout = timeout;
                self
            }

            /// Sets the largest answer body accepted, in bytes.
            pub fn with_max_body(mut self, bytes: usize) -> $backend {
                self.http.max_body = bytes;
                self
            }

            /// Sends every call through the proxy at `url` (`http://` or `https://`),
            /// whatever the environment says. Without it, an on-premises
            /// backend connects directly and ignores `HTTP(S)_PROXY` and `ALL_PROXY`; an
            /// external one follows them.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::Config`](crate::ErrorKind::Config) when `url` is no proxy URL
            /// (the message does not repeat it: it may hold credentials).
            pub fn with_proxy(mut self, url: &str) -> crate::error::Result<$backend> {
                let proxy = reqwest::Proxy::all(url).map_err(|_| {
                    crate::error::Error::config(format!(
                        "backend `{}`: the proxy URL is not valid",
                        self.profile.name.as_str()
                    ))
                })?;
                self.http.client =
                    super::http::client(super::http::ProxyUse::Given(Box::new(proxy)))?;
                Ok(self)
            }

            /// Sets how many calls may be in flight at once (default 64); more wait for a
            /// free slot. A slot is held until the answer has been read, or the stream has
            /// ended or been dropped.
            pub fn with_max_concurrency(mut self, calls: usize) -> $backend {
                self.http.set_max_concurrency(calls);
                self
            }
        }
    };
}
pub(crate) use http_backend_settings;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_dates_and_milliseconds_and_caps_them() {
        use reqwest::header::{HeaderMap, HeaderValue};
        use std::time::SystemTime;
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_str(v).expect("header value"));
            }
            retry_after_at(&h, now)
        };
        let secs = Duration::from_secs;
        assert_eq!(at(&[("retry-after", "7")]), Some(secs(7)));
        assert_eq!(
            at(&[("retry-after", "1.5")]),
            Some(Duration::from_millis(1500))
        );
        let date = |d: Duration| httpdate::fmt_http_date(now + d);
        assert_eq!(at(&[("retry-after", &date(secs(30)))]), Some(secs(30)));
        let past = httpdate::fmt_http_date(now - secs(30));
        assert_eq!(at(&[("retry-after", &past)]), Some(Duration::ZERO));
        // Milliseconds win over seconds; both are capped.
        assert_eq!(
            at(&[("retry-after-ms", "250"), ("retry-after", "9")]),
            Some(Duration::from_millis(250))
        );
        assert_eq!(at(&[("retry-after", "86400")]), Some(MAX_RETRY_AFTER));
        assert_eq!(
            at(&[("retry-after", &date(secs(86_400)))]),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(at(&[("retry-after-ms", "1e12")]), Some(MAX_RETRY_AFTER));
        // Unreadable: no wait asked; an unreadable `retry-after-ms` leaves `Retry-After`.
        assert_eq!(at(&[("retry-after", "soon")]), None);
        assert_eq!(at(&[("retry-after", "-3")]), None);
        assert_eq!(
            at(&[("retry-after-ms", "NaN"), ("retry-after", "2")]),
            Some(secs(2))
        );
        assert_eq!(at(&[]), None);
    }
}
