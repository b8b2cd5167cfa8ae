//! Validators of numbers: phone numbers, calendar dates and US Social Security numbers,
//! and the check that a number stands alone in its text.

use super::digits;

/// True when the number at `start..end` of `text` stands alone: it is no piece of a decimal
/// number (`07-5232.43` in `2766.07-5232.43`, `0123 4567` in `0.0123 4567`) or of a sum
/// (`402.2970` in `1035.7828+402.2970`), of a code joined
/// to letters (`04449913` in `PF-04449913`) or of a DOI (`010-0034` in
/// `10.1007/s12551-010-0034-3`).
///
/// ```text
/// let text = "95% CI 2766.07-5232.43, call 020 7946 0958.";
/// assert!(!stands_alone(text, 12, 22)); // 07-5232.43
/// assert!(stands_alone(text, 29, 42)); // 020 7946 0958
/// ```
pub(crate) fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let bytes = text.as_bytes();
    let before = bytes.get(..start).unwrap_or_default();
    let word = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let digit = |b: Option<&u8>| b.is_some_and(u8::is_ascii_digit);
    let (b1, b2) = (
        before.last(),
        before.len().checked_sub(2).and_then(|i| before.get(i)),
    );
    // After a dot, comma or plus sign that follows a digit, a number continues the one
    // before it (`1,234`, `0.0271`, `3+4`) — unless the field before that comma holds a letter
    // (`C-1042,5412…`: a cell of a CSV row), or what follows the comma is a run of seven digits
    // or more, which is neither a group of thousands nor a decimal fraction anyone writes, or
    // a number with hyphens of its own (`…,536-22-1234`).
    let field_before = before
        .get(..before.len().saturating_sub(1))
        .map_or(&[][..], |b| {
            let from = b
                .iter()
                .rposition(|c| c.is_ascii_whitespace() || matches!(c, b',' | b';' | b'|' | b'"'))
                .map_or(0, |i| i + 1);
            b.get(from..).unwrap_or_default()
        });
    let lead_run = bytes
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let own_hyphens = bytes.get(start..end).is_some_and(|v| v.contains(&b'-'));
    let cell = b1 == Some(&b',')
        && (field_before.iter().any(u8::is_ascii_alphabetic) || lead_run >= 7 || own_hyphens);
    let glued_before = word(b1)
        || (matches!(b1, Some(b'.' | b',' | b'+')) && digit(b2) && !cell)
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

/// A US Social Security number (`AAA-GG-SSSS`, `AAA GG SSSS`, `AAA.GG.SSSS` or nine digits) that follows the
/// SSA's assignment rules. The two numbers the SSA lists as misused in advertising fail too.
pub(crate) fn us_ssn(value: &str) -> bool {
    let ds: Vec<u32> = digits(value).collect();
    if ds.len() != 9
        || value
            .chars()
            .any(|c| !(c.is_ascii_digit() || matches!(c, '-' | ' ' | '.')))
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

/// A domestic bank account number as banks print them: 8 to 30 digits in groups split by
/// spaces or hyphens, not all one digit. Most countries' domestic numbers carry no checksum
/// anyone outside the bank can verify, so rules use this only next to an account word.
pub(crate) fn account_number(value: &str) -> bool {
    let ds: Vec<u32> = digits(value).collect();
    (8..=30).contains(&ds.len())
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
        && ds.iter().any(|d| Some(d) != ds.first())
}

/// A phone number: 7 to 15 digits (E.164 allows at most 15) before any extension marker
/// (`x`, `ext`, `#`), not all the same digit; a number written with `+` needs at least 8, one
/// written with `00` at least 10.
pub(crate) fn phone(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let main = lower
        .find(['x', '#'])
        .or_else(|| lower.find("ext"))
        .and_then(|i| lower.get(..i))
        .unwrap_or(&lower);
    let ds: Vec<u32> = digits(main).collect();
    // The country code may stand in brackets: `(+34) 612 345 678`.
    let opening = main.trim_start().trim_start_matches('(');
    // `+` and `00` open the same international number: eight digits after either.
    let min = if opening.starts_with('+') {
        8
    } else if opening.starts_with("00") {
        10
    } else {
        7
    };
    if ds.len() < min || ds.len() > 15 {
        return false;
    }
    // A trunk 0 comes before an area code and a subscriber number: eight digits at least.
    // Shorter runs that open with 0 are codes (`compound KT 0418263`).
    if opening.starts_with('0') && !opening.starts_with("00") && ds.len() < 8 {
        return false;
    }
    // A plus sign opens an international number; inside one it is arithmetic
    // (`1109.0548+329.9102`).
    if opening.get(1..).is_some_and(|rest| rest.contains('+')) {
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
    // `10.0.19045` is a version: in a number written with dots, no group after the first is
    // a lone 0.
    if main.contains('.') && main.split('.').skip(1).any(|g| g.trim() == "0") {
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
pub(crate) fn date(value: &str) -> bool {
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
    if let Some(first) = separators.next()
        && separators.any(|b| b != first)
    {
        return false;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::network::domain;
    use crate::validate::{NamedValidator, builtin};

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
    fn account_numbers() {
        assert!(account_number("2201 3737 30 6347425476"));
        assert!(account_number("12-3456-7890123-00"));
        assert!(!account_number("1234 567"));
        assert!(!account_number("0000 0000 0000"));
        assert!(!account_number("12.345.678"));
    }

    #[test]
    fn phones() {
        assert!(phone("+44 20 7946 0958"));
        assert!(phone("(555) 234-5678 x123"));
        assert!(phone("780 6326"));
        assert!(phone("(+34) 612 345 678"));
        assert!(!phone("(1109.0548+329.9102)"));
        assert!(!phone("123 45"));
        assert!(!phone("+1 234 567"));
        assert!(!phone("1111111111"));
        assert!(!phone("1234567890123456"));
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
        // Cells of a CSV row stand alone; groups of thousands do not.
        assert!(at("7,C-7,4111111111111111,9.50", "4111111111111111"));
        assert!(at("A17,078-05-1121,Ops", "078-05-1121"));
        assert!(at("17,4111111111111111,9.50", "4111111111111111"));
        assert!(at("4111111111111111,536-22-1234,1", "536-22-1234"));
        assert!(!at("1,234,567", "234"));
        assert!(!at("mean 0,0271 4853", "0271 4853"));
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
        assert!(!phone("31.0.101.5186")); // a version
        assert!(!phone("00412-778")); // too short for 00 and a country code
        assert!(phone("0044 7700 900123"));
        assert!(phone("01.42.68.53.00"));
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
}
