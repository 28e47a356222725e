//! Embedders: turn documents into vectors. `embedder::new` builds an `/embedder/<name>`
//! action from an async function; [`embed`] and [`embed_many`] call one by name.

use std::future::Future;
use std::sync::Arc;

use genkit_core::{ActionCx, ActionDef, ActionType, Error, Registry, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::DocumentData;

/// One embedding vector, with optional metadata (for example which part of a document it covers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Embedding {
    /// The vector.
    pub embedding: Vec<f32>,
    /// Metadata of this embedding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl Embedding {
    /// An embedding of `vector` without metadata.
    pub fn new(vector: Vec<f32>) -> Self {
        Embedding { embedding: vector, metadata: None }
    }
}

/// Input of an embedder action: `{input: DocumentData[], options?}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbedRequest {
    /// The documents to embed.
    pub input: Vec<DocumentData>,
    /// Embedder-specific options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
}

/// Output of an embedder action: `{embeddings}`, one or more per input document, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbedResponse {
    /// The embeddings.
    pub embeddings: Vec<Embedding>,
}

/// What kinds of input an embedder accepts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbedderSupports {
    /// Input kinds: `"text"`, `"image"`, `"video"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Vec<String>>,
    /// Whether the embedder handles many languages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multilingual: Option<bool>,
}

/// Descriptive information about an embedder (JS `EmbedderInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbedderInfo {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Supported inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports: Option<EmbedderSupports>,
    /// Length of the vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<usize>,
}

/// An embedder (JS `EmbedderAction`): a typed handle, cheap to clone. Build one with [`new`],
/// or define it with `Genkit::define_embedder`.
pub type Embedder = ActionDef<EmbedRequest, EmbedResponse>;

/// What an embedder function receives besides the request.
pub type EmbedderCx = ActionCx<()>;

/// Options of an embedder: name, info and the JSON schema of its options.
#[derive(Debug, Clone, Default)]
pub struct EmbedderOptions {
    name: String,
    info: Option<EmbedderInfo>,
    config_schema: Option<Value>,
}

impl EmbedderOptions {
    /// Options for an embedder named `name` (for example `"local/all-minilm-l6-v2"`).
    pub fn new(name: impl Into<String>) -> Self {
        EmbedderOptions { name: name.into(), ..Self::default() }
    }

    /// Sets the info (label, supported input, dimensions).
    #[must_use]
    pub fn info(mut self, info: EmbedderInfo) -> Self {
        self.info = Some(info);
        self
    }

    /// Sets the JSON schema of the embedder's options (shown as `customOptions`).
    #[must_use]
    pub fn config_schema(mut self, schema: Value) -> Self {
        self.config_schema = Some(schema);
        self
    }
}

/// The builder every embedder action starts from (shared with [`embedder_action_metadata`]).
fn embedder_builder(opts: EmbedderOptions) -> genkit_core::ActionBuilder<EmbedRequest, EmbedResponse, ()> {
    let EmbedderOptions { name, info, config_schema } = opts;
    let mut embedder = Map::new();
    if let Some(s) = config_schema {
        embedder.insert("customOptions".into(), s);
    }
    let mut b = ActionDef::<EmbedRequest, EmbedResponse>::builder(ActionType::Embedder, name)
        .metadata("type", json!("embedder"))
        .metadata("embedder", Value::Object(embedder))
        .initializes_plugins();
    if let Some(info) = info {
        if let Some(l) = &info.label {
            b = b.description(l.clone());
        }
        b = b.metadata("info", serde_json::to_value(info).unwrap_or(Value::Null));
    }
    b
}

/// Builds an embedder action (JS `embedder()`); register it with `Genkit::define_embedder` or
/// return it from a plugin. Metadata follows JS: `{type: "embedder", info, embedder: {customOptions}}`.
pub fn new<F, Fut>(opts: EmbedderOptions, f: F) -> Embedder
where
    F: Fn(EmbedRequest, EmbedderCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<EmbedResponse>> + Send + 'static,
{
    embedder_builder(opts).build(f)
}

/// The metadata of the embedder action `opts` describes, without defining it (JS
/// `embedderActionMetadata({name, info, configSchema})`): exactly what [`new`] would
/// produce. For a plugin's [`Plugin::list`](genkit_core::Plugin::list).
///
/// ```
/// use genkit_ai::embedder::{self, EmbedderOptions, embedder_action_metadata};
/// let opts = EmbedderOptions::new("acme/embed").config_schema(serde_json::json!({"type": "object"}));
/// let listed = embedder_action_metadata(&opts);
/// let defined = embedder::new(opts, |_req, _cx| async { Ok(Default::default()) });
/// assert_eq!(&listed, defined.metadata());
/// ```
pub fn embedder_action_metadata(opts: &EmbedderOptions) -> genkit_core::ActionMetadata {
    embedder_builder(opts.clone())
        .build(|_req, _cx| async { Err(Error::new(genkit_core::Status::Unimplemented, "metadata only")) })
        .metadata()
        .clone()
}

/// A reference to an embedder by name with default options and version (JS `embedderRef`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmbedderRef {
    /// Embedder name, e.g. `"local/all-minilm-l6-v2"`.
    pub name: String,
    /// Default options, merged under the call's options.
    pub config: Option<Map<String, Value>>,
    /// Version passed as `options.version`.
    pub version: Option<String>,
}

