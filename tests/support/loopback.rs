//! Loopback stand-ins for model APIs nobody can reach from here: HTTP/1.1 servers on
//! 127.0.0.1 that speak the OpenAI chat completions and Anthropic Messages wire formats, in
//! JSON and server-sent events, including their error bodies, and record every request.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `POST /v1/chat/completions`
    pub line: String,
    /// Header lines, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: serde_json::Value,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The text of the last message: the prompt.
    pub fn prompt(&self) -> String {
        self.messages()
            .pop()
            .map(|(_, text)| text)
            .unwrap_or_default()
    }

    /// Every message: role and text (of a list of parts, its text parts joined), in order.
    pub fn messages(&self) -> Vec<(String, String)> {
        self.body["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| {
                        let role = m["role"].as_str().unwrap_or_default().to_string();
                        let text = match &m["content"] {
                            serde_json::Value::Array(parts) => parts
                                .iter()
                                .filter_map(|p| p["text"].as_str())
                                .collect::<Vec<_>>()
                                .join("\n"),
                            content => content.as_str().unwrap_or_default().to_string(),
                        };
                        (role, text)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// All the text the request carried, messages joined.
    pub fn all_text(&self) -> String {
        self.messages()
            .into_iter()
            .map(|(_, text)| text)
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn streaming(&self) -> bool {
        self.body["stream"].as_bool() == Some(true)
    }
}

/// What to answer.
pub enum Reply {
    /// A whole answer.
    Body {
        status: u16,
        content_type: &'static str,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// An event stream: each string written (and flushed) after `delay`, then the connection
    /// closes.
    Events {
        chunks: Vec<String>,
        delay: Duration,
    },
    /// Never answer.
    Hang,
    /// Wait, then answer.
    Late(Duration, Box<Reply>),
    /// An event stream that sends these chunks, then stalls with the connection open.
    Stall(Vec<String>),
}

type Handler = Arc<dyn Fn(&Received) -> Reply + Send + Sync>;

/// A running server.
pub struct Server {
    pub base: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Server {
    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().expect("log").clone()
    }
}

/// Starts a server on 127.0.0.1 answering every request with `handler`. It lives as long as
/// the test's runtime.
pub async fn start(handler: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = received.clone();
    let handler: Handler = Arc::new(handler);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = log.clone();
            let handler = handler.clone();
            tokio::spawn(async move {
                let Some(request) = read_request(&mut socket).await else {
                    return;
                };
                log.lock().expect("log").push(request.clone());
                let reply = handler(&request);
                write_reply(&mut socket, reply).await;
            });
        }
    });
    Server {
        base: format!("http://{addr}/v1"),
        received,
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 8192];
    loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let mut lines = head.lines();
        let line = lines.next()?.to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + length {
            let body = serde_json::from_slice(&buf[end + 4..end + 4 + length])
                .unwrap_or(serde_json::Value::Null);
            return Some(Received {
                line,
                headers,
                body,
            });
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    }
}

async fn write_reply(socket: &mut tokio::net::TcpStream, mut reply: Reply) {
    while let Reply::Late(wait, inner) = reply {
        tokio::time::sleep(wait).await;
        reply = *inner;
    }
    match reply {
        Reply::Body {
            status,
            content_type,
            headers,
            body,
        } => {
            let extra: String = headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}\r\n"))
                .collect();
            let text = format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
                reason(status),
                body.len()
            );
            let _ = socket.write_all(text.as_bytes()).await;
        }
        Reply::Events { chunks, delay } => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for c in chunks {
                tokio::time::sleep(delay).await;
                if socket.write_all(c.as_bytes()).await.is_err() {
                    return;
                }
                let _ = socket.flush().await;
            }
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Reply::Stall(chunks) => {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
            let _ = socket.write_all(head.as_bytes()).await;
            for c in chunks {
                let _ = socket.write_all(c.as_bytes()).await;
            }
            let _ = socket.flush().await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Reply::Late(..) => {}
    }
    let _ = socket.shutdown().await;
}

