//! Context providers: turn an HTTP request into the [`ActionContext`] a flow runs with,
//! or reject it (JS `ContextProvider`, `apiKey`).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use genkit_core::{ActionContext, Error, Result, Status};
use serde_json::{Map, Value, json};

/// What a context provider sees of a request (JS `RequestData`).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RequestData {
    /// The HTTP method, upper case (`"POST"`).
    pub method: String,
    /// The request headers, names lower-cased; repeated headers are joined with `", "`.
    pub headers: HashMap<String, String>,
    /// The flow input (the request's `data`; `null` when absent).
    pub input: Value,
}

impl RequestData {
    /// Request data with the given method, headers (names are lower-cased) and input.
    pub fn new<K: AsRef<str>, V: Into<String>>(
        method: impl Into<String>,
        headers: impl IntoIterator<Item = (K, V)>,
        input: Value,
    ) -> Self {
        let mut map: HashMap<String, String> = HashMap::new();
        for (k, v) in headers {
            let v = v.into();
            map.entry(k.as_ref().to_ascii_lowercase())
                .and_modify(|old| {
                    old.push_str(", ");
                    old.push_str(&v);
                })
                .or_insert(v);
        }
        RequestData { method: method.into(), headers: map, input }
    }

    /// One header by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        match self.headers.get(name) {
            Some(v) => Some(v),
            None => self.headers.get(&name.to_ascii_lowercase()).map(String::as_str),
        }
    }
}

/// Builds the [`ActionContext`] of a request, or rejects it (JS `ContextProvider`). Its
/// error's status becomes the HTTP status (`UNAUTHENTICATED` 401, `PERMISSION_DENIED` 403, …)
/// and the error's callable JSON the body.
///
/// Any `Fn(&RequestData) -> impl Future<Output = Result<ActionContext>>` whose future does not
/// borrow the request is a provider: copy what you need out of the request first.
///
/// ```
/// use genkit_core::{ActionContext, Error, Status};
/// use genkit_server::RequestData;
/// use serde_json::json;
///
/// let provider = |req: &RequestData| {
///     let user = req.header("x-user").map(str::to_owned);
///     async move {
///         let user = user.ok_or_else(|| Error::user_facing(Status::Unauthenticated, "who are you?"))?;
///         Ok(ActionContext::new().with("auth", json!({ "uid": user })))
///     }
/// };
/// # fn check(_: impl genkit_server::ContextProvider) {}
/// # check(provider);
/// ```
pub trait ContextProvider: Send + Sync + 'static {
    /// The context for this request.
    ///
    /// # Errors
    /// Rejects the request; the error is returned to the caller.
    fn provide<'a>(&'a self, request: &'a RequestData) -> BoxFuture<'a, Result<ActionContext>>;
}

impl<F, Fut> ContextProvider for F
where
    F: Fn(&RequestData) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ActionContext>> + Send + 'static,
{
    fn provide<'a>(&'a self, request: &'a RequestData) -> BoxFuture<'a, Result<ActionContext>> {
        Box::pin(self(request))
    }
}

impl fmt::Debug for dyn ContextProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContextProvider")
    }
}

/// `{auth: {apiKey: <authorization header>}}`; the key is absent without the header.
fn api_key_context(request: &RequestData) -> ActionContext {
    let mut auth = Map::new();
    if let Some(key) = request.header("authorization") {
        auth.insert("apiKey".into(), json!(key));
    }
    ActionContext::new().with("auth", Value::Object(auth))
}

/// Whether `a == b`, taking the same time whatever the position of the first difference, so
/// that the answer time of a request tells nothing about how much of a guessed key was right.
/// Every byte position up to the longer length is visited; only the lengths themselves may
/// show.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    // A length difference counts as a difference, folded in like any byte.
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        // `black_box` keeps the optimizer from turning the fold into an early exit.
        diff |= std::hint::black_box(x ^ y);
    }
    diff == 0
}

type Policy = Arc<dyn Fn(ActionContext) -> BoxFuture<'static, Result<()>> + Send + Sync>;

enum ApiKeyCheck {
    Any,
    Exact(String),
    Policy(Policy),
}

/// The provider returned by [`api_key`], [`api_key_any`] and [`api_key_policy`] (JS `apiKey`).
pub struct ApiKey {
    check: ApiKeyCheck,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.check {
            ApiKeyCheck::Any => "any",
            ApiKeyCheck::Exact(_) => "exact",
            ApiKeyCheck::Policy(_) => "policy",
        };
        f.debug_struct("ApiKey").field("check", &kind).finish()
    }
}

