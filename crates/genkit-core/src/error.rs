//! The one Genkit error type ([`Error`], a.k.a. `GenkitError`) and its JSON forms.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::Status;

/// Result alias used throughout Genkit.
pub type Result<T, E = Error> = std::result::Result<T, E>;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
type SharedError = std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>;

/// A Genkit error: a [`Status`], a message, optional JSON details and an optional cause.
///
/// `Display` follows the JS `GenkitError.message` layout, `"<origin>: <STATUS>: <message>"`
/// (the origin, usually a plugin name, is optional). The value is one pointer wide, so
/// `Result<T>` stays small on hot paths.
///
/// ```
/// use genkit_core::{Error, Status};
/// let e = Error::new(Status::NotFound, "no such flow").with_origin("myplugin");
/// assert_eq!(e.to_string(), "myplugin: NOT_FOUND: no such flow");
/// assert_eq!(e.http_status(), 404);
/// assert_eq!(e.to_json(), serde_json::json!({"status": "NOT_FOUND", "message": "no such flow"}));
/// ```
#[derive(Clone)]
pub struct Error(Box<Inner>);

#[derive(Clone)]
struct Inner {
    status: Status,
    message: String,
    origin: Option<String>,
    details: Option<Value>,
    cause: Option<SharedError>,
    user_facing: bool,
    opaque: bool,
    trace_id: Option<String>,
    retry_after: Option<Duration>,
    http_status: Option<u16>,
    failure_marked: bool,
}

