//! The NER pass cases (`fixtures/ner/cases/*.toml`), run with the real model: each case's
//! findings hold with every pass on, and change when the case's own pass is switched off;
//! every pass has a case.

mod support;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use promptveil::ner::{NerAssets, NerConfig, NerDetector};
use promptveil::redact::{Detector, Finding};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    pass: String,
    reason: String,
    text: String,
    #[serde(default)]
    found: Vec<(String, String)>,
    #[serde(default)]
    not_found: Vec<String>,
}

fn detector() -> &'static NerDetector {
    static NER: OnceLock<NerDetector> = OnceLock::new();
    NER.get_or_init(|| {
        support::fetch_assets(|| NerAssets::discover().check().is_ok());
        NerDetector::load(&NerAssets::discover(), NerConfig::default())
            .unwrap_or_else(|e| panic!("the NER detector does not load: {e}"))
    })
}

/// (entity type, value) of every finding.
fn findings(d: &NerDetector, text: &str) -> BTreeSet<(String, String)> {
    let mut found: Vec<Finding> = Vec::new();
    d.detect(text, &mut found);
    found
        .iter()
        .map(|f| {
            (
                f.entity().as_str().to_string(),
                text[f.span().range()].to_string(),
            )
        })
        .collect()
}

#[test]
fn every_pass_case_holds_and_depends_on_its_pass() {
    let files = support::toml_files("fixtures/ner/cases");
    assert!(!files.is_empty());
    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    let mut cases = 0;
    for path in files {
        let src = std::fs::read_to_string(&path).expect("readable");
        let file: File = toml::from_str(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for case in file.case {
            cases += 1;
            let at = format!("{} ({}: {})", path.display(), case.pass, case.reason);
            assert!(
                !case.found.is_empty() || !case.not_found.is_empty(),
                "{at}: a case says what must or must not be found"
            );
            let all = findings(detector(), &case.text);
            for (entity, value) in &case.found {
                if !all.contains(&(entity.clone(), value.clone())) {
                    failures.push(format!("{at}: {entity} {value:?} not found in {all:?}"));
                }
            }
            for value in &case.not_found {
                if all.iter().any(|(_, v)| v == value) {
                    failures.push(format!("{at}: {value:?} found: {all:?}"));
                }
            }
            let without = detector()
                .without_passes([case.pass.as_str()])
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            if findings(&without, &case.text) == all {
                failures.push(format!(
                    "{at}: the same findings without the pass: the case does not show what it does"
                ));
            }
            covered.insert(case.pass);
        }
    }
    let uncovered: Vec<&str> = promptveil::ner::passes()
        .map(|p| p.name)
        .filter(|n| !covered.contains(*n))
        .collect();
    assert!(uncovered.is_empty(), "passes without a case: {uncovered:?}");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
