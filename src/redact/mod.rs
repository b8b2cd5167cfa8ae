//! Redaction: find sensitive data, replace it with numbered placeholders, restore it later.
//!
//! The [`Redactor`] runs every [`Detector`] over a text — the compiled
//! [rule set](crate::rules::RuleSet) of [`RedactorBuilder::default_rules`] or of rule files,
//! the NER detector, any detector of your own — resolves overlaps
//! between their findings (validated before unvalidated, then the higher score, then the
//! longer span; what a loser holds outside the winners is still replaced), and replaces each
//! finding as its rule says:
//! a placeholder held in a [`Vault`], a mask, a keyed hash, or nothing. It returns a
//! [`RedactedText`] and a [`RedactionReport`] that an audit trail may keep, since it holds
//! spans, rule ids and keyed hashes but never a value.
//!
//! ```
//! use promptveil::redact::{Redactor, Vault};
//!
//! let redactor = Redactor::builder().default_rules().build()?;
//! let vault = Vault::new();
//! let red = redactor.redact(
//!     "Refund card 4111 1111 1111 1111 for jane.doe@example.com, she called from +44 20 7946 0958.",
//!     &vault,
//! );
//! assert_eq!(
//!     red.text().as_str(),
//!     "Refund card [CREDIT_CARD_1] for [EMAIL_1], she called from [PHONE_1]."
//! );
//! assert_eq!(red.report().len(), 3);
//!
//! let restored = vault.restore("I refunded [CREDIT_CARD_1] and told [EMAIL_1].");
//! assert_eq!(restored.text(), "I refunded 4111 1111 1111 1111 and told jane.doe@example.com.");
//! # Ok::<(), promptveil::Error>(())
//! ```
//!
//! # What detectors read
//!
//! Values hide behind characters a pattern does not expect. Detectors read a *folded* view
//! of the text — compatibility forms folded (NFKC: `５` → `5`), zero-width and other format
//! characters removed, every Unicode space a space and every dash a hyphen, digits of every
//! script ASCII digits, look-alike letters inside Latin words mapped to the Latin letter — and
//! the rule sets also a *decoded* view (percent-escapes, character references) and a
//! *spelled* view (digits and e-mail separators written as words). Each view maps every byte
//! back to the original, so a placeholder replaces the value as written:
//!
//! ```
//! use promptveil::redact::{Redactor, Vault};
//!
//! let redactor = Redactor::builder().default_rules().build()?;
//! let vault = Vault::new();
//! let text = "SSN ５３６－２２－１２３４, mail lea%40example.org, call four one five, eight six seven, two three nine one";
//! let red = redactor.redact(text, &vault);
//! assert_eq!(red.text().as_str(), "SSN [US_SSN_1], mail [EMAIL_1], call [PHONE_1]");
//! assert_eq!(vault.restore(red.text().as_str()).text(), text);
//! # Ok::<(), promptveil::Error>(())
//! ```
//!
//! # Placeholders
//!
//! A placeholder is `[` entity type `_` number `]`, numbered per entity type from 1, the
//! same value getting the same placeholder within one vault. Restoring accepts the exact form
//! and what models commonly do to it: other letter case (`[email_1]`), a space or dash for an
//! underscore inside brackets (`[CREDIT CARD 1]`), and missing brackets (`EMAIL_1`, which must
//! then stand as a word of its own). Exact-shaped placeholders the vault never handed out are
//! left alone and reported, never guessed.
//!
//! Placeholder forms already present in an input (a user quoting a template, say) are
//! reserved: the vault never hands out those numbers, so restoring an answer never rewrites
//! text the user wrote, and `restore(redact(x)) == x` holds for every `x`. Exact placeholders
//! in an input are never redacted again, so redacting twice changes nothing.
//!
//! # Laws (checked by property tests)
//!
//! - `vault.restore(redact(x)) == x` for every text `x`, with rules whose action is
//!   `placeholder`;
//! - no value a detector reported survives in the redacted text;
//! - redacting a redacted text gives the same text;
//! - no input makes the redactor panic.

mod finding;
mod fold;
pub(crate) mod overlap;
pub(crate) mod placeholder;
mod report;
mod spelled;
mod structured;
mod urls;
mod vault;

use std::fmt;
use std::sync::Arc;

