//! Veo video models (`veo-*`) as Genkit background models: `start` sends
//! `models/{id}:predictLongRunning` and returns the operation; `check` reads it again
//! ([`Client::operation_check`]: `GET {name}` on the Gemini API, `:fetchPredictOperation` on
//! Vertex AI); `cancel` asks `{name}:cancel`. A finished operation's videos come back as
//! media parts of the operation's `output` (a Genkit `ModelResponse`). Both response shapes
//! are read: the Gemini API's `generateVideoResponse.generatedSamples[].video.uri` and
//! Vertex AI's `videos[]` (`gcsUri` or `bytesBase64Encoded`).

use std::sync::Arc;

use futures::FutureExt;
use genkit_ai::model::background::{self, BackgroundModel};
use genkit_ai::{FinishReason, Media, Message, ModelRequest, ModelResponse, ModelSupports, Operation, Part, Role};
use genkit_core::{Action, ActionType, Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
#[cfg(test)]
use serde_json::json;
use serde_json::{Map, Value};

use crate::client::Client;
use crate::imagen::{media_model_options, parse};
use crate::models::ModelSpec;
use crate::predict;

/// The Veo models Genkit JS lists for the Gemini API.
pub const VEO_MODELS: [&str; 3] =
    ["veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", "veo-3.1-lite-generate-preview"];

/// The Veo models Genkit JS lists for Vertex AI.
pub const VERTEX_VEO_MODELS: [&str; 3] =
    ["veo-3.1-generate-001", "veo-3.1-fast-generate-001", "veo-3.1-lite-generate-001"];

/// Whether an id names a Veo model.
pub(crate) fn is_veo_id(id: &str) -> bool {
    id.starts_with("veo-")
}

/// What the Veo models take and give (as Genkit JS): a prompt with an optional image or
/// video, videos out, as a long-running operation.
pub fn veo_supports() -> ModelSupports {
    ModelSupports {
        media: Some(true),
        multiturn: Some(false),
        tools: Some(false),
        system_role: Some(false),
        output: Some(vec!["media".into()]),
        long_running: Some(true),
        ..ModelSupports::default()
    }
}

/// Config of the Veo models. The named keys are checked; any other key (`sampleCount`,
/// `storageUri`, `fps`, `compressionQuality`, `resizeMode`, `pubsubTopic`, …) goes into
/// `parameters` as given.
///
/// ```
/// use genkit_google_genai::VeoConfig;
/// let c: VeoConfig = serde_json::from_value(serde_json::json!({
///     "aspectRatio": "16:9", "durationSeconds": 8, "enhancePrompt": false
/// })).unwrap();
/// assert_eq!(c.duration_seconds, Some(8));
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VeoConfig {
    /// What the video should not show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// `16:9` or `9:16`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// `dont_allow`, `allow_adult` or `allow_all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_generation: Option<String>,
    /// Length of each video in seconds (4–8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    /// `720p`, `1080p` (or `4k` where offered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Random seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Whether the prompt is rewritten first (on by default at the API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enhance_prompt: Option<bool>,
    /// Whether audio is generated with the video (Veo 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_audio: Option<bool>,
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

const IMAGE_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];

/// Media as Veo takes it: inline bytes or a `gs://` URI with the MIME type; an http(s) URI
/// (a Gemini API file, e.g. an earlier Veo video to extend) as `{uri}`.
fn veo_media(media: &Media, what: &str, allowed: &[&str]) -> Result<Value> {
    let mime = media.content_type.as_deref().or_else(|| predict::data_url_mime(&media.url));
    if let Some(m) = mime
        && !allowed.is_empty()
        && !allowed.contains(&m)
    {
        return Err(Error::invalid_argument(format!(
            "Veo: the {what} has type {m}; supported: {}",
            allowed.join(", ")
        )));
    }
    if media.url.starts_with("http://") || media.url.starts_with("https://") {
        let mut out = Map::new();
        out.insert("uri".into(), Value::String(media.url.clone()));
        if let Some(m) = mime {
            out.insert("mimeType".into(), Value::String(m.to_owned()));
        }
        return Ok(Value::Object(out));
    }
    predict::predict_media(media, "Veo", true)
}

fn is_video(m: &Media) -> bool {
    m.content_type.as_deref().or_else(|| predict::data_url_mime(&m.url)).is_some_and(|t| t.starts_with("video/"))
}

/// The `:predictLongRunning` body of a request. Media of the last message: an untyped image
/// (or `metadata.type: "image"`) is the first frame, `lastFrame` the last one, a video (or
/// `type: "video"`) the one to extend, `referenceImages` parts (with
/// `metadata.referenceType`) the references.
pub(crate) fn veo_request(req: &ModelRequest, cfg: &VeoConfig) -> Result<Value> {
    let mut params = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            params.insert(k.into(), v);
        }
    };
    put("negativePrompt", cfg.negative_prompt.clone().map(Value::String));
    put("aspectRatio", cfg.aspect_ratio.clone().map(Value::String));
    put("personGeneration", cfg.person_generation.clone().map(Value::String));
    put("durationSeconds", cfg.duration_seconds.map(Value::from));
    put("resolution", cfg.resolution.clone().map(Value::String));
    put("seed", cfg.seed.map(Value::from));
    put("enhancePrompt", cfg.enhance_prompt.map(Value::Bool));
    put("generateAudio", cfg.generate_audio.map(Value::Bool));
    for (k, v) in &cfg.extra {
        if !v.is_null() && !predict::CLIENT_KEYS.contains(&k.as_str()) {
            params.insert(k.clone(), v.clone());
        }
    }
    let mut instance = Map::new();
    instance.insert("prompt".into(), Value::String(predict::prompt_text(req)));
    let last = req.messages.last().map(|m| m.content.as_slice()).unwrap_or_default();
    for p in last {
        let Some(m) = p.media.as_deref() else { continue };
        let kind = p.metadata.as_ref().and_then(|x| x.get(predict::MEDIA_TYPE_KEY)).and_then(Value::as_str);
        match kind {
            Some("lastFrame") => {
                instance.insert("lastFrame".into(), veo_media(m, "last frame", &IMAGE_TYPES)?);
            }
            Some("video") => {
                instance.insert("video".into(), veo_media(m, "video", &[])?);
            }
            None if is_video(m) => {
                instance.entry("video").or_insert(veo_media(m, "video", &[])?);
            }
            Some("image") | None => {
                if !instance.contains_key("image") {
                    instance.insert("image".into(), veo_media(m, "image", &IMAGE_TYPES)?);
                }
            }
            Some("referenceImages" | "referenceImage") => {
                let mut r = Map::new();
                r.insert("image".into(), veo_media(m, "reference image", &IMAGE_TYPES)?);
                if let Some(t) = p.metadata.as_ref().and_then(|x| x.get("referenceType")) {
                    r.insert("referenceType".into(), t.clone());
                }
                if let Value::Array(list) =
                    instance.entry("referenceImages").or_insert_with(|| Value::Array(Vec::new()))
                {
                    list.push(Value::Object(r));
                }
            }
            Some(_) => {}
        }
    }
    Ok(predict::predict_body(instance, params))
}

