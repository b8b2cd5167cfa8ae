//! The gateway (`promptveil serve`, built by `cargo test`) with the official `openai` and
//! `anthropic` Python clients as real clients (`tests/python/`, the clients installed by
//! `scripts/fetch-assets`). The model backends behind the gateway are loopback servers
//! speaking the OpenAI and Anthropic wire formats.

#[path = "support/gateway.rs"]
mod gateway;
mod support;

use gateway::Gateway;
use support::loopback;

use std::path::PathBuf;
use std::process::Command;

use loopback::{Received, Reply, anthropic_events, anthropic_json, openai_events, openai_json};

/// The echo model: "Re: " and the question it saw; given tools and a tool's answer, it calls
/// `charge_card` with the e-mail and card it was shown.
fn echo(r: &Received, anthropic: bool) -> Reply {
    if !anthropic && r.body.get("tools").is_some() {
        let messages = r.body["messages"].as_array().cloned().unwrap_or_default();
        let answer: serde_json::Value = messages
            .iter()
            .rev()
            .find(|m| m["role"] == "tool")
            .and_then(|m| m["content"].as_str())
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        let args =
            serde_json::json!({"email": answer["email"], "card": answer["card"]}).to_string();
        return if r.streaming() {
            let (a, b) = args.split_at(args.len() / 2);
            loopback::openai_call_events("call_2", "charge_card", &[a, b])
        } else {
            loopback::openai_calls_json(&[("call_2", "charge_card", args)])
        };
    }
    let answer = format!("Re: {}", loopback::question_of(&r.prompt()));
    let chars: Vec<char> = answer.chars().collect();
    let pieces: Vec<String> = chars.chunks(5).map(|c| c.iter().collect()).collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    match (anthropic, r.streaming()) {
        (false, false) => openai_json(&answer, (40, 8)),
        (false, true) => openai_events(&refs, Some((40, 8)), false),
        (true, false) => anthropic_json(&answer, (50, 9)),
        (true, true) => anthropic_events(&refs, (50, 9), None),
    }
}

/// What the streamed question's answer reads, restored.
const STREAMED: &str =
    "Re: Call +44 20 7946 0958 and tell ann.lee@example.org the clinic opens at eight.";

/// The pieces a client saw, joined.
fn joined(pieces: &serde_json::Value) -> String {
    pieces
        .as_array()
        .expect("pieces")
        .iter()
        .filter_map(|p| p.as_str())
        .collect()
}

/// The model's `charge_card` call as a client got it, whole (`tools`) and streamed
/// (`tools_stream`): the values restored, the arguments (under `args`) JSON.
fn check_calls(seen: &serde_json::Value, stop: &str, args: &str) {
    for key in ["tools", "tools_stream"] {
        let t = &seen[key];
        assert!(
            t["finish_reason"] == stop || t["stop_reason"] == stop,
            "{key}: {t}"
        );
        assert_eq!(t["calls"][0]["name"], "charge_card", "{key}");
        assert_eq!(
            t["calls"][0][args],
            serde_json::json!({"email": "ann.lee@example.org", "card": "4111 1111 1111 1111"}),
            "{key}"
        );
    }
}

/// A tool round trip as the OpenAI-format backend received it: placeholders only, the system
/// turn first, then the question, the earlier call `call_id` and the tool's answer to it.
fn check_tool_request(r: &Received, call_id: &str) {
    let body = r.body.to_string();
    assert!(
        !body.contains("ann.lee@") && !body.contains("4111"),
        "{body}"
    );
    let messages = &r.body["messages"];
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages[2]["tool_calls"][0]["id"], call_id);
    assert_eq!(messages[3]["role"], "tool");
    assert_eq!(messages[3]["tool_call_id"], call_id);
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn start_gateway(config: &std::path::Path) -> Gateway {
    gateway::start(config)
}

