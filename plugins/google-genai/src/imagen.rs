//! Imagen models (`imagen-*`): `models/{id}:predict` with one instance (the prompt, and for
//! editing an `image` and a `mask`) and the config as `parameters`; each prediction's
//! `bytesBase64Encoded` image comes back as a media part with a `data:` URL. The same code
//! serves the Gemini API and Vertex AI: only the URL differs, and [`Client::model_path`]
//! builds it.

use std::sync::Arc;

use genkit_ai::model::{Model, ModelOptions};
use genkit_ai::{FinishReason, Message, ModelRequest, ModelResponse, ModelSupports, Part, Role};
use genkit_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::Client;
use crate::models::ModelSpec;
use crate::predict;

/// The Imagen models Genkit JS lists.
pub const IMAGEN_MODELS: [&str; 3] =
    ["imagen-4.0-generate-001", "imagen-4.0-ultra-generate-001", "imagen-4.0-fast-generate-001"];

/// Whether an id names an Imagen model.
pub(crate) fn is_imagen_id(id: &str) -> bool {
    id.starts_with("imagen-")
}

/// Whether an id names Vertex AI's virtual try-on model (served by the Imagen code).
pub(crate) fn is_try_on_id(id: &str) -> bool {
    id.starts_with("virtual-try-on")
}

/// What Imagen models take and give (as Genkit JS): one prompt, optional image input,
/// images out.
pub fn imagen_supports() -> ModelSupports {
    ModelSupports {
        media: Some(true),
        multiturn: Some(false),
        tools: Some(false),
        tool_choice: Some(false),
        system_role: Some(false),
        output: Some(vec!["media".into()]),
        ..ModelSupports::default()
    }
}

/// Config of the Imagen models. The named keys are checked; any other key (e.g.
/// `enhancePrompt`, `imageSize`, `sampleImageSize`, `storageUri`, `outputOptions`) goes into
/// `parameters` as given, as Genkit JS passes its config through.
///
/// ```
/// use genkit_google_genai::ImagenConfig;
/// let c: ImagenConfig = serde_json::from_value(serde_json::json!({
///     "numberOfImages": 2, "aspectRatio": "16:9", "imageSize": "2K"
/// })).unwrap();
/// assert_eq!(c.number_of_images, Some(2));
/// assert_eq!(c.extra["imageSize"], "2K");
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImagenConfig {
    /// How many images to generate (1–4; default 1, or the request's `candidates`). Sent as
    /// `sampleCount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_images: Option<u32>,
    /// `1:1`, `9:16`, `16:9`, `3:4` or `4:3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// What the images should not show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// `dont_allow`, `allow_adult` or `allow_all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_generation: Option<String>,
    /// Safety filter level, e.g. `block_medium_and_above`, `block_only_high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_setting: Option<String>,
    /// Whether a SynthID watermark is added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_watermark: Option<bool>,
    /// Random seed (with `addWatermark: false` on Vertex AI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Output image type (`image/png`, `image/jpeg`), sent as `outputOptions.mimeType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_mime_type: Option<String>,
    /// JPEG quality 0–100, sent as `outputOptions.compressionQuality`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_quality: Option<u32>,
    /// Prompt language (`auto`, `en`, `ja`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Model id to call instead of the action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// API key for this call only; never sent in the body.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub api_key: Option<String>,
    /// Other keys, sent in `parameters` as given.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Map<String, Value>,
}

