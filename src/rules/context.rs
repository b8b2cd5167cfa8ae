//! Context words: a plain token window around a candidate raises or lowers its score.
//!
//! Text is split into tokens at every character that is not a letter or digit, and at
//! camel-case humps (`publicToken` is `public token`); tokens are compared in lower case. A context entry of several tokens (`"social security"`, `"e-mail"`)
//! must appear as a contiguous run. The window holds `window` tokens on each side of the
//! candidate, and never reaches further than [`MAX_WINDOW_BYTES`] bytes, so the cost of a
//! lookup is bounded whatever the text.

use crate::redact::Span;

/// The farthest, in bytes, a context window reaches from a candidate on either side.
pub(crate) const MAX_WINDOW_BYTES: usize = 160;

/// A compiled context configuration for one rule.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContextScorer {
    positive: Vec<Vec<String>>,
    negative: Vec<Vec<String>>,
    boost: f32,
    penalty: f32,
    window: usize,
}

/// A small on-stack buffer of word ids for [`ContextHits::near`].
#[derive(Debug, Default)]
pub(crate) struct NearIds {
    ids: [u32; 16],
    len: usize,
}

impl NearIds {
    fn as_slice(&self) -> &[u32] {
        self.ids.get(..self.len).unwrap_or_default()
    }
}

/// Which context words occur near one candidate: ids into a [`ContextIndex`], or every word
/// when the rule has words the index cannot see.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Near<'a> {
    /// Only these word ids can be in the window.
    Ids(&'a [u32]),
    /// Look for every word.
    All,
}

/// Calls `f` with each token of `s`: runs of letters and digits, also split at camel-case
/// humps. Tokens are slices of `s`, in their original case.
fn for_each_token<'a>(s: &'a str, mut f: impl FnMut(&'a str)) {
    let mut start: Option<usize> = None;
    let mut prev_lower = false;
    for (i, c) in s.char_indices() {
        if !c.is_alphanumeric() {
            if let Some(st) = start.take() {
                f(s.get(st..i).unwrap_or_default());
            }
            prev_lower = false;
            continue;
        }
        match start {
            None => start = Some(i),
            Some(st) if prev_lower && c.is_uppercase() => {
                f(s.get(st..i).unwrap_or_default());
                start = Some(i);
            }
            Some(_) => {}
        }
        prev_lower = c.is_lowercase();
    }
    if let Some(st) = start {
        f(s.get(st..).unwrap_or_default());
    }
}

/// Splits `s` into lower-case tokens (used for the configured context words).
pub(crate) fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(s, |t| out.push(t.to_lowercase()));
    out
}

/// True when `token` equals the lower-case `word`, ignoring case.
fn eq_lower(token: &str, word: &str) -> bool {
    if token.is_ascii() {
        token.eq_ignore_ascii_case(word)
    } else {
        token.chars().flat_map(char::to_lowercase).eq(word.chars())
    }
}

