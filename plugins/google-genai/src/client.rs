//! The HTTP side: base URL and API version, the backend's URL layout (Gemini API, Vertex AI,
//! Vertex AI express mode), authentication (`x-goog-api-key` or an OAuth bearer token),
//! timeouts, and the mapping of failures to Genkit errors.

use std::sync::Arc;

use genkit_core::{Error, Result};
use genkit_http::{HttpClient, HttpOptions, Secret, sensitive_header};
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use serde::Serialize;

use crate::auth::TokenSource;
use crate::error::api_error;

/// The Gemini Developer API base URL when no option sets one.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// The API version path segment used unless set otherwise.
pub const DEFAULT_API_VERSION: &str = "v1beta";

/// How the API key travels with each request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeyTransport {
    /// The `x-goog-api-key` header (the default, as Genkit JS): never in URLs or logs.
    #[default]
    Header,
    /// The `key` query parameter, for servers that take only that (e.g. some proxies and
    /// test servers). The key then appears in the request URL; prefer the header.
    Query,
}

/// Which API a client talks to: it decides the URL layout of model calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Backend {
    /// The Gemini Developer API: `models/{model}:{method}`.
    GeminiApi,
    /// Vertex AI in a project and location:
    /// `projects/{p}/locations/{l}/publishers/google/models/{model}:{method}`.
    Vertex { project: String, location: String },
    /// Vertex AI express mode (an API key, no project): `publishers/google/models/{model}:{method}`.
    VertexExpress,
}

/// Settings a [`Client`] is built from.
#[derive(Debug, Clone)]
pub(crate) struct ClientSettings {
    pub(crate) origin: String,
    pub(crate) base_url: String,
    pub(crate) api_version: String,
    pub(crate) api_key: Option<Secret>,
    pub(crate) key_transport: KeyTransport,
    /// Extra headers, time limits, the response size limit.
    pub(crate) http: HttpOptions,
    /// The URL layout.
    pub(crate) backend: Backend,
    /// OAuth tokens sent as `Authorization: Bearer` (Vertex AI with credentials).
    pub(crate) tokens: Option<Arc<TokenSource>>,
}

/// One configured Gemini API endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) origin: String,
    pub(crate) http: HttpClient,
    root: String,
    base: String,
    api_key: Option<Secret>,
    key_transport: KeyTransport,
    backend: Backend,
    tokens: Option<Arc<TokenSource>>,
    /// Context caches this client created: (prefix key, API key hash) → (name, valid until).
    pub(crate) caches: crate::cache::CacheMemo,
}

/// `Authorization: Bearer <token>`, marked sensitive.
fn bearer(token: &Secret) -> Result<HeaderValue> {
    sensitive_header("authorization", &format!("Bearer {}", token.expose()))
}

impl Client {
    pub(crate) fn new(s: ClientSettings) -> Result<Client> {
        let http = HttpClient::new(s.origin.as_str(), &s.http)?;
        let root = s.base_url.trim_end_matches('/').to_owned();
        let base = format!("{root}/{}", s.api_version.trim_matches('/'));
        Ok(Client {
            origin: s.origin,
            http,
            root,
            base,
            api_key: s.api_key,
            key_transport: s.key_transport,
            backend: s.backend,
            tokens: s.tokens,
            caches: crate::cache::CacheMemo::default(),
        })
    }

    /// The URL of an API path such as `models/gemini-2.5-flash:generateContent`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// The URL of a path under another API version than the client's (e.g. `v1beta1` for
    /// Vertex AI methods only in the beta surface).
    pub(crate) fn url_in(&self, version: &str, path: &str) -> String {
        format!("{}/{version}/{path}", self.root)
    }

    /// The API path of a method on a model, relative to the base URL: `models/{model}:{method}`
    /// on the Gemini API, `projects/{p}/locations/{l}/publishers/google/models/{model}:{method}`
    /// on Vertex AI and `publishers/google/models/{model}:{method}` in Vertex express mode.
    /// Every model call builds its path here.
    pub(crate) fn model_path(&self, model: &str, method: &str) -> String {
        format!("{}:{method}", self.model_resource(model))
    }

    /// The resource name of a model as request bodies carry it (`models/{model}` on the Gemini
    /// API, the publisher model's full name on Vertex AI), for the `model` field of batch
    /// embedding requests and cached contents. A model already given as a resource name
    /// (`projects/...`, `publishers/...`, `models/...`) is kept as is.
    pub(crate) fn model_resource(&self, model: &str) -> String {
        match &self.backend {
            Backend::GeminiApi if model.starts_with("models/") || model.starts_with("tunedModels/") => model.to_owned(),
            Backend::GeminiApi => format!("models/{model}"),
            Backend::Vertex { .. } | Backend::VertexExpress if model.starts_with("projects/") => model.to_owned(),
            Backend::Vertex { .. } | Backend::VertexExpress => {
                let publisher = if model.starts_with("publishers/") {
                    model.to_owned()
                } else {
                    format!("publishers/google/models/{model}")
                };
                self.scoped(&publisher)
            }
        }
    }

