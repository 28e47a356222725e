//! The Rust client (`run_flow`, `stream_flow`, `FlowClient`) against the Rust server.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Count, Person, serve};
use futures::StreamExt;
use genkit_core::{ActionCx, ActionDef, ActionType, Status};
use genkit_server::{
    FlowClient, FlowServerOptions, HandlerOptions, InMemoryStreamManager, api_key, run_flow, stream_flow,
};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

async fn server() -> (genkit_server::FlowServer, String) {
    serve(
        FlowServerOptions::new()
            .flow(common::echo())
            .flow(common::streamy())
            .flow(common::greet())
            .flow(common::fail())
            .flow_with(common::whoami(), HandlerOptions::new().context_provider(api_key("secret"))),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_and_stream_typed() {
    let (server, url) = server().await;
    let out: String = run_flow(&format!("{url}/echo"), &"hi", &[]).await.unwrap();
    assert_eq!(out, "hi");
    let out: String = run_flow(&format!("{url}/greet"), &Person { name: "Ada".into(), age: 36 }, &[]).await.unwrap();
    assert_eq!(out, "Hello Ada (36)");

    let mut s = stream_flow::<_, Count, String>(&format!("{url}/streamy"), &3, &[]).await.unwrap();
    assert!(s.stream_id().is_none());
    let mut counts = Vec::new();
    while let Some(c) = s.next().await {
        counts.push(c.unwrap().count);
    }
    assert_eq!(counts, [0, 1, 2]);
    assert_eq!(s.output().await.unwrap(), "done 3, streamed: 3 times");

    // `output` without reading the chunks.
    let s = FlowClient::new().stream::<_, Count, String>(&format!("{url}/streamy"), &2, &[]).await.unwrap();
    assert_eq!(s.output().await.unwrap(), "done 2, streamed: 2 times");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_keep_their_status() {
    let (server, url) = server().await;
    let client = FlowClient::new();
    let e = client.run::<_, Value>(&format!("{url}/fail"), &1, &[]).await.unwrap_err();
    assert_eq!((e.status(), e.message()), (Status::NotFound, "nothing here"));
    assert_eq!(e.details(), Some(&json!({"why": "test"})));
    assert_eq!(e.provider_http_status(), Some(404));

    // Streamed: the chunk, then the error (from the stream and from `output`).
    let mut s = client.stream::<_, String, Value>(&format!("{url}/fail"), &1, &[]).await.unwrap();
    assert_eq!(s.next().await.unwrap().unwrap(), "before");
    assert_eq!(s.next().await.unwrap().unwrap_err().status(), Status::NotFound);
    assert!(s.next().await.is_none());
    assert_eq!(s.output().await.unwrap_err().message(), "nothing here");

    let e = client.run::<_, String>(&format!("{url}/greet"), &json!({"name": 1}), &[]).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.details().unwrap()["errors"].as_array().is_some_and(|a| !a.is_empty()));
    let e = client.run::<_, String>(&format!("{url}/nope"), &1, &[]).await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);

    // Auth, with headers.
    let whoami = format!("{url}/whoami");
    let e = client.run::<_, Value>(&whoami, &1, &[]).await.unwrap_err();
    assert_eq!((e.status(), e.message()), (Status::Unauthenticated, "Unauthenticated"));
    let e = client.stream::<_, Value, Value>(&whoami, &1, &[("authorization", "bad")]).await.unwrap_err();
    assert_eq!((e.status(), e.message()), (Status::PermissionDenied, "Permission Denied"));
    let out: Value = client.run(&whoami, &1, &[("Authorization", "secret")]).await.unwrap();
    assert_eq!(out["nested"], json!({"auth": {"apiKey": "secret"}}));

    // Output of the wrong type.
    let e = client.run::<_, u32>(&format!("{url}/echo"), &"x", &[]).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    server.stop().await.unwrap();

    // Nobody listening.
    let e = client.run::<_, String>(&format!("{url}/echo"), &"x", &[]).await.unwrap_err();
    assert_eq!(e.status(), Status::Unavailable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_a_durable_stream() {
    let gate = Arc::new(Semaphore::new(0));
    let g = gate.clone();
    let gated = ActionDef::builder(ActionType::Flow, "gated").build(move |n: u32, cx: ActionCx<u32>| {
        let gate = g.clone();
        async move {
            for i in 0..n {
                cx.send_chunk(i);
                gate.acquire().await.unwrap().forget();
            }
            Ok(n * 10)
        }
    });
    let opts =
        FlowServerOptions::new().flow_with(gated, HandlerOptions::new().stream_manager(InMemoryStreamManager::new()));
    let (server, url) = serve(opts).await;
    let url = format!("{url}/gated");
    let client = FlowClient::new();

    let mut first = client.stream::<_, u32, u32>(&url, &2, &[]).await.unwrap();
    let id = first.stream_id().unwrap().to_owned();
    assert_eq!(first.next().await.unwrap().unwrap(), 0);
    drop(first);

    let mut again = client.resume::<u32, u32>(&url, &id, &[]).await.unwrap();
    assert_eq!(again.next().await.unwrap().unwrap(), 0);
    gate.add_permits(2);
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), again.next()).await.unwrap().unwrap().unwrap(), 1);
    assert_eq!(again.output().await.unwrap(), 20);

    let e = client.resume::<u32, u32>(&url, "unknown", &[]).await.unwrap_err();
    assert_eq!((e.status(), e.message()), (Status::NotFound, "Stream not found."));
    server.stop().await.unwrap();
}

