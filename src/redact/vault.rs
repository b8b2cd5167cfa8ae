//! The vault: the per-conversation map from placeholders to the values they replace.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::ops::Deref;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::Serialize;
use zeroize::Zeroize;

use super::finding::EntityType;
use super::placeholder::{self, Numbers, Scan, Token};
use super::urls::{self, Carry, UrlValues};

/// A value held by the vault: wiped from memory when dropped, never printed.
#[derive(PartialEq, Eq, Hash)]
struct Secret(String);

impl std::borrow::Borrow<str> for Secret {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Holds the original values behind placeholders for one conversation, and restores them.
///
/// Placeholders are numbered per entity type (`[EMAIL_1]`, `[EMAIL_2]`, `[PHONE_1]`), and the
/// same value of the same type always gets the same placeholder within one vault — in the
/// question, in retrieved passages, and in later turns that share the vault. A vault is
/// `Send + Sync`; share it by reference or in an `Arc`.
///
/// The vault is the one place original values live. It has no `Clone`, `Display` or
/// `Serialize`, its `Debug` shows only counts, and every value is overwritten with zeros when
/// the vault is dropped.
///
/// # Examples
///
/// ```
/// use promptveil::redact::{Redactor, Vault};
///
/// let redactor = Redactor::builder().default_rules().build()?;
/// let vault = Vault::new();
/// let red = redactor.redact("Mail ana@example.com or ana@example.com", &vault);
/// assert_eq!(red.text().as_str(), "Mail [EMAIL_1] or [EMAIL_1]");
///
/// let answer = vault.restore("I wrote to [email_1].");
/// assert_eq!(answer.text(), "I wrote to ana@example.com.");
/// assert_eq!(answer.report().tolerant, 1);
/// # Ok::<(), promptveil::Error>(())
/// ```
///
/// What the type rules out, checked at compile time: a vault cannot be duplicated (it holds
/// the only copy of the values),
///
/// ```compile_fail,E0599
/// let vault = promptveil::redact::Vault::new();
/// let copy = vault.clone();
/// ```
///
/// printed (that would print the values),
///
/// ```compile_fail,E0277
/// let vault = promptveil::redact::Vault::new();
/// println!("{vault}");
/// ```
///
/// or written out by serde (its values must not reach a log or a file).
///
/// ```compile_fail,E0277
/// fn store<T: serde::Serialize>(_: &T) {}
/// store(&promptveil::redact::Vault::new());
/// ```
pub struct Vault {
    state: Mutex<State>,
}

/// One placeholder and the value behind it.
struct Entry {
    entity: EntityType,
    n: u32,
    value: Secret,
    /// The next entry whose value has the same hash.
    next: Option<usize>,
}

#[derive(Default)]
struct State {
    /// Every value, stored once.
    entries: Vec<Entry>,
    /// Keyed hash of a value to the first entry with that hash (then `Entry::next`). The key
    /// is random per vault, so crafted values cannot be made to collide.
    by_hash: HashMap<u64, usize>,
    by_key: HashMap<(EntityType, u32), usize>,
    hasher: RandomState,
    counters: HashMap<EntityType, u32>,
    /// (NAME, N) pairs spelled in redacted inputs: never handed out.
    reserved: HashMap<String, HashSet<u32>>,
    longest: usize,
    generation: u64,
}

impl Default for Vault {
    fn default() -> Vault {
        Vault::new()
    }
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("Vault")
            .field("placeholders", &s.by_key.len())
            .field("entity_types", &s.counters.len())
            .finish_non_exhaustive()
    }
}

impl AsRef<Vault> for Vault {
    fn as_ref(&self) -> &Vault {
        self
    }
}

