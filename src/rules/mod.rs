//! Rule files: what is detected, how it is replaced, and the evidence that it works.
//!
//! Compliance reviewers own the rules. A rule file is TOML, versioned, and strict: an unknown
//! key is an error, never silently ignored. Every rule carries its own evidence — texts it must
//! detect and texts it must leave alone — and [`RuleSet::check_evidence`] (or
//! `promptveil rules test FILE`) runs them.
//!
//! ```toml
//! version = 1
//!
//! [[rule]]
//! id = "employee-id"                 # unique; letters, digits, - _ .
//! entity = "EMPLOYEE_ID"             # names the placeholder: [EMPLOYEE_ID_1]
//! sensitivity = "internal"           # public | internal | confidential | restricted
//! description = "Badge numbers printed on staff cards"
//! patterns = ['''\bE-[0-9]{6}\b''']  # one or more; a group named `value` narrows the span
//! validator = "luhn"                 # optional, see promptveil::validate
//! min_entropy = 2.0                  # optional floor, bits per character
//! score = 0.6                        # base confidence (default 0.8)
//! threshold = 0.5                    # findings below are dropped (default 0.5)
//! action = "placeholder"             # placeholder (default) | mask | hash | drop
//! allow = ["E-000000"]               # values never reported (case-insensitive)
//!
//! [rule.context]                     # optional
//! words = ["badge", "employee"]      # in the window: score + boost
//! negative = ["invoice"]             # in the window: score - penalty
//! boost = 0.35                       # default 0.35
//! penalty = 0.35                     # default 0.35
//! window = 6                         # tokens on each side (default 6, at most 32)
//!
//! [rule.examples]                    # required: at least one `match`
//! match = ["badge E-123455", { text = "see E-123455.", value = "E-123455" }]
//! no_match = ["E-12345"]
//!
//! [[field]]                          # structured (JSON) redaction by key or pointer
//! id = "json-employee"
//! entity = "EMPLOYEE_ID"
//! sensitivity = "internal"
//! keys = ["employee_id"]             # any object key with this name, case-insensitive
//! pointers = ["/staff/badge"]        # RFC 6901 JSON pointers
//! ```
//!
//! Errors name the file, line and column, and the rule id:
//!
//! ```
//! use promptveil::rules::RuleSet;
//!
//! let src = "version = 1\n[[rule]]\nid = \"card\"\nentity = \"CARD\"\nsensitivity = \"restricted\"\npatterns = ['[0-9]{16}']\nvalidator = \"lunh\"\n";
//! let err = RuleSet::builder().toml_str(src).build().unwrap_err();
//! assert!(err.to_string().starts_with("<rules>:7:13: rule `card`: unknown validator `lunh`"));
//! ```

mod compile;
mod context;
mod inventory;
mod load;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};
use serde::Serialize;

pub use compile::{MAX_PATTERN_BYTES, MAX_PATTERNS, NEST_LIMIT, NFA_SIZE_LIMIT};
pub use inventory::InventoryEntry;
pub use load::{
    DEFAULT_CONTEXT_DELTA, DEFAULT_SCORE, DEFAULT_THRESHOLD, DEFAULT_WINDOW, FORMAT_VERSION,
    MAX_WINDOW,
};

use crate::error::{Error, ErrorKind, Location, Result};
use crate::redact::{
    Action, Detector, EntityType, FieldRule, Finding, FindingSink, RedactorBuilder, RuleId, Span,
};
use crate::sensitivity::Sensitivity;
use crate::validate::{self, NamedValidator, Validator, shannon_entropy};
use compile::{CompiledPattern, Matcher};
use context::{ContextHits, ContextIndex, ContextScorer, NearIds, RuleWords};

/// How many space-separated trailing words a rejected validated match may shed.
const MAX_SPACE_BACKOFF: usize = 4;

/// Most rounds of [`RuleSet::recheck`].
const MAX_RECHECK_ROUNDS: usize = 3;

