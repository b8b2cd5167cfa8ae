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
//! before_only = false                # true: `words` count only before the value
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

mod builder;
mod compile;
mod context;
mod evidence;
mod inventory;
mod load;
mod rule;
mod table;
mod window;

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};

pub use builder::RuleSetBuilder;
pub use compile::{MAX_PATTERN_BYTES, MAX_PATTERNS, NEST_LIMIT, NFA_SIZE_LIMIT};
pub use evidence::{EvidenceFailure, EvidenceFailureKind, EvidenceReport};
pub use inventory::InventoryEntry;
pub use load::{
    DEFAULT_CONTEXT_DELTA, DEFAULT_SCORE, DEFAULT_THRESHOLD, DEFAULT_WINDOW, Disabled,
    FORMAT_VERSION, MAX_WINDOW,
};
pub use rule::{Example, Rule, RuleContext};
use rule::{Verdict, union};

use crate::error::{Error, Result};
use crate::redact::{Detector, FieldRule, Finding, FindingSink, Span};
use crate::sensitivity::Sensitivity;
use compile::{CompiledPattern, Matcher};
use context::{ContextHits, ContextIndex};

/// Most rounds of [`RuleSet::recheck`].
const MAX_RECHECK_ROUNDS: usize = 3;

/// The verdicts of one detection pass: findings (with whether their rule needed context),
/// and the candidates that fell short of their rule's threshold (rule index, span).
#[derive(Default)]
struct Found {
    findings: Vec<(Finding, bool)>,
    below: Vec<(usize, Span)>,
    /// A pattern or rule could not be looked up (a broken index; cannot happen with the
    /// compiled tables): the text then counts as not scanned.
    broken: bool,
}

