//! Canaries: unique values planted in a prompt, in a retrieved passage and in a JSON field
//! must never appear in an error's Display or Debug, a log line (every `tracing` event and
//! span field is captured), an audit event, or a payload sent to a backend — on success, on
//! refusal, on backend failure, and while streaming.

mod support;

use support::loopback;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use loopback::{Received, Reply, Server, anthropic_json, openai_error, openai_events, openai_json};
use promptveil::audit::{AuditEvent, AuditSink, JsonLinesSink, RequestId, TracingSink};
use promptveil::backend::ModelBackend;
use promptveil::backend::anthropic::AnthropicBackend;
use promptveil::backend::dispatch::DispatchConfig;
use promptveil::backend::openai::OpenAiBackend;
use promptveil::index::{KnowledgeIndex, LocalRetriever, Passage, SearchMode};
use promptveil::pipeline::{Pipeline, PromptRequest};
use promptveil::redact::{Redactor, Vault};
use promptveil::route::{BackendProfile, DefaultPolicy, Locality, Size};

const MAIL: &str = "zq.canary.7731@example.org";
const JSON_SSN: &str = "512-84-7731";
const PASSAGE_KEY: &str = "AKIAQ7CANARY7731XYZW";

fn canaries() -> [&'static str; 3] {
    [MAIL, JSON_SSN, PASSAGE_KEY]
}

fn assert_clean(what: &str, text: &str) {
    for c in canaries() {
        assert!(!text.contains(c), "{what} holds the canary {c}: {text}");
    }
    // Nor the digits of the SSN in another spelling.
    assert!(
        !text.contains("7731@") && !text.contains("84-7731"),
        "{what}: {text}"
    );
}

/// Every `tracing` event and span, with all their fields, as text.
#[derive(Default)]
struct Capture(Mutex<String>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl tracing::Subscriber for &'static Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut line = format!("span {}", span.metadata().name());
        span.record(&mut Fields(&mut line));
        self.0.lock().expect("log").push_str(&(line + "\n"));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut line = String::from("record");
        values.record(&mut Fields(&mut line));
        self.0.lock().expect("log").push_str(&(line + "\n"));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = format!("event {}", event.metadata().target());
        event.record(&mut Fields(&mut line));
        self.0.lock().expect("log").push_str(&(line + "\n"));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn logs() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::default());
        tracing::subscriber::set_global_default(capture).expect("one subscriber");
        capture
    })
}

/// Audit events go to a JSON Lines file and to `tracing`.
#[derive(Debug)]
struct Both(JsonLinesSink, TracingSink);

impl AuditSink for Both {
    fn record(&self, request: &RequestId, event: &AuditEvent) {
        self.0.record(request, event);
        self.1.record(request, event);
    }
}

fn echo_openai(r: &Received) -> Reply {
    let answer = format!("Re: {}", loopback::question_of(&r.prompt()));
    if r.streaming() {
        let chars: Vec<char> = answer.chars().collect();
        let pieces: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        openai_events(&refs, Some((10, 5)), false)
    } else {
        openai_json(&answer, (10, 5))
    }
}

/// A backend that fails with an error body echoing everything it received.
fn echoing_failure(r: &Received) -> Reply {
    let body = serde_json::json!({"error": {"message": format!("you sent {}", r.prompt()),
                                            "type": format!("bad {}", r.prompt())}});
    Reply::Body {
        status: 500,
        content_type: "application/json",
        headers: Vec::new(),
        body: body.to_string(),
    }
}

fn index(public: bool) -> (Arc<LocalRetriever>, bool) {
    let passages = vec![
        Passage::new(
            "ops#0",
            "ops.md",
            "Nightly export",
            format!("The nightly export job signs in with key {PASSAGE_KEY} and mails {MAIL}."),
        ),
        Passage::new(
            "hours#0",
            "hours.md",
            "Hours",
            "Open from eight on weekdays.",
        ),
    ];
    let index = Arc::new(KnowledgeIndex::build_in_ram(&passages).expect("index"));
    (
        Arc::new(LocalRetriever::new(index, SearchMode::Bm25)),
        public,
    )
}

fn prompt() -> String {
    format!(
        "The nightly export job failed for this record: {{\"patient\": {{\"ssn\": \"{JSON_SSN}\", \"contact\": \"{MAIL}\"}}}}. Why?"
    )
}

fn pipeline(local: &Server, cloud: &Server, public: bool, audit: &std::path::Path) -> Pipeline {
    let (retriever, public) = index(public);
    let local: Arc<dyn ModelBackend> = Arc::new(
        OpenAiBackend::new(
            &local.base,
            "m",
            BackendProfile::new("local", Locality::OnPremises, Size::Small, 8192),
        )
        .expect("backend"),
    );
    let cloud: Arc<dyn ModelBackend> = Arc::new(
        AnthropicBackend::new(
            &cloud.base,
            "c",
            BackendProfile::new("cloud", Locality::External, Size::Large, 100_000),
        )
        .expect("backend"),
    );
    Pipeline::builder()
        .backend(local)
        .backend(cloud)
        .retriever(retriever, public)
        .policy(Arc::new(DefaultPolicy::default().with_escalation(true)))
        .dispatch(DispatchConfig::default().with_backoff(
            1,
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(2),
        ))
        .audit(Arc::new(Both(
            JsonLinesSink::open(audit).expect("audit"),
            TracingSink,
        )))
        .build()
        .expect("pipeline")
}

