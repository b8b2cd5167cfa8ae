//! Organisation names: a capitalised name before a legal form (`Acme Widgets Ltd.`), a firm's
//! "A, B and C" or "A-B" name, and a capitalised name after a cue ("works at", "the company").
//!
//! The patterns' words — legal forms, joints inside names, cue words — are the lexicon's
//! `org_*` lists, `conjunctions` and `articles`; only the shape of a capitalised name is
//! written here.

use std::collections::HashSet;

use regex_automata::meta::Regex;
use regex_automata::util::captures::Captures;

use crate::error::{Error, ErrorKind, Result};
use crate::redact::Span;

use super::lexicon::{L, Lexicon};

/// How an organisation was recognised; sets the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrgCue {
    /// A legal form follows the name.
    LegalForm,
    /// A cue word or phrase precedes or follows the name.
    Context,
    /// "A, B and C" / "A & B": a firm named after its partners.
    Partners,
    /// A trade word or legal form opens the name ("Farmacia Olmedo", "SAS Atelier Roussel").
    FirmWord,
    /// A public body's name ("Ankara State Security Court"): kept only where the model found
    /// a place or a person inside it, which it then holds whole.
    Institution,
}

impl OrgCue {
    pub(crate) fn score(self) -> f32 {
        match self {
            OrgCue::LegalForm => 0.85,
            OrgCue::FirmWord | OrgCue::Institution => 0.8,
            OrgCue::Partners => 0.7,
            OrgCue::Context => 0.65,
        }
    }
}

/// An organisation name found in a text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OrgHit {
    pub(crate) span: Span,
    pub(crate) cue: OrgCue,
    /// The pass that found it.
    pub(crate) found_by: u8,
}

/// A capitalised word: upper-case letter, then letters, digits, apostrophes, dots, ampersands;
/// hyphenated parts are capitalised too ("Ellis-Ingram").
///
/// Only a word of one to three letters takes a period ("J.", "St.", "Inc.", "U.S."): after a
/// longer word a period ends the sentence, so "Fernwell Robotics. Brightpath is a charity"
/// holds two names, not one.
const CAP: &str = r"(?:\p{Lu}[\p{L}\p{M}\p{Nd}'’&]{0,2}\.(?:\p{L}\.)*|\p{Lu}[\p{L}\p{M}\p{Nd}'’&]*(?:-\p{Lu}[\p{L}\p{M}\p{Nd}'’&]*)*)";
/// The organisation patterns, compiled once per detector.
pub(crate) struct OrgFinder {
    /// A capitalised name, anchored where a search starts.
    name: Regex,
    /// A capitalised name with a possessive, at the end of the searched text.
    possessive: Regex,
    legal: Regex,
    firm_word: Regex,
    institution: Regex,
    partners: Regex,
    before: Regex,
    after: Regex,
    /// The lexicon's sentence openers, cut from the start and end of a name.
    openers: HashSet<String>,
}

impl std::fmt::Debug for OrgFinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgFinder").finish_non_exhaustive()
    }
}

fn compile(pattern: &str) -> Result<Regex> {
    Regex::new(pattern).map_err(|e| {
        Error::new(
            ErrorKind::Config,
            "an organisation pattern does not compile",
        )
        .with_source(e)
    })
}

