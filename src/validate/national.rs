//! National identifiers with a published check: each function takes the candidate as written
//! (spaces, dots, dashes and slashes between groups allowed), normalises it, and checks the
//! length, the alphabet, the embedded date where the scheme has one, and the check digits.
//! The algorithms are those the issuing administrations publish.

/// The candidate in upper case without the separators people write between groups; `None`
/// when it holds any other character.
pub(super) fn compact(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            ' ' | '.' | '-' | '/' | '\u{a0}' => {}
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_uppercase()),
            _ => return None,
        }
    }
    Some(out)
}

/// The decimal digits of `s`, when it holds only digits and has `len` of them.
pub(super) fn digits_of(s: &str, len: usize) -> Option<Vec<u32>> {
    let d: Vec<u32> = s.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
    (d.len() == len).then_some(d)
}

/// The digits of a candidate written in `len` digits, with any separators between groups.
fn compact_digits(value: &str, len: usize) -> Option<Vec<u32>> {
    compact(value).and_then(|s| digits_of(&s, len))
}

/// `Σ dᵢ·wᵢ`.
pub(super) fn weighted(d: &[u32], w: &[u32]) -> u32 {
    d.iter().zip(w).map(|(d, w)| d * w).sum()
}

/// The number the digits spell (at most 18 of them).
pub(super) fn number(d: &[u32]) -> u64 {
    d.iter().fold(0u64, |n, d| n * 10 + u64::from(*d))
}

fn all_same(d: &[u32]) -> bool {
    d.windows(2).all(|w| w.first() == w.last())
}

