//! `POST /v1/responses`: the OpenAI Responses API, stateless.
//!
//! The gateway keeps no conversation: `previous_response_id` is refused by name, and a client
//! sends the whole `input` each time (messages, the model's `function_call` items, the tools'
//! `function_call_output` items), as it does with `store: false`.

use std::convert::Infallible;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

use super::api::{
    Api, AppState, Field, check_fields, function_tools, inspected, media_part, now, routed, shown,
    with_headers,
};
use crate::audit::RequestId;
use crate::enrich::{Media, ToolCall};
use crate::pipeline::{Message, Pipeline, PipelineStream, PromptRequest};

/// The fields of a Responses request and what the gateway does with each.
const FIELDS: &[(&str, Field)] = &[
    ("model", Field::Used),
    ("input", Field::Used),
    ("instructions", Field::Used),
    ("tools", Field::Used),
    ("stream", Field::Used),
    ("max_output_tokens", Field::Used),
    ("temperature", Field::Used),
    ("user", Field::NoEffect),
    ("metadata", Field::NoEffect),
    // Nothing is stored here either way: there is no later `previous_response_id` to give.
    ("store", Field::NoEffect),
    ("tool_choice", Field::Only(|v| v == "auto")),
    ("parallel_tool_calls", Field::Only(|v| v == true)),
    ("truncation", Field::Only(|v| v == "disabled")),
    (
        "text",
        Field::Only(|v| *v == json!({"format": {"type": "text"}})),
    ),
];

/// The text of a message item's `content` (a string, or its text parts) and its images.
fn content_of(
    pipeline: &Pipeline,
    content: &Value,
    at: usize,
) -> Result<(String, Vec<Media>), String> {
    let parts = match content {
        Value::String(s) => return Ok((s.clone(), Vec::new())),
        Value::Array(parts) => parts,
        _ => {
            return Err(format!(
                "the content of item {at} is neither text nor parts"
            ));
        }
    };
    let mut texts = Vec::new();
    let mut media = Vec::new();
    for (k, p) in parts.iter().enumerate() {
        let what = format!("part {k} of item {at}");
        match p["type"].as_str() {
            Some("input_text" | "output_text") if p["text"].is_string() => {
                texts.push(p["text"].as_str().unwrap_or_default());
            }
            Some("input_image") if p["image_url"].is_string() => {
                let url = p["image_url"].as_str().unwrap_or_default();
                media.push(media_part(pipeline, Media::url(url), &what)?);
            }
            kind => {
                return Err(format!(
                    "{what} is `{}`: input_text, output_text and input_image (by URL) parts \
                     are taken",
                    kind.unwrap_or("untyped")
                ));
            }
        }
    }
    Ok((texts.join("\n"), media))
}

