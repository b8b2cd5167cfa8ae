//! The NER detector's word lists: a reviewer-owned TOML file, compiled in as the default.
//!
//! Every word a pass of the NER detector reads — sentence openers, words naming an identifier,
//! eponym nouns, unit words, legal forms, organisation cues — is data in a [`Lexicon`], never a
//! literal in code. The shipped lists are `fixtures/ner/lexicon.toml`; a file of one's own
//! replaces the lists it names ([`Lexicon::with_file`]). Each list documents itself and carries
//! examples ([`Lexicon::check_examples`]): texts where the words in square brackets are what the
//! list's check looks at, with whether the check must fire.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::redact::Span;

/// The shipped lists (`fixtures/ner/lexicon.toml`).
const DEFAULT: &str = include_str!("../../fixtures/ner/lexicon.toml");

/// What a list's examples are checked against: the check of the pass that reads the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// The bracketed word is a common sentence opener.
    Opener,
    /// A word naming an identifier stands near the bracketed code.
    IdentifierNamed,
    /// The bracketed model name keeps its lower-case words (it is not cut at them).
    NameKeptWhole,
    /// The bracketed word is shaped like a name.
    NameShaped,
    /// The bracketed word is a particle inside a person's name.
    PersonParticle,
    /// The bracketed country or demonym is named as a party or a government.
    StateParty,
    /// The bracketed word is an eponym (an eponym noun follows it).
    Eponym,
    /// The bracketed numbers read as a measure, not an address.
    Measure,
    /// The bracketed dotted number is a version (a version word names it).
    Version,
    /// A word before the bracketed number names it as no phone number.
    NumberRole,
    /// The bracketed place stands alone (no other name next to it).
    PlaceAlone,
    /// The bracketed word in capitals is a place, not an acronym.
    CapitalsPlace,
    /// The bracketed word is a country name that is also a common word.
    CommonWordCountry,
    /// Everything before the brackets joins the address that starts at them.
    AddressPrefix,
    /// The organisation patterns find exactly the bracketed name.
    Firm,
    /// The bracketed text is one capitalised name, as organisation names are read.
    OrgName,
    /// The bracketed name follows a person and a joint word naming where they work.
    Employer,
}

