//! `promptveil rules`: checking, testing and listing rule files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use promptveil::rules::RuleSet;

use crate::Result;

pub(crate) fn check(files: &[PathBuf]) -> Result<ExitCode> {
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

pub(crate) fn test(files: &[PathBuf]) -> Result<ExitCode> {
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

pub(crate) fn inventory(file: &Path, json: bool) -> Result<ExitCode> {
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
