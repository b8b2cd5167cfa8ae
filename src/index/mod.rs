//! The local knowledge index: passages from a folder of documents, BM25 search with tantivy,
//! dense vectors (feature `embeddings`) and their fusion.
//!
//! Domain context for a prompt must come from the machine the prompt is on. This module
//! ingests a folder of Markdown, plain text and JSON Lines files ([`ingest_path`]) into
//! [`Passage`]s with stable ids and byte ranges for citations, indexes them
//! ([`KnowledgeIndex`], on disk or in RAM) and retrieves the best ones for a query
//! ([`LocalRetriever`], or any [`Retriever`] a team plugs in, such as a remote search
//! cluster).
//!
//! ```
//! use promptveil::index::{KnowledgeIndex, LocalRetriever, Passage, SearchMode};
//!
//! let passages = vec![
//!     Passage::new("hours.md#0", "hours.md", "Opening hours", "The clinic opens at 8:00 on weekdays."),
//!     Passage::new("billing.md#0", "billing.md", "Billing", "Invoices are sent on the first of the month."),
//! ];
//! let index = KnowledgeIndex::build_in_ram(&passages)?;
//! let retriever = LocalRetriever::new(index.into(), SearchMode::Bm25);
//! let hits = retriever.search("when does the clinic open", 1)?;
//! assert_eq!(hits[0].passage.id, "hours.md#0");
//! # Ok::<(), promptveil::Error>(())
//! ```
//!
//! # Ranking
//!
//! - **BM25**: title and body are indexed together in one field with English stemming
//!   (`en_stem`); the query is analysed the same way and any of its terms may match. No query
//!   syntax is interpreted, so user text cannot fail to parse.
//! - **Dense** (feature `embeddings`): cosine similarity between the query's and the passages'
//!   vectors, exactly, over one contiguous matrix.
//! - **Hybrid**: reciprocal-rank fusion ([`Fusion::Rrf`], `k` = 60 by default) of at least 100
//!   candidates from each list — fusing only the top 20 loses the recall the fusion is for —
//!   or a weighted sum of min-max normalised scores ([`Fusion::Weighted`]).
//!
//! Equal scores are ordered by passage ordinal (ingestion order), so results never depend on
//! thread timing.

#[cfg(feature = "embeddings")]
mod dense;
#[cfg(feature = "embeddings")]
mod embed;
mod ingest;
mod store;

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;

#[cfg(feature = "embeddings")]
pub use embed::{Embedder, EmbeddingAssets};
pub use ingest::{ChunkConfig, IngestReport, SkipReason, ingest_path};
pub use store::{EmbeddingInfo, KnowledgeIndex, Manifest};

use crate::error::{Error, ErrorKind, Result};
use store::Scored;

crate::id::text_id!(
    /// A passage's stable id: the document id, `#`, and the passage's number in the document
    /// (`guide/refunds.md#2`). What a citation and the audit trail name a passage by.
    PassageId
);

/// A retrievable piece of a document, with what a citation needs.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Passage {
    /// Stable id: the document id, `#`, and the passage's number in the document
    /// (`guide/refunds.md#2`). The same files ingested again give the same ids.
    pub id: PassageId,
    /// The document: its path relative to the ingested folder, or a JSON Lines record's id.
    pub doc: String,
    /// The file the passage came from, relative to the ingested folder.
    pub source: String,
    /// The document's title, and the section's heading when there is one.
    pub title: String,
    /// Byte range of the passage in its document's text (the file, or the JSON Lines record's
    /// `text` value).
    pub range: Range<usize>,
    /// The passage text.
    pub text: String,
}

impl Passage {
    /// A passage of a whole document, for indexes built from code rather than files.
    pub fn new(
        id: impl Into<PassageId>,
        doc: impl Into<String>,
        title: impl Into<String>,
        text: impl Into<String>,
    ) -> Passage {
        let doc = doc.into();
        let text = text.into();
        Passage {
            id: id.into(),
            source: doc.clone(),
            doc,
            title: title.into(),
            range: 0..text.len(),
            text,
        }
    }
}

