//! Organisations: names found by patterns and cues, next to people and in signature blocks,
//! then fused with the people the model found (a firm named after its partners keeps their
//! surnames; a list of people is no firm).

use crate::redact::Span;

use super::super::candidate::{Candidate, Source, Target};
use super::super::decode::Kind;
use super::super::lexicon::{L, Lexicon};
use super::super::org::{OrgCue, OrgFinder, OrgHit};
use super::{Ctx, Work};

/// The score of a person named in a list after a colon ("our founders: Kovacs, Berg and
/// Lind").
const LISTED_PERSON_SCORE: f32 = 0.6;

/// Names before a legal form, partners' names, names after or before a cue.
pub(super) fn patterns(ctx: &Ctx<'_>, work: &mut Work) {
    ctx.orgs.find(ctx.text, work.current, &mut work.orgs);
}

/// The capitalised name right after `joint ` at `at`, when `text` before `at` ends with
/// one of the lexicon's `employer_joints` after a space: "Ana Lima of [Quillfeather]".
pub(super) fn employer_after(lexicon: &Lexicon, orgs: &OrgFinder, text: &str, span: Span) -> bool {
    let before = text.get(..span.start).unwrap_or_default();
    lexicon
        .words(L::EmployerJoints)
        .iter()
        .any(|j| before.ends_with(&format!(" {j} ")))
        && orgs.name_at(text, span.start) == Some(span)
}

/// "Ana Lima of Quillfeather", "Ana Lima at Quillfeather", "Quillfeather's Ana Lima": the
/// capitalised name next to a person is where they work.
pub(super) fn near_people(ctx: &Ctx<'_>, work: &mut Work) {
    let text = ctx.text;
    let finder = ctx.orgs;
    let found = &work.out;
    // A lone word the model took for a name may still be the firm ("Evans-Bonilla's Ana
    // Lima"); the fusion decides.
    let taken = |span: &Span| {
        found
            .iter()
            .any(|c| c.span.overlaps(span) && !ctx.lone_word_person(c))
    };
    for c in found.iter().filter(|c| c.is_person()) {
        let after = text.get(c.span.end..).unwrap_or_default();
        for joint in ctx.lexicon.words(L::EmployerJoints) {
            let joint = format!(" {joint} ");
            if let Some(rest) = after.strip_prefix(joint.as_str()) {
                let at = c.span.end + joint.len();
                if let Some(span) = finder.name_at(text, at)
                    && !taken(&span)
                    && rest.len() >= span.len()
                {
                    work.orgs.push(OrgHit {
                        span,
                        cue: OrgCue::Context,
                        found_by: work.current,
                    });
                }
            }
        }
        if let Some(span) = finder.possessive_before(text, c.span.start)
            && !taken(&span)
        {
            work.orgs.push(OrgHit {
                span,
                cue: OrgCue::Context,
                found_by: work.current,
            });
        }
    }
}

/// A signature block: the line after a line holding only a person, when the line after it
/// starts an address or another person, names the person's organisation ("Ana
/// Lima\nQuillfeather\n12 Elm Road").
pub(super) fn signatures(ctx: &Ctx<'_>, work: &mut Work) {
    let text = ctx.text;
    let found = &work.out;
    for c in found.iter().filter(|c| c.is_person()) {
        // A full name: a lone surname at a line's end may close a list of partners.
        if !text.get(c.span.range()).is_some_and(|n| n.contains(' ')) {
            continue;
        }
        let rest = text.get(c.span.end..).unwrap_or_default();
        let Some(nl) = rest.find('\n') else {
            continue;
        };
        if !rest.get(..nl).unwrap_or_default().trim().is_empty() {
            continue;
        }
        let line_start = c.span.end + nl + 1;
        let line = text.get(line_start..).unwrap_or_default();
        let line_len = line.find('\n').unwrap_or(line.len());
        let next_start = line_start + line_len + 1;
        let starts_address = found.iter().any(|a| {
            matches!(a.kind, Target::Model(Kind::Address | Kind::Person))
                && a.span.start >= next_start
                && text
                    .get(next_start..a.span.start)
                    .is_some_and(|g| g.chars().all(|ch| !ch.is_alphanumeric()))
        });
        if !starts_address {
            continue;
        }
        // Skip quote marks and bullets at the line start.
        let lead = line.len()
            - line
                .trim_start_matches(|ch: char| !ch.is_alphanumeric())
                .len();
        let Some(span) = ctx.orgs.name_at(text, line_start + lead) else {
            continue;
        };
        let line_end = line_start + line_len;
        let tail = text.get(span.end..line_end).unwrap_or_default();
        if tail.trim().is_empty()
            && !found
                .iter()
                .any(|f| f.span.overlaps(&span) && !ctx.lone_word_person(f))
        {
            work.orgs.push(OrgHit {
                span,
                cue: OrgCue::Context,
                found_by: work.current,
            });
        }
    }
}