pub use finding::{Action, Detector, EntityType, Finding, FindingSink, RuleId, Span};
pub use report::{HashKey, RedactionRecord, RedactionReport};
pub use structured::{FieldRule, JsonRecord, JsonRedaction, MAX_DEPTH as MAX_JSON_DEPTH};
pub use urls::UrlValues;
pub use vault::{RestoreReport, Restored, StreamRestorer, Vault};

use crate::error::{Error, Result};

/// How far, in bytes, a derived view is read on either side of what it changed (and on to
/// white space): room for a value that spans the change and the context words around it
/// (at most `rules::context::MAX_WINDOW_BYTES` = 160 either side). A value without white space
/// is always read whole, however long.
const DERIVED_VIEW_MARGIN: usize = 512;

/// Text that has been through the redactor.
///
/// Only the redactor constructs it, so a value of this type is proof that redaction ran.
/// Its `Debug` shows only its length: text the rules missed may still be in it.
///
/// Checked at compile time: it cannot be made from raw text, neither by a constructor
///
/// ```compile_fail,E0624
/// let forged = promptveil::redact::RedactedText::new(String::from("alice@example.com"));
/// ```
///
/// nor from its field.
///
/// ```compile_fail,E0423
/// let forged = promptveil::redact::RedactedText(String::from("alice@example.com"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedText(String);

impl RedactedText {
    pub(crate) fn new(s: String) -> RedactedText {
        RedactedText(s)
    }

    /// A redacted JSON document as its JSON text (a tool's answer, say).
    pub fn from_json(json: &JsonRedaction) -> RedactedText {
        RedactedText(json.value().to_string())
    }

    /// The redacted text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The redacted text as a `String`.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The text with every placeholder (`[EMAIL_1]`, and `hash` tokens) replaced by a space:
    /// a search query. Left in, a placeholder's entity name would match documents that
    /// merely mention e-mail or phones.
    ///
    /// ```
    /// use promptveil::redact::{Redactor, Vault};
    ///
    /// let red = Redactor::builder().default_rules().build()?.redact("Call +44 20 7946 0958 about the flu shot", &Vault::new());
    /// assert_eq!(red.text().without_placeholders(), "Call   about the flu shot");
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    pub fn without_placeholders(&self) -> String {
        without_placeholders(&self.0)
    }
}

/// `text` with every placeholder (`[EMAIL_1]`, and `hash` tokens) replaced by a space, as
/// [`RedactedText::without_placeholders`]: what is embedded of a redacted question, for
/// search and for a router that reads embeddings (in training too, so both see alike text).
///
/// ```
/// assert_eq!(promptveil::redact::without_placeholders("Mail [EMAIL_1] now"), "Mail   now");
/// ```
pub fn without_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (start, end) in placeholder::exact_tokens(text) {
        out.push_str(text.get(from..start).unwrap_or_default());
        out.push(' ');
        from = end;
    }
    out.push_str(text.get(from..).unwrap_or_default());
    out
}

impl fmt::Debug for RedactedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactedText")
            .field("len", &self.0.len())
            .finish()
    }
}

impl AsRef<str> for RedactedText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The result of redacting one text.
#[derive(Debug, Clone)]
pub struct Redaction {
    text: RedactedText,
    report: RedactionReport,
}

impl Redaction {
    /// The redacted text.
    pub fn text(&self) -> &RedactedText {
        &self.text
    }

    /// What was replaced.
    pub fn report(&self) -> &RedactionReport {
        &self.report
    }

    /// Splits into text and report.
    pub fn into_parts(self) -> (RedactedText, RedactionReport) {
        (self.text, self.report)
    }
}

/// Finds and replaces sensitive data. Cheap to clone, shareable across threads.
///
/// Built with [`Redactor::builder`] from detectors: the default rules
/// ([`RedactorBuilder::default_rules`]), rule files ([`RedactorBuilder::rules`]), the NER
/// detector, detectors of your own. A redactor with no detector is refused: it would redact
/// nothing.
#[derive(Clone)]
pub struct Redactor {
    inner: Arc<Inner>,
}