fn video_part(v: &Value) -> Option<Part> {
    // Gemini API: `{"video": {"uri", "mimeType"?}}`; Vertex AI: `{"gcsUri" | "bytesBase64Encoded", "mimeType"}`.
    if let Some(video) = v.get("video") {
        let uri = video.get("uri").and_then(Value::as_str)?;
        let mime = video.get("mimeType").and_then(Value::as_str).map(str::to_owned);
        return Some(Part::media(uri, mime));
    }
    predict::prediction_media(v, "video/mp4")
}

/// The API's JSON `Operation` as a Genkit operation: `id` is the operation name; a done
/// operation's videos are the media parts of `output`; an operation error (or every video
/// removed by the safety filters) is the operation's `error`.
pub(crate) fn from_operation(origin: &str, op: &Value) -> Result<Operation> {
    let id = op
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| crate::error::bad_response(origin, "the operation has no `name`"))?;
    let mut out = Operation {
        action: None,
        id: id.to_owned(),
        done: op.get("done").and_then(Value::as_bool),
        output: None,
        error: None,
        metadata: None,
    };
    if let Some(e) = op.get("error").filter(|e| e.is_object()) {
        let mut m = Map::new();
        m.insert(
            "message".into(),
            e.get("message").cloned().unwrap_or_else(|| Value::String("the operation failed".into())),
        );
        if let Some(c) = e.get("code") {
            m.insert("code".into(), c.clone());
        }
        out.error = Some(m);
    }
    if let Some(resp) = op.get("response").filter(|r| r.is_object()) {
        let gv = resp.get("generateVideoResponse").unwrap_or(resp);
        let samples = gv
            .get("generatedSamples")
            .or_else(|| gv.get("videos"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let parts: Vec<Part> = samples.iter().filter_map(video_part).collect();
        let filtered = gv.get("raiMediaFilteredCount").and_then(Value::as_u64).unwrap_or(0);
        if parts.is_empty() && filtered > 0 && out.error.is_none() {
            let reasons = gv
                .get("raiMediaFilteredReasons")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "all generated videos were removed by the safety filters".to_owned());
            out.error = Some([("message".to_owned(), Value::String(reasons))].into_iter().collect());
        }
        let resp_out = ModelResponse {
            message: Some(Message { role: Role::Model, content: parts, metadata: None }),
            finish_reason: Some(if out.error.is_some() { FinishReason::Blocked } else { FinishReason::Stop }),
            raw: Some(resp.clone()),
            ..ModelResponse::default()
        };
        out.output = Some(serde_json::to_value(resp_out).map_err(Error::internal)?);
    }
    Ok(out)
}