impl ContextScorer {
    pub(crate) fn new(
        positive: &[String],
        negative: &[String],
        boost: f32,
        penalty: f32,
        window: usize,
    ) -> ContextScorer {
        let phrases = |list: &[String]| {
            list.iter()
                .map(|w| tokens(w))
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
        };
        ContextScorer {
            positive: phrases(positive),
            negative: phrases(negative),
            boost,
            penalty,
            window,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.positive.is_empty() && self.negative.is_empty()
    }

    /// The score adjustment for a candidate at `start..end` of `text`: `+boost` when a positive
    /// entry is in the window, `-penalty` when a negative one is (both may apply). `near`
    /// limits the entries looked for to those whose first word occurs nearby. Tokens inside
    /// the `mask` spans (disjoint, sorted: values found by other rules) count as placeholder
    /// tokens, which they will be once the text is redacted.
    pub(crate) fn adjust(
        &self,
        text: &str,
        (start, end): (usize, usize),
        words: &RuleWords,
        near: Near<'_>,
        mask: &[Span],
    ) -> f32 {
        if self.is_empty() || self.window == 0 {
            return 0.0;
        }
        if let Near::Ids(ids) = near
            && ids.is_empty()
        {
            return 0.0;
        }
        let before_w = window_before(text, start, self.window, mask);
        let after_w = window_after(text, end, self.window, mask);
        let (before, after) = (before_w.as_slice(), after_w.as_slice());
        let clear_before = before
            .get(before.len() - before_w.clear_len().min(before.len())..)
            .unwrap_or_default();
        let clear_after = after.get(..after_w.clear_len()).unwrap_or(after);
        let wanted = |k: usize| match near {
            Near::All => true,
            Near::Ids(ids) => words
                .phrase_ids
                .get(k)
                .is_none_or(|id| id.is_none_or(|id| ids.contains(&id))),
        };
        // The distance, in tokens, from the candidate to the nearest entry of `list`.
        let nearest = |list: &[Vec<String>], offset: usize, before, after| {
            list.iter()
                .enumerate()
                .filter(|&(k, _)| wanted(offset + k))
                .filter_map(|(_, phrase)| distance(before, after, phrase))
                .min()
        };
        let mut delta = 0.0;
        if let Some(d) = nearest(&self.positive, 0, clear_before, clear_after) {
            // A nearer word is slightly stronger evidence: each token of distance takes 2%
            // off the boost, so "passport 912803456" beats a licence word four tokens back.
            let decay = (PROXIMITY_DECAY * (d.saturating_sub(1)) as f32).min(0.5);
            delta += self.boost * (1.0 - decay);
        }
        if nearest(&self.negative, self.positive.len(), before, after).is_some() {
            delta -= self.penalty;
        }
        delta
    }
}

/// The tokens of one side of a window, on the stack.
///
/// Placeholder tokens are left out; `clear` counts the tokens nearest the candidate that come
/// before the first placeholder. Negative words are looked for in the whole window, positive
/// words only in the clear part: a placeholder hides how many tokens its value had, so a
/// positive word behind one may be nearer in a redacted text than it was in the original,
/// and a second redaction would find what the first did not. With positive words stopped at
/// placeholders and negative words seen through them, redacting a redacted text can only
/// lower a score, never raise it.
struct Window<'t> {
    toks: [&'t str; MAX_TOKENS],
    len: usize,
    clear: Option<usize>,
}

/// Most tokens a window holds on one side (the rule-file limit on `window`).
const MAX_TOKENS: usize = 32;

impl<'t> Window<'t> {
    fn new() -> Window<'t> {
        Window {
            toks: [""; MAX_TOKENS],
            len: 0,
            clear: None,
        }
    }

