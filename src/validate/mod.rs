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
//! | `es_ccc` | a Spanish domestic account number (CCC): 20 digits and its two mod-11 check digits |
//! | `account_number` | 8–30 digits in groups split by spaces or hyphens, not all one digit (domestic account numbers carry no public checksum: rules use it next to an account word) |
//! | `us_ssn` | area not 000, 666 or 900–999; group not 00; serial not 0000 |
//! | `ipv4`, `ipv6`, `ip` | parsed as an address (no leading zeros in IPv4 octets) |
//! | `email` | local part ≤ 64 bytes, dot rules, valid domain labels and alphabetic TLD |
//! | `phone` | 7–15 digits before any extension (8 after a trunk 0 or a `+`, 10 with `00`), not all one digit, not a numeric date or a version |
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
//! | `password_in_prose` | as `password`, six characters or more, mixing two of letters, digits and symbols (a plain word after "the password is" says something about it) |
//! | `credential_pair` | `user:password` whose secret part passes `password`, six characters or more |
//! | `basic_auth` | base64 of `user:password` (RFC 7617) |
//! | `nl_bsn` | Dutch BSN: 9 digits, the elfproef |
//! | `be_nrn` | Belgian national number: YYMMDD, serial, 97 − mod 97 (with the 2000s' leading 2) |
//! | `pl_pesel` | Polish PESEL: a real month and day (century in the month), weighted mod 10 |
//! | `se_personnummer` | Swedish personnummer or samordningsnummer (day + 60), 10 or 12 digits, Luhn |
//! | `fr_nir` | French NIR: sex, month, département (2A/2B), key 97 − mod 97 |
//! | `es_nss` | Spanish social security number: province, number, mod 97 |
//! | `es_dni` | Spanish DNI or NIE: the letter of the number mod 23 |
//! | `in_aadhaar` | Indian Aadhaar: 12 digits, first 2–9, Verhoeff |
//! | `uk_nhs` | NHS number: 10 digits, weighted mod 11 |
//! | `uk_nino` | National Insurance number: allowed prefix letters, six digits, suffix A–D |
//! | `de_steuer_id` | German tax id: digit-repetition rule, ISO 7064 MOD 11,10 |
//! | `it_codice_fiscale` | Italian codice fiscale: shape (omocodia letters allowed) and check letter |
//! | `de_kvnr` | German health insurance number: a letter, 8 digits, weighted digit-sum check |
//! | `de_svnr` | German pension insurance number: area, birth date, initial, serial, weighted check |
//! | `de_personalausweis` | German identity card serial: the card alphabet, and its ICAO check digit when written |
//! | `pl_dowod` | Polish identity card: three letters, six digits, the first a weighted check |
//! | `in_pan` | Indian PAN: the holder-type letter, digits not 0000 |
//! | `in_epic` | Indian voter id (EPIC): three letters, seven digits passing Luhn |
//! | `dk_cpr` | Danish CPR number: a real birth date (no check digit since 2007) |
//! | `fi_hetu` | Finnish HETU: birth date, century sign, individual number, mod-31 check character |
//! | `at_svnr` | Austrian social insurance number: serial, weighted mod-11 check digit, birth date |
//! | `ch_ahv` | Swiss AHV/AVS number: 756 and an EAN-13 check digit |
//! | `ie_ppsn` | Irish PPS number: seven digits, the mod-23 check letter, an optional second letter |
//! | `pt_nif` | Portuguese NIF: nine digits, weighted mod 11 |
//! | `br_cpf`, `br_cnpj` | Brazilian CPF (11 digits) and CNPJ (14 digits): two mod-11 check digits |
//! | `ca_sin` | Canadian SIN: nine digits, Luhn, not starting with 0 or 8 |
//! | `vat` | an EU, UK or Northern Ireland VAT number with its country prefix (AT BE CZ DE DK EE EL ES FI FR GB XI HR HU IE IT LU MT NL PL PT RO SE SI SK), checked by the country's rule |
//! | `vat_be`, `vat_de`, `vat_es`, `vat_fr`, `vat_gb`, `vat_it`, `vat_nl`, `vat_pl`, `vat_se` | the same country's VAT number written without its prefix (partita IVA, NIP, USt-IdNr…) |
//! | `es_cif` | Spanish CIF: organisation letter, seven digits, check digit or letter |
//! | `in_gstin` | Indian GSTIN: state code, the holder's PAN, entity code, mod-36 check character |
//!
//! The validators of numbers (`phone`, `date`, `us_ssn`, `luhn`, `payment_card`, `es_ccc`,
//! `account_number`, `ipv4`, `ip`)
//! also need their candidate to stand alone in the text: a piece of a decimal
//! number, of a code joined to letters or of a DOI is no phone number or date, whatever its
//! digits.

use std::fmt;
use std::sync::Arc;

mod checksum;
mod national;
mod network;
mod numbers;
mod secrets;
mod tlds;
mod vat;

pub(crate) use network::known_tld;
#[cfg(feature = "ner")]
pub(crate) use network::{domain, url};
#[cfg(feature = "ner")]
pub(crate) use numbers::phone;
pub(crate) use numbers::stands_alone;
pub(crate) use secrets::shannon_entropy;

