//! Structured redaction of JSON documents.
//!
//! Two mechanisms apply, in this order, to every member of every object:
//!
//! 1. **Field rules** (`[[field]]` in a rule file) match an input JSON pointer exactly
//!    (`/user/email`) or an object key by name, case-insensitively (`email`). The whole value
//!    is replaced — every string, number and boolean leaf below it — whatever it contains.
//!    Numbers and booleans become strings (their placeholder).
//! 2. **Every other string leaf**, and every object key, is scanned by the redactor like text.
//!
//! Pointers in the returned records point into the *redacted* document (RFC 6901), so they
//! never spell a redacted key.

use serde::Serialize;
use serde_json::{Map, Value};

use super::finding::{Action, RuleId};
use super::finding::{EntityType, Span};
use super::report::RedactionRecord;
use super::{Redactor, Vault};
use crate::error::{Error, ErrorKind, Location, Result};
use crate::sensitivity::Sensitivity;

/// A structured-redaction rule: JSON values found by key name or JSON pointer.
///
/// Rule files declare them as `[[field]]` tables; in code:
///
/// ```
/// use promptveil::redact::{EntityType, FieldRule, RuleId};
/// use promptveil::Sensitivity;
///
/// let rule = FieldRule::new(RuleId::new("customer-name")?, EntityType::new("PERSON")?, Sensitivity::Confidential)
///     .with_keys(["Name", "full_name"])
///     .with_pointers(["/customer/contact"]);
/// assert_eq!(rule.keys(), ["name", "full_name"]); // matched case-insensitively
/// # Ok::<(), promptveil::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FieldRule {
    id: RuleId,
    entity: EntityType,
    sensitivity: Sensitivity,
    description: String,
    keys: Vec<String>,
    pointers: Vec<String>,
    action: Action,
    location: Option<Location>,
}

impl FieldRule {
    /// A rule replacing values of `entity` at `sensitivity`, with no key and no pointer yet,
    /// replaced by placeholders.
    pub fn new(id: RuleId, entity: EntityType, sensitivity: Sensitivity) -> FieldRule {
        FieldRule {
            id,
            entity,
            sensitivity,
            description: String::new(),
            keys: Vec::new(),
            pointers: Vec::new(),
            action: Action::Placeholder,
            location: None,
        }
    }

    /// Adds object keys it applies to (stored in lower case, matched case-insensitively).
    #[must_use]
    pub fn with_keys<S: AsRef<str>>(mut self, keys: impl IntoIterator<Item = S>) -> FieldRule {
        self.keys
            .extend(keys.into_iter().map(|k| k.as_ref().to_lowercase()));
        self
    }

    /// Adds JSON pointers (RFC 6901) it applies to.
    #[must_use]
    pub fn with_pointers<S: Into<String>>(
        mut self,
        pointers: impl IntoIterator<Item = S>,
    ) -> FieldRule {
        self.pointers.extend(pointers.into_iter().map(Into::into));
        self
    }

    /// Sets what replaces the values (default: a placeholder).
    #[must_use]
    pub fn with_action(mut self, action: Action) -> FieldRule {
        self.action = action;
        self
    }

    /// Sets the reviewer's description.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> FieldRule {
        self.description = description.into();
        self
    }

    /// Records where the rule is written (a rule file's line).
    pub(crate) fn with_location(mut self, location: Location) -> FieldRule {
        self.location = Some(location);
        self
    }

    /// The rule's id.
    pub fn id(&self) -> &RuleId {
        &self.id
    }
    /// The entity type of the values it replaces.
    pub fn entity(&self) -> &EntityType {
        &self.entity
    }
    /// Its sensitivity level.
    pub fn sensitivity(&self) -> Sensitivity {
        self.sensitivity
    }
    /// The reviewer's description.
    pub fn description(&self) -> &str {
        &self.description
    }
    /// Object keys it applies to (lower case; matched case-insensitively).
    pub fn keys(&self) -> &[String] {
        &self.keys
    }
    /// JSON pointers it applies to.
    pub fn pointers(&self) -> &[String] {
        &self.pointers
    }
    /// What replaces the values.
    pub fn action(&self) -> Action {
        self.action
    }
    /// Where the rule is written.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }
}

/// Deepest accepted nesting of a JSON document.
pub const MAX_DEPTH: usize = 256;

/// One replaced value in a JSON document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonRecord {
    /// RFC 6901 pointer to the member in the redacted document.
    pub pointer: String,
    /// True when the replaced text was an object key rather than a value.
    pub in_key: bool,
    /// The replacement, with spans relative to the string it was found in.
    #[serde(flatten)]
    pub record: RedactionRecord,
}

