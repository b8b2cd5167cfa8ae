//! Redaction throughput with the full default rules.
//!
//! Three corpora, all built from the prompts in `fixtures/prompts/`:
//!
//! - `redact/…`: every fixture prompt — code review, SQL question, meeting notes, customer
//!   email, gateway log, contract clause, data sample, research question, and the three
//!   packed ones below — in file order, repeated. `1KiB` redacts the corpus cut into
//!   consecutive 1 KiB prompts (one iteration redacts all of them); `64KiB` redacts one
//!   64 KiB prompt.
//! - `redact-dense/…`: only the three prompts packed with identifiers and credentials
//!   (support ticket, incident report with an `.env`, HR note): one value every ~60 bytes,
//!   a stress case.
//! - `redact-clean/64KiB`: a research question without any sensitive value: the floor.
//! - `redact-unicode/64KiB`: the `redact` corpus with every space a no-break space, as French
//!   text writes them between digit groups: every byte goes through the folded view (the
//!   other corpora are mostly ASCII, which skips it), the worst case of its cost.
//!
//! Run: `cargo bench --bench redact`. Each iteration checks the number of values replaced, so
//! a change that gets faster by finding less fails instead of looking good.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use promptveil::redact::{HashKey, Redactor, Vault};

/// Prompts packed with identifiers: the stress corpus.
const DENSE: &[&str] = &["devops-incident.txt", "hr-note.txt", "support-ticket.txt"];

fn prompts(only: Option<&[&str]>) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/prompts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/prompts exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .filter(|p| {
            only.is_none_or(|names| p.file_name().is_some_and(|n| names.iter().any(|x| n == *x)))
        })
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable prompt"))
        .collect()
}

/// The prompts concatenated and repeated until `len` bytes, cut at a character boundary.
fn corpus(texts: &[String], len: usize) -> String {
    let mut out = String::with_capacity(len + 4096);
    while out.len() < len {
        for t in texts {
            out.push_str(t);
            out.push('\n');
        }
    }
    let mut cut = len;
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    out
}

/// One pass over the prompts, cut into consecutive chunks of about `len` bytes.
fn chunks(texts: &[String], len: usize) -> Vec<String> {
    let all = corpus(texts, texts.iter().map(|t| t.len() + 1).sum());
    let mut out = Vec::new();
    let mut start = 0;
    while start < all.len() {
        let mut end = (start + len).min(all.len());
        while !all.is_char_boundary(end) {
            end += 1;
        }
        out.push(all[start..end].to_string());
        start = end;
    }
    out
}

fn redactor() -> Redactor {
    Redactor::builder()
        .default_rules()
        .hash_key(HashKey::from_bytes(&[42u8; 32]).expect("key"))
        .build()
        .expect("default rules")
}

fn bench_corpus(c: &mut Criterion, group: &str, texts: &[String]) {
    let redactor = redactor();
    let mut g = c.benchmark_group(group);

    let small = chunks(texts, 1024);
    let expected: Vec<usize> = small
        .iter()
        .map(|t| redactor.redact(t, &Vault::new()).report().len())
        .collect();
    g.throughput(Throughput::Bytes(
        small.iter().map(|t| t.len() as u64).sum(),
    ));
    g.bench_function("1KiB", |b| {
        b.iter(|| {
            for (t, &n) in small.iter().zip(&expected) {
                let red = redactor.redact(black_box(t), &Vault::new());
                assert_eq!(red.report().len(), n);
            }
        })
    });

    let big = corpus(texts, 64 * 1024);
    let expected = redactor.redact(&big, &Vault::new()).report().len();
    assert!(expected > 0, "the corpus must hold sensitive values");
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("64KiB", |b| {
        b.iter(|| {
            let red = redactor.redact(black_box(&big), &Vault::new());
            assert_eq!(red.report().len(), expected);
            red
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    bench_corpus(c, "redact", &prompts(None));
    bench_corpus(c, "redact-dense", &prompts(Some(DENSE)));

    let redactor = redactor();
    let mut clean = c.benchmark_group("redact-clean");
    let text = prompts(Some(&["research-question.txt"])).concat();
    let text = text.repeat(64 * 1024 / text.len());
    clean.throughput(Throughput::Bytes(text.len() as u64));
    clean.bench_function("64KiB", |b| {
        b.iter(|| {
            let red = redactor.redact(black_box(&text), &Vault::new());
            assert!(red.report().is_empty());
            red
        })
    });
    clean.finish();

    let mut unicode = c.benchmark_group("redact-unicode");
    let text = corpus(&prompts(None), 64 * 1024).replace(' ', "\u{a0}");
    let expected = redactor.redact(&text, &Vault::new()).report().len();
    assert!(expected > 0, "the corpus must hold sensitive values");
    unicode.throughput(Throughput::Bytes(text.len() as u64));
    unicode.bench_function("64KiB", |b| {
        b.iter(|| {
            let red = redactor.redact(black_box(&text), &Vault::new());
            assert_eq!(red.report().len(), expected);
            red
        })
    });
    unicode.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
