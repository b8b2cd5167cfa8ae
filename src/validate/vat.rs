//! VAT and company tax numbers: the EU VAT identification numbers of the countries promptveil
//! has context words for (with their country prefix, or bare next to the local name), the UK
//! VAT registration number and India's GSTIN. Each check is the one the tax administration
//! publishes (as the EU's VIES service applies them).

use super::national::{compact, digit_sum, digits_of, iso7064_mod11_10, number, weighted};

/// A VAT number with its country prefix (`DE 123 456 788`, `FR40303265045`, `ATU13585627`,
/// `NL004495445B01`): the prefix picks the country's check. Covered: AT BE CZ DE DK EE EL ES
/// FI FR GB/XI HR HU IE IT LU MT NL PL PT RO SE SI SK (not yet BG CY LT LV).
pub(crate) fn vat(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    let (cc, body) = s.split_at(s.len().min(2));
    match cc {
        "AT" => at(body),
        "BE" => be(body),
        "CZ" => cz(body),
        "DE" => de(body),
        "DK" => dk(body),
        "EE" => ee(body),
        "EL" => el(body),
        "ES" => es(body),
        "FI" => fi(body),
        "FR" => fr(body),
        "GB" | "XI" => gb(body),
        "HR" => hr(body),
        "HU" => hu(body),
        "IE" => ie(body),
        "IT" => it(body),
        "LU" => lu(body),
        "MT" => mt(body),
        "NL" => nl(body),
        "PL" => pl(body),
        "PT" => pt(body),
        "RO" => ro(body),
        "SE" => se(body),
        "SI" => si(body),
        "SK" => sk(body),
        _ => false,
    }
}

/// The bare body of a country's VAT number, checked as that country's; for the rules that
/// find them next to the local word (USt-IdNr, partita IVA, NIP…).
macro_rules! bare {
    ($($name:ident => $check:ident),* $(,)?) => {$(
        #[doc = concat!("The bare national form checked by `", stringify!($check), "` (see [`vat`]).")]
        pub(crate) fn $name(value: &str) -> bool {
            compact(value).is_some_and(|s| $check(&s))
        }
    )*};
}

bare! {
    vat_be => be,
    vat_de => de,
    vat_es => es,
    vat_fr => fr,
    vat_gb => gb,
    vat_it => it,
    vat_nl => nl,
    vat_pl => pl,
    vat_se => se,
}

/// Austria: `U` and 8 digits, the last a Luhn-like check with an offset of 4.
fn at(body: &str) -> bool {
    let Some(d) = body.strip_prefix('U').and_then(|b| digits_of(b, 8)) else {
        return false;
    };
    let sum: u32 = d
        .iter()
        .take(7)
        .enumerate()
        .map(|(i, &x)| if i % 2 == 1 { digit_sum(2 * x) } else { x })
        .sum();
    d.last().copied() == Some((96 - sum) % 10)
}

/// Belgium: 10 digits (an old 9-digit number takes a leading 0), the first 0 or 1, the last
/// two 97 minus the first eight mod 97.
fn be(body: &str) -> bool {
    let padded;
    let body = if body.len() == 9 {
        padded = format!("0{body}");
        padded.as_str()
    } else {
        body
    };
    let Some(d) = digits_of(body, 10) else {
        return false;
    };
    let (head, tail) = d.split_at(8);
    let (n, check) = (number(head), number(tail));
    d.first().is_some_and(|&f| f <= 1) && n > 0 && 97 - n % 97 == check
}

/// Germany (USt-IdNr.): 9 digits, the first not 0, the last the ISO 7064 MOD 11,10 check.
fn de(body: &str) -> bool {
    let Some(d) = digits_of(body, 9) else {
        return false;
    };
    let (head, check) = d.split_at(8);
    head.first() != Some(&0) && check.first() == Some(&iso7064_mod11_10(head))
}

/// Denmark (CVR): 8 digits, the first not 0, weights 2 7 6 5 4 3 2 1, a multiple of 11.
fn dk(body: &str) -> bool {
    digits_of(body, 8).is_some_and(|d| {
        d.first() != Some(&0) && weighted(&d, &[2, 7, 6, 5, 4, 3, 2, 1]).is_multiple_of(11)
    })
}

/// Spain (NIF-IVA): a company's CIF (an organisation letter, 7 digits and a check digit or
/// letter), or a person's DNI or NIE.
fn es(body: &str) -> bool {
    es_cif(body) || super::national::es_dni(body) || es_nif_klm(body)
}

