//! `POST /v1/chat/completions`: the OpenAI chat completions API.

use std::convert::Infallible;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

use super::api::{
    Api, AppState, Field, check_fields, function_tools, inspected, media_part, now, openai_finish,
    routed, shown, with_headers,
};
use crate::audit::RequestId;
use crate::enrich::{Media, ToolCall};
use crate::pipeline::{Message, Pipeline, PipelineStream, PromptRequest};

/// The fields of a chat completion request and what the gateway does with each.
const FIELDS: &[(&str, Field)] = &[
    ("model", Field::Used),
    ("messages", Field::Used),
    ("tools", Field::Used),
    ("stream", Field::Used),
    ("stream_options", Field::Used),
    ("max_tokens", Field::Used),
    ("max_completion_tokens", Field::Used),
    ("temperature", Field::Used),
    ("user", Field::NoEffect),
    ("metadata", Field::NoEffect),
    ("store", Field::NoEffect),
    ("n", Field::Only(|v| v == 1)),
    ("tool_choice", Field::Only(|v| v == "auto")),
    ("parallel_tool_calls", Field::Only(|v| v == true)),
];

/// The text of a message's `content` (a string, or the text parts of an array; `None` when
/// it has none) and its images and recordings. A media part goes on only when an
/// on-premises backend here takes its kind, and any other part is an error naming it:
/// dropping one would answer a question nobody asked.
fn content_of(
    pipeline: &Pipeline,
    content: &Value,
    at: usize,
) -> Result<(Option<String>, Vec<Media>), String> {
    match content {
        Value::String(s) => Ok((Some(s.clone()), Vec::new())),
        Value::Null => Ok((None, Vec::new())),
        Value::Array(parts) => {
            let mut texts = Vec::new();
            let mut media = Vec::new();
            for (k, p) in parts.iter().enumerate() {
                let what = format!("part {k} of message {at}");
                match p["type"].as_str() {
                    Some("text") if p["text"].is_string() => {
                        texts.push(p["text"].as_str().unwrap_or_default());
                    }
                    Some("image_url") => {
                        let url = p["image_url"]["url"].as_str().unwrap_or_default();
                        media.push(media_part(pipeline, Media::url(url), &what)?);
                    }
                    Some("input_audio") => {
                        let audio = &p["input_audio"];
                        let mime = match audio["format"].as_str() {
                            Some("wav") => "audio/wav",
                            Some("mp3") => "audio/mpeg",
                            _ => {
                                return Err(format!("{what}: the audio format must be wav or mp3"));
                            }
                        };
                        let data = audio["data"].as_str().unwrap_or_default();
                        media.push(media_part(pipeline, Media::inline(mime, data), &what)?);
                    }
                    kind => {
                        return Err(format!(
                            "{what} is `{}`: text, image_url and input_audio parts are taken",
                            kind.unwrap_or("untyped")
                        ));
                    }
                }
            }
            Ok(((!texts.is_empty()).then(|| texts.join("\n")), media))
        }
        _ => Err(format!(
            "the content of message {at} is neither text nor parts"
        )),
    }
}

/// The tool calls of an assistant message.
fn calls_of(m: &Value, at: usize) -> Result<Vec<ToolCall>, String> {
    let Some(calls) = m["tool_calls"].as_array() else {
        return Ok(Vec::new());
    };
    calls
        .iter()
        .map(|c| {
            let (Some(id), Some(name)) = (c["id"].as_str(), c["function"]["name"].as_str()) else {
                return Err(format!("a tool call of message {at} has no id or name"));
            };
            let arguments = c["function"]["arguments"].as_str().unwrap_or("{}");
            Ok(ToolCall::new(id, name, arguments))
        })
        .collect()
}

