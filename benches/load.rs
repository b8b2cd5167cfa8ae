//! Load: rounds of 1,000 concurrent requests through one `Pipeline` to a loopback backend
//! speaking the OpenAI wire format over real HTTP (in this process, so it shares the 2 cores).
//! Prints throughput, latency from submission (p50/p90/p99) and memory (resident set before,
//! after, and its peak). Correctness under the same load is `tests/load.rs`.
//!
//! Run: `cargo bench --features http --bench load`.

#[path = "../tests/support/loopback.rs"]
mod loopback;

use std::sync::Arc;
use std::time::{Duration, Instant};

use loopback::{Received, openai_json};
use promptveil::backend::openai::OpenAiBackend;
use promptveil::pipeline::{Pipeline, PromptRequest};
use promptveil::redact::Redactor;
use promptveil::route::{BackendProfile, Locality, Size};

/// `VmRSS` and `VmHWM` of this process, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let server = loopback::start(|r: &Received| {
            openai_json(&format!("Re: {}", loopback::question_of(&r.prompt())), (10, 5))
        })
        .await;
        let backend = OpenAiBackend::new(
            &server.base,
            "m",
            BackendProfile::new("local", Locality::OnPremises, Size::Small, 8192),
        )
        .expect("backend");
        // The rules alone, whatever features are built: the load on the pipeline, not the NER.
        let rules = Redactor::builder().default_rules().build().expect("rules");
        let pipeline = Pipeline::builder()
            .redactor(rules)
            .backend(Arc::new(backend))
            .build()
            .expect("pipeline");
        let (rss_before, _) = memory();
        for round in 0..10 {
            let started = Instant::now();
            let tasks: Vec<_> = (0..1000)
                .map(|i| {
                    let p = pipeline.clone();
                    let submitted = Instant::now();
                    tokio::spawn(async move {
                        let mail = format!("user{i}@load.example");
                        let out = p
                            .run(PromptRequest::new(format!(
                                "Tell {mail} at +44 20 7946 {i:04} that the results are in."
                            )))
                            .await
                            .expect("answer");
                        assert!(out.answer().contains(&mail));
                        submitted.elapsed()
                    })
                })
                .collect();
            let mut latencies = Vec::with_capacity(1000);
            for t in tasks {
                latencies.push(t.await.expect("task"));
            }
            let wall = started.elapsed();
            latencies.sort();
            // The stand-in server keeps what it received; forget it, so memory is ours.
            assert_eq!(server.received.lock().expect("log").drain(..).count(), 1000);
            let (rss, peak) = memory();
            println!(
                "round {round}: 1000 concurrent requests in {:.2} s = {:.0} requests/s; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms; RSS {rss:.0} MiB (before {rss_before:.0}, peak {peak:.0})",
                wall.as_secs_f64(),
                1000.0 / wall.as_secs_f64(),
                percentile(&latencies, 0.5),
                percentile(&latencies, 0.9),
                percentile(&latencies, 0.99),
            );
        }
    });
}