    /// A path inside the project and location on Vertex AI (`projects/{p}/locations/{l}/{rest}`);
    /// `rest` unchanged on the other backends. Top-level collections such as `cachedContents`
    /// and Vertex endpoints are addressed through it.
    pub(crate) fn scoped(&self, rest: &str) -> String {
        match &self.backend {
            Backend::Vertex { project, location } => format!("projects/{project}/locations/{location}/{rest}"),
            Backend::GeminiApi | Backend::VertexExpress => rest.to_owned(),
        }
    }

    /// The backend this client talks to.
    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    /// This client for another Vertex AI location (some models are served only in some
    /// locations, e.g. Lyria in `global`): the paths name `location`, and the host becomes the
    /// location's own unless the base URL was set to something else (a private endpoint or a
    /// test server, kept as is). The connection pool, credentials and cache memo are shared.
    /// Other backends (the Gemini API, express mode) have no location: the client unchanged.
    pub(crate) fn in_location(&self, location: &str) -> Result<Client> {
        let Backend::Vertex { project, location: current } = &self.backend else {
            return Ok(self.clone());
        };
        if current == location {
            return Ok(self.clone());
        }
        crate::vertexai::path_safe("location", location)?;
        let mut c = self.clone();
        if self.root == crate::vertexai::location_host(current) {
            c.root = crate::vertexai::location_host(location);
            let version = self.base.strip_prefix(&self.root).unwrap_or("/v1");
            c.base = format!("{}{version}", c.root);
        }
        c.backend = Backend::Vertex { project: project.clone(), location: location.to_owned() };
        Ok(c)
    }

    /// The current state of a long-running operation (`models/{model}/operations/{id}` on the
    /// Gemini API, `projects/.../models/{model}/operations/{id}` on Vertex AI) as the API's
    /// JSON `Operation`. The Gemini API reads it with `GET {operation name}`; Vertex AI (both
    /// modes) with `POST {model}:fetchPredictOperation` and `{"operationName": ...}`, where
    /// the model is the one the operation name holds (its project and location kept).
    pub(crate) async fn operation_check(&self, name: &str) -> Result<serde_json::Value> {
        check_operation_name(name)?;
        let resp = match &self.backend {
            Backend::GeminiApi => self.get(name, &[]).await?,
            Backend::Vertex { .. } | Backend::VertexExpress => {
                let model = operation_model(name)?;
                let head = name.split_once("/operations/").map_or(name, |(head, _)| head);
                let resource = if head.starts_with("projects/") || head.starts_with("publishers/") {
                    self.model_resource(head)
                } else {
                    self.model_resource(model)
                };
                let body = serde_json::json!({ "operationName": name });
                self.post_json(&format!("{resource}:fetchPredictOperation"), &[], &body, None).await?
            }
        };
        self.json(resp).await
    }

    /// Asks the API to cancel a long-running operation (`POST {operation name}:cancel`).
    pub(crate) async fn operation_cancel(&self, name: &str) -> Result<()> {
        check_operation_name(name)?;
        let resp = self.post_json(&format!("{name}:cancel"), &[], &serde_json::json!({}), None).await?;
        let _: serde_json::Value = self.json(resp).await?;
        Ok(())
    }

    /// Sends a request with the key (`key` overrides the plugin's); a non-2xx answer becomes
    /// a Genkit error with Google's message (the key redacted, should it be echoed).
    async fn send(&self, rb: reqwest::RequestBuilder, key: Option<&str>) -> Result<reqwest::Response> {
        let secret = key.map(Secret::new).or_else(|| self.api_key.clone());
        let mut rb = rb.header(HeaderName::from_static("x-goog-api-client"), "genkit-rust");
        // OAuth (Vertex AI): a bearer token unless a key was given for this call.
        if let (Some(tokens), None) = (&self.tokens, key) {
            if let Backend::Vertex { project, .. } = &self.backend {
                rb = rb.header(HeaderName::from_static("x-goog-user-project"), project.as_str());
            }
            let token = tokens.token().await.map_err(|e| e.with_origin(self.origin.clone()))?;
            // The copy for a retry is taken before the token goes in.
            let retry = rb.try_clone();
            let resp = self.send_as(rb.header(reqwest::header::AUTHORIZATION, bearer(&token)?), Some(&token)).await;
            // A 401 means the token went stale early (revoked, clock skew): fetch a new one
            // and try once more.
            return match (resp, retry) {
                (Err(e), Some(retry)) if e.provider_http_status() == Some(401) => {
                    tokens.invalidate(&token);
                    let token = tokens.token().await.map_err(|e| e.with_origin(self.origin.clone()))?;
                    self.send_as(retry.header(reqwest::header::AUTHORIZATION, bearer(&token)?), Some(&token)).await
                }
                (other, _) => other,
            };
        }
        match (&secret, self.key_transport) {
            (Some(s), KeyTransport::Header) => {
                rb = rb
                    .header(HeaderName::from_static("x-goog-api-key"), sensitive_header("x-goog-api-key", s.expose())?);
            }
            (Some(s), KeyTransport::Query) => rb = rb.query(&[("key", s.expose())]),
            (None, _) => {}
        }
        self.send_as(rb, secret.as_ref()).await
    }

