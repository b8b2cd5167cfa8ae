//! The placeholder grammar: how `[EMAIL_1]` and the forms models turn it into are recognised.
//!
//! A placeholder is `[` NAME `_` N `]`, where NAME is an entity type and N a number from 1
//! without leading zeros. Restoring accepts, besides that exact form:
//!
//! - any letter case: `[email_1]`, `[Email_1]`;
//! - a space or dash where an underscore stands inside brackets: `[EMAIL 1]`,
//!   `[CREDIT CARD-2]`;
//! - missing brackets, either or both: `EMAIL_1`, `[EMAIL_1`, `EMAIL_1]` — without the opening
//!   bracket the name must start a word, underscores must stay underscores, and the form must
//!   end a word, so `XEMAIL_1` and `EMAIL_12` are never read as `EMAIL_1`.
//!
//! The scanner works on bytes (the grammar is ASCII), starts only at ASCII bytes and ends after
//! them, so every span it reports falls on character boundaries. It can run on a complete text
//! or on a prefix of a stream: on a prefix it answers [`Scan::Partial`] where more input could
//! still complete a form, which is how the streaming restorer knows what to hold back.

/// The outcome of trying to read a placeholder form at one position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// No placeholder form starts here.
    None,
    /// The text ends before the form is decided; only returned when more input may follow.
    Partial,
    /// A form of `names[name]` number `n`, `len` bytes long.
    Form {
        name: usize,
        n: u32,
        len: usize,
        exact: bool,
    },
}

/// Where placeholder forms may start: `[`, or an ASCII letter that starts a word.
pub(crate) fn may_start(text: &[u8], pos: usize) -> bool {
    match text.get(pos) {
        Some(b'[') => true,
        Some(b) if b.is_ascii_alphabetic() => {
            pos == 0 || !text.get(pos - 1).is_some_and(|&p| is_word(p))
        }
        _ => false,
    }
}

pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

enum NameMatch {
    No,
    Partial,
    Full(usize),
}

fn match_name(text: &[u8], start: usize, name: &[u8], bracketed: bool, eof: bool) -> NameMatch {
    for (k, &nb) in name.iter().enumerate() {
        let Some(&tb) = text.get(start + k) else {
            return if eof {
                NameMatch::No
            } else {
                NameMatch::Partial
            };
        };
        let ok = if nb == b'_' {
            tb == b'_' || (bracketed && (tb == b' ' || tb == b'-'))
        } else {
            tb.to_ascii_uppercase() == nb
        };
        if !ok {
            return NameMatch::No;
        }
    }
    NameMatch::Full(start + name.len())
}

/// Whether the number `n` exists for name index `name`, and whether some existing number
/// starts with the digits of `n` (so more digits could still arrive).
pub(crate) trait Numbers {
    /// True when `[NAME_n]` exists.
    fn has(&self, name: usize, n: u32) -> bool;
    /// True when some existing number for `name` has `prefix` as a strict decimal prefix.
    fn extends(&self, name: usize, prefix: u32) -> bool;
}

/// Tries to read a placeholder form of one of `names` (upper case, underscores) at `pos`.
///
/// `names` should be ordered longest first; `eof` says whether the text is complete.
pub(crate) fn scan_at(
    text: &[u8],
    pos: usize,
    names: &[&[u8]],
    numbers: &dyn Numbers,
    eof: bool,
) -> Scan {
    if !may_start(text, pos) {
        return Scan::None;
    }
    let bracketed = text.get(pos) == Some(&b'[');
    let name_start = if bracketed { pos + 1 } else { pos };
    if bracketed && name_start >= text.len() {
        return if eof { Scan::None } else { Scan::Partial };
    }
    let mut partial = false;
    for (idx, name) in names.iter().enumerate() {
        let end = match match_name(text, name_start, name, bracketed, eof) {
            NameMatch::No => continue,
            NameMatch::Partial => {
                partial = true;
                continue;
            }
            NameMatch::Full(end) => end,
        };
        match finish_form(text, pos, end, idx, bracketed, numbers, eof) {
            Scan::None => {}
            Scan::Partial => partial = true,
            form @ Scan::Form { .. } => {
                if !partial {
                    return form;
                }
                // A longer name may still complete here; wait for it.
                return Scan::Partial;
            }
        }
    }
    if partial && !eof {
        Scan::Partial
    } else {
        Scan::None
    }
}

