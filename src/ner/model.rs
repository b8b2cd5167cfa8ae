//! The token-classification model: ONNX Runtime sessions, the WordPiece tokenizer, and the
//! word-level tags they produce for one window of text.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use tokenizers::Tokenizer;

use crate::error::{Error, ErrorKind, Result};
use crate::redact::Span;

use super::decode::{Piece, TaggedWord};

/// The longest token sequence the model takes, `[CLS]` and `[SEP]` included.
pub(crate) const MAX_TOKENS: usize = 512;

/// Where the tagger's files are. Built by [`NerAssets::discover`] or [`NerAssets::in_dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NerAssets {
    /// The ONNX Runtime shared library.
    pub runtime: PathBuf,
    /// The ONNX model (token classification, BIO labels).
    pub model: PathBuf,
    /// The tokenizer (`tokenizer.json`).
    pub tokenizer: PathBuf,
    /// The model's `config.json`, whose `id2label` names the labels.
    pub config: PathBuf,
    /// The gazetteer folder (`geonames/`, `names/`).
    pub gazetteers: PathBuf,
}

impl NerAssets {
    /// The standard layout under an assets folder, as `scripts/fetch-assets` writes it: the
    /// int8 model, its tokenizer and config, the runtime library, the gazetteers.
    pub fn in_dir(dir: &Path) -> NerAssets {
        let rampart = dir.join("ner").join("rampart");
        NerAssets {
            runtime: dir.join("onnxruntime").join("libonnxruntime.so"),
            model: rampart.join("model_int8.onnx"),
            tokenizer: rampart.join("tokenizer.json"),
            config: rampart.join("config.json"),
            gazetteers: dir.join("gazetteers"),
        }
    }

    /// The standard layout under [`assets_dir`](crate::assets::assets_dir).
    pub fn discover() -> NerAssets {
        NerAssets::in_dir(&crate::assets::assets_dir())
    }

    /// Checks that every file is there, naming the first one missing and the fetch command.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Asset`] for the first missing file.
    pub fn check(&self) -> Result<()> {
        crate::assets::check_files(&[
            ("the ONNX Runtime library", &self.runtime),
            ("the NER model", &self.model),
            ("the NER tokenizer", &self.tokenizer),
            ("the NER model config", &self.config),
        ])?;
        if !self.gazetteers.is_dir() {
            return Err(crate::assets::missing(
                "the gazetteer folder",
                &self.gazetteers,
            ));
        }
        Ok(())
    }
}

/// What one label id means: a piece type and whether it begins an entity (`B-`).
#[derive(Debug, Clone, Copy)]
struct Label {
    piece: Option<Piece>,
    begin: bool,
}

/// Reads `id2label` from the model's config and maps each label to a piece.
fn read_labels(path: &Path) -> Result<Vec<Label>> {
    #[derive(serde::Deserialize)]
    struct Config {
        id2label: std::collections::BTreeMap<String, String>,
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let config: Config = serde_json::from_str(&text).map_err(|e| {
        Error::new(
            ErrorKind::Model,
            format!("{}: not a model config with id2label", path.display()),
        )
        .with_source(e)
    })?;
    let mut labels = vec![
        Label {
            piece: None,
            begin: false
        };
        config.id2label.len()
    ];
    for (id, name) in &config.id2label {
        let bad = || {
            Error::new(
                ErrorKind::Model,
                format!(
                    "{}: label `{id}` = `{name}` is not understood",
                    path.display()
                ),
            )
        };
        let index: usize = id.parse().map_err(|_| bad())?;
        let slot = labels.get_mut(index).ok_or_else(bad)?;
        if name == "O" {
            continue;
        }
        let (bio, kind) = name.split_once('-').ok_or_else(bad)?;
        *slot = Label {
            // Labels this crate has no use for are read as outside (`O`).
            piece: Piece::from_model_label(kind),
            begin: match bio {
                "B" => true,
                "I" => false,
                _ => return Err(bad()),
            },
        };
    }
    Ok(labels)
}

/// ONNX Runtime sessions, one per concurrent caller, each running on one thread.
///
/// `Session::run` needs exclusive access, so callers check a session out of the pool. Sessions
/// are made on demand up to `max`; a caller beyond that waits for one to come back.
struct Pool {
    state: Mutex<PoolState>,
    returned: Condvar,
    max: usize,
}

struct PoolState {
    idle: Vec<Session>,
    created: usize,
}

/// A session checked out of the pool; goes back on drop.
struct Lease<'p> {
    pool: &'p Pool,
    session: Option<Session>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let mut state = self.pool.state.lock().unwrap_or_else(|e| e.into_inner());
            state.idle.push(s);
            self.pool.returned.notify_one();
        }
    }
}