    /// Sends `rb` through the shared HTTP core, a non-success answer mapped by Google's error
    /// shape; `secret` (the key or token the request carries) is redacted from errors,
    /// including transport errors, whose message names the URL (where a
    /// `KeyTransport::Query` key travels).
    async fn send_as(&self, rb: reqwest::RequestBuilder, secret: Option<&Secret>) -> Result<reqwest::Response> {
        self.http.send_mapped(rb, secret, api_error).await
    }

    /// `POST` a JSON body to `path` with optional query parameters.
    pub(crate) async fn post_json<B: Serialize + ?Sized>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &B,
        key: Option<&str>,
    ) -> Result<reqwest::Response> {
        self.post_json_url(&self.url(path), query, body, key).await
    }

    /// `POST` a JSON body to an absolute URL (another host or API version), with this
    /// client's authentication.
    pub(crate) async fn post_json_url<B: Serialize + ?Sized>(
        &self,
        url: &str,
        query: &[(&str, &str)],
        body: &B,
        key: Option<&str>,
    ) -> Result<reqwest::Response> {
        self.post_json_with(url, query, body, key, &[]).await
    }

    /// `POST` a JSON body to an absolute URL with extra headers (e.g. `anthropic-beta`).
    pub(crate) async fn post_json_with<B: Serialize + ?Sized>(
        &self,
        url: &str,
        query: &[(&str, &str)],
        body: &B,
        key: Option<&str>,
        headers: &[(&'static str, String)],
    ) -> Result<reqwest::Response> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| Error::invalid_argument(format!("cannot encode the request: {e}")))?;
        let mut rb = self
            .http
            .reqwest()
            .post(url)
            .query(query)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(bytes);
        for (name, value) in headers {
            rb = rb.header(*name, value.as_str());
        }
        self.send(rb, key).await
    }

    /// `GET` a path with query parameters and an optional per-request key.
    pub(crate) async fn get_with_key(
        &self,
        path: &str,
        query: &[(&str, String)],
        key: Option<&str>,
    ) -> Result<reqwest::Response> {
        self.send(self.http.reqwest().get(self.url(path)).query(query), key).await
    }

    /// `GET` a path with query parameters.
    pub(crate) async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<reqwest::Response> {
        self.get_url(&self.url(path), query).await
    }

    /// `GET` an absolute URL with query parameters.
    pub(crate) async fn get_url(&self, url: &str, query: &[(&str, String)]) -> Result<reqwest::Response> {
        self.send(self.http.reqwest().get(url).query(query), None).await
    }

    /// Reads and decodes a whole JSON body, within the response size limit.
    pub(crate) async fn json<T: serde::de::DeserializeOwned>(&self, resp: reqwest::Response) -> Result<T> {
        self.http.json(resp, "the Gemini API").await
    }
}

/// Refuses an operation name that is not a plain API resource path (it becomes part of the
/// URL): it must hold `/operations/` and only letters, digits and `/ _ - .`, with no `..`.
fn check_operation_name(name: &str) -> Result<()> {
    let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '.'));
    if !plain || name.contains("..") || name.starts_with('/') || !name.contains("/operations/") {
        return Err(Error::invalid_argument(format!(
            "not an operation name of this API: {name:?} (expected e.g. models/veo-3.0-generate-001/operations/abc123)"
        )));
    }
    Ok(())
}