/// "our founders: Kovacs, Berg and Lind" lists people; it is not a firm's name. A partners'
/// name after a colon whose items name people is set aside: its items become people when
/// the organisations are fused.
pub(super) fn listed_people(ctx: &Ctx<'_>, work: &mut Work) {
    let text = ctx.text;
    let people: Vec<Span> = people(work);
    let mut listed = Vec::new();
    work.orgs.retain(|o| {
        let names_people = o.cue == OrgCue::Partners
            && after_colon(text, o.span.start)
                .is_some_and(|after_noun| names_people(ctx, o.span, &people, after_noun));
        if names_people {
            listed.extend(list_items(ctx.lexicon, text, o.span));
        }
        !names_people
    });
    let current = work.current;
    work.listed
        .extend(listed.into_iter().map(|span| (span, current)));
}

/// "Sectioning, Mounting, and Imaging" is a heading, not a firm: a partners' name needs half
/// its items to end with a surname or a given name of the census lists ("Barnett, Melton and
/// Garcia").
pub(super) fn named_partners(ctx: &Ctx<'_>, work: &mut Work) {
    let gaz = ctx.gazetteers;
    work.orgs.retain(|o| {
        if o.cue != OrgCue::Partners {
            return true;
        }
        let items = list_items(ctx.lexicon, ctx.text, o.span);
        let named = items
            .iter()
            .filter(|item| {
                let value = ctx.text.get(item.range()).unwrap_or_default();
                let last = value.rsplit(char::is_whitespace).next().unwrap_or_default();
                gaz.is_surname(last) || gaz.is_given_name(last)
            })
            .count();
        !items.is_empty() && named * 2 >= items.len()
    });
}

fn people(work: &Work) -> Vec<Span> {
    work.out
        .iter()
        .filter(|c| c.is_person())
        .map(|c| c.span)
        .collect()
}

/// The organisation names become findings. Against the people the model found: "Jeremy Hale
/// of Brightwater Ltd" starts after the person; a lone word the model took for a name, which
/// a cue calls a firm ("works for Ellis-Ingram"), is the firm; surnames inside a legal-form or
/// partners' name are part of it ("Fernandez Inc."); otherwise a person wins. Then the people
/// a list named (see `listed-people`) are added where nothing else was found.
pub(super) fn fuse(ctx: &Ctx<'_>, work: &mut Work) {
    let text = ctx.text;
    let people = people(work);
    let mut drop_people = Vec::new();
    let hits = std::mem::take(&mut work.orgs);
    for mut o in hits {
        // A public body's name is masked whole where the model masked a part of it (a place
        // or a person in "Ankara State Security Court"), and left to the model elsewhere:
        // courts and ministries name no one by themselves.
        if o.cue == OrgCue::Institution
            && !work.out.iter().any(|c| {
                c.span.overlaps(&o.span)
                    && matches!(c.kind, Target::Model(Kind::Location | Kind::Person))
            })
        {
            continue;
        }
        // "Jeremy Hale of Brightwater Ltd": the organisation starts after the person. With
        // no joint ("Galorath Incorporated"), the person's word is the firm's name.
        if let Some(p) = people
            .iter()
            .find(|p| p.start <= o.span.start && p.end > o.span.start && p.end < o.span.end)
        {
            let after = text.get(p.end..o.span.end).unwrap_or_default();
            let skip = after.len() - after.trim_start_matches([' ', ',']).len();
            let rest = after.get(skip..).unwrap_or_default();
            // "Thomas and Sons" is one name: a conjunction is no joint before a legal form.
            let joint = ctx
                .lexicon
                .words(L::EmployerJoints)
                .iter()
                .chain(
                    if matches!(
                        o.cue,
                        OrgCue::LegalForm | OrgCue::FirmWord | OrgCue::Institution
                    ) {
                        [].iter()
                    } else {
                        ctx.lexicon.words(L::Conjunctions).iter()
                    },
                )
                .map(|j| format!("{j} "))
                .find(|j| rest.starts_with(j.as_str()));
            if let Some(joint) = joint {
                o.span = Span::new(p.end + skip + joint.len(), o.span.end);
                if o.span.is_empty() {
                    continue;
                }
            }
        }
        let overlapping: Vec<&Span> = people.iter().filter(|p| p.overlaps(&o.span)).collect();
        if !overlapping.is_empty() {
            let holds_all = overlapping
                .iter()
                .all(|p| p.start >= o.span.start && p.end <= o.span.end);
            // A lone word the model took for a name, which a cue calls a firm, unless it is a
            // known given name. A given name alone still yields to a longer firm name
            // ("Thomas and Sons").
            let lone_words = overlapping.iter().all(|p| {
                ctx.lone_word(**p)
                    || (p.len() < o.span.len()
                        && !text.get(p.range()).unwrap_or_default().contains(' '))
            });
            let firm_wins = holds_all
                && match o.cue {
                    // "Fernandez Inc.", "Davis, Reynolds and Williamson": surnames are part
                    // of the firm's name.
                    OrgCue::LegalForm
                    | OrgCue::Partners
                    | OrgCue::FirmWord
                    | OrgCue::Institution => true,
                    OrgCue::Context => lone_words,
                };
            if !firm_wins {
                // A list of people is not a firm.
                continue;
            }
            drop_people.extend(overlapping.into_iter().copied());
        }
        let mut c = Candidate::new(o.span, Target::Organization, o.cue.score(), Source::Pattern);
        c.pass = Some(o.found_by);
        work.out.push(c);
    }
    for (span, found_by) in std::mem::take(&mut work.listed) {
        if !work.out.iter().any(|c| c.span.overlaps(&span)) {
            let mut c = Candidate::new(
                span,
                Target::Model(Kind::Person),
                LISTED_PERSON_SCORE,
                Source::Context,
            );
            c.pass = Some(found_by);
            work.out.push(c);
        }
    }
    work.out
        .retain(|c| !(c.is_person() && drop_people.contains(&c.span)));
}

