//! A provider's non-success HTTP answer as a Genkit error: status by
//! [`Status::from_http`], the provider's own message, `Retry-After` and the HTTP status kept.

use std::time::SystemTime;

use genkit_core::{Error, Status};
use serde_json::{Value, json};

use crate::retry_after::RetryAfter;

/// The longest provider message kept in an error, in bytes (HTML error pages can be huge).
pub const MAX_MESSAGE: usize = 2000;

/// Bodies larger than this are not parsed as JSON, only quoted.
const MAX_JSON_BODY: usize = 256 << 10;

/// The error for a non-success HTTP answer of `provider`.
///
/// - status: [`Status::from_http`] of `status`;
/// - message: the provider's message from the common JSON error shapes (`{"error":
///   {"message"}}` of OpenAI, Anthropic, Gemini and Mistral; `{"error": "…"}` of Ollama;
///   `{"message"}`; `{"detail"}` of FastAPI servers), else the body text, cut to
///   [`MAX_MESSAGE`] bytes, followed by ` (HTTP <status>)`;
/// - origin: `provider`;
/// - `status` itself, as [`Error::provider_http_status`];
/// - details: `{"httpStatus": status, "error": {…}}`, the second when the body has an
///   `error` object;
/// - the delay `retry-after-ms` or `Retry-After` asks for, capped at
///   [`DEFAULT_RETRY_AFTER_CAP`](crate::DEFAULT_RETRY_AFTER_CAP), as [`Error::retry_after`].
///
/// `headers` is any `(name, value)` list (a `reqwest`/`http` `&HeaderMap` works). Redact the
/// API key from `body` first (see [`Secret::redact`](crate::Secret::redact)) if the provider
/// may echo it.
///
/// ```
/// use genkit_core::Status;
/// let body = br#"{"error":{"message":"Rate limit reached","type":"requests"}}"#;
/// let e = genkit_http::http_error(429, [("retry-after", "2")], body, "openai");
/// assert_eq!(e.status(), Status::ResourceExhausted);
/// assert_eq!(e.to_string(), "openai: RESOURCE_EXHAUSTED: Rate limit reached (HTTP 429)");
/// assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(2)));
/// assert_eq!(e.details().unwrap()["error"]["type"], "requests");
/// ```
pub fn http_error<H, K, V>(status: u16, headers: H, body: &[u8], provider: &str) -> Error
where
    H: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<[u8]>,
{
    let (message, parsed) = provider_message(body);
    let mut details = json!({ "httpStatus": status });
    if let Some(e) = parsed.as_ref().and_then(|v| v.get("error")).filter(|e| e.is_object()) {
        details["error"] = e.clone();
    }
    let e = Error::new(Status::from_http(status), format!("{message} (HTTP {status})"))
        .with_origin(provider)
        .with_http_status(status)
        .with_details(details);
    match RetryAfter::new().from_headers(headers, SystemTime::now()) {
        Some(after) => e.with_retry_after(after),
        None => e,
    }
}

