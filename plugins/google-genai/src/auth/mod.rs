//! Google Cloud credentials for Vertex AI: Application Default Credentials (a service-account
//! key file, gcloud's user credentials, or the metadata server) turned into OAuth access
//! tokens, cached until shortly before they expire and refreshed by one request however many
//! calls wait for it. Tokens and keys are [`Secret`]s: never in logs, errors or `Debug`.
//!
//! Written here on `reqwest` and `ring` (already in the tree through rustls) rather than with
//! `google-cloud-auth`: that crate adds a second `reqwest` major version and `aws-lc-sys` (a C
//! build), and signs service-account tokens itself (self-signed JWTs) instead of exchanging
//! them at the key file's `token_uri`, so it cannot be tested against a local token endpoint.

mod flows;
mod jwt;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use genkit_core::{Error, Result, Status};
use genkit_http::Secret;

pub(crate) use flows::KeyFile;

/// The OAuth scope asked for: Vertex AI and the other Cloud APIs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The environment variable naming a credentials JSON file.
pub const CREDENTIALS_ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";

/// The environment variable holding credentials JSON itself (as Genkit JS reads it).
pub const CREDENTIALS_JSON_ENV: &str = "GCLOUD_SERVICE_ACCOUNT_CREDS";

/// The environment variable overriding the metadata server's host (`host[:port]`).
pub const METADATA_HOST_ENV: &str = "GCE_METADATA_HOST";

/// The metadata server's host on Google Cloud.
pub const DEFAULT_METADATA_HOST: &str = "metadata.google.internal";

/// A token is refreshed this long before it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(240);

/// Where Vertex AI's OAuth access tokens come from.
///
/// `Debug` never shows key material or tokens.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Credentials {
    /// Application Default Credentials, looked up in this order: credentials JSON in
    /// `GCLOUD_SERVICE_ACCOUNT_CREDS` (as Genkit JS); the file named by
    /// `GOOGLE_APPLICATION_CREDENTIALS`; gcloud's `application_default_credentials.json`
    /// (`$CLOUDSDK_CONFIG` or `~/.config/gcloud`, written by
    /// `gcloud auth application-default login`); the metadata server (`GCE_METADATA_HOST` or
    /// `metadata.google.internal`) on Google Cloud.
    #[default]
    Default,
    /// A credentials JSON file: a service-account key (`"type": "service_account"`) or
    /// gcloud user credentials (`"type": "authorized_user"`).
    File(PathBuf),
    /// The same JSON, given as text (e.g. from a secret manager).
    Json(Secret),
    /// The metadata server of Google Cloud (Compute Engine, Cloud Run, GKE), at `host`
    /// (`host[:port]`, default `GCE_METADATA_HOST` or `metadata.google.internal`).
    MetadataServer {
        /// The server's `host[:port]`.
        host: Option<String>,
    },
    /// A fixed access token (e.g. `gcloud auth print-access-token`); never refreshed.
    AccessToken(Secret),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Default => f.write_str("Default"),
            Credentials::File(p) => f.debug_tuple("File").field(p).finish(),
            Credentials::Json(_) => f.write_str("Json(<redacted>)"),
            Credentials::MetadataServer { host } => f.debug_struct("MetadataServer").field("host", host).finish(),
            Credentials::AccessToken(_) => f.write_str("AccessToken(<redacted>)"),
        }
    }
}

/// What [`Credentials::Default`] resolves to.
#[derive(Clone, PartialEq)]
pub(crate) enum Found {
    Json(Secret),
    File(PathBuf),
    Metadata(String),
}

impl fmt::Debug for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Json(_) => f.write_str("Json(<redacted>)"),
            Found::File(p) => f.debug_tuple("File").field(p).finish(),
            Found::Metadata(h) => f.debug_tuple("Metadata").field(h).finish(),
        }
    }
}