impl Vault {
    /// An empty vault.
    pub fn new() -> Vault {
        Vault {
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the maps consistent (every update
        // is a single insert), so a poisoned lock is still safe to use.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of placeholders handed out.
    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }

    /// True before the first placeholder is handed out.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every placeholder handed out, sorted (the placeholders only, never the values).
    pub fn placeholders(&self) -> Vec<String> {
        let s = self.lock();
        let mut v: Vec<String> = s.by_key.keys().map(|(e, n)| format!("[{e}_{n}]")).collect();
        v.sort();
        v
    }

    /// Length in bytes of the longest placeholder handed out (0 when empty): the most a
    /// [`StreamRestorer`] ever holds back is less than this.
    pub fn longest_placeholder(&self) -> usize {
        self.lock().longest
    }

    /// Marks every placeholder form spelled in `text` as taken, so that restoring never
    /// rewrites what the user wrote.
    pub(crate) fn reserve_spelled(&self, text: &str) {
        let forms = placeholder::spelled_forms(text);
        if forms.is_empty() {
            return;
        }
        let mut s = self.lock();
        for (name, n) in forms {
            s.reserved.entry(name).or_default().insert(n);
        }
    }

    /// The placeholder for `value` of type `entity`: the existing one, or the next free number.
    pub(crate) fn placeholder_for(&self, entity: &EntityType, value: &str) -> String {
        let mut s = self.lock();
        let hash = s.hasher.hash_one(value);
        let head = s.by_hash.get(&hash).copied();
        let mut at = head;
        while let Some(i) = at {
            let Some(e) = s.entries.get(i) else {
                break;
            };
            if e.entity == *entity && e.value.0 == value {
                return format!("[{entity}_{}]", e.n);
            }
            at = e.next;
        }
        let reserved = s.reserved.get(entity.as_str());
        let mut n = s.counters.get(entity).copied().unwrap_or(0);
        loop {
            n = n.saturating_add(1);
            if !reserved.is_some_and(|r| r.contains(&n)) || n == u32::MAX {
                break;
            }
        }
        s.counters.insert(entity.clone(), n);
        let index = s.entries.len();
        s.entries.push(Entry {
            entity: entity.clone(),
            n,
            value: Secret(value.to_string()),
            next: head,
        });
        s.by_hash.insert(hash, index);
        s.by_key.insert((entity.clone(), n), index);
        s.generation += 1;
        let ph = format!("[{entity}_{n}]");
        s.longest = s.longest.max(ph.len());
        ph
    }

    /// Replaces every placeholder form in `text` by its original value — except inside a URL
    /// (a Markdown link or image target, an autolink, a bare URL, an HTML `src`/`href`-like
    /// attribute), where it stays a placeholder and is counted in
    /// [`RestoreReport::withheld_in_urls`]: a model's answer cannot turn a value into a
    /// request to another server ([`restore_with`](Vault::restore_with) and
    /// [`UrlValues::Restore`] fill those too).
    ///
    /// Exact placeholders are restored first-class; tolerant forms (other case, spaces for
    /// underscores, missing brackets — see [the grammar](crate::redact#placeholders)) are
    /// restored and counted apart. Exact-shaped placeholders this vault never handed out are
    /// left as they are and listed in the report.
    ///
    /// ```
    /// use promptveil::redact::{Redactor, UrlValues, Vault};
    ///
    /// let vault = Vault::new();
    /// Redactor::builder().default_rules().build()?.redact("mail ana@example.com", &vault);
    /// let answer = "Write to [EMAIL_1]. ![chart](https://x.example/c.png?u=[EMAIL_1])";
    /// let restored = vault.restore(answer);
    /// assert_eq!(restored.text(), "Write to ana@example.com. ![chart](https://x.example/c.png?u=[EMAIL_1])");
    /// assert_eq!(restored.report().withheld_in_urls, 1);
    /// assert!(vault.restore_with(answer, UrlValues::Restore).text().ends_with("?u=ana@example.com)"));
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    pub fn restore(&self, text: &str) -> Restored {
        self.restore_with(text, UrlValues::Withhold)
    }

    /// [`restore`](Vault::restore), saying whether placeholders inside URLs are filled.
    pub fn restore_with(&self, text: &str, urls: UrlValues) -> Restored {
        let s = self.lock();
        let view = View::new(&s);
        let mut out = String::with_capacity(text.len());
        let mut report = RestoreReport::default();
        let mut reader = Reader {
            view: &view,
            urls,
            carry: &Carry::default(),
        };
        reader.restore_into(text, 0, true, &mut out, &mut report);
        Restored { text: out, report }
    }

    /// A restorer for an answer that arrives in chunks.
    pub fn stream_restorer(&self) -> StreamRestorer<&Vault> {
        StreamRestorer::new(self)
    }
}

/// What restoring did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    /// Placeholders restored from their exact form.
    pub exact: usize,
    /// Placeholders restored from a tolerant form.
    pub tolerant: usize,
    /// Exact-shaped placeholders the vault never handed out, left in the text.
    pub unknown: Vec<String>,
    /// Placeholders left as placeholders because they were inside a URL
    /// ([`UrlValues::Withhold`]).
    pub withheld_in_urls: usize,
}

impl RestoreReport {
    pub(crate) fn merge(&mut self, other: RestoreReport) {
        self.exact += other.exact;
        self.tolerant += other.tolerant;
        self.unknown.extend(other.unknown);
        self.withheld_in_urls += other.withheld_in_urls;
    }
}

/// A restored answer and what restoring did.
///
/// The text holds original values again; its `Debug` shows only its length.
pub struct Restored {
    text: String,
    report: RestoreReport,
}

impl fmt::Debug for Restored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Restored")
            .field("len", &self.text.len())
            .field("report", &self.report)
            .finish()
    }
}