/// Reads separator, number and closing bracket after a name that ends at `i`.
fn finish_form(
    text: &[u8],
    pos: usize,
    mut i: usize,
    name: usize,
    bracketed: bool,
    numbers: &dyn Numbers,
    eof: bool,
) -> Scan {
    let more = |_: ()| if eof { Scan::None } else { Scan::Partial };
    let Some(&sep) = text.get(i) else {
        return more(());
    };
    let exact_sep = sep == b'_';
    if !(exact_sep || (bracketed && (sep == b' ' || sep == b'-'))) {
        return Scan::None;
    }
    i += 1;
    let digits_start = i;
    let mut n: u32 = 0;
    while let Some(&d) = text.get(i) {
        if !d.is_ascii_digit() {
            break;
        }
        if i == digits_start && d == b'0' {
            return Scan::None;
        }
        n = match n
            .checked_mul(10)
            .and_then(|x| x.checked_add(u32::from(d - b'0')))
        {
            Some(x) => x,
            None => return Scan::None,
        };
        i += 1;
    }
    if i == digits_start {
        return if i >= text.len() {
            more(())
        } else {
            Scan::None
        };
    }
    let at_end = i >= text.len();
    if at_end && !eof && numbers.extends(name, n) {
        return Scan::Partial;
    }
    if !numbers.has(name, n) {
        return Scan::None;
    }
    // Closing bracket, optional either way.
    let closed = match text.get(i) {
        Some(b']') => {
            i += 1;
            true
        }
        None if !eof => return Scan::Partial,
        _ => false,
    };
    if !bracketed && !closed {
        match text.get(i) {
            Some(&b) if is_word(b) => return Scan::None,
            None if !eof => return Scan::Partial,
            _ => {}
        }
    }
    if bracketed && !closed && text.get(i).is_some_and(|&b| is_word(b)) {
        return Scan::None;
    }
    let len = i - pos;
    let exact = bracketed && closed && exact_sep && is_canonical(text, pos, len);
    Scan::Form {
        name,
        n,
        len,
        exact,
    }
}

/// Upper case letters, digits, underscores and brackets only: the form exactly as written by
/// the redactor.
fn is_canonical(text: &[u8], pos: usize, len: usize) -> bool {
    text.get(pos..pos + len).is_some_and(|s| {
        s.iter()
            .all(|b| !b.is_ascii_lowercase() && *b != b' ' && *b != b'-')
    })
}

/// What an exact-shaped token at a `[` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// `[NAME_N]`.
    Placeholder,
    /// `[NAME:hex]`, written by the `hash` action.
    Hash,
}

/// Reads an exact-shaped token (`[NAME_N]` with a valid entity name, or `[NAME:hex]`) starting
/// at the `[` at `start`; returns its end and kind.
pub(crate) fn exact_token_at(text: &str, start: usize) -> Option<(usize, Token)> {
    let b = text.as_bytes();
    if b.get(start) != Some(&b'[') {
        return None;
    }
    let mut i = start + 1;
    while b
        .get(i)
        .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
    {
        i += 1;
    }
    let name_end = i;
    match b.get(i) {
        Some(b']') => {
            // `[NAME_N]`: the name is everything before the last underscore.
            let inner = text.get(start + 1..name_end)?;
            let (name, num) = inner.rsplit_once('_')?;
            (crate::redact::finding::valid_entity_type(name)
                && !num.is_empty()
                && num.bytes().all(|d| d.is_ascii_digit())
                && !num.starts_with('0'))
            .then_some((name_end + 1, Token::Placeholder))
        }
        Some(b':') => {
            let name = text.get(start + 1..name_end)?;
            let mut j = name_end + 1;
            while b.get(j).is_some_and(u8::is_ascii_hexdigit) {
                j += 1;
            }
            (crate::redact::finding::valid_entity_type(name)
                && j - name_end - 1 == HASH_TOKEN_HEX
                && b.get(j) == Some(&b']'))
            .then_some((j + 1, Token::Hash))
        }
        _ => None,
    }
}

