//! Overlap resolution: from candidate findings to non-overlapping ones, deterministically.
//!
//! Candidates are ranked, and accepted greedily in rank order when they do not overlap an
//! already accepted finding. The rank compares, in order:
//!
//! 1. validated before unvalidated (a checksum or parser confirmed it);
//! 2. higher score first;
//! 3. longer span first;
//! 4. earlier start first;
//! 5. rule id, alphabetically (so the order of detectors never matters).
//!
//! This is why an email address is not also reported as a URL or domain (the email is
//! validated and longer), and a card number is not also a date or a phone number (the card is
//! Luhn-validated and scores higher).
//!
//! A rejected candidate is not thrown away whole: the parts of it that no accepted finding
//! covers are kept as findings of its own rule, trimmed of white space, when they hold a letter
//! or digit. A URL around an email address keeps its scheme and path as URL pieces, right
//! away. A candidate that overlaps accepted findings only in part waits until every other
//! candidate has been placed, then keeps what is still uncovered: a phone number whose last
//! group an email address swallowed (`… 7946 0958-ana@example.com`) keeps its first groups.
//! Leaving those parts in the text would leak most of a value that was detected, and a second
//! redaction would find them and replace them then. A candidate wholly inside accepted
//! findings leaves nothing.
//!
//! Spans that are already placeholders (`[EMAIL_1]`) or hash tokens are *protected*: they act
//! as accepted findings that are never replaced, which makes redaction idempotent.

use super::finding::{Finding, Span};

fn rank(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    b.is_validated()
        .cmp(&a.is_validated())
        .then(b.score().total_cmp(&a.score()))
        .then(b.span().len().cmp(&a.span().len()))
        .then(a.span().start.cmp(&b.span().start))
        .then(a.rule().cmp(b.rule()))
}

/// Accepted spans, disjoint, sorted by start, for overlap queries.
#[derive(Default)]
struct Taken {
    spans: Vec<Span>,
}

impl Taken {
    /// The taken spans that overlap `s`, in order.
    fn overlapping(&self, s: Span) -> &[Span] {
        // Spans are disjoint, so their ends are sorted too.
        let first = self.spans.partition_point(|t| t.end <= s.start);
        let last = self.spans.partition_point(|t| t.start < s.end);
        self.spans.get(first..last.max(first)).unwrap_or_default()
    }

    fn insert(&mut self, s: Span) {
        let at = self.spans.partition_point(|t| t.start < s.start);
        self.spans.insert(at, s);
    }
}

/// Accepts the parts of `f` that no taken span covers, trimmed, when they hold a letter or
/// digit.
fn keep_uncovered(text: &str, f: Finding, taken: &mut Taken, accepted: &mut Vec<Finding>) {
    let span = f.span();
    let mut cursor = span.start;
    let mut pieces = Vec::new();
    for o in taken
        .overlapping(span)
        .iter()
        .chain(std::iter::once(&Span::new(span.end, span.end)))
    {
        let gap = trim_space(text, Span::new(cursor, o.start.min(span.end).max(cursor)));
        if !gap.is_empty() && has_alnum(text, gap) {
            pieces.push(gap);
        }
        cursor = cursor.max(o.end);
    }
    for gap in pieces {
        let mut piece = f.clone();
        piece.set_span(gap);
        taken.insert(gap);
        accepted.push(piece);
    }
}

/// `s` without the white space at either end.
fn trim_space(text: &str, s: Span) -> Span {
    let Some(t) = text.get(s.range()) else {
        return s;
    };
    let start = s.start + (t.len() - t.trim_start().len());
    let end = s.end - (t.len() - t.trim_end().len());
    Span::new(start, end.max(start))
}

fn has_alnum(text: &str, s: Span) -> bool {
    text.get(s.range())
        .is_some_and(|t| t.chars().any(char::is_alphanumeric))
}

