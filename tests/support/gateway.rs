//! `promptveil serve` as a child process for the gateway tests: started on a free port of
//! 127.0.0.1 with a configuration file, stopped on drop. Included by the tests that need the
//! binary (`#[path]`), which is built only with the features `cli` and `server`.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The server process, killed on drop.
pub struct Gateway {
    pub child: Child,
    /// `http://127.0.0.1:PORT/v1`
    pub base: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gateway {
    /// The server's root (`http://127.0.0.1:PORT`), for `/healthz` and the like.
    pub fn root(&self) -> &str {
        self.base.trim_end_matches("/v1")
    }
}

/// `promptveil serve --config CONFIG --listen 127.0.0.1:0`, once it says where it listens.
pub fn start(config: &Path) -> Gateway {
    start_with_env(config, &[])
}

/// The assets a server built with every feature loads (the NER model, the router's
/// embedder), fetched once when missing.
pub fn fetch_assets() {
    crate::support::fetch_assets(|| {
        promptveil::ner::NerAssets::discover().check().is_ok()
            && promptveil::index::EmbeddingAssets::discover()
                .check()
                .is_ok()
    });
}

/// [`start`] with extra environment variables (the keys).
pub fn start_with_env(config: &Path, env: &[(&str, &str)]) -> Gateway {
    fetch_assets();
    let mut child = Command::new(env!("CARGO_BIN_EXE_promptveil"))
        .args(["serve", "--config"])
        .arg(config)
        .args(["--listen", "127.0.0.1:0"])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the gateway starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the gateway says where it listens");
    let base = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Gateway { child, base }
}

/// `promptveil serve` with `config` when it must not start: its exit code and what it said.
pub fn refuses(config: &Path, listen: &str) -> (Option<i32>, String) {
    fetch_assets();
    let out = Command::new(env!("CARGO_BIN_EXE_promptveil"))
        .args(["serve", "--config"])
        .arg(config)
        .args(["--listen", listen])
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
