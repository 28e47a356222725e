//! Vertex AI's multimodal embedder (`multimodalembedding@001`): `:predict` with one instance
//! per document (`text`, `image`, `video`), answered with `textEmbedding`, `imageEmbedding`
//! and per-segment `videoEmbeddings`. Each vector becomes one Genkit embedding whose
//! metadata says what it is (`embedType`: `imageEmbedding`, `textEmbedding`,
//! `videoEmbedding` with the segment offsets), in that order, as Genkit JS returns them. The
//! Gemini API has no such endpoint: only the Vertex AI backend registers it (through
//! [`multimodal_embedder`]).

use std::sync::Arc;

use genkit_ai::embedder::{Embedder, EmbedderInfo, EmbedderOptions, EmbedderSupports};
use genkit_ai::{DocumentData, EmbedRequest, EmbedResponse, Embedding};
use genkit_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::Client;
use crate::predict;

/// The multimodal embedders Genkit JS lists for Vertex AI, with their default vector length.
pub const MULTIMODAL_EMBEDDERS: [(&str, usize); 1] = [("multimodalembedding@001", 1408)];

/// Whether an id names a multimodal (`:predict`) embedder.
pub(crate) fn is_multimodal_embedder_id(id: &str) -> bool {
    id.starts_with("multimodalembedding")
}

/// Options of the multimodal embedder.
///
/// ```
/// use genkit_google_genai::MultimodalEmbedConfig;
/// let c: MultimodalEmbedConfig = serde_json::from_value(serde_json::json!({"outputDimensionality": 512})).unwrap();
/// assert_eq!(c.output_dimensionality, Some(512));
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultimodalEmbedConfig {
    /// Vector length: 128, 256, 512 or 1408 (the default); sent as `parameters.dimension`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_dimensionality: Option<u32>,
    /// Embedder id to call instead of the action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Other keys (e.g. `location`, read by the Vertex AI backend), not sent.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Map<String, Value>,
}

/// One document as a `:predict` instance: its text, at most one image and one video (data
/// URLs or `gs://` URIs; the MIME type decides which), and the document's
/// `metadata.videoSegmentConfig` for the video.
pub(crate) fn instance(doc: &DocumentData) -> Result<Value> {
    let mut out = Map::new();
    let text = doc.text();
    if !text.is_empty() {
        out.insert("text".into(), Value::String(text));
    }
    for m in doc.media() {
        let mime =
            m.content_type.as_deref().or_else(|| predict::data_url_mime(&m.url)).ok_or_else(|| {
                Error::invalid_argument("a media document needs a contentType (image/... or video/...)")
            })?;
        let slot = if mime.starts_with("image/") {
            "image"
        } else if mime.starts_with("video/") {
            "video"
        } else {
            return Err(Error::invalid_argument(format!(
                "the multimodal embedder takes text, images and videos, not {mime}"
            )));
        };
        if out.contains_key(slot) {
            return Err(Error::invalid_argument(format!(
                "a document can hold one {slot} for the multimodal embedder: put each in its own document"
            )));
        }
        let mut v = predict::predict_media(m, "The multimodal embedder", slot == "image")?;
        if slot == "video"
            && let (Some(cfg), Some(obj)) =
                (doc.metadata.as_ref().and_then(|md| md.get("videoSegmentConfig")), v.as_object_mut())
        {
            obj.insert("videoSegmentConfig".into(), cfg.clone());
        }
        out.insert(slot.into(), v);
    }
    if out.is_empty() {
        return Err(Error::invalid_argument("an empty document cannot be embedded"));
    }
    Ok(Value::Object(out))
}

fn vector(v: &Value) -> Option<Vec<f32>> {
    #[allow(clippy::cast_possible_truncation)] // f64 → f32 is the vector's precision.
    v.as_array()?.iter().map(|x| x.as_f64().map(|f| f as f32)).collect()
}

fn tagged(embedding: Vec<f32>, kind: &str, mut meta: Map<String, Value>) -> Embedding {
    meta.insert("embedType".into(), Value::String(kind.to_owned()));
    Embedding { embedding, metadata: Some(meta) }
}

/// The embeddings of one prediction: image, text, then each video segment.
pub(crate) fn embeddings(prediction: &Value) -> Vec<Embedding> {
    let mut out = Vec::new();
    if let Some(v) = prediction.get("imageEmbedding").and_then(vector).filter(|v| !v.is_empty()) {
        out.push(tagged(v, "imageEmbedding", Map::new()));
    }
    if let Some(v) = prediction.get("textEmbedding").and_then(vector).filter(|v| !v.is_empty()) {
        out.push(tagged(v, "textEmbedding", Map::new()));
    }
    for seg in prediction.get("videoEmbeddings").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        if let Some(v) = seg.get("embedding").and_then(vector).filter(|v| !v.is_empty()) {
            let meta: Map<String, Value> = seg
                .as_object()
                .map(|o| o.iter().filter(|(k, _)| *k != "embedding").map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            out.push(tagged(v, "videoEmbedding", meta));
        }
    }
    out
}

/// Builds the multimodal embedder `<plugin>/<id>` (for the Vertex AI backend).
pub(crate) fn multimodal_embedder(plugin: &str, client: Arc<Client>, id: &str, dimensions: Option<usize>) -> Embedder {
    let info = EmbedderInfo {
        label: Some(format!("Vertex AI - {id}")),
        supports: Some(EmbedderSupports {
            input: Some(vec!["text".into(), "image".into(), "video".into()]),
            multilingual: None,
        }),
        dimensions,
    };
    let opts = EmbedderOptions::new(format!("{plugin}/{id}"))
        .info(info)
        .config_schema(genkit_core::schema_for::<MultimodalEmbedConfig>());
    let id: Arc<str> = id.into();
    genkit_ai::embedder::new(opts, move |req, _cx| {
        let client = client.clone();
        let id = id.clone();
        async move { run(&client, &id, req).await }
    })
}

