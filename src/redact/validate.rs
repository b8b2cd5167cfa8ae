//! Validators: checks that confirm a pattern's candidate is a real value of its format.
//!
//! A rule names a validator (`validator = "luhn"`); a candidate the validator rejects is
//! dropped, and one it accepts is marked *validated*, which wins overlap resolution against
//! unvalidated findings. Built-in validators implement the published checksums and grammars:
//!
//! | name | checks |
//! |---|---|
//! | `luhn` | the Luhn checksum over the digits |
//! | `payment_card` | Luhn, plus a known issuer prefix (IIN) and a length allowed for it |
//! | `iban` | per-country length and the ISO 13616 mod-97 check |
//! | `us_ssn` | area not 000, 666 or 900–999; group not 00; serial not 0000 |
//! | `ipv4`, `ipv6`, `ip` | parsed as an address (no leading zeros in IPv4 octets) |
//! | `email` | local part ≤ 64 bytes, dot rules, valid domain labels and alphabetic TLD |
//! | `phone` | 7–15 digits before any extension (8 after a trunk 0), not all one digit, not a numeric date |
//! | `mac` | six octets, one separator style |
//! | `date` | real calendar date (day fits the month), one separator style, and a valid time if present |
//! | `domain` | valid labels and a known top-level domain (not a bare file extension), not a compound unit (`mg.kg`), not a capitalised word after one dot (`S.Tm`) |
//! | `url` | scheme, and a host that is a known-TLD domain, an IP address or `localhost` |
//! | `btc_address` | base58check (P2PKH/P2SH) or bech32/bech32m (segwit) checksum |
//! | `eth_address` | EIP-55 mixed-case checksum (single-case addresses carry none and pass) |
//! | `crypto_wallet` | `btc_address` or `eth_address` |
//! | `jwt` | three base64url parts whose header is a JSON object with `alg` |
//! | `secret` | a credential-like value: two character classes (lower, upper, digit), not an identifier made of words, not a placeholder, template variable, filler, documentation example or file path |
//! | `token` | as `secret`, without the identifier test: for tokens whose vendor prefix the pattern already matched |
//! | `password` | not a placeholder, template variable or configuration word (`required`, `null`...) |
//! | `credential_pair` | `user:password` whose secret part passes `password`, six characters or more |
//! | `basic_auth` | base64 of `user:password` (RFC 7617) |
//!
//! The validators of numbers (`phone`, `date`, `us_ssn`, `luhn`, `payment_card`, `ipv4`, `ip`)
//! also need their candidate to [stand alone](stands_alone) in the text: a piece of a decimal
//! number, of a code joined to letters or of a DOI is no phone number or date, whatever its
//! digits.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// Confirms or rejects a candidate value.
///
/// Implemented for any `Fn(&str) -> bool + Send + Sync`.
///
/// # Examples
///
/// ```
/// use promptveil::redact::Validator;
///
/// let even_digits = |v: &str| v.bytes().filter(u8::is_ascii_digit).count() % 2 == 0;
/// assert!(even_digits.validate("12-34"));
/// ```
pub trait Validator: Send + Sync {
    /// True when `value` is a real value of the validator's format.
    fn validate(&self, value: &str) -> bool;
}

impl<F: Fn(&str) -> bool + Send + Sync> Validator for F {
    fn validate(&self, value: &str) -> bool {
        self(value)
    }
}

/// A named validator, built in or registered by the application.
#[derive(Clone)]
pub struct NamedValidator {
    name: Arc<str>,
    validator: Arc<dyn Validator>,
    whole_number: bool,
}

impl NamedValidator {
    /// Wraps a validator under `name`.
    pub fn new(name: &str, validator: impl Validator + 'static) -> NamedValidator {
        NamedValidator {
            name: Arc::from(name),
            validator: Arc::new(validator),
            whole_number: false,
        }
    }

    /// The name rules use to refer to it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the validator.
    pub fn validate(&self, value: &str) -> bool {
        self.validator.validate(value)
    }

    /// True for the built-in validators of numbers (`phone`, `date`, `us_ssn`, `luhn`,
    /// `payment_card`, `ipv4`, `ip`): their candidates must also [stand alone](stands_alone)
    /// in the text, not be a piece of a decimal, a code or a DOI.
    pub fn wants_whole_number(&self) -> bool {
        self.whole_number
    }
}

/// True when the number at `start..end` of `text` stands alone: it is no piece of a decimal
/// number (`07-5232.43` in `2766.07-5232.43`, `0123 4567` in `0.0123 4567`) or of a sum
/// (`402.2970` in `1035.7828+402.2970`), of a code joined
/// to letters (`04449913` in `PF-04449913`) or of a DOI (`010-0034` in
/// `10.1007/s12551-010-0034-3`).
///
/// ```
/// use promptveil::redact::stands_alone;
///
/// let text = "95% CI 2766.07-5232.43, call 020 7946 0958.";
/// assert!(!stands_alone(text, 12, 22)); // 07-5232.43
/// assert!(stands_alone(text, 29, 42)); // 020 7946 0958
/// ```
pub fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let bytes = text.as_bytes();
    let before = bytes.get(..start).unwrap_or_default();
    let word = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let digit = |b: Option<&u8>| b.is_some_and(u8::is_ascii_digit);
    let (b1, b2) = (
        before.last(),
        before.len().checked_sub(2).and_then(|i| before.get(i)),
    );
    let glued_before = word(b1)
        || (matches!(b1, Some(b'.' | b',' | b'+')) && digit(b2))
        || (b1 == Some(&b'-') && b2.is_some_and(u8::is_ascii_alphabetic));
    let glued_after =
        word(bytes.get(end)) || (bytes.get(end) == Some(&b'.') && digit(bytes.get(end + 1)));
    !glued_before && !glued_after && !in_doi(before)
}

