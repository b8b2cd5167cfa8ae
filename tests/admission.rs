//! Admission before policy: whatever chain a routing policy returns — random backends, always
//! the external one, names the pipeline does not have — a request that touched restricted
//! data never reaches an external backend's server, and a chain outside what the request was
//! admitted to is refused (typed, audited), never trimmed or reordered into something else.
//!
//! Real HTTP over loopback: two OpenAI-compatible servers the test starts, one on premises and
//! one standing for an external service.

mod support;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use promptveil::ErrorKind;
use promptveil::backend::ModelBackend;
use promptveil::backend::openai::OpenAiBackend;
use promptveil::pipeline::{Pipeline, PromptRequest};
use promptveil::route::{
    BackendProfile, DefaultPolicy, Locality, RouteDecision, RouteSummary, RoutingPolicy, Size,
};
use proptest::prelude::*;
use support::loopback::{self, Received, Reply, Server, openai_json, question_of};

fn echo(r: &Received) -> Reply {
    openai_json(&format!("Re: {}", question_of(&r.prompt())), (10, 5))
}

/// What a hostile policy answers, whatever it is shown.
#[derive(Debug, Clone)]
enum Hostile {
    /// Always the external backend, first and only.
    AlwaysExternal,
    /// Names picked from the pipeline's backends and one it does not have, in any order.
    Chain(Vec<usize>),
    /// Every backend the pipeline has, external first.
    Everything,
    /// The default policy's choice, then the external backend appended.
    DefaultThenExternal,
}

#[derive(Debug)]
struct HostilePolicy(Hostile);

const NAMES: [&str; 3] = ["cloud-llm", "local-slm", "ghost"];

impl RoutingPolicy for HostilePolicy {
    fn route(&self, summary: &RouteSummary, backends: &[BackendProfile]) -> RouteDecision {
        let mut d = DefaultPolicy::default().route(summary, backends);
        d.chain = match &self.0 {
            Hostile::AlwaysExternal => vec!["cloud-llm".into()],
            Hostile::Chain(picks) => picks
                .iter()
                .filter_map(|&i| NAMES.get(i))
                .map(|&n| n.into())
                .collect(),
            Hostile::Everything => vec!["cloud-llm".into(), "local-slm".into()],
            Hostile::DefaultThenExternal => {
                let mut chain = d.chain.clone();
                chain.push("cloud-llm".into());
                chain
            }
        };
        d
    }
}

fn hostile() -> impl Strategy<Value = Hostile> {
    prop_oneof![
        Just(Hostile::AlwaysExternal),
        Just(Hostile::Everything),
        Just(Hostile::DefaultThenExternal),
        prop::collection::vec(0..NAMES.len(), 0..4).prop_map(Hostile::Chain),
    ]
}

/// Restricted values (cards, IBANs, SSNs, keys), lesser ones, and plain words.
fn piece() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        Just(("card 4111 1111 1111 1111".to_string(), true)),
        Just(("IBAN DE89 3704 0044 0532 0130 00".to_string(), true)),
        Just(("SSN 512-34-6789".to_string(), true)),
        Just(("key AKIA4QZ7R2LM9XW3TB6K".to_string(), true)),
        Just(("mail ana.lima@example.org".to_string(), false)),
        Just(("call +44 20 7946 0958".to_string(), false)),
        Just(("the invoice".to_string(), false)),
        Just(("why was it charged twice".to_string(), false)),
        Just(("explain the refund policy".to_string(), false)),
    ]
}

struct Servers {
    local: Server,
    cloud: Server,
    rt: tokio::runtime::Runtime,
}

/// The two servers, started once for every case on a runtime of their own.
fn servers() -> &'static Servers {
    static S: OnceLock<Servers> = OnceLock::new();
    S.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (local, cloud) =
            rt.block_on(async { (loopback::start(echo).await, loopback::start(echo).await) });
        Servers { local, cloud, rt }
    })
}

fn backend(server: &Server, profile: BackendProfile) -> Arc<dyn ModelBackend> {
    Arc::new(
        OpenAiBackend::new(&server.base, "model", profile)
            .expect("backend")
            .with_timeout(Duration::from_secs(5)),
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("ADMISSION_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    #[test]
    fn restricted_data_never_reaches_an_external_server(
        policy in hostile(),
        pieces in prop::collection::vec(piece(), 1..5),
    ) {
        let s = servers();
        let restricted = pieces.iter().any(|(_, r)| *r);
        let question = pieces.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(", ");
        let pipeline = Pipeline::builder()
            .policy(Arc::new(HostilePolicy(policy.clone())))
            .backend(backend(
                &s.local,
                BackendProfile::new("local-slm", Locality::OnPremises, Size::Small, 8192),
            ))
            .backend(backend(
                &s.cloud,
                BackendProfile::new("cloud-llm", Locality::External, Size::Large, 200_000),
            ))
            .build()
            .expect("pipeline");
        let before = s.cloud.requests().len();
        let result = s.rt.block_on(pipeline.run(PromptRequest::new(question.clone())));
        let reached_cloud = s.cloud.requests().len() > before;
        if restricted {
            prop_assert!(!reached_cloud, "{policy:?} sent {question:?} outside");
        }
        // A chain naming the external backend for restricted data, or any backend the
        // pipeline does not have, is refused as a whole: nothing was sent anywhere.
        if let Err(e) = &result {
            prop_assert_eq!(e.kind(), ErrorKind::Refused, "{}", e);
        }
        let chain_has_ghost = matches!(&policy, Hostile::Chain(p) if p.contains(&2));
        let names_cloud = match &policy {
            Hostile::Chain(p) => p.contains(&0),
            _ => true,
        };
        if chain_has_ghost || (restricted && names_cloud) {
            prop_assert!(result.is_err(), "{policy:?} on {question:?} was answered");
        }
    }
}
