//! Fault injection: an on-premises backend that fails in every way an HTTP service can, behind
//! the whole pipeline, with an external backend the policy allows as a fallback.
//!
//! For each fault: the request ends in a typed error or in the approved fallback; no backend
//! ever receives the unredacted values; nothing hangs past its timeout.

mod support;

use support::loopback;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use loopback::{
    Received, Reply, Server, anthropic_events, anthropic_json, openai_error, openai_json,
};
use promptveil::ErrorKind;
use promptveil::backend::ModelBackend;
use promptveil::backend::anthropic::AnthropicBackend;
use promptveil::backend::dispatch::DispatchConfig;
use promptveil::backend::openai::OpenAiBackend;
use promptveil::pipeline::{Pipeline, PromptRequest};
use promptveil::route::{BackendProfile, DefaultPolicy, Locality, Size};

const MAIL: &str = "canary.fault@example.org";
const PHONE: &str = "+44 20 7946 0958";
const TIMEOUT: Duration = Duration::from_millis(400);

fn prompt() -> String {
    format!("Tell {MAIL} (or {PHONE}) when the clinic opens on Saturday.")
}

fn echo_cloud(r: &Received) -> Reply {
    let answer = format!("Re: {}", loopback::question_of(&r.prompt()));
    if r.streaming() {
        anthropic_events(&[&answer], (20, 5), None)
    } else {
        anthropic_json(&answer, (20, 5))
    }
}

fn pipeline(flaky_base: &str, cloud: &Server) -> Pipeline {
    let flaky: Arc<dyn ModelBackend> = Arc::new(
        OpenAiBackend::new(
            flaky_base,
            "m",
            BackendProfile::new("flaky", Locality::OnPremises, Size::Small, 8192),
        )
        .expect("backend")
        .with_timeout(TIMEOUT)
        .with_max_body(64 * 1024),
    );
    let cloud: Arc<dyn ModelBackend> = Arc::new(
        AnthropicBackend::new(
            &cloud.base,
            "c",
            BackendProfile::new("cloud", Locality::External, Size::Large, 100_000),
        )
        .expect("backend")
        .with_timeout(TIMEOUT),
    );
    Pipeline::builder()
        .backend(flaky)
        .backend(cloud)
        .policy(Arc::new(DefaultPolicy::default().with_escalation(true)))
        .dispatch(DispatchConfig::default().with_backoff(
            1,
            Duration::from_millis(1),
            Duration::from_millis(5),
        ))
        .build()
        .expect("pipeline")
}

fn assert_no_values(servers: &[&Server]) {
    for s in servers {
        for r in s.requests() {
            let p = r.prompt();
            assert!(
                !p.contains(MAIL) && !p.contains("7946"),
                "a value left: {p}"
            );
            assert!(p.contains("[EMAIL_1]"), "{p}");
        }
    }
}

/// A port nobody listens on.
fn dead_base() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1")
}

