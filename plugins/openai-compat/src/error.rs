//! Provider errors as Genkit errors: HTTP status → Genkit [`Status`], the provider's own
//! message, `Retry-After`, and transport failures (timeouts, refused connections).

use std::time::Duration;

use genkit_core::{Error, Status};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// Longest provider message kept in an error (bodies of HTML error pages can be huge).
const MAX_MESSAGE: usize = 2000;

/// The Genkit status for an HTTP status a provider answered with.
pub(crate) fn status_for(code: u16) -> Status {
    match code {
        400 | 422 => Status::InvalidArgument,
        401 => Status::Unauthenticated,
        403 => Status::PermissionDenied,
        404 => Status::NotFound,
        408 => Status::DeadlineExceeded,
        409 => Status::Aborted,
        413 => Status::InvalidArgument,
        429 => Status::ResourceExhausted,
        499 => Status::Cancelled,
        501 => Status::Unimplemented,
        504 => Status::DeadlineExceeded,
        500..=599 => Status::Unavailable,
        _ => Status::Unknown,
    }
}

/// `retry-after-ms` (OpenAI, Azure) or `retry-after` in seconds.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let secs = get("retry-after")?.parse::<f64>().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// The provider's message from an error body: `{error: {message}}` (OpenAI, Azure, xAI,
/// DeepSeek), `{error: "…"}`, `{message}`, `{detail}`, else the body text itself.
fn provider_message(body: &str) -> (String, Option<Value>) {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        let err = v.get("error").unwrap_or(&v);
        let msg = match err {
            Value::String(s) => Some(s.clone()),
            _ => ["message", "detail", "error"]
                .iter()
                .find_map(|k| err.get(*k))
                .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned)),
        };
        if let Some(m) = msg {
            return (truncate(m), Some(v));
        }
    }
    let text = body.trim();
    (truncate(if text.is_empty() { "(empty response body)".to_owned() } else { text.to_owned() }), None)
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// The error for a non-success HTTP answer: mapped status, the provider's message, the HTTP
/// status and `Retry-After` recorded, the error body in `details.error`.
pub(crate) fn http_error(origin: &str, code: u16, headers: &HeaderMap, body: &str) -> Error {
    let (message, parsed) = provider_message(body);
    let mut details = json!({ "httpStatus": code });
    if let Some(e) = parsed.as_ref().and_then(|v| v.get("error")).filter(|e| e.is_object()) {
        details["error"] = e.clone();
    }
    let mut e = Error::new(status_for(code), format!("{message} (HTTP {code})"))
        .with_origin(origin)
        .with_http_status(code)
        .with_details(details);
    if let Some(after) = retry_after(headers) {
        e = e.with_retry_after(after);
    }
    e
}

/// The error for a failed transport (no HTTP answer, or the body could not be read).
pub(crate) fn transport_error(origin: &str, err: reqwest::Error) -> Error {
    let status = if err.is_timeout() {
        Status::DeadlineExceeded
    } else if err.is_connect() || err.is_request() || err.is_body() {
        Status::Unavailable
    } else if err.is_decode() {
        Status::Internal
    } else {
        Status::Unavailable
    };
    // reqwest's message names the URL but never headers, so the API key cannot leak here.
    let what = if err.is_timeout() { "request timed out" } else { "request failed" };
    Error::new(status, format!("{what}: {err}")).with_origin(origin).with_source(err)
}

/// A response the plugin cannot understand.
pub(crate) fn bad_response(origin: &str, what: impl std::fmt::Display) -> Error {
    Error::new(Status::Internal, format!("unexpected response from the provider: {what}")).with_origin(origin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn statuses_map_like_genkit_js() {
        assert_eq!(status_for(400), Status::InvalidArgument);
        assert_eq!(status_for(401), Status::Unauthenticated);
        assert_eq!(status_for(403), Status::PermissionDenied);
        assert_eq!(status_for(404), Status::NotFound);
        assert_eq!(status_for(429), Status::ResourceExhausted);
        assert_eq!(status_for(500), Status::Unavailable);
        assert_eq!(status_for(502), Status::Unavailable);
        assert_eq!(status_for(503), Status::Unavailable);
        assert_eq!(status_for(504), Status::DeadlineExceeded);
        assert_eq!(status_for(418), Status::Unknown);
    }

    #[test]
    fn retry_after_prefers_milliseconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn messages_come_from_the_provider_body() {
        let body = r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#;
        let e = http_error("openai", 401, &HeaderMap::new(), body);
        assert_eq!(e.status(), Status::Unauthenticated);
        assert_eq!(e.message(), "Incorrect API key provided (HTTP 401)");
        assert_eq!(e.origin(), Some("openai"));
        assert_eq!(e.provider_http_status(), Some(401));
        assert_eq!(e.details().unwrap()["error"]["code"], "invalid_api_key");
        assert_eq!(provider_message(r#"{"error":"nope"}"#).0, "nope");
        assert_eq!(provider_message(r#"{"detail":"Not Found"}"#).0, "Not Found");
        assert_eq!(provider_message("Bad Gateway").0, "Bad Gateway");
        assert_eq!(provider_message("").0, "(empty response body)");
        assert!(provider_message(&"é".repeat(3000)).0.len() <= MAX_MESSAGE + 3);
    }
}