/// True when the last word of `before` (back to a space or an opening bracket or quote) is a
/// DOI: `10.`, four or more digits, `/`.
fn in_doi(before: &[u8]) -> bool {
    let token_start = before
        .iter()
        .rposition(|b| b.is_ascii_whitespace() || matches!(b, b'(' | b'[' | b'<' | b'"' | b'\''))
        .map_or(0, |i| i + 1);
    let token = before.get(token_start..).unwrap_or_default();
    token.windows(3).enumerate().any(|(i, w)| {
        let digits = token
            .get(i + 3..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        w == b"10." && digits >= 4 && token.get(i + 3 + digits) == Some(&b'/')
    })
}

impl fmt::Debug for NamedValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NamedValidator").field(&self.name).finish()
    }
}

/// The built-in validators, by name.
pub fn builtin(name: &str) -> Option<NamedValidator> {
    let f: fn(&str) -> bool = match name {
        "luhn" => luhn,
        "payment_card" => payment_card,
        "iban" => iban,
        "us_ssn" => us_ssn,
        "ipv4" => ipv4,
        "ipv6" => ipv6,
        "ip" => ip,
        "email" => email,
        "phone" => phone,
        "mac" => mac,
        "date" => date,
        "domain" => domain,
        "url" => url,
        "btc_address" => btc_address,
        "eth_address" => eth_address,
        "crypto_wallet" => crypto_wallet,
        "jwt" => jwt,
        "secret" => secret_value,
        "token" => token_value,
        "password" => password_value,
        "credential_pair" => credential_pair,
        "basic_auth" => basic_auth,
        _ => return None,
    };
    let mut validator = NamedValidator::new(name, f);
    validator.whole_number = matches!(
        name,
        "phone" | "date" | "us_ssn" | "luhn" | "payment_card" | "ipv4" | "ip"
    );
    Some(validator)
}

/// The names of all built-in validators.
pub const BUILTIN_NAMES: &[&str] = &[
    "luhn",
    "payment_card",
    "iban",
    "us_ssn",
    "ipv4",
    "ipv6",
    "ip",
    "email",
    "phone",
    "mac",
    "date",
    "domain",
    "url",
    "btc_address",
    "eth_address",
    "crypto_wallet",
    "jwt",
    "secret",
    "token",
    "password",
    "credential_pair",
    "basic_auth",
];

/// Shannon entropy of `value` in bits per character.
///
/// ```
/// use promptveil::redact::shannon_entropy;
/// assert_eq!(shannon_entropy("aaaa"), 0.0);
/// assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-9);
/// ```
pub fn shannon_entropy(value: &str) -> f64 {
    let mut ascii = [0u32; 128];
    let mut other = std::collections::HashMap::<char, u32>::new();
    let mut n = 0u32;
    for c in value.chars() {
        match ascii.get_mut(c as usize) {
            Some(slot) => *slot += 1,
            None => *other.entry(c).or_default() += 1,
        }
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    ascii
        .iter()
        .chain(other.values())
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum::<f64>()
        + 0.0
}

fn digits(value: &str) -> impl Iterator<Item = u32> + '_ {
    value.chars().filter_map(|c| c.to_digit(10))
}

/// The Luhn (mod 10) checksum over the ASCII digits of `value`, ignoring spaces and dashes.
/// Any other character fails.
pub fn luhn(value: &str) -> bool {
    if value
        .chars()
        .any(|c| !(c.is_ascii_digit() || c == ' ' || c == '-'))
    {
        return false;
    }
    let ds: Vec<u32> = digits(value).collect();
    if ds.len() < 2 {
        return false;
    }
    let sum: u32 = ds
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 { dd - 9 } else { dd }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// Issuer identification number ranges: (first digits low, high, number of leading digits
/// compared, min length, max length). From the card networks' published IIN ranges.
const IIN_RANGES: &[(u32, u32, u32, usize, usize)] = &[
    (4, 4, 1, 13, 19),           // Visa (13, 16 and 19 in use)
    (51, 55, 2, 16, 16),         // Mastercard
    (2221, 2720, 4, 16, 16),     // Mastercard 2-series
    (34, 34, 2, 15, 15),         // American Express
    (37, 37, 2, 15, 15),         // American Express
    (6011, 6011, 4, 16, 19),     // Discover
    (644, 649, 3, 16, 19),       // Discover
    (65, 65, 2, 16, 19),         // Discover, RuPay, Troy
    (622126, 622925, 6, 16, 19), // Discover co-branded UnionPay
    (300, 305, 3, 14, 19),       // Diners Club International
    (3095, 3095, 4, 14, 19),     // Diners Club International
    (36, 36, 2, 14, 19),         // Diners Club International
    (38, 39, 2, 14, 19),         // Diners Club
    (3528, 3589, 4, 16, 19),     // JCB
    (2131, 2131, 4, 15, 15),     // JCB (legacy 15-digit)
    (1800, 1800, 4, 15, 15),     // JCB (legacy 15-digit)
    (62, 62, 2, 16, 19),         // UnionPay
    (81, 82, 2, 16, 19),         // UnionPay, RuPay
    (2200, 2204, 4, 16, 19),     // Mir
    (60, 60, 2, 16, 19),         // RuPay
    (508, 508, 3, 16, 16),       // RuPay
    (353, 353, 3, 16, 16),       // RuPay co-branded JCB
    (356, 356, 3, 16, 16),       // RuPay co-branded JCB
    (50, 50, 2, 12, 19),         // Maestro, Verve, Dankort
    (56, 69, 2, 12, 19),         // Maestro
    (636, 636, 3, 16, 19),       // InterPayment
    (9792, 9792, 4, 16, 16),     // Troy
    (1, 1, 1, 15, 15),           // UATP
    (506099, 506198, 6, 16, 19), // Verve
    (650002, 650027, 6, 16, 19), // Verve
];

/// A payment card number: Luhn, a known issuer prefix, and a length allowed for that issuer.
pub fn payment_card(value: &str) -> bool {
    if !luhn(value) {
        return false;
    }
    let ds: Vec<u32> = digits(value).collect();
    let len = ds.len();
    IIN_RANGES.iter().any(|&(lo, hi, n, min, max)| {
        let n = n as usize;
        if len < min || len > max || len < n {
            return false;
        }
        let prefix = ds.iter().take(n).fold(0u32, |acc, &d| acc * 10 + d);
        (lo..=hi).contains(&prefix)
    })
}

/// IBAN lengths per country, from the SWIFT IBAN registry.
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// An IBAN: letters and digits (spaces allowed between groups), a registered country with its
/// exact length, and remainder 1 under the ISO 13616 mod-97 check. Case-insensitive.
pub fn iban(value: &str) -> bool {
    let compact: Vec<u8> = value
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if !compact.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let (Some(country), Some(check)) = (compact.get(..2), compact.get(2..4)) else {
        return false;
    };
    if !check.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| c.as_bytes() == country) else {
        return false;
    };
    if compact.len() != len {
        return false;
    }
    let rearranged = compact.iter().skip(4).chain(compact.iter().take(4));
    let mut rem: u32 = 0;
    for &b in rearranged {
        let v = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// A US Social Security number (`AAA-GG-SSSS`, `AAA GG SSSS` or nine digits) that follows the
/// SSA's assignment rules. The two numbers the SSA lists as misused in advertising fail too.
pub fn us_ssn(value: &str) -> bool {
    let ds: Vec<u32> = digits(value).collect();
    if ds.len() != 9
        || value
            .chars()
            .any(|c| !(c.is_ascii_digit() || c == '-' || c == ' '))
    {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        ds.get(r)
            .map_or(0, |s| s.iter().fold(0u32, |a, &d| a * 10 + d))
    };
    let (area, group, serial) = (num(0..3), num(3..5), num(5..9));
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return false;
    }
    !matches!((area, group, serial), (78, 5, 1120) | (219, 9, 9999))
}

/// A dotted-quad IPv4 address (an optional `/prefix` up to 32 is accepted).
pub fn ipv4(value: &str) -> bool {
    let (addr, prefix) = split_prefix(value);
    addr.parse::<std::net::Ipv4Addr>().is_ok() && prefix.is_none_or(|p| p <= 32)
}

/// An IPv6 address in any RFC 4291 text form (an optional `/prefix` up to 128 is accepted).
pub fn ipv6(value: &str) -> bool {
    let (addr, prefix) = split_prefix(value);
    addr.parse::<std::net::Ipv6Addr>().is_ok() && prefix.is_none_or(|p| p <= 128)
}

/// An IPv4 or IPv6 address.
pub fn ip(value: &str) -> bool {
    ipv4(value) || ipv6(value)
}

fn split_prefix(value: &str) -> (&str, Option<u32>) {
    match value.split_once('/') {
        Some((a, p)) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
            (a, p.parse().ok())
        }
        Some((a, _)) => (a, Some(u32::MAX)),
        None => (value, None),
    }
}

