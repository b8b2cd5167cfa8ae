//! How the server runs: the `[server]` table of the pipeline's configuration file.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::auth::ApiKeys;
use crate::error::{Error, ErrorKind, Location, Result};
use crate::route::Locality;

/// How the server runs. Build one in code or read the `[server]` table of a configuration
/// file ([`ServerConfig::from_toml_file`]).
///
/// ```toml
/// [server]
/// listen = "127.0.0.1:8787"
/// api_keys_env = "PROMPTVEIL_API_KEYS"  # or api_keys_file = "keys.txt"; neither: no keys,
///                                       # allowed on a loopback address only
/// max_body_bytes = 4194304              # larger bodies: 413
/// max_concurrency = 64                  # requests answered at once; more: 429, retry-after 1
/// shutdown_grace_s = 30                 # on SIGTERM or Ctrl-C, how long in-flight requests
///                                       # may finish
/// inspect = false                       # true: each answer also carries what the model
///                                       # received (placeholders, never values)
/// inspect_external = false              # inspection is refused when a backend is external,
///                                       # unless this is true
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The keys a client must present (`Authorization: Bearer KEY` or `x-api-key: KEY`);
    /// `None`: none, which only a loopback address may serve.
    pub keys: Option<ApiKeys>,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Requests answered at once; more get 429 with `retry-after: 1`.
    pub max_concurrency: usize,
    /// How long in-flight requests may finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// Each answer also carries what the model received (placeholders, never values).
    pub inspect: bool,
    /// Inspection even though a backend is external.
    pub inspect_external: bool,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            keys: None,
            max_body_bytes: 4 << 20,
            max_concurrency: 64,
            shutdown_grace: Duration::from_secs(30),
            inspect: false,
            inspect_external: false,
        }
    }
}

#[derive(Deserialize, Default)]
struct File {
    #[serde(default)]
    server: Section,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Section {
    listen: Option<String>,
    api_keys_env: Option<String>,
    api_keys_file: Option<std::path::PathBuf>,
    max_body_bytes: Option<usize>,
    max_concurrency: Option<usize>,
    shutdown_grace_s: Option<u64>,
    #[serde(default)]
    inspect: bool,
    #[serde(default)]
    inspect_external: bool,
}

impl ServerConfig {
    /// The `[server]` table of the configuration file at `path` (the defaults for what it
    /// does not set; relative paths are relative to the file's folder).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] naming the file, line and column of a mistake; an unset key
    /// variable or an unreadable key file, named (never the keys).
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<ServerConfig> {
        let path = path.as_ref();
        let src = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        ServerConfig::from_toml_str(&src, Some(path), path.parent().unwrap_or(Path::new(".")))
    }

    /// [`from_toml_file`](Self::from_toml_file) for a text; `path` only names it in errors.
    ///
    /// ```
    /// use std::path::Path;
    /// use promptveil::server::ServerConfig;
    ///
    /// let src = "[server]\nlisten = \"127.0.0.1:9000\"\nmax_concurency = 8\n";
    /// let err = ServerConfig::from_toml_str(src, Some(Path::new("p.toml")), Path::new("."))
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("p.toml:3:1: unknown field `max_concurency`"), "{err}");
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`from_toml_file`](Self::from_toml_file).
    pub fn from_toml_str(src: &str, path: Option<&Path>, base: &Path) -> Result<ServerConfig> {
        let at = |offset: usize, message: String| {
            Error::new(ErrorKind::Config, message)
                .with_location(Location::from_offset(path, src, offset))
        };
        let file: File = toml::from_str(src).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            at(
                offset,
                e.message().trim_end_matches('\n').replace('\n', "; "),
            )
        })?;
        let s = file.server;
        let near = |key: &str| src.find(key).unwrap_or(0);
        let mut config = ServerConfig::default();
        if let Some(listen) = &s.listen {
            config.listen = listen.parse().map_err(|_| {
                at(
                    near("listen"),
                    format!("`{listen}` is not an address and port (127.0.0.1:8787)"),
                )
            })?;
        }
        config.keys = match (&s.api_keys_env, &s.api_keys_file) {
            (Some(_), Some(_)) => {
                return Err(at(
                    near("api_keys_file"),
                    "set `api_keys_env` or `api_keys_file`, not both".into(),
                ));
            }
            (Some(var), None) => Some(
                ApiKeys::from_env(var)
                    .map_err(|e| at(near("api_keys_env"), e.message().to_string()))?,
            ),
            (None, Some(file)) => {
                let file = if file.is_absolute() {
                    file.clone()
                } else {
                    base.join(file)
                };
                Some(
                    ApiKeys::from_file(&file)
                        .map_err(|e| at(near("api_keys_file"), e.message().to_string()))?,
                )
            }
            (None, None) => None,
        };
        if let Some(n) = s.max_body_bytes {
            config.max_body_bytes = n;
        }
        if let Some(n) = s.max_concurrency {
            if n == 0 {
                return Err(at(
                    near("max_concurrency"),
                    "max_concurrency must be at least 1".into(),
                ));
            }
            config.max_concurrency = n;
        }
        if let Some(secs) = s.shutdown_grace_s {
            config.shutdown_grace = Duration::from_secs(secs);
        }
        config.inspect = s.inspect;
        config.inspect_external = s.inspect_external;
        config.check()?;
        Ok(config)
    }

    /// Checks what holds whatever the backends: a server without keys listens on a loopback
    /// address only.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] saying what to change.
    pub fn check(&self) -> Result<()> {
        if self.keys.is_none() && !self.listen.ip().is_loopback() {
            return Err(Error::config(format!(
                "the server would listen on {} without keys: set `api_keys_env` or \
                 `api_keys_file` in [server], or listen on 127.0.0.1",
                self.listen
            )));
        }
        Ok(())
    }

    /// Checks the settings against the backends: inspection is refused when a backend is
    /// external, unless `inspect_external` says so.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] naming the external backend.
    pub fn check_with(&self, profiles: &[crate::route::BackendProfile]) -> Result<()> {
        self.check()?;
        if self.inspect
            && !self.inspect_external
            && let Some(p) = profiles.iter().find(|p| p.locality == Locality::External)
        {
            return Err(Error::config(format!(
                "`inspect = true` shows each client what the model received, and the \
                 backend `{}` is external: set `inspect_external = true` to allow it",
                p.name
            )));
        }
        Ok(())
    }
}
