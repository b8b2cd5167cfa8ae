//! A gateway speaking the OpenAI and Anthropic APIs: every chat completion, response and
//! message goes through the promptveil pipeline, by the same path (redact → guard → restore,
//! audited).
//!
//! An application that already speaks the OpenAI chat completions or Responses API, or the
//! Anthropic Messages API, switches by changing its base URL to this server's. Each request is redacted, enriched from the local index, routed to an
//! on-premises or external backend by the pipeline's policy, checked at egress, and its
//! answer restored — JSON or server-sent events, as the client asked.
//!
//! ```text
//! cargo run --all-features --example gateway -- --config promptveil.toml [--listen 127.0.0.1:8787]
//! ```
//!
//! Then, from any OpenAI client:
//!
//! ```python
//! from openai import OpenAI
//! client = OpenAI(base_url="http://127.0.0.1:8787/v1", api_key="unused")
//! reply = client.chat.completions.create(model="promptveil", messages=[{"role": "user", "content": "..."}])
//! ```
//!
//! - `POST /v1/chat/completions`: `messages` (text content, or text, `image_url` and
//!   `input_audio` parts), `tools`
//!   (functions), `stream`, `stream_options.include_usage`, `max_tokens` /
//!   `max_completion_tokens`, `temperature`. The last message is the user's question or a
//!   tool's answer; the messages before it are the conversation (redacted with the
//!   question's vault and sent as messages of their own, the oldest left out first when the
//!   budget is short): system and developer messages as system instructions, the model's
//!   tool calls with their arguments redacted as JSON, the tools' answers (`role: tool`).
//!   The model's calls come back restored, their arguments still JSON; in a stream, after
//!   the text, each call whole. Answers carry the headers `x-promptveil-request-id` (as in
//!   the audit trail) and `x-promptveil-backend`.
//! - `POST /v1/messages` (Anthropic): `system` (text or text blocks), `messages` (text,
//!   `image`, `tool_use` and `tool_result` blocks), `tools`, `max_tokens`, `temperature`, `stream`. The
//!   same conversation as above in Anthropic's shape; the answer's text and `tool_use`
//!   blocks come back restored (a stream: the text as it comes, then each call whole). Errors
//!   use Anthropic's error body (`invalid_request_error`, `permission_error` for a refusal,
//!   `api_error` when no backend answered).
//! - `POST /v1/responses` (OpenAI Responses, stateless): `instructions`, `input` (text, or
//!   message items with `input_text` / `output_text` / `input_image` parts, `function_call`
//!   and `function_call_output` items), `tools` (functions), `max_output_tokens`,
//!   `temperature`, `stream`. The same conversation again; the answer's `message` and
//!   `function_call` items come back restored; a stream sends the Responses events
//!   (`response.created`, the text's `response.output_text.delta`s, then each call whole,
//!   `response.completed`). Nothing is stored: `previous_response_id` is refused by name.
//! - `model`, on every endpoint: `promptveil` lets the pipeline route; a backend's name
//!   (`local-slm`) sends the request to that backend only (admission still applies: a
//!   backend that must never receive what the request touched is refused, not chosen); any
//!   other name is a 400 naming what is served.
//! - Every other top-level field is in a table (`chat::FIELDS`, `messages::FIELDS`,
//!   `responses::FIELDS`): used,
//!   taken because it changes nothing here (`user`, `metadata`, `store`), taken only with the
//!   value that asks for the default (`n` = 1, `tool_choice` = auto), or refused with a 400
//!   naming it (`top_p`, `stop`, `response_format`…): never silently dropped.
//! - Images and recordings, in a user's message, are never redacted: they go on only when a
//!   backend on premises takes their kind (`media = ["image"]` in its `[[backends]]` entry),
//!   and then only there; otherwise the request is a 400 naming the part.
//! - `GET /v1/models`: `promptveil`, then each backend's name.
//! - Errors use OpenAI's error body: 400 `invalid_request_error` (bad JSON, a last message
//!   neither the user's nor a tool's, a role other than system, developer, user, assistant
//!   or tool, a tool answer naming no call, a content part neither text nor media, media no
//!   backend on premises takes, a tool that is
//!   not a function or whose name is not an identifier, prompt over budget), 403 `request_refused` (no backend may receive it, or the egress guard
//!   refused), 502 `backend_error` (every approved backend failed). Messages never hold
//!   prompt text. A stream that fails after it began ends with an `error` chunk.
//!
//! The configuration is the pipeline's TOML file (see `promptveil::pipeline`); the server
//! prints `listening http://ADDR/v1` once it accepts connections.

mod chat;
mod messages;
mod responses;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use promptveil::enrich::Media;
use promptveil::pipeline::{Pipeline, PromptRequest};
use promptveil::{Error, ErrorKind};
use serde_json::{Value, json};

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let mut config = None;
    let mut listen = "127.0.0.1:8787".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config = args.next(),
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            other => return Err(format!("unknown argument `{other}` (--config, --listen)").into()),
        }
    }
    let config = config.ok_or("--config PATH is required: the pipeline's TOML file")?;
    let pipeline = Pipeline::builder().from_toml_file(&config).build()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(pipeline, &listen))
}

