//! `promptveil route train` and `promptveil eval routing`: fit a router to outcomes, score a
//! set of prompts with one.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use promptveil::route::{
    Complexity, ComplexityWeights, LearnedRouter, OutcomeSet, TrainOptions, train,
};

use crate::{Result, at};

#[derive(Subcommand)]
pub(crate) enum RouteCommand {
    /// Fit a router to outcomes: JSON Lines of {"id", "prompt", "scores": {model: quality}}
    /// (the evaluation files' shape, or your own logged outcomes), cross-validated, written
    /// as a router file for `[routing] router = "FILE"`.
    Train(TrainArgs),
}

#[derive(Args)]
pub(crate) struct TrainArgs {
    /// An outcome file (repeatable: the files are trained on together, each with its pair).
    #[arg(long = "data", required = true)]
    data: Vec<PathBuf>,
    /// The weak (small) model's name in `scores`; default: `meta.json` beside each file, or
    /// the lower mean of two models.
    #[arg(long)]
    weak: Option<String>,
    /// The strong (large) model's name in `scores`.
    #[arg(long)]
    strong: Option<String>,
    /// Where to write the router.
    #[arg(long)]
    out: PathBuf,
    /// Ridge penalty.
    #[arg(long, default_value_t = 10.0)]
    alpha: f32,
    /// Cross-validation folds (0: none).
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Seed of the folds.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

pub(crate) fn run(command: &RouteCommand) -> Result<()> {
    match command {
        RouteCommand::Train(args) => train_router(args),
    }
}

fn train_router(args: &TrainArgs) -> Result<()> {
    let mut sets = Vec::with_capacity(args.data.len());
    for path in &args.data {
        sets.push(OutcomeSet::from_jsonl(
            path,
            args.weak.as_deref(),
            args.strong.as_deref(),
        )?);
    }
    let mut options = TrainOptions::default();
    options.alpha = args.alpha;
    options.folds = args.folds;
    options.seed = args.seed;
    let router = train(&sets, options)?;
    at(
        std::fs::write(&args.out, router.to_json() + "\n"),
        &args.out,
    )?;
    println!(
        "{:<20} {:>7}  {:<44} {:>6} {:>7} {:>7}",
        "set", "records", "weak -> strong", "APGR", "CPT50", "CPT80"
    );
    for t in router.trained_on() {
        let pair = format!("{} -> {}", t.weak, t.strong);
        match &t.cross_validated {
            Some(m) => println!(
                "{:<20} {:>7}  {:<44} {:>6.3} {:>6.1}% {:>6.1}%",
                t.name,
                t.records,
                pair,
                m.apgr,
                m.cpt50 * 100.0,
                m.cpt80 * 100.0
            ),
            None => println!("{:<20} {:>7}  {:<44} {:>6}", t.name, t.records, pair, "-"),
        }
    }
    println!(
        "({}-fold cross-validated, seed {}; router {} written to {})",
        args.folds,
        args.seed,
        router.digest(),
        args.out.display()
    );
    Ok(())
}

#[derive(Args)]
pub(crate) struct RoutingArgs {
    /// Prompts (JSON Lines with "id" and "prompt").
    #[arg(long)]
    gold: PathBuf,
    /// Where to write {"id", "score"} lines (higher: needs the large model more).
    #[arg(long)]
    predictions: PathBuf,
    /// `shipped` (the default router), `complexity` (the hand-set keyword score), or a
    /// router file.
    #[arg(long, default_value = "shipped")]
    router: String,
}

#[derive(serde::Deserialize)]
struct Prompt {
    id: String,
    prompt: String,
}

pub(crate) fn eval(args: &RoutingArgs) -> Result<()> {
    let router = match args.router.as_str() {
        "complexity" => None,
        "shipped" => Some(LearnedRouter::shipped()?),
        file => Some(LearnedRouter::from_file(std::path::Path::new(file))?),
    };
    let text = at(std::fs::read_to_string(&args.gold), &args.gold)?;
    let mut out = std::io::BufWriter::new(at(
        std::fs::File::create(&args.predictions),
        &args.predictions,
    )?);
    let weights = ComplexityWeights::default();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let p: Prompt = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: {e}", args.gold.display(), i + 1))?;
        let score = match &router {
            Some(r) => f64::from(r.score(&p.prompt).raw),
            None => {
                let tokens = promptveil::enrich::TokenCounter::count(
                    &promptveil::enrich::HeuristicCounter,
                    &p.prompt,
                );
                f64::from(Complexity::score(&p.prompt, tokens, 0, &weights).score)
            }
        };
        let row = serde_json::json!({"id": p.id, "score": score});
        at(writeln!(out, "{row}"), &args.predictions)?;
        n += 1;
    }
    at(out.flush(), &args.predictions)?;
    eprintln!("{n} prompts scored with the {} router", args.router);
    Ok(())
}
