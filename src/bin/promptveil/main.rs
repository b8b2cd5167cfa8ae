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
//! promptveil eval routing --gold FILE --predictions OUT [--router shipped-dense|shipped|complexity|FILE] [--weak W --strong S]
//! promptveil route train --data FILE... --out ROUTER [--weak M --strong M] [--folds 5 --seed 7]
//! promptveil index build DIR --index PATH
//! promptveil index search --index PATH QUERY [-k N] [--mode bm25|dense|hybrid]
//! promptveil audit summarize LOG.jsonl [--json]   what left the building, per backend and level
//! promptveil ner inventory [--ner-config FILE] [--ner-lexicon FILE] [--json]
//!                                         the NER passes and word lists
//! promptveil ner test [--ner-lexicon FILE]    run every word list's examples
//! promptveil serve --config promptveil.toml [--listen ADDR]
//!                                         the gateway (feature `server`)
//! ```
//!
//! Every command that redacts (`redact`, `eval pii|secrets`, `index check`) takes the same
//! detector options: `--rules FILE`, `--no-ner` (the NER detector runs by default in a build
//! with the feature `ner`), `--ner-config FILE`, `--ner-lexicon FILE`, `--without-pass NAME`.

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

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use promptveil::redact::Redactor;
use promptveil::rules::RuleSet;

mod audit;
mod eval;
mod index;
mod ner;
mod redact;
mod route;
mod rules;
#[cfg(feature = "server")]
mod serve;

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
    /// List and test the NER detector's passes and word lists (feature `ner`).
    #[command(subcommand)]
    Ner(NerCommand),
    /// Fit a router to logged outcomes of a small and a large model.
    #[command(subcommand)]
    Route(route::RouteCommand),
    /// Serve the OpenAI and Anthropic APIs in front of the pipeline a configuration file
    /// describes (feature `server`).
    #[cfg(feature = "server")]
    Serve(serve::ServeArgs),
}

#[derive(Subcommand)]
enum NerCommand {
    /// The passes, in the order they run (on or off with these settings), and the word lists
    /// they read: name, size, case rule, readers, description.
    Inventory {
        #[command(flatten)]
        ner: NerArgs,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Run every word list's examples through the check of the pass that reads it. Exit
    /// status 1 on any failure.
    Test {
        /// A lexicon file whose lists replace the shipped ones.
        #[arg(long = "ner-lexicon")]
        lexicon: Option<PathBuf>,
    },
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
    /// Validate rule files: schema, patterns, validators, each with the default rules it adds
    /// to (unless it says `defaults = "replace"`). Without a file, the default rules. Exit
    /// status 1 on any error.
    Check { files: Vec<PathBuf> },
    /// Run every rule's examples (match and no_match), each file with the default rules it
    /// adds to. Without a file, the default rules. Exit status 1 on any failure.
    Test { files: Vec<PathBuf> },
    /// List rules: entity type, sensitivity, action, validator; then the rules turned off,
    /// with their reasons. Without a file, the default rules.
    Inventory {
        file: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct RulesArg {
    /// Rule file to add to the default rules (repeatable); a file that says
    /// `defaults = "replace"` is used instead of them.
    #[arg(long = "rules")]
    rules: Vec<PathBuf>,
    /// Run the NER detector (names, places, organisations, addresses) beside the rules: the
    /// default in a build with the `ner` feature (assets from scripts/fetch-assets); an error
    /// without it.
    #[arg(long, conflicts_with = "no_ner")]
    ner: bool,
    /// The rules alone, without the NER detector (what does the model add?).
    #[arg(long = "no-ner")]
    no_ner: bool,
    #[command(flatten)]
    settings: NerArgs,
}

/// The NER detector's settings, passes and lexicon.
#[derive(Args)]
struct NerArgs {
    /// NER settings file instead of the shipped one (implies --ner).
    #[arg(long = "ner-config")]
    config: Option<PathBuf>,
    /// A lexicon file whose lists replace the shipped ones (implies --ner).
    #[arg(long = "ner-lexicon")]
    lexicon: Option<PathBuf>,
    /// Switch a NER pass off, by name (repeatable; implies --ner): what does it add?
    /// `promptveil ner inventory` lists the passes.
    #[arg(long = "without-pass", value_name = "NAME")]
    without: Vec<String>,
}

impl NerArgs {
    fn any(&self) -> bool {
        self.config.is_some() || self.lexicon.is_some() || !self.without.is_empty()
    }
}

impl RulesArg {
    fn redactor(&self) -> Result<Redactor> {
        // The files add to the default rules unless they say `defaults = "replace"`.
        let mut b = Redactor::builder().rules(RuleSet::from_files(&self.rules)?);
        if self.settings.any() && self.no_ner {
            return Err(
                "--no-ner with NER settings (--ner-config, --ner-lexicon, --without-pass)".into(),
            );
        }
        if self.ner || self.settings.any() || (cfg!(feature = "ner") && !self.no_ner) {
            b = b.detector(ner::load(&self.settings)?);
        }
        Ok(b.build()?)
    }
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
    /// Routing: reads {"id","prompt"} lines, writes {"id","score"} (higher: needs the large
    /// model more) for `score_routing.py`.
    Routing(route::RoutingArgs),
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
    /// Give each predicted span the rule id that found it (`"rule"`; for the NER, the pass
    /// that made it too).
    #[arg(long = "with-rules")]
    with_rules: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Rules(RulesCommand::Check { files }) => rules::check(&files),
        Command::Rules(RulesCommand::Test { files }) => rules::test(&files),
        Command::Rules(RulesCommand::Inventory { file, json }) => {
            rules::inventory(file.as_deref(), json)
        }
        Command::Redact(args) => redact::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Eval(EvalCommand::Pii(args)) => {
            eval::detection(&args, eval::Mode::Pii).map(|()| ExitCode::SUCCESS)
        }
        Command::Eval(EvalCommand::Secrets(args)) => {
            eval::detection(&args, eval::Mode::Secrets).map(|()| ExitCode::SUCCESS)
        }
        Command::Eval(EvalCommand::Retrieval(args)) => {
            eval::retrieval(&args).map(|()| ExitCode::SUCCESS)
        }
        Command::Eval(EvalCommand::Routing(args)) => route::eval(&args).map(|()| ExitCode::SUCCESS),
        Command::Route(command) => route::run(&command).map(|()| ExitCode::SUCCESS),
        Command::Index(IndexCommand::Build {
            dir,
            index,
            dense,
            chunks,
        }) => index::build(&dir, &index, dense, &chunks).map(|()| ExitCode::SUCCESS),
        Command::Index(IndexCommand::Check {
            index,
            rules,
            in_clear,
            json,
        }) => index::check(&index, &rules, &in_clear, json),
        Command::Index(IndexCommand::Search {
            index,
            query,
            k,
            mode,
        }) => index::search(&index, &query, k, &mode).map(|()| ExitCode::SUCCESS),
        Command::Audit(AuditCommand::Summarize { log, json }) => {
            audit::summarize(&log, json).map(|()| ExitCode::SUCCESS)
        }
        Command::Ner(NerCommand::Inventory { ner, json }) => ner::inventory(&ner, json),
        Command::Ner(NerCommand::Test { lexicon }) => ner::test(lexicon.as_deref()),
        #[cfg(feature = "server")]
        Command::Serve(args) => serve::run(&args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // For people: the error, then what caused it, one line each.
            eprintln!("error: {e}");
            let mut cause = e.source();
            while let Some(c) = cause {
                eprintln!("  caused by: {c}");
                cause = c.source();
            }
            ExitCode::from(2)
        }
    }
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
