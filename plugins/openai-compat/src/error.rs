//! Transport failures (timeouts, refused connections) and unreadable answers as Genkit
//! errors. Non-success HTTP answers go through [`genkit_http::http_error`].

use genkit_core::{Error, Status};

/// The error for a failed transport (no HTTP answer, or the body could not be read).
pub(crate) fn transport_error(origin: &str, err: reqwest::Error) -> Error {
    // reqwest reports a body that broke off while streaming (a reset or closed connection) as
    // a "decode" error; this plugin decodes JSON itself and enables no content encodings, so
    // every failure here is the transport's: `UNAVAILABLE`, worth a retry, unless it is the
    // time limit.
    let status = if err.is_timeout() { Status::DeadlineExceeded } else { Status::Unavailable };
    // reqwest's message names the URL but never headers, so the API key cannot leak here.
    let what = if err.is_timeout() { "request timed out" } else { "request failed" };
    Error::new(status, format!("{what}: {err}")).with_origin(origin).with_source(err)
}

/// A response the plugin cannot understand.
pub(crate) fn bad_response(origin: &str, what: impl std::fmt::Display) -> Error {
    Error::new(Status::Internal, format!("unexpected response from the provider: {what}")).with_origin(origin)
}
