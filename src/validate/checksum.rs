//! Validators with a published checksum: payment cards (Luhn and issuer ranges), IBANs
//! (mod 97), Bitcoin addresses (base58check, bech32/bech32m) and Ethereum addresses (EIP-55).

use sha2::{Digest, Sha256};

use super::digits;

/// The Luhn (mod 10) checksum over the ASCII digits of `value`, ignoring spaces and dashes.
/// Any other character fails.
pub(crate) fn luhn(value: &str) -> bool {
    // Digits, and the separators people put between groups: spaces and line breaks, hyphens,
    // dots, slashes.
    if value
        .chars()
        .any(|c| !(c.is_ascii_digit() || c.is_ascii_whitespace() || matches!(c, '-' | '.' | '/')))
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
    sum.is_multiple_of(10)
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
pub(crate) fn payment_card(value: &str) -> bool {
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

/// A Spanish domestic account number (código cuenta cliente, CCC): bank (4 digits), branch
/// (4), two check digits, account (10). The first check digit covers `00` + bank + branch, the
/// second the account, each by the weights 1, 2, 4, 8, 5, 10, 9, 7, 3, 6 modulo 11 (a result of
/// 10 is written 1, of 11 written 0). The CCC is the IBAN's Spanish BBAN.
pub(crate) fn es_ccc(value: &str) -> bool {
    if value
        .chars()
        .any(|c| !(c.is_ascii_digit() || c == ' ' || c == '-'))
    {
        return false;
    }
    let ds: Vec<u32> = digits(value).collect();
    let (Some(office), Some(&d1), Some(&d2), Some(account)) =
        (ds.get(..8), ds.get(8), ds.get(9), ds.get(10..))
    else {
        return false;
    };
    if ds.len() != 20 {
        return false;
    }
    const WEIGHTS: [u32; 10] = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6];
    let check = |digits: &[u32]| {
        let sum: u32 = WEIGHTS
            .iter()
            .skip(10 - digits.len())
            .zip(digits)
            .map(|(w, d)| w * d)
            .sum();
        match 11 - sum % 11 {
            11 => 0,
            10 => 1,
            n => n,
        }
    };
    // An account of all zeros is a placeholder, not an account.
    check(office) == d1 && check(account) == d2 && account.iter().any(|&d| d != 0)
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
pub(crate) fn iban(value: &str) -> bool {
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
pub(crate) fn btc_address(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("bc1") || lower.starts_with("tb1") {
        segwit_ok(value)
    } else {
        base58check_ok(value)
    }
}

/// An Ethereum address: `0x` and 40 hex digits; mixed-case addresses must carry a valid
/// EIP-55 checksum.
pub(crate) fn eth_address(value: &str) -> bool {
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
pub(crate) fn crypto_wallet(value: &str) -> bool {
    btc_address(value) || eth_address(value)
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
        // Groups as people write them: mixed separators, slashes, a line break.
        assert!(payment_card("4111-1111 1111.1111"));
        assert!(payment_card("4111/1111/1111/1111"));
        assert!(payment_card("41111111\n11111111"));
        assert!(!payment_card("4111_1111_1111_1111"));
    }

    #[test]
    fn spanish_domestic_accounts() {
        // Bank 2100, branch 0418, check digits 4 and 5, account 0200051332.
        assert!(es_ccc("2100 0418 45 0200051332"));
        assert!(es_ccc("21000418450200051332"));
        assert!(!es_ccc("2100 0418 46 0200051332"));
        assert!(!es_ccc("2100 0418 54 0200051332"));
        assert!(!es_ccc("0049 1500 00 0000000000")); // an account of zeros
        assert!(!es_ccc("2100 0418 45 020005133"));
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
}