impl OrgFinder {
    /// Compiles the patterns with the words of `lexicon`.
    pub(crate) fn new(lexicon: &Lexicon) -> Result<OrgFinder> {
        let alt = |l: L, space: &str| lexicon.alternation(l, space);
        let (ws, gap) = (r"\s+", "[ \t]+");
        let joint = alt(L::OrgNameJoints, gap);
        let name = format!(r"{CAP}(?:[ \t]+(?:{CAP}|{joint}[ \t]+{CAP})){{0,4}}");
        let conj = alt(L::Conjunctions, gap);
        let article = alt(L::Articles, ws);
        let legal = format!(
            "{}|{}",
            lexicon.alternatives(L::OrgLegalForms, gap),
            lexicon.alternatives(L::OrgLegalSuffixes, gap),
        );
        // Cues before a name: a verb and its preposition ("works at"), a phrase ("joined"), a
        // role and its preposition ("CEO of"), time spent ("a year at"), a noun ("the
        // company"), all ignoring case.
        let before_cues = format!(
            r"(?i:{}{ws}{}|{}|{}{ws}{}|{}{ws}{}|(?:{article}{ws})?{},?)",
            alt(L::OrgEmploymentVerbs, ws),
            alt(L::OrgEmploymentLinks, ws),
            lexicon.alternatives(L::OrgEmploymentPhrases, ws),
            alt(L::OrgRoles, ws),
            alt(L::OrgRoleLinks, ws),
            alt(L::OrgTenures, ws),
            alt(L::OrgTenureLinks, ws),
            alt(L::OrgNouns, ws),
        );
        // Cues after a name, possessive or not: words ("'s headquarters", "announced"), a
        // charity's tax status ("is a 501(c)(3)") and a kind of organisation ("is a design
        // agency", at most three words between).
        let copula = alt(L::OrgCopulas, ws);
        let after_cues = format!(
            r"(?:'s|’s)?\s+(?i:{}|{copula}{ws}(?:{}{ws})?501\s?\(c\)\s?\(?3\)?|{copula}{ws}(?:[\p{{L}}-]+\s+){{0,3}}{})\b",
            lexicon.alternatives(L::OrgCuesAfter, ws),
            alt(L::OrgCharityQualifiers, ws),
            alt(L::OrgKinds, ws),
        );
        Ok(OrgFinder {
            name: compile(&format!(r"(?:{name})"))?,
            possessive: compile(&format!(r"(?P<org>{name})(?:'s|’s)[ \t]+$"))?,
            legal: compile(&format!(
                r"(?:^|[^\p{{L}}\p{{Nd}}])(?P<org>{name},?[ \t]+(?:{legal})(?:\.|\b))"
            ))?,
            // A trade word or a legal form, then one to three capitalised words, and a legal
            // form after them if there is one ("Ferramenta Olmedo S.r.l.").
            firm_word: compile(&format!(
                r"(?:^|[^\p{{L}}\p{{Nd}}])(?P<org>(?:{}|{})(?:[ \t]+(?:{joint}[ \t]+)?{CAP}){{1,3}}(?:,?[ \t]+(?:{legal})(?:\.|\b))?)",
                lexicon.alternatives(L::OrgFirmWords, gap),
                lexicon.alternatives(L::OrgLegalFormsBefore, gap),
            ))?,
            // A public body: a name ending on an institution word, or an institution word
            // before "of", each going on through "of" and capitalised words.
            institution: {
                let inst = lexicon.alternatives(L::OrgInstitutions, gap);
                let of = format!(r"[ \t]+of(?:[ \t]+the)?(?:[ \t]+{CAP}){{1,4}}");
                compile(&format!(
                    r"(?:^|[^\p{{L}}\p{{Nd}}])(?P<org>{name}[ \t]+(?:{inst})\b(?:{of})?|(?:{inst}){of})"
                ))?
            },
            partners: compile(&format!(
                r"(?:^|[^\p{{L}}\p{{Nd}}])(?P<org>{CAP}(?:,[ \t]+{CAP})+,?[ \t]+(?:{conj}|&)[ \t]+{CAP}|{CAP}[ \t]+&[ \t]+{CAP})\b"
            ))?,
            before: compile(&format!(
                r"\b{before_cues}[ \t]+(?:{}[ \t]+)?(?P<org>{name})",
                alt(L::Articles, gap)
            ))?,
            after: compile(&format!(
                r"(?:^|[^\p{{L}}\p{{Nd}}])(?P<org>{name}){after_cues}"
            ))?,
            openers: lexicon
                .lists()
                .filter(|l| matches!(l.name(), "openers" | "request_openers"))
                .flat_map(|l| l.words().iter().cloned())
                .collect(),
        })
    }

    /// The capitalised name starting exactly at `at`, if one does.
    pub(crate) fn name_at(&self, text: &str, at: usize) -> Option<Span> {
        let input = regex_automata::Input::new(text)
            .span(at..text.len())
            .anchored(regex_automata::Anchored::Yes);
        let m = self.name.search(&input)?;
        let span = self.trim_name(text, Span::new(m.start(), m.end()));
        (!span.is_empty()).then_some(span)
    }

    /// The capitalised name with a possessive (`Acme's `) that ends exactly at `end`, looking
    /// back no further than the line.
    pub(crate) fn possessive_before(&self, text: &str, end: usize) -> Option<Span> {
        let line_start = text.get(..end)?.rfind('\n').map_or(0, |i| i + 1);
        let input = regex_automata::Input::new(text).span(line_start..end);
        let mut caps = self.possessive.create_captures();
        self.possessive.search_captures(&input, &mut caps);
        let g = caps.get_group_by_name("org")?;
        let span = self.trim_name(text, Span::new(g.start, g.end));
        (!span.is_empty()).then_some(span)
    }

    /// Organisation names in `text`, possibly overlapping one another, marked as found by
    /// the pass `found_by`.
    pub(crate) fn find(&self, text: &str, found_by: u8, out: &mut Vec<OrgHit>) {
        for (re, cue) in [
            (&self.legal, OrgCue::LegalForm),
            (&self.firm_word, OrgCue::FirmWord),
            (&self.institution, OrgCue::Institution),
            (&self.partners, OrgCue::Partners),
            (&self.before, OrgCue::Context),
            (&self.after, OrgCue::Context),
        ] {
            let mut caps: Captures = re.create_captures();
            let mut at = 0;
            while at <= text.len() {
                let input = regex_automata::Input::new(text).span(at..text.len());
                re.search_captures(&input, &mut caps);
                let Some(whole) = caps.get_match() else {
                    break;
                };
                if let Some(g) = caps.get_group_by_name("org") {
                    let span = self.trim_name(text, Span::new(g.start, g.end));
                    let names = cue != OrgCue::Partners
                        || text.get(span.range()).is_some_and(partner_names);
                    if !span.is_empty() && names {
                        out.push(OrgHit {
                            span,
                            cue,
                            found_by,
                        });
                    }
                }
                at = if whole.end() > at {
                    whole.end()
                } else {
                    next_char(text, at)
                };
            }
        }
    }

