//! Redaction throughput with the full default rules, on 1 KiB and 64 KiB prompts built from
//! the realistic prompts in `fixtures/prompts/` (support ticket, incident report with
//! credentials, HR note, a question with no personal data).
//!
//! Run: `cargo bench --bench redact`. Criterion reports throughput in bytes per second; each
//! iteration also checks that the expected number of values was replaced, so a regression
//! that makes redaction faster by finding less fails instead of looking good.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use promptveil::redact::{HashKey, Redactor, Vault};

/// The fixture prompts, concatenated and repeated until `len` bytes (cut at a character
/// boundary).
fn corpus(len: usize) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/prompts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/prompts exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let texts: Vec<String> = files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable prompt"))
        .collect();
    let mut out = String::with_capacity(len + 1024);
    while out.len() < len {
        for t in &texts {
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

fn bench(c: &mut Criterion) {
    let redactor = Redactor::builder()
        .hash_key(HashKey::from_bytes(&[42u8; 32]).expect("key"))
        .build()
        .expect("default rules");
    let mut group = c.benchmark_group("redact");
    for (name, len) in [("1KiB", 1024), ("64KiB", 64 * 1024)] {
        let text = corpus(len);
        let expected = redactor.redact(&text, &Vault::new()).report().len();
        assert!(expected > 0, "the corpus must hold sensitive values");
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let vault = Vault::new();
                let red = redactor.redact(black_box(&text), &vault);
                assert_eq!(red.report().len(), expected);
                red
            })
        });
    }
    group.finish();

    // A prompt without anything to find: the common case, one pass over the text.
    let mut clean = c.benchmark_group("redact-clean");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/prompts/research-question.txt"),
    )
    .expect("prompt");
    let text = text.repeat(64 * 1024 / text.len());
    clean.throughput(Throughput::Bytes(text.len() as u64));
    clean.bench_function("64KiB", |b| {
        b.iter(|| {
            let red = redactor.redact(black_box(&text), &Vault::new());
            assert!(
                red.report()
                    .records
                    .iter()
                    .all(|r| r.entity.as_str() != "EMAIL")
            );
            red
        })
    });
    clean.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
