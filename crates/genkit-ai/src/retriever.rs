//! Retrievers: `/retriever/<name>` takes a query document and returns documents.
//! [`new`] and [`new_simple`] build one; [`retrieve`] calls one by name, reference or handle.

use std::future::Future;
use std::sync::Arc;

use genkit_core::{ActionBuilder, ActionCx, ActionDef, ActionType, Error, Registry, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::action_ref::{action_ref, call, lookup, merge_options};
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

/// A retriever (JS `RetrieverAction`): a typed handle, cheap to clone. Build one with [`new`]
/// or [`new_simple`], or define it with `Genkit::define_retriever`.
pub type Retriever = ActionDef<RetrieverRequest, RetrieverResponse>;

/// What a retriever function receives besides the request: the registry it is registered in
/// (`cx.registry()`), the action context and the cancellation token.
pub type RetrieverCx = ActionCx<()>;

/// Options of a retriever: name, JSON schema of its options, info.
#[derive(Debug, Clone, Default)]
pub struct RetrieverOptions {
    /// Action name.
    pub name: String,
    /// JSON schema of `options`: validated on input and shown as `customOptions`.
    pub config_schema: Option<Value>,
    /// Retriever info.
    pub info: Option<RetrieverInfo>,
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

    /// Sets the info (label, what it supports).
    #[must_use]
    pub fn info(mut self, info: RetrieverInfo) -> Self {
        self.info = Some(info);
        self
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

pub(crate) fn custom_options(config: Option<&Value>) -> Value {
    let mut m = Map::new();
    if let Some(c) = config {
        m.insert("customOptions".into(), c.clone());
    }
    Value::Object(m)
}

/// The builder of a retriever action with its schemas and JS metadata set (`{type: "retriever",
/// info, retriever: {customOptions}}`).
fn builder(opts: RetrieverOptions) -> ActionBuilder<RetrieverRequest, RetrieverResponse, ()> {
    let RetrieverOptions { name, config_schema, info } = opts;
    let mut b = ActionDef::<RetrieverRequest, RetrieverResponse>::builder(ActionType::Retriever, name)
        .input_schema(request_schema::<RetrieverRequest>(config_schema.as_ref()))
        .metadata("type", json!("retriever"))
        .metadata("retriever", custom_options(config_schema.as_ref()));
    if let Some(info) = &info {
        b = b.metadata("info", serde_json::to_value(info).unwrap_or(Value::Null));
    }
    b
}

/// Builds a retriever (JS `retriever()`); register it with `Genkit::define_retriever` or return
/// it from a plugin. The function gets the request (`{query, options}`) and a [`RetrieverCx`].
///
/// ```
/// use genkit_ai::retriever::{self, RetrieverOptions, RetrieverResponse};
/// let words = retriever::new(RetrieverOptions::new("words"), |req, _cx| async move {
///     let documents = req.query.text().split(' ').map(genkit_ai::Document::from_text).collect();
///     Ok(RetrieverResponse { documents })
/// });
/// assert_eq!(words.name(), "words");
/// ```
pub fn new<F, Fut>(opts: RetrieverOptions, f: F) -> Retriever
where
    F: Fn(RetrieverRequest, RetrieverCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<RetrieverResponse>> + Send + 'static,
{
    builder(opts).build(f)
}

/// How a simple retriever turns an item into a document's content.
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

/// How a simple retriever picks an item's metadata.
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

/// Options of [`new_simple`] (JS `defineSimpleRetriever`).
#[derive(Debug, Clone, Default)]
pub struct SimpleRetrieverOptions {
    /// Name and options schema.
    pub retriever: RetrieverOptions,
    /// How to get the content of object items (strings are always text).
    pub content: Option<ItemContent>,
    /// How to get metadata; default: the whole item minus the content key.
    pub metadata: Option<ItemMetadata>,
}

impl SimpleRetrieverOptions {
    /// Options for a simple retriever named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        SimpleRetrieverOptions { retriever: RetrieverOptions::new(name), ..Self::default() }
    }

    /// Sets how the content of object items is found.
    #[must_use]
    pub fn content(mut self, content: ItemContent) -> Self {
        self.content = Some(content);
        self
    }

    /// Sets how the metadata of items is found.
    #[must_use]
    pub fn metadata(mut self, metadata: ItemMetadata) -> Self {
        self.metadata = Some(metadata);
        self
    }
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
/// into documents by the `content` and `metadata` options (JS `defineSimpleRetriever`).
pub fn new_simple<F, Fut>(opts: SimpleRetrieverOptions, handler: F) -> Retriever
where
    F: Fn(RetrieverRequest, RetrieverCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<Value>>> + Send + 'static,
{
    let conv = Arc::new(opts.clone());
    let handler = Arc::new(handler);
    new(opts.retriever, move |req, cx| {
        let (conv, handler) = (conv.clone(), handler.clone());
        async move {
            let items = handler(req, cx).await?;
            let documents = items.iter().map(|i| item_to_document(i, &conv)).collect::<Result<Vec<_>>>()?;
            Ok(RetrieverResponse { documents })
        }
    })
}

action_ref!("retriever", RetrieverRef, RetrieverArg, Retriever, "devLocalVectorstore/facts");

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

impl From<&String> for Query {
    fn from(s: &String) -> Self {
        Query(Document::from_text(s.as_str()))
    }
}

impl From<DocumentData> for Query {
    fn from(d: DocumentData) -> Self {
        Query(d)
    }
}

/// What [`retrieve`] takes (JS `RetrieverParams`): the retriever, the query and its options.
///
/// ```
/// use genkit_ai::retriever::{RetrieveOptions, RetrieverRef};
/// let facts = RetrieverRef::new("facts").with_config(serde_json::json!({"k": 3}));
/// let opts = RetrieveOptions::new(&facts).query("Where is Paris?").options(serde_json::json!({"k": 5}));
/// assert_eq!(opts.retriever.name(), "facts");
/// ```
#[derive(Debug, Clone)]
pub struct RetrieveOptions {
    /// The retriever: a name, a [`RetrieverRef`] or a [`Retriever`] handle.
    pub retriever: RetrieverArg,
    /// The query (default: an empty document).
    pub query: DocumentData,
    /// Retriever-specific options (commonly `{k}`), merged over the reference's defaults.
    pub options: Option<Value>,
}

impl RetrieveOptions {
    /// Retrieve with `retriever`.
    pub fn new(retriever: impl Into<RetrieverArg>) -> Self {
        RetrieveOptions { retriever: retriever.into(), query: DocumentData::default(), options: None }
    }

    /// Sets the query: a text or a document.
    #[must_use]
    pub fn query(mut self, query: impl Into<Query>) -> Self {
        self.query = query.into().0;
        self
    }

    /// Sets the options (e.g. `{"k": 3}`).
    #[must_use]
    pub fn options(mut self, options: Value) -> Self {
        self.options = Some(options);
        self
    }
}

/// Retrieves documents (JS `ai.retrieve`). A reference's default options are merged under
/// the call's; a handle is called directly.
///
/// # Errors
/// `NOT_FOUND` `Unable to resolve the retriever: …` when there is no such retriever (JS throws
/// a plain error with the first part of that message), invalid options, and the retriever's errors.
pub async fn retrieve(registry: &Registry, opts: RetrieveOptions) -> Result<Vec<Document>> {
    let RetrieveOptions { retriever, query, options } = opts;
    let req = RetrieverRequest { query, options: merge_options(retriever.config(), options) };
    let resp = match &retriever {
        RetrieverArg::Handle(h) => h.run(req).await?,
        RetrieverArg::Name(_) | RetrieverArg::Ref(_) => {
            let name = retriever.name();
            let action = lookup(registry, "retriever", name, "Unable to resolve the retriever").await?;
            call(action.as_ref(), req, |e| {
                Error::internal(format!("retriever {name} returned an invalid response: {e}"))
            })
            .await?
        }
    };
    Ok(resp.documents)
}
