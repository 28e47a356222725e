//! The small toolkit every Genkit provider plugin (and the flow client) shares for talking
//! HTTP. The framing, error and body helpers take any HTTP client's byte streams; the client
//! core for plugins built on `reqwest` is behind the feature of that name.
//!
//! # Framing
//! [`SseDecoder`] (Server-Sent Events, as the WHATWG spec reads them) and [`NdjsonDecoder`]
//! (one JSON value per line) decode a body pushed in chunks of any size. Both scan each byte
//! once and cap line and event sizes (`RESOURCE_EXHAUSTED` past the cap, 8 MiB by default).
//! [`sse_stream`] and [`ndjson_stream`] wrap a `Stream` of byte chunks, such as
//! `reqwest::Response::bytes_stream` mapped to Genkit errors:
//!
//! ```
//! # futures::executor::block_on(async {
//! use futures::{StreamExt, TryStreamExt, stream};
//! use genkit_core::{Error, Status};
//! // In a plugin: `response.bytes_stream()` of reqwest, a hyper body, …
//! let body = stream::iter([Ok::<_, std::io::Error>(b"data: hel".to_vec()), Ok(b"lo\n\n".to_vec())]);
//! let body = body.map_err(|e| Error::new(Status::Unavailable, format!("the response was cut: {e}")));
//! let mut events = genkit_http::sse_stream(body);
//! while let Some(event) = events.next().await {
//!     assert_eq!(event?.data, "hello");
//! }
//! # Ok::<_, Error>(()) }).unwrap();
//! ```
//!
//! # Errors
//! [`http_error`] turns a non-success answer into a Genkit error: the status by the one table,
//! [`Status::from_http`](genkit_core::Status::from_http), the provider's message from its JSON
//! error body, and the delay [`RetryAfter`] reads from `retry-after-ms` / `Retry-After`, so the
//! `retry` middleware waits as long as the provider asks (up to a cap).
//!
//! # Bodies
//! [`read_body`] reads a whole response body and stops with `RESOURCE_EXHAUSTED` past a
//! limit ([`DEFAULT_MAX_BODY`], 64 MiB, unless the caller sets one); [`read_body_prefix`] reads
//! just the start of an error answer. [`body_error`] finds the error a provider reported inside
//! an HTTP 200 answer (`{"error": …}`), which would otherwise decode as an empty success.
//!
//! # The client core (feature `reqwest`)
//! [`HttpOptions`] are the options every provider plugin takes (extra headers, time limits,
//! the response size limit), with the same setters on every plugin's builder
//! ([`http_option_setters!`]). [`HttpClient`] sends a plugin's requests with them: a failure
//! becomes a Genkit error with the key redacted, and whole bodies are read within the limit.
//! A plugin adds only its URLs, authentication and wire format.
//!
//! # Secrets
//! [`Secret`] holds an API key that `Debug` and `Display` never print; [`redact`] removes a
//! key from text a provider echoed it in.
#![deny(unsafe_code)]

mod body;
#[cfg(feature = "reqwest")]
mod client;
mod error;
mod line;
mod ndjson;
mod retry_after;
mod secret;
mod sse;
mod stream;

pub use body::{DEFAULT_MAX_BODY, read_body, read_body_prefix};
#[cfg(feature = "reqwest")]
pub use client::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, HttpClient, HttpOptions, MAX_ERROR_BODY, sensitive_header,
    transport_error,
};
pub use error::{MAX_MESSAGE, body_error, http_error};
pub use ndjson::{NdjsonDecoder, ndjson_stream};
pub use retry_after::{DEFAULT_RETRY_AFTER_CAP, RetryAfter, parse_http_date};
pub use secret::{MIN_REDACTED_LEN, REDACTED, Secret, redact};
pub use sse::{DEFAULT_MAX_LINE, SseDecoder, SseEvent, SseOptions, sse_stream};
pub use stream::{Decoded, Decoder};