struct Inner {
    detectors: Vec<Arc<dyn Detector>>,
    fields: Vec<FieldRule>,
    hash_key: HashKey,
    turned_off: Vec<(String, String)>,
    keeps_floor: bool,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("detectors", &self.inner.detectors.len())
            .field("field_rules", &self.inner.fields.len())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Redactor`]. Setters never fail; [`build`](RedactorBuilder::build) reports
/// the first error one of them deferred.
///
/// The rule-set setters, [`default_rules`](RedactorBuilder::default_rules) and
/// [`rules`](RedactorBuilder::rules), are defined with the rules in [`crate::rules`].
#[must_use]
#[derive(Default)]
pub struct RedactorBuilder {
    detectors: Vec<Arc<dyn Detector>>,
    fields: Vec<FieldRule>,
    hash_key: Option<HashKey>,
    errors: Vec<Error>,
    turned_off: Vec<(String, String)>,
    keeps_floor: bool,
}

impl fmt::Debug for RedactorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactorBuilder")
            .field("detectors", &self.detectors.len())
            .field("field_rules", &self.fields.len())
            .field("errors", &self.errors.len())
            .finish_non_exhaustive()
    }
}

impl RedactorBuilder {
    /// Notes a rule turned off, and why, for the audit trail (the rule sets' setter calls
    /// it for each rule its files turned off).
    pub(crate) fn note_turned_off(mut self, id: &str, reason: &str) -> Self {
        self.turned_off.push((id.to_string(), reason.to_string()));
        self
    }

    /// Notes that a rule set holds every restricted-level default rule as shipped, so the
    /// egress guard need not read a payload with them a second time.
    pub(crate) fn note_keeps_floor(mut self) -> Self {
        self.keeps_floor = true;
        self
    }

    /// Adds a detector, run beside the others. Default: none.
    pub fn detector(mut self, detector: impl Detector + 'static) -> Self {
        self.detectors.push(Arc::new(detector));
        self
    }

    /// Adds a detector already shared behind an `Arc`.
    pub fn shared_detector(mut self, detector: Arc<dyn Detector>) -> Self {
        self.detectors.push(detector);
        self
    }

    /// Adds rules for JSON documents ([`Redactor::redact_json`]). Default: none.
    pub fn field_rules(mut self, rules: impl IntoIterator<Item = FieldRule>) -> Self {
        self.fields.extend(rules);
        self
    }

    /// Sets the key of the keyed value hashes in reports. Default: a random key per redactor.
    pub fn hash_key(mut self, key: HashKey) -> Self {
        self.hash_key = Some(key);
        self
    }

    /// Keeps an error for [`build`](RedactorBuilder::build) to return.
    pub(crate) fn defer(mut self, error: Error) -> Self {
        self.errors.push(error);
        self
    }

    /// Builds the redactor.
    ///
    /// ```
    /// use promptveil::redact::Redactor;
    ///
    /// let err = Redactor::builder().build().unwrap_err();
    /// assert_eq!(err.to_string(), "a redactor with no detector redacts nothing: add default_rules(), rules or a detector");
    /// assert!(Redactor::builder().default_rules().build().is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// The first error a setter deferred (a rule set that failed to build);
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when no detector was added, or when no
    /// hash key was given and the system has no randomness for one.
    pub fn build(mut self) -> Result<Redactor> {
        if !self.errors.is_empty() {
            return Err(self.errors.swap_remove(0));
        }
        if self.detectors.is_empty() {
            return Err(Error::config(
                "a redactor with no detector redacts nothing: add default_rules(), rules or a detector",
            ));
        }
        let hash_key = match self.hash_key {
            Some(k) => k,
            None => HashKey::random()?,
        };
        Ok(Redactor {
            inner: Arc::new(Inner {
                detectors: self.detectors,
                fields: self.fields,
                hash_key,
                turned_off: self.turned_off,
                keeps_floor: self.keeps_floor,
            }),
        })
    }
}

impl Redactor {
    /// Starts building a redactor.
    pub fn builder() -> RedactorBuilder {
        RedactorBuilder::default()
    }

    /// The rules its rule sets turned off, with the reason given for each: `(id, reason)`.
    pub fn turned_off(&self) -> &[(String, String)] {
        &self.inner.turned_off
    }

    /// What identifies its detectors' configuration ([`Detector::provenance`]): names and
    /// digests, never a value; a name given by two detectors keeps both digests, joined by
    /// `+`.
    pub fn provenance(&self) -> std::collections::BTreeMap<String, String> {
        let mut out: std::collections::BTreeMap<String, String> = Default::default();
        for (name, digest) in self.inner.detectors.iter().flat_map(|d| d.provenance()) {
            out.entry(name)
                .and_modify(|d| {
                    d.push('+');
                    d.push_str(&digest);
                })
                .or_insert(digest);
        }
        out
    }

