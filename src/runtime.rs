//! The one ONNX Runtime environment of the process, loaded from a library file.
//!
//! ONNX Runtime is never linked at build time nor downloaded: `ort`'s `load-dynamic` opens the
//! shared library the asset script fetched (`assets/onnxruntime/libonnxruntime.so`). ONNX
//! Runtime allows one environment per process, so every model of this crate (the NER tagger
//! now, the embedding model later) shares the one built here.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;

use crate::error::{Error, ErrorKind, Result};

/// The environment once built, and the library it was built from.
static ENVIRONMENT: Mutex<Option<(Environment, PathBuf)>> = Mutex::new(None);

/// The process's ONNX Runtime environment, loading the runtime from `library` on first use.
///
/// Later calls return the same environment whatever path they pass: a process holds one
/// runtime. A missing or unloadable library is an [`ErrorKind::Asset`] error naming the file
/// and the command that fetches it; a failed first attempt may be retried with another path.
pub(crate) fn environment(library: &Path) -> Result<Environment> {
    let mut slot = ENVIRONMENT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((env, _)) = slot.as_ref() {
        return Ok(env.clone());
    }
    if !library.is_file() {
        return Err(crate::assets::missing("the ONNX Runtime library", library));
    }
    let builder = ort::init_from(library).map_err(|e| {
        Error::new(
            ErrorKind::Asset,
            format!("cannot load the ONNX Runtime library {}", library.display()),
        )
        .with_source(e)
    })?;
    let env = builder.with_name("promptveil").build().map_err(|e| {
        Error::new(
            ErrorKind::Model,
            "cannot create the ONNX Runtime environment",
        )
        .with_source(e)
    })?;
    *slot = Some((env.clone(), library.to_path_buf()));
    Ok(env)
}

/// The value `load` makes for `key`, made once per process and cloned after: the models a
/// pipeline shares (NER, embeddings) are loaded once per assets folder. The lock is held while
/// loading, so that two threads asking at once load once.
pub(crate) fn loaded_once<A: PartialEq + Clone, T: Clone>(
    cache: &Mutex<Vec<(A, T)>>,
    key: &A,
    load: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let mut loaded = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, value)) = loaded.iter().find(|(k, _)| k == key) {
        return Ok(value.clone());
    }
    let value = load()?;
    loaded.push((key.clone(), value.clone()));
    Ok(value)
}
