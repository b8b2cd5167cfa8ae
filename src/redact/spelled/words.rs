//! The first pass of the spelled view: the listed words (number words, words for `@` and
//! `.`) found in a text, whole words only, fast enough to run over every text.

/// What a word of the first pass may stand for (a word may be more than one).
#[derive(Clone, Copy, Default)]
pub(super) struct WordKind {
    pub(super) number: bool,
    pub(super) at: bool,
    pub(super) dot: bool,
}

impl WordKind {
    pub(super) const NUMBER: WordKind = WordKind {
        number: true,
        at: false,
        dot: false,
    };
    pub(super) const AT: WordKind = WordKind {
        number: false,
        at: true,
        dot: false,
    };
    pub(super) const DOT: WordKind = WordKind {
        number: false,
        at: false,
        dot: true,
    };

    fn or(self, other: WordKind) -> WordKind {
        WordKind {
            number: self.number || other.number,
            at: self.at || other.at,
            dot: self.dot || other.dot,
        }
    }
}

/// The listed words, for the first pass: it splits a text into words (runs of letters and
/// digits) and looks each up. An ASCII word of up to eight bytes (nearly every word of prose,
/// and most listed words) is looked up by its lower-case bytes packed into one number, in an
/// open-addressed table: a multiplication and, for nearly every word, one empty slot. Longer
/// and other words are compared with the few listed words of that kind.
///
/// This pass runs over every text, so its cost is every request's: an automaton over the
/// lists (Aho-Corasick, the first version) reads every byte through its transition table, and
/// a split byte by byte mispredicts a jump at every word end; in the redaction bench either
/// took about twice the time of this pass (docs/measurements.md).
pub(super) struct WordTable {
    /// Slot → packed lower-case head and the index in `groups` plus one; `(0, 0)` is empty.
    slots: Vec<(u64, u32)>,
    /// Heads that do not pack (more than eight bytes, or not ASCII), lower case, with their
    /// index in `groups`.
    long: Vec<(Vec<u8>, u32)>,
    /// Bit `n`: a head in `long` has `n` bytes (words of other lengths skip the scan).
    long_lengths: u64,
    /// The listed words by head (the word up to its first character that is no letter or
    /// digit): what follows the head (`snabel-a`: `-a`), and what it stands for. Longest first.
    groups: Vec<Vec<Entry>>,
}

struct Entry {
    tail: Vec<u8>,
    kind: WordKind,
}

/// Slots of [`WordTable`]: a power of two, at least four times the listed heads (about 120).
const SLOT_BITS: u32 = 10;

/// An ASCII word of one to eight bytes, lower-cased and packed (little-endian), from the
/// eight bytes that start with it (`raw`, any bytes after the word).
fn pack(raw: u64, len: usize) -> u64 {
    let mask = if len >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * len)) - 1
    };
    // Setting 0x20 lowers an ASCII letter and leaves a digit as it is.
    (raw | 0x2020_2020_2020_2020) & mask
}

fn slot_of(key: u64) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - SLOT_BITS)) as usize
}

/// A block of up to 64 bytes, classified: bit `i` of the first result says whether byte `i`
/// may be part of a word, bit `i` of the second whether it is not ASCII (see [`classify8`]).
fn classify64(chunk: &[u8]) -> (u64, u64) {
    let mut padded = [0u8; 64];
    let block = if chunk.len() == 64 {
        chunk
    } else {
        if let Some(head) = padded.get_mut(..chunk.len()) {
            head.copy_from_slice(chunk);
        }
        &padded
    };
    let (mut word, mut wide) = (0u64, 0u64);
    for (i, eight) in block.chunks_exact(8).enumerate() {
        let Ok(eight) = <[u8; 8]>::try_from(eight) else {
            continue;
        };
        let (word_bytes, wide_bytes) = classify8(u64::from_le_bytes(eight));
        word |= u64::from(word_bytes) << (8 * i);
        wide |= u64::from(wide_bytes) << (8 * i);
    }
    (word, wide)
}