/// The verdicts of one detection pass: findings (with whether their rule needed context),
/// and the candidates that fell short of their rule's threshold (rule index, span).
#[derive(Default)]
struct Found {
    findings: Vec<(Finding, bool)>,
    below: Vec<(usize, Span)>,
}

/// The documented default rule set, compiled into the crate.
pub const DEFAULT_RULES_TOML: &str = include_str!("../../fixtures/rules/default.toml");
const DEFAULT_RULES_PATH: &str = "fixtures/rules/default.toml";

/// Context configuration of a rule, as written in its file.
#[derive(Debug, Clone, Serialize)]
pub struct RuleContext {
    /// Words or phrases that raise the score when near a candidate.
    pub words: Vec<String>,
    /// Words or phrases that lower it.
    pub negative: Vec<String>,
    /// How much a positive word adds.
    pub boost: f32,
    /// How much a negative word subtracts.
    pub penalty: f32,
    /// Tokens on each side that are looked at.
    pub window: usize,
}

impl Default for RuleContext {
    fn default() -> RuleContext {
        RuleContext {
            words: Vec::new(),
            negative: Vec::new(),
            boost: DEFAULT_CONTEXT_DELTA,
            penalty: DEFAULT_CONTEXT_DELTA,
            window: DEFAULT_WINDOW,
        }
    }
}

/// One evidence text of a rule.
#[derive(Debug, Clone)]
pub struct Example {
    text: String,
    value: Option<String>,
    location: Option<Location>,
}

impl Example {
    /// The example text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// For an exact example, the value the rule must report.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// Where the example is written.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }
}

/// One detection rule, read from a rule file.
pub struct Rule {
    id: RuleId,
    entity: EntityType,
    sensitivity: Sensitivity,
    description: String,
    patterns: Vec<String>,
    validator: Option<NamedValidator>,
    min_entropy: Option<f64>,
    score: f32,
    threshold: f32,
    action: Action,
    context: RuleContext,
    scorer: ContextScorer,
    allow: Vec<String>,
    allow_set: HashSet<String>,
    /// This rule's words in the rule set's context index.
    words: RuleWords,
    examples: Vec<Example>,
    no_match: Vec<Example>,
    location: Option<Location>,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("id", &self.id)
            .field("entity", &self.entity)
            .field("sensitivity", &self.sensitivity)
            .field("patterns", &self.patterns.len())
            .field(
                "validator",
                &self.validator.as_ref().map(NamedValidator::name),
            )
            .field("action", &self.action)
            .finish_non_exhaustive()
    }
}

impl Rule {
    /// The rule's id.
    pub fn id(&self) -> &RuleId {
        &self.id
    }
    /// The entity type it reports.
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
    /// The patterns, as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
    /// The validator's name, if any.
    pub fn validator(&self) -> Option<&str> {
        self.validator.as_ref().map(NamedValidator::name)
    }
    /// The entropy floor, if any.
    pub fn min_entropy(&self) -> Option<f64> {
        self.min_entropy
    }
    /// Base score.
    pub fn score(&self) -> f32 {
        self.score
    }
    /// Threshold below which findings are dropped.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }
    /// What replaces a finding.
    pub fn action(&self) -> Action {
        self.action
    }
    /// Context configuration.
    pub fn context(&self) -> &RuleContext {
        &self.context
    }
    /// Values never reported.
    pub fn allow(&self) -> &[String] {
        &self.allow
    }
    /// Texts the rule must detect.
    pub fn examples(&self) -> &[Example] {
        &self.examples
    }
    /// Texts the rule must not detect.
    pub fn no_match_examples(&self) -> &[Example] {
        &self.no_match
    }
    /// Where the rule is written.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }

    /// True when the rule needs a context word to reach its threshold.
    fn is_gated(&self) -> bool {
        self.score + 1e-4 < self.threshold
    }

    /// Turns a candidate span into a finding, or drops it: allow-list, validator, entropy
    /// floor, context-adjusted score against the threshold. Tokens inside `mask` spans are
    /// not context (see [`ContextScorer::adjust`]).
    fn evaluate(&self, text: &str, span: Span, hits: &ContextHits, mask: &[Span]) -> Verdict {
        self.evaluate_inner(text, span, hits, mask)
            .unwrap_or(Verdict::Dropped)
    }