impl EmbedderRef {
    /// A reference to the embedder `name`.
    pub fn new(name: impl Into<String>) -> Self {
        EmbedderRef { name: name.into(), ..Self::default() }
    }
}

impl From<&str> for EmbedderRef {
    fn from(name: &str) -> Self {
        EmbedderRef::new(name)
    }
}

impl From<String> for EmbedderRef {
    fn from(name: String) -> Self {
        EmbedderRef::new(name)
    }
}

impl From<&Embedder> for EmbedderRef {
    fn from(a: &Embedder) -> Self {
        EmbedderRef::new(a.name())
    }
}

/// What to embed with [`embed`]: a string or a document.
#[derive(Debug, Clone, PartialEq)]
pub enum EmbedContent {
    /// Text, embedded as a text document.
    Text(String),
    /// A document.
    Document(DocumentData),
}

impl From<&str> for EmbedContent {
    fn from(s: &str) -> Self {
        EmbedContent::Text(s.to_owned())
    }
}

impl From<String> for EmbedContent {
    fn from(s: String) -> Self {
        EmbedContent::Text(s)
    }
}

impl From<DocumentData> for EmbedContent {
    fn from(d: DocumentData) -> Self {
        EmbedContent::Document(d)
    }
}

/// Parameters of [`embed`] (JS `EmbedderParams`).
#[derive(Debug, Clone)]
pub struct EmbedParams {
    /// The embedder.
    pub embedder: EmbedderRef,
    /// What to embed.
    pub content: EmbedContent,
    /// Metadata attached to a text document.
    pub metadata: Option<Map<String, Value>>,
    /// Options, merged over the reference's config.
    pub options: Option<Map<String, Value>>,
}

impl EmbedParams {
    /// Embed `content` with `embedder`.
    pub fn new(embedder: impl Into<EmbedderRef>, content: impl Into<EmbedContent>) -> Self {
        EmbedParams { embedder: embedder.into(), content: content.into(), metadata: None, options: None }
    }

    /// Sets the options.
    #[must_use]
    pub fn options(mut self, options: Map<String, Value>) -> Self {
        self.options = Some(options);
        self
    }
}

async fn lookup(registry: &Registry, name: &str) -> Result<Arc<dyn genkit_core::Action>> {
    registry
        .lookup_action(&format!("/embedder/{name}"))
        .await?
        .ok_or_else(|| Error::new(genkit_core::Status::NotFound, format!("Unable to resolve embedder {name}")))
}

async fn call(action: &dyn genkit_core::Action, req: EmbedRequest) -> Result<EmbedResponse> {
    if let Some(typed) = action.as_any().downcast_ref::<Embedder>() {
        return typed.run(req).await;
    }
    let input = serde_json::to_value(req).map_err(|e| Error::internal(e.to_string()))?;
    let out = action.run_json(input, genkit_core::RunOptions::default()).await?;
    serde_json::from_value(out.result)
        .map_err(|e| Error::internal(format!("embedder {} returned an invalid response: {e}", action.name())))
}

/// Embeds one piece of content (JS `ai.embed`): options are `{version, ...ref.config,
/// ...params.options}`. Returns the embeddings of that content (usually one).
///
/// # Errors
/// `NOT_FOUND` `Unable to resolve embedder <name>` (JS's message; JS throws a plain `Error`) when no
/// such embedder exists, and the embedder's own errors.
pub async fn embed(registry: &Registry, params: EmbedParams) -> Result<Vec<Embedding>> {
    let EmbedParams { embedder, content, metadata, options } = params;
    let action = lookup(registry, &embedder.name).await?;
    let doc = match content {
        EmbedContent::Text(t) => DocumentData { content: vec![crate::Part::text(t)], metadata },
        EmbedContent::Document(d) => d,
    };
    let mut opts = Map::new();
    if let Some(v) = embedder.version {
        opts.insert("version".into(), Value::String(v));
    }
    opts.extend(embedder.config.unwrap_or_default());
    opts.extend(options.unwrap_or_default());
    let req = EmbedRequest { input: vec![doc], options: Some(Value::Object(opts)) };
    Ok(call(action.as_ref(), req).await?.embeddings)
}

/// Embeds many pieces of content in one call (JS `ai.embedMany`); the reference's config is
/// not merged, as in JS.
///
/// # Errors
/// As [`embed`].
pub async fn embed_many(
    registry: &Registry,
    embedder: impl Into<EmbedderRef>,
    content: Vec<EmbedContent>,
    options: Option<Value>,
) -> Result<Vec<Embedding>> {
    let embedder = embedder.into();
    let action = lookup(registry, &embedder.name).await?;
    let input = content
        .into_iter()
        .map(|c| match c {
            EmbedContent::Text(t) => DocumentData::from_text(t),
            EmbedContent::Document(d) => d,
        })
        .collect();
    Ok(call(action.as_ref(), EmbedRequest { input, options }).await?.embeddings)
}

/// Cosine similarity of two vectors (0 when either is all zeros or the lengths differ).
pub fn cosine_similarity(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na.sqrt() * nb.sqrt()) }
}
