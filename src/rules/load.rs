//! Reading rule files: the TOML schema, and errors that point at the file, line and rule.

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use regex_syntax::hir::Hir;

use super::compile::{self, CompiledPattern};
use super::context::ContextScorer;
use super::{Example, Rule, RuleContext};
use crate::error::{Error, Location, Result};
use crate::redact::FieldRule;
use crate::redact::{Action, EntityType, RuleId};
use crate::sensitivity::Sensitivity;
use crate::validate::{self, NamedValidator};

/// The only rule-file format version this crate reads.
pub const FORMAT_VERSION: i64 = 1;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: Spanned<i64>,
    /// `"extend"` (the default: the file's rules are added to the default rules where the
    /// file is loaded as a reviewer's file) or `"replace"`.
    defaults: Option<Spanned<String>>,
    /// Rules of other sources turned off, each with its reason.
    #[serde(default)]
    disable: Vec<Spanned<RawDisable>>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    field: Vec<Spanned<RawField>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisable {
    id: Spanned<String>,
    reason: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    entity: Spanned<String>,
    sensitivity: Sensitivity,
    #[serde(default)]
    description: String,
    patterns: Vec<Spanned<String>>,
    validator: Option<Spanned<String>>,
    min_entropy: Option<Spanned<f64>>,
    score: Option<Spanned<f64>>,
    threshold: Option<Spanned<f64>>,
    #[serde(default)]
    action: Action,
    context: Option<Spanned<RawContext>>,
    #[serde(default)]
    allow: Vec<String>,
    examples: Option<Spanned<RawExamples>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContext {
    #[serde(default)]
    words: Vec<String>,
    #[serde(default)]
    negative: Vec<String>,
    boost: Option<f64>,
    penalty: Option<f64>,
    window: Option<i64>,
    before_only: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExamples {
    #[serde(rename = "match", default)]
    matches: Vec<Spanned<RawExample>>,
    #[serde(default)]
    no_match: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawExample {
    Text(String),
    Exact(RawExactExample),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExactExample {
    text: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    id: Spanned<String>,
    entity: Spanned<String>,
    sensitivity: Sensitivity,
    #[serde(default)]
    description: String,
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    pointers: Vec<Spanned<String>>,
    #[serde(default)]
    action: Action,
}

/// Default base score of a rule without `score`.
pub const DEFAULT_SCORE: f32 = 0.8;
/// Default threshold of a rule without `threshold`.
pub const DEFAULT_THRESHOLD: f32 = 0.5;
/// Default context boost and penalty.
pub const DEFAULT_CONTEXT_DELTA: f32 = 0.35;
/// Default context window, in tokens on each side.
pub const DEFAULT_WINDOW: usize = 6;
/// Largest accepted context window.
pub const MAX_WINDOW: usize = 32;

/// Everything read from one rule file.
pub(crate) struct Parsed {
    pub(crate) rules: Vec<(Rule, Vec<(Hir, CompiledPattern)>)>,
    pub(crate) fields: Vec<FieldRule>,
    /// The file says `defaults = "replace"`.
    pub(crate) replaces_defaults: bool,
    pub(crate) disabled: Vec<Disabled>,
}

/// A rule turned off by a rule file's `[[disable]]` table (or by
/// [`RuleSetBuilder::disable`](super::RuleSetBuilder::disable)): its id, the reason given, and
/// where it was turned off. Listed by [`RuleSet::disabled`](super::RuleSet::disabled), by
/// `promptveil rules inventory`, and in the audit trail's `redacted` events.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Disabled {
    /// The id of the rule turned off.
    pub id: String,
    /// Why, in the reviewer's words.
    pub reason: String,
    /// Where (`file:line:column`); `None` when turned off in code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The same place, for errors that point at it.
    #[serde(skip)]
    pub(crate) at: Option<Location>,
}

struct Ctx<'a> {
    path: Option<&'a Path>,
    src: &'a str,
}

impl Ctx<'_> {
    fn loc(&self, span: Range<usize>) -> Location {
        Location::from_offset(self.path, self.src, span.start)
    }

    fn err(&self, span: Range<usize>, rule: Option<&str>, msg: impl Into<String>) -> Error {
        let e = Error::rules(msg).with_location(self.loc(span));
        match rule {
            Some(r) => e.with_rule(r),
            None => e,
        }
    }
}

/// Finds the id of the `[[rule]]` or `[[field]]` table that encloses `offset`, by reading the
/// text: this works even when the file is not valid TOML.
fn rule_id_near(src: &str, offset: usize) -> Option<String> {
    let offset = offset.min(src.len());
    let mut header_end = None;
    let mut pos = 0;
    for line in src.split_inclusive('\n') {
        if pos > offset {
            break;
        }
        let t = line.trim();
        if t.starts_with('[') {
            header_end = (t.starts_with("[[rule]]") || t.starts_with("[[field]]"))
                .then_some(pos + line.len());
        }
        pos += line.len();
    }
    let start = header_end?;
    for line in src.get(start..)?.lines() {
        let t = line.trim();
        if t.starts_with("[[") {
            break;
        }
        if let Some(rest) = t.strip_prefix("id") {
            let rest = rest.trim_start().strip_prefix('=')?.trim();
            let id = rest.trim_matches(|c| c == '"' || c == '\'');
            return (!id.is_empty() && RuleId::new(id).is_ok()).then(|| id.to_string());
        }
    }
    None
}

fn check_unit(ctx: &Ctx<'_>, rule: &str, what: &str, v: &Spanned<f64>) -> Result<f32> {
    let x = *v.get_ref();
    if !(0.0..=1.0).contains(&x) {
        return Err(ctx.err(
            v.span(),
            Some(rule),
            format!("`{what}` must be between 0 and 1, got {x}"),
        ));
    }
    Ok(x as f32)
}

/// Parses, checks and compiles one rule file. `validators` are the application's own
/// validators, looked up before the built-in ones.
pub(crate) fn parse(
    src: &str,
    path: Option<&Path>,
    validators: &[NamedValidator],
) -> Result<Parsed> {
    let ctx = Ctx { path, src };
    let raw: RawFile = toml::from_str(src).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let rule = rule_id_near(src, span.start);
        let msg = e.message().trim_end_matches('\n').replace('\n', "; ");
        ctx.err(span, rule.as_deref(), msg)
    })?;
    if *raw.version.get_ref() != FORMAT_VERSION {
        return Err(ctx.err(
            raw.version.span(),
            None,
            format!(
                "unsupported rule-file version {} (this crate reads version {FORMAT_VERSION})",
                raw.version.get_ref()
            ),
        ));
    }
    let replaces_defaults = match &raw.defaults {
        None => false,
        Some(d) => match d.get_ref().as_str() {
            "extend" => false,
            "replace" => true,
            other => {
                return Err(ctx.err(
                    d.span(),
                    None,
                    format!("`defaults` is \"extend\" or \"replace\", not {other:?}"),
                ));
            }
        },
    };
    let mut disabled = Vec::with_capacity(raw.disable.len());
    for d in &raw.disable {
        let d = d.get_ref();
        let id = d.id.get_ref().as_str();
        let reason = d.reason.as_ref().map_or("", |r| r.get_ref().trim());
        if reason.is_empty() {
            let span = d.reason.as_ref().map_or(d.id.span(), Spanned::span);
            return Err(ctx.err(
                span,
                Some(id),
                "turning a rule off needs a `reason` (it is shown in the inventory and the audit trail)",
            ));
        }
        let at = ctx.loc(d.id.span());
        disabled.push(Disabled {
            id: id.to_string(),
            reason: reason.to_string(),
            location: Some(at.to_string()),
            at: Some(at),
        });
    }
    let mut seen = HashSet::new();
    let mut rules = Vec::with_capacity(raw.rule.len());
    for spanned in raw.rule {
        let rule_span = spanned.span();
        let r = spanned.into_inner();
        let id_str = r.id.get_ref().as_str();
        let id = RuleId::new(id_str).map_err(|e| ctx.err(r.id.span(), None, e.message()))?;
        if !seen.insert(id.clone()) {
            return Err(ctx.err(r.id.span(), Some(id_str), "duplicate rule id"));
        }
        let rid = Some(id_str);
        let entity = EntityType::new(r.entity.get_ref())
            .map_err(|e| ctx.err(r.entity.span(), rid, e.message()))?;
        if r.patterns.is_empty() {
            return Err(ctx.err(rule_span, rid, "a rule needs at least one pattern"));
        }
        let mut compiled = Vec::with_capacity(r.patterns.len());
        for p in &r.patterns {
            let hir = compile::parse_pattern(p.get_ref())
                .and_then(|hir| compile::compile_pattern(&hir, 0).map(|c| (hir, c)))
                .map_err(|m| ctx.err(p.span(), rid, m))?;
            compiled.push(hir);
        }
        let validator = match &r.validator {
            None => None,
            Some(v) => {
                let name = v.get_ref();
                let found = validators
                    .iter()
                    .find(|nv| nv.name() == name)
                    .cloned()
                    .or_else(|| validate::builtin(name));
                match found {
                    Some(nv) => Some(nv),
                    None => {
                        return Err(ctx.err(
                            v.span(),
                            rid,
                            format!(
                                "unknown validator `{name}` (built in: {})",
                                validate::builtin_names().collect::<Vec<_>>().join(", ")
                            ),
                        ));
                    }
                }
            }
        };
        let min_entropy = match &r.min_entropy {
            Some(v) if !(0.0..=8.0).contains(v.get_ref()) => {
                return Err(ctx.err(
                    v.span(),
                    rid,
                    format!(
                        "`min_entropy` must be between 0 and 8 bits, got {}",
                        v.get_ref()
                    ),
                ));
            }
            Some(v) => Some(*v.get_ref()),
            None => None,
        };
        let score = match &r.score {
            Some(v) => check_unit(&ctx, id_str, "score", v)?,
            None => DEFAULT_SCORE,
        };
        let threshold = match &r.threshold {
            Some(v) => check_unit(&ctx, id_str, "threshold", v)?,
            None => DEFAULT_THRESHOLD,
        };
        let context = match r.context {
            None => RuleContext::default(),
            Some(c) => {
                let span = c.span();
                let c = c.into_inner();
                let unit = |what: &str, v: Option<f64>| -> Result<f32> {
                    match v {
                        None => Ok(DEFAULT_CONTEXT_DELTA),
                        Some(x) if (0.0..=1.0).contains(&x) => Ok(x as f32),
                        Some(x) => Err(ctx.err(
                            span.clone(),
                            rid,
                            format!("`context.{what}` must be between 0 and 1, got {x}"),
                        )),
                    }
                };
                let boost = unit("boost", c.boost)?;
                let penalty = unit("penalty", c.penalty)?;
                let window = match c.window {
                    None => DEFAULT_WINDOW,
                    Some(w) if (1..=MAX_WINDOW as i64).contains(&w) => w as usize,
                    Some(w) => {
                        return Err(ctx.err(
                            span,
                            rid,
                            format!("`context.window` must be between 1 and {MAX_WINDOW}, got {w}"),
                        ));
                    }
                };
                if c.words
                    .iter()
                    .chain(&c.negative)
                    .any(|w| w.trim().is_empty())
                {
                    return Err(ctx.err(span, rid, "context words must not be empty"));
                }
                RuleContext {
                    words: c.words,
                    negative: c.negative,
                    boost,
                    penalty,
                    window,
                    before_only: c.before_only.unwrap_or(false),
                }
            }
        };
        let reachable = if context.words.is_empty() {
            score
        } else {
            score + context.boost
        };
        if reachable < threshold {
            return Err(ctx.err(
                rule_span,
                rid,
                format!(
                    "the rule can never fire: score {score} (plus context boost) stays below threshold {threshold}"
                ),
            ));
        }
        let (examples, no_match) = match r.examples {
            None => (Vec::new(), Vec::new()),
            Some(ex) => {
                let ex = ex.into_inner();
                let m = ex
                    .matches
                    .into_iter()
                    .map(|s| {
                        let location = Some(ctx.loc(s.span()));
                        match s.into_inner() {
                            RawExample::Text(text) => Example {
                                text,
                                value: None,
                                location,
                            },
                            RawExample::Exact(e) => Example {
                                text: e.text,
                                value: Some(e.value),
                                location,
                            },
                        }
                    })
                    .collect::<Vec<_>>();
                let n = ex
                    .no_match
                    .into_iter()
                    .map(|s| Example {
                        location: Some(ctx.loc(s.span())),
                        text: s.into_inner(),
                        value: None,
                    })
                    .collect::<Vec<_>>();
                (m, n)
            }
        };
        if examples.is_empty() {
            return Err(ctx.err(
                rule_span,
                rid,
                "a rule needs evidence: at least one `examples.match` text",
            ));
        }
        for ex in &examples {
            if let Some(v) = &ex.value
                && !ex.text.contains(v.as_str())
            {
                let loc = ex.location.clone();
                let mut e =
                    Error::rules("example `value` does not occur in its `text`").with_rule(id_str);
                if let Some(l) = loc {
                    e = e.with_location(l);
                }
                return Err(e);
            }
        }
        let scorer = ContextScorer::new(
            &context.words,
            &context.negative,
            context.boost,
            context.penalty,
            context.window,
            context.before_only,
        );
        let allow_set = r.allow.iter().map(|a| a.to_lowercase()).collect();
        let rule = Rule {
            id,
            entity,
            sensitivity: r.sensitivity,
            description: r.description,
            patterns: r.patterns.into_iter().map(Spanned::into_inner).collect(),
            validator,
            min_entropy,
            score,
            threshold,
            action: r.action,
            context,
            scorer,
            allow: r.allow,
            allow_set,
            words: Default::default(),
            examples,
            no_match,
            location: Some(ctx.loc(rule_span)),
        };
        rules.push((rule, compiled));
    }
    let mut fields = Vec::with_capacity(raw.field.len());
    for spanned in raw.field {
        let span = spanned.span();
        let f = spanned.into_inner();
        let id_str = f.id.get_ref().as_str();
        let id = RuleId::new(id_str).map_err(|e| ctx.err(f.id.span(), None, e.message()))?;
        if !seen.insert(id.clone()) {
            return Err(ctx.err(f.id.span(), Some(id_str), "duplicate rule id"));
        }
        let entity = EntityType::new(f.entity.get_ref())
            .map_err(|e| ctx.err(f.entity.span(), Some(id_str), e.message()))?;
        if f.keys.is_empty() && f.pointers.is_empty() {
            return Err(ctx.err(
                span,
                Some(id_str),
                "a field rule needs `keys` or `pointers`",
            ));
        }
        for p in &f.pointers {
            let s = p.get_ref();
            if !(s.is_empty() || s.starts_with('/')) {
                return Err(ctx.err(
                    p.span(),
                    Some(id_str),
                    format!("JSON pointer `{s}` must be empty or start with `/`"),
                ));
            }
        }
        fields.push(
            FieldRule::new(id, entity, f.sensitivity)
                .with_description(f.description)
                .with_keys(&f.keys)
                .with_pointers(f.pointers.into_iter().map(Spanned::into_inner))
                .with_action(f.action)
                .with_location(ctx.loc(span)),
        );
    }
    Ok(Parsed {
        rules,
        fields,
        replaces_defaults,
        disabled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rule_id_by_reading_text() {
        let src = "version = 1\n[[rule]]\nid = \"alpha\"\nentity = \"X\"\n\n[[rule]]\nid = 'beta'\nbroken = \n";
        let off = src.find("broken").unwrap_or(0);
        assert_eq!(rule_id_near(src, off).as_deref(), Some("beta"));
        let off = src.find("entity").unwrap_or(0);
        assert_eq!(rule_id_near(src, off).as_deref(), Some("alpha"));
        assert_eq!(rule_id_near(src, 0), None);
    }
}