    fn evaluate_inner(
        &self,
        text: &str,
        span: Span,
        hits: &ContextHits,
        mask: &[Span],
    ) -> Option<Verdict> {
        let mut span = span;
        let mut value = text.get(span.range()).filter(|v| !v.is_empty())?;
        let validated = match &self.validator {
            Some(v) if !v.validate(value) => {
                // Patterns with optional spaced groups swallow the next word ("…1332 and");
                // the value may still stand whole before it. Try the prefixes that end
                // before a space, longest first, a few at most.
                let shorter = value
                    .match_indices(' ')
                    .rev()
                    .take(MAX_SPACE_BACKOFF)
                    .map(|(at, _)| value.get(..at).unwrap_or("").trim_end())
                    .find(|p| !p.is_empty() && v.validate(p))?;
                span = Span::new(span.start, span.start + shorter.len());
                value = shorter;
                true
            }
            Some(_) => true,
            None => false,
        };
        if self
            .validator
            .as_ref()
            .is_some_and(|v| v.wants_whole_number())
            && !validate::stands_alone(text, span.start, span.end)
        {
            return None;
        }
        if !self.allow_set.is_empty() && self.allow_set.contains(&value.to_lowercase()) {
            return None;
        }
        if self
            .min_entropy
            .is_some_and(|min| shannon_entropy(value) < min)
        {
            return None;
        }
        // A rule that needs context cannot fire without a positive word nearby: skip the
        // window entirely then.
        if self.is_gated() && !hits.positive_near(&self.words, span.start, span.end) {
            return Some(Verdict::NoContext);
        }
        let mut buf = NearIds::default();
        let near = hits.near(&self.words, span.start, span.end, &mut buf);
        let score = self.score
            + self
                .scorer
                .adjust(text, (span.start, span.end), &self.words, near, mask);
        // A small tolerance so that 0.15 + 0.35 reaches a 0.5 threshold despite rounding.
        if score + 1e-4 < self.threshold {
            return Some(Verdict::BelowThreshold(span));
        }
        Some(Verdict::Found(
            Finding::new(span, self.id.clone(), self.entity.clone(), self.sensitivity)
                .with_score(score)
                .with_validated(validated)
                .with_action(self.action),
        ))
    }
}

/// The union of `spans`, as disjoint spans sorted by start (findings of different rules may
/// overlap; the context masks need their ends in order too).
fn union(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// What a rule makes of one candidate.
enum Verdict {
    /// A finding.
    Found(Finding),
    /// A value of the rule's format whose context score fell short: the context may change
    /// once other values are known (see [`RuleSet::recheck`]).
    BelowThreshold(Span),
    /// A value of the rule's format with no positive context word anywhere near: masking can
    /// only take words away, so it stays below.
    NoContext,
    /// Not a value of the rule.
    Dropped,
}

/// A compiled set of rules: a [`Detector`] for text, and the field rules for JSON.
///
/// Cheap to clone (an `Arc` inside) and shareable across threads.
///
/// # Examples
///
/// ```
/// use promptveil::redact::Detector;
/// use promptveil::rules::RuleSet;
///
/// let rules = RuleSet::default_rules()?;
/// let mut found = Vec::new();
/// rules.detect("card 4111 1111 1111 1111", &mut found);
/// assert!(found.iter().any(|f| f.entity().as_str() == "CREDIT_CARD"));
/// # Ok::<(), promptveil::Error>(())
/// ```
#[derive(Clone)]
pub struct RuleSet {
    inner: Arc<Inner>,
}

struct Inner {
    rules: Vec<Rule>,
    /// For each rule, the range of its patterns in `matcher.patterns`.
    pattern_ranges: Vec<Range<usize>>,
    fields: Vec<FieldRule>,
    matcher: Matcher,
    context: ContextIndex,
    sources: Vec<String>,
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.inner.rules.len())
            .field("fields", &self.inner.fields.len())
            .field("patterns", &self.inner.matcher.patterns.len())
            .field("sources", &self.inner.sources)
            .finish()
    }
}