#[tokio::test(flavor = "multi_thread")]
async fn canaries_never_reach_errors_logs_audit_or_payloads() {
    let logs = logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");

    // 1. Success on premises (restricted data: the external backend is not approved).
    let local = loopback::start(echo_openai).await;
    let cloud = loopback::start(|_: &Received| anthropic_json("unused", (1, 1))).await;
    let p = pipeline(&local, &cloud, false, &audit);
    assert_clean("pipeline Debug", &format!("{p:?}"));
    // With a conversation before the question that repeats the values.
    let req = PromptRequest::new(prompt()).with_history([
        (
            promptveil::enrich::Role::User,
            format!("Earlier I wrote from {MAIL} about {JSON_SSN}."),
        ),
        (
            promptveil::enrich::Role::Assistant,
            format!("Noted, {MAIL}."),
        ),
    ]);
    assert_clean("request Debug", &format!("{req:?}"));
    let out = p.run(req).await.expect("answer");
    assert!(
        out.answer().contains(MAIL),
        "the caller gets the value back"
    );
    assert_clean("output Debug", &format!("{out:?}"));
    assert_clean("sent prompt", out.trace().sent_prompt());
    let sent = local.requests();
    assert_eq!(sent.len(), 1);
    assert_clean("payload", &sent[0].body.to_string());
    assert_eq!(sent[0].messages().len(), 3, "the turns went as messages");
    assert!(
        sent[0].prompt().contains("[SECRET_1]"),
        "the passage was redacted too"
    );
    assert!(cloud.requests().is_empty());

    // Streaming too.
    let mut stream = p
        .run_stream(PromptRequest::new(prompt()))
        .await
        .expect("stream");
    assert_clean("stream Debug", &format!("{stream:?}"));
    let (text, error) = loopback::read_stream(&mut stream).await;
    assert!(error.is_none(), "{error:?}");
    assert!(text.contains(MAIL));
    for r in local.requests() {
        assert_clean("streamed payload", &r.body.to_string());
    }

    // 2. The index wrongly declared public: the egress guard refuses.
    let p = pipeline(&local, &cloud, true, &audit);
    let err = p
        .run(PromptRequest::new(prompt()))
        .await
        .expect_err("refused");
    assert_clean("refusal Display", &err.to_string());
    assert_clean("refusal Debug", &format!("{err:?}"));
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        assert_clean("refusal source", &format!("{s} {s:?}"));
        source = s.source();
    }

    // 3. Backends that fail with error bodies echoing what they received.
    let bad_local = loopback::start(echoing_failure).await;
    let bad_cloud = loopback::start(echoing_failure).await;
    let p = pipeline(&bad_local, &bad_cloud, false, &audit);
    let err = p
        .run(PromptRequest::new(prompt()))
        .await
        .expect_err("all failed");
    assert_clean("failure Display", &err.to_string());
    assert_clean("failure Debug", &format!("{err:?}"));
    for r in bad_local
        .requests()
        .iter()
        .chain(bad_cloud.requests().iter())
    {
        assert_clean("payload to a failing backend", &r.body.to_string());
    }
    // Restricted data: even with escalation allowed, the external backend is never tried.
    assert!(bad_cloud.requests().is_empty());
    let err = p
        .run_stream(PromptRequest::new(prompt()))
        .await
        .expect_err("all failed");
    assert_clean("stream failure", &format!("{err} {err:?}"));
    let refused = loopback::start(|_: &Received| openai_error(401, "invalid_api_key", None)).await;
    let p = pipeline(&refused, &bad_cloud, false, &audit);
    let err = p.run(PromptRequest::new(prompt())).await.expect_err("401");
    assert_clean("401 Display", &format!("{err} {err:?}"));

    // 4. A JSON document redacted field by field.
    let redactor = Redactor::builder().default_rules().build().expect("rules");
    let vault = Vault::new();
    let doc = serde_json::json!({"patient": {"ssn": JSON_SSN, "contact": MAIL,
                                             "notes": [format!("key {PASSAGE_KEY}")]}});
    let red = redactor.redact_json(&doc, &vault).expect("json");
    assert_clean("redacted JSON", &red.value().to_string());
    assert_clean(
        "JSON records",
        &serde_json::to_string(red.records()).expect("records"),
    );
    assert_clean("JSON Debug", &format!("{red:?}"));
    assert_clean("vault Debug", &format!("{vault:?}"));

    // Nothing in the audit trail or in any log line.
    let trail = std::fs::read_to_string(&audit).expect("audit");
    assert!(trail.lines().count() > 10);
    assert_clean("audit trail", &trail);
    let logged = logs.0.lock().expect("log").clone();
    assert!(
        logged.contains("promptveil::audit"),
        "the tracing sink logged"
    );
    assert_clean("log lines", &logged);
}