/// The conversation as the pipeline takes it: system and developer messages as system
/// instructions, the user's and the model's turns (with their tool calls), the tools'
/// answers; the last message is the user's question or a tool's answer. An error message
/// when the messages cannot make a request.
fn request_of(pipeline: &Pipeline, messages: &[Value]) -> Result<PromptRequest, String> {
    let mut out = Vec::with_capacity(messages.len());
    for (at, m) in messages.iter().enumerate() {
        let (text, media) = content_of(pipeline, &m["content"], at)?;
        let role = m["role"].as_str().unwrap_or("user");
        if !media.is_empty() && role != "user" {
            return Err(format!(
                "message {at} of role `{role}` carries media: only a user's message may"
            ));
        }
        let message = match role {
            "system" | "developer" => Message::system(text.unwrap_or_default()),
            "user" => {
                let text = text.unwrap_or_default();
                if text.trim().is_empty() && media.is_empty() {
                    return Err(format!("message {at}, the user's, has no content"));
                }
                Message::user(text).with_media(media)
            }
            "assistant" => Message::assistant_calls(text.unwrap_or_default(), calls_of(m, at)?),
            "tool" => {
                let Some(call) = m["tool_call_id"].as_str() else {
                    return Err(format!(
                        "message {at} of role `tool` names no `tool_call_id`"
                    ));
                };
                Message::tool_result(call, text.unwrap_or_default())
            }
            other => return Err(format!("messages of role `{other}` are not supported")),
        };
        out.push(message);
    }
    match messages.last().and_then(|m| m["role"].as_str()) {
        Some("user" | "tool") => Ok(PromptRequest::conversation(out)),
        Some(_) => Err("the last message must be the user's or a tool's answer".into()),
        None => Err("`messages` holds no message".into()),
    }
}

/// The model's calls in a chat completion message.
fn calls_json(calls: &[ToolCall]) -> Vec<Value> {
    calls
        .iter()
        .map(|c| {
            json!({"id": c.id, "type": "function",
                   "function": {"name": c.name, "arguments": c.arguments}})
        })
        .collect()
}

pub(super) async fn completions(
    State(app): State<AppState>,
    Extension(id): Extension<RequestId>,
    body: Bytes,
) -> Response {
    let api = Api::OpenAi;
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return api.invalid("the body is not JSON");
    };
    let pipeline = &app.pipeline;
    let messages = req["messages"].as_array().map_or(&[][..], Vec::as_slice);
    let request = check_fields(&req, FIELDS).and_then(|()| {
        routed(
            pipeline,
            &req["model"],
            request_of(pipeline, messages)?.with_tools(function_tools(&req, |t| &t["function"])?),
            &id,
        )
    });
    let mut request = match request {
        Ok(request) => request,
        Err(message) => return api.invalid(&message),
    };
    if let Some(n) = req["max_completion_tokens"]
        .as_u64()
        .or_else(|| req["max_tokens"].as_u64())
    {
        request = request.with_max_tokens(usize::try_from(n).unwrap_or(usize::MAX));
    }
    if let Some(t) = req["temperature"].as_f64() {
        request = request.with_temperature(t as f32);
    }
    let answer_id = format!("chatcmpl-{}", id.as_str());
    if req["stream"].as_bool() == Some(true) {
        let usage = req["stream_options"]["include_usage"].as_bool() == Some(true);
        return match pipeline.run_stream(request).await {
            Ok(stream) => {
                let trace = stream.trace().clone();
                let shown = shown(&app, &trace);
                let events = chunks(stream, answer_id, usage, shown);
                with_headers(Sse::new(events).into_response(), &trace)
            }
            Err(e) => api.pipeline_error(&e),
        };
    }
    match pipeline.run(request).await {
        Ok(out) => {
            let usage = out.usage().map(|u| {
                json!({"prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens,
                       "total_tokens": u.input_tokens + u.output_tokens})
            });
            let calls = !out.tool_calls().is_empty();
            let body = json!({
                "id": answer_id, "object": "chat.completion", "created": now(),
                "model": out.trace().backend().as_str(),
                "choices": [{"index": 0,
                             "message": message_json(out.answer(), out.tool_calls()),
                             "finish_reason": openai_finish(out.finish_reason(), calls)}],
                "usage": usage,
            });
            let body = inspected(&app, body, out.trace());
            with_headers(axum::Json(body).into_response(), out.trace())
        }
        Err(e) => api.pipeline_error(&e),
    }
}

