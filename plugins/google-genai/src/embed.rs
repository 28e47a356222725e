//! Embedders: `models/{id}:embedContent` for one document, `:batchEmbedContents` for more.

use std::sync::Arc;

use genkit_ai::embedder::{Embedder, EmbedderInfo, EmbedderOptions, EmbedderSupports};
use genkit_ai::{DocumentData, EmbedRequest, EmbedResponse, Embedding};
use genkit_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::Client;
use crate::error::bad_response;

/// Options of the embedders (`options` of an embed call).
///
/// ```
/// use genkit_google_genai::EmbedConfig;
/// let c: EmbedConfig = serde_json::from_value(serde_json::json!({
///     "taskType": "RETRIEVAL_DOCUMENT", "outputDimensionality": 256
/// })).unwrap();
/// assert_eq!(c.output_dimensionality, Some(256));
/// ```
#[derive(Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbedConfig {
    /// What the vectors are for: `RETRIEVAL_QUERY`, `RETRIEVAL_DOCUMENT`,
    /// `SEMANTIC_SIMILARITY`, `CLASSIFICATION`, `CLUSTERING`, `QUESTION_ANSWERING`,
    /// `FACT_VERIFICATION`, `CODE_RETRIEVAL_QUERY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<String>,
    /// A title of the documents (with `RETRIEVAL_DOCUMENT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Shortens the vectors to this many dimensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_dimensionality: Option<u32>,
    /// Embedder id to call instead of the action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// API key for this call only; never serialized.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub api_key: Option<String>,
}

impl std::fmt::Debug for EmbedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbedConfig")
            .field("task_type", &self.task_type)
            .field("title", &self.title)
            .field("output_dimensionality", &self.output_dimensionality)
            .field("version", &self.version)
            .field("api_key", &self.api_key.as_ref().map(|_| genkit_http::REDACTED))
            .finish()
    }
}

/// Builds the embedder action `<plugin>/<id>`.
pub(crate) fn embedder(plugin: &str, client: Arc<Client>, id: &str, dimensions: Option<usize>) -> Embedder {
    let info = EmbedderInfo {
        label: Some(format!("Google AI - {id}")),
        supports: Some(EmbedderSupports { input: Some(vec!["text".into()]), multilingual: Some(true) }),
        dimensions,
    };
    let opts = EmbedderOptions::new(format!("{plugin}/{id}"))
        .info(info)
        .config_schema(genkit_core::schema_for::<EmbedConfig>());
    let id: Arc<str> = id.into();
    genkit_ai::embedder::new(opts, move |req, _cx| {
        let client = client.clone();
        let id = id.clone();
        async move { run(&client, &id, req).await }
    })
}

/// One `EmbedContentRequest` for a document: its text and media parts (media for the
/// models that embed it, e.g. images as `inlineData` or `fileData`).
fn request(client: &Client, model: &str, doc: &DocumentData, cfg: &EmbedConfig) -> Result<Value> {
    let mut r = Map::new();
    r.insert("model".into(), Value::String(client.model_resource(model)));
    let mut parts = crate::encode::encode_parts(&doc.content, false)?;
    if parts.is_empty() {
        parts.push(json!({"text": ""}));
    }
    r.insert("content".into(), json!({ "parts": parts }));
    if let Some(t) = &cfg.task_type {
        r.insert("taskType".into(), Value::String(t.clone()));
    }
    if let Some(t) = &cfg.title {
        r.insert("title".into(), Value::String(t.clone()));
    }
    if let Some(d) = cfg.output_dimensionality {
        r.insert("outputDimensionality".into(), Value::from(d));
    }
    Ok(Value::Object(r))
}

fn values(e: &Value) -> Option<Vec<f32>> {
    #[allow(clippy::cast_possible_truncation)] // f64 → f32 is the vector's precision.
    e.get("values")?.as_array()?.iter().map(|x| x.as_f64().map(|f| f as f32)).collect()
}

async fn run(client: &Client, id: &str, req: EmbedRequest) -> Result<EmbedResponse> {
    let cfg: EmbedConfig = match &req.options {
        None | Some(Value::Null) => EmbedConfig::default(),
        Some(v) => EmbedConfig::deserialize(v)
            .map_err(|e| Error::invalid_argument(format!("invalid embedder options: {e}")))?,
    };
    let model = cfg.version.clone().unwrap_or_else(|| id.to_owned());
    let n = req.input.len();
    if n == 0 {
        return Ok(EmbedResponse { embeddings: Vec::new() });
    }
    let vectors: Vec<Value> = if n == 1 {
        let body = match req.input.first() {
            Some(doc) => request(client, &model, doc, &cfg)?,
            None => return Ok(EmbedResponse { embeddings: Vec::new() }),
        };
        let resp =
            client.post_json(&client.model_path(&model, "embedContent"), &[], &body, cfg.api_key.as_deref()).await?;
        let answer: Value = client.json(resp).await?;
        vec![answer.get("embedding").cloned().unwrap_or(Value::Null)]
    } else {
        let requests = req.input.iter().map(|d| request(client, &model, d, &cfg)).collect::<Result<Vec<Value>>>()?;
        let body = json!({ "requests": requests });
        let path = client.model_path(&model, "batchEmbedContents");
        let resp = client.post_json(&path, &[], &body, cfg.api_key.as_deref()).await?;
        let answer: Value = client.json(resp).await?;
        answer.get("embeddings").and_then(Value::as_array).cloned().unwrap_or_default()
    };
    if vectors.len() != n {
        return Err(bad_response(&client.origin, format!("{} embeddings for {n} inputs", vectors.len())));
    }
    let embeddings = vectors
        .iter()
        .map(|v| values(v).map(|embedding| Embedding { embedding, metadata: None }))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad_response(&client.origin, "an embedding has no `values` number array"))?;
    Ok(EmbedResponse { embeddings })
}
