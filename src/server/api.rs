//! What the three APIs share: the state, error bodies in each API's shape, `model`, the
//! tables of top-level fields, media parts, finish reasons, the answer's headers.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::audit::RequestId;
use crate::backend::BackendRequest;
use crate::enrich::{Media, ToolSpec};
use crate::error::{Error, ErrorKind};
use crate::pipeline::{Pipeline, PromptRequest, RequestTrace};

/// What every handler reads.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) pipeline: Pipeline,
    /// Answers carry what the model received.
    pub(crate) inspect: bool,
}

/// Which API's shape an answer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// OpenAI's (chat completions, responses, models, and anything else).
    OpenAi,
    /// Anthropic's (`/v1/messages`).
    Anthropic,
}

impl Api {
    /// The API a path belongs to.
    pub(crate) fn of(path: &str) -> Api {
        if path.starts_with("/v1/messages") {
            Api::Anthropic
        } else {
            Api::OpenAi
        }
    }

    /// The error type this API gives a status.
    fn error_type(self, status: StatusCode) -> &'static str {
        match (self, status.as_u16()) {
            (Api::OpenAi, 401) => "authentication_error",
            (Api::OpenAi, 403) => "request_refused",
            (Api::OpenAi, 404) => "not_found_error",
            (Api::OpenAi, 429) => "rate_limit_error",
            (Api::OpenAi, 502) => "backend_error",
            (Api::OpenAi, 500..) => "server_error",
            (Api::OpenAi, _) => "invalid_request_error",
            (Api::Anthropic, 401) => "authentication_error",
            (Api::Anthropic, 403) => "permission_error",
            (Api::Anthropic, 404) => "not_found_error",
            (Api::Anthropic, 413) => "request_too_large",
            (Api::Anthropic, 429) => "rate_limit_error",
            (Api::Anthropic, 503) => "overloaded_error",
            (Api::Anthropic, 500..) => "api_error",
            (Api::Anthropic, _) => "invalid_request_error",
        }
    }

    /// An error answer: `message` (never prompt text) in this API's error body.
    pub(crate) fn error(self, status: StatusCode, message: &str) -> Response {
        let kind = self.error_type(status);
        let body = match self {
            Api::OpenAi => {
                let code = (status == StatusCode::UNAUTHORIZED).then_some("invalid_api_key");
                json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
            }
            Api::Anthropic => json!({"type": "error", "error": {"type": kind, "message": message}}),
        };
        (status, axum::Json(body)).into_response()
    }

    /// A 400 saying `message`.
    pub(crate) fn invalid(self, message: &str) -> Response {
        self.error(StatusCode::BAD_REQUEST, message)
    }

    /// The answer to a pipeline error: 403 for a refusal, 502 when no backend answered, 400
    /// for a request the pipeline cannot take, 500 otherwise.
    pub(crate) fn pipeline_error(self, e: &Error) -> Response {
        let status = match e.kind() {
            ErrorKind::Refused => StatusCode::FORBIDDEN,
            ErrorKind::Backend => StatusCode::BAD_GATEWAY,
            ErrorKind::Config => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        self.error(status, &e.to_string())
    }
}

