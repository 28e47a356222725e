//! The token flows: a service-account key's RS256 JWT exchanged at its `token_uri`
//! (RFC 7523), gcloud user credentials' refresh token (`authorized_user`), and the metadata
//! server's token endpoint.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use genkit_core::{Error, Result, Status};
use genkit_http::Secret;
use serde::Deserialize;
use serde_json::json;

use super::{CLOUD_PLATFORM_SCOPE, jwt};

/// Google's OAuth token endpoint (used when a key file names none).
pub(crate) const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The largest credentials file or token answer read.
const MAX_AUTH_BODY: usize = 1 << 20;

/// How long a request for a token may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the metadata server may take (it is local; a missing one should fail fast).
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

/// A credentials JSON file.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum KeyFile {
    /// A service-account key.
    ServiceAccount {
        client_email: String,
        #[serde(deserialize_with = "de_secret")]
        private_key: Secret,
        #[serde(default)]
        private_key_id: Option<String>,
        #[serde(default)]
        token_uri: Option<String>,
        #[serde(default)]
        project_id: Option<String>,
    },
    /// gcloud user credentials.
    AuthorizedUser {
        client_id: String,
        #[serde(deserialize_with = "de_secret")]
        client_secret: Secret,
        #[serde(deserialize_with = "de_secret")]
        refresh_token: Secret,
        #[serde(default)]
        token_uri: Option<String>,
        #[serde(default)]
        quota_project_id: Option<String>,
    },
}

fn de_secret<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Secret, D::Error> {
    String::deserialize(d).map(Secret::new)
}

fn auth_error(status: Status, message: impl Into<String>) -> Error {
    Error::new(status, message.into())
}

impl KeyFile {
    /// Parses key-file JSON; the error never quotes the text (it holds keys).
    pub(crate) fn parse(text: &str) -> Result<KeyFile> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            auth_error(Status::InvalidArgument, format!("the credentials are not JSON (line {})", e.line()))
        })?;
        let kind = v.get("type").and_then(serde_json::Value::as_str).unwrap_or("").to_owned();
        match kind.as_str() {
            "service_account" | "authorized_user" => KeyFile::deserialize(&v).map_err(|e| {
                // serde's messages name fields, not values.
                auth_error(Status::InvalidArgument, format!("invalid {kind} credentials: {e}"))
            }),
            "" => Err(auth_error(Status::InvalidArgument, "the credentials JSON has no \"type\"")),
            other => Err(auth_error(
                Status::Unimplemented,
                format!(
                    "credentials of type '{other}' are not supported: use a service-account key, gcloud user \
                     credentials, the metadata server, or an access token"
                ),
            )),
        }
    }

    /// Reads and parses a key file (bounded).
    pub(crate) async fn read(path: &Path) -> Result<KeyFile> {
        let meta = tokio::fs::metadata(path).await.map_err(|e| {
            auth_error(Status::FailedPrecondition, format!("cannot read the credentials file {}: {e}", path.display()))
        })?;
        if meta.len() > MAX_AUTH_BODY as u64 {
            return Err(auth_error(
                Status::InvalidArgument,
                format!("the credentials file {} is too large", path.display()),
            ));
        }
        let text = tokio::fs::read_to_string(path).await.map_err(|e| {
            auth_error(Status::FailedPrecondition, format!("cannot read the credentials file {}: {e}", path.display()))
        })?;
        KeyFile::parse(&text)
    }

    /// The project the file names.
    pub(crate) fn project(&self) -> Option<String> {
        match self {
            KeyFile::ServiceAccount { project_id, .. } => project_id.clone(),
            KeyFile::AuthorizedUser { quota_project_id, .. } => quota_project_id.clone(),
        }
        .filter(|p| !p.is_empty())
    }

    /// A new access token and its lifetime.
    pub(crate) async fn token(&self, http: &reqwest::Client) -> Result<(Secret, Option<Duration>)> {
        match self {
            KeyFile::ServiceAccount { client_email, private_key, private_key_id, token_uri, .. } => {
                let uri = token_uri.as_deref().unwrap_or(DEFAULT_TOKEN_URI);
                let key = jwt::key_from_pem(private_key.expose())?;
                let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                let mut header = json!({"alg": "RS256", "typ": "JWT"});
                if let Some(kid) = private_key_id {
                    header["kid"] = json!(kid);
                }
                let claims = json!({
                    "iss": client_email, "scope": CLOUD_PLATFORM_SCOPE, "aud": uri,
                    "iat": now, "exp": now + 3600,
                });
                let assertion = Secret::new(jwt::sign_rs256(&key, &header, &claims)?);
                let form =
                    [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion.expose())];
                exchange(http.post(uri).form(&form), "service-account token exchange").await
            }
            KeyFile::AuthorizedUser { client_id, client_secret, refresh_token, token_uri, .. } => {
                let uri = token_uri.as_deref().unwrap_or(DEFAULT_TOKEN_URI);
                let form = [
                    ("grant_type", "refresh_token"),
                    ("client_id", client_id.as_str()),
                    ("client_secret", client_secret.expose()),
                    ("refresh_token", refresh_token.expose()),
                ];
                exchange(http.post(uri).form(&form), "refreshing the gcloud user credentials").await
            }
        }
    }
}