impl RuleSet {
    /// Starts building a rule set from one or more sources.
    pub fn builder() -> RuleSetBuilder {
        RuleSetBuilder::default()
    }

    /// The documented default rules (`fixtures/rules/default.toml`), compiled once per process.
    ///
    /// # Errors
    ///
    /// Only if the compiled-in file were invalid, which the test suite rules out.
    pub fn default_rules() -> Result<RuleSet> {
        static DEFAULT: OnceLock<std::result::Result<RuleSet, String>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                RuleSet::builder()
                    .default_rules()
                    .build()
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(Error::rules)
    }

    /// Reads one rule file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the file cannot be read; [`ErrorKind::Rules`] when it is
    /// malformed, with the file, line, column and rule id.
    pub fn from_file(path: impl AsRef<Path>) -> Result<RuleSet> {
        RuleSet::builder().toml_file(path).build()
    }

    /// The text rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.inner.rules
    }

    /// The structured (JSON) field rules.
    pub fn fields(&self) -> &[FieldRule] {
        &self.inner.fields
    }

    /// Looks a rule up by id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.inner.rules.iter().find(|r| r.id.as_str() == id)
    }

    /// Runs only the rule at `index` over `text` (no overlap resolution).
    fn detect_rule(&self, index: usize, text: &str, sink: &mut dyn FindingSink) {
        let Some(range) = self.inner.pattern_ranges.get(index) else {
            return;
        };
        let scan = self.inner.matcher.scan(text);
        let hits = self.inner.context.hits(text, &scan.words);
        let mut found = Found::default();
        let mut caps = Vec::new();
        if let Some(patterns) = self.inner.matcher.patterns.get(range.clone()) {
            for p in patterns {
                p.for_each_match_from(text, 0, |span| {
                    self.on_match(p, text, span, &hits, &mut caps, &mut found)
                });
            }
        }
        self.recheck(text, &hits, &mut found);
        Self::push_with_propagation(text, found.findings, sink);
    }

    /// The findings of the rule `id` alone in `text`, as evidence checks see them.
    pub fn detect_with_rule(&self, id: &str, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Some(i) = self.inner.rules.iter().position(|r| r.id.as_str() == id) {
            self.detect_rule(i, text, &mut out);
        }
        out
    }

    /// False only when a match of `p` ending at `end` certainly cannot fire: its rule needs a
    /// context word and none occurs anywhere its window could reach. The pattern's maximum
    /// length bounds where the match (and so its window) can start and end.
    fn may_fire(&self, p: &CompiledPattern, end: usize, hits: &ContextHits) -> bool {
        let (Some(rule), Some(max_len)) = (self.inner.rules.get(p.rule), p.max_len) else {
            return true;
        };
        !rule.is_gated()
            || hits.positive_near(
                &rule.words,
                end.saturating_sub(max_len),
                end.saturating_add(max_len),
            )
    }

    /// Evaluates one match of pattern `p`: narrows it to the `value` group, then lets the
    /// rule accept or drop it, and records the verdict in `found`. Returns false when the
    /// match is not a value of the rule's format (the matcher then looks inside it again).
    fn on_match(
        &self,
        p: &CompiledPattern,
        text: &str,
        span: Span,
        hits: &ContextHits,
        caps: &mut Vec<(usize, Captures)>,
        found: &mut Found,
    ) -> bool {
        let Some(rule) = self.inner.rules.get(p.rule) else {
            return true;
        };
        let mut span = span;
        if let Some(group) = p.value_group {
            // Captures are only needed for the few patterns with a `value` group; each gets one
            // buffer per call, found by the pattern's address.
            let key = std::ptr::from_ref(p) as usize;
            let at = match caps.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    caps.push((key, p.regex.create_captures()));
                    caps.len() - 1
                }
            };
            let Some((_, caps)) = caps.get_mut(at) else {
                return true;
            };
            let input = Input::new(text).range(span.range()).anchored(Anchored::Yes);
            p.regex.search_captures(&input, caps);
            if let Some(g) = caps.get_group(group) {
                span = Span::from(g.range());
            }
        }
        match rule.evaluate(text, span, hits, &[]) {
            Verdict::Found(f) => found.findings.push((f, rule.is_gated())),
            Verdict::BelowThreshold(span) => found.below.push((p.rule, span)),
            Verdict::NoContext => {}
            Verdict::Dropped => return false,
        }
        true
    }

    /// Gives the candidates that fell short of their threshold a second look, with the values
    /// found so far masked out of their context.
    ///
    /// Context words inside a value (`build` in `build.example.org`, `v` in `jo.v@example.com`)
    /// are not context once the value is a placeholder. Without this step a candidate kept
    /// down by such a word would be found when the redacted text is redacted again; with it,
    /// redaction is idempotent. Each round masks the findings of the previous ones; a round
    /// that finds nothing new ends it.
    fn recheck(&self, text: &str, hits: &ContextHits, found: &mut Found) {
        // Masking only takes context words away: a candidate can only have been held down by
        // a negative word inside a value. Those with none nearby at all stay below.
        found.below.retain(|&(r, span)| {
            self.inner
                .rules
                .get(r)
                .is_some_and(|rule| hits.negative_near(&rule.words, span.start, span.end))
        });
        for _ in 0..MAX_RECHECK_ROUNDS {
            if found.below.is_empty() || found.findings.is_empty() {
                return;
            }
            let mask = union(found.findings.iter().map(|(f, _)| f.span()).collect());
            let before = found.findings.len();
            let findings = &mut found.findings;
            found.below.retain(|&(r, span)| {
                let Some(rule) = self.inner.rules.get(r) else {
                    return false;
                };
                if !hits.negative_inside(&rule.words, (span.start, span.end), &mask) {
                    return true;
                }
                match rule.evaluate(text, span, hits, &mask) {
                    Verdict::Found(f) => {
                        findings.push((f, rule.is_gated()));
                        false
                    }
                    Verdict::BelowThreshold(_) => true,
                    Verdict::NoContext | Verdict::Dropped => false,
                }
            });
            if found.findings.len() == before {
                return;
            }
        }
    }

    /// Pushes `found` into `sink`, and with it every other occurrence of the values that
    /// context-gated rules found.
    ///
    /// A value that a context word revealed as sensitive stays sensitive where the word is
    /// missing: "Phone: 555 0148 ... call 555 0148" must not leak the second one. Other
    /// occurrences count when they stand as whole words (no letter or digit on either side).
    fn push_with_propagation(text: &str, found: Vec<(Finding, bool)>, sink: &mut dyn FindingSink) {
        let mut templates: Vec<(String, Finding)> = Vec::new();
        for (f, gated) in &found {
            if let Some(v) = text.get(f.span().range())
                && *gated
                && v.chars().count() >= 4
                && !templates.iter().any(|(t, _)| t == v)
            {
                templates.push((v.to_string(), f.clone()));
            }
        }
        if templates.is_empty() {
            for (f, _) in found {
                sink.push(f);
            }
            return;
        }
        let mut spans: Vec<Span> = found.iter().map(|(f, _)| f.span()).collect();
        spans.sort_unstable();
        for (f, _) in found {
            sink.push(f);
        }
        let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let mut push_at = |k: usize, span: Span, sink: &mut dyn FindingSink| {
            let before = text.get(..span.start).and_then(|t| t.chars().next_back());
            let after = text.get(span.end..).and_then(|t| t.chars().next());
            if spans.binary_search(&span).is_ok() || alnum(before) || alnum(after) {
                return;
            }
            if let Some((_, template)) = templates.get(k) {
                let mut f = template.clone();
                f.set_span(span);
                if let Err(at) = spans.binary_search(&span) {
                    spans.insert(at, span);
                }
                sink.push(f);
            }
        };
        // A few values: one fast substring search each. Many: one automaton for all.
        if templates.len() <= 8 {
            for k in 0..templates.len() {
                let Some((v, _)) = templates.get(k) else {
                    continue;
                };
                let finder = memchr::memmem::Finder::new(v.as_bytes());
                let len = v.len();
                for at in finder.find_iter(text.as_bytes()) {
                    push_at(k, Span::new(at, at + len), sink);
                }
            }
            return;
        }
        let Ok(ac) = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .build(templates.iter().map(|(v, _)| v.as_str()))
        else {
            return;
        };
        for m in ac.find_iter(text) {
            push_at(m.pattern().as_usize(), Span::from(m.range()), sink);
        }
    }

    /// Runs every rule's examples, each rule alone, and reports what failed.
    ///
    /// A `match` text passes when the rule reports at least one finding in it (for an exact
    /// example: a finding whose value is exactly `value`); a `no_match` text passes when the
    /// rule reports nothing.
    pub fn check_evidence(&self) -> EvidenceReport {
        let mut report = EvidenceReport::default();
        for (i, rule) in self.inner.rules.iter().enumerate() {
            for ex in &rule.examples {
                report.checked += 1;
                let mut found = Vec::new();
                self.detect_rule(i, &ex.text, &mut found);
                let ok = match &ex.value {
                    None => !found.is_empty(),
                    Some(v) => found
                        .iter()
                        .any(|f| ex.text.get(f.span().range()) == Some(v.as_str())),
                };
                if !ok {
                    report.failures.push(EvidenceFailure {
                        rule: rule.id.clone(),
                        kind: if ex.value.is_some() && !found.is_empty() {
                            EvidenceFailureKind::WrongValue
                        } else {
                            EvidenceFailureKind::Missed
                        },
                        example: ex.text.clone(),
                        location: ex.location.clone(),
                    });
                }
            }
            for ex in &rule.no_match {
                report.checked += 1;
                let mut found = Vec::new();
                self.detect_rule(i, &ex.text, &mut found);
                if !found.is_empty() {
                    report.failures.push(EvidenceFailure {
                        rule: rule.id.clone(),
                        kind: EvidenceFailureKind::FalseMatch,
                        example: ex.text.clone(),
                        location: ex.location.clone(),
                    });
                }
            }
        }
        report
    }

    /// A reviewer's table of every rule: what it detects, how sensitive, how replaced.
    pub fn inventory(&self) -> Vec<InventoryEntry> {
        inventory::build(self)
    }
}

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
    /// Rule sets add up: a reviewer's own file beside the default rules is
    /// `.default_rules().rules(RuleSet::from_file(path)?)`.
    pub fn rules(self, rules: RuleSet) -> Self {
        let fields = rules.fields().to_vec();
        self.field_rules(fields).detector(rules)
    }
}

