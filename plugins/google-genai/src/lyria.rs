//! Lyria music models (`lyria-002`, Vertex AI only): `:predict` with one instance
//! `{prompt, negative_prompt?, seed?}` and `parameters: {sample_count}` (the documented
//! snake_case keys); each prediction's `bytesBase64Encoded` WAV clip comes back as a media
//! part `data:audio/wav;base64,...`. The Gemini API has no such endpoint, so only the Vertex
//! AI backend registers these models (through [`lyria_model`]).

use std::sync::Arc;

use genkit_ai::model::Model;
use genkit_ai::{ModelRequest, ModelSupports, Part};
use genkit_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::Client;
use crate::imagen::{media_model_options, media_response, parse};
use crate::models::ModelSpec;
use crate::predict;

/// The Lyria models Genkit JS lists for Vertex AI.
pub const LYRIA_MODELS: [&str; 1] = ["lyria-002"];

/// Whether an id names a Lyria model.
pub(crate) fn is_lyria_id(id: &str) -> bool {
    id.starts_with("lyria-")
}

/// What the Lyria models take and give (as Genkit JS): one text prompt, audio out.
pub fn lyria_supports() -> ModelSupports {
    ModelSupports {
        media: Some(false),
        multiturn: Some(false),
        tools: Some(false),
        system_role: Some(false),
        output: Some(vec!["media".into()]),
        ..ModelSupports::default()
    }
}

/// Config of the Lyria models (as Genkit JS's).
///
/// ```
/// use genkit_google_genai::LyriaConfig;
/// let c: LyriaConfig = serde_json::from_value(serde_json::json!({"negativePrompt": "drums", "seed": 7})).unwrap();
/// assert_eq!(c.seed, Some(7));
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LyriaConfig {
    /// What to leave out of the music (sent as `negative_prompt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// Seed for repeatable results (not with `sampleCount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// How many clips (default 1; not with `seed`); sent as `sample_count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_count: Option<u32>,
    /// Model id to call instead of the action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Other keys (e.g. `location`, read by the Vertex AI backend), not sent.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Map<String, Value>,
}

/// The `:predict` body of a request.
pub(crate) fn lyria_request(req: &ModelRequest, cfg: &LyriaConfig) -> Result<Value> {
    if cfg.seed.is_some() && cfg.sample_count.is_some() {
        return Err(Error::invalid_argument(
            "Lyria takes either `seed` or `sampleCount`, not both: drop one of them from the config",
        ));
    }
    let prompt = predict::prompt_text(req);
    if prompt.trim().is_empty() {
        return Err(Error::invalid_argument("Lyria needs a text prompt describing the music"));
    }
    let mut instance = Map::new();
    instance.insert("prompt".into(), Value::String(prompt));
    if let Some(n) = &cfg.negative_prompt {
        instance.insert("negative_prompt".into(), Value::String(n.clone()));
    }
    if let Some(s) = cfg.seed {
        instance.insert("seed".into(), Value::from(s));
    }
    let mut params = Map::new();
    if cfg.seed.is_none() {
        params.insert("sample_count".into(), Value::from(cfg.sample_count.unwrap_or(1)));
    }
    Ok(predict::predict_body(instance, params))
}

