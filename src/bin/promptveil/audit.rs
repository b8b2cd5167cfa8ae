//! `promptveil audit`: reading a pipeline's audit trail.

use std::path::Path;

use crate::Result;

pub(crate) fn summarize(log: &Path, json: bool) -> Result<()> {
    let s = promptveil::audit::summarize_file(log)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    let refused: usize = s.refused.values().sum();
    println!(
        "{}: {} requests — {} answered, {} refused, {} failed, {} cancelled{}",
        log.display(),
        s.requests,
        s.answered,
        refused,
        s.failed,
        s.cancelled,
        if s.unfinished > 0 {
            format!(
                ", {} without an end (still running, or the trail was cut)",
                s.unfinished
            )
        } else {
            String::new()
        }
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
    for (shield, n) in &s.shields {
        println!("shield {shield}: {n} requests");
    }
    if !s.refused.is_empty() {
        let causes: Vec<String> = s.refused.iter().map(|(c, n)| format!("{c} {n}")).collect();
        println!("refused: {}", causes.join(", "));
    }
    Ok(())
}