/// An email address: `local@domain` with RFC 5321 length limits and dot rules, and a domain of
/// valid labels ending in an alphabetic TLD (or an IDN `xn--` label).
pub fn email(value: &str) -> bool {
    let Some((local, domain_part)) = value.rsplit_once('@') else {
        return false;
    };
    if local.is_empty()
        || local.len() > 64
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
        || local.contains('@')
    {
        return false;
    }
    domain_labels_ok(domain_part) && {
        let tld = domain_part.rsplit('.').next().unwrap_or_default();
        tld.len() >= 2
            && (tld.chars().all(char::is_alphabetic)
                || tld.to_ascii_lowercase().starts_with("xn--"))
    }
}

fn domain_labels_ok(domain: &str) -> bool {
    if domain.len() > 253 || !domain.contains('.') {
        return false;
    }
    domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    })
}

/// A phone number: 7 to 15 digits (E.164 allows at most 15) before any extension marker
/// (`x`, `ext`, `#`), not all the same digit; a number written with `+` needs at least 8.
pub fn phone(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let main = lower
        .find(['x', '#'])
        .or_else(|| lower.find("ext"))
        .and_then(|i| lower.get(..i))
        .unwrap_or(&lower);
    let ds: Vec<u32> = digits(main).collect();
    let min = if main.trim_start().starts_with('+') {
        8
    } else {
        7
    };
    if ds.len() < min || ds.len() > 15 {
        return false;
    }
    // A trunk 0 comes before an area code and a subscriber number: eight digits at least.
    // Shorter runs that open with 0 are codes (`compound KT 0418263`).
    let lead = main.trim_start().trim_start_matches('(');
    if lead.starts_with('0') && !lead.starts_with("00") && ds.len() < 8 {
        return false;
    }
    // A plus sign opens an international number; inside one it is arithmetic
    // (`1109.0548+329.9102`).
    if main
        .trim_start()
        .get(1..)
        .is_some_and(|rest| rest.contains('+'))
    {
        return false;
    }
    // `36.87-69.63` is a range of two decimals.
    let decimal = |part: &str| {
        part.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && (1..=3).contains(&b.len())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
    };
    if main
        .split_once(['-', '\u{2013}'])
        .is_some_and(|(a, b)| decimal(a.trim()) && decimal(b.trim()))
    {
        return false;
    }
    // `01.02.2003` is a date before it is a phone number.
    let numeric_date = main
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'/' | b'-'))
        && main.bytes().filter(|b| !b.is_ascii_digit()).count() == 2
        && date(main);
    !numeric_date && ds.iter().any(|d| Some(d) != ds.first())
}

/// A MAC-48 address: six hex octets separated by `:` or `-` (one style), or three dotted
/// groups of four; the all-zero address fails.
pub fn mac(value: &str) -> bool {
    let hex: String = value.chars().filter(char::is_ascii_hexdigit).collect();
    if hex.len() != 12 || hex.bytes().all(|b| b == b'0') {
        return false;
    }
    let seps: Vec<char> = value.chars().filter(|c| !c.is_ascii_hexdigit()).collect();
    match seps.first() {
        Some(&s) if s == ':' || s == '-' => seps.len() == 5 && seps.iter().all(|&c| c == s),
        Some('.') => seps.len() == 2 && seps.iter().all(|&c| c == '.'),
        _ => false,
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn days_in_month(month: u32, year: Option<u32>) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => match year {
            Some(y) if !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) => 28,
            _ => 29,
        },
        _ => 0,
    }
}

