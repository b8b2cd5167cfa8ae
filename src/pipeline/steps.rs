//! The steps before anything is sent: redact the conversation, gather context, summarise for
//! the routing policy, check the chain and guard the payload. Each audits its own event and
//! fails closed.

use super::guard::{ModelGaps, check_egress_with};
use super::request::Message;
use super::{OnModelFailure, Pipeline, PromptRequest};
use crate::audit::{AuditEvent, RequestId};
use crate::backend::BackendRequest;
use crate::enrich::{
    ContextPassage, EnrichedPrompt, RedactedCall, RedactedTool, Role, Turn, check_tool_name,
};
use crate::error::{Error, Result};
use crate::redact::{RedactedText, RedactionReport, Redactor, Vault};
use crate::route::{BackendProfile, Complexity, RouteDecision, RouteSummary};
use crate::sensitivity::Sensitivity;

/// The question, the earlier turns and the tools, redacted with one vault: the turns first,
/// in their order, so placeholders are numbered as the conversation said them; then the
/// tools' definitions, then the question.
pub(super) fn redact_conversation(
    p: &Pipeline,
    id: &RequestId,
    req: &PromptRequest,
    vault: &Vault,
) -> Result<Conversation> {
    let redactor = &p.inner.redactor;
    let mut history = Vec::with_capacity(req.history.len());
    let mut earlier = RedactionReport::default();
    for m in &req.history {
        let turn = redact_message(redactor, m, vault, &mut earlier).map_err(|e| {
            p.refuse_as(
                id,
                format!("a message could not be redacted: {e}"),
                "a message could not be redacted",
            )
            .with_source(e)
        })?;
        history.push(turn);
    }
    if !req.history.is_empty() {
        p.audit(id, redacted(p, "history", &earlier));
        complete(p, id, "history", "an earlier turn", &earlier)?;
    }
    let mut tools = Vec::with_capacity(req.tools.len());
    let mut defined = RedactionReport::default();
    for t in &req.tools {
        let (description, report) = redactor.redact(&t.description, vault).into_parts();
        defined.merge(report);
        let parameters = redactor
            .redact_json_text(&t.parameters, vault)
            .map_err(|e| {
                p.refuse_as(
                    id,
                    format!("the tool `{}` could not be redacted: {e}", t.name),
                    "a tool's definition could not be redacted",
                )
                .with_source(e)
            })?;
        defined.merge(parameters.report());
        tools.push(RedactedTool::new(&t.name, &description, &parameters)?);
    }
    if !req.tools.is_empty() {
        p.audit(id, redacted(p, "tools", &defined));
        complete(p, id, "tools", "a tool's definition", &defined)?;
    }
    let media = req
        .media
        .iter()
        .chain(req.history.iter().flat_map(|m| &m.media));
    let mut parts = std::collections::BTreeMap::new();
    for m in media {
        *parts.entry(m.kind().to_string()).or_insert(0) += 1;
    }
    if !parts.is_empty() {
        p.audit(id, AuditEvent::MediaAttached { parts });
    }
    let (question, mut redaction) = redactor.redact(&req.prompt, vault).into_parts();
    p.audit(id, redacted(p, "question", &redaction));
    complete(p, id, "question", "the question", &redaction)?;
    redaction.merge(earlier);
    redaction.merge(defined);
    Ok(Conversation {
        question,
        history,
        tools,
        redaction,
    })
}

/// A conversation redacted: what [`redact_conversation`] gives.
pub(super) struct Conversation {
    pub(super) question: RedactedText,
    pub(super) history: Vec<Turn>,
    pub(super) tools: Vec<RedactedTool>,
    pub(super) redaction: RedactionReport,
}

