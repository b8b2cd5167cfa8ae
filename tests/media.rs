//! Images and recordings through the pipeline, against loopback servers speaking the OpenAI
//! and Anthropic wire formats. Media is never redacted: it goes only to an on-premises
//! backend whose profile takes its kind — chosen by admission whatever the policy, checked
//! again by the egress guard on the exact payload — and a request no such backend can take
//! is refused before anything is sent.

mod support;

use std::sync::Arc;

use promptveil::backend::anthropic::AnthropicBackend;
use promptveil::backend::openai::OpenAiBackend;
use promptveil::backend::{BackendRequest, ModelBackend};
use promptveil::enrich::{HeuristicCounter, Media, MediaKind, Template, enrich};
use promptveil::pipeline::guard::check_egress;
use promptveil::pipeline::{Message, Pipeline, PromptRequest};
use promptveil::redact::{Redactor, Vault};
use promptveil::route::{BackendProfile, Locality, Size};
use promptveil::{ErrorKind, Sensitivity};
use serde_json::Value;
use support::{Events, loopback};

const EMAIL: &str = "ana.lima@example.com";
/// A PNG signature and a WAV header, base64: enough to be media, not a real file.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const WAV: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=";

fn profile(name: &str, locality: Locality, media: &[MediaKind]) -> BackendProfile {
    BackendProfile::new(name, locality, Size::Large, 32_000).with_media(media.iter().copied())
}

fn pipeline(backends: Vec<Arc<dyn ModelBackend>>, events: &Arc<Events>) -> Pipeline {
    let mut builder = Pipeline::builder()
        .redactor(Redactor::builder().default_rules().build().expect("rules"))
        .audit(events.clone());
    for b in backends {
        builder = builder.backend(b);
    }
    builder.build().expect("pipeline")
}

/// A conversation with an image in an earlier turn and a recording with the question.
fn conversation() -> PromptRequest {
    PromptRequest::conversation([
        Message::user(format!("Here is the scan {EMAIL} sent us."))
            .with_media([Media::url(format!("data:image/png;base64,{PNG}")).expect("image")]),
        Message::assistant("It is a receipt."),
        Message::user("And what does this voicemail ask?").with_media([Media::inline(
            "audio/wav",
            WAV,
        )
        .expect("audio")]),
    ])
}

/// The user messages' parts a backend received, in order.
fn parts(body: &Value) -> Vec<Value> {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_array().cloned())
        .flatten()
        .collect()
}