fn json(status: u16, body: serde_json::Value) -> Reply {
    Reply::Body {
        status,
        content_type: "application/json",
        headers: Vec::new(),
        body: body.to_string(),
    }
}

/// An OpenAI chat completion.
pub fn openai_json(text: &str, usage: (u64, u64)) -> Reply {
    json(
        200,
        serde_json::json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "fake-gpt",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": usage.0, "completion_tokens": usage.1,
                      "total_tokens": usage.0 + usage.1},
        }),
    )
}

/// One OpenAI stream chunk holding `delta`, as an SSE event.
fn openai_chunk(delta: serde_json::Value, finish: Option<&str>) -> String {
    let v = serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
        "model": "fake-gpt",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    });
    format!("data: {v}\n\n")
}

/// An OpenAI stream of `pieces`, with the usage-only last chunk when `usage` is given, and
/// `[DONE]` unless `truncate`.
pub fn openai_events(pieces: &[&str], usage: Option<(u64, u64)>, truncate: bool) -> Reply {
    let chunk = openai_chunk;
    let mut chunks = vec![chunk(
        serde_json::json!({"role": "assistant", "content": ""}),
        None,
    )];
    for p in pieces {
        chunks.push(chunk(serde_json::json!({"content": p}), None));
    }
    if truncate {
        return Reply::Events {
            chunks,
            delay: Duration::from_millis(5),
        };
    }
    chunks.push(chunk(serde_json::json!({}), Some("stop")));
    if let Some((i, o)) = usage {
        let v = serde_json::json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
            "model": "fake-gpt", "choices": [],
            "usage": {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o},
        });
        chunks.push(format!("data: {v}\n\n"));
    }
    chunks.push("data: [DONE]\n\n".into());
    Reply::Events {
        chunks,
        delay: Duration::from_millis(5),
    }
}

/// An OpenAI error body.
pub fn openai_error(status: u16, kind: &str, retry_after: Option<u64>) -> Reply {
    let body = serde_json::json!({"error": {"message": "fake failure", "type": kind,
                                            "param": null, "code": null}});
    Reply::Body {
        status,
        content_type: "application/json",
        headers: retry_after
            .map(|s| vec![("retry-after", s.to_string())])
            .unwrap_or_default(),
        body: body.to_string(),
    }
}

/// An Anthropic Messages answer.
pub fn anthropic_json(text: &str, usage: (u64, u64)) -> Reply {
    json(
        200,
        serde_json::json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "fake-claude",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": usage.0, "output_tokens": usage.1},
        }),
    )
}

