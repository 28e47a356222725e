//! Who may talk to the reflection server: the Genkit CLI and the Dev UI on this machine, not
//! a web page that happens to be open in a browser on it.
//!
//! The reflection API runs any action with any `context` (so any `auth`), redirects trace
//! export (`/api/notify`) and stops the server (`/api/__quitquitquit`). It listens on
//! 127.0.0.1, but a browser will still send a page's requests there. Four checks close that
//! door, each answered with the usual `{"error": Status}` body:
//!
//! - **`Host` must be a loopback name** (`localhost`, `127.0.0.1`, `[::1]`, any port), else
//!   403. A DNS-rebinding page reaches 127.0.0.1 under its own host name, which fails here.
//! - **`Origin`, when present, must be a loopback origin** (`http(s)://localhost|127.0.0.1|[::1]`,
//!   any port), else 403. The Dev UI is served by the CLI on such an origin; the CLI itself
//!   (Node's `fetch`/axios) sends no `Origin` at all.
//! - **A browser request marked `Sec-Fetch-Site: cross-site` without an `Origin`** (an image
//!   or a link on another site pointing at `GET /api/__quitquitquit`) is refused with 403.
//! - **A `POST` must say `Content-Type: application/json`**, else 415. A page may send a
//!   "simple" cross-origin `text/plain` POST without asking first; a JSON one needs a CORS
//!   preflight, which this server never grants. Genkit JS gets the same effect from
//!   `express.json()`, which leaves any other body unparsed.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use genkit_core::{Error, Status};

use crate::run::error_envelope;

/// The middleware: runs the checks and answers the refusal, or passes the request on.
pub(crate) async fn guard(req: Request, next: Next) -> Response {
    match check(req.method(), req.headers(), req.uri().authority().map(|a| a.as_str())) {
        Ok(()) => next.run(req).await,
        Err((status, e)) => refusal(status, &e),
    }
}

fn refusal(status: StatusCode, e: &Error) -> Response {
    tracing::warn!("Genkit reflection server: refused a request: {}", e.message());
    (status, [(header::CONTENT_TYPE, "application/json")], error_envelope(e).to_string()).into_response()
}

/// The four checks (see the module docs). `authority` is the request target's host, used
/// when there is no `Host` header.
pub(crate) fn check(method: &Method, headers: &HeaderMap, authority: Option<&str>) -> Result<(), (StatusCode, Error)> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).or(authority);
    if !host.is_some_and(is_loopback_host) {
        let shown = host.unwrap_or("(none)");
        return Err((
            StatusCode::FORBIDDEN,
            Error::new(
                Status::PermissionDenied,
                format!(
                    "the Genkit reflection server only answers requests addressed to localhost, 127.0.0.1 or [::1], \
                     not to host {shown}"
                ),
            ),
        ));
    }
    match headers.get(header::ORIGIN) {
        Some(origin) => {
            let origin = origin.to_str().unwrap_or("(not text)");
            if !is_loopback_origin(origin) {
                return Err((
                    StatusCode::FORBIDDEN,
                    Error::new(
                        Status::PermissionDenied,
                        format!(
                            "the Genkit reflection server only answers the Genkit tools on this machine, not a web \
                             page from origin {origin}"
                        ),
                    ),
                ));
            }
        }
        None => {
            let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
            if site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
                return Err((
                    StatusCode::FORBIDDEN,
                    Error::new(
                        Status::PermissionDenied,
                        "the Genkit reflection server does not answer requests that another web site started",
                    ),
                ));
            }
        }
    }
    if method == Method::POST && !is_json(headers) {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::new(
                Status::InvalidArgument,
                "the Genkit reflection server only accepts POST bodies sent with `Content-Type: application/json`",
            ),
        ));
    }
    Ok(())
}

/// Whether `Content-Type` is `application/json` (any parameters, any case).
fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        let mime = ct.split(';').next().unwrap_or_default().trim();
        mime.eq_ignore_ascii_case("application/json")
    })
}

