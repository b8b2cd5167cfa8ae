//! `promptveil`: the command-line tool for compliance reviewers and operators.
//!
//! ```text
//! promptveil rules check FILE...          validate rule files (errors name file:line:column and rule)
//! promptveil rules test FILE...           run every rule's examples
//! promptveil rules inventory FILE [--json]
//! promptveil redact [--rules FILE]... [--input FILE] [--output FILE] [--report FILE] [--json]
//! promptveil eval pii --gold FILE --predictions OUT [--rules FILE]...
//! promptveil eval secrets --gold FILE --predictions OUT [--rules FILE]...
//! promptveil eval retrieval --corpus corpus.jsonl --queries queries.jsonl --run OUT.trec
//!                           --mode bm25|dense|hybrid [--index PATH]
//! promptveil index build DIR --index PATH
//! promptveil index search --index PATH QUERY [-k N] [--mode bm25|dense|hybrid]
//! promptveil audit summarize LOG.jsonl [--json]   what left the building, per backend and level
//! ```

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::string_slice
    )
)]

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use promptveil::redact::Finding;
use promptveil::redact::{Redactor, Vault};
use promptveil::rules::RuleSet;

/// Errors of the command line: the library's own, or a file the tool could not use.
type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// Adds the path to an I/O error.
fn at<T>(r: std::io::Result<T>, path: &Path) -> Result<T> {
    r.map_err(|e| format!("{}: {e}", path.display()).into())
}

