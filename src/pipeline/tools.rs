//! Tool calls in answers, restored: a call's arguments are JSON, so each string in them is
//! restored on its own and the document written again — a value with a quote or a
//! backslash comes back escaped, and a placeholder cannot break the JSON around it.

use serde_json::Value;

use crate::enrich::ToolCall;
use crate::redact::{RestoreReport, UrlValues, Vault};

/// `text` restored, with what restoring did merged into `report`.
fn restore_text(vault: &Vault, text: &str, urls: UrlValues, report: &mut RestoreReport) -> String {
    let (text, r) = vault.restore_with(text, urls).into_parts();
    report.merge(r);
    text
}

fn restore_value(vault: &Vault, v: Value, urls: UrlValues, report: &mut RestoreReport) -> Value {
    match v {
        Value::String(s) => Value::String(restore_text(vault, &s, urls, report)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|x| restore_value(vault, x, urls, report))
                .collect(),
        ),
        Value::Object(fields) => {
            let mut out = serde_json::Map::with_capacity(fields.len());
            for (k, x) in fields {
                let k = restore_text(vault, &k, urls, report);
                out.insert(k, restore_value(vault, x, urls, report));
            }
            Value::Object(out)
        }
        other => other,
    }
}

/// Every call of `calls` with the placeholders of its arguments restored, what restoring
/// did merged into `report`. Arguments that are not JSON (a model's slip) are restored as
/// text.
pub(super) fn restore_calls(
    vault: &Vault,
    calls: &[ToolCall],
    urls: UrlValues,
    report: &mut RestoreReport,
) -> Vec<ToolCall> {
    calls
        .iter()
        .map(|c| {
            let arguments = match serde_json::from_str::<Value>(&c.arguments) {
                Ok(v) => restore_value(vault, v, urls, report).to_string(),
                Err(_) => restore_text(vault, &c.arguments, urls, report),
            };
            ToolCall {
                arguments,
                ..c.clone()
            }
        })
        .collect()
}
