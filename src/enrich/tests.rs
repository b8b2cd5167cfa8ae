use super::*;
use crate::enrich::RedactedCall;
use crate::redact::{Redactor, Vault};

fn passage(id: &str, title: &str, text: &str) -> ContextPassage {
    ContextPassage::public(&Passage::new(id, id, title, text))
}

#[test]
fn a_cut_passage_keeps_the_most_sentences_the_budget_allows() {
    let r = Redactor::builder().default_rules().build().expect("rules");
    let q = r.redact("What does the policy say?", &Vault::new());
    let text: String = (1..=40)
        .map(|i| format!("Sentence number {i} of the policy says something useful. "))
        .collect();
    let ctx = [passage("policy.md#0", "Policy", &text)];
    let mut last = 0;
    for budget in (120..700).step_by(7) {
        let p = enrich(
            &Template::default(),
            "",
            q.text(),
            &ctx,
            budget,
            &HeuristicCounter,
        )
        .expect("fits");
        assert!(p.tokens() <= budget, "{budget}");
        let kept = (1..=40)
            .filter(|i| p.text().contains(&format!("number {i} of")))
            .count();
        // More budget never keeps fewer sentences, and one more sentence would not fit.
        assert!(kept >= last, "{budget}: {kept} < {last}");
        last = kept;
        if (1..40).contains(&kept) {
            let more = format!("number {} of", kept + 1);
            assert!(!p.text().contains(&more));
            let one_more: usize = HeuristicCounter.count(&format!(
                "Sentence number {} of the policy says something useful.",
                kept + 1
            ));
            assert!(
                p.tokens() + one_more > budget - 2,
                "{budget}: room for one more"
            );
        }
    }
    assert!(last > 30);
}

#[test]
fn history_keeps_the_latest_turns_that_fit_and_opens_with_the_user() {
    let r = Redactor::builder().default_rules().build().expect("rules");
    let vault = Vault::new();
    let turn = |role, text: &str| Turn::new(role, r.redact(text, &vault).text());
    let q = r.redact("And on Sunday?", &vault);
    let bare = enrich(
        &Template::default(),
        "",
        q.text(),
        &[],
        1000,
        &HeuristicCounter,
    )
    .expect("fits");
    // Each turn: 40 ASCII bytes = 10 tokens + 4 overhead.
    let turns = vec![
        turn(Role::User, "Is the clinic open on Saturday mornings?"),
        turn(Role::Assistant, "Yes, from eight until noon on Saturdays."),
        turn(Role::User, "Do I need to book a slot beforehand???"),
        turn(Role::Assistant, "No, walk-ins are welcome on Saturday..."),
    ];
    let all = bare
        .clone()
        .with_history(turns.clone(), 1000, &HeuristicCounter);
    assert_eq!(all.history().len(), 4);
    assert_eq!(all.tokens(), bare.tokens() + 4 * 14);

    // Room for three: the oldest goes, and the assistant turn that would open is dropped.
    let three = bare
        .clone()
        .with_history(turns.clone(), bare.tokens() + 3 * 14, &HeuristicCounter);
    assert_eq!(three.history().len(), 2);
    assert_eq!(three.history()[0].role(), Role::User);
    assert_eq!(three.history_dropped(), 2);
    assert!(three.tokens() <= bare.tokens() + 3 * 14);

    // No room: no history, the prompt unchanged.
    let none = bare
        .clone()
        .with_history(turns, bare.tokens(), &HeuristicCounter);
    assert!(none.history().is_empty());
    assert_eq!(none.text(), bare.text());
    assert_eq!(none.tokens(), bare.tokens());
}

fn question(text: &str) -> RedactedText {
    let r = Redactor::builder().default_rules().build().expect("rules");
    r.redact(text, &Vault::new()).into_parts().0
}

#[test]
fn templates_parse_slots_and_escapes_and_reject_mistakes() {
    let t = Template::parse("Q: {question} {{literal}}").expect("parses");
    assert_eq!(t.render("", "", "why?", ""), "Q: why? {literal}");
    for bad in [
        "{question",
        "{nope} {question}",
        "only text",
        "{question} }",
    ] {
        let err = Template::parse(bad).expect_err(bad);
        assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
    }
}

