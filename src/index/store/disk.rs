//! The index folder on disk: passages written into tantivy, the manifest, vectors reused
//! across rebuilds, and the checks that keep a build from replacing what is not an index.

use std::path::Path;

use serde::Serialize;
use tantivy::{Index, TantivyDocument};

use std::collections::HashSet;

#[cfg(feature = "embeddings")]
use super::KnowledgeIndex;
use super::{EmbeddingInfo, FORMAT, Fields, MANIFEST, Manifest, WRITER_BYTES, index_error};
use crate::error::{Error, ErrorKind, Result};
use crate::index::Passage;

/// What the embedding model reads of a passage.
#[cfg(feature = "embeddings")]
pub(super) fn embedded_text(p: &Passage) -> String {
    format!("{}\n{}", p.title, p.text)
}

/// A 128-bit digest of a text, for matching unchanged passages within one build.
#[cfg(feature = "embeddings")]
pub(super) fn digest(text: &str) -> (u64, u64) {
    use std::hash::{Hash, Hasher};
    let mut a = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut a);
    let mut b = std::collections::hash_map::DefaultHasher::new();
    (text.len(), "promptveil").hash(&mut b);
    text.hash(&mut b);
    (a.finish(), b.finish())
}

/// Copies into `data` the vectors an existing index at `dir`, built with `model`, holds for
/// the same texts; returns which rows were filled. Anything short of a readable index with
/// vectors of that model reuses nothing (the build then embeds everything).
#[cfg(feature = "embeddings")]
pub(super) fn reuse_vectors(
    dir: &Path,
    model: &EmbeddingInfo,
    texts: &[String],
    data: &mut [f32],
) -> Vec<bool> {
    let mut filled = vec![false; texts.len()];
    let Some(old) = KnowledgeIndex::open(dir)
        .ok()
        .filter(|old| old.manifest.embedding.as_ref() == Some(model))
    else {
        return filled;
    };
    let mut rows = std::collections::HashMap::with_capacity(old.len());
    for (ord, passage) in old.passages().enumerate() {
        let Ok(passage) = passage else {
            return vec![false; texts.len()];
        };
        rows.entry(digest(&embedded_text(&passage))).or_insert(ord);
    }
    let dims = model.dims;
    for (i, text) in texts.iter().enumerate() {
        let Some(&ord) = rows.get(&digest(text)) else {
            continue;
        };
        if let (Some(src), Some(dst)) = (old.vector(ord), data.get_mut(i * dims..(i + 1) * dims))
            && src.len() == dst.len()
        {
            dst.copy_from_slice(src);
            if let Some(f) = filled.get_mut(i) {
                *f = true;
            }
        }
    }
    filled
}

pub(super) fn check_passages(passages: &[Passage]) -> Result<()> {
    if passages.is_empty() {
        return Err(Error::new(ErrorKind::Corpus, "no passage to index"));
    }
    if u32::try_from(passages.len()).is_err() {
        return Err(Error::new(
            ErrorKind::Corpus,
            "more passages than one index holds (2^32)",
        ));
    }
    Ok(())
}

/// An existing directory may be replaced only when it is empty or a promptveil index.
pub(super) fn check_replaceable(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::new(
            ErrorKind::Index,
            format!("{} exists and is not a directory", dir.display()),
        ));
    }
    let mut entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    if entries.next().is_none() || dir.join(MANIFEST).is_file() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Index,
        format!(
            "{} is not a promptveil index (no {MANIFEST}) and is not empty: refusing to replace it",
            dir.display()
        ),
    ))
}

/// Writes the passages; returns the document ids in first-seen order.
pub(super) fn write_passages(
    index: &Index,
    fields: Fields,
    passages: &[Passage],
) -> Result<Vec<String>> {
    let mut writer = index
        .writer_with_num_threads::<TantivyDocument>(1, WRITER_BYTES)
        .map_err(|e| index_error("cannot open an index writer", e))?;
    let mut documents: Vec<String> = Vec::new();
    let mut doc_ords: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    for (ord, p) in passages.iter().enumerate() {
        let next = documents.len() as u64;
        let doc_ord = *doc_ords.entry(p.doc.as_str()).or_insert_with(|| {
            documents.push(p.doc.clone());
            next
        });
        let mut doc = TantivyDocument::default();
        doc.add_text(fields.id, &p.id);
        doc.add_text(fields.doc, &p.doc);
        doc.add_text(fields.source, &p.source);
        doc.add_text(fields.title, &p.title);
        doc.add_text(fields.text, &p.text);
        doc.add_u64(fields.start, p.range.start as u64);
        doc.add_u64(fields.end, p.range.end as u64);
        doc.add_u64(fields.ord, ord as u64);
        doc.add_u64(fields.doc_ord, doc_ord);
        let mut content = String::with_capacity(p.title.len() + 1 + p.text.len());
        content.push_str(&p.title);
        content.push('\n');
        content.push_str(&p.text);
        doc.add_text(fields.content, &content);
        writer
            .add_document(doc)
            .map_err(|e| index_error("cannot add a passage", e))?;
    }
    writer
        .commit()
        .map_err(|e| index_error("cannot commit the index", e))?;
    writer
        .wait_merging_threads()
        .map_err(|e| index_error("index merge failed", e))?;
    Ok(documents)
}

pub(super) fn manifest_for(passages: &[Passage], embedding: Option<EmbeddingInfo>) -> Manifest {
    let documents = passages
        .iter()
        .map(|p| p.doc.as_str())
        .collect::<HashSet<_>>()
        .len();
    Manifest {
        format: FORMAT,
        passages: passages.len() as u64,
        documents: documents as u64,
        embedding,
    }
}

pub(super) fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    write_json(&dir.join(MANIFEST), manifest)
}

pub(super) fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let json = serde_json::to_vec_pretty(value).map_err(|e| {
        Error::new(ErrorKind::Json, format!("cannot write {}", path.display())).with_source(e)
    })?;
    std::fs::write(path, json).map_err(|e| Error::io(path, e))
}

pub(super) fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    if !dir.is_dir() {
        return Err(Error::new(
            ErrorKind::Index,
            format!(
                "{}: no such index directory (build one with `promptveil index build`)",
                dir.display()
            ),
        ));
    }
    if !path.is_file() {
        return Err(Error::new(
            ErrorKind::Index,
            format!("{}: not a promptveil index (no {MANIFEST})", dir.display()),
        ));
    }
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| index_error(format!("{}: the manifest is corrupt", path.display()), e))?;
    if manifest.format != FORMAT {
        return Err(Error::new(
            ErrorKind::Index,
            format!(
                "{}: index format {} (this version reads {FORMAT}); rebuild the index",
                path.display(),
                manifest.format
            ),
        ));
    }
    Ok(manifest)
}
