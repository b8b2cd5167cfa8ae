//! The NER path: the full default rules plus the NER detector (model, gazetteers,
//! organisation patterns) on 1.7 KB prompts.
//!
//! - `ner/prompt-1.7KB`: the prose fixtures (customer email, meeting notes, HR note, support
//!   ticket, contract clause, research question: names, addresses, companies), cut into
//!   consecutive 1.7 KB prompts; one iteration redacts all of them, reported per byte.
//! - `ner/detector-only-1.7KB`: the same prompts through the NER detector alone.
//! - `ner/4-threads-1.7KB`: four threads redacting the prompts at once through one detector
//!   (one ONNX Runtime session per thread), for the parallel throughput.
//!
//! Needs the assets (`scripts/fetch-assets`). Run: `cargo bench --features ner --bench ner`.
//! Presidio with spaCy needs about 120 ms of CPU for a 1.7 KB prompt on this machine class.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use promptveil::ner::{NerAssets, NerConfig, NerDetector};
use promptveil::redact::{Detector, HashKey, Redactor, Vault};

const PROSE: &[&str] = &[
    "customer-email.txt",
    "meeting-notes.txt",
    "hr-note.txt",
    "support-ticket.txt",
    "contract-clause.txt",
    "research-question.txt",
];
const PROMPT_BYTES: usize = 1700;

fn prompts() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/prompts");
    let text: String = PROSE
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).expect("fixture prompt"))
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while rest.len() >= PROMPT_BYTES / 2 {
        let mut cut = PROMPT_BYTES.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push(head.to_string());
        rest = tail;
    }
    out
}

fn bench(c: &mut Criterion) {
    let started = std::time::Instant::now();
    let ner = NerDetector::load(&NerAssets::discover(), NerConfig::default())
        .expect("assets present: run scripts/fetch-assets");
    eprintln!("NER load: {:.0} ms", started.elapsed().as_secs_f64() * 1e3);
    let redactor = Redactor::builder()
        .default_rules()
        .detector(ner.clone())
        .hash_key(HashKey::from_bytes(&[7; 32]).expect("key"))
        .build()
        .expect("redactor");
    let prompts = prompts();
    let bytes: usize = prompts.iter().map(String::len).sum();
    let expected: usize = prompts
        .iter()
        .map(|p| redactor.redact(p, &Vault::new()).report().len())
        .sum();
    assert!(expected > 10, "the prose prompts hold names");
    eprintln!(
        "{} prompts, {bytes} bytes, {expected} findings",
        prompts.len()
    );

    let mut g = c.benchmark_group("ner");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(20);
    g.bench_function("prompt-1.7KB", |b| {
        b.iter(|| {
            let mut n = 0;
            for p in &prompts {
                n += redactor.redact(black_box(p), &Vault::new()).report().len();
            }
            assert_eq!(n, expected);
        })
    });
    g.bench_function("detector-only-1.7KB", |b| {
        b.iter(|| {
            let mut found = Vec::new();
            for p in &prompts {
                ner.detect(black_box(p), &mut found);
            }
            black_box(found.len())
        })
    });
    g.throughput(Throughput::Bytes(4 * bytes as u64));
    g.bench_function("4-threads-1.7KB", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                for _ in 0..4 {
                    s.spawn(|| {
                        for p in &prompts {
                            black_box(redactor.redact(p, &Vault::new()));
                        }
                    });
                }
            });
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
