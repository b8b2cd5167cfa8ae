//! The `promptveil` binary, run as a reviewer or operator would run it.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn promptveil(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_promptveil"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut pipe = child.stdin.take().expect("stdin");
    // A run that fails before reading its input (a broken rule file) closes the pipe first.
    match pipe.write_all(stdin.unwrap_or("").as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("stdin not written: {e}"),
        _ => {}
    }
    drop(pipe);
    child.wait_with_output().expect("the binary ends")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn rules_check_accepts_the_default_rules() {
    let o = promptveil(&["rules", "check", "fixtures/rules/default.toml"], None);
    assert!(o.status.success(), "{o:?}");
    assert!(
        stdout(&o).starts_with("ok fixtures/rules/default.toml: "),
        "{}",
        stdout(&o)
    );
}

#[test]
fn rules_check_names_file_line_column_and_rule_of_each_mistake() {
    let mut checked = 0;
    for file in support::toml_files("fixtures/rules/invalid") {
        let src = std::fs::read_to_string(&file).expect("readable");
        let expect = src
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .expect("first line says what to expect");
        let (at, message) = expect.split_once(' ').expect("`L:C message`");
        let o = promptveil(&["rules", "check", path(&file)], None);
        assert_eq!(o.status.code(), Some(1), "{}: {o:?}", file.display());
        let out = stdout(&o);
        assert!(
            out.contains(&format!("{}:{at}", file.display())) && out.contains(message),
            "{}: expected {expect:?} in {out:?}",
            file.display()
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} invalid fixtures");
}

#[test]
fn rules_test_runs_every_example() {
    let o = promptveil(&["rules", "test", "fixtures/rules/default.toml"], None);
    assert!(o.status.success(), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains(" 0 failed"), "{out}");
}

#[test]
fn rules_test_fails_on_a_rule_whose_evidence_is_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("wrong.toml");
    std::fs::write(
        &file,
        r#"version = 1
[[rule]]
id = "order-number"
entity = "ORDER"
sensitivity = "internal"
patterns = ['''\bORD-[0-9]{6}\b''']
examples.match = ["order ORD-12345"]
examples.no_match = ["ORD-123456 is fine"]
"#,
    )
    .expect("written");
    let o = promptveil(&["rules", "test", path(&file)], None);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert_eq!(out.matches("FAIL ").count(), 2, "{out}");
    assert!(out.contains("order-number"), "{out}");
}

#[test]
fn rules_inventory_prints_a_table_or_json() {
    let o = promptveil(&["rules", "inventory", "fixtures/rules/default.toml"], None);
    assert!(o.status.success());
    let table = stdout(&o);
    assert!(
        table.lines().next().is_some_and(|h| h.starts_with("rule ")),
        "{table}"
    );
    assert!(table.contains("credit-card") && table.contains("restricted"));
    let o = promptveil(
        &[
            "rules",
            "inventory",
            "fixtures/rules/default.toml",
            "--json",
        ],
        None,
    );
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON inventory");
    let rows = v["rules"].as_array().expect("an array of rules");
    assert_eq!(v["disabled"].as_array().map(Vec::len), Some(0));
    let card = rows
        .iter()
        .find(|r| r["id"] == "credit-card")
        .expect("the card rule");
    assert_eq!(card["entity"], "CREDIT_CARD");
    assert_eq!(card["validator"], "payment_card");
    // One row per rule of the table, as the table's last line counts them.
    let count = table
        .lines()
        .last()
        .and_then(|l| l.split(' ').next())
        .unwrap_or("");
    assert_eq!(count.parse::<usize>().ok(), Some(rows.len()));
}

#[test]
fn a_reviewers_rule_file_adds_to_the_default_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("my-rules.toml");
    std::fs::write(&file, support::TICKET_RULES).expect("written");
    let o = promptveil(
        &["redact", "--rules", path(&file)],
        Some("refunded card 4111 1111 1111 1111 for SSN 512-34-6789 on TCK-12345"),
    );
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        stdout(&o).trim_end(),
        "refunded card [CREDIT_CARD_1] for SSN [US_SSN_1] on [TICKET_1]"
    );
    let o = promptveil(&["rules", "check", path(&file)], None);
    assert!(
        stdout(&o).contains("(with the default rules)"),
        "{}",
        stdout(&o)
    );
    // Without a file, the checks say they checked the defaults.
    let o = promptveil(&["rules", "check"], None);
    assert!(o.status.success(), "{o:?}");
    assert!(
        stdout(&o).starts_with("ok the default rules (built in): "),
        "{}",
        stdout(&o)
    );
    let o = promptveil(&["rules", "test"], None);
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains(" 0 failed"), "{}", stdout(&o));
}

