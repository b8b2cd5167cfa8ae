//! The OpenAI-compatible backend against loopback servers the test starts, speaking the real
//! wire format: answers, error bodies, rate limits, malformed and oversize answers, refused
//! connections and timeouts.

mod support;

use support::loopback;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use promptveil::backend::openai::{ApiKey, OpenAiBackend};
use promptveil::backend::{BackendError, BackendRequest, ModelBackend};
use promptveil::enrich::{HeuristicCounter, Template, enrich};
use promptveil::redact::{Redactor, Vault};
use promptveil::route::{BackendProfile, Locality, Size};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One canned HTTP answer.
struct Canned {
    status: &'static str,
    content_type: &'static str,
    extra: &'static str,
    body: String,
}

fn ok_json(body: &str) -> Canned {
    Canned {
        status: "200 OK",
        content_type: "application/json",
        extra: "",
        body: body.to_string(),
    }
}

/// What the server received: head and body of each request.
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// Serves the canned answers in order, one per connection, on 127.0.0.1; `None` means accept
/// and never answer.
async fn serve(answers: Vec<Option<Canned>>) -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let received: Received = Arc::default();
    let log = received.clone();
    tokio::spawn(async move {
        for answer in answers {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0_u8; 4096];
            let (head, body) = loop {
                let n = socket.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break (String::new(), String::new());
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let head = text[..end].to_string();
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        let body =
                            String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into_owned();
                        break (head, body);
                    }
                }
            };
            log.lock().expect("log").push((head, body));
            match answer {
                Some(c) => {
                    let reply = format!(
                        "HTTP/1.1 {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n{}\r\n{}",
                        c.status,
                        c.content_type,
                        c.body.len(),
                        c.extra,
                        c.body
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                    let _ = socket.shutdown().await;
                }
                None => {
                    // Hold the connection open without answering.
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            }
        }
    });
    (format!("http://{addr}/v1"), received)
}

fn profile() -> BackendProfile {
    BackendProfile::new("local-slm", Locality::OnPremises, Size::Small, 8192)
}

fn request(question: &str) -> BackendRequest {
    let redactor = Redactor::builder().default_rules().build().expect("rules");
    let vault = Vault::new();
    let q = redactor.redact(question, &vault);
    let prompt = enrich(
        &Template::parse("{question}").expect("template"),
        "",
        q.text(),
        &[],
        1000,
        &HeuristicCounter,
    )
    .expect("fits");
    BackendRequest::new(prompt, 64, 0.2)
}

