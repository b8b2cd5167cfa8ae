//! `promptveil route train` and `promptveil eval routing`: fit a router to outcomes, score a
//! set of prompts with one.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use promptveil::redact::without_placeholders;
use promptveil::route::{
    Complexity, ComplexityWeights, LearnedRouter, OutcomeSet, TrainOptions, TrainingEmbeddings,
    train, train_with_embeddings,
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
    /// Also learn from the training prompts' embeddings (all-MiniLM-L6-v2, feature
    /// `embeddings`): the router then remembers them (a `.neighbours` file beside it) and
    /// reads each new prompt's embedding.
    #[arg(long)]
    embeddings: bool,
    /// With --embeddings: how many similar training prompts make the feature.
    #[arg(long, default_value_t = 50)]
    neighbours: usize,
}

/// Embeds `texts` in batches with the index's embedder, saying how far it got.
#[cfg(feature = "embeddings")]
fn embed_all(texts: &[&str]) -> Result<(String, Vec<Vec<f32>>)> {
    use promptveil::index::{Embedder, EmbeddingAssets};
    let embedder = Embedder::load(&EmbeddingAssets::discover())?;
    let mut out = Vec::with_capacity(texts.len());
    for (i, batch) in texts.chunks(64).enumerate() {
        out.extend(embedder.embed(batch)?);
        if i % 20 == 19 {
            eprintln!("embedded {} of {} prompts", out.len(), texts.len());
        }
    }
    Ok((embedder.info().model.clone(), out))
}

