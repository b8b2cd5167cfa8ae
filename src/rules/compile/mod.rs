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

/// A literal every match of `hir` contains, when there is one at least `min` bytes long:
/// such a pattern is found fastest by looking for the literal first.
pub(crate) fn required_literal(hir: &Hir, min: usize) -> Option<Vec<u8>> {
    match hir.kind() {
        HirKind::Literal(lit) => (lit.0.len() >= min).then(|| lit.0.to_vec()),
        HirKind::Capture(cap) => required_literal(&cap.sub, min),
        HirKind::Repetition(rep) if rep.min >= 1 => required_literal(&rep.sub, min),
        HirKind::Concat(subs) => subs
            .iter()
            .filter_map(|s| required_literal(s, min))
            .max_by_key(Vec::len),
        // Every branch would need one; one literal for the whole pattern keeps this simple.
        _ => None,
    }
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

/// All patterns of a rule set, searched together, and the needles the rest of the rule set
/// needs found in the same pass.
///
/// Patterns that contain a literal of three bytes or more (`ghp_`, `.atlasv1.`, `://`) are
/// found through it: the scan tells which of those literals occur, and only the patterns
/// whose literal occurs are searched, each with its own literal prefilter. Putting the
/// patterns themselves in the joint automaton made its state space explode on token-like
/// text (the DFA tracks the counters of every `{36}`-style repetition at once): 0.7 MB/s,
/// against tens of MB/s this way.
///
/// Every other pattern goes into one joint automaton, together with those literals and the
/// rule set's context words (ASCII case-insensitive): pure literals add no counters, and one
/// pass then serves all three purposes. The forward pass of this lazy DFA reports each place
/// where some pattern's match ends (overlapping, all patterns at once). For each pattern,
/// the first reported end past the previous match is turned into a match: a reverse anchored
/// search finds its leftmost start, then a forward anchored search from that start gives the
/// leftmost-first match — the same span the pattern's own `find_iter` gives for ordinary
/// patterns. The cost grows with the number of matches, not with the number of patterns
/// times the length of the text, and a text without sensitive data costs one pass.
///
/// When the joint automaton cannot be built (too large) or a search cannot complete, every
/// pattern is searched on its own and the needles by Aho-Corasick: slower, equally correct.
#[derive(Debug)]
pub(crate) struct Matcher {
    joint: Option<Joint>,
    /// The literals and words, in an automaton of their own: mixed into the joint one, the
    /// words' many start points multiplied with its counters on token-like text.
    needles: Option<Needles>,
    /// Global index of each real pattern in the joint automaton, by joint pattern id. Joint
    /// ids past these are the literals, then the words.
    joint_ids: Vec<usize>,
    literals: Vec<Vec<u8>>,
    /// For each literal, the patterns that require it.
    literal_users: Vec<Vec<usize>>,
    words: Vec<String>,
    /// Literals then words, for when the joint automaton is not available.
    fallback: Option<aho_corasick::AhoCorasick>,
    pub(crate) patterns: Vec<CompiledPattern>,
}

#[derive(Debug)]
struct Joint {
    fwd: DFA,
    rev: DFA,
    caches: Mutex<Vec<(Cache, Cache)>>,
}

/// A forward-only lazy DFA over pure literals and words.
#[derive(Debug)]
struct Needles {
    fwd: DFA,
    caches: Mutex<Vec<Cache>>,
}

/// Lazy DFA transition-table budget for the joint automata, per direction and thread.
const JOINT_CACHE_BYTES: usize = 8 << 20;

impl Joint {
    /// Runs `f` with a pair of search caches (forward, reverse) taken from the pool, and puts
    /// them back after.
    fn with_caches<R>(&self, f: impl FnOnce(&mut (Cache, Cache)) -> R) -> R {
        let mut caches = self
            .caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_else(|| (self.fwd.create_cache(), self.rev.create_cache()));
        let out = f(&mut caches);
        self.caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(caches);
        out
    }

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

/// What the scan of a text found: where joint patterns end, which literals occur, where
/// context words start.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// (joint pattern id, end), sorted by pattern, ends increasing.
    ends: Vec<(usize, usize)>,
    /// Whether the joint pass completed; if not, `ends` is empty and the joint patterns must
    /// be searched on their own.
    complete: bool,
    /// For each literal, whether it may occur (over-approximation allowed).
    pub(crate) literals: Vec<bool>,
    /// (start, word id) of every context word occurrence, sorted.
    pub(crate) words: Vec<(usize, u32)>,
}

/// Shortest literal worth looking for on its own.
const MIN_LITERAL: usize = 3;

/// A pattern matching `word` (ASCII letters in any case) where a context token can start
/// after a separator — at the start of the text, or after a character that is not an ASCII
/// letter or digit — and end: at the end of the text, or before a character that is not a
/// lower-case ASCII letter or a digit (an upper-case letter may open the next token of a
/// camel-case name, `idNumber`). Inside a longer token (`st` in `first`, `case` in `cases`)
/// it does not match, as the token window would not count it either; each such match was a
/// report the scan paid for. The match takes the character after the word with it, which
/// [`word_start`] accounts for.
///
/// Tokens that start at a camel-case hump (`Phone` in `homePhone`) are not located: an
/// alternative for them starts automaton threads at every lower-upper pair, which on
/// token-like text multiplied the joint automaton's states a hundredfold. The context
/// check instead looks for humps in the candidate's window itself (see
/// `rules::context`).
fn word_hir(word: &str) -> Option<Hir> {
    let pattern = format!(
        "(?:^|[^A-Za-z0-9])(?i-u:{})(?:[^a-z0-9]|$)",
        regex_syntax::escape(word)
    );
    regex_syntax::ParserBuilder::new()
        .build()
        .parse(&pattern)
        .ok()
}

/// Where a context word whose [`word_hir`] match ends at `end` starts: the match holds the
/// character after the word, unless the word ends the text.
fn word_start(text: &str, word: &str, end: usize) -> usize {
    let before = text.get(..end).unwrap_or_default();
    let tail = before
        .len()
        .checked_sub(word.len())
        .and_then(|i| before.get(i..));
    if end == text.len() && tail.is_some_and(|t| t.eq_ignore_ascii_case(word)) {
        return end.saturating_sub(word.len());
    }
    let last = before.chars().next_back().map_or(0, char::len_utf8);
    end.saturating_sub(word.len() + last)
}

impl Matcher {
    /// Builds the matcher for `patterns` (with their HIRs) and the context `words` (lower
    /// case) the rule set wants located.
    pub(crate) fn new(hirs: &[Hir], patterns: Vec<CompiledPattern>, words: &[String]) -> Matcher {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut literal_users: Vec<Vec<usize>> = Vec::new();
        let mut joint_ids = Vec::new();
        let mut joint_hirs = Vec::new();
        for (i, hir) in hirs.iter().enumerate() {
            match required_literal(hir, MIN_LITERAL) {
                Some(lit) => match literals.iter().position(|l| *l == lit) {
                    Some(k) => {
                        if let Some(u) = literal_users.get_mut(k) {
                            u.push(i);
                        }
                    }
                    None => {
                        literals.push(lit);
                        literal_users.push(vec![i]);
                    }
                },
                None => {
                    joint_ids.push(i);
                    joint_hirs.push(hir.clone());
                }
            }
        }
        let word_hirs: Option<Vec<Hir>> = words.iter().map(|w| word_hir(w)).collect();
        let joint = word_hirs.as_ref().and_then(|word_hirs| {
            let mut all = joint_hirs.clone();
            all.extend(literals.iter().map(|l| Hir::literal(l.clone())));
            all.extend(word_hirs.iter().cloned());
            Joint::new(&all)
        });
        let needles = word_hirs.filter(|_| joint.is_none()).and_then(|word_hirs| {
            let mut all: Vec<Hir> = literals.iter().map(|l| Hir::literal(l.clone())).collect();
            all.extend(word_hirs);
            if all.is_empty() {
                return None;
            }
            let nfa = thompson::Compiler::new()
                .configure(
                    thompson::Config::new()
                        .which_captures(WhichCaptures::None)
                        .nfa_size_limit(Some(NFA_SIZE_LIMIT.saturating_mul(16))),
                )
                .build_many_from_hir(&all)
                .ok()?;
            let fwd = DFA::builder()
                .configure(
                    DFA::config()
                        .match_kind(MatchKind::All)
                        .cache_capacity(JOINT_CACHE_BYTES)
                        .skip_cache_capacity_check(true),
                )
                .build_from_nfa(nfa)
                .ok()?;
            Some(Needles {
                fwd,
                caches: Mutex::new(Vec::new()),
            })
        });
        let fallback = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(
                literals
                    .iter()
                    .map(Vec::as_slice)
                    .chain(words.iter().map(String::as_bytes)),
            )
            .ok();
        Matcher {
            joint,
            needles,
            joint_ids,
            literals,
            literal_users,
            words: words.to_vec(),
            fallback,
            patterns,
        }
    }

    /// True when the joint automaton is in use (not the fallbacks).
    #[cfg(test)]
    pub(crate) fn is_joint(&self) -> bool {
        self.joint.is_some()
    }

    /// Scans `text`: joint pattern ends, literal presence, context word positions.
    pub(crate) fn scan(&self, text: &str) -> Scan {
        if let Some(joint) = &self.joint {
            let ends = joint.with_caches(|(fwd, _)| self.joint_ends(joint, fwd, text));
            if let Ok(all) = ends {
                return self.split(text, all);
            }
        }
        self.needles_scan(text)
            .unwrap_or_else(|| self.fallback_scan(text))
    }

    /// Splits the joint automaton's reports into pattern ends, literals and words.
    fn split(&self, text: &str, all: Vec<(usize, usize)>) -> Scan {
        let (n_real, n_lit) = (self.joint_ids.len(), self.literals.len());
        let mut scan = Scan {
            complete: true,
            literals: vec![false; n_lit],
            ..Scan::default()
        };
        // Ends arrive in text order; a counting sort by pattern keeps each pattern's ends in
        // that order, in linear time.
        let mut starts = vec![0usize; n_real + 1];
        for &(pid, _) in &all {
            if let Some(c) = starts.get_mut(pid + 1) {
                *c += 1;
            }
        }
        for i in 1..starts.len() {
            let prev = starts.get(i - 1).copied().unwrap_or(0);
            if let Some(c) = starts.get_mut(i) {
                *c += prev;
            }
        }
        let total = starts.last().copied().unwrap_or(0);
        scan.ends = vec![(0, 0); total];
        for (pid, end) in all {
            if pid < n_real {
                if let Some(at) = starts.get_mut(pid) {
                    if let Some(e) = scan.ends.get_mut(*at) {
                        *e = (pid, end);
                    }
                    *at += 1;
                }
            } else if let Some(k) = (pid - n_real).checked_sub(n_lit) {
                let word = self.words.get(k).map_or("", String::as_str);
                scan.words.push((
                    word_start(text, word, end),
                    u32::try_from(k).unwrap_or(u32::MAX),
                ));
            } else if let Some(seen) = scan.literals.get_mut(pid - n_real) {
                *seen = true;
            }
        }
        scan.words.sort_unstable();
        scan
    }

    /// Every (pattern, end) the joint automaton reports, in text order.
    fn joint_ends(
        &self,
        joint: &Joint,
        cache: &mut Cache,
        text: &str,
    ) -> Result<Vec<(usize, usize)>, MatchError> {
        let input = Input::new(text);
        let mut state = OverlappingState::start();
        let mut ends = Vec::new();
        loop {
            joint
                .fwd
                .try_search_overlapping_fwd(cache, &input, &mut state)?;
            match state.get_match() {
                Some(hm) => ends.push((hm.pattern().as_usize(), hm.offset())),
                None => break,
            }
        }
        // Processed pattern by pattern (see `split`): consecutive searches of one pattern keep
        // its automaton warm, which measured faster than taking ends in text order.
        Ok(ends)
    }

    /// Literal presence and word positions from the needle automaton.
    fn needles_scan(&self, text: &str) -> Option<Scan> {
        let needles = self.needles.as_ref()?;
        let n_lit = self.literals.len();
        let mut cache = needles
            .caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_else(|| needles.fwd.create_cache());
        let mut scan = Scan {
            literals: vec![false; n_lit],
            ..Scan::default()
        };
        let input = Input::new(text);
        let mut state = OverlappingState::start();
        let mut ok = true;
        loop {
            if needles
                .fwd
                .try_search_overlapping_fwd(&mut cache, &input, &mut state)
                .is_err()
            {
                ok = false;
                break;
            }
            let Some(hm) = state.get_match() else {
                break;
            };
            let (pid, end) = (hm.pattern().as_usize(), hm.offset());
            match pid.checked_sub(n_lit) {
                Some(k) => {
                    let word = self.words.get(k).map_or("", String::as_str);
                    scan.words.push((
                        word_start(text, word, end),
                        u32::try_from(k).unwrap_or(u32::MAX),
                    ));
                }
                None => {
                    if let Some(seen) = scan.literals.get_mut(pid) {
                        *seen = true;
                    }
                }
            }
        }
        needles
            .caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(cache);
        scan.words.sort_unstable();
        ok.then_some(scan)
    }

    fn fallback_scan(&self, text: &str) -> Scan {
        let n_lit = self.literals.len();
        let mut scan = Scan {
            complete: false,
            literals: vec![self.fallback.is_none(); n_lit],
            ..Scan::default()
        };
        if let Some(ac) = &self.fallback {
            for m in ac.find_overlapping_iter(text) {
                let id = m.pattern().as_usize();
                match id.checked_sub(n_lit) {
                    Some(w) => scan
                        .words
                        .push((m.start(), u32::try_from(w).unwrap_or(u32::MAX))),
                    None => {
                        if let Some(seen) = scan.literals.get_mut(id) {
                            *seen = true;
                        }
                    }
                }
            }
            scan.words.sort_unstable();
        }
        scan
    }

    /// Calls `f` with each match of each pattern in `text`, given its [`Scan`]; `f` says
    /// whether its rule took the match (see [`CompiledPattern::for_each_match_from`]).
    /// `keep(p, end)` may veto, before any further search, the match of `p` the joint
    /// automaton saw ending at `end`; it must only veto matches its caller would drop anyway.
    ///
    /// Returns false when a pattern could not be looked up (a broken index: it cannot happen
    /// with the compiled tables, and fails a debug assertion): the caller must then treat the
    /// text as not scanned, not as free of matches.
    pub(crate) fn for_each_match(
        &self,
        text: &str,
        scan: &Scan,
        mut keep: impl FnMut(&CompiledPattern, usize) -> bool,
        mut f: impl FnMut(&CompiledPattern, Span) -> Option<usize>,
    ) -> bool {
        let mut complete = true;
        for (k, users) in self.literal_users.iter().enumerate() {
            if !scan.literals.get(k).copied().unwrap_or(true) {
                continue;
            }
            for &i in users {
                match self.patterns.get(i) {
                    Some(p) => p.for_each_match_from(text, 0, |span| f(p, span)),
                    None => complete = false,
                }
            }
        }
        let Some(joint) = self.joint.as_ref().filter(|_| scan.complete) else {
            // Every pattern of the joint automaton, on its own.
            for &i in &self.joint_ids {
                match self.patterns.get(i) {
                    Some(p) => p.for_each_match_from(text, 0, |span| f(p, span)),
                    None => complete = false,
                }
            }
            debug_assert!(complete, "a pattern index points nowhere");
            return complete;
        };
        joint.with_caches(|(_, rev)| {
            let mut rest = scan.ends.as_slice();
            while let Some(&(pid, _)) = rest.first() {
                let n = rest.partition_point(|&(p, _)| p == pid);
                let (group, tail) = rest.split_at(n);
                rest = tail;
                let Some(p) = self.joint_ids.get(pid).and_then(|&g| self.patterns.get(g)) else {
                    complete = false;
                    continue;
                };
                Self::joint_matches(joint, rev, text, (pid, p), group, &mut keep, &mut f);
            }
        });
        debug_assert!(complete, "a pattern index points nowhere");
        complete
    }

    /// The matches of joint pattern `pid` (`p`), from the `(pid, end)` pairs the scan reported
    /// for it, ends increasing. If the reverse search gives up (cache budget), `p` finishes
    /// on its own from where it got to.
    fn joint_matches(
        joint: &Joint,
        rev_cache: &mut Cache,
        text: &str,
        (pid, p): (usize, &CompiledPattern),
        all: &[(usize, usize)],
        keep: &mut impl FnMut(&CompiledPattern, usize) -> bool,
        f: &mut impl FnMut(&CompiledPattern, Span) -> Option<usize>,
    ) {
        // `at` is where the next match may start; ends at or before it cost one comparison.
        let mut at = 0;
        let mut k = 0;
        let mut rescan = Rescan::new(text);
        while let Some(&(_, end)) = all.get(k) {
            if end <= at || !keep(p, end) {
                k += 1;
                continue;
            }
            let rev = Input::new(text)
                .range(at..end)
                .anchored(Anchored::Pattern(PatternID::new_unchecked(pid)));
            let start = match joint.rev.try_search_rev(rev_cache, &rev) {
                Ok(Some(start)) => start,
                Ok(None) => {
                    k += 1;
                    continue;
                }
                Err(_) => return p.matches_from(text, at, &mut rescan, |span| f(p, span)),
            };
            let fwd = Input::new(text)
                .range(start.offset()..)
                .anchored(Anchored::Yes);
            match p.regex.search(&fwd) {
                // One end may hold several matches when an earlier one stops short of it, so
                // `k` stays.
                Some(m) if !m.is_empty() => {
                    let span = Span::from(m.range());
                    at = rescan.step(text, span, |span| f(p, span));
                    if at < span.end {
                        // Ends inside the rejected match may belong to a match starting later.
                        k = all.partition_point(|&(_, e)| e <= at);
                    }
                }
                _ => k += 1,
            }
        }
    }
}

/// Where the search for a pattern's next match resumes, and how much text it may search
/// twice.
///
/// After a match its rule took, the search goes on from its end, as `find_iter` does. After a
/// match its rule rejected (a checksum failed), it goes on from the next word inside it (after
/// white space; not after `.` or `-`, or the groups of `03.93.92.16.85` would be tried as an
/// IP address): in `+44 20 7946 0958 4111 1111 1111 1111` the card pattern's leftmost match
/// `7946 0958 4111 1111` fails Luhn, and the card that follows must still be found — in the
/// redacted text it would be, once the phone number is a placeholder. Only matches that reach
/// past the rejected one count: the tails of a rejected number (`5678 9012 3456` in
/// `1234 5678 9012 3456`) are not new values, and trying them would turn one failed
/// checksum into many chances to pass one. Searching a rejected match again costs its
/// length; a budget of the text's length (plus a little) per pattern keeps the total linear.
struct Rescan {
    budget: usize,
    /// The end of the last rejected match: later matches must end after it.
    floor: usize,
}

impl Rescan {
    fn new(text: &str) -> Rescan {
        Rescan {
            budget: text.len().saturating_add(4096),
            floor: 0,
        }
    }

    /// Offers `span` to `f` unless it ends inside the last rejected match; returns where the
    /// search goes on. `f` answers where the value its rule took ends (`None`: not taken).
    /// When the rule took less than the match (a phone number followed by a run of digits
    /// the pattern swallowed too), the search goes on from the end of the value, so what
    /// follows it is still searched — as it would be in the redacted text, where the value
    /// is a placeholder.
    fn step(&mut self, text: &str, span: Span, f: impl FnOnce(Span) -> Option<usize>) -> usize {
        let took = if span.end > self.floor { f(span) } else { None };
        match took {
            Some(end) if end > span.start && end < span.end && self.budget >= span.end - end => {
                self.budget -= span.end - end;
                end
            }
            Some(_) => span.end,
            None => {
                self.floor = self.floor.max(span.end);
                self.next_start(text, span)
            }
        }
    }

    fn next_start(&mut self, text: &str, span: Span) -> usize {
        if self.budget < span.len() {
            return span.end;
        }
        self.budget -= span.len();
        let inside = text.get(span.range()).unwrap_or_default();
        let mut prev_space = false;
        for (i, c) in inside.char_indices() {
            if prev_space && !c.is_whitespace() {
                return span.start + i;
            }
            prev_space = c.is_whitespace();
        }
        span.end
    }
}

impl CompiledPattern {
    /// Calls `f` with each match of this pattern alone, from byte `from` on: leftmost-first,
    /// each after the previous one's end when `f` returns true (its rule took the match),
    /// else from the next word inside it (see [`Rescan`]).
    pub(crate) fn for_each_match_from(
        &self,
        text: &str,
        from: usize,
        f: impl FnMut(Span) -> Option<usize>,
    ) {
        self.matches_from(text, from, &mut Rescan::new(text), f);
    }

    /// [`for_each_match_from`](Self::for_each_match_from), going on with a search's state.
    fn matches_from(
        &self,
        text: &str,
        from: usize,
        rescan: &mut Rescan,
        mut f: impl FnMut(Span) -> Option<usize>,
    ) {
        let mut at = from;
        while at < text.len() {
            let Some(m) = self.regex.search(&Input::new(text).range(at..)) else {
                return;
            };
            if m.is_empty() {
                return;
            }
            let span = Span::from(m.range());
            at = rescan.step(text, span, &mut f);
        }
    }
}

#[cfg(test)]
mod tests;