/// A token endpoint's answer: `{access_token, expires_in, token_type}` or
/// `{error, error_description}`.
#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

async fn bounded_body(resp: reqwest::Response) -> Vec<u8> {
    genkit_http::read_body_prefix(resp.bytes_stream().map(|r| r.map_err(std::io::Error::other)), MAX_AUTH_BODY).await
}

/// Sends a token request and reads the token (errors carry the endpoint's `error` code and
/// description, never the request).
async fn exchange(rb: reqwest::RequestBuilder, what: &str) -> Result<(Secret, Option<Duration>)> {
    let resp = rb.timeout(TOKEN_TIMEOUT).send().await.map_err(|e| {
        // reqwest's message names the URL only (the form body holds the secrets).
        auth_error(Status::Unavailable, format!("{what} failed: {e}"))
    })?;
    let status = resp.status();
    let body = bounded_body(resp).await;
    let answer: Option<TokenAnswer> = serde_json::from_slice(&body).ok();
    if !status.is_success() {
        let detail = answer
            .map(|a| {
                let code = a.error.unwrap_or_default();
                match a.error_description {
                    Some(d) => format!("{code}: {d}"),
                    None => code,
                }
            })
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        let s = if status.is_server_error() { Status::Unavailable } else { Status::Unauthenticated };
        return Err(auth_error(s, format!("{what} was refused ({detail})")).with_http_status(status.as_u16()));
    }
    let answer =
        answer.ok_or_else(|| auth_error(Status::Unauthenticated, format!("{what}: the answer is not JSON")))?;
    let token = answer
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| auth_error(Status::Unauthenticated, format!("{what}: the answer has no access_token")))?;
    Ok((Secret::new(token), answer.expires_in.map(Duration::from_secs)))
}

fn metadata_url(host: &str, path: &str) -> String {
    let host = host.trim_end_matches('/');
    if host.starts_with("http://") || host.starts_with("https://") {
        format!("{host}/computeMetadata/v1/{path}")
    } else {
        format!("http://{host}/computeMetadata/v1/{path}")
    }
}

/// A token of the instance's default service account from the metadata server.
pub(crate) async fn metadata_token(http: &reqwest::Client, host: &str) -> Result<(Secret, Option<Duration>)> {
    let rb = http
        .get(metadata_url(host, "instance/service-accounts/default/token"))
        .query(&[("scopes", CLOUD_PLATFORM_SCOPE)])
        .header("Metadata-Flavor", "Google")
        .timeout(METADATA_TIMEOUT);
    exchange(rb, &format!("the metadata server at {host}")).await
}

/// The project id from the metadata server.
pub(crate) async fn metadata_project(http: &reqwest::Client, host: &str) -> Result<String> {
    let resp = http
        .get(metadata_url(host, "project/project-id"))
        .header("Metadata-Flavor", "Google")
        .timeout(METADATA_TIMEOUT)
        .send()
        .await
        .map_err(|e| auth_error(Status::Unavailable, format!("the metadata server at {host}: {e}")))?;
    if !resp.status().is_success() {
        return Err(auth_error(Status::Unavailable, "the metadata server has no project id"));
    }
    let body = bounded_body(resp).await;
    let id = String::from_utf8_lossy(&body).trim().to_owned();
    if id.is_empty() { Err(auth_error(Status::Unavailable, "the metadata server has no project id")) } else { Ok(id) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_parse_by_type_and_errors_never_quote_secrets() {
        let sa = KeyFile::parse(
            r#"{"type":"service_account","client_email":"a@b","private_key":"SECRETPEM","project_id":"p9"}"#,
        )
        .unwrap();
        assert_eq!(sa.project().as_deref(), Some("p9"));
        let u = KeyFile::parse(
            r#"{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r","quota_project_id":"q"}"#,
        )
        .unwrap();
        assert_eq!(u.project().as_deref(), Some("q"));
        let e = KeyFile::parse(r#"{"type":"external_account"}"#).err().unwrap();
        assert_eq!(e.status(), Status::Unimplemented);
        let e = KeyFile::parse(r#"{"type":"service_account","private_key":"SECRETPEM"}"#).err().unwrap();
        assert!(e.message().contains("client_email") && !e.message().contains("SECRETPEM"), "{}", e.message());
        let e = KeyFile::parse("{not json SECRETPEM").err().unwrap();
        assert!(!e.message().contains("SECRETPEM"));
    }

    #[test]
    fn metadata_urls_take_hosts_with_or_without_scheme() {
        assert_eq!(
            metadata_url("127.0.0.1:8", "project/project-id"),
            "http://127.0.0.1:8/computeMetadata/v1/project/project-id"
        );
        assert_eq!(metadata_url("http://h/", "x"), "http://h/computeMetadata/v1/x");
    }
}