macro_rules! lists {
    ($( $variant:ident, $field:ident, $case:ident, $probe:ident, [$($used:literal),*]; )*) => {
        /// A list of the lexicon.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum L { $( $variant ),* }

        /// Every list: name, case rule, probe, and the passes (or stages) that read it.
        const SPECS: &[Spec] = &[ $( Spec {
            list: L::$variant,
            name: stringify!($field),
            ignore_case: $case,
            probe: Probe::$probe,
            used_by: &[$($used),*],
        } ),* ];

        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RawFile {
            version: Spanned<i64>,
            $( #[serde(default)] $field: Option<Spanned<RawList>>, )*
        }

        impl RawFile {
            fn into_lists(self) -> Vec<(L, Option<Spanned<RawList>>)> {
                vec![ $( (L::$variant, self.$field) ),* ]
            }
        }
    };
}

const EXACT: bool = false;
const ANY_CASE: bool = true;

lists! {
    Openers, openers, EXACT, Opener, ["prefilter", "plausible-people", "complete-given-names", "lift-named-people", "initialled-names", "intersections", "places", "org-patterns", "orgs-near-people", "signature-orgs", "propagate-names"];
    RequestOpeners, request_openers, EXACT, Opener, ["prefilter", "plausible-people", "complete-given-names", "lift-named-people", "initialled-names", "intersections", "places", "org-patterns", "orgs-near-people", "signature-orgs", "propagate-names"];
    IdentifierWords, identifier_words, ANY_CASE, IdentifierNamed, ["plausible-identifiers"];
    VersionWords, version_words, ANY_CASE, Version, ["plausible-identifiers", "plausible-phones"];
    NumberRoles, number_roles, ANY_CASE, NumberRole, ["plausible-phones"];
    NameParticles, name_particles, EXACT, NameKeptWhole, ["capitalised-runs"];
    NamePrefixes, name_prefixes, EXACT, NameShaped, ["plausible-people", "lift-named-people", "initialled-names"];
    PersonParticles, person_particles, EXACT, PersonParticle, ["known-names"];
    EponymHeads, eponym_heads, ANY_CASE, Eponym, ["plausible-people", "plausible-places"];
    ListWords, list_words, EXACT, Measure, ["plausible-addresses"];
    RangeWords, range_words, EXACT, Measure, ["plausible-addresses"];
    CalendarWords, calendar_words, EXACT, PlaceAlone, ["places"];
    PlacePrepositions, place_prepositions, ANY_CASE, CapitalsPlace, ["acronyms-in-prose"];
    CommonWordCountries, common_word_countries, ANY_CASE, CommonWordCountry, ["plausible-places", "places"];
    UnitWords, unit_words, ANY_CASE, AddressPrefix, ["decode", "plausible-addresses", "known-names"];
    UnitPhrases, unit_phrases, ANY_CASE, AddressPrefix, ["decode"];
    IntersectionOpeners, intersection_openers, ANY_CASE, AddressPrefix, ["decode", "intersections"];
    Conjunctions, conjunctions, EXACT, Firm, ["org-patterns", "listed-people", "named-partners", "organizations", "intersections"];
    Articles, articles, EXACT, Firm, ["org-patterns", "known-names"];
    EmployerJoints, employer_joints, EXACT, Employer, ["orgs-near-people", "organizations"];
    OrgLegalForms, org_legal_forms, EXACT, Firm, ["org-patterns"];
    OrgFirmWords, org_firm_words, EXACT, Firm, ["org-patterns"];
    OrgLegalFormsBefore, org_legal_forms_before, EXACT, Firm, ["org-patterns"];
    OrgInstitutions, org_institutions, EXACT, Firm, ["org-patterns"];
    StatePartyWords, state_party_words, ANY_CASE, StateParty, ["states-as-parties"];
    OrgLegalSuffixes, org_legal_suffixes, EXACT, Firm, ["org-patterns"];
    OrgNameJoints, org_name_joints, EXACT, OrgName, ["org-patterns", "orgs-near-people", "signature-orgs"];
    OrgEmploymentVerbs, org_employment_verbs, ANY_CASE, Firm, ["org-patterns"];
    OrgEmploymentLinks, org_employment_links, ANY_CASE, Firm, ["org-patterns"];
    OrgEmploymentPhrases, org_employment_phrases, ANY_CASE, Firm, ["org-patterns"];
    OrgRoles, org_roles, ANY_CASE, Firm, ["org-patterns"];
    OrgRoleLinks, org_role_links, ANY_CASE, Firm, ["org-patterns"];
    OrgTenures, org_tenures, ANY_CASE, Firm, ["org-patterns"];
    OrgTenureLinks, org_tenure_links, ANY_CASE, Firm, ["org-patterns"];
    OrgNouns, org_nouns, ANY_CASE, Firm, ["org-patterns"];
    OrgCuesAfter, org_cues_after, ANY_CASE, Firm, ["org-patterns"];
    OrgCopulas, org_copulas, ANY_CASE, Firm, ["org-patterns"];
    OrgKinds, org_kinds, ANY_CASE, Firm, ["org-patterns"];
    OrgCharityQualifiers, org_charity_qualifiers, ANY_CASE, Firm, ["org-patterns"];
}

struct Spec {
    list: L,
    name: &'static str,
    ignore_case: bool,
    probe: Probe,
    used_by: &'static [&'static str],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    description: String,
    words: Vec<Spanned<String>>,
    #[serde(rename = "match", default)]
    matches: Vec<Spanned<String>>,
    #[serde(default)]
    no_match: Vec<Spanned<String>>,
}

/// One example of a list: a text and the span its brackets marked.
#[derive(Clone)]
pub(crate) struct Example {
    pub(crate) text: String,
    pub(crate) span: Span,
    pub(crate) location: Location,
}

/// One list, compiled.
#[derive(Clone)]
struct WordList {
    ignore_case: bool,
    words: Vec<String>,
    set: HashSet<String>,
    description: String,
    matches: Vec<Example>,
    no_match: Vec<Example>,
    location: Location,
}

