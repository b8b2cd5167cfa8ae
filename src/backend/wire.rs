//! The conversation and its tools in the two chat wire formats (feature `http`): what the
//! OpenAI chat completions API and the Anthropic Messages API take, and the tool calls they
//! answer with.
//!
//! System turns become system instructions (OpenAI `system` messages first; Anthropic's
//! `system` field); a turn that called tools carries its calls (OpenAI `tool_calls`,
//! Anthropic `tool_use` blocks); a tool's answer is a `tool` message (OpenAI) or a
//! `tool_result` block in the user's next message (Anthropic). The prompt goes last as the
//! user's message, unless it is empty (the conversation ends with a tool's answer).
//!
//! A user's turn with media is a list of parts: its text, then each image or recording
//! (OpenAI `image_url` and `input_audio` parts; Anthropic `image` blocks). What a format
//! cannot carry is an error before anything is sent, never a part left out.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{BackendError, BackendRequest, StreamEvent};
use crate::enrich::{Media, MediaKind, Role, ToolCall, Turn};

/// A user's content for the OpenAI API: the text alone, or its parts with the media.
fn openai_content(text: &str, media: &[Media]) -> Result<Value, BackendError> {
    if media.is_empty() {
        return Ok(text.into());
    }
    let mut parts = Vec::with_capacity(media.len() + 1);
    if !text.is_empty() {
        parts.push(json!({"type": "text", "text": text}));
    }
    for m in media {
        parts.push(match m.kind() {
            MediaKind::Image => json!({"type": "image_url", "image_url": {"url": m.as_url()}}),
            MediaKind::Audio => {
                let format = match m.mime() {
                    Some("audio/wav" | "audio/x-wav" | "audio/wave") => "wav",
                    Some("audio/mpeg" | "audio/mp3") => "mp3",
                    _ => {
                        return Err(BackendError::Unsupported {
                            detail: "audio other than WAV or MP3".into(),
                        });
                    }
                };
                json!({"type": "input_audio",
                       "input_audio": {"data": m.base64().unwrap_or_default(), "format": format}})
            }
        });
    }
    Ok(Value::Array(parts))
}

/// A user's content for the Anthropic API: the text alone, or its blocks with the images.
fn anthropic_blocks(text: &str, media: &[Media]) -> Result<Vec<Value>, BackendError> {
    let mut blocks = Vec::with_capacity(media.len() + 1);
    if !text.is_empty() {
        blocks.push(json!({"type": "text", "text": text}));
    }
    for m in media {
        let source = match (m.kind(), m.fetch_url(), m.mime(), m.base64()) {
            (MediaKind::Image, Some(url), _, _) => json!({"type": "url", "url": url}),
            (MediaKind::Image, None, Some(mime), Some(data)) => {
                json!({"type": "base64", "media_type": mime, "data": data})
            }
            (kind, ..) => {
                return Err(BackendError::Unsupported {
                    detail: format!("{kind} (the Messages API takes images only)"),
                });
            }
        };
        blocks.push(json!({"type": "image", "source": source}));
    }
    Ok(blocks)
}

/// The messages of `request` for the OpenAI chat completions API.
///
/// # Errors
///
/// [`BackendError::Unsupported`] for media the API cannot carry.
pub(crate) fn openai_messages(request: &BackendRequest) -> Result<Value, BackendError> {
    let history = request.history();
    let mut messages: Vec<Value> = history
        .iter()
        .filter(|t| t.role() == Role::System)
        .map(|t| json!({"role": "system", "content": t.text()}))
        .collect();
    for t in history.iter().filter(|t| t.role() != Role::System) {
        messages.push(match t.role() {
            Role::Tool => json!({
                "role": "tool",
                "tool_call_id": t.call_id().unwrap_or_default(),
                "content": t.text(),
            }),
            Role::Assistant if !t.calls().is_empty() => {
                let calls: Vec<Value> = t
                    .calls()
                    .iter()
                    .map(|c| {
                        json!({
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        })
                    })
                    .collect();
                let content = (!t.text().is_empty()).then(|| t.text());
                json!({"role": "assistant", "content": content, "tool_calls": calls})
            }
            role => json!({"role": role.as_str(), "content": openai_content(t.text(), t.media())?}),
        });
    }
    let media = request.enriched().media();
    if !request.prompt().is_empty() || !media.is_empty() {
        messages.push(json!({"role": "user", "content": openai_content(request.prompt(), media)?}));
    }
    Ok(Value::Array(messages))
}

/// The tools of `request` for the OpenAI API, when it has any.
pub(crate) fn openai_tools(request: &BackendRequest) -> Option<Value> {
    let tools: Vec<Value> = request
        .tools()
        .iter()
        .map(|t| {
            json!({
                "type": "function",
                "function": {
                    "name": t.name(),
                    "description": t.description(),
                    "parameters": t.parameters(),
                },
            })
        })
        .collect();
    (!tools.is_empty()).then_some(Value::Array(tools))
}