impl Restored {
    /// The restored text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What was restored and what was not.
    pub fn report(&self) -> &RestoreReport {
        &self.report
    }

    /// Splits into text and report.
    pub fn into_parts(self) -> (String, RestoreReport) {
        (self.text, self.report)
    }
}

/// A read-only snapshot of the vault for one scan.
struct View<'s> {
    names: Vec<&'s [u8]>,
    entities: Vec<&'s EntityType>,
    numbers: Vec<Vec<u32>>,
    state: &'s State,
    first: [bool; 256],
}

impl<'s> View<'s> {
    fn new(s: &'s State) -> View<'s> {
        let mut entities: Vec<&EntityType> = s.counters.keys().collect();
        entities.sort_by(|a, b| b.as_str().len().cmp(&a.as_str().len()).then(a.cmp(b)));
        let mut numbers = vec![Vec::new(); entities.len()];
        let index: HashMap<&EntityType, usize> =
            entities.iter().enumerate().map(|(i, e)| (*e, i)).collect();
        for (e, n) in s.by_key.keys() {
            if let Some(nums) = index.get(e).and_then(|&i| numbers.get_mut(i)) {
                nums.push(*n);
            }
        }
        let mut first = [false; 256];
        for e in &entities {
            if let Some(&b) = e.as_str().as_bytes().first() {
                for c in [b, b.to_ascii_lowercase()] {
                    if let Some(slot) = first.get_mut(usize::from(c)) {
                        *slot = true;
                    }
                }
            }
        }
        View {
            names: entities.iter().map(|e| e.as_str().as_bytes()).collect(),
            entities,
            numbers,
            state: s,
            first,
        }
    }

    fn value(&self, name: usize, n: u32) -> Option<&str> {
        let e = self.entities.get(name)?;
        let i = self.state.by_key.get(&((*e).clone(), n))?;
        self.state.entries.get(*i).map(|e| e.value.0.as_str())
    }
}

impl Numbers for View<'_> {
    fn has(&self, name: usize, n: u32) -> bool {
        self.numbers.get(name).is_some_and(|v| v.contains(&n))
    }

    fn extends(&self, name: usize, prefix: u32) -> bool {
        let p = prefix.to_string();
        self.numbers.get(name).is_some_and(|v| {
            v.iter().any(|k| {
                let k = k.to_string();
                k.len() > p.len() && k.starts_with(&p)
            })
        })
    }
}

/// Restores `text` into `out`. When `eof` is false, stops at the first place where more input
/// could complete a placeholder and returns that byte offset; otherwise returns `text.len()`.
/// Restores `text[from..]` into `out`; `text[..from]` is context only (the character before,
/// which decides whether a bare `email_1` starts a word). Returns where a possible placeholder
/// starts that needs more text, or the text's length.
/// How an answer is read back: the vault's view, whether URLs get values, and the run of
/// text before the part being read.
struct Reader<'a, 'v> {
    view: &'a View<'v>,
    urls: UrlValues,
    carry: &'a Carry,
}

