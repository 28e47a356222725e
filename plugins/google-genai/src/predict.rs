//! Shared pieces of the `:predict`-style model families (Imagen, Veo, Lyria, multimodal
//! embeddings): the prompt text and media a request carries, media in the shapes those APIs
//! take (`bytesBase64Encoded` / `gcsUri`), and predictions back as media parts.

use genkit_ai::{Media, ModelRequest, Part};
use genkit_core::{Error, Result};
use serde_json::{Map, Value, json};

/// The part metadata key that says what a media part is for (`image`, `mask`, `lastFrame`,
/// `video`, …), as Genkit JS reads it.
pub(crate) const MEDIA_TYPE_KEY: &str = "type";

/// The text of the request's last message (the prompt of single-turn media models).
pub(crate) fn prompt_text(req: &ModelRequest) -> String {
    req.messages
        .last()
        .map(|m| m.content.iter().filter_map(|p| p.text.as_deref()).collect::<Vec<_>>().join(""))
        .unwrap_or_default()
}

fn media_type(p: &Part) -> Option<&str> {
    p.metadata.as_ref().and_then(|m| m.get(MEDIA_TYPE_KEY)).and_then(Value::as_str)
}

/// The first media part of the last message whose metadata `type` is `kind`; with
/// `is_default`, a media part without a `type` counts too.
pub(crate) fn find_media<'a>(req: &'a ModelRequest, kind: &str, is_default: bool) -> Option<&'a Media> {
    let last = req.messages.last()?;
    last.content.iter().filter(|p| p.media.is_some()).find_map(|p| match media_type(p) {
        Some(t) if t == kind => p.media.as_deref(),
        None if is_default => p.media.as_deref(),
        _ => None,
    })
}

/// The MIME type of a `data:` URL, if it has one.
pub(crate) fn data_url_mime(url: &str) -> Option<&str> {
    let head = url.strip_prefix("data:")?.split_once(',')?.0;
    let mime = head.split(';').next()?;
    (!mime.is_empty()).then_some(mime)
}

/// Media as the predict APIs take it: `{bytesBase64Encoded}` for a `data:` URL (or bare
/// base64), `{gcsUri}` for a `gs://` URI; with `with_mime`, the MIME type too (from the
/// part, else the data URL; required then). `http(s)` URLs are refused: these APIs do not
/// fetch them.
pub(crate) fn predict_media(media: &Media, family: &str, with_mime: bool) -> Result<Value> {
    let mut out = Map::new();
    let url = media.url.as_str();
    if let Some(rest) = url.strip_prefix("data:") {
        let Some((_, data)) = rest.split_once(',') else {
            return Err(Error::invalid_argument(format!("{family}: a media data: URL has no payload")));
        };
        out.insert("bytesBase64Encoded".into(), Value::String(data.to_owned()));
    } else if url.starts_with("gs://") {
        out.insert("gcsUri".into(), Value::String(url.to_owned()));
    } else if url.starts_with("http://") || url.starts_with("https://") {
        return Err(Error::invalid_argument(format!(
            "{family} does not take http(s) media URLs: pass the media inline as a data: URL or as a gs:// Cloud Storage URI"
        )));
    } else {
        out.insert("bytesBase64Encoded".into(), Value::String(url.to_owned()));
    }
    if with_mime {
        let mime = media.content_type.as_deref().or_else(|| data_url_mime(url)).ok_or_else(|| {
            Error::invalid_argument(format!("{family}: a media part needs a contentType (e.g. image/png)"))
        })?;
        out.insert("mimeType".into(), Value::String(mime.to_owned()));
    }
    Ok(Value::Object(out))
}

/// A prediction with `bytesBase64Encoded` (and `mimeType`) as a media part with a `data:`
/// URL; one with `gcsUri` as a media part pointing there. `None` when it has neither (e.g. a
/// prediction that only reports a safety filter reason).
pub(crate) fn prediction_media(p: &Value, default_mime: &str) -> Option<Part> {
    let mime = p.get("mimeType").and_then(Value::as_str).filter(|m| !m.is_empty()).unwrap_or(default_mime);
    if let Some(b64) = p.get("bytesBase64Encoded").and_then(Value::as_str) {
        return Some(Part::media(format!("data:{mime};base64,{b64}"), Some(mime.to_owned())));
    }
    let uri = p.get("gcsUri").or_else(|| p.get("uri")).and_then(Value::as_str)?;
    Some(Part::media(uri, p.get("mimeType").and_then(Value::as_str).map(str::to_owned)))
}