/// A calendar date, numeric (`2024-02-29`, `31/12/1999`, `12/31/99`, with an optional
/// `HH:MM[:SS]` time) or with a month name (`3 March 2021`, `Mar 3rd, 2021`). Numeric dates are
/// accepted when either the day-month or the month-day reading is a real date.
pub fn date(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let (date_part, time_part) = match lower
        .find(['t', ' '])
        .filter(|_| lower.bytes().next().is_some_and(|b| b.is_ascii_digit()) && lower.contains(':'))
    {
        Some(i) => (
            lower.get(..i).unwrap_or_default(),
            lower.get(i + 1..).map(str::trim),
        ),
        None => (lower.as_str(), None),
    };
    if let Some(t) = time_part {
        let parts: Vec<Option<u32>> = t
            .split(':')
            .map(|p| p.get(..2.min(p.len())).and_then(|x| x.parse().ok()))
            .collect();
        let ok = match parts.as_slice() {
            [Some(h), Some(m)] => *h <= 23 && *m <= 59,
            [Some(h), Some(m), Some(s)] => *h <= 23 && *m <= 59 && *s <= 60,
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    let month_name = MONTHS.iter().position(|m| date_part.contains(m));
    let nums: Vec<(u32, usize)> = date_part
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| (s.parse::<u32>().unwrap_or(u32::MAX), s.len()))
        .collect();
    if let Some(m) = month_name {
        let month = m as u32 + 1;
        let year = nums.iter().find(|(_, len)| *len == 4).map(|(y, _)| *y);
        return nums
            .iter()
            .filter(|(_, len)| *len <= 2)
            .all(|&(d, _)| d >= 1 && d <= days_in_month(month, year));
    }
    // A numeric date writes both separators alike: `1.07-1.88` is a range of decimals.
    let mut separators = date_part
        .bytes()
        .filter(|b| matches!(b, b'/' | b'.' | b'-'));
    if let Some(first) = separators.next() {
        if separators.any(|b| b != first) {
            return false;
        }
    }
    match nums.as_slice() {
        [(y, 4), (m, _), (d, _)] => {
            (1..=12).contains(m) && *d >= 1 && *d <= days_in_month(*m, Some(*y))
        }
        [(a, la), (b, lb), (y, ly)] if *la <= 2 && *lb <= 2 && (*ly == 4 || *ly == 2) => {
            let year = (*ly == 4).then_some(*y);
            let md = (1..=12).contains(a) && *b >= 1 && *b <= days_in_month(*a, year);
            let dm = (1..=12).contains(b) && *a >= 1 && *a <= days_in_month(*b, year);
            md || dm
        }
        _ => false,
    }
}

/// Generic top-level domains recognised by the `domain` and `url` validators.
const GENERIC_TLDS: &[&str] = &[
    "com",
    "net",
    "org",
    "edu",
    "gov",
    "mil",
    "int",
    "info",
    "biz",
    "name",
    "pro",
    "aero",
    "coop",
    "museum",
    "mobi",
    "asia",
    "tel",
    "travel",
    "jobs",
    "cat",
    "post",
    "app",
    "dev",
    "cloud",
    "tech",
    "online",
    "site",
    "store",
    "shop",
    "blog",
    "xyz",
    "top",
    "club",
    "live",
    "news",
    "email",
    "network",
    "systems",
    "solutions",
    "digital",
    "agency",
    "company",
    "services",
    "group",
    "global",
    "world",
    "today",
    "space",
    "website",
    "page",
    "art",
    "design",
    "media",
    "studio",
    "health",
    "bank",
    "insurance",
    "finance",
    "law",
    "legal",
    "consulting",
    "academy",
    "school",
    "university",
    "software",
    "engineering",
    "security",
    "host",
    "hosting",
    "internal",
    "local",
    "localhost",
    "corp",
    "home",
    "lan",
    "io",
    "ai",
    "google",
    "amazon",
    "microsoft",
    "apple",
    "aws",
    "azure",
    "office",
    "support",
    "help",
    "team",
    "work",
    "works",
    "zone",
    "life",
    "one",
    "plus",
    "center",
    "church",
    "city",
    "clinic",
    "codes",
    "community",
    "dental",
    "directory",
    "education",
    "energy",
    "events",
    "expert",
    "farm",
    "fund",
    "gallery",
    "games",
    "guru",
    "hospital",
    "house",
    "institute",
    "international",
    "investments",
    "land",
    "lawyer",
    "limited",
    "link",
    "loan",
    "ltd",
    "management",
    "market",
    "marketing",
    "money",
    "partners",
    "photo",
    "photography",
    "pics",
    "pizza",
    "place",
    "press",
    "productions",
    "properties",
    "realestate",
    "realty",
    "rent",
    "report",
    "restaurant",
    "run",
    "sale",
    "science",
    "social",
    "studio",
    "style",
    "tax",
    "technology",
    "tips",
    "tools",
    "town",
    "toys",
    "trade",
    "training",
    "tv",
    "uk",
    "us",
    "vip",
    "vision",
    "watch",
    "wiki",
    "win",
    "wine",
    "ink",
    "icu",
    "cyou",
    "fun",
    "beauty",
    "hair",
    "gmbh",
    "inc",
    "llc",
    "eu",
    "onion",
];

/// Country-code top-level domains (ISO 3166-1 alpha-2 as delegated in the root zone).
const COUNTRY_TLDS: &str = "ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo \
    br bs bt bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do \
    dz ec ee eg er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt \
    gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp \
    kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo mp mq mr ms \
    mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr \
    ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sk sl sm sn so sr ss st su sv sx sy \
    sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu \
    wf ws ye yt za zm zw";

/// Country codes that are also common file extensions: a bare `name.ext` with one of these is
/// taken for a file name, not a domain, unless it has three or more labels or starts with
/// `www.` (`notes.md` is a file; `docs.example.md` and `www.shop.pl` are domains).
const FILE_LIKE_TLDS: &[&str] = &[
    "py", "rs", "sh", "md", "pl", "ps", "so", "cc", "tf", "ml", "pm", "sc", "mk", "am", "in", "cs",
    "gs", "ts", "js", "kt", "ai", "ms", "do", "pk", "mo", "rb", "ex", "hs",
];

fn known_tld(tld: &str) -> bool {
    static TLDS: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    let set = TLDS.get_or_init(|| {
        GENERIC_TLDS
            .iter()
            .copied()
            .chain(COUNTRY_TLDS.split_whitespace())
            .collect()
    });
    let mut buf = [0u8; 24];
    let Some(dst) = buf.get_mut(..tld.len()) else {
        return false;
    };
    dst.copy_from_slice(tld.as_bytes());
    dst.make_ascii_lowercase();
    std::str::from_utf8(dst).is_ok_and(|t| set.contains(t))
}

/// A domain name with valid labels and a known top-level domain, that is not a bare file name.
pub fn domain(value: &str) -> bool {
    let v = value.trim_end_matches('.');
    if !domain_labels_ok(v) || !v.is_ascii() {
        return false;
    }
    let labels: Vec<&str> = v.split('.').collect();
    let tld = labels.last().copied().unwrap_or_default();
    if !known_tld(tld) || tld.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    let file_like = FILE_LIKE_TLDS.contains(&tld.to_ascii_lowercase().as_str());
    let www = v.to_ascii_lowercase().starts_with("www.");
    if labels.iter().all(|l| is_unit(l)) {
        return false; // `mg.kg`, `mmol.min-1.kg`: a compound unit
    }
    // Names write their top-level domain in lower or upper case; a capitalised last word
    // after one dot is a scientific or product name (`S.Tm`, `B6.Cg`, `OLZ.Design`).
    let mut tld_chars = tld.chars();
    let capitalised = tld_chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && tld_chars.all(|c| c.is_ascii_lowercase());
    if capitalised && labels.len() == 2 && !www {
        return false;
    }
    !file_like || labels.len() >= 3 || www
}

/// Units of measurement, some of them also top-level domains (`kg`, `ml`, `mm`, `cm`, `km`).
const UNITS: &[&str] = &[
    "g", "mg", "kg", "ug", "ng", "pg", "l", "ml", "dl", "ul", "nl", "m", "mm", "cm", "km", "nm",
    "um", "s", "ms", "h", "hr", "min", "d", "wk", "mol", "mmol", "umol", "nmol", "pmol", "iu", "u",
    "bq", "gy", "hz", "w", "kw", "v", "mv", "pa", "kpa", "bw", "day",
];

/// A unit, with an exponent such as `-1` or `2` after it (`min-1`, `m2`).
fn is_unit(label: &str) -> bool {
    let base = label.trim_end_matches(|c: char| c.is_ascii_digit());
    let base = base.strip_suffix('-').unwrap_or(base);
    UNITS.contains(&base.to_ascii_lowercase().as_str())
}

/// A URL whose host is a domain with a known TLD, an IP address, or `localhost`.
pub fn url(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let rest = match lower.split_once("://") {
        Some((scheme, rest)) => {
            if scheme.is_empty()
                || !scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            {
                return false;
            }
            rest
        }
        None if lower.starts_with("www.") => lower.as_str(),
        None => return false,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(inner) = host_port.strip_prefix('[') {
        return inner.split_once(']').is_some_and(|(h, _)| ipv6(h));
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host == "localhost" || ipv4(host) {
        return true;
    }
    let labels: Vec<&str> = host.split('.').collect();
    domain_labels_ok(host) && labels.last().is_some_and(|t| known_tld(t))
}

const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn base58_decode(s: &str) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(32);
    for b in s.bytes() {
        let mut carry = BASE58.iter().position(|&c| c == b)? as u32;
        for byte in out.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|&b| b == b'1').count();
    let mut full = vec![0u8; zeros];
    full.extend(out);
    Some(full)
}

fn base58check_ok(s: &str) -> bool {
    let Some(bytes) = base58_decode(s) else {
        return false;
    };
    if bytes.len() != 25 {
        return false;
    }
    let (payload, check) = bytes.split_at(21);
    let hash = Sha256::digest(Sha256::digest(payload));
    let version = payload.first().copied();
    hash.get(..4) == Some(check) && matches!(version, Some(0x00 | 0x05 | 0x6f | 0xc4))
}

const BECH32_CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn bech32_polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    for &v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn segwit_ok(s: &str) -> bool {
    let has_lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = s.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper || s.len() > 90 {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    let Some((hrp, data)) = lower.rsplit_once('1') else {
        return false;
    };
    if !(hrp == "bc" || hrp == "tb") || data.len() < 6 {
        return false;
    }
    let Some(values) = data
        .bytes()
        .map(|b| BECH32_CHARSET.iter().position(|&c| c == b).map(|p| p as u8))
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut expanded: Vec<u8> = hrp.bytes().map(|b| b >> 5).collect();
    expanded.push(0);
    expanded.extend(hrp.bytes().map(|b| b & 31));
    expanded.extend(&values);
    let constant = bech32_polymod(&expanded);
    let Some(&version) = values.first() else {
        return false;
    };
    // Witness program length in bytes, from the 5-bit groups between version and checksum.
    let program_bits = (values.len().saturating_sub(7)) * 5;
    let program_len = program_bits / 8;
    let len_ok =
        (2..=40).contains(&program_len) && (version != 0 || matches!(program_len, 20 | 32));
    let sum_ok = match version {
        0 => constant == 1,
        1..=16 => constant == 0x2bc8_30a3,
        _ => false,
    };
    len_ok && sum_ok
}

/// A Bitcoin address: base58check P2PKH/P2SH (mainnet or testnet) or bech32/bech32m segwit.
pub fn btc_address(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("bc1") || lower.starts_with("tb1") {
        segwit_ok(value)
    } else {
        base58check_ok(value)
    }
}

/// An Ethereum address: `0x` and 40 hex digits; mixed-case addresses must carry a valid
/// EIP-55 checksum.
pub fn eth_address(value: &str) -> bool {
    let Some(hex) = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    else {
        return false;
    };
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if !(has_lower && has_upper) {
        return hex.bytes().any(|b| b != b'0');
    }
    let hash = sha3::Keccak256::digest(hex.to_ascii_lowercase().as_bytes());
    hex.bytes().enumerate().all(|(i, b)| {
        if b.is_ascii_digit() {
            return true;
        }
        let byte = hash.get(i / 2).copied().unwrap_or(0);
        let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
        (nibble >= 8) == b.is_ascii_uppercase()
    })
}

/// A Bitcoin or Ethereum address.
pub fn crypto_wallet(value: &str) -> bool {
    btc_address(value) || eth_address(value)
}

pub(crate) fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// A JSON Web Token: three base64url parts, the first decoding to a JSON object with `alg`.
pub fn jwt(value: &str) -> bool {
    let mut parts = value.split('.');
    let (Some(header), Some(payload), Some(_sig)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if parts.next().is_some() || payload.is_empty() {
        return false;
    }
    base64url_decode(header)
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        .is_some_and(|v| v.get("alg").is_some())
}

/// True when `value` is a template variable, a mask or filler, an elision, a documentation
/// example or a file path: what stands in for a credential rather than a credential.
fn stands_in(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    let lower = v.to_ascii_lowercase();
    let templated = v.starts_with('$')
        || v.starts_with('%')
        || v.contains('<')
        || v.contains('>')
        || v.contains("{{")
        || v.contains("${")
        || v.starts_with("#{")
        || lower.starts_with("process.env")
        || lower.starts_with("os.environ")
        || lower.starts_with("env[")
        || bracketed_word(v);
    let filler = lower.contains("xxxx")
        || v.contains("****")
        || v.contains("...")
        || v.ends_with("..")
        || lower.contains("your_")
        || lower.contains("your-")
        || lower.contains("changeme")
        || lower.contains("placeholder")
        || lower.contains("redacted")
        // AWS and others mark documentation keys with EXAMPLE.
        || lower.contains("example")
        || longest_run(v, |a, b| a == b) >= 6
        || longest_run(v, |a, b| b == a + 1) >= 10;
    let path = v.starts_with('/')
        || v.starts_with("./")
        || v.starts_with("../")
        || v.starts_with("~/")
        || v.get(1..3) == Some(":\\");
    let mut distinct: Vec<char> = v.chars().take(64).collect();
    distinct.sort_unstable();
    distinct.dedup();
    templated || filler || path || distinct.len() <= 2
}

/// `[PASSWORD]`, `[API KEY]`: an upper-case word in brackets standing for a value.
fn bracketed_word(v: &str) -> bool {
    v.split('[').skip(1).any(|rest| {
        rest.split_once(']').is_some_and(|(inner, _)| {
            inner.len() >= 2
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_' || b == b' ' || b == b'-')
        })
    })
}

/// Length of the longest run of bytes where each follows the previous by `step`.
fn longest_run(v: &str, step: impl Fn(u8, u8) -> bool) -> usize {
    let b = v.as_bytes();
    let mut best = usize::from(!b.is_empty());
    let mut cur = best;
    for w in b.windows(2) {
        if let [a, c] = w
            && a.is_ascii_alphanumeric()
            && step(*a, *c)
        {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 1;
        }
    }
    best
}

/// True when `value` reads as an identifier made of words (`jetbrains.mps.v8_elimination`,
/// `SalesResults-1.2`, `SlackAppConfigurationAccessTokenHere`) rather than random characters.
///
/// The value is split at punctuation and camel-case humps. Pieces of up to three characters
/// are ignored, except that a short all-letter piece between punctuation counts as a word;
/// every longer piece must be letters only, with a vowel in at least one of five
/// characters and no run of more than four consonants; and such word pieces must cover at
/// least 60% of the letters and digits. On random base62 strings of 20 characters this is
/// true about once in 150; on values with digits in every long piece, never.
fn identifier_like(value: &str) -> bool {
    let total = value.bytes().filter(u8::is_ascii_alphanumeric).count();
    let mut covered = 0;
    for piece in value.split(|c: char| !c.is_ascii_alphanumeric()) {
        let b = piece.as_bytes();
        if b.len() <= 3 && b.iter().all(u8::is_ascii_alphabetic) {
            // A short word of its own (`DOC`, `api`) reads as part of an identifier.
            covered += b.len();
            continue;
        }
        let mut start = 0;
        for i in 1..=b.len() {
            let hump = i < b.len()
                && b.get(i - 1).is_some_and(u8::is_ascii_lowercase)
                && b.get(i).is_some_and(u8::is_ascii_uppercase);
            if i < b.len() && !hump {
                continue;
            }
            let seg = b.get(start..i).unwrap_or_default();
            start = i;
            if seg.len() <= 3 {
                continue;
            }
            if !seg.iter().all(u8::is_ascii_alphabetic) {
                return false;
            }
            let is_vowel = |c: &u8| b"aeiouyAEIOUY".contains(c);
            let vowels = seg.iter().filter(|c| is_vowel(c)).count();
            let mut run = 0;
            let mut max_run = 0;
            for c in seg {
                run = if is_vowel(c) { 0 } else { run + 1 };
                max_run = max_run.max(run);
            }
            if vowels * 5 < seg.len() || max_run > 4 {
                return false;
            }
            covered += seg.len();
        }
    }
    covered > 0 && covered * 10 >= total * 6
}

/// A vendor token (the rule's pattern already matched its prefix): not a template variable,
/// filler, elision, documentation example or file path, and at least two character classes.
pub fn token_value(value: &str) -> bool {
    char_classes(value) >= 2 && !stands_in(value)
}

fn char_classes(value: &str) -> usize {
    [
        value.bytes().any(|b| b.is_ascii_lowercase()),
        value.bytes().any(|b| b.is_ascii_uppercase()),
        value.bytes().any(|b| b.is_ascii_digit()),
    ]
    .iter()
    .filter(|&&c| c)
    .count()
}

/// A credential value, as opposed to what stands in for one: at least two of the classes
/// lower-case letter, upper-case letter, digit; not an identifier made of words; and not a
/// template variable (`$VAR`, `${VAR}`, `{{ var }}`, `<your-key>`, `%VAR%`, `[TOKEN]`), mask or
/// filler (`xxxx`, `****`, a run of six equal characters, `abcdefghij`, an elision `...`), a
/// documentation example (`...EXAMPLE`), a file path, or a string of at most two distinct
/// characters.
pub fn secret_value(value: &str) -> bool {
    token_value(value) && !identifier_like(value)
}

/// Words that fill a password field in configuration and documentation, not passwords.
const PASSWORD_STOPWORDS: &[&str] = &[
    "true",
    "false",
    "null",
    "none",
    "nil",
    "undefined",
    "required",
    "optional",
    "string",
    "password",
    "secret",
    "empty",
    "hidden",
    "masked",
    "env",
    "prompt",
    "default",
    "str",
    "token",
    "pass",
    "passwd",
    "username",
    "user",
    "key",
    "apikey",
    "api_key",
];

/// A password value: not a template variable, mask, path or configuration word such as
/// `required` or `null`. Unlike `secret`, a single character class is enough, since the name
/// it is assigned to already says it is a password.
pub fn password_value(value: &str) -> bool {
    let lower = value
        .trim_matches(|c| c == '"' || c == '\'')
        .to_ascii_lowercase();
    !PASSWORD_STOPWORDS.contains(&lower.as_str()) && !stands_in(value)
}

/// Strips the quotes and braces command lines wrap around credentials.
fn unwrap_credential(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, '"' | '\'' | '{' | '}'))
}

/// A `user:password` pair as written on a command line (`curl -u`): the password part — or,
/// when it is empty, the user part, which then carries an API key — must pass `password`, be
/// at least six characters long and carry two bits of entropy per character.
pub fn credential_pair(value: &str) -> bool {
    if stands_in(value) {
        return false;
    }
    let v = unwrap_credential(value.trim());
    let Some((user, pass)) = v.split_once(':') else {
        return false;
    };
    let (user, pass) = (unwrap_credential(user), unwrap_credential(pass));
    let secret = if pass.is_empty() { user } else { pass };
    secret.chars().count() >= 6 && password_value(secret) && shannon_entropy(secret) >= 2.0
}

/// HTTP Basic credentials (RFC 7617): base64 of `user:password`.
pub fn basic_auth(value: &str) -> bool {
    base64url_decode(value).is_some_and(|b| {
        let s = String::from_utf8_lossy(&b);
        s.contains(':') && !s.starts_with('{') && password_value(&s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_cards() {
        assert!(luhn("4111 1111 1111 1111"));
        assert!(!luhn("4111 1111 1111 1112"));
        assert!(payment_card("4111-1111-1111-1111"));
        assert!(payment_card("5555555555554444"));
        assert!(payment_card("2223003122003222")); // Mastercard 2-series
        assert!(payment_card("378282246310005")); // Amex
        assert!(payment_card("6011111111111117")); // Discover
        assert!(payment_card("3530111333300000")); // JCB
        assert!(payment_card("36227206271667")); // Diners 14
        assert!(!payment_card("1234567812345670")); // Luhn-valid, no issuer with that prefix/length
        assert!(!payment_card("411111111111111")); // Visa with 15 digits
        assert!(!payment_card("4111a11111111111"));
    }

    #[test]
    fn iban_mod97() {
        assert!(iban("GB82WEST12345698765432"));
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(iban("de89370400440532013000"));
        assert!(iban("NO9386011117947"));
        assert!(!iban("GB82WEST12345698765433"));
        assert!(!iban("GB82WEST1234569876543")); // too short for GB
        assert!(!iban("QQ82WEST12345698765432"));
    }

    #[test]
    fn ssn_rules() {
        assert!(us_ssn("536-22-1234"));
        assert!(us_ssn("536221234"));
        assert!(!us_ssn("000-22-1234"));
        assert!(!us_ssn("666-22-1234"));
        assert!(!us_ssn("912-22-1234"));
        assert!(!us_ssn("536-00-1234"));
        assert!(!us_ssn("536-22-0000"));
        assert!(!us_ssn("078-05-1120"));
    }

    #[test]
    fn ip_addresses() {
        assert!(ipv4("192.168.1.20"));
        assert!(ipv4("10.0.0.0/8"));
        assert!(!ipv4("256.1.1.1"));
        assert!(!ipv4("01.2.3.4"));
        assert!(!ipv4("1.2.3.4/33"));
        assert!(ipv6("2001:db8::8a2e:370:7334"));
        assert!(ipv6("fe80::1"));
        assert!(!ipv6("12:30:45"));
        assert!(!ipv6("2001:db8:::1"));
    }

    #[test]
    fn emails() {
        assert!(email("jane.doe+tag@mail.example.co.uk"));
        assert!(!email("jane..doe@example.com"));
        assert!(!email(".jane@example.com"));
        assert!(!email("jane@example"));
        assert!(!email("jane@-example.com"));
        assert!(!email("jane@example.c0m"));
    }

    #[test]
    fn phones() {
        assert!(phone("+44 20 7946 0958"));
        assert!(phone("(555) 234-5678 x123"));
        assert!(phone("780 6326"));
        assert!(!phone("123 45"));
        assert!(!phone("+1 234 567"));
        assert!(!phone("1111111111"));
        assert!(!phone("1234567890123456"));
    }

    #[test]
    fn macs() {
        assert!(mac("00:1A:2b:3C:4d:5E"));
        assert!(mac("00-1A-2B-3C-4D-5E"));
        assert!(mac("001a.2b3c.4d5e"));
        assert!(!mac("00:1A-2B:3C:4D:5E"));
        assert!(!mac("00:00:00:00:00:00"));
    }

    #[test]
    fn dates() {
        assert!(date("2024-02-29"));
        assert!(!date("2023-02-29"));
        assert!(date("31/12/1999"));
        assert!(date("12/31/99"));
        assert!(!date("13/13/2000"));
        assert!(date("2018-01-14 03:07:43"));
        assert!(!date("2018-01-14 25:07:43"));
        assert!(date("3 March 2021"));
        assert!(date("mar 31st, 2021"));
        assert!(!date("april 31, 2021"));
    }

    #[test]
    fn domains_and_urls() {
        assert!(domain("example.com"));
        assert!(domain("db01.corp.acme.internal"));
        assert!(domain("www.shop.pl"));
        assert!(!domain("notes.md"));
        assert!(!domain("main.rs"));
        assert!(domain("docs.example.md"));
        assert!(!domain("report.pdf"));
        assert!(!domain("e.g"));
        assert!(url("https://www.Example.com.br/path?q=1"));
        assert!(url("http://user:pw@localhost:8080/"));
        assert!(url("http://[2001:db8::1]:80/"));
        assert!(url("www.example.org/page"));
        assert!(!url("https://nothing.invalidtld/"));
        assert!(!url("mailto"));
    }

    #[test]
    fn wallets() {
        // Bitcoin genesis-block address (P2PKH) and BIP-173/BIP-350 test vectors.
        assert!(btc_address("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"));
        assert!(!btc_address("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"));
        assert!(btc_address("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"));
        assert!(btc_address(
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
        ));
        assert!(!btc_address("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"));
        // EIP-55 test vector.
        assert!(eth_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
        assert!(!eth_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"));
        assert!(eth_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"));
        assert!(!eth_address("0x0000000000000000000000000000000000000000"));
    }

    #[test]
    fn jwts() {
        // {"alg":"HS256","typ":"JWT"} . {"sub":"1"} . signature
        assert!(jwt(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
        ));
        assert!(!jwt("eyJzdWIiOiIxIn0.eyJzdWIiOiIxIn0.c2ln"));
        assert!(!jwt("a.b"));
    }

    #[test]
    fn secret_values() {
        assert!(secret_value("s3cr3t-Pa55w0rd"));
        for bad in [
            "$API_KEY",
            "${TOKEN}",
            "{{ vault.key }}",
            "<your-api-key>",
            "xxxxxxxxxxxxxxxx",
            "****************",
            "/etc/ssl/key.pem",
            "aaaaaaaaaaaa",
            "abababababab",
            "%SECRET%",
        ] {
            assert!(!secret_value(bad), "{bad}");
        }
    }

    #[test]
    fn password_values() {
        assert!(password_value("hunter22"));
        assert!(password_value("correcthorsebattery"));
        for bad in [
            "required",
            "NULL",
            "${DB_PASSWORD}",
            "********",
            "<password>",
        ] {
            assert!(!password_value(bad), "{bad}");
        }
        assert!(!secret_value("customer_identifier"));
        assert!(secret_value("gxq3rJQkTq7vOg9UY2Q70iH1jFZx0WB"));
        for bad in [
            "jetbrains.mps.v8_elimination",
            "SalesResults-1.2",
            "DOC_Vector_5_32",
            "xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere",
            "AKIAIOSFODNN7EXAMPLE",
            "sgp_5555555dAAAAA7777777CcccCFaaaaaaaaaaaaaa",
            "AIzaSyabcdefghijklmnopqrstuvwxyz1234567",
            "neo4j:[PASSWORD]",
            "ops_eyJzaWduSW5B..",
        ] {
            assert!(!secret_value(bad), "{bad}");
        }
        assert!(credential_pair("admin:V3ry-s3cret"));
        assert!(credential_pair("\"d2LkV78zLx!t:\""));
        assert!(credential_pair("\":d2LkV78zLx!t\""));
        assert!(!credential_pair("username:token"));
        assert!(!credential_pair("user:pass"));
        // Letters-only vendor tokens are not identifiers to `token`.
        assert!(token_value("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"));
        assert!(secret_value("5e2f7c1a-9b3d-4e8f-a6c0-1d2e3f4a5b6c"));
        assert!(basic_auth("YWxpY2U6czNjcjN0LXBhc3M="));
        assert!(!basic_auth("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"));
    }

    #[test]
    fn entropy() {
        assert!(shannon_entropy("") == 0.0);
        assert!(shannon_entropy("AKIAIOSFODNN7EXAMPLE") > 3.0);
    }

    #[test]
    fn numbers_stand_alone_or_are_pieces() {
        let at = |text: &str, value: &str| {
            let start = text.find(value).unwrap_or(usize::MAX);
            stands_alone(text, start, start + value.len())
        };
        assert!(at("call 020 7946 0958.", "020 7946 0958"));
        assert!(at("(020 7946 0958)", "020 7946 0958"));
        assert!(at("Tel.: +44 20 7946 0958; fax", "+44 20 7946 0958"));
        assert!(at("- 020 7946 0958", "020 7946 0958"));
        assert!(at("from 2003-01-02 to", "2003-01-02"));
        assert!(!at("CI 1804.06-3321.57", "06-3321.57"));
        assert!(!at("mean 0,0271 4853", "0271 4853"));
        assert!(!at("Y=1035.7828+402.2970X", "402.2970"));
        assert!(!at("agent MX-05127734", "05127734"));
        assert!(!at("1.3.6.1.4.1", "1.3.6.1"));
        assert!(!at("doi:10.5555/jlab.2024-031-0577-2", "031-0577"));
        assert!(!at("(10.5555/x.0120457)", "0120457"));
        assert!(at("10.5 mg, 020 7946 0958", "020 7946 0958"));
        // Only the built-in validators of numbers ask for it.
        assert!(builtin("phone").is_some_and(|v| v.wants_whole_number()));
        assert!(builtin("email").is_some_and(|v| !v.wants_whole_number()));
        assert!(!NamedValidator::new("mine", |_: &str| true).wants_whole_number());
    }

    #[test]
    fn numeric_dates_phones_and_units_keep_to_their_shapes() {
        assert!(date("03.04.2024"));
        assert!(!date("12-1.93")); // a range of decimals
        assert!(!date("16/6.51"));
        assert!(!phone("01.02.2003")); // a date
        assert!(!phone("36.87-69.63")); // a range of decimals
        assert!(!phone("1109.0548+329.9102")); // arithmetic
        assert!(phone("+44 20 7946 0958"));
        assert!(phone("020.7946.0958"));
        assert!(phone("01 02 20 03 44"));
        assert!(!phone("0418263")); // a trunk 0 needs eight digits or more
        assert!(phone("02 9374 400"));
        assert!(phone("7806326"));
        assert!(!domain("mg.kg"));
        assert!(!domain("mmol.min-1.kg"));
        assert!(!domain("S.Tm"));
        assert!(domain("Example.com"));
        assert!(domain("EXAMPLE.COM"));
        assert!(domain("ms.example.org"));
    }

    #[test]
    fn every_builtin_name_resolves() {
        for name in BUILTIN_NAMES {
            assert!(builtin(name).is_some(), "{name}");
        }
        assert!(builtin("nope").is_none());
    }
}