/// A redacted JSON document and what was replaced in it.
#[derive(Debug, Clone)]
pub struct JsonRedaction {
    value: Value,
    records: Vec<JsonRecord>,
}

impl JsonRedaction {
    /// The redacted document.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// What was replaced, in document order.
    pub fn records(&self) -> &[JsonRecord] {
        &self.records
    }

    /// What was replaced, as a text's redaction report (levels, entity types, counts): a
    /// document comes back only when every string was scanned whole, so the report is
    /// complete.
    pub fn report(&self) -> super::RedactionReport {
        let mut report = super::RedactionReport::default();
        for r in &self.records {
            report.push(r.record.clone());
        }
        report
    }

    /// Splits into document and records.
    pub fn into_parts(self) -> (Value, Vec<JsonRecord>) {
        (self.value, self.records)
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn too_deep() -> Error {
    Error::new(
        ErrorKind::Json,
        format!("document nests deeper than {MAX_DEPTH} levels"),
    )
}

struct Walk<'a> {
    redactor: &'a Redactor,
    vault: &'a Vault,
    records: Vec<JsonRecord>,
    /// Whether field rules apply (not in a schema, whose keys name no data).
    fields: bool,
}

impl Redactor {
    /// Redacts a JSON document: field rules by key and pointer, then every string and key.
    ///
    /// # Errors
    ///
    /// [`crate::ErrorKind::Json`] when the document nests deeper than
    /// [`MAX_DEPTH`] levels; [`crate::ErrorKind::Incomplete`] when a detector could not scan
    /// a string or key whole. Nothing is returned then, so nothing unredacted can leak.
    ///
    /// # Examples
    ///
    /// ```
    /// use promptveil::redact::{Redactor, Vault};
    /// use serde_json::json;
    ///
    /// let redactor = Redactor::builder().default_rules().build()?;
    /// let vault = Vault::new();
    /// let doc = json!({"user": {"email": "not-an-address", "note": "call +44 20 7946 0958"}});
    /// let red = redactor.redact_json(&doc, &vault)?;
    /// assert_eq!(red.value(), &json!({"user": {"email": "[EMAIL_1]", "note": "call [PHONE_1]"}}));
    /// assert_eq!(red.records()[0].pointer, "/user/email");
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    pub fn redact_json(&self, value: &Value, vault: &Vault) -> Result<JsonRedaction> {
        self.walk_json(value, vault, true)
    }

    /// Redacts a JSON document whose keys name no data — a JSON Schema, where `"email":
    /// {"type": "string"}` describes a field rather than holding one: every string and key
    /// is scanned as text, and field rules do not apply.
    ///
    /// # Errors
    ///
    /// As [`redact_json`](Redactor::redact_json).
    ///
    /// ```
    /// use promptveil::redact::{Redactor, Vault};
    /// use serde_json::json;
    ///
    /// let redactor = Redactor::builder().default_rules().build()?;
    /// let schema = json!({"properties": {"email": {"type": "string", "description": "e.g. ana@example.com"}}});
    /// let red = redactor.redact_json_text(&schema, &Vault::new())?;
    /// assert_eq!(red.value()["properties"]["email"]["type"], "string");
    /// assert_eq!(red.value()["properties"]["email"]["description"], "e.g. [EMAIL_1]");
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    pub fn redact_json_text(&self, value: &Value, vault: &Vault) -> Result<JsonRedaction> {
        self.walk_json(value, vault, false)
    }