/// Config keys that configure the client, never sent as prediction parameters.
pub(crate) const CLIENT_KEYS: [&str; 6] = ["apiKey", "version", "baseUrl", "apiVersion", "location", "timeout"];

/// The safety filter reasons predictions report instead of media (`raiFilteredReason`).
pub(crate) fn filtered_reasons(predictions: &[Value]) -> Vec<String> {
    predictions.iter().filter_map(|p| p.get("raiFilteredReason").and_then(Value::as_str).map(str::to_owned)).collect()
}

/// Runs `call` unless `cancelled` fires first (then `CANCELLED`).
pub(crate) async fn until_cancelled<T>(
    origin: &str,
    cancelled: impl std::future::Future<Output = ()>,
    call: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::select! {
        r = call => r,
        () = cancelled => Err(Error::cancelled("the model call was cancelled").with_origin(origin.to_owned())),
    }
}

/// A `{"instances": [..], "parameters": {..}}` body.
pub(crate) fn predict_body(instance: Map<String, Value>, parameters: Map<String, Value>) -> Value {
    json!({"instances": [Value::Object(instance)], "parameters": Value::Object(parameters)})
}

#[cfg(test)]
mod tests {
    use super::*;
    use genkit_ai::Message;

    #[test]
    fn media_shapes_for_the_predict_apis() {
        let m = Media { url: "data:image/png;base64,AAAA".into(), content_type: None };
        assert_eq!(
            predict_media(&m, "Imagen", true).unwrap(),
            json!({"bytesBase64Encoded": "AAAA", "mimeType": "image/png"})
        );
        let m = Media { url: "gs://b/v.mp4".into(), content_type: Some("video/mp4".into()) };
        assert_eq!(predict_media(&m, "Veo", false).unwrap(), json!({"gcsUri": "gs://b/v.mp4"}));
        let m = Media { url: "https://x.test/a.png".into(), content_type: None };
        let e = predict_media(&m, "Imagen", false).unwrap_err();
        assert_eq!(e.status(), genkit_core::Status::InvalidArgument);
        assert!(e.message().contains("gs://"), "{}", e.message());
        let m = Media { url: "QUJD".into(), content_type: None };
        assert!(predict_media(&m, "Veo", true).is_err(), "bare base64 without a type");
    }

    #[test]
    fn prompt_and_media_come_from_the_last_message() {
        let mut last = Message::user("a cat ");
        last.content.push(Part::text("in a hat"));
        last.content.push(Part::media("data:image/png;base64,MASK", None).with_metadata(MEDIA_TYPE_KEY, json!("mask")));
        last.content.push(Part::media("data:image/png;base64,BASE", None));
        let req = ModelRequest { messages: vec![Message::user("old"), last], ..ModelRequest::default() };
        assert_eq!(prompt_text(&req), "a cat in a hat");
        assert_eq!(find_media(&req, "image", true).unwrap().url, "data:image/png;base64,BASE");
        assert_eq!(find_media(&req, "mask", false).unwrap().url, "data:image/png;base64,MASK");
        assert!(find_media(&req, "lastFrame", false).is_none());
    }

    #[test]
    fn predictions_become_media_parts() {
        let p =
            prediction_media(&json!({"bytesBase64Encoded": "QQ==", "mimeType": "image/jpeg"}), "image/png").unwrap();
        let m = p.media.unwrap();
        assert_eq!((m.url.as_str(), m.content_type.as_deref()), ("data:image/jpeg;base64,QQ==", Some("image/jpeg")));
        let p = prediction_media(&json!({"bytesBase64Encoded": "QQ=="}), "audio/wav").unwrap();
        assert_eq!(p.media.unwrap().url, "data:audio/wav;base64,QQ==");
        assert!(prediction_media(&json!({"raiFilteredReason": "x"}), "image/png").is_none());
        assert_eq!(filtered_reasons(&[json!({"raiFilteredReason": "x"})]), vec!["x".to_owned()]);
    }
}
