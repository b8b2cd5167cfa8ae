//! Outcomes to train a router on: prompts with the quality of a weak and a strong model's
//! answers, read from JSON Lines in the evaluation files' shape, so a team can log its own.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// One prompt with the quality of the weak and the strong model's answers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Outcome {
    /// The record's id.
    pub id: String,
    /// The prompt as the router will see it.
    pub prompt: String,
    /// The weak model's quality (0/1 correctness, or a grade).
    pub weak: f64,
    /// The strong model's quality.
    pub strong: f64,
}

impl Outcome {
    /// An outcome.
    pub fn new(id: impl Into<String>, prompt: impl Into<String>, weak: f64, strong: f64) -> Self {
        Outcome {
            id: id.into(),
            prompt: prompt.into(),
            weak,
            strong,
        }
    }
}

/// A set of outcomes for one pair of models.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OutcomeSet {
    /// Its name.
    pub name: String,
    /// Digest of its source.
    pub digest: String,
    /// The weak model.
    pub weak: String,
    /// The strong model.
    pub strong: String,
    /// The outcomes.
    pub outcomes: Vec<Outcome>,
}

#[derive(Deserialize)]
struct Record {
    id: String,
    prompt: String,
    scores: std::collections::BTreeMap<String, f64>,
}

#[derive(Deserialize)]
struct Meta {
    weak: Option<String>,
    strong: Option<String>,
}

impl OutcomeSet {
    /// A set of outcomes of `weak` and `strong`, named, with the digest of its source.
    pub fn new(
        name: impl Into<String>,
        digest: impl Into<String>,
        weak: impl Into<String>,
        strong: impl Into<String>,
        outcomes: Vec<Outcome>,
    ) -> OutcomeSet {
        OutcomeSet {
            name: name.into(),
            digest: digest.into(),
            weak: weak.into(),
            strong: strong.into(),
            outcomes,
        }
    }

    /// Reads a JSONL file of `{"id", "prompt", "scores": {model: quality}}` records. The
    /// pair is `weak` and `strong` when given, else the one `meta.json` beside the file names,
    /// else, when the records hold exactly two models, the one with the lower mean is weak.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the file cannot be read; [`ErrorKind::Config`](crate::ErrorKind::Config) naming the file
    /// and line of a record that is not one, has no score for a model of the pair, or
    /// repeats an id, and when the pair cannot be told.
    pub fn from_jsonl(path: &Path, weak: Option<&str>, strong: Option<&str>) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8_lossy(&bytes);
        let at = |line: usize, message: String| {
            Error::config(format!("{}:{line}: {message}", path.display()))
        };
        let mut records = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let r: Record = serde_json::from_str(line)
                .map_err(|e| at(i + 1, format!("not an outcome record: {e}")))?;
            records.push((i + 1, r));
        }
        let meta: Option<Meta> = path
            .parent()
            .map(|d| d.join("meta.json"))
            .and_then(|m| std::fs::read_to_string(m).ok())
            .and_then(|t| serde_json::from_str(&t).ok());
        let (weak, strong) = pair(&records, weak, strong, meta)
            .ok_or_else(|| at(0, "name the weak and the strong model".into()))?;
        let mut seen = std::collections::HashSet::new();
        let mut outcomes = Vec::with_capacity(records.len());
        for (line, r) in records {
            if !seen.insert(r.id.clone()) {
                return Err(at(line, format!("the id {:?} is repeated", r.id)));
            }
            let get = |m: &str| {
                r.scores
                    .get(m)
                    .copied()
                    .filter(|q| q.is_finite())
                    .ok_or_else(|| at(line, format!("no score for the model {m:?}")))
            };
            outcomes.push(Outcome::new(
                r.id.clone(),
                r.prompt,
                get(&weak)?,
                get(&strong)?,
            ));
        }
        let name = path
            .parent()
            .and_then(|d| d.file_name())
            .filter(|_| path.file_stem().is_some_and(|s| s == "dev" || s == "train"))
            .or_else(|| path.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(OutcomeSet {
            name,
            digest: crate::digest::of([bytes.as_slice()]),
            weak,
            strong,
            outcomes,
        })
    }
}

/// The model pair: as given, else from `meta.json`, else the two models by mean.
fn pair(
    records: &[(usize, Record)],
    weak: Option<&str>,
    strong: Option<&str>,
    meta: Option<Meta>,
) -> Option<(String, String)> {
    let (meta_weak, meta_strong) = meta.map_or((None, None), |m| (m.weak, m.strong));
    let weak = weak.map(str::to_string).or(meta_weak);
    let strong = strong.map(str::to_string).or(meta_strong);
    if let (Some(w), Some(s)) = (&weak, &strong) {
        return (w != s).then(|| (w.clone(), s.clone()));
    }
    let scores = &records.first()?.1.scores;
    let [a, b] = <[&String; 2]>::try_from(scores.keys().collect::<Vec<_>>()).ok()?;
    let mean = |m: &str| {
        records
            .iter()
            .filter_map(|(_, r)| r.scores.get(m))
            .sum::<f64>()
    };
    let (a, b) = (a.clone(), b.clone());
    Some(if mean(&a) <= mean(&b) { (a, b) } else { (b, a) })
}
