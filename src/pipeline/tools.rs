//! Tool calls in answers, restored: a call's arguments are JSON, so each string in them is
//! restored on its own and the document written again — a value with a quote or a
//! backslash comes back escaped, and a placeholder cannot break the JSON around it.

use serde_json::Value;

use crate::enrich::ToolCall;
use crate::redact::{RestoreReport, UrlValues, Vault};

/// `call` with the placeholders of its arguments restored, and what restoring did.
/// Arguments that are not JSON (a model's slip) are restored as text.
pub(super) fn restore_call(
    vault: &Vault,
    call: &ToolCall,
    urls: UrlValues,
) -> (ToolCall, RestoreReport) {
    let mut report = RestoreReport::default();
    let arguments = match serde_json::from_str::<Value>(&call.arguments) {
        Ok(v) => restore_value(vault, v, urls, &mut report).to_string(),
        Err(_) => {
            let (text, r) = vault.restore_with(&call.arguments, urls).into_parts();
            report.merge(r);
            text
        }
    };
    let mut restored = call.clone();
    restored.arguments = arguments;
    (restored, report)
}

fn restore_value(vault: &Vault, v: Value, urls: UrlValues, report: &mut RestoreReport) -> Value {
    let mut text = |s: &str| {
        let (t, r) = vault.restore_with(s, urls).into_parts();
        report.merge(r);
        t
    };
    match v {
        Value::String(s) => Value::String(text(&s)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|x| restore_value(vault, x, urls, report))
                .collect(),
        ),
        Value::Object(fields) => {
            let mut out = serde_json::Map::with_capacity(fields.len());
            for (k, x) in fields {
                let k = {
                    let (t, r) = vault.restore_with(&k, urls).into_parts();
                    report.merge(r);
                    t
                };
                out.insert(k, restore_value(vault, x, urls, report));
            }
            Value::Object(out)
        }
        other => other,
    }
}

/// Every call of `calls` restored, with the reports merged into `report`.
pub(super) fn restore_calls(
    vault: &Vault,
    calls: &[ToolCall],
    urls: UrlValues,
    report: &mut RestoreReport,
) -> Vec<ToolCall> {
    calls
        .iter()
        .map(|c| {
            let (call, r) = restore_call(vault, c, urls);
            report.merge(r);
            call
        })
        .collect()
}