/// The NER detector's word lists.
///
/// [`Lexicon::default`] is the shipped file; [`Lexicon::with_file`] and
/// [`Lexicon::with_toml_str`] replace the lists a file of your own names. Lists are data for
/// reviewers: [`Lexicon::lists`] describes each, [`Lexicon::check_examples`] runs their
/// examples.
///
/// ```
/// use promptveil::ner::Lexicon;
///
/// let lexicon = Lexicon::default().with_toml_str(r#"
/// version = 1
/// [eponym_heads]
/// description = "Nouns after an eponym, in English and German."
/// words = ["disease", "syndrome", "krankheit"]
/// match = ["[Basedow]sche krankheit", "[Graves] disease"]
/// no_match = ["[Graves] called"]
/// "#, None)?;
/// let eponyms = lexicon.lists().find(|l| l.name() == "eponym_heads").expect("a list");
/// assert_eq!(eponyms.words().len(), 3);
/// // "[Basedow]sche krankheit" is no eponym to the check: the noun must follow the name.
/// assert_eq!(lexicon.check_examples().len(), 1);
///
/// let err = Lexicon::default().with_toml_str("version = 1\n[eponym]\n", None).unwrap_err();
/// assert!(err.to_string().contains("unknown field `eponym`"), "{err}");
/// # Ok::<(), promptveil::Error>(())
/// ```
#[derive(Clone)]
pub struct Lexicon {
    lists: Vec<WordList>,
    /// Every opener, of both opener lists.
    openers: HashSet<String>,
}

impl fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lexicon")
            .field("lists", &self.lists.len())
            .field(
                "words",
                &self.lists.iter().map(|l| l.words.len()).sum::<usize>(),
            )
            .finish_non_exhaustive()
    }
}

impl Default for Lexicon {
    /// The shipped lists, `fixtures/ner/lexicon.toml`.
    fn default() -> Lexicon {
        // The shipped file is compiled in and checked by a unit test, so it parses. Were it
        // ever not to, the lists would be empty: [`NerDetector::load`](super::NerDetector)
        // reads it through `shipped`, which reports the error instead.
        Lexicon::shipped().unwrap_or_else(|_| Lexicon {
            lists: Vec::new(),
            openers: HashSet::new(),
        })
    }
}

/// A read-only view of one list, for inventories.
#[derive(Clone, Copy)]
pub struct LexiconList<'a> {
    spec: &'static Spec,
    list: &'a WordList,
}

impl fmt::Debug for LexiconList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LexiconList")
            .field("name", &self.spec.name)
            .field("words", &self.list.words.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl<'a> LexiconList<'a> {
    /// The list's name in the file (`eponym_heads`).
    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    /// What the list is for, as its file says.
    pub fn description(&self) -> &'a str {
        &self.list.description
    }

    /// Its words, as written (in lower case for lists compared ignoring case).
    pub fn words(&self) -> &'a [String] {
        &self.list.words
    }

    /// True when words are compared ignoring case.
    pub fn ignores_case(&self) -> bool {
        self.spec.ignore_case
    }

    /// The passes (and stages: `prefilter`, `decode`) that read it.
    pub fn used_by(&self) -> &'static [&'static str] {
        self.spec.used_by
    }

    /// Where the list is written.
    pub fn location(&self) -> &'a Location {
        &self.list.location
    }

    /// Its examples: `(text with brackets, must match)`.
    pub fn examples(&self) -> impl Iterator<Item = (String, bool)> + 'a {
        let show = |e: &Example| {
            let mut s = e.text.clone();
            s.insert(e.span.end, ']');
            s.insert(e.span.start, '[');
            s
        };
        self.list
            .matches
            .iter()
            .map(move |e| (show(e), true))
            .chain(self.list.no_match.iter().map(move |e| (show(e), false)))
    }
}

/// A list example whose check did not come out as it says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LexiconFailure {
    /// The list.
    pub list: &'static str,
    /// The example, brackets included (lexicon text, never user data).
    pub example: String,
    /// True when the example is a `match` that did not fire; false for a `no_match` that did.
    pub expected_match: bool,
    /// Where the example is written.
    pub location: Location,
}

impl fmt::Display for LexiconFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.expected_match {
            "should match but does not"
        } else {
            "should not match but does"
        };
        write!(
            f,
            "{}: list `{}`: {what}: {:?}",
            self.location, self.list, self.example
        )
    }
}