/// The conversation of a Responses request: `instructions` as system instructions, then the
/// `input` items — messages, the model's calls (joined to the assistant's turn they follow)
/// and the tools' answers. The last item is the user's message or a tool's answer.
fn request_of(pipeline: &Pipeline, req: &Value) -> Result<PromptRequest, String> {
    let mut out = Vec::new();
    match &req["instructions"] {
        Value::Null => {}
        Value::String(s) => out.push(Message::system(s.as_str())),
        _ => return Err("`instructions` must be text".into()),
    }
    let items = match &req["input"] {
        Value::String(s) => vec![json!({"role": "user", "content": s})],
        Value::Array(items) => items.clone(),
        _ => return Err("`input` must be text or a list of items".into()),
    };
    // The assistant's turn being gathered: its text and the calls that follow it.
    let mut pending: Option<(String, Vec<ToolCall>)> = None;
    let flush = |pending: &mut Option<(String, Vec<ToolCall>)>, out: &mut Vec<Message>| {
        if let Some((text, calls)) = pending.take() {
            out.push(Message::assistant_calls(text, calls));
        }
    };
    for (at, item) in items.iter().enumerate() {
        let kind = item["type"].as_str().unwrap_or("message");
        match (kind, item["role"].as_str()) {
            ("message", Some(role)) => {
                let (text, media) = content_of(pipeline, &item["content"], at)?;
                if !media.is_empty() && role != "user" {
                    return Err(format!("item {at} of role `{role}` carries an image"));
                }
                flush(&mut pending, &mut out);
                match role {
                    "user" if text.trim().is_empty() && media.is_empty() => {
                        return Err(format!("item {at}, the user's message, has no content"));
                    }
                    "user" => out.push(Message::user(text).with_media(media)),
                    "system" | "developer" => out.push(Message::system(text)),
                    "assistant" => pending = Some((text, Vec::new())),
                    other => return Err(format!("messages of role `{other}` are not supported")),
                }
            }
            ("function_call", _) => {
                let (Some(id), Some(name)) = (item["call_id"].as_str(), item["name"].as_str())
                else {
                    return Err(format!(
                        "item {at}, a function_call, has no call_id or name"
                    ));
                };
                let arguments = item["arguments"].as_str().unwrap_or("{}");
                let call = ToolCall::new(id, name, arguments);
                pending
                    .get_or_insert_with(|| (String::new(), Vec::new()))
                    .1
                    .push(call);
            }
            ("function_call_output", _) => {
                let Some(id) = item["call_id"].as_str() else {
                    return Err(format!("item {at}, a function_call_output, has no call_id"));
                };
                let (answer, media) = content_of(pipeline, &item["output"], at)?;
                if !media.is_empty() {
                    return Err(format!("item {at}, a tool's answer, carries an image"));
                }
                flush(&mut pending, &mut out);
                out.push(Message::tool_result(id, answer));
            }
            (other, _) => {
                return Err(format!(
                    "item {at} is `{other}`: messages, function_call and function_call_output \
                     items are taken"
                ));
            }
        }
    }
    flush(&mut pending, &mut out);
    let last = items
        .last()
        .map(|i| (i["type"].as_str().unwrap_or("message"), i["role"].as_str()));
    match last {
        Some(("message", Some("user")) | ("function_call_output", _)) => {}
        Some(_) => {
            return Err("the last item must be the user's message or a tool's answer".into());
        }
        None => return Err("`input` holds no item".into()),
    }
    Ok(PromptRequest::conversation(out).with_tools(function_tools(req, |t| t)?))
}

/// What every response body holds besides its output.
struct Head {
    id: String,
    created: u64,
    max_output_tokens: Value,
    temperature: Value,
    /// The backend that answers.
    model: String,
}

impl Head {
    /// The response object: `status` (`in_progress`, `completed`, `incomplete`, `failed`),
    /// its output items, its usage.
    fn body(&self, status: &str, output: Vec<Value>, usage: Option<Value>) -> Value {
        let incomplete = (status == "incomplete").then(|| json!({"reason": "max_output_tokens"}));
        json!({
            "id": self.id, "object": "response", "created_at": self.created,
            "status": status, "error": null, "incomplete_details": incomplete,
            "instructions": null, "max_output_tokens": self.max_output_tokens,
            "model": self.model, "output": output, "parallel_tool_calls": true,
            "previous_response_id": null, "temperature": self.temperature,
            "tool_choice": "auto", "tools": [], "top_p": null,
            "text": {"format": {"type": "text"}}, "truncation": "disabled",
            "usage": usage, "metadata": {},
        })
    }
}

/// `completed`, or `incomplete` when the answer stopped at its length.
fn response_status(finish: Option<&str>) -> &'static str {
    match finish {
        Some("length" | "max_tokens") => "incomplete",
        _ => "completed",
    }
}

fn usage_json(u: crate::backend::Usage) -> Value {
    json!({"input_tokens": u.input_tokens, "input_tokens_details": {"cached_tokens": 0},
           "output_tokens": u.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
           "total_tokens": u.input_tokens + u.output_tokens})
}

