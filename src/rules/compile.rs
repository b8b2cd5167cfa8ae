//! Compiling rule patterns: size limits for untrusted input, and the multi-pattern matcher.
//!
//! Rule patterns come from files written by people, so they are treated as untrusted input:
//! each pattern is at most [`MAX_PATTERN_BYTES`] long, nests at most [`NEST_LIMIT`] deep, and
//! compiles to an automaton of at most [`NFA_SIZE_LIMIT`] bytes. A pattern such as
//! `(a{1000}){1000}` is rejected in milliseconds instead of compiling for minutes. Matching is
//! linear in the text for every accepted pattern (regex-automata has no backtracking blow-up).
//!
//! Word boundaries (`\b`, `\B`, `\<`, `\>`) in rule patterns are ASCII word boundaries: a
//! letter outside ASCII counts as a non-word character. Unicode word boundaries cannot run in
//! the fast DFA engines on non-ASCII text; with ASCII boundaries every pattern stays on the
//! DFA path, which is what keeps redaction in the tens of MB/s.

use std::sync::{Mutex, PoisonError};

use regex_automata::hybrid::dfa::{Cache, DFA, OverlappingState};
use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchError, MatchKind, PatternID};
use regex_syntax::hir::{self, Hir, HirKind, Look};

use crate::redact::Span;

/// Longest accepted pattern, in bytes.
pub const MAX_PATTERN_BYTES: usize = 4096;
/// Deepest accepted nesting of groups and repetitions.
pub const NEST_LIMIT: u32 = 64;
/// Largest accepted compiled automaton for one pattern, in bytes.
pub const NFA_SIZE_LIMIT: usize = 2 << 20;
/// Most patterns one rule set may hold.
pub const MAX_PATTERNS: usize = 4096;

/// Parses and checks one pattern, returning its HIR with ASCII word boundaries.
pub(crate) fn parse_pattern(pattern: &str) -> Result<Hir, String> {
    if pattern.is_empty() {
        return Err("empty pattern".into());
    }
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(format!(
            "pattern is {} bytes long; the limit is {MAX_PATTERN_BYTES}",
            pattern.len()
        ));
    }
    let hir = regex_syntax::ParserBuilder::new()
        .nest_limit(NEST_LIMIT)
        .build()
        .parse(pattern)
        .map_err(|e| syntax_error_message(&e))?;
    let hir = ascii_word_boundaries(&hir);
    if hir.properties().minimum_len() == Some(0) {
        return Err("pattern can match empty text".into());
    }
    Ok(hir)
}

/// One line describing a syntax error, with the 1-based column inside the pattern.
fn syntax_error_message(err: &regex_syntax::Error) -> String {
    match err {
        regex_syntax::Error::Parse(e) => {
            format!(
                "invalid pattern: {} (at pattern column {})",
                e.kind(),
                e.span().start.column
            )
        }
        regex_syntax::Error::Translate(e) => {
            format!(
                "invalid pattern: {} (at pattern column {})",
                e.kind(),
                e.span().start.column
            )
        }
        _ => "invalid pattern".into(),
    }
}

/// Rewrites every Unicode word-boundary assertion into its ASCII twin.
fn ascii_word_boundaries(h: &Hir) -> Hir {
    match h.kind() {
        HirKind::Look(look) => Hir::look(match look {
            Look::WordUnicode => Look::WordAscii,
            Look::WordUnicodeNegate => Look::WordAsciiNegate,
            Look::WordStartUnicode => Look::WordStartAscii,
            Look::WordEndUnicode => Look::WordEndAscii,
            Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
            Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
            other => *other,
        }),
        HirKind::Repetition(rep) => Hir::repetition(hir::Repetition {
            min: rep.min,
            max: rep.max,
            greedy: rep.greedy,
            sub: Box::new(ascii_word_boundaries(&rep.sub)),
        }),
        HirKind::Capture(cap) => Hir::capture(hir::Capture {
            index: cap.index,
            name: cap.name.clone(),
            sub: Box::new(ascii_word_boundaries(&cap.sub)),
        }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(ascii_word_boundaries).collect()),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(ascii_word_boundaries).collect())
        }
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) => h.clone(),
    }
}

fn meta_config() -> meta::Config {
    meta::Config::new()
        .nfa_size_limit(Some(NFA_SIZE_LIMIT))
        .dfa_size_limit(Some(NFA_SIZE_LIMIT))
}

