//! Validators of secrets: JSON Web Tokens, credential-like values, passwords, `user:password`
//! pairs and HTTP basic credentials, and the entropy of a value.

/// Shannon entropy of `value` in bits per character.
///
/// ```text
/// assert_eq!(shannon_entropy("aaaa"), 0.0);
/// assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-9);
/// ```
pub(crate) fn shannon_entropy(value: &str) -> f64 {
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
pub(crate) fn jwt(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    let Some(header) = base64url_decode(parts.first().copied().unwrap_or_default())
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        .filter(serde_json::Value::is_object)
    else {
        return false;
    };
    match parts.as_slice() {
        // Signed (JWS): header, payload, signature (empty when unsecured).
        [_, payload, _] => !payload.is_empty() && header.get("alg").is_some(),
        // Encrypted (JWE): header, encrypted key (empty for direct encryption), IV,
        // ciphertext, tag.
        [_, _, iv, ciphertext, tag] => {
            !iv.is_empty()
                && !ciphertext.is_empty()
                && !tag.is_empty()
                && header.get("alg").is_some()
                && header.get("enc").is_some()
        }
        _ => false,
    }
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
        || bracketed_word(v)
        || call_expression(v);
    let filler = lower.contains("xxxx")
        || v.contains("****")
        || v.contains("...")
        || v.ends_with("..")
        || lower.contains("your_")
        || lower.contains("your-")
        || lower.contains("changeme")
        || lower.contains("replace_me")
        || lower.contains("replaceme")
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

/// `read_secret("db")`, `config.get(KEY)`: code that computes the value, not the value. A
/// name (letters, digits, `_`, `.`, `:`), an opening bracket, and the closing one at the end.
fn call_expression(v: &str) -> bool {
    let Some((name, rest)) = v.split_once('(') else {
        return false;
    };
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':'))
        && rest.ends_with(')')
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
pub(crate) fn token_value(value: &str) -> bool {
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
pub(crate) fn secret_value(value: &str) -> bool {
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
pub(crate) fn password_value(value: &str) -> bool {
    let lower = value
        .trim_matches(|c| c == '"' || c == '\'')
        .to_ascii_lowercase();
    !PASSWORD_STOPWORDS.contains(&lower.as_str()) && !stands_in(value)
}

/// A password given in a sentence (`the password is …`): passes `password`, six characters
/// or more, and mixes two of letters, digits and symbols — a plain word after `is` is what the
/// sentence says about the password (`incorrect`, `expired`), not the password.
pub(crate) fn password_in_prose(value: &str) -> bool {
    let kinds = [
        value.chars().any(char::is_alphabetic),
        value.chars().any(|c| c.is_ascii_digit()),
        value.chars().any(|c| !c.is_alphanumeric()),
    ];
    value.chars().count() >= 6 && kinds.iter().filter(|&&k| k).count() >= 2 && password_value(value)
}

/// Strips the quotes and braces command lines wrap around credentials.
fn unwrap_credential(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, '"' | '\'' | '{' | '}'))
}

/// A `user:password` pair as written on a command line (`curl -u`): the password part — or,
/// when it is empty, the user part, which then carries an API key — must pass `password`, be
/// at least six characters long and carry two bits of entropy per character.
pub(crate) fn credential_pair(value: &str) -> bool {
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
pub(crate) fn basic_auth(value: &str) -> bool {
    base64url_decode(value).is_some_and(|b| {
        let s = String::from_utf8_lossy(&b);
        s.contains(':') && !s.starts_with('{') && password_value(&s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwts() {
        // {"alg":"HS256","typ":"JWT"} . {"sub":"1"} . signature
        assert!(jwt(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
        ));
        assert!(!jwt("eyJzdWIiOiIxIn0.eyJzdWIiOiIxIn0.c2ln"));
        assert!(!jwt("a.b"));
        // A pretty-printed header ({\n  "alg": "RS256"\n}) and an opaque payload.
        assert!(jwt(
            "ewogICJhbGciOiAiUlMyNTYiCn0.b3BhcXVlLXBheWxvYWQ.c2lnbmF0dXJl"
        ));
        // Encrypted: {"alg":"dir","enc":"A256GCM"}, no encrypted key.
        assert!(jwt(
            "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXZpdml2aXZpdg.Y2lwaGVydGV4dA.dGFndGFndGFn"
        ));
        assert!(!jwt("eyJhbGciOiJkaXIifQ..aXY.Y2lwaGVy.dGFn")); // no enc
        assert!(!jwt("eyJhbGciOiJIUzI1NiJ9.e30")); // two parts
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
            "read_secret(\"db\")",
            "config.get(API_TOKEN)",
            "REPLACE_ME_WITH_A_TOKEN",
        ] {
            assert!(!secret_value(bad), "{bad}");
        }
        // A value with brackets is not a call because of them.
        assert!(secret_value("p#mlx97qk^b)9l!xdz@5$@mc+^s4"));
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
        assert!(password_in_prose("Kq7#plum-Vent"));
        assert!(password_in_prose("hunter22"));
        for bad in ["incorrect", "expired", "12345", "${ADMIN_PW}", "Str0n"] {
            assert!(!password_in_prose(bad), "{bad}");
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
}
