//! Indexers: `/indexer/<name>` stores documents. [`new`] builds one; [`index`] calls one
//! by name, reference or handle.

use std::future::Future;

use genkit_core::{ActionBuilder, ActionCx, ActionDef, ActionType, Error, Registry, Result, RunOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::action_ref::{action_ref, lookup, merge_options};
use crate::embedder::EmbedderInfo;
use crate::retriever::{custom_options, request_schema};
use crate::{Document, DocumentData};

/// Input of an indexer action: `{documents, options?}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IndexerRequest {
    /// The documents to store.
    pub documents: Vec<DocumentData>,
    /// Indexer-specific options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
}

/// An indexer (JS `IndexerAction`; no output): a typed handle, cheap to clone. Build one with
/// [`new`], or define it with `Genkit::define_indexer`.
pub type Indexer = ActionDef<IndexerRequest, ()>;

/// What an indexer function receives besides the request: the registry it is registered in
/// (`cx.registry()`, e.g. to reach its embedder), the action context and the cancellation token.
pub type IndexerCx = ActionCx<()>;

/// Options of an indexer: name, JSON schema of its options, info of the embedder it uses.
#[derive(Debug, Clone, Default)]
pub struct IndexerOptions {
    /// Action name.
    pub name: String,
    /// JSON schema of `options`: validated on input and shown as `customOptions`.
    pub config_schema: Option<Value>,
    /// Info of the embedder used (metadata `embedderInfo`).
    pub embedder_info: Option<EmbedderInfo>,
}

impl IndexerOptions {
    /// Options for `name`.
    pub fn new(name: impl Into<String>) -> Self {
        IndexerOptions { name: name.into(), ..Self::default() }
    }

    /// Sets the options schema.
    #[must_use]
    pub fn config_schema(mut self, schema: Value) -> Self {
        self.config_schema = Some(schema);
        self
    }

    /// Sets the options schema from a Rust type.
    #[must_use]
    pub fn config_type<T: JsonSchema>(self) -> Self {
        self.config_schema(genkit_core::schema::schema_for::<T>())
    }

    /// Sets the info of the embedder the indexer uses.
    #[must_use]
    pub fn embedder_info(mut self, info: EmbedderInfo) -> Self {
        self.embedder_info = Some(info);
        self
    }
}

/// The builder of an indexer action with its schemas and JS metadata set (`{type: "indexer",
/// embedderInfo, indexer: {customOptions}}`).
fn builder(opts: IndexerOptions) -> ActionBuilder<IndexerRequest, (), ()> {
    let IndexerOptions { name, config_schema, embedder_info } = opts;
    let mut b = ActionDef::<IndexerRequest, ()>::builder(ActionType::Indexer, name)
        .input_schema(request_schema::<IndexerRequest>(config_schema.as_ref()))
        .metadata("type", json!("indexer"))
        .metadata("indexer", custom_options(config_schema.as_ref()));
    if let Some(info) = &embedder_info {
        b = b.metadata("embedderInfo", serde_json::to_value(info).unwrap_or(Value::Null));
    }
    b
}

/// Builds an indexer (JS `indexer()`); register it with `Genkit::define_indexer` or return it
/// from a plugin. The function gets the request (`{documents, options}`) and an [`IndexerCx`].
///
/// ```
/// use genkit_ai::indexer::{self, IndexerOptions};
/// let sink = indexer::new(IndexerOptions::new("sink"), |req, _cx| async move {
///     println!("{} documents", req.documents.len());
///     Ok(())
/// });
/// assert_eq!(sink.name(), "sink");
/// ```
pub fn new<F, Fut>(opts: IndexerOptions, f: F) -> Indexer
where
    F: Fn(IndexerRequest, IndexerCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    builder(opts).build(f)
}

action_ref!("indexer", IndexerRef, IndexerArg, Indexer, "devLocalVectorstore/facts");

/// What [`index`] takes (JS `IndexerParams`): the indexer, the documents and its options.
///
/// ```
/// use genkit_ai::Document;
/// use genkit_ai::indexer::IndexOptions;
/// let opts = IndexOptions::new("facts").documents(vec![Document::from_text("Paris is in France.")]);
/// assert_eq!(opts.documents.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// The indexer: a name, an [`IndexerRef`] or an [`Indexer`] handle.
    pub indexer: IndexerArg,
    /// The documents to store.
    pub documents: Vec<Document>,
    /// Indexer-specific options, merged over the reference's defaults.
    pub options: Option<Value>,
}

impl IndexOptions {
    /// Index with `indexer`.
    pub fn new(indexer: impl Into<IndexerArg>) -> Self {
        IndexOptions { indexer: indexer.into(), documents: Vec::new(), options: None }
    }

    /// Sets the documents.
    #[must_use]
    pub fn documents(mut self, documents: Vec<Document>) -> Self {
        self.documents = documents;
        self
    }

    /// Sets the options.
    #[must_use]
    pub fn options(mut self, options: Value) -> Self {
        self.options = Some(options);
        self
    }
}

/// Stores documents (JS `ai.index`). A reference's default options are merged under the
/// call's; a handle is called directly.
///
/// # Errors
/// `NOT_FOUND` `Unable to utilize the provided indexer: …` when there is no such indexer,
/// invalid options, and the indexer's errors.
pub async fn index(registry: &Registry, opts: IndexOptions) -> Result<()> {
    let IndexOptions { indexer, documents, options } = opts;
    let req = IndexerRequest { documents, options: merge_options(indexer.config(), options) };
    if let IndexerArg::Handle(h) = &indexer {
        return h.run(req).await;
    }
    let action = lookup(registry, "indexer", indexer.name(), "Unable to utilize the provided indexer").await?;
    if let Some(typed) = action.as_any().downcast_ref::<Indexer>() {
        return typed.run(req).await;
    }
    // Whatever an indexer of another runtime returns is ignored, as its output is void.
    action.run_json(serde_json::to_value(req).map_err(Error::internal)?, RunOptions::default()).await.map(|_| ())
}
