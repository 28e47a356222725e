//! Context providers: API keys with JS semantics, custom providers, and the context reaching
//! the flow and the actions it calls.

mod common;

use axum::body::{Body, to_bytes};
use axum::http::Request;
use genkit_core::{ActionContext, Error, Status};
use genkit_server::{FlowServerOptions, HandlerOptions, RequestData, api_key, api_key_any, api_key_policy};
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(app: &axum::Router, path: &str, auth: Option<&str>, stream: bool) -> (u16, String) {
    let mut req = Request::post(path).header("content-type", "application/json").header("X-Custom", "yes");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if stream {
        req = req.header("accept", "text/event-stream");
    }
    let res = app.clone().oneshot(req.body(Body::from(r#"{"data":{"q":1}}"#)).unwrap()).await.unwrap();
    let status = res.status().as_u16();
    let body = to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn result(body: &str) -> Value {
    let v: Value = serde_json::from_str(body).unwrap();
    v["result"].clone()
}

fn app() -> axum::Router {
    let custom = |req: &RequestData| {
        let method = req.method.clone();
        let custom = req.header("x-custom").map(str::to_owned);
        let q = req.input["q"].clone();
        let tenant = req.header("x-tenant").map(str::to_owned);
        async move {
            let tenant = tenant.ok_or_else(|| Error::user_facing(Status::Unauthenticated, "no tenant"))?;
            Ok(ActionContext::new()
                .with("auth", json!({"tenant": tenant}))
                .with("request", json!({"method": method, "custom": custom, "q": q})))
        }
    };
    FlowServerOptions::new()
        .flow_with(common::whoami(), HandlerOptions::new().path("exact").context_provider(api_key("secret")))
        .flow_with(common::whoami(), HandlerOptions::new().path("any").context_provider(api_key_any()))
        .flow_with(
            common::whoami(),
            HandlerOptions::new().path("policy").context_provider(api_key_policy(|cx| async move {
                match cx.auth().and_then(|a| a["apiKey"].as_str()) {
                    Some(k) if k.starts_with("Bearer ") => Ok(()),
                    _ => Err(Error::new(Status::PermissionDenied, "bearer token required")),
                }
            })),
        )
        .flow_with(common::whoami(), HandlerOptions::new().path("custom").context_provider(custom))
        .flow(common::whoami())
        .router()
}

#[tokio::test]
async fn api_key_exact() {
    let app = app();
    let (status, body) = call(&app, "/exact", None, false).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()),
        (401, json!({"status": "UNAUTHENTICATED", "message": "Unauthenticated"}))
    );
    let (status, body) = call(&app, "/exact", Some("wrong"), false).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()),
        (403, json!({"status": "PERMISSION_DENIED", "message": "Permission Denied"}))
    );
    // Rejected before streaming starts, with the same answer.
    let (status, _) = call(&app, "/exact", Some("wrong"), true).await;
    assert_eq!(status, 403);

    let (status, body) = call(&app, "/exact", Some("secret"), false).await;
    assert_eq!(status, 200);
    let r = result(&body);
    assert_eq!(r["context"], json!({"auth": {"apiKey": "secret"}}));
    // Actions the flow calls see the same context.
    assert_eq!(r["nested"], json!({"auth": {"apiKey": "secret"}}));
}

#[tokio::test]
async fn api_key_any_and_policy() {
    let app = app();
    let (status, body) = call(&app, "/any", None, false).await;
    assert_eq!((status, result(&body)["context"].clone()), (200, json!({"auth": {}})));
    let (_, body) = call(&app, "/any", Some("whatever"), false).await;
    assert_eq!(result(&body)["context"], json!({"auth": {"apiKey": "whatever"}}));

    let (status, body) = call(&app, "/policy", Some("Basic x"), false).await;
    assert_eq!(status, 403);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["message"], "bearer token required");
    let (status, body) = call(&app, "/policy", Some("Bearer t"), false).await;
    assert_eq!((status, result(&body)["nested"].clone()), (200, json!({"auth": {"apiKey": "Bearer t"}})));
}

#[tokio::test]
async fn custom_provider_sees_method_headers_and_input() {
    let app = app();
    let (status, body) = call(&app, "/custom", None, false).await;
    assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()["message"].clone()), (401, json!("no tenant")));

    let req = Request::post("/custom")
        .header("content-type", "application/json")
        .header("X-Custom", "yes")
        .header("X-Tenant", "acme")
        .header("accept", "text/event-stream")
        .body(Body::from(r#"{"data":{"q":1}}"#))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let body = String::from_utf8(to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    let frame = body.strip_prefix("data: ").unwrap().trim_end();
    let r = &serde_json::from_str::<Value>(frame).unwrap()["result"];
    let want = json!({"auth": {"tenant": "acme"}, "request": {"method": "POST", "custom": "yes", "q": 1}});
    assert_eq!(r["context"], want);
    assert_eq!(r["nested"], want);
}

#[tokio::test]
async fn no_provider_gives_an_empty_context() {
    let (status, body) = call(&app(), "/whoami", Some("secret"), false).await;
    assert_eq!((status, result(&body)), (200, json!({"context": {}, "nested": {}})));
}