/// A whole answer over the client's limit fails with `RESOURCE_EXHAUSTED` instead of being
/// read into memory: announced by `Content-Length`, or sent chunked without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_answers_are_bounded() {
    let (server, url) = serve(FlowServerOptions::new().flow(common::echo()).body_limit(1 << 20)).await;
    let client = FlowClient::new().max_response_bytes(4096);
    let small: String = client.run(&format!("{url}/echo"), &"x".repeat(1000), &[]).await.unwrap();
    assert_eq!(small.len(), 1000);
    let e = client.run::<_, String>(&format!("{url}/echo"), &"x".repeat(5000), &[]).await.unwrap_err();
    assert_eq!(e.status(), Status::ResourceExhausted);
    assert!(e.message().contains("4096 bytes"), "{e}");
    server.stop().await.unwrap();

    // A server that streams an endless JSON answer with no length, and an endless error body.
    use genkit_server::axum::body::{Body, Bytes};
    use genkit_server::axum::http::StatusCode;
    let endless = || {
        let first =
            futures::stream::once(async { Ok::<_, std::convert::Infallible>(Bytes::from_static(b"{\"result\":\"")) });
        Body::from_stream(first.chain(futures::stream::repeat_with(|| Ok(Bytes::from_static(&[b'x'; 1024])))))
    };
    let app = genkit_server::axum::Router::new()
        .route("/ok", genkit_server::axum::routing::post(move || async move { endless() }))
        .route("/err", genkit_server::axum::routing::post(move || async move { (StatusCode::BAD_GATEWAY, endless()) }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { genkit_server::axum::serve(l, app).await });
    let client = FlowClient::new().max_response_bytes(64 * 1024);
    let e = client.run::<_, String>(&format!("{base}/ok"), &1, &[]).await.unwrap_err();
    assert_eq!(e.status(), Status::ResourceExhausted);
    let e = client.run::<_, String>(&format!("{base}/err"), &1, &[]).await.unwrap_err();
    assert_eq!(e.status(), Status::ResourceExhausted);
    let e = client.stream::<_, String, String>(&format!("{base}/err"), &1, &[]).await.unwrap_err();
    assert_eq!(e.status(), Status::ResourceExhausted);
}
