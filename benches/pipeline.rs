//! The pipeline's own overhead: everything but the model and the embeddings.
//!
//! A 2 KB prompt with personal data goes through redaction (the built-in rules), BM25
//! retrieval of 4 passages from an on-disk index (SciFact's 5,183 abstracts when
//! `../shared/eval/ir/scifact` is there, else the clinic fixtures), redaction of those passages,
//! enrichment, complexity scoring, routing, the egress guard's re-scan, dispatch to an
//! in-process backend that answers at once (echoing the question, so restoring has
//! placeholders to put back), and restoring.
//!
//! - `pipeline/run-2kb`: one request at a time (criterion).
//! - `pipeline/sequential`, `pipeline/64-concurrent`: printed, not criterion: 2,000 requests
//!   one after the other, then rounds of 64 requests in flight at once on a 2-worker runtime;
//!   per-request latency p50/p90/p99 and throughput. With 64 in flight on 2 cores a request
//!   mostly waits for the 63 others: its latency is queueing. The overhead under that load is
//!   the time each request spends being polled (its own work, contention included): the index
//!   is searched inline for this, not on the blocking pool.
//!
//! Run: `cargo bench --bench pipeline`.

use std::future::Future;
use std::hint::black_box;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use promptveil::backend::{BackendError, BackendRequest, BackendResponse, ModelBackend, Usage};
use promptveil::index::{
    ChunkConfig, Hit, KnowledgeIndex, LocalRetriever, Retriever, SearchMode, ingest_path,
};
use promptveil::pipeline::{Pipeline, PromptRequest};
use promptveil::redact::Redactor;
use promptveil::route::{BackendProfile, Locality, Size};

/// Answers at once with the question line of the prompt.
#[derive(Debug)]
struct Instant0 {
    profile: BackendProfile,
}

#[async_trait]
impl ModelBackend for Instant0 {
    fn profile(&self) -> &BackendProfile {
        &self.profile
    }

    async fn complete(&self, request: &BackendRequest) -> Result<BackendResponse, BackendError> {
        let question = request
            .prompt()
            .lines()
            .find_map(|l| l.strip_prefix("Question: "))
            .unwrap_or_default();
        Ok(
            BackendResponse::new(format!("Noted: {question}"), "instant").with_usage(Usage {
                input_tokens: 1,
                output_tokens: 1,
            }),
        )
    }
}

/// The local index searched on the calling thread (the shipped retriever hops to the blocking
/// pool), so that the time a request spends being polled is all of its work.
#[derive(Debug)]
struct Inline(LocalRetriever);

#[async_trait]
impl Retriever for Inline {
    async fn retrieve(&self, query: &str, k: usize) -> promptveil::Result<Vec<Hit>> {
        self.0.search(query, k)
    }
}

/// A future and the time spent polling it: the work it did, without the time it waited for
/// a worker thread.
struct Busy<F> {
    inner: Pin<Box<F>>,
    busy: Duration,
}

impl<F: Future> Future for Busy<F> {
    type Output = (F::Output, Duration);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let t = Instant::now();
        let r = self.inner.as_mut().poll(cx);
        self.busy += t.elapsed();
        let busy = self.busy;
        r.map(|out| (out, busy))
    }
}

fn prompt() -> String {
    let mut p = String::from(
        "Hello, this is Dr. Maria Lopez from the cardiology ward. Our patient, born 14/03/1961, \
         reachable at maria.lopez.family@example.com or +44 20 7946 0958, asked whether the \
         recent findings on statin therapy and muscle symptoms apply to her. Her card ending \
         4111 1111 1111 1111 was charged for the last consultation and her insurance number is \
         on file. ",
    );
    let filler = "She has taken atorvastatin for six years, reports mild muscle pain after \
                  exercise, and wants to know whether vitamin D levels, coenzyme Q10 or a dose \
                  change could explain it. ";
    while p.len() < 1990 {
        p.push_str(filler);
    }
    p.push_str("What does the evidence say, and what should we check first?");
    p
}

