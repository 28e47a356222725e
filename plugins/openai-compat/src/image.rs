//! Image generation models (`dall-e-3`, `gpt-image-1`, `grok-2-image-1212`):
//! `POST {base}/images/generations`; images come back as media parts.

use std::sync::Arc;

use genkit_ai::model::{Model, ModelOptions};
use genkit_ai::{FinishReason, GenerationUsage, Message, ModelRequest, ModelResponse, Part, Role};
use genkit_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::Client;
use crate::error::bad_response;
use crate::models::ModelSpec;

/// Config of the image models; other keys are sent as is.
#[derive(Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageConfig {
    /// `size`, e.g. `1024x1024`, `1792x1024`, `1024x1792` (dall-e-3), `1536x1024` (gpt-image-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// `quality`: `standard`/`hd` (dall-e-3), `low`/`medium`/`high`/`auto` (gpt-image-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    /// `style`: `vivid` or `natural` (dall-e-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// Number of images, 1–10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// `b64_json` (default, images become `data:` URLs) or `url`. Not sent for gpt-image
    /// models, which always answer base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<String>,
    /// End-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Model id to call instead of the action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// API key for this call only; never serialized.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub api_key: Option<String>,
    /// Other keys (`background`, `output_format`, `moderation`, …), sent as is.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for ImageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::client::fmt_config(f, "ImageConfig", self, self.api_key.is_some())
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    data: Vec<Item>,
    #[serde(default)]
    usage: Option<Value>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    b64_json: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    revised_prompt: Option<String>,
}

/// The text of the last user message (else of all messages): the prompt of single-turn models.
pub(crate) fn prompt_text(req: &ModelRequest) -> String {
    req.messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(Message::text)
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| req.messages.iter().map(Message::text).collect::<Vec<_>>().join("\n"))
}

/// The MIME type of base64 image data, from its first bytes.
fn sniff(b64: &str) -> &'static str {
    if b64.starts_with("/9j/") {
        "image/jpeg"
    } else if b64.starts_with("UklGR") {
        "image/webp"
    } else if b64.starts_with("R0lGOD") {
        "image/gif"
    } else {
        "image/png"
    }
}

/// Builds the request body.
pub(crate) fn encode(req: &ModelRequest, id: &str) -> Result<(Value, Option<String>)> {
    let cfg: ImageConfig = match &req.config {
        None | Some(Value::Null) => ImageConfig::default(),
        Some(v) => serde::Deserialize::deserialize(v)
            .map_err(|e| Error::invalid_argument(format!("invalid image model config: {e}")))?,
    };
    let prompt = prompt_text(req);
    if prompt.trim().is_empty() {
        return Err(Error::invalid_argument("an image model needs a text prompt"));
    }
    let model = cfg.version.unwrap_or_else(|| id.to_owned());
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("prompt".into(), json!(prompt));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            body.insert(k.into(), v);
        }
    };
    put("n", cfg.n.map(|n| json!(n)));
    put("size", cfg.size.map(Value::String));
    put("quality", cfg.quality.map(Value::String));
    put("style", cfg.style.map(Value::String));
    put("user", cfg.user.map(Value::String));
    let format = cfg.response_format.or_else(|| (!model.starts_with("gpt-image")).then(|| "b64_json".to_owned()));
    put("response_format", format.map(Value::String));
    for (k, v) in cfg.extra {
        body.entry(k).or_insert(v);
    }
    Ok((Value::Object(body), cfg.api_key))
}

/// Decodes `{created, data: [{b64_json | url, revised_prompt}]}`.
pub(crate) fn decode(origin: &str, raw: &[u8]) -> Result<ModelResponse> {
    let a: Answer = serde_json::from_slice(raw).map_err(|e| bad_response(origin, e))?;
    let mut parts = Vec::with_capacity(a.data.len());
    for item in a.data {
        let mut p = match (item.b64_json, item.url) {
            (Some(b), _) => {
                let mime = sniff(&b);
                Part::media(format!("data:{mime};base64,{b}"), Some(mime.to_owned()))
            }
            (None, Some(u)) => Part::media(u, None),
            (None, None) => return Err(bad_response(origin, "an image has neither b64_json nor url")),
        };
        if let Some(r) = item.revised_prompt {
            p = p.with_metadata("revisedPrompt", Value::String(r));
        }
        parts.push(p);
    }
    if parts.is_empty() {
        return Err(bad_response(origin, "no images in the answer"));
    }
    let usage = GenerationUsage { output_images: Some(parts.len() as f64), ..GenerationUsage::default() };
    Ok(ModelResponse {
        message: Some(Message::new(Role::Model, parts)),
        finish_reason: Some(FinishReason::Stop),
        usage: Some(usage),
        custom: a.usage.map(|u| json!({"usage": u})),
        ..ModelResponse::default()
    })
}

/// Builds the image model action `<plugin>/<id>`.
pub(crate) fn image_model(plugin: &str, client: Arc<Client>, spec: &ModelSpec) -> Model {
    let opts = ModelOptions::new(format!("{plugin}/{}", spec.id))
        .label(spec.display_label(plugin))
        .supports(spec.supports.clone())
        .config_schema(genkit_core::schema_for::<ImageConfig>());
    let id: Arc<str> = spec.id.as_str().into();
    genkit_ai::model::new(opts, move |req, _cx| {
        let client = client.clone();
        let id = id.clone();
        async move {
            let (body, key) = encode(&req, &id)?;
            let model = body["model"].as_str().unwrap_or(&id).to_owned();
            let resp = client.post_json("images/generations", &model, &body, key.as_deref()).await?;
            let raw = client.bytes(resp).await?;
            decode(&client.origin, &raw)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(config: Value) -> ModelRequest {
        ModelRequest { messages: vec![Message::user("a cat")], config: Some(config), ..Default::default() }
    }

    #[test]
    fn bodies_ask_for_base64_except_for_gpt_image() {
        let (b, key) = encode(&req(json!({"size": "1024x1024", "style": "vivid", "apiKey": "k"})), "dall-e-3").unwrap();
        assert_eq!(
            b,
            json!({"model": "dall-e-3", "prompt": "a cat", "size": "1024x1024", "style": "vivid", "response_format": "b64_json"})
        );
        assert_eq!(key.as_deref(), Some("k"));
        let (b, _) = encode(&req(json!({"background": "transparent"})), "gpt-image-1").unwrap();
        assert_eq!(b, json!({"model": "gpt-image-1", "prompt": "a cat", "background": "transparent"}));
        assert!(encode(&ModelRequest::default(), "dall-e-3").is_err());
    }

    #[test]
    fn answers_become_media_parts() {
        let raw = br#"{"created":1,"data":[{"b64_json":"iVBORw0KGgo=","revised_prompt":"a fluffy cat"},{"url":"https://x/y.png"}]}"#;
        let r = decode("openai", raw).unwrap();
        let parts = &r.message.as_ref().unwrap().content;
        assert_eq!(parts[0].media.as_ref().unwrap().url, "data:image/png;base64,iVBORw0KGgo=");
        assert_eq!(parts[0].metadata_value("revisedPrompt"), Some(&json!("a fluffy cat")));
        assert_eq!(parts[1].media.as_ref().unwrap().url, "https://x/y.png");
        assert_eq!(r.usage.unwrap().output_images, Some(2.0));
        assert_eq!(sniff("/9j/4AAQ"), "image/jpeg");
        assert!(decode("openai", br#"{"data":[]}"#).is_err());
    }
}
