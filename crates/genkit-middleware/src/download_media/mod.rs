//! The `downloadRequestMedia` model middleware : fetches `http(s)` media of a model
//! request and inlines it as `data:` URIs, for models that cannot fetch URLs themselves.
//! Every download is bounded: a time limit, a size limit, and (unless allowed) no private,
//! loopback or link-local addresses (see [`address`]).

mod address;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::future::try_join_all;
use genkit_core::{Error, Result, Status};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::filesystem::base64_encode;
use genkit_ai::middleware::{Middleware, MiddlewareDef, MiddlewareUse, ModelNext};
use genkit_ai::{ModelRequest, ModelResponse, Part};

/// The size limit of one download unless set: 20 MiB, the largest inline media the big
/// providers accept in a request (OpenAI and Gemini both stop at 20 MB).
pub const DEFAULT_DOWNLOAD_MAX_BYTES: u64 = 20 << 20;

/// The time limit of one download unless set: 30 s, connecting and reading the body included.
pub const DEFAULT_DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(30);

type Filter = dyn Fn(&Part) -> bool + Send + Sync;

/// Options of [`download_request_media`].
///
/// The defaults bound every download: at most [`DEFAULT_DOWNLOAD_MAX_BYTES`], at most
/// [`DEFAULT_DOWNLOAD_TIMEOUT`], and never from a private, loopback or link-local address
/// (media URLs in a request may come from end users, and fetching internal addresses for them
/// is server-side request forgery). Genkit JS has no limits by default and fetches from any
/// address; set [`allow_private_addresses`](DownloadMediaOptions::allow_private_addresses) to
/// fetch from `localhost` or a private network, as in development.
#[derive(Clone, Default)]
pub struct DownloadMediaOptions {
    /// The largest body accepted, in bytes (`None`: [`DEFAULT_DOWNLOAD_MAX_BYTES`]; `0`: no
    /// limit).
    pub max_bytes: Option<u64>,
    /// The time limit of each download in milliseconds, connecting and reading included
    /// (`None`: [`DEFAULT_DOWNLOAD_TIMEOUT`]; `0`: no limit). Rust-only.
    pub timeout_ms: Option<u64>,
    /// Fetches from private (RFC 1918), loopback, link-local, unique-local and unspecified
    /// addresses too (default `false`: such URLs fail with `PERMISSION_DENIED`). Host names
    /// are checked on every address they resolve to, redirects included. With an HTTP proxy
    /// configured (`HTTP_PROXY`, …) the proxy resolves names, so only literal addresses are
    /// checked. Rust-only.
    pub allow_private_addresses: bool,
    /// Only media parts for which this returns `true` are downloaded (Rust-only: not part of
    /// the JSON config).
    pub filter: Option<Arc<Filter>>,
}

impl fmt::Debug for DownloadMediaOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadMediaOptions")
            .field("max_bytes", &self.max_bytes)
            .field("timeout_ms", &self.timeout_ms)
            .field("allow_private_addresses", &self.allow_private_addresses)
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

impl DownloadMediaOptions {
    /// Limits the size of each download (`0`: no limit).
    #[must_use]
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = Some(max_bytes);
        self
    }

    /// Limits the time of each download (`Duration::ZERO`: no limit).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Whether private, loopback and link-local addresses may be fetched from (default no).
    #[must_use]
    pub fn allow_private_addresses(mut self, yes: bool) -> Self {
        self.allow_private_addresses = yes;
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
    /// The largest body accepted, in bytes (default 20 MiB; 0: no limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    max_bytes: Option<u64>,
    /// The time limit of each download in milliseconds (default 30000; 0: no limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_ms: Option<u64>,
    /// Fetches from private, loopback and link-local addresses too (default false).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    allow_private_addresses: bool,
}

/// The limits one download runs with, defaults applied.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_bytes: Option<u64>,
    timeout: Option<Duration>,
    allow_private: bool,
}

impl Limits {
    fn new(max_bytes: Option<u64>, timeout_ms: Option<u64>, allow_private: bool) -> Limits {
        Limits {
            max_bytes: Some(max_bytes.unwrap_or(DEFAULT_DOWNLOAD_MAX_BYTES)).filter(|m| *m > 0),
            timeout: timeout_ms
                .map_or(Some(DEFAULT_DOWNLOAD_TIMEOUT), |ms| (ms > 0).then(|| Duration::from_millis(ms))),
            allow_private,
        }
    }
}

/// The shared HTTP client: one that refuses private addresses, or one that does not.
fn client(allow_private: bool) -> Result<reqwest::Client> {
    static GUARDED: OnceLock<reqwest::Client> = OnceLock::new();
    static OPEN: OnceLock<reqwest::Client> = OnceLock::new();
    let slot = if allow_private { &OPEN } else { &GUARDED };
    if let Some(c) = slot.get() {
        return Ok(c.clone());
    }
    let builder = if allow_private { reqwest::Client::builder() } else { address::guarded_builder() };
    let c = builder
        .build()
        .map_err(|e| Error::internal(format!("downloadRequestMedia: cannot create an HTTP client: {e}")))?;
    Ok(slot.get_or_init(|| c).clone())
}

