//! [`ErrorResponse`]: a Genkit error as an axum response, so a handler of your own can use
//! `?` on Genkit calls.

use axum::response::{IntoResponse, Response};
use genkit_core::Error;

/// A Genkit [`Error`] answered the way the flow server answers it: the HTTP status of its
/// Genkit status (`NOT_FOUND` → 404, …) and its callable JSON body
/// (`{"status", "message", "details"?}`; errors wrapped with `Error::internal` are masked
/// as `Internal Error`, and secret-named keys in `details` such as `apiKey` or `auth` are
/// redacted). `From<Error>` makes `?` work in an axum
/// handler returning `Result<_, ErrorResponse>`.
///
/// ```
/// use genkit_server::ErrorResponse;
/// use genkit_core::Error;
///
/// async fn handler() -> Result<String, ErrorResponse> {
///     let n: u32 = "x".parse().map_err(|_| Error::invalid_argument("expected a number"))?;
///     Ok(n.to_string())
/// }
/// ```
#[derive(Debug)]
pub struct ErrorResponse(pub Error);

impl From<Error> for ErrorResponse {
    fn from(e: Error) -> Self {
        ErrorResponse(e)
    }
}

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        crate::frame::error_response(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genkit_core::Status;

    #[tokio::test]
    async fn answers_with_the_status_and_callable_json() {
        let res = ErrorResponse::from(Error::new(Status::NotFound, "no such thing")).into_response();
        assert_eq!(res.status().as_u16(), 404);
        let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["status"], "NOT_FOUND");
        assert_eq!(v["message"], "no such thing");
    }
}
