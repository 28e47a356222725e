//! The HTTP core every provider plugin builds its client on (feature `reqwest`): the options
//! users set on any plugin ([`HttpOptions`]: extra headers, time limits, the response size
//! limit), and [`HttpClient`], which sends a request with those headers, turns a failure into
//! a Genkit error (a transport failure by [`transport_error`], a non-success answer by
//! [`http_error`](crate::http_error) or the plugin's own mapper, the key redacted from both)
//! and reads bodies within the limit. A plugin adds only what is its own: URLs,
//! authentication, the wire format.
//!
//! The shape every provider plugin follows (the OpenAI-compatible, Anthropic and Google GenAI
//! plugins do): the builder holds an [`HttpOptions`] and expands
//! [`http_option_setters!`](crate::http_option_setters) for the common setters; its client
//! wraps an [`HttpClient`] and adds the credential to each request, passing it to
//! [`HttpClient::send`] so errors redact it.
//!
//! ```no_run
//! use genkit_core::Result;
//! use genkit_http::{HttpClient, HttpOptions, Secret, sensitive_header};
//!
//! /// The plugin's builder.
//! pub struct Acme {
//!     api_key: Option<Secret>,
//!     http: HttpOptions,
//! }
//!
//! impl Acme {
//!     /// `.header(..)`, `.timeout(..)`, `.connect_timeout(..)`, `.max_response_bytes(..)`.
//!     genkit_http::http_option_setters!(http);
//! }
//!
//! /// The plugin's client: the shared core plus what is Acme's own.
//! struct Client {
//!     http: HttpClient,
//!     api_key: Secret,
//! }
//!
//! impl Client {
//!     async fn models(&self) -> Result<serde_json::Value> {
//!         let rb = self.http.reqwest().get("https://api.acme.test/v1/models").header(
//!             "authorization",
//!             sensitive_header("authorization", &format!("Bearer {}", self.api_key.expose()))?,
//!         );
//!         // A non-success answer is a Genkit error (status, message, Retry-After), the key
//!         // redacted; the body is read within `max_response_bytes`.
//!         let resp = self.http.send(rb, Some(&self.api_key)).await?;
//!         self.http.json(resp, "Acme").await
//!     }
//! }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use genkit_core::{Error, Result, Status};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::{DEFAULT_MAX_BODY, Secret, http_error, read_body, read_body_prefix};

/// The default total time limit of a request, streamed body included: 10 minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The default time limit for connecting: 30 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of an error answer is read: enough for any JSON error body, not a whole HTML page
/// or an endless stream.
pub const MAX_ERROR_BODY: usize = 256 << 10;

/// The HTTP options every provider plugin takes, with the same setters on each plugin's
/// builder (see [`http_option_setters!`](crate::http_option_setters)).
///
/// ```
/// use std::time::Duration;
/// let o = genkit_http::HttpOptions::default();
/// assert_eq!(o.timeout, Some(Duration::from_secs(600)));
/// assert_eq!(o.max_response_bytes, genkit_http::DEFAULT_MAX_BODY);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Headers sent with every request; their values are treated as sensitive (never logged).
    pub headers: Vec<(String, String)>,
    /// Total time limit of a request, streamed body included; `None` for no limit.
    pub timeout: Option<Duration>,
    /// Time limit for connecting.
    pub connect_timeout: Duration,
    /// The largest response body read whole, in bytes; it also caps one streamed event.
    pub max_response_bytes: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            headers: Vec::new(),
            timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_BODY,
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values may be credentials: only their names are shown.
        f.debug_struct("HttpOptions")
            .field("headers", &self.headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// Expands, inside a plugin builder's `impl` block, to the setters of its [`HttpOptions`]
/// field: `header`, `timeout`, `connect_timeout` and `max_response_bytes`, documented, so
/// every provider plugin offers them under the same names.
///
/// ```
/// #[derive(Default)]
/// pub struct MyProvider {
///     http: genkit_http::HttpOptions,
/// }
/// impl MyProvider {
///     genkit_http::http_option_setters!(http);
/// }
/// let p = MyProvider::default().header("x-team", "blue").timeout(None).max_response_bytes(1 << 20);
/// assert_eq!(p.http.headers.len(), 1);
/// assert_eq!(p.http.timeout, None);
/// ```
#[macro_export]
macro_rules! http_option_setters {
    ($field:ident) => {
        /// Adds a header sent with every request (its value is treated as sensitive and never
        /// logged).
        #[must_use]
        pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self.$field.headers.push((name.into(), value.into()));
            self
        }

        /// Total time limit of a request, streamed body included (default 10 minutes); `None`
        /// for no limit.
        #[must_use]
        pub fn timeout(mut self, timeout: impl Into<Option<::std::time::Duration>>) -> Self {
            self.$field.timeout = timeout.into();
            self
        }

        /// Time limit for connecting (default 30 s).
        #[must_use]
        pub fn connect_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.$field.connect_timeout = timeout;
            self
        }

        /// The largest response body read whole, in bytes (default 64 MiB); a larger answer
        /// fails with `RESOURCE_EXHAUSTED` instead of filling memory. It also caps one streamed
        /// event; a stream as a whole is bounded by the time limit.
        #[must_use]
        pub fn max_response_bytes(mut self, bytes: usize) -> Self {
            self.$field.max_response_bytes = bytes;
            self
        }
    };
}