fn pipeline() -> (Pipeline, tempfile::TempDir) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scifact = root.join("../shared/eval/ir/scifact/corpus.jsonl");
    let source = if scifact.is_file() {
        scifact
    } else {
        root.join("fixtures/knowledge/clinic")
    };
    let (passages, _) = ingest_path(&source, &ChunkConfig::default()).expect("ingest");
    let tmp = tempfile::tempdir().expect("tempdir");
    let index =
        Arc::new(KnowledgeIndex::build(&tmp.path().join("index"), &passages).expect("index"));
    eprintln!("{} passages from {}", passages.len(), source.display());
    let backend = Arc::new(Instant0 {
        profile: BackendProfile::new("instant", Locality::OnPremises, Size::Small, 32_768),
    });
    // The rules alone, whatever features are built (with `ner` the default redactor runs the
    // model too; its cost is `--bench ner`'s).
    let rules = Redactor::builder().default_rules().build().expect("rules");
    let pipeline = Pipeline::builder()
        .redactor(rules)
        .backend(backend)
        .retriever(
            Arc::new(Inline(LocalRetriever::new(index, SearchMode::Bm25))),
            false,
        )
        .top_k(4)
        .build()
        .expect("pipeline");
    (pipeline, tmp)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn bench(c: &mut Criterion) {
    let (pipeline, _tmp) = pipeline();
    let prompt = prompt();
    assert!(prompt.len() >= 2000, "{}", prompt.len());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let out = runtime
        .block_on(pipeline.run(PromptRequest::new(prompt.clone())))
        .expect("answer");
    assert!(out.answer().contains("maria.lopez.family@example.com"));
    eprintln!(
        "{} findings redacted, {} citations, complexity {:.2}",
        out.trace().redaction().len(),
        out.trace().citations().len(),
        out.trace().complexity().score
    );

    c.bench_function("pipeline/run-2kb", |b| {
        b.iter(|| {
            runtime
                .block_on(pipeline.run(PromptRequest::new(black_box(prompt.clone()))))
                .expect("answer")
        });
    });

    // One request at a time: the overhead's own distribution.
    let mut alone: Vec<Duration> = (0..2000)
        .map(|_| {
            let t = Instant::now();
            runtime
                .block_on(pipeline.run(PromptRequest::new(prompt.clone())))
                .expect("answer");
            t.elapsed()
        })
        .collect();
    alone.sort();
    eprintln!(
        "pipeline/sequential: {} requests, p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms",
        alone.len(),
        percentile(&alone, 0.50).as_secs_f64() * 1e3,
        percentile(&alone, 0.90).as_secs_f64() * 1e3,
        percentile(&alone, 0.99).as_secs_f64() * 1e3,
    );

    // 64 requests in flight, many rounds: each request's own latency, queueing included
    // (64 requests on 2 cores wait for each other), and the throughput.
    let rounds = 60;
    let mut latencies = Vec::with_capacity(rounds * 64);
    let mut work = Vec::with_capacity(rounds * 64);
    let started = Instant::now();
    for _ in 0..rounds {
        let handles: Vec<_> = (0..64)
            .map(|_| {
                let p = pipeline.clone();
                let text = prompt.clone();
                // Latency from submission: waiting for a worker included.
                let t = Instant::now();
                runtime.spawn(async move {
                    let timed = Busy {
                        inner: Box::pin(async move { p.run(PromptRequest::new(text)).await }),
                        busy: Duration::ZERO,
                    };
                    let (out, busy) = timed.await;
                    out.expect("answer");
                    (t.elapsed(), busy)
                })
            })
            .collect();
        for h in handles {
            let (latency, busy) = runtime.block_on(h).expect("task");
            latencies.push(latency);
            work.push(busy);
        }
    }
    let wall = started.elapsed();
    latencies.sort();
    work.sort();
    eprintln!(
        "pipeline/64-concurrent overhead (time being worked on): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms",
        percentile(&work, 0.50).as_secs_f64() * 1e3,
        percentile(&work, 0.90).as_secs_f64() * 1e3,
        percentile(&work, 0.99).as_secs_f64() * 1e3,
    );
    eprintln!(
        "pipeline/64-concurrent: {} requests, p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms; {:.0} requests/s",
        latencies.len(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.90).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        latencies.len() as f64 / wall.as_secs_f64()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
