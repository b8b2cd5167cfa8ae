//! What a request produced: its trace (shared by whole and streamed answers) and the answer.

use crate::audit::RequestId;
use crate::backend::dispatch::Attempt;
use crate::backend::{BackendRequest, Usage};
use crate::enrich::{Citation, ToolCall, Turn};
use crate::redact::{RedactionReport, RestoreReport};
use crate::route::{BackendId, Complexity, RouteDecision};

/// How a request went: its id, what was redacted, the route and why, the backend that
/// answered and every call made, and exactly what was sent. The same for a whole answer
/// ([`PipelineOutput::trace`]) and a streamed one
/// ([`PipelineStream::trace`](super::PipelineStream::trace)). Holds no value the redactor
/// found: its `Debug` shows lengths and names only.
#[derive(Debug, Clone)]
pub struct RequestTrace {
    pub(super) request_id: RequestId,
    pub(super) route: RouteDecision,
    pub(super) backend: BackendId,
    pub(super) attempts: Vec<Attempt>,
    pub(super) redaction: RedactionReport,
    pub(super) complexity: Complexity,
    pub(super) request: BackendRequest,
}

impl RequestTrace {
    /// The request's id, as in the audit trail.
    pub fn request_id(&self) -> &RequestId {
        &self.request_id
    }

    /// The route: the approved chain and why.
    pub fn route(&self) -> &RouteDecision {
        &self.route
    }

    /// The backend that answered (for a stream: the one answering).
    pub fn backend(&self) -> &BackendId {
        &self.backend
    }

    /// Every backend call made (for a stream: those made before the answer began, failed
    /// ones first).
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// The passages the prompt cited.
    pub fn citations(&self) -> &[Citation] {
        self.request.enriched().citations()
    }

    /// What was redacted from the question, the earlier turns and the passages (no values).
    pub fn redaction(&self) -> &RedactionReport {
        &self.redaction
    }

    /// The complexity score and its features.
    pub fn complexity(&self) -> &Complexity {
        &self.complexity
    }

    /// The prompt exactly as it was sent to the backend: redacted question and passages in
    /// the template. Holds no value the redactor found (what the model saw).
    pub fn sent_prompt(&self) -> &str {
        self.request.prompt()
    }

    /// The earlier turns exactly as they were sent before the prompt (redacted, oldest
    /// first; those the budget left out are not here).
    pub fn sent_history(&self) -> &[Turn] {
        self.request.history()
    }

    /// The request as sent: prompt, history, generation settings.
    pub fn sent(&self) -> &BackendRequest {
        &self.request
    }
}

/// What a request produced: the restored answer, how the backend ended it, and the
/// [`RequestTrace`]. Its `Debug` shows the answer's length, never the answer (it holds the
/// restored values).
#[derive(Clone)]
pub struct PipelineOutput {
    pub(super) answer: String,
    pub(super) trace: RequestTrace,
    pub(super) restore: RestoreReport,
    pub(super) usage: Option<Usage>,
    pub(super) model: String,
    pub(super) finish_reason: Option<String>,
    pub(super) tool_calls: Vec<ToolCall>,
}

impl PipelineOutput {
    /// The tools the model called, their arguments restored (each string of the JSON on its
    /// own, so the arguments stay JSON); empty for a plain answer.
    pub fn tool_calls(&self) -> &[ToolCall] {
        &self.tool_calls
    }

    /// The answer, with the placeholders restored.
    pub fn answer(&self) -> &str {
        &self.answer
    }

    /// The answer, owned.
    pub fn into_answer(self) -> String {
        self.answer
    }

    /// How the request went: route, backend, attempts, redaction, what was sent.
    pub fn trace(&self) -> &RequestTrace {
        &self.trace
    }

    /// How the answer's placeholders were restored.
    pub fn restore(&self) -> &RestoreReport {
        &self.restore
    }

    /// Tokens, as the backend reported them.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// The model that answered, as the backend named it.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Why generation stopped (`stop`, `length`, `end_turn`, ...), as the backend said.
    pub fn finish_reason(&self) -> Option<&str> {
        self.finish_reason.as_deref()
    }
}

impl std::fmt::Debug for PipelineOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineOutput")
            .field("answer_len", &self.answer.len())
            .field("trace", &self.trace)
            .field("restore", &self.restore)
            .field("usage", &self.usage)
            .field("model", &self.model)
            .field("finish_reason", &self.finish_reason)
            .field("tool_calls", &self.tool_calls)
            .finish()
    }
}

/// How a streamed answer ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamSummary {
    /// Tokens, as the backend reported them.
    pub usage: Option<Usage>,
    /// The model that answered.
    pub model: String,
    /// Why generation stopped.
    pub finish_reason: Option<String>,
    /// How the placeholders were restored (text and tool calls).
    pub restore: RestoreReport,
    /// The tools the model called, their arguments restored whole once the answer ended.
    pub tool_calls: Vec<ToolCall>,
}

/// What a readiness probe found ([`Pipeline::readiness`](super::Pipeline::readiness)): each
/// part and, when it is not ready, why (never a prompt: probes send none).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Readiness {
    /// Each backend, in configuration order: its name, and why it cannot be reached (`None`
    /// when it can).
    pub backends: Vec<(BackendId, Option<String>)>,
    /// The retriever: `None` without one; else why it cannot search (`Some(None)` when it
    /// can).
    pub retriever: Option<Option<String>>,
}

impl Readiness {
    /// Ready to answer: the retriever (if any) searches and at least one backend is
    /// reachable (routing and fallback go around the others).
    pub fn is_ready(&self) -> bool {
        !matches!(self.retriever, Some(Some(_))) && self.backends.iter().any(|(_, e)| e.is_none())
    }
}
