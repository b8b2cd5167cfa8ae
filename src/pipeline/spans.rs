//! The `tracing` spans of a request: one for the request, one for the model call, and what
//! is recorded on them (ids, names, counts — never text).

use super::RequestTrace;
use crate::backend::{BackendRequest, Usage};
use crate::error::Error;
use crate::route::RouteDecision;

/// The span of one request, following the OpenTelemetry GenAI conventions where they apply
/// (`gen_ai.operation.name`); its steps are its children. No field ever holds prompt text or a
/// value: ids, names, counts, levels.
pub(super) fn request_span(stream: bool) -> tracing::Span {
    tracing::info_span!(
        "promptveil.request",
        gen_ai.operation.name = "chat",
        promptveil.stream = stream,
        promptveil.request_id = tracing::field::Empty,
        promptveil.backend = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// The span of the model call (`chat {model}`, a client span in the GenAI conventions): the
/// first backend of the chain as the requested model; the one that answered, its model and
/// its token counts recorded when it has.
pub(super) fn chat_span(decision: &RouteDecision, request: &BackendRequest) -> tracing::Span {
    let first = decision.chain.first().map_or("none", |b| b.as_str());
    tracing::info_span!(
        "chat",
        otel.name = format!("chat {first}"),
        otel.kind = "client",
        gen_ai.operation.name = "chat",
        gen_ai.request.model = first,
        gen_ai.request.max_tokens = request.max_tokens,
        gen_ai.request.temperature = f64::from(request.temperature),
        gen_ai.response.model = tracing::field::Empty,
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
    )
}

/// Records which backend answered (on the request's span), and the model and tokens it
/// reported (on the model call's span).
pub(super) fn record_response(
    chat: &tracing::Span,
    trace: &RequestTrace,
    model: &str,
    usage: Option<Usage>,
) {
    tracing::Span::current().record("promptveil.backend", trace.backend.as_str());
    if !model.is_empty() {
        chat.record("gen_ai.response.model", model);
    }
    if let Some(u) = usage {
        chat.record("gen_ai.usage.input_tokens", u.input_tokens);
        chat.record("gen_ai.usage.output_tokens", u.output_tokens);
    }
}

/// Records an error's kind on the current (request) span: `error.type`.
pub(super) fn record_error(e: &Error) {
    tracing::Span::current().record("error.type", e.kind().to_string());
}