/// One Anthropic stream event, as SSE.
fn anthropic_event(name: &str, data: serde_json::Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The `message_start` event of an Anthropic stream.
fn anthropic_start(input_tokens: u64) -> String {
    anthropic_event(
        "message_start",
        serde_json::json!({"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "content": [],
            "model": "fake-claude", "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
    )
}

/// The events that end an Anthropic stream whose one content block is done.
fn anthropic_end(stop_reason: &str, output_tokens: u64) -> [String; 3] {
    [
        anthropic_event(
            "content_block_stop",
            serde_json::json!({"type": "content_block_stop", "index": 0}),
        ),
        anthropic_event(
            "message_delta",
            serde_json::json!({"type": "message_delta",
                               "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                               "usage": {"output_tokens": output_tokens}}),
        ),
        anthropic_event("message_stop", serde_json::json!({"type": "message_stop"})),
    ]
}

/// An Anthropic Messages stream of `pieces`; `error` sends an `error` event after them
/// instead of the end.
pub fn anthropic_events(pieces: &[&str], usage: (u64, u64), error: Option<&str>) -> Reply {
    let event = anthropic_event;
    let mut chunks = vec![
        anthropic_start(usage.0),
        event(
            "content_block_start",
            serde_json::json!({"type": "content_block_start", "index": 0,
                               "content_block": {"type": "text", "text": ""}}),
        ),
        event("ping", serde_json::json!({"type": "ping"})),
    ];
    for p in pieces {
        chunks.push(event(
            "content_block_delta",
            serde_json::json!({"type": "content_block_delta", "index": 0,
                               "delta": {"type": "text_delta", "text": p}}),
        ));
    }
    if let Some(kind) = error {
        chunks.push(event(
            "error",
            serde_json::json!({"type": "error", "error": {"type": kind, "message": "fake"}}),
        ));
    } else {
        chunks.extend(anthropic_end("end_turn", usage.1));
    }
    Reply::Events {
        chunks,
        delay: Duration::from_millis(5),
    }
}

/// An Anthropic error body.
pub fn anthropic_error(status: u16, kind: &str) -> Reply {
    json(
        status,
        serde_json::json!({"type": "error", "error": {"type": kind, "message": "fake failure"}}),
    )
}

/// The question line of an enriched prompt (the default template's `Question: ...`).
pub fn question_of(prompt: &str) -> String {
    prompt
        .lines()
        .find_map(|l| l.strip_prefix("Question: "))
        .unwrap_or_default()
        .to_string()
}

/// Reads a pipeline stream to its end: the text shown, and the error that ended it if one did.
pub async fn read_stream(
    stream: &mut promptveil::pipeline::PipelineStream,
) -> (String, Option<promptveil::Error>) {
    use futures_util::StreamExt;
    let mut shown = String::new();
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(p) => shown.push_str(&p),
            Err(e) => return (shown, Some(e)),
        }
    }
    (shown, None)
}

/// An OpenAI chat completion that calls tools: `(id, name, arguments)` each.
pub fn openai_calls_json(calls: &[(&str, &str, String)]) -> Reply {
    let calls: Vec<serde_json::Value> = calls
        .iter()
        .map(|(id, name, args)| {
            serde_json::json!({"id": id, "type": "function",
                               "function": {"name": name, "arguments": args}})
        })
        .collect();
    json(
        200,
        serde_json::json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "fake-gpt",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": null,
                                                 "tool_calls": calls},
                         "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }),
    )
}

/// An OpenAI stream that calls one tool, its arguments cut into `pieces` (as models stream
/// them: a placeholder may be split).
pub fn openai_call_events(id: &str, name: &str, pieces: &[&str]) -> Reply {
    let chunk = openai_chunk;
    let mut chunks = vec![chunk(
        serde_json::json!({"role": "assistant", "content": null, "tool_calls": [
            {"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
        None,
    )];
    for p in pieces {
        chunks.push(chunk(
            serde_json::json!({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}),
            None,
        ));
    }
    chunks.push(chunk(serde_json::json!({}), Some("tool_calls")));
    chunks.push("data: [DONE]\n\n".into());
    Reply::Events {
        chunks,
        delay: Duration::from_millis(2),
    }
}

/// An Anthropic answer that says `text` and calls one tool with `input`.
pub fn anthropic_call_json(text: &str, id: &str, name: &str, input: serde_json::Value) -> Reply {
    json(
        200,
        serde_json::json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "fake-claude",
            "content": [{"type": "text", "text": text},
                        {"type": "tool_use", "id": id, "name": name, "input": input}],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }),
    )
}

/// An Anthropic stream that calls one tool, its input JSON cut into `pieces`.
pub fn anthropic_call_events(id: &str, name: &str, pieces: &[&str]) -> Reply {
    let event = anthropic_event;
    let mut chunks = vec![
        anthropic_start(10),
        event(
            "content_block_start",
            serde_json::json!({"type": "content_block_start", "index": 0,
                               "content_block": {"type": "tool_use", "id": id, "name": name,
                                                 "input": {}}}),
        ),
    ];
    for p in pieces {
        chunks.push(event(
            "content_block_delta",
            serde_json::json!({"type": "content_block_delta", "index": 0,
                               "delta": {"type": "input_json_delta", "partial_json": p}}),
        ));
    }
    chunks.extend(anthropic_end("tool_use", 7));
    Reply::Events {
        chunks,
        delay: Duration::from_millis(2),
    }
}
