//! Sensitivity levels, the ordered scale every rule and entity type is placed on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// How sensitive a kind of data is, from `Public` to `Restricted`.
///
/// The levels are ordered: `Public < Internal < Confidential < Restricted`. Every rule sets one;
/// a redaction report knows the highest level it found, and routing policies compare it with a
/// backend's clearance.
///
/// # Examples
///
/// ```
/// use promptveil::Sensitivity;
///
/// assert!(Sensitivity::Restricted > Sensitivity::Confidential);
/// assert_eq!("internal".parse::<Sensitivity>().unwrap(), Sensitivity::Internal);
/// assert_eq!(Sensitivity::Public.to_string(), "public");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sensitivity {
    /// Safe to publish.
    Public,
    /// Internal to the organisation: hostnames, internal URLs, dates.
    Internal,
    /// Personal data: email addresses, phone numbers, names.
    Confidential,
    /// Data whose disclosure causes direct harm: payment cards, national ids, credentials.
    Restricted,
}

impl Sensitivity {
    /// All levels, lowest first.
    pub const ALL: [Sensitivity; 4] = [
        Sensitivity::Public,
        Sensitivity::Internal,
        Sensitivity::Confidential,
        Sensitivity::Restricted,
    ];

    /// The lowercase name used in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Public => "public",
            Sensitivity::Internal => "internal",
            Sensitivity::Confidential => "confidential",
            Sensitivity::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Sensitivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Sensitivity {
    type Err = Error;

    /// Parses `public`, `internal`, `confidential` or `restricted`.
    ///
    /// # Errors
    ///
    /// Any other string gives an error of kind [`Config`](crate::ErrorKind::Config).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sensitivity::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                Error::config(format!(
                    "unknown sensitivity `{s}` (expected public, internal, confidential or restricted)"
                ))
            })
    }
}
