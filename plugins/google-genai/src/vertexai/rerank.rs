//! Vertex AI rerankers: Discovery Engine's ranking API
//! (`POST https://discoveryengine.googleapis.com/v1/projects/{p}/locations/{l}/rankingConfigs/default_ranking_config:rank`
//! with `{model, query, records: [{id, content}], topN}`, answered by `{records: [{id, score}]}`
//! best first) as Genkit rerankers `vertexai/semantic-ranker-…`.

use std::sync::Arc;

use genkit_ai::reranker::{
    RankedDocumentData, RankedDocumentMetadata, Reranker, RerankerInfo, RerankerOptions, RerankerResponse,
};
use genkit_core::{Error, Result, Status};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::{Backend, Client};
use crate::error::bad_response;

/// The Discovery Engine API host.
pub const DISCOVERY_ENGINE_URL: &str = "https://discoveryengine.googleapis.com";

/// The semantic ranker models registered as `vertexai/<model>` rerankers.
pub const VERTEX_RERANKERS: [&str; 6] = [
    "semantic-ranker-default@latest",
    "semantic-ranker-default-004",
    "semantic-ranker-fast-004",
    "semantic-ranker-default-003",
    "semantic-ranker-default-002",
    "semantic-ranker-512@latest",
];

/// Options of the Vertex AI rerankers (`options` of a rerank call).
///
/// ```
/// use genkit_google_genai::RerankConfig;
/// let c: RerankConfig = serde_json::from_value(serde_json::json!({"topN": 3})).unwrap();
/// assert_eq!(c.top_n, Some(3));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RerankConfig {
    /// How many records come back (default: all). `k` is read as a synonym.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "k")]
    pub top_n: Option<u32>,
    /// Ranking model to call instead of the action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// Where the ranking API lives for one plugin.
#[derive(Debug, Clone)]
pub(crate) struct RankingApi {
    /// Scheme and host (default [`DISCOVERY_ENGINE_URL`]).
    pub(crate) base_url: String,
    /// The Discovery Engine location (default `global`).
    pub(crate) location: String,
}

/// True if `id` looks like a semantic ranker model.
pub(crate) fn is_ranker_id(id: &str) -> bool {
    id.starts_with("semantic-ranker-")
}

/// Builds the reranker `<plugin>/<model>`.
pub(crate) fn reranker(plugin: &str, client: Arc<Client>, api: RankingApi, model: &str) -> Reranker {
    let info = RerankerInfo { label: Some(format!("Vertex AI Reranker - {model}")), ..RerankerInfo::default() };
    let opts = RerankerOptions::new(format!("{plugin}/{model}")).config_type::<RerankConfig>().info(info);
    let model: Arc<str> = model.into();
    genkit_ai::reranker::new(opts, move |req, _cx| {
        let client = client.clone();
        let api = api.clone();
        let model = model.clone();
        async move { run(&client, &api, &model, req).await }
    })
}

/// The `:rank` body.
pub(crate) fn rank_body(model: &str, query: &str, docs: &[String], top_n: Option<u32>) -> Value {
    let records: Vec<Value> =
        docs.iter().enumerate().map(|(i, text)| json!({"id": i.to_string(), "content": text})).collect();
    let mut body = json!({"model": model, "query": query, "records": records, "ignoreRecordDetailsInResponse": true});
    if let Some(n) = top_n {
        body["topN"] = json!(n);
    }
    body
}

async fn run(
    client: &Client,
    api: &RankingApi,
    model: &str,
    req: genkit_ai::reranker::RerankerRequest,
) -> Result<RerankerResponse> {
    let Backend::Vertex { project, .. } = client.backend() else {
        return Err(Error::new(Status::FailedPrecondition, "Vertex AI rerankers need a project (not express mode)")
            .with_origin(client.origin.clone()));
    };
    let cfg: RerankConfig = match &req.options {
        None | Some(Value::Null) => RerankConfig::default(),
        Some(v) => RerankConfig::deserialize(v)
            .map_err(|e| Error::invalid_argument(format!("invalid reranker options: {e}")))?,
    };
    super::plugin::path_safe("ranking location", &api.location)?;
    if req.documents.is_empty() {
        return Ok(RerankerResponse { documents: Vec::new() });
    }
    let texts: Vec<String> = req.documents.iter().map(genkit_ai::DocumentData::text).collect();
    let model = cfg.model.as_deref().unwrap_or(model);
    let body = rank_body(model, &req.query.text(), &texts, cfg.top_n);
    let url = format!(
        "{}/v1/projects/{project}/locations/{}/rankingConfigs/default_ranking_config:rank",
        api.base_url.trim_end_matches('/'),
        api.location
    );
    let answer: Value = client.json(client.post_json_url(&url, &[], &body, None).await?).await?;
    let records = answer.get("records").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut documents = Vec::with_capacity(records.len());
    for r in records {
        let idx = r
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|i| *i < req.documents.len())
            .ok_or_else(|| bad_response(&client.origin, "a ranked record has no id of a given document"))?;
        // A record scored 0 may omit `score` (proto3 JSON leaves out zero values).
        let score = r.get("score").and_then(Value::as_f64).unwrap_or(0.0);
        let doc = &req.documents[idx];
        let rest: Map<String, Value> = doc.metadata.clone().unwrap_or_default();
        documents.push(RankedDocumentData {
            content: doc.content.clone(),
            metadata: RankedDocumentMetadata { score, rest },
        });
    }
    Ok(RerankerResponse { documents })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_bodies_number_the_records() {
        assert_eq!(
            rank_body("semantic-ranker-default@latest", "q", &["a".into(), "b".into()], Some(1)),
            json!({"model": "semantic-ranker-default@latest", "query": "q", "ignoreRecordDetailsInResponse": true,
                   "records": [{"id": "0", "content": "a"}, {"id": "1", "content": "b"}], "topN": 1})
        );
        assert!(is_ranker_id("semantic-ranker-fast-004") && !is_ranker_id("gemini-2.5-flash"));
    }
}