    /// Whether one of its rule sets holds every restricted-level default rule as shipped.
    pub(crate) fn keeps_floor(&self) -> bool {
        self.inner.keeps_floor
    }

    /// The resolved findings in `text`: what [`redact`](Redactor::redact) would replace,
    /// sorted by position, without touching a vault.
    pub fn findings(&self, text: &str) -> Vec<Finding> {
        self.collect(text).0
    }

    /// The resolved findings, and the ranges a detector reported it could not scan.
    ///
    /// Detectors read the folded view of the text (see `fold.rs`: compatibility forms,
    /// invisible characters, look-alike letters), and — the rule sets and detectors that read
    /// derived views — the decoded view when the text holds percent-escapes or character
    /// references, and the spelled view when it spells a value out in words (`spelled/`);
    /// what they find is mapped back to the original bytes. Plain ASCII without escapes or
    /// spelled values is read as it is.
    fn collect(&self, text: &str) -> (Vec<Finding>, Collector) {
        let protected = placeholder::exact_tokens(text);
        let mut sink = Collector::with_capacity(16 + text.len() / 64);
        let views = fold::views(text);
        // The folded view stands for the text; the decoded one only adds what is written
        // inside escapes, for the detectors that read such views.
        match &views.folded {
            Some(folded) => {
                self.read_view(folded.text(), |s| folded.to_original(s), true, &mut sink)
            }
            None => self.run_detectors(text, true, &mut sink),
        }
        if let Some(decoded) = &views.decoded {
            self.read_changes(decoded, |s| decoded.to_original(s), &mut sink);
        }
        if let Some(spelled) = &views.spelled {
            self.read_changes(spelled, |s| views.spelled_to_original(s), &mut sink);
        }
        // Findings from other detectors may carry any span. Fail closed: one that does not
        // fall on character boundaries, or runs past the end, is widened to the characters
        // it touches rather than dropped (dropping it would leave its value in clear); only
        // an empty one, which hides nothing, goes.
        let mut candidates = std::mem::take(&mut sink.findings);
        for f in &mut candidates {
            let s = f.span();
            let mut start = s.start.min(text.len());
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = s.end.min(text.len()).max(start);
            while !text.is_char_boundary(end) {
                end += 1;
            }
            if (start, end) != (s.start, s.end) {
                f.set_span(Span::new(start, end));
            }
        }
        candidates.retain(|f| !f.span().is_empty());
        (overlap::resolve(text, candidates, &protected), sink)
    }

    /// Runs the detectors over `text` (all of them, or those that read decoded views).
    fn run_detectors(&self, text: &str, all: bool, sink: &mut Collector) {
        for d in &self.inner.detectors {
            if !all && !d.reads_derived_views() {
                continue;
            }
            let before = sink.unscanned.len();
            d.detect(text, sink);
            if sink.unscanned.len() > before && !d.is_model() {
                sink.gaps_outside_models = true;
            }
        }
    }

    /// Runs the detectors over a view's text and maps what they report back to the original
    /// bytes with `to_original`.
    fn read_view(
        &self,
        text: &str,
        to_original: impl Fn(Span) -> Span,
        all: bool,
        sink: &mut Collector,
    ) {
        let mut found = Collector::with_capacity(8);
        self.run_detectors(text, all, &mut found);
        for mut f in found.findings {
            f.set_span(to_original(f.span()));
            sink.findings.push(f);
        }
        sink.unscanned
            .extend(found.unscanned.into_iter().map(to_original));
        sink.gaps_outside_models |= found.gaps_outside_models;
    }

    /// Runs the detectors that read derived views over the stretches of `view` around what it
    /// changed ([`DERIVED_VIEW_MARGIN`] bytes either side, out to white space): elsewhere it
    /// is the text the detectors have read already.
    fn read_changes(
        &self,
        view: &fold::View,
        to_original: impl Fn(Span) -> Span,
        sink: &mut Collector,
    ) {
        let changes = view.changes();
        for (a, b) in fold::windows(view.text(), &changes, DERIVED_VIEW_MARGIN) {
            let Some(window) = view.text().get(a..b) else {
                continue;
            };
            let shift = |s: Span| to_original(Span::new(s.start + a, s.end + a));
            self.read_view(window, shift, false, sink);
        }
    }