    fn push(&mut self, t: &'t str) {
        if let Some(slot) = self.toks.get_mut(self.len) {
            *slot = t;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[&'t str] {
        self.toks.get(..self.len).unwrap_or_default()
    }

    /// Marks the first placeholder seen walking away from the candidate.
    fn placeholder(&mut self) {
        self.clear.get_or_insert(self.len);
    }

    /// How many tokens nearest the candidate precede the first placeholder.
    fn clear_len(&self) -> usize {
        self.clear.unwrap_or(self.len)
    }
}

/// How much of a context boost each token of distance takes away.
const PROXIMITY_DECAY: f32 = 0.02;

/// The distance in tokens (1 = adjacent) from the candidate to the nearest occurrence of
/// `phrase` in the windows before and after it.
fn distance(before: &[&str], after: &[&str], phrase: &[String]) -> Option<usize> {
    if phrase.is_empty() {
        return None;
    }
    let is_at = |w: &[&str]| w.iter().zip(phrase).all(|(t, p)| eq_lower(t, p));
    let n = phrase.len();
    // Before: the run ending nearest the candidate wins.
    let back = before
        .windows(n)
        .enumerate()
        .filter(|(_, w)| is_at(w))
        .map(|(i, _)| before.len() - (i + n) + 1)
        .min();
    let fwd = after.windows(n).position(is_at).map(|i| i + 1);
    match (back, fwd) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The last `n` tokens before byte `start` (at most [`MAX_WINDOW_BYTES`] back), in text order.
/// True when the token at `start..end` of `text` is part of a placeholder (`[EMAIL_1]`) or
/// hash token: placeholders spell entity names, which must not count as context words, or a
/// second redaction of the same text would find more than the first.
fn in_placeholder(text: &str, start: usize, end: usize) -> bool {
    let b = text.as_bytes();
    if !b
        .get(start)
        .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c.is_ascii_hexdigit())
    {
        return false;
    }
    let mut i = start;
    while i > 0 && start - i < 48 {
        match b.get(i - 1) {
            Some(b'[') => {
                return crate::redact::placeholder::exact_token_at(text, i - 1)
                    .is_some_and(|(token_end, _)| token_end >= end);
            }
            Some(c) if c.is_ascii_alphanumeric() || *c == b'_' || *c == b':' => i -= 1,
            _ => return false,
        }
    }
    false
}

/// Absolute offset of `sub` inside `whole` (both slices of the same text).
fn offset_in(whole: &str, sub: &str) -> usize {
    (sub.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// True when one of `spans` (disjoint, sorted) overlaps `start..end`.
fn touches(spans: &[Span], start: usize, end: usize) -> bool {
    let i = spans.partition_point(|m| m.end <= start);
    spans
        .get(i..)
        .unwrap_or_default()
        .iter()
        .take_while(|m| m.start < end)
        .any(|m| m.end > start)
}

/// Adds `t` (a slice of `text`) to the window unless it is part of a placeholder or of a
/// masked span.
fn push_token<'t>(text: &'t str, toks: &mut Window<'t>, t: &'t str, mask: &[Span]) {
    let at = offset_in(text, t);
    let end = at + t.len();
    if in_placeholder(text, at, end) || touches(mask, at, end) {
        toks.placeholder();
    } else {
        toks.push(t);
    }
}

fn window_before<'t>(text: &'t str, start: usize, n: usize, mask: &[Span]) -> Window<'t> {
    let n = n.min(MAX_TOKENS);
    let start = floor_boundary(text, start);
    let from = floor_boundary(text, start.saturating_sub(MAX_WINDOW_BYTES));
    let slice = text.get(from..start).unwrap_or_default();
    let mut toks = Window::new();
    let push = |toks: &mut Window<'t>, t: &'t str| push_token(text, toks, t, mask);
    // Walk backwards; `end` is the exclusive end of the token being read.
    let mut end: Option<usize> = None;
    let mut next: Option<char> = None; // the character to the right of the current one
    for (i, c) in slice.char_indices().rev() {
        if toks.len == n {
            break;
        }
        if !c.is_alphanumeric() {
            if let Some(e) = end.take() {
                push(
                    &mut toks,
                    slice.get(i + c.len_utf8()..e).unwrap_or_default(),
                );
            }
            next = None;
            continue;
        }
        match end {
            None => end = Some(i + c.len_utf8()),
            // A camel-case hump between `c` (lower) and `next` (upper) ends a token.
            Some(e) if c.is_lowercase() && next.is_some_and(char::is_uppercase) => {
                push(
                    &mut toks,
                    slice.get(i + c.len_utf8()..e).unwrap_or_default(),
                );
                end = Some(i + c.len_utf8());
            }
            Some(_) => {}
        }
        next = Some(c);
    }
    if toks.len < n
        && let Some(e) = end
    {
        // The first token may be cut by the byte cap; it still counts, as a partial word
        // cannot create a false multi-token match more often than a whole one.
        push(&mut toks, slice.get(..e).unwrap_or_default());
    }
    if let Some(t) = toks.toks.get_mut(..toks.len) {
        t.reverse();
    }
    // Reversed, the tokens nearest the candidate are the last ones; `clear` still counts them.
    toks
}

/// The first `n` tokens after byte `end` (at most [`MAX_WINDOW_BYTES`] ahead).
fn window_after<'t>(text: &'t str, end: usize, n: usize, mask: &[Span]) -> Window<'t> {
    let n = n.min(MAX_TOKENS);
    let end = floor_boundary(text, end);
    let to = floor_boundary(text, end.saturating_add(MAX_WINDOW_BYTES));
    let slice = text.get(end..to).unwrap_or_default();
    let mut toks = Window::new();
    let push = |toks: &mut Window<'t>, t: &'t str| push_token(text, toks, t, mask);
    let mut start: Option<usize> = None;
    let mut prev_lower = false;
    for (i, c) in slice.char_indices() {
        if toks.len == n {
            return toks;
        }
        if !c.is_alphanumeric() {
            if let Some(st) = start.take() {
                push(&mut toks, slice.get(st..i).unwrap_or_default());
            }
            prev_lower = false;
            continue;
        }
        match start {
            None => start = Some(i),
            Some(st) if prev_lower && c.is_uppercase() => {
                push(&mut toks, slice.get(st..i).unwrap_or_default());
                start = Some(i);
            }
            Some(_) => {}
        }
        prev_lower = c.is_lowercase();
    }
    if toks.len < n
        && let Some(st) = start
    {
        push(&mut toks, slice.get(st..).unwrap_or_default());
    }
    toks
}

