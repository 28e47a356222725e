//! The `downloadRequestMedia` model middleware : fetches `http(s)` media of a model
//! request and inlines it as `data:` URIs, for models that cannot fetch URLs themselves.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use futures::future::try_join_all;
use genkit_core::{Error, Result, Status};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::filesystem::base64_encode;
use genkit_ai::middleware::{Middleware, MiddlewareDef, MiddlewareUse, ModelNext};
use genkit_ai::{ModelRequest, ModelResponse, Part};

type Filter = dyn Fn(&Part) -> bool + Send + Sync;

/// Options of [`download_request_media`].
#[derive(Clone, Default)]
pub struct DownloadMediaOptions {
    /// The largest body accepted, in bytes (`None` or `0`: no limit).
    pub max_bytes: Option<u64>,
    /// Only media parts for which this returns `true` are downloaded (Rust-only: not part of
    /// the JSON config).
    pub filter: Option<Arc<Filter>>,
}

impl fmt::Debug for DownloadMediaOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadMediaOptions")
            .field("max_bytes", &self.max_bytes)
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

impl DownloadMediaOptions {
    /// Limits the size of each download.
    #[must_use]
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = Some(max_bytes);
        self
    }

    /// Downloads only the media parts `filter` accepts.
    #[must_use]
    pub fn filter(mut self, filter: impl Fn(&Part) -> bool + Send + Sync + 'static) -> Self {
        self.filter = Some(Arc::new(filter));
        self
    }
}

/// The JSON config of the `downloadRequestMedia` definition.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
struct DownloadConfig {
    /// The largest body accepted, in bytes (0: no limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    max_bytes: Option<u64>,
}

fn client() -> Result<reqwest::Client> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c.clone());
    }
    let c = reqwest::Client::builder()
        .build()
        .map_err(|e| Error::internal(format!("downloadRequestMedia: cannot create an HTTP client: {e}")))?;
    Ok(CLIENT.get_or_init(|| c).clone())
}

fn too_large(url: &str, max: u64) -> Error {
    Error::invalid_argument(format!("content size at {url} over limit: {max}"))
}

/// Reads the body, failing as soon as it grows past `max` bytes.
async fn read_body(mut resp: reqwest::Response, url: &str, max: Option<u64>) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let chunk = resp
            .chunk()
            .await
            .map_err(|e| Error::new(Status::Unavailable, format!("Error downloading media '{url}': {e}")))?;
        let Some(chunk) = chunk else { return Ok(body) };
        body.extend_from_slice(&chunk);
        if let Some(max) = max
            && body.len() as u64 > max
        {
            return Err(too_large(url, max));
        }
    }
}

/// Downloads `url` into a media part: `contentType` is the part's, else the response's, else
/// empty.
async fn download(url: String, content_type: Option<String>, max: Option<u64>) -> Result<Part> {
    let resp = client()?
        .get(&url)
        .send()
        .await
        .map_err(|e| Error::new(Status::Unavailable, format!("Error downloading media '{url}': {e}")))?;
    let status = resp.status().as_u16();
    if let (Some(max), Some(len)) = (max, resp.content_length())
        && len > max
    {
        return Err(too_large(&url, max));
    }
    let header_type =
        resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = read_body(resp, &url, max).await?;
    if status != 200 {
        return Err(Error::new(
            Status::from_http(status),
            format!("HTTP error downloading media '{url}': {}", String::from_utf8_lossy(&body)),
        )
        .with_http_status(status));
    }
    let ct = content_type.filter(|c| !c.is_empty()).or(header_type.filter(|c| !c.is_empty())).unwrap_or_default();
    let url = format!("data:{ct};base64,{}", base64_encode(&body));
    Ok(Part::media(url, Some(ct)))
}

struct DownloadMedia {
    max_bytes: Option<u64>,
    filter: Option<Arc<Filter>>,
}

impl DownloadMedia {
    fn wants(&self, part: &Part) -> bool {
        part.media.as_ref().is_some_and(|m| m.url.starts_with("http")) && self.filter.as_ref().is_none_or(|f| f(part))
    }
}

