//! Rerankers (R6): `/reranker/<name>` scores documents against a query; [`rerank`] calls one.

use std::future::Future;
use std::sync::Arc;

use genkit_core::{ActionCx, ActionDef, ActionType, Error, Registry, Result, RunOptions, Status};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::retriever::{Query, RetrieverInfo, RetrieverOptions, request_schema};
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

/// A reranker action.
pub type RerankerAction = ActionDef<RerankerRequest, RerankerResponse>;

/// Builds a reranker action (JS `reranker()`): metadata `{type: "reranker", info, reranker:
/// {customOptions}}`. `opts.info` is used as the reranker info.
pub fn new<F, Fut>(opts: RetrieverOptions, f: F) -> RerankerAction
where
    F: Fn(Document, Vec<Document>, Option<Value>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<RerankerResponse>> + Send + 'static,
{
    let RetrieverOptions { name, config_schema, info, .. } = opts;
    let mut custom = Map::new();
    if let Some(c) = &config_schema {
        custom.insert("customOptions".into(), c.clone());
    }
    let mut b = ActionDef::<RerankerRequest, RerankerResponse>::builder(ActionType::Reranker, name)
        .input_schema(request_schema::<RerankerRequest>(config_schema.as_ref()))
        .metadata("type", json!("reranker"))
        .metadata("reranker", Value::Object(custom));
    if let Some(info) = &info {
        b = b.metadata("info", serde_json::to_value::<&RetrieverInfo>(info).unwrap_or(Value::Null));
    }
    let f = Arc::new(f);
    b.build(move |req: RerankerRequest, _cx: ActionCx<()>| f(req.query, req.documents, req.options))
}

/// Reranks documents with the reranker `name` (JS `ai.rerank`).
///
/// # Errors
/// `NOT_FOUND` `Unable to resolve the reranker: …` when it does not exist, and the reranker's errors.
pub async fn rerank(
    registry: &Registry,
    name: &str,
    query: impl Into<Query>,
    documents: Vec<Document>,
    options: Option<Value>,
) -> Result<Vec<RankedDocumentData>> {
    let action = registry.lookup_action(&format!("/reranker/{name}")).await?.ok_or_else(|| {
        Error::new(Status::NotFound, format!("Unable to resolve the reranker: /reranker/{name} not found"))
    })?;
    let req = RerankerRequest { query: query.into().0, documents, options };
    if let Some(typed) = action.as_any().downcast_ref::<RerankerAction>() {
        return Ok(typed.run(req).await?.documents);
    }
    let out = action.run_json(serde_json::to_value(req).map_err(Error::internal)?, RunOptions::default()).await?;
    let resp: RerankerResponse = serde_json::from_value(out.result)
        .map_err(|e| Error::internal(format!("reranker {name} returned an invalid response: {e}")))?;
    Ok(resp.documents)
}
