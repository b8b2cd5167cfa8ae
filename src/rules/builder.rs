//! Building a rule set from files, text and validators; the redactor's rule-set setters.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::compile::Matcher;
use super::context::{ContextIndex, ContextScorer};
use super::{DEFAULT_RULES_PATH, DEFAULT_RULES_TOML, Disabled, Inner, MAX_PATTERNS, RuleSet, load};
use crate::error::{Error, Location, Result};
use crate::redact::{FieldRule, RedactorBuilder};
use crate::validate::{NamedValidator, Validator};

/// The rule-set setters of [`RedactorBuilder`], defined here so that the redaction core does
/// not depend on the rules.
impl RedactorBuilder {
    /// Adds the default rules ([`RuleSet::default_rules`]): what most callers want, alone or
    /// beside the NER detector and their own rule files.
    ///
    /// ```
    /// use promptveil::redact::{Redactor, Vault};
    ///
    /// let redactor = Redactor::builder().default_rules().build()?;
    /// let red = redactor.redact("mail ana@example.com", &Vault::new());
    /// assert_eq!(red.text().as_str(), "mail [EMAIL_1]");
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    pub fn default_rules(self) -> Self {
        match RuleSet::default_rules() {
            Ok(rules) => self.rules(rules),
            Err(e) => self.defer(e),
        }
    }

    /// Adds a rule set: its text rules as a detector, its field rules for JSON documents.
    /// Rule sets add up. A reviewer's own file beside the default rules is
    /// `.rules(RuleSet::from_file(path)?)`: the file brings the default rules with it unless it
    /// replaces them in so many words (`defaults = "replace"`).
    pub fn rules(self, rules: RuleSet) -> Self {
        let fields = rules.fields().to_vec();
        let mut noted = rules
            .disabled()
            .iter()
            .fold(self, |b, d| b.note_turned_off(&d.id, &d.reason));
        if rules.keeps_restricted_defaults() {
            noted = noted.note_keeps_floor();
        }
        noted.field_rules(fields).detector(rules)
    }
}

enum Source {
    Default,
    Str(String),
    File(PathBuf),
}

/// Builds a [`RuleSet`] from rule files, strings, the default rules, and custom validators.
///
/// The builder adds exactly the sources it is given: the default rules only with
/// [`default_rules`](RuleSetBuilder::default_rules), or with
/// [`defaults_unless_replaced`](RuleSetBuilder::defaults_unless_replaced), which lets the
/// files decide (what [`RuleSet::from_file`] does). A file's `[[disable]]` tables apply to
/// the whole set.
///
/// Setters never fail; [`build`](RuleSetBuilder::build) reports every problem.
///
/// # Examples
///
/// ```
/// use promptveil::rules::RuleSet;
///
/// let extra = r#"
/// version = 1
/// [[rule]]
/// id = "ticket"
/// entity = "TICKET"
/// sensitivity = "internal"
/// patterns = ['\bTCK-[0-9]{5}\b']
/// examples.match = ["see TCK-12345"]
/// "#;
/// let rules = RuleSet::builder()
///     .default_rules()
///     .toml_str(extra)
///     .disable("domain", "internal host names are not personal data here")
///     .build()?;
/// assert!(rules.rule("ticket").is_some());
/// assert!(rules.rule("domain").is_none());
/// # Ok::<(), promptveil::Error>(())
/// ```
#[must_use]
#[derive(Default)]
pub struct RuleSetBuilder {
    sources: Vec<Source>,
    validators: Vec<NamedValidator>,
    disabled: Vec<Disabled>,
    defaults_unless_replaced: bool,
}

impl fmt::Debug for RuleSetBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSetBuilder")
            .field("sources", &self.sources.len())
            .field("validators", &self.validators)
            .field("disabled", &self.disabled)
            .finish()
    }
}

impl RuleSetBuilder {
    /// Adds the documented default rules. Not included unless asked for.
    pub fn default_rules(mut self) -> Self {
        self.sources.push(Source::Default);
        self
    }

    /// Adds a rule file, read at [`build`](RuleSetBuilder::build).
    pub fn toml_file(mut self, path: impl AsRef<Path>) -> Self {
        self.sources.push(Source::File(path.as_ref().to_path_buf()));
        self
    }

    /// Adds rules from a TOML string; errors locate as `<rules>:line:column`.
    pub fn toml_str(mut self, src: impl Into<String>) -> Self {
        self.sources.push(Source::Str(src.into()));
        self
    }

    /// Registers a validator that rules can name; it shadows a built-in of the same name.
    pub fn validator(mut self, name: &str, validator: impl Validator + 'static) -> Self {
        self.validators.push(NamedValidator::new(name, validator));
        self
    }

    /// Adds the default rules unless a file or string source says `defaults = "replace"`
    /// (and none says `"extend"` or nothing): a reviewer's file adds to the floor unless it
    /// replaces it in so many words.
    pub fn defaults_unless_replaced(mut self) -> Self {
        self.defaults_unless_replaced = true;
        self
    }

    /// Leaves out the rule (or field rule) with this id, for `reason` (listed by
    /// [`RuleSet::disabled`], the inventory and the audit trail). Naming an id no source
    /// defines is an error at build, so a typo cannot silently keep a rule on; an empty
    /// reason is an error too.
    pub fn disable(mut self, id: &str, reason: &str) -> Self {
        self.disabled.push(Disabled {
            id: id.to_string(),
            reason: reason.trim().to_string(),
            location: None,
            at: None,
        });
        self
    }