async fn start(
    client: &Client,
    id: &str,
    req: ModelRequest,
    cancelled: impl std::future::Future<Output = ()>,
) -> Result<Operation> {
    let cfg: VeoConfig = parse(req.config.as_ref())?;
    let body = veo_request(&req, &cfg)?;
    let model = cfg.version.clone().unwrap_or_else(|| id.to_owned());
    let path = client.model_path(&model, "predictLongRunning");
    let call = async {
        let resp = client.post_json(&path, &[], &body, cfg.api_key.as_deref()).await?;
        client.json::<Value>(resp).await
    };
    let raw = predict::until_cancelled(&client.origin, cancelled, call).await?;
    from_operation(&client.origin, &raw)
}

/// A check or cancel function of a background model.
type OpFn = dyn Fn(Operation, genkit_core::ActionCx<()>) -> futures::future::BoxFuture<'static, Result<Operation>>
    + Send
    + Sync;

/// Builds the background model `<plugin>/<id>` (start, check and cancel actions).
pub(crate) fn veo_model(plugin: &str, client: Arc<Client>, spec: &ModelSpec) -> BackgroundModel {
    let opts = media_model_options(plugin, spec, genkit_core::schema_for::<VeoConfig>());
    let id: Arc<str> = spec.id.as_str().into();
    let (c1, c2, c3) = (client.clone(), client.clone(), client);
    let cancel: Arc<OpFn> = Arc::new(move |op: Operation, _cx| {
        let client = c3.clone();
        async move {
            client.operation_cancel(&op.id).await?;
            let raw = client.operation_check(&op.id).await?;
            from_operation(&client.origin, &raw)
        }
        .boxed()
    });
    background::new(
        &opts,
        move |req, cx| {
            let client = c1.clone();
            let id = id.clone();
            async move { start(&client, &id, req, cx.cancellation().cancelled()).await }
        },
        move |op: Operation, _cx| {
            let client = c2.clone();
            async move {
                let raw = client.operation_check(&op.id).await?;
                from_operation(&client.origin, &raw)
            }
        },
        Some(cancel),
    )
}

/// The action of `ty` of the Veo model named by `id` (`veo-x`, `veo-x/check`,
/// `veo-x/cancel`), if `id` names one.
pub(crate) fn veo_action(plugin: &str, client: Arc<Client>, ty: ActionType, id: &str) -> Option<Arc<dyn Action>> {
    let model = match ty {
        ActionType::BackgroundModel => id,
        ActionType::CheckOperation => id.strip_suffix("/check")?,
        ActionType::CancelOperation => id.strip_suffix("/cancel")?,
        _ => return None,
    };
    if !is_veo_id(model) {
        return None;
    }
    let spec = crate::family::background_spec(&client, model);
    let b = veo_model(plugin, client, &spec);
    match ty {
        ActionType::BackgroundModel => Some(b.start.as_action()),
        ActionType::CheckOperation => Some(b.check.as_action()),
        _ => b.cancel.map(|c| c.as_action()),
    }
}