/// Finds every exact-shaped placeholder `[NAME_N]` (any valid entity name), and every hash
/// token `[NAME:hex]`, in `text`: byte spans the redactor must leave alone.
pub(crate) fn exact_tokens(text: &str) -> Vec<(usize, usize)> {
    memchr::memchr_iter(b'[', text.as_bytes())
        .filter_map(|start| exact_token_at(text, start).map(|(end, _)| (start, end)))
        .collect()
}

/// Hex digits in a `hash` action's token.
pub(crate) const HASH_TOKEN_HEX: usize = 8;

/// Every (NAME, N) that some placeholder form in `text` spells, for any name shape: these
/// must never be handed out, or restoring would rewrite text the user wrote.
pub(crate) fn spelled_forms(text: &str) -> Vec<(String, u32)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    // A bracketed form starts at a `[`.
    for pos in memchr::memchr_iter(b'[', b) {
        if let Some(form) = generic_form_at(b, pos) {
            out.push(form);
        }
    }
    // An unbracketed form joins its words with `_` and ends in `_` and digits, and can only
    // start where its run of letters, digits and underscores starts.
    let mut last_start = usize::MAX;
    for us in memchr::memchr_iter(b'_', b) {
        if !b.get(us + 1).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        let mut start = us;
        while start > 0 && b.get(start - 1).is_some_and(|&c| is_word(c)) {
            start -= 1;
        }
        if start == last_start {
            continue;
        }
        last_start = start;
        if may_start(b, start)
            && let Some(form) = generic_form_at(b, start)
        {
            out.push(form);
        }
    }
    out
}

