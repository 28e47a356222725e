//! Retrievers (R3, R5) and indexers (R4): `/retriever/<name>` takes a query document and returns
//! documents; `/indexer/<name>` stores documents. [`retrieve`] and [`index`] call them by name.

use std::future::Future;
use std::sync::Arc;

use genkit_core::{
    Action, ActionBuilder, ActionCx, ActionDef, ActionType, Error, Registry, Result, RunOptions, Status,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::embedder::EmbedderInfo;
use crate::{Document, DocumentData, Part};

/// Input of a retriever action: `{query, options?}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RetrieverRequest {
    /// The query.
    pub query: DocumentData,
    /// Retriever-specific options (commonly `{k}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
}

/// Output of a retriever action: `{documents}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RetrieverResponse {
    /// The documents found, best first.
    pub documents: Vec<DocumentData>,
}

/// Input of an indexer action: `{documents, options?}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IndexerRequest {
    /// The documents to store.
    pub documents: Vec<DocumentData>,
    /// Indexer-specific options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
}

/// Options every retriever understands (JS `CommonRetrieverOptionsSchema`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommonRetrieverOptions {
    /// Number of documents to retrieve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
}

/// Descriptive information about a retriever (JS `RetrieverInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RetrieverInfo {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// What the retriever supports (`{media?: bool}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports: Option<Map<String, Value>>,
}

/// A retriever action.
pub type RetrieverAction = ActionDef<RetrieverRequest, RetrieverResponse>;
/// An indexer action (no output).
pub type IndexerAction = ActionDef<IndexerRequest, ()>;

/// Options of a retriever or indexer: name, JSON schema of its options, info.
#[derive(Debug, Clone, Default)]
pub struct RetrieverOptions {
    /// Action name.
    pub name: String,
    /// JSON schema of `options`: validated on input and shown as `customOptions`.
    pub config_schema: Option<Value>,
    /// Retriever info (retrievers only).
    pub info: Option<RetrieverInfo>,
    /// Info of the embedder used (indexers only).
    pub embedder_info: Option<EmbedderInfo>,
}