fn too_large(url: &str, max: u64) -> Error {
    Error::invalid_argument(format!("content size at {url} over limit: {max}"))
}

/// The error for a failed fetch: `PERMISSION_DENIED` for a refused address,
/// `DEADLINE_EXCEEDED` past the time limit, else `UNAVAILABLE`.
fn fetch_error(url: &str, e: &reqwest::Error, limits: Limits) -> Error {
    if let Some(refused) = address::refusal(e) {
        return Error::new(Status::PermissionDenied, format!("Error downloading media '{url}': {refused}"));
    }
    if e.is_timeout() {
        let ms = limits.timeout.map_or(0, |t| t.as_millis());
        return Error::new(
            Status::DeadlineExceeded,
            format!("Error downloading media '{url}': no complete answer within the time limit of {ms} ms (timeoutMs)"),
        );
    }
    Error::new(Status::Unavailable, format!("Error downloading media '{url}': {e}"))
}

/// Reads the body, failing as soon as it grows past `max` bytes.
async fn read_body(mut resp: reqwest::Response, url: &str, limits: Limits) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let chunk = resp.chunk().await.map_err(|e| fetch_error(url, &e, limits))?;
        let Some(chunk) = chunk else { return Ok(body) };
        body.extend_from_slice(&chunk);
        if let Some(max) = limits.max_bytes
            && body.len() as u64 > max
        {
            return Err(too_large(url, max));
        }
    }
}

/// Downloads `url` into a media part: `contentType` is the part's, else the response's, else
/// empty.
async fn download(url: String, content_type: Option<String>, limits: Limits) -> Result<Part> {
    let parsed = reqwest::Url::parse(&url)
        .map_err(|e| Error::invalid_argument(format!("Error downloading media '{url}': invalid URL: {e}")))?;
    if !limits.allow_private
        && let Some(refused) = address::check_url(&parsed)
    {
        return Err(Error::new(Status::PermissionDenied, format!("Error downloading media '{url}': {refused}")));
    }
    let mut rb = client(limits.allow_private)?.get(parsed);
    if let Some(t) = limits.timeout {
        rb = rb.timeout(t);
    }
    let resp = rb.send().await.map_err(|e| fetch_error(&url, &e, limits))?;
    let max = limits.max_bytes;
    let status = resp.status().as_u16();
    if let (Some(max), Some(len)) = (max, resp.content_length())
        && len > max
    {
        return Err(too_large(&url, max));
    }
    let header_type =
        resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = read_body(resp, &url, limits).await?;
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
    limits: Limits,
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
        {
            let places: Vec<(usize, usize)> = jobs.iter().map(|(mi, pi, ..)| (*mi, *pi)).collect();
            let fetches = jobs.into_iter().map(|(_, _, url, ct)| download(url, ct, self.limits));
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

/// The `downloadRequestMedia` middleware definition (config `{maxBytes?, timeoutMs?,
/// allowPrivateAddresses?}`; register it to use
/// `{name: "downloadRequestMedia"}` by name).
pub fn download_request_media_def() -> MiddlewareDef {
    static D: OnceLock<MiddlewareDef> = OnceLock::new();
    D.get_or_init(|| {
        MiddlewareDef::typed(
            "downloadRequestMedia",
            "Downloads http(s) media of model requests and inlines it as data URIs.",
            |c: DownloadConfig, _| {
                let limits = Limits::new(c.max_bytes, c.timeout_ms, c.allow_private_addresses);
                Ok(DownloadMedia { limits, filter: None })
            },
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
/// larger than `max_bytes` (20 MiB by default) fails with `INVALID_ARGUMENT`; a download
/// slower than the time limit (30 s by default) with `DEADLINE_EXCEEDED`; a URL whose host is
/// or resolves to a private, loopback or link-local address with `PERMISSION_DENIED`, unless
/// [`allow_private_addresses`](DownloadMediaOptions::allow_private_addresses) is set. Downloads
/// run in parallel. JSON config: `{maxBytes?, timeoutMs?, allowPrivateAddresses?}`.
///
/// ```
/// use std::time::Duration;
/// use genkit_middleware::{download_request_media, DownloadMediaOptions};
/// let mw = download_request_media(DownloadMediaOptions::default().max_bytes(10 << 20).timeout(Duration::from_secs(10)));
/// assert_eq!(mw.to_ref().name, "downloadRequestMedia");
/// ```
pub fn download_request_media(options: DownloadMediaOptions) -> MiddlewareUse {
    let config = DownloadConfig {
        max_bytes: options.max_bytes,
        timeout_ms: options.timeout_ms,
        allow_private_addresses: options.allow_private_addresses,
    };
    let Some(filter) = options.filter else {
        return download_request_media_def().with_config(serde_json::to_value(config).ok());
    };
    // A filter is code, not config: give this instance its own (dynamic) definition.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let limits = Limits::new(options.max_bytes, options.timeout_ms, options.allow_private_addresses);
    let def = MiddlewareDef::new(format!("downloadRequestMedia-{n}"), move |_| {
        Ok(DownloadMedia { limits, filter: Some(filter.clone()) })
    })
    .description("Downloads http(s) media of model requests and inlines it as data URIs.")
    .metadata("dynamic", json!(true));
    def.with_config(serde_json::to_value(config).ok())
}