impl Lexicon {
    /// A digest of every list's words, in order, and whether it ignores case: the same lists
    /// give the same digest (for the audit trail).
    pub(crate) fn digest(&self) -> String {
        let flags: Vec<[u8; 1]> = self
            .lists
            .iter()
            .map(|l| [u8::from(l.ignore_case)])
            .collect();
        crate::digest::of(self.lists.iter().zip(&flags).flat_map(|(l, f)| {
            std::iter::once(f.as_slice()).chain(l.words.iter().map(String::as_bytes))
        }))
    }

    /// The shipped lists, or the error that keeps them from loading.
    ///
    /// # Errors
    ///
    /// As [`Lexicon::with_toml_str`], were the compiled-in file ever broken.
    pub fn shipped() -> Result<Lexicon> {
        parse(DEFAULT, Some(Path::new("fixtures/ner/lexicon.toml")), None)
    }

    /// The shipped lists with those of `path` in their place.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the file cannot be read; else as [`Lexicon::with_toml_str`].
    pub fn with_file(self, path: impl AsRef<Path>) -> Result<Lexicon> {
        let path = path.as_ref();
        let src = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        self.with_toml_str(&src, Some(path))
    }

    /// These lists with those of the TOML `src` in their place; `path` only names the file in
    /// errors.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] naming the file, line and column and the list: bad TOML, an
    /// unknown list or key, a version other than 1, an empty list or word, a word with
    /// white space around it or twice in its list, an example without one pair of brackets.
    pub fn with_toml_str(self, src: &str, path: Option<&Path>) -> Result<Lexicon> {
        // A lexicon that failed to load stands for none: the shipped lists are the base.
        let base = if self.lists.len() == SPECS.len() {
            self
        } else {
            Lexicon::shipped()?
        };
        parse(src, path, Some(base))
    }