    fn walk_json(&self, value: &Value, vault: &Vault, fields: bool) -> Result<JsonRedaction> {
        reserve(value, vault, 0)?;
        let mut walk = Walk {
            redactor: self,
            vault,
            records: Vec::new(),
            fields,
        };
        let value = walk.value(value, "", "", 0)?;
        Ok(JsonRedaction {
            value,
            records: walk.records,
        })
    }
}

/// Fail closed: a string a detector could not scan whole ends the redaction with an error,
/// so no document with values possibly in clear is returned.
fn complete(report: &super::RedactionReport, pointer: &str) -> Result<()> {
    if report.is_complete() {
        return Ok(());
    }
    let at = if pointer.is_empty() { "/" } else { pointer };
    Err(Error::new(
        ErrorKind::Incomplete,
        format!("a detector could not scan a string of the document under `{at}`"),
    ))
}

/// Reserves the placeholder forms spelled anywhere in the document before any is handed out.
fn reserve(v: &Value, vault: &Vault, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    match v {
        Value::String(s) => vault.reserve_spelled(s),
        Value::Array(a) => {
            for x in a {
                reserve(x, vault, depth + 1)?;
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                vault.reserve_spelled(k);
                reserve(x, vault, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

impl Walk<'_> {
    fn field_for(&self, in_ptr: &str, key: &str) -> Option<&FieldRule> {
        let lower = key.to_lowercase();
        self.redactor
            .field_rules()
            .iter()
            .find(|f| f.pointers().iter().any(|p| p == in_ptr) || f.keys().contains(&lower))
    }

    /// Redacts `v`, found at input pointer `in_ptr` and output pointer `out_ptr`.
    fn value(&mut self, v: &Value, in_ptr: &str, out_ptr: &str, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        Ok(match v {
            Value::String(s) => {
                let red = self.redactor.redact(s, self.vault);
                let (text, report) = red.into_parts();
                complete(&report, out_ptr)?;
                for record in report.records {
                    self.records.push(JsonRecord {
                        pointer: out_ptr.to_string(),
                        in_key: false,
                        record,
                    });
                }
                Value::String(text.into_string())
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, x) in items.iter().enumerate() {
                    out.push(self.value(
                        x,
                        &format!("{in_ptr}/{i}"),
                        &format!("{out_ptr}/{i}"),
                        depth + 1,
                    )?);
                }
                Value::Array(out)
            }
            Value::Object(members) => {
                let mut out = Map::new();
                for (k, x) in members {
                    let child_in = format!("{in_ptr}/{}", escape(k));
                    let red_key = self.redactor.redact(k, self.vault);
                    let (key_text, key_report) = red_key.into_parts();
                    complete(&key_report, out_ptr)?;
                    let key_out = key_text.into_string();
                    let child_out = format!("{out_ptr}/{}", escape(&key_out));
                    for record in key_report.records {
                        self.records.push(JsonRecord {
                            pointer: child_out.clone(),
                            in_key: true,
                            record,
                        });
                    }
                    let field = self
                        .fields
                        .then(|| self.field_for(&child_in, k).cloned())
                        .flatten();
                    let new = match field {
                        Some(field) => self.whole(x, &field, &child_out, depth + 1)?,
                        None => self.value(x, &child_in, &child_out, depth + 1)?,
                    };
                    out.insert(key_out, new);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Replaces every leaf below `v` under the field rule `field`.
    fn whole(
        &mut self,
        v: &Value,
        field: &FieldRule,
        out_ptr: &str,
        depth: usize,
    ) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        let leaf = match v {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, x) in items.iter().enumerate() {
                    out.push(self.whole(x, field, &format!("{out_ptr}/{i}"), depth + 1)?);
                }
                return Ok(Value::Array(out));
            }
            Value::Object(members) => {
                let mut out = Map::new();
                for (k, x) in members {
                    let red_key = self.redactor.redact(k, self.vault);
                    let (key_text, key_report) = red_key.into_parts();
                    complete(&key_report, out_ptr)?;
                    let key_out = key_text.into_string();
                    let child_out = format!("{out_ptr}/{}", escape(&key_out));
                    for record in key_report.records {
                        self.records.push(JsonRecord {
                            pointer: child_out.clone(),
                            in_key: true,
                            record,
                        });
                    }
                    let new = self.whole(x, field, &child_out, depth + 1)?;
                    out.insert(key_out, new);
                }
                return Ok(Value::Object(out));
            }
            other => return Ok(other.clone()),
        };
        let mut text = String::new();
        let replacement = self.redactor.replace_into(
            &mut text,
            field.entity(),
            field.action(),
            &leaf,
            self.vault,
        );
        self.records.push(JsonRecord {
            pointer: out_ptr.to_string(),
            in_key: false,
            record: record_for(self.redactor, field, &leaf, &text, replacement),
        });
        Ok(Value::String(text))
    }
}

fn record_for(
    redactor: &Redactor,
    field: &FieldRule,
    value: &str,
    text: &str,
    replacement: Option<String>,
) -> RedactionRecord {
    let entity: &EntityType = field.entity();
    RedactionRecord {
        rule: field.id().clone(),
        entity: entity.clone(),
        sensitivity: field.sensitivity(),
        span: Span::new(0, value.len()),
        output_span: Span::new(0, text.len()),
        action: field.action(),
        replacement,
        score: 1.0,
        validated: false,
        value_hash: redactor.hash_key().hash(entity, value),
    }
}
