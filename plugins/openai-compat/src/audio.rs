//! Audio models: text to speech (`tts-1`, `tts-1-hd`, `gpt-4o-mini-tts`: `POST
//! {base}/audio/speech`, audio back as a `data:` media part) and speech to text
//! (`whisper-1`, `gpt-4o-transcribe`: multipart `POST {base}/audio/transcriptions` or
//! `/audio/translations`, text back).

use std::sync::Arc;

use base64::Engine;
use genkit_ai::model::{Model, ModelOptions};
use genkit_ai::{FinishReason, Message, ModelRequest, ModelResponse, Part, Role};
use genkit_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::chat::encode::parse_data_url;
use crate::client::Client;
use crate::error::bad_response;
use crate::image::prompt_text;
use crate::models::ModelSpec;

/// Config of the speech (TTS) models; other keys are sent as is.
#[derive(Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SpeechConfig {
    /// Voice (`alloy`, `ash`, `coral`, `echo`, `fable`, `onyx`, `nova`, `sage`, `shimmer`, …); default `alloy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// Speed, 0.25–4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// `mp3` (default), `opus`, `aac`, `flac`, `wav` or `pcm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<String>,
    /// How to speak (gpt-4o-mini-tts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Model id to call instead of the action's.
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

impl std::fmt::Debug for SpeechConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::client::fmt_config(f, "SpeechConfig", self, self.api_key.is_some())
    }
}

/// Config of the transcription models; other keys are sent as form fields.
#[derive(Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptionConfig {
    /// Language of the audio (ISO-639-1), improves accuracy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// `json` (default), `text`, `srt`, `verbose_json` or `vtt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<String>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// `word` and/or `segment` (with `verbose_json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_granularities: Option<Vec<String>>,
    /// Translate into English (`/audio/translations`, whisper-1) instead of transcribing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translate: Option<bool>,
    /// Model id to call instead of the action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// API key for this call only; never serialized.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub api_key: Option<String>,
    /// Other keys (`chunking_strategy`, `include`, …), sent as form fields.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for TranscriptionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::client::fmt_config(f, "TranscriptionConfig", self, self.api_key.is_some())
    }
}

fn config<T: serde::de::DeserializeOwned + Default>(req: &ModelRequest) -> Result<T> {
    match &req.config {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => T::deserialize(v).map_err(|e| Error::invalid_argument(format!("invalid audio model config: {e}"))),
    }
}

/// The MIME type of a TTS `response_format`.
pub(crate) fn audio_mime(format: &str) -> &'static str {
    match format {
        "opus" => "audio/opus",
        "aac" => "audio/aac",
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        "pcm" => "audio/L16",
        _ => "audio/mpeg",
    }
}

/// The TTS request body and per-call key.
pub(crate) fn speech_body(req: &ModelRequest, id: &str) -> Result<(Value, String, Option<String>)> {
    let cfg: SpeechConfig = config(req)?;
    let input = prompt_text(req);
    if input.trim().is_empty() {
        return Err(Error::invalid_argument("a speech model needs text to speak"));
    }
    let format = cfg.response_format.unwrap_or_else(|| "mp3".to_owned());
    let mut body = Map::new();
    body.insert("model".into(), json!(cfg.version.unwrap_or_else(|| id.to_owned())));
    body.insert("input".into(), json!(input));
    body.insert("voice".into(), json!(cfg.voice.unwrap_or_else(|| "alloy".to_owned())));
    body.insert("response_format".into(), json!(format));
    if let Some(s) = cfg.speed {
        body.insert("speed".into(), json!(s));
    }
    if let Some(i) = cfg.instructions {
        body.insert("instructions".into(), json!(i));
    }
    for (k, v) in cfg.extra {
        body.entry(k).or_insert(v);
    }
    Ok((Value::Object(body), format, cfg.api_key))
}