/// One compiled pattern and where its sensitive value sits.
#[derive(Debug)]
pub(crate) struct CompiledPattern {
    pub(crate) regex: Regex,
    /// Capture index of the group named `value`, when the pattern has one: only that group
    /// is the sensitive value (`password=(?P<value>\S+)` keeps `password=` in the text).
    pub(crate) value_group: Option<usize>,
    /// Index of the rule this pattern belongs to, in the rule set.
    pub(crate) rule: usize,
    /// The longest match the pattern can make, in bytes, when bounded.
    pub(crate) max_len: Option<usize>,
}

/// Compiles a checked HIR into one pattern.
pub(crate) fn compile_pattern(hir: &Hir, rule: usize) -> Result<CompiledPattern, String> {
    let regex = Regex::builder()
        .syntax(syntax::Config::new())
        .configure(meta_config())
        .build_from_hir(hir)
        .map_err(|e| match e.size_limit() {
            Some(limit) => format!("pattern is too large: it compiles past the {limit}-byte limit"),
            None => format!("pattern does not compile: {e}"),
        })?;
    let value_group = regex.group_info().to_index(PatternID::ZERO, "value");
    Ok(CompiledPattern {
        regex,
        value_group,
        rule,
        max_len: hir.properties().maximum_len(),
    })
}

/// All patterns of a rule set, searched together by one automaton.
///
/// One forward pass of a lazy DFA holding every pattern reports each place where some
/// pattern's match ends (overlapping, all patterns at once). For each pattern, the first
/// reported end past the previous match is turned into a match: a reverse anchored search
/// finds its leftmost start, then a forward anchored search from that start gives the
/// leftmost-first match — the same span the pattern's own `find_iter` would give for ordinary
/// patterns. The cost grows with the number of matches, not with the number of patterns
/// times the length of the text, and a text without sensitive data costs one pass.
///
/// When the joint automaton cannot be built (too large) or a search cannot complete, every
/// pattern is searched on its own instead: slower, equally correct.
#[derive(Debug)]
pub(crate) struct Matcher {
    joint: Option<Joint>,
    pub(crate) patterns: Vec<CompiledPattern>,
}

#[derive(Debug)]
struct Joint {
    fwd: DFA,
    rev: DFA,
    caches: Mutex<Vec<(Cache, Cache)>>,
}

/// Lazy DFA transition-table budget for the joint automata, per direction and thread.
const JOINT_CACHE_BYTES: usize = 8 << 20;

impl Joint {
    fn new(hirs: &[Hir]) -> Option<Joint> {
        let compile = |reverse: bool| {
            thompson::Compiler::new()
                .configure(
                    thompson::Config::new()
                        .reverse(reverse)
                        .which_captures(WhichCaptures::None)
                        .nfa_size_limit(Some(NFA_SIZE_LIMIT.saturating_mul(16))),
                )
                .build_many_from_hir(hirs)
                .ok()
        };
        let config = || {
            DFA::config()
                .match_kind(MatchKind::All)
                .cache_capacity(JOINT_CACHE_BYTES)
                .skip_cache_capacity_check(true)
        };
        let fwd = DFA::builder()
            .configure(config())
            .build_from_nfa(compile(false)?)
            .ok()?;
        let rev = DFA::builder()
            .configure(config().starts_for_each_pattern(true))
            .build_from_nfa(compile(true)?)
            .ok()?;
        Some(Joint {
            fwd,
            rev,
            caches: Mutex::new(Vec::new()),
        })
    }
}

impl Matcher {
    pub(crate) fn new(hirs: &[Hir], patterns: Vec<CompiledPattern>) -> Matcher {
        let joint = if hirs.is_empty() {
            None
        } else {
            Joint::new(hirs)
        };
        Matcher { joint, patterns }
    }

    /// True when the joint automaton is in use (not the per-pattern fallback).
    #[cfg(test)]
    pub(crate) fn is_joint(&self) -> bool {
        self.joint.is_some()
    }

    /// Calls `f` with each match of each pattern in `text`. `keep(p, end)` may veto, before
    /// any further search, the match of `p` the joint automaton saw ending at `end`; it must
    /// only veto matches its caller would drop anyway.
    pub(crate) fn for_each_match(
        &self,
        text: &str,
        mut keep: impl FnMut(&CompiledPattern, usize) -> bool,
        mut f: impl FnMut(&CompiledPattern, Span),
    ) {
        if let Some(joint) = &self.joint {
            let mut caches = joint
                .caches
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
                .unwrap_or_else(|| (joint.fwd.create_cache(), joint.rev.create_cache()));
            let done = self
                .joint_matches(joint, &mut caches, text, &mut keep, &mut f)
                .is_ok();
            joint
                .caches
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(caches);
            if done {
                return;
            }
        }
        for p in &self.patterns {
            p.for_each_match(text, |span| f(p, span));
        }
    }