/// The eight bytes of `v` (little-endian), classified at once: bit `i` of the first result
/// says whether byte `i` may be part of a word (an ASCII letter or digit, or a byte of any other
/// character: those are sorted out word by word), bit `i` of the second whether it is not ASCII.
fn classify8(v: u64) -> (u8, u8) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of the result: whether that byte of `x` (seven bits, so no
    // carry crosses bytes) lies in `lo..=hi`.
    let within = |x: u64, lo: u8, hi: u8| {
        (x + ONES * u64::from(0x80 - lo)) & !(x + ONES * u64::from(0x7f - hi))
    };
    let ascii = v & !HIGH;
    let letter = within(ascii | (ONES * 0x20), b'a', b'z');
    let digit = within(ascii, b'0', b'9');
    // The high bit of each byte, gathered into one byte.
    let gather = |m: u64| ((((m & HIGH) >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56) as u8;
    (gather(letter | digit | v), gather(v))
}

impl Default for WordTable {
    fn default() -> WordTable {
        WordTable {
            slots: vec![(0, 0); 1 << SLOT_BITS],
            long: Vec::new(),
            long_lengths: 0,
            groups: Vec::new(),
        }
    }
}

impl WordTable {
    pub(super) fn add(&mut self, word: &str, kind: WordKind) {
        let word = word.to_lowercase();
        let head_len = word
            .char_indices()
            .find(|&(_, c)| !c.is_alphanumeric())
            .map_or(word.len(), |(i, _)| i);
        let (head, tail) = word.split_at(head_len);
        if head.is_empty() || head.len() >= 64 {
            return;
        }
        let group = match self.group_of(head.as_bytes()) {
            Some(g) => g,
            None => {
                let g = u32::try_from(self.groups.len()).unwrap_or(u32::MAX);
                self.groups.push(Vec::new());
                if let Some(key) = Self::key(head.as_bytes()) {
                    let mut i = slot_of(key);
                    while self.slots.get(i).is_some_and(|s| s.1 != 0) {
                        i = (i + 1) & ((1 << SLOT_BITS) - 1);
                    }
                    if let Some(slot) = self.slots.get_mut(i) {
                        *slot = (key, g + 1);
                    }
                } else {
                    self.long.push((head.as_bytes().to_vec(), g));
                    self.long_lengths |= 1 << head.len();
                }
                g
            }
        };
        let Some(entries) = self.groups.get_mut(group as usize) else {
            return;
        };
        match entries.iter_mut().find(|e| e.tail == tail.as_bytes()) {
            Some(e) => e.kind = e.kind.or(kind),
            None => entries.push(Entry {
                tail: tail.as_bytes().to_vec(),
                kind,
            }),
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.tail.len()));
    }

    /// The packed key of a lower-case head, when it packs.
    fn key(head: &[u8]) -> Option<u64> {
        let mut raw = [0u8; 8];
        raw.get_mut(..head.len())?.copy_from_slice(head);
        head.is_ascii()
            .then(|| pack(u64::from_le_bytes(raw), head.len()))
    }

    /// The group of a lower-case head.
    fn group_of(&self, head: &[u8]) -> Option<u32> {
        match Self::key(head) {
            Some(key) => self.group_of_key(key),
            None => self.long.iter().find(|(h, _)| h == head).map(|&(_, g)| g),
        }
    }

    #[inline]
    fn group_of_key(&self, key: u64) -> Option<u32> {
        let mut i = slot_of(key);
        loop {
            let &(k, g) = self.slots.get(i)?;
            if g == 0 {
                return None;
            }
            if k == key {
                return Some(g - 1);
            }
            i = (i + 1) & ((1 << SLOT_BITS) - 1);
        }
    }

    /// Calls `f(start, end, kind)` for each listed word of `text`, whole words only, in
    /// text order.
    ///
    /// The words are found without a branch per byte: one pass sets a bit per word byte (and
    /// per non-ASCII byte) in 64-bit blocks, eight bytes at a time, and the words are read off
    /// the bits where they start and end. Branching byte by byte costs a mispredicted jump at every word end, which
    /// was half the time of this pass on prose.
    pub(super) fn for_each_hit(&self, text: &str, mut f: impl FnMut(usize, usize, WordKind)) {
        let bytes = text.as_bytes();
        // The bits of the current block and of the next (a word may run into it), computed
        // one block ahead.
        let mut blocks = bytes.chunks(64).map(classify64);
        let (mut m, mut wide) = blocks.next().unwrap_or((0, 0));
        let mut carry_in = 0;
        // Where the word that runs into the current block began.
        let mut open = 0;
        for k in 0.. {
            let next = blocks.next();
            let base = k * 64;
            let next_low = next.map_or(0, |(n, _)| n & 1);
            let starts = m & !((m << 1) | carry_in);
            let mut lasts = m & !((m >> 1) | (next_low << 63));
            while lasts != 0 {
                let last = lasts.trailing_zeros() as usize;
                lasts &= lasts - 1;
                let before = starts & (u64::MAX >> (63 - last));
                let start = if before != 0 {
                    base + 63 - before.leading_zeros() as usize
                } else {
                    open
                };
                let end = base + last + 1;
                // Whether the word holds a byte that is not ASCII: read off the bits when it
                // lies in this block, else from the bytes.
                let ascii = if start >= base {
                    let span = (u64::MAX >> (63 - last)) & (u64::MAX << (start - base));
                    wide & span == 0
                } else {
                    bytes.get(start..end).is_some_and(<[u8]>::is_ascii)
                };
                if ascii {
                    self.look_up(text, start, end, &mut f);
                } else {
                    self.look_up_wide(text, start, end, &mut f);
                }
            }
            if m >> 63 == 1 && starts != 0 {
                open = base + 63 - starts.leading_zeros() as usize;
            }
            carry_in = m >> 63;
            match next {
                Some(n) => (m, wide) = n,
                None => break,
            }
        }
    }

    /// A run of word bytes holding other characters (`fünf`, `«zwölf»`): its words are the
    /// runs of alphanumeric characters.
    #[inline(never)]
    fn look_up_wide(
        &self,
        text: &str,
        start: usize,
        end: usize,
        f: &mut impl FnMut(usize, usize, WordKind),
    ) {
        let run = text.get(start..end).unwrap_or_default();
        let mut word_start = None;
        for (k, c) in run.char_indices().chain(std::iter::once((run.len(), ' '))) {
            match (word_start, c.is_alphanumeric()) {
                (None, true) => word_start = Some(k),
                (Some(ws), false) => {
                    self.look_up_other(text, start + ws, start + k, f);
                    word_start = None;
                }
                _ => {}
            }
        }
    }

    /// Looks up the ASCII word `text[start..end]`. The common case, a short word that is
    /// not listed, is a few instructions inline; the rest is out of line.
    #[inline(always)]
    fn look_up(
        &self,
        text: &str,
        start: usize,
        end: usize,
        f: &mut impl FnMut(usize, usize, WordKind),
    ) {
        let len = end - start;
        if len > 8 {
            return self.look_up_long(text, start, end, f);
        }
        let raw = match text.as_bytes().get(start..start + 8) {
            Some(eight) => <[u8; 8]>::try_from(eight).map_or(0, u64::from_le_bytes),
            None => Self::last_bytes(text, start, end),
        };
        if let Some(g) = self.group_of_key(pack(raw, len)) {
            self.found(text, start, end, g, f);
        }
    }

    /// The bytes of a short word at the end of `text`, zero-padded to eight.
    #[inline(never)]
    fn last_bytes(text: &str, start: usize, end: usize) -> u64 {
        let mut raw = [0u8; 8];
        if let (Some(to), Some(from)) = (
            raw.get_mut(..end.saturating_sub(start)),
            text.as_bytes().get(start..end),
        ) {
            to.copy_from_slice(from);
        }
        u64::from_le_bytes(raw)
    }

    /// Looks up an ASCII word of more than eight bytes among the long heads.
    #[inline(never)]
    fn look_up_long(
        &self,
        text: &str,
        start: usize,
        end: usize,
        f: &mut impl FnMut(usize, usize, WordKind),
    ) {
        let len = end - start;
        if len >= 64 || self.long_lengths & (1 << len) == 0 {
            return;
        }
        let word = text.as_bytes().get(start..end).unwrap_or_default();
        if let Some(&(_, g)) = self.long.iter().find(|(h, _)| h.eq_ignore_ascii_case(word)) {
            self.found(text, start, end, g, f);
        }
    }

    /// Looks up a word that is not ASCII (`fünf`): lower-cased, among the long heads.
    fn look_up_other(
        &self,
        text: &str,
        start: usize,
        end: usize,
        f: &mut impl FnMut(usize, usize, WordKind),
    ) {
        let Some(word) = text.get(start..end) else {
            return;
        };
        if word.is_ascii() {
            return self.look_up(text, start, end, f);
        }
        let lowered = word.to_lowercase();
        if let Some(g) = self.group_of(lowered.as_bytes()) {
            self.found(text, start, end, g, f);
        }
    }

    /// Reports the word at `start..end`, whose head is listed in group `g`, when one of the
    /// group's tails follows it and ends a word.
    #[inline(never)]
    fn found(
        &self,
        text: &str,
        start: usize,
        end: usize,
        g: u32,
        f: &mut impl FnMut(usize, usize, WordKind),
    ) {
        let rest = text.get(end..).unwrap_or_default();
        for e in self.groups.get(g as usize).into_iter().flatten() {
            let tail_follows = rest
                .as_bytes()
                .get(..e.tail.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(&e.tail))
                && rest
                    .get(e.tail.len()..)
                    .is_some_and(|after| !after.starts_with(char::is_alphanumeric));
            if tail_follows {
                f(start, end + e.tail.len(), e.kind);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_bytes_are_classified_like_one_at_a_time() {
        let one = |b: u8| (b.is_ascii_alphanumeric() || b >= 0x80, b >= 0x80);
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let samples = (0..=255u8).map(|b| u64::from(b) * 0x0101_0101_0101_0101);
        for v in samples.chain((0..20_000).map(|_| next())) {
            let (word, wide) = classify8(v);
            for (i, b) in v.to_le_bytes().into_iter().enumerate() {
                assert_eq!(
                    (word >> i & 1 == 1, wide >> i & 1 == 1),
                    one(b),
                    "byte {b:#04x} at {i} of {v:#018x}"
                );
            }
        }
    }

    #[test]
    fn words_across_the_64_byte_blocks_of_the_first_pass_are_found_whole() {
        let mut table = WordTable::default();
        for w in ["four", "fünf", "åtta", "seven", "nine"] {
            table.add(w, WordKind::NUMBER);
        }
        for w in ["snabel-a", "ät"] {
            table.add(w, WordKind::AT);
        }
        let words = "four fünf åtta snabel-a twelve ät seven";
        for pad in 0..140 {
            for filler in [" ", "x ", "\u{a0}"] {
                let text = format!("{}{words} nine", filler.repeat(pad));
                let mut found = Vec::new();
                table.for_each_hit(&text, |a, b, _| found.push(text[a..b].to_string()));
                assert_eq!(
                    found,
                    ["four", "fünf", "åtta", "snabel-a", "ät", "seven", "nine"],
                    "{pad} × {filler:?}"
                );
            }
        }
    }
}