impl Reader<'_, '_> {
    fn restore_into(
        &mut self,
        text: &str,
        from: usize,
        eof: bool,
        out: &mut String,
        report: &mut RestoreReport,
    ) -> usize {
        let view = self.view;
        let b = text.as_bytes();
        let mut copied = from;
        let mut i = from;
        while i < b.len() {
            let byte = b.get(i).copied().unwrap_or(0);
            let candidate = match byte {
                b'[' => true,
                c if c.is_ascii_alphabetic() => view.first.get(usize::from(c)) == Some(&true),
                _ => false,
            };
            if candidate {
                match placeholder::scan_at(b, i, &view.names, view, eof) {
                    Scan::Form {
                        name,
                        n,
                        len,
                        exact,
                    } => {
                        if let Some(value) = view.value(name, n) {
                            if self.urls == UrlValues::Withhold
                                && urls::placeholder_in_url(self.carry, text, i)
                            {
                                // Left as the model wrote it: copied with the text around.
                                report.withheld_in_urls += 1;
                                i += len;
                                continue;
                            }
                            out.push_str(text.get(copied..i).unwrap_or_default());
                            out.push_str(value);
                            if exact {
                                report.exact += 1;
                            } else {
                                report.tolerant += 1;
                            }
                            i += len;
                            copied = i;
                            continue;
                        }
                    }
                    Scan::Partial => {
                        out.push_str(text.get(copied..i).unwrap_or_default());
                        return i;
                    }
                    Scan::None => {
                        if byte == b'['
                            && let Some((end, Token::Placeholder)) =
                                placeholder::exact_token_at(text, i)
                        {
                            report
                                .unknown
                                .push(text.get(i..end).unwrap_or_default().to_string());
                            i = end;
                            continue;
                        }
                    }
                }
            }
            i += 1;
        }
        out.push_str(text.get(copied..).unwrap_or_default());
        b.len()
    }
}

/// Restores placeholders in an answer that arrives in chunks, holding back only what could
/// still be the start of a placeholder.
///
/// [`push`](StreamRestorer::push) returns the text that is safe to show now;
/// [`finish`](StreamRestorer::finish) returns the rest. The concatenation of all outputs equals
/// [`Vault::restore`] of the whole answer, however the answer was split. What is held back
/// between pushes is always shorter than the longest placeholder the vault handed out.
///
/// Works over any handle to a vault: `&Vault`, `Arc<Vault>`, `Box<Vault>`.
///
/// # Examples
///
/// ```
/// use promptveil::redact::{Redactor, StreamRestorer, Vault};
///
/// let vault = Vault::new();
/// let red = Redactor::builder().default_rules().build()?.redact("call +44 20 7946 0958", &vault);
/// assert_eq!(red.text().as_str(), "call [PHONE_1]");
///
/// let mut stream = StreamRestorer::new(&vault);
/// let mut shown = String::new();
/// for chunk in ["I will call [PHO", "NE_", "1] now."] {
///     shown.push_str(&stream.push(chunk));
/// }
/// shown.push_str(&stream.finish().0);
/// assert_eq!(shown, "I will call +44 20 7946 0958 now.");
/// # Ok::<(), promptveil::Error>(())
/// ```
pub struct StreamRestorer<V: Deref<Target = Vault>> {
    vault: V,
    /// The last character already shown (context), then the text held back.
    held: String,
    /// Bytes of `held` that are context, not held back.
    context: usize,
    report: RestoreReport,
    urls: UrlValues,
    /// The run of non-white text passed on before `held`.
    carry: Carry,
}

impl<V: Deref<Target = Vault>> fmt::Debug for StreamRestorer<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamRestorer")
            .field("held", &self.held_len())
            .field("report", &self.report)
            .finish()
    }
}

impl<V: Deref<Target = Vault>> StreamRestorer<V> {
    /// A restorer over `vault`.
    pub fn new(vault: V) -> StreamRestorer<V> {
        StreamRestorer {
            vault,
            held: String::new(),
            context: 0,
            report: RestoreReport::default(),
            urls: UrlValues::Withhold,
            carry: Carry::default(),
        }
    }

    /// Says whether placeholders inside URLs are filled (default: withheld, as
    /// [`Vault::restore`] does).
    pub fn with_urls(mut self, urls: UrlValues) -> StreamRestorer<V> {
        self.urls = urls;
        self
    }

