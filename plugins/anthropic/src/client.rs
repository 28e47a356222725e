//! The HTTP side: base URL, the `x-api-key` / `anthropic-version` / `anthropic-beta` headers,
//! extra headers, timeouts, and the mapping of failures to Genkit errors.

use genkit_core::{Error, Result};
use genkit_http::{HttpClient, HttpOptions, Secret, sensitive_header};
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use serde::Serialize;

/// The Messages API version sent as `anthropic-version` unless set otherwise.
pub const DEFAULT_API_VERSION: &str = "2023-06-01";

/// The API base URL when neither an option nor `ANTHROPIC_BASE_URL` sets one.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// Settings a [`Client`] is built from.
#[derive(Debug, Clone)]
pub(crate) struct ClientSettings {
    pub(crate) origin: String,
    pub(crate) base_url: String,
    pub(crate) api_key: Option<Secret>,
    pub(crate) api_version: String,
    pub(crate) betas: Vec<String>,
    pub(crate) http: HttpOptions,
}

/// One configured Anthropic endpoint: the shared HTTP core plus the base URL, the key and
/// the beta list.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) origin: String,
    pub(crate) http: HttpClient,
    base_url: String,
    api_key: Option<Secret>,
    /// The plugin-wide beta list, merged with each request's.
    pub(crate) betas: Vec<String>,
}

impl Client {
    pub(crate) fn new(s: ClientSettings) -> Result<Client> {
        let mut http = s.http;
        http.headers.insert(0, ("anthropic-version".to_owned(), s.api_version));
        let core = HttpClient::new(s.origin.as_str(), &http)?;
        // The SDKs take the base URL without `/v1`; a URL given with it works too.
        let base_url = s.base_url.trim_end_matches('/');
        let base_url = base_url.strip_suffix("/v1").unwrap_or(base_url).to_owned();
        Ok(Client { origin: s.origin, http: core, base_url, api_key: s.api_key, betas: s.betas })
    }

    /// The URL of an API path such as `v1/messages`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base_url)
    }

    /// Sends a request with the headers, the key (`key` overrides the plugin's) and the beta
    /// list; a non-2xx answer becomes a Genkit error with Anthropic's message (the key
    /// redacted, should it be echoed).
    async fn send(
        &self,
        rb: reqwest::RequestBuilder,
        key: Option<&str>,
        betas: &[String],
    ) -> Result<reqwest::Response> {
        let secret = key.map(Secret::new).or_else(|| self.api_key.clone());
        let mut rb = rb;
        if let Some(s) = &secret {
            rb = rb.header(HeaderName::from_static("x-api-key"), sensitive_header("x-api-key", s.expose())?);
        }
        if !betas.is_empty() {
            rb = rb.header(
                HeaderName::from_static("anthropic-beta"),
                sensitive_header("anthropic-beta", &betas.join(","))?,
            );
        }
        self.http.send(rb, secret.as_ref()).await
    }

    /// The plugin's betas followed by `extra`, without duplicates.
    pub(crate) fn merged_betas(&self, extra: &[String]) -> Vec<String> {
        let mut out = self.betas.clone();
        for b in extra {
            if !out.contains(b) {
                out.push(b.clone());
            }
        }
        out
    }

    /// `POST` a JSON body to `path`.
    pub(crate) async fn post_json<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        key: Option<&str>,
        betas: &[String],
    ) -> Result<reqwest::Response> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| Error::invalid_argument(format!("cannot encode the request: {e}")))?;
        let rb = self
            .http
            .reqwest()
            .post(self.url(path))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(bytes);
        self.send(rb, key, betas).await
    }

    /// `GET` a path with query parameters.
    pub(crate) async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        betas: &[String],
    ) -> Result<reqwest::Response> {
        let rb = self.http.reqwest().get(self.url(path)).query(query);
        self.send(rb, None, betas).await
    }

    /// `GET` an absolute URL the API returned (a batch's `results_url`), with the same headers.
    pub(crate) async fn get_url(&self, url: &str, betas: &[String]) -> Result<reqwest::Response> {
        self.send(self.http.reqwest().get(url), None, betas).await
    }

    /// `POST` without a body (batch cancellation).
    pub(crate) async fn post_empty(&self, path: &str, betas: &[String]) -> Result<reqwest::Response> {
        self.send(self.http.reqwest().post(self.url(path)), None, betas).await
    }

    /// Reads a whole body as bytes, within the response size limit.
    pub(crate) async fn bytes(&self, resp: reqwest::Response) -> Result<Vec<u8>> {
        self.http.read(resp).await
    }

    /// Reads and decodes a whole JSON body, within the response size limit.
    pub(crate) async fn json<T: serde::de::DeserializeOwned>(&self, resp: reqwest::Response) -> Result<T> {
        self.http.json(resp, "Anthropic").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ClientSettings {
        ClientSettings {
            origin: "anthropic".into(),
            base_url: "https://example.test/v1/".into(),
            api_key: Some(Secret::new("sk-ant-123")),
            api_version: DEFAULT_API_VERSION.into(),
            betas: vec!["a".into()],
            http: HttpOptions::default(),
        }
    }

    #[test]
    fn urls_drop_a_trailing_v1_of_the_base() {
        let c = Client::new(settings()).unwrap();
        assert_eq!(c.url("v1/messages"), "https://example.test/v1/messages");
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let d = format!("{:?}", Client::new(settings()).unwrap());
        assert!(!d.contains("sk-ant-123"), "{d}");
        assert!(d.contains("redacted"));
    }

    #[test]
    fn bad_headers_are_rejected_and_betas_merge_without_duplicates() {
        let mut s = settings();
        s.http.headers = vec![("bad header".into(), "v".into())];
        assert_eq!(Client::new(s).unwrap_err().status(), genkit_core::Status::InvalidArgument);
        let c = Client::new(settings()).unwrap();
        assert_eq!(c.merged_betas(&["b".into(), "a".into()]), ["a", "b"]);
    }
}
