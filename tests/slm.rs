//! End to end with a real on-premises SLM: llama.cpp's OpenAI-compatible server (the
//! `xllamacpp` wheel) serving SmolLM2-135M-Instruct on 127.0.0.1, started by this test.
//!
//! A prompt with personal data is redacted, enriched with redacted passages from the clinic
//! index (the same vault), routed (restricted data: on premises only, with reasons),
//! dispatched to the SLM, and its answer restored.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use promptveil::Sensitivity;
use promptveil::backend::dispatch::{DispatchConfig, Dispatcher};
use promptveil::backend::openai::OpenAiBackend;
use promptveil::backend::{BackendRequest, ModelBackend};
use promptveil::enrich::{ContextPassage, HeuristicCounter, Template, enrich};
use promptveil::index::{ChunkConfig, KnowledgeIndex, LocalRetriever, SearchMode, ingest_path};
use promptveil::redact::{Redactor, Vault};
use promptveil::route::{
    BackendProfile, DefaultPolicy, Locality, Reason, RouteSummary, RoutingPolicy, Size,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The SLM server, killed when dropped.
struct Slm {
    child: Child,
    url: String,
}

impl Drop for Slm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_slm() -> Slm {
    let assets = promptveil_assets();
    let model = assets.join("slm/SmolLM2-135M-Instruct.Q4_1.gguf");
    let python = assets.join(".venv/bin/python");
    common::fetch_assets(|| model.is_file() && python.is_file());
    let mut child = Command::new(&python)
        .arg(root().join("scripts/slm_server.py"))
        .arg("--model")
        .arg(&model)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the SLM server starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the server says where it listens");
    let url = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    Slm { child, url }
}

fn promptveil_assets() -> PathBuf {
    std::env::var_os("PROMPTVEIL_ASSETS").map_or_else(|| root().join("assets"), PathBuf::from)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sensitive_prompt_goes_on_premises_and_comes_back_restored() {
    let slm = start_slm();
    let redactor = Redactor::builder().build().expect("rules");
    let vault = Vault::new();
    let question = redactor.redact(
        "Patient Anna Keller (SSN 512-34-6789, anna.keller@example.com) asks: how long can a \
         payment plan run? Reply to anna.keller@example.com in one sentence.",
        &vault,
    );
    assert!(!question.text().as_str().contains("anna.keller@example.com"));
    assert_eq!(
        question.report().max_sensitivity,
        Some(Sensitivity::Restricted)
    );

    // Retrieval from the clinic index; passages redacted with the same vault.
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/knowledge/clinic");
    let (passages, _) = ingest_path(&folder, &ChunkConfig::default()).expect("ingest");
    let index = Arc::new(KnowledgeIndex::build_in_ram(&passages).expect("index"));
    let hits = LocalRetriever::new(index, SearchMode::Bm25)
        .search("how long can a payment plan run", 2)
        .expect("search");
    let context: Vec<ContextPassage> = hits
        .iter()
        .map(|h| {
            let red = redactor.redact(&h.passage.text, &vault).into_parts().0;
            ContextPassage::redacted(&h.passage, red)
        })
        .collect();
    let prompt = enrich(
        &Template::default(),
        "Answer the question from the context in one short sentence.",
        question.text(),
        &context,
        1500,
        &HeuristicCounter,
    )
    .expect("fits");
    assert!(prompt.citations()[0].passage_id.starts_with("billing.md#"));

    // Routing: restricted data never leaves; the external backend is excluded with a reason.
    let local: Arc<dyn ModelBackend> = Arc::new(
        OpenAiBackend::new(
            &format!("{}/v1", slm.url),
            "smollm2",
            BackendProfile::new("local-slm", Locality::OnPremises, Size::Small, 4096),
        )
        .expect("backend")
        .with_timeout(Duration::from_secs(120)),
    );
    let external: Arc<dyn ModelBackend> = Arc::new(
        OpenAiBackend::new(
            "http://127.0.0.1:9/v1",
            "gpt",
            BackendProfile::new("cloud-llm", Locality::External, Size::Large, 128_000),
        )
        .expect("backend"),
    );
    let dispatcher =
        Dispatcher::new(vec![local, external], DispatchConfig::default()).expect("dispatcher");
    let summary = RouteSummary::new(
        question
            .report()
            .max_sensitivity
            .unwrap_or(Sensitivity::Public),
        prompt.tokens(),
        0.9,
    )
    .with_tokens_out(48);
    let decision = DefaultPolicy::default().route(&summary, &dispatcher.profiles());
    assert_eq!(decision.chain(), ["local-slm"]);
    assert!(decision.reasons.iter().any(|r| matches!(
        r,
        Reason::SensitivityExcludes { backend, .. } if backend == "cloud-llm"
    )));

    let request = BackendRequest::new(&prompt, 48, 0.0);
    assert!(!request.prompt().contains("512-34-6789"));
    let out = dispatcher
        .dispatch(&decision, &request)
        .await
        .expect("the SLM answers");
    assert_eq!(out.backend, "local-slm");
    let usage = out.response.usage.expect("llama.cpp reports usage");
    assert!(usage.input_tokens > 0 && usage.output_tokens > 0);
    assert!(!out.response.text.trim().is_empty());

    // Restore: every placeholder the vault knows is put back.
    let restored = vault.restore(&out.response.text);
    eprintln!("SLM ANSWER: {:?}", out.response.text);
    for placeholder in ["[EMAIL_1]", "[US_SSN_1]"] {
        assert!(
            !restored.text().contains(placeholder),
            "{placeholder} left in the answer"
        );
    }
}