/// Organisations among themselves: of two overlapping, the better-scored (then longer) stays,
/// so no fragment of the other is left to redact. A place inside an organisation's name is
/// the organisation's.
pub(super) fn resolve(_ctx: &Ctx<'_>, work: &mut Work) {
    let out = &mut work.out;
    let mut orgs: Vec<Candidate> = out
        .iter()
        .filter(|c| c.kind == Target::Organization)
        .copied()
        .collect();
    orgs.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.span.len().cmp(&a.span.len()))
            .then(a.span.start.cmp(&b.span.start))
    });
    let mut kept: Vec<Candidate> = Vec::with_capacity(orgs.len());
    for o in orgs {
        if !kept.iter().any(|k| k.span.overlaps(&o.span)) {
            kept.push(o);
        }
    }
    out.retain(|c| {
        if c.kind == Target::Organization {
            return false;
        }
        // A place inside a firm's name ("Bank of America", a model "city" in "works at
        // Quillfeather") is the firm's.
        let place = c.kind == Target::Model(Kind::Location);
        !(place
            && kept
                .iter()
                .any(|k| k.span.start <= c.span.start && c.span.end <= k.span.end))
    });
    out.extend(kept);
}

/// What introduces the text at `at` when a colon does: `Some(true)` after a common noun or a
/// number ("our founders:", "they had 6:"), `Some(false)` after a capitalised name inside a line
/// ("the home city Arlon:"), `None` without a colon.
fn after_colon(text: &str, at: usize) -> Option<bool> {
    let head = text
        .get(..at)?
        .trim_end_matches([' ', '\t'])
        .strip_suffix(':')?;
    let line = head.rsplit('\n').next().unwrap_or_default();
    let word = line.rsplit([' ', '\t']).next().unwrap_or_default();
    let first_on_line = line.trim_start().len() == word.len();
    Some(first_on_line || !word.starts_with(char::is_uppercase))
}

/// The items of "A, B and C" / "A & B" (the joining words are the lexicon's `conjunctions`).
fn list_items(lexicon: &Lexicon, text: &str, span: Span) -> Vec<Span> {
    let Some(s) = text.get(span.range()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut offset = 0;
    for part in s.split_inclusive([',', '&']) {
        let mut item = part.trim_end_matches([',', '&']);
        let mut lead = 0;
        'joints: for c in lexicon.words(L::Conjunctions) {
            for joint in [format!(" {c} "), format!("{c} ")] {
                if let Some(i) = item.find(joint.as_str()) {
                    // "Berg and Lind" inside the last part: two items.
                    let (a, b) = (
                        item.get(..i).unwrap_or_default(),
                        item.get(i + joint.len()..).unwrap_or_default(),
                    );
                    push_item(&mut out, span.start + offset, a);
                    lead = i + joint.len();
                    item = b;
                    break 'joints;
                }
            }
        }
        push_item(&mut out, span.start + offset + lead, item);
        offset += part.len();
    }
    out
}

