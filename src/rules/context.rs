//! Context words: a plain token window around a candidate raises or lowers its score.
//!
//! Text is split into tokens at every character that is not a letter or digit, and at
//! camel-case humps (`publicToken` is `public token`); tokens are compared in lower case. A context entry of several tokens (`"social security"`, `"e-mail"`)
//! must appear as a contiguous run. The window holds `window` tokens on each side of the
//! candidate, and never reaches further than [`MAX_WINDOW_BYTES`] bytes, so the cost of a
//! lookup is bounded whatever the text.

use super::table::Tables;
use super::window::{Window, touches, window_after, window_before};
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
    before_only: bool,
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
        before_only: bool,
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
            before_only,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.positive.is_empty() && self.negative.is_empty()
    }

    /// False when [`adjust`](Self::adjust) gives 0 whatever the text: no entries, or no
    /// window to find them in.
    pub(crate) fn adjusts(&self) -> bool {
        !self.is_empty() && self.window > 0
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
        header: Option<&str>,
    ) -> f32 {
        if !self.adjusts() {
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
        let clear_after = if self.before_only {
            &[]
        } else {
            after.get(..after_w.clear_len()).unwrap_or(after)
        };
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
        // The header of the value's table column stands right before it: its words are at
        // distance 1. A header holding a placeholder is left out, as a window stops at one.
        let mut head = Window::new();
        if let Some(h) = header.filter(|h| !h.contains('[')) {
            for_each_token(h, |t| head.push(t));
        }
        let head = head.as_slice();
        let in_header = |list: &[Vec<String>], offset: usize| {
            !head.is_empty()
                && list
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| wanted(offset + k))
                    .any(|(_, phrase)| distance(head, &[], phrase).is_some())
        };
        let mut delta = 0.0;
        let positive = nearest(&self.positive, 0, clear_before, clear_after)
            .map(|d| if in_header(&self.positive, 0) { 1 } else { d })
            .or_else(|| in_header(&self.positive, 0).then_some(1));
        if let Some(d) = positive {
            // A nearer word is slightly stronger evidence: each token of distance takes 2%
            // off the boost, so "passport 912803456" beats a licence word four tokens back.
            let decay = (PROXIMITY_DECAY * (d.saturating_sub(1)) as f32).min(0.5);
            delta += self.boost * (1.0 - decay);
        }
        if nearest(&self.negative, self.positive.len(), before, after).is_some()
            || in_header(&self.negative, self.positive.len())
        {
            delta -= self.penalty;
        }
        delta
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

/// The context words of a whole rule set, located in each text by the rule set's one scan
/// (see [`crate::rules`]): a cheap necessary condition checked before any token window is
/// built.
///
/// A context word can only be in a candidate's window if its letters occur within
/// [`MAX_WINDOW_BYTES`] of the candidate. The scan finds every occurrence of every rule's
/// context words (the first token of each phrase, ASCII letters case-insensitive); a candidate
/// with none nearby gets no adjustment without tokenizing anything. Letters outside ASCII
/// are matched as written, so a word that has them is looked for in lower, upper and title
/// case (`móvil`, `MÓVIL`, `Ñoño`); other mixes of case in such a word are not seen.
#[derive(Debug, Default)]
pub(crate) struct ContextIndex {
    /// The words the scan locates: each rule word's first token, and for a token with letters
    /// outside ASCII its upper-case form too.
    words: Vec<String>,
    /// For each scanned word, the id its rules know it by (itself, or the lower-case form an
    /// upper-case form stands for).
    canon: Vec<u32>,
    longest: usize,
    /// The ids of the words (lower-case forms only) that start with each ASCII letter, `a`
    /// to `z`: the words that can start at a camel-case hump.
    by_initial: Vec<Vec<u32>>,
}

/// The words one rule needs, as ids into a [`ContextIndex`].
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleWords {
    /// For each phrase (positive ones first), the id of its first word.
    phrase_ids: Vec<Option<u32>>,
    positive_ids: Vec<u32>,
    all_ids: Vec<u32>,
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

/// A byte range of the text, `(start, end)`.
type ByteRange = (usize, usize);

/// A bit set of the bytes of `x` (eight bytes, little-endian) in `lo..=hi`, all below 0x80: the
/// high bit of each such byte. No byte's sum carries into the next.
fn bytes_in(x: u64, lo: u8, hi: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low7 = x & !HIGH;
    let at_least_lo = low7 + ONES * u64::from(0x80 - lo);
    let above_hi = low7 + ONES * u64::from(0x7f - hi);
    at_least_lo & !above_hi & !x & HIGH
}

/// The offsets of the upper-case letters of `b` that follow a lower-case one (ASCII): the
/// camel-case humps, eight bytes at a time.
fn humps(b: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut carry = 0u64;
    let mut push = |base: usize, x: u64| {
        let lower = bytes_in(x, b'a', b'z');
        let mut hits = ((lower << 8) | carry) & bytes_in(x, b'A', b'Z');
        carry = lower >> 56;
        while hits != 0 {
            out.push(base + hits.trailing_zeros() as usize / 8);
            hits &= hits - 1;
        }
    };
    let chunks = b.chunks_exact(8);
    let tail = chunks.remainder();
    let mut base = 0;
    for chunk in chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        push(base, u64::from_le_bytes(word));
        base += 8;
    }
    let mut word = [0u8; 8];
    if let Some(w) = word.get_mut(..tail.len()) {
        w.copy_from_slice(tail);
    }
    push(base, u64::from_le_bytes(word));
    out
}

/// The entries of `list` (sorted by offset) at offsets in `lo..hi`.
fn in_list(list: &[(usize, u32)], lo: usize, hi: usize) -> impl Iterator<Item = &(usize, u32)> {
    let first = list.partition_point(|&(pos, _)| pos < lo);
    list.get(first..)
        .unwrap_or_default()
        .iter()
        .take_while(move |&&(pos, _)| pos < hi)
}

/// Occurrences of context words in one text, sorted by start.
#[derive(Debug)]
pub(crate) struct ContextHits<'s> {
    text: &'s str,
    hits: &'s [(usize, u32)],
    index: &'s ContextIndex,
    /// (offset, word id) of every word that starts at the upper-case letter of a camel-case
    /// hump, sorted: found on first need, once for all rules.
    humps: std::cell::OnceCell<Vec<(usize, u32)>>,
    /// The text's tables, found on first need (see [`super::table`]).
    tables: std::cell::OnceCell<Tables>,
    /// The last header lookup and its answer: one candidate asks several times.
    last_header: std::cell::Cell<Option<(usize, Option<ByteRange>)>>,
}

