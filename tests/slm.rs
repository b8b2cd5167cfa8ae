//! End to end with a real on-premises SLM: llama.cpp's OpenAI-compatible server (the
//! `xllamacpp` wheel) serving SmolLM2-135M-Instruct on 127.0.0.1, started by this test.
//!
//! A prompt with personal data goes through the `Pipeline`: redacted, enriched with redacted
//! passages from the clinic index (the same vault), routed (restricted data: on premises only,
//! with reasons), guarded, dispatched to the SLM — whole and as an event stream — and its
//! answer restored.

#[path = "../examples/support/local.rs"]
mod local;
mod support;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use promptveil::Sensitivity;
use promptveil::audit::JsonLinesSink;
use promptveil::backend::ModelBackend;
use promptveil::backend::openai::OpenAiBackend;
use promptveil::index::{ChunkConfig, KnowledgeIndex, LocalRetriever, SearchMode, ingest_path};
use promptveil::pipeline::{Pipeline, PromptRequest};
use promptveil::route::{BackendProfile, Locality, Reason, Size};

/// Fetches the assets if they are missing, then starts the SLM with the examples' launcher.
fn start_slm() -> local::Slm {
    let assets = support::assets();
    support::fetch_assets(|| {
        assets.join("slm/SmolLM2-135M-Instruct.Q4_1.gguf").is_file()
            && assets.join(".venv/bin/python").is_file()
    });
    let slm = local::start_slm().unwrap_or_else(|e| panic!("the SLM server starts: {e}"));
    assert!(
        slm.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        slm.base_url
    );
    slm
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sensitive_prompt_goes_through_the_pipeline_on_premises_and_comes_back_restored() {
    let slm = start_slm();
    let folder = local::root().join("fixtures/knowledge/clinic");
    let (passages, _) = ingest_path(&folder, &ChunkConfig::default()).expect("ingest");
    let index = Arc::new(KnowledgeIndex::build_in_ram(&passages).expect("index"));
    let local: Arc<dyn ModelBackend> = Arc::new(
        OpenAiBackend::new(
            &slm.base_url,
            "smollm2",
            BackendProfile::new("local-slm", Locality::OnPremises, Size::Small, 4096),
        )
        .expect("backend")
        .with_timeout(Duration::from_secs(120)),
    );
    // An external backend nobody answers on: the policy must never pick it for this prompt.
    let external: Arc<dyn ModelBackend> = Arc::new(
        OpenAiBackend::new(
            "http://127.0.0.1:9/v1",
            "gpt",
            BackendProfile::new("cloud-llm", Locality::External, Size::Large, 128_000),
        )
        .expect("backend"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let pipeline = Pipeline::builder()
        .backend(local)
        .backend(external)
        .retriever(
            Arc::new(LocalRetriever::new(index, SearchMode::Bm25)),
            false,
        )
        .top_k(2)
        .budget(1500)
        .instructions("Answer the question from the context in one short sentence.")
        .max_tokens(48)
        .temperature(0.0)
        .audit(Arc::new(JsonLinesSink::open(&audit).expect("audit")))
        .build()
        .expect("pipeline");
    let prompt = "Patient Anna Keller (SSN 512-34-6789, anna.keller@example.com) asks: how long \
                  can a payment plan run? Reply to anna.keller@example.com in one sentence.";

    let out = pipeline
        .run(PromptRequest::new(prompt))
        .await
        .expect("the SLM answers");
    eprintln!("SLM ANSWER: {:?}", out.answer());
    assert_eq!(out.trace().backend(), "local-slm");
    assert_eq!(out.trace().route().chain(), ["local-slm"]);
    assert!(out.trace().route().reasons.iter().any(|r| matches!(
        r,
        Reason::SensitivityExcludes { backend, .. } if backend == "cloud-llm"
    )));
    assert_eq!(
        out.trace().redaction().max_sensitivity,
        Some(Sensitivity::Restricted)
    );
    assert!(
        out.trace().citations()[0]
            .passage_id
            .as_str()
            .starts_with("billing.md#")
    );
    let usage = out.usage().expect("llama.cpp reports usage");
    assert!(usage.input_tokens > 0 && usage.output_tokens > 0);
    assert!(!out.answer().trim().is_empty());
    for placeholder in ["[EMAIL_1]", "[US_SSN_1]"] {
        assert!(!out.answer().contains(placeholder), "{placeholder} left");
    }

    // The same through llama.cpp's event stream, usage from its last chunk.
    let mut stream = pipeline
        .run_stream(PromptRequest::new(prompt))
        .await
        .expect("the SLM streams");
    let mut streamed = String::new();
    while let Some(piece) = stream.next().await {
        streamed.push_str(&piece.expect("piece"));
    }
    eprintln!("SLM STREAM: {streamed:?}");
    assert!(!streamed.trim().is_empty());
    let summary = stream.summary().expect("the stream finished");
    assert!(summary.usage.is_some_and(|u| u.output_tokens > 0));

    let trail = std::fs::read_to_string(&audit).expect("audit");
    assert!(!trail.contains("512-34-6789") && !trail.contains("anna.keller@example.com"));
    assert_eq!(trail.matches("\"event\":\"dispatched\"").count(), 2);
}
