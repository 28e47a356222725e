//! The bytes of the Genkit flow protocol: JSON bodies, stream frames and error bodies, written
//! exactly as Genkit JS writes them.

use std::any::Any;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use genkit_core::{Error, Status};
use serde_json::Value;

/// `Content-Type` of JSON answers (what express's `res.json` sends).
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// `Content-Type` of streamed answers (Genkit JS writes `text/plain`, not `text/event-stream`).
pub(crate) const STREAM_CONTENT_TYPE: &str = "text/plain";

/// Header carrying the trace id of a run.
pub const TRACE_ID_HEADER: &str = "x-genkit-trace-id";
/// Header carrying the span id of a run.
pub const SPAN_ID_HEADER: &str = "x-genkit-span-id";
/// Header carrying a durable stream id (answer of a new stream; request to resume one).
pub const STREAM_ID_HEADER: &str = "x-genkit-stream-id";

/// The message of Genkit JS's 400 answer to a request without a JSON body.
pub(crate) const MISSING_BODY_MESSAGE: &str = "Error: request.body is undefined. Possible reasons: missing \
     'content-type: application/json' in request headers or misconfigured JSON middleware ('app.use(express.json()')? ";

fn push_json(out: &mut Vec<u8>, v: &Value) {
    // Serializing a `Value` into a Vec cannot fail (string keys, finite numbers).
    let _ = serde_json::to_writer(&mut *out, v);
}

/// Appends `<prefix>{"<key>":<value>}<suffix>`, without copying `value` into a wrapper object.
fn push_wrapped(out: &mut Vec<u8>, key: &str, value: &Value, prefix: &str, suffix: &str) {
    out.reserve(prefix.len() + key.len() + 32 + suffix.len());
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    push_json(out, value);
    out.push(b'}');
    out.extend_from_slice(suffix.as_bytes());
}

fn wrap(key: &str, value: &Value, prefix: &str, suffix: &str) -> Bytes {
    let mut out = Vec::new();
    push_wrapped(&mut out, key, value, prefix, suffix);
    Bytes::from(out)
}

/// Appends `data: {"message":<chunk>}\n\n`.
pub(crate) fn push_message_frame(out: &mut Vec<u8>, chunk: &Value) {
    push_wrapped(out, "message", chunk, "data: ", "\n\n");
}

/// `data: {"message":<chunk>}\n\n`
pub(crate) fn message_frame(chunk: &Value) -> Bytes {
    wrap("message", chunk, "data: ", "\n\n")
}

/// `data: {"result":<output>}\n\n`
pub(crate) fn result_frame(output: &Value) -> Bytes {
    wrap("result", output, "data: ", "\n\n")
}

/// What a caller is told about an error: its callable JSON (JS `getCallableJSON`: foreign
/// errors masked as `Internal Error`) with every secret-named key in `details` redacted (see
/// [`genkit_core::redact`]).
pub(crate) fn public_json(error: &Error) -> Value {
    let mut v = error.callable_json();
    if let Some(details) = v.get_mut("details") {
        genkit_core::redact::redact_secrets(details);
    }
    v
}

/// `error: {"error":{status, message, details?}}\n\n`
pub(crate) fn error_frame(error: &Error) -> Bytes {
    wrap("error", &public_json(error), "error: ", "\n\n")
}

/// `{"result":<output>}`
pub(crate) fn result_body(output: &Value) -> Bytes {
    wrap("result", output, "", "")
}

pub(crate) fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut res = Response::new(body.into());
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    res
}

/// The answer to a failed request: the HTTP status of the error's Genkit status (JS
/// `getHttpStatus`) and its callable JSON, secrets redacted ([`public_json`]).
pub(crate) fn error_response(error: &Error) -> Response {
    let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = Vec::with_capacity(64);
    push_json(&mut body, &public_json(error));
    json_response(status, body)
}

/// A 400 for requests without a readable JSON body: `{message, status}` in the shape Genkit
/// JS uses, with the canonical status name `INVALID_ARGUMENT` (a JS branch that never runs
/// writes it with a space; clients parse either).
pub(crate) fn bad_request(message: &str) -> Response {
    let body = serde_json::json!({ "message": message, "status": "INVALID_ARGUMENT" });
    let mut out = Vec::with_capacity(message.len() + 48);
    push_json(&mut out, &body);
    json_response(StatusCode::BAD_REQUEST, out)
}

/// A panic caught while running a flow, as an `INTERNAL` error whose message is hidden from
/// callers (like any non-Genkit error in JS).
pub(crate) fn panic_error(payload: &(dyn Any + Send)) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    let e = Error::internal(std::io::Error::other(format!("flow panicked: {what}")));
    debug_assert_eq!(e.status(), Status::Internal);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_are_byte_exact() {
        assert_eq!(&message_frame(&json!({"count": 0}))[..], b"data: {\"message\":{\"count\":0}}\n\n");
        assert_eq!(&result_frame(&json!("done"))[..], b"data: {\"result\":\"done\"}\n\n");
        let e = Error::new(Status::NotFound, "gone").with_details(json!({"x": 1}));
        assert_eq!(
            &error_frame(&e)[..],
            b"error: {\"error\":{\"status\":\"NOT_FOUND\",\"message\":\"gone\",\"details\":{\"x\":1}}}\n\n"
        );
        assert_eq!(&result_body(&json!([1, "a"]))[..], b"{\"result\":[1,\"a\"]}");
    }

    #[test]
    fn error_details_lose_their_secrets() {
        let e = Error::new(Status::FailedPrecondition, "no tool")
            .with_details(json!({"request": {"config": {"apiKey": "sk-1"}}, "auth": {"uid": "u"}, "n": 1}));
        let expected = json!({
            "status": "FAILED_PRECONDITION",
            "message": "no tool",
            "details": {"request": {"config": {"apiKey": "<redacted>"}}, "auth": "<redacted>", "n": 1},
        });
        assert_eq!(public_json(&e), expected);
        let frame = String::from_utf8(error_frame(&e).to_vec()).unwrap();
        assert!(!frame.contains("sk-1") && frame.contains("<redacted>"), "{frame}");
        // The error itself holds no secret either (redacted when its details were set), so
        // the server's own logs and traces cannot leak one.
        assert_eq!(e.details().unwrap()["auth"], "<redacted>");
    }

    #[test]
    fn panics_are_masked() {
        let e = panic_error(&"boom");
        assert_eq!(e.callable_json(), json!({"message": "Internal Error", "status": "INTERNAL"}));
        assert!(e.message().contains("boom"));
    }
}
