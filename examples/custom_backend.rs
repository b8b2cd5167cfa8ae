//! Plugging in an in-house model service: implementing `ModelBackend`.
//!
//! Your company runs a text service with its own API — here `POST /generate` taking
//! `{"input": ..., "max_len": ...}` and answering `{"output": ..., "used": {"in": .., "out": ..}}`
//! (and `{"fault": "busy"}` with status 503 when overloaded). A backend for it is one struct
//! and two methods: `profile` says what it is (on premises, small, what it may receive) so
//! the routing policy can reason about it; `complete` sends the *enriched, redacted* prompt
//! (the only text a `BackendRequest` can hold) and maps failures to `BackendError`s the
//! dispatcher knows how to retry. `stream` is optional: the default sends the whole answer as
//! one piece.
//!
//! To run it without your service, the example starts a stand-in on 127.0.0.1.
//!
//! Run: `cargo run --all-features --example custom_backend`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Json;
use axum::routing::post;
use promptveil::backend::{BackendError, BackendRequest, BackendResponse, ModelBackend, Usage};
use promptveil::pipeline::{Pipeline, PromptRequest};
use promptveil::route::{BackendProfile, Locality, Size};
use serde::Deserialize;
use serde_json::{Value, json};

/// The in-house service.
#[derive(Debug)]
struct InHouse {
    client: reqwest::Client,
    url: String,
    profile: BackendProfile,
}

#[derive(Deserialize)]
struct Generated {
    output: String,
    used: Used,
}

#[derive(Deserialize)]
struct Used {
    #[serde(rename = "in")]
    input: u64,
    out: u64,
}

#[async_trait]
impl ModelBackend for InHouse {
    fn profile(&self) -> &BackendProfile {
        &self.profile
    }

    async fn complete(&self, request: &BackendRequest) -> Result<BackendResponse, BackendError> {
        // The service takes one text: earlier turns of a conversation go before the prompt.
        let mut input: String = request
            .history()
            .iter()
            .map(|t| format!("{}: {}\n\n", t.role().as_str(), t.text()))
            .collect();
        input.push_str(request.prompt());
        let response = self
            .client
            .post(&self.url)
            .timeout(Duration::from_secs(30))
            .json(&json!({"input": input, "max_len": request.max_tokens}))
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    BackendError::Timeout
                } else {
                    // Never put the request body in an error: only what failed.
                    BackendError::Connect {
                        detail: "the in-house service is unreachable".into(),
                    }
                }
            })?;
        let status = response.status().as_u16();
        if status != 200 {
            // A 503 is retryable: the dispatcher backs off and tries again.
            return Err(BackendError::Status {
                code: status,
                kind: None,
                retry_after: None,
                should_retry: None,
            });
        }
        let body: Generated = response.json().await.map_err(|_| BackendError::Malformed {
            detail: "not a /generate answer".into(),
        })?;
        Ok(
            BackendResponse::new(body.output, "inhouse-v2").with_usage(Usage {
                input_tokens: body.used.input,
                output_tokens: body.used.out,
            }),
        )
    }
}

/// A stand-in for the in-house service: answers with the first line of the question it got.
async fn stand_in() -> Result<String, Box<dyn std::error::Error>> {
    async fn generate(Json(req): Json<Value>) -> Json<Value> {
        let input = req["input"].as_str().unwrap_or_default();
        let question = input
            .lines()
            .find_map(|l| l.strip_prefix("Question: "))
            .unwrap_or(input);
        Json(json!({"output": format!("Noted — {question}"),
                    "used": {"in": input.len() / 4, "out": 12}}))
    }
    let app = axum::Router::new().route("/generate", post(generate));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/generate", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let url = stand_in().await?;
        let backend = InHouse {
            client: reqwest::Client::new(),
            url,
            // On premises: may receive prompts that touched any level (redacted), and
            // confidential data in clear; a small model for the complexity routing.
            profile: BackendProfile::new("inhouse", Locality::OnPremises, Size::Small, 8192)
                .with_latency_ms(300),
        };
        let pipeline = Pipeline::builder().backend(Arc::new(backend)).build()?;
        let out = pipeline
            .run(PromptRequest::new(
                "Send the refund confirmation to lena.fischer@example.com, card 4111 1111 1111 1111.",
            ))
            .await?;
        println!("the service saw: {}", out.trace().sent_prompt().lines().last().unwrap_or(""));
        println!("answer:          {}", out.answer());
        println!(
            "route:           {} ({} call, usage {:?})",
            out.trace().backend(),
            out.trace().attempts().len(),
            out.usage()
        );
        Ok(())
    })
}
