//! Digests that say which shield processed a request: of rule sources, the NER model file
//! and word lists, a pipeline's configuration. Never of a value.

use sha2::{Digest, Sha256};

/// SHA-256 of the parts (each length-prefixed, so that parts cannot run into each other),
/// as the first 16 hex digits: enough to tell two configurations apart in a trail.
pub(crate) fn of<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}
