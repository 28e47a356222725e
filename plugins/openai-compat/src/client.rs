//! The HTTP side: base URL and routing (plain `/v1` or Azure deployments), authentication
//! (bearer key, `api-key` header, or a token callback), extra headers and query parameters,
//! timeouts, and the mapping of failures to Genkit errors.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use genkit_core::{Error, Result, Status};
use genkit_http::{Secret, http_error};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use crate::error::transport_error;

/// An API key: a [`genkit_http::Secret`], whose `Debug` and `Display` never show the value,
/// so it cannot end up in logs or traces by accident.
///
/// ```
/// use genkit_openai_compat::ApiKey;
/// let k = ApiKey::new("sk-secret");
/// assert_eq!(format!("{k:?}"), "Secret(<redacted>)");
/// assert_eq!(k.expose(), "sk-secret");
/// ```
pub use genkit_http::Secret as ApiKey;

/// A callback that returns a bearer token for each request (for example an Entra ID token
/// for Azure OpenAI, scope `https://cognitiveservices.azure.com/.default`). It is called
/// before every request, so it should cache tokens itself.
#[derive(Clone)]
pub struct TokenProvider(Arc<dyn Fn() -> BoxFuture<'static, Result<String>> + Send + Sync>);

impl TokenProvider {
    /// Wraps an async function returning a token.
    ///
    /// ```
    /// use genkit_openai_compat::TokenProvider;
    /// let p = TokenProvider::new(|| async { Ok("token-from-entra".to_owned()) });
    /// assert_eq!(format!("{p:?}"), "TokenProvider(..)");
    /// ```
    pub fn new<F, Fut>(f: F) -> TokenProvider
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<String>> + Send + 'static,
    {
        TokenProvider(Arc::new(move || Box::pin(f())))
    }

    pub(crate) async fn token(&self) -> Result<String> {
        (self.0)().await
    }
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenProvider(..)")
    }
}

/// How requests are authenticated.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    /// No credentials (local servers).
    None,
    /// `Authorization: Bearer <key>`.
    Bearer(ApiKey),
    /// `<header>: <key>` (Azure `api-key`).
    Header(HeaderName, ApiKey),
    /// `Authorization: Bearer <token>` from a callback.
    Token(TokenProvider),
}

/// Where endpoint paths go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routing {
    /// `{base}/{path}`.
    Plain,
    /// `{base}/openai/deployments/{model}/{path}` (Azure OpenAI classic API).
    AzureDeployment,
}

/// One configured provider endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) origin: Arc<str>,
    http: reqwest::Client,
    base_url: String,
    auth: Auth,
    headers: HeaderMap,
    query: Vec<(String, String)>,
    pub(crate) routing: Routing,
    /// The largest whole response body read, and the largest streamed event.
    pub(crate) max_body: usize,
}

/// How much of an error answer is read: enough for any JSON error body, not a whole HTML
/// page or an endless stream.
const MAX_ERROR_BODY: usize = 256 << 10;

/// Settings a [`Client`] is built from.
#[derive(Debug, Clone)]
pub(crate) struct ClientSettings {
    pub(crate) origin: String,
    pub(crate) base_url: String,
    pub(crate) auth: Auth,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) routing: Routing,
    pub(crate) timeout: Option<Duration>,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_body: usize,
}