/// The error a provider reported inside a success answer, if it did: some OpenAI-compatible
/// servers and gateways answer HTTP 200 with `{"error": {"message": …, "code": …}}` (or
/// `{"error": "…"}`), which decoded as a success would give an empty or wrong result.
///
/// `None` unless `body` is a JSON object (of at most 256 KiB: error bodies are small) whose
/// `error` member is an object or a string. Otherwise the error has:
/// - status: [`Status::from_http`] of the error's numeric `code` when it is an HTTP error
///   status (400–599), else its `status` when that is a Genkit status name (as Gemini sends:
///   `RESOURCE_EXHAUSTED`), else `UNAVAILABLE` (the provider failed; as for an error event in a
///   stream, a retry may help);
/// - message: the provider's message (as [`http_error`] finds it), then the code when there
///   is one and `in an HTTP 200 answer`;
/// - origin `provider` and details `{"httpStatus": 200, "error": …}`.
///
/// ```
/// use genkit_core::Status;
/// let body = br#"{"error":{"message":"Upstream rate limit","code":429}}"#;
/// let e = genkit_http::body_error(body, "router").unwrap();
/// assert_eq!(e.status(), Status::ResourceExhausted);
/// assert_eq!(e.to_string(), "router: RESOURCE_EXHAUSTED: Upstream rate limit (code 429, in an HTTP 200 answer)");
/// assert!(genkit_http::body_error(br#"{"choices":[],"error":null}"#, "router").is_none());
/// ```
pub fn body_error(body: &[u8], provider: &str) -> Option<Error> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(default)]
        error: Option<Value>,
    }
    // A derived struct would also read a JSON array positionally: only objects count.
    if body.len() > MAX_JSON_BODY || body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let err = serde_json::from_slice::<Probe>(body).ok()?.error.filter(|e| e.is_object() || e.is_string())?;
    let (message, _) = provider_message_of(&err);
    let code = err.get("code").and_then(|c| match c {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    let http = code.and_then(|c| u16::try_from(c).ok()).filter(|c| (400..600).contains(c));
    let status = match (http, err.get("status").and_then(Value::as_str).and_then(|s| s.parse::<Status>().ok())) {
        (Some(c), _) => Status::from_http(c),
        (None, Some(s)) if s != Status::Ok => s,
        _ => Status::Unavailable,
    };
    let suffix = match err.get("code").filter(|c| c.is_number() || c.is_string()) {
        Some(Value::String(c)) => format!("code {}, ", truncate(c)),
        Some(c) => format!("code {c}, "),
        None => String::new(),
    };
    Some(
        Error::new(status, format!("{message} ({suffix}in an HTTP 200 answer)"))
            .with_origin(provider)
            .with_details(json!({ "httpStatus": 200, "error": err })),
    )
}

/// The message of an `error` member: itself when it is a string, else its `message`,
/// `detail` or `error`, else its JSON text; cut to [`MAX_MESSAGE`] bytes.
fn provider_message_of(err: &Value) -> (String, bool) {
    let msg = match err {
        Value::String(s) => Some(s.clone()),
        _ => ["message", "detail", "error"]
            .iter()
            .find_map(|k| err.get(*k))
            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned)),
    };
    match msg {
        Some(m) => (truncate(&m), true),
        None => (truncate(&err.to_string()), false),
    }
}

/// The provider's message from an error body, and the body parsed when it is JSON.
fn provider_message(body: &[u8]) -> (String, Option<Value>) {
    let parsed = (body.len() <= MAX_JSON_BODY).then(|| serde_json::from_slice::<Value>(body).ok()).flatten();
    if let Some(v) = &parsed {
        let (m, found) = provider_message_of(v.get("error").unwrap_or(v));
        if found {
            return (m, parsed);
        }
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_MESSAGE + 4)]);
    let text = text.trim();
    (if text.is_empty() { "(empty response body)".to_owned() } else { truncate(text) }, parsed)
}