impl std::fmt::Debug for Passage {
    // A passage may hold company knowledge: Debug shows where it is from, not what it says.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passage")
            .field("id", &self.id)
            .field("source", &self.source)
            .field("range", &self.range)
            .field("text_len", &self.text.len())
            .finish_non_exhaustive()
    }
}

/// A retrieved passage and its score (higher is better; the scale depends on the mode).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Hit {
    /// The passage.
    pub passage: Passage,
    /// Its score.
    pub score: f32,
}

/// Anything that finds passages for a query: the local index, or a team's own search service.
#[async_trait]
pub trait Retriever: Send + Sync + std::fmt::Debug {
    /// The `k` best passages for `query`, best first.
    async fn retrieve(&self, query: &str, k: usize) -> Result<Vec<Hit>>;

    /// Whether it can answer now, for a readiness probe. The default says yes; the local
    /// retriever searches its index once.
    async fn check(&self) -> Result<()> {
        Ok(())
    }
}

/// How [`LocalRetriever`] ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SearchMode {
    /// BM25 over title and text.
    Bm25,
    /// Cosine similarity of embeddings (feature `embeddings`, an index built with vectors).
    Dense,
    /// BM25 and dense fused.
    Hybrid,
}

impl std::str::FromStr for SearchMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<SearchMode> {
        match s {
            "bm25" => Ok(SearchMode::Bm25),
            "dense" => Ok(SearchMode::Dense),
            "hybrid" => Ok(SearchMode::Hybrid),
            other => Err(Error::config(format!(
                "unknown search mode `{other}` (bm25, dense or hybrid)"
            ))),
        }
    }
}

/// How hybrid search fuses its two lists.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Fusion {
    /// Reciprocal-rank fusion: each list adds `1 / (k + rank)` (rank from 1).
    Rrf {
        /// The damping constant; 60 is the usual choice.
        k: f32,
    },
    /// Weighted sum of each list's scores, min-max normalised within the list.
    Weighted {
        /// Weight of BM25.
        bm25: f32,
        /// Weight of the dense score.
        dense: f32,
    },
}

impl Default for Fusion {
    fn default() -> Fusion {
        Fusion::Rrf { k: 60.0 }
    }
}

/// Fuses ranked lists (each best first) into one, best first; equal fused scores in passage
/// order.
#[cfg(any(feature = "embeddings", test))]
pub(crate) fn fuse(lists: &[(&[Scored], f32)], fusion: Fusion) -> Vec<Scored> {
    let mut total: std::collections::HashMap<u32, f32> = std::collections::HashMap::new();
    for (list, weight) in lists {
        match fusion {
            Fusion::Rrf { k } => {
                for (rank, s) in list.iter().enumerate() {
                    *total.entry(s.ord).or_default() += 1.0 / (k + rank as f32 + 1.0);
                }
            }
            Fusion::Weighted { .. } => {
                let (lo, hi) = list
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), s| {
                        (lo.min(s.score), hi.max(s.score))
                    });
                let span = hi - lo;
                for s in list.iter() {
                    let norm = if span > 0.0 {
                        (s.score - lo) / span
                    } else {
                        1.0
                    };
                    *total.entry(s.ord).or_default() += weight * norm;
                }
            }
        }
    }
    let mut out: Vec<Scored> = total
        .into_iter()
        .map(|(ord, score)| Scored { ord, score })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ord.cmp(&b.ord)));
    out
}

/// The local index as a [`Retriever`].
#[derive(Debug, Clone)]
pub struct LocalRetriever {
    index: Arc<KnowledgeIndex>,
    mode: SearchMode,
    fusion: Fusion,
    candidates: usize,
    #[cfg(feature = "embeddings")]
    embedder: Option<Arc<Embedder>>,
}

impl LocalRetriever {
    /// A retriever over `index` ranking by `mode`, fusing with [`Fusion::default`] over 100
    /// candidates per list.
    pub fn new(index: Arc<KnowledgeIndex>, mode: SearchMode) -> LocalRetriever {
        LocalRetriever {
            index,
            mode,
            fusion: Fusion::default(),
            candidates: 100,
            #[cfg(feature = "embeddings")]
            embedder: None,
        }
    }

