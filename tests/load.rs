//! Load: 1,000 concurrent requests through one `Pipeline` to a loopback backend speaking the
//! OpenAI wire format. No request is lost and no placeholder of one request resolves in
//! another's answer. (Throughput, latency and memory are measured by `benches/load.rs`.)

mod support;

use support::loopback;

use std::sync::Arc;

use loopback::{Received, openai_json};
use promptveil::backend::openai::OpenAiBackend;
use promptveil::pipeline::{Pipeline, PromptRequest};
use promptveil::route::{BackendProfile, Locality, Size};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_each_get_their_own_answer() {
    // The model answers with the question it saw: every answer holds placeholders only.
    let server = loopback::start(|r: &Received| {
        openai_json(
            &format!("Re: {}", loopback::question_of(&r.prompt())),
            (10, 5),
        )
    })
    .await;
    let backend = OpenAiBackend::new(
        &server.base,
        "m",
        BackendProfile::new("local", Locality::OnPremises, Size::Small, 8192),
    )
    .expect("backend");
    let pipeline = Pipeline::builder()
        .backend(Arc::new(backend))
        .build()
        .expect("pipeline");
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let p = pipeline.clone();
            tokio::spawn(async move {
                let mail = format!("user{i}@load.example");
                let phone = format!("+44 20 7946 {:04}", i);
                let out = p
                    .run(PromptRequest::new(format!(
                        "Tell {mail} at {phone} it is done."
                    )))
                    .await;
                (i, mail, phone, out)
            })
        })
        .collect();
    let mut answered = 0;
    for t in tasks {
        let (i, mail, phone, out) = t.await.expect("no task panicked");
        let out = out.unwrap_or_else(|e| panic!("request {i} failed: {e}"));
        assert_eq!(
            out.answer(),
            format!("Re: Tell {mail} at {phone} it is done.")
        );
        answered += 1;
    }
    assert_eq!(answered, 1000);
    let sent = server.requests();
    assert_eq!(
        sent.len(),
        1000,
        "one call per request, none lost or repeated"
    );
    assert!(sent.iter().all(|r| {
        r.prompt()
            .contains("Tell [EMAIL_1] at [PHONE_1] it is done.")
    }));
}
