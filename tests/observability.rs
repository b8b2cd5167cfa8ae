//! What a request leaves for operators: its span tree (one span per step under the request,
//! the model call as a GenAI client span) and the Prometheus metrics — counts, levels, types,
//! durations, never a value. Real parts: a tantivy index on disk, a loopback server speaking
//! the OpenAI wire format, the subscriber registry of `tracing-subscriber`.

mod support;

use std::sync::{Arc, Mutex};

use promptveil::audit::Metrics;
use promptveil::backend::openai::OpenAiBackend;
use promptveil::index::{KnowledgeIndex, LocalRetriever, Passage, SearchMode};
use promptveil::pipeline::{Pipeline, PromptRequest};
use promptveil::redact::Redactor;
use promptveil::route::{BackendProfile, Locality, Size};
use support::loopback;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

const EMAIL: &str = "ann.lee@example.org";
const CARD: &str = "4111 1111 1111 1111";

/// One span as the test saw it: name, parent's name, every field written.
#[derive(Debug, Clone)]
struct Seen {
    name: String,
    parent: Option<String>,
    fields: Vec<(String, String)>,
}

#[derive(Default, Clone)]
struct Spans(Arc<Mutex<Vec<(u64, Seen)>>>);

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .push((field.name().to_string(), format!("{value:?}")));
    }
}

impl<S> tracing_subscriber::Layer<S> for Spans
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .map(|p| p.name().to_string());
        let mut fields = Vec::new();
        attrs.record(&mut Fields(&mut fields));
        let seen = Seen {
            name: attrs.metadata().name().to_string(),
            parent,
            fields,
        };
        self.0.lock().expect("spans").push((id.into_u64(), seen));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut spans = self.0.lock().expect("spans");
        if let Some((_, seen)) = spans.iter_mut().rev().find(|(i, _)| *i == id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }
}

fn field<'a>(s: &'a Seen, name: &str) -> Option<&'a str> {
    s.fields
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_request_leaves_a_span_per_step_and_metrics_without_a_value() {
    let server = loopback::start(|r| {
        let answer = format!("Re: {}", loopback::question_of(&r.prompt()));
        if r.streaming() {
            loopback::openai_events(&[&answer], Some((30, 6)), false)
        } else {
            loopback::openai_json(&answer, (30, 6))
        }
    })
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let passages = [Passage::new(
        "billing.md#0",
        "billing.md",
        "Billing",
        "A card charged twice is refunded within five days; write to billing.",
    )];
    let index = KnowledgeIndex::build(&dir.path().join("index"), &passages).expect("index");
    let profile = BackendProfile::new("local-slm", Locality::OnPremises, Size::Small, 8192)
        .with_prices(1.0, 2.0);
    let backend = OpenAiBackend::new(&server.base, "smollm2", profile).expect("backend");
    let metrics = Arc::new(Metrics::new());
    let pipeline = Pipeline::builder()
        .redactor(Redactor::builder().default_rules().build().expect("rules"))
        .retriever(
            Arc::new(LocalRetriever::new(Arc::new(index), SearchMode::Bm25)),
            false,
        )
        .backend(Arc::new(backend))
        .metrics(metrics.clone())
        .build()
        .expect("pipeline");

    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _default = tracing::subscriber::set_default(subscriber);
    let question = format!("My card {CARD} was charged twice; {EMAIL} asks why.");
    let out = pipeline
        .run(PromptRequest::new(question.as_str()))
        .await
        .expect("answer");
    assert!(out.answer().contains(EMAIL));
    let mut stream = pipeline
        .run_stream(PromptRequest::new(question.as_str()))
        .await
        .expect("stream");
    let (shown, err) = loopback::read_stream(&mut stream).await;
    assert!(err.is_none() && shown.contains(EMAIL));
    drop(stream);

    let seen: Vec<Seen> = spans
        .0
        .lock()
        .expect("spans")
        .iter()
        .map(|(_, s)| s.clone())
        .collect();
    // The tree: steps under the request, twice (whole and streamed).
    let requests: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.name == "promptveil.request")
        .collect();
    assert_eq!(requests.len(), 2);
    for step in [
        "promptveil.redact",
        "promptveil.retrieve",
        "promptveil.enrich",
        "promptveil.route",
        "promptveil.guard",
        "chat",
        "promptveil.restore",
    ] {
        let under: Vec<&Seen> = seen.iter().filter(|s| s.name == step).collect();
        assert_eq!(under.len(), 2, "{step}: {seen:#?}");
        assert!(
            under
                .iter()
                .all(|s| s.parent.as_deref() == Some("promptveil.request")),
            "{step}: {under:#?}"
        );
    }
    let request = requests[0];
    assert_eq!(field(request, "gen_ai.operation.name"), Some("\"chat\""));
    assert_eq!(field(request, "promptveil.backend"), Some("\"local-slm\""));
    assert_eq!(
        field(request, "promptveil.request_id"),
        Some(format!("{:?}", out.trace().request_id().as_str()).as_str())
    );
    let chat = seen.iter().find(|s| s.name == "chat").expect("chat span");
    assert_eq!(field(chat, "otel.name"), Some("\"chat local-slm\""));
    assert_eq!(field(chat, "otel.kind"), Some("\"client\""));
    assert_eq!(field(chat, "gen_ai.usage.input_tokens"), Some("30"));
    assert_eq!(field(chat, "gen_ai.response.model"), Some("\"fake-gpt\""));
    let redact = seen
        .iter()
        .find(|s| s.name == "promptveil.redact")
        .expect("redact");
    assert_eq!(field(redact, "promptveil.entities"), Some("2"));
    assert_eq!(
        field(redact, "promptveil.max_sensitivity"),
        Some("\"restricted\"")
    );
    let retrieve = seen
        .iter()
        .find(|s| s.name == "promptveil.retrieve")
        .expect("retrieve");
    assert_eq!(field(retrieve, "promptveil.passages"), Some("1"));
    // No field of any span holds a value.
    let all = format!("{seen:?}");
    assert!(!all.contains("ann.lee") && !all.contains("4111"), "{all}");

    // The metrics: what happened, in counts.
    let scraped = metrics.encode();
    for line in [
        r#"promptveil_requests_total{outcome="answered",backend="local-slm",sensitivity="restricted"} 2"#,
        r#"promptveil_entities_redacted_total{entity="CREDIT_CARD"} 2"#,
        r#"promptveil_entities_redacted_total{entity="EMAIL"} 2"#,
        r#"promptveil_tokens_total{backend="local-slm",direction="input"} 60"#,
        r#"promptveil_step_duration_seconds_count{step="restore"} 2"#,
        r#"promptveil_step_duration_seconds_count{step="redact"} 2"#,
    ] {
        assert!(scraped.contains(line), "{line}\n{scraped}");
    }
    // 60 input tokens at 1 and 12 output tokens at 2 per million.
    assert!(
        scraped.contains("promptveil_cost_total{backend=\"local-slm\"} 0.000084"),
        "{scraped}"
    );
    assert!(!scraped.contains("ann.lee") && !scraped.contains("4111"));
}