    /// Reads, checks and compiles every source.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) for unreadable files; [`ErrorKind::Rules`](crate::ErrorKind::Rules) for malformed rules, with
    /// location and rule id; a rule id defined twice across sources is an error too.
    pub fn build(self) -> Result<RuleSet> {
        let mut rules = Vec::new();
        let mut fields = Vec::new();
        let mut names = Vec::new();
        let mut disabled = self.disabled;
        if let Some(d) = disabled.iter().find(|d| d.reason.is_empty()) {
            return Err(Error::rules("turning a rule off needs a reason").with_rule(&d.id));
        }
        // Every source read, with its name and text (what the set's digest is made of), in
        // order. Which files ask for the default rules is known once they are read.
        let read = |source: &Source| -> Result<(load::Parsed, String, String)> {
            Ok(match source {
                Source::Default => (
                    load::parse(
                        DEFAULT_RULES_TOML,
                        Some(Path::new(DEFAULT_RULES_PATH)),
                        &self.validators,
                    )?,
                    DEFAULT_RULES_PATH.to_string(),
                    DEFAULT_RULES_TOML.to_string(),
                ),
                Source::Str(s) => (
                    load::parse(s, None, &self.validators)?,
                    "<rules>".into(),
                    s.clone(),
                ),
                Source::File(p) => {
                    let src = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
                    let parsed = load::parse(&src, Some(p), &self.validators)?;
                    (parsed, p.display().to_string(), src)
                }
            })
        };
        let mut sources = self
            .sources
            .iter()
            .map(|s| Ok((matches!(s, Source::Default), read(s)?)))
            .collect::<Result<Vec<_>>>()?;
        let has_defaults = sources.iter().any(|(default, _)| *default);
        let files = sources.iter().filter(|(default, _)| !default);
        let files_want_defaults = files.clone().next().is_none()
            || files.clone().any(|(_, (p, _, _))| !p.replaces_defaults);
        if self.defaults_unless_replaced && files_want_defaults && !has_defaults {
            sources.insert(0, (true, read(&Source::Default)?));
        }
        let mut texts = Vec::with_capacity(sources.len());
        for (_, (parsed, name, text)) in sources {
            rules.extend(parsed.rules);
            fields.extend(parsed.fields);
            disabled.extend(parsed.disabled);
            names.push(name);
            texts.push(text);
        }
        let mut seen: HashMap<String, Option<Location>> = HashMap::new();
        let all_ids = rules
            .iter()
            .map(|(r, _)| (r.id.as_str().to_string(), r.location.clone()))
            .chain(
                fields
                    .iter()
                    .map(|f: &FieldRule| (f.id().as_str().to_string(), f.location().cloned())),
            );
        for (id, loc) in all_ids {
            if seen.contains_key(&id) {
                let mut e = Error::rules(
                    "rule id defined in more than one source (to change a default rule, turn \
                     it off with a [[disable]] table and its reason, and give yours another id)",
                )
                .with_rule(&id);
                if let Some(l) = loc {
                    e = e.with_location(l);
                }
                return Err(e);
            }
            seen.insert(id, loc);
        }
        for d in &disabled {
            if !seen.contains_key(&d.id) {
                let mut e =
                    Error::rules("cannot disable a rule no source defines").with_rule(&d.id);
                if let Some(l) = &d.at {
                    e = e.with_location(l.clone());
                }
                return Err(e);
            }
        }
        let off: HashSet<&str> = disabled.iter().map(|d| d.id.as_str()).collect();
        rules.retain(|(r, _)| !off.contains(r.id.as_str()));
        fields.retain(|f| !off.contains(f.id().as_str()));

        let mut hirs = Vec::new();
        let mut patterns = Vec::new();
        let mut pattern_ranges = Vec::with_capacity(rules.len());
        let mut out_rules = Vec::with_capacity(rules.len());
        for (i, (rule, compiled)) in rules.into_iter().enumerate() {
            let start = patterns.len();
            for (hir, mut p) in compiled {
                p.rule = i;
                hirs.push(hir);
                patterns.push(p);
            }
            pattern_ranges.push(start..patterns.len());
            out_rules.push(rule);
        }
        if patterns.len() > MAX_PATTERNS {
            return Err(Error::rules(format!(
                "{} patterns in the rule set; the limit is {MAX_PATTERNS}",
                patterns.len()
            )));
        }
        let scorers: Vec<&ContextScorer> = out_rules.iter().map(|r| &r.scorer).collect();
        let (context, words) = ContextIndex::new(&scorers);
        for (rule, w) in out_rules.iter_mut().zip(words) {
            rule.words = w;
        }
        let matcher = Matcher::new(&hirs, patterns, context.words());
        Ok(RuleSet {
            inner: Arc::new(Inner {
                rules: out_rules,
                pattern_ranges,
                fields,
                matcher,
                context,
                sources: names,
                digest: crate::digest::of(
                    texts
                        .iter()
                        .map(String::as_bytes)
                        .chain(
                            disabled
                                .iter()
                                .flat_map(|d| [d.id.as_bytes(), d.reason.as_bytes()]),
                        )
                        .chain(self.validators.iter().map(|v| v.name().as_bytes())),
                ),
                disabled,
            }),
        })
    }
}
