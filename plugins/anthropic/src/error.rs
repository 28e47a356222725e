//! Failures as Genkit errors: answers the plugin cannot read, and the `error` objects Anthropic sends inside a stream or a batch
//! result. Transport failures and non-success HTTP answers are mapped by the shared HTTP
//! core ([`genkit_http::HttpClient`]).

use genkit_core::{Error, Status};
use serde_json::{Value, json};

/// A response the plugin cannot understand.
pub(crate) fn bad_response(origin: &str, what: impl std::fmt::Display) -> Error {
    Error::new(Status::Internal, format!("unexpected response from Anthropic: {what}")).with_origin(origin)
}

/// The Genkit status of an Anthropic error `type` (the same table as the HTTP statuses these
/// types come with: `invalid_request_error` 400, `authentication_error` 401, `billing_error`
/// 402, `permission_error` 403, `not_found_error` 404, `request_too_large` 413,
/// `rate_limit_error` 429, `api_error` 500, `timeout_error` 504, `overloaded_error` 529).
/// Unknown types are `UNAVAILABLE`: a stream or batch that failed on the server side.
pub(crate) fn status_of_type(kind: &str) -> Status {
    let http = match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        _ => 529,
    };
    Status::from_http(http)
}

/// The error for an Anthropic error object (`{"type":"error","error":{"type","message"}}` or
/// its inner `{"type","message"}`) met outside an HTTP status: an `error` event in a stream,
/// or an errored batch request. `context` says where it was met.
pub(crate) fn api_error(origin: &str, context: &str, err: &Value) -> Error {
    let inner = err.get("error").filter(|e| e.is_object()).unwrap_or(err);
    let kind = inner.get("type").and_then(Value::as_str).unwrap_or("api_error");
    let msg = inner.get("message").and_then(Value::as_str).map_or_else(|| inner.to_string(), str::to_owned);
    Error::new(status_of_type(kind), format!("{context}: {msg} ({kind})"))
        .with_origin(origin)
        .with_details(json!({ "error": inner }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_map_like_their_http_statuses() {
        for (kind, status) in [
            ("invalid_request_error", Status::InvalidArgument),
            ("authentication_error", Status::Unauthenticated),
            ("billing_error", Status::FailedPrecondition),
            ("permission_error", Status::PermissionDenied),
            ("not_found_error", Status::NotFound),
            ("request_too_large", Status::InvalidArgument),
            ("rate_limit_error", Status::ResourceExhausted),
            ("api_error", Status::Unavailable),
            ("timeout_error", Status::DeadlineExceeded),
            ("overloaded_error", Status::Unavailable),
            ("something_new", Status::Unavailable),
        ] {
            assert_eq!(status_of_type(kind), status, "{kind}");
        }
    }

    #[test]
    fn api_errors_keep_the_message_type_and_object() {
        let e = api_error(
            "anthropic",
            "the stream reported an error",
            &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        );
        assert_eq!(e.status(), Status::Unavailable);
        assert!(e.status().is_retryable());
        assert_eq!(e.message(), "the stream reported an error: Overloaded (overloaded_error)");
        assert_eq!(e.details().unwrap()["error"]["type"], "overloaded_error");
        assert_eq!(e.origin(), Some("anthropic"));
    }
}