/// The `:predict` body of a request.
pub(crate) fn imagen_request(req: &ModelRequest, cfg: &ImagenConfig) -> Result<Value> {
    let mut params = Map::new();
    let n = cfg.number_of_images.or(req.candidates).unwrap_or(1);
    params.insert("sampleCount".into(), Value::from(n));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            params.insert(k.into(), v);
        }
    };
    put("aspectRatio", cfg.aspect_ratio.clone().map(Value::String));
    put("negativePrompt", cfg.negative_prompt.clone().map(Value::String));
    put("personGeneration", cfg.person_generation.clone().map(Value::String));
    put("safetySetting", cfg.safety_setting.clone().map(Value::String));
    put("addWatermark", cfg.add_watermark.map(Value::Bool));
    put("seed", cfg.seed.map(Value::from));
    put("language", cfg.language.clone().map(Value::String));
    for (k, v) in &cfg.extra {
        if !v.is_null() && !predict::CLIENT_KEYS.contains(&k.as_str()) {
            params.insert(k.clone(), v.clone());
        }
    }
    if cfg.output_mime_type.is_some() || cfg.compression_quality.is_some() {
        let mut oo = params.remove("outputOptions").and_then(|v| v.as_object().cloned()).unwrap_or_default();
        if let Some(m) = &cfg.output_mime_type {
            oo.insert("mimeType".into(), Value::String(m.clone()));
        }
        if let Some(q) = cfg.compression_quality {
            oo.insert("compressionQuality".into(), Value::from(q));
        }
        params.insert("outputOptions".into(), Value::Object(oo));
    }

    let mut instance = Map::new();
    // Virtual try-on (`virtual-try-on-*` on Vertex AI): a person and product images, no prompt.
    let try_on: Vec<&Part> = req
        .messages
        .last()
        .map(|m| {
            m.content
                .iter()
                .filter(|p| {
                    p.media.is_some()
                        && matches!(
                            p.metadata.as_ref().and_then(|x| x.get(predict::MEDIA_TYPE_KEY)).and_then(Value::as_str),
                            Some("personImage" | "productImage")
                        )
                })
                .collect()
        })
        .unwrap_or_default();
    if !try_on.is_empty() {
        let mut products = Vec::new();
        for p in try_on {
            let Some(m) = p.media.as_deref() else { continue };
            let image = json!({"image": predict::predict_media(m, "Imagen", false)?});
            match p.metadata.as_ref().and_then(|x| x.get(predict::MEDIA_TYPE_KEY)).and_then(Value::as_str) {
                Some("personImage") => {
                    instance.insert("personImage".into(), image);
                }
                _ => products.push(image),
            }
        }
        if !products.is_empty() {
            instance.insert("productImages".into(), Value::Array(products));
        }
        return Ok(predict::predict_body(instance, params));
    }
    instance.insert("prompt".into(), Value::String(predict::prompt_text(req)));
    if let Some(m) = predict::find_media(req, "image", true) {
        instance.insert("image".into(), predict::predict_media(m, "Imagen", false)?);
    }
    if let Some(m) = predict::find_media(req, "mask", false) {
        instance.insert("mask".into(), json!({"image": predict::predict_media(m, "Imagen", false)?}));
    }
    Ok(predict::predict_body(instance, params))
}

