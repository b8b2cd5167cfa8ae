//! Tools end to end through the pipeline, against loopback servers speaking the OpenAI and
//! Anthropic wire formats: definitions, earlier calls and tool answers go out redacted with
//! the request's vault (one placeholder per value across all of them), the model's calls
//! come back restored, whole and streamed; a backend that cannot call tools is never sent a
//! tool request; the egress guard reads tool traffic.

mod support;

use std::sync::Arc;

use promptveil::ErrorKind;
use promptveil::backend::anthropic::AnthropicBackend;
use promptveil::backend::openai::OpenAiBackend;
use promptveil::backend::{BackendError, BackendRequest, BackendResponse, ModelBackend};
use promptveil::enrich::{ToolCall, ToolSpec};
use promptveil::pipeline::{Message, Pipeline, PromptRequest};
use promptveil::redact::Redactor;
use promptveil::route::{BackendProfile, Locality, Size};
use serde_json::{Value, json};
use support::loopback::{self, Received};

const EMAIL: &str = "ana.lima@example.com";
const CARD: &str = "4111 1111 1111 1111";

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            "find_person",
            "Looks a customer up by e-mail.",
            json!({"type": "object", "properties": {"email": {"type": "string"}}}),
        )
        .expect("tool"),
        ToolSpec::new(
            "charge_card",
            // A definition is redacted too: a value in it is a placeholder out there.
            "Charges a card; escalations go to billing.lead@example.com.",
            json!({"type": "object", "properties": {
                "email": {"type": "string"}, "card": {"type": "string"},
                "note": {"type": "string"}}}),
        )
        .expect("tool"),
    ]
}

/// A conversation whose last turn is a tool's answer holding an e-mail and a card number.
fn conversation() -> PromptRequest {
    PromptRequest::conversation([
        Message::system("You handle billing. Never repeat card numbers."),
        Message::user(format!("Charge the card on file for {EMAIL}, please.")),
        Message::assistant_calls(
            "",
            vec![ToolCall::new(
                "call_1",
                "find_person",
                json!({"email": EMAIL}).to_string(),
            )],
        ),
        Message::tool_result(
            "call_1",
            json!({"name": "Ana Lima", "email": EMAIL, "card": CARD}).to_string(),
        ),
    ])
    .with_tools(tools())
}

fn pipeline(backend: Arc<dyn ModelBackend>) -> Pipeline {
    Pipeline::builder()
        .redactor(Redactor::builder().default_rules().build().expect("rules"))
        .backend(backend)
        .build()
        .expect("pipeline")
}

fn on_premises(name: &str) -> BackendProfile {
    BackendProfile::new(name, Locality::OnPremises, Size::Small, 32_000)
}

/// The tool answer the backend received, as JSON (OpenAI: a `tool` message).
fn openai_tool_answer(r: &Received) -> Value {
    let messages = r.body["messages"].as_array().cloned().unwrap_or_default();
    let tool = messages
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("a tool message");
    assert_eq!(tool["tool_call_id"], "call_1");
    serde_json::from_str(tool["content"].as_str().expect("text")).expect("JSON answer")
}

/// The tool answer the backend received (Anthropic: a `tool_result` block).
fn anthropic_tool_answer(r: &Received) -> Value {
    let messages = r.body["messages"].as_array().cloned().unwrap_or_default();
    let block = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_array().cloned())
        .flatten()
        .find(|b| b["type"] == "tool_result")
        .expect("a tool_result block");
    assert_eq!(block["tool_use_id"], "call_1");
    serde_json::from_str(block["content"].as_str().expect("text")).expect("JSON answer")
}

/// The call the model makes back: the placeholders it was shown, one with a quote after it
/// (restored values must stay valid JSON).
fn call_arguments(answer: &Value) -> Value {
    let (email, card) = (answer["email"].clone(), answer["card"].clone());
    json!({"email": email, "card": card,
           "note": format!("for \"{}\"", email.as_str().unwrap_or_default())})
}

/// What every backend must have received: no value in clear, one placeholder per value
/// across the question, the earlier call and the tool's answer, the system turn as system
/// instructions, the tools defined.
fn check_sent(all: &str, answer: &Value) {
    assert!(!all.contains(EMAIL), "the e-mail went out in clear");
    assert!(!all.contains("4111"), "the card went out in clear");
    assert!(
        !all.contains("billing.lead@"),
        "a tool's definition went out in clear"
    );
    let email = answer["email"].as_str().expect("placeholder");
    assert!(email.starts_with("[EMAIL_"), "{email}");
    assert!(
        answer["card"]
            .as_str()
            .expect("placeholder")
            .starts_with("[CREDIT_CARD_")
    );
    // The same placeholder in the question, the earlier call's arguments and the answer.
    assert!(all.matches(email).count() >= 3, "{all}");
}

fn check_restored(call: &ToolCall) {
    assert_eq!(call.name, "charge_card");
    let args = call.arguments_json().expect("arguments stay JSON");
    assert_eq!(args["email"], EMAIL);
    assert_eq!(args["card"], CARD);
    assert_eq!(args["note"], format!("for \"{EMAIL}\""));
}

