//! The egress guard: a canary planted in a passage of an index wrongly declared public is
//! caught in the exact payload before it is sent, and the refusal never shows it.

mod support;

use promptveil::Sensitivity;
use promptveil::backend::BackendRequest;
use promptveil::enrich::{ContextPassage, HeuristicCounter, Template, enrich};
use promptveil::index::Passage;
use promptveil::pipeline::guard::check_egress;
use promptveil::redact::{Redactor, Vault};
use promptveil::route::{BackendProfile, Locality, Size};

/// A made-up AWS access key id and an email address, unique to this test.
const KEY_CANARY: &str = "AKIAQ7CANARY7EGRESS7";
const MAIL_CANARY: &str = "canary.egress@example.org";

fn payload(passage_text: &str) -> BackendRequest {
    let redactor = Redactor::builder().default_rules().build().expect("rules");
    let vault = Vault::new();
    let question = redactor.redact("What does the runbook say about deploy keys?", &vault);
    // The index was declared public, so its passages go in unredacted.
    let passage = Passage::new("runbook.md#3", "runbook.md", "Deploy keys", passage_text);
    let prompt = enrich(
        &Template::default(),
        "Answer from the context.",
        question.text(),
        &[ContextPassage::public(&passage)],
        1000,
        &HeuristicCounter,
    )
    .expect("fits");
    BackendRequest::new(prompt, 64, 0.0)
}

#[test]
fn a_planted_secret_in_a_public_passage_is_refused_for_every_backend() {
    let redactor = Redactor::builder().default_rules().build().expect("rules");
    let request = payload(&format!(
        "Rotate the deploy key {KEY_CANARY} every quarter and mail {MAIL_CANARY}."
    ));
    assert!(
        request.prompt().contains(KEY_CANARY),
        "the canary is in the payload"
    );
    let external = BackendProfile::new("cloud-llm", Locality::External, Size::Large, 100_000);
    let refusal = check_egress(&redactor, &request, &external).expect_err("refused");
    assert_eq!(refusal.backend, "cloud-llm");
    let kinds: Vec<(&str, Sensitivity)> = refusal
        .found
        .iter()
        .map(|(e, s, _)| (e.as_str(), *s))
        .collect();
    assert!(
        kinds.contains(&("SECRET", Sensitivity::Restricted)),
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|(e, _)| *e == "EMAIL"), "{kinds:?}");
    // Even on premises a secret is not sent in clear.
    let local = BackendProfile::new("slm", Locality::OnPremises, Size::Small, 8192);
    let refusal_local = check_egress(&redactor, &request, &local).expect_err("refused");
    assert!(
        refusal_local
            .found
            .iter()
            .all(|(_, s, _)| *s == Sensitivity::Restricted)
    );
    // The refusal never shows a value, in Display, Debug or its JSON.
    for shown in [
        refusal.to_string(),
        format!("{refusal:?}"),
        serde_json::to_string(&refusal).expect("json"),
        format!("{request:?}"),
    ] {
        assert!(
            !shown.contains(KEY_CANARY) && !shown.contains(MAIL_CANARY),
            "{shown}"
        );
    }
}

#[test]
fn redacted_payloads_and_allowed_levels_pass() {
    let redactor = Redactor::builder().default_rules().build().expect("rules");
    // Placeholders are not findings: a payload built from redacted text passes.
    let vault = Vault::new();
    let red = redactor.redact(&format!("mail {MAIL_CANARY} about it"), &vault);
    let prompt = enrich(
        &Template::parse("{question}").expect("template"),
        "",
        red.text(),
        &[],
        100,
        &HeuristicCounter,
    )
    .expect("fits");
    let request = BackendRequest::new(prompt, 16, 0.0);
    let external = BackendProfile::new("cloud-llm", Locality::External, Size::Large, 100_000);
    check_egress(&redactor, &request, &external).expect("only placeholders");
    // An email (confidential) in clear is allowed on premises, not outside.
    let request = payload(&format!("Questions go to {MAIL_CANARY}."));
    let local = BackendProfile::new("slm", Locality::OnPremises, Size::Small, 8192);
    check_egress(&redactor, &request, &local).expect("confidential is allowed on premises");
    check_egress(&redactor, &request, &external).expect_err("not outside");
    let lenient = external.receiving_in_clear(Sensitivity::Confidential);
    check_egress(&redactor, &request, &lenient).expect("configured to allow it");
}