impl RetrieverOptions {
    /// Options for `name`.
    pub fn new(name: impl Into<String>) -> Self {
        RetrieverOptions { name: name.into(), ..Self::default() }
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
}

/// The request schema with `options` replaced by the config schema (JS `.extend({options})`).
pub(crate) fn request_schema<R: JsonSchema>(config: Option<&Value>) -> Value {
    let mut s = genkit_core::schema::schema_for::<R>();
    if let (Some(c), Some(props)) = (config, s.get_mut("properties").and_then(Value::as_object_mut)) {
        let mut c = c.clone();
        if let Some(o) = c.as_object_mut() {
            o.remove("$schema");
        }
        props.insert("options".into(), c);
    }
    s
}

fn custom_options(config: Option<&Value>) -> Value {
    let mut m = Map::new();
    if let Some(c) = config {
        m.insert("customOptions".into(), c.clone());
    }
    Value::Object(m)
}

/// The builder of a retriever action with its schemas and JS metadata set (`{type: "retriever",
/// info, retriever: {customOptions}}`); for plugins whose function needs the action context.
pub fn retriever_builder(opts: RetrieverOptions) -> ActionBuilder<RetrieverRequest, RetrieverResponse, ()> {
    let RetrieverOptions { name, config_schema, info, .. } = opts;
    let mut b = ActionDef::<RetrieverRequest, RetrieverResponse>::builder(ActionType::Retriever, name)
        .input_schema(request_schema::<RetrieverRequest>(config_schema.as_ref()))
        .metadata("type", json!("retriever"))
        .metadata("retriever", custom_options(config_schema.as_ref()));
    if let Some(info) = &info {
        b = b.metadata("info", serde_json::to_value(info).unwrap_or(Value::Null));
    }
    b
}

/// The builder of an indexer action with its schemas and JS metadata set (`{type: "indexer",
/// embedderInfo, indexer: {customOptions}}`).
pub fn indexer_builder(opts: RetrieverOptions) -> ActionBuilder<IndexerRequest, (), ()> {
    let RetrieverOptions { name, config_schema, embedder_info, .. } = opts;
    let mut b = ActionDef::<IndexerRequest, ()>::builder(ActionType::Indexer, name)
        .input_schema(request_schema::<IndexerRequest>(config_schema.as_ref()))
        .metadata("type", json!("indexer"))
        .metadata("indexer", custom_options(config_schema.as_ref()));
    if let Some(info) = &embedder_info {
        b = b.metadata("embedderInfo", serde_json::to_value(info).unwrap_or(Value::Null));
    }
    b
}

/// Builds a retriever action (JS `retriever()`); the function gets the query document and the options.
pub fn new_retriever<F, Fut>(opts: RetrieverOptions, f: F) -> RetrieverAction
where
    F: Fn(Document, Option<Value>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<RetrieverResponse>> + Send + 'static,
{
    let f = Arc::new(f);
    retriever_builder(opts).build(move |req: RetrieverRequest, _cx: ActionCx<()>| f(req.query, req.options))
}

/// Builds an indexer action (JS `indexer()`); the function gets the documents and the options.
pub fn new_indexer<F, Fut>(opts: RetrieverOptions, f: F) -> IndexerAction
where
    F: Fn(Vec<Document>, Option<Value>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let f = Arc::new(f);
    indexer_builder(opts).build(move |req: IndexerRequest, _cx: ActionCx<()>| f(req.documents, req.options))
}

/// How a simple retriever turns an item into a document's content (R5).
#[derive(Clone)]
pub enum ItemContent {
    /// The text is this key of the item.
    Key(String),
    /// A function of the item: text or parts.
    Fn(Arc<dyn Fn(&Value) -> SimpleContent + Send + Sync>),
}

/// What an [`ItemContent::Fn`] returns.
#[derive(Debug, Clone)]
pub enum SimpleContent {
    /// A text document.
    Text(String),
    /// A document of these parts.
    Parts(Vec<Part>),
}

/// A function computing a simple retriever item's metadata.
pub type MetadataFn = Arc<dyn Fn(&Value) -> Option<Map<String, Value>> + Send + Sync>;

/// How a simple retriever picks an item's metadata (R5).
#[derive(Clone)]
pub enum ItemMetadata {
    /// These keys of the item.
    Keys(Vec<String>),
    /// A function of the item.
    Fn(MetadataFn),
}

impl std::fmt::Debug for ItemContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItemContent::Key(k) => write!(f, "Key({k:?})"),
            ItemContent::Fn(_) => f.write_str("Fn"),
        }
    }
}

impl std::fmt::Debug for ItemMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItemMetadata::Keys(k) => write!(f, "Keys({k:?})"),
            ItemMetadata::Fn(_) => f.write_str("Fn"),
        }
    }
}

/// Options of [`new_simple_retriever`] (JS `defineSimpleRetriever`).
#[derive(Debug, Clone, Default)]
pub struct SimpleRetrieverOptions {
    /// Name and options schema.
    pub retriever: RetrieverOptions,
    /// How to get the content of object items (strings are always text).
    pub content: Option<ItemContent>,
    /// How to get metadata; default: the whole item minus the content key.
    pub metadata: Option<ItemMetadata>,
}

fn item_to_document(item: &Value, opts: &SimpleRetrieverOptions) -> Result<Document> {
    if item.is_null() {
        return Err(Error::invalid_argument("Items returned from simple retriever must be non-null."));
    }
    if let Value::String(s) = item {
        return Ok(Document::from_text(s.clone()));
    }
    let mut doc = match &opts.content {
        Some(ItemContent::Fn(f)) => match f(item) {
            SimpleContent::Text(t) => Document::from_text(t),
            SimpleContent::Parts(p) => Document::from_parts(p, None),
        },
        Some(ItemContent::Key(k)) if item.is_object() => {
            Document::from_text(item.get(k).and_then(Value::as_str).unwrap_or_default())
        }
        _ => {
            return Err(Error::invalid_argument(format!(
                "Cannot convert item to document without content option. Item: {item}"
            )));
        }
    };
    doc.metadata = match (&opts.metadata, item) {
        (Some(ItemMetadata::Keys(keys)), Value::Object(o)) => {
            Some(keys.iter().map(|k| (k.clone(), o.get(k).cloned().unwrap_or(Value::Null))).collect())
        }
        (Some(ItemMetadata::Fn(f)), _) => f(item),
        (None, Value::Object(o)) => {
            let mut out = o.clone();
            if let Some(ItemContent::Key(k)) = &opts.content {
                out.remove(k);
            }
            Some(out)
        }
        _ => {
            return Err(Error::invalid_argument(format!(
                "Unable to extract metadata from item with supplied options. Item: {item}"
            )));
        }
    };
    Ok(doc)
}