/// Builds a speech model action `<plugin>/<id>`.
pub(crate) fn speech_model(plugin: &str, client: Arc<Client>, spec: &ModelSpec) -> Model {
    let opts = ModelOptions::new(format!("{plugin}/{}", spec.id))
        .label(spec.display_label(plugin))
        .supports(spec.supports.clone())
        .config_schema(genkit_core::schema_for::<SpeechConfig>());
    let id: Arc<str> = spec.id.as_str().into();
    genkit_ai::model::new(opts, move |req, _cx| {
        let client = client.clone();
        let id = id.clone();
        async move {
            let (body, format, key) = speech_body(&req, &id)?;
            let model = body["model"].as_str().unwrap_or(&id).to_owned();
            let resp = client.post_json("audio/speech", &model, &body, key.as_deref()).await?;
            let audio = client.bytes(resp).await?;
            if audio.is_empty() {
                return Err(bad_response(&client.origin, "empty audio"));
            }
            let mime = audio_mime(&format);
            let b64 = base64::engine::general_purpose::STANDARD.encode(&audio);
            Ok(ModelResponse {
                message: Some(Message::new(
                    Role::Model,
                    vec![Part::media(format!("data:{mime};base64,{b64}"), Some(mime.to_owned()))],
                )),
                finish_reason: Some(FinishReason::Stop),
                ..ModelResponse::default()
            })
        }
    })
}

/// The audio to transcribe: the first media part of the request, as bytes, a file name and
/// a MIME type. Only `data:` URLs are accepted (the plugin never fetches URLs itself).
pub(crate) fn audio_input(req: &ModelRequest) -> Result<(Vec<u8>, String, String)> {
    let media = req
        .messages
        .iter()
        .rev()
        .flat_map(|m| m.content.iter())
        .find_map(|p| p.media.as_ref())
        .ok_or_else(|| Error::invalid_argument("a transcription model needs an audio media part"))?;
    let Some((mime, true, payload)) = parse_data_url(&media.url) else {
        return Err(Error::invalid_argument(
            "audio must be given as a base64 data: URL (download remote audio first, e.g. with the download_request_media middleware)",
        ));
    };
    let mime = media.content_type.clone().unwrap_or_else(|| mime.to_owned());
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload.trim())
        .map_err(|e| Error::invalid_argument(format!("the audio data URL is not valid base64: {e}")))?;
    let ext = match mime.as_str() {
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" => "m4a",
        m => m.rsplit('/').next().filter(|e| !e.is_empty()).unwrap_or("mp3"),
    };
    Ok((bytes, format!("audio.{ext}"), mime))
}

/// What a transcription request sends besides the file.
pub(crate) struct TranscriptionFields {
    /// Form fields, `model` first.
    pub(crate) fields: Vec<(String, String)>,
    /// Whether to call `/audio/translations`.
    pub(crate) translate: bool,
    /// The per-request key.
    pub(crate) key: Option<String>,
}

/// The multipart form fields (besides the file) of a transcription request.
pub(crate) fn transcription_fields(req: &ModelRequest, id: &str) -> Result<TranscriptionFields> {
    let cfg: TranscriptionConfig = config(req)?;
    let mut f = vec![("model".to_owned(), cfg.version.unwrap_or_else(|| id.to_owned()))];
    let prompt = prompt_text(req);
    if !prompt.trim().is_empty() {
        f.push(("prompt".into(), prompt));
    }
    if let Some(l) = cfg.language {
        f.push(("language".into(), l));
    }
    if let Some(r) = cfg.response_format {
        f.push(("response_format".into(), r));
    }
    if let Some(t) = cfg.temperature {
        f.push(("temperature".into(), t.to_string()));
    }
    for g in cfg.timestamp_granularities.into_iter().flatten() {
        f.push(("timestamp_granularities[]".into(), g));
    }
    for (k, v) in cfg.extra {
        let v = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        f.push((k, v));
    }
    Ok(TranscriptionFields { fields: f, translate: cfg.translate.unwrap_or(false), key: cfg.api_key })
}

/// Decodes a transcription answer: JSON `{text, …}` or plain text (`text`, `srt`, `vtt`).
pub(crate) fn decode_transcription(origin: &str, raw: &[u8], json_body: bool) -> Result<ModelResponse> {
    let (text, custom) = if json_body {
        let v: Value = serde_json::from_slice(raw).map_err(|e| bad_response(origin, e))?;
        let text = v
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| bad_response(origin, "no text in the transcription"))?
            .to_owned();
        (text, Some(v))
    } else {
        (String::from_utf8_lossy(raw).into_owned(), None)
    };
    Ok(ModelResponse {
        message: Some(Message::new(Role::Model, vec![Part::text(text)])),
        finish_reason: Some(FinishReason::Stop),
        custom,
        ..ModelResponse::default()
    })
}