/// Reads a placeholder form with any name at `pos`: words of letters and digits joined by `_`
/// (or, inside a bracket, by space or dash), then a separator and a number. Allocates only
/// for a form it found.
fn generic_form_at(b: &[u8], pos: usize) -> Option<(String, u32)> {
    let bracketed = b.get(pos) == Some(&b'[');
    let name_start = if bracketed { pos + 1 } else { pos };
    let mut i = name_start;
    loop {
        // One word: a letter, then letters and digits.
        if !b.get(i).is_some_and(u8::is_ascii_alphabetic) {
            return None;
        }
        while b.get(i).is_some_and(u8::is_ascii_alphanumeric) {
            i += 1;
        }
        let name_end = i;
        let sep = *b.get(i)?;
        if !(sep == b'_' || (bracketed && (sep == b' ' || sep == b'-'))) {
            return None;
        }
        i += 1;
        if b.get(i).is_some_and(u8::is_ascii_digit) {
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let digits = b.get(start..i)?;
            if digits.first() == Some(&b'0') {
                return None;
            }
            let n = std::str::from_utf8(digits).ok()?.parse().ok()?;
            // Words joined by any separator become one upper-case name joined by `_`.
            let name: String = b
                .get(name_start..name_end)?
                .iter()
                .map(|&c| {
                    if c.is_ascii_alphanumeric() {
                        char::from(c.to_ascii_uppercase())
                    } else {
                        '_'
                    }
                })
                .collect();
            return Some((name, n));
        }
        if i - name_start > 64 {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nums(Vec<(usize, u32)>);
    impl Numbers for Nums {
        fn has(&self, name: usize, n: u32) -> bool {
            self.0.contains(&(name, n))
        }
        fn extends(&self, name: usize, prefix: u32) -> bool {
            let p = prefix.to_string();
            self.0.iter().any(|&(m, k)| {
                m == name && k.to_string().len() > p.len() && k.to_string().starts_with(&p)
            })
        }
    }

    fn names() -> Vec<&'static [u8]> {
        vec![b"CREDIT_CARD", b"EMAIL"]
    }

    fn scan(text: &str, eof: bool) -> Scan {
        let nums = Nums(vec![(0, 1), (1, 1), (1, 12)]);
        scan_at(text.as_bytes(), 0, &names(), &nums, eof)
    }

    fn form(len: usize, exact: bool, name: usize, n: u32) -> Scan {
        Scan::Form {
            name,
            n,
            len,
            exact,
        }
    }

    #[test]
    fn exact_and_tolerant_forms() {
        assert_eq!(scan("[EMAIL_1]", true), form(9, true, 1, 1));
        assert_eq!(scan("[email_1] x", true), form(9, false, 1, 1));
        assert_eq!(scan("[EMAIL 1]", true), form(9, false, 1, 1));
        assert_eq!(scan("[CREDIT CARD-1]", true), form(15, false, 0, 1));
        assert_eq!(scan("EMAIL_1.", true), form(7, false, 1, 1));
        assert_eq!(scan("EMAIL_1]", true), form(8, false, 1, 1));
        assert_eq!(scan("[EMAIL_1 and", true), form(8, false, 1, 1));
        assert_eq!(scan("[EMAIL_12]", true), form(10, true, 1, 12));
    }

    #[test]
    fn near_misses_are_not_forms() {
        assert_eq!(scan("EMAIL_2", true), Scan::None); // not in the vault
        assert_eq!(scan("EMAIL_1x", true), Scan::None);
        assert_eq!(scan("EMAIL 1", true), Scan::None); // unbracketed needs underscores
        assert_eq!(scan("[EMAIL_01]", true), Scan::None);
        assert_eq!(scan("[EMAIL_]", true), Scan::None);
        let nums = Nums(vec![(1, 1)]);
        assert_eq!(scan_at(b"XEMAIL_1", 1, &names(), &nums, true), Scan::None);
    }

    #[test]
    fn partial_only_when_more_input_can_complete() {
        assert_eq!(scan("[", false), Scan::Partial);
        assert_eq!(scan("[EMA", false), Scan::Partial);
        assert_eq!(scan("[EMAIL_", false), Scan::Partial);
        assert_eq!(scan("[EMAIL_1", false), Scan::Partial); // could be EMAIL_12 or EMAIL_1]
        assert_eq!(scan("EMAIL_1", false), Scan::Partial); // could be followed by a letter
        assert_eq!(scan("[EMAIL_12", false), Scan::Partial); // could be closed by ]
        assert_eq!(scan("[EMX", false), Scan::None);
        assert_eq!(scan("[EMAIL_", true), Scan::None);
        assert_eq!(scan("[EMAIL_2", false), Scan::None); // no number starts with 2
    }

    #[test]
    fn exact_tokens_and_spelled_forms() {
        let t = "a [EMAIL_1] b [bad_1] [CREDIT_CARD_12] [X_0] [EMAIL:0a1b2c3d] [URL]";
        let spans = exact_tokens(t);
        let got: Vec<&str> = spans.iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(
            got,
            vec!["[EMAIL_1]", "[CREDIT_CARD_12]", "[EMAIL:0a1b2c3d]"]
        );
        let forms = spelled_forms("see email_3 and [Credit card-2], not x_email_4 or ab-cd_5");
        assert!(forms.contains(&("EMAIL".into(), 3)));
        assert!(forms.contains(&("CREDIT_CARD".into(), 2)));
        assert!(forms.contains(&("CD".into(), 5)));
        // `email_4` does not start a word there, so only the whole name is spelled.
        assert!(forms.contains(&("X_EMAIL".into(), 4)));
        assert!(!forms.contains(&("EMAIL".into(), 4)));
    }
}