/// The documented default rule set, compiled into the crate.
pub const DEFAULT_RULES_TOML: &str = include_str!("../../fixtures/rules/default.toml");
/// Where the default rules are written in the repository, and how rule sets name them among
/// their sources ([`RuleSet::sources`]).
pub const DEFAULT_RULES_PATH: &str = "fixtures/rules/default.toml";

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
    /// Rules turned off, with their reasons.
    disabled: Vec<Disabled>,
    /// Of the sources' texts, the rules turned off and the custom validators' names.
    digest: String,
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.inner.rules.len())
            .field("fields", &self.inner.fields.len())
            .field("patterns", &self.inner.matcher.patterns.len())
            .field("sources", &self.inner.sources)
            .field("disabled", &self.inner.disabled)
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

    /// Reads a reviewer's rule file: its rules **in addition to the default rules**, unless the
    /// file says `defaults = "replace"`, minus the rules its `[[disable]]` tables turn off
    /// (each with a reason). What the command-line tool's `--rules` and the pipeline
    /// configuration's `[redaction] rules` do, so that a file of extra rules never turns the
    /// default rules off by being there.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the file cannot be read; [`ErrorKind::Rules`](crate::ErrorKind::Rules) when it is
    /// malformed, with the file, line, column and rule id.
    pub fn from_file(path: impl AsRef<Path>) -> Result<RuleSet> {
        RuleSet::from_files([path])
    }

    /// Reads several reviewer's rule files as one rule set, like
    /// [`from_file`](RuleSet::from_file): the default rules are in unless every file says
    /// `defaults = "replace"`.
    ///
    /// # Errors
    ///
    /// As [`from_file`](RuleSet::from_file); a rule id defined in two files is an error.
    pub fn from_files<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Result<RuleSet> {
        paths
            .into_iter()
            .fold(RuleSet::builder(), |b, p| b.toml_file(p))
            .defaults_unless_replaced()
            .build()
    }

    /// A digest (16 hex digits of SHA-256) of the rule sources' texts, the rules turned off
    /// with their reasons, and the custom validators' names: the same files give the same
    /// digest, any change another. Carried in the audit trail, so a reviewer can tell which
    /// rules processed a request.
    pub fn digest(&self) -> &str {
        &self.inner.digest
    }

    /// The rules turned off, with the reason given for each.
    pub fn disabled(&self) -> &[Disabled] {
        &self.inner.disabled
    }

    /// The restricted-level default rules alone (cards, bank accounts, national ids,
    /// secrets): the floor the egress guard reads every payload with, whatever rules the
    /// pipeline runs. Compiled once per process.
    ///
    /// # Errors
    ///
    /// Only if the compiled-in rules were invalid, which the test suite rules out.
    pub fn restricted_floor() -> Result<RuleSet> {
        static FLOOR: OnceLock<std::result::Result<RuleSet, String>> = OnceLock::new();
        FLOOR
            .get_or_init(|| {
                let defaults = RuleSet::default_rules().map_err(|e| e.to_string())?;
                defaults
                    .rules()
                    .iter()
                    .filter(|r| r.sensitivity() < Sensitivity::Restricted)
                    .fold(RuleSet::builder().default_rules(), |b, r| {
                        b.disable(r.id().as_str(), "below the restricted level")
                    })
                    .build()
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(Error::rules)
    }

    /// Whether this set holds every restricted-level default rule as shipped (the default
    /// rules are among its sources and none of those rules is turned off).
    pub(crate) fn keeps_restricted_defaults(&self) -> bool {
        let Ok(floor) = RuleSet::restricted_floor() else {
            return false;
        };
        self.inner.sources.iter().any(|s| s == DEFAULT_RULES_PATH)
            && floor
                .rules()
                .iter()
                .all(|r| self.rule(r.id().as_str()).is_some())
    }

    /// Where the rules came from: the default rules' path and each file read.
    pub fn sources(&self) -> &[String] {
        &self.inner.sources
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
            // Fail closed: a rule that cannot be run has not scanned the text.
            debug_assert!(false, "rule {index} has no patterns");
            sink.unscanned(Span::new(0, text.len()));
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
    /// rule accept or drop it, and records the verdict in `found`. Returns where the value the
    /// rule took ends — the search goes on from there — or `None` when the match is not a
    /// value of the rule's format (the matcher then looks inside it again).
    fn on_match(
        &self,
        p: &CompiledPattern,
        text: &str,
        span: Span,
        hits: &ContextHits,
        caps: &mut Vec<(usize, Captures)>,
        found: &mut Found,
    ) -> Option<usize> {
        let matched = span;
        let Some(rule) = self.inner.rules.get(p.rule) else {
            debug_assert!(false, "pattern of no rule");
            found.broken = true;
            return Some(matched.end);
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
                debug_assert!(false, "capture buffer missing");
                found.broken = true;
                return Some(matched.end);
            };
            let input = Input::new(text).range(span.range()).anchored(Anchored::Yes);
            p.regex.search_captures(&input, caps);
            if let Some(g) = caps.get_group(group) {
                span = Span::from(g.range());
            }
        }
        match rule.evaluate(text, span, hits, &[]) {
            Verdict::Found(f) => {
                // A value the rule took shorter than what it was shown (a phone number the
                // pattern ran on into the digits after it): the search goes on from its end.
                let end = f.span().end;
                found.findings.push((f, rule.is_gated()));
                Some(if end < span.end { end } else { matched.end })
            }
            Verdict::BelowThreshold(span) => {
                found.below.push((p.rule, span));
                Some(matched.end)
            }
            Verdict::NoContext => Some(matched.end),
            Verdict::Dropped => None,
        }
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
            let broken = &mut found.broken;
            found.below.retain(|&(r, span)| {
                let Some(rule) = self.inner.rules.get(r) else {
                    debug_assert!(false, "finding of no rule");
                    *broken = true;
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

    /// A reviewer's table of every rule: what it detects, how sensitive, how replaced.
    pub fn inventory(&self) -> Vec<InventoryEntry> {
        inventory::build(self)
    }
}

impl Detector for RuleSet {
    fn provenance(&self) -> Vec<(String, String)> {
        vec![("rules".to_string(), self.inner.digest.clone())]
    }

    fn detect(&self, text: &str, sink: &mut dyn FindingSink) {
        let scan = self.inner.matcher.scan(text);
        let hits = self.inner.context.hits(text, &scan.words);
        let mut found = Found {
            findings: Vec::with_capacity(16 + text.len() / 64),
            below: Vec::new(),
            broken: false,
        };
        let mut caps = Vec::new();
        let complete = self.inner.matcher.for_each_match(
            text,
            &scan,
            |p, end| self.may_fire(p, end, &hits),
            |p, span| self.on_match(p, text, span, &hits, &mut caps, &mut found),
        );
        self.recheck(text, &hits, &mut found);
        if !complete || found.broken {
            // Fail closed: the redactor's report becomes incomplete and a pipeline refuses.
            sink.unscanned(Span::new(0, text.len()));
        }
        Self::push_with_propagation(text, found.findings, sink);
    }
}

#[cfg(test)]
mod tests;
