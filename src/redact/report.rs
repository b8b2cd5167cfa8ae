//! The redaction report: what was found and replaced, without the values themselves.

use std::collections::BTreeMap;
use std::fmt;

use hmac::{KeyInit, Mac};
use serde::Serialize;
use zeroize::Zeroizing;

use super::finding::{Action, EntityType, RuleId, Span};
use crate::error::{Error, Result};
use crate::sensitivity::Sensitivity;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The secret key of the keyed hashes in reports and audit events (HMAC-SHA256).
///
/// With the same key, the same value always hashes the same, so a reviewer can tell that two
/// requests carried the same card number without seeing it; without the key, a hash cannot be
/// reversed by trying every phone number. Use one key per deployment, kept like any other
/// secret. The default key is random per process: hashes then correlate within a process only.
///
/// `Debug` never shows the key.
#[derive(Clone)]
pub struct HashKey {
    /// The MAC with the key already absorbed: cloning it skips two compressions per hash.
    keyed: HmacSha256,
    // Kept only to be wiped on drop; the MAC state above holds key-derived pads.
    _key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashKey(..)")
    }
}

impl HashKey {
    /// Shortest accepted key, in bytes.
    pub const MIN_LEN: usize = 16;

    /// A key from bytes (at least [`HashKey::MIN_LEN`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the key is too short.
    ///
    /// # Examples
    ///
    /// ```
    /// use promptveil::redact::HashKey;
    /// assert!(HashKey::from_bytes(b"a deployment secret, 32 bytes...").is_ok());
    /// assert!(HashKey::from_bytes(b"short").is_err());
    /// ```
    pub fn from_bytes(key: &[u8]) -> Result<HashKey> {
        if key.len() < Self::MIN_LEN {
            return Err(Error::config(format!(
                "hash key is {} bytes; at least {} are required",
                key.len(),
                Self::MIN_LEN
            )));
        }
        HashKey::new(Zeroizing::new(key.to_vec()))
    }

    fn new(key: Zeroizing<Vec<u8>>) -> Result<HashKey> {
        let keyed = <HmacSha256 as KeyInit>::new_from_slice(&key)
            .map_err(|_| Error::config("hash key rejected by HMAC"))?;
        Ok(HashKey { keyed, _key: key })
    }

    /// A random 32-byte key from the operating system.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the system has no randomness to give.
    pub fn random() -> Result<HashKey> {
        let mut k = Zeroizing::new(vec![0u8; 32]);
        getrandom::fill(&mut k)
            .map_err(|e| Error::config(format!("no system randomness for the hash key: {e}")))?;
        HashKey::new(k)
    }

    /// HMAC-SHA256 of `entity` and `value`, truncated to 128 bits, as 32 hex digits.
    pub fn hash(&self, entity: &EntityType, value: &str) -> String {
        let mut mac = self.keyed.clone();
        mac.update(entity.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        let bytes = mac.finalize().into_bytes();
        let mut hex = String::with_capacity(32);
        for b in bytes.iter().take(16) {
            for nibble in [b >> 4, b & 0x0f] {
                hex.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
            }
        }
        hex
    }
}

/// One replaced value, as the audit trail may keep it: never the value itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RedactionRecord {
    /// The rule that found it.
    pub rule: RuleId,
    /// Its entity type.
    pub entity: EntityType,
    /// The rule's sensitivity level.
    pub sensitivity: Sensitivity,
    /// Byte span in the input text.
    pub span: Span,
    /// Byte span of the replacement in the redacted text.
    pub output_span: Span,
    /// What replaced it.
    pub action: Action,
    /// The placeholder (`[EMAIL_1]`) or hash token (`[EMAIL:3f9a0c1d]`); `None` for `mask`
    /// and `drop`.
    pub replacement: Option<String>,
    /// Confidence after context adjustment.
    pub score: f32,
    /// Whether a validator confirmed it.
    pub validated: bool,
    /// Keyed hash of the value ([`HashKey::hash`]).
    pub value_hash: String,
}

/// Everything one redaction replaced.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RedactionReport {
    /// One record per replaced value, in text order.
    pub records: Vec<RedactionRecord>,
    /// The highest sensitivity among them; `None` when nothing was found.
    pub max_sensitivity: Option<Sensitivity>,
    /// Byte ranges of the input that a detector could not scan (its model failed there), or
    /// that the redactor could not copy safely: values in them may be left in clear. Empty
    /// for a complete redaction; see [`RedactionReport::is_complete`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unscanned: Vec<Span>,
    /// Whether every range in `unscanned` was left by a model ([`Detector::is_model`], the
    /// NER): the rules and every other detector scanned the whole text. A pipeline set to go
    /// on with the rules alone when a model fails may then continue; see
    /// [`RedactionReport::is_complete_but_for_models`].
    ///
    /// [`Detector::is_model`]: super::Detector::is_model
    #[serde(skip)]
    pub models_only_unscanned: bool,
}

impl RedactionReport {
    pub(crate) fn push(&mut self, r: RedactionRecord) {
        self.max_sensitivity = self.max_sensitivity.max(Some(r.sensitivity));
        self.records.push(r);
    }

    /// Number of replaced values.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when nothing was replaced.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// How many values of each entity type were replaced.
    pub fn entity_counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in &self.records {
            *m.entry(r.entity.to_string()).or_default() += 1;
        }
        m
    }

    /// True when every detector scanned the whole text and every finding was replaced. An
    /// incomplete report means values may have been left in clear: the pipeline refuses such
    /// a request (fail closed), and a caller using the redactor directly should too.
    pub fn is_complete(&self) -> bool {
        self.unscanned.is_empty()
    }

    /// True when the rules and every detector that is not a model scanned the whole text
    /// and every finding was replaced: only a model (the NER) may have failed on part of it.
    pub fn is_complete_but_for_models(&self) -> bool {
        self.unscanned.is_empty() || self.models_only_unscanned
    }

    /// Appends another report's records (for example, a retrieved passage's). Its unscanned
    /// ranges are kept too: they refer to the other text, and only say that it was
    /// incomplete.
    pub fn merge(&mut self, other: RedactionReport) {
        self.models_only_unscanned =
            self.is_complete_but_for_models() && other.is_complete_but_for_models();
        for r in other.records {
            self.push(r);
        }
        self.unscanned.extend(other.unscanned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hash_is_stable_per_key_and_hides_the_key() {
        let e = EntityType::new("EMAIL").unwrap_or_else(|x| panic!("{x}"));
        let k1 = HashKey::from_bytes(&[7u8; 32]).unwrap_or_else(|x| panic!("{x}"));
        let k2 = HashKey::from_bytes(&[8u8; 32]).unwrap_or_else(|x| panic!("{x}"));
        assert_eq!(k1.hash(&e, "a@b.co"), k1.hash(&e, "a@b.co"));
        assert_ne!(k1.hash(&e, "a@b.co"), k2.hash(&e, "a@b.co"));
        assert_eq!(k1.hash(&e, "a@b.co").len(), 32);
        assert_eq!(format!("{k1:?}"), "HashKey(..)");
        assert!(HashKey::random().is_ok());
    }
}
