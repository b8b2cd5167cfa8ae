//! Search in the knowledge index.
//!
//! The corpus is BEIR SciFact (5,183 abstracts, the evaluation data beside the project at
//! `../shared/eval/ir/scifact`) when it is there, else the clinic fixtures; the queries are the
//! corpus's own queries (SciFact) or a fixed list.
//!
//! - `index/bm25-top10`, `index/bm25-top100`: one query's BM25 ranking (ordinals and scores).
//! - `index/bm25-top10-passages`: the same with the ten passages read from the store.
//! - (feature `embeddings`) `index/embed-query`: one query's vector; `index/dense-top100`: exact
//!   cosine over every passage vector (query embedding included); `index/hybrid-top10`: BM25
//!   and dense, 100 candidates each, fused (query embedding included).
//!
//! Run: `cargo bench --bench index` (add `--features embeddings` for the dense part; it builds
//! the SciFact vectors first, which takes minutes).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use promptveil::index::{ChunkConfig, KnowledgeIndex, LocalRetriever, SearchMode, ingest_path};

fn corpus() -> (PathBuf, Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scifact = root.join("../shared/eval/ir/scifact");
    if scifact.join("corpus.jsonl").is_file() {
        let queries = std::fs::read_to_string(scifact.join("queries.jsonl"))
            .expect("queries")
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v.get("text")?.as_str().map(str::to_string))
            .take(200)
            .collect();
        return (scifact.join("corpus.jsonl"), queries);
    }
    let queries = [
        "how long can a payment plan run",
        "when does the flu vaccination start",
        "fee for a missed appointment",
        "how long are records kept",
    ];
    (
        root.join("fixtures/knowledge/clinic"),
        queries.iter().map(|q| q.to_string()).collect(),
    )
}

fn bench(c: &mut Criterion) {
    let (source, queries) = corpus();
    let (passages, _) = ingest_path(&source, &ChunkConfig::default()).expect("ingest");
    let tmp = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();
    let index =
        Arc::new(KnowledgeIndex::build(&tmp.path().join("bm25"), &passages).expect("build"));
    eprintln!(
        "{} passages from {}; BM25 index built in {:.2} s",
        passages.len(),
        source.display(),
        started.elapsed().as_secs_f64()
    );
    let bm25 = LocalRetriever::new(index.clone(), SearchMode::Bm25);
    let mut g = c.benchmark_group("index");
    let mut i = 0;
    let mut next = || {
        i = (i + 1) % queries.len();
        queries[i].as_str()
    };
    g.bench_function("bm25-top10", |b| {
        b.iter(|| black_box(bm25.search_documents(next(), 10, 10).expect("search")))
    });
    g.bench_function("bm25-top100", |b| {
        b.iter(|| black_box(bm25.search_documents(next(), 100, 100).expect("search")))
    });
    g.bench_function("bm25-top10-passages", |b| {
        b.iter(|| black_box(bm25.search(next(), 10).expect("search")))
    });
    #[cfg(feature = "embeddings")]
    dense(&mut g, &passages, tmp.path(), &queries);
    g.finish();
}

#[cfg(feature = "embeddings")]
fn dense(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    passages: &[promptveil::index::Passage],
    tmp: &Path,
    queries: &[String],
) {
    use promptveil::index::{Embedder, EmbeddingAssets};
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let builder = Embedder::load_with_threads(&EmbeddingAssets::discover(), threads)
        .expect("assets present: run scripts/fetch-assets");
    let started = std::time::Instant::now();
    let index = KnowledgeIndex::build_with_embeddings(&tmp.join("dense"), passages, &builder)
        .expect("build");
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "vectors of {} passages in {secs:.1} s: {:.0} passages/s",
        passages.len(),
        passages.len() as f64 / secs
    );
    let embedder = Arc::new(Embedder::load(&EmbeddingAssets::discover()).expect("load"));
    let index = Arc::new(index);
    let dense = LocalRetriever::new(index.clone(), SearchMode::Dense)
        .with_embedder(embedder.clone())
        .expect("same model");
    let hybrid = LocalRetriever::new(index, SearchMode::Hybrid)
        .with_embedder(embedder.clone())
        .expect("same model");
    let mut i = 0;
    let mut next = || {
        i = (i + 1) % queries.len();
        queries[i].as_str()
    };
    g.bench_function("embed-query", |b| {
        b.iter(|| black_box(embedder.embed(&[next()]).expect("embed")))
    });
    g.bench_function("dense-top100", |b| {
        b.iter(|| black_box(dense.search_documents(next(), 100, 100).expect("search")))
    });
    g.bench_function("hybrid-top10", |b| {
        b.iter(|| black_box(hybrid.search_documents(next(), 10, 10).expect("search")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
