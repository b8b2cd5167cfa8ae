//! Fail closed: every unexpected state on the path of a value that can be reached from outside
//! the crate ends in a typed, audited refusal — never in text sent on in clear. Each test
//! builds that state with public extension points (a detector that gives up on a text, a
//! detector reporting a span off character boundaries, a routing policy naming a backend that
//! does not exist) and checks what the backend received.

mod support;

use std::sync::{Arc, Mutex};

use support::Events;

use promptveil::ErrorKind;
use promptveil::Sensitivity;
use promptveil::backend::dispatch::{DispatchConfig, Dispatcher};
use promptveil::backend::{BackendError, BackendRequest, BackendResponse, ModelBackend};
use promptveil::index::{KnowledgeIndex, LocalRetriever, Passage, SearchMode};
use promptveil::pipeline::{OnModelFailure, Pipeline, PromptRequest};
use promptveil::redact::{
    Detector, EntityType, Finding, FindingSink, Redactor, RuleId, Span, Vault,
};
use promptveil::route::{
    BackendProfile, DefaultPolicy, Locality, Reason, RouteDecision, RouteSummary, RoutingPolicy,
    Size,
};

/// The word that makes [`GivesUp`] give up: a stand-in for a text a model fails on.
const TRIGGER: &str = "Quuxlandic";
/// A value only a detector that finished would have found.
const NAME: &str = "Ilse Vandermeer";

/// A detector that cannot scan any text holding [`TRIGGER`] (as a model that fails on a
/// window would), and otherwise finds [`NAME`].
#[derive(Debug)]
struct GivesUp;

impl Detector for GivesUp {
    fn detect(&self, text: &str, sink: &mut dyn FindingSink) {
        if let Some(at) = text.find(TRIGGER) {
            sink.unscanned(Span::new(at, at + TRIGGER.len()));
            return;
        }
        if let Some(at) = text.find(NAME) {
            sink.push(Finding::new(
                Span::new(at, at + NAME.len()),
                RuleId::new("names").expect("id"),
                EntityType::new("PERSON").expect("entity"),
                Sensitivity::Confidential,
            ));
        }
    }
}

/// A backend that records every prompt it is sent and echoes it.
#[derive(Debug)]
struct Recorder {
    profile: BackendProfile,
    received: Mutex<Vec<String>>,
}

impl Recorder {
    fn new(name: &str, locality: Locality) -> Arc<Recorder> {
        Arc::new(Recorder {
            profile: BackendProfile::new(name, locality, Size::Small, 8192),
            received: Mutex::new(Vec::new()),
        })
    }

    fn received(&self) -> Vec<String> {
        self.received.lock().expect("lock").clone()
    }
}

#[async_trait::async_trait]
impl ModelBackend for Recorder {
    fn profile(&self) -> &BackendProfile {
        &self.profile
    }

    async fn complete(&self, r: &BackendRequest) -> Result<BackendResponse, BackendError> {
        let texts: Vec<String> = r.texts().map(|t| t.into_owned()).collect();
        self.received.lock().expect("lock").push(texts.join("\n"));
        Ok(BackendResponse::new("ok", "recorder"))
    }
}

fn redactor() -> Redactor {
    Redactor::builder()
        .default_rules()
        .detector(GivesUp)
        .build()
        .expect("redactor")
}

fn run(
    pipeline: &Pipeline,
    prompt: &str,
) -> promptveil::Result<promptveil::pipeline::PipelineOutput> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(pipeline.run(PromptRequest::new(prompt)))
}

#[test]
fn a_question_a_detector_could_not_scan_is_refused_not_sent() {
    let backend = Recorder::new("local", Locality::OnPremises);
    let events = Arc::new(Events::default());
    let pipeline = Pipeline::builder()
        .redactor(redactor())
        .backend(backend.clone())
        .audit(events.clone())
        .build()
        .expect("pipeline");
    // The detector finishes: the name is redacted and the request goes.
    let out = run(&pipeline, &format!("Please write to {NAME} today.")).expect("answered");
    assert_eq!(out.trace().redaction().entity_counts()["PERSON"], 1);
    assert!(!backend.received()[0].contains(NAME));
    // It gives up: the report is incomplete, the request refused, nothing sent.
    let prompt = format!("Please write to {NAME} about the {TRIGGER} invoice.");
    let report = redactor().redact(&prompt, &Vault::new()).into_parts().1;
    assert!(!report.is_complete());
    let err = run(&pipeline, &prompt).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert!(err.to_string().contains("redaction incomplete"), "{err}");
    assert_eq!(
        backend.received().len(),
        1,
        "the refused request was not sent"
    );
    let refusals = events.refusals();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(refusals[0].contains("could not scan"), "{refusals:?}");
    assert!(!refusals[0].contains(NAME));
}

