//! `POST /v1/messages`: the Anthropic Messages API.

use std::convert::Infallible;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

use super::api::{
    Api, AppState, Field, anthropic_stop, check_fields, inspected, media_part, routed, shown,
    with_headers,
};
use crate::audit::RequestId;
use crate::enrich::{Media, ToolCall, ToolSpec};
use crate::pipeline::{Message, Pipeline, PipelineStream, PromptRequest};

/// The fields of a Messages request and what the gateway does with each.
const FIELDS: &[(&str, Field)] = &[
    ("model", Field::Used),
    ("messages", Field::Used),
    ("system", Field::Used),
    ("tools", Field::Used),
    ("max_tokens", Field::Used),
    ("temperature", Field::Used),
    ("stream", Field::Used),
    ("metadata", Field::NoEffect),
    ("tool_choice", Field::Only(|v| v["type"] == "auto")),
];

/// The text of `content`: a string, or text blocks; any other block is an error naming it.
fn text_of(content: &Value, what: &str) -> Result<String, String> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        Value::Array(blocks) => blocks
            .iter()
            .enumerate()
            .map(|(k, b)| match (b["type"].as_str(), b["text"].as_str()) {
                (Some("text"), Some(t)) => Ok(t),
                (kind, _) => Err(format!(
                    "block {k} of {what} is `{}`: only text is taken there",
                    kind.unwrap_or("untyped")
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|t| t.join("\n")),
        _ => Err(format!("the content of {what} is neither text nor blocks")),
    }
}

/// One message as the pipeline's messages: a user's message may carry tool answers
/// (`tool_result` blocks) before its text; an assistant's, its text and `tool_use` calls.
fn messages_of(
    pipeline: &Pipeline,
    m: &Value,
    at: usize,
    out: &mut Vec<Message>,
) -> Result<(), String> {
    let role = m["role"].as_str().unwrap_or_default();
    let blocks = match &m["content"] {
        Value::String(s) => vec![json!({"type": "text", "text": s})],
        Value::Array(b) => b.clone(),
        _ => {
            return Err(format!(
                "the content of message {at} is neither text nor blocks"
            ));
        }
    };
    let mut text = Vec::new();
    let mut calls = Vec::new();
    let mut media = Vec::new();
    for (k, b) in blocks.iter().enumerate() {
        match (role, b["type"].as_str()) {
            (_, Some("text")) => text.push(b["text"].as_str().unwrap_or_default().to_string()),
            ("user", Some("image")) => {
                let source = &b["source"];
                let what = format!("block {k} of message {at}");
                let part = match source["type"].as_str() {
                    Some("base64") => Media::inline(
                        source["media_type"].as_str().unwrap_or_default(),
                        source["data"].as_str().unwrap_or_default(),
                    ),
                    Some("url") => Media::url(source["url"].as_str().unwrap_or_default()),
                    _ => return Err(format!("{what}: an image's source is base64 or url")),
                };
                media.push(media_part(pipeline, part, &what)?);
            }
            ("user", Some("tool_result")) => {
                let Some(id) = b["tool_use_id"].as_str() else {
                    return Err(format!("block {k} of message {at} names no `tool_use_id`"));
                };
                let answer = text_of(&b["content"], &format!("block {k} of message {at}"))?;
                out.push(Message::tool_result(id, answer));
            }
            ("assistant", Some("tool_use")) => {
                let (Some(id), Some(name)) = (b["id"].as_str(), b["name"].as_str()) else {
                    return Err(format!("block {k} of message {at} has no id or name"));
                };
                calls.push(ToolCall::new(id, name, b["input"].to_string()));
            }
            (_, kind) => {
                return Err(format!(
                    "block {k} of message {at} is `{}`: text, image (a user's), tool_use and \
                     tool_result blocks are taken",
                    kind.unwrap_or("untyped")
                ));
            }
        }
    }
    let text = text.join("\n");
    match role {
        "user" if !text.trim().is_empty() || !media.is_empty() => {
            out.push(Message::user(text).with_media(media));
        }
        // Only tool answers: they are the message.
        "user" if blocks.iter().any(|b| b["type"] == "tool_result") => {}
        "user" => return Err(format!("message {at}, the user's, has no content")),
        "assistant" => out.push(Message::assistant_calls(text, calls)),
        other => return Err(format!("messages of role `{other}` are not supported")),
    }
    Ok(())
}

/// The request as the pipeline takes it; an error message when it cannot make one.
fn request_of(pipeline: &Pipeline, req: &Value) -> Result<PromptRequest, String> {
    let mut out = Vec::new();
    let system = text_of(&req["system"], "`system`")?;
    if !system.is_empty() {
        out.push(Message::system(system));
    }
    let messages = req["messages"].as_array().map_or(&[][..], Vec::as_slice);
    for (at, m) in messages.iter().enumerate() {
        messages_of(pipeline, m, at, &mut out)?;
    }
    if messages.last().and_then(|m| m["role"].as_str()) != Some("user") {
        return Err("the last message must be the user's".into());
    }
    let tools = req["tools"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .map(|t| {
            ToolSpec::new(
                t["name"].as_str().unwrap_or_default(),
                t["description"].as_str().unwrap_or_default(),
                t["input_schema"].clone(),
            )
            .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut request = PromptRequest::conversation(out).with_tools(tools);
    if let Some(n) = req["max_tokens"].as_u64() {
        request = request.with_max_tokens(usize::try_from(n).unwrap_or(usize::MAX));
    }
    if let Some(t) = req["temperature"].as_f64() {
        request = request.with_temperature(t as f32);
    }
    Ok(request)
}

/// A call as a `tool_use` block; its arguments are JSON (the pipeline restored them string by
/// string), or the model's slip is an error.
fn tool_use(call: &ToolCall) -> Result<Value, String> {
    let input = call.arguments_json().map_err(|_| {
        format!(
            "the model's call of `{}` has arguments that are not JSON",
            call.name
        )
    })?;
    Ok(json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input}))
}

pub(super) async fn create(
    State(app): State<AppState>,
    Extension(id): Extension<RequestId>,
    body: Bytes,
) -> Response {
    let api = Api::Anthropic;
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return api.invalid("the body is not JSON");
    };
    let pipeline = &app.pipeline;
    let request = check_fields(&req, FIELDS)
        .and_then(|()| routed(pipeline, &req["model"], request_of(pipeline, &req)?, &id));
    let request = match request {
        Ok(r) => r,
        Err(message) => return api.invalid(&message),
    };
    let answer_id = format!("msg_{}", id.as_str());
    if req["stream"].as_bool() == Some(true) {
        return match pipeline.run_stream(request).await {
            Ok(stream) => {
                let trace = stream.trace().clone();
                let shown = shown(&app, &trace);
                let events = events(stream, answer_id, shown);
                with_headers(Sse::new(events).into_response(), &trace)
            }
            Err(e) => api.pipeline_error(&e),
        };
    }
    let out = match pipeline.run(request).await {
        Ok(out) => out,
        Err(e) => return api.pipeline_error(&e),
    };
    let mut content = Vec::new();
    if !out.answer().is_empty() {
        content.push(json!({"type": "text", "text": out.answer()}));
    }
    for call in out.tool_calls() {
        match tool_use(call) {
            Ok(block) => content.push(block),
            Err(message) => return api.error(StatusCode::BAD_GATEWAY, &message),
        }
    }
    let usage = out.usage().unwrap_or_default();
    let body = json!({
        "id": answer_id, "type": "message", "role": "assistant",
        "model": out.trace().backend().as_str(),
        "content": content,
        "stop_reason": anthropic_stop(out.finish_reason(), !out.tool_calls().is_empty()),
        "stop_sequence": null,
        "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
    });
    let body = inspected(&app, body, out.trace());
    with_headers(axum::Json(body).into_response(), out.trace())
}

fn event(name: &str, data: Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

/// The pipeline's restored pieces as Anthropic stream events: the message's start, one text
/// block with the pieces, then each tool call whole as a `tool_use` block, the stop reason
/// and usage, the end; an `error` event if it broke.
fn events(
    stream: PipelineStream,
    id: String,
    shown: Option<Value>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let start = event(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "content": [],
            "model": stream.trace().backend().as_str(), "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0}}}),
    );
    let open = event(
        "content_block_start",
        json!({"type": "content_block_start", "index": 0,
               "content_block": {"type": "text", "text": ""}}),
    );
    let head = futures_util::stream::iter([Ok(start), Ok(open)]);
    let body = futures_util::stream::unfold(Some(stream), move |stream| {
        let shown = shown.clone();
        async move {
            let mut stream = stream?;
            let events = match stream.next().await {
                Some(Ok(piece)) => {
                    let delta = json!({"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "text_delta", "text": piece}});
                    return Some((vec![event("content_block_delta", delta)], Some(stream)));
                }
                Some(Err(e)) => vec![event(
                    "error",
                    json!({"type": "error", "error": {"type": "api_error", "message": e.to_string()}}),
                )],
                None => finish(&stream, shown.as_ref()),
            };
            Some((events, None))
        }
    });
    head.chain(body.flat_map(|events| futures_util::stream::iter(events.into_iter().map(Ok))))
}

/// The events after the text: the calls, the stop reason and usage, the end.
fn finish(stream: &PipelineStream, shown: Option<&Value>) -> Vec<Event> {
    let summary = stream.summary();
    let calls = summary.map_or(&[][..], |s| s.tool_calls.as_slice());
    let mut out = vec![event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    )];
    for (k, call) in calls.iter().enumerate() {
        let index = k + 1;
        let Ok(input) = call.arguments_json() else {
            out.push(event(
                "error",
                json!({"type": "error", "error": {"type": "api_error",
                       "message": format!("the model's call of `{}` has arguments that are not JSON", call.name)}}),
            ));
            return out;
        };
        out.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index,
                   "content_block": {"type": "tool_use", "id": call.id, "name": call.name,
                                     "input": {}}}),
        ));
        out.push(event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index,
                   "delta": {"type": "input_json_delta", "partial_json": input.to_string()}}),
        ));
        out.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
    }
    let usage = summary.and_then(|s| s.usage).unwrap_or_default();
    let stop = anthropic_stop(
        summary.and_then(|s| s.finish_reason.as_deref()),
        !calls.is_empty(),
    );
    let mut delta = json!({"type": "message_delta",
                           "delta": {"stop_reason": stop, "stop_sequence": null},
                           "usage": {"output_tokens": usage.output_tokens}});
    if let Some(shown) = shown {
        delta["promptveil"] = shown.clone();
    }
    out.push(event("message_delta", delta));
    out.push(event("message_stop", json!({"type": "message_stop"})));
    out
}