#[test]
fn replacing_or_turning_off_default_rules_is_explicit_and_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let replace = dir.path().join("only-mine.toml");
    std::fs::write(&replace, support::ticket_rules_only()).expect("written");
    // The rules alone: the NER model, on by default, would tag the card's digits too.
    let o = promptveil(
        &["redact", "--no-ner", "--rules", path(&replace)],
        Some("card 4111 1111 1111 1111, TCK-12345"),
    );
    assert_eq!(
        stdout(&o).trim_end(),
        "card 4111 1111 1111 1111, [TICKET_1]"
    );
    let off = dir.path().join("no-domains.toml");
    std::fs::write(
        &off,
        format!(
            "{}[[disable]]\nid = \"domain\"\nreason = \"host names in our logs are not personal\"\n",
            support::TICKET_RULES
        ),
    )
    .expect("written");
    let o = promptveil(&["rules", "inventory", path(&off)], None);
    assert!(o.status.success(), "{o:?}");
    let table = stdout(&o);
    assert!(
        table.contains("turned off: domain (host names in our logs are not personal) at "),
        "{table}"
    );
    assert!(!table.lines().any(|l| l.starts_with("domain ")), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("credit-card ")),
        "{table}"
    );
    let o = promptveil(&["rules", "inventory", path(&off), "--json"], None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON inventory");
    assert_eq!(v["disabled"][0]["id"], "domain");
    assert_eq!(
        v["disabled"][0]["reason"],
        "host names in our logs are not personal"
    );
}

#[test]
fn redact_reads_stdin_writes_stdout_and_a_report_without_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("report.json");
    let o = promptveil(
        &["redact", "--report", path(&report)],
        Some("Mail ines.vidal@example.org or call +33 1 42 68 53 00."),
    );
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o), "Mail [EMAIL_1] or call [PHONE_1].");
    let text = std::fs::read_to_string(&report).expect("report written");
    assert!(
        !text.contains("ines.vidal") && !text.contains("42 68"),
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON report");
    let records = v["records"].as_array().expect("records");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["rule"], "email");
    assert_eq!(records[0]["span"]["start"], 5);
    assert_eq!(records[0]["value_hash"].as_str().map(str::len), Some(32));
}

#[test]
fn redact_files_and_json_documents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.json");
    let output = dir.path().join("out.json");
    std::fs::write(
        &input,
        r#"{"user": {"email": "kai@example.net", "note": "card 4111 1111 1111 1111"}, "count": 3}"#,
    )
    .expect("written");
    let o = promptveil(
        &[
            "redact",
            "--json",
            "--input",
            path(&input),
            "--output",
            path(&output),
        ],
        None,
    );
    assert!(o.status.success(), "{o:?}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&output).expect("output")).expect("JSON");
    assert_eq!(v["user"]["email"], "[EMAIL_1]");
    assert_eq!(v["user"]["note"], "card [CREDIT_CARD_1]");
    assert_eq!(v["count"], 3);
}