#[tokio::test]
async fn media_goes_only_to_an_on_premises_backend_that_takes_it() {
    let answer = |_: &loopback::Received| loopback::openai_json("A callback tomorrow.", (9, 4));
    let (vlm, slm, cloud) = (
        loopback::start(answer).await,
        loopback::start(answer).await,
        loopback::start(answer).await,
    );
    let both = [MediaKind::Image, MediaKind::Audio];
    let backends: Vec<Arc<dyn ModelBackend>> = vec![
        // First in the list, and taking no media: a policy would try it first.
        Arc::new(
            OpenAiBackend::new(
                &slm.base,
                "slm",
                profile("local-slm", Locality::OnPremises, &[]),
            )
            .expect("backend"),
        ),
        // External, its profile claims media and lets any level through: never sent any.
        Arc::new(
            OpenAiBackend::new(
                &cloud.base,
                "llm",
                profile("cloud", Locality::External, &both).never_receiving(None),
            )
            .expect("backend"),
        ),
        Arc::new(
            OpenAiBackend::new(
                &vlm.base,
                "vlm",
                profile("local-vlm", Locality::OnPremises, &both),
            )
            .expect("backend"),
        ),
    ];
    let events = Arc::new(Events::default());
    let out = pipeline(backends, &events)
        .run(conversation())
        .await
        .expect("answer");
    assert_eq!(out.trace().backend().as_str(), "local-vlm");
    assert!(slm.requests().is_empty() && cloud.requests().is_empty());
    let sent = vlm.requests();
    let body = &sent[0].body;
    assert!(!body.to_string().contains(EMAIL), "the e-mail went out");
    let parts = parts(body);
    let kinds: Vec<&str> = parts.iter().filter_map(|p| p["type"].as_str()).collect();
    assert_eq!(kinds, ["text", "image_url", "text", "input_audio"]);
    assert!(
        parts[0]["text"]
            .as_str()
            .expect("text")
            .contains("[EMAIL_1]")
    );
    assert_eq!(
        parts[1]["image_url"]["url"],
        format!("data:image/png;base64,{PNG}")
    );
    assert_eq!(parts[3]["input_audio"]["data"], WAV);
    assert_eq!(parts[3]["input_audio"]["format"], "wav");
    // Media is unread: the request is routed as restricted, and the audit counts its parts.
    let reasons = serde_json::to_string(&out.trace().route().reasons).expect("json");
    assert_eq!(reasons.matches("\"no_media\"").count(), 2, "{reasons}");
    let trail = events.all();
    assert!(
        trail.contains(r#""event":"media_attached","parts":{"audio":1,"image":1}"#),
        "{trail}"
    );
    assert!(!trail.contains(PNG) && !trail.contains(WAV) && !trail.contains(EMAIL));
}

#[tokio::test]
async fn an_anthropic_backend_on_premises_gets_image_blocks_and_never_audio() {
    let server = loopback::start(|_| loopback::anthropic_json("A receipt.", (9, 4))).await;
    let local = profile(
        "local-claude",
        Locality::OnPremises,
        &[MediaKind::Image, MediaKind::Audio],
    );
    let backend = AnthropicBackend::new(&server.base, "claude", local).expect("backend");
    // The Messages API takes no recordings: the profile says so whatever it was given.
    assert_eq!(backend.profile().media, [MediaKind::Image]);
    let events = Arc::new(Events::default());
    let pipeline = pipeline(vec![Arc::new(backend)], &events);
    let request = PromptRequest::new(format!("What does {EMAIL}'s scan say?"))
        .with_media([Media::inline("image/jpeg", PNG).expect("image")]);
    pipeline.run(request).await.expect("answer");
    let body = &server.requests()[0].body;
    let blocks = parts(body);
    assert_eq!(blocks[0]["type"], "text");
    assert!(
        blocks[0]["text"]
            .as_str()
            .expect("text")
            .contains("[EMAIL_1]")
    );
    assert_eq!(blocks[1]["type"], "image");
    assert_eq!(blocks[1]["source"]["media_type"], "image/jpeg");
    assert_eq!(blocks[1]["source"]["data"], PNG);
    // A recording has nowhere to go: refused, nothing sent.
    let err = pipeline
        .run(conversation())
        .await
        .expect_err("no backend takes audio");
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn media_nobody_may_take_is_refused_and_nothing_is_sent() {
    let answer = |_: &loopback::Received| loopback::openai_json("ok", (1, 1));
    let (slm, cloud) = (loopback::start(answer).await, loopback::start(answer).await);
    let backends: Vec<Arc<dyn ModelBackend>> = vec![
        Arc::new(
            OpenAiBackend::new(
                &slm.base,
                "slm",
                profile("local-slm", Locality::OnPremises, &[]),
            )
            .expect("backend"),
        ),
        Arc::new(
            OpenAiBackend::new(
                &cloud.base,
                "llm",
                profile("cloud", Locality::External, &[MediaKind::Image]),
            )
            .expect("backend"),
        ),
    ];
    let events = Arc::new(Events::default());
    let pipeline = pipeline(backends, &events);
    let image = Media::url("https://files.example/scan.png").expect("image");
    let err = pipeline
        .run(PromptRequest::new("What is in the picture?").with_media([image.clone()]))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    // Naming the one backend a request may go to does not open a way out either.
    let err = pipeline
        .run(
            PromptRequest::new("What is in the picture?")
                .with_media([image.clone()])
                .with_backend("cloud"),
        )
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert!(slm.requests().is_empty() && cloud.requests().is_empty());
    let trail = events.all();
    assert_eq!(trail.matches(r#""event":"refused""#).count(), 2, "{trail}");
    assert!(trail.contains("\"no_media\""), "{trail}");
    assert!(!trail.contains("files.example"));
    // Only a user's message carries media.
    let err = pipeline
        .run(PromptRequest::conversation([
            Message::system("Describe images.").with_media([image]),
            Message::user("Go."),
        ]))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    let chain = support::error_chain(&err);
    assert!(chain.contains("only a user's message"), "{chain}");
}

/// A request for `prompt` with `media`, as the pipeline would build it.
fn request_with(prompt: &str, media: Vec<Media>) -> BackendRequest {
    let redactor = Redactor::builder().default_rules().build().expect("rules");
    let question = redactor.redact(prompt, &Vault::new());
    let prompt = enrich(
        &Template::default(),
        "",
        question.text(),
        &[],
        4_000,
        &HeuristicCounter,
    )
    .expect("fits")
    .with_media(media);
    BackendRequest::new(prompt, 100, 0.0)
}

#[test]
fn the_guard_refuses_media_to_any_backend_that_may_not_take_it() {
    let redactor = Redactor::builder().default_rules().build().expect("rules");
    let image = Media::inline("image/png", PNG).expect("image");
    let request = request_with("What is in the picture?", vec![image]);
    let image_only = [MediaKind::Image];
    let takes = profile("local-vlm", Locality::OnPremises, &image_only);
    assert!(check_egress(&redactor, &request, &takes).is_ok());
    // Whatever a profile claims, and however the chain was made, the guard on the payload
    // refuses: an external backend, one that takes no images, one that must never receive
    // restricted data.
    let refused = [
        profile("cloud", Locality::External, &image_only),
        profile("local-slm", Locality::OnPremises, &[MediaKind::Audio]),
        takes.clone().never_receiving(Some(Sensitivity::Restricted)),
    ];
    for p in &refused {
        let refusal = check_egress(&redactor, &request, p).expect_err("refused");
        assert_eq!(refusal.media, [MediaKind::Image], "{}", p.name);
        assert!(refusal.to_string().contains("image media"), "{refusal}");
    }
    // A URL the backend fetches leaves as text: the guard reads it.
    let leaky = Media::url("https://files.example/4111111111111111.png").expect("image");
    let request = request_with("What is in the picture?", vec![leaky]);
    let refusal = check_egress(&redactor, &request, &takes).expect_err("card in the URL");
    assert_eq!(refusal.found[0].0.as_str(), "CREDIT_CARD");
    assert!(!refusal.to_string().contains("4111"));
}

#[tokio::test]
async fn audio_a_wire_format_cannot_carry_is_an_error_before_anything_is_sent() {
    let server = loopback::start(|_| loopback::openai_json("ok", (1, 1))).await;
    let backend = OpenAiBackend::new(
        &server.base,
        "vlm",
        profile("local-vlm", Locality::OnPremises, &[MediaKind::Audio]),
    )
    .expect("backend");
    let events = Arc::new(Events::default());
    let ogg = Media::inline("audio/ogg", WAV).expect("audio");
    let err = pipeline(vec![Arc::new(backend)], &events)
        .run(PromptRequest::new("What does it say?").with_media([ogg]))
        .await
        .expect_err("not sent");
    assert_eq!(err.kind(), ErrorKind::Backend);
    assert!(server.requests().is_empty());
    assert!(
        events.all().contains("audio other than WAV or MP3"),
        "{}",
        events.all()
    );
}

#[test]
fn a_configuration_gives_media_to_on_premises_backends_only() {
    let config = |locality: &str| {
        format!(
            "[[backends]]\nname = \"vlm\"\napi = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
             model = \"m\"\nlocality = \"{locality}\"\nsize = \"small\"\ncontext_window = 8192\n\
             media = [\"image\", \"audio\"]\n"
        )
    };
    let build = |src: &str| {
        Pipeline::builder()
            .from_toml_str(
                src,
                Some(std::path::Path::new("p.toml")),
                std::path::Path::new("."),
            )
            .build()
    };
    let pipeline = build(&config("on_premises")).expect("on premises");
    assert_eq!(
        pipeline.profiles()[0].media,
        [MediaKind::Image, MediaKind::Audio]
    );
    let err = build(&config("external")).expect_err("external");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string()
            .contains("backend `vlm`: `media` is for on-premises"),
        "{err}"
    );
    let err = build(&config("on_premises").replace("\"audio\"", "\"video\"")).expect_err("kind");
    assert!(err.to_string().contains("video"), "{err}");
}
