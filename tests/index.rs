//! The knowledge index with real tantivy indexes on disk: ingestion of the clinic fixtures,
//! BM25 search, atomic rebuilds, and every kind of bad input.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use promptveil::ErrorKind;
use promptveil::index::{
    ChunkConfig, KnowledgeIndex, LocalRetriever, Retriever, SearchMode, SkipReason, ingest_path,
};

fn clinic() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/knowledge/clinic")
}

fn build(dir: &Path) -> KnowledgeIndex {
    let (passages, _) = ingest_path(&clinic(), &ChunkConfig::default()).expect("ingest");
    KnowledgeIndex::build(dir, &passages).expect("build")
}

#[test]
fn a_folder_is_ingested_indexed_on_disk_and_searched_with_citations() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (passages, report) = ingest_path(&clinic(), &ChunkConfig::default()).expect("ingest");
    assert_eq!(report.files, 5);
    // Four files are one document each; the JSON Lines file holds three.
    assert_eq!(report.documents, 7);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let index = KnowledgeIndex::build(&tmp.path().join("kb"), &passages).expect("build");
    assert_eq!(index.len(), passages.len());
    assert_eq!(index.manifest().documents, 7);

    // Reopen from disk: a fresh reader over the files.
    let index = KnowledgeIndex::open(&tmp.path().join("kb")).expect("open");
    let retriever = LocalRetriever::new(Arc::new(index), SearchMode::Bm25);
    let hits = retriever
        .search("how long can a payment plan run?", 3)
        .expect("search");
    let best = &hits[0].passage;
    assert_eq!(best.source, "billing.md");
    assert_eq!(best.title, "Billing and insurance — Payment plans");
    assert!(best.text.contains("payment plan"), "{best:?}");
    // The citation's byte range points at the passage in the source file.
    let source = std::fs::read_to_string(clinic().join(&best.source)).expect("source");
    assert_eq!(&source[best.range.clone()], best.text);
    // Stemming: "vaccinated" finds "vaccination"; JSON Lines records keep their ids.
    let hits = retriever
        .search("when are people vaccinated against flu", 1)
        .expect("search");
    assert_eq!(hits[0].passage.source, "vaccinations.md");
    let hits = retriever
        .search("fee for a missed appointment", 1)
        .expect("search");
    assert_eq!(hits[0].passage.doc, "faq-cancel");
    assert_eq!(hits[0].passage.id, "faq-cancel#0");
    // Query text is never parsed as query syntax.
    for q in ["AND OR NOT", "title:(\"unclosed", "+-*~^", ""] {
        retriever.search(q, 5).expect("any text is a valid query");
    }
}

#[test]
fn ingesting_the_same_files_again_gives_the_same_index() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let first = ingest_path(&clinic(), &ChunkConfig::default())
        .expect("ingest")
        .0;
    let second = ingest_path(&clinic(), &ChunkConfig::default())
        .expect("ingest")
        .0;
    assert_eq!(first, second);
    let dir = tmp.path().join("kb");
    let a = build(&dir);
    let ra = LocalRetriever::new(Arc::new(a), SearchMode::Bm25)
        .search("records kept for ten years", 5)
        .expect("search");
    // Rebuilding over the same directory replaces it whole.
    let b = build(&dir);
    assert_eq!(b.len(), first.len());
    let rb = LocalRetriever::new(Arc::new(b), SearchMode::Bm25)
        .search("records kept for ten years", 5)
        .expect("search");
    assert_eq!(ra, rb);
    // No temporary directory is left beside the index.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "kb")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn the_local_index_is_a_retriever() {
    let index = build_in_ram();
    let retriever: Arc<dyn Retriever> =
        Arc::new(LocalRetriever::new(Arc::new(index), SearchMode::Bm25));
    let hits = retriever
        .retrieve("parking spaces", 2)
        .await
        .expect("retrieve");
    assert_eq!(hits[0].passage.doc, "faq-parking");
    assert!(hits.len() <= 2);
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
}

fn build_in_ram() -> KnowledgeIndex {
    let (passages, _) = ingest_path(&clinic(), &ChunkConfig::default()).expect("ingest");
    KnowledgeIndex::build_in_ram(&passages).expect("build")
}

