//! Unreadable answers as Genkit errors. Transport failures (timeouts, refused connections)
//! and non-success HTTP answers are mapped by the shared HTTP core
//! ([`genkit_http::HttpClient`]).

use genkit_core::{Error, Status};

/// A response the plugin cannot understand.
pub(crate) fn bad_response(origin: &str, what: impl std::fmt::Display) -> Error {
    Error::new(Status::Internal, format!("unexpected response from the provider: {what}")).with_origin(origin)
}