/// Spain CIF: the organisation-type letter, 7 digits, and the check (as a digit, or as a
/// letter of `JABCDEFGHI`): the even digits' sum plus the digit sums of twice the odd ones.
pub(crate) fn es_cif(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    let b = s.as_bytes();
    let (Some(&kind), Some(&check)) = (b.first(), b.get(8)) else {
        return false;
    };
    if b.len() != 9 || !b"ABCDEFGHJNPQRSUVW".contains(&kind) {
        return false;
    }
    let Some(d) = s.get(1..8).and_then(|m| digits_of(m, 7)) else {
        return false;
    };
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &x)| if i % 2 == 0 { digit_sum(2 * x) } else { x })
        .sum();
    let c = (10 - sum % 10) % 10;
    let as_letter = b"JABCDEFGHI".get(c as usize).copied();
    check == b'0' + c as u8 || Some(check) == as_letter
}

/// Spain: the K, L and M numbers of people without a DNI (a letter, 7 digits, the DNI letter
/// of the digits).
fn es_nif_klm(body: &str) -> bool {
    let b = body.as_bytes();
    match b.first() {
        Some(b'K' | b'L' | b'M') => body
            .get(1..)
            .is_some_and(|rest| super::national::es_dni(&format!("0{rest}"))),
        _ => false,
    }
}

/// Finland (Y-tunnus): 8 digits, weights 7 9 10 5 8 4 2 1, a multiple of 11.
fn fi(body: &str) -> bool {
    digits_of(body, 8).is_some_and(|d| weighted(&d, &[7, 9, 10, 5, 8, 4, 2, 1]).is_multiple_of(11))
}

/// France: a two-character key and the company's SIREN (9 digits, Luhn). A numeric key is
/// (12 + 3 × (SIREN mod 97)) mod 97; the newer keys with letters carry no public formula.
fn fr(body: &str) -> bool {
    let (Some(key), Some(siren)) = (body.get(..2), body.get(2..)) else {
        return false;
    };
    let Some(d) = digits_of(siren, 9) else {
        return false;
    };
    if !super::checksum::luhn(siren) {
        return false;
    }
    match key.parse::<u64>() {
        Ok(k) => (12 + 3 * (number(&d) % 97)) % 97 == k,
        Err(_) => key.bytes().all(|c| c.is_ascii_alphanumeric()) && !key.contains(['O', 'I']),
    }
}

/// United Kingdom: 9 digits (12 with a branch): weights 8…2 on the first seven, plus the
/// two-digit check, mod 97 is 0 (or, for numbers from 100 0000 00, 42 or 55: the series
/// issued since 2010).
fn gb(body: &str) -> bool {
    let body = if body.len() == 12 {
        body.get(..9).unwrap_or_default()
    } else {
        body
    };
    let Some(d) = digits_of(body, 9) else {
        return false;
    };
    let check = d.iter().skip(7).fold(0, |n, &x| n * 10 + x);
    let total = (weighted(&d, &[8, 7, 6, 5, 4, 3, 2]) + check) % 97;
    let restarted = d.first() == Some(&0);
    d.iter().any(|&x| x != 0) && (total == 0 || (!restarted && matches!(total, 42 | 55)))
}

/// Italy (partita IVA): 11 digits, Luhn, the company part not all zeros, the office code
/// (digits 8–10) 001–100, 120, 121, 888 or 999.
fn it(body: &str) -> bool {
    let Some(d) = digits_of(body, 11) else {
        return false;
    };
    let office = d.iter().skip(7).take(3).fold(0, |n, &x| n * 10 + x);
    d.iter().take(7).any(|&x| x != 0)
        && matches!(office, 1..=100 | 120 | 121 | 888 | 999)
        && super::checksum::luhn(body)
}

