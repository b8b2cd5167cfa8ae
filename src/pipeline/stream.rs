//! A streamed answer: restored piece by piece as the backend sends it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::Stream;

use super::{Pipeline, RequestTrace, StreamSummary};
use crate::audit::AuditEvent;
use crate::backend::{BackendError, BackendStream, StreamEvent};
use crate::enrich::ToolCall;
use crate::error::{Error, ErrorKind, Result};
use crate::redact::{RestoreReport, StreamRestorer, Vault};

/// A streamed answer: a [`Stream`] of restored text pieces. The [trace](PipelineStream::trace)
/// (route, citations, redaction report, what was sent) is known from the start;
/// [`summary`](PipelineStream::summary) once the stream ended. Dropping it before the end
/// cancels the backend call (the connection is closed) and records
/// [`AuditEvent::Cancelled`].
///
/// Text that could be the start of a placeholder is held back until the next piece shows
/// what it is (at most the longest placeholder of the request's vault); everything else is
/// yielded as soon as it arrives. After an error, nothing more is yielded.
///
/// Tool calls are not yielded as pieces: their arguments are JSON, and a value restored into
/// a piece could need escaping that depends on what came before. They are gathered as they
/// arrive and restored whole once the answer is complete, in the
/// [summary](StreamSummary::tool_calls).
pub struct PipelineStream {
    pub(super) pipeline: Pipeline,
    pub(super) trace: RequestTrace,
    pub(super) events: BackendStream,
    pub(super) restorer: Option<StreamRestorer<Arc<Vault>>>,
    /// The request's vault, for the tool calls.
    pub(super) vault: Arc<Vault>,
    /// An error to yield after the held-back text.
    pub(super) pending: Option<Error>,
    pub(super) summary: Option<StreamSummary>,
    pub(super) done: bool,
    /// The tool calls so far, by their index in the answer: held until the answer is
    /// complete, then restored as JSON ([`super::tools`]).
    pub(super) calls: std::collections::BTreeMap<usize, ToolCall>,
    /// The request's span, open until the stream ends or is dropped.
    pub(super) request_span: tracing::Span,
    /// Entered while pieces are restored.
    pub(super) restore_span: tracing::Span,
    /// Time spent restoring so far (the `restore` step's duration, without the waits).
    pub(super) restoring: std::time::Duration,
}

impl std::fmt::Debug for PipelineStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineStream")
            .field("trace", &self.trace)
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl PipelineStream {
    /// How the request went so far: route, backend answering, calls made, redaction, what
    /// was sent.
    pub fn trace(&self) -> &RequestTrace {
        &self.trace
    }

    /// How the answer ended, once the stream has.
    pub fn summary(&self) -> Option<&StreamSummary> {
        self.summary.as_ref()
    }

    /// Ends the restoration: the text held back, and the report. Audited as `restored`, the
    /// request's terminal event, unless the answer stopped part way (then `failed` is).
    fn flush(&mut self) -> String {
        let Some(restorer) = self.restorer.take() else {
            return String::new();
        };
        let (rest, mut report) = restorer.finish();
        let calls: Vec<ToolCall> = std::mem::take(&mut self.calls).into_values().collect();
        let calls = super::tools::restore_calls(
            &self.vault,
            &calls,
            self.pipeline.inner.url_values,
            &mut report,
        );
        if let Some(s) = &mut self.summary {
            s.tool_calls = calls;
        }
        if self.pending.is_none() {
            self.pipeline
                .audit(&self.trace.request_id, AuditEvent::restored(&report));
        }
        if let Some(s) = &mut self.summary {
            s.restore = report;
        }
        rest
    }

    fn fail(&mut self, e: BackendError) -> String {
        self.done = true;
        self.pipeline.audit(
            &self.trace.request_id,
            AuditEvent::fell_back(self.trace.backend.clone(), &e),
        );
        self.pipeline.audit(
            &self.trace.request_id,
            AuditEvent::Failed {
                reason: format!("the answer of `{}` stopped: {e}", self.trace.backend),
            },
        );
        self.pending = Some(
            Error::new(
                ErrorKind::Backend,
                format!(
                    "request {}: the answer stopped",
                    self.trace.request_id.as_str()
                ),
            )
            .with_source(e),
        );
        self.flush()
    }
}

impl Drop for PipelineStream {
    fn drop(&mut self) {
        if !self.done {
            self.pipeline.audit(
                &self.trace.request_id,
                AuditEvent::Cancelled {
                    backend: self.trace.backend.clone(),
                },
            );
        }
    }
}

impl Stream for PipelineStream {
    type Item = Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<String>>> {
        let this = self.get_mut();
        let span = this.restore_span.clone();
        let _restoring = span.enter();
        loop {
            if let Some(e) = this.pending.take() {
                this.done = true;
                return Poll::Ready(Some(Err(e)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            let event = match this.events.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(e) => e,
            };
            let started = std::time::Instant::now();
            let out = match event {
                Some(Ok(StreamEvent::Delta(text))) => match &mut this.restorer {
                    Some(r) => r.push(&text),
                    // The restorer is gone only once the stream ended; nothing is yielded
                    // after that.
                    None => String::new(),
                },
                Some(Ok(StreamEvent::ToolCallDelta {
                    index,
                    id,
                    name,
                    arguments,
                })) => {
                    let call = this
                        .calls
                        .entry(index)
                        .or_insert_with(|| ToolCall::new("", "", ""));
                    if let Some(id) = id {
                        call.id = id;
                    }
                    if let Some(name) = name {
                        call.name = name;
                    }
                    call.arguments.push_str(&arguments);
                    String::new()
                }
                Some(Ok(StreamEvent::Finished {
                    usage,
                    model,
                    finish_reason,
                })) => {
                    this.pipeline.audit(
                        &this.trace.request_id,
                        this.pipeline.dispatched(&this.trace, usage),
                    );

                    this.summary = Some(StreamSummary {
                        usage,
                        model,
                        finish_reason,
                        restore: RestoreReport::default(),
                        tool_calls: Vec::new(),
                    });
                    this.done = true;
                    this.flush()
                }
                Some(Err(e)) => this.fail(e),
                None => this.fail(BackendError::Malformed {
                    detail: "the stream ended before the answer was complete".into(),
                }),
            };
            this.restoring += started.elapsed();
            if this.done {
                this.pipeline.timed("restore", this.restoring);
            }
            if !out.is_empty() {
                return Poll::Ready(Some(Ok(out)));
            }
        }
    }
}