/// One message as a turn: its text redacted, a call's arguments and a tool's JSON answer
/// redacted as JSON (field rules apply, every string is scanned).
fn redact_message(
    redactor: &Redactor,
    m: &Message,
    vault: &Vault,
    report: &mut RedactionReport,
) -> Result<Turn> {
    let mut text = |t: &str| {
        let (t, r) = redactor.redact(t, vault).into_parts();
        report.merge(r);
        t
    };
    if !m.media.is_empty() && m.role != Role::User {
        return Err(Error::config(format!(
            "only a user's message may carry images or recordings, not a message of role `{}`",
            m.role.as_str()
        )));
    }
    match m.role {
        Role::Tool => {
            let call_id = m
                .call_id
                .as_deref()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| Error::config("a tool's answer names no call (`tool_call_id`)"))?;
            let content = match serde_json::from_str::<serde_json::Value>(&m.content) {
                Ok(json) if json.is_object() || json.is_array() => {
                    let red = redactor.redact_json(&json, vault)?;
                    report.merge(red.report());
                    RedactedText::from_json(&red)
                }
                _ => text(&m.content),
            };
            Ok(Turn::tool_result(call_id, &content))
        }
        _ if !m.calls.is_empty() => {
            let words = text(&m.content);
            let mut calls = Vec::with_capacity(m.calls.len());
            for c in &m.calls {
                check_tool_name(&c.name)?;
                let red = redactor.redact_json(&c.arguments_json()?, vault)?;
                report.merge(red.report());
                calls.push(RedactedCall::new(&c.id, &c.name, &red));
            }
            Ok(Turn::assistant_calls(&words, calls))
        }
        role => Ok(Turn::new(role, &text(&m.content)).with_media(m.media.clone())),
    }
}

/// Passages for the *redacted* question without its placeholders (values never reach the
/// retriever, which may be a remote service), each redacted with the request's vault unless
/// the index was declared public. Their reports join `redaction`.
pub(super) async fn gather_context(
    p: &Pipeline,
    id: &RequestId,
    req: &PromptRequest,
    question: &RedactedText,
    vault: &Vault,
    redaction: &mut RedactionReport,
) -> Result<Vec<ContextPassage>> {
    let inner = &*p.inner;
    let k = req.top_k.unwrap_or(inner.top_k);
    // No new question (the conversation ends with a tool's answer): nothing to look up.
    let asked = k > 0 && !question.is_empty();
    let Some(retriever) = inner.retriever.as_ref().filter(|_| asked) else {
        return Ok(Vec::new());
    };
    let hits = retriever
        .retrieve(&question.without_placeholders(), k)
        .await?;
    p.audit(
        id,
        AuditEvent::Retrieved {
            passages: hits.iter().map(|h| h.passage.id.clone()).collect(),
            public: inner.public_index,
        },
    );
    let mut context = Vec::with_capacity(hits.len());
    for hit in &hits {
        if inner.public_index {
            context.push(ContextPassage::public(&hit.passage));
            continue;
        }
        let (text, report) = inner.redactor.redact(&hit.passage.text, vault).into_parts();
        if !report.is_empty() || !report.is_complete() {
            p.audit(id, redacted(p, hit.passage.id.as_str(), &report));
        }
        complete(
            p,
            id,
            hit.passage.id.as_str(),
            "a retrieved passage",
            &report,
        )?;
        redaction.merge(report);
        context.push(ContextPassage::redacted(&hit.passage, text));
    }
    Ok(context)
}

/// The `redacted` event of `what`, naming the rules the redactor runs without and the shield
/// that processed the request.
fn redacted(p: &Pipeline, what: &str, report: &RedactionReport) -> AuditEvent {
    AuditEvent::redacted(what, report)
        .with_turned_off(p.inner.redactor.turned_off())
        .with_shield(&p.inner.shield)
}