impl Detector for RuleSet {
    fn detect(&self, text: &str, sink: &mut dyn FindingSink) {
        let scan = self.inner.matcher.scan(text);
        let hits = self.inner.context.hits(text, &scan.words);
        let mut found = Found {
            findings: Vec::with_capacity(16 + text.len() / 64),
            below: Vec::new(),
        };
        let mut caps = Vec::new();
        self.inner.matcher.for_each_match(
            text,
            &scan,
            |p, end| self.may_fire(p, end, &hits),
            |p, span| self.on_match(p, text, span, &hits, &mut caps, &mut found),
        );
        self.recheck(text, &hits, &mut found);
        Self::push_with_propagation(text, found.findings, sink);
    }
}

/// What went wrong with one evidence text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceFailureKind {
    /// A `match` example the rule did not detect.
    Missed,
    /// An exact `match` example where the rule found something else than `value`.
    WrongValue,
    /// A `no_match` example the rule detected.
    FalseMatch,
}

/// One failed evidence text.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceFailure {
    /// The rule.
    pub rule: RuleId,
    /// What went wrong.
    pub kind: EvidenceFailureKind,
    /// The example text, as the reviewer wrote it.
    pub example: String,
    /// Where it is written.
    #[serde(serialize_with = "serialize_location")]
    pub location: Option<Location>,
}

