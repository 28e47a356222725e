//! Failures as Genkit errors: answers the plugin cannot read, and
//! Google's error body `{"error":{"code","message","status","details":[…]}}`, whose canonical
//! `status` name and `RetryInfo.retryDelay` win over the HTTP status and `Retry-After`.

use std::time::Duration;

use genkit_core::{Error, Status};
use serde_json::Value;

/// A response the plugin cannot understand.
pub(crate) fn bad_response(origin: &str, what: impl std::fmt::Display) -> Error {
    Error::new(Status::Internal, format!("unexpected response from the Gemini API: {what}")).with_origin(origin)
}

/// Parses a protobuf `Duration` in its JSON form (`"17s"`, `"0.5s"`).
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let secs: f64 = s.trim().strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// The delay a `google.rpc.RetryInfo` entry of `details` asks for.
pub(crate) fn retry_info(error: &Value) -> Option<Duration> {
    error.get("details")?.as_array()?.iter().find_map(|d| {
        let kind = d.get("@type").and_then(Value::as_str)?;
        if !kind.ends_with("google.rpc.RetryInfo") {
            return None;
        }
        parse_duration(d.get("retryDelay")?.as_str()?)
    })
}

/// The error of a non-success HTTP answer: [`genkit_http::http_error`] (status by HTTP code,
/// Google's message, `Retry-After`), then refined from the body: Google's canonical
/// `status` name (e.g. `FAILED_PRECONDITION` on a 400) sets the Genkit status, and a
/// `RetryInfo` delay replaces `Retry-After`.
pub(crate) fn api_error(status: u16, headers: &reqwest::header::HeaderMap, body: &[u8], origin: &str) -> Error {
    let base = genkit_http::http_error(status, headers, body, origin);
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error")).filter(|e| e.is_object());
    let Some(error) = error else { return base };
    let named = error.get("status").and_then(Value::as_str).and_then(|s| s.parse::<Status>().ok());
    let delay = retry_info(error).or(base.retry_after());
    let mut e = Error::new(named.unwrap_or(base.status()), base.message().to_owned())
        .with_origin(origin)
        .with_http_status(status);
    if let Some(d) = base.details() {
        e = e.with_details(d.clone());
    }
    match delay {
        Some(d) => e.with_retry_after(d),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_parse_like_protobuf_json() {
        assert_eq!(parse_duration("17s"), Some(Duration::from_secs(17)));
        assert_eq!(parse_duration("0.5s"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("-1s"), None);
    }

    #[test]
    fn google_status_names_and_retry_info_win() {
        let body = json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "31s"}]}});
        let e = api_error(429, &reqwest::header::HeaderMap::new(), body.to_string().as_bytes(), "googleai");
        assert_eq!(e.status(), Status::ResourceExhausted);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(31)));
        assert!(e.message().contains("Quota exceeded"), "{}", e.message());
        assert_eq!(e.provider_http_status(), Some(429));
        let body = json!({"error": {"code": 400, "message": "User location is not supported", "status": "FAILED_PRECONDITION"}});
        let e = api_error(400, &reqwest::header::HeaderMap::new(), body.to_string().as_bytes(), "googleai");
        assert_eq!(e.status(), Status::FailedPrecondition);
        let e = api_error(503, &reqwest::header::HeaderMap::new(), b"oops", "googleai");
        assert_eq!(e.status(), Status::Unavailable);
    }
}
