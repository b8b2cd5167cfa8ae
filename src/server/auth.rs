//! Bearer keys: several may be valid at once (rotation), compared in constant time, never
//! kept or shown in clear.

use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// Shortest key accepted: a key a person could guess is no key.
const MIN_KEY_LEN: usize = 16;

/// The keys a client may present. Only their SHA-256 digests are kept; a presented key is
/// hashed and compared with every digest in constant time, so neither the comparison's time
/// nor its length says how much of a key was right. Its `Debug` shows how many there are.
#[derive(Clone)]
pub struct ApiKeys {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("count", &self.digests.len())
            .finish()
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl ApiKeys {
    /// The keys `keys` (blank ones ignored).
    ///
    /// ```
    /// use promptveil::server::ApiKeys;
    ///
    /// let keys = ApiKeys::new(["k-3a8f0c6d9e2b4f71", "k-old-5e1d7a9c3b2f"])?;
    /// assert!(keys.accepts("k-old-5e1d7a9c3b2f"));
    /// assert!(!keys.accepts("k-3a8f0c6d9e2b4f7"));
    /// assert!(ApiKeys::new(["short"]).is_err());
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when there is none, or one is shorter
    /// than 16 characters or holds a space or a control character (the message gives its
    /// rank, never the key).
    pub fn new(keys: impl IntoIterator<Item = impl AsRef<str>>) -> Result<ApiKeys> {
        let mut digests = Vec::new();
        for (n, key) in keys.into_iter().enumerate() {
            let key = key.as_ref().trim();
            if key.is_empty() {
                continue;
            }
            if key.chars().count() < MIN_KEY_LEN
                || key.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(Error::config(format!(
                    "API key {} is shorter than {MIN_KEY_LEN} characters or holds a space",
                    n + 1
                )));
            }
            digests.push(digest(key));
        }
        if digests.is_empty() {
            return Err(Error::config("no API key given"));
        }
        Ok(ApiKeys { digests })
    }

    /// The keys in the environment variable `var`, separated by commas or white space.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the variable when it is unset
    /// or holds no valid key.
    pub fn from_env(var: &str) -> Result<ApiKeys> {
        let value = std::env::var(var)
            .map_err(|_| Error::config(format!("the environment variable {var} is not set")))?;
        ApiKeys::new(value.split(|c: char| c == ',' || c.is_whitespace()))
            .map_err(|e| Error::config(format!("{var}: {}", e.message())))
    }

    /// The keys in the file at `path`, one per line; blank lines and lines starting with `#`
    /// are skipped.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when it cannot be read;
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the file when it holds no
    /// valid key.
    pub fn from_file(path: &Path) -> Result<ApiKeys> {
        let text =
            zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?);
        ApiKeys::new(text.lines().map(str::trim).filter(|l| !l.starts_with('#')))
            .map_err(|e| Error::config(format!("{}: {}", path.display(), e.message())))
    }

    /// Whether `presented` is one of the keys (constant time in the keys' content).
    pub fn accepts(&self, presented: &str) -> bool {
        let d = digest(presented);
        let mut found = subtle::Choice::from(0);
        for k in &self.digests {
            found |= k.ct_eq(&d);
        }
        found.into()
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// Never true: a set of keys holds at least one.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

/// The key a request presents: `Authorization: Bearer KEY` (OpenAI clients) or
/// `x-api-key: KEY` (Anthropic clients).
pub(super) fn presented(headers: &axum::http::HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer.or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
}
