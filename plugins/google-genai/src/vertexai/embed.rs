//! Vertex AI text embedders: `publishers/google/models/{id}:predict` with
//! `{instances: [{content, task_type, title}], parameters: {outputDimensionality}}`, answered
//! by `{predictions: [{embeddings: {values, statistics}}]}`.

use std::sync::Arc;

use genkit_ai::embedder::{Embedder, EmbedderInfo, EmbedderOptions, EmbedderSupports};
use genkit_ai::{EmbedRequest, EmbedResponse, Embedding};
use genkit_core::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::client::Client;
use crate::embed::EmbedConfig;
use crate::error::bad_response;

/// Builds the embedder action `<plugin>/<id>`.
pub(crate) fn embedder(plugin: &str, client: Arc<Client>, id: &str, dimensions: Option<usize>) -> Embedder {
    let info = EmbedderInfo {
        label: Some(format!("Vertex AI - {id}")),
        supports: Some(EmbedderSupports {
            input: Some(vec!["text".into()]),
            multilingual: Some(id.contains("multilingual") || id.starts_with("gemini-")),
        }),
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

/// The `:predict` body for `texts`.
pub(crate) fn predict_body(texts: &[String], cfg: &EmbedConfig) -> Value {
    let instances: Vec<Value> = texts
        .iter()
        .map(|t| {
            let mut i = Map::new();
            i.insert("content".into(), Value::String(t.clone()));
            if let Some(k) = &cfg.task_type {
                i.insert("task_type".into(), Value::String(k.clone()));
            }
            if let Some(k) = &cfg.title {
                i.insert("title".into(), Value::String(k.clone()));
            }
            Value::Object(i)
        })
        .collect();
    let mut body = json!({ "instances": instances });
    if let Some(d) = cfg.output_dimensionality {
        body["parameters"] = json!({ "outputDimensionality": d });
    }
    body
}

fn vector(p: &Value) -> Option<Vec<f32>> {
    #[allow(clippy::cast_possible_truncation)] // f64 → f32 is the vector's precision.
    p.get("embeddings")?.get("values")?.as_array()?.iter().map(|x| x.as_f64().map(|f| f as f32)).collect()
}

async fn run(client: &Client, id: &str, req: EmbedRequest) -> Result<EmbedResponse> {
    let cfg: EmbedConfig = match &req.options {
        None | Some(Value::Null) => EmbedConfig::default(),
        Some(v) => EmbedConfig::deserialize(v)
            .map_err(|e| Error::invalid_argument(format!("invalid embedder options: {e}")))?,
    };
    let model = cfg.version.clone().unwrap_or_else(|| id.to_owned());
    let texts: Vec<String> = req.input.iter().map(genkit_ai::DocumentData::text).collect();
    if texts.is_empty() {
        return Ok(EmbedResponse { embeddings: Vec::new() });
    }
    let body = predict_body(&texts, &cfg);
    let resp = client.post_json(&client.model_path(&model, "predict"), &[], &body, cfg.api_key.as_deref()).await?;
    let answer: Value = client.json(resp).await?;
    let predictions = answer.get("predictions").and_then(Value::as_array).cloned().unwrap_or_default();
    if predictions.len() != texts.len() {
        return Err(bad_response(
            &client.origin,
            format!("{} predictions for {} inputs", predictions.len(), texts.len()),
        ));
    }
    let embeddings = predictions
        .iter()
        .map(|p| vector(p).map(|embedding| Embedding { embedding, metadata: None }))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad_response(&client.origin, "a prediction has no `embeddings.values` number array"))?;
    Ok(EmbedResponse { embeddings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predict_bodies_use_snake_case_instance_keys() {
        let cfg = EmbedConfig {
            task_type: Some("RETRIEVAL_QUERY".into()),
            output_dimensionality: Some(64),
            ..EmbedConfig::default()
        };
        assert_eq!(
            predict_body(&["a".into()], &cfg),
            json!({"instances": [{"content": "a", "task_type": "RETRIEVAL_QUERY"}], "parameters": {"outputDimensionality": 64}})
        );
    }
}