async fn run(client: &Client, id: &str, req: EmbedRequest) -> Result<EmbedResponse> {
    let cfg: MultimodalEmbedConfig = crate::imagen::parse(req.options.as_ref())?;
    if req.input.is_empty() {
        return Ok(EmbedResponse { embeddings: Vec::new() });
    }
    let instances = req.input.iter().map(instance).collect::<Result<Vec<_>>>()?;
    let mut params = Map::new();
    if let Some(d) = cfg.output_dimensionality {
        params.insert("dimension".into(), Value::from(d));
    }
    let body = serde_json::json!({"instances": instances, "parameters": params});
    let model = cfg.version.clone().unwrap_or_else(|| id.to_owned());
    // A `location` in the options calls another Vertex AI location than the plugin's.
    let located;
    let client = match cfg.extra.get("location") {
        None | Some(Value::Null) => client,
        Some(Value::String(l)) => {
            located = client.in_location(l)?;
            &located
        }
        Some(other) => {
            return Err(Error::invalid_argument(format!(
                "invalid embedder option location {other}: expected a location name such as \"us-central1\""
            )));
        }
    };
    let resp = client.post_json(&client.model_path(&model, "predict"), &[], &body, None).await?;
    let raw: Value = client.json(resp).await?;
    let predictions = raw.get("predictions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if predictions.len() != instances.len() {
        return Err(crate::error::bad_response(
            &client.origin,
            format!("{} predictions for {} documents", predictions.len(), instances.len()),
        ));
    }
    Ok(EmbedResponse { embeddings: predictions.iter().flat_map(embeddings).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use genkit_ai::Part;
    use serde_json::json;

    #[test]
    fn documents_become_instances() {
        let doc = DocumentData::from_parts(
            vec![Part::text("a red bike"), Part::media("data:image/png;base64,iVBO", None)],
            None,
        );
        assert_eq!(
            instance(&doc).unwrap(),
            json!({"text": "a red bike", "image": {"bytesBase64Encoded": "iVBO", "mimeType": "image/png"}})
        );
        let mut meta = Map::new();
        meta.insert("videoSegmentConfig".into(), json!({"startOffsetSec": 0, "endOffsetSec": 30, "intervalSec": 15}));
        let doc = DocumentData::from_media("gs://b/clip.mp4", Some("video/mp4".into()), Some(meta));
        assert_eq!(
            instance(&doc).unwrap(),
            json!({"video": {"gcsUri": "gs://b/clip.mp4",
                             "videoSegmentConfig": {"startOffsetSec": 0, "endOffsetSec": 30, "intervalSec": 15}}})
        );
        for bad in [
            DocumentData::from_media("data:audio/mp3;base64,AAAA", None, None),
            DocumentData::from_media("https://x.test/a.png", Some("image/png".into()), None),
            DocumentData::from_parts(vec![], None),
            DocumentData::from_parts(
                vec![
                    Part::media("gs://b/1.png", Some("image/png".into())),
                    Part::media("gs://b/2.png", Some("image/png".into())),
                ],
                None,
            ),
        ] {
            assert_eq!(instance(&bad).unwrap_err().status(), genkit_core::Status::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn predictions_become_tagged_embeddings() {
        let e = embeddings(&json!({
            "textEmbedding": [0.1, 0.2], "imageEmbedding": [0.3, 0.4],
            "videoEmbeddings": [{"startOffsetSec": 0, "endOffsetSec": 15, "embedding": [0.5, 0.6]},
                                {"startOffsetSec": 15, "endOffsetSec": 30, "embedding": [0.7, 0.8]}]
        }));
        let kinds: Vec<&str> = e.iter().map(|x| x.metadata.as_ref().unwrap()["embedType"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["imageEmbedding", "textEmbedding", "videoEmbedding", "videoEmbedding"]);
        assert_eq!(e[0].embedding, vec![0.3, 0.4]);
        assert_eq!(e[3].metadata.as_ref().unwrap()["startOffsetSec"], 15);
        assert!(e[3].metadata.as_ref().unwrap().get("embedding").is_none());
    }

    #[tokio::test]
    async fn the_embedder_calls_predict_with_every_document() {
        use wiremock::matchers::{body_json, method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/models/multimodalembedding@001:predict"))
            .and(body_json(json!({
                "instances": [{"text": "a cat"},
                              {"image": {"gcsUri": "gs://b/cat.jpg", "mimeType": "image/jpeg"}}],
                "parameters": {"dimension": 128}
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "predictions": [{"textEmbedding": [0.1, 0.2]}, {"imageEmbedding": [0.3, 0.4]}],
                "deployedModelId": "1"
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
        let e = multimodal_embedder("vertexai", client, "multimodalembedding@001", Some(1408));
        let req = EmbedRequest {
            input: vec![
                DocumentData::from_text("a cat"),
                DocumentData::from_media("gs://b/cat.jpg", Some("image/jpeg".into()), None),
            ],
            options: Some(json!({"outputDimensionality": 128})),
        };
        let out = e.run(req).await.unwrap();
        assert_eq!(out.embeddings.len(), 2);
        assert_eq!(out.embeddings[1].metadata.as_ref().unwrap()["embedType"], "imageEmbedding");
    }
}