fn serialize_location<S: serde::Serializer>(
    l: &Option<Location>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match l {
        Some(l) => s.serialize_str(&l.to_string()),
        None => s.serialize_none(),
    }
}

impl fmt::Display for EvidenceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = &self.location {
            write!(f, "{l}: ")?;
        }
        let what = match self.kind {
            EvidenceFailureKind::Missed => "does not detect",
            EvidenceFailureKind::WrongValue => "detects another value than expected in",
            EvidenceFailureKind::FalseMatch => "wrongly detects",
        };
        write!(f, "rule `{}` {what} {:?}", self.rule, self.example)
    }
}

/// The outcome of [`RuleSet::check_evidence`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvidenceReport {
    /// How many example texts were run.
    pub checked: usize,
    /// The ones that failed.
    pub failures: Vec<EvidenceFailure>,
}

impl EvidenceReport {
    /// True when every example passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// `Ok` when every example passed, else an [`ErrorKind::Evidence`] error naming the first
    /// failure and the count.
    ///
    /// # Errors
    ///
    /// As described.
    pub fn into_result(self) -> Result<()> {
        match self.failures.first() {
            None => Ok(()),
            Some(first) => {
                let mut e = Error::new(
                    ErrorKind::Evidence,
                    format!(
                        "{} of {} examples failed; first: {}",
                        self.failures.len(),
                        self.checked,
                        first
                    ),
                )
                .with_rule(first.rule.as_str());
                if let Some(l) = &first.location {
                    e = e.with_location(l.clone());
                }
                Err(e)
            }
        }
    }
}

