//! `promptveil serve` as a platform team runs it: keys, probes, limits, errors in each API's
//! shape for every status, request ids, inspection, refusals to start, graceful shutdown.
//! The model behind it is a loopback server speaking the OpenAI wire format.

#[path = "support/gateway.rs"]
mod gateway;
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use support::loopback::{self, Reply};

/// Two keys at once (a rotation), as the environment gives them.
const KEYS: &str = "k-first-7f3a9c2e5b8d1f46, k-second-2c9e7b4a1d6f3e80";

/// A configuration with one on-premises backend at `local`, `server` as its `[server]`
/// table and `extra` after it.
fn config(dir: &Path, local: &str, server: &str, extra: &str) -> PathBuf {
    let path = dir.join("serve.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[routing]
router = "complexity"

[audit]
sink = "jsonl"
path = "audit.jsonl"

[server]
{server}

[[backends]]
name = "local-slm"
api = "openai"
base_url = "{local}"
model = "smollm2"
locality = "on_premises"
size = "small"
context_window = 8192
{extra}
"#
        ),
    )
    .expect("config");
    path
}

fn question(text: &str) -> Value {
    json!({"model": "promptveil", "max_tokens": 32,
           "messages": [{"role": "user", "content": text}]})
}

async fn echo_server() -> loopback::Server {
    loopback::start(|r| {
        let answer = format!("Re: {}", loopback::question_of(&r.prompt()));
        if r.streaming() {
            loopback::openai_events(&[&answer], Some((10, 4)), false)
        } else {
            loopback::openai_json(&answer, (10, 4))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_required_on_the_api_and_not_on_the_probes() {
    let local = echo_server().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = config(
        dir.path(),
        &local.base,
        "api_keys_env = \"PV_TEST_KEYS\"",
        "",
    );
    let server = gateway::start_with_env(&path, &[("PV_TEST_KEYS", KEYS)]);
    let client = reqwest::Client::new();
    let chat = format!("{}/chat/completions", server.base);
    let body = question("Mail ann.lee@example.org the plan.");

    let r = client.post(&chat).json(&body).send().await.expect("answer");
    assert_eq!(r.status().as_u16(), 401);
    let e: Value = r.json().await.expect("JSON");
    assert_eq!(e["error"]["code"], "invalid_api_key", "{e}");
    let r = client
        .post(&chat)
        .bearer_auth("k-first-7f3a9c2e5b8d1f4")
        .json(&body)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status().as_u16(), 401, "a key one character short");
    // Anthropic's clients send x-api-key and read Anthropic's error body.
    let r = client
        .post(format!("{}/messages", server.base))
        .json(&body)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status().as_u16(), 401);
    let e: Value = r.json().await.expect("JSON");
    assert_eq!(e["error"]["type"], "authentication_error", "{e}");

    for key in ["k-first-7f3a9c2e5b8d1f46", "k-second-2c9e7b4a1d6f3e80"] {
        let r = client
            .post(&chat)
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status().as_u16(), 200);
    }
    let r = client
        .post(format!("{}/messages", server.base))
        .header("x-api-key", "k-second-2c9e7b4a1d6f3e80")
        .json(&body)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status().as_u16(), 200);
    let r = client
        .get(format!("{}/healthz", server.root()))
        .send()
        .await
        .expect("health");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(local.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_probes_the_backends_and_the_index() {
    let local = echo_server().await;
    let dir = tempfile::tempdir().expect("dir");
    let passages = [promptveil::index::Passage::new(
        "hours.md#0",
        "hours.md",
        "Opening hours",
        "The clinic opens at eight.",
    )];
    promptveil::index::KnowledgeIndex::build(&dir.path().join("index"), &passages).expect("index");
    // A second backend nobody listens for: the server is still ready (routing goes around
    // it), and the probe names it.
    let dead = "\n[[backends]]\nname = \"gone\"\napi = \"openai\"\n\
                base_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\nlocality = \"on_premises\"\n\
                size = \"large\"\ncontext_window = 8192\n\n[retrieval]\nindex = \"index\"\n";
    let path = config(dir.path(), &local.base, "", dead);
    let server = gateway::start(&path);
    let r = reqwest::get(format!("{}/readyz", server.root()))
        .await
        .expect("ready");
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["backends"]["local-slm"], "ready", "{body}");
    assert!(body["backends"]["gone"]["error"].is_string(), "{body}");
    assert_eq!(body["index"], "ready");
    // No prompt went out to probe.
    assert!(local.requests().iter().all(|r| r.body.is_null()));

    // Only the dead one: not ready.
    let path = config(dir.path(), "http://127.0.0.1:9/v1", "", "");
    let server = gateway::start(&path);
    let r = reqwest::get(format!("{}/readyz", server.root()))
        .await
        .expect("ready");
    assert_eq!(r.status().as_u16(), 503);
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_and_every_error_come_in_the_apis_shape() {
    // A slow model, so a second request arrives while the first is answered.
    let local = loopback::start(|_| {
        Reply::Late(
            Duration::from_millis(1500),
            Box::new(loopback::openai_json("done", (1, 1))),
        )
    })
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let path = config(
        dir.path(),
        &local.base,
        "max_body_bytes = 2048\nmax_concurrency = 1",
        "",
    );
    let server = gateway::start(&path);
    let client = reqwest::Client::new();
    let chat = format!("{}/chat/completions", server.base);
    let error_of = |body: &Value| body["error"]["message"].as_str().unwrap_or("").to_string();

    let big = question(&"word ".repeat(1000));
    let r = client.post(&chat).json(&big).send().await.expect("answer");
    assert_eq!(r.status().as_u16(), 413);
    let e: Value = r.json().await.expect("JSON error");
    assert!(error_of(&e).contains("2048 bytes"), "{e}");

    let first = tokio::spawn({
        let (client, chat) = (client.clone(), chat.clone());
        async move {
            client
                .post(&chat)
                .json(&question("What time is it?"))
                .send()
                .await
                .expect("answer")
                .status()
                .as_u16()
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = client
        .post(&chat)
        .json(&question("And now?"))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let e: Value = r.json().await.expect("JSON error");
    assert_eq!(e["error"]["type"], "rate_limit_error");
    assert_eq!(first.await.expect("join"), 200);

    for (method, url, status, says) in [
        ("GET", chat.clone(), 405, "does not take that method"),
        (
            "POST",
            format!("{}/nothing", server.base),
            404,
            "no such endpoint",
        ),
    ] {
        let r = client
            .request(method.parse().expect("method"), &url)
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status().as_u16(), status);
        let e: Value = r.json().await.expect("JSON error");
        assert!(error_of(&e).contains(says), "{e}");
    }
    // Anthropic's shape on its endpoint.
    let r = client
        .get(format!("{}/messages", server.base))
        .send()
        .await
        .expect("answer");
    let e: Value = r.json().await.expect("JSON error");
    assert_eq!(e["type"], "error", "{e}");

    // A missing model, an empty question: refused before any model is called.
    let before = local.requests().len();
    let mut no_model = question("Hello?");
    no_model.as_object_mut().map(|o| o.remove("model"));
    for (body, says) in [
        (no_model, "`model` is missing"),
        (question("  "), "has no content"),
    ] {
        let r = client.post(&chat).json(&body).send().await.expect("answer");
        assert_eq!(r.status().as_u16(), 400);
        let e: Value = r.json().await.expect("JSON error");
        assert!(error_of(&e).contains(says), "{e}");
    }
    assert_eq!(local.requests().len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_callers_request_id_is_kept_unless_it_holds_a_value() {
    let local = echo_server().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = config(dir.path(), &local.base, "", "");
    let server = gateway::start(&path);
    let client = reqwest::Client::new();
    let chat = format!("{}/chat/completions", server.base);
    let send = |id: &'static str| {
        client
            .post(&chat)
            .header("x-request-id", id)
            .json(&question("Mail ann.lee@example.org the plan."))
            .send()
    };
    let r = send("trace-5f2c-0001").await.expect("answer");
    assert_eq!(r.headers()["x-request-id"], "trace-5f2c-0001");
    let r = send("4111111111111111").await.expect("answer");
    let given = r.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_string();
    assert_ne!(given, "4111111111111111");
    assert_eq!(given.len(), 32);
    // An error carries the id too.
    let r = client
        .post(&chat)
        .header("x-request-id", "trace-5f2c-0002")
        .json(&json!({"model": "promptveil", "messages": []}))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.headers()["x-request-id"], "trace-5f2c-0002");
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit");
    assert!(audit.contains(r#""request":"trace-5f2c-0001""#), "{audit}");
    assert!(audit.contains(&given));
    assert!(!audit.contains("4111111111111111"));
}

#[tokio::test(flavor = "multi_thread")]
async fn inspection_shows_what_the_model_received_and_is_refused_with_an_external_backend() {
    let local = echo_server().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = config(dir.path(), &local.base, "inspect = true", "");
    let server = gateway::start(&path);
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{}/chat/completions", server.base))
        .json(&question("Mail ann.lee@example.org the plan."))
        .send()
        .await
        .expect("answer");
    let body: Value = r.json().await.expect("JSON");
    let sent = &body["promptveil"]["sent"];
    let shown = sent.to_string();
    assert!(shown.contains("[EMAIL_1]"), "{body}");
    assert!(!shown.contains("ann.lee@"), "{body}");
    assert_eq!(body["model"], "local-slm");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Re: Mail ann.lee@example.org the plan."
    );
    // Streamed: in the last chunk.
    let mut streamed = question("Mail ann.lee@example.org the plan.");
    streamed["stream"] = json!(true);
    let text = client
        .post(format!("{}/chat/completions", server.base))
        .json(&streamed)
        .send()
        .await
        .expect("answer")
        .text()
        .await
        .expect("events");
    assert!(
        text.contains(r#""promptveil":{"#) && text.contains("[EMAIL_1]"),
        "{text}"
    );
    assert!(text.contains(r#""model":"local-slm""#), "{text}");

    // With an external backend, inspection must be asked for twice.
    let external = "\n[[backends]]\nname = \"cloud\"\napi = \"openai\"\n\
                    base_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\nlocality = \"external\"\n\
                    size = \"large\"\ncontext_window = 8192\n";
    let path = config(dir.path(), &local.base, "inspect = true", external);
    let (code, said) = gateway::refuses(&path, "127.0.0.1:0");
    assert_eq!(code, Some(2));
    assert!(said.contains("backend `cloud` is external"), "{said}");
    // Without keys, only on loopback.
    let path = config(dir.path(), &local.base, "", "");
    let (code, said) = gateway::refuses(&path, "0.0.0.0:0");
    assert_eq!(code, Some(2));
    assert!(said.contains("without keys"), "{said}");
    assert!(!said.contains("Error {"), "errors are for people: {said}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_the_request_in_flight_finish() {
    let local = loopback::start(|_| {
        Reply::Late(
            Duration::from_millis(1500),
            Box::new(loopback::openai_json("done", (1, 1))),
        )
    })
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let path = config(dir.path(), &local.base, "shutdown_grace_s = 10", "");
    let server = gateway::start(&path);
    let chat = format!("{}/chat/completions", server.base);
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .post(&chat)
            .json(&question("What time is it?"))
            .send()
            .await
            .expect("answer")
            .status()
            .as_u16()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = server.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert_eq!(in_flight.await.expect("join"), 200);
    let status = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.child.wait()
    })
    .await
    .expect("join")
    .expect("exit");
    assert!(status.success(), "{status}");
}

/// The configurations in `examples/config/` start as written: the clinic index built with
/// `promptveil index build` where they look for it, the local model's address pointed at a
/// loopback stand-in, the keys in the environment.
#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_sample_configurations_start() {
    let local = echo_server().await;
    let root = tempfile::tempdir().expect("dir");
    let built = std::process::Command::new(env!("CARGO_BIN_EXE_promptveil"))
        .args(["index", "build"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/knowledge/clinic"
        ))
        .arg("--index")
        .arg(root.path().join("var/clinic-index"))
        .output()
        .expect("index build runs");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    std::fs::create_dir_all(root.path().join("examples/config")).expect("dir");
    let copy = |name: &str| {
        let shipped = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/config")
                .join(name),
        )
        .expect("sample");
        let path = root.path().join("examples/config").join(name);
        let text = shipped.replace("http://127.0.0.1:8080/v1", &local.base);
        std::fs::write(&path, text).expect("copy");
        path
    };
    let client = reqwest::Client::new();
    let ask = |server: &gateway::Gateway, key: Option<&str>| {
        let mut r = client
            .post(format!("{}/chat/completions", server.base))
            .json(&question(
                "Is the card 4111 1111 1111 1111 charged for the vaccination?",
            ));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        r.send()
    };

    let server = gateway::start(&copy("local.toml"));
    let body: Value = ask(&server, None)
        .await
        .expect("answer")
        .json()
        .await
        .expect("JSON");
    let sent = body["promptveil"]["sent"].to_string();
    assert!(
        sent.contains("[CREDIT_CARD_1]") && !sent.contains("4111"),
        "{body}"
    );
    assert!(sent.contains("[1]"), "a cited passage: {sent}");

    let key = "k-sample-9d2f7c4e1a8b3f60";
    let server = gateway::start_with_env(
        &copy("local-and-external.toml"),
        &[
            ("PROMPTVEIL_API_KEYS", key),
            ("ANTHROPIC_API_KEY", "sk-ant-not-used-here"),
        ],
    );
    let r = ask(&server, None).await.expect("answer");
    assert_eq!(r.status().as_u16(), 401);
    let r = ask(&server, Some(key)).await.expect("answer");
    assert_eq!(r.status().as_u16(), 200);
    // The card keeps the request on premises.
    assert_eq!(r.headers()["x-promptveil-backend"], "local-slm");
}

/// `GET /metrics` after an answered request and a refused one: counts by outcome, backend,
/// level, entity type, cause, endpoint and status, step durations — and not one value.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_scraped_without_a_value() {
    let local = echo_server().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = config(dir.path(), &local.base, "", "");
    let server = gateway::start(&path);
    let client = reqwest::Client::new();
    let chat = format!("{}/chat/completions", server.base);
    let r = client
        .post(&chat)
        .json(&question("Mail ann.lee@example.org the plan."))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status().as_u16(), 200);
    // A value the redaction cannot replace (glued into a tool's name): the guard refuses.
    let mut refused = question("Look this up.");
    refused["tools"] = json!([{"type": "function", "function": {
        "name": "lookup_4111111111111111", "parameters": {"type": "object"}}}]);
    let r = client
        .post(&chat)
        .json(&refused)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status().as_u16(), 403);
    let r = client
        .get(format!("{}/metrics", server.root()))
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("application/openmetrics-text"))
    );
    let scraped = r.text().await.expect("text");
    for line in [
        r#"promptveil_requests_total{outcome="answered",backend="local-slm",sensitivity="confidential"} 1"#,
        r#"promptveil_requests_total{outcome="refused",backend="none",sensitivity="public"} 1"#,
        r#"promptveil_refusals_total{cause="egress_guard"} 1"#,
        r#"promptveil_entities_redacted_total{entity="EMAIL"} 1"#,
        r#"promptveil_http_requests_total{endpoint="/v1/chat/completions",status="200"} 1"#,
        r#"promptveil_http_requests_total{endpoint="/v1/chat/completions",status="403"} 1"#,
        r#"promptveil_step_duration_seconds_count{step="guard"} 2"#,
        r#"promptveil_tokens_total{backend="local-slm",direction="output"} 4"#,
    ] {
        assert!(scraped.contains(line), "{line}\n{scraped}");
    }
    assert!(
        !scraped.contains("ann.lee") && !scraped.contains("4111"),
        "{scraped}"
    );
    assert!(scraped.ends_with("# EOF\n"));
}