impl Client {
    pub(crate) fn new(s: ClientSettings) -> Result<Client> {
        let mut b = reqwest::Client::builder().connect_timeout(s.connect_timeout);
        if let Some(t) = s.timeout {
            b = b.timeout(t);
        }
        let http = b.build().map_err(|e| {
            Error::new(Status::Internal, format!("cannot build the HTTP client: {e}")).with_origin(s.origin.clone())
        })?;
        let mut headers = HeaderMap::new();
        for (k, v) in s.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| Error::invalid_argument(format!("invalid header name {k:?}: {e}")))?;
            let mut value = HeaderValue::from_str(&v)
                .map_err(|_| Error::invalid_argument(format!("invalid value for header {k:?}")))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        Ok(Client {
            origin: s.origin.into(),
            http,
            base_url: s.base_url.trim_end_matches('/').to_owned(),
            auth: s.auth,
            headers,
            query: s.query,
            routing: s.routing,
            max_body: s.max_body,
        })
    }

    /// The URL of an endpoint (`chat/completions`, `embeddings`, …) for `model`.
    pub(crate) fn url(&self, path: &str, model: &str) -> String {
        match self.routing {
            Routing::Plain => format!("{}/{path}", self.base_url),
            Routing::AzureDeployment => format!("{}/openai/deployments/{model}/{path}", self.base_url),
        }
    }

    fn sensitive(value: &str) -> Result<HeaderValue> {
        let mut v = HeaderValue::from_str(value)
            .map_err(|_| Error::invalid_argument("the API key or token contains characters not allowed in a header"))?;
        v.set_sensitive(true);
        Ok(v)
    }

    /// Adds the credentials; returns them too, to redact them from error bodies.
    async fn authorize(
        &self,
        rb: reqwest::RequestBuilder,
        key: Option<&str>,
    ) -> Result<(reqwest::RequestBuilder, Option<Secret>)> {
        let secret = match (&self.auth, key) {
            (_, Some(k)) => Secret::new(k),
            (Auth::None, None) => return Ok((rb, None)),
            (Auth::Bearer(k) | Auth::Header(_, k), None) => k.clone(),
            (Auth::Token(p), None) => Secret::new(p.token().await.map_err(|e| {
                Error::new(Status::Unauthenticated, format!("the token provider failed: {}", e.message()))
                    .with_origin(self.origin.to_string())
                    .with_source(e)
            })?),
        };
        let rb = match &self.auth {
            Auth::Header(name, _) => rb.header(name.clone(), Self::sensitive(secret.expose())?),
            _ => rb.header(AUTHORIZATION, Self::sensitive(&format!("Bearer {}", secret.expose()))?),
        };
        Ok((rb, Some(secret)))
    }

    /// Sends a request; a non-2xx answer becomes a Genkit error with the provider's message
    /// (the key redacted, should the provider echo it).
    async fn send(&self, rb: reqwest::RequestBuilder, key: Option<&str>) -> Result<reqwest::Response> {
        let (rb, secret) = self.authorize(rb.headers(self.headers.clone()).query(&self.query), key).await?;
        let resp = rb.send().await.map_err(|e| transport_error(&self.origin, e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let headers = resp.headers().clone();
        let body = genkit_http::read_body_prefix(resp.bytes_stream(), MAX_ERROR_BODY).await;
        let body = String::from_utf8_lossy(&body);
        let body = match &secret {
            Some(s) => s.redact(&body),
            None => std::borrow::Cow::Borrowed(&*body),
        };
        Err(http_error(status.as_u16(), &headers, body.as_bytes(), &self.origin))
    }

    /// `POST` a JSON body.
    pub(crate) async fn post_json<B: Serialize + ?Sized>(
        &self,
        path: &str,
        model: &str,
        body: &B,
        key: Option<&str>,
    ) -> Result<reqwest::Response> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| Error::invalid_argument(format!("cannot encode the request: {e}")))?;
        let rb = self
            .http
            .post(self.url(path, model))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(bytes);
        self.send(rb, key).await
    }

    /// `POST` a multipart form.
    pub(crate) async fn post_multipart(
        &self,
        path: &str,
        model: &str,
        form: reqwest::multipart::Form,
        key: Option<&str>,
    ) -> Result<reqwest::Response> {
        let rb = self.http.post(self.url(path, model)).multipart(form);
        self.send(rb, key).await
    }

    /// `GET` a plain path (model listing).
    pub(crate) async fn get(&self, path: &str) -> Result<reqwest::Response> {
        let rb = self.http.get(format!("{}/{path}", self.base_url));
        self.send(rb, None).await
    }

    /// Reads a whole success body, up to the response size limit; also says whether its
    /// content type is JSON.
    async fn read(&self, resp: reqwest::Response) -> Result<(Vec<u8>, bool)> {
        let json = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
        let length = resp.content_length();
        let origin = self.origin.clone();
        let body = resp.bytes_stream().map(|chunk| chunk.map_err(|e| transport_error(&origin, e)));
        let bytes = genkit_http::read_body(body, length, self.max_body, "OpenAiCompat::max_response_bytes")
            .await
            .map_err(|e| e.with_origin(self.origin.to_string()))?;
        Ok((bytes, json))
    }

    /// Reads a whole success body (audio, an image answer, a transcription). A JSON body that
    /// is an error report (`{"error": …}`, which some servers send with HTTP 200) is that
    /// error.
    pub(crate) async fn bytes(&self, resp: reqwest::Response) -> Result<Vec<u8>> {
        let (bytes, json) = self.read(resp).await?;
        if json && let Some(e) = genkit_http::body_error(&bytes, &self.origin) {
            return Err(e);
        }
        Ok(bytes)
    }

    /// Reads and decodes a whole JSON body; an error report in it is that error, whatever
    /// the content type says.
    pub(crate) async fn json<T: serde::de::DeserializeOwned>(&self, resp: reqwest::Response) -> Result<T> {
        let (bytes, _) = self.read(resp).await?;
        if let Some(e) = genkit_http::body_error(&bytes, &self.origin) {
            return Err(e);
        }
        serde_json::from_slice(&bytes).map_err(|e| crate::error::bad_response(&self.origin, e))
    }
}