/// A day and month that exist (29 February allowed: the year is often unknown).
fn real_day(month: u32, day: u32) -> bool {
    let days = match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// Netherlands BSN (burgerservicenummer): 9 digits, the "elfproef" — Σ dᵢ·(9…2) − d₉ is a
/// multiple of 11.
pub(crate) fn nl_bsn(value: &str) -> bool {
    let Some(d) = compact_digits(value, 9) else {
        return false;
    };
    let (body, check) = d.split_at(8);
    let sum = weighted(body, &[9, 8, 7, 6, 5, 4, 3, 2]) as i64
        - i64::from(check.first().copied().unwrap_or(0));
    !all_same(&d) && sum % 11 == 0 && sum > 0
}

/// Belgium national register number (rijksregisternummer / numéro de registre national):
/// YYMMDD, a serial of 3, and 97 − (the first 9 digits mod 97) — with a leading 2 for births
/// from 2000. Month and day may be 0 (unknown), month + 20 or + 40 for bis numbers.
pub(crate) fn be_nrn(value: &str) -> bool {
    let Some(d) = compact_digits(value, 11) else {
        return false;
    };
    let (body, check) = d.split_at(9);
    let check = number(check);
    let month = number(d.get(2..4).unwrap_or(&[])) as u32 % 20;
    let day = number(d.get(4..6).unwrap_or(&[])) as u32;
    if month > 12 || day > 31 {
        return false;
    }
    let n = number(body);
    97 - n % 97 == check || 97 - (2_000_000_000 + n) % 97 == check
}

/// Poland PESEL: 11 digits, YYMMDD with the century in the month (+80 1800s, +0 1900s, +20
/// 2000s, +40 2100s, +60 2200s), weights 1 3 7 9 1 3 7 9 1 3 and a check making the sum end
/// in 0.
pub(crate) fn pl_pesel(value: &str) -> bool {
    let Some(d) = compact_digits(value, 11) else {
        return false;
    };
    let month = number(d.get(2..4).unwrap_or(&[])) as u32 % 20;
    let day = number(d.get(4..6).unwrap_or(&[])) as u32;
    if !real_day(month, day) {
        return false;
    }
    let sum = weighted(&d, &[1, 3, 7, 9, 1, 3, 7, 9, 1, 3]);
    d.last().copied() == Some((10 - sum % 10) % 10)
}

/// Sweden personnummer and samordningsnummer (day + 60): YYMMDD or YYYYMMDD, a `-` or `+`,
/// four digits, the last a Luhn check over the ten-digit form.
pub(crate) fn se_personnummer(value: &str) -> bool {
    let plus_free: String = value.chars().filter(|c| *c != '+').collect();
    let Some(s) = compact(&plus_free) else {
        return false;
    };
    let d: Vec<u32> = match s.len() {
        10 => digits_of(&s, 10),
        12 => digits_of(&s, 12).map(|d| d.into_iter().skip(2).collect()),
        _ => None,
    }
    .unwrap_or_default();
    if d.len() != 10 {
        return false;
    }
    let month = number(d.get(2..4).unwrap_or(&[])) as u32;
    let day = number(d.get(4..6).unwrap_or(&[])) as u32;
    let day = if day > 60 { day - 60 } else { day };
    if !real_day(month, day) {
        return false;
    }
    let text: String = d.iter().filter_map(|x| char::from_digit(*x, 10)).collect();
    super::checksum::luhn(&text)
}

/// France NIR (numéro de sécurité sociale): sex (1, 2, or 3, 4, 7, 8 for provisional
/// numbers), YY, MM, département (2 digits, 2A or 2B for Corsica), commune, order, and a key
/// of 97 − (the 13-digit number mod 97), Corsica's 2A and 2B counted as 19 and 18.
pub(crate) fn fr_nir(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    if s.len() != 15 {
        return false;
    }
    let (body, key) = s.split_at(13);
    let corsica = body.get(5..7).is_some_and(|d| d == "2A" || d == "2B");
    let numeric: String = if corsica {
        let (head, tail) = body.split_at(5);
        let dept = if tail.starts_with("2A") { "19" } else { "18" };
        format!("{head}{dept}{}", tail.get(2..).unwrap_or(""))
    } else {
        body.to_string()
    };
    let (Some(d), Some(k)) = (digits_of(&numeric, 13), digits_of(key, 2)) else {
        return false;
    };
    let sex = d.first().copied().unwrap_or(0);
    let month = number(d.get(3..5).unwrap_or(&[])) as u32;
    if !matches!(sex, 1 | 2 | 3 | 4 | 7 | 8) || !(matches!(month, 1..=12 | 20..=42 | 50..=99)) {
        return false;
    }
    97 - number(&d) % 97 == number(&k)
}

/// Spain Seguridad Social number (NSS / NUSS): province (2), number (8), and two check
/// digits: (province·10⁷ + number, or the 10 digits when the number is 10⁷ or more) mod 97.
pub(crate) fn es_nss(value: &str) -> bool {
    let Some(d) = compact_digits(value, 12) else {
        return false;
    };
    let province = number(d.get(..2).unwrap_or(&[]));
    let serial = number(d.get(2..10).unwrap_or(&[]));
    let check = number(d.get(10..).unwrap_or(&[]));
    let n = if serial < 10_000_000 {
        province * 10_000_000 + serial
    } else {
        province * 100_000_000 + serial
    };
    province <= 66 && province > 0 && n % 97 == check
}

/// The DNI's letter table: the number mod 23.
const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Spain DNI (8 digits and a letter) and NIE (X, Y or Z, 7 digits and a letter): the letter
/// is the number (X, Y, Z as 0, 1, 2) mod 23 in the official table.
pub(crate) fn es_dni(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    if s.len() != 9 {
        return false;
    }
    let (body, letter) = s.split_at(8);
    let body = match body.chars().next() {
        Some('X') => format!("0{}", body.get(1..).unwrap_or("")),
        Some('Y') => format!("1{}", body.get(1..).unwrap_or("")),
        Some('Z') => format!("2{}", body.get(1..).unwrap_or("")),
        _ => body.to_string(),
    };
    let Some(d) = digits_of(&body, 8) else {
        return false;
    };
    let expected = DNI_LETTERS.get((number(&d) % 23) as usize).copied();
    letter.as_bytes().first().copied() == expected
}

/// India Aadhaar: 12 digits, the first 2–9, not a palindrome, the last a Verhoeff check.
pub(crate) fn in_aadhaar(value: &str) -> bool {
    let Some(d) = compact_digits(value, 12) else {
        return false;
    };
    let palindrome = d.iter().eq(d.iter().rev());
    d.first().is_some_and(|f| *f >= 2) && !palindrome && verhoeff(&d)
}

/// The Verhoeff check over `d` (check digit last): the dihedral group D5's multiplication
/// and the permutation tables, as Verhoeff published them.
fn verhoeff(d: &[u32]) -> bool {
    const MUL: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const PERM: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0u8;
    for (i, digit) in d.iter().rev().enumerate() {
        let p = PERM
            .get(i % 8)
            .and_then(|row| row.get(*digit as usize))
            .copied()
            .unwrap_or(0);
        c = MUL
            .get(c as usize)
            .and_then(|row| row.get(p as usize))
            .copied()
            .unwrap_or(1);
    }
    c == 0
}

/// UK NHS number: 10 digits, weights 10…2, check 11 − (sum mod 11) (11 counts as 0, 10 is
/// never issued).
pub(crate) fn uk_nhs(value: &str) -> bool {
    let Some(d) = compact_digits(value, 10) else {
        return false;
    };
    let sum = weighted(&d, &[10, 9, 8, 7, 6, 5, 4, 3, 2]);
    let check = (11 - sum % 11) % 11;
    check != 10 && d.last().copied() == Some(check) && !all_same(&d)
}

/// UK National Insurance number: two prefix letters (not D, F, I, Q, U or V; the second not
/// O; not BG, GB, KN, NK, NT, TN or ZZ), six digits, a suffix A–D.
pub(crate) fn uk_nino(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    let b = s.as_bytes();
    if b.len() != 9 {
        return false;
    }
    let (prefix, rest) = b.split_at(2);
    let (number, suffix) = rest.split_at(6);
    let ok_letter = |c: &u8| c.is_ascii_uppercase() && !b"DFIQUV".contains(c);
    let [first, second] = prefix else {
        return false;
    };
    ok_letter(first)
        && ok_letter(second)
        && *second != b'O'
        && !matches!(
            prefix,
            b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ"
        )
        && number.iter().all(u8::is_ascii_digit)
        && matches!(suffix, [b'A'..=b'D'])
}

/// Germany Steuerliche Identifikationsnummer: 11 digits, the first not 0; among the first
/// ten, one digit appears twice or three times and the others at most once; the last is the
/// ISO 7064 MOD 11,10 check.
pub(crate) fn de_steuer_id(value: &str) -> bool {
    let Some(d) = compact_digits(value, 11) else {
        return false;
    };
    let (body, check) = d.split_at(10);
    if body.first() == Some(&0) {
        return false;
    }
    let mut counts = [0u32; 10];
    for x in body {
        if let Some(c) = counts.get_mut(*x as usize) {
            *c += 1;
        }
    }
    let repeated: Vec<u32> = counts.iter().copied().filter(|c| *c > 1).collect();
    if !matches!(repeated.as_slice(), [2] | [3]) {
        return false;
    }
    check.first().copied() == Some(iso7064_mod11_10(body))
}

/// The ISO 7064 MOD 11,10 check digit of `d`.
pub(super) fn iso7064_mod11_10(d: &[u32]) -> u32 {
    let mut product = 10;
    for x in d {
        let mut sum = (x + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    (11 - product) % 10
}

/// The codice fiscale's values of a character in an odd position (1st, 3rd, …).
const CF_ODD: [u32; 36] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // 0-9
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
    23, // A-Z
];

/// Italy codice fiscale (persons): six letters of surname and name, year (2), month letter,
/// day (+40 for women) and place (a letter and 3), digits possibly replaced by letters
/// (omocodia: L M N P Q R S T U V for 0–9), and a check letter.
pub(crate) fn it_codice_fiscale(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    let b = s.as_bytes();
    if b.len() != 16 {
        return false;
    }
    // Positions that hold digits, or their omocodia letters.
    let digit_like = |c: u8| c.is_ascii_digit() || b"LMNPQRSTUV".contains(&c);
    let shape = b.iter().enumerate().all(|(i, c)| match i {
        0..=5 | 11 | 15 => c.is_ascii_uppercase(),
        8 => b"ABCDEHLMPRST".contains(c),
        6 | 7 | 9 | 10 | 12..=14 => digit_like(*c),
        _ => false,
    });
    if !shape {
        return false;
    }
    let value_of = |c: u8| -> usize {
        if c.is_ascii_digit() {
            usize::from(c - b'0')
        } else {
            usize::from(c - b'A') + 10
        }
    };
    let sum: u32 = b
        .iter()
        .take(15)
        .enumerate()
        .map(|(i, c)| {
            let v = value_of(*c);
            if i % 2 == 0 {
                CF_ODD.get(v).copied().unwrap_or(0)
            } else if v >= 10 {
                (v - 10) as u32
            } else {
                v as u32
            }
        })
        .sum();
    b.get(15).copied() == Some(b'A' + (sum % 26) as u8)
}

/// A letter's value in the German schemes that turn it into two digits: A = 01 … Z = 26.
fn letter_number(c: u8) -> Option<[u32; 2]> {
    c.is_ascii_uppercase().then(|| {
        let n = u32::from(c - b'A') + 1;
        [n / 10, n % 10]
    })
}

/// The sum of the digits of `n` (the "Quersumme" the German schemes add).
pub(super) fn digit_sum(n: u32) -> u32 {
    n / 10 + n % 10
}

/// Germany Krankenversichertennummer (health insurance number, the unchangeable part): a
/// letter and 8 digits, then a check digit: the letter as two digits (A = 01), weights 1 2 1 2
/// …, the products' digit sums added, mod 10.
pub(crate) fn de_kvnr(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    let b = s.as_bytes();
    let Some((first, rest)) = b.split_first() else {
        return false;
    };
    let (Some(letter), Some(d)) = (
        letter_number(*first),
        std::str::from_utf8(rest).ok().and_then(|r| digits_of(r, 9)),
    ) else {
        return false;
    };
    let (body, check) = d.split_at(8);
    let all: Vec<u32> = letter.iter().chain(body).copied().collect();
    let sum: u32 = all
        .iter()
        .enumerate()
        .map(|(i, x)| digit_sum(x * if i % 2 == 0 { 1 } else { 2 }))
        .sum();
    check.first().copied() == Some(sum % 10) && !all_same(body)
}

/// Germany Versicherungsnummer of the pension insurance (SV-Nummer): area (2 digits), birth
/// date DDMMYY, the birth name's initial, serial (2) and a check digit: the initial as two
/// digits, weights 2 1 2 5 7 1 2 1 2 1 2 1, the products' digit sums added, mod 10.
pub(crate) fn de_svnr(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    if s.len() != 12 {
        return false;
    }
    let (head, tail) = s.split_at(8);
    let (letter, rest) = tail.split_at(1);
    let (Some(head), Some(letter), Some(rest)) = (
        digits_of(head, 8),
        letter.bytes().next().and_then(letter_number),
        digits_of(rest, 3),
    ) else {
        return false;
    };
    let day = number(head.get(2..4).unwrap_or(&[])) as u32;
    let month = number(head.get(4..6).unwrap_or(&[])) as u32;
    // Days of unknown birth dates are given from 32 on; the month is always real.
    if !(1..=12).contains(&month) || day > 31 + 31 {
        return false;
    }
    let (serial, check) = rest.split_at(2);
    let all: Vec<u32> = head.iter().chain(&letter).chain(serial).copied().collect();
    let sum: u32 = all
        .iter()
        .zip([2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1])
        .map(|(x, w)| digit_sum(x * w))
        .sum();
    check.first().copied() == Some(sum % 10)
}

/// The value of an ICAO machine-readable character: digits as themselves, A = 10 … Z = 35.
fn mrz_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// Poland dowód osobisty (identity card): three letters and six digits, the first digit a
/// check: values (A = 10) weighted 7 3 1 _ 7 3 1 7 3, mod 10.
pub(crate) fn pl_dowod(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    let b = s.as_bytes();
    if b.len() != 9
        || !b.iter().take(3).all(u8::is_ascii_uppercase)
        || !b.iter().skip(3).all(u8::is_ascii_digit)
    {
        return false;
    }
    let Some(values) = b
        .iter()
        .map(|c| mrz_value(*c))
        .collect::<Option<Vec<u32>>>()
    else {
        return false;
    };
    let sum: u32 = values
        .iter()
        .zip([7, 3, 1, 0, 7, 3, 1, 7, 3])
        .map(|(v, w)| v * w)
        .sum();
    values.get(3).copied() == Some(sum % 10)
}

/// Germany Personalausweis (identity card since 2010): a serial of nine characters from the
/// card alphabet (digits and C F G H J K L M N P R T V W X Y Z), the first a letter,
/// optionally followed by its ICAO check digit (weights 7 3 1, A = 10), which must then hold.
pub(crate) fn de_personalausweis(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    let b = s.as_bytes();
    let alphabet = |c: &u8| c.is_ascii_digit() || b"CFGHJKLMNPRTVWXYZ".contains(c);
    let (serial, check) = match b.len() {
        9 => (b, None),
        10 => {
            let (serial, check) = b.split_at(9);
            (serial, check.first().copied())
        }
        _ => return false,
    };
    // A letter first, and at least one digit and one letter: a word or a number is no serial.
    if !serial.iter().all(alphabet)
        || !serial.first().is_some_and(u8::is_ascii_uppercase)
        || !serial.iter().any(u8::is_ascii_digit)
    {
        return false;
    }
    let Some(check) = check else {
        return true;
    };
    let Some(values) = serial
        .iter()
        .map(|c| mrz_value(*c))
        .collect::<Option<Vec<u32>>>()
    else {
        return false;
    };
    let sum: u32 = values
        .iter()
        .zip([7, 3, 1].iter().cycle())
        .map(|(v, w)| v * w)
        .sum();
    mrz_value(check) == Some(sum % 10)
}

/// India PAN: five letters (the fourth the holder's type: P person, C company, H, F, A, T,
/// B, L, J, G), four digits (not 0000), a letter.
pub(crate) fn in_pan(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().take(5).all(u8::is_ascii_uppercase)
        && b.get(3).is_some_and(|c| b"ABCFGHJLPT".contains(c))
        && b.iter().skip(5).take(4).all(u8::is_ascii_digit)
        && b.get(5..9) != Some(b"0000".as_slice())
        && b.get(9).is_some_and(u8::is_ascii_uppercase)
}

/// India EPIC (voter id): three letters and seven digits, the digits a Luhn number.
pub(crate) fn in_epic(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().take(3).all(u8::is_ascii_uppercase)
        && s.get(3..)
            .is_some_and(|d| d.bytes().all(|c| c.is_ascii_digit()) && super::checksum::luhn(d))
}

/// Denmark CPR number: DDMMYY-SSSS with a real day and month. Numbers issued since 2007 need
/// not pass the old mod-11 check, so none is applied; rules use it next to the word.
pub(crate) fn dk_cpr(value: &str) -> bool {
    let Some(d) = compact_digits(value, 10) else {
        return false;
    };
    let two = |i: usize| {
        d.get(i..i + 2)
            .map_or(0, |p| p.iter().fold(0, |n, x| n * 10 + x))
    };
    real_day(two(2), two(0)) && !all_same(&d)
}

/// Finland henkilötunnus (HETU): DDMMYY, a century sign (`+`, `-`, `A`, or the newer B–F and
/// U–Y), a 3-digit individual number (002–899), and a check character: the nine digits mod 31
/// in `0123456789ABCDEFHJKLMNPRSTUVWXY`.
pub(crate) fn fi_hetu(value: &str) -> bool {
    let v = value.trim().to_ascii_uppercase();
    let b = v.as_bytes();
    if b.len() != 11 || !b"+-ABCDEFUVWXY".contains(b.get(6).unwrap_or(&0)) {
        return false;
    }
    let (Some(date), Some(serial)) = (
        v.get(..6).and_then(|x| digits_of(x, 6)),
        v.get(7..10).and_then(|x| digits_of(x, 3)),
    ) else {
        return false;
    };
    let n = number(&date) * 1000 + number(&serial);
    let (day, month) = (
        number(date.get(..2).unwrap_or_default()),
        number(date.get(2..4).unwrap_or_default()),
    );
    let individual = number(&serial);
    let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"
        .get((n % 31) as usize)
        .copied();
    real_day(month as u32, day as u32)
        && (2..=899).contains(&individual)
        && b.get(10).copied() == check
}

/// Austria Sozialversicherungsnummer: a 3-digit serial (not starting with 0), a check digit,
/// and the birth date DDMMYY; the check is Σ of the other nine digits with weights
/// 3 7 9 · 5 8 4 2 1 6, mod 11 (10 is never issued).
pub(crate) fn at_svnr(value: &str) -> bool {
    let Some(d) = compact_digits(value, 10) else {
        return false;
    };
    let c = weighted(&d, &[3, 7, 9, 0, 5, 8, 4, 2, 1, 6]) % 11;
    d.first() != Some(&0) && c != 10 && d.get(3) == Some(&c)
}

/// Switzerland AHV/AVS number (since 2008): 756, nine digits, an EAN-13 check digit.
pub(crate) fn ch_ahv(value: &str) -> bool {
    let Some(d) = compact_digits(value, 13) else {
        return false;
    };
    let (head, last) = d.split_at(12);
    let sum: u32 = head
        .iter()
        .enumerate()
        .map(|(i, x)| if i % 2 == 1 { 3 * x } else { *x })
        .sum();
    d.get(..3) == Some([7, 5, 6].as_slice()) && last.first() == Some(&((10 - sum % 10) % 10))
}

/// Ireland PPS number: seven digits, a check letter, and an optional second letter (A, B, H
/// or W); the check is Σ digits × 8…2, plus 9 × the second letter's value (A = 1), mod 23 in
/// `WABCDEFGHIJKLMNOPQRSTUV`.
pub(crate) fn ie_ppsn(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    let b = s.as_bytes();
    let Some(d) = s.get(..7).and_then(|x| digits_of(x, 7)) else {
        return false;
    };
    let second = match b.get(8) {
        None => 0,
        Some(b'W') => 0,
        Some(c @ b'A'..=b'V') if b.len() == 9 => u32::from(c - b'A') + 1,
        _ => return false,
    };
    let sum = weighted(&d, &[8, 7, 6, 5, 4, 3, 2]) + 9 * second;
    let check = b"WABCDEFGHIJKLMNOPQRSTUV".get((sum % 23) as usize).copied();
    (8..=9).contains(&b.len()) && b.get(7).copied() == check
}

/// Portugal NIF (número de identificação fiscal, of persons and companies alike).
pub(crate) fn pt_nif(value: &str) -> bool {
    compact(value).is_some_and(|s| super::vat::pt(&s))
}

/// The two mod-11 check digits of the Brazilian CPF and CNPJ: each is 11 minus the weighted
/// sum mod 11 (0 when that is 10 or more).
fn br_checks(d: &[u32], first: &[u32], second: &[u32]) -> bool {
    let n = first.len();
    let check = |w: &[u32], upto: usize| {
        let r = weighted(d.get(..upto).unwrap_or_default(), w) % 11;
        if r < 2 { 0 } else { 11 - r }
    };
    d.get(n) == Some(&check(first, n)) && d.get(n + 1) == Some(&check(second, n + 1))
}

/// Brazil CPF: 11 digits (not all the same), two mod-11 check digits.
pub(crate) fn br_cpf(value: &str) -> bool {
    compact_digits(value, 11).is_some_and(|d| {
        !all_same(&d)
            && br_checks(
                &d,
                &[10, 9, 8, 7, 6, 5, 4, 3, 2],
                &[11, 10, 9, 8, 7, 6, 5, 4, 3, 2],
            )
    })
}

/// Brazil CNPJ: 14 digits (not all the same), two mod-11 check digits.
pub(crate) fn br_cnpj(value: &str) -> bool {
    compact_digits(value, 14).is_some_and(|d| {
        !all_same(&d)
            && br_checks(
                &d,
                &[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2],
                &[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2],
            )
    })
}

/// Canada SIN: 9 digits, Luhn, the first not 0 or 8 (8 is for business numbers).
pub(crate) fn ca_sin(value: &str) -> bool {
    compact(value).is_some_and(|s| {
        digits_of(&s, 9).is_some_and(|d| !matches!(d.first(), Some(0 | 8)))
            && super::checksum::luhn(&s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Valid numbers made with the published algorithms (checked with python-stdnum), and the
    // same with one digit changed.
    #[test]
    fn each_identifier_checks_its_digits() {
        type Check = fn(&str) -> bool;
        let cases: &[(Check, &str, &str)] = &[
            (nl_bsn, "111222333", "111222334"),
            (nl_bsn, "1234.56.782", "1234.56.783"),
            (be_nrn, "85.07.30-033.28", "85.07.30-033.29"),
            (pl_pesel, "44051401359", "44051401358"),
            (se_personnummer, "811228-9874", "811228-9873"),
            (se_personnummer, "19811228-9874", "19811228-9875"),
            (fr_nir, "2 95 10 99 126 111 93", "2 95 10 99 126 111 94"),
            (es_dni, "12345678Z", "12345678A"),
            (es_dni, "X1234567L", "X1234567M"),
            (in_aadhaar, "2341 2341 2346", "2341 2341 2347"),
            (uk_nhs, "943 476 5919", "943 476 5918"),
            (uk_nino, "AB 12 34 56 C", "BG 12 34 56 C"),
            (de_steuer_id, "86095742719", "86095742710"),
            (it_codice_fiscale, "RSSMRA85T10A562S", "RSSMRA85T10A562T"),
            (in_pan, "ABCPE1234F", "ABCDE1234F"),
            (de_kvnr, "A123456780", "A123456781"),
            (de_svnr, "12 150875 M 006", "12 150875 M 007"),
            (pl_dowod, "ABS123456", "ABS223456"),
            (de_personalausweis, "L01X00T471", "L01X00T472"),
            (in_epic, "ABC1234566", "ABC1234567"),
            (dk_cpr, "211062-5629", "311362-5629"),
            (fi_hetu, "131052-308T", "131052-308U"),
            (at_svnr, "1237 010180", "1238 010180"),
            (ch_ahv, "756.9217.0769.85", "756.9217.0769.86"),
            (ie_ppsn, "1234567T", "1234567W"),
            (ie_ppsn, "1234567FA", "1234567FB"),
            (pt_nif, "501 964 843", "501 964 844"),
            (br_cpf, "390.533.447-05", "390.533.447-06"),
            (br_cnpj, "16.727.230/0001-97", "16.727.230/0001-98"),
            (ca_sin, "130 692 544", "130 692 545"),
        ];
        for (check, good, bad) in cases {
            assert!(check(good), "{good} should pass");
            assert!(!check(bad), "{bad} should fail");
        }
    }
}
