//! The axum example served on 127.0.0.1: a flow through the Genkit flow protocol and the
//! app's own routes, over real HTTP.

use genkit::Status;
use serde_json::{Value, json};

async fn serve() -> String {
    let app = example_axum::build_app().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { genkit::server::axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn flows_speak_the_genkit_flow_protocol() {
    let base = serve().await;
    // Raw: POST {"data": …} → {"result": …}.
    let res = reqwest::Client::new()
        .post(format!("{base}/shout"))
        .header("content-type", "application/json")
        .body(json!({"data": "hi"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(body, json!({"result": "HI"}));

    // With the Rust flow client (feature `client`), typed.
    let greeting: String = genkit::server::run_flow(&format!("{base}/greet"), &"Ada", &[]).await.unwrap();
    assert_eq!(greeting, "Hello, Ada!");
    let e = genkit::server::run_flow::<_, String>(&format!("{base}/greet"), &" ", &[]).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert_eq!(e.message(), "a name is required");
}

#[tokio::test]
async fn own_routes_sit_next_to_the_flows() {
    let base = serve().await;
    let get = |path: &str| reqwest::get(format!("{base}{path}"));

    let res = get("/health").await.unwrap();
    assert_eq!((res.status().as_u16(), res.text().await.unwrap()), (200, "ok".to_owned()));

    let res = get("/hello/Ada").await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "Hello, Ada! (from my own route)");

    // The flow's error, through `?` and `ErrorResponse`.
    let res = get("/hello/%20").await.unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(body, json!({"status": "INVALID_ARGUMENT", "message": "a name is required"}));

    // Unknown paths get the flow router's JSON 404.
    let res = get("/nope").await.unwrap();
    assert_eq!(res.status(), 404);
}