impl Error {
    /// A new error with the given status and message.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            status,
            message: message.into(),
            origin: None,
            details: None,
            cause: None,
            user_facing: false,
            opaque: false,
            trace_id: None,
            retry_after: None,
            http_status: None,
            failure_marked: false,
        }))
    }

    /// A user-facing error (JS `UserFacingError`): its message is safe to return to end users.
    pub fn user_facing(status: Status, message: impl Into<String>) -> Self {
        let mut e = Error::new(status, message);
        e.0.user_facing = true;
        e
    }

    /// Wraps a foreign error as `INTERNAL`. Its message is kept for logs and traces, but
    /// [`Error::callable_json`] masks it as `Internal Error`, like JS does for non-Genkit errors.
    pub fn internal(err: impl Into<BoxError>) -> Self {
        let cause: BoxError = err.into();
        let mut e = Error::new(Status::Internal, cause.to_string());
        e.0.cause = Some(cause.into());
        e.0.opaque = true;
        e
    }

    /// Shorthand for `Error::new(Status::InvalidArgument, message)`.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Error::new(Status::InvalidArgument, message)
    }

    /// Shorthand for `Error::new(Status::NotFound, message)`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(Status::NotFound, message)
    }

    /// Shorthand for `Error::new(Status::Cancelled, message)`.
    pub fn cancelled(message: impl Into<String>) -> Self {
        Error::new(Status::Cancelled, message)
    }

    /// Sets the origin (JS `source`, usually a plugin name) shown before the status.
    #[must_use]
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.0.origin = Some(origin.into());
        self
    }

    /// Sets JSON details (serialized as `details`). Secrets in them (`apiKey`, `auth`,
    /// `secrets`, … see [`crate::redact`]) are redacted here, so no error detail can carry
    /// one into a log, a span or an HTTP response.
    #[must_use]
    pub fn with_details(mut self, mut details: Value) -> Self {
        crate::redact::redact_secrets(&mut details);
        self.0.details = Some(details);
        self
    }

    /// Sets the underlying cause, returned by [`std::error::Error::source`].
    #[must_use]
    pub fn with_source(mut self, cause: impl Into<BoxError>) -> Self {
        let cause: BoxError = cause.into();
        self.0.cause = Some(cause.into());
        self
    }

    /// Records the provider's `Retry-After` (JS `responseMetadata.retryAfterMs`).
    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.0.retry_after = Some(after);
        self
    }

    /// Records the HTTP status a provider answered with.
    #[must_use]
    pub fn with_http_status(mut self, status: u16) -> Self {
        self.0.http_status = Some(status);
        self
    }

    /// Records the trace the error happened in (set by the action runner).
    #[must_use]
    pub fn with_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.0.trace_id = Some(trace_id.into());
        self
    }

    /// The Genkit status.
    pub fn status(&self) -> Status {
        self.0.status
    }

    /// The message without origin or status (JS `originalMessage`).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The origin (plugin name), if set.
    pub fn origin(&self) -> Option<&str> {
        self.0.origin.as_deref()
    }

    /// JSON details, if any.
    pub fn details(&self) -> Option<&Value> {
        self.0.details.as_ref()
    }

    /// Whether the message may be shown to end users.
    pub fn is_user_facing(&self) -> bool {
        self.0.user_facing
    }

    /// The trace id of the action run in which the error was raised, if any.
    pub fn trace_id(&self) -> Option<&str> {
        self.0.trace_id.as_deref()
    }

    /// The provider's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// The HTTP status to answer with: the mapping of [`Error::status`] (JS `getHttpStatus`).
    /// An upstream provider's own HTTP status, if recorded, does not change it; read that
    /// with [`Error::provider_http_status`].
    pub fn http_status(&self) -> u16 {
        self.0.status.http_status()
    }

    /// The HTTP status the upstream provider answered with, if recorded.
    pub fn provider_http_status(&self) -> Option<u16> {
        self.0.http_status
    }

    /// JS `toJSON()`: `{status, message, details?}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::with_capacity(3);
        m.insert("status".into(), json!(self.0.status.as_str()));
        m.insert("message".into(), json!(self.0.message));
        if let Some(d) = &self.0.details {
            m.insert("details".into(), d.clone());
        }
        Value::Object(m)
    }

    /// JS `getCallableJSON(e)`: what servers send to callers. Errors wrapped from foreign
    /// errors with [`Error::internal`] become `{message: "Internal Error", status: "INTERNAL"}`.
    pub fn callable_json(&self) -> Value {
        if self.0.opaque { json!({"message": "Internal Error", "status": "INTERNAL"}) } else { self.to_json() }
    }

    /// The wire `Status` shape `{code, message, details?}`.
    pub fn to_status_json(&self) -> Value {
        let mut m = Map::with_capacity(3);
        m.insert("code".into(), json!(self.0.status.code()));
        m.insert("message".into(), json!(self.0.message));
        if let Some(d) = &self.0.details {
            m.insert("details".into(), d.clone());
        }
        Value::Object(m)
    }

    /// Parses the `{status, message, details?}` form (as sent by Genkit servers) back
    /// into an error. Unknown or missing statuses become `UNKNOWN`/`INTERNAL`.
    pub fn from_json(v: &Value) -> Error {
        let status = v
            .get("status")
            .and_then(Value::as_str)
            .map(|s| s.replace(' ', "_"))
            .and_then(|s| s.parse().ok())
            .or_else(|| {
                v.get("code").and_then(Value::as_i64).and_then(|c| i32::try_from(c).ok()).and_then(Status::from_code)
            })
            .unwrap_or(Status::Unknown);
        let message = v.get("message").and_then(Value::as_str).unwrap_or("unknown error");
        let mut e = Error::new(status, message);
        if let Some(d) = v.get("details").filter(|d| !d.is_null()) {
            e = e.with_details(d.clone());
        }
        e
    }

    /// Marks this error as already recorded as the failure source of a span; returns
    /// whether it was unmarked before (so the caller's span is the failure source).
    pub(crate) fn mark_failure_source(&mut self) -> bool {
        !std::mem::replace(&mut self.0.failure_marked, true)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(origin) = &self.0.origin {
            write!(f, "{origin}: ")?;
        }
        write!(f, "{}: {}", self.0.status, self.0.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("status", &self.0.status).field("message", &self.0.message);
        if let Some(o) = &self.0.origin {
            d.field("origin", o);
        }
        if let Some(det) = &self.0.details {
            d.field("details", det);
        }
        if let Some(c) = &self.0.cause {
            d.field("source", c);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.cause.as_deref().map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::new(Status::InvalidArgument, format!("invalid JSON: {e}")).with_source(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_json_forms() {
        let e = Error::new(Status::InvalidArgument, "bad").with_details(json!({"x": 1}));
        assert_eq!(e.to_string(), "INVALID_ARGUMENT: bad");
        assert_eq!(e.to_json(), json!({"status": "INVALID_ARGUMENT", "message": "bad", "details": {"x": 1}}));
        assert_eq!(e.to_status_json(), json!({"code": 3, "message": "bad", "details": {"x": 1}}));
        assert_eq!(e.callable_json(), e.to_json());
        assert_eq!(e.http_status(), 400);
    }

    #[test]
    fn foreign_errors_are_masked_for_callers() {
        let e = Error::internal(std::io::Error::other("disk on fire"));
        assert_eq!(e.status(), Status::Internal);
        assert_eq!(e.message(), "disk on fire");
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(e.callable_json(), json!({"message": "Internal Error", "status": "INTERNAL"}));
    }

    #[test]
    fn user_facing_and_provider_metadata() {
        let e = Error::user_facing(Status::Unauthenticated, "Unauthenticated")
            .with_retry_after(Duration::from_millis(1500))
            .with_http_status(429);
        assert!(e.is_user_facing());
        assert_eq!(e.retry_after(), Some(Duration::from_millis(1500)));
        assert_eq!(e.provider_http_status(), Some(429));
        assert_eq!(e.http_status(), 401);
    }

    #[test]
    fn parses_server_json() {
        let e = Error::from_json(&json!({"status": "INVALID ARGUMENT", "message": "m"}));
        assert_eq!(e.status(), Status::InvalidArgument);
        let e = Error::from_json(&json!({"code": 5, "message": "gone"}));
        assert_eq!(e.status(), Status::NotFound);
        assert_eq!(Error::from_json(&json!(7)).status(), Status::Unknown);
    }

    #[test]
    fn result_is_small() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }
}