#[cfg(not(feature = "embeddings"))]
fn embed_all(_: &[&str]) -> Result<(String, Vec<Vec<f32>>)> {
    Err("embeddings need promptveil built with the feature `embeddings`".into())
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
    options.neighbours = args.neighbours;
    let router = if args.embeddings {
        // Embedded as the pipeline embeds a question for its router: without placeholders.
        let prompts: Vec<String> = sets
            .iter()
            .flat_map(|s| s.outcomes.iter().map(|o| without_placeholders(&o.prompt)))
            .collect();
        let prompts: Vec<&str> = prompts.iter().map(String::as_str).collect();
        let (model, flat) = embed_all(&prompts)?;
        let mut flat = flat.into_iter();
        let vectors = sets
            .iter()
            .map(|s| flat.by_ref().take(s.outcomes.len()).collect())
            .collect();
        train_with_embeddings(&sets, &TrainingEmbeddings { model, vectors }, options)?
    } else {
        train(&sets, options)?
    };
    router.write(&args.out)?;
    println!(
        "{:<32} {:>7}  {:<44} {:>6} {:>7} {:>7}",
        "set", "records", "weak -> strong", "APGR", "CPT50", "CPT80"
    );
    for t in router.trained_on() {
        let pair = format!("{} -> {}", t.weak, t.strong);
        let rows = [
            ("", &t.cross_validated),
            (" (all pairs)", &t.cross_validated_all_pairs),
        ];
        for (i, (head, figures)) in rows.iter().enumerate() {
            let name = format!("{}{head}", t.name);
            match figures {
                Some(m) => println!(
                    "{:<32} {:>7}  {:<44} {:>6.3} {:>6.1}% {:>6.1}%",
                    name,
                    t.records,
                    pair,
                    m.apgr,
                    m.cpt50 * 100.0,
                    m.cpt80 * 100.0
                ),
                None if i == 0 => {
                    println!("{:<32} {:>7}  {:<44} {:>6}", name, t.records, pair, "-");
                }
                None => {}
            }
        }
    }
    if !router.model_pairs().is_empty() {
        println!(
            "(a head per pair of models, and one for all pairs: [routing] router_models \
             chooses; a set's first row is its pair's own head)"
        );
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
    /// `shipped-dense` (reads the prompt's embedding; the default in a build with the feature
    /// `embeddings`), `shipped` (the prompt's features alone; the default otherwise),
    /// `complexity` (the hand-set keyword score), or a router file.
    #[arg(long, default_value = DEFAULT_ROUTER)]
    router: String,
    /// The weak model of the pair routed between; with --strong, a router with a head fitted
    /// to that pair alone scores with it. Default: the pair the gold file's outcomes name
    /// (`meta.json` beside it, or its two models), else the head fitted to all pairs.
    #[arg(long)]
    weak: Option<String>,
    /// The strong model of the pair.
    #[arg(long)]
    strong: Option<String>,
}

/// The best shipped router this build can run.
const DEFAULT_ROUTER: &str = if cfg!(feature = "embeddings") {
    "shipped-dense"
} else {
    "shipped"
};

#[derive(serde::Deserialize)]
struct Prompt {
    id: String,
    prompt: String,
}

pub(crate) fn eval(args: &RoutingArgs) -> Result<()> {
    let router = match args.router.as_str() {
        "complexity" => None,
        "shipped" => Some(LearnedRouter::shipped()?),
        #[cfg(feature = "embeddings")]
        "shipped-dense" => Some(LearnedRouter::shipped_dense()?),
        file => Some(LearnedRouter::from_file(std::path::Path::new(file))?),
    };
    let text = at(std::fs::read_to_string(&args.gold), &args.gold)?;
    let router = match router {
        Some(r) => Some(for_gold_pair(r, args, &text)?),
        None => None,
    };
    let mut out = std::io::BufWriter::new(at(
        std::fs::File::create(&args.predictions),
        &args.predictions,
    )?);
    let weights = ComplexityWeights::default();
    let mut prompts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let p: Prompt = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: {e}", args.gold.display(), i + 1))?;
        prompts.push(p);
    }
    let embeddings = match router.as_ref().and_then(LearnedRouter::embedding_model) {
        Some(_) => {
            let texts: Vec<String> = prompts
                .iter()
                .map(|p| without_placeholders(&p.prompt))
                .collect();
            embed_all(&texts.iter().map(String::as_str).collect::<Vec<_>>())?.1
        }
        None => Vec::new(),
    };
    let mut n = 0;
    for (i, p) in prompts.iter().enumerate() {
        let score = match &router {
            Some(r) => f64::from(
                r.score(&p.prompt, embeddings.get(i).map(Vec::as_slice))?
                    .raw,
            ),
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
    let head = match router.as_ref().and_then(LearnedRouter::models) {
        Some((weak, strong)) => format!(" (its head for {weak} -> {strong})"),
        None => String::new(),
    };
    eprintln!("{n} prompts scored with the {} router{head}", args.router);
    Ok(())
}

/// The router scoring with its head for the pair the evaluation is about, when it has one:
/// the pair named on the command line (which it must have), else the one the gold file's
/// outcomes name (`text` is the gold file's).
fn for_gold_pair(router: LearnedRouter, args: &RoutingArgs, text: &str) -> Result<LearnedRouter> {
    if let (Some(weak), Some(strong)) = (&args.weak, &args.strong) {
        return Ok(router.for_models(weak, strong)?);
    }
    if router.model_pairs().is_empty() {
        return Ok(router);
    }
    if let Ok(set) =
        OutcomeSet::from_jsonl(&args.gold, args.weak.as_deref(), args.strong.as_deref())
    {
        if router
            .model_pairs()
            .contains(&(set.weak.as_str(), set.strong.as_str()))
        {
            return Ok(router.for_models(&set.weak, &set.strong)?);
        }
        return Ok(router);
    }
    // No pair named: the one pair the router has a head for whose models the records score.
    let scored: Vec<String> = text
        .lines()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| {
            v.get("scores")?
                .as_object()
                .map(|m| m.keys().cloned().collect())
        })
        .unwrap_or_default();
    let matching: Vec<(String, String)> = router
        .model_pairs()
        .into_iter()
        .filter(|(w, s)| scored.iter().any(|m| m == w) && scored.iter().any(|m| m == s))
        .map(|(w, s)| (w.to_string(), s.to_string()))
        .collect();
    match matching.as_slice() {
        [(weak, strong)] => Ok(router.for_models(weak, strong)?),
        _ => Ok(router),
    }
}