/// Builds a transcription model action `<plugin>/<id>`.
pub(crate) fn transcription_model(plugin: &str, client: Arc<Client>, spec: &ModelSpec) -> Model {
    let opts = ModelOptions::new(format!("{plugin}/{}", spec.id))
        .label(spec.display_label(plugin))
        .supports(spec.supports.clone())
        .config_schema(genkit_core::schema_for::<TranscriptionConfig>());
    let id: Arc<str> = spec.id.as_str().into();
    genkit_ai::model::new(opts, move |req, _cx| {
        let client = client.clone();
        let id = id.clone();
        async move {
            let (bytes, filename, mime) = audio_input(&req)?;
            let TranscriptionFields { fields, translate, key } = transcription_fields(&req, &id)?;
            let model = fields.first().map(|f| f.1.clone()).unwrap_or_else(|| id.to_string());
            let file = reqwest::multipart::Part::bytes(bytes)
                .file_name(filename)
                .mime_str(&mime)
                .map_err(|e| Error::invalid_argument(format!("bad audio MIME type {mime:?}: {e}")))?;
            let mut form = reqwest::multipart::Form::new().part("file", file);
            let mut json_body = true;
            for (k, v) in fields {
                if k == "response_format" {
                    json_body = v == "json" || v == "verbose_json";
                }
                form = form.text(k, v);
            }
            let path = if translate { "audio/translations" } else { "audio/transcriptions" };
            let resp = client.post_multipart(path, &model, form, key.as_deref()).await?;
            let raw = client.bytes(resp).await?;
            decode_transcription(&client.origin, &raw, json_body)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_bodies_default_to_alloy_mp3() {
        let req = ModelRequest {
            messages: vec![Message::user("Hello there")],
            config: Some(json!({"speed": 1.5, "apiKey": "k"})),
            ..Default::default()
        };
        let (b, fmt, key) = speech_body(&req, "tts-1").unwrap();
        assert_eq!(
            b,
            json!({"model": "tts-1", "input": "Hello there", "voice": "alloy", "response_format": "mp3", "speed": 1.5})
        );
        assert_eq!((fmt.as_str(), key.as_deref()), ("mp3", Some("k")));
        assert_eq!(audio_mime("wav"), "audio/wav");
        assert_eq!(audio_mime("pcm"), "audio/L16");
    }

    #[test]
    fn transcription_takes_a_data_url_and_form_fields() {
        let req = ModelRequest {
            messages: vec![Message::new(
                Role::User,
                vec![Part::media("data:audio/mpeg;base64,SUQz", None), Part::text("names: Genkit")],
            )],
            config: Some(json!({"language": "en", "timestampGranularities": ["word"], "include": ["logprobs"]})),
            ..Default::default()
        };
        let (bytes, name, mime) = audio_input(&req).unwrap();
        assert_eq!((bytes.as_slice(), name.as_str(), mime.as_str()), (&b"ID3"[..], "audio.mp3", "audio/mpeg"));
        let TranscriptionFields { fields, translate, .. } = transcription_fields(&req, "whisper-1").unwrap();
        assert!(!translate);
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            f,
            vec![
                ("model", "whisper-1"),
                ("prompt", "names: Genkit"),
                ("language", "en"),
                ("timestamp_granularities[]", "word"),
                ("include", "[\"logprobs\"]"),
            ]
        );
        let remote = ModelRequest {
            messages: vec![Message::new(Role::User, vec![Part::media("https://x/a.mp3", None)])],
            ..Default::default()
        };
        assert!(audio_input(&remote).is_err());
    }

    #[test]
    fn transcriptions_decode_from_json_or_text() {
        assert_eq!(decode_transcription("o", br#"{"text":"hi"}"#, true).unwrap().text(), "hi");
        assert_eq!(
            decode_transcription("o", b"1\n00:00 --> 00:01\nhi", false).unwrap().text(),
            "1\n00:00 --> 00:01\nhi"
        );
        assert!(decode_transcription("o", b"{}", true).is_err());
    }
}