    /// What [`redact`](Redactor::redact) would report for `text`, redacted with a scratch
    /// vault that is wiped when this returns: for checks that must see every value and keep
    /// none (the egress guard, an index check).
    ///
    /// ```
    /// use promptveil::redact::Redactor;
    ///
    /// let report = Redactor::builder().default_rules().build()?.scan("Mail ana@example.org today.");
    /// assert_eq!(report.entity_counts()["EMAIL"], 1);
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    pub fn scan(&self, text: &str) -> RedactionReport {
        self.redact(text, &Vault::new()).into_parts().1
    }

    /// Redacts `text`, recording placeholders in `vault`.
    ///
    /// Never fails and never panics: whatever the input, the result is a redacted text and a
    /// report. When a detector could not scan part of the text, the report says so
    /// ([`RedactionReport::is_complete`] is false) and the pipeline refuses the request.
    pub fn redact(&self, text: &str, vault: &Vault) -> Redaction {
        vault.reserve_spelled(text);
        let (findings, scan) = self.collect(text);
        let mut out = String::with_capacity(text.len() + findings.len() * 8);
        let mut report = RedactionReport {
            records: Vec::with_capacity(findings.len()),
            max_sensitivity: None,
            unscanned: scan.unscanned,
            models_only_unscanned: !scan.gaps_outside_models,
        };
        let mut last = 0;
        for f in findings {
            let span = f.span();
            let (Some(before), Some(value)) = (text.get(last..span.start), text.get(span.range()))
            else {
                // Resolved findings are sorted, apart and on character boundaries; should that
                // ever not hold, copying on would put a value in clear. Fail closed: nothing
                // more of the text is copied, and the report says the rest was not redacted.
                debug_assert!(false, "overlapping or unsliceable finding {span:?}");
                report.unscanned.push(Span::new(last, text.len()));
                report.models_only_unscanned = false;
                return Redaction {
                    text: RedactedText::new(out),
                    report,
                };
            };
            out.push_str(before);
            let start = out.len();
            let replacement = self.replace_into(&mut out, f.entity(), f.action(), value, vault);
            report.push(RedactionRecord {
                rule: f.rule().clone(),
                entity: f.entity().clone(),
                sensitivity: f.sensitivity(),
                span,
                output_span: Span::new(start, out.len()),
                action: f.action(),
                replacement,
                score: f.score(),
                validated: f.is_validated(),
                value_hash: self.inner.hash_key.hash(f.entity(), value),
            });
            last = span.end;
        }
        out.push_str(text.get(last..).unwrap_or_default());
        Redaction {
            text: RedactedText::new(out),
            report,
        }
    }

    /// Writes what replaces `value` under `action` into `out`; returns the placeholder or
    /// hash token to report (none for `mask` and `drop`).
    fn replace_into(
        &self,
        out: &mut String,
        entity: &EntityType,
        action: Action,
        value: &str,
        vault: &Vault,
    ) -> Option<String> {
        match action {
            Action::Placeholder => {
                let p = vault.placeholder_for(entity, value);
                out.push_str(&p);
                Some(p)
            }
            Action::Hash => {
                let h = self.inner.hash_key.hash(entity, value);
                let short = h.get(..placeholder::HASH_TOKEN_HEX).unwrap_or(&h);
                let t = format!("[{entity}:{short}]");
                out.push_str(&t);
                Some(t)
            }
            Action::Mask => {
                out.extend(
                    value
                        .chars()
                        .map(|c| if c.is_alphanumeric() { '*' } else { c }),
                );
                None
            }
            Action::Drop => None,
        }
    }

    /// The key used for value hashes.
    pub(crate) fn hash_key(&self) -> &HashKey {
        &self.inner.hash_key
    }

    pub(crate) fn field_rules(&self) -> &[FieldRule] {
        &self.inner.fields
    }
}

/// The redactor's own sink: findings, and the ranges detectors could not scan.
struct Collector {
    findings: Vec<Finding>,
    unscanned: Vec<Span>,
    /// Whether a detector that is not a model left part of the text unscanned.
    gaps_outside_models: bool,
}

impl Collector {
    fn with_capacity(findings: usize) -> Collector {
        Collector {
            findings: Vec::with_capacity(findings),
            unscanned: Vec::new(),
            gaps_outside_models: false,
        }
    }
}

impl FindingSink for Collector {
    fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    fn unscanned(&mut self, span: Span) {
        self.unscanned.push(span);
    }
}

#[cfg(test)]
mod tests;