/// `localhost`, `127.0.0.1` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    if let Some(rest) = host.strip_prefix('[') {
        // `[::1]` or `[::1]:3100`: the address ends at the bracket.
        return match rest.split_once(']') {
            Some((addr, "")) => addr == "::1",
            Some((addr, port)) => addr == "::1" && port.strip_prefix(':').is_some_and(is_port),
            None => false,
        };
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if is_port(port) => name,
        Some(_) => return false,
        None => host,
    };
    name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1"
}

/// A port number: one to five digits.
fn is_port(s: &str) -> bool {
    (1..=5).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// `http://` or `https://` plus a loopback host (see [`is_loopback_host`]) and nothing else.
fn is_loopback_origin(origin: &str) -> bool {
    let rest = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
    rest.is_some_and(|host| !host.contains('/') && is_loopback_host(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn loopback_hosts() {
        for ok in ["localhost", "LOCALHOST:3100", "127.0.0.1", "127.0.0.1:3100", "[::1]", "[::1]:3100"] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.com",
            "evil.com:3100",
            "localhost.evil.com",
            "127.0.0.1.nip.io",
            "127.0.0.2",
            "[::2]:3100",
            "[::1]x",
            "localhost:31a",
            "localhost:",
            "0.0.0.0:3100",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn loopback_origins() {
        for ok in ["http://localhost:4000", "http://127.0.0.1:4000", "https://localhost", "http://[::1]:4000"] {
            assert!(is_loopback_origin(ok), "{ok}");
        }
        for bad in [
            "null",
            "https://evil.com",
            "http://localhost.evil.com",
            "http://localhost:4000/x",
            "file://",
            "ftp://localhost",
            "http://evil.com#localhost",
        ] {
            assert!(!is_loopback_origin(bad), "{bad}");
        }
    }

    #[test]
    fn what_the_cli_sends_passes() {
        // Node's fetch (`__health`) and axios (`runAction`, `notify`, `cancelAction`).
        let get = headers(&[("host", "127.0.0.1:3100"), ("accept", "*/*")]);
        assert!(check(&Method::GET, &get, None).is_ok());
        let post = headers(&[("host", "127.0.0.1:3100"), ("content-type", "application/json")]);
        assert!(check(&Method::POST, &post, None).is_ok());
        let dev_ui = headers(&[
            ("host", "localhost:3100"),
            ("origin", "http://localhost:4000"),
            ("sec-fetch-site", "cross-site"),
            ("content-type", "application/json; charset=utf-8"),
        ]);
        assert!(check(&Method::POST, &dev_ui, None).is_ok());
        // A user typing the URL into the address bar.
        let typed = headers(&[("host", "127.0.0.1:3100"), ("sec-fetch-site", "none")]);
        assert!(check(&Method::GET, &typed, None).is_ok());
    }

    #[test]
    fn what_a_web_page_sends_is_refused() {
        let status = |m: Method, h: &[(&'static str, &'static str)]| {
            check(&m, &headers(h), None).err().map(|(s, e)| (s.as_u16(), e.status()))
        };
        let forbidden = Some((403, Status::PermissionDenied));
        assert_eq!(status(Method::GET, &[("host", "rebound.evil.com:3100")]), forbidden);
        assert_eq!(status(Method::GET, &[]), forbidden);
        assert_eq!(
            status(
                Method::POST,
                &[("host", "127.0.0.1:3100"), ("origin", "https://evil.com"), ("content-type", "text/plain")]
            ),
            forbidden
        );
        assert_eq!(status(Method::GET, &[("host", "127.0.0.1:3100"), ("origin", "null")]), forbidden);
        assert_eq!(status(Method::GET, &[("host", "127.0.0.1:3100"), ("sec-fetch-site", "cross-site")]), forbidden);
        assert_eq!(
            status(Method::POST, &[("host", "127.0.0.1:3100"), ("content-type", "text/plain")]),
            Some((415, Status::InvalidArgument))
        );
        assert_eq!(status(Method::POST, &[("host", "127.0.0.1:3100")]), Some((415, Status::InvalidArgument)));
        // The host of the request line counts when there is no Host header.
        assert!(check(&Method::GET, &HeaderMap::new(), Some("127.0.0.1:3100")).is_ok());
    }
}