    /// Adds the embedding model that dense and hybrid search embed queries with.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Index`] when the index was built with another model (vectors of two models
    /// are not comparable), or has no vectors at all.
    #[cfg(feature = "embeddings")]
    pub fn with_embedder(mut self, embedder: Arc<Embedder>) -> Result<LocalRetriever> {
        match &self.index.manifest().embedding {
            Some(info) if info == embedder.info() => {}
            Some(info) => {
                return Err(Error::new(
                    ErrorKind::Index,
                    format!(
                        "the index was built with the embedding model {} ({} values), not {} ({}): rebuild it",
                        info.model,
                        info.dims,
                        embedder.info().model,
                        embedder.info().dims
                    ),
                ));
            }
            None => {
                return Err(Error::new(
                    ErrorKind::Index,
                    "the index has no vectors: rebuild it with embeddings for dense or hybrid search",
                ));
            }
        }
        self.embedder = Some(embedder);
        Ok(self)
    }

    /// Sets the fusion of hybrid search.
    pub fn with_fusion(mut self, fusion: Fusion) -> LocalRetriever {
        self.fusion = fusion;
        self
    }

    /// Sets how many candidates each list contributes to hybrid search (at least 100 is
    /// recommended).
    pub fn with_candidates(mut self, candidates: usize) -> LocalRetriever {
        self.candidates = candidates.max(1);
        self
    }

    /// The index searched.
    pub fn index(&self) -> &KnowledgeIndex {
        &self.index
    }

    /// Ranked passage ordinals and scores for `query`, `k` of them.
    pub(crate) fn rank(&self, query: &str, k: usize) -> Result<Vec<Scored>> {
        match self.mode {
            SearchMode::Bm25 => self.index.bm25(query, k),
            SearchMode::Dense | SearchMode::Hybrid => self.rank_dense(query, k),
        }
    }

    #[cfg(not(feature = "embeddings"))]
    fn rank_dense(&self, _query: &str, _k: usize) -> Result<Vec<Scored>> {
        Err(Error::new(
            ErrorKind::Config,
            "dense and hybrid search need the `embeddings` feature",
        ))
    }

