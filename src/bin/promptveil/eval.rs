//! `promptveil eval`: detection and retrieval quality and speed on labelled data.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use promptveil::redact::Finding;

use crate::index::{build_index, retriever};
use crate::{EvalArgs, Result, RetrievalArgs, at};

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    Pii,
    Secrets,
}

/// The evaluation label for an entity type, when the evaluation set has one.
pub(crate) fn eval_label(entity: &str) -> &str {
    match entity {
        "DOMAIN" => "URL",
        // Passports and other state-issued identity numbers are national identifiers in the
        // evaluation sets' label set (the NER model names some GOVERNMENT_ID).
        "PASSPORT" | "GOVERNMENT_ID" => "NATIONAL_ID",
        other => other,
    }
}

pub(crate) fn detection(args: &EvalArgs, mode: Mode) -> Result<()> {
    let redactor = args.rules.redactor()?;
    let file = at(std::fs::File::open(&args.gold), &args.gold)?;
    let out_file = at(std::fs::File::create(&args.predictions), &args.predictions)?;
    let mut out = BufWriter::new(out_file);
    let mut records = Vec::new();
    let mut typed: Vec<TypedSpan> = Vec::new();
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
        // Labelled spans that name a type within their label (`id_type`: the national
        // identifier's scheme, a VAT number's country), for the per-type summary.
        if let Some(spans) = v.get("spans").and_then(serde_json::Value::as_array) {
            for sp in spans {
                let field = |k: &str| sp.get(k).and_then(serde_json::Value::as_u64);
                if let (Some(start), Some(end), Some(kind), Some(label)) = (
                    field("start"),
                    field("end"),
                    sp.get("id_type").and_then(serde_json::Value::as_str),
                    sp.get("label").and_then(serde_json::Value::as_str),
                ) {
                    typed.push(TypedSpan {
                        record: records.len(),
                        start: start as usize,
                        end: end as usize,
                        label: label.to_string(),
                        kind: kind.to_string(),
                    });
                }
            }
        }
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
    // Each finding's span in characters, as the evaluation files count.
    let in_chars: Vec<Vec<(usize, usize)>> = records
        .iter()
        .zip(&results)
        .map(|((_, text), findings)| char_spans(text, findings))
        .collect();
    for (((id, _), findings), chars) in records.iter().zip(&results).zip(&in_chars) {
        let line = match mode {
            Mode::Pii => {
                let spans: Vec<serde_json::Value> = findings
                    .iter()
                    .zip(chars)
                    .map(|(f, (start, end))| {
                        let mut span = serde_json::json!({
                            "start": start,
                            "end": end,
                            "label": eval_label(f.entity().as_str()),
                            "score": f.score(),
                        });
                        if args.with_rules
                            && let Some(o) = span.as_object_mut()
                        {
                            o.insert("rule".into(), f.rule().as_str().into());
                        }
                        span
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
    if mode == Mode::Pii && !typed.is_empty() {
        print_per_type(&typed, &results, &in_chars);
    }
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

/// The spans of `findings` in characters of `text` (findings hold byte offsets).
fn char_spans(text: &str, findings: &[Finding]) -> Vec<(usize, usize)> {
    findings
        .iter()
        .map(|f| {
            let s = f.span();
            let start = text.get(..s.start).map_or(0, |p| p.chars().count());
            let len = text.get(s.range()).map_or(0, |p| p.chars().count());
            (start, start + len)
        })
        .collect()
}

/// A labelled span with a type within its label (`id_type`), in characters.
struct TypedSpan {
    record: usize,
    start: usize,
    end: usize,
    label: String,
    kind: String,
}

/// Per `id_type`: how many labelled spans were found exactly with their label, and how many
/// were covered whole by findings of any label (masked, if under another name).
fn print_per_type(typed: &[TypedSpan], results: &[Vec<Finding>], in_chars: &[Vec<(usize, usize)>]) {
    let mut rows: std::collections::BTreeMap<(&str, &str), (usize, usize, usize)> =
        std::collections::BTreeMap::new();
    for t in typed {
        let (Some(findings), Some(chars)) = (results.get(t.record), in_chars.get(t.record)) else {
            continue;
        };
        let spans: Vec<(usize, usize, &str)> = findings
            .iter()
            .zip(chars)
            .map(|(f, (a, b))| (*a, *b, eval_label(f.entity().as_str())))
            .collect();
        let exact = spans
            .iter()
            .any(|(a, b, l)| *a == t.start && *b == t.end && *l == t.label);
        let covered = (t.start..t.end).all(|c| spans.iter().any(|(a, b, _)| *a <= c && c < *b));
        let row = rows.entry((t.label.as_str(), t.kind.as_str())).or_default();
        row.0 += 1;
        row.1 += usize::from(exact);
        row.2 += usize::from(covered);
    }
    eprintln!(
        "{:<14} {:<24} {:>8} {:>6} {:>8}",
        "label", "id_type", "labelled", "found", "covered"
    );
    for ((label, kind), (n, exact, covered)) in rows {
        eprintln!("{label:<14} {kind:<24} {n:>8} {exact:>6} {covered:>8}");
    }
}

/// Latency percentiles of `samples` (seconds): p50, p90, p99 in milliseconds.
pub(crate) fn percentiles(samples: &mut [f64]) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).copied().unwrap_or(0.0) * 1e3
    };
    (at(0.5), at(0.9), at(0.99))
}

pub(crate) fn retrieval(args: &RetrievalArgs) -> Result<()> {
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
pub(crate) fn tempdir_for_eval() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("promptveil-eval-{}", std::process::id()));
    at(std::fs::create_dir_all(&dir), &dir)?;
    Ok(dir)
}