/// The gateway's configuration: the local tier speaks the OpenAI wire format, the external
/// tier Anthropic's; `local_media` is the local tier's `media` setting, if any.
fn write_config(dir: &std::path::Path, local: &str, cloud: &str, local_media: &str) -> PathBuf {
    let config = dir.join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            r#"
# This test is about the wire format: the hand-set keyword score, whose decision on the
# business question below does not move when the shipped router is retrained.
[routing]
router = "complexity"

[audit]
sink = "jsonl"
path = "audit.jsonl"

[[backends]]
name = "local-slm"
api = "openai"
base_url = "{}"
model = "smollm2"
locality = "on_premises"
size = "small"
context_window = 8192
{}

[[backends]]
name = "cloud-llm"
api = "anthropic"
base_url = "{}"
model = "claude-test"
locality = "external"
size = "large"
context_window = 200000
"#,
            local, local_media, cloud
        ),
    )
    .expect("config");
    config
}

/// The two echo backends (OpenAI wire format on premises, Anthropic's outside), the
/// configuration's folder (the audit trail is written there) and the gateway in front.
struct Setup {
    local: loopback::Server,
    cloud: loopback::Server,
    dir: tempfile::TempDir,
    gateway: Gateway,
}

async fn setup() -> Setup {
    setup_with("").await
}

/// [`setup`] with `local_media` as the local tier's `media` setting.
async fn setup_with(local_media: &str) -> Setup {
    let local = loopback::start(|r| echo(r, false)).await;
    let cloud = loopback::start(|r| echo(r, true)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &local.base, &cloud.base, local_media);
    let gateway = start_gateway(&config);
    Setup {
        local,
        cloud,
        dir,
        gateway,
    }
}

