//! `promptveil rules`: checking, testing and listing rule files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use promptveil::rules::RuleSet;

use crate::Result;

/// The rule sets to check: each file as a reviewer's file (with the default rules it adds
/// to), or the default rules alone when no file is named.
fn sets(files: &[PathBuf]) -> Vec<(String, promptveil::Result<RuleSet>)> {
    if files.is_empty() {
        return vec![(
            "the default rules (built in)".to_string(),
            RuleSet::default_rules(),
        )];
    }
    files
        .iter()
        .map(|f| (f.display().to_string(), RuleSet::from_file(f)))
        .collect()
}

/// How a checked set relates to the default rules, for the summary line.
fn scope(set: &RuleSet, files: &[PathBuf]) -> String {
    let with_defaults = set
        .sources()
        .iter()
        .any(|s| s == promptveil::rules::DEFAULT_RULES_PATH);
    let mut out = if files.is_empty() {
        String::new()
    } else if with_defaults {
        " (with the default rules)".to_string()
    } else {
        " (replacing the default rules)".to_string()
    };
    if !set.disabled().is_empty() {
        out.push_str(&format!(", {} turned off", set.disabled().len()));
    }
    out
}

pub(crate) fn check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = false;
    for (name, set) in sets(files) {
        match set {
            Ok(set) => println!(
                "ok {name}: {} rules, {} field rules{}",
                set.rules().len(),
                set.fields().len(),
                scope(&set, files)
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

pub(crate) fn test(files: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = false;
    for (name, set) in sets(files) {
        let set = match set {
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
            "{} {name}: {} examples, {} failed, {} rules{}",
            if report.passed() { "ok" } else { "FAILED" },
            report.checked,
            report.failures.len(),
            set.rules().len(),
            scope(&set, files)
        );
        failed |= !report.passed();
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub(crate) fn inventory(file: Option<&Path>, json: bool) -> Result<ExitCode> {
    let set = match file {
        Some(f) => RuleSet::from_file(f)?,
        None => RuleSet::default_rules()?,
    };
    let inv = set.inventory();
    if json {
        let s = serde_json::to_string_pretty(&serde_json::json!({
            "sources": set.sources(),
            "rules": inv,
            "disabled": set.disabled(),
        }))?;
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
    println!("{} rules, from {}", rows.len(), set.sources().join(", "));
    for d in set.disabled() {
        println!(
            "turned off: {} ({}){}",
            d.id,
            d.reason,
            d.location
                .as_deref()
                .map(|l| format!(" at {l}"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