#[tokio::test]
async fn openai_tool_round_trip_whole() {
    let server = loopback::start(|r| {
        let args = call_arguments(&openai_tool_answer(r));
        loopback::openai_calls_json(&[("call_2", "charge_card", args.to_string())])
    })
    .await;
    let backend =
        OpenAiBackend::new(&server.base, "gpt-test", on_premises("local")).expect("backend");
    let out = pipeline(Arc::new(backend))
        .run(conversation())
        .await
        .expect("answer");
    let sent = server.requests();
    let body = &sent[0].body;
    check_sent(&body.to_string(), &openai_tool_answer(&sent[0]));
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][2]["role"], "assistant");
    assert_eq!(
        body["messages"][2]["tool_calls"][0]["function"]["name"],
        "find_person"
    );
    // The conversation ends with the tool's answer: no user message after it.
    assert_eq!(body["messages"].as_array().map(Vec::len), Some(4));
    assert_eq!(body["tools"][1]["function"]["name"], "charge_card");
    // A schema describes fields, it holds none: a property named `email` keeps its type.
    assert_eq!(
        body["tools"][1]["function"]["parameters"]["properties"]["email"]["type"],
        "string"
    );
    assert_eq!(out.finish_reason(), Some("tool_calls"));
    assert_eq!(out.tool_calls().len(), 1);
    check_restored(&out.tool_calls()[0]);
    assert_eq!(out.tool_calls()[0].id, "call_2");
    assert!(out.restore().exact >= 3);
    // The card in the tool's answer counts for routing like any other value.
    assert_eq!(
        out.trace().redaction().max_sensitivity,
        Some(promptveil::Sensitivity::Restricted)
    );
}

#[tokio::test]
async fn openai_tool_round_trip_streamed() {
    let server = loopback::start(|r| {
        let args = call_arguments(&openai_tool_answer(r)).to_string();
        // Cut inside the first placeholder, as a model's deltas may.
        let cut = args.find("_1]").map_or(args.len() / 2, |i| i + 1);
        let (a, b) = args.split_at(cut);
        loopback::openai_call_events("call_2", "charge_card", &[a, b])
    })
    .await;
    let backend =
        OpenAiBackend::new(&server.base, "gpt-test", on_premises("local")).expect("backend");
    let mut stream = pipeline(Arc::new(backend))
        .run_stream(conversation())
        .await
        .expect("stream");
    let (shown, err) = loopback::read_stream(&mut stream).await;
    assert!(err.is_none());
    assert_eq!(shown, "");
    let sent = server.requests();
    assert!(sent[0].streaming());
    check_sent(&sent[0].body.to_string(), &openai_tool_answer(&sent[0]));
    let summary = stream.summary().expect("ended");
    assert_eq!(summary.tool_calls.len(), 1);
    check_restored(&summary.tool_calls[0]);
}

#[tokio::test]
async fn anthropic_tool_round_trip_whole_and_streamed() {
    let server = loopback::start(|r| {
        let args = call_arguments(&anthropic_tool_answer(r));
        if r.streaming() {
            let text = args.to_string();
            let (a, b) = text.split_at(text.len() / 2);
            loopback::anthropic_call_events("toolu_2", "charge_card", &[a, b])
        } else {
            loopback::anthropic_call_json("Charging now.", "toolu_2", "charge_card", args)
        }
    })
    .await;
    let backend = || {
        Arc::new(
            AnthropicBackend::new(&server.base, "claude-test", on_premises("local"))
                .expect("backend"),
        )
    };
    let out = pipeline(backend())
        .run(conversation())
        .await
        .expect("answer");
    assert_eq!(out.answer(), "Charging now.");
    check_restored(&out.tool_calls()[0]);
    let mut stream = pipeline(backend())
        .run_stream(conversation())
        .await
        .expect("stream");
    let (_, err) = loopback::read_stream(&mut stream).await;
    assert!(err.is_none());
    check_restored(&stream.summary().expect("ended").tool_calls[0]);
    for r in server.requests() {
        let body = &r.body;
        check_sent(&body.to_string(), &anthropic_tool_answer(&r));
        // System turns are the `system` field, never a message.
        assert!(
            body["system"]
                .as_str()
                .is_some_and(|s| s.contains("You handle billing"))
        );
        assert!(
            body["messages"]
                .as_array()
                .is_some_and(|m| m.iter().all(|m| m["role"] != "system"))
        );
        assert_eq!(body["messages"][1]["content"][0]["type"], "tool_use");
        assert_eq!(body["tools"][0]["input_schema"]["type"], "object");
    }
}

/// A backend of one's own that knows nothing of tools.
#[derive(Debug)]
struct Plain(BackendProfile);

#[async_trait::async_trait]
impl ModelBackend for Plain {
    fn profile(&self) -> &BackendProfile {
        &self.0
    }
    async fn complete(&self, _: &BackendRequest) -> Result<BackendResponse, BackendError> {
        Ok(BackendResponse::new("plain", "plain"))
    }
}