enum Source {
    Default,
    Str(String),
    File(PathBuf),
}

/// Builds a [`RuleSet`] from rule files, strings, the default rules, and custom validators.
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
///     .disable("domain")
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
    disabled: Vec<String>,
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

    /// Leaves out the rule (or field rule) with this id. Naming an id no source defines is an
    /// error at build, so a typo cannot silently keep a rule on.
    pub fn disable(mut self, id: &str) -> Self {
        self.disabled.push(id.to_string());
        self
    }

    /// Reads, checks and compiles every source.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] for unreadable files; [`ErrorKind::Rules`] for malformed rules, with
    /// location and rule id; a rule id defined twice across sources is an error too.
    pub fn build(self) -> Result<RuleSet> {
        let mut rules = Vec::new();
        let mut fields = Vec::new();
        let mut names = Vec::new();
        for source in &self.sources {
            let (parsed, name) = match source {
                Source::Default => (
                    load::parse(
                        DEFAULT_RULES_TOML,
                        Some(Path::new(DEFAULT_RULES_PATH)),
                        &self.validators,
                    )?,
                    DEFAULT_RULES_PATH.to_string(),
                ),
                Source::Str(s) => (load::parse(s, None, &self.validators)?, "<rules>".into()),
                Source::File(p) => {
                    let src = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
                    (
                        load::parse(&src, Some(p), &self.validators)?,
                        p.display().to_string(),
                    )
                }
            };
            rules.extend(parsed.rules);
            fields.extend(parsed.fields);
            names.push(name);
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
                let mut e = Error::rules("rule id defined in more than one source").with_rule(&id);
                if let Some(l) = loc {
                    e = e.with_location(l);
                }
                return Err(e);
            }
            seen.insert(id, loc);
        }
        for id in &self.disabled {
            if !seen.contains_key(id) {
                return Err(Error::rules("cannot disable a rule no source defines").with_rule(id));
            }
        }
        let disabled: HashSet<&str> = self.disabled.iter().map(String::as_str).collect();
        rules.retain(|(r, _)| !disabled.contains(r.id.as_str()));
        fields.retain(|f| !disabled.contains(f.id().as_str()));

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
            }),
        })
    }
}

#[cfg(test)]
mod tests;