#[test]
fn a_passage_a_detector_could_not_scan_is_refused_not_sent() {
    let backend = Recorder::new("local", Locality::OnPremises);
    let passages = [
        Passage::new(
            "accounts.md#0",
            "accounts.md",
            "Accounts",
            format!("Invoices in {TRIGGER} go to {NAME}, who approves refunds."),
        ),
        Passage::new(
            "hours.md#0",
            "hours.md",
            "Hours",
            "The office opens at eight.",
        ),
        Passage::new(
            "parking.md#0",
            "parking.md",
            "Parking",
            "Park behind the building.",
        ),
    ];
    let index = Arc::new(KnowledgeIndex::build_in_ram(&passages).expect("index"));
    let private = Pipeline::builder()
        .redactor(redactor())
        .retriever(
            Arc::new(LocalRetriever::new(index.clone(), SearchMode::Bm25)),
            false,
        )
        .backend(backend.clone())
        .build()
        .expect("pipeline");
    let err = run(&private, "Who approves refunds for invoices?").expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert!(err.to_string().contains("retrieved passage"), "{err}");
    assert!(backend.received().is_empty());

    // Declared public, the passage is not redacted, so only the egress guard reads it: it
    // cannot vouch for text it could not scan, whatever the backend may receive.
    let public = Pipeline::builder()
        .redactor(redactor())
        .retriever(Arc::new(LocalRetriever::new(index, SearchMode::Bm25)), true)
        .backend(backend.clone())
        .build()
        .expect("pipeline");
    let err = run(&public, "Who approves refunds for invoices?").expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    let refusal = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<promptveil::pipeline::guard::EgressRefusal>())
        .expect("the egress guard refused");
    assert!(refusal.unscanned > 0);
    assert!(backend.received().is_empty());
}

#[test]
fn a_finding_off_character_boundaries_is_widened_not_dropped() {
    /// Reports the name with a span that cuts the last character in two.
    #[derive(Debug)]
    struct Sloppy;
    impl Detector for Sloppy {
        fn detect(&self, text: &str, sink: &mut dyn FindingSink) {
            if let Some(at) = text.find("Zoë Ångström") {
                // Ends one byte into "ö"'s two bytes, and starts at the "Z".
                let end = at + "Zoë Ångstr".len() + 1;
                sink.push(Finding::new(
                    Span::new(at, end),
                    RuleId::new("sloppy").expect("id"),
                    EntityType::new("PERSON").expect("entity"),
                    Sensitivity::Confidential,
                ));
            }
        }
    }
    let r = Redactor::builder()
        .detector(Sloppy)
        .build()
        .expect("redactor");
    let red = r.redact("Ask Zoë Ångström first.", &Vault::new());
    assert_eq!(red.text().as_str(), "Ask [PERSON_1]m first.");
    assert!(red.report().is_complete());
}

/// A policy that always names a backend the pipeline does not have, first.
#[derive(Debug)]
struct Ghostly;

impl RoutingPolicy for Ghostly {
    fn route(&self, summary: &RouteSummary, backends: &[BackendProfile]) -> RouteDecision {
        let mut d = DefaultPolicy::default().route(summary, backends);
        d.chain.insert(0, "ghost".into());
        d.reasons.push(Reason::NoBackend);
        d
    }
}

#[test]
fn a_route_naming_a_backend_that_does_not_exist_is_refused() {
    let backend = Recorder::new("local", Locality::OnPremises);
    let events = Arc::new(Events::default());
    let pipeline = Pipeline::builder()
        .policy(Arc::new(Ghostly))
        .backend(backend.clone())
        .audit(events.clone())
        .build()
        .expect("pipeline");
    let err = run(&pipeline, "When do you open?").expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert!(err.to_string().contains("`ghost`"), "{err}");
    assert!(
        backend.received().is_empty(),
        "nothing went to the next backend"
    );
    assert_eq!(events.refusals().len(), 1);

    // The dispatcher on its own refuses such a chain too, rather than skip the name.
    let dispatcher =
        Dispatcher::new(vec![backend.clone()], DispatchConfig::default()).expect("dispatcher");
    let decision = Ghostly.route(
        &RouteSummary::new(Sensitivity::Public, 10, 0.1),
        &dispatcher.profiles(),
    );
    let prompt = promptveil::enrich::enrich(
        &Default::default(),
        "",
        redactor().redact("hi", &Vault::new()).text(),
        &[],
        100,
        &promptveil::enrich::HeuristicCounter,
    )
    .expect("prompt");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let err = rt
        .block_on(dispatcher.dispatch(&decision, &BackendRequest::new(prompt, 10, 0.0)))
        .expect_err("unknown backend");
    assert_eq!(err.unknown, ["ghost"]);
    assert!(err.attempts.is_empty());
    assert!(backend.received().is_empty());
}