/// A retriever whose handler returns plain items (strings or JSON objects) that are turned
/// into documents by the `content` and `metadata` options (R5).
pub fn new_simple_retriever<F, Fut>(opts: SimpleRetrieverOptions, handler: F) -> RetrieverAction
where
    F: Fn(Document, Option<Value>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<Value>>> + Send + 'static,
{
    let conv = Arc::new(opts.clone());
    let handler = Arc::new(handler);
    new_retriever(opts.retriever, move |q, o| {
        let (conv, handler) = (conv.clone(), handler.clone());
        async move {
            let items = handler(q, o).await?;
            let documents = items.iter().map(|i| item_to_document(i, &conv)).collect::<Result<Vec<_>>>()?;
            Ok(RetrieverResponse { documents })
        }
    })
}

async fn lookup(registry: &Registry, kind: &str, name: &str) -> Result<Arc<dyn Action>> {
    let what = if kind == "retriever" { "the retriever" } else { "the provided indexer" };
    let verb = if kind == "retriever" { "resolve" } else { "utilize" };
    registry
        .lookup_action(&format!("/{kind}/{name}"))
        .await?
        .ok_or_else(|| Error::new(Status::NotFound, format!("Unable to {verb} {what}: /{kind}/{name} not found")))
}

/// What to retrieve with: a query string or document.
#[derive(Debug, Clone, PartialEq)]
pub struct Query(pub DocumentData);

impl From<&str> for Query {
    fn from(s: &str) -> Self {
        Query(Document::from_text(s))
    }
}

impl From<String> for Query {
    fn from(s: String) -> Self {
        Query(Document::from_text(s))
    }
}

impl From<DocumentData> for Query {
    fn from(d: DocumentData) -> Self {
        Query(d)
    }
}

/// Retrieves documents with the retriever `name` (JS `ai.retrieve`).
///
/// # Errors
/// `NOT_FOUND` `Unable to resolve the retriever: …` when it does not exist (JS throws a plain
/// error with the first part of that message), invalid options, and the retriever's errors.
pub async fn retrieve(
    registry: &Registry,
    name: &str,
    query: impl Into<Query>,
    options: Option<Value>,
) -> Result<Vec<Document>> {
    let action = lookup(registry, "retriever", name).await?;
    let req = RetrieverRequest { query: query.into().0, options };
    if let Some(typed) = action.as_any().downcast_ref::<RetrieverAction>() {
        return Ok(typed.run(req).await?.documents);
    }
    let out = action.run_json(serde_json::to_value(req).map_err(Error::internal)?, RunOptions::default()).await?;
    let resp: RetrieverResponse = serde_json::from_value(out.result)
        .map_err(|e| Error::internal(format!("retriever {name} returned an invalid response: {e}")))?;
    Ok(resp.documents)
}

/// Stores documents with the indexer `name` (JS `ai.index`).
///
/// # Errors
/// `NOT_FOUND` when it does not exist, invalid options, and the indexer's errors.
pub async fn index(registry: &Registry, name: &str, documents: Vec<Document>, options: Option<Value>) -> Result<()> {
    let action = lookup(registry, "indexer", name).await?;
    let req = IndexerRequest { documents, options };
    if let Some(typed) = action.as_any().downcast_ref::<IndexerAction>() {
        return typed.run(req).await;
    }
    action.run_json(serde_json::to_value(req).map_err(Error::internal)?, RunOptions::default()).await.map(|_| ())
}