/// The loaded tagger: tokenizer, labels, and a pool of sessions over the same model bytes.
pub(crate) struct Tagger {
    env: ort::environment::Environment,
    model: Vec<u8>,
    tokenizer: Tokenizer,
    labels: Vec<Label>,
    pool: Pool,
}

impl fmt::Debug for Tagger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tagger")
            .field("labels", &self.labels.len())
            .field("max_sessions", &self.pool.max)
            .finish_non_exhaustive()
    }
}

fn model_error(what: &str, e: impl fmt::Display) -> Error {
    // ONNX Runtime and tokenizer messages describe shapes and files, never the input text.
    Error::new(ErrorKind::Model, format!("{what}: {e}"))
}

impl Tagger {
    pub(crate) fn load(assets: &NerAssets, max_sessions: usize) -> Result<Tagger> {
        assets.check()?;
        let env = crate::runtime::environment(&assets.runtime)?;
        let model = std::fs::read(&assets.model).map_err(|e| Error::io(&assets.model, e))?;
        let mut tokenizer = Tokenizer::from_file(&assets.tokenizer)
            .map_err(|e| model_error(&format!("cannot read {}", assets.tokenizer.display()), e))?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| model_error("cannot configure the tokenizer", e))?;
        tokenizer.with_padding(None);
        let labels = read_labels(&assets.config)?;
        let tagger = Tagger {
            env,
            model,
            tokenizer,
            labels,
            pool: Pool {
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    created: 0,
                }),
                returned: Condvar::new(),
                max: max_sessions.max(1),
            },
        };
        // One session now, so a model the runtime cannot load fails here and not on a prompt.
        let first = tagger.new_session()?;
        let mut state = tagger.pool.state.lock().unwrap_or_else(|e| e.into_inner());
        state.idle.push(first);
        state.created = 1;
        drop(state);
        Ok(tagger)
    }

    fn new_session(&self) -> Result<Session> {
        let fail = |e: ort::Error<_>| model_error("cannot configure an ONNX Runtime session", e);
        Session::builder(&self.env)
            .map_err(|e| model_error("cannot create an ONNX Runtime session", e))?
            .with_intra_threads(1)
            .map_err(fail)?
            .with_inter_threads(1)
            .map_err(fail)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(fail)?
            .commit_from_memory(&self.model)
            .map_err(|e| model_error("ONNX Runtime cannot load the NER model", e))
    }

    fn lease(&self) -> Result<Lease<'_>> {
        let mut state = self.pool.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(s) = state.idle.pop() {
                return Ok(Lease {
                    pool: &self.pool,
                    session: Some(s),
                });
            }
            if state.created < self.pool.max {
                state.created += 1;
                drop(state);
                return match self.new_session() {
                    Ok(s) => Ok(Lease {
                        pool: &self.pool,
                        session: Some(s),
                    }),
                    Err(e) => {
                        let mut state = self.pool.state.lock().unwrap_or_else(|e| e.into_inner());
                        state.created -= 1;
                        self.pool.returned.notify_one();
                        Err(e)
                    }
                };
            }
            state = self
                .pool
                .returned
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Tags the words of `text` (one window, at most [`MAX_TOKENS`] tokens once encoded) and
    /// pushes those the model gives an entity label with at least `floor` probability. Spans
    /// are shifted by `base`, the window's offset in the whole text. Returns `false`, having
    /// run nothing, when the window encodes to more than [`MAX_TOKENS`] tokens.
    pub(crate) fn tag(
        &self,
        text: &str,
        base: usize,
        floor: f32,
        out: &mut Vec<TaggedWord>,
    ) -> Result<bool> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| model_error("tokenizer failed", e))?;
        let n = enc.len();
        if n > MAX_TOKENS {
            return Ok(false);
        }
        let ids: Vec<i64> = enc.get_ids().iter().map(|&i| i64::from(i)).collect();
        let mask = vec![1_i64; n];
        let types = vec![0_i64; n];
        let tensor = |v: Vec<i64>| {
            Tensor::from_array(([1_usize, n], v)).map_err(|e| model_error("cannot build input", e))
        };
        let inputs = ort::inputs![
            "input_ids" => tensor(ids)?,
            "attention_mask" => tensor(mask)?,
            "token_type_ids" => tensor(types)?,
        ];
        let mut lease = self.lease()?;
        let Some(session) = lease.session.as_mut() else {
            return Err(model_error("session pool", "no session"));
        };
        let outputs = session
            .run(inputs)
            .map_err(|e| model_error("NER inference failed", e))?;
        let (shape, logits) = outputs
            .get("logits")
            .ok_or_else(|| model_error("NER output", "the model has no `logits` output"))?
            .try_extract_tensor::<f32>()
            .map_err(|e| model_error("NER output", e))?;
        let classes = self.labels.len();
        let dims: &[i64] = shape;
        if dims != [1, n as i64, classes as i64] {
            return Err(model_error(
                "NER output",
                format!("unexpected logits shape {shape:?} for {n} tokens and {classes} labels"),
            ));
        }
        let words = enc.get_word_ids();
        let offsets = enc.get_offsets();
        let mut probs = vec![0.0_f32; classes];
        let mut sum = vec![0.0_f32; classes];
        let mut t = 0;
        while t < n {
            let Some(word) = words.get(t).copied().flatten() else {
                t += 1;
                continue;
            };
            // The tokens of one word: consecutive tokens with the same word id.
            let first = t;
            sum.iter_mut().for_each(|s| *s = 0.0);
            while t < n && words.get(t).copied().flatten() == Some(word) {
                let row = logits.get(t * classes..(t + 1) * classes).unwrap_or(&[]);
                softmax(row, &mut probs);
                sum.iter_mut().zip(&probs).for_each(|(s, p)| *s += p);
                t += 1;
            }
            let count = (t - first) as f32;
            let (Some(&(start, _)), Some(&(_, end))) = (offsets.get(first), offsets.get(t - 1))
            else {
                continue;
            };
            if let Some(tagged) = self.word_tag(&sum, count, floor) {
                out.push(TaggedWord {
                    span: Span::new(base + start, base + end),
                    ..tagged
                });
            }
        }
        Ok(true)
    }

    /// The word's best entity label from its summed token probabilities, if any reaches `floor`.
    fn word_tag(&self, sum: &[f32], count: f32, floor: f32) -> Option<TaggedWord> {
        // Probability of each piece type: its B and I labels together, averaged over tokens.
        let mut best: Option<(Piece, f32, f32)> = None; // piece, p(type), p(B)
        let mut per_piece = [(0.0_f32, 0.0_f32); Piece::COUNT];
        for (label, p) in self.labels.iter().zip(sum) {
            if let Some(piece) = label.piece
                && let Some(slot) = per_piece.get_mut(piece as usize)
            {
                slot.0 += p / count;
                if label.begin {
                    slot.1 += p / count;
                }
            }
        }
        for piece in Piece::ALL {
            let (p, b) = per_piece.get(piece as usize).copied().unwrap_or_default();
            if best.is_none_or(|(_, bp, _)| p > bp) {
                best = Some((piece, p, b));
            }
        }
        let (piece, p, b) = best?;
        (p >= floor).then_some(TaggedWord {
            span: Span::new(0, 0),
            piece,
            begin: b * 2.0 >= p,
            score: p,
        })
    }
}

fn softmax(row: &[f32], out: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0;
    for (o, &x) in out.iter_mut().zip(row) {
        *o = (x - max).exp();
        total += *o;
    }
    if total > 0.0 {
        out.iter_mut().for_each(|o| *o /= total);
    }
}