fn push_item(out: &mut Vec<Span>, at: usize, item: &str) {
    let lead = item.len() - item.trim_start().len();
    let body = item.trim();
    if body.starts_with(char::is_uppercase) {
        out.push(Span::new(at + lead, at + lead + body.len()));
    }
}

/// Is a list one of people? After a common noun ("our founders:") one item the model took
/// for a person or a known given name is enough; after a name ("the home city Arlon:"), at
/// least half the items must be.
fn names_people(ctx: &Ctx<'_>, list: Span, people: &[Span], after_noun: bool) -> bool {
    let items = list_items(ctx.lexicon, ctx.text, list);
    let named = items
        .iter()
        .filter(|item| {
            people.iter().any(|p| p.overlaps(item))
                || ctx
                    .gazetteers
                    .is_given_name(ctx.text.get(item.range()).unwrap_or_default())
        })
        .count();
    if after_noun {
        named > 0
    } else {
        !items.is_empty() && named * 2 >= items.len()
    }
}

/// An acronym defined in the text after an organisation's name ("the Nationalist Party
/// (BNP)", "the Employment Appeal Tribunal (“EAT”)") names the same organisation wherever it
/// recurs: each whole-word use of it becomes the organisation too, so that "the BNP" later in
/// the text does not give away what the placeholder hid.
pub(super) fn defined_acronyms(ctx: &Ctx<'_>, work: &mut Work) {
    let text = ctx.text;
    let mut defined: Vec<(String, f32)> = Vec::new();
    for c in work.out.iter().filter(|c| c.kind == Target::Organization) {
        if let Some(acronym) = acronym_after(text, c.span.end)
            && !defined.iter().any(|(a, _)| *a == acronym)
        {
            defined.push((acronym, c.score));
        }
    }
    for (acronym, score) in defined {
        for (at, _) in text.match_indices(acronym.as_str()) {
            let span = Span::new(at, at + acronym.len());
            let alone = !text
                .get(..at)
                .unwrap_or_default()
                .ends_with(char::is_alphanumeric)
                && !text
                    .get(span.end..)
                    .unwrap_or_default()
                    .starts_with(char::is_alphanumeric);
            if alone && !work.out.iter().any(|c| c.span.overlaps(&span)) {
                work.out.push(Candidate::new(
                    span,
                    Target::Organization,
                    score,
                    Source::Context,
                ));
            }
        }
    }
}

/// The acronym written in brackets right after byte `end` ("(BNP)", "(“EAT”)", "(the ECJ)"):
/// two to eight capital letters, digits or `&`, at least two of them letters.
fn acronym_after(text: &str, end: usize) -> Option<String> {
    let rest = text.get(end..)?.trim_start_matches([' ', '\t']);
    let inner = rest.strip_prefix('(')?;
    let close = inner.find(')')?;
    let inside = inner
        .get(..close)?
        .trim()
        .trim_start_matches("the ")
        .trim_matches(['"', '\'', '“', '”', '‘', '’']);
    let letters = inside.chars().filter(char::is_ascii_uppercase).count();
    ((2..=8).contains(&inside.chars().count())
        && letters >= 2
        && inside
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '&'))
    .then(|| inside.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colons_introduce_lists_after_nouns_and_labels_after_names() {
        let l = Lexicon::default();
        let text = "our founders: Berg, Lind and Okafor";
        let at = text.find("Berg").expect("list");
        assert_eq!(after_colon(text, at), Some(true));
        let text = "the home city Arlon: Berg, Lind and Okafor";
        let at = text.find("Berg").expect("list");
        assert_eq!(after_colon(text, at), Some(false));
        assert_eq!(after_colon("Members: Berg", 9), Some(true));
        assert_eq!(after_colon("we met Berg", 7), None);
        let items: Vec<&str> = list_items(&l, text, Span::new(at, text.len()))
            .iter()
            .map(|s| &text[s.range()])
            .collect();
        assert_eq!(items, ["Berg", "Lind", "Okafor"]);
    }
}