/// The Genkit response of a `:predict` answer: every image as a media part of one message.
/// No image at all (every one filtered) is a `blocked` answer giving the filter reasons.
pub(crate) fn imagen_response(raw: &Value, req: &ModelRequest) -> ModelResponse {
    let predictions = raw.get("predictions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let parts: Vec<Part> = predictions.iter().filter_map(|p| predict::prediction_media(p, "image/png")).collect();
    media_response(parts, predictions, req, "images")
}

/// A response of media parts from predictions (shared with Lyria).
pub(crate) fn media_response(parts: Vec<Part>, predictions: &[Value], req: &ModelRequest, what: &str) -> ModelResponse {
    let reasons = predict::filtered_reasons(predictions);
    let n = parts.len();
    let message = Message { role: Role::Model, content: parts, metadata: None };
    let mut usage = genkit_ai::model::basic_usage_stats(&req.messages, Some(&message));
    usage.custom = Some([("generations".to_owned(), Value::from(n))].into_iter().collect());
    let mut resp = ModelResponse { usage: Some(usage), ..ModelResponse::default() };
    if !reasons.is_empty() {
        resp.custom = Some(json!({"raiFilteredReasons": reasons}));
    }
    if n == 0 {
        resp.finish_reason = Some(FinishReason::Blocked);
        resp.finish_message = Some(if reasons.is_empty() {
            format!("the model returned no {what} (possibly removed by content filters)")
        } else {
            format!("the {what} were filtered: {}", reasons.join("; "))
        });
    } else {
        resp.finish_reason = Some(FinishReason::Stop);
    }
    resp.message = Some(message);
    resp
}

/// Parses a config into `T` (absent or `null` is the default).
pub(crate) fn parse<T: serde::de::DeserializeOwned + Default>(v: Option<&Value>) -> Result<T> {
    match v {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => T::deserialize(v).map_err(|e| Error::invalid_argument(format!("invalid config: {e}"))),
    }
}

/// The options (name, label, capabilities, config schema) of a media model.
pub(crate) fn media_model_options(plugin: &str, spec: &ModelSpec, schema: Value) -> ModelOptions {
    let mut opts = ModelOptions::new(format!("{plugin}/{}", spec.id))
        .label(spec.display_label())
        .supports(spec.supports.clone())
        .config_schema(schema);
    if let Some(stage) = spec.stage {
        opts = opts.stage(stage);
    }
    opts
}

/// Builds the Imagen model action `<plugin>/<id>`.
pub(crate) fn imagen_model(plugin: &str, client: Arc<Client>, spec: &ModelSpec) -> Model {
    let opts = media_model_options(plugin, spec, genkit_core::schema_for::<ImagenConfig>());
    let id: Arc<str> = spec.id.as_str().into();
    genkit_ai::model::new(opts, move |req, cx| {
        let client = client.clone();
        let id = id.clone();
        async move {
            let cfg: ImagenConfig = parse(req.config.as_ref())?;
            let body = imagen_request(&req, &cfg)?;
            let model = cfg.version.clone().unwrap_or_else(|| id.to_string());
            let path = client.model_path(&model, "predict");
            let call = async {
                let resp = client.post_json(&path, &[], &body, cfg.api_key.as_deref()).await?;
                client.json::<Value>(resp).await
            };
            let raw = predict::until_cancelled(&client.origin, cx.cancellation().cancelled(), call).await?;
            Ok(imagen_response(&raw, &req))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(parts: Vec<Part>) -> ModelRequest {
        let mut m = Message::user("");
        m.content = parts;
        ModelRequest { messages: vec![m], ..ModelRequest::default() }
    }

    #[test]
    fn config_goes_into_parameters_and_media_into_the_instance() {
        let r = req(vec![
            Part::text("a red fox"),
            Part::media("data:image/png;base64,BASE", None),
            Part::media("data:image/png;base64,MASK", None).with_metadata(predict::MEDIA_TYPE_KEY, json!("mask")),
        ]);
        let cfg: ImagenConfig = parse(Some(&json!({
            "numberOfImages": 2, "aspectRatio": "16:9", "negativePrompt": "blur", "personGeneration": "dont_allow",
            "safetySetting": "block_only_high", "addWatermark": false, "seed": 9, "outputMimeType": "image/jpeg",
            "compressionQuality": 80, "enhancePrompt": true, "apiKey": "k", "version": "imagen-3.0-generate-002",
            "nothing": null
        })))
        .unwrap();
        let body = imagen_request(&r, &cfg).unwrap();
        assert_eq!(
            body,
            json!({
                "instances": [{"prompt": "a red fox", "image": {"bytesBase64Encoded": "BASE"},
                               "mask": {"image": {"bytesBase64Encoded": "MASK"}}}],
                "parameters": {"sampleCount": 2, "aspectRatio": "16:9", "negativePrompt": "blur",
                               "personGeneration": "dont_allow", "safetySetting": "block_only_high",
                               "addWatermark": false, "seed": 9, "enhancePrompt": true,
                               "outputOptions": {"mimeType": "image/jpeg", "compressionQuality": 80}}
            })
        );
        let mut r = req(vec![Part::text("x")]);
        r.candidates = Some(3);
        let body = imagen_request(&r, &ImagenConfig::default()).unwrap();
        assert_eq!(body, json!({"instances": [{"prompt": "x"}], "parameters": {"sampleCount": 3}}));
        let e = parse::<ImagenConfig>(Some(&json!({"numberOfImages": "two"}))).unwrap_err();
        assert_eq!(e.status(), genkit_core::Status::InvalidArgument);
    }

    #[test]
    fn virtual_try_on_sends_the_person_and_the_products() {
        let r = req(vec![
            Part::media("gs://b/person.png", None).with_metadata(predict::MEDIA_TYPE_KEY, json!("personImage")),
            Part::media("data:image/png;base64,SHIRT", None)
                .with_metadata(predict::MEDIA_TYPE_KEY, json!("productImage")),
        ]);
        assert_eq!(
            imagen_request(&r, &ImagenConfig::default()).unwrap(),
            json!({"instances": [{"personImage": {"image": {"gcsUri": "gs://b/person.png"}},
                                  "productImages": [{"image": {"bytesBase64Encoded": "SHIRT"}}]}],
                   "parameters": {"sampleCount": 1}})
        );
    }

    #[test]
    fn predictions_become_images_and_filtered_ones_a_blocked_answer() {
        let r = req(vec![Part::text("x")]);
        let raw = json!({"predictions": [
            {"bytesBase64Encoded": "iVBORw0K", "mimeType": "image/png"},
            {"raiFilteredReason": "Unable to show generated images. ..."}
        ]});
        let resp = imagen_response(&raw, &r);
        assert_eq!(resp.finish_reason, Some(FinishReason::Stop));
        let m = resp.message.unwrap();
        assert_eq!(m.content.len(), 1);
        assert_eq!(m.content[0].media.as_ref().unwrap().url, "data:image/png;base64,iVBORw0K");
        let resp = imagen_response(&json!({}), &r);
        assert_eq!(resp.finish_reason, Some(FinishReason::Blocked));
        assert!(resp.finish_message.unwrap().contains("no images"));
    }
}
