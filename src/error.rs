//! The crate's error type.
//!
//! promptveil reports every failure through one opaque [`Error`]. Callers branch on
//! [`Error::kind`] (a `#[non_exhaustive]` [`ErrorKind`]) or the `is_*` helpers; the source chain
//! is available through [`std::error::Error::source`]. No third-party error type appears in the
//! public API, so upgrading a dependency is never a breaking change.
//!
//! # What an error never says
//!
//! An error's `Display` and `Debug` never contain prompt text, matched values or vault contents.
//! Rule-file errors name the file, the line and column, and the rule id — rule files are
//! configuration written by reviewers, not user data.

use std::fmt;
use std::path::{Path, PathBuf};

/// A `Result` whose error is promptveil's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The broad category of an [`Error`].
///
/// New kinds may be added in minor releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A rule file or rule set is malformed: bad TOML, an unknown key, a pattern that does not
    /// compile or exceeds the size limits, an unknown validator, a duplicate rule id.
    Rules,
    /// A rule's own evidence failed: an `examples.match` text it does not detect, or an
    /// `examples.no_match` text it does.
    Evidence,
    /// A configuration value given in code is invalid (for example a hash key that is too short).
    Config,
    /// Reading or writing a file failed.
    Io,
    /// A JSON document could not be parsed or written.
    Json,
    /// A run-time asset (model, tokenizer, runtime library, data file) is missing or
    /// unreadable. The message names the file and the command that fetches it.
    Asset,
    /// A model could not be loaded or run (ONNX Runtime or tokenizer failure).
    Model,
    /// A knowledge index directory is missing, corrupt, from another program, or was built
    /// with a different embedding model than the one asked for.
    Index,
    /// A corpus cannot be indexed: no passage at all, or a JSON Lines record that is not an
    /// object with a text (the message names the file and line, never the text).
    Corpus,
    /// A request was refused before anything was sent: the routing policy approved no
    /// backend, or the egress guard found data above a backend's clearance in the payload.
    /// The source is the [`EgressRefusal`](crate::pipeline::guard::EgressRefusal) when the
    /// guard refused.
    Refused,
    /// A detector could not scan part of a text (its model failed there), so values in that
    /// part may be in clear: the redaction is incomplete and nothing is returned
    /// ([`Redactor::redact_json`](crate::redact::Redactor::redact_json)). The pipeline refuses
    /// such a request instead ([`ErrorKind::Refused`]).
    Incomplete,
    /// No approved backend answered. The source is the
    /// [`DispatchError`](crate::backend::dispatch::DispatchError) (every call made) or the
    /// [`BackendError`](crate::backend::BackendError) that cut a stream short.
    Backend,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Rules => "invalid rules",
            ErrorKind::Evidence => "rule evidence failed",
            ErrorKind::Config => "invalid configuration",
            ErrorKind::Io => "i/o error",
            ErrorKind::Json => "invalid json",
            ErrorKind::Asset => "missing asset",
            ErrorKind::Model => "model error",
            ErrorKind::Refused => "request refused",
            ErrorKind::Backend => "backend failure",
            ErrorKind::Index => "invalid index",
            ErrorKind::Corpus => "invalid corpus",
            ErrorKind::Incomplete => "redaction incomplete",
        })
    }
}

/// Where in a file an error was found: path (if known), 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    path: Option<PathBuf>,
    line: usize,
    column: usize,
}

impl Location {
    /// Builds a location from a byte offset into `source`.
    ///
    /// Offsets past the end clamp to the end; offsets inside a multi-byte character are
    /// rounded down to its start. Columns count characters, not bytes.
    pub(crate) fn from_offset(path: Option<&Path>, source: &str, offset: usize) -> Location {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = source.get(..offset).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
        Location {
            path: path.map(Path::to_path_buf),
            line,
            column,
        }
    }

    /// The file, if the source came from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// 1-based line number.
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column, counted in characters.
    pub fn column(&self) -> usize {
        self.column
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}:{}:{}", p.display(), self.line, self.column),
            None => write!(f, "<rules>:{}:{}", self.line, self.column),
        }
    }
}

/// promptveil's error: opaque, cheap to move, and free of sensitive values.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    location: Option<Location>,
    rule: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                location: None,
                rule: None,
                source: None,
            }),
        }
    }

    pub(crate) fn rules(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Rules, message)
    }

    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Config, message)
    }

    pub(crate) fn io(path: &Path, err: std::io::Error) -> Error {
        Error::new(ErrorKind::Io, format!("cannot access {}", path.display())).with_source(err)
    }

    pub(crate) fn with_location(mut self, location: Location) -> Error {
        self.inner.location = Some(location);
        self
    }

    pub(crate) fn with_rule(mut self, rule: impl Into<String>) -> Error {
        self.inner.rule = Some(rule.into());
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Where in a rule file the error was found, when it came from one.
    pub fn location(&self) -> Option<&Location> {
        self.inner.location.as_ref()
    }

    /// The id of the rule the error is about, when there is one.
    pub fn rule_id(&self) -> Option<&str> {
        self.inner.rule.as_deref()
    }

    /// The error's own message, without location or rule id.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// True for malformed rule files and rule sets.
    pub fn is_rules(&self) -> bool {
        self.inner.kind == ErrorKind::Rules
    }

    /// True when a rule's evidence (its examples) failed.
    pub fn is_evidence(&self) -> bool {
        self.inner.kind == ErrorKind::Evidence
    }

    /// True for invalid configuration given in code.
    pub fn is_config(&self) -> bool {
        self.inner.kind == ErrorKind::Config
    }

    /// True for file-system errors.
    pub fn is_io(&self) -> bool {
        self.inner.kind == ErrorKind::Io
    }

    /// True when a run-time asset (model, runtime library, data file) is missing.
    pub fn is_asset(&self) -> bool {
        self.inner.kind == ErrorKind::Asset
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.inner.location {
            write!(f, "{loc}: ")?;
        }
        if let Some(rule) = &self.inner.rule {
            write!(f, "rule `{rule}`: ")?;
        }
        f.write_str(&self.inner.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(loc) = &self.inner.location {
            d.field("location", &format_args!("{loc}"));
        }
        if let Some(rule) = &self.inner.rule {
            d.field("rule", rule);
        }
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| &**s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let src = "a = 1\nbé = 2\n";
        let loc = Location::from_offset(None, src, src.find('=').unwrap_or(0));
        assert_eq!((loc.line(), loc.column()), (1, 3));
        let second = src.rfind('=').unwrap_or(0);
        let loc = Location::from_offset(None, src, second);
        assert_eq!((loc.line(), loc.column()), (2, 4));
        // Past the end and inside a multi-byte character never panic.
        let loc = Location::from_offset(None, src, 10_000);
        assert_eq!(loc.line(), 3);
        let inside = src.find('é').unwrap_or(0) + 1;
        assert_eq!(Location::from_offset(None, src, inside).column(), 2);
    }

    #[test]
    fn display_names_location_and_rule() {
        let err = Error::rules("unknown validator `lunh`")
            .with_rule("card")
            .with_location(Location::from_offset(Some(Path::new("r.toml")), "x\ny", 2));
        assert_eq!(
            err.to_string(),
            "r.toml:2:1: rule `card`: unknown validator `lunh`"
        );
        assert!(err.is_rules());
        assert_eq!(err.rule_id(), Some("card"));
    }

    #[test]
    fn error_is_send_sync_and_small() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }
}