/// The Application Default Credentials lookup, with the environment and the file system
/// passed in so that it can be tested.
pub(crate) fn discover(env: &dyn Fn(&str) -> Option<String>, exists: &dyn Fn(&std::path::Path) -> bool) -> Found {
    if let Some(j) = env(CREDENTIALS_JSON_ENV).filter(|j| !j.trim().is_empty()) {
        return Found::Json(Secret::new(j));
    }
    if let Some(p) = env(CREDENTIALS_ENV).filter(|p| !p.trim().is_empty()) {
        return Found::File(PathBuf::from(p));
    }
    let gcloud_dir = env("CLOUDSDK_CONFIG")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config").join("gcloud")))
        .or_else(|| env("APPDATA").map(|a| PathBuf::from(a).join("gcloud")));
    if let Some(dir) = gcloud_dir {
        let file = dir.join("application_default_credentials.json");
        if exists(&file) {
            return Found::File(file);
        }
    }
    Found::Metadata(metadata_host(env))
}

fn metadata_host(env: &dyn Fn(&str) -> Option<String>) -> String {
    env(METADATA_HOST_ENV).filter(|h| !h.trim().is_empty()).unwrap_or_else(|| DEFAULT_METADATA_HOST.to_owned())
}

fn real_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// An access token and when it stops being used.
#[derive(Clone)]
struct Cached {
    token: Secret,
    refresh_at: Option<Instant>,
}

impl Cached {
    fn fresh(&self) -> bool {
        self.refresh_at.is_none_or(|t| Instant::now() < t)
    }
}

type Fetch = Shared<BoxFuture<'static, Result<Cached>>>;

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    inflight: Option<Fetch>,
}

struct Inner {
    credentials: Credentials,
    http: reqwest::Client,
    state: Mutex<State>,
}

/// Access tokens for one set of credentials: cached, refreshed once when near expiry.
#[derive(Clone)]
pub(crate) struct TokenSource {
    inner: Arc<Inner>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource").field("credentials", &self.inner.credentials).finish_non_exhaustive()
    }
}

fn poisoned() -> Error {
    Error::new(Status::Internal, "token cache state poisoned")
}

impl TokenSource {
    /// Tokens for `credentials`, fetched with `http`.
    pub(crate) fn new(credentials: Credentials, http: reqwest::Client) -> TokenSource {
        TokenSource { inner: Arc::new(Inner { credentials, http, state: Mutex::new(State::default()) }) }
    }

    /// A valid access token: the cached one, or a new one (one fetch shared by all callers).
    pub(crate) async fn token(&self) -> Result<Secret> {
        let fetch = {
            let mut st = self.inner.state.lock().map_err(|_| poisoned())?;
            if let Some(c) = st.cached.as_ref().filter(|c| c.fresh()) {
                return Ok(c.token.clone());
            }
            match &st.inflight {
                Some(f) => f.clone(),
                None => {
                    let inner = self.inner.clone();
                    let f = async move { inner.fetch().await }.boxed().shared();
                    st.inflight = Some(f.clone());
                    f
                }
            }
        };
        let result = fetch.clone().await;
        let mut st = self.inner.state.lock().map_err(|_| poisoned())?;
        if st.inflight.as_ref().is_some_and(|f| f.ptr_eq(&fetch)) {
            st.inflight = None;
            if let Ok(c) = &result {
                st.cached = Some(c.clone());
            }
        }
        result.map(|c| c.token)
    }

    /// Drops `token` from the cache (after the API refused it), so the next call fetches anew.
    pub(crate) fn invalidate(&self, token: &Secret) {
        if let Ok(mut st) = self.inner.state.lock()
            && st.cached.as_ref().is_some_and(|c| c.token == *token)
        {
            st.cached = None;
        }
    }