impl ContextProvider for ApiKey {
    fn provide<'a>(&'a self, request: &'a RequestData) -> BoxFuture<'a, Result<ActionContext>> {
        let context = api_key_context(request);
        Box::pin(async move {
            match &self.check {
                ApiKeyCheck::Any => {}
                ApiKeyCheck::Exact(expected) => match request.header("authorization") {
                    None | Some("") => return Err(Error::user_facing(Status::Unauthenticated, "Unauthenticated")),
                    Some(key) if !constant_time_eq(key.as_bytes(), expected.as_bytes()) => {
                        return Err(Error::user_facing(Status::PermissionDenied, "Permission Denied"));
                    }
                    Some(_) => {}
                },
                ApiKeyCheck::Policy(policy) => policy(context.clone()).await?,
            }
            Ok(context)
        })
    }
}

/// Requires the `Authorization` header to equal `expected` (JS `apiKey('secret')`): a missing
/// header is `UNAUTHENTICATED` "Unauthenticated" (401), another value `PERMISSION_DENIED`
/// "Permission Denied" (403), both user-facing. The context is `{auth: {apiKey: <header>}}`.
///
/// ```
/// let provider = genkit_server::api_key("my-secret");
/// ```
pub fn api_key(expected: impl Into<String>) -> ApiKey {
    ApiKey { check: ApiKeyCheck::Exact(expected.into()) }
}

/// Passes the `Authorization` header through as `{auth: {apiKey: <header>}}` without checking
/// it (JS `apiKey()`).
pub fn api_key_any() -> ApiKey {
    ApiKey { check: ApiKeyCheck::Any }
}

/// Runs `policy` on the context `{auth: {apiKey: <header>}}` (JS `apiKey(policyFn)`); an
/// error rejects the request.
///
/// ```
/// use genkit_core::{Error, Status};
/// let provider = genkit_server::api_key_policy(|cx| async move {
///     let key = cx.auth().and_then(|a| a["apiKey"].as_str()).unwrap_or_default();
///     if key.starts_with("Bearer ") { Ok(()) } else { Err(Error::user_facing(Status::Unauthenticated, "no bearer")) }
/// });
/// ```
pub fn api_key_policy<F, Fut>(policy: F) -> ApiKey
where
    F: Fn(ActionContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    ApiKey { check: ApiKeyCheck::Policy(Arc::new(move |cx| Box::pin(policy(cx)))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(auth: Option<&str>) -> RequestData {
        RequestData::new("POST", auth.map(|a| ("Authorization", a)), Value::Null)
    }

    #[tokio::test]
    async fn exact_key() {
        let p = api_key("secret");
        let e = p.provide(&req(None)).await.unwrap_err();
        assert_eq!((e.status(), e.message(), e.is_user_facing()), (Status::Unauthenticated, "Unauthenticated", true));
        let e = p.provide(&req(Some("nope"))).await.unwrap_err();
        assert_eq!((e.status(), e.message(), e.http_status()), (Status::PermissionDenied, "Permission Denied", 403));
        let cx = p.provide(&req(Some("secret"))).await.unwrap();
        assert_eq!(cx.auth(), Some(&json!({"apiKey": "secret"})));
    }

    #[tokio::test]
    async fn any_key_and_policy() {
        let cx = api_key_any().provide(&req(None)).await.unwrap();
        assert_eq!(cx.auth(), Some(&json!({})));
        let p = api_key_policy(|cx| async move {
            if cx.auth().unwrap()["apiKey"] == "ok" { Ok(()) } else { Err(Error::new(Status::PermissionDenied, "no")) }
        });
        assert!(p.provide(&req(Some("ok"))).await.is_ok());
        assert_eq!(p.provide(&req(Some("ko"))).await.unwrap_err().status(), Status::PermissionDenied);
    }

    #[test]
    fn constant_time_comparison_is_equality() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"secret", b"secret"));
        for other in [&b"secreT"[..], b"Secret", b"secre", b"secret\0", b"", b"secrets"] {
            assert!(!constant_time_eq(b"secret", other), "{other:?}");
            assert!(!constant_time_eq(other, b"secret"), "{other:?}");
        }
    }

    #[test]
    fn headers_are_lower_cased_and_joined() {
        let r = RequestData::new("POST", [("X-A", "1"), ("x-a", "2"), ("Accept", "*/*")], Value::Null);
        assert_eq!(r.header("x-a"), Some("1, 2"));
        assert_eq!(r.header("ACCEPT"), Some("*/*"));
    }
}