/// The model id inside an operation name (`.../models/{model}/operations/{id}`).
pub(crate) fn operation_model(name: &str) -> Result<&str> {
    name.split_once("/operations/")
        .and_then(|(head, _)| head.rsplit_once("models/").map(|(_, m)| m))
        .filter(|m| !m.is_empty() && !m.contains('/'))
        .ok_or_else(|| Error::invalid_argument(format!("the operation name {name:?} names no model")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use genkit_core::Status;

    #[test]
    fn urls_join_base_version_and_path_and_debug_hides_the_key() {
        let c = Client::new(ClientSettings {
            origin: "googleai".into(),
            base_url: "http://127.0.0.1:1/".into(),
            api_version: DEFAULT_API_VERSION.into(),
            api_key: Some(Secret::new("AIza-secret-key")),
            key_transport: KeyTransport::Header,
            http: HttpOptions::default(),
            backend: Backend::GeminiApi,
            tokens: None,
        })
        .unwrap();
        assert_eq!(c.url("models/x:generateContent"), "http://127.0.0.1:1/v1beta/models/x:generateContent");
        assert!(!format!("{c:?}").contains("AIza-secret-key"));
    }

    #[test]
    fn operation_names_are_checked_and_name_their_model() {
        assert!(check_operation_name("models/veo-3.0-generate-001/operations/abc123").is_ok());
        for bad in
            ["models/veo/operations/../../x", "/models/veo/operations/a", "models/veo/operations/a?b=1", "files/x"]
        {
            assert_eq!(check_operation_name(bad).unwrap_err().status(), Status::InvalidArgument, "{bad}");
        }
        assert_eq!(operation_model("models/veo-2.0-generate-001/operations/a1").unwrap(), "veo-2.0-generate-001");
        assert_eq!(
            operation_model(
                "projects/p/locations/us-central1/publishers/google/models/veo-3.0-generate-001/operations/u-1"
            )
            .unwrap(),
            "veo-3.0-generate-001"
        );
        assert!(operation_model("operations/x").is_err());
    }
}

#[cfg(test)]
mod backend_tests {
    use super::*;
    use genkit_core::Status;

    fn client(backend: Backend) -> Client {
        Client::new(ClientSettings {
            origin: "vertexai".into(),
            base_url: "http://127.0.0.1:1".into(),
            api_version: "v1".into(),
            api_key: None,
            key_transport: KeyTransport::Header,
            http: HttpOptions::default(),
            backend,
            tokens: None,
        })
        .unwrap()
    }

    #[test]
    fn another_location_moves_the_default_host_but_keeps_a_custom_one() {
        let mut s = ClientSettings {
            origin: "vertexai".into(),
            base_url: "https://europe-west4-aiplatform.googleapis.com".into(),
            api_version: "v1".into(),
            api_key: None,
            key_transport: KeyTransport::Header,
            http: HttpOptions::default(),
            backend: Backend::Vertex { project: "p1".into(), location: "europe-west4".into() },
            tokens: None,
        };
        let g = Client::new(s.clone()).unwrap().in_location("global").unwrap();
        assert_eq!(
            g.url(&g.model_path("lyria-002", "predict")),
            "https://aiplatform.googleapis.com/v1/projects/p1/locations/global/publishers/google/models/lyria-002:predict"
        );
        let u = g.in_location("us-central1").unwrap();
        assert!(
            u.url(&u.scoped("x"))
                .starts_with("https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/")
        );
        assert_eq!(g.in_location("a/b").unwrap_err().status(), Status::InvalidArgument);
        s.base_url = "http://127.0.0.1:9".into();
        let c = Client::new(s).unwrap().in_location("global").unwrap();
        assert_eq!(
            c.url(&c.scoped("cachedContents")),
            "http://127.0.0.1:9/v1/projects/p1/locations/global/cachedContents"
        );
        let x = client(Backend::VertexExpress).in_location("global").unwrap();
        assert_eq!(x.model_path("lyria-002", "predict"), "publishers/google/models/lyria-002:predict");
    }

    #[test]
    fn model_paths_follow_each_backend_layout() {
        let g = client(Backend::GeminiApi);
        assert_eq!(g.model_path("gemini-2.5-flash", "generateContent"), "models/gemini-2.5-flash:generateContent");
        assert_eq!(g.model_resource("tunedModels/t1"), "tunedModels/t1");
        let v = client(Backend::Vertex { project: "p1".into(), location: "europe-west4".into() });
        assert_eq!(
            v.model_path("gemini-2.5-flash", "streamGenerateContent"),
            "projects/p1/locations/europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent"
        );
        assert_eq!(
            v.model_resource("publishers/anthropic/models/claude-x"),
            "projects/p1/locations/europe-west4/publishers/anthropic/models/claude-x"
        );
        assert_eq!(v.model_resource("projects/p1/locations/l/endpoints/9"), "projects/p1/locations/l/endpoints/9");
        let x = client(Backend::VertexExpress);
        assert_eq!(
            x.model_path("gemini-2.5-pro", "generateContent"),
            "publishers/google/models/gemini-2.5-pro:generateContent"
        );
    }
}
