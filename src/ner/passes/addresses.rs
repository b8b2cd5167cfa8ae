//! Addresses: street names the model took for people, intersections, and numbers that are
//! counts rather than building numbers.
//!
//! A pass that started an address after the addressee and dropped people and places inside
//! an address was removed: it changed no finding on the PII, TAB, international and SciFact
//! evaluation sets (the redactor's overlap resolution already replaces the union of
//! overlapping findings).

use crate::redact::Span;

use super::super::candidate::{Candidate, Source, Target, numbers_only};
use super::super::decode::Kind;
use super::super::lexicon::L;
use super::{Ctx, Work};

/// A model person between two parts of one address line ("56539 Rua Cyro Schmutzer Franco
/// 1213": the street's name looks like a name), or after an address at the end of its line
/// (the town), is part of the address.
pub(super) fn streets_taken_for_people(ctx: &Ctx<'_>, work: &mut Work) {
    let text = ctx.text;
    let out = &mut work.out;
    let same_line_gap = |a: usize, b: usize| {
        a <= b
            && text
                .get(a..b)
                .is_some_and(|g| g.chars().all(|c| c == ' ' || c == '\t'))
    };
    loop {
        let mut merge = None;
        for (i, p) in out.iter().enumerate() {
            if !p.is_person() {
                continue;
            }
            let before = out
                .iter()
                .position(|a| a.is_address() && same_line_gap(a.span.end, p.span.start));
            let after = out
                .iter()
                .position(|a| a.is_address() && same_line_gap(p.span.end, a.span.start));
            // The town that ends an address line: "... Suite 694 Valderice Trapani".
            let tail = text
                .get(p.span.end..)
                .unwrap_or_default()
                .trim_start_matches([' ', '\t', '.', ',', ';']);
            let line_ends = tail.starts_with(['\n', '\r']) || tail.is_empty();
            match (before, after) {
                (Some(b), Some(a)) => {
                    merge = Some((b, i, Some(a)));
                    break;
                }
                (Some(b), None) if line_ends => {
                    merge = Some((b, i, None));
                    break;
                }
                _ => {}
            }
        }
        let Some((b, p, a)) = merge else {
            return;
        };
        let Some(first) = out.get(b).copied() else {
            return;
        };
        let last = match a {
            Some(a) => out.get(a).copied(),
            None => out.get(p).copied(),
        };
        let Some(last) = last else {
            return;
        };
        if let Some(address) = out.get_mut(b) {
            address.span = Span::new(first.span.start, last.span.end);
            address.score = first.score.max(last.score);
        }
        let mut gone = vec![p];
        gone.extend(a);
        gone.sort_unstable();
        for i in gone.into_iter().rev() {
            out.remove(i);
        }
    }
}

/// Does `s` open an intersection ("the corner of …", ignoring case)?
fn opens_intersection(ctx: &Ctx<'_>, s: &str) -> bool {
    let lower = s.to_lowercase();
    ctx.lexicon
        .words(L::IntersectionOpeners)
        .iter()
        .any(|o| lower.starts_with(o.as_str()))
}