/// The assistant's message item holding `text`.
fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({"type": "message", "id": id, "status": status, "role": "assistant",
           "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

/// A call of the model as a `function_call` item (`k`: its rank in the answer).
fn call_item(k: usize, call: &ToolCall, arguments: &str, status: &str) -> Value {
    json!({"type": "function_call", "id": format!("fc_{k}"), "call_id": call.id,
           "name": call.name, "arguments": arguments, "status": status})
}

/// The output items of an answer: its text as a message (none when it only calls tools),
/// then each call.
fn output_items(msg_id: &str, text: &str, calls: &[ToolCall]) -> Vec<Value> {
    let message = (!text.is_empty()).then(|| message_item(msg_id, text, "completed"));
    message
        .into_iter()
        .chain(
            calls
                .iter()
                .enumerate()
                .map(|(k, c)| call_item(k, c, &c.arguments, "completed")),
        )
        .collect()
}

pub(super) async fn create(
    State(app): State<AppState>,
    Extension(id): Extension<RequestId>,
    body: Bytes,
) -> Response {
    let api = Api::OpenAi;
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return api.invalid("the body is not JSON");
    };
    if req.get("previous_response_id").is_some() {
        return api.invalid(
            "the field `previous_response_id` is not supported: this gateway keeps no \
             conversation, send the whole `input` each time",
        );
    }
    let pipeline = &app.pipeline;
    let request = check_fields(&req, FIELDS)
        .and_then(|()| routed(pipeline, &req["model"], request_of(pipeline, &req)?, &id));
    let mut request = match request {
        Ok(request) => request,
        Err(message) => return api.invalid(&message),
    };
    if let Some(n) = req["max_output_tokens"].as_u64() {
        request = request.with_max_tokens(usize::try_from(n).unwrap_or(usize::MAX));
    }
    if let Some(t) = req["temperature"].as_f64() {
        request = request.with_temperature(t as f32);
    }
    let head = Head {
        id: format!("resp_{}", id.as_str()),
        created: now(),
        max_output_tokens: req["max_output_tokens"].clone(),
        temperature: req["temperature"].clone(),
        model: String::new(),
    };
    let msg_id = format!("msg_{}", id.as_str());
    if req["stream"].as_bool() == Some(true) {
        return match pipeline.run_stream(request).await {
            Ok(stream) => {
                let trace = stream.trace().clone();
                let shown = shown(&app, &trace);
                let head = Head {
                    model: trace.backend().as_str().to_string(),
                    ..head
                };
                let events = events(stream, head, msg_id, shown);
                with_headers(Sse::new(events).into_response(), &trace)
            }
            Err(e) => api.pipeline_error(&e),
        };
    }
    match pipeline.run(request).await {
        Ok(out) => {
            let head = Head {
                model: out.trace().backend().as_str().to_string(),
                ..head
            };
            let output = output_items(&msg_id, out.answer(), out.tool_calls());
            let usage = out.usage().map(usage_json);
            let body = head.body(response_status(out.finish_reason()), output, usage);
            let body = inspected(&app, body, out.trace());
            with_headers(axum::Json(body).into_response(), out.trace())
        }
        Err(e) => api.pipeline_error(&e),
    }
}

/// A streamed answer's state: the events' sequence, the message item once text came.
struct Streaming {
    head: Head,
    msg_id: String,
    seq: u64,
    text: Option<String>,
    /// What the model received, when the server inspects.
    shown: Option<Value>,
}

impl Streaming {
    /// The next event of the sequence.
    fn event(&mut self, kind: &str, mut data: Value) -> Event {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(self.seq);
        self.seq += 1;
        Event::default().event(kind).data(data.to_string())
    }

    /// A piece of the text: opens the message item first if this is the first.
    fn piece(&mut self, piece: &str) -> Vec<Event> {
        let mut out = Vec::new();
        if self.text.is_none() {
            self.text = Some(String::new());
            let mut item = message_item(&self.msg_id, "", "in_progress");
            item["content"] = json!([]);
            out.push(self.event(
                "response.output_item.added",
                json!({"output_index": 0, "item": item}),
            ));
            let id = self.msg_id.clone();
            out.push(self.event(
                "response.content_part.added",
                json!({"item_id": id, "output_index": 0, "content_index": 0,
                       "part": {"type": "output_text", "text": "", "annotations": []}}),
            ));
        }
        if let Some(text) = &mut self.text {
            text.push_str(piece);
        }
        let id = self.msg_id.clone();
        out.push(self.event(
            "response.output_text.delta",
            json!({"item_id": id, "output_index": 0, "content_index": 0, "delta": piece,
                   "logprobs": []}),
        ));
        out
    }

    /// The end: the message item closed, each call whole, then the response.
    fn finish(&mut self, stream: &PipelineStream) -> Vec<Event> {
        let mut out = Vec::new();
        let id = self.msg_id.clone();
        let text = self.text.clone();
        if let Some(text) = &text {
            out.push(self.event(
                "response.output_text.done",
                json!({"item_id": id, "output_index": 0, "content_index": 0, "text": text,
                       "logprobs": []}),
            ));
            out.push(self.event(
                "response.content_part.done",
                json!({"item_id": id, "output_index": 0, "content_index": 0,
                       "part": {"type": "output_text", "text": text, "annotations": []}}),
            ));
            out.push(self.event(
                "response.output_item.done",
                json!({"output_index": 0, "item": message_item(&id, text, "completed")}),
            ));
        }
        let summary = stream.summary();
        let calls = summary.map_or(&[][..], |s| s.tool_calls.as_slice());
        let first = usize::from(text.is_some());
        for (k, call) in calls.iter().enumerate() {
            let index = first + k;
            let item_id = format!("fc_{k}");
            out.push(self.event(
                "response.output_item.added",
                json!({"output_index": index, "item": call_item(k, call, "", "in_progress")}),
            ));
            out.push(self.event(
                "response.function_call_arguments.delta",
                json!({"item_id": item_id, "output_index": index, "delta": call.arguments}),
            ));
            out.push(self.event(
                "response.function_call_arguments.done",
                json!({"item_id": item_id, "output_index": index, "name": call.name,
                       "arguments": call.arguments}),
            ));
            out.push(self.event(
                "response.output_item.done",
                json!({"output_index": index,
                       "item": call_item(k, call, &call.arguments, "completed")}),
            ));
        }
        let finish = summary.and_then(|s| s.finish_reason.as_deref());
        let status = response_status(finish);
        let output = output_items(&id, text.as_deref().unwrap_or_default(), calls);
        let usage = summary.and_then(|s| s.usage).map(usage_json);
        let mut response = self.head.body(status, output, usage);
        if let Some(shown) = &self.shown {
            response["promptveil"] = shown.clone();
        }
        let kind = if status == "completed" {
            "response.completed"
        } else {
            "response.incomplete"
        };
        out.push(self.event(kind, json!({"response": response})));
        out
    }
}

/// The pipeline's restored pieces as Responses stream events: the response created, the
/// text as a message item piece by piece, each call whole as a `function_call` item, then
/// `response.completed` (or `incomplete`); `response.failed` if it broke.
fn events(
    stream: PipelineStream,
    head: Head,
    msg_id: String,
    shown: Option<Value>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let mut state = Streaming {
        head,
        msg_id,
        seq: 0,
        text: None,
        shown,
    };
    let skeleton = state.head.body("in_progress", Vec::new(), None);
    let start = vec![
        state.event("response.created", json!({"response": skeleton.clone()})),
        state.event("response.in_progress", json!({"response": skeleton})),
    ];
    let head = futures_util::stream::iter([start]);
    let body = futures_util::stream::unfold(Some((stream, state)), |s| async move {
        let (mut stream, mut state) = s?;
        match stream.next().await {
            Some(Ok(piece)) if piece.is_empty() => Some((Vec::new(), Some((stream, state)))),
            Some(Ok(piece)) => {
                let events = state.piece(&piece);
                Some((events, Some((stream, state))))
            }
            Some(Err(e)) => {
                let mut response = state.head.body("failed", Vec::new(), None);
                response["error"] = json!({"code": "server_error", "message": e.to_string()});
                let failed = state.event("response.failed", json!({"response": response}));
                Some((vec![failed], None))
            }
            None => {
                let events = state.finish(&stream);
                Some((events, None))
            }
        }
    });
    head.chain(body)
        .flat_map(|events| futures_util::stream::iter(events.into_iter().map(Ok)))
}