/// What the routing policy reads: levels, entity types, tokens (one unit: the pipeline's
/// token counter), complexity, budgets, health, tags — never text.
pub(super) fn summarize(
    p: &Pipeline,
    req: &PromptRequest,
    prompt: &EnrichedPrompt,
    redaction: &RedactionReport,
    complexity: &Complexity,
    max_tokens: usize,
) -> RouteSummary {
    // A text a model could not read whole (the pipeline went on with the rules) may hold
    // anything, and so may media, which nothing reads: it is routed as restricted.
    let media = req.media_kinds();
    let level = if redaction.is_complete() && media.is_empty() {
        redaction.max_sensitivity.unwrap_or(Sensitivity::Public)
    } else {
        Sensitivity::Restricted
    };
    let mut summary = RouteSummary::new(level, prompt.tokens(), complexity.score)
        .with_tokens_out(max_tokens)
        .with_budget(req.max_cost, req.max_latency_ms)
        .with_cooling_down(p.inner.dispatcher.cooling_down());
    summary.entity_types = redaction.entity_counts().into_keys().collect();
    summary.tools = req.uses_tools();
    summary.media = media;
    summary.complexity_drivers.clone_from(&complexity.drivers);
    summary.tags.clone_from(&req.tags);
    summary
}

/// The profiles of the chain, in its order. Fail closed: a chain naming a backend the
/// pipeline does not have is refused (the guard could not check it), and so is one naming a
/// backend the request was not admitted to ([`crate::route::admit`]): whatever the policy,
/// a request never goes where its sensitivity, a cooldown or a context window rules out.
pub(super) fn chain_profiles<'a>(
    p: &'a Pipeline,
    id: &RequestId,
    decision: &RouteDecision,
    admitted: &[BackendProfile],
) -> Result<Vec<&'a BackendProfile>> {
    if decision.is_refused() {
        return Err(p.refuse(id, "the routing policy approved no backend".into()));
    }
    let mut chain = Vec::with_capacity(decision.chain.len());
    for name in &decision.chain {
        let Some(profile) = p.inner.dispatcher.profile(name) else {
            return Err(p.refuse(
                id,
                format!("the routing policy named `{name}`, which is no backend of the pipeline"),
            ));
        };
        if !admitted.iter().any(|a| a.name == *name) {
            let why = decision
                .reasons
                .iter()
                .find(|r| r.backend() == Some(name))
                .and_then(|r| serde_json::to_string(r).ok())
                .unwrap_or_else(|| "it was not admitted".to_string());
            return Err(p.refuse(
                id,
                format!(
                    "the routing policy chose `{name}`, which this request may not go to: {why}"
                ),
            ));
        }
        chain.push(profile);
    }
    Ok(chain)
}

/// The egress guard on the exact payload, against every backend of the chain.
pub(super) fn guard(
    p: &Pipeline,
    id: &RequestId,
    request: &BackendRequest,
    chain: &[&BackendProfile],
) -> Result<()> {
    let model_gaps = match p.inner.on_model_failure {
        OnModelFailure::ContinueWithRules => ModelGaps::AsRestricted,
        OnModelFailure::Refuse => ModelGaps::Refuse,
    };
    check_egress_with(
        &p.inner.redactor,
        request,
        chain.iter().copied(),
        model_gaps,
    )
    .map_err(|refusal| {
        // The audit keeps the whole reason (entity types, levels, rule ids: no values); the
        // error says who refused and carries the refusal as its source.
        let reason = format!("egress guard: {refusal}");
        p.refuse_as(id, reason, "the egress guard refused the payload")
            .with_source(refusal)
    })
}

/// Fail closed on an incomplete redaction: a detector could not scan part of `what` (its
/// model failed there), so values may be in clear; the request is refused and audited —
/// unless only a model failed and the pipeline is set to go on with the rules
/// ([`OnModelFailure::ContinueWithRules`]): then it is audited as degraded, and routed and
/// guarded as restricted.
fn complete(
    p: &Pipeline,
    id: &RequestId,
    label: &str,
    what: &str,
    report: &RedactionReport,
) -> Result<()> {
    if report.is_complete() {
        return Ok(());
    }
    if p.inner.on_model_failure == OnModelFailure::ContinueWithRules
        && report.is_complete_but_for_models()
    {
        p.audit(
            id,
            AuditEvent::Degraded {
                what: label.to_string(),
                unscanned: report.unscanned.len(),
            },
        );
        return Ok(());
    }
    Err(p.refuse(
        id,
        format!(
            "redaction incomplete: a detector could not scan {} part(s) of {what}",
            report.unscanned.len()
        ),
    ))
}