const ANSWER: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"smollm2-135m","choices":[{"index":0,"message":{"role":"assistant","content":"Write to [EMAIL_1] today."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#;

#[tokio::test]
async fn a_completion_round_trip_speaks_the_wire_format() {
    let (url, received) = serve(vec![Some(ok_json(ANSWER))]).await;
    let backend = OpenAiBackend::new(&url, "smollm2", profile())
        .expect("backend")
        .with_api_key(ApiKey::new("sk-loopback-key"));
    let r = backend
        .complete(&request("Mail ana@example.com about the plan"))
        .await
        .expect("answer");
    assert_eq!(r.text, "Write to [EMAIL_1] today.");
    assert_eq!(r.model, "smollm2-135m");
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    let usage = r.usage.expect("usage");
    assert_eq!((usage.input_tokens, usage.output_tokens), (12, 7));
    let log = received.lock().expect("log");
    let (head, body) = &log[0];
    assert!(
        head.starts_with("POST /v1/chat/completions HTTP/1.1"),
        "{head}"
    );
    assert!(
        head.to_lowercase()
            .contains("authorization: bearer sk-loopback-key")
    );
    let sent: serde_json::Value = serde_json::from_str(body).expect("json body");
    assert_eq!(sent["model"], "smollm2");
    assert_eq!(sent["messages"][0]["role"], "user");
    assert_eq!(
        sent["messages"][0]["content"],
        "Mail [EMAIL_1] about the plan"
    );
    assert_eq!(sent["max_tokens"], 64);
    // The raw value never reached the server.
    assert!(!body.contains("ana@example.com"));
    // The key never shows in Debug.
    assert!(!format!("{backend:?}").contains("sk-loopback-key"));
}

/// The request line of each request a server received.
fn request_lines(received: &Received) -> Vec<String> {
    received
        .lock()
        .expect("log")
        .iter()
        .map(|(head, _)| head.lines().next().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_configured_proxy_carries_every_call() {
    // Nothing listens on the backend's own port: the answer can only come through the proxy.
    let (proxy, through_proxy) = serve(vec![Some(ok_json(ANSWER))]).await;
    let proxy = proxy.trim_end_matches("/v1");
    let backend = OpenAiBackend::new("http://127.0.0.1:9/v1", "smollm2", profile())
        .expect("backend")
        .with_proxy(proxy)
        .expect("proxy");
    let r = backend.complete(&request("Hello")).await.expect("answer");
    assert_eq!(r.text, "Write to [EMAIL_1] today.");
    assert_eq!(
        request_lines(&through_proxy),
        ["POST http://127.0.0.1:9/v1/chat/completions HTTP/1.1"]
    );
    let bad = OpenAiBackend::new("http://127.0.0.1:9/v1", "smollm2", profile())
        .expect("backend")
        .with_proxy("not a url at all")
        .expect_err("no proxy URL");
    assert!(bad.to_string().contains("proxy URL"), "{bad}");
}

/// The proxy variables apply to a whole process, so this test runs its other half in a child
/// process with them set: an on-premises backend must go straight to its server, an external
/// one through the proxy (which shows the variables were in force).
#[tokio::test]
async fn on_premises_backends_ignore_the_proxy_variables() {
    let (target, at_target) = serve(vec![Some(ok_json(ANSWER))]).await;
    let (proxy, at_proxy) = serve(vec![Some(ok_json(ANSWER))]).await;
    let proxy = proxy.trim_end_matches("/v1").to_string();
    let child_target = target.clone();
    let child_proxy = proxy.clone();
    // Waited for off the runtime, which keeps serving both servers meanwhile.
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "proxy_variables_child",
                "--ignored",
                "--test-threads=1",
            ])
            .env("PROMPTVEIL_TEST_TARGET", &child_target)
            .env("HTTP_PROXY", &child_proxy)
            .env("http_proxy", &child_proxy)
            .env("ALL_PROXY", &child_proxy)
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .status()
    })
    .await
    .expect("joined")
    .expect("child runs");
    assert!(status.success(), "the child test failed");
    let target_path = target.trim_start_matches("http://");
    let target_path = target_path.split_once('/').map_or("", |(_, p)| p);
    assert_eq!(
        request_lines(&at_target),
        [format!("POST /{target_path}/chat/completions HTTP/1.1")],
        "the on-premises call went straight to its server"
    );
    assert_eq!(
        request_lines(&at_proxy),
        [format!("POST {target}/chat/completions HTTP/1.1")],
        "the external call followed the proxy variables"
    );
}

#[tokio::test]
#[ignore = "the child half of on_premises_backends_ignore_the_proxy_variables"]
async fn proxy_variables_child() {
    let Ok(target) = std::env::var("PROMPTVEIL_TEST_TARGET") else {
        return;
    };
    let on_premises = OpenAiBackend::new(&target, "smollm2", profile()).expect("backend");
    on_premises
        .complete(&request("Hello"))
        .await
        .expect("on-premises answer");
    let external = BackendProfile::new("cloud-llm", Locality::External, Size::Large, 200_000);
    let external = OpenAiBackend::new(&target, "gpt", external).expect("backend");
    external
        .complete(&request("Hello"))
        .await
        .expect("external answer");
}

#[tokio::test]
async fn error_statuses_keep_their_kind_and_retry_after() {
    let (url, _) = serve(vec![
        Some(Canned {
            status: "429 Too Many Requests",
            content_type: "application/json",
            extra: "retry-after: 7\r\n",
            body: r#"{"error":{"type":"rate_limit_error","message":"slow down, your prompt was long"}}"#.into(),
        }),
        Some(Canned {
            status: "429 Too Many Requests",
            content_type: "application/json",
            extra: "retry-after: 3600\r\n",
            body: "{}".into(),
        }),
        Some(Canned {
            status: "503 Service Unavailable",
            content_type: "text/plain",
            extra: "",
            body: "overloaded".into(),
        }),
        Some(Canned {
            status: "401 Unauthorized",
            content_type: "application/json",
            extra: "",
            body: r#"{"error":{"code":"invalid_api_key"}}"#.into(),
        }),
    ])
    .await;
    let backend = OpenAiBackend::new(&url, "m", profile()).expect("backend");
    let req = request("hello");
    let e = backend.complete(&req).await.expect_err("429");
    assert_eq!(
        e,
        BackendError::Status {
            code: 429,
            kind: Some("rate_limit_error".into()),
            retry_after: Some(Duration::from_secs(7)),
            should_retry: None,
        }
    );
    assert!(e.is_retryable());
    assert!(!e.to_string().contains("prompt"));
    let e = backend.complete(&req).await.expect_err("429 capped");
    assert!(
        matches!(e, BackendError::Status { retry_after: Some(d), .. } if d == Duration::from_secs(60))
    );
    let e = backend.complete(&req).await.expect_err("503");
    assert!(matches!(
        e,
        BackendError::Status {
            code: 503,
            kind: None,
            ..
        }
    ));
    assert!(e.is_retryable());
    let e = backend.complete(&req).await.expect_err("401");
    assert!(
        matches!(&e, BackendError::Status { code: 401, kind: Some(k), .. } if k == "invalid_api_key")
    );
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn malformed_wrong_type_and_oversize_answers_are_typed_errors() {
    let (url, _) = serve(vec![
        Some(ok_json(r#"{"choices": [ {"message": "#)),
        Some(ok_json(r#"{"object":"chat.completion","choices":[]}"#)),
        Some(Canned {
            status: "200 OK",
            content_type: "text/html",
            extra: "",
            body: "<html>proxy login</html>".into(),
        }),
        Some(ok_json(&format!(
            r#"{{"choices":[{{"message":{{"content":"{}"}}}}]}}"#,
            "x".repeat(5000)
        ))),
    ])
    .await;
    let backend = OpenAiBackend::new(&url, "m", profile())
        .expect("backend")
        .with_max_body(2048);
    let req = request("hello");
    let e = backend.complete(&req).await.expect_err("truncated json");
    assert!(
        matches!(&e, BackendError::Malformed { detail } if detail.contains("truncated")),
        "{e}"
    );
    assert!(!e.is_retryable());
    let e = backend.complete(&req).await.expect_err("no choices");
    assert!(
        matches!(&e, BackendError::Malformed { detail } if detail.contains("no choices")),
        "{e}"
    );
    let e = backend.complete(&req).await.expect_err("html");
    assert!(matches!(e, BackendError::Malformed { .. }));
    let e = backend.complete(&req).await.expect_err("oversize");
    assert_eq!(e, BackendError::TooLarge { limit: 2048 });
}

#[tokio::test]
async fn refused_connections_and_silent_servers_fail_fast() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let backend = OpenAiBackend::new(&format!("http://127.0.0.1:{port}/v1"), "m", profile())
        .expect("backend");
    let e = backend
        .complete(&request("hello"))
        .await
        .expect_err("refused");
    assert!(matches!(e, BackendError::Connect { .. }), "{e:?}");
    assert!(e.is_retryable());
    // The message names the server to start (configuration, not user data).
    assert_eq!(
        e.to_string(),
        format!(
            "cannot reach the backend: http://127.0.0.1:{port}/v1: connection failed (is the \
             server running?)"
        )
    );

    let (url, _) = serve(vec![None]).await;
    let backend = OpenAiBackend::new(&url, "m", profile())
        .expect("backend")
        .with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let e = backend
        .complete(&request("hello"))
        .await
        .expect_err("timeout");
    assert_eq!(e, BackendError::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn base_urls_must_be_http() {
    let e = OpenAiBackend::new("ftp://example", "m", profile()).expect_err("scheme");
    assert!(e.to_string().contains("http://"));
}

mod dispatching {
    use super::*;
    use promptveil::Sensitivity;
    use promptveil::backend::dispatch::{DispatchConfig, Dispatcher};
    use promptveil::route::{DefaultPolicy, RouteSummary, RoutingPolicy};

    fn backend(url: &str, name: &str, locality: Locality) -> Arc<dyn ModelBackend> {
        let size = if locality == Locality::OnPremises {
            Size::Small
        } else {
            Size::Large
        };
        Arc::new(
            OpenAiBackend::new(url, "m", BackendProfile::new(name, locality, size, 8192))
                .expect("backend")
                .with_timeout(Duration::from_secs(5)),
        )
    }

    fn fast() -> DispatchConfig {
        DispatchConfig::default()
            .with_backoff(2, Duration::from_millis(5), Duration::from_millis(20))
            .with_cooldown(3, Duration::from_secs(60))
    }

    fn refused_url() -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        format!("http://127.0.0.1:{port}/v1")
    }

    #[tokio::test]
    async fn transient_failures_are_retried_on_the_same_backend() {
        let (url, received) = serve(vec![
            Some(Canned {
                status: "503 Service Unavailable",
                content_type: "application/json",
                extra: "",
                body: "{}".into(),
            }),
            Some(ok_json(ANSWER)),
        ])
        .await;
        let d = Dispatcher::new(vec![backend(&url, "slm", Locality::OnPremises)], fast())
            .expect("dispatcher");
        let decision = DefaultPolicy::default().route(
            &RouteSummary::new(Sensitivity::Internal, 50, 0.1),
            &d.profiles(),
        );
        let out = d
            .dispatch(&decision, &request("hello"))
            .await
            .expect("answer");
        assert_eq!(out.backend, "slm");
        assert_eq!(out.attempts.len(), 2);
        assert!(
            out.attempts[0]
                .error
                .as_ref()
                .is_some_and(BackendError::is_retryable)
        );
        assert_eq!(received.lock().expect("log").len(), 2);
    }

    /// `x-should-retry` overrides the status code both ways: a 429 the backend calls final
    /// (a spent quota) is not tried again, a 409 it calls worth retrying is.
    #[tokio::test]
    async fn the_backends_word_on_retrying_wins_over_the_status_code() {
        let (url, received) = serve(vec![
            Some(Canned {
                status: "429 Too Many Requests",
                content_type: "application/json",
                extra: "x-should-retry: false\r\n",
                body: r#"{"error":{"type":"insufficient_quota"}}"#.into(),
            }),
            Some(Canned {
                status: "409 Conflict",
                content_type: "application/json",
                extra: "x-should-retry: true\r\n",
                body: "{}".into(),
            }),
            Some(ok_json(ANSWER)),
        ])
        .await;
        let d = Dispatcher::new(vec![backend(&url, "slm", Locality::OnPremises)], fast())
            .expect("dispatcher");
        let decision = DefaultPolicy::default().route(
            &RouteSummary::new(Sensitivity::Internal, 50, 0.1),
            &d.profiles(),
        );
        let err = d
            .dispatch(&decision, &request("hello"))
            .await
            .expect_err("a spent quota");
        assert_eq!(err.attempts.len(), 1);
        assert!(matches!(
            err.attempts[0].error,
            Some(BackendError::Status {
                code: 429,
                should_retry: Some(false),
                ..
            })
        ));
        assert_eq!(received.lock().expect("log").len(), 1);
        let out = d
            .dispatch(&decision, &request("hello"))
            .await
            .expect("answer after the conflict");
        assert_eq!(out.attempts.len(), 2);
        assert_eq!(received.lock().expect("log").len(), 3);
    }

    #[tokio::test]
    async fn fallback_follows_the_chain_and_never_leaves_it() {
        // The on-premises SLM refuses connections; a bigger on-premises model answers.
        let (big, big_log) = serve(vec![Some(ok_json(ANSWER))]).await;
        let (cloud, cloud_log) = serve(vec![Some(ok_json(ANSWER))]).await;
        let slm = refused_url();
        let d = Dispatcher::new(
            vec![
                backend(&slm, "slm", Locality::OnPremises),
                Arc::new(
                    OpenAiBackend::new(
                        &big,
                        "m",
                        BackendProfile::new("big-local", Locality::OnPremises, Size::Large, 8192),
                    )
                    .expect("backend"),
                ),
                backend(&cloud, "cloud", Locality::External),
            ],
            fast(),
        )
        .expect("dispatcher");
        let decision = DefaultPolicy::default().route(
            &RouteSummary::new(Sensitivity::Internal, 50, 0.1),
            &d.profiles(),
        );
        assert_eq!(decision.chain(), ["slm", "big-local"]);
        let out = d
            .dispatch(&decision, &request("hello"))
            .await
            .expect("answer");
        assert_eq!(out.backend, "big-local");
        // Three tries on the SLM (one and two retries), then the next in the chain.
        assert_eq!(
            out.attempts.iter().filter(|a| a.backend == "slm").count(),
            3
        );
        assert_eq!(big_log.lock().expect("log").len(), 1);

        // A chain of the failing SLM alone: the error lists the calls; nothing else is called,
        // and the external backend never is.
        let mut only_slm = decision.clone();
        only_slm.chain.truncate(1);
        let err = d
            .dispatch(&only_slm, &request("hello"))
            .await
            .expect_err("all failed");
        assert!(err.attempts.iter().all(|a| a.backend == "slm"));
        assert!(
            err.to_string().starts_with("every approved backend failed"),
            "{err}"
        );
        assert!(cloud_log.lock().expect("log").is_empty());
    }

    #[tokio::test]
    async fn a_failing_backend_cools_down_and_is_skipped() {
        let slm = refused_url();
        let d = Dispatcher::new(
            vec![backend(&slm, "slm", Locality::OnPremises)],
            DispatchConfig::default()
                .with_backoff(0, Duration::from_millis(1), Duration::from_millis(1))
                .with_cooldown(2, Duration::from_secs(60)),
        )
        .expect("dispatcher");
        let decision = DefaultPolicy::default().route(
            &RouteSummary::new(Sensitivity::Public, 50, 0.1),
            &d.profiles(),
        );
        for _ in 0..2 {
            d.dispatch(&decision, &request("hello"))
                .await
                .expect_err("refused");
        }
        assert_eq!(d.cooling_down(), ["slm"]);
        let err = d
            .dispatch(&decision, &request("hello"))
            .await
            .expect_err("skipped");
        assert!(err.attempts.is_empty());
        assert_eq!(err.skipped, ["slm"]);
        // The routing summary can carry the cooldown, and the policy then refuses.
        let summary =
            RouteSummary::new(Sensitivity::Public, 50, 0.1).with_cooling_down(d.cooling_down());
        assert!(
            DefaultPolicy::default()
                .route(&summary, &d.profiles())
                .is_refused()
        );
    }

    #[tokio::test]
    async fn a_client_error_moves_on_without_retrying() {
        let (a, a_log) = serve(vec![Some(Canned {
            status: "400 Bad Request",
            content_type: "application/json",
            extra: "",
            body: r#"{"error":{"type":"invalid_request_error"}}"#.into(),
        })])
        .await;
        let (b, _) = serve(vec![Some(ok_json(ANSWER))]).await;
        let d = Dispatcher::new(
            vec![
                backend(&a, "a", Locality::OnPremises),
                Arc::new(
                    OpenAiBackend::new(
                        &b,
                        "m",
                        BackendProfile::new("b", Locality::OnPremises, Size::Large, 8192),
                    )
                    .expect("backend"),
                ),
            ],
            fast(),
        )
        .expect("dispatcher");
        let decision = DefaultPolicy::default().route(
            &RouteSummary::new(Sensitivity::Public, 50, 0.1),
            &d.profiles(),
        );
        let out = d
            .dispatch(&decision, &request("hello"))
            .await
            .expect("answer");
        assert_eq!(out.backend, "b");
        assert_eq!(a_log.lock().expect("log").len(), 1);
    }

    #[test]
    fn backend_names_are_unique() {
        let err = Dispatcher::new(
            vec![
                backend("http://127.0.0.1:1/v1", "x", Locality::OnPremises),
                backend("http://127.0.0.1:2/v1", "x", Locality::OnPremises),
            ],
            DispatchConfig::default(),
        )
        .expect_err("duplicate");
        assert!(err.to_string().contains("`x`"));
    }
}

/// The Anthropic Messages backend against a loopback server speaking its wire format.
mod anthropic {
    use super::loopback::{self, Reply, anthropic_error, anthropic_events, anthropic_json};
    use super::*;
    use futures_util::StreamExt;
    use promptveil::backend::anthropic::AnthropicBackend;
    use promptveil::backend::{BackendError, StreamEvent};

    fn backend(base: &str) -> AnthropicBackend {
        AnthropicBackend::new(base, "claude-test", profile())
            .expect("backend")
            .with_api_key(ApiKey::new("sk-ant-secret-123"))
            .with_timeout(Duration::from_secs(3))
    }

    #[tokio::test]
    async fn messages_round_trip_in_json_and_events() {
        let server = loopback::start(|r| {
            if r.streaming() {
                anthropic_events(&["Hel", "lo ", "[EMAIL_1]"], (31, 4), None)
            } else {
                Reply::Body {
                    status: 200,
                    content_type: "application/json",
                    headers: Vec::new(),
                    body: serde_json::json!({
                        "id": "msg_1", "type": "message", "role": "assistant",
                        "model": "claude-test-0", "stop_reason": "max_tokens",
                        "content": [{"type": "text", "text": "Part one. "},
                                    {"type": "tool_use", "id": "t", "name": "x", "input": {}},
                                    {"type": "text", "text": "Part two."}],
                        "usage": {"input_tokens": 12, "output_tokens": 5}
                    })
                    .to_string(),
                }
            }
        })
        .await;
        let b = backend(&server.base);
        let r = b
            .complete(&request("mail a@b.example"))
            .await
            .expect("answer");
        assert_eq!(r.text, "Part one. Part two.");
        assert_eq!(r.model, "claude-test-0");
        assert_eq!(r.finish_reason.as_deref(), Some("max_tokens"));
        assert_eq!(
            r.usage.map(|u| (u.input_tokens, u.output_tokens)),
            Some((12, 5))
        );
        let sent = &server.requests()[0];
        assert!(sent.line.starts_with("POST /v1/messages "));
        assert_eq!(sent.header("x-api-key"), Some("sk-ant-secret-123"));
        assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(sent.body["model"], "claude-test");
        assert_eq!(sent.body["messages"][0]["role"], "user");
        assert!(sent.body["max_tokens"].as_u64().is_some());
        assert!(!format!("{b:?}").contains("sk-ant-secret-123"));

        let mut stream = b.stream(&request("hi")).await.expect("stream");
        let mut text = String::new();
        let mut finished = None;
        while let Some(event) = stream.next().await {
            match event.expect("event") {
                StreamEvent::Delta(t) => text.push_str(&t),
                StreamEvent::Finished {
                    usage,
                    model,
                    finish_reason,
                } => finished = Some((usage, model, finish_reason)),
                _ => {}
            }
        }
        assert_eq!(text, "Hello [EMAIL_1]");
        let (usage, model, reason) = finished.expect("finished");
        assert_eq!(
            usage.map(|u| (u.input_tokens, u.output_tokens)),
            Some((31, 4))
        );
        assert_eq!(model, "fake-claude");
        assert_eq!(reason.as_deref(), Some("end_turn"));
    }

    #[tokio::test]
    async fn anthropic_errors_are_typed() {
        let server = loopback::start(|r| match r.body["model"].as_str() {
            Some("rate") => Reply::Body {
                status: 429,
                content_type: "application/json",
                headers: vec![("retry-after", "7".into())],
                body: r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}"#
                    .into(),
            },
            Some("overloaded") => anthropic_error(529, "overloaded_error"),
            Some("html") => Reply::Body {
                status: 200,
                content_type: "text/html",
                headers: Vec::new(),
                body: "<html>proxy</html>".into(),
            },
            Some("notext") => anthropic_json("", (1, 0)),
            Some("midstream") => anthropic_events(&["a"], (1, 1), Some("overloaded_error")),
            _ => Reply::Body {
                status: 200,
                content_type: "application/json",
                headers: Vec::new(),
                body: r#"{"type":"message","content":[{"type":"text""#.into(),
            },
        })
        .await;
        let with = |model: &str| {
            AnthropicBackend::new(&server.base, model, profile())
                .expect("backend")
                .with_timeout(Duration::from_secs(3))
        };
        let e = with("rate").complete(&request("x")).await.expect_err("429");
        assert_eq!(
            e,
            BackendError::Status {
                code: 429,
                kind: Some("rate_limit_error".into()),
                retry_after: Some(Duration::from_secs(7)),
                should_retry: None,
            }
        );
        let e = with("overloaded")
            .complete(&request("x"))
            .await
            .expect_err("529");
        assert!(e.is_retryable(), "{e}");
        assert!(e.to_string().contains("529 (overloaded_error)"), "{e}");
        let e = with("html")
            .complete(&request("x"))
            .await
            .expect_err("html");
        assert!(matches!(e, BackendError::Malformed { .. }), "{e}");
        // A stream asked for and JSON answered is not an event stream either.
        let e = with("html")
            .stream(&request("x"))
            .await
            .err()
            .expect("not SSE");
        assert!(e.to_string().contains("text/event-stream"), "{e}");
        let e = with("truncated")
            .complete(&request("x"))
            .await
            .expect_err("bad json");
        assert!(e.to_string().contains("truncated"), "{e}");
        // An answer whose only text block is empty is still an answer (empty text).
        let r = with("notext")
            .complete(&request("x"))
            .await
            .expect("empty text");
        assert_eq!(r.text, "");
        let mut s = with("midstream")
            .stream(&request("x"))
            .await
            .expect("stream");
        assert!(matches!(s.next().await, Some(Ok(StreamEvent::Delta(_)))));
        let e = s.next().await.expect("error event").expect_err("error");
        assert_eq!(
            e,
            BackendError::Remote {
                kind: Some("overloaded_error".into())
            }
        );
        assert!(e.is_retryable());
        assert!(s.next().await.is_none(), "the stream ends after an error");
    }
}

/// A backend takes at most `max_concurrency` calls at once; the others wait for a slot.
#[tokio::test(flavor = "multi_thread")]
async fn calls_beyond_the_concurrency_limit_wait_their_turn() {
    use loopback::{Reply, openai_json};
    let server = loopback::start(|_| {
        Reply::Late(
            Duration::from_millis(150),
            Box::new(openai_json("ok", (1, 1))),
        )
    })
    .await;
    let backend = Arc::new(
        OpenAiBackend::new(&server.base, "m", profile())
            .expect("backend")
            .with_max_concurrency(2),
    );
    let started = Instant::now();
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let b = backend.clone();
            tokio::spawn(async move { b.complete(&request("hi")).await })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.expect("task").expect("answer").text, "ok");
    }
    // Three waves of two: never all six at once.
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 6);
}