/// The context words of a whole rule set, located in each text by the rule set's one scan
/// (see [`crate::rules`]): a cheap necessary condition checked before any token window is
/// built.
///
/// A context word can only be in a candidate's window if its letters occur within
/// [`MAX_WINDOW_BYTES`] of the candidate. The scan finds every occurrence of every rule's
/// ASCII context words (the first token of each phrase, ASCII case-insensitive); a candidate
/// with none nearby gets no adjustment without tokenizing anything. Letters outside ASCII
/// cannot be matched case-insensitively this way, so rules that have them always take the
/// precise path.
#[derive(Debug, Default)]
pub(crate) struct ContextIndex {
    words: Vec<String>,
    longest: usize,
}

/// The words one rule needs, as ids into a [`ContextIndex`].
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleWords {
    /// For each phrase (positive ones first), the id of its first word, or `None` when the
    /// word is not ASCII.
    phrase_ids: Vec<Option<u32>>,
    positive_ids: Vec<u32>,
    all_ids: Vec<u32>,
    /// The first words of the positive entries, and of all entries.
    positive_words: Vec<String>,
    all_words: Vec<String>,
    /// `all_ids` as a bit set, for constant-time membership.
    mask: Vec<u64>,
    positive_mask: Vec<u64>,
    always_precise: bool,
}

fn set_bit(mask: &mut Vec<u64>, id: u32) {
    let (word, bit) = ((id / 64) as usize, id % 64);
    if mask.len() <= word {
        mask.resize(word + 1, 0);
    }
    if let Some(w) = mask.get_mut(word) {
        *w |= 1 << bit;
    }
}

fn has_bit(mask: &[u64], id: u32) -> bool {
    mask.get((id / 64) as usize)
        .is_some_and(|w| w & (1 << (id % 64)) != 0)
}

/// Occurrences of context words in one text, sorted by start.
#[derive(Debug, Default)]
pub(crate) struct ContextHits<'s> {
    text: &'s str,
    hits: &'s [(usize, u32)],
    longest: usize,
    /// Offsets of the upper-case letter of every camel-case hump, found on first need.
    humps: std::cell::OnceCell<Vec<usize>>,
}

impl ContextIndex {
    /// Builds the index for the scorers of a rule set; returns it and each rule's words.
    pub(crate) fn new(scorers: &[&ContextScorer]) -> (ContextIndex, Vec<RuleWords>) {
        let mut words: Vec<String> = Vec::new();
        let mut per_rule = Vec::with_capacity(scorers.len());
        for sc in scorers {
            let mut rw = RuleWords::default();
            for (k, phrase) in sc.positive.iter().chain(&sc.negative).enumerate() {
                let first = phrase.first().filter(|f| f.is_ascii());
                let Some(first) = first else {
                    rw.always_precise = true;
                    rw.phrase_ids.push(None);
                    continue;
                };
                let id = match words.iter().position(|w| w == first) {
                    Some(i) => i,
                    None => {
                        words.push(first.clone());
                        words.len() - 1
                    }
                };
                let id = u32::try_from(id).unwrap_or(u32::MAX);
                rw.phrase_ids.push(Some(id));
                rw.all_ids.push(id);
                rw.all_words.push(first.clone());
                set_bit(&mut rw.mask, id);
                if k < sc.positive.len() {
                    rw.positive_ids.push(id);
                    rw.positive_words.push(first.clone());
                    set_bit(&mut rw.positive_mask, id);
                }
            }
            per_rule.push(rw);
        }
        let longest = words.iter().map(String::len).max().unwrap_or(0);
        (ContextIndex { words, longest }, per_rule)
    }

    /// The words to locate (lower case ASCII), by id.
    pub(crate) fn words(&self) -> &[String] {
        &self.words
    }

    /// The hits of `text`, given where its scan found each word (sorted by start).
    pub(crate) fn hits<'s>(&self, text: &'s str, found: &'s [(usize, u32)]) -> ContextHits<'s> {
        ContextHits {
            text,
            hits: found,
            longest: self.longest,
            humps: std::cell::OnceCell::new(),
        }
    }
}