#[test]
fn earlier_turns_are_scanned_like_the_prompt() {
    use promptveil::enrich::{Role, Turn};
    use promptveil::rules::RuleSet;
    // A caller's own redactor that knows no e-mail rule lets one through in a turn.
    let weak = Redactor::builder()
        .rules(
            RuleSet::builder()
                .toml_str(
                    r#"
version = 1
[[rule]]
id = "ticket"
entity = "TICKET"
sensitivity = "internal"
patterns = ['TCK-[0-9]{6}']
score = 0.9
examples.match = ["see TCK-123456"]
"#,
                )
                .build()
                .expect("rule file"),
        )
        .build()
        .expect("redactor");
    let vault = Vault::new();
    let turn = Turn::new(
        Role::User,
        weak.redact(&format!("Write to {MAIL_CANARY} about TCK-123456."), &vault)
            .text(),
    );
    let question = weak.redact("Any news?", &vault);
    let prompt = enrich(
        &Template::default(),
        "",
        question.text(),
        &[],
        500,
        &HeuristicCounter,
    )
    .expect("fits")
    .with_history(vec![turn], 500, &HeuristicCounter);
    let request = BackendRequest::new(prompt, 64, 0.0);
    assert_eq!(request.history().len(), 1);

    let guard = Redactor::builder().default_rules().build().expect("rules");
    let cloud = BackendProfile::new("cloud", Locality::External, Size::Large, 100_000);
    let refusal = check_egress(&guard, &request, &cloud).expect_err("refused");
    assert_eq!(refusal.found[0].0, "EMAIL");
    assert!(!format!("{refusal} {refusal:?}").contains(MAIL_CANARY));
}

/// The guard reads every payload with the restricted-level default rules too: a rule set that
/// turned the card rule off, or one that replaced the defaults, still cannot send a card
/// number or a secret in clear. What the pipeline's own rules find is still reported as theirs.
#[test]
fn a_weakened_rule_set_is_caught_by_the_guards_floor() {
    use promptveil::rules::RuleSet;
    let request = payload(&format!(
        "Refund card 4111 1111 1111 1111 and rotate {KEY_CANARY}; ask {MAIL_CANARY}."
    ));
    let external = BackendProfile::new("cloud-llm", Locality::External, Size::Large, 100_000);
    let without_cards = RuleSet::builder()
        .default_rules()
        .disable("credit-card", "a reviewer's mistake")
        .disable("credit-card-context", "the same mistake")
        .build()
        .expect("rules");
    let only_tickets = RuleSet::builder()
        .toml_str(support::ticket_rules_only())
        .build()
        .expect("rules");
    for (name, rules) in [
        ("without cards", without_cards),
        ("tickets only", only_tickets),
    ] {
        let redactor = Redactor::builder().rules(rules).build().expect("redactor");
        let refusal = check_egress(&redactor, &request, &external).expect_err(name);
        let rules: Vec<&str> = refusal.found.iter().map(|(_, _, r)| r.as_str()).collect();
        // Found by the floor: the rule sets have no card rule of their own.
        assert!(rules.contains(&"credit-card"), "{name}: {rules:?}");
        assert!(
            refusal
                .found
                .iter()
                .any(|(e, s, _)| e.as_str() == "SECRET" && *s == Sensitivity::Restricted),
            "{name}: {rules:?}"
        );
        assert!(!refusal.to_string().contains("4111"), "{refusal}");
    }
    // The floor adds restricted values only: an e-mail is the pipeline rules' business.
    let mail_only = payload(&format!("Ask {MAIL_CANARY} about it."));
    let redactor = Redactor::builder()
        .rules(
            RuleSet::builder()
                .default_rules()
                .disable("email", "a test of the floor's reach")
                .build()
                .expect("rules"),
        )
        .build()
        .expect("redactor");
    let refused_for = check_egress(&redactor, &mail_only, &external)
        .err()
        .map(|r| r.found)
        .unwrap_or_default();
    assert!(
        refused_for
            .iter()
            .all(|(e, s, _)| e.as_str() != "EMAIL" && *s < Sensitivity::Restricted),
        "{refused_for:?}"
    );
}
