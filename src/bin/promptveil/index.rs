//! `promptveil index`: building, checking and searching the local knowledge index.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use crate::{ChunkArgs, Result, RulesArg};

pub(crate) fn build(dir: &Path, index: &Path, dense: bool, chunks: &ChunkArgs) -> Result<()> {
    use promptveil::index::ingest_path;
    let started = Instant::now();
    let (passages, report) = ingest_path(dir, &chunks.config())?;
    for (path, reason) in &report.skipped {
        eprintln!("skipped {}: {reason:?}", path.display());
    }
    let built = build_index(index, &passages, dense)?;
    println!(
        "indexed {} passages from {} documents in {} files into {} in {:.2} s",
        built.len(),
        report.documents,
        report.files,
        index.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Builds the index, with vectors when `dense`; prints how long each part took.
pub(crate) fn build_index(
    index: &Path,
    passages: &[promptveil::index::Passage],
    dense: bool,
) -> Result<promptveil::index::KnowledgeIndex> {
    use promptveil::index::KnowledgeIndex;
    if !dense {
        let started = Instant::now();
        let built = KnowledgeIndex::build(index, passages)?;
        eprintln!(
            "BM25 index of {} passages built in {:.2} s",
            built.len(),
            started.elapsed().as_secs_f64()
        );
        return Ok(built);
    }
    build_dense(index, passages)
}

#[cfg(feature = "embeddings")]
pub(crate) fn build_dense(
    index: &Path,
    passages: &[promptveil::index::Passage],
) -> Result<promptveil::index::KnowledgeIndex> {
    use promptveil::index::KnowledgeIndex;
    use promptveil::index::{Embedder, EmbeddingAssets};
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let embedder = Embedder::load_with_threads(&EmbeddingAssets::discover(), threads)?;
    let started = Instant::now();
    let mut bar = Progress::new("embedding passages");
    let mut embedded = 0;
    let built = KnowledgeIndex::build_with_embeddings_progress(
        index,
        passages,
        &embedder,
        &mut |done, total| {
            embedded = total;
            if total > 0 {
                bar.show(done, total);
            }
        },
    )?;
    bar.finish();
    let secs = started.elapsed().as_secs_f64();
    let reused = built.len().saturating_sub(embedded);
    eprintln!(
        "index with vectors of {} passages built in {secs:.2} s: {embedded} embedded ({:.0} passages/s), {reused} unchanged taken from the previous index",
        built.len(),
        embedded as f64 / secs.max(1e-9)
    );
    Ok(built)
}

#[cfg(not(feature = "embeddings"))]
pub(crate) fn build_dense(
    _: &Path,
    _: &[promptveil::index::Passage],
) -> Result<promptveil::index::KnowledgeIndex> {
    Err(NO_EMBEDDINGS.into())
}

/// A progress bar on standard error: redrawn in place on a terminal, a line per tenth in a
/// log.
pub(crate) struct Progress {
    what: &'static str,
    started: Instant,
    terminal: bool,
    last_tenth: usize,
}

impl Progress {
    fn new(what: &'static str) -> Progress {
        use std::io::IsTerminal;
        Progress {
            what,
            started: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
            last_tenth: 0,
        }
    }

    fn show(&mut self, done: usize, total: usize) {
        let total = total.max(1);
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = done as f64 / secs;
        let eta = (total - done.min(total)) as f64 / rate.max(1e-9);
        let filled = done * 30 / total;
        let line = format!(
            "{} [{}{}] {done}/{total}, {rate:.0}/s, {eta:.0} s left",
            self.what,
            "#".repeat(filled),
            ".".repeat(30 - filled)
        );
        if self.terminal {
            eprint!("\r{line}");
        } else if done * 10 / total > self.last_tenth {
            self.last_tenth = done * 10 / total;
            eprintln!("{line}");
        }
    }

    fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}

#[cfg(not(feature = "embeddings"))]
pub(crate) const NO_EMBEDDINGS: &str = "dense and hybrid search need a promptveil built with the `embeddings` feature (cargo build --features cli,embeddings)";

pub(crate) fn retriever(
    index: promptveil::index::KnowledgeIndex,
    mode: &str,
) -> Result<promptveil::index::LocalRetriever> {
    use promptveil::index::{LocalRetriever, SearchMode};
    let mode: SearchMode = mode.parse()?;
    let retriever = LocalRetriever::new(index.into(), mode);
    if mode == SearchMode::Bm25 {
        return Ok(retriever);
    }
    with_embedder(retriever)
}

#[cfg(feature = "embeddings")]
pub(crate) fn with_embedder(
    retriever: promptveil::index::LocalRetriever,
) -> Result<promptveil::index::LocalRetriever> {
    use promptveil::index::{Embedder, EmbeddingAssets};
    let started = Instant::now();
    let embedder = Embedder::load(&EmbeddingAssets::discover())?;
    eprintln!(
        "embedding model loaded in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(retriever.with_embedder(std::sync::Arc::new(embedder))?)
}

#[cfg(not(feature = "embeddings"))]
pub(crate) fn with_embedder(
    _: promptveil::index::LocalRetriever,
) -> Result<promptveil::index::LocalRetriever> {
    Err(NO_EMBEDDINGS.into())
}

pub(crate) fn check(
    index: &Path,
    rules: &RulesArg,
    in_clear: &str,
    json: bool,
) -> Result<ExitCode> {
    use promptveil::index::KnowledgeIndex;
    use promptveil::pipeline::guard::PublicCheck;
    let in_clear: promptveil::Sensitivity = in_clear.parse()?;
    let redactor = rules.redactor()?;
    let index = KnowledgeIndex::open(index)?;
    let mut check = PublicCheck::new(in_clear);
    let mut progress = Progress::new("checking passages");
    let total = index.len();
    for (done, passage) in index.passages().enumerate() {
        check.scan(&passage?, &redactor);
        if (done + 1) % 256 == 0 || done + 1 == total {
            progress.show(done + 1, total);
        }
    }
    progress.finish();
    if json {
        let by_entity = check.by_entity();
        let out = serde_json::json!({ "check": check, "by_entity": by_entity });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_check(&check);
    }
    Ok(if check.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(crate) fn print_check(check: &promptveil::pipeline::guard::PublicCheck) {
    let level = check.in_clear.as_str();
    println!(
        "{} passages checked against `{level}` (the highest level a backend receives in clear)",
        check.passages
    );
    if check.is_clean() {
        println!("nothing above `{level}`: the index may be declared public for such backends");
        return;
    }
    println!(
        "{} passages hold values above `{level}`: declared public, the egress guard would refuse \
         every request that retrieves one of them",
        check.flagged.len()
    );
    println!(
        "\n{:<22} {:<13} {:>7} {:>9}",
        "entity", "level", "values", "passages"
    );
    for (entity, t) in check.by_entity() {
        println!(
            "{entity:<22} {:<13} {:>7} {:>9}",
            t.sensitivity.as_str(),
            t.values,
            t.passages
        );
    }
    println!();
    for p in &check.flagged {
        println!("{} ({})", p.id, p.source);
        for f in &p.found {
            println!(
                "    {} ({}, rule {}) in the {} at bytes {}..{}",
                f.entity,
                f.sensitivity.as_str(),
                f.rule,
                f.field,
                f.at.start,
                f.at.end
            );
        }
    }
}

pub(crate) fn search(index: &Path, query: &str, k: usize, mode: &str) -> Result<()> {
    let retriever = retriever(promptveil::index::KnowledgeIndex::open(index)?, mode)?;
    for (rank, hit) in retriever.search(query, k)?.iter().enumerate() {
        let p = &hit.passage;
        println!(
            "{:>2}. {:.4}  {}  [{} bytes {}..{}]  {}",
            rank + 1,
            hit.score,
            p.id,
            p.source,
            p.range.start,
            p.range.end,
            p.title
        );
        let preview: String = p.text.chars().take(200).collect();
        println!("    {}", preview.replace('\n', " "));
    }
    Ok(())
}