/// One tool call in an OpenAI answer.
#[derive(Deserialize)]
pub(crate) struct OpenAiCall {
    #[serde(default)]
    id: String,
    function: OpenAiFunction,
}

#[derive(Deserialize)]
struct OpenAiFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

impl From<OpenAiCall> for ToolCall {
    fn from(c: OpenAiCall) -> ToolCall {
        ToolCall::new(c.id, c.function.name, c.function.arguments)
    }
}

/// A piece of a tool call in an OpenAI stream chunk.
#[derive(Deserialize)]
pub(crate) struct OpenAiCallDelta {
    #[serde(default)]
    index: usize,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<OpenAiFunctionDelta>,
}

#[derive(Deserialize)]
struct OpenAiFunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

impl From<OpenAiCallDelta> for StreamEvent {
    fn from(d: OpenAiCallDelta) -> StreamEvent {
        let (name, arguments) = d.function.map_or((None, String::new()), |f| {
            (f.name, f.arguments.unwrap_or_default())
        });
        StreamEvent::ToolCallDelta {
            index: d.index,
            id: d.id,
            name,
            arguments,
        }
    }
}

/// The system instructions and messages of `request` for the Anthropic Messages API.
///
/// # Errors
///
/// [`BackendError::Unsupported`] for media the API cannot carry.
pub(crate) fn anthropic_messages(
    request: &BackendRequest,
) -> Result<(Option<String>, Value), BackendError> {
    let history = request.history();
    let system: Vec<&str> = history
        .iter()
        .filter(|t| t.role() == Role::System)
        .map(Turn::text)
        .collect();
    let mut messages: Vec<Value> = Vec::new();
    // Tool answers go as blocks of one user message, with the question after them.
    let mut results: Vec<Value> = Vec::new();
    let flush = |results: &mut Vec<Value>, messages: &mut Vec<Value>| {
        if !results.is_empty() {
            messages.push(json!({"role": "user", "content": std::mem::take(results)}));
        }
    };
    for t in history.iter().filter(|t| t.role() != Role::System) {
        match t.role() {
            Role::Tool => results.push(json!({
                "type": "tool_result",
                "tool_use_id": t.call_id().unwrap_or_default(),
                "content": t.text(),
            })),
            Role::Assistant if !t.calls().is_empty() => {
                flush(&mut results, &mut messages);
                let mut blocks = Vec::new();
                if !t.text().is_empty() {
                    blocks.push(json!({"type": "text", "text": t.text()}));
                }
                for c in t.calls() {
                    // The arguments were redacted as JSON: they parse.
                    let input: Value =
                        serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}));
                    blocks.push(
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}),
                    );
                }
                messages.push(json!({"role": "assistant", "content": blocks}));
            }
            role if t.media().is_empty() => {
                flush(&mut results, &mut messages);
                messages.push(json!({"role": role.as_str(), "content": t.text()}));
            }
            role => {
                flush(&mut results, &mut messages);
                let blocks = anthropic_blocks(t.text(), t.media())?;
                messages.push(json!({"role": role.as_str(), "content": blocks}));
            }
        }
    }
    let media = request.enriched().media();
    if results.is_empty() && media.is_empty() {
        if !request.prompt().is_empty() {
            messages.push(json!({"role": "user", "content": request.prompt()}));
        }
    } else {
        // After tool answers, the question is more blocks of the same user message.
        results.extend(anthropic_blocks(request.prompt(), media)?);
    }
    flush(&mut results, &mut messages);
    let system = (!system.is_empty()).then(|| system.join("\n\n"));
    Ok((system, Value::Array(messages)))
}

/// The tools of `request` for the Anthropic API, when it has any.
pub(crate) fn anthropic_tools(request: &BackendRequest) -> Option<Value> {
    let tools: Vec<Value> = request
        .tools()
        .iter()
        .map(|t| {
            json!({
                "name": t.name(),
                "description": t.description(),
                "input_schema": t.parameters(),
            })
        })
        .collect();
    (!tools.is_empty()).then_some(Value::Array(tools))
}

/// A `tool_use` block of an Anthropic answer as a call: its input is the arguments' JSON.
pub(crate) fn anthropic_call(
    id: Option<String>,
    name: Option<String>,
    input: Option<Value>,
) -> Result<ToolCall, BackendError> {
    let (Some(id), Some(name)) = (id, name) else {
        return Err(BackendError::Malformed {
            detail: "a tool_use block without id or name".into(),
        });
    };
    let input = input.unwrap_or_else(|| json!({}));
    Ok(ToolCall::new(id, name, input.to_string()))
}