#[test]
fn a_json_document_a_detector_could_not_scan_is_an_error_not_a_document() {
    let r = redactor();
    let ok = serde_json::json!({"to": NAME, "note": "call +44 20 7946 0958"});
    let red = r.redact_json(&ok, &Vault::new()).expect("redacted");
    assert!(!red.value().to_string().contains(NAME));
    for doc in [
        serde_json::json!({"to": NAME, "note": format!("{TRIGGER} invoice")}),
        serde_json::json!({"to": NAME, TRIGGER: "key"}),
    ] {
        let err = r.redact_json(&doc, &Vault::new()).expect_err("incomplete");
        assert_eq!(err.kind(), ErrorKind::Incomplete);
        assert!(!err.to_string().contains(NAME), "{err}");
    }
}

/// [`GivesUp`] declared as a model, as the NER is.
#[derive(Debug)]
struct ModelGivesUp;

impl Detector for ModelGivesUp {
    fn detect(&self, text: &str, sink: &mut dyn FindingSink) {
        GivesUp.detect(text, sink);
    }

    fn is_model(&self) -> bool {
        true
    }
}

#[test]
fn a_model_failure_may_go_on_with_the_rules_but_only_in_the_building() {
    let local = Recorder::new("local", Locality::OnPremises);
    let cloud = Recorder::new("cloud", Locality::External);
    let events = Arc::new(Events::default());
    let build = |detector: Arc<dyn Detector>, on_failure: OnModelFailure| {
        Pipeline::builder()
            .redactor(
                Redactor::builder()
                    .default_rules()
                    .shared_detector(detector)
                    .build()
                    .expect("redactor"),
            )
            .backend(cloud.clone())
            .backend(local.clone())
            .on_model_failure(on_failure)
            .audit(events.clone())
            .build()
            .expect("pipeline")
    };
    let prompt = format!("Refund card 4111 1111 1111 1111 for the {TRIGGER} order.");

    // The default refuses, model or not.
    let strict = build(Arc::new(ModelGivesUp), OnModelFailure::Refuse);
    let err = run(&strict, &prompt).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);

    // Set to go on: the rules' findings are replaced, and the request, handled as
    // restricted, goes only to the backend in the building.
    let lenient = build(Arc::new(ModelGivesUp), OnModelFailure::ContinueWithRules);
    let out = run(&lenient, &prompt).expect("answered");
    assert_eq!(out.trace().backend().as_str(), "local");
    assert!(cloud.received().is_empty());
    let sent = local.received();
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].contains("4111"), "{sent:?}");
    assert!(sent[0].contains("[CREDIT_CARD_1]"), "{sent:?}");
    let degraded = events.named("degraded");
    assert_eq!(degraded.len(), 1, "{degraded:?}");

    // A detector that is not a model failing still refuses, whatever the setting.
    let other = build(Arc::new(GivesUp), OnModelFailure::ContinueWithRules);
    let err = run(&other, &prompt).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert_eq!(local.received().len(), 1, "nothing more was sent");
}

#[test]
fn the_egress_guard_sends_a_text_a_model_could_not_read_only_where_restricted_data_may_go() {
    let cloud = Recorder::new("cloud", Locality::External);
    let pipeline = Pipeline::builder()
        .redactor(
            Redactor::builder()
                .default_rules()
                .detector(ModelGivesUp)
                .build()
                .expect("redactor"),
        )
        .backend(cloud.clone())
        .on_model_failure(OnModelFailure::ContinueWithRules)
        .build()
        .expect("pipeline");
    // Only an external backend: the request, handled as restricted, has nowhere to go.
    let err =
        run(&pipeline, &format!("Ask {NAME} about the {TRIGGER} order.")).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert!(cloud.received().is_empty());
    assert!(err.to_string().contains("approved no backend"), "{err}");
}