/// Confirms or rejects a candidate value.
///
/// Implemented for any `Fn(&str) -> bool + Send + Sync`.
///
/// # Examples
///
/// ```
/// use promptveil::validate::Validator;
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
    /// `payment_card`, `ipv4`, `ip`): their candidates must also stand alone
    /// in the text, not be a piece of a decimal, a code or a DOI.
    pub fn wants_whole_number(&self) -> bool {
        self.whole_number
    }
}

impl fmt::Debug for NamedValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NamedValidator").field(&self.name).finish()
    }
}

/// One built-in validator: its name in rule files, its check, and whether its candidates
/// must also stand alone in their text (the validators of numbers).
struct Builtin {
    name: &'static str,
    check: fn(&str) -> bool,
    whole_number: bool,
}

/// Every built-in validator, in the order of the module docs' table.
const BUILTINS: &[Builtin] = &[
    number("luhn", checksum::luhn),
    number("payment_card", checksum::payment_card),
    text("iban", checksum::iban),
    number("es_ccc", checksum::es_ccc),
    number("account_number", numbers::account_number),
    number("us_ssn", numbers::us_ssn),
    number("ipv4", network::ipv4),
    text("ipv6", network::ipv6),
    number("ip", network::ip),
    text("email", network::email),
    number("phone", numbers::phone),
    text("mac", network::mac),
    number("date", numbers::date),
    text("domain", network::domain),
    text("url", network::url),
    text("btc_address", checksum::btc_address),
    text("eth_address", checksum::eth_address),
    text("crypto_wallet", checksum::crypto_wallet),
    text("jwt", secrets::jwt),
    text("secret", secrets::secret_value),
    text("token", secrets::token_value),
    text("password", secrets::password_value),
    text("password_in_prose", secrets::password_in_prose),
    text("credential_pair", secrets::credential_pair),
    text("basic_auth", secrets::basic_auth),
    number("nl_bsn", national::nl_bsn),
    number("be_nrn", national::be_nrn),
    number("pl_pesel", national::pl_pesel),
    number("se_personnummer", national::se_personnummer),
    number("fr_nir", national::fr_nir),
    number("es_nss", national::es_nss),
    text("es_dni", national::es_dni),
    number("in_aadhaar", national::in_aadhaar),
    number("uk_nhs", national::uk_nhs),
    text("uk_nino", national::uk_nino),
    number("de_steuer_id", national::de_steuer_id),
    text("it_codice_fiscale", national::it_codice_fiscale),
    text("de_kvnr", national::de_kvnr),
    text("de_svnr", national::de_svnr),
    text("de_personalausweis", national::de_personalausweis),
    text("pl_dowod", national::pl_dowod),
    text("in_pan", national::in_pan),
    text("in_epic", national::in_epic),
    number("dk_cpr", national::dk_cpr),
    text("fi_hetu", national::fi_hetu),
    number("at_svnr", national::at_svnr),
    number("ch_ahv", national::ch_ahv),
    text("ie_ppsn", national::ie_ppsn),
    number("pt_nif", national::pt_nif),
    number("br_cpf", national::br_cpf),
    number("br_cnpj", national::br_cnpj),
    number("ca_sin", national::ca_sin),
    text("vat", vat::vat),
    text("vat_be", vat::vat_be),
    text("vat_de", vat::vat_de),
    text("vat_es", vat::vat_es),
    text("vat_fr", vat::vat_fr),
    text("vat_gb", vat::vat_gb),
    number("vat_it", vat::vat_it),
    text("vat_nl", vat::vat_nl),
    text("vat_pl", vat::vat_pl),
    text("vat_se", vat::vat_se),
    text("es_cif", vat::es_cif),
    text("in_gstin", vat::in_gstin),
];

const fn number(name: &'static str, check: fn(&str) -> bool) -> Builtin {
    Builtin {
        name,
        check,
        whole_number: true,
    }
}

const fn text(name: &'static str, check: fn(&str) -> bool) -> Builtin {
    Builtin {
        name,
        check,
        whole_number: false,
    }
}

/// The built-in validator called `name` in rule files, if there is one.
///
/// ```
/// use promptveil::validate::builtin;
///
/// let luhn = builtin("luhn").expect("a built-in validator");
/// assert!(luhn.validate("4111 1111 1111 1111"));
/// assert!(luhn.wants_whole_number());
/// assert!(builtin("nope").is_none());
/// ```
pub fn builtin(name: &str) -> Option<NamedValidator> {
    let b = BUILTINS.iter().find(|b| b.name == name)?;
    let mut validator = NamedValidator::new(b.name, b.check);
    validator.whole_number = b.whole_number;
    Some(validator)
}

/// The names of all built-in validators, in the order of the module docs' table.
///
/// ```
/// assert!(promptveil::validate::builtin_names().any(|n| n == "iban"));
/// ```
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.name)
}

pub(crate) fn digits(value: &str) -> impl Iterator<Item = u32> + '_ {
    value.chars().filter_map(|c| c.to_digit(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_name_resolves() {
        // Each is in the module docs' table.
        let docs = include_str!("mod.rs");
        for name in builtin_names() {
            assert!(builtin(name).is_some(), "{name}");
            assert!(
                docs.contains(&format!("//! | `{name}`")) || docs.contains(&format!(", `{name}`")),
                "{name}"
            );
        }
        assert_eq!(builtin_names().count(), 64);
        assert!(builtin("nope").is_none());
    }
}