/// Resolves `candidates` over `text`; `protected` spans are never part of a finding.
/// Returns findings sorted by start.
pub(crate) fn resolve(
    text: &str,
    mut candidates: Vec<Finding>,
    protected: &[(usize, usize)],
) -> Vec<Finding> {
    // `rank` orders by everything a finding shows (its rule fixes entity, sensitivity and
    // action), so an unstable sort gives the same order as a stable one, without a buffer.
    candidates.sort_unstable_by(rank);
    let mut taken = Taken::default();
    for &(s, e) in protected {
        taken.insert(Span::new(s, e));
    }
    let mut accepted: Vec<Finding> = Vec::with_capacity(candidates.len());
    // Candidates that overlap an accepted finding only in part, to place after all others.
    let mut partial: Vec<Finding> = Vec::new();
    for f in candidates {
        let span = f.span();
        let overlaps = taken.overlapping(span);
        if overlaps.is_empty() {
            taken.insert(span);
            accepted.push(f);
        } else if overlaps
            .iter()
            .all(|o| o.start >= span.start && o.end <= span.end)
        {
            keep_uncovered(text, f, &mut taken, &mut accepted);
        } else {
            partial.push(f);
        }
    }
    // What a partly overlapped candidate has left goes to whole candidates first: in
    // `report:s3cret@db.example.com` the password wins `s3cret`, and the host is a domain,
    // not the rest of an email address.
    for f in partial {
        keep_uncovered(text, f, &mut taken, &mut accepted);
    }
    accepted.sort_unstable_by_key(|f| (f.span().start, f.span().end));
    accepted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::{EntityType, RuleId};
    use crate::sensitivity::Sensitivity;

    fn f(rule: &str, s: usize, e: usize, score: f32, validated: bool) -> Finding {
        Finding::new(
            Span::new(s, e),
            RuleId::new(rule).unwrap_or_else(|x| panic!("{x}")),
            EntityType::new("X").unwrap_or_else(|x| panic!("{x}")),
            Sensitivity::Internal,
        )
        .with_score(score)
        .with_validated(validated)
    }

    fn spans(v: &[Finding]) -> Vec<(usize, usize, String)> {
        v.iter()
            .map(|f| (f.span().start, f.span().end, f.rule().to_string()))
            .collect()
    }

    #[test]
    fn validated_beats_score_beats_length() {
        let text = "x".repeat(40);
        let got = resolve(
            &text,
            vec![f("long", 0, 20, 0.9, false), f("valid", 5, 10, 0.5, true)],
            &[],
        );
        // The long one contains the validated one: its outside parts are kept.
        assert_eq!(
            spans(&got),
            vec![
                (0, 5, "long".into()),
                (5, 10, "valid".into()),
                (10, 20, "long".into())
            ]
        );
        let got = resolve(
            &text,
            vec![f("a", 0, 10, 0.5, false), f("b", 5, 15, 0.6, false)],
            &[],
        );
        // The higher score wins the overlap; the loser keeps the part nobody covers.
        assert_eq!(spans(&got), vec![(0, 5, "a".into()), (5, 15, "b".into())]);
        let got = resolve(
            &text,
            vec![f("a", 0, 10, 0.5, false), f("b", 5, 16, 0.5, false)],
            &[],
        );
        assert_eq!(spans(&got), vec![(0, 5, "a".into()), (5, 16, "b".into())]);
        // A loser wholly inside the winner leaves nothing; edges are trimmed of spaces.
        let text = "abc def ghi jkl";
        let got = resolve(
            text,
            vec![
                f("in", 4, 7, 0.5, false),
                f("win", 0, 11, 0.9, false),
                f("edge", 8, 15, 0.4, false),
            ],
            &[],
        );
        assert_eq!(
            spans(&got),
            vec![(0, 11, "win".into()), (12, 15, "edge".into())]
        );
    }

    #[test]
    fn order_of_candidates_does_not_matter() {
        let text = "y".repeat(30);
        let a = vec![
            f("r1", 0, 10, 0.7, false),
            f("r2", 0, 10, 0.7, false),
            f("r3", 8, 20, 0.7, true),
        ];
        let mut b = a.clone();
        b.reverse();
        assert_eq!(
            spans(&resolve(&text, a, &[])),
            spans(&resolve(&text, b, &[]))
        );
    }

    #[test]
    fn protected_spans_are_never_replaced() {
        let text = "pw=[PASSWORD_1]";
        let got = resolve(text, vec![f("pw", 3, 15, 0.9, true)], &[(3, 15)]);
        assert!(got.is_empty());
        let text = "pw=[PASSWORD_1]tail";
        let got = resolve(text, vec![f("pw", 3, 19, 0.9, true)], &[(3, 15)]);
        assert_eq!(spans(&got), vec![(15, 19, "pw".into())]);
    }
}