#[test]
fn packing_keeps_order_drops_duplicates_and_never_exceeds_the_budget() {
    let long = "The clinic opens at nine. ".repeat(30);
    let passages = vec![
        passage("a#0", "Hours", "Open from 07:30 to 19:00 on weekdays."),
        passage("a#0", "Hours", "Open from 07:30 to 19:00 on weekdays."),
        passage(
            "b#0",
            "Hours copy",
            "Open  from 07:30 to 19:00\non weekdays.",
        ),
        passage("c#0", "Long", &long),
        passage("d#0", "Parking", "Twelve spaces behind the building."),
    ];
    let q = question("When can I come?");
    for budget in [40, 80, 120, 200, 400] {
        let p = enrich(
            &Template::default(),
            "Answer briefly.",
            &q,
            &passages,
            budget,
            &HeuristicCounter,
        )
        .expect("fits");
        assert!(p.tokens() <= budget, "{budget}: {}", p.tokens());
        assert_eq!(p.tokens(), HeuristicCounter.count(p.text()));
        // Numbers are 1, 2, ... in order of relevance.
        for (i, c) in p.citations().iter().enumerate() {
            assert_eq!(c.number, i + 1);
            assert!(p.text().contains(&format!("[{}]", c.number)));
        }
        assert!(
            p.citations().iter().all(|c| c.passage_id != "b#0"),
            "duplicate text kept"
        );
    }
    let roomy = enrich(
        &Template::default(),
        "",
        &q,
        &passages,
        400,
        &HeuristicCounter,
    )
    .expect("fits");
    let ids: Vec<&str> = roomy
        .citations()
        .iter()
        .map(|c| c.passage_id.as_str())
        .collect();
    assert_eq!(ids, ["a#0", "c#0", "d#0"]);
    // With less room, the long passage is cut at a sentence end and marked.
    let tight = enrich(
        &Template::default(),
        "",
        &q,
        &passages,
        120,
        &HeuristicCounter,
    )
    .expect("fits");
    let long_cite = tight
        .citations()
        .iter()
        .find(|c| c.passage_id == "c#0")
        .expect("partly in");
    assert!(long_cite.truncated);
    assert!(tight.text().contains("nine. …"));
}

#[test]
fn a_question_larger_than_the_budget_is_an_error() {
    let q = question(&"word ".repeat(100));
    let err =
        enrich(&Template::default(), "", &q, &[], 20, &HeuristicCounter).expect_err("too long");
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn redacted_passages_show_placeholders_and_no_title() {
    let r = Redactor::builder().default_rules().build().expect("rules");
    let vault = Vault::new();
    let q = r
        .redact("Mail ana@example.com about it", &vault)
        .into_parts()
        .0;
    let source = Passage::new(
        "crm#0",
        "crm",
        "Ana's file",
        "ana@example.com asked for a plan.",
    );
    let red = r.redact(&source.text, &vault).into_parts().0;
    let p = enrich(
        &Template::parse("{context}\n{question}\n{citations}").expect("template"),
        "",
        &q,
        &[ContextPassage::redacted(&source, red)],
        200,
        &HeuristicCounter,
    )
    .expect("fits");
    assert!(!p.text().contains("ana@example.com"));
    assert!(!p.text().contains("Ana's file"));
    // The same vault: the same placeholder in question and context.
    assert_eq!(p.text().matches("[EMAIL_1]").count(), 2, "{}", p.text());
    assert!(p.text().contains("[1] crm#0 (crm)"));
}

#[test]
fn the_heuristic_counts_non_ascii_characters_one_each() {
    assert_eq!(HeuristicCounter.count("abcd"), 1);
    assert_eq!(HeuristicCounter.count("abcde"), 2);
    assert_eq!(HeuristicCounter.count("東京都"), 3);
    assert_eq!(HeuristicCounter.count(""), 0);
}

#[test]
fn history_keeps_system_turns_and_never_a_tool_answer_without_its_call() {
    let r = Redactor::builder().default_rules().build().expect("rules");
    let vault = Vault::new();
    let red = |text: &str| r.redact(text, &vault);
    let args = r
        .redact_json(&serde_json::json!({"email": "ana@example.com"}), &vault)
        .expect("json");
    let turns = vec![
        Turn::new(Role::System, red("Answer briefly.").text()),
        Turn::new(
            Role::User,
            red("Find ana@example.com please, it is urgent").text(),
        ),
        Turn::assistant_calls(
            red("").text(),
            vec![RedactedCall::new("c1", "find_person", &args)],
        ),
        Turn::tool_result("c1", red("found: ana@example.com, account active").text()),
    ];
    // No new question: the prompt is empty, and the turns go alone.
    let empty = enrich(
        &Template::default(),
        "",
        red("").text(),
        &[],
        1000,
        &HeuristicCounter,
    )
    .expect("fits");
    assert_eq!(empty.text(), "");
    let all = empty
        .clone()
        .with_history(turns.clone(), 1000, &HeuristicCounter);
    assert_eq!(all.history().len(), 4);
    assert_eq!(
        all.history()[2].calls()[0].arguments,
        r#"{"email":"[EMAIL_1]"}"#
    );
    // Room for the system turn and the last two only: the call's turn and its answer would
    // open the conversation without the user's question, so they go too; the system turn
    // stays.
    let cost = |t: &Turn| t.texts().map(|x| HeuristicCounter.count(x)).sum::<usize>() + 4;
    let budget = cost(&turns[0]) + cost(&turns[2]) + cost(&turns[3]);
    let cut = empty.with_history(turns, budget, &HeuristicCounter);
    assert_eq!(cut.history().len(), 1);
    assert_eq!(cut.history()[0].role(), Role::System);
    assert_eq!(cut.history_dropped(), 3);
}