async fn serve(pipeline: Pipeline, listen: &str) -> Result<(), Failure> {
    let app = Router::new()
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/messages", post(messages::create))
        .route("/v1/responses", post(responses::create))
        .route("/v1/models", get(models))
        .with_state(pipeline);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening http://{}/v1", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// The models a client may name: `promptveil` (the pipeline routes), then each backend's name
/// (that backend only).
async fn models(State(pipeline): State<Pipeline>) -> Response {
    let mut data = vec![json!({"id": "promptveil", "object": "model", "created": 0,
                               "owned_by": "promptveil"})];
    for p in pipeline.profiles() {
        data.push(
            json!({"id": p.name.as_str(), "object": "model", "created": 0,
                         "owned_by": "promptveil"}),
        );
    }
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

/// `request` as the request's `model` sends it: absent or `promptveil` lets the pipeline
/// route; a backend's name sends it to that backend alone; any other name is refused,
/// naming what is served.
fn routed(
    pipeline: &Pipeline,
    model: &Value,
    request: PromptRequest,
) -> Result<PromptRequest, String> {
    match model {
        Value::Null => Ok(request),
        Value::String(name) if name == "promptveil" => Ok(request),
        Value::String(name) if pipeline.profiles().iter().any(|p| p.name.as_str() == name) => {
            Ok(request.with_backend(name.as_str()))
        }
        _ => {
            let served: Vec<&str> = std::iter::once("promptveil (routed)")
                .chain(pipeline.profiles().iter().map(|p| p.name.as_str()))
                .collect();
            Err(format!(
                "`model` names no model served here; it may be {}",
                served.join(", ")
            ))
        }
    }
}

/// The media part `what` (`part 1 of message 0`) as the pipeline takes it, when an
/// on-premises backend here takes its kind; otherwise an error naming the part. Media is
/// never redacted, so it never goes anywhere else.
fn media_part(
    pipeline: &Pipeline,
    part: Result<Media, Error>,
    what: &str,
) -> Result<Media, String> {
    let media = part.map_err(|e| format!("{what}: {}", e.message()))?;
    let kind = media.kind();
    if pipeline.profiles().iter().any(|p| p.takes_media(&[kind])) {
        Ok(media)
    } else {
        Err(format!(
            "{what} is {kind} media: no on-premises backend here takes {kind} (its `media` \
             setting), and media, which is never redacted, goes nowhere else"
        ))
    }
}

/// What the gateway does with a top-level field of a request. Every field is listed: one
/// the table does not know is refused, never silently dropped.
enum Field {
    /// Read and honoured.
    Used,
    /// Accepted, and it changes nothing here (`user`, `metadata`: labels for the provider's
    /// own records, which the pipeline's audit trail replaces).
    NoEffect,
    /// Accepted only with the value that asks for what the gateway does anyway (`n` = 1,
    /// `tool_choice` = auto).
    Only(fn(&Value) -> bool),
}

/// Checks the top-level fields of `req` against `table`: an error names the first field
/// refused.
fn check_fields(req: &Value, table: &[(&str, Field)]) -> Result<(), String> {
    let Some(fields) = req.as_object() else {
        return Err("the body is not a JSON object".into());
    };
    for (name, value) in fields {
        match table.iter().find(|(n, _)| n == name).map(|(_, f)| f) {
            Some(Field::Used | Field::NoEffect) => {}
            Some(Field::Only(ok)) if ok(value) => {}
            Some(Field::Only(_)) => {
                return Err(format!(
                    "the field `{name}` is taken only with the value that asks for the \
                     default; this one is refused rather than ignored"
                ));
            }
            None => {
                return Err(format!(
                    "the field `{name}` is not supported here: it is refused rather than \
                     ignored"
                ));
            }
        }
    }
    Ok(())
}

/// The HTTP status of a pipeline error, and its error type in the OpenAI and the Anthropic
/// error bodies.
fn status_of(e: &Error) -> (StatusCode, &'static str, &'static str) {
    match e.kind() {
        ErrorKind::Refused => (StatusCode::FORBIDDEN, "request_refused", "permission_error"),
        ErrorKind::Backend => (StatusCode::BAD_GATEWAY, "backend_error", "api_error"),
        ErrorKind::Config => (
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_request_error",
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "api_error",
        ),
    }
}

/// Why an answer stopped, in the OpenAI API's words, whichever API the backend spoke.
fn openai_finish(reason: Option<&str>, calls: bool) -> &'static str {
    match reason {
        _ if calls => "tool_calls",
        Some("length" | "max_tokens") => "length",
        Some("content_filter" | "refusal") => "content_filter",
        _ => "stop",
    }
}

/// Why an answer stopped, in the Anthropic API's words.
fn anthropic_stop(reason: Option<&str>, calls: bool) -> &'static str {
    match reason {
        _ if calls => "tool_use",
        Some("length" | "max_tokens") => "max_tokens",
        Some("stop_sequence") => "stop_sequence",
        Some("refusal" | "content_filter") => "refusal",
        _ => "end_turn",
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn with_headers(mut response: Response, id: &str, backend: &str) -> Response {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(id) {
        headers.insert("x-promptveil-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(backend) {
        headers.insert("x-promptveil-backend", v);
    }
    response
}