impl ContextIndex {
    /// Builds the index for the scorers of a rule set; returns it and each rule's words.
    pub(crate) fn new(scorers: &[&ContextScorer]) -> (ContextIndex, Vec<RuleWords>) {
        let mut words: Vec<String> = Vec::new();
        let mut canon: Vec<u32> = Vec::new();
        let mut per_rule = Vec::with_capacity(scorers.len());
        for sc in scorers {
            let mut rw = RuleWords::default();
            for (k, phrase) in sc.positive.iter().chain(&sc.negative).enumerate() {
                let Some(first) = phrase.first() else {
                    rw.always_precise = true;
                    rw.phrase_ids.push(None);
                    continue;
                };
                let id = match words.iter().position(|w| w == first) {
                    Some(i) => i,
                    None => {
                        words.push(first.clone());
                        let id = u32::try_from(words.len() - 1).unwrap_or(u32::MAX);
                        canon.push(id);
                        // The scan folds ASCII letters only: a word with other letters is
                        // also looked for in upper case ("MÓVIL") and title case ("Ñoño",
                        // "Łódź"); "Móvil" is found by the lower-case form.
                        if !first.is_ascii() {
                            let mut chars = first.chars();
                            let title: String = chars
                                .next()
                                .into_iter()
                                .flat_map(char::to_uppercase)
                                .chain(chars)
                                .collect();
                            for form in [first.to_uppercase(), title] {
                                if form != *first && !words.contains(&form) {
                                    words.push(form);
                                    canon.push(id);
                                }
                            }
                        }
                        id as usize
                    }
                };
                let id = u32::try_from(id).unwrap_or(u32::MAX);
                rw.phrase_ids.push(Some(id));
                rw.all_ids.push(id);
                set_bit(&mut rw.mask, id);
                if k < sc.positive.len() {
                    rw.positive_ids.push(id);
                    set_bit(&mut rw.positive_mask, id);
                }
            }
            per_rule.push(rw);
        }
        let longest = words.iter().map(String::len).max().unwrap_or(0);
        let mut by_initial = vec![Vec::new(); 26];
        for (id, w) in words.iter().enumerate() {
            let own = canon.get(id).is_some_and(|&c| c as usize == id);
            let first = w
                .bytes()
                .next()
                .filter(u8::is_ascii_alphabetic)
                .map(|c| c.to_ascii_lowercase());
            let bucket = first
                .filter(|_| own)
                .and_then(|c| by_initial.get_mut(usize::from(c - b'a')));
            if let Some(bucket) = bucket {
                bucket.push(u32::try_from(id).unwrap_or(u32::MAX));
            }
        }
        (
            ContextIndex {
                words,
                canon,
                longest,
                by_initial,
            },
            per_rule,
        )
    }