#[tokio::test]
async fn a_backend_that_cannot_call_tools_is_never_sent_a_tool_request() {
    let p = pipeline(Arc::new(Plain(on_premises("plain"))));
    let err = p.run(conversation()).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    // Without tools the same backend answers.
    let out = p.run(PromptRequest::new("hello")).await.expect("answer");
    assert_eq!(out.answer(), "plain");
    // A tool's answer alone makes a tool request too.
    let req = PromptRequest::conversation([
        Message::user("hi"),
        Message::assistant_calls("", vec![ToolCall::new("c", "t", "{}")]),
        Message::tool_result("c", "done"),
    ]);
    assert!(req.uses_tools());
    assert_eq!(
        p.run(req).await.expect_err("refused").kind(),
        ErrorKind::Refused
    );
}

#[tokio::test]
async fn the_guard_reads_tool_names_and_bad_tool_traffic_is_a_clear_error() {
    let server = loopback::start(|_| loopback::openai_json("ok", (1, 1))).await;
    let external =
        BackendProfile::new("cloud", Locality::External, Size::Large, 32_000).never_receiving(None);
    let backend = OpenAiBackend::new(&server.base, "gpt-test", external).expect("backend");
    let p = pipeline(Arc::new(backend));
    // A tool name is an identifier, sent as it is: a card number in one is caught by the
    // egress guard, not sent.
    let named = ToolSpec::new(
        "lookup_4111111111111111",
        "Looks up.",
        json!({"type": "object"}),
    )
    .expect("a valid identifier");
    let err = p
        .run(PromptRequest::new("hello").with_tools([named]))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert!(
        server.requests().is_empty(),
        "nothing may reach the backend"
    );
    // Names that are not identifiers, and arguments that are not JSON, are errors that say so.
    assert!(ToolSpec::new("look up", "", json!({})).is_err());
    assert!(ToolSpec::new("ok", "", json!([])).is_err());
    let req = PromptRequest::conversation([
        Message::user("hi"),
        Message::assistant_calls("", vec![ToolCall::new("c", "t", "{not json")]),
        Message::tool_result("c", "done"),
    ]);
    let err = p.run(req).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    let chain = format!("{err:#}");
    assert!(!chain.contains("not json"), "{chain}");
    // A tool's answer that names no call.
    let req = PromptRequest::conversation([Message::user("hi"), Message::tool_result("", "x")]);
    assert!(p.run(req).await.is_err());
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_request_may_name_its_backend_and_admission_still_applies() {
    let server = loopback::start(|_| loopback::openai_json("from local", (1, 1))).await;
    let local = OpenAiBackend::new(&server.base, "m", on_premises("local")).expect("backend");
    let p = Pipeline::builder()
        .redactor(Redactor::builder().default_rules().build().expect("rules"))
        .backend(Arc::new(local))
        .backend(Arc::new(Plain(on_premises("plain"))))
        .build()
        .expect("pipeline");
    let out = p
        .run(PromptRequest::new("hello").with_backend("plain"))
        .await
        .expect("answer");
    assert_eq!(out.answer(), "plain");
    let out = p
        .run(PromptRequest::new("hello").with_backend("local"))
        .await
        .expect("answer");
    assert_eq!(out.answer(), "from local");
    // Named, but it cannot take tools: refused, not sent elsewhere.
    let err = p
        .run(conversation().with_backend("plain"))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    let err = p
        .run(PromptRequest::new("hello").with_backend("nowhere"))
        .await
        .expect_err("no such backend");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(server.requests().len(), 1);
}

/// A tool loop stays on the tier its question chose: a conversation that ends with a tool's
/// answer asks nothing new, and is scored by the user's last question.
#[tokio::test]
async fn a_tool_loop_stays_on_the_tier_its_question_chose() {
    const HARD: &str = "Compare the payment plan options and explain why a plan might be \
        cancelled. Then design a step by step strategy for the billing team, weigh the pros \
        and cons of each option, and write a detailed report?";
    let small = loopback::start(|_| loopback::openai_json("small", (1, 1))).await;
    let large = loopback::start(|_| loopback::openai_json("large", (1, 1))).await;
    let backend = |server: &loopback::Server, name: &str, size: Size| {
        Arc::new(
            OpenAiBackend::new(
                &server.base,
                "m",
                BackendProfile::new(name, Locality::OnPremises, size, 32_000),
            )
            .expect("backend"),
        )
    };
    let p = Pipeline::builder()
        .redactor(Redactor::builder().default_rules().build().expect("rules"))
        .backend(backend(&small, "small", Size::Small))
        .backend(backend(&large, "large", Size::Large))
        .build()
        .expect("pipeline");
    let first = p.run(PromptRequest::new(HARD)).await.expect("answer");
    assert_eq!(first.trace().backend(), "large");
    let loop_back = PromptRequest::conversation([
        Message::user(HARD),
        Message::assistant_calls("", vec![ToolCall::new("c1", "plans", "{}")]),
        Message::tool_result("c1", r#"{"plans": ["monthly", "yearly"]}"#),
    ])
    .with_tools(tools());
    let out = p.run(loop_back).await.expect("answer");
    assert_eq!(out.trace().backend(), "large");
    assert_eq!(
        out.trace().complexity().score,
        first.trace().complexity().score
    );
}
