//! Embedders: `POST {base}/embeddings`.

use std::sync::Arc;

use base64::Engine;
use genkit_ai::embedder::{Embedder, EmbedderInfo, EmbedderOptions, EmbedderSupports};
use genkit_ai::{EmbedRequest, EmbedResponse, Embedding};
use genkit_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::bad_response;

/// Options of the embedders (`options` of an embed call); other keys are sent as is.
#[derive(Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbedConfig {
    /// Vector length (text-embedding-3 models can shorten their vectors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// `float` (default) or `base64` (smaller on the wire; decoded here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    /// End-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Embedder id to call instead of the action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// API key for this call only; never serialized.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub api_key: Option<String>,
    /// Other keys, sent as is.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for EmbedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::client::fmt_config(f, "EmbedConfig", self, self.api_key.is_some())
    }
}

#[derive(Serialize)]
struct Body<'a> {
    model: String,
    input: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u32>,
    encoding_format: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[derive(Deserialize)]
struct Answer {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    index: usize,
    embedding: Value,
}

/// Builds the embedder action `<plugin>/<id>`.
pub(crate) fn embedder(plugin: &str, client: Arc<Client>, id: &str, dimensions: Option<usize>) -> Embedder {
    let info = EmbedderInfo {
        label: Some(format!("{plugin} - {id}")),
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

async fn run(client: &Client, id: &str, req: EmbedRequest) -> Result<EmbedResponse> {
    let cfg: EmbedConfig = match &req.options {
        None | Some(Value::Null) => EmbedConfig::default(),
        Some(v) => serde::Deserialize::deserialize(v)
            .map_err(|e| Error::invalid_argument(format!("invalid embedder options: {e}")))?,
    };
    let base64 = cfg.encoding_format.as_deref() == Some("base64");
    let mut extra = cfg.extra;
    for k in ["model", "input", "dimensions", "encoding_format", "user"] {
        extra.remove(k);
    }
    let body = Body {
        model: cfg.version.unwrap_or_else(|| id.to_owned()),
        input: req.input.iter().map(genkit_ai::DocumentData::text).collect(),
        dimensions: cfg.dimensions,
        encoding_format: if base64 { "base64" } else { "float" },
        user: cfg.user,
        extra,
    };
    let n = body.input.len();
    let resp = client.post_json("embeddings", &body.model, &body, cfg.api_key.as_deref()).await?;
    let mut answer: Answer = client.json(resp).await?;
    answer.data.sort_by_key(|i| i.index);
    if answer.data.len() != n {
        return Err(bad_response(&client.origin, format!("{} embeddings for {n} inputs", answer.data.len())));
    }
    let embeddings = answer
        .data
        .into_iter()
        .map(|i| vector(&i.embedding).map(|embedding| Embedding { embedding, metadata: None }))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad_response(&client.origin, "an embedding is neither a number array nor base64"))?;
    Ok(EmbedResponse { embeddings })
}

/// A vector from `[numbers]` or base64 little-endian `f32`s.
pub(crate) fn vector(v: &Value) -> Option<Vec<f32>> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_f64().map(|f| f as f32)).collect(),
        Value::String(s) => {
            let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
            if bytes.len() % 4 != 0 {
                return None;
            }
            Some(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_decode_from_floats_and_base64() {
        assert_eq!(vector(&serde_json::json!([0.5, -1.0])), Some(vec![0.5, -1.0]));
        let mut raw = Vec::new();
        for f in [1.0f32, -2.5] {
            raw.extend_from_slice(&f.to_le_bytes());
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(vector(&Value::String(b64)), Some(vec![1.0, -2.5]));
        assert_eq!(vector(&Value::String("AAA=".into())), None);
        assert_eq!(vector(&serde_json::json!(["x"])), None);
    }
}