#[derive(Parser)]
#[command(
    name = "promptveil",
    version,
    about = "Redact prompts, check rule files, measure detectors"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check, test and list rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Redact a text (or a JSON document with --json); the report never holds a value.
    Redact(RedactArgs),
    /// Measure detection quality and speed on labelled data.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Build and search the local knowledge index.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Read a pipeline's audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// What left the building: requests per backend and highest level touched, entity types
    /// sent as placeholders, tokens, failures, refusals. Never a value (the trail holds none).
    Summarize {
        /// A JSON Lines audit trail (the `jsonl` sink).
        log: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum IndexCommand {
    /// Ingest a folder (Markdown, text, JSON Lines) and build an index at PATH, replacing the
    /// index there (never a directory that is not one).
    Build {
        /// Folder (or single file) to ingest.
        dir: PathBuf,
        /// Where the index goes.
        #[arg(long)]
        index: PathBuf,
        /// Also embed every passage for dense and hybrid search (feature `embeddings`).
        #[arg(long)]
        dense: bool,
        #[command(flatten)]
        chunks: ChunkArgs,
    },
    /// Before declaring an index public (its passages sent in clear): scan every passage with
    /// the redactor a pipeline would use and list those holding a value above what a backend
    /// receives in clear — its egress guard would refuse every request retrieving them. Names
    /// the passage, entity type, rule and byte range; never the value. Exit status 1 when any
    /// passage is flagged.
    Check {
        /// The index to check.
        #[arg(long)]
        index: PathBuf,
        #[command(flatten)]
        rules: RulesArg,
        /// The highest level the backends receive in clear: public (external backends'
        /// default), internal, confidential or restricted.
        #[arg(long = "in-clear", default_value = "public")]
        in_clear: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the best passages for a query, with their citations.
    Search {
        /// The index to search.
        #[arg(long)]
        index: PathBuf,
        /// The query text.
        query: String,
        /// How many passages.
        #[arg(short, default_value_t = 5)]
        k: usize,
        /// bm25, dense or hybrid.
        #[arg(long, default_value = "bm25")]
        mode: String,
    },
}

/// How documents are cut into passages.
#[derive(Args)]
struct ChunkArgs {
    /// Longest passage, in characters (at least 64).
    #[arg(long = "max-chars", default_value_t = 1200)]
    max_chars: usize,
    /// Characters shared by consecutive pieces of a long paragraph (at most half the above).
    #[arg(long = "overlap-chars", default_value_t = 200)]
    overlap_chars: usize,
}

impl ChunkArgs {
    fn config(&self) -> promptveil::index::ChunkConfig {
        promptveil::index::ChunkConfig::default().with_max_chars(self.max_chars, self.overlap_chars)
    }
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Validate rule files: schema, patterns, validators. Exit status 1 on any error.
    Check { files: Vec<PathBuf> },
    /// Run every rule's examples (match and no_match). Exit status 1 on any failure.
    Test { files: Vec<PathBuf> },
    /// List rules: entity type, sensitivity, action, validator.
    Inventory {
        file: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct RulesArg {
    /// Rule file to use instead of the default rules (repeatable).
    #[arg(long = "rules")]
    rules: Vec<PathBuf>,
    /// Also run the NER detector (names, places, organisations, addresses); needs the `ner`
    /// feature and the assets from scripts/fetch-assets.
    #[arg(long)]
    ner: bool,
    /// NER settings file instead of the shipped one (implies --ner).
    #[arg(long = "ner-config")]
    ner_config: Option<PathBuf>,
}

impl RulesArg {
    fn redactor(&self) -> Result<Redactor> {
        let mut b = Redactor::builder();
        for path in &self.rules {
            b = b.rules(RuleSet::from_file(path)?);
        }
        if self.rules.is_empty() {
            b = b.default_rules();
        }
        if self.ner || self.ner_config.is_some() {
            b = with_ner(b, self.ner_config.as_deref())?;
        }
        Ok(b.build()?)
    }
}

#[cfg(feature = "ner")]
fn with_ner(
    b: promptveil::redact::RedactorBuilder,
    config: Option<&Path>,
) -> Result<promptveil::redact::RedactorBuilder> {
    use promptveil::ner::{NerAssets, NerConfig, NerDetector};
    let config = match config {
        Some(path) => NerConfig::from_file(path)?,
        None => NerConfig::default(),
    };
    let started = Instant::now();
    let ner = NerDetector::load(&NerAssets::discover(), config)?;
    eprintln!(
        "NER detector loaded in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(b.detector(ner))
}

#[cfg(not(feature = "ner"))]
fn with_ner(
    _: promptveil::redact::RedactorBuilder,
    _: Option<&Path>,
) -> Result<promptveil::redact::RedactorBuilder> {
    Err(
        "--ner needs a promptveil built with the `ner` feature (cargo build --features cli,ner)"
            .into(),
    )
}

#[derive(Args)]
struct RedactArgs {
    #[command(flatten)]
    rules: RulesArg,
    /// Read from this file instead of standard input.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Write the redacted text here instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Write the redaction report (JSON) here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// The input is a JSON document: redact by field rules and scan every string.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum EvalCommand {
    /// PII spans: reads {"id","text"} lines, writes {"id","spans":[...]} with character offsets.
    Pii(EvalArgs),
    /// Secrets: reads {"id","text"} lines, writes {"id","flagged"}.
    Secrets(EvalArgs),
    /// Retrieval: indexes a BEIR corpus, runs every query, writes a TREC run and prints the
    /// index-build time and query latency percentiles.
    Retrieval(RetrievalArgs),
}

#[derive(Args)]
struct RetrievalArgs {
    /// BEIR corpus (JSON Lines: _id, title, text).
    #[arg(long)]
    corpus: PathBuf,
    /// BEIR queries (JSON Lines: _id, text).
    #[arg(long)]
    queries: PathBuf,
    /// Where to write the TREC run (qid Q0 docid rank score tag).
    #[arg(long)]
    run: PathBuf,
    /// bm25, dense or hybrid.
    #[arg(long, default_value = "bm25")]
    mode: String,
    /// Keep the index here (built if absent) instead of a temporary directory.
    #[arg(long)]
    index: Option<PathBuf>,
    /// Documents per query in the run.
    #[arg(long, default_value_t = 100)]
    depth: usize,
    #[command(flatten)]
    chunks: ChunkArgs,
}

#[derive(Args)]
struct EvalArgs {
    #[command(flatten)]
    rules: RulesArg,
    /// Labelled JSON Lines file.
    #[arg(long)]
    gold: PathBuf,
    /// Where to write predictions (JSON Lines).
    #[arg(long)]
    predictions: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Rules(RulesCommand::Check { files }) => rules_check(&files),
        Command::Rules(RulesCommand::Test { files }) => rules_test(&files),
        Command::Rules(RulesCommand::Inventory { file, json }) => rules_inventory(&file, json),
        Command::Redact(args) => redact(&args).map(|()| ExitCode::SUCCESS),
        Command::Eval(EvalCommand::Pii(args)) => eval(&args, Mode::Pii).map(|()| ExitCode::SUCCESS),
        Command::Eval(EvalCommand::Secrets(args)) => {
            eval(&args, Mode::Secrets).map(|()| ExitCode::SUCCESS)
        }
        Command::Eval(EvalCommand::Retrieval(args)) => {
            eval_retrieval(&args).map(|()| ExitCode::SUCCESS)
        }
        Command::Index(IndexCommand::Build {
            dir,
            index,
            dense,
            chunks,
        }) => index_build(&dir, &index, dense, &chunks).map(|()| ExitCode::SUCCESS),
        Command::Index(IndexCommand::Check {
            index,
            rules,
            in_clear,
            json,
        }) => index_check(&index, &rules, &in_clear, json),
        Command::Index(IndexCommand::Search {
            index,
            query,
            k,
            mode,
        }) => index_search(&index, &query, k, &mode).map(|()| ExitCode::SUCCESS),
        Command::Audit(AuditCommand::Summarize { log, json }) => {
            audit_summarize(&log, json).map(|()| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn audit_summarize(log: &Path, json: bool) -> Result<()> {
    let s = promptveil::audit::summarize_file(log)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    let refused: usize = s.refused.values().sum();
    println!(
        "{}: {} requests — {} answered, {} refused or failed, {} cancelled",
        log.display(),
        s.requests,
        s.answered,
        refused,
        s.cancelled
    );
    println!(
        "\n{:<16} {:<12} {:>8} {:>7} {:>9} {:>13} {:>11} {:>5} {:>10} {:>9}",
        "backend",
        "where",
        "answered",
        "public",
        "internal",
        "confidential",
        "restricted",
        "none",
        "tokens",
        "failures"
    );
    for (name, t) in &s.backends {
        let level = |l: &str| t.by_sensitivity.get(l).copied().unwrap_or(0);
        let place = match t.locality {
            Some(promptveil::route::Locality::External) => "external",
            Some(_) => "on premises",
            None => "?",
        };
        println!(
            "{:<16} {:<12} {:>8} {:>7} {:>9} {:>13} {:>11} {:>5} {:>10} {:>9}",
            name,
            place,
            t.requests,
            level("public"),
            level("internal"),
            level("confidential"),
            level("restricted"),
            level("none"),
            format!("{}/{}", t.input_tokens, t.output_tokens),
            t.failures
        );
    }
    println!();
    for (name, t) in &s.backends {
        if t.placeholders.is_empty() {
            continue;
        }
        let kinds: Vec<String> = t
            .placeholders
            .iter()
            .map(|(e, n)| format!("{e} {n}"))
            .collect();
        println!("sent to {name} as placeholders: {}", kinds.join(", "));
    }
    match s.left_the_building {
        0 => println!("left the building: nothing (no request answered by an external backend)"),
        n => println!(
            "left the building: {n} requests to external backends, highest level touched: {}",
            s.highest_level_sent_out
                .map_or("none (nothing redacted)".to_string(), |l| l.to_string())
        ),
    }
    if !s.refused.is_empty() {
        let causes: Vec<String> = s.refused.iter().map(|(c, n)| format!("{c} {n}")).collect();
        println!("refused or failed: {}", causes.join(", "));
    }
    Ok(())
}

fn rules_check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = false;
    for f in files {
        match RuleSet::from_file(f) {
            Ok(set) => println!(
                "ok {}: {} rules, {} field rules",
                f.display(),
                set.rules().len(),
                set.fields().len()
            ),
            Err(e) => {
                failed = true;
                println!("error: {e}");
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn rules_test(files: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = false;
    for f in files {
        let set = match RuleSet::from_file(f) {
            Ok(s) => s,
            Err(e) => {
                failed = true;
                println!("error: {e}");
                continue;
            }
        };
        let report = set.check_evidence();
        for failure in &report.failures {
            println!("FAIL {failure}");
        }
        println!(
            "{} {}: {} examples, {} failed, {} rules",
            if report.passed() { "ok" } else { "FAILED" },
            f.display(),
            report.checked,
            report.failures.len(),
            set.rules().len()
        );
        failed |= !report.passed();
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn rules_inventory(file: &Path, json: bool) -> Result<ExitCode> {
    let set = RuleSet::from_file(file)?;
    let inv = set.inventory();
    if json {
        let s = serde_json::to_string_pretty(&inv)?;
        println!("{s}");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 7]> = inv
        .iter()
        .map(|e| {
            [
                e.id.clone(),
                e.kind.to_string(),
                e.entity.clone(),
                e.sensitivity.to_string(),
                e.action.to_string(),
                e.validator.clone().unwrap_or_else(|| "-".into()),
                if e.needs_context { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    let header = [
        "rule",
        "kind",
        "entity",
        "sensitivity",
        "action",
        "validator",
        "needs context",
    ];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(header.to_vec()));
    for r in &rows {
        println!("{}", line(r.iter().map(String::as_str).collect()));
    }
    println!("{} rules", rows.len());
    Ok(ExitCode::SUCCESS)
}

fn read_input(path: Option<&Path>) -> Result<String> {
    let mut s = String::new();
    match path {
        Some(p) => {
            s = at(std::fs::read_to_string(p), p)?;
        }
        None => {
            at(
                std::io::stdin().read_to_string(&mut s),
                Path::new("<stdin>"),
            )?;
        }
    }
    Ok(s)
}

fn write_output(path: Option<&Path>, data: &str) -> Result<()> {
    match path {
        Some(p) => at(std::fs::write(p, data), p),
        None => {
            let mut out = std::io::stdout().lock();
            at(
                out.write_all(data.as_bytes()).and_then(|()| out.flush()),
                Path::new("<stdout>"),
            )
        }
    }
}

fn redact(args: &RedactArgs) -> Result<()> {
    let redactor = args.rules.redactor()?;
    let input = read_input(args.input.as_deref())?;
    let vault = Vault::new();
    let (text, report) = if args.json {
        let doc: serde_json::Value = serde_json::from_str(&input)?;
        let red = redactor.redact_json(&doc, &vault)?;
        let (value, records) = red.into_parts();
        let text = serde_json::to_string_pretty(&value)? + "\n";
        (text, serde_json::to_value(&records)?)
    } else {
        let red = redactor.redact(&input, &vault);
        let (text, report) = red.into_parts();
        (text.into_string(), serde_json::to_value(&report)?)
    };
    write_output(args.output.as_deref(), &text)?;
    if let Some(path) = &args.report {
        let s = serde_json::to_string_pretty(&report)? + "\n";
        at(std::fs::write(path, s), path)?;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Pii,
    Secrets,
}

/// The evaluation label for an entity type, when the evaluation set has one.
fn eval_label(entity: &str) -> &str {
    match entity {
        "DOMAIN" => "URL",
        other => other,
    }
}

fn eval(args: &EvalArgs, mode: Mode) -> Result<()> {
    let redactor = args.rules.redactor()?;
    let file = at(std::fs::File::open(&args.gold), &args.gold)?;
    let out_file = at(std::fs::File::create(&args.predictions), &args.predictions)?;
    let mut out = BufWriter::new(out_file);
    let mut records = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = at(line, &args.gold)?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| format!("{}:{}: {e}", args.gold.display(), n + 1))?;
        let id = v.get("id").cloned().unwrap_or(serde_json::Value::Null);
        let text = v
            .get("text")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("{}:{}: no \"text\" string", args.gold.display(), n + 1))?
            .to_string();
        records.push((id, text));
    }
    let bytes: usize = records.iter().map(|(_, t)| t.len()).sum();
    // The first pass pays for warming the lazy automata (tens of milliseconds, once per
    // process); the second shows the steady state. Both are reported.
    let started = Instant::now();
    let results: Vec<Vec<Finding>> = records.iter().map(|(_, t)| redactor.findings(t)).collect();
    let cold = started.elapsed();
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(records.len());
    for (_, text) in &records {
        let t = Instant::now();
        std::hint::black_box(redactor.findings(text));
        latencies.push(t.elapsed());
    }
    let warm = started.elapsed();
    for ((id, text), findings) in records.iter().zip(&results) {
        let line = match mode {
            Mode::Pii => {
                let spans: Vec<serde_json::Value> = findings
                    .iter()
                    .map(|f| {
                        let s = f.span();
                        let start = text.get(..s.start).map_or(0, |p| p.chars().count());
                        let len = text.get(s.range()).map_or(0, |p| p.chars().count());
                        serde_json::json!({
                            "start": start,
                            "end": start + len,
                            "label": eval_label(f.entity().as_str()),
                            "score": f.score(),
                        })
                    })
                    .collect();
                serde_json::json!({ "id": id, "spans": spans })
            }
            Mode::Secrets => {
                let flagged = findings
                    .iter()
                    .any(|f| matches!(f.entity().as_str(), "SECRET" | "PASSWORD" | "PRIVATE_KEY"));
                serde_json::json!({ "id": id, "flagged": flagged })
            }
        };
        at(writeln!(out, "{line}"), &args.predictions)?;
    }
    at(out.flush(), &args.predictions)?;
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    let mbps = |d: std::time::Duration| bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9);
    eprintln!(
        "{} records, {:.1} KiB; first pass {:.1} ms ({:.1} MB/s), warm pass {:.1} ms ({:.1} MB/s); \
         warm per record p50 {:.1} us, p99 {:.1} us",
        records.len(),
        bytes as f64 / 1024.0,
        cold.as_secs_f64() * 1e3,
        mbps(cold),
        warm.as_secs_f64() * 1e3,
        mbps(warm),
        pct(0.5),
        pct(0.99)
    );
    Ok(())
}

fn index_build(dir: &Path, index: &Path, dense: bool, chunks: &ChunkArgs) -> Result<()> {
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
fn build_index(
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
fn build_dense(
    index: &Path,
    passages: &[promptveil::index::Passage],
) -> Result<promptveil::index::KnowledgeIndex> {
    use promptveil::index::{Embedder, EmbeddingAssets};
    use promptveil::index::KnowledgeIndex;
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

/// A progress bar on standard error: redrawn in place on a terminal, a line per tenth in a
/// log.
struct Progress {
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
fn build_dense(
    _: &Path,
    _: &[promptveil::index::Passage],
) -> Result<promptveil::index::KnowledgeIndex> {
    Err(NO_EMBEDDINGS.into())
}

#[cfg(not(feature = "embeddings"))]
const NO_EMBEDDINGS: &str = "dense and hybrid search need a promptveil built with the `embeddings` feature (cargo build --features cli,embeddings)";

fn retriever(
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
fn with_embedder(
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
fn with_embedder(
    _: promptveil::index::LocalRetriever,
) -> Result<promptveil::index::LocalRetriever> {
    Err(NO_EMBEDDINGS.into())
}

fn index_check(index: &Path, rules: &RulesArg, in_clear: &str, json: bool) -> Result<ExitCode> {
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

fn print_check(check: &promptveil::pipeline::guard::PublicCheck) {
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

fn index_search(index: &Path, query: &str, k: usize, mode: &str) -> Result<()> {
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

/// Latency percentiles of `samples` (seconds): p50, p90, p99 in milliseconds.
fn percentiles(samples: &mut [f64]) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).copied().unwrap_or(0.0) * 1e3
    };
    (at(0.5), at(0.9), at(0.99))
}

fn eval_retrieval(args: &RetrievalArgs) -> Result<()> {
    use promptveil::index::{KnowledgeIndex, ingest_path};
    #[derive(serde::Deserialize)]
    struct Query {
        #[serde(rename = "_id")]
        id: String,
        text: String,
    }
    let tmp;
    let index_dir = match &args.index {
        Some(p) => p.clone(),
        None => {
            tmp = tempdir_for_eval()?;
            tmp.join("index")
        }
    };
    let dense = args.mode != "bm25";
    let existing = KnowledgeIndex::open(&index_dir)
        .ok()
        .filter(|i| !dense || i.manifest().embedding.is_some());
    let index = match existing {
        Some(index) => index,
        None => {
            let (passages, report) = ingest_path(&args.corpus, &args.chunks.config())?;
            eprintln!(
                "{} passages from {} documents",
                passages.len(),
                report.documents
            );
            build_index(&index_dir, &passages, dense)?
        }
    };
    let retriever = retriever(index, &args.mode)?;
    let file = at(std::fs::File::open(&args.queries), &args.queries)?;
    let mut queries = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = at(line, &args.queries)?;
        if line.trim().is_empty() {
            continue;
        }
        let q: Query = serde_json::from_str(&line)
            .map_err(|e| format!("{}:{}: {e}", args.queries.display(), n + 1))?;
        queries.push(q);
    }
    let out = at(std::fs::File::create(&args.run), &args.run)?;
    let mut out = BufWriter::new(out);
    let mut latency = Vec::with_capacity(queries.len());
    // Passages fetched per query: enough that `depth` distinct documents remain.
    let passages = args.depth * 3;
    for q in &queries {
        let started = Instant::now();
        let docs = retriever.search_documents(&q.text, args.depth, passages)?;
        latency.push(started.elapsed().as_secs_f64());
        // Scores strictly decrease within a query, as the TREC format expects.
        let mut last = f64::INFINITY;
        for (rank, (doc, score)) in docs.iter().enumerate() {
            let mut s = f64::from(*score);
            if s >= last {
                s = last - 1e-6;
            }
            last = s;
            at(
                writeln!(
                    out,
                    "{} Q0 {} {} {:.6} promptveil-{}",
                    q.id,
                    doc,
                    rank + 1,
                    s,
                    args.mode
                ),
                &args.run,
            )?;
        }
    }
    at(out.flush(), &args.run)?;
    if args.index.is_none() {
        let _ = std::fs::remove_dir_all(index_dir.parent().unwrap_or(&index_dir));
    }
    let (p50, p90, p99) = percentiles(&mut latency);
    println!(
        "{} queries, mode {}: latency p50 {p50:.3} ms, p90 {p90:.3} ms, p99 {p99:.3} ms; run written to {}",
        queries.len(),
        args.mode,
        args.run.display()
    );
    Ok(())
}

/// A fresh directory under the system's temporary folder, removed when the process ends
/// normally (best effort).
fn tempdir_for_eval() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("promptveil-eval-{}", std::process::id()));
    at(std::fs::create_dir_all(&dir), &dir)?;
    Ok(dir)
}
