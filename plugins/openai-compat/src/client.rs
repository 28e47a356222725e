//! The HTTP side: base URL and routing (plain `/v1` or Azure deployments), authentication
//! (bearer key, `api-key` header, or a token callback), extra headers and query parameters,
//! timeouts, and the mapping of failures to Genkit errors.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use genkit_core::{Error, Result, Status};
use genkit_http::{HttpClient, HttpOptions, Secret, sensitive_header};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use serde::Serialize;

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

/// One configured provider endpoint: the shared HTTP core plus the base URL, routing,
/// authentication and fixed query parameters.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) origin: Arc<str>,
    pub(crate) http: HttpClient,
    base_url: String,
    auth: Auth,
    query: Vec<(String, String)>,
    pub(crate) routing: Routing,
}

/// Settings a [`Client`] is built from.
#[derive(Debug, Clone)]
pub(crate) struct ClientSettings {
    pub(crate) origin: String,
    pub(crate) base_url: String,
    pub(crate) auth: Auth,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) routing: Routing,
    pub(crate) http: HttpOptions,
}

impl Client {
    pub(crate) fn new(s: ClientSettings) -> Result<Client> {
        let origin: Arc<str> = s.origin.into();
        Ok(Client {
            http: HttpClient::new(origin.clone(), &s.http)?,
            origin,
            base_url: s.base_url.trim_end_matches('/').to_owned(),
            auth: s.auth,
            query: s.query,
            routing: s.routing,
        })
    }

    /// The largest whole response body read, and the largest streamed event.
    pub(crate) fn max_body(&self) -> usize {
        self.http.max_response_bytes()
    }

    /// The URL of an endpoint (`chat/completions`, `embeddings`, …) for `model`.
    pub(crate) fn url(&self, path: &str, model: &str) -> String {
        match self.routing {
            Routing::Plain => format!("{}/{path}", self.base_url),
            Routing::AzureDeployment => format!("{}/openai/deployments/{model}/{path}", self.base_url),
        }
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
            Auth::Header(name, _) => rb.header(name.clone(), sensitive_header(name.as_str(), secret.expose())?),
            _ => rb.header(AUTHORIZATION, sensitive_header("authorization", &format!("Bearer {}", secret.expose()))?),
        };
        Ok((rb, Some(secret)))
    }

    /// Sends a request; a non-2xx answer becomes a Genkit error with the provider's message
    /// (the key redacted, should the provider echo it).
    async fn send(&self, rb: reqwest::RequestBuilder, key: Option<&str>) -> Result<reqwest::Response> {
        let (rb, secret) = self.authorize(rb.query(&self.query), key).await?;
        self.http.send(rb, secret.as_ref()).await
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
            .reqwest()
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
        let rb = self.http.reqwest().post(self.url(path, model)).multipart(form);
        self.send(rb, key).await
    }

    /// `GET` a plain path (model listing).
    pub(crate) async fn get(&self, path: &str) -> Result<reqwest::Response> {
        let rb = self.http.reqwest().get(format!("{}/{path}", self.base_url));
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
        Ok((self.http.read(resp).await?, json))
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
            query: vec![],
            routing,
            http: {
                let mut o = HttpOptions::default();
                o.headers.push(("OpenAI-Project".into(), "p".into()));
                o
            },
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
        s.http.headers = vec![("bad header".into(), "v".into())];
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