    /// Drops a leading opener ("The") and trailing lower-case joints or punctuation from a name.
    fn trim_name(&self, text: &str, span: Span) -> Span {
        let Some(s) = text.get(span.range()) else {
            return span;
        };
        let mut start = span.start;
        let mut body = s;
        // Sentence openers and articles are not part of the name ("The", "When Acme ...").
        while let Some((first, rest)) = body.split_once([' ', '\t']) {
            if !self.is_opener(first) {
                break;
            }
            start += first.len() + 1;
            body = rest.trim_start_matches([' ', '\t']);
            start += rest.len() - body.len();
        }
        // A name does not run past a sentence end: "Acme Ltd. Please ..." stops after "Ltd.".
        let mut offset = 0;
        for word in body.split(' ') {
            if word.ends_with('.') {
                let next = body.get(offset + word.len() + 1..).unwrap_or_default();
                let next_word = next.split(' ').next().unwrap_or_default();
                if self.is_opener(next_word) {
                    body = body.get(..offset + word.len()).unwrap_or(body);
                    break;
                }
            }
            offset += word.len() + 1;
        }
        if self.is_opener(body.trim_end()) {
            return Span::new(start, start);
        }
        let mut trimmed = body.trim_end_matches([',', ' ', '\t']);
        for possessive in ["'s", "\u{2019}s"] {
            trimmed = trimmed.strip_suffix(possessive).unwrap_or(trimmed);
        }
        Span::new(start, start + trimmed.len())
    }

    fn is_opener(&self, word: &str) -> bool {
        self.openers.contains(word)
    }
}

/// Could a list be partners' names ("Barnett, Melton and Garcia")? Not when an item holds a
/// digit or is an acronym: "Rad9, Rad17 and Rad51", "HERP, GRP78 and CHOP" list genes.
fn partner_names(list: &str) -> bool {
    list.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .filter(|w| !w.is_empty() && *w != "and")
        .all(|w| {
            !w.contains(|c: char| c.is_ascii_digit())
                && (w.chars().filter(|c| c.is_alphabetic()).count() < 2
                    || w.chars().any(char::is_lowercase))
        })
}

fn next_char(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|s| s.chars().next())
        .map_or(text.len() + 1, |c| at + c.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gene_lists_are_not_partners() {
        assert!(partner_names("Barnett, Melton and Garcia"));
        assert!(partner_names("Ernst & Young"));
        assert!(!partner_names("Rad9, Rad17 and Rad51"));
        assert!(!partner_names("HERP, GRP78 and CHOP"));
    }

    fn found(text: &str) -> Vec<(String, OrgCue)> {
        let f = OrgFinder::new(&Lexicon::default()).expect("patterns compile");
        let mut out = Vec::new();
        f.find(text, 0, &mut out);
        out.into_iter()
            .map(|h| (text[h.span.range()].to_string(), h.cue))
            .collect()
    }

    #[test]
    fn a_period_after_a_long_word_ends_the_name() {
        let hits = found("An internship at Fernwell Robotics. Brightpath is a charity.");
        assert!(
            hits.contains(&("Fernwell Robotics".to_string(), OrgCue::Context)),
            "{hits:?}"
        );
        assert!(
            hits.contains(&("Brightpath".to_string(), OrgCue::Context)),
            "{hits:?}"
        );
        let hits = found("He joined J. P. Morgan and works for Tallow Bros. in Leeds.");
        assert!(
            hits.contains(&("J. P. Morgan".to_string(), OrgCue::Context)),
            "{hits:?}"
        );
    }

    #[test]
    fn legal_forms_partners_and_cues() {
        assert!(
            found("Invoices from Brightwater Analytics Ltd. are late")
                .contains(&("Brightwater Analytics Ltd.".to_string(), OrgCue::LegalForm))
        );
        assert!(
            found("a letter from Hale, Moreno and Quist arrived")
                .iter()
                .any(|(s, c)| s == "Hale, Moreno and Quist" && *c == OrgCue::Partners)
        );
        assert!(
            found("She works at Quillfeather since May")
                .iter()
                .any(|(s, _)| s == "Quillfeather")
        );
        assert!(
            found("When Tidewell's headquarters moved")
                .iter()
                .any(|(s, _)| s == "Tidewell")
        );
        assert!(found("nothing to see here, the weather is fine").is_empty());
    }
}
