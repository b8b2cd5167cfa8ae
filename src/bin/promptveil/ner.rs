//! `promptveil ner`: the NER detector's passes and word lists, for reviewers; and loading the
//! detector with the settings, lexicon and passes the command line names.

use std::path::Path;
use std::process::ExitCode;

use crate::{NerArgs, Result};

#[cfg(feature = "ner")]
mod enabled {
    use std::path::Path;
    use std::process::ExitCode;
    use std::time::Instant;

    use promptveil::ner::{Lexicon, NerAssets, NerConfig, NerDetector};

    use crate::{NerArgs, Result};

    fn config(args: &NerArgs) -> Result<NerConfig> {
        let mut config = match &args.config {
            Some(path) => NerConfig::from_file(path)?,
            None => NerConfig::default(),
        };
        if let Some(lexicon) = &args.lexicon {
            config.lexicon = Some(lexicon.clone());
        }
        for name in &args.without {
            config = config.without_pass(name);
        }
        Ok(config)
    }

    fn lexicon(path: Option<&Path>) -> Result<Lexicon> {
        // Not `Lexicon::default()`: a broken shipped file must be an error here, not no lists.
        let shipped = Lexicon::shipped()?;
        Ok(match path {
            Some(p) => shipped.with_file(p)?,
            None => shipped,
        })
    }

    pub(crate) fn load(args: &NerArgs) -> Result<NerDetector> {
        let started = Instant::now();
        let ner = NerDetector::load(&NerAssets::discover(), config(args)?)?;
        eprintln!(
            "NER detector loaded in {:.0} ms{}",
            started.elapsed().as_secs_f64() * 1e3,
            if args.without.is_empty() {
                String::new()
            } else {
                format!(", without {}", args.without.join(", "))
            }
        );
        Ok(ner)
    }

    pub(crate) fn inventory(args: &NerArgs, json: bool) -> Result<ExitCode> {
        let config = config(args)?;
        let lexicon = lexicon(config.lexicon.as_deref())?;
        // Unknown pass names are errors here too, as when the detector loads.
        for name in &config.disabled_passes {
            if !promptveil::ner::passes().any(|p| p.name == name) {
                return Err(format!(
                    "unknown pass `{name}` (`promptveil ner inventory` lists the passes)"
                )
                .into());
            }
        }
        let off = |name: &str| config.disabled_passes.iter().any(|d| d == name);
        if json {
            let passes: Vec<serde_json::Value> = promptveil::ner::passes()
                .enumerate()
                .map(|(i, p)| {
                    serde_json::json!({
                        "order": i + 1,
                        "name": p.name,
                        "family": p.family.to_string(),
                        "enabled": !off(p.name),
                        "summary": p.summary,
                    })
                })
                .collect();
            let lists: Vec<serde_json::Value> = lexicon
                .lists()
                .map(|l| {
                    serde_json::json!({
                        "name": l.name(),
                        "words": l.words(),
                        "ignore_case": l.ignores_case(),
                        "used_by": l.used_by(),
                        "description": l.description(),
                        "examples": l.examples().map(|(text, m)| serde_json::json!({"text": text, "match": m})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let out = serde_json::json!({ "passes": passes, "lexicon": lists });
            println!("{}", serde_json::to_string_pretty(&out)?);
            return Ok(ExitCode::SUCCESS);
        }
        println!("passes, in the order they run:");
        println!(
            "{:>3}  {:<26} {:<14} {:<4} what it does",
            "#", "pass", "family", "on"
        );
        for (i, p) in promptveil::ner::passes().enumerate() {
            println!(
                "{:>3}  {:<26} {:<14} {:<4} {}",
                i + 1,
                p.name,
                p.family.to_string(),
                if off(p.name) { "off" } else { "on" },
                p.summary
            );
        }
        println!("\nword lists (fixtures/ner/lexicon.toml, or the file given):");
        println!("{:<24} {:>5}  {:<5} read by", "list", "words", "case");
        for l in lexicon.lists() {
            println!(
                "{:<24} {:>5}  {:<5} {}",
                l.name(),
                l.words().len(),
                if l.ignores_case() { "any" } else { "exact" },
                l.used_by().join(", ")
            );
        }
        Ok(ExitCode::SUCCESS)
    }

    pub(crate) fn test(path: Option<&Path>) -> Result<ExitCode> {
        let lexicon = lexicon(path)?;
        let failures = lexicon.check_examples();
        for f in &failures {
            println!("FAIL {f}");
        }
        let examples: usize = lexicon.lists().map(|l| l.examples().count()).sum();
        let lists = lexicon.lists().count();
        println!(
            "{} {}: {lists} lists, {examples} examples, {} failed",
            if failures.is_empty() { "ok" } else { "FAILED" },
            path.map_or("the shipped lexicon".to_string(), |p| p
                .display()
                .to_string()),
            failures.len()
        );
        Ok(if failures.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

#[cfg(not(feature = "ner"))]
const NO_NER: &str = "the NER detector needs a promptveil built with the `ner` feature (cargo build --features cli,ner)";

/// The NER detector with the settings, lexicon and passes `args` names.
#[cfg(feature = "ner")]
pub(crate) fn load(args: &NerArgs) -> Result<promptveil::ner::NerDetector> {
    enabled::load(args)
}

/// The NER detector needs the feature.
#[cfg(not(feature = "ner"))]
pub(crate) fn load(_: &NerArgs) -> Result<promptveil::rules::RuleSet> {
    Err(NO_NER.into())
}

/// `promptveil ner inventory`.
pub(crate) fn inventory(args: &NerArgs, json: bool) -> Result<ExitCode> {
    #[cfg(feature = "ner")]
    return enabled::inventory(args, json);
    #[cfg(not(feature = "ner"))]
    {
        let _ = (args, json);
        Err(NO_NER.into())
    }
}

/// `promptveil ner test`.
pub(crate) fn test(lexicon: Option<&Path>) -> Result<ExitCode> {
    #[cfg(feature = "ner")]
    return enabled::test(lexicon);
    #[cfg(not(feature = "ner"))]
    {
        let _ = lexicon;
        Err(NO_NER.into())
    }
}
