//! # genkit-dev-local-vectorstore
//!
//! A file-backed vector store for development and tests (not for production): an indexer and a
//! retriever per index, `devLocalVectorstore/<index>`, storing documents and their embeddings in
//! `__db_<index>.json`, the same file the JS plugin writes (documents keyed by the md5 of their
//! JSON, pretty-printed), so the two runtimes can share a store. Retrieval is brute-force cosine
//! similarity, top `k` (default 3).
//!
//! ```no_run
//! # async fn demo(g: genkit_core::Registry) -> genkit_core::Result<()> {
//! use genkit_dev_local_vectorstore::{DevLocalVectorStore, IndexConfig};
//! let plugin = DevLocalVectorStore::new(vec![IndexConfig::new("facts", "local/all-minilm-l6-v2")]);
//! # let _ = plugin; Ok(()) }
//! ```
//!
//! Safe against concurrent writers (an in-process lock plus a lock file next to the store) and
//! interrupted writes (a temporary file renamed into place). Reads are cached until the file
//! changes, so queries do not re-parse the store.

mod store;

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::try_join_all;
use genkit_ai::embedder::{EmbedParams, EmbedderRef, embed};
use genkit_ai::indexer::{self, IndexerCx, IndexerOptions, IndexerRequest};
use genkit_ai::retriever::{
    self, CommonRetrieverOptions, RetrieverCx, RetrieverInfo, RetrieverOptions, RetrieverRequest, RetrieverResponse,
};
use genkit_core::{Action, ActionCx, Error, Plugin, Registry, Result};
use serde_json::{Map, Value};

use store::FileStore;

/// The plugin name: actions are `devLocalVectorstore/<index>`.
pub const PLUGIN: &str = "devLocalVectorstore";

/// One index: its name, the embedder that turns documents and queries into vectors, and where
/// its file lives.
#[derive(Debug, Clone)]
pub struct IndexConfig {
    index_name: String,
    embedder: String,
    embedder_options: Option<Map<String, Value>>,
    dir: Option<PathBuf>,
}

impl IndexConfig {
    /// An index named `index_name` embedded with the embedder `embedder` (e.g. `local/all-minilm-l6-v2`).
    pub fn new(index_name: impl Into<String>, embedder: impl Into<String>) -> Self {
        IndexConfig { index_name: index_name.into(), embedder: embedder.into(), embedder_options: None, dir: None }
    }

    /// Options passed to the embedder.
    #[must_use]
    pub fn embedder_options(mut self, options: Map<String, Value>) -> Self {
        self.embedder_options = Some(options);
        self
    }

    /// Folder of the store file (default: the current directory, as in JS).
    #[must_use]
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Path of the store file, `<dir>/__db_<index>.json`.
    pub fn file(&self) -> PathBuf {
        self.dir.clone().unwrap_or_default().join(format!("__db_{}.json", self.index_name))
    }
}

/// The full action name of an index's retriever and indexer.
pub fn index_ref(index_name: &str) -> String {
    format!("{PLUGIN}/{index_name}")
}

/// The plugin (JS `devLocalVectorstore([...])`).
#[derive(Debug, Clone)]
pub struct DevLocalVectorStore {
    indexes: Vec<IndexConfig>,
}

impl DevLocalVectorStore {
    /// A store with these indexes.
    pub fn new(indexes: Vec<IndexConfig>) -> Self {
        DevLocalVectorStore { indexes }
    }
}

fn registry_of(cx: &ActionCx<()>) -> Result<&Registry> {
    cx.registry().ok_or_else(|| Error::internal("the vector store action must be registered to reach its embedder"))
}

async fn embed_one(
    registry: &Registry,
    cfg: &IndexConfig,
    doc: genkit_ai::Document,
) -> Result<Vec<genkit_ai::embedder::Embedding>> {
    let mut p = EmbedParams::new(EmbedderRef::new(&cfg.embedder), doc);
    p.options = cfg.embedder_options.clone();
    embed(registry, p).await
}

fn actions(cfg: &IndexConfig) -> Vec<Arc<dyn Action>> {
    let store = Arc::new(FileStore::new(&cfg.index_name, cfg.file()));
    let cfg = Arc::new(cfg.clone());

    let ropts =
        RetrieverOptions::new(cfg.index_name.clone()).config_type::<CommonRetrieverOptions>().info(RetrieverInfo {
            label: Some(format!("Local file-based Retriever - {}", cfg.index_name)),
            supports: None,
        });
    let (s, c) = (store.clone(), cfg.clone());
    let retriever = retriever::new(ropts, move |req: RetrieverRequest, cx: RetrieverCx| {
        let (store, cfg) = (s.clone(), c.clone());
        async move {
            let k = req
                .options
                .as_ref()
                .and_then(|o| serde_json::from_value::<CommonRetrieverOptions>(o.clone()).ok())
                .and_then(|o| o.k)
                .unwrap_or(3);
            let q = embed_one(registry_of(&cx)?, &cfg, req.query).await?;
            let Some(q) = q.first() else {
                return Err(Error::internal(format!("embedder {} returned no embedding for the query", cfg.embedder)));
            };
            let snapshot = store.snapshot().await?;
            let documents = snapshot.top_k(&cfg.index_name, &q.embedding, k)?.into_iter().map(|(_, e)| e.doc.clone());
            Ok(RetrieverResponse { documents: documents.collect() })
        }
    });

    let indexer =
        indexer::new(IndexerOptions::new(cfg.index_name.clone()), move |req: IndexerRequest, cx: IndexerCx| {
            let (store, cfg) = (store.clone(), cfg.clone());
            async move {
                let registry = registry_of(&cx)?;
                let embedded = try_join_all(req.documents.into_iter().map(|d| {
                    let cfg = cfg.clone();
                    async move {
                        let e = embed_one(registry, &cfg, d.clone()).await?;
                        Ok::<_, Error>(d.embedding_documents(&e).into_iter().zip(e).collect::<Vec<_>>())
                    }
                }))
                .await?;
                store.add_all(embedded.into_iter().flatten().collect()).await?;
                Ok(())
            }
        });
    vec![retriever.as_action(), indexer.as_action()]
}

impl Plugin for DevLocalVectorStore {
    fn name(&self) -> &str {
        PLUGIN
    }

    async fn init(&self) -> Result<Vec<Arc<dyn Action>>> {
        Ok(self.indexes.iter().flat_map(actions).collect())
    }
}

/// The key a document is stored under: the md5 (hex) of its compact JSON, as in the JS plugin.
pub fn document_id(doc: &genkit_ai::Document) -> String {
    store::doc_id(doc)
}