/// `Debug` of a config type: its JSON form (the key is never serialized), marking a
/// per-request API key as `"<redacted>"` when one is set.
pub(crate) fn fmt_config(
    f: &mut std::fmt::Formatter<'_>,
    name: &str,
    config: &impl serde::Serialize,
    has_api_key: bool,
) -> std::fmt::Result {
    let mut v = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    if has_api_key && let Some(o) = v.as_object_mut() {
        o.insert("apiKey".into(), serde_json::Value::String("<redacted>".into()));
    }
    write!(f, "{name}({v})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(routing: Routing) -> ClientSettings {
        ClientSettings {
            origin: "t".into(),
            base_url: "https://example.test/v1/".into(),
            auth: Auth::Bearer(ApiKey::new("sk-123")),
            headers: vec![("OpenAI-Project".into(), "p".into())],
            query: vec![],
            routing,
            timeout: Some(Duration::from_secs(5)),
            connect_timeout: Duration::from_secs(1),
            max_body: genkit_http::DEFAULT_MAX_BODY,
        }
    }

    #[test]
    fn urls_follow_the_routing() {
        let c = Client::new(settings(Routing::Plain)).unwrap();
        assert_eq!(c.url("chat/completions", "m"), "https://example.test/v1/chat/completions");
        let c = Client::new(settings(Routing::AzureDeployment)).unwrap();
        assert_eq!(c.url("embeddings", "dep"), "https://example.test/v1/openai/deployments/dep/embeddings");
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let c = Client::new(settings(Routing::Plain)).unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("sk-123"), "{d}");
        assert!(d.contains("redacted"));
    }

    #[test]
    fn bad_header_names_are_rejected() {
        let mut s = settings(Routing::Plain);
        s.headers = vec![("bad header".into(), "v".into())];
        assert_eq!(Client::new(s).unwrap_err().status(), Status::InvalidArgument);
    }

    #[test]
    fn config_debug_marks_a_set_key_as_redacted() {
        #[derive(serde::Serialize)]
        struct C {
            seed: u32,
            #[serde(skip)]
            api_key: Option<String>,
        }
        impl std::fmt::Debug for C {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                super::fmt_config(f, "C", self, self.api_key.is_some())
            }
        }
        let with = format!("{:?}", C { seed: 1, api_key: Some("sk-live".into()) });
        assert_eq!(with, r#"C({"seed":1,"apiKey":"<redacted>"})"#);
        assert_eq!(format!("{:?}", C { seed: 1, api_key: None }), r#"C({"seed":1})"#);
    }
}