/// "the corner of Elm Street and Harbour Road": the address the model ended at "and" takes
/// the second street, which it may have called a place or a person, or left untagged (then
/// the capitalised words up to the next punctuation or line end). "Leon and Elm Street 4",
/// one word alone before "and" and an address, is an intersection too. The joining words are
/// the lexicon's `conjunctions`.
pub(super) fn intersections(ctx: &Ctx<'_>, work: &mut Work) {
    let text = ctx.text;
    let out = &mut work.out;
    let conjunctions = ctx.lexicon.words(L::Conjunctions);
    let mut i = 0;
    while i < out.len() {
        let Some(a) = out.get(i).copied() else {
            break;
        };
        i += 1;
        let opens = text
            .get(a.span.range())
            .is_some_and(|s| opens_intersection(ctx, s));
        if a.is_address() && !opens {
            // "Leon and Eyrarodda 66": one capitalised word and "and" before an address name
            // the first street of an intersection.
            let head = text.get(..a.span.start).unwrap_or_default();
            let joined = conjunctions.iter().find_map(|c| {
                let joint = format!(" {c} ");
                head.strip_suffix(joint.as_str()).map(|h| (h, joint.len()))
            });
            if let Some((head, joint_len)) = joined {
                let word = head
                    .rsplit([' ', '\t', '\n', ':', ','])
                    .next()
                    .unwrap_or_default();
                let start = a.span.start - joint_len - word.len();
                // Alone: not the last word of a longer capitalised name ("Ana Lima and ...").
                let before = text.get(..start).unwrap_or_default();
                let prev = before.trim_end_matches([' ', '\t']);
                let alone = prev.len() == before.len()
                    || !prev.rsplit([' ', '\t', '\n']).next().is_some_and(|w| {
                        w.starts_with(char::is_uppercase) && !w.ends_with([':', ',', '.', '?'])
                    });
                if alone
                    && word.starts_with(char::is_uppercase)
                    && word.chars().all(char::is_alphabetic)
                    && !ctx.is_opener(word)
                {
                    let street = Span::new(start, start + word.len());
                    out.retain(|c| !(c.source == Source::Model && c.span == street));
                    if let Some(pos) = out.iter().position(|c| c.span == a.span) {
                        if let Some(c) = out.get_mut(pos) {
                            c.span = Span::new(start, a.span.end);
                        }
                        i = pos + 1;
                    }
                }
            }
            continue;
        }
        let rest = text.get(a.span.end..).unwrap_or_default();
        let joint = conjunctions
            .iter()
            .map(|c| format!(" {c} "))
            .find(|j| rest.starts_with(j.as_str()));
        let (true, true, Some(joint)) = (a.is_address(), opens, joint) else {
            continue;
        };
        let from = a.span.end + joint.len();
        let next = out
            .iter()
            .position(|c| c.span.start == from && c.source == Source::Model);
        let end = if let Some(n) = next {
            let end = out.get(n).map_or(from, |c| c.span.end);
            out.remove(n);
            if n < i {
                i -= 1;
            }
            end
        } else {
            let tail = text.get(from..).unwrap_or_default();
            let mut end = from;
            let mut offset = 0;
            for word in tail.split(' ') {
                let bare = word.trim_end_matches(['.', ',', ';', '!', '?']);
                if !bare.starts_with(char::is_uppercase) && !bare.starts_with(char::is_numeric) {
                    break;
                }
                end = from + offset + bare.len();
                if bare.len() != word.len() || word.contains('\n') {
                    break;
                }
                offset += word.len() + 1;
            }
            end
        };
        if end > from
            && let Some(c) = out.get_mut(i - 1)
        {
            c.span = Span::new(c.span.start, end);
        }
    }
}

/// A number the model took for an address, with no other part of an address, no place and no
/// name within a few words of it, is a count or a measure ("involving 671 945 women", "the 384
/// and 1536-well plates"): building numbers and postcodes stand beside a street, a town, a
/// country or the addressee.
pub(super) fn lone_numbers(ctx: &Ctx<'_>, work: &mut Work) {
    const NEAR: usize = 40;
    let text = ctx.text;
    let digits_only = |c: &Candidate| {
        text.get(c.span.range())
            .is_some_and(|v| numbers_only(v, |_| false))
    };
    let anchors: Vec<Span> = work
        .out
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                Target::Model(Kind::Address | Kind::Location | Kind::Person)
            ) && !digits_only(c)
        })
        .map(|c| c.span)
        .collect();
    work.out.retain(|c| {
        !c.is_address()
            || !digits_only(c)
            || anchors
                .iter()
                .any(|a| a.start < c.span.end + NEAR && c.span.start < a.end + NEAR)
    });
}