/// Netherlands (btw-id): 9 digits, `B`, 2 digits. The 9 digits pass the elfproef (weights
/// 9…2, the ninth the remainder), or, for the numbers of sole traders since 2020, the whole
/// with its `NL` passes ISO 7064 MOD 97-10.
fn nl(body: &str) -> bool {
    let b = body.as_bytes();
    if b.len() != 12 || b.get(9) != Some(&b'B') {
        return false;
    }
    let (Some(d), Some(_)) = (
        body.get(..9).and_then(|m| digits_of(m, 9)),
        body.get(10..).and_then(|m| digits_of(m, 2)),
    ) else {
        return false;
    };
    let (head, last) = d.split_at(8);
    let elf = weighted(head, &[9, 8, 7, 6, 5, 4, 3, 2]) % 11;
    if elf != 10 && last.first() == Some(&elf) {
        return true;
    }
    // MOD 97-10 over "NL" + body, letters as 10…35.
    let mut rem = 0u64;
    for c in "NL".bytes().chain(body.bytes()) {
        let v = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'A'..=b'Z' => u64::from(c - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// Poland (NIP): 10 digits, weights 6 5 7 2 3 4 5 6 7 mod 11 give the last.
fn pl(body: &str) -> bool {
    digits_of(body, 10).is_some_and(|d| {
        let (head, last) = d.split_at(9);
        let c = weighted(head, &[6, 5, 7, 2, 3, 4, 5, 6, 7]) % 11;
        c != 10 && last.first() == Some(&c)
    })
}

/// Portugal (NIF): 9 digits, the first not 0 or 4, weights 9…2, the last 11 minus the
/// remainder (0 for 10 and 11).
pub(crate) fn pt(body: &str) -> bool {
    digits_of(body, 9).is_some_and(|d| {
        let (head, last) = d.split_at(8);
        let c = (11 - weighted(head, &[9, 8, 7, 6, 5, 4, 3, 2]) % 11) % 11 % 10;
        !matches!(d.first(), Some(0 | 4)) && last.first() == Some(&c)
    })
}

/// Sweden (momsregistreringsnummer): the 10-digit organisation or personal number (Luhn)
/// and `01`.
fn se(body: &str) -> bool {
    body.len() == 12
        && body.ends_with("01")
        && body
            .get(..10)
            .is_some_and(|n| digits_of(n, 10).is_some() && super::checksum::luhn(n))
}

/// India GSTIN: a state code 01–38, the holder's PAN, an entity digit or letter, `Z` (or
/// another letter), and a check character: the characters' values (0–9, A–Z = 10–35) with
/// weights 1 2 1 2 …, each product's quotient and remainder by 36 added, the check making the
/// sum a multiple of 36.
pub(crate) fn in_gstin(value: &str) -> bool {
    let Some(s) = compact(value) else {
        return false;
    };
    let b = s.as_bytes();
    if b.len() != 15 {
        return false;
    }
    let state = s.get(..2).and_then(|st| st.parse::<u32>().ok());
    if !state.is_some_and(|st| (1..=38).contains(&st) || st == 97)
        || !s.get(2..12).is_some_and(super::national::in_pan)
    {
        return false;
    }
    let value_of = |c: u8| match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    };
    let mut sum = 0;
    for (i, &c) in b.iter().take(14).enumerate() {
        let Some(v) = value_of(c) else {
            return false;
        };
        let p = v * if i % 2 == 0 { 1 } else { 2 };
        sum += p / 36 + p % 36;
    }
    let check = (36 - sum % 36) % 36;
    b.get(14).copied().and_then(value_of) == Some(check)
}

/// Czechia (DIČ): a company's 8 digits, weights 8…2 on the first seven, the check 11 minus the
/// remainder (10 → 0, 11 → 1); a person's 10-digit birth number, a multiple of 11.
fn cz(body: &str) -> bool {
    if let Some(d) = digits_of(body, 8) {
        let (head, last) = d.split_at(7);
        let c = match 11 - weighted(head, &[8, 7, 6, 5, 4, 3, 2]) % 11 {
            10 => 0,
            11 => 1,
            c => c,
        };
        return d.first() != Some(&9) && last.first() == Some(&c);
    }
    digits_of(body, 10).is_some_and(|d| number(&d).is_multiple_of(11))
}

/// Estonia (KMKR): 9 digits starting 10, weights 3 7 1 3 7 1 3 7, the check making the sum a
/// multiple of 10.
fn ee(body: &str) -> bool {
    digits_of(body, 9).is_some_and(|d| {
        let (head, last) = d.split_at(8);
        let c = (10 - weighted(head, &[3, 7, 1, 3, 7, 1, 3, 7]) % 10) % 10;
        body.starts_with("10") && last.first() == Some(&c)
    })
}

/// Greece (ΑΦΜ, prefix EL): 9 digits, weights 256 128 … 2 on the first eight, mod 11 mod 10.
fn el(body: &str) -> bool {
    digits_of(body, 9).is_some_and(|d| {
        let (head, last) = d.split_at(8);
        let c = weighted(head, &[256, 128, 64, 32, 16, 8, 4, 2]) % 11 % 10;
        last.first() == Some(&c)
    })
}

/// Croatia (OIB): 11 digits, the last the ISO 7064 MOD 11,10 check of the first ten.
fn hr(body: &str) -> bool {
    digits_of(body, 11).is_some_and(|d| {
        let (head, last) = d.split_at(10);
        last.first() == Some(&iso7064_mod11_10(head))
    })
}

/// Hungary: 8 digits, weights 9 7 3 1 9 7 3 1, a multiple of 10.
fn hu(body: &str) -> bool {
    digits_of(body, 8).is_some_and(|d| weighted(&d, &[9, 7, 3, 1, 9, 7, 3, 1]).is_multiple_of(10))
}

/// Ireland: the new form, seven digits and one or two letters, checked as a PPS number.
fn ie(body: &str) -> bool {
    super::national::ie_ppsn(body)
}

/// Luxembourg: 8 digits, the first six mod 89 give the last two.
fn lu(body: &str) -> bool {
    digits_of(body, 8).is_some_and(|d| {
        let (head, last) = d.split_at(6);
        number(head) % 89 == number(last)
    })
}

/// Malta: 8 digits, the first not 0, weights 3 4 6 7 8 9 on the first six plus the last two
/// a multiple of 37.
fn mt(body: &str) -> bool {
    digits_of(body, 8).is_some_and(|d| {
        let (head, last) = d.split_at(6);
        d.first() != Some(&0)
            && (u64::from(weighted(head, &[3, 4, 6, 7, 8, 9])) + number(last)).is_multiple_of(37)
    })
}

/// Romania (CIF): 2 to 10 digits, weights 7 5 3 2 1 7 5 3 2 aligned right on all but the
/// last, the check ten times the sum mod 11 mod 10.
fn ro(body: &str) -> bool {
    let Some(d) = (2..=10).find_map(|n| digits_of(body, n)) else {
        return false;
    };
    let (head, last) = d.split_at(d.len() - 1);
    let weights = [7, 5, 3, 2, 1, 7, 5, 3, 2];
    let w = weights
        .get(weights.len() - head.len()..)
        .unwrap_or_default();
    let c = weighted(head, w) * 10 % 11 % 10;
    d.first() != Some(&0) && last.first() == Some(&c)
}

/// Slovenia (ID za DDV): 8 digits, the first not 0, weights 8…2 on the first seven, the check
/// 11 minus the remainder (10 → 0; 11 is never issued).
fn si(body: &str) -> bool {
    digits_of(body, 8).is_some_and(|d| {
        let (head, last) = d.split_at(7);
        let c = match 11 - weighted(head, &[8, 7, 6, 5, 4, 3, 2]) % 11 {
            10 => Some(0),
            11 => None,
            c => Some(c),
        };
        d.first() != Some(&0) && c.is_some_and(|c| last.first() == Some(&c))
    })
}

/// Slovakia (IČ DPH): 10 digits, the first not 0, the third 2, 3, 4, 7, 8 or 9, the number a
/// multiple of 11.
fn sk(body: &str) -> bool {
    digits_of(body, 10).is_some_and(|d| {
        d.first() != Some(&0)
            && matches!(d.get(2), Some(2 | 3 | 4 | 7 | 8 | 9))
            && number(&d).is_multiple_of(11)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Valid numbers computed with the published algorithms (checked with python-stdnum), and
    // the same with one digit changed.
    #[test]
    fn each_country_checks_its_digits() {
        let cases: &[(&str, &str)] = &[
            ("ATU13585627", "ATU13585628"),
            ("BE 0403.019.261", "BE 0403.019.262"),
            ("DE136695976", "DE136695977"),
            ("DK 13585628", "DK 13585627"),
            ("ESA13585625", "ESA13585626"),
            ("ES 54362315K", "ES 54362315L"),
            ("FI 20774740", "FI 20774741"),
            ("FR 40 303 265 045", "FR 41 303 265 045"),
            ("GB 378 4792 49", "GB 378 4792 48"),
            ("IT 00743110157", "IT 00743110158"),
            ("NL004495445B01", "NL004495446B01"),
            ("PL 8567346215", "PL 8567346216"),
            ("PT 501964843", "PT 501964844"),
            ("SE 123456789701", "SE 123456789801"),
            ("CZ24262129", "CZ24262128"),
            ("EE102040560", "EE102040561"),
            ("EL865690702", "EL865690703"),
            ("HR06749657713", "HR06749657714"),
            ("HU79012603", "HU79012604"),
            ("IE1234567T", "IE1234567W"),
            ("LU90834410", "LU90834411"),
            ("MT14978838", "MT14978839"),
            ("RO19134658", "RO19134659"),
            ("SI57132283", "SI57132284"),
            ("SK2034136687", "SK2034136688"),
        ];
        for (good, bad) in cases {
            assert!(vat(good), "{good} should pass");
            assert!(!vat(bad), "{bad} should fail");
        }
        assert!(!vat("XX123456789"));
        assert!(!vat("DE"));
    }

    #[test]
    fn bare_forms_and_gstin() {
        assert!(vat_it("00743110157"));
        assert!(vat_pl("856-734-62-15"));
        assert!(!vat_pl("856-734-62-16"));
        assert!(es_cif("A-13585625"));
        assert!(!es_cif("A-13585626"));
        assert!(vat_de("136 695 976"));
        assert!(in_gstin("27AAPFU0939F1ZV"));
        assert!(!in_gstin("27AAPFU0939F1ZW"));
        assert!(!in_gstin("99AAPFU0939F1ZV"));
    }
}