impl ContextHits<'_> {
    /// The hits close enough to `start..end` to be in its window.
    fn around(&self, start: usize, end: usize) -> impl Iterator<Item = u32> + '_ {
        self.around_at(start, end).map(|(_, id)| id)
    }

    /// The hits close enough to `start..end` to be in its window, with where they start.
    fn around_at(&self, start: usize, end: usize) -> impl Iterator<Item = (usize, u32)> + '_ {
        let lo = start.saturating_sub(MAX_WINDOW_BYTES + self.longest);
        let hi = end.saturating_add(MAX_WINDOW_BYTES);
        let first = self.hits.partition_point(|&(pos, _)| pos < lo);
        self.hits
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(move |&&(pos, _)| pos < hi)
            .copied()
    }

    /// True when one of `list` starts at a camel-case hump (`Phone` in `homePhone`) in the
    /// window of `start..end`: the scan does not locate such tokens (see [`crate::rules`]),
    /// so they are looked for here, in the few bytes around the candidate.
    fn at_hump(&self, list: &[String], start: usize, end: usize) -> bool {
        self.hump_word(list, start, end, |_| true)
    }

    /// [`at_hump`](Self::at_hump), for the humps at positions `keep` accepts.
    fn hump_word(
        &self,
        list: &[String],
        start: usize,
        end: usize,
        keep: impl Fn(usize) -> bool,
    ) -> bool {
        if list.is_empty() {
            return false;
        }
        let b = self.text.as_bytes();
        let humps = self.humps.get_or_init(|| {
            let mut out = Vec::new();
            let mut prev_lower = false;
            for (i, &c) in b.iter().enumerate() {
                if prev_lower && c.is_ascii_uppercase() {
                    out.push(i);
                }
                prev_lower = c.is_ascii_lowercase();
            }
            out
        });
        let lo = start.saturating_sub(MAX_WINDOW_BYTES + self.longest);
        let hi = end.saturating_add(MAX_WINDOW_BYTES);
        let first = humps.partition_point(|&h| h < lo);
        humps
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&h| h < hi)
            .filter(|&&h| keep(h))
            .any(|&h| {
                list.iter().any(|w| {
                    b.get(h..h + w.len())
                        .is_some_and(|t| t.eq_ignore_ascii_case(w.as_bytes()))
                })
            })
    }

    /// True when some negative word of the rule may start inside one of `spans` (disjoint,
    /// sorted) in the window of `start..end`.
    pub(crate) fn negative_inside(
        &self,
        words: &RuleWords,
        (start, end): (usize, usize),
        spans: &[Span],
    ) -> bool {
        self.negative_where(words, (start, end), |pos: usize| {
            touches(spans, pos, pos + 1)
        })
    }

    /// True when some negative word of the rule may be in the window of `start..end`.
    pub(crate) fn negative_near(&self, words: &RuleWords, start: usize, end: usize) -> bool {
        self.negative_where(words, (start, end), |_| true)
    }

    fn negative_where(
        &self,
        words: &RuleWords,
        (start, end): (usize, usize),
        at: impl Fn(usize) -> bool,
    ) -> bool {
        words.always_precise
            || self.around_at(start, end).any(|(pos, id)| {
                has_bit(&words.mask, id) && !has_bit(&words.positive_mask, id) && at(pos)
            })
            || self.hump_word(&words.all_words, start, end, at)
    }

    /// True when some positive word of the rule may be in the window of `start..end`.
    pub(crate) fn positive_near(&self, words: &RuleWords, start: usize, end: usize) -> bool {
        words.always_precise
            || self
                .around(start, end)
                .any(|id| has_bit(&words.positive_mask, id))
            || self.at_hump(&words.positive_words, start, end)
    }

    /// The rule's words that may be in the window of `start..end`, written into `buf`.
    pub(crate) fn near<'b>(
        &self,
        words: &RuleWords,
        start: usize,
        end: usize,
        buf: &'b mut NearIds,
    ) -> Near<'b> {
        if words.always_precise || self.at_hump(&words.all_words, start, end) {
            return Near::All;
        }
        buf.len = 0;
        for id in self.around(start, end) {
            if has_bit(&words.mask, id) && !buf.as_slice().contains(&id) {
                match buf.ids.get_mut(buf.len) {
                    Some(slot) => {
                        *slot = id;
                        buf.len += 1;
                    }
                    // More distinct words nearby than the buffer holds: look for all.
                    None => return Near::All,
                }
            }
        }
        Near::Ids(buf.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sc(ContextScorer, ContextIndex, RuleWords);

    impl Sc {
        /// Adjusts through the index, as rule sets do (words located by a plain search).
        fn adjust(&self, text: &str, start: usize, end: usize) -> f32 {
            let lower = text.to_ascii_lowercase();
            let mut found = Vec::new();
            for (id, w) in self.1.words().iter().enumerate() {
                for (at, _) in lower.match_indices(w.as_str()) {
                    found.push((at, id as u32));
                }
            }
            found.sort_unstable();
            let hits = self.1.hits(text, &found);
            let mut buf = NearIds::default();
            let near = hits.near(&self.2, start, end, &mut buf);
            let fast = self.0.adjust(text, (start, end), &self.2, near, &[]);
            let slow = self.0.adjust(text, (start, end), &self.2, Near::All, &[]);
            assert_eq!(fast, slow, "the index changed the outcome");
            fast
        }
    }

    fn scorer(pos: &[&str], neg: &[&str]) -> Sc {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let sc = ContextScorer::new(&s(pos), &s(neg), 0.3, 0.4, 3);
        let (index, mut words) = ContextIndex::new(&[&sc]);
        let w = words.pop().unwrap_or_default();
        Sc(sc, index, w)
    }

    #[test]
    fn positive_and_negative_words() {
        let sc = scorer(&["phone", "e-mail"], &["order"]);
        let t = "Phone: 555 1234";
        assert_eq!(sc.adjust(t, 7, 15), 0.3);
        let t = "order 555 1234";
        assert_eq!(sc.adjust(t, 6, 14), -0.4);
        // Two tokens away ("e mail" ends one token before `is`): the boost loses 2%.
        let t = "my E-Mail is x";
        assert!((sc.adjust(t, 13, 14) - 0.3 * 0.98).abs() < 1e-6);
        let t = "555 1234 (mobile phone)";
        assert!((sc.adjust(t, 0, 8) - 0.3 * 0.98).abs() < 1e-6);
    }

    #[test]
    fn placeholders_are_not_context() {
        let sc = scorer(&["card", "phone"], &[]);
        let t = "[CREDIT_CARD_1] and 3591";
        assert_eq!(sc.adjust(t, 20, 24), 0.0);
        let t = "[PHONE:0a1b2c3d] 555 0199";
        assert_eq!(sc.adjust(t, 17, 25), 0.0);
        // A positive word behind a placeholder is out of reach: its value's length is unknown.
        let t = "card [X_1] 3591";
        assert_eq!(sc.adjust(t, 11, 15), 0.0);
        let t = "card 3591 [X_1]";
        assert!(sc.adjust(t, 5, 9) > 0.0);
    }

    #[test]
    fn negative_words_are_seen_through_placeholders() {
        let sc = scorer(&["phone"], &["order"]);
        let t = "order [EMAIL_1] 555 0199 phone";
        assert!((sc.adjust(t, 16, 24) - (0.3 - 0.4)).abs() < 1e-6);
    }

    #[test]
    fn nearer_words_weigh_more() {
        let sc = scorer(&["passport", "driver"], &[]);
        let near = sc.adjust("driver x y passport 1", 20, 21);
        let far = sc.adjust("driver x y 1", 11, 12);
        assert!(near > far && far > 0.0, "{near} {far}");
    }

    #[test]
    fn windows_split_like_tokens() {
        let t = "callMe at+44 x";
        assert_eq!(
            window_before(t, 10, 5, &[]).as_slice(),
            ["call", "Me", "at"]
        );
        assert_eq!(window_after(t, 0, 2, &[]).as_slice(), ["call", "Me"]);
        assert_eq!(
            window_before("aBcD é", 7, 9, &[]).as_slice(),
            ["a", "Bc", "D", "é"]
        );
    }

    #[test]
    fn camel_case_splits() {
        assert_eq!(
            tokens("publicToken=x, SSN: 1"),
            vec!["public", "token", "x", "ssn", "1"]
        );
        assert_eq!(tokens("Éva-Ürge"), vec!["éva", "ürge"]);
    }

    #[test]
    fn window_is_bounded_in_tokens() {
        let sc = scorer(&["phone"], &[]);
        let t = "phone a b c 555";
        assert_eq!(sc.adjust(t, 12, 15), 0.0);
        let t = "phone a b 555";
        assert!((sc.adjust(t, 10, 13) - 0.3 * 0.96).abs() < 1e-6);
    }

    #[test]
    fn never_panics_on_odd_offsets() {
        let sc = scorer(&["é"], &[]);
        let t = "ééé 1";
        for i in 0..=t.len() + 3 {
            let _ = sc.adjust(t, i, i + 1);
        }
    }
}
