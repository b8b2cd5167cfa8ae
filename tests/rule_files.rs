//! Every malformed rule file under `fixtures/rules/invalid/` is rejected with the error its
//! first line announces: `# expect: LINE:COLUMN rest-of-message`. The message must name the
//! file, the line and column, and (where the mistake is inside a rule) the rule id.

mod support;

use std::path::PathBuf;

use promptveil::rules::RuleSet;

fn invalid_fixtures() -> Vec<PathBuf> {
    support::toml_files("fixtures/rules/invalid")
}

#[test]
fn each_kind_of_mistake_names_file_line_column_and_rule() {
    let files = invalid_fixtures();
    assert!(files.len() >= 20, "expected a fixture per kind of mistake");
    let mut failures = Vec::new();
    for path in &files {
        let src = std::fs::read_to_string(path).expect("readable fixture");
        let expect = src
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} lacks an `# expect:` line", path.display()));
        let (pos, message) = expect.split_once(' ').unwrap_or((expect, ""));
        let err = match RuleSet::from_file(path) {
            Ok(_) => {
                failures.push(format!("{}: accepted", path.display()));
                continue;
            }
            Err(e) => e,
        };
        let shown = err.to_string();
        let prefix = format!("{}:{pos}: ", path.display());
        if !err.is_rules() || !shown.starts_with(&prefix) || !shown.contains(message) {
            failures.push(format!(
                "{}\n   expected: {prefix}{message}\n   got:      {shown}",
                path.display()
            ));
        }
        // The location is also available as data, for tools.
        match err.location() {
            Some(loc)
                if format!("{}:{}", loc.line(), loc.column()) == pos
                    && loc.path() == Some(path.as_path()) => {}
            other => failures.push(format!("{}: location {other:?}", path.display())),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn errors_never_echo_more_than_the_rule_file() {
    // A rule file is configuration, not user data; still, errors are one line.
    for path in invalid_fixtures() {
        if let Err(e) = RuleSet::from_file(&path) {
            assert!(!e.to_string().contains('\n'), "{}: {e}", path.display());
        }
    }
}

#[test]
fn missing_file_is_an_io_error() {
    let err = RuleSet::from_file("fixtures/rules/does-not-exist.toml").unwrap_err();
    assert!(err.is_io());
    assert!(err.to_string().contains("does-not-exist.toml"));
}

/// The rule written in the reviewers' guide (`docs/reviewers.md`) compiles and its evidence
/// holds: the guide's example stays true.
#[test]
fn the_reviewers_guide_example_rule_works() {
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reviewers.md"))
        .expect("the guide");
    let start = guide
        .find("```toml\nversion = 1")
        .expect("the example rule")
        + "```toml\n".len();
    let end = start + guide[start..].find("```").expect("end of the block");
    let set = promptveil::rules::RuleSet::builder()
        .toml_str(&guide[start..end])
        .build()
        .expect("the guide's rule compiles");
    let report = set.check_evidence();
    assert!(report.passed(), "{:?}", report.failures);
    assert_eq!(report.checked, 4);
}