#[test]
fn redact_with_a_broken_rule_file_fails_cleanly() {
    let o = promptveil(
        &[
            "redact",
            "--rules",
            "fixtures/rules/invalid/pattern-syntax.toml",
        ],
        Some("text"),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("pattern-syntax.toml:"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

/// The JSON values of a JSON Lines file.
fn read_jsonl(file: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Runs `promptveil eval MODE` on a gold file; returns its output and its predictions.
fn eval(mode: &str, gold: &str) -> (Output, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pred = dir.path().join("pred.jsonl");
    let o = promptveil(
        &["eval", mode, "--gold", gold, "--predictions", path(&pred)],
        None,
    );
    assert!(o.status.success(), "{o:?}");
    (o, read_jsonl(&pred))
}

#[test]
fn eval_pii_writes_character_offsets_and_labels() {
    let (o, lines) = eval("pii", "fixtures/eval/pii-sample.jsonl");
    assert!(String::from_utf8_lossy(&o.stderr).contains("MB/s"));
    let gold = read_jsonl(&root().join("fixtures/eval/pii-sample.jsonl"));
    assert_eq!(lines.len(), gold.len());
    let mut labels = Vec::new();
    for (g, p) in gold.iter().zip(&lines) {
        assert_eq!(g["id"], p["id"]);
        let chars: Vec<char> = g["text"].as_str().expect("text").chars().collect();
        for s in p["spans"].as_array().expect("spans") {
            let (a, b) = (
                s["start"].as_u64().expect("start"),
                s["end"].as_u64().expect("end"),
            );
            let got: String = chars[a as usize..b as usize].iter().collect();
            labels.push((s["label"].as_str().expect("label").to_string(), got));
        }
    }
    // Offsets count characters: "Señora Núñez" before the email must not shift it.
    assert!(
        labels.contains(&("EMAIL".into(), "noe.ruiz@correo.example.es".into())),
        "{labels:?}"
    );
    assert!(labels.contains(&("CREDIT_CARD".into(), "4111 1111 1111 1111".into())));
    assert!(labels.contains(&("IP_ADDRESS".into(), "203.0.113.9".into())));
    assert!(labels.contains(&("URL".into(), "https://status.example.com/incident".into())));
    assert_eq!(lines[1]["spans"].as_array().map(Vec::len), Some(0));
}

/// National identifiers of three schemes found with their checks, counted per `id_type`;
/// a number that fails the BSN check next to an order word is left alone.
#[test]
fn eval_pii_counts_each_identifier_type() {
    let (o, lines) = eval("pii", "fixtures/eval/intl-sample.jsonl");
    let err = String::from_utf8_lossy(&o.stderr);
    for kind in ["FR_NIR", "NL_BSN", "IT_CODICE_FISCALE"] {
        let row: Vec<&str> = err
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(kind))
            .unwrap_or_else(|| panic!("no row for {kind}: {err}"))
            .split_whitespace()
            .collect();
        assert_eq!(row, ["NATIONAL_ID", kind, "1", "1", "1"], "{err}");
    }
    let order = lines.iter().find(|l| l["id"] == "nl-2").expect("nl-2");
    assert_eq!(order["spans"].as_array().map(Vec::len), Some(0), "{order}");
}

#[test]
fn eval_secrets_flags_records() {
    let (_, lines) = eval("secrets", "fixtures/eval/secrets-sample.jsonl");
    let flags: Vec<(&str, bool)> = lines
        .iter()
        .map(|v| (v["id"].as_str().unwrap_or(""), v["flagged"] == true))
        .collect();
    assert_eq!(flags, vec![("s1", true), ("s2", false)]);
}

#[test]
fn eval_rejects_a_line_without_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gold = dir.path().join("gold.jsonl");
    std::fs::write(&gold, "{\"id\": 1, \"text\": \"ok\"}\n{\"id\": 2}\n").expect("written");
    let pred = dir.path().join("pred.jsonl");
    let o = promptveil(
        &[
            "eval",
            "pii",
            "--gold",
            path(&gold),
            "--predictions",
            path(&pred),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("gold.jsonl:2: no \"text\""));
}

#[test]
fn index_build_search_and_retrieval_evaluation() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let index = tmp.path().join("kb");
    let o = promptveil(
        &[
            "index",
            "build",
            "fixtures/knowledge/clinic",
            "--index",
            path(&index),
        ],
        None,
    );
    assert!(o.status.success(), "{o:?}");
    assert!(
        stdout(&o).contains("from 7 documents in 5 files"),
        "{}",
        stdout(&o)
    );
    let default_build = stdout(&o);
    let o = promptveil(
        &[
            "index",
            "search",
            "--index",
            path(&index),
            "-k",
            "2",
            "when does flu vaccination start",
        ],
        None,
    );
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert!(out.starts_with(" 1. "), "{out}");
    assert!(out.contains("vaccinations.md#"), "{out}");
    assert!(
        out.lines().filter(|l| l.starts_with(" 2. ")).count() == 1,
        "{out}"
    );

    // A retrieval run over the clinic FAQ as a BEIR corpus.
    let queries = tmp.path().join("queries.jsonl");
    std::fs::write(
        &queries,
        "{\"_id\": \"q1\", \"text\": \"is parking free\"}\n{\"_id\": \"q2\", \"text\": \"late cancellation fee\"}\n",
    )
    .expect("write");
    let run = tmp.path().join("run.trec");
    let o = promptveil(
        &[
            "eval",
            "retrieval",
            "--corpus",
            "fixtures/knowledge/clinic/faq.jsonl",
            "--queries",
            path(&queries),
            "--run",
            path(&run),
            "--mode",
            "bm25",
        ],
        None,
    );
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("latency p50"), "{}", stdout(&o));
    let text = std::fs::read_to_string(&run).expect("run");
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(rows[0][..4], ["q1", "Q0", "faq-parking", "1"]);
    assert!(
        rows.iter()
            .any(|r| r[0] == "q2" && r[2] == "faq-cancel" && r[3] == "1")
    );
    assert!(
        rows.iter()
            .all(|r| r.len() == 6 && r[5] == "promptveil-bm25")
    );
    // Scores strictly decrease within a query.
    for q in ["q1", "q2"] {
        let scores: Vec<f64> = rows
            .iter()
            .filter(|r| r[0] == q)
            .map(|r| r[4].parse().expect("score"))
            .collect();
        assert!(scores.windows(2).all(|w| w[0] > w[1]), "{scores:?}");
    }
    // Shorter passages, on request: more of them from the same documents.
    let short = tmp.path().join("short");
    let o = promptveil(
        &[
            "index",
            "build",
            "fixtures/knowledge/clinic",
            "--index",
            path(&short),
            "--max-chars",
            "200",
            "--overlap-chars",
            "40",
        ],
        None,
    );
    assert!(o.status.success(), "{o:?}");
    let count = |out: &str| -> usize {
        out.split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("indexed N passages")
    };
    assert!(
        count(&stdout(&o)) > count(&default_build),
        "{} vs {default_build}",
        stdout(&o)
    );

    // A directory that is not an index is an error, exit status 2.
    let o = promptveil(&["index", "search", "--index", "fixtures", "x"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a promptveil index"));
}

#[test]
fn index_check_lists_what_a_public_declaration_would_send_in_clear() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let docs = tmp.path().join("docs");
    std::fs::create_dir(&docs).expect("mkdir");
    std::fs::write(
        docs.join("hours.md"),
        "# Opening hours\n\nThe front desk opens at eight on weekdays.\n",
    )
    .expect("write");
    // Two values a public declaration must not send out: personal data and a credential.
    let email = "rota.lead.qz@example.org";
    let key = "AKIAQ7XMPLE4CANARY2Z";
    let text = format!(
        "# Rota\n\nSwap requests go to {email} by Friday.\n\n## Deploys\n\nThe nightly job signs in with {key} only.\n"
    );
    std::fs::write(docs.join("rota.md"), &text).expect("write");
    let index = tmp.path().join("kb");
    let o = promptveil(
        &["index", "build", path(&docs), "--index", path(&index)],
        None,
    );
    assert!(o.status.success(), "{o:?}");

    let o = promptveil(&["index", "check", "--index", path(&index)], None);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let out = stdout(&o);
    let all = format!("{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(!all.contains(email) && !all.contains(key), "{all}");
    assert!(
        out.contains("2 passages hold values above `public`"),
        "{out}"
    );
    assert!(
        out.contains("rota.md#0 (rota.md)") && out.contains("rota.md#1 (rota.md)"),
        "{out}"
    );
    assert!(!out.contains("hours.md#"), "{out}");
    // The byte ranges point at the values in the file, for the reviewer to open.
    let start = text.find(email).expect("email");
    let at = format!("at bytes {start}..{}", start + email.len());
    assert!(
        out.contains("EMAIL (confidential") && out.contains(&at),
        "{out}"
    );
    let start = text.find(key).expect("key");
    let at = format!("at bytes {start}..{}", start + key.len());
    assert!(
        out.contains("SECRET (restricted") && out.contains(&at),
        "{out}"
    );

    // Backends that may receive confidential data in clear are refused only the key.
    let o = promptveil(
        &[
            "index",
            "check",
            "--index",
            path(&index),
            "--in-clear",
            "confidential",
            "--json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["check"]["passages"], 3, "{v}");
    assert_eq!(
        v["check"]["flagged"].as_array().map(Vec::len),
        Some(1),
        "{v}"
    );
    assert_eq!(v["check"]["flagged"][0]["id"], "rota.md#1", "{v}");
    assert_eq!(v["by_entity"]["SECRET"]["values"], 1, "{v}");
    assert!(v["by_entity"].get("EMAIL").is_none(), "{v}");
    assert!(!stdout(&o).contains(key));

    // Restricted in clear: nothing is above it.
    let o = promptveil(
        &[
            "index",
            "check",
            "--index",
            path(&index),
            "--in-clear",
            "restricted",
        ],
        None,
    );
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("nothing above `restricted`"));

    // A level that does not exist is an error, exit status 2.
    let o = promptveil(
        &[
            "index",
            "check",
            "--index",
            path(&index),
            "--in-clear",
            "secret",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown sensitivity `secret`"));
}

/// A backend that answers at once, for a real audit trail without a model.
#[derive(Debug)]
struct Instant(promptveil::route::BackendProfile);

#[async_trait::async_trait]
impl promptveil::backend::ModelBackend for Instant {
    fn profile(&self) -> &promptveil::route::BackendProfile {
        &self.0
    }

    async fn complete(
        &self,
        _: &promptveil::backend::BackendRequest,
    ) -> Result<promptveil::backend::BackendResponse, promptveil::backend::BackendError> {
        Ok(promptveil::backend::BackendResponse::new(
            "Done for [EMAIL_1].",
            "instant",
        ))
    }
}

#[test]
fn audit_summarize_tells_what_left_the_building_without_values() {
    use promptveil::route::{BackendProfile, Locality, Size};
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.jsonl");
    let pipeline = promptveil::pipeline::Pipeline::builder()
        .backend(Arc::new(Instant(BackendProfile::new(
            "slm",
            Locality::OnPremises,
            Size::Small,
            8192,
        ))))
        .backend(Arc::new(Instant(BackendProfile::new(
            "cloud",
            Locality::External,
            Size::Large,
            100_000,
        ))))
        .audit(Arc::new(
            promptveil::audit::JsonLinesSink::open(&log).expect("sink"),
        ))
        // The keyword score: its decision on the business question below is stable.
        .hand_set_complexity()
        .build()
        .expect("pipeline");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    for prompt in [
        "Card 4111 1111 1111 1111 of zoe@example.net was charged twice.",
        "Mail zoe@example.net the opening hours.",
        "Compare the two plans, explain why step by step and design a detailed strategy for \
         the team, with pros and cons of each?",
    ] {
        runtime
            .block_on(pipeline.run(promptveil::pipeline::PromptRequest::new(prompt)))
            .expect("answer");
    }
    let out = promptveil(&["audit", "summarize", path(&log)], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(
        text.contains("3 requests — 3 answered, 0 refused, 0 failed"),
        "{text}"
    );
    assert!(
        text.contains("sent to slm as placeholders: CREDIT_CARD 1, EMAIL 2"),
        "{text}"
    );
    assert!(
        text.contains(
            "left the building: 1 requests to external backends, highest level touched: none"
        ),
        "{text}"
    );
    assert!(!text.contains("zoe@example.net") && !text.contains("4111"));
    let out = promptveil(&["audit", "summarize", path(&log), "--json"], None);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(json["backends"]["slm"]["by_sensitivity"]["restricted"], 1);
    assert_eq!(json["backends"]["slm"]["by_sensitivity"]["confidential"], 1);
    assert_eq!(json["backends"]["cloud"]["locality"], "external");

    std::fs::write(dir.path().join("bad.jsonl"), "{\"request\": 1}\n").expect("write");
    let out = promptveil(
        &["audit", "summarize", path(&dir.path().join("bad.jsonl"))],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.jsonl:1: not an audit event"));
}

#[test]
fn ner_inventory_lists_passes_and_word_lists_and_ner_test_runs_their_examples() {
    let o = promptveil(
        &["ner", "inventory", "--without-pass", "lone-numbers"],
        None,
    );
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert!(out.contains("capitalised-runs"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("lone-numbers") && l.contains(" off ")),
        "{out}"
    );
    assert!(out.contains("eponym_heads"), "{out}");
    let o = promptveil(&["ner", "inventory", "--json"], None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["passes"][0]["name"], "capitalised-runs");
    assert!(v["lexicon"].as_array().is_some_and(|l| l.len() > 20));

    let o = promptveil(&["ner", "test"], None);
    assert!(o.status.success(), "{o:?}");
    assert!(
        stdout(&o).starts_with("ok the shipped lexicon"),
        "{}",
        stdout(&o)
    );

    // A reviewer's lexicon whose example does not hold fails, naming file, line and list.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("lexicon.toml");
    std::fs::write(
        &file,
        "version = 1\n[eponym_heads]\ndescription = \"Nouns after an eponym.\"\nwords = [\"disease\"]\nmatch = [\"the [Cox] regression\"]\n",
    )
    .expect("write");
    let o = promptveil(&["ner", "test", "--ner-lexicon", path(&file)], None);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let out = stdout(&o);
    assert!(
        out.contains("lexicon.toml:5:10: list `eponym_heads`: should match but does not"),
        "{out}"
    );

    // An unknown pass is an error, not a pass silently left on.
    let o = promptveil(&["ner", "inventory", "--without-pass", "lone-number"], None);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown pass `lone-number`"));
}

/// `redact` runs the NER model as a pipeline does, where the feature is built: a name is
/// redacted without `--ner`, `--no-ner` shows the rules alone, and without the model files
/// the command fails naming the fetch command and writes no text.
#[cfg(feature = "ner")]
#[test]
fn redact_runs_the_ner_by_default_and_fails_without_its_files() {
    const TEXT: &str = "Ask Maria Keller at maria@example.com.";
    let o = promptveil(&["redact"], Some(TEXT));
    assert_eq!(stdout(&o).trim_end(), "Ask [PERSON_1] at [EMAIL_1].");
    let o = promptveil(&["redact", "--no-ner"], Some(TEXT));
    assert_eq!(stdout(&o).trim_end(), "Ask Maria Keller at [EMAIL_1].");
    let o = promptveil(
        &["redact", "--no-ner", "--without-pass", "places"],
        Some(TEXT),
    );
    assert!(!o.status.success() && stdout(&o).is_empty());

    let empty = tempfile::tempdir().expect("tempdir");
    let o = Command::new(env!("CARGO_BIN_EXE_promptveil"))
        .args(["redact", "--input", "README.md"])
        .current_dir(root())
        .env("PROMPTVEIL_ASSETS", empty.path())
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{stderr}");
    assert!(stderr.contains("scripts/fetch-assets"), "{stderr}");
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
}

/// A team's own outcomes, logged in the evaluation files' shape, train a router that
/// `eval routing` then scores prompts with; a broken record is named by file and line.
#[test]
fn a_router_is_trained_on_logged_outcomes_and_scores_prompts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("outcomes.jsonl");
    let mut lines = String::new();
    for i in 0..120 {
        // The small model fails the long calculations, passes the short lookups.
        let (prompt, small) = if i % 2 == 0 {
            (
                format!("Compute 3{i} * 17 + 2{i} / 4 - 9 and give the total for batch {i}"),
                0,
            )
        } else {
            (format!("Which team owns ticket queue {i}?"), 1)
        };
        lines.push_str(
            &serde_json::json!({"id": i.to_string(), "prompt": prompt,
                                "scores": {"small-slm": small, "large-llm": 1}})
            .to_string(),
        );
        lines.push('\n');
    }
    std::fs::write(&data, &lines).expect("written");
    let router = dir.path().join("router.json");
    let o = promptveil(
        &[
            "route",
            "train",
            "--data",
            path(&data),
            "--out",
            path(&router),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(out.contains("small-slm -> large-llm"), "{out}");
    assert!(out.contains("5-fold cross-validated"), "{out}");
    let predictions = dir.path().join("scores.jsonl");
    let o = promptveil(
        &[
            "eval",
            "routing",
            "--gold",
            path(&data),
            "--predictions",
            path(&predictions),
            "--router",
            path(&router),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let scores: Vec<f64> = std::fs::read_to_string(&predictions)
        .expect("predictions")
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["score"]
                .as_f64()
                .expect("score")
        })
        .collect();
    assert_eq!(scores.len(), 120);
    assert!(scores[0] > scores[1] && scores[2] > scores[3], "{scores:?}");

    std::fs::write(&data, format!("{lines}{{\"id\": \"x\", \"prompt\": 3}}\n")).expect("written");
    let o = promptveil(
        &[
            "route",
            "train",
            "--data",
            path(&data),
            "--out",
            path(&router),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && stderr.contains("outcomes.jsonl:121"),
        "{stderr}"
    );
}