#[test]
fn bad_indexes_are_clear_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Missing directory.
    let err = KnowledgeIndex::open(&tmp.path().join("nowhere")).expect_err("missing");
    assert_eq!(err.kind(), ErrorKind::Index);
    assert!(err.to_string().contains("no such index directory"), "{err}");
    // A foreign directory: not opened, and never overwritten by a build.
    let foreign = tmp.path().join("photos");
    std::fs::create_dir(&foreign).expect("mkdir");
    std::fs::write(foreign.join("holiday.jpg"), b"not an index").expect("write");
    let err = KnowledgeIndex::open(&foreign).expect_err("foreign");
    assert_eq!(err.kind(), ErrorKind::Index);
    let (passages, _) = ingest_path(&clinic(), &ChunkConfig::default()).expect("ingest");
    let err = KnowledgeIndex::build(&foreign, &passages).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Index);
    assert!(err.to_string().contains("refusing to replace"), "{err}");
    assert!(foreign.join("holiday.jpg").is_file());
    // A corrupt manifest, a corrupt document list, a deleted tantivy file.
    let dir = tmp.path().join("kb");
    build(&dir);
    std::fs::write(dir.join("promptveil-index.json"), b"{ not json").expect("write");
    let err = KnowledgeIndex::open(&dir).expect_err("corrupt manifest");
    assert_eq!(err.kind(), ErrorKind::Index);
    assert!(err.to_string().contains("manifest is corrupt"), "{err}");
    build(&dir);
    std::fs::write(dir.join("documents.json"), b"[\"only-one\"]").expect("write");
    let err = KnowledgeIndex::open(&dir).expect_err("corrupt documents");
    assert_eq!(err.kind(), ErrorKind::Index);
    build(&dir);
    std::fs::remove_file(dir.join("meta.json")).expect("remove");
    let err = KnowledgeIndex::open(&dir).expect_err("no tantivy meta");
    assert_eq!(err.kind(), ErrorKind::Index);
}

#[test]
fn a_failed_build_leaves_the_old_index_in_place() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("kb");
    let before = build(&dir).len();
    let err = KnowledgeIndex::build(&dir, &[]).expect_err("empty corpus");
    assert_eq!(err.kind(), ErrorKind::Corpus);
    let after = KnowledgeIndex::open(&dir).expect("old index still there");
    assert_eq!(after.len(), before);
}

#[test]
fn bad_corpora_are_clear_errors_or_documented_skips() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("corpus");
    std::fs::create_dir(&corpus).expect("mkdir");
    // Empty corpus.
    let err = ingest_path(&corpus, &ChunkConfig::default()).expect_err("empty");
    assert_eq!(err.kind(), ErrorKind::Corpus);
    // Non-UTF-8, oversize, empty and unknown files are skipped and reported.
    std::fs::write(corpus.join("latin1.txt"), b"caf\xe9 au lait").expect("write");
    std::fs::write(corpus.join("big.md"), "word ".repeat(4000)).expect("write");
    std::fs::write(corpus.join("blank.md"), "\n \n").expect("write");
    std::fs::write(corpus.join("image.png"), b"\x89PNG").expect("write");
    std::fs::write(corpus.join("good.md"), "# Good\n\nA fine paragraph.").expect("write");
    let mut config = ChunkConfig::default();
    config.max_file_bytes = 10_000;
    let (passages, report) = ingest_path(&corpus, &config).expect("ingest");
    assert_eq!(passages.len(), 1);
    let mut skipped: Vec<(String, SkipReason)> = report
        .skipped
        .iter()
        .map(|(p, r)| (p.display().to_string(), r.clone()))
        .collect();
    skipped.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        skipped,
        [
            ("big.md".to_string(), SkipReason::TooLarge { bytes: 20_000 }),
            ("blank.md".to_string(), SkipReason::Empty),
            ("image.png".to_string(), SkipReason::UnknownType),
            ("latin1.txt".to_string(), SkipReason::NotUtf8),
        ]
    );
    // A malformed JSON Lines record names the file and line, never the text.
    std::fs::write(
        corpus.join("records.jsonl"),
        "{\"_id\": \"a\", \"text\": \"fine\"}\n{\"_id\": \"b\", \"body\": \"secret-ish\"}\n",
    )
    .expect("write");
    let err = ingest_path(&corpus, &config).expect_err("bad record");
    assert_eq!(err.kind(), ErrorKind::Corpus);
    let msg = err.to_string();
    assert!(msg.contains("records.jsonl:2:"), "{msg}");
    assert!(!msg.contains("secret-ish"), "{msg}");
}

#[test]
fn dense_search_without_the_feature_or_vectors_is_a_clear_error() {
    let index = Arc::new(build_in_ram());
    for mode in [SearchMode::Dense, SearchMode::Hybrid] {
        let err = LocalRetriever::new(index.clone(), mode)
            .search("parking", 3)
            .expect_err("no vectors");
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    }
}