    /// Feeds the next chunk; returns the restored text that can be shown now.
    pub fn push(&mut self, chunk: &str) -> String {
        self.held.push_str(chunk);
        let s = self.vault.lock();
        let view = View::new(&s);
        let mut out = String::with_capacity(self.held.len());
        let mut report = RestoreReport::default();
        let mut reader = Reader {
            view: &view,
            urls: self.urls,
            carry: &self.carry,
        };
        let stop = reader.restore_into(&self.held, self.context, false, &mut out, &mut report);
        drop(s);
        self.report.merge(report);
        // Keep the last character shown as context for the next push.
        let stop = stop.min(self.held.len());
        let keep_from = self
            .held
            .get(..stop)
            .and_then(|shown| shown.char_indices().next_back())
            .map_or(stop, |(at, _)| at);
        self.carry
            .extend(self.held.get(..keep_from).unwrap_or_default());
        self.held.drain(..keep_from);
        self.context = stop - keep_from;
        out
    }

    /// Bytes currently held back.
    pub fn held_len(&self) -> usize {
        self.held.len() - self.context
    }

    /// Ends the stream: returns the rest of the restored text and the report for the whole
    /// stream.
    pub fn finish(mut self) -> (String, RestoreReport) {
        let held = std::mem::take(&mut self.held);
        let s = self.vault.lock();
        let view = View::new(&s);
        let mut out = String::with_capacity(held.len());
        let mut report = RestoreReport::default();
        let mut reader = Reader {
            view: &view,
            urls: self.urls,
            carry: &self.carry,
        };
        reader.restore_into(&held, self.context, true, &mut out, &mut report);
        drop(s);
        self.report.merge(report);
        (out, std::mem::take(&mut self.report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(s: &str) -> EntityType {
        EntityType::new(s).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn same_value_same_placeholder_and_numbering_per_type() {
        let v = Vault::new();
        assert_eq!(v.placeholder_for(&e("EMAIL"), "a@x.io"), "[EMAIL_1]");
        assert_eq!(v.placeholder_for(&e("EMAIL"), "b@x.io"), "[EMAIL_2]");
        assert_eq!(v.placeholder_for(&e("PHONE"), "123"), "[PHONE_1]");
        assert_eq!(v.placeholder_for(&e("EMAIL"), "a@x.io"), "[EMAIL_1]");
        assert_eq!(v.len(), 3);
        assert_eq!(v.longest_placeholder(), 9);
    }

    #[test]
    fn reserved_numbers_are_skipped() {
        let v = Vault::new();
        v.reserve_spelled("the template says [EMAIL_1] and email_2");
        assert_eq!(v.placeholder_for(&e("EMAIL"), "a@x.io"), "[EMAIL_3]");
        let r = v.restore("[EMAIL_1] [EMAIL_3]");
        assert_eq!(r.text(), "[EMAIL_1] a@x.io");
        assert_eq!(r.report().unknown, vec!["[EMAIL_1]".to_string()]);
    }

    #[test]
    fn debug_shows_no_values() {
        let v = Vault::new();
        v.placeholder_for(&e("EMAIL"), "canary-7f3a@x.io");
        let dbg = format!("{v:?}");
        assert!(!dbg.contains("canary"), "{dbg}");
    }

    #[test]
    fn streaming_equals_whole_for_every_split() {
        let v = Vault::new();
        v.placeholder_for(&e("EMAIL"), "a@x.io");
        v.placeholder_for(&e("CREDIT_CARD"), "4111");
        for _ in 0..11 {
            v.placeholder_for(&e("PHONE"), &format!("{}", v.len()));
        }
        let answer =
            "Hi [EMAIL_1], card CREDIT_CARD_1 and [phone 11] or [PHONE_1]x, cardemail_1 EMAIL_1";
        let whole = v.restore(answer);
        for i in 0..=answer.len() {
            for j in i..=answer.len() {
                let mut s = v.stream_restorer();
                let mut out = s.push(&answer[..i]);
                out.push_str(&s.push(&answer[i..j]));
                assert!(s.held_len() < v.longest_placeholder());
                out.push_str(&s.push(&answer[j..]));
                let (rest, report) = s.finish();
                out.push_str(&rest);
                assert_eq!(out, whole.text(), "split at {i},{j}");
                assert_eq!(
                    report.exact + report.tolerant,
                    whole.report().exact + whole.report().tolerant
                );
            }
        }
    }
}