async fn cancellable<T>(token: Option<CancellationToken>, fut: impl Future<Output = Result<T>>) -> Result<T> {
    match token {
        Some(tok) => tokio::select! {
            r = fut => r,
            () = tok.cancelled() => Err(Error::cancelled("Generation was cancelled.")),
        },
        None => fut.await,
    }
}

impl Middleware for DownloadMedia {
    async fn wrap_model(&self, mut req: ModelRequest, next: ModelNext<'_>) -> Result<ModelResponse> {
        let mut jobs = Vec::new();
        for (mi, m) in req.messages.iter().enumerate() {
            for (pi, p) in m.content.iter().enumerate() {
                if self.wants(p)
                    && let Some(media) = &p.media
                {
                    jobs.push((mi, pi, media.url.clone(), media.content_type.clone()));
                }
            }
        }
        if jobs.is_empty() {
            return next.run(req).await;
        }
        let max = self.max_bytes.filter(|m| *m > 0);
        {
            let places: Vec<(usize, usize)> = jobs.iter().map(|(mi, pi, ..)| (*mi, *pi)).collect();
            let fetches = jobs.into_iter().map(|(_, _, url, ct)| download(url, ct, max));
            let parts = cancellable(next.cx().cancellation.clone(), try_join_all(fetches)).await?;
            for ((mi, pi), part) in places.into_iter().zip(parts) {
                if let Some(slot) = req.messages.get_mut(mi).and_then(|m| m.content.get_mut(pi)) {
                    *slot = part;
                }
            }
            next.run(req).await
        }
    }
}

/// The `downloadRequestMedia` middleware definition (config `{maxBytes?}`; register it to use
/// `{name: "downloadRequestMedia"}` by name).
pub fn download_request_media_def() -> MiddlewareDef {
    static D: OnceLock<MiddlewareDef> = OnceLock::new();
    D.get_or_init(|| {
        MiddlewareDef::typed(
            "downloadRequestMedia",
            "Downloads http(s) media of model requests and inlines it as data URIs.",
            |c: DownloadConfig, _| Ok(DownloadMedia { max_bytes: c.max_bytes, filter: None }),
        )
    })
    .clone()
}

/// Downloads the media of model requests (JS `downloadRequestMedia`): every media part
/// whose URL starts with `http` (and that `filter` accepts) is fetched and replaced by
/// `{media: {contentType, url: "data:<contentType>;base64,<body>"}}`, the content type being
/// the part's, else the response's `Content-Type`, else empty (other part fields are dropped).
/// A status other than 200 fails with `HTTP error downloading media '<url>': <body>` (status
/// `UNAVAILABLE` for 5xx, `NOT_FOUND` for 404, …; the HTTP status is kept on the error); a body
/// larger than `max_bytes` fails with `INVALID_ARGUMENT`. Downloads run in parallel.
///
/// ```
/// use genkit_middleware::{download_request_media, DownloadMediaOptions};
/// let mw = download_request_media(DownloadMediaOptions::default().max_bytes(10 << 20));
/// assert_eq!(mw.to_ref().name, "downloadRequestMedia");
/// ```
pub fn download_request_media(options: DownloadMediaOptions) -> MiddlewareUse {
    let config = DownloadConfig { max_bytes: options.max_bytes };
    let Some(filter) = options.filter else {
        return download_request_media_def().with_config(serde_json::to_value(config).ok());
    };
    // A filter is code, not config: give this instance its own (dynamic) definition.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let max_bytes = options.max_bytes;
    let def = MiddlewareDef::new(format!("downloadRequestMedia-{n}"), move |_| {
        Ok(DownloadMedia { max_bytes, filter: Some(filter.clone()) })
    })
    .description("Downloads http(s) media of model requests and inlines it as data URIs.")
    .metadata("dynamic", json!(true));
    Arc::new(def).with_config(serde_json::to_value(config).ok())
}
