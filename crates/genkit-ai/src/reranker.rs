//! Rerankers: `/reranker/<name>` scores documents against a query. [`new`] builds one;
//! [`rerank`] calls one by name, reference or handle.

use std::future::Future;

use genkit_core::{ActionCx, ActionDef, ActionType, Error, Registry, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::action_ref::{action_ref, call, lookup, merge_options};
use crate::retriever::{Query, RetrieverInfo, custom_options, request_schema};
use crate::{Document, DocumentData, Part};

/// Input of a reranker action: `{query, documents, options?}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RerankerRequest {
    /// The query.
    pub query: DocumentData,
    /// The documents to score.
    pub documents: Vec<DocumentData>,
    /// Reranker-specific options (commonly `{k}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
}

/// A document with a score (`metadata.score`), as rerankers return them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RankedDocumentData {
    /// The content.
    pub content: Vec<Part>,
    /// Metadata: `score` plus anything else.
    pub metadata: RankedDocumentMetadata,
}

/// Metadata of a ranked document: `{score, ...}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RankedDocumentMetadata {
    /// The relevance score.
    pub score: f64,
    /// Other metadata.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl RankedDocumentData {
    /// The score.
    pub fn score(&self) -> f64 {
        self.metadata.score
    }

    /// The document without the ranking wrapper (score kept in its metadata).
    pub fn into_document(self) -> Document {
        let mut md = self.metadata.rest;
        md.insert("score".into(), json!(self.metadata.score));
        DocumentData { content: self.content, metadata: Some(md) }
    }
}

/// Output of a reranker action: `{documents}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RerankerResponse {
    /// The documents, with scores.
    pub documents: Vec<RankedDocumentData>,
}

/// A reranker (JS `RerankerAction`): a typed handle, cheap to clone. Build one with [`new`],
/// or define it with `Genkit::define_reranker`.
pub type Reranker = ActionDef<RerankerRequest, RerankerResponse>;

/// What a reranker function receives besides the request: the registry it is registered in
/// (`cx.registry()`), the action context and the cancellation token.
pub type RerankerCx = ActionCx<()>;

/// Descriptive information about a reranker (JS `RerankerInfo`, the shape of [`RetrieverInfo`]).
pub type RerankerInfo = RetrieverInfo;

/// Options of a reranker: name, JSON schema of its options, info.
#[derive(Debug, Clone, Default)]
pub struct RerankerOptions {
    /// Action name.
    pub name: String,
    /// JSON schema of `options`: validated on input and shown as `customOptions`.
    pub config_schema: Option<Value>,
    /// Reranker info.
    pub info: Option<RerankerInfo>,
}

impl RerankerOptions {
    /// Options for `name`.
    pub fn new(name: impl Into<String>) -> Self {
        RerankerOptions { name: name.into(), ..Self::default() }
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

    /// Sets the info (label, what it supports).
    #[must_use]
    pub fn info(mut self, info: RerankerInfo) -> Self {
        self.info = Some(info);
        self
    }
}

/// Builds a reranker (JS `reranker()`): metadata `{type: "reranker", info, reranker:
/// {customOptions}}`. The function gets the request (`{query, documents, options}`) and a
/// [`RerankerCx`]; register it with `Genkit::define_reranker` or return it from a plugin.
///
/// ```
/// use genkit_ai::reranker::{self, RankedDocumentData, RerankerOptions, RerankerResponse};
/// let first_wins = reranker::new(RerankerOptions::new("first-wins"), |req, _cx| async move {
///     let n = req.documents.len() as f64;
///     let documents = req.documents.into_iter().enumerate().map(|(i, d)| {
///         let mut ranked = RankedDocumentData { content: d.content, ..Default::default() };
///         ranked.metadata.score = n - i as f64;
///         ranked
///     });
///     Ok(RerankerResponse { documents: documents.collect() })
/// });
/// assert_eq!(first_wins.name(), "first-wins");
/// ```
pub fn new<F, Fut>(opts: RerankerOptions, f: F) -> Reranker
where
    F: Fn(RerankerRequest, RerankerCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<RerankerResponse>> + Send + 'static,
{
    let RerankerOptions { name, config_schema, info } = opts;
    let mut b = ActionDef::<RerankerRequest, RerankerResponse>::builder(ActionType::Reranker, name)
        .input_schema(request_schema::<RerankerRequest>(config_schema.as_ref()))
        .metadata("type", json!("reranker"))
        .metadata("reranker", custom_options(config_schema.as_ref()));
    if let Some(info) = &info {
        b = b.metadata("info", serde_json::to_value(info).unwrap_or(Value::Null));
    }
    b.build(f)
}

action_ref!("reranker", RerankerRef, RerankerArg, Reranker, "vertexai/semantic-ranker-512");

/// What [`rerank`] takes (JS `RerankerParams`): the reranker, the query, the documents and
/// its options.
///
/// ```
/// use genkit_ai::Document;
/// use genkit_ai::reranker::RerankOptions;
/// let opts = RerankOptions::new("by-length").query("xyz").documents(vec![Document::from_text("abc")]);
/// assert_eq!(opts.query.text(), "xyz");
/// ```
#[derive(Debug, Clone)]
pub struct RerankOptions {
    /// The reranker: a name, a [`RerankerRef`] or a [`Reranker`] handle.
    pub reranker: RerankerArg,
    /// The query (default: an empty document).
    pub query: DocumentData,
    /// The documents to score.
    pub documents: Vec<Document>,
    /// Reranker-specific options (commonly `{k}`), merged over the reference's defaults.
    pub options: Option<Value>,
}

impl RerankOptions {
    /// Rerank with `reranker`.
    pub fn new(reranker: impl Into<RerankerArg>) -> Self {
        RerankOptions {
            reranker: reranker.into(),
            query: DocumentData::default(),
            documents: Vec::new(),
            options: None,
        }
    }

    /// Sets the query: a text or a document.
    #[must_use]
    pub fn query(mut self, query: impl Into<Query>) -> Self {
        self.query = query.into().0;
        self
    }

    /// Sets the documents to score.
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

/// Reranks documents against a query (JS `ai.rerank`). A reference's default options are
/// merged under the call's; a handle is called directly.
///
/// # Errors
/// `NOT_FOUND` `Unable to resolve the reranker: …` when there is no such reranker, and the
/// reranker's errors.
pub async fn rerank(registry: &Registry, opts: RerankOptions) -> Result<Vec<RankedDocumentData>> {
    let RerankOptions { reranker, query, documents, options } = opts;
    let req = RerankerRequest { query, documents, options: merge_options(reranker.config(), options) };
    let resp = match &reranker {
        RerankerArg::Handle(h) => h.run(req).await?,
        RerankerArg::Name(_) | RerankerArg::Ref(_) => {
            let name = reranker.name();
            let action = lookup(registry, "reranker", name, "Unable to resolve the reranker").await?;
            call(action.as_ref(), req, |e| {
                Error::internal(format!("reranker {name} returned an invalid response: {e}"))
            })
            .await?
        }
    };
    Ok(resp.documents)
}
