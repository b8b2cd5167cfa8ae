//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// The `.toml` files of a fixture directory (relative to the crate root), sorted.
#[allow(dead_code)] // Not every test crate reads fixtures.
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
#[allow(dead_code)] // Used by the model tests only.
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
#[allow(dead_code)] // Used by the tests that start a server from the assets.
pub(crate) fn assets() -> PathBuf {
    std::env::var_os("PROMPTVEIL_ASSETS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("assets"),
        PathBuf::from,
    )
}