/// A header value marked sensitive (HTTP/2 never indexes it, `Debug` hides it); `name` is only
/// for the error message.
///
/// # Errors
/// `INVALID_ARGUMENT` when the value has characters a header cannot carry.
pub fn sensitive_header(name: &str, value: &str) -> Result<HeaderValue> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| Error::invalid_argument(format!("the value of header {name} has characters not allowed")))?;
    v.set_sensitive(true);
    Ok(v)
}

/// The error for a failed transport: no HTTP answer, or a body that broke off. A timeout is
/// `DEADLINE_EXCEEDED`; anything else `UNAVAILABLE`, worth a retry (reqwest reports a body cut
/// mid-stream as a "decode" error, and the plugins enable no content encodings, so that too is
/// the transport's). With a `secret`, the message is redacted and the URL dropped from the
/// source error, for keys that travel in the URL.
pub fn transport_error(origin: &str, err: reqwest::Error, secret: Option<&Secret>) -> Error {
    let status = if err.is_timeout() { Status::DeadlineExceeded } else { Status::Unavailable };
    let what = if err.is_timeout() { "request timed out" } else { "request failed" };
    let message = format!("{what}: {err}");
    match secret {
        Some(s) if message.contains(s.expose()) => {
            Error::new(status, s.redact(&message).into_owned()).with_origin(origin).with_source(err.without_url())
        }
        _ => Error::new(status, message).with_origin(origin).with_source(err),
    }
}

