use super::*;
use crate::{Location, Sensitivity};

fn build(src: &str) -> Result<RuleSet> {
    RuleSet::builder().toml_str(src).build()
}

const MINIMAL: &str = r#"
version = 1
[[rule]]
id = "ticket"
entity = "TICKET"
sensitivity = "internal"
patterns = ['\bTCK-[0-9]{5}\b']
examples.match = ["see TCK-12345"]
examples.no_match = ["TCK-1234"]
"#;

#[test]
fn default_rules_load_and_their_evidence_passes() {
    let rules = RuleSet::default_rules().unwrap_or_else(|e| panic!("{e}"));
    assert!(rules.rules().len() > 30);
    let report = rules.check_evidence();
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert!(report.passed(), "{}", failures.join("\n"));
    assert!(report.checked > 150);
    for rule in rules.rules() {
        assert!(!rule.examples().is_empty(), "{} has no evidence", rule.id());
        assert!(
            !rule.description().is_empty(),
            "{} has no description",
            rule.id()
        );
    }
}

#[test]
fn minimal_file_loads() {
    let rules = build(MINIMAL).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rules.rules().len(), 1);
    assert!(rules.check_evidence().passed());
}

#[test]
fn failing_evidence_is_reported_with_location() {
    let src = MINIMAL.replace("\"see TCK-12345\"", "\"see TCK-1234\"");
    let rules = build(&src).unwrap_or_else(|e| panic!("{e}"));
    let report = rules.check_evidence();
    assert_eq!(report.failures.len(), 1);
    let f = &report.failures[0];
    assert_eq!(f.kind, EvidenceFailureKind::Missed);
    assert_eq!(f.location.as_ref().map(Location::line), Some(8));
    let err = report.into_result().unwrap_err();
    assert!(err.is_evidence());
    assert_eq!(err.rule_id(), Some("ticket"));
}

#[test]
fn custom_validator_shadows_nothing_it_should_not() {
    let src = MINIMAL.replace("patterns =", "validator = \"odd\"\npatterns =");
    let err = build(&src).unwrap_err();
    assert!(err.to_string().contains("unknown validator `odd`"), "{err}");
    let rules = RuleSet::builder()
        .toml_str(src)
        .validator("odd", |v: &str| v.ends_with(['1', '3', '5', '7', '9']))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rules.detect_with_rule("ticket", "TCK-12345").len(), 1);
    assert_eq!(rules.detect_with_rule("ticket", "TCK-12346").len(), 0);
}

#[test]
fn duplicate_ids_across_sources_are_rejected() {
    let err = RuleSet::builder()
        .toml_str(MINIMAL)
        .toml_str(MINIMAL)
        .build()
        .unwrap_err();
    assert!(err.is_rules());
    assert_eq!(err.rule_id(), Some("ticket"));
}

#[test]
fn disabling_an_unknown_rule_is_an_error() {
    let err = RuleSet::builder()
        .toml_str(MINIMAL)
        .disable("tickets", "the ticket numbers are public")
        .build()
        .unwrap_err();
    assert_eq!(err.rule_id(), Some("tickets"));
}

#[test]
fn inventory_lists_every_rule() {
    let rules = RuleSet::default_rules().unwrap_or_else(|e| panic!("{e}"));
    let inv = rules.inventory();
    assert_eq!(inv.len(), rules.rules().len() + rules.fields().len());
    let ssn = inv.iter().find(|e| e.id == "us-ssn-context");
    assert!(ssn.is_some_and(|e| e.needs_context && e.sensitivity == Sensitivity::Restricted));
}

#[test]
fn value_group_narrows_the_span() {
    let rules = RuleSet::default_rules().unwrap_or_else(|e| panic!("{e}"));
    let text = "DB_PASSWORD=hunter22 next";
    let found = rules.detect_with_rule("password-assignment", text);
    assert_eq!(found.len(), 1);
    assert_eq!(&text[found[0].span().range()], "hunter22");
}

/// The joint automaton must find exactly what every pattern finds on its own.
#[test]
fn joint_matcher_agrees_with_each_pattern_alone() {
    let rules = RuleSet::default_rules().unwrap_or_else(|e| panic!("{e}"));
    let matcher = &rules.inner.matcher;
    assert!(
        matcher.is_joint(),
        "the default rules must fit the joint automaton"
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/prompts");
    let mut texts: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect();
    texts.push("12 34 56 78 90 and 1111 2222 3333 4444 5555 x ab@cd.ef.gh".into());
    texts.push("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx1y2z3aaaaaaaaaaaaaaaaaaaaaaaaaaaa\n-----END RSA PRIVATE KEY----- and -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n-----END EC PRIVATE KEY-----".into());
    texts.push("ééé 555-0132 (415) 555-0132x12 +44 20 7946 0958 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".into());
    // Whether a rule takes a match, and how much of it, changes where the search goes on:
    // reject some (every match of odd length) to exercise the look inside rejected matches,
    // and take only the first half of some (lengths a multiple of 4) to exercise the search
    // going on after a shorter value.
    let take = |span: Span| match span.len() {
        n if n % 4 == 0 && n >= 8 => Some(span.start + n / 2),
        n if n % 2 == 0 => Some(span.end),
        _ => None,
    };
    for text in &texts {
        let mut joint = Vec::new();
        // Literal-anchored patterns all run when every literal is said to occur.
        let mut scan = matcher.scan(text);
        scan.literals.iter_mut().for_each(|l| *l = true);
        matcher.for_each_match(
            text,
            &scan,
            |_, _| true,
            |p, span| {
                joint.push((p.rule, span.start, span.end));
                take(span)
            },
        );
        let mut alone = Vec::new();
        for p in &matcher.patterns {
            p.for_each_match_from(text, 0, |span| {
                alone.push((p.rule, span.start, span.end));
                take(span)
            });
        }
        joint.sort_unstable();
        alone.sort_unstable();
        assert_eq!(joint, alone, "on {text:?}");
    }
}

#[test]
fn masks_are_merged_into_disjoint_spans() {
    let s = |a, b| Span::new(a, b);
    // A long finding holding shorter ones (an email around a domain) leaves one span, so
    // that ends are in order for the binary searches over the mask.
    assert_eq!(
        union(vec![
            s(30, 40),
            s(0, 100),
            s(10, 20),
            s(100, 104),
            s(200, 201)
        ]),
        vec![s(0, 104), s(200, 201)]
    );
    assert!(union(Vec::new()).is_empty());
}
