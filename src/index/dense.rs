//! Passage vectors (feature `embeddings`): one contiguous row-major `f32` matrix, in passage
//! order, stored as `vectors.f32` (little-endian) next to the tantivy files, searched exactly.

use std::path::Path;

use super::store::Scored;
use crate::error::{Error, ErrorKind, Result};

/// The vectors file's name inside an index directory.
pub(crate) const VECTORS: &str = "vectors.f32";

/// Unit-length passage vectors, one row per passage ordinal.
#[derive(Clone)]
pub(crate) struct Vectors {
    dims: usize,
    data: Vec<f32>,
}

impl std::fmt::Debug for Vectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vectors")
            .field("dims", &self.dims)
            .field("rows", &self.rows())
            .finish()
    }
}

impl Vectors {
    pub(crate) fn new(dims: usize, data: Vec<f32>) -> Result<Vectors> {
        if dims == 0 || !data.len().is_multiple_of(dims) {
            return Err(Error::new(
                ErrorKind::Index,
                format!("{} values do not make rows of {dims}", data.len()),
            ));
        }
        Ok(Vectors { dims, data })
    }

    /// Row `i`, when there is one.
    pub(crate) fn row(&self, i: usize) -> Option<&[f32]> {
        self.data.get(i * self.dims..(i + 1) * self.dims)
    }

    pub(crate) fn rows(&self) -> usize {
        self.data.len() / self.dims.max(1)
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(VECTORS);
        let mut bytes = Vec::with_capacity(self.data.len() * 4);
        for x in &self.data {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    }

    /// Reads `rows` vectors of `dims` values; the file must hold exactly that many.
    pub(crate) fn read(dir: &Path, dims: usize, rows: usize) -> Result<Vectors> {
        let path = dir.join(VECTORS);
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::new(
                ErrorKind::Index,
                format!("{}: the index's vectors cannot be read", path.display()),
            )
            .with_source(e)
        })?;
        if bytes.len() != rows * dims * 4 {
            return Err(Error::new(
                ErrorKind::Index,
                format!(
                    "{}: {} bytes, expected {} passages × {dims} values: the index is corrupt",
                    path.display(),
                    bytes.len(),
                    rows
                ),
            ));
        }
        let data = bytes
            .chunks_exact(4)
            .map(|c| <[u8; 4]>::try_from(c).map_or(0.0, f32::from_le_bytes))
            .collect();
        Vectors::new(dims, data)
    }

    /// The `k` rows most similar to `query` (a unit vector): dot products over the whole
    /// matrix, best first, equal scores in passage order.
    pub(crate) fn top_k(&self, query: &[f32], k: usize) -> Vec<Scored> {
        if query.len() != self.dims || k == 0 {
            return Vec::new();
        }
        let mut scored: Vec<Scored> = self
            .data
            .chunks_exact(self.dims)
            .enumerate()
            .map(|(ord, row)| Scored {
                ord: ord as u32,
                score: dot(row, query),
            })
            .collect();
        let order = |a: &Scored, b: &Scored| b.score.total_cmp(&a.score).then(a.ord.cmp(&b.ord));
        if scored.len() > k {
            scored.select_nth_unstable_by(k - 1, order);
            scored.truncate(k);
        }
        scored.sort_by(order);
        scored
    }
}

/// Dot product in eight independent lanes, so the compiler can keep it in vector registers (a
/// single running sum must be added in order and is not vectorised).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0_f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        lanes
            .iter_mut()
            .zip(x.iter().zip(y))
            .for_each(|(l, (p, q))| *l += p * q);
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_dot_product_matches_the_plain_one() {
        let a: Vec<f32> = (0..387).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..387).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-3);
    }

    #[test]
    fn exact_top_k_and_round_trip() {
        let v = Vectors::new(2, vec![1.0, 0.0, 0.0, 1.0, 0.6, 0.8, 0.6, 0.8]).expect("rows");
        let top = v.top_k(&[0.0, 1.0], 3);
        let ords: Vec<u32> = top.iter().map(|s| s.ord).collect();
        assert_eq!(ords, [1, 2, 3]);
        let dir = tempfile::tempdir().expect("tempdir");
        v.write(dir.path()).expect("write");
        let back = Vectors::read(dir.path(), 2, 4).expect("read");
        assert_eq!(back.data, v.data);
        assert!(Vectors::read(dir.path(), 2, 5).is_err());
    }
}