/// An answer as a chat completion message: its text (none when it only calls tools) and
/// its calls.
fn message_json(text: &str, calls: &[ToolCall]) -> Value {
    let mut message = json!({"role": "assistant", "content": text});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls_json(calls));
        if text.is_empty() {
            message["content"] = Value::Null;
        }
    }
    message
}

/// Where a streamed answer is.
enum Phase {
    Start,
    Text,
    Done,
}

/// The pipeline's restored pieces as OpenAI chunks: the role first, the pieces, the finish
/// reason, the usage when asked for, then `[DONE]`; an `error` chunk if it broke.
fn chunks(
    stream: PipelineStream,
    id: String,
    include_usage: bool,
    shown: Option<Value>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let created = now();
    let model: std::sync::Arc<str> = stream.trace().backend().as_str().into();
    futures_util::stream::unfold(
        (stream, Phase::Start, Vec::<Event>::new()),
        move |(mut stream, mut phase, mut queue)| {
            let id = id.clone();
            let model = model.clone();
            let shown = shown.clone();
            let chunk_model = model.clone();
            let chunk = move |id: &str, delta: Value, finish: Option<&str>| {
                json!({"id": id, "object": "chat.completion.chunk", "created": created,
                       "model": &*model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            };
            async move {
                loop {
                    if !queue.is_empty() {
                        let event = queue.remove(0);
                        return Some((Ok(event), (stream, phase, queue)));
                    }
                    match phase {
                        Phase::Done => return None,
                        Phase::Start => {
                            phase = Phase::Text;
                            let first =
                                chunk(&id, json!({"role": "assistant", "content": ""}), None);
                            queue.push(Event::default().data(first.to_string()));
                        }
                        Phase::Text => match stream.next().await {
                            Some(Ok(piece)) => {
                                let c = chunk(&id, json!({"content": piece}), None);
                                queue.push(Event::default().data(c.to_string()));
                            }
                            Some(Err(e)) => {
                                phase = Phase::Done;
                                let body = json!({"error": {"message": e.to_string(),
                                                            "type": "backend_error"}});
                                queue.push(Event::default().data(body.to_string()));
                                queue.push(Event::default().data("[DONE]"));
                            }
                            None => {
                                phase = Phase::Done;
                                let summary = stream.summary();
                                // The calls, restored whole once the answer ended.
                                let calls = summary.map_or(&[][..], |s| s.tool_calls.as_slice());
                                for (index, call) in calls_json(calls).into_iter().enumerate() {
                                    let mut call = call;
                                    call["index"] = json!(index);
                                    let c = chunk(&id, json!({"tool_calls": [call]}), None);
                                    queue.push(Event::default().data(c.to_string()));
                                }
                                let reason = openai_finish(
                                    summary.and_then(|s| s.finish_reason.as_deref()),
                                    !calls.is_empty(),
                                );
                                let mut last = chunk(&id, json!({}), Some(reason));
                                if let Some(shown) = &shown {
                                    last["promptveil"] = shown.clone();
                                }
                                queue.push(Event::default().data(last.to_string()));
                                if include_usage {
                                    let u = summary.and_then(|s| s.usage).unwrap_or_default();
                                    let usage = json!({
                                        "id": id, "object": "chat.completion.chunk",
                                        "created": created, "model": &*chunk_model, "choices": [],
                                        "usage": {"prompt_tokens": u.input_tokens,
                                                  "completion_tokens": u.output_tokens,
                                                  "total_tokens": u.input_tokens + u.output_tokens}});
                                    queue.push(Event::default().data(usage.to_string()));
                                }
                                queue.push(Event::default().data("[DONE]"));
                            }
                        },
                    }
                }
            }
        },
    )
}