/// The models a client may name: `promptveil` (the pipeline routes), then each backend's name
/// (that backend only). Answers name the backend that answered the same way.
pub(crate) async fn models(axum::extract::State(app): axum::extract::State<AppState>) -> Response {
    let mut data = vec![json!({"id": "promptveil", "object": "model", "created": 0,
                               "owned_by": "promptveil"})];
    for p in app.pipeline.profiles() {
        data.push(
            json!({"id": p.name.as_str(), "object": "model", "created": 0,
                         "owned_by": "promptveil"}),
        );
    }
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

/// `request` as the request's `model` sends it, with the caller's request id: absent or
/// `promptveil` lets the pipeline route; a backend's name sends it to that backend alone; any
/// other name is refused, naming what is served.
pub(crate) fn routed(
    pipeline: &Pipeline,
    model: &Value,
    request: PromptRequest,
    id: &RequestId,
) -> Result<PromptRequest, String> {
    let request = request.with_request_id(id.clone());
    match model {
        Value::String(name) if name == "promptveil" => Ok(request),
        Value::String(name) if pipeline.profiles().iter().any(|p| p.name.as_str() == name) => {
            Ok(request.with_backend(name.as_str()))
        }
        _ => {
            let served: Vec<&str> = std::iter::once("promptveil (routed)")
                .chain(pipeline.profiles().iter().map(|p| p.name.as_str()))
                .collect();
            let what = if model.is_null() {
                "`model` is missing".to_string()
            } else {
                "`model` names no model served here".to_string()
            };
            Err(format!("{what}; it may be {}", served.join(", ")))
        }
    }
}

/// The media part `what` (`part 1 of message 0`) as the pipeline takes it, when an
/// on-premises backend here takes its kind; otherwise an error naming the part. Media is
/// never redacted, so it never goes anywhere else.
pub(crate) fn media_part(
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
pub(crate) enum Field {
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
pub(crate) fn check_fields(req: &Value, table: &[(&str, Field)]) -> Result<(), String> {
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

/// Why an answer stopped, in the OpenAI API's words, whichever API the backend spoke.
pub(crate) fn openai_finish(reason: Option<&str>, calls: bool) -> &'static str {
    match reason {
        _ if calls => "tool_calls",
        Some("length" | "max_tokens") => "length",
        Some("content_filter" | "refusal") => "content_filter",
        _ => "stop",
    }
}

/// Why an answer stopped, in the Anthropic API's words.
pub(crate) fn anthropic_stop(reason: Option<&str>, calls: bool) -> &'static str {
    match reason {
        _ if calls => "tool_use",
        Some("length" | "max_tokens") => "max_tokens",
        Some("stop_sequence") => "stop_sequence",
        Some("refusal" | "content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// Seconds since the epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An answer with the trace's headers: `x-request-id` and `x-promptveil-request-id` (the id
/// in the audit trail), `x-promptveil-backend` (the backend that answered).
pub(crate) fn with_headers(mut response: Response, trace: &RequestTrace) -> Response {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(trace.request_id().as_str()) {
        headers.insert("x-request-id", v.clone());
        headers.insert("x-promptveil-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(trace.backend().as_str()) {
        headers.insert("x-promptveil-backend", v);
    }
    response
}

/// What the model received, for inspection: the messages in the OpenAI chat format and the
/// tools — placeholders, never values (the request is made from redacted text only).
pub(crate) fn inspection(sent: &BackendRequest) -> Value {
    let messages = crate::backend::wire::openai_messages(sent)
        .unwrap_or_else(|e| json!({"not_shown": e.to_string()}));
    let mut shown = json!({"messages": messages});
    if let Some(tools) = crate::backend::wire::openai_tools(sent) {
        shown["tools"] = tools;
    }
    shown
}

/// What an answer carries under `promptveil` when the server inspects: the request's id, the
/// backend, and what the model received.
pub(crate) fn shown(app: &AppState, trace: &RequestTrace) -> Option<Value> {
    app.inspect.then(|| {
        json!({"request_id": trace.request_id().as_str(),
               "backend": trace.backend().as_str(),
               "sent": inspection(trace.sent())})
    })
}

/// A JSON answer `body` with [`shown`] under `promptveil`, when the server inspects.
pub(crate) fn inspected(app: &AppState, mut body: Value, trace: &RequestTrace) -> Value {
    if let Some(shown) = shown(app, trace) {
        body["promptveil"] = shown;
    }
    body
}

/// The function tools of a request's `tools`: each of type `function`, its name, description
/// and parameters (an empty object schema when absent) in the object `function_of` gives
/// (the chat API nests them under `function`, the Responses API does not).
pub(crate) fn function_tools(
    req: &Value,
    function_of: fn(&Value) -> &Value,
) -> Result<Vec<ToolSpec>, String> {
    let Some(tools) = req["tools"].as_array() else {
        return Ok(Vec::new());
    };
    tools
        .iter()
        .map(|t| {
            if t["type"] != "function" {
                return Err("only tools of type `function` are taken".to_string());
            }
            let f = function_of(t);
            let parameters = match &f["parameters"] {
                Value::Null => json!({"type": "object", "properties": {}}),
                p => p.clone(),
            };
            ToolSpec::new(
                f["name"].as_str().unwrap_or_default(),
                f["description"].as_str().unwrap_or_default(),
                parameters,
            )
            .map_err(|e| e.to_string())
        })
        .collect()
}