    /// The project the credentials name (a key file's `project_id` or `quota_project_id`, or
    /// the metadata server's project), for when no option or environment variable sets one.
    pub(crate) async fn project(&self) -> Option<String> {
        let found = match &self.inner.credentials {
            Credentials::Default => discover(&real_env, &|p| p.is_file()),
            Credentials::File(p) => Found::File(p.clone()),
            Credentials::Json(j) => return KeyFile::parse(j.expose()).ok()?.project(),
            Credentials::MetadataServer { host } => {
                Found::Metadata(host.clone().unwrap_or_else(|| metadata_host(&real_env)))
            }
            Credentials::AccessToken(_) => return None,
        };
        match found {
            Found::Json(j) => KeyFile::parse(j.expose()).ok()?.project(),
            Found::File(p) => KeyFile::read(&p).await.ok()?.project(),
            Found::Metadata(host) => flows::metadata_project(&self.inner.http, &host).await.ok(),
        }
    }
}

impl Inner {
    async fn fetch(self: Arc<Self>) -> Result<Cached> {
        let (token, lifetime) = match &self.credentials {
            Credentials::AccessToken(t) => return Ok(Cached { token: t.clone(), refresh_at: None }),
            Credentials::Default => match discover(&real_env, &|p| p.is_file()) {
                Found::Json(j) => KeyFile::parse(j.expose())?.token(&self.http).await?,
                Found::File(p) => KeyFile::read(&p).await?.token(&self.http).await?,
                Found::Metadata(host) => flows::metadata_token(&self.http, &host).await.map_err(|e| {
                    Error::new(
                        e.status(),
                        format!(
                            "no Google Cloud credentials found: set {CREDENTIALS_ENV} to a service-account key file, run \
                             `gcloud auth application-default login`, or run on Google Cloud ({})",
                            e.message()
                        ),
                    )
                })?,
            },
            Credentials::File(p) => KeyFile::read(p).await?.token(&self.http).await?,
            Credentials::Json(j) => KeyFile::parse(j.expose())?.token(&self.http).await?,
            Credentials::MetadataServer { host } => {
                let host = host.clone().unwrap_or_else(|| metadata_host(&real_env));
                flows::metadata_token(&self.http, &host).await?
            }
        };
        let refresh_at = lifetime.map(|l| Instant::now() + l.saturating_sub(REFRESH_MARGIN));
        Ok(Cached { token, refresh_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::Path;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn adc_lookup_order_is_env_file_then_gcloud_then_metadata() {
        let yes = |_: &Path| true;
        let no = |_: &Path| false;
        let e = env(&[(CREDENTIALS_ENV, "/k.json"), ("HOME", "/home/u")]);
        assert_eq!(discover(&e, &yes), Found::File("/k.json".into()));
        let e = env(&[("HOME", "/home/u")]);
        assert_eq!(
            discover(&e, &yes),
            Found::File("/home/u/.config/gcloud/application_default_credentials.json".into())
        );
        let e = env(&[("HOME", "/home/u"), ("CLOUDSDK_CONFIG", "/cfg")]);
        assert_eq!(discover(&e, &yes), Found::File("/cfg/application_default_credentials.json".into()));
        assert_eq!(discover(&e, &no), Found::Metadata(DEFAULT_METADATA_HOST.into()));
        let e = env(&[(METADATA_HOST_ENV, "127.0.0.1:9")]);
        assert_eq!(discover(&e, &no), Found::Metadata("127.0.0.1:9".into()));
        let e = env(&[(CREDENTIALS_JSON_ENV, "{\"type\":\"service_account\"}"), (CREDENTIALS_ENV, "/k.json")]);
        assert!(matches!(discover(&e, &yes), Found::Json(j) if j.expose().contains("service_account")));
    }

    #[tokio::test]
    async fn a_fixed_token_is_returned_and_debug_hides_secrets() {
        let ts = TokenSource::new(Credentials::AccessToken(Secret::new("ya29.secret")), reqwest::Client::new());
        assert_eq!(ts.token().await.unwrap().expose(), "ya29.secret");
        assert!(!format!("{ts:?}").contains("ya29"));
        assert!(!format!("{:?}", Credentials::Json(Secret::new("{\"private_key\":\"x\"}"))).contains("private_key"));
    }
}