    fn joint_matches(
        &self,
        joint: &Joint,
        (fwd_cache, rev_cache): &mut (Cache, Cache),
        text: &str,
        keep: &mut impl FnMut(&CompiledPattern, usize) -> bool,
        f: &mut impl FnMut(&CompiledPattern, Span),
    ) -> Result<(), MatchError> {
        // Ends arrive in increasing order. For each pattern, `pos` is where its previous
        // match ended: ends at or before it belong to that match and cost one comparison.
        let mut pos = vec![0usize; self.patterns.len()];
        // Matches found before an error would be reported twice by the fallback: collect
        // them and hand them out only when every search completed.
        let mut found: Vec<(usize, Span)> = Vec::new();
        // First the whole forward pass (it keeps its automaton hot), then the matches.
        let input = Input::new(text);
        let mut state = OverlappingState::start();
        let mut ends: Vec<(usize, usize)> = Vec::new();
        loop {
            joint
                .fwd
                .try_search_overlapping_fwd(fwd_cache, &input, &mut state)?;
            match state.get_match() {
                Some(hm) => ends.push((hm.pattern().as_usize(), hm.offset())),
                None => break,
            }
        }
        // Process pattern by pattern: consecutive searches of one pattern keep its automaton
        // warm, which measured faster than taking ends in text order. The sort is stable, so
        // each pattern's ends stay increasing.
        ends.sort_by_key(|&(pid, _)| pid);
        for (pid, end) in ends {
            let (Some(p), Some(at)) = (self.patterns.get(pid), pos.get_mut(pid)) else {
                continue;
            };
            // One end may hold several matches when an earlier one stops short of it.
            while end > *at && keep(p, end) {
                let rev = Input::new(text)
                    .range(*at..end)
                    .anchored(Anchored::Pattern(PatternID::new_unchecked(pid)));
                let Some(start) = joint.rev.try_search_rev(rev_cache, &rev)? else {
                    break;
                };
                let fwd = Input::new(text)
                    .range(start.offset()..)
                    .anchored(Anchored::Yes);
                match p.regex.search(&fwd) {
                    Some(m) if !m.is_empty() => {
                        found.push((pid, Span::from(m.range())));
                        *at = m.end();
                    }
                    _ => break,
                }
            }
        }
        for (pid, span) in found {
            if let Some(p) = self.patterns.get(pid) {
                f(p, span);
            }
        }
        Ok(())
    }
}

impl CompiledPattern {
    /// Every leftmost-first match of this pattern alone.
    pub(crate) fn for_each_match(&self, text: &str, mut f: impl FnMut(Span)) {
        for m in self.regex.find_iter(text) {
            f(Span::from(m.range()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_boundaries_become_ascii() {
        let hir = parse_pattern(r"\bab\b").unwrap_or_else(|e| panic!("{e}"));
        let p = compile_pattern(&hir, 0).unwrap_or_else(|e| panic!("{e}"));
        // With an ASCII boundary, `é` is not a word character, so `ab` after it is a word.
        assert!(p.regex.is_match("éab"));
        assert!(!p.regex.is_match("xab"));
    }

    #[test]
    fn rejects_pathological_patterns_quickly() {
        for bad in [
            "(a{1000}){1000}",
            "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))",
            "[a-z]{100000}",
            r"\w{50000}",
        ] {
            let result = parse_pattern(bad).and_then(|h| compile_pattern(&h, 0));
            assert!(result.is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn rejects_empty_matching_and_reports_columns() {
        assert_eq!(
            parse_pattern("a*").err().as_deref(),
            Some("pattern can match empty text")
        );
        let err = parse_pattern("ab(c").err().unwrap_or_default();
        assert!(err.contains("column"), "{err}");
        assert!(parse_pattern("").is_err());
        assert!(parse_pattern(&"a".repeat(MAX_PATTERN_BYTES + 1)).is_err());
    }

    #[test]
    fn value_group_is_found() {
        let hir = parse_pattern(r"pw=(?P<value>\S+)").unwrap_or_else(|e| panic!("{e}"));
        let p = compile_pattern(&hir, 3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.value_group, Some(1));
        assert_eq!(p.rule, 3);
    }
}