/// Runs a Python client script against the gateway at `base`; what it printed, as JSON.
async fn run_client(script: &str, base: String) -> serde_json::Value {
    let python = support::assets().join(".venv/bin/python");
    support::fetch_assets(|| {
        python.is_file()
            && Command::new(&python)
                .args(["-c", "import openai, anthropic"])
                .status()
                .is_ok_and(|s| s.success())
    });
    let script = root().join("tests/python").join(script);
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(script)
            .arg(base)
            .output()
            .expect("python runs")
    })
    .await
    .expect("join");
    assert!(
        output.status.success(),
        "the client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the client prints JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_openai_client_talks_through_the_gateway() {
    let Setup {
        local,
        cloud,
        dir,
        gateway,
    } = setup().await;
    let seen = run_client("openai_client.py", gateway.base.clone()).await;

    // 1. The answer comes back restored; the backend saw a placeholder.
    let plain = &seen["plain"];
    assert_eq!(
        plain["content"],
        "Re: Please confirm to ann.lee@example.org that Saturday at 09:00 works."
    );
    assert_eq!(plain["finish_reason"], "stop");
    assert_eq!(plain["usage"], serde_json::json!([40, 8]));
    assert_eq!(plain["backend"], "local-slm");
    assert_eq!(plain["request_id"].as_str().map(str::len), Some(32));

    // 2. Streamed through the client's SSE parser, placeholders restored across chunks.
    let stream = &seen["stream"];
    assert_eq!(joined(&stream["pieces"]), STREAMED);
    assert!(stream["pieces"].as_array().is_some_and(|p| p.len() > 3));
    assert_eq!(stream["usage"], serde_json::json!([40, 8]));
    assert_eq!(stream["finish_reason"], "stop");

    // 3. A conversation: earlier turns go as messages of their own, redacted with the
    // question's vault (one placeholder for the address throughout); the system message goes
    // as a system message, never into the user's question.
    assert_eq!(
        seen["multi"],
        "Re: Is the clinic open on Sunday? Ask ann.lee@example.org."
    );
    let sent = local.requests();
    let messages = sent[2].messages();
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert_eq!(messages[0], ("system".into(), "Be brief.".into()));
    assert_eq!(
        messages[1],
        (
            "user".into(),
            "My e-mail is [EMAIL_1], call me [PERSON_1].".into()
        )
    );
    assert_eq!(
        messages[2],
        ("assistant".into(), "Noted: [EMAIL_1].".into())
    );
    assert_eq!(messages[3].0, "user");
    assert!(
        messages[3]
            .1
            .contains("Is the clinic open on Sunday? Ask [EMAIL_1].")
            && !messages[3].1.contains("Be brief"),
        "{}",
        messages[3].1
    );

    // 4. Hard and public: the external tier.
    assert_eq!(seen["hard"]["backend"], "cloud-llm");

    // 5. Errors in OpenAI's shape.
    assert_eq!(seen["bad"]["status"], 400);
    assert_eq!(seen["bad"]["type"], "invalid_request_error");
    // Conversations the gateway cannot make a request of, named without their text.
    let client = reqwest::Client::new();
    for (messages, says) in [
        (
            serde_json::json!([{"role": "tool", "content": "ann.lee@example.org"}]),
            "names no `tool_call_id`",
        ),
        (
            serde_json::json!([
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Mail ann.lee@example.org"}
            ]),
            "the last message must be the user's or a tool's answer",
        ),
        (
            serde_json::json!([{"role": "user", "content": [
                {"type": "text", "text": "What is in ann.lee@example.org's picture?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]),
            "part 1 of message 0 is image media: no on-premises backend here takes image",
        ),
    ] {
        let response = client
            .post(format!("{}/chat/completions", gateway.base))
            .json(&serde_json::json!({"model": "promptveil", "messages": messages}))
            .send()
            .await
            .expect("gateway answers");
        assert_eq!(response.status().as_u16(), 400);
        let body: serde_json::Value = response.json().await.expect("JSON error body");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{message}");
        assert!(!message.contains("ann.lee"), "{message}");
    }

    // What left: placeholders only, never the values.
    for r in local.requests().iter().chain(cloud.requests().iter()) {
        let p = r.all_text();
        assert!(
            !p.contains("ann.lee@example.org") && !p.contains("7946 0958"),
            "{p}"
        );
    }
    // 6. Tools, whole and streamed: the backend saw placeholders only — in the earlier
    // call's arguments and in the tool's answer, the same one for the address — and the
    // client got the model's call with the values, its arguments JSON.
    check_calls(&seen, "tool_calls", "arguments");
    assert_eq!(seen["tools_stream"]["calls"][0]["id"], "call_2");
    let sent = local.requests();
    for r in &sent[3..5] {
        let body = r.body.to_string();
        check_tool_request(r, "call_1");
        assert_eq!(r.body["tools"][0]["function"]["name"], "charge_card");
        let schema = &r.body["tools"][0]["function"]["parameters"];
        assert_eq!(schema["properties"]["email"]["type"], "string", "{schema}");
        let call = &r.body["messages"][2]["tool_calls"][0]["function"];
        assert_eq!(call["name"], "find_card");
        let tool = &r.body["messages"][3];
        let email = call["arguments"]
            .as_str()
            .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok());
        let email = email
            .as_ref()
            .and_then(|a| a["email"].as_str())
            .expect("placeholder");
        assert!(email.starts_with("[EMAIL_"), "{email}");
        assert!(
            tool["content"].as_str().is_some_and(|c| c.contains(email)),
            "{body}"
        );
    }
    assert_eq!(local.requests().len(), 5);
    assert_eq!(cloud.requests().len(), 1);
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit");
    assert!(!audit.contains("ann.lee@example.org"));
    assert!(audit.contains(plain["request_id"].as_str().unwrap_or("-")));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_anthropic_client_talks_through_the_gateway() {
    let Setup {
        local,
        cloud,
        dir: _dir,
        gateway,
    } = setup().await;
    // The Anthropic client adds `/v1/messages` to its base URL itself.
    let base = gateway.base.trim_end_matches("/v1").to_string();
    let seen = run_client("anthropic_client.py", base).await;

    // 1. A message: restored; the system text went as system instructions.
    let plain = &seen["plain"];
    assert_eq!(
        plain["text"],
        "Re: Please confirm to ann.lee@example.org that Saturday at 09:00 works."
    );
    assert_eq!(plain["stop_reason"], "end_turn");
    assert_eq!(plain["backend"], "local-slm");
    let sent = local.requests();
    assert_eq!(sent[0].messages()[0], ("system".into(), "Be brief.".into()));

    // 2. Streamed through the client's event parser, placeholders restored across events.
    assert_eq!(joined(&seen["stream"]["pieces"]), STREAMED);
    assert_eq!(seen["stream"]["stop_reason"], "end_turn");

    // 3. Tools, whole and streamed, through the OpenAI-format backend on premises (the card
    // keeps the request there): the client gets `tool_use` blocks with the values.
    check_calls(&seen, "tool_use", "input");
    for r in &sent[2..4] {
        check_tool_request(r, "toolu_1");
    }

    // 4. An image is a 400 naming the block, not a silent drop.
    assert_eq!(seen["image"]["status"], 400);
    let message = seen["image"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("block 0 of message 0 is image media"),
        "{message}"
    );

    for r in local.requests().iter().chain(cloud.requests().iter()) {
        let body = r.body.to_string();
        assert!(
            !body.contains("ann.lee@example.org") && !body.contains("7946 0958"),
            "{body}"
        );
    }
    assert_eq!(local.requests().len(), 4);
}

/// OpenAI's Responses API through the same pipeline, with the official client: whole and
/// through the client's stream helper (which checks the events' order and rebuilds the
/// response from them), a conversation, and a tool round trip.
#[tokio::test(flavor = "multi_thread")]
async fn the_official_openai_client_talks_responses_through_the_gateway() {
    let Setup {
        local,
        cloud,
        dir: _dir,
        gateway,
    } = setup().await;
    let seen = run_client("responses_client.py", gateway.base.clone()).await;

    let plain = &seen["plain"];
    assert_eq!(
        plain["text"],
        "Re: Please confirm to ann.lee@example.org that Saturday at 09:00 works."
    );
    assert_eq!(plain["status"], "completed");
    assert_eq!(plain["usage"], serde_json::json!([40, 8]));
    assert_eq!(plain["backend"], "local-slm");

    let stream = &seen["stream"];
    assert_eq!(joined(&stream["pieces"]), STREAMED);
    assert!(stream["pieces"].as_array().is_some_and(|p| p.len() > 3));
    assert_eq!(stream["text"], STREAMED);
    assert_eq!(stream["status"], "completed");

    assert_eq!(
        seen["multi"],
        "Re: Is the clinic open on Sunday? Ask ann.lee@example.org."
    );
    let sent = local.requests();
    let messages = sent[2].messages();
    assert_eq!(messages[0], ("system".into(), "Be brief.".into()));
    assert_eq!(
        messages[2],
        ("assistant".into(), "Noted: [EMAIL_1].".into())
    );

    let restored =
        serde_json::json!({"email": "ann.lee@example.org", "card": "4111 1111 1111 1111"});
    for key in ["tools", "tools_stream"] {
        let t = &seen[key];
        assert_eq!(t["status"], "completed", "{key}");
        assert_eq!(t["calls"][0]["id"], "call_2", "{key}");
        assert_eq!(t["calls"][0]["name"], "charge_card", "{key}");
        assert_eq!(t["calls"][0]["arguments"], restored, "{key}");
    }
    assert_eq!(seen["tools_stream"]["deltas"], restored);
    for r in &sent[3..5] {
        check_tool_request(r, "call_1");
        assert_eq!(r.body["tools"][0]["function"]["name"], "charge_card");
    }

    assert_eq!(seen["bad"]["status"], 400);
    let message = seen["bad"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("previous_response_id"), "{message}");

    assert_eq!(sent.len(), 5);
    assert!(cloud.requests().is_empty());
    for r in &sent {
        let body = r.body.to_string();
        assert!(
            !body.contains("ann.lee@example.org") && !body.contains("7946 0958"),
            "{body}"
        );
    }
}

/// Both endpoints, both modes, go through the same path: the egress guard refuses a value
/// the redaction could not replace (here glued into a tool's name, which is sent as it is),
/// before anything reaches a backend; a clean request comes back restored; every request
/// ends in the audit trail exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_and_mode_goes_through_the_guard_restore_and_audit() {
    let Setup {
        local,
        cloud,
        dir,
        gateway,
    } = setup().await;
    let client = reqwest::Client::new();
    let name = "lookup_4111111111111111";
    let endpoints = [
        (
            "chat/completions",
            serde_json::json!([{"type": "function", "function": {
                "name": name, "description": "Looks up.", "parameters": {"type": "object"}}}]),
            "request_refused",
        ),
        (
            "messages",
            serde_json::json!([{"name": name, "description": "Looks up.",
                                "input_schema": {"type": "object"}}]),
            "permission_error",
        ),
        (
            "responses",
            serde_json::json!([{"type": "function", "name": name, "description": "Looks up.",
                                "parameters": {"type": "object"}}]),
            "request_refused",
        ),
    ];
    for (endpoint, tools, refused) in &endpoints {
        for stream in [false, true] {
            let ask = |text: &str, tools: Option<&serde_json::Value>| {
                let question = serde_json::json!([{"role": "user", "content": text}]);
                let mut body = if *endpoint == "responses" {
                    serde_json::json!({"model": "promptveil", "max_output_tokens": 64,
                                       "stream": stream, "input": question})
                } else {
                    serde_json::json!({"model": "promptveil", "max_tokens": 64,
                                       "stream": stream, "messages": question})
                };
                if let Some(t) = tools {
                    body["tools"] = t.clone();
                }
                client
                    .post(format!("{}/{endpoint}", gateway.base))
                    .json(&body)
                    .send()
            };
            let r = ask("Look this up.", Some(tools)).await.expect("answer");
            assert_eq!(r.status().as_u16(), 403, "{endpoint} stream={stream}");
            let body: serde_json::Value = r.json().await.expect("JSON error");
            assert_eq!(
                body["error"]["type"], *refused,
                "{endpoint} stream={stream}"
            );
            let r = ask("Mail ann.lee@example.org the plan.", None)
                .await
                .expect("answer");
            assert_eq!(r.status().as_u16(), 200, "{endpoint} stream={stream}");
            let text = r.text().await.expect("body");
            assert!(
                text.contains("ann.lee@example.org"),
                "{endpoint} stream={stream}: {text}"
            );
        }
    }
    // Six clean requests reached a backend, with placeholders only; no refused one did.
    let sent: Vec<Received> = local
        .requests()
        .into_iter()
        .chain(cloud.requests())
        .collect();
    assert_eq!(sent.len(), 6);
    for r in &sent {
        let body = r.body.to_string();
        assert!(!body.contains("ann.lee@") && !body.contains(name), "{body}");
    }
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit");
    let events: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let terminal: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| {
            ["restored", "refused", "failed", "cancelled"]
                .contains(&e["event"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(terminal.len(), 12, "{audit}");
    let refused: Vec<_> = terminal
        .iter()
        .filter(|e| e["event"] == "refused")
        .collect();
    assert_eq!(refused.len(), 6);
    assert!(
        refused.iter().all(|e| e["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("egress guard"))),
        "{refused:?}"
    );
    assert_eq!(
        terminal.iter().filter(|e| e["event"] == "restored").count(),
        6
    );
    let mut ids: Vec<&str> = terminal
        .iter()
        .filter_map(|e| e["request"].as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 12, "one terminal event per request");
    assert!(!audit.contains("ann.lee@example.org") && !audit.contains("4111111111111111"));
}

/// `model` picks the router or one backend, or is refused naming what is served; a field
/// the gateway would not honour is refused by name, never dropped.
#[tokio::test(flavor = "multi_thread")]
async fn models_select_a_backend_and_unknown_fields_are_refused() {
    let Setup {
        local,
        cloud,
        dir: _dir,
        gateway,
    } = setup().await;
    let client = reqwest::Client::new();
    let listed: serde_json::Value = client
        .get(format!("{}/models", gateway.base))
        .send()
        .await
        .expect("models")
        .json()
        .await
        .expect("JSON");
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["promptveil", "local-slm", "cloud-llm"]);
    let post = |endpoint: &str, body: serde_json::Value| {
        client
            .post(format!("{}/{endpoint}", gateway.base))
            .json(&body)
            .send()
    };
    let question =
        serde_json::json!([{"role": "user", "content": "Mail ann.lee@example.org the plan."}]);
    for endpoint in ["chat/completions", "messages"] {
        // A backend by name: that one, whichever the router would have chosen.
        for backend in ["local-slm", "cloud-llm"] {
            let r = post(
                endpoint,
                serde_json::json!({"model": backend, "max_tokens": 32, "messages": question}),
            )
            .await
            .expect("answer");
            assert_eq!(r.status().as_u16(), 200, "{endpoint} {backend}");
            assert_eq!(
                r.headers()
                    .get("x-promptveil-backend")
                    .and_then(|v| v.to_str().ok()),
                Some(backend)
            );
        }
        // Not served: refused, naming what is.
        let r = post(
            endpoint,
            serde_json::json!({"model": "gpt-4o", "max_tokens": 32, "messages": question}),
        )
        .await
        .expect("answer");
        assert_eq!(r.status().as_u16(), 400);
        let body: serde_json::Value = r.json().await.expect("JSON");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("local-slm, cloud-llm"), "{message}");
    }
    for (endpoint, field, value) in [
        ("chat/completions", "top_p", serde_json::json!(0.5)),
        ("chat/completions", "n", serde_json::json!(2)),
        (
            "chat/completions",
            "tool_choice",
            serde_json::json!("required"),
        ),
        ("messages", "top_k", serde_json::json!(5)),
        ("messages", "stop_sequences", serde_json::json!(["END"])),
    ] {
        let mut body =
            serde_json::json!({"model": "promptveil", "max_tokens": 32, "messages": question});
        body[field] = value;
        let r = post(endpoint, body).await.expect("answer");
        assert_eq!(r.status().as_u16(), 400, "{endpoint} {field}");
        let body: serde_json::Value = r.json().await.expect("JSON");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("`{field}`")), "{message}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
    // Fields that change nothing here are taken.
    let r = post(
        "chat/completions",
        serde_json::json!({"model": "promptveil", "messages": question, "user": "u-17",
                           "n": 1, "tool_choice": "auto"}),
    )
    .await
    .expect("answer");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(local.requests().len() + cloud.requests().len(), 5);
}

/// With an on-premises tier whose configuration says it takes images, both endpoints, both
/// modes, send an image there and only there, as the image parts of its wire format; the
/// text around it is redacted and the answer restored. Naming the external tier is refused;
/// a recording, which no tier here takes, is a 400 naming the part.
#[tokio::test(flavor = "multi_thread")]
async fn images_go_to_the_on_premises_tier_that_takes_them() {
    let Setup {
        local,
        cloud,
        dir,
        gateway,
    } = setup_with(r#"media = ["image"]"#).await;
    const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk";
    let question = "What does the scan ann.lee@example.org sent say?";
    let chat = serde_json::json!([{"role": "user", "content": [
        {"type": "text", "text": question},
        {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG}")}}]}]);
    let messages = serde_json::json!([{"role": "user", "content": [
        {"type": "text", "text": question},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]}]);
    let client = reqwest::Client::new();
    let post = |endpoint: &str, body: serde_json::Value| {
        client
            .post(format!("{}/{endpoint}", gateway.base))
            .json(&body)
            .send()
    };
    for (endpoint, messages) in [("chat/completions", &chat), ("messages", &messages)] {
        for stream in [false, true] {
            let body = serde_json::json!({"model": "promptveil", "max_tokens": 64,
                                          "stream": stream, "messages": messages});
            let r = post(endpoint, body).await.expect("answer");
            assert_eq!(r.status().as_u16(), 200, "{endpoint} stream={stream}");
            let text = r.text().await.expect("body");
            assert!(
                text.contains("ann.lee@example.org"),
                "{endpoint} stream={stream}: {text}"
            );
        }
        let body = serde_json::json!({"model": "cloud-llm", "max_tokens": 64,
                                      "messages": messages});
        let r = post(endpoint, body).await.expect("answer");
        assert_eq!(r.status().as_u16(), 403, "{endpoint}");
    }
    let sent = local.requests();
    assert_eq!(sent.len(), 4);
    assert!(cloud.requests().is_empty());
    for r in &sent {
        let parts = &r.body["messages"][0]["content"];
        assert_eq!(parts[0]["type"], "text", "{parts}");
        assert!(
            parts[0]["text"]
                .as_str()
                .is_some_and(|t| t.contains("[EMAIL_1]")),
            "{parts}"
        );
        assert_eq!(
            parts[1]["image_url"]["url"],
            format!("data:image/png;base64,{PNG}")
        );
    }
    let audio = serde_json::json!([{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]}]);
    let r = post(
        "chat/completions",
        serde_json::json!({"model": "promptveil", "messages": audio}),
    )
    .await
    .expect("answer");
    assert_eq!(r.status().as_u16(), 400);
    let body: serde_json::Value = r.json().await.expect("JSON error");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("part 0 of message 0 is audio media"),
        "{message}"
    );
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit");
    assert_eq!(audit.matches(r#""event":"media_attached""#).count(), 6);
    assert!(!audit.contains(PNG) && !audit.contains("ann.lee@"));
}
