//! A routing decision: the learned router's score (features, and with the dense router the
//! question's embedding and its 50 nearest training prompts), then the default policy's
//! choice between a small on-premises and a large external backend. On one core: the
//! embedder runs one session on one thread.
//!
//! - `route/features`: the shipped router (text features alone).
//! - `route/dense-with-embedding`: the shipped dense router, embedding included (feature
//!   `embeddings`).
//! - `route/dense-after-retrieval`: the same when the embedder has just embedded the question
//!   for a hybrid retriever sharing it (it remembers the vector).
//! - `route/dense-given-embedding`: the same with the embedding in hand.
//!
//! Run: `cargo bench --bench route --features embeddings`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use promptveil::Sensitivity;
use promptveil::route::{
    BackendProfile, Complexity, DefaultPolicy, LearnedRouter, Locality, RouteSummary,
    RoutingPolicy, Size,
};

/// A question written for the bench: a word problem of about 60 words.
const QUESTION: &str = "A warehouse ships 240 boxes on Monday and 15% more each following day \
    until Friday. Each box weighs 12.5 kg and a truck carries at most 3,000 kg. How many truck \
    trips are needed over the week, and on which day is the first partial load sent? Explain \
    the calculation step by step.";

fn decide(router: &LearnedRouter, embedding: Option<&[f32]>, backends: &[BackendProfile]) -> usize {
    let c = Complexity::learned(router, QUESTION, embedding).expect("scored");
    let summary = RouteSummary::new(Sensitivity::Internal, 120, c.score);
    DefaultPolicy::default()
        .with_complexity_threshold(LearnedRouter::threshold_for_large_share(0.3))
        .route(&summary, backends)
        .chain()
        .len()
}

fn bench(c: &mut Criterion) {
    let backends = [
        BackendProfile::new("local-slm", Locality::OnPremises, Size::Small, 8192),
        BackendProfile::new("cloud-llm", Locality::External, Size::Large, 200_000)
            .with_prices(3.0, 15.0),
    ];
    let router = LearnedRouter::shipped().expect("shipped router");
    c.bench_function("route/features", |b| {
        b.iter(|| decide(&router, None, black_box(&backends)))
    });
    #[cfg(feature = "embeddings")]
    {
        use promptveil::index::{Embedder, EmbeddingAssets};
        let dense = LearnedRouter::shipped_dense().expect("shipped dense router");
        let embedder =
            Embedder::load_with_threads(&EmbeddingAssets::discover(), 1).expect("embedder");
        // A new question each time: the embedder remembers its last few texts.
        let mut case = 0u64;
        c.bench_function("route/dense-with-embedding", |b| {
            b.iter(|| {
                case += 1;
                let letter = char::from(b'a' + (case % 26) as u8);
                let question = format!("{QUESTION} Case {letter}{letter}.");
                let v = embedder.embed(&[black_box(&question)]).expect("embedded");
                decide(&dense, v.first().map(Vec::as_slice), &backends)
            })
        });
        // In a pipeline whose hybrid retriever shares the embedder: the question was embedded
        // for retrieval a moment before, and the router's call finds its vector.
        embedder.embed(&[QUESTION]).expect("embedded");
        c.bench_function("route/dense-after-retrieval", |b| {
            b.iter(|| {
                let v = embedder.embed(&[black_box(QUESTION)]).expect("embedded");
                decide(&dense, v.first().map(Vec::as_slice), &backends)
            })
        });
        let v = embedder.embed(&[QUESTION]).expect("embedded");
        let v = v.first().cloned().unwrap_or_default();
        c.bench_function("route/dense-given-embedding", |b| {
            b.iter(|| decide(&dense, Some(black_box(&v)), &backends))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