    /// The words to locate (matched ignoring the case of ASCII letters), by scan id.
    pub(crate) fn words(&self) -> &[String] {
        &self.words
    }

    /// The hits of `text`, given where its scan found each word (sorted by start).
    pub(crate) fn hits<'s>(&'s self, text: &'s str, found: &'s [(usize, u32)]) -> ContextHits<'s> {
        ContextHits {
            text,
            hits: found,
            index: self,
            humps: std::cell::OnceCell::new(),
            tables: std::cell::OnceCell::new(),
            last_header: std::cell::Cell::new(None),
        }
    }
}

impl ContextHits<'_> {
    /// The part of the header cell of the table column that byte `pos` stands in that counts
    /// as context (its last few tokens, see [`super::table`]), as a byte range; `None` outside
    /// tables.
    pub(crate) fn header(&self, pos: usize) -> Option<(usize, usize)> {
        if let Some((at, cell)) = self.last_header.get()
            && at == pos
        {
            return cell;
        }
        let cell = self
            .tables
            .get_or_init(|| Tables::new(self.text))
            .header_cell(self.text, pos);
        self.last_header.set(Some((pos, cell)));
        cell
    }

    /// The header words of `header(pos)`, as the text's own slice.
    pub(crate) fn header_text(&self, pos: usize) -> Option<&str> {
        self.header(pos).and_then(|(a, b)| self.text.get(a..b))
    }

    /// The hits close enough to `start..end` to be in its window.
    fn around(&self, start: usize, end: usize) -> impl Iterator<Item = u32> + '_ {
        self.around_at(start, end).map(|(_, id)| id)
    }

    /// The hits close enough to `start..end` to be in its window, with where they start,
    /// then those in the header of its table column. Words that start at a camel-case hump
    /// (`Phone` in `homePhone`), which the scan does not locate (see [`crate::rules`]), are
    /// among them.
    fn around_at(&self, start: usize, end: usize) -> impl Iterator<Item = (usize, u32)> + '_ {
        let lo = start.saturating_sub(MAX_WINDOW_BYTES + self.index.longest);
        let hi = end.saturating_add(MAX_WINDOW_BYTES);
        let humps = self.humps.get_or_init(|| self.hump_hits()).as_slice();
        let in_range = move |lo: usize, hi: usize| {
            in_list(self.hits, lo, hi)
                .chain(in_list(humps, lo, hi))
                .map(|&(pos, id)| {
                    (
                        pos,
                        self.index.canon.get(id as usize).copied().unwrap_or(id),
                    )
                })
        };
        // A header within reach of the window is already in it. It is looked up only when
        // the words nearby did not answer.
        let header = std::iter::once_with(move || self.header(start))
            .flatten()
            .filter(move |&(a, _)| a < lo);
        in_range(lo, hi).chain(header.flat_map(move |(a, b)| in_range(a, b)))
    }

    /// Every (offset, word id) where a word starts at the upper-case letter of a camel-case
    /// hump (a lower-case ASCII letter, then an upper-case one), in text order.
    fn hump_hits(&self) -> Vec<(usize, u32)> {
        let b = self.text.as_bytes();
        let mut out = Vec::new();
        for i in humps(b) {
            let bucket = b.get(i).and_then(|c| {
                self.index
                    .by_initial
                    .get(usize::from(c.to_ascii_lowercase() - b'a'))
            });
            for &id in bucket.map(Vec::as_slice).unwrap_or_default() {
                let w = self.index.words.get(id as usize).map_or("", String::as_str);
                if b.get(i..i + w.len())
                    .is_some_and(|t| t.eq_ignore_ascii_case(w.as_bytes()))
                {
                    out.push((i, id));
                }
            }
        }
        out
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
    }

    /// True when some positive word of the rule may be in the window of `start..end`.
    pub(crate) fn positive_near(&self, words: &RuleWords, start: usize, end: usize) -> bool {
        words.always_precise
            || self
                .around(start, end)
                .any(|id| has_bit(&words.positive_mask, id))
    }

    /// The rule's words that may be in the window of `start..end`, written into `buf`.
    pub(crate) fn near<'b>(
        &self,
        words: &RuleWords,
        start: usize,
        end: usize,
        buf: &'b mut NearIds,
    ) -> Near<'b> {
        if words.always_precise {
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
                // As the scan does: ASCII letters in any case, others as written.
                for (at, _) in lower.match_indices(w.to_ascii_lowercase().as_str()) {
                    found.push((at, id as u32));
                }
            }
            found.sort_unstable();
            let hits = self.1.hits(text, &found);
            let mut buf = NearIds::default();
            let near = hits.near(&self.2, start, end, &mut buf);
            let header = hits.header_text(start);
            let fast = self
                .0
                .adjust(text, (start, end), &self.2, near, &[], header);
            let slow = self
                .0
                .adjust(text, (start, end), &self.2, Near::All, &[], header);
            assert_eq!(fast, slow, "the index changed the outcome");
            fast
        }
    }

    fn scorer(pos: &[&str], neg: &[&str]) -> Sc {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let sc = ContextScorer::new(&s(pos), &s(neg), 0.3, 0.4, 3, false);
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
    fn words_with_letters_outside_ascii_are_found_in_each_case() {
        let sc = scorer(&["móvil", "komórki"], &[]);
        for t in [
            "móvil 612 345 678",
            "Móvil: 612 345 678",
            "MÓVIL 612 345 678",
            "numer KOMÓRKI 612 345 678",
        ] {
            let at = t.find("612").unwrap_or_default();
            assert!(sc.adjust(t, at, t.len()) > 0.0, "{t}");
        }
        // Title case with a letter outside ASCII first.
        let sc = scorer(&["ñoño"], &[]);
        let t = "Ñoño 612 345 678";
        assert!(sc.adjust(t, 7, t.len()) > 0.0);
    }

    #[test]
    fn a_column_header_is_context_however_far_above() {
        let sc = scorer(&["pesel"], &["order"]);
        let mut t = String::from("name,pesel,order_no\n");
        for k in 0..20 {
            t.push_str(&format!("Anna Nowak {k},44051401359,A-{k}\n"));
        }
        let at = t.rfind("44051401359").unwrap_or_default();
        assert!(at > MAX_WINDOW_BYTES);
        assert_eq!(sc.adjust(&t, at, at + 11), 0.3);
        // The third column's header is a negative word for it.
        let at = t.rfind("A-19").unwrap_or_default();
        assert_eq!(sc.adjust(&t, at, at + 4), -0.4);
        // Without the header line, nothing.
        let rows = t.split_once('\n').map(|(_, r)| r).unwrap_or_default();
        let at = rows.rfind("44051401359").unwrap_or_default();
        assert_eq!(sc.adjust(rows, at, at + 11), 0.0);
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
    fn humps_are_found_eight_bytes_at_a_time() {
        let plain = |b: &[u8]| -> Vec<usize> {
            (1..b.len())
                .filter(|&i| b[i - 1].is_ascii_lowercase() && b[i].is_ascii_uppercase())
                .collect()
        };
        for t in [
            "homePhone",
            "aB",
            "abcdefgHijklmnoPqrstuvwXyz",
            "ABCdefGHIjkL mNoP",
            "naïveVal éA zZ",
            "",
            "x",
            "1234567aB",
            "1234567a\u{e9}B",
        ] {
            assert_eq!(humps(t.as_bytes()), plain(t.as_bytes()), "{t}");
        }
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
