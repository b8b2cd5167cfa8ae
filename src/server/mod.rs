//! The gateway (feature `server`): OpenAI's `/v1/chat/completions` and `/v1/responses` and
//! Anthropic's `/v1/messages` in front of a [`Pipeline`], each request by the same path
//! (redact → guard → restore, audited), JSON or server-sent events.
//!
//! `promptveil serve --config promptveil.toml` runs it (feature `cli` too); [`router`] gives
//! the same routes as an [`axum::Router`] to mount in an application of one's own.
//!
//! What the server adds around the pipeline:
//!
//! - **Keys**: with `api_keys_env` or `api_keys_file` in `[server]`, every `/v1/` request
//!   must present one (`Authorization: Bearer KEY` or `x-api-key: KEY`): several keys at
//!   once for rotation, compared in constant time ([`ApiKeys`]). Without keys the server
//!   listens on a loopback address only ([`ServerConfig::check`]).
//! - **Probes**: `GET /healthz` (the process answers) and `GET /readyz` (the index searches
//!   and at least one backend is reachable: [`Pipeline::readiness`]; 503 otherwise), without
//!   keys and without a prompt.
//! - **Limits**: bodies over `max_body_bytes` get 413; over `max_concurrency` requests at
//!   once, 429 with `retry-after: 1` (a streamed answer holds its place until it ends).
//! - **Errors** in each API's own error body for every status, 404 and 405 included;
//!   messages never hold prompt text.
//! - **Request ids**: the caller's `x-request-id` becomes the request's id in the audit trail
//!   ([`Pipeline::request_id_from`]: unless the redactor finds a value in it); every answer
//!   carries `x-request-id`.
//! - **`model`** is required: `promptveil` lets the pipeline route, a backend's name (from
//!   `GET /v1/models`) sends the request there only; answers name the backend that answered,
//!   the same in JSON and in streams.
//! - **Inspection** (`inspect = true`, off by default; refused when a backend is external
//!   unless `inspect_external = true`): each answer also carries, under `promptveil.sent`,
//!   what the model received — placeholders, never values.
//! - **Observability**: `GET /metrics` (Prometheus, OpenMetrics text, without keys) when the
//!   pipeline has [`Metrics`](crate::audit::Metrics) — `promptveil serve` always gives it
//!   some — and a `tracing` span per request and per step (see
//!   [`pipeline`](crate::pipeline)); neither ever holds a value.
//! - **Shutdown**: on SIGTERM or Ctrl-C, new connections stop and in-flight requests get
//!   `shutdown_grace_s` to finish.

// Reading a `serde_json::Value` by key never panics (a missing key reads as `null`), and the
// keys written here are written into objects built here: the lint's blanket rule on `[]`
// does not apply to these, and slices are still read with `get`.
#![allow(clippy::indexing_slicing)]

mod api;
mod auth;
mod chat;
mod config;
mod messages;
mod responses;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde_json::json;

pub use auth::ApiKeys;
pub use config::ServerConfig;

use crate::audit::RequestId;
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use api::{Api, AppState};

/// The gateway's routes over `pipeline`, with `config`'s keys, limits and inspection, as a
/// router to serve ([`serve`]) or to mount in one's own application.
///
/// # Errors
///
/// [`ErrorKind::Config`](crate::ErrorKind::Config) when the settings do not hold for these
/// backends ([`ServerConfig::check_with`]).
pub fn router(pipeline: Pipeline, config: &ServerConfig) -> Result<Router> {
    config.check_with(pipeline.profiles())?;
    let state = AppState {
        pipeline: pipeline.clone(),
        inspect: config.inspect,
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(config.max_concurrency.max(1)));
    let answering = Router::new()
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/responses", post(responses::create))
        .route("/v1/messages", post(messages::create))
        .route_layer(from_fn_with_state(slots, limit_concurrency));
    let api = answering
        .route("/v1/models", get(api::models))
        .route_layer(from_fn_with_state(
            config.keys.clone().map(Arc::new),
            authenticate,
        ))
        .layer(DefaultBodyLimit::max(config.max_body_bytes));
    let limit = config.max_body_bytes;
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if pipeline.metrics().is_some() {
        app = app.route("/metrics", get(metrics));
    }
    Ok(app
        .merge(api)
        .fallback(not_found)
        .layer(from_fn(move |req: Request, next: Next| {
            shape_errors(limit, req, next)
        }))
        .layer(from_fn_with_state(pipeline.clone(), request_id))
        .layer(from_fn_with_state(pipeline, observe_http))
        .with_state(state))
}