/// A provider endpoint's HTTP core: a cheap handle (clones share the connection pool).
#[derive(Clone)]
pub struct HttpClient {
    origin: Arc<str>,
    http: reqwest::Client,
    headers: HeaderMap,
    max_body: usize,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("origin", &self.origin)
            .field("headers", &self.headers.keys().map(HeaderName::as_str).collect::<Vec<_>>())
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for the plugin named `origin` (errors carry it) with `options`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a header name or value that cannot be sent; `INTERNAL` when the
    /// TLS stack cannot start.
    pub fn new(origin: impl Into<Arc<str>>, options: &HttpOptions) -> Result<HttpClient> {
        let origin = origin.into();
        let mut b = reqwest::Client::builder().connect_timeout(options.connect_timeout);
        if let Some(t) = options.timeout {
            b = b.timeout(t);
        }
        let http = b.build().map_err(|e| {
            Error::new(Status::Internal, format!("cannot build the HTTP client: {e}")).with_origin(origin.to_string())
        })?;
        let mut headers = HeaderMap::new();
        for (k, v) in &options.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| Error::invalid_argument(format!("invalid header name {k:?}: {e}")))?;
            headers.insert(name, sensitive_header(k, v)?);
        }
        Ok(HttpClient { origin, http, headers, max_body: options.max_response_bytes })
    }

    /// The plugin name errors carry.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The underlying reqwest client, to build requests with.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.http
    }

    /// The largest body read whole, and the largest streamed event.
    pub fn max_response_bytes(&self) -> usize {
        self.max_body
    }

    /// Sends `rb` with the extra headers; a non-success answer becomes a Genkit error by
    /// [`http_error`] (the status by the one table, the provider's message, Retry-After).
    /// `secret`, the credential the request carries, is redacted from every error.
    ///
    /// # Errors
    /// The transport's error ([`transport_error`]) or the answer's.
    pub async fn send(&self, rb: reqwest::RequestBuilder, secret: Option<&Secret>) -> Result<reqwest::Response> {
        self.send_mapped(rb, secret, |status, headers, body, origin| http_error(status, headers, body, origin)).await
    }

    /// [`send`](Self::send) with the plugin's own mapping of a non-success answer (status,
    /// headers, the start of the body with `secret` redacted, origin) to an error.
    ///
    /// # Errors
    /// The transport's error or `map`'s.
    pub async fn send_mapped(
        &self,
        rb: reqwest::RequestBuilder,
        secret: Option<&Secret>,
        map: impl for<'a> FnOnce(u16, &'a HeaderMap, &'a [u8], &'a str) -> Error,
    ) -> Result<reqwest::Response> {
        let resp =
            rb.headers(self.headers.clone()).send().await.map_err(|e| transport_error(&self.origin, e, secret))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let headers = resp.headers().clone();
        let body = read_body_prefix(resp.bytes_stream(), MAX_ERROR_BODY).await;
        let body = String::from_utf8_lossy(&body);
        let body = match secret {
            Some(s) => s.redact(&body),
            None => std::borrow::Cow::Borrowed(&*body),
        };
        Err(map(status.as_u16(), &headers, body.as_bytes(), &self.origin))
    }

    /// The body as a stream of byte chunks, transport failures mapped to Genkit errors (for
    /// the SSE and NDJSON decoders).
    pub fn byte_stream(&self, resp: reqwest::Response) -> impl Stream<Item = Result<bytes::Bytes>> + Send + 'static {
        let origin = self.origin.clone();
        resp.bytes_stream().map(move |r| r.map_err(|e| transport_error(&origin, e, None)))
    }

    /// Reads a whole body, failing with `RESOURCE_EXHAUSTED` past the size limit (the rest is
    /// never read).
    ///
    /// # Errors
    /// `RESOURCE_EXHAUSTED` past the limit; the transport's error.
    pub async fn read(&self, resp: reqwest::Response) -> Result<Vec<u8>> {
        let length = resp.content_length();
        read_body(self.byte_stream(resp), length, self.max_body, "the plugin's max_response_bytes option")
            .await
            .map_err(|e| e.with_origin(self.origin.to_string()))
    }

    /// Reads a whole body (within the limit) and decodes it as JSON; a body that is not the
    /// JSON expected is `INTERNAL`, naming the provider (`provider`, e.g. "Anthropic").
    ///
    /// # Errors
    /// As [`read`](Self::read), and `INTERNAL` for a body that does not decode.
    pub async fn json<T: serde::de::DeserializeOwned>(&self, resp: reqwest::Response, provider: &str) -> Result<T> {
        let bytes = self.read(resp).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::new(Status::Internal, format!("unexpected response from {provider}: {e}"))
                .with_origin(self.origin.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_clients_never_show_header_values() {
        let mut o = HttpOptions::default();
        o.headers.push(("x-secret".into(), "hunter2-hunter2".into()));
        assert!(!format!("{o:?}").contains("hunter2"));
        let c = HttpClient::new("p", &o).unwrap();
        let d = format!("{c:?}");
        assert!(d.contains("x-secret") && !d.contains("hunter2"), "{d}");
    }

    /// A key that travels in the URL (some APIs take `?key=`) never shows in a transport
    /// error: not in its message, not in its source chain.
    #[tokio::test]
    async fn transport_errors_redact_a_key_in_the_url() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let key = Secret::new("AIza-very-secret-key-123");
        let c = HttpClient::new("p", &HttpOptions::default()).unwrap();
        let rb = c.reqwest().get(format!("http://127.0.0.1:{port}/v1/models")).query(&[("key", key.expose())]);
        let e = c.send(rb, Some(&key)).await.unwrap_err();
        assert_eq!(e.status(), Status::Unavailable);
        let mut chain = format!("{e} {e:?}");
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            chain.push_str(&format!(" {s} {s:?}"));
            src = s.source();
        }
        assert!(!chain.contains(key.expose()), "{chain}");
    }

    /// A non-success answer becomes the mapped error, its body read only in part and the key
    /// redacted from it; a success body over the limit is `RESOURCE_EXHAUSTED`.
    #[tokio::test]
    async fn answers_are_mapped_redacted_and_bounded() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let answers = [
                format!(
                    "HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\n\r\n{{\"error\":{{\"message\":\"slow down, sk-live-abcdef-123456\"}}}}{}",
                    56 + 300_000,
                    " ".repeat(300_000)
                ),
                format!("HTTP/1.1 200 OK\r\ncontent-length: 2048\r\n\r\n{}", "x".repeat(2048)),
            ];
            for a in answers {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(a.as_bytes()).await;
                let _ = s.shutdown().await;
            }
        });
        let o = HttpOptions { max_response_bytes: 1024, ..HttpOptions::default() };
        let c = HttpClient::new("p", &o).unwrap();
        let key = Secret::new("sk-live-abcdef-123456");
        let e = c.send(c.reqwest().get(&url), Some(&key)).await.unwrap_err();
        assert_eq!(e.status(), Status::ResourceExhausted, "{e}");
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(7)));
        assert!(e.message().contains("slow down") && !e.message().contains(key.expose()), "{}", e.message());
        let resp = c.send(c.reqwest().get(&url), None).await.unwrap();
        let e = c.read(resp).await.unwrap_err();
        assert_eq!(e.status(), Status::ResourceExhausted, "{e}");
        assert!(e.message().contains("max_response_bytes"), "{}", e.message());
    }

    #[test]
    fn bad_headers_are_refused_with_a_clear_error() {
        let mut o = HttpOptions::default();
        o.headers.push(("bad header".into(), "v".into()));
        let e = HttpClient::new("p", &o).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(e.message().contains("bad header"), "{}", e.message());
        let e = sensitive_header("x-api-key", "a\nb").unwrap_err();
        assert!(e.message().contains("x-api-key"));
    }
}
