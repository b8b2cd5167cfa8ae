//! The data-driven redaction corpus: every case in `fixtures/redaction/*.toml`, run against
//! the default rules. See `fixtures/redaction/README.md` for the format.

mod support;

use std::path::PathBuf;

use promptveil::redact::{Redactor, UrlValues, Vault};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    text: String,
    redacted: String,
    answer: Option<String>,
    restored: Option<String>,
}

fn corpus_files() -> Vec<PathBuf> {
    support::toml_files("fixtures/redaction")
}

#[test]
fn every_case_redacts_and_restores_as_written() {
    let redactor = Redactor::builder()
        .default_rules()
        .build()
        .expect("default rules");
    let mut failures = Vec::new();
    let mut count = 0;
    for path in corpus_files() {
        let src = std::fs::read_to_string(&path).expect("readable corpus file");
        let file: File = toml::from_str(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        for case in file.case {
            count += 1;
            let vault = Vault::new();
            let red = redactor.redact(&case.text, &vault);
            if red.text().as_str() != case.redacted {
                failures.push(format!(
                    "{name} / {}:\n   expected {:?}\n   got      {:?}",
                    case.name,
                    case.redacted,
                    red.text().as_str()
                ));
            }
            // The round trip, with values in URLs filled (answers withhold those by default).
            let back = vault.restore_with(red.text().as_str(), UrlValues::Restore);
            if back.text() != case.text {
                failures.push(format!("{name} / {}: restore(redact(x)) != x", case.name));
            }
            if let (Some(answer), Some(expected)) = (&case.answer, &case.restored) {
                let got = vault.restore(answer);
                if got.text() != expected {
                    failures.push(format!(
                        "{name} / {}: restored answer\n   expected {expected:?}\n   got      {:?}",
                        case.name,
                        got.text()
                    ));
                }
            }
            // Redacting the redacted text changes nothing.
            let again = redactor.redact(red.text().as_str(), &Vault::new());
            if again.text() != red.text() {
                failures.push(format!("{name} / {}: not idempotent", case.name));
            }
        }
    }
    assert!(count >= 60, "the corpus shrank to {count} cases");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