fn body(status: u16, content_type: &'static str, body: String) -> Reply {
    Reply::Body {
        status,
        content_type,
        headers: Vec::new(),
        body,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_http_fault_ends_in_a_typed_error_or_the_approved_fallback() {
    // (name, reply of the flaky server, calls expected on it before the fallback)
    type Make = Box<dyn Fn(&Received) -> Reply + Send + Sync>;
    let cases: Vec<(&str, Make, usize)> = vec![
        (
            "slow headers",
            Box::new(|_: &Received| {
                Reply::Late(
                    Duration::from_secs(3),
                    Box::new(openai_json("late", (1, 1))),
                )
            }),
            2,
        ),
        (
            "429 without Retry-After",
            Box::new(|_: &Received| openai_error(429, "rate_limit_exceeded", None)),
            2,
        ),
        (
            "500",
            Box::new(|_: &Received| openai_error(500, "server_error", None)),
            2,
        ),
        (
            "502",
            Box::new(|_: &Received| body(502, "text/html", "<html>bad gateway</html>".into())),
            2,
        ),
        (
            "503",
            Box::new(|_: &Received| openai_error(503, "overloaded", None)),
            2,
        ),
        (
            "malformed JSON",
            Box::new(|_: &Received| body(200, "application/json", "{\"choices\": [".into())),
            1,
        ),
        (
            "wrong content type",
            Box::new(|_: &Received| body(200, "text/html", "<html>portal</html>".into())),
            1,
        ),
        (
            "oversize body",
            Box::new(|_: &Received| openai_json(&"x".repeat(100 * 1024), (1, 1))),
            1,
        ),
        ("never answers", Box::new(|_: &Received| Reply::Hang), 2),
    ];
    for (name, make, calls) in cases {
        let flaky = loopback::start(make).await;
        let cloud = loopback::start(echo_cloud).await;
        let p = pipeline(&flaky.base, &cloud);
        let started = Instant::now();
        let out = p
            .run(PromptRequest::new(prompt()))
            .await
            .unwrap_or_else(|e| panic!("{name}: no fallback: {e}"));
        let elapsed = started.elapsed();
        assert_eq!(out.trace().backend(), "cloud", "{name}");
        assert_eq!(flaky.requests().len(), calls, "{name}");
        assert_eq!(out.trace().attempts().len(), calls + 1, "{name}");
        assert!(out.answer().contains(MAIL), "{name}: restored");
        // Two tries of at most TIMEOUT each, backoff, and the fallback's answer.
        assert!(
            elapsed < TIMEOUT * 2 + Duration::from_secs(2),
            "{name}: {elapsed:?}"
        );
        assert_no_values(&[&flaky, &cloud]);
    }

    // Connection refused: retried, then the fallback.
    let cloud = loopback::start(echo_cloud).await;
    let out = pipeline(&dead_base(), &cloud)
        .run(PromptRequest::new(prompt()))
        .await
        .expect("fallback");
    assert_eq!(out.trace().backend(), "cloud");
    assert!(
        out.trace().attempts()[0]
            .error
            .as_ref()
            .is_some_and(|e| e.to_string().contains("is the server running"))
    );
    assert_no_values(&[&cloud]);
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured_and_the_same_backend_answers() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let flaky = loopback::start(move |r: &Received| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            openai_error(429, "rate_limit_exceeded", Some(1))
        } else {
            openai_json(
                &format!("Re: {}", loopback::question_of(&r.prompt())),
                (9, 3),
            )
        }
    })
    .await;
    let cloud = loopback::start(echo_cloud).await;
    let started = Instant::now();
    let out = pipeline(&flaky.base, &cloud)
        .run(PromptRequest::new(prompt()))
        .await
        .expect("answer");
    assert_eq!(out.trace().backend(), "flaky");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as asked"
    );
    assert!(cloud.requests().is_empty());
    assert_no_values(&[&flaky]);
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_that_stall_break_or_overflow_end_in_typed_errors_on_time() {
    let chunk = |text: &str| {
        let v = serde_json::json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]});
        format!("data: {v}\n\n")
    };
    let cases: Vec<(&str, Reply, &str)> = vec![
        (
            "stall mid-stream",
            Reply::Stall(vec![chunk("Part one, "), chunk("part two")]),
            "in time",
        ),
        (
            "oversize stream",
            Reply::Events {
                chunks: (0..200).map(|_| chunk(&"y".repeat(1000))).collect(),
                delay: Duration::ZERO,
            },
            "exceeds 65536 bytes",
        ),
        (
            "malformed chunk after text",
            Reply::Events {
                chunks: vec![chunk("Part one, "), "data: {not json}\n\n".into()],
                delay: Duration::ZERO,
            },
            "not a chat completion chunk",
        ),
    ];
    for (name, reply, message) in cases {
        let reply = Arc::new(std::sync::Mutex::new(Some(reply)));
        let flaky = loopback::start(move |_: &Received| {
            reply.lock().expect("lock").take().unwrap_or(Reply::Hang)
        })
        .await;
        let cloud = loopback::start(echo_cloud).await;
        let p = pipeline(&flaky.base, &cloud);
        let started = Instant::now();
        let result = p.run_stream(PromptRequest::new(prompt())).await;
        let mut error = None;
        match result {
            Ok(mut stream) => {
                assert_eq!(stream.trace().backend(), "flaky", "{name}");
                while let Some(piece) = stream.next().await {
                    if let Err(e) = piece {
                        error = Some(e);
                    }
                }
            }
            Err(e) => error = Some(e),
        }
        let error = error.unwrap_or_else(|| panic!("{name}: no error"));
        assert_eq!(error.kind(), ErrorKind::Backend, "{name}");
        // The error says what failed; its source chain says why.
        let chain = support::error_chain(&error);
        assert!(chain.contains(message), "{name}: {chain}");
        assert!(!chain.contains(MAIL));
        assert!(
            started.elapsed() < TIMEOUT * 3 + Duration::from_secs(1),
            "{name}: {:?}",
            started.elapsed()
        );
        // Text was shown: no fallback after the first piece.
        assert!(cloud.requests().is_empty(), "{name}");
        assert_no_values(&[&flaky]);
    }

    // An error before the first piece (JSON where a stream was asked for, or a malformed
    // first chunk) falls back.
    let flaky = loopback::start(|_: &Received| openai_json("not a stream", (1, 1))).await;
    let cloud = loopback::start(echo_cloud).await;
    let mut stream = pipeline(&flaky.base, &cloud)
        .run_stream(PromptRequest::new(prompt()))
        .await
        .expect("the fallback streams");
    assert_eq!(stream.trace().backend(), "cloud");
    let (text, error) = loopback::read_stream(&mut stream).await;
    assert!(error.is_none(), "{error:?}");
    assert!(text.contains(MAIL));
    assert_no_values(&[&flaky, &cloud]);
}