/// Every action of the Veo model `spec`.
pub(crate) fn veo_actions(plugin: &str, client: Arc<Client>, spec: &ModelSpec) -> Vec<Arc<dyn Action>> {
    let b = veo_model(plugin, client, spec);
    let mut out = vec![b.start.as_action(), b.check.as_action()];
    out.extend(b.cancel.map(|c| c.as_action()));
    out
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
    fn frames_videos_references_and_config_map_to_the_instance_and_parameters() {
        let r = req(vec![
            Part::text("a drone shot over hills"),
            Part::media("data:image/png;base64,FIRST", None),
            Part::media("gs://b/last.png", Some("image/png".into())).with_metadata("type", json!("lastFrame")),
            Part::media("data:image/jpeg;base64,REF", None)
                .with_metadata("type", json!("referenceImages"))
                .with_metadata("referenceType", json!("asset")),
        ]);
        let cfg: VeoConfig = parse(Some(&json!({
            "aspectRatio": "16:9", "durationSeconds": 8, "enhancePrompt": false, "sampleCount": 2,
            "apiKey": "k", "version": "veo-2.0-generate-001"
        })))
        .unwrap();
        assert_eq!(
            veo_request(&r, &cfg).unwrap(),
            json!({"instances": [{
                "prompt": "a drone shot over hills",
                "image": {"bytesBase64Encoded": "FIRST", "mimeType": "image/png"},
                "lastFrame": {"gcsUri": "gs://b/last.png", "mimeType": "image/png"},
                "referenceImages": [{"image": {"bytesBase64Encoded": "REF", "mimeType": "image/jpeg"}, "referenceType": "asset"}]
            }], "parameters": {"aspectRatio": "16:9", "durationSeconds": 8, "enhancePrompt": false, "sampleCount": 2}})
        );
        let r = req(vec![
            Part::text("extend"),
            Part::media("https://generativelanguage.googleapis.com/v1beta/files/v1", Some("video/mp4".into())),
        ]);
        let body = veo_request(&r, &VeoConfig::default()).unwrap();
        assert_eq!(
            body["instances"][0]["video"],
            json!({"uri": "https://generativelanguage.googleapis.com/v1beta/files/v1", "mimeType": "video/mp4"})
        );
        let r = req(vec![Part::text("x"), Part::media("data:image/gif;base64,R0lG", None)]);
        assert_eq!(veo_request(&r, &VeoConfig::default()).unwrap_err().status(), genkit_core::Status::InvalidArgument);
    }

    #[test]
    fn both_operation_shapes_decode() {
        let op = from_operation("googleai", &json!({"name": "models/veo-3.0-generate-001/operations/abc"})).unwrap();
        assert_eq!(
            (op.id.as_str(), op.done, op.output.is_none()),
            ("models/veo-3.0-generate-001/operations/abc", None, true)
        );
        let op = from_operation("googleai", &json!({
            "name": "models/veo/operations/abc", "done": true,
            "response": {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                         "generateVideoResponse": {"generatedSamples": [{"video": {"uri": "https://g/files/x:download?alt=media"}}]}}
        })).unwrap();
        let out: ModelResponse = serde_json::from_value(op.output.unwrap()).unwrap();
        assert_eq!(out.message.unwrap().content[0].media.as_ref().unwrap().url, "https://g/files/x:download?alt=media");
        let op = from_operation("vertexai", &json!({
            "name": "projects/p/locations/us-central1/publishers/google/models/veo-3.0-generate-001/operations/u1", "done": true,
            "response": {"videos": [{"gcsUri": "gs://b/out/sample_0.mp4", "mimeType": "video/mp4"},
                                    {"bytesBase64Encoded": "AAAA", "mimeType": "video/mp4"}]}
        })).unwrap();
        let out: ModelResponse = serde_json::from_value(op.output.unwrap()).unwrap();
        let c = out.message.unwrap().content;
        assert_eq!(c[0].media.as_ref().unwrap().url, "gs://b/out/sample_0.mp4");
        assert_eq!(c[1].media.as_ref().unwrap().url, "data:video/mp4;base64,AAAA");
        let op = from_operation(
            "vertexai",
            &json!({
                "name": "x/operations/y", "done": true,
                "response": {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": ["celebrity"]}
            }),
        )
        .unwrap();
        assert_eq!(op.error.unwrap()["message"], "celebrity");
        let op = from_operation(
            "googleai",
            &json!({"name": "x/operations/y", "done": true, "error": {"code": 3, "message": "bad prompt"}}),
        )
        .unwrap();
        assert_eq!(op.error.unwrap()["message"], "bad prompt");
        assert!(from_operation("googleai", &json!({"done": true})).is_err());
    }

    #[tokio::test]
    async fn vertex_style_clients_check_with_fetch_predict_operation() {
        use wiremock::matchers::{body_json, method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        let name = "projects/p/locations/us-central1/publishers/google/models/veo-3.0-generate-001/operations/u-1";
        Mock::given(method("POST"))
            .and(path(
                "/v1beta/projects/p/locations/us-central1/publishers/google/models/veo-3.0-generate-001:fetchPredictOperation",
            ))
            .and(body_json(json!({"operationName": name})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": name, "done": true,
                "response": {"@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
                             "videos": [{"gcsUri": "gs://b/o/sample_0.mp4", "mimeType": "video/mp4"}]}})))
            .expect(1)
            .mount(&server)
            .await;
        let client = Client::new(crate::client::ClientSettings {
            origin: "vertexai".into(),
            base_url: server.uri(),
            api_version: "v1beta".into(),
            api_key: None,
            key_transport: crate::client::KeyTransport::Header,
            http: genkit_http::HttpOptions::default(),
            backend: crate::client::Backend::Vertex { project: "p".into(), location: "us-central1".into() },
            tokens: None,
        })
        .unwrap();
        let op = from_operation("vertexai", &client.operation_check(name).await.unwrap()).unwrap();
        let out: ModelResponse = serde_json::from_value(op.output.unwrap()).unwrap();
        assert_eq!(out.message.unwrap().content[0].media.as_ref().unwrap().url, "gs://b/o/sample_0.mp4");
    }
}
