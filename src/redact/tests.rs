use super::*;
use crate::rules::RuleSet;
use crate::sensitivity::Sensitivity;
use serde_json::json;

fn redactor() -> Redactor {
    Redactor::builder()
        .default_rules()
        .hash_key(HashKey::from_bytes(&[3u8; 32]).unwrap_or_else(|e| panic!("{e}")))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn with_rules(toml: &str) -> Redactor {
    let rules = RuleSet::builder()
        .toml_str(toml)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    Redactor::builder()
        .rules(rules)
        .hash_key(HashKey::from_bytes(&[3u8; 32]).unwrap_or_else(|e| panic!("{e}")))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

const ACTIONS: &str = r#"
version = 1
[[rule]]
id = "badge-mask"
entity = "BADGE"
sensitivity = "internal"
patterns = ['\bBX-[0-9]{4}\b']
action = "mask"
examples.match = ["BX-1234"]
[[rule]]
id = "ticket-hash"
entity = "TICKET"
sensitivity = "internal"
patterns = ['\bTK-[0-9]{4}\b']
action = "hash"
examples.match = ["TK-1234"]
[[rule]]
id = "noise-drop"
entity = "NOISE"
sensitivity = "public"
patterns = ['\bzz[0-9]+\b']
action = "drop"
examples.match = ["zz12"]
"#;

#[test]
fn every_action_replaces_as_documented() {
    let r = with_rules(ACTIONS);
    let vault = Vault::new();
    let red = r.redact("badge BX-1234, ticket TK-9876, zz42 end", &vault);
    let text = red.text().as_str();
    assert!(text.starts_with("badge **-****, ticket [TICKET:"), "{text}");
    assert!(text.ends_with("],  end"), "{text}");
    // A hash token is stable for a key and never restorable.
    let again = r.redact("TK-9876", &Vault::new());
    let token = again.report().records[0].replacement.clone();
    assert!(token.as_deref().is_some_and(|t| text.contains(t)));
    assert!(
        vault.is_empty(),
        "mask, hash and drop never touch the vault"
    );
    let actions: Vec<Action> = red.report().records.iter().map(|r| r.action).collect();
    assert_eq!(actions, vec![Action::Mask, Action::Hash, Action::Drop]);
    // Redacting the output again changes nothing.
    assert_eq!(r.redact(text, &Vault::new()).text().as_str(), text);
}

#[test]
fn report_spans_point_into_input_and_output() {
    let r = redactor();
    let input = "mail ana@example.com now";
    let red = r.redact(input, &Vault::new());
    let rec = &red.report().records[0];
    assert_eq!(&input[rec.span.range()], "ana@example.com");
    assert_eq!(&red.text().as_str()[rec.output_span.range()], "[EMAIL_1]");
    assert_eq!(rec.sensitivity, Sensitivity::Confidential);
    assert_eq!(
        red.report().max_sensitivity,
        Some(Sensitivity::Confidential)
    );
    assert_eq!(
        rec.value_hash,
        r.hash_key().hash(&rec.entity, "ana@example.com")
    );
}

#[test]
fn no_value_in_debug_or_report() {
    let r = redactor();
    let canary = "canary.7f3a9@example.org";
    let vault = Vault::new();
    let red = r.redact(&format!("send it to {canary}"), &vault);
    for printed in [
        format!("{red:?}"),
        format!("{vault:?}"),
        format!("{r:?}"),
        serde_json::to_string(red.report()).unwrap_or_default(),
        format!("{:?}", vault.restore("[EMAIL_1]")),
    ] {
        assert!(!printed.contains("canary"), "{printed}");
    }
}

#[test]
fn same_vault_keeps_numbering_across_texts() {
    let r = redactor();
    let vault = Vault::new();
    let q = r.redact("is ana@example.com the owner?", &vault);
    let passage = r.redact("owner: bo@example.com, backup ana@example.com", &vault);
    assert_eq!(q.text().as_str(), "is [EMAIL_1] the owner?");
    assert_eq!(
        passage.text().as_str(),
        "owner: [EMAIL_2], backup [EMAIL_1]"
    );
}

#[test]
fn literal_placeholders_in_input_round_trip() {
    let r = redactor();
    let vault = Vault::new();
    let input = "template [EMAIL_1] / email_2 filled with ana@example.com";
    let red = r.redact(input, &vault);
    assert_eq!(
        red.text().as_str(),
        "template [EMAIL_1] / email_2 filled with [EMAIL_3]"
    );
    assert_eq!(vault.restore(red.text().as_str()).text(), input);
}

#[test]
fn url_around_email_keeps_both_kinds() {
    let r = redactor();
    let vault = Vault::new();
    let input = "see https://app.example.com/users?email=ana@example.com ok";
    let red = r.redact(input, &vault);
    assert_eq!(red.text().as_str(), "see [URL_1][EMAIL_1] ok");
    assert_eq!(vault.restore(red.text().as_str()).text(), input);
}

#[test]
fn json_by_key_pointer_and_leaves() {
    let r = with_rules(&format!(
        "{}\n{}",
        crate::rules::DEFAULT_RULES_TOML,
        r#"
[[field]]
id = "json-badge"
entity = "BADGE"
sensitivity = "internal"
pointers = ["/staff/0/badge"]
"#
    ));
    let vault = Vault::new();
    let doc = json!({
        "customer": {"Email": "x", "phone": 4155550132u64, "notes": ["call +44 20 7946 0958"]},
        "staff": [{"badge": true}],
        "ana@example.com": null,
        "ok": 1
    });
    let red = r
        .redact_json(&doc, &vault)
        .unwrap_or_else(|e| panic!("{e}"));
    // Members are visited in key order (serde_json's map is sorted), which fixes numbering.
    assert_eq!(
        red.value(),
        &json!({
            "customer": {"Email": "[EMAIL_2]", "phone": "[PHONE_2]", "notes": ["call [PHONE_1]"]},
            "staff": [{"badge": "[BADGE_1]"}],
            "[EMAIL_1]": null,
            "ok": 1
        })
    );
    let pointers: Vec<(&str, bool)> = red
        .records()
        .iter()
        .map(|r| (r.pointer.as_str(), r.in_key))
        .collect();
    assert!(pointers.contains(&("/customer/Email", false)));
    assert!(pointers.contains(&("/customer/notes/0", false)));
    assert!(pointers.contains(&("/[EMAIL_1]", true)));
    assert!(!format!("{:?}", red.records()).contains("example.com"));
}

#[test]
fn json_too_deep_is_an_error_not_a_crash() {
    let mut v = json!("leaf");
    for _ in 0..(MAX_JSON_DEPTH + 10) {
        v = json!([v]);
    }
    let err = redactor().redact_json(&v, &Vault::new()).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Json);
}

#[test]
fn custom_detector_spans_are_sanitized() {
    struct Wild;
    impl Detector for Wild {
        fn detect(&self, text: &str, sink: &mut dyn FindingSink) {
            let f = |s, e| {
                Finding::new(
                    Span::new(s, e),
                    RuleId::new("wild").unwrap_or_else(|x| panic!("{x}")),
                    EntityType::new("WILD").unwrap_or_else(|x| panic!("{x}")),
                    Sensitivity::Internal,
                )
            };
            sink.push(f(1, 2)); // inside `é`
            sink.push(f(5, 500)); // past the end
            sink.push(f(3, 3)); // empty
            sink.push(f(0, text.len().min(2)));
        }
    }
    let r = Redactor::builder()
        .rules(RuleSet::builder().build().unwrap_or_else(|e| panic!("{e}")))
        .detector(Wild)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let red = r.redact("éxyz", &Vault::new());
    assert_eq!(red.text().as_str(), "[WILD_1]xyz");
}
