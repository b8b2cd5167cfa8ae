//! Helpers shared by the integration tests: fixture files, asset fetching, the loopback
//! servers, error chains.

#![allow(dead_code)] // Each test crate uses some of the helpers.

pub mod loopback;

/// A reviewer's file of one extra rule (ticket numbers), as `docs/reviewers.md` shows one.
pub(crate) const TICKET_RULES: &str = r#"version = 1
[[rule]]
id = "ticket"
entity = "TICKET"
sensitivity = "internal"
patterns = ['\bTCK-[0-9]{5}\b']
examples.match = ["see TCK-12345"]
"#;

/// [`TICKET_RULES`] in place of the default rules.
pub(crate) fn ticket_rules_only() -> String {
    TICKET_RULES.replacen("version = 1\n", "version = 1\ndefaults = \"replace\"\n", 1)
}

use std::path::{Path, PathBuf};

/// The `.toml` files of a fixture directory (relative to the crate root), sorted.
pub(crate) fn toml_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Runs `scripts/fetch-assets` once per test process when an asset is missing, so
/// `cargo test --all-features` works on a fresh clone. `present` says whether the assets a test
/// needs are already there.
pub(crate) fn fetch_assets(present: impl Fn() -> bool) {
    static FETCHED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    FETCHED.get_or_init(|| {
        if present() {
            return;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/fetch-assets");
        let status = std::process::Command::new("bash")
            .arg(script)
            .status()
            .expect("bash runs");
        assert!(status.success(), "{script} failed: {status}");
    });
}

/// The assets folder: `$PROMPTVEIL_ASSETS` or `assets/`.
pub(crate) fn assets() -> PathBuf {
    std::env::var_os("PROMPTVEIL_ASSETS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("assets"),
        PathBuf::from,
    )
}

/// An error and its sources, as a chain printer shows them: the error says what failed, its
/// sources why.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// An audit sink that keeps every event as JSON, for tests that read the trail.
#[derive(Debug, Default)]
pub(crate) struct Events(std::sync::Mutex<Vec<String>>);

impl promptveil::audit::AuditSink for Events {
    fn record(&self, _: &promptveil::audit::RequestId, event: &promptveil::audit::AuditEvent) {
        let json = serde_json::to_string(event).expect("json");
        self.0.lock().expect("lock").push(json);
    }
}

impl Events {
    /// Every event, one JSON line each.
    pub(crate) fn all(&self) -> String {
        self.0.lock().expect("lock").join("\n")
    }

    /// The events named `name` (`refused`, `degraded`).
    pub(crate) fn named(&self, name: &str) -> Vec<String> {
        let tag = format!("\"event\":\"{name}\"");
        self.0
            .lock()
            .expect("lock")
            .iter()
            .filter(|e| e.contains(&tag))
            .cloned()
            .collect()
    }

    /// The `refused` events.
    pub(crate) fn refusals(&self) -> Vec<String> {
        self.named("refused")
    }
}