    /// Every list, in the file's order.
    pub fn lists(&self) -> impl Iterator<Item = LexiconList<'_>> {
        SPECS
            .iter()
            .zip(&self.lists)
            .map(|(spec, list)| LexiconList { spec, list })
    }

    /// Runs every list's examples through the check of the pass that reads the list; the
    /// failures, in file order (none when every example holds).
    pub fn check_examples(&self) -> Vec<LexiconFailure> {
        let mut out = Vec::new();
        let Ok(orgs) = super::org::OrgFinder::new(self) else {
            return out;
        };
        for (spec, list) in SPECS.iter().zip(&self.lists) {
            for (examples, expected) in [(&list.matches, true), (&list.no_match, false)] {
                for e in examples {
                    let fired = super::passes::probe(spec.probe, self, &orgs, &e.text, e.span);
                    if fired != expected {
                        let mut shown = e.text.clone();
                        shown.insert(e.span.end, ']');
                        shown.insert(e.span.start, '[');
                        out.push(LexiconFailure {
                            list: spec.name,
                            example: shown,
                            expected_match: expected,
                            location: e.location.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    fn list(&self, l: L) -> Option<&WordList> {
        self.lists.get(l as usize)
    }

    /// The words of `l`, as written (lower case for lists compared ignoring case).
    pub(crate) fn words(&self, l: L) -> &[String] {
        self.list(l).map_or(&[], |list| list.words.as_slice())
    }

    /// Is `word` in `l` (ignoring case where the list does)?
    pub(crate) fn has(&self, l: L, word: &str) -> bool {
        let Some(list) = self.list(l) else {
            return false;
        };
        if list.ignore_case && word.chars().any(char::is_uppercase) {
            list.set.contains(&word.to_lowercase())
        } else {
            list.set.contains(word)
        }
    }

    /// True for a capitalised common sentence opener ("The", "What", "Please", "Summarize").
    pub(crate) fn is_opener(&self, word: &str) -> bool {
        self.openers.contains(word)
    }

    /// The words of `l` as one regex alternation, in list order, each escaped, with `space`
    /// standing for the spaces inside a phrase: `(?:works|worked)`.
    pub(crate) fn alternation(&self, l: L, space: &str) -> String {
        format!("(?:{})", self.alternatives(l, space))
    }

    /// As [`Lexicon::alternation`] without the group around it: `works|worked`. Longer
    /// words come first, so that the longest that fits is the one matched ("GmbH & Co. KG"
    /// before "GmbH").
    pub(crate) fn alternatives(&self, l: L, space: &str) -> String {
        let mut words: Vec<&String> = self.words(l).iter().collect();
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        let parts: Vec<String> = words
            .into_iter()
            .map(|w| {
                w.split(' ')
                    .map(regex_syntax::escape)
                    .collect::<Vec<_>>()
                    .join(space)
            })
            .collect();
        parts.join("|")
    }
}

/// Reads a lexicon file over `base` (the lists it does not name are kept from `base`; with no
/// base, every list must be there).
fn parse(src: &str, path: Option<&Path>, base: Option<Lexicon>) -> Result<Lexicon> {
    let here = Here { path, src };
    let at = |offset: usize| here.at(offset);
    let err = |span: Range<usize>, list: Option<&str>, msg: String| here.err(span, list, msg);
    let raw: RawFile = toml::from_str(src).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let msg = e.message().trim_end_matches('\n').replace('\n', "; ");
        Error::new(ErrorKind::Config, msg).with_location(at(offset))
    })?;
    if *raw.version.get_ref() != 1 {
        return Err(err(
            raw.version.span(),
            None,
            format!(
                "version {} is not supported (expected 1)",
                raw.version.get_ref()
            ),
        ));
    }
    let mut base = base.map(|b| b.lists.into_iter());
    let mut lists = Vec::with_capacity(SPECS.len());
    for ((l, raw_list), spec) in raw.into_lists().into_iter().zip(SPECS) {
        let kept = base.as_mut().and_then(Iterator::next);
        let Some(raw_list) = raw_list else {
            match kept {
                Some(k) => {
                    lists.push(k);
                    continue;
                }
                None => {
                    return Err(err(
                        0..0,
                        Some(spec.name),
                        "missing (the shipped lexicon defines every list)".into(),
                    ));
                }
            }
        };
        debug_assert_eq!(l, spec.list);
        lists.push(compile_list(spec, raw_list, &here)?);
    }
    let openers = [L::Openers, L::RequestOpeners]
        .iter()
        .filter_map(|l| lists.get(*l as usize))
        .flat_map(|list| list.words.iter().cloned())
        .collect();
    Ok(Lexicon { lists, openers })
}

/// Locations and errors in the file being read.
struct Here<'a> {
    path: Option<&'a Path>,
    src: &'a str,
}

impl Here<'_> {
    fn at(&self, offset: usize) -> Location {
        Location::from_offset(self.path, self.src, offset)
    }

    /// A configuration error at `span`, naming the list when there is one.
    fn err(&self, span: Range<usize>, list: Option<&str>, msg: String) -> Error {
        let msg = match list {
            Some(l) => format!("list `{l}`: {msg}"),
            None => msg,
        };
        Error::new(ErrorKind::Config, msg).with_location(self.at(span.start))
    }
}

fn compile_list(spec: &Spec, raw: Spanned<RawList>, here: &Here<'_>) -> Result<WordList> {
    let err = |span: Range<usize>, list: Option<&str>, msg: String| here.err(span, list, msg);
    let span = raw.span();
    let raw = raw.into_inner();
    let name = Some(spec.name);
    if raw.words.is_empty() {
        return Err(err(span, name, "has no words".into()));
    }
    if raw.description.trim().is_empty() {
        return Err(err(span.clone(), name, "has no description".into()));
    }
    if raw.matches.is_empty() {
        return Err(err(
            span,
            name,
            "has no `match` example (one at least, to show what it does)".into(),
        ));
    }
    let mut words = Vec::with_capacity(raw.words.len());
    let mut set = HashSet::with_capacity(raw.words.len());
    for w in raw.words {
        let word = w.get_ref();
        if word.is_empty() {
            return Err(err(w.span(), name, "an empty word".into()));
        }
        if word.trim() != word || word.contains("  ") || word.contains(['\n', '\t']) {
            return Err(err(
                w.span(),
                name,
                format!("{word:?}: white space only between words, one space at a time"),
            ));
        }
        let word = if spec.ignore_case {
            word.to_lowercase()
        } else {
            word.clone()
        };
        if !set.insert(word.clone()) {
            return Err(err(w.span(), name, format!("{word:?} is listed twice")));
        }
        words.push(word);
    }
    let example = |e: Spanned<String>| -> Result<Example> {
        let s = e.get_ref();
        let (Some(open), Some(close)) = (s.find('['), s.find(']')) else {
            return Err(err(
                e.span(),
                name,
                format!(
                    "example {s:?} marks no words: put the words the check looks at in [brackets]"
                ),
            ));
        };
        if close < open || s.matches('[').count() != 1 || s.matches(']').count() != 1 {
            return Err(err(
                e.span(),
                name,
                format!("example {s:?} needs exactly one pair of [brackets]"),
            ));
        }
        let text = format!(
            "{}{}{}",
            s.get(..open).unwrap_or_default(),
            s.get(open + 1..close).unwrap_or_default(),
            s.get(close + 1..).unwrap_or_default()
        );
        Ok(Example {
            span: Span::new(open, close - 1),
            text,
            location: here.at(e.span().start),
        })
    };
    let matches = raw
        .matches
        .into_iter()
        .map(&example)
        .collect::<Result<Vec<_>>>()?;
    let no_match = raw
        .no_match
        .into_iter()
        .map(&example)
        .collect::<Result<Vec<_>>>()?;
    Ok(WordList {
        ignore_case: spec.ignore_case,
        location: here.at(span.start),
        words,
        set,
        description: raw.description.trim().to_string(),
        matches,
        no_match,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_lexicon_parses_and_its_examples_hold() {
        let lexicon = parse(DEFAULT, None, None).expect("lexicon.toml parses");
        assert_eq!(lexicon.lists.len(), SPECS.len());
        let failures = lexicon.check_examples();
        assert!(
            failures.is_empty(),
            "{}",
            failures
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
        for list in lexicon.lists() {
            assert!(!list.used_by().is_empty(), "{}", list.name());
            assert!(list.examples().any(|(_, m)| m), "{}", list.name());
        }
    }

    #[test]
    fn errors_name_the_list_and_line() {
        let e = Lexicon::default()
            .with_toml_str(
                "version = 1\n\n[openers]\ndescription = \"x\"\nwords = [\"The\", \"The\"]\nmatch = [\"[The] end\"]\n",
                Some(Path::new("lex.toml")),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "lex.toml:5:17: list `openers`: \"The\" is listed twice"
        );
        let e = Lexicon::default()
            .with_toml_str(
                "version = 1\n[openers]\ndescription = \"x\"\nwords = [\"The\"]\nmatch = [\"The end\"]\n",
                None,
            )
            .unwrap_err();
        assert!(e.to_string().contains("marks no words"), "{e}");
        let e = Lexicon::default()
            .with_toml_str("version = 2\n", None)
            .unwrap_err();
        assert!(e.to_string().contains("version 2"), "{e}");
        let e = Lexicon::default()
            .with_toml_str(
                "version = 1\n[openers]\ndescription = \"x\"\nwords = [\" The\"]\nmatch = [\"[The] end\"]\n",
                None,
            )
            .unwrap_err();
        assert!(e.to_string().contains("white space"), "{e}");
    }

    #[test]
    fn a_file_replaces_only_the_lists_it_names() {
        let l = Lexicon::default()
            .with_toml_str(
                "version = 1\n[unit_words]\ndescription = \"German units\"\nwords = [\"Wohnung\", \"Etage\"]\nmatch = [\"Wohnung [4]\"]\n",
                None,
            )
            .expect("parses");
        assert!(l.has(L::UnitWords, "wohnung"));
        assert!(l.has(L::UnitWords, "ETAGE"));
        assert!(!l.has(L::UnitWords, "apt"));
        assert!(l.is_opener("Please"));
        // Longer words first, so that the longest that fits is matched ("SASU" before "SAS").
        assert_eq!(
            l.alternation(L::OrgLegalFormsBefore, "[ \\t]+"),
            "(?:SELARL|SARL|EURL|SASU|SAS|SCI|SNC)"
        );
    }
}
