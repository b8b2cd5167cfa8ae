//! Gateway overhead: 64 clients at once send chat completions over real HTTP through the
//! server (`promptveil::server::router`, served as `promptveil serve` serves it, keys and
//! metrics on) to a loopback backend that answers at once. Beside it, the same requests
//! through the pipeline called directly, and straight to the backend: what the server adds is
//! the difference. Everything runs in this process on the same cores; ratios within one run
//! are what to compare. The redactor is the rules alone (the NER's cost is `benches/ner.rs`).
//!
//! Run: `cargo bench --features server --bench serve`.

#[path = "../tests/support/loopback.rs"]
mod loopback;

use std::sync::Arc;
use std::time::{Duration, Instant};

use loopback::{Received, openai_json};
use promptveil::audit::Metrics;
use promptveil::backend::openai::OpenAiBackend;
use promptveil::pipeline::{Pipeline, PromptRequest};
use promptveil::redact::Redactor;
use promptveil::route::{BackendProfile, Locality, Size};
use promptveil::server::{ApiKeys, ServerConfig, router, serve};

const CLIENTS: usize = 64;
const PER_CLIENT: usize = 40;
const KEY: &str = "k-bench-4c7e2a9f1b3d5e80";

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

/// Runs `CLIENTS` workers of `PER_CLIENT` sequential calls of `call`; prints and returns
/// requests/s, with p50 and p99.
async fn run<F, Fut>(label: &str, call: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let call = Arc::clone(&call);
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(PER_CLIENT);
                for i in 0..PER_CLIENT {
                    let t = Instant::now();
                    call(c * PER_CLIENT + i).await;
                    times.push(t.elapsed());
                }
                times
            })
        })
        .collect();
    let mut all = Vec::with_capacity(CLIENTS * PER_CLIENT);
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    let wall = started.elapsed().as_secs_f64();
    all.sort();
    let rps = all.len() as f64 / wall;
    println!(
        "{label:<28} {rps:>7.0} requests/s   p50 {:>6.1} ms   p99 {:>6.1} ms",
        percentile(&all, 0.5),
        percentile(&all, 0.99)
    );
    rps
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let backend_server = loopback::start(|r: &Received| {
            openai_json(
                &format!("Re: {}", loopback::question_of(&r.prompt())),
                (10, 5),
            )
        })
        .await;
        let profile = BackendProfile::new("local-slm", Locality::OnPremises, Size::Small, 8192)
            .with_prices(0.1, 0.2);
        let backend = OpenAiBackend::new(&backend_server.base, "m", profile)
            .expect("backend")
            .with_max_concurrency(256);
        let pipeline = Pipeline::builder()
            .redactor(Redactor::builder().default_rules().build().expect("rules"))
            .backend(Arc::new(backend))
            .metrics(Arc::new(Metrics::new()))
            .build()
            .expect("pipeline");
        let mut config = ServerConfig::default();
        config.keys = Some(ApiKeys::new([KEY]).expect("key"));
        config.max_concurrency = 256;
        let app = router(pipeline.clone(), &config).expect("router");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}/v1", listener.local_addr().expect("addr"));
        tokio::spawn(serve(listener, app, std::future::pending(), Duration::ZERO));

        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CLIENTS)
            .build()
            .expect("client");
        let question = |i: usize| {
            format!(
                "Tell user{i}@bench.example at +44 20 7946 {:04} the results are in.",
                i % 10_000
            )
        };
        let gateway = {
            let client = client.clone();
            let url = format!("{base}/chat/completions");
            move |i: usize| {
                let (client, url, q) = (client.clone(), url.clone(), question(i));
                async move {
                    let body = serde_json::json!({"model": "promptveil",
                        "messages": [{"role": "user", "content": q}]});
                    let r = client.post(&url).bearer_auth(KEY).json(&body).send().await;
                    let r = r.expect("answer");
                    assert_eq!(r.status().as_u16(), 200);
                    let _ = r.bytes().await.expect("body");
                }
            }
        };
        let direct = {
            let pipeline = pipeline.clone();
            move |i: usize| {
                let (p, q) = (pipeline.clone(), question(i));
                async move {
                    p.run(PromptRequest::new(q)).await.expect("answer");
                }
            }
        };
        let bare = {
            let client = client.clone();
            let url = format!("{}/chat/completions", backend_server.base);
            move |i: usize| {
                let (client, url, q) = (client.clone(), url.clone(), question(i));
                async move {
                    let body = serde_json::json!({"model": "m",
                        "messages": [{"role": "user", "content": q}]});
                    let r = client.post(&url).json(&body).send().await.expect("answer");
                    let _ = r.bytes().await.expect("body");
                }
            }
        };
        println!(
            "{CLIENTS} clients at once, {} requests per round; rounds interleaved",
            CLIENTS * PER_CLIENT
        );
        let (mut g, mut d, mut b) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..3 {
            println!("round {round}");
            b.push(run("backend alone (HTTP)", bare.clone()).await);
            d.push(run("pipeline, called directly", direct.clone()).await);
            g.push(run("through the server", gateway.clone()).await);
            backend_server.received.lock().expect("log").clear();
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        println!(
            "medians: backend alone {:.0}, pipeline {:.0}, server {:.0} requests/s",
            median(&mut b),
            median(&mut d),
            median(&mut g)
        );
    });
}
