//! Validators of network names and addresses: IP and MAC addresses, e-mail addresses,
//! domain names and URLs.

use super::tlds::{COUNTRY_TLDS, FILE_LIKE_TLDS, GENERIC_TLDS};

/// A dotted-quad IPv4 address (an optional `/prefix` up to 32 is accepted).
pub(crate) fn ipv4(value: &str) -> bool {
    let (addr, prefix) = split_prefix(value);
    addr.parse::<std::net::Ipv4Addr>().is_ok() && prefix.is_none_or(|p| p <= 32)
}

/// An IPv6 address in any RFC 4291 text form (an optional `/prefix` up to 128 is accepted).
pub(crate) fn ipv6(value: &str) -> bool {
    let (addr, prefix) = split_prefix(value);
    addr.parse::<std::net::Ipv6Addr>().is_ok() && prefix.is_none_or(|p| p <= 128)
}

/// An IPv4 or IPv6 address.
pub(crate) fn ip(value: &str) -> bool {
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
pub(crate) fn email(value: &str) -> bool {
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

/// A MAC-48 address: six hex octets separated by `:` or `-` (one style), or three dotted
/// groups of four; the all-zero address fails.
pub(crate) fn mac(value: &str) -> bool {
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

pub(crate) fn known_tld(tld: &str) -> bool {
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
pub(crate) fn domain(value: &str) -> bool {
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
pub(crate) fn url(value: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn macs() {
        assert!(mac("00:1A:2b:3C:4d:5E"));
        assert!(mac("00-1A-2B-3C-4D-5E"));
        assert!(mac("001a.2b3c.4d5e"));
        assert!(!mac("00:1A-2B:3C:4D:5E"));
        assert!(!mac("00:00:00:00:00:00"));
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
}