    #[cfg(feature = "embeddings")]
    fn rank_dense(&self, query: &str, k: usize) -> Result<Vec<Scored>> {
        let embedder = self.embedder.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "dense and hybrid search need an embedder (LocalRetriever::with_embedder)",
            )
        })?;
        let vector = embedder
            .embed(&[query])?
            .into_iter()
            .next()
            .unwrap_or_default();
        if self.mode == SearchMode::Dense {
            return self.index.dense(&vector, k);
        }
        let n = self.candidates.max(k);
        let bm25 = self.index.bm25(query, n)?;
        let dense = self.index.dense(&vector, n)?;
        let (wb, wd) = match self.fusion {
            Fusion::Weighted { bm25, dense } => (bm25, dense),
            Fusion::Rrf { .. } => (1.0, 1.0),
        };
        let mut fused = fuse(&[(&bm25, wb), (&dense, wd)], self.fusion);
        fused.truncate(k);
        Ok(fused)
    }

    /// The `k` best passages for `query`, synchronously (the [`Retriever`] implementation runs
    /// this on a blocking thread).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use promptveil::index::{KnowledgeIndex, LocalRetriever, Passage, SearchMode};
    ///
    /// let passages = vec![
    ///     Passage::new("hours#0", "hours.md", "Opening hours", "Open from eight on weekdays."),
    ///     Passage::new("flu#0", "vaccines.md", "Flu", "Flu vaccination starts in October."),
    /// ];
    /// let index = Arc::new(KnowledgeIndex::build_in_ram(&passages)?);
    /// let hits = LocalRetriever::new(index, SearchMode::Bm25).search("when do flu vaccinations start", 1)?;
    /// assert_eq!(hits[0].passage.id, "flu#0"); // "vaccinations" matches "vaccination": stemming
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for dense or hybrid search without vectors or an embedder,
    /// [`ErrorKind::Index`] when the index cannot be read.
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<Hit>> {
        self.rank(query, k)?
            .into_iter()
            .map(|s| {
                Ok(Hit {
                    passage: self.index.passage(s.ord)?,
                    score: s.score,
                })
            })
            .collect()
    }

    /// Ranked document ids (best passage per document), for evaluation runs.
    pub fn search_documents(
        &self,
        query: &str,
        k: usize,
        passages: usize,
    ) -> Result<Vec<(String, f32)>> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for s in self.rank(query, passages.max(k))? {
            let Some(doc) = self.index.document_of(s.ord) else {
                continue;
            };
            if seen.insert(doc) {
                out.push((doc.to_string(), s.score));
                if out.len() == k {
                    break;
                }
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Retriever for LocalRetriever {
    async fn check(&self) -> Result<()> {
        self.retrieve("readiness", 1).await.map(|_| ())
    }

    async fn retrieve(&self, query: &str, k: usize) -> Result<Vec<Hit>> {
        let this = self.clone();
        let query = query.to_string();
        tokio::task::spawn_blocking(move || this.search(&query, k))
            .await
            .map_err(|e| Error::new(ErrorKind::Index, "the search task failed").with_source(e))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ord: u32, score: f32) -> Scored {
        Scored { ord, score }
    }

    #[test]
    fn rrf_rewards_agreement_and_breaks_ties_by_ordinal() {
        let bm25 = [s(1, 9.0), s(2, 8.0), s(3, 7.0)];
        let dense = [s(3, 0.9), s(2, 0.8), s(4, 0.7)];
        let fused = fuse(&[(&bm25, 1.0), (&dense, 1.0)], Fusion::Rrf { k: 60.0 });
        let ords: Vec<u32> = fused.iter().map(|x| x.ord).collect();
        // 3 (ranks 3 and 1) edges out 2 (ranks 2 and 2); both beat a single list's best.
        assert_eq!(ords, [3, 2, 1, 4]);
        assert!((fused[1].score - 2.0 / 62.0).abs() < 1e-6);
        // Equal fused scores: passage order.
        let fused = fuse(
            &[
                (&[s(2, 5.0), s(1, 4.0)], 1.0),
                (&[s(1, 0.9), s(2, 0.8)], 1.0),
            ],
            Fusion::Rrf { k: 60.0 },
        );
        let ords: Vec<u32> = fused.iter().map(|x| x.ord).collect();
        assert_eq!(ords, [1, 2]);
    }

    #[test]
    fn weighted_fusion_normalises_each_list() {
        let bm25 = [s(1, 20.0), s(2, 10.0)];
        let dense = [s(2, 0.9), s(1, 0.1)];
        let fused = fuse(
            &[(&bm25, 0.3), (&dense, 0.7)],
            Fusion::Weighted {
                bm25: 0.3,
                dense: 0.7,
            },
        );
        assert_eq!(fused[0].ord, 2);
        assert!((fused[0].score - 0.7).abs() < 1e-6);
        assert!((fused[1].score - 0.3).abs() < 1e-6);
    }

    #[test]
    fn a_tiny_index_is_found_by_a_question_with_words_it_lacks() {
        // One passage: every term it holds is in "more than half" of the passages.
        let one = [Passage::new(
            "b#0",
            "b.md",
            "Billing",
            "A card charged twice is refunded.",
        )];
        let bm25 = |p: &[Passage]| {
            let index = KnowledgeIndex::build_in_ram(p).expect("index");
            LocalRetriever::new(std::sync::Arc::new(index), SearchMode::Bm25)
        };
        let hits = bm25(&one)
            .search("Why was my card charged twice?", 3)
            .expect("search");
        assert_eq!(hits.len(), 1);
        // Two passages, a word in both and a word in one: the rarer one still decides.
        let two = [
            Passage::new("a#0", "a.md", "Hours", "The clinic opens at eight."),
            Passage::new(
                "b#0",
                "b.md",
                "Billing",
                "The clinic refunds a card charged twice.",
            ),
        ];
        let hits = bm25(&two).search("clinic refunds", 3).expect("search");
        assert_eq!(hits.first().map(|h| h.passage.id.as_str()), Some("b#0"));
    }
}