/// Builds the Lyria model action `<plugin>/<id>`; for the Vertex AI backend (the Gemini API
/// serves no Lyria `:predict`), which hands it a client for [`LYRIA_LOCATION`](crate::LYRIA_LOCATION).
pub(crate) fn lyria_model(plugin: &str, client: Arc<Client>, spec: &ModelSpec) -> Model {
    let opts = media_model_options(plugin, spec, genkit_core::schema_for::<LyriaConfig>());
    let id: Arc<str> = spec.id.as_str().into();
    genkit_ai::model::new(opts, move |req, cx| {
        let client = client.clone();
        let id = id.clone();
        async move {
            let cfg: LyriaConfig = parse(req.config.as_ref())?;
            let body = lyria_request(&req, &cfg)?;
            // A `location` in the config calls another Vertex AI location than the model's.
            let client = match cfg.extra.get("location") {
                None | Some(Value::Null) => client,
                Some(Value::String(l)) => Arc::new(client.in_location(l)?),
                Some(other) => {
                    return Err(Error::invalid_argument(format!(
                        "invalid Lyria config location {other}: expected a location name such as \"global\""
                    )));
                }
            };
            let model = cfg.version.clone().unwrap_or_else(|| id.to_string());
            let path = client.model_path(&model, "predict");
            let call = async {
                let resp = client.post_json(&path, &[], &body, None).await?;
                client.json::<Value>(resp).await
            };
            let raw = predict::until_cancelled(&client.origin, cx.cancellation().cancelled(), call).await?;
            let predictions = raw.get("predictions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let parts: Vec<Part> =
                predictions.iter().filter_map(|p| predict::prediction_media(p, "audio/wav")).collect();
            Ok(media_response(parts, predictions, &req, "audio clips"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use genkit_ai::{FinishReason, Message};
    use serde_json::json;

    #[test]
    fn the_request_uses_the_documented_keys_and_refuses_seed_with_count() {
        let req = ModelRequest { messages: vec![Message::user("calm piano")], ..ModelRequest::default() };
        let cfg: LyriaConfig =
            parse(Some(&json!({"negativePrompt": "drums", "sampleCount": 2, "location": "global"}))).unwrap();
        assert_eq!(
            lyria_request(&req, &cfg).unwrap(),
            json!({"instances": [{"prompt": "calm piano", "negative_prompt": "drums"}], "parameters": {"sample_count": 2}})
        );
        let cfg: LyriaConfig = parse(Some(&json!({"seed": 42}))).unwrap();
        assert_eq!(
            lyria_request(&req, &cfg).unwrap(),
            json!({"instances": [{"prompt": "calm piano", "seed": 42}], "parameters": {}})
        );
        let cfg: LyriaConfig = parse(Some(&json!({"seed": 1, "sampleCount": 2}))).unwrap();
        assert_eq!(lyria_request(&req, &cfg).unwrap_err().status(), genkit_core::Status::InvalidArgument);
        let empty = ModelRequest { messages: vec![Message::user("  ")], ..ModelRequest::default() };
        assert!(lyria_request(&empty, &LyriaConfig::default()).is_err());
    }

    #[tokio::test]
    async fn lyria_predicts_wav_clips_over_http() {
        use wiremock::matchers::{body_json, method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/models/lyria-002:predict"))
            .and(body_json(
                json!({"instances": [{"prompt": "an upbeat synthwave track"}], "parameters": {"sample_count": 1}}),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "predictions": [{"bytesBase64Encoded": "UklGRiQAAABXQVZF", "mimeType": "audio/wav"}],
                "deployedModelId": "123", "model": "projects/p/locations/global/publishers/google/models/lyria-002"
            })))
            .expect(1)
            .mount(&server)
            .await;
        let client = Arc::new(
            Client::new(crate::client::ClientSettings {
                origin: "vertexai".into(),
                base_url: server.uri(),
                api_version: "v1".into(),
                api_key: None,
                key_transport: crate::client::KeyTransport::Header,
                http: genkit_http::HttpOptions::default(),
                backend: crate::client::Backend::GeminiApi,
                tokens: None,
            })
            .unwrap(),
        );
        let m = lyria_model("vertexai", client, &ModelSpec::new("lyria-002"));
        let meta = m.as_action().metadata().clone();
        assert_eq!(&*meta.name, "vertexai/lyria-002");
        let req =
            ModelRequest { messages: vec![Message::user("an upbeat synthwave track")], ..ModelRequest::default() };
        let resp = m.run(req).await.unwrap();
        assert_eq!(resp.finish_reason, Some(FinishReason::Stop));
        let media = resp.message.unwrap().content[0].media.clone().unwrap();
        assert_eq!(media.url, "data:audio/wav;base64,UklGRiQAAABXQVZF");
        assert_eq!(media.content_type.as_deref(), Some("audio/wav"));
    }
}
