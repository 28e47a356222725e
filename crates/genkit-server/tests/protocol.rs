//! The flow protocol through the router (no socket): results, headers, errors, bad input,
//! panics, bidi `init`, CORS, path prefix.

mod common;

use axum::body::{Body, to_bytes};
use axum::http::{Request, Response};
use genkit_server::{FlowServerOptions, HandlerOptions, flow_handler, flow_router};
use serde_json::{Value, json};
use tower::ServiceExt;

fn app() -> axum::Router {
    FlowServerOptions::new()
        .flow(common::echo())
        .flow(common::streamy())
        .flow(common::greet())
        .flow(common::fail())
        .flow(common::boom())
        .flow(common::bidi())
        .flow_with(common::echo(), HandlerOptions::new().path("custom/echo"))
        .body_limit(1024)
        .router()
}

fn post(path: &str, body: &str) -> Request<Body> {
    Request::post(path).header("content-type", "application/json").body(Body::from(body.to_owned())).unwrap()
}

async fn send(app: &axum::Router, req: Request<Body>) -> (Response<()>, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap();
    (Response::from_parts(parts, ()), String::from_utf8(bytes.to_vec()).unwrap())
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn result_with_trace_headers() {
    let app = app();
    let (res, body) = send(&app, post("/echo", r#"{"data":"hello"}"#)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(body, r#"{"result":"hello"}"#);
    assert_eq!(res.headers()["content-type"], "application/json; charset=utf-8");
    let trace = res.headers()["x-genkit-trace-id"].to_str().unwrap();
    let span = res.headers()["x-genkit-span-id"].to_str().unwrap();
    assert_eq!((trace.len(), span.len()), (32, 16), "{trace} {span}");
    // Custom path, and extra envelope fields are ignored.
    let (res, body) = send(&app, post("/custom/echo", r#"{"data":"x","other":1}"#)).await;
    assert_eq!((res.status().as_u16(), body.as_str()), (200, r#"{"result":"x"}"#));
}

#[tokio::test]
async fn flow_errors_use_genkit_status_and_callable_json() {
    let app = app();
    let (res, body) = send(&app, post("/fail", r#"{"data":null}"#)).await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/json; charset=utf-8");
    assert_eq!(json_of(&body), json!({"status": "NOT_FOUND", "message": "nothing here", "details": {"why": "test"}}));

    let req = Request::post("/fail?stream=true").header("content-type", "application/json");
    let (res, body) = send(&app, req.body(Body::from(r#"{"data":1}"#)).unwrap()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        body,
        "data: {\"message\":\"before\"}\n\nerror: {\"error\":{\"status\":\"NOT_FOUND\",\"message\":\"nothing here\",\"details\":{\"why\":\"test\"}}}\n\n"
    );
}

#[tokio::test]
async fn bad_input() {
    let app = app();
    let js_missing_body = json!({
        "message": "Error: request.body is undefined. Possible reasons: missing 'content-type: application/json' in request headers or misconfigured JSON middleware ('app.use(express.json()')? ",
        "status": "INVALID_ARGUMENT"
    });
    // No JSON content type, or no body: Genkit JS's message, with the canonical status name.
    let req = Request::post("/echo").header("content-type", "text/plain").body(Body::from(r#"{"data":"x"}"#)).unwrap();
    let (res, body) = send(&app, req).await;
    assert_eq!((res.status().as_u16(), json_of(&body)), (400, js_missing_body.clone()));
    let (res, body) = send(&app, post("/echo", "")).await;
    assert_eq!((res.status().as_u16(), json_of(&body)), (400, js_missing_body.clone()));
    let no_body = Request::post("/echo").body(Body::empty()).unwrap();
    let (res, body) = send(&app, no_body).await;
    assert_eq!((res.status().as_u16(), json_of(&body)), (400, js_missing_body));

    // Invalid JSON, a body that is not an object.
    for bad in ["{\"data\":", "not json", "[1,2]", "\"hi\""] {
        let (res, body) = send(&app, post("/echo", bad)).await;
        assert_eq!(res.status(), 400, "{bad}");
        let v = json_of(&body);
        assert_eq!(v["status"], "INVALID_ARGUMENT", "{bad}: {v}");
    }

    // Missing `data`: the input is null, which the flow's schema rejects.
    let (res, body) = send(&app, post("/echo", "{}")).await;
    assert_eq!(res.status(), 400);
    let v = json_of(&body);
    assert_eq!(v["status"], "INVALID_ARGUMENT");
    assert_eq!(v["details"]["errors"], json!([{"path": "(root)", "message": "must be string"}]));

    // Schema-invalid input: 400 with the paths.
    let (res, body) = send(&app, post("/greet", r#"{"data":{"name":7}}"#)).await;
    assert_eq!(res.status(), 400);
    let v = json_of(&body);
    assert_eq!(v["status"], "INVALID_ARGUMENT");
    let errors = v["details"]["errors"].as_array().unwrap();
    let paths: Vec<&str> = errors.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"name") && paths.contains(&"(root)"), "{errors:?}");
    assert!(v["message"].as_str().unwrap().starts_with("Schema validation failed."));

    // Unknown route, wrong method, oversize body.
    let (res, body) = send(&app, post("/nope", r#"{"data":1}"#)).await;
    assert_eq!(res.status(), 404);
    assert_eq!(json_of(&body), json!({"status": "NOT_FOUND", "message": "Cannot POST /nope"}));
    let (res, _) = send(&app, Request::get("/echo").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    let big = format!(r#"{{"data":"{}"}}"#, "x".repeat(2000));
    let (res, body) = send(&app, post("/echo", &big)).await;
    assert_eq!(res.status(), 413);
    assert_eq!(json_of(&body)["message"], "request entity too large");
}

#[tokio::test]
async fn panicking_flow_is_a_500_and_the_server_keeps_serving() {
    let app = app();
    let (res, body) = send(&app, post("/boom", r#"{"data":1}"#)).await;
    assert_eq!(res.status(), 500);
    assert_eq!(json_of(&body), json!({"message": "Internal Error", "status": "INTERNAL"}));
    let (res, body) = send(&app, post("/boom?stream=true", r#"{"data":1}"#)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        body,
        "data: {\"message\":\"tick\"}\n\nerror: {\"error\":{\"message\":\"Internal Error\",\"status\":\"INTERNAL\"}}\n\n"
    );
    let (res, body) = send(&app, post("/echo", r#"{"data":"still here"}"#)).await;
    assert_eq!((res.status().as_u16(), body.as_str()), (200, r#"{"result":"still here"}"#));
}

#[tokio::test]
async fn bidi_flows_take_init() {
    let app = app();
    let (res, body) = send(&app, post("/bidi", r#"{"data":"a","init":"setup"}"#)).await;
    assert_eq!((res.status().as_u16(), body.as_str()), (200, r#"{"result":"setup:a"}"#));
    let (res, body) = send(&app, post("/bidi?stream=true", r#"{"data":"b","init":"s"}"#)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(body, "data: {\"message\":\"b\"}\n\ndata: {\"result\":\"s:b\"}\n\n");
    // `init` is validated against the flow's init schema.
    let (res, body) = send(&app, post("/bidi", r#"{"data":"a","init":5}"#)).await;
    assert_eq!(res.status(), 400, "{body}");
}

#[tokio::test]
async fn cors_like_js() {
    let app = app();
    let req = Request::options("/echo")
        .header("origin", "https://example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,authorization")
        .body(Body::empty())
        .unwrap();
    let (res, body) = send(&app, req).await;
    // 204 No Content, as the `cors` package of JS's express server answers a preflight.
    assert_eq!(res.status(), 204);
    assert!(body.is_empty());
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert_eq!(h["access-control-allow-headers"], "content-type,authorization");

    let req = Request::post("/echo")
        .header("origin", "https://example.com")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"data":"c"}"#))
        .unwrap();
    let (res, _) = send(&app, req).await;
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(res.headers()["access-control-expose-headers"].to_str().unwrap().contains("x-genkit-trace-id"));

    let plain = FlowServerOptions::new().flow(common::echo()).no_cors().router();
    let req = Request::post("/echo")
        .header("origin", "https://example.com")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"data":"c"}"#))
        .unwrap();
    let (res, _) = send(&plain, req).await;
    assert!(res.headers().get("access-control-allow-origin").is_none());

    // A policy of one's own gets the same 204; as in JS's `cors`, any OPTIONS is a preflight.
    let own_cors = tower_http::cors::CorsLayer::new()
        .allow_origin(axum::http::HeaderValue::from_static("https://app.example"))
        .allow_methods([axum::http::Method::POST]);
    let own = FlowServerOptions::new().flow(common::echo()).cors(own_cors).router();
    let preflight = || {
        Request::options("/echo")
            .header("origin", "https://app.example")
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap()
    };
    let (res, _) = send(&own, preflight()).await;
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["access-control-allow-origin"], "https://app.example");
    let (res, _) = send(&app, Request::options("/echo").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), 204);
    let (res, _) = send(&plain, preflight()).await;
    assert_eq!(res.status(), 405, "no CORS, no preflight answer");
}

#[tokio::test]
async fn prefix_handler_and_router() {
    let app = FlowServerOptions::new().flow(common::echo()).path_prefix("api/").router();
    let (res, _) = send(&app, post("/api/echo", r#"{"data":"p"}"#)).await;
    assert_eq!(res.status(), 200);
    let (res, _) = send(&app, post("/echo", r#"{"data":"p"}"#)).await;
    assert_eq!(res.status(), 404);

    let mine = axum::Router::new().route("/my/echo", flow_handler(common::echo()));
    let (res, body) = send(&mine, post("/my/echo", r#"{"data":"m"}"#)).await;
    assert_eq!((res.status().as_u16(), body.as_str()), (200, r#"{"result":"m"}"#));

    let actions: Vec<std::sync::Arc<dyn genkit_core::Action>> =
        vec![common::echo().as_action(), common::greet().as_action()];
    let r = flow_router(actions);
    let (res, body) = send(&r, post("/greet", r#"{"data":{"name":"Ada","age":36}}"#)).await;
    assert_eq!((res.status().as_u16(), body.as_str()), (200, r#"{"result":"Hello Ada (36)"}"#));
}