/// `GET /metrics`: the pipeline's metrics in the OpenMetrics text format, without keys (they
/// hold counts and durations by entity type, level, backend and cause: never a value).
async fn metrics(State(app): State<AppState>) -> Response {
    let text = app
        .pipeline
        .metrics()
        .map(|m| m.encode())
        .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Counts each HTTP request by endpoint and status, and times it (to the first byte of a
/// streamed answer), when the pipeline has metrics. Paths the server does not serve count as
/// `other`, so a scanner cannot grow the label set.
async fn observe_http(State(pipeline): State<Pipeline>, req: Request, next: Next) -> Response {
    let Some(metrics) = pipeline.metrics().cloned() else {
        return next.run(req).await;
    };
    const SERVED: &[&str] = &[
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/messages",
        "/v1/models",
        "/healthz",
        "/readyz",
        "/metrics",
    ];
    let path = req.uri().path();
    let endpoint = SERVED
        .iter()
        .find(|p| **p == path)
        .copied()
        .unwrap_or("other");
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    metrics.observe_http(
        endpoint,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting connections
/// and gives requests in flight `grace` to finish.
///
/// # Errors
///
/// [`ErrorKind::Io`](crate::ErrorKind::Io) when the server fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: std::time::Duration,
) -> Result<()> {
    let stopping = Arc::new(tokio::sync::Notify::new());
    let told = Arc::clone(&stopping);
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        told.notify_one();
    });
    let drained = async {
        stopping.notified().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = server => served.map_err(|e| Error::new(crate::ErrorKind::Io, format!("the server failed: {e}"))),
        () = drained => Ok(()),
    }
}

/// SIGTERM (where there are signals) or Ctrl-C: what [`serve`] waits for by default.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// `GET /healthz`: the process answers.
async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: each backend probed, the index searched once; 200 when ready, 503 when not.
async fn readyz(State(app): State<AppState>) -> Response {
    let readiness = app.pipeline.readiness().await;
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let backends: serde_json::Map<String, serde_json::Value> = readiness
        .backends
        .iter()
        .map(|(name, e)| {
            let state = e.as_ref().map_or(json!("ready"), |e| json!({"error": e}));
            (name.as_str().to_string(), state)
        })
        .collect();
    let retriever = match &readiness.retriever {
        None => json!(null),
        Some(None) => json!("ready"),
        Some(Some(e)) => json!({"error": e}),
    };
    let body = json!({"ready": readiness.is_ready(), "backends": backends, "index": retriever});
    (status, axum::Json(body)).into_response()
}

/// Any other path: 404 naming what is served.
async fn not_found(req: Request) -> Response {
    Api::of(req.uri().path()).error(
        StatusCode::NOT_FOUND,
        "no such endpoint: POST /v1/chat/completions, /v1/responses, /v1/messages; GET \
         /v1/models, /healthz, /readyz",
    )
}

/// The caller's `x-request-id` (when it is an id and holds no value the redactor finds) or a
/// fresh one, for the handlers; every answer carries it.
async fn request_id(State(pipeline): State<Pipeline>, mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(RequestId::new, |caller| pipeline.request_id_from(caller));
    req.extensions_mut().insert(id.clone());
    let mut response = next.run(req).await;
    if !response.headers().contains_key("x-request-id")
        && let Ok(v) = HeaderValue::from_str(id.as_str())
    {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// Every `/v1/` request presents a key, when the server has keys.
async fn authenticate(
    State(keys): State<Option<Arc<ApiKeys>>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(keys) = keys else {
        return next.run(req).await;
    };
    let api = Api::of(req.uri().path());
    match auth::presented(req.headers()) {
        Some(key) if keys.accepts(key) => next.run(req).await,
        Some(_) => api.error(StatusCode::UNAUTHORIZED, "the API key is not valid"),
        None => api.error(
            StatusCode::UNAUTHORIZED,
            "an API key is required (Authorization: Bearer KEY, or x-api-key: KEY)",
        ),
    }
}

/// At most the configured number of requests answered at once; the place is held until the
/// answer's body ends, so a streamed answer counts for as long as it streams.
async fn limit_concurrency(
    State(slots): State<Arc<tokio::sync::Semaphore>>,
    req: Request,
    next: Next,
) -> Response {
    let api = Api::of(req.uri().path());
    let Ok(slot) = slots.try_acquire_owned() else {
        let mut busy = api.error(
            StatusCode::TOO_MANY_REQUESTS,
            "the server is answering as many requests as it may at once; try again",
        );
        busy.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return busy;
    };
    let response = next.run(req).await;
    let (parts, body) = response.into_parts();
    let body = body.into_data_stream().map(move |chunk| {
        let _held = &slot;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(body))
}

/// Error answers that are not JSON yet (a body over the limit, a method not allowed, a
/// rejected extractor) in the API's error body.
async fn shape_errors(limit: usize, req: Request, next: Next) -> Response {
    let api = Api::of(req.uri().path());
    let response = next.run(req).await;
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("the request body is over this server's limit of {limit} bytes")
        }
        StatusCode::METHOD_NOT_ALLOWED => "this endpoint does not take that method".to_string(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "the body must be JSON".to_string(),
        s => format!("the request failed (HTTP {})", s.as_u16()),
    };
    let mut shaped = api.error(status, &message);
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}