/// `s` cut to [`MAX_MESSAGE`] bytes at a character boundary, marked with `…` when cut.
fn truncate(s: &str) -> String {
    if s.len() <= MAX_MESSAGE {
        return s.to_owned();
    }
    let mut cut = MAX_MESSAGE;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const NO_HEADERS: [(&str, &str); 0] = [];

    fn message(body: &str) -> String {
        provider_message(body.as_bytes()).0
    }

    #[test]
    fn the_openai_shape_keeps_status_message_and_details() {
        let body = br#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#;
        let e = http_error(401, NO_HEADERS, body, "openai");
        assert_eq!(e.status(), Status::Unauthenticated);
        assert_eq!(e.message(), "Incorrect API key provided (HTTP 401)");
        assert_eq!(e.origin(), Some("openai"));
        assert_eq!(e.provider_http_status(), Some(401));
        assert_eq!(e.details().unwrap()["httpStatus"], 401);
        assert_eq!(e.details().unwrap()["error"]["code"], "invalid_api_key");
        assert_eq!(e.retry_after(), None);
    }

    #[test]
    fn messages_come_from_every_common_shape() {
        assert_eq!(
            message(r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
            "Overloaded"
        );
        assert_eq!(message(r#"{"error":{"code":429,"message":"Quota","status":"RESOURCE_EXHAUSTED"}}"#), "Quota");
        assert_eq!(message(r#"{"error":"model 'x' not found"}"#), "model 'x' not found");
        assert_eq!(message(r#"{"message":"nope","code":"3"}"#), "nope");
        assert_eq!(message(r#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(
            message(r#"{"detail":[{"loc":["body"],"msg":"field required"}]}"#),
            r#"[{"loc":["body"],"msg":"field required"}]"#
        );
        assert_eq!(message(r#"{"unrelated":1}"#), r#"{"unrelated":1}"#);
        assert_eq!(message("  Bad Gateway\n"), "Bad Gateway");
        assert_eq!(message(""), "(empty response body)");
        assert_eq!(message("\u{FFFD}"), "\u{FFFD}");
        assert_eq!(provider_message(b"\xff\xfe").0, "\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn long_bodies_are_cut_at_a_character_boundary() {
        let m = message(&"é".repeat(3000));
        assert!(m.len() <= MAX_MESSAGE + '…'.len_utf8() && m.ends_with('…'), "{}", m.len());
        let m = message(&format!(r#"{{"error":{{"message":"{}"}}}}"#, "x".repeat(5000)));
        assert_eq!(m.len(), MAX_MESSAGE + '…'.len_utf8());
        let huge = format!(r#"{{"error":{{"message":"{}"}}}}"#, "y".repeat(MAX_JSON_BODY));
        let (m, parsed) = provider_message(huge.as_bytes());
        assert!(parsed.is_none() && m.starts_with(r#"{"error""#));
    }

    #[test]
    fn retry_after_is_attached_and_capped() {
        let e = http_error(429, [("retry-after", "20"), ("retry-after-ms", "20000")], b"{}", "p");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(20)));
        let e = http_error(503, [("Retry-After", "99999999999999999999999")], b"", "p");
        assert_eq!(e.retry_after(), Some(crate::DEFAULT_RETRY_AFTER_CAP));
        assert_eq!(e.status(), Status::Unavailable);
        assert_eq!(e.message(), "(empty response body) (HTTP 503)");
    }

    #[test]
    fn errors_inside_a_200_answer_keep_message_and_status() {
        let e = body_error(
            br#"{"error":{"message":"Invalid model","type":"invalid_request_error","code":"model_not_found"}}"#,
            "p",
        )
        .unwrap();
        assert_eq!(e.status(), Status::Unavailable);
        assert_eq!(e.message(), "Invalid model (code model_not_found, in an HTTP 200 answer)");
        assert_eq!(e.details().unwrap()["error"]["type"], "invalid_request_error");
        assert_eq!(e.origin(), Some("p"));
        let e = body_error(br#"{"error":{"message":"Provider returned error","code":"502"}}"#, "p").unwrap();
        assert_eq!(e.status(), Status::Unavailable);
        let e = body_error(br#"{"error":{"message":"Key invalid","code":401}}"#, "p").unwrap();
        assert_eq!(
            (e.status(), e.message()),
            (Status::Unauthenticated, "Key invalid (code 401, in an HTTP 200 answer)")
        );
        let e = body_error(br#"{"error":{"code":8,"message":"Quota","status":"RESOURCE_EXHAUSTED"}}"#, "p").unwrap();
        assert_eq!(e.status(), Status::ResourceExhausted);
        let e = body_error(br#" {"error": "model is loading"} "#, "p").unwrap();
        assert_eq!(e.message(), "model is loading (in an HTTP 200 answer)");
        let e = body_error(br#"{"error":{"type":"server_error"}}"#, "p").unwrap();
        assert_eq!(e.message(), r#"{"type":"server_error"} (in an HTTP 200 answer)"#);
        for fine in [
            &br#"{"choices":[]}"#[..],
            br#"{"error":null,"choices":[]}"#,
            br#"{"error":false}"#,
            br#"[{"error":"x"}]"#,
            b"not json",
            b"",
        ] {
            assert!(body_error(fine, "p").is_none(), "{}", String::from_utf8_lossy(fine));
        }
    }

    proptest::proptest! {
        #[test]
        fn no_answer_makes_the_error_mapping_panic(
            status in proptest::prelude::any::<u16>(),
            name in "[a-zA-Z-]{0,20}",
            value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            code in proptest::prelude::any::<i64>(),
            text in proptest::prelude::any::<String>(),
        ) {
            let _ = http_error(status, [(name.as_str(), value.as_slice()), ("retry-after", value.as_slice())], &body, "p");
            let _ = body_error(&body, "p");
            let shaped = json!({"error": {"message": text, "code": code, "status": text}}).to_string();
            let e = body_error(shaped.as_bytes(), "p");
            proptest::prop_assert!(e.is_some());
            let shaped = json!({"error": {"code": text}}).to_string();
            let _ = http_error(status, NO_HEADERS, shaped.as_bytes(), "p");
            let _ = body_error(shaped.as_bytes(), "p");
        }
    }

    #[test]
    fn status_follows_the_one_table() {
        for (code, status) in [
            (400, Status::InvalidArgument),
            (413, Status::InvalidArgument),
            (500, Status::Unavailable),
            (502, Status::Unavailable),
        ] {
            assert_eq!(http_error(code, NO_HEADERS, b"x", "p").status(), status, "{code}");
        }
    }
}
