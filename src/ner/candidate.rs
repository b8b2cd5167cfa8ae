//! What the passes work on: candidates (an entity before thresholds), where each came from,
//! and the small text helpers several passes share.

use crate::redact::Span;

use super::decode::Kind;
use super::gazetteer::Place;

/// One candidate before thresholds and allow-lists.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    pub(crate) span: Span,
    pub(crate) kind: Target,
    pub(crate) score: f32,
    pub(crate) source: Source,
    /// The last pass that produced or changed it (an index into the pass table); `None` for
    /// a model entity no pass touched.
    pub(crate) pass: Option<u8>,
    /// Identity across passes, set by the pass runner (0: made by the running pass).
    pub(crate) id: u32,
    /// The gazetteer place it was made from, if any.
    pub(crate) place: Option<Place>,
}

impl Candidate {
    /// A new candidate; the pass runner gives it its identity and records the pass.
    pub(crate) fn new(span: Span, kind: Target, score: f32, source: Source) -> Candidate {
        Candidate {
            span,
            kind,
            score,
            source,
            pass: None,
            id: 0,
            place: None,
        }
    }

    /// The same entity: span, type, score and source (identity and pass aside).
    pub(crate) fn same_as(&self, other: &Candidate) -> bool {
        self.span == other.span
            && self.kind == other.kind
            && self.score.to_bits() == other.score.to_bits()
            && self.source == other.source
    }

    /// A model person (given name and surname pieces).
    pub(crate) fn is_person(&self) -> bool {
        self.kind == Target::Model(Kind::Person)
    }

    /// A model address.
    pub(crate) fn is_address(&self) -> bool {
        self.kind == Target::Model(Kind::Address)
    }
}

/// The entity types this detector reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Model(Kind),
    Organization,
    /// A nationality, religious or political group (`NRP`).
    Nationality,
    /// A country named as a party or a government (`STATE`): "against the United Kingdom",
    /// "the Swedish Government".
    State,
}

impl Target {
    pub(crate) fn entity(self) -> &'static str {
        match self {
            Target::Model(k) => k.entity(),
            Target::Organization => "ORGANIZATION",
            Target::Nationality => "NRP",
            Target::State => "STATE",
        }
    }
}

/// Where a candidate came from; with its pass, names its rule id (`ner-person`,
/// `gazetteer-location.places`, `org-pattern-organization.org-patterns`,
/// `context-person.propagate-names`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Model,
    Gazetteer,
    Pattern,
    /// Found from another finding in the same text: a repeated name, a list of people.
    Context,
}

impl Source {
    /// Every source, in the order of their rule-id prefixes.
    pub(crate) const ALL: [Source; 4] = [
        Source::Model,
        Source::Gazetteer,
        Source::Pattern,
        Source::Context,
    ];

    /// The rule-id prefix.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Source::Model => "ner",
            Source::Gazetteer => "gazetteer",
            Source::Pattern => "org-pattern",
            Source::Context => "context",
        }
    }
}

/// The byte range of the line that holds `span` (without its line ends).
pub(crate) fn line_around(text: &str, span: Span) -> (usize, usize) {
    let start = text
        .get(..span.start)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |i| i + 1);
    let end = text
        .get(span.end..)
        .and_then(|s| s.find('\n'))
        .map_or(text.len(), |i| span.end + i);
    (start, end)
}

/// No word of two letters or more in `value` but the joints allowed ("4, 6 and 9" with
/// `and`, "10 to -35" with `to`).
pub(crate) fn numbers_only(value: &str, joint: impl Fn(&str) -> bool) -> bool {
    !value
        .split(|ch: char| !ch.is_alphabetic())
        .any(|w| w.chars().count() >= 2 && !joint(w))
}
