//! Durable streams: a new stream answers with `x-genkit-stream-id`; a request carrying it
//! re-subscribes (buffered chunks replayed, then live ones); unknown ids get 204.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::serve;
use genkit_core::{ActionCx, ActionDef, ActionType, Flow};
use genkit_server::{FlowServerOptions, HandlerOptions, InMemoryStreamManager};
use serde_json::json;
use tokio::sync::Semaphore;

/// Sends chunk `i`, then waits for a permit before the next one.
fn gated(gate: Arc<Semaphore>) -> Flow<u32, String, u32> {
    ActionDef::builder(ActionType::Flow, "gated").build(move |n: u32, cx: ActionCx<u32>| {
        let gate = gate.clone();
        async move {
            for i in 0..n {
                cx.send_chunk(i);
                gate.acquire().await.unwrap().forget();
            }
            Ok(format!("sent {n}"))
        }
    })
}

async fn read_frames(res: &mut reqwest::Response, buf: &mut String, n: usize) -> Vec<String> {
    let mut frames = Vec::new();
    while frames.len() < n {
        if let Some(pos) = buf.find("\n\n") {
            frames.push(buf[..pos].to_owned());
            buf.drain(..pos + 2);
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), res.chunk()).await.expect("timed out").unwrap();
        buf.push_str(std::str::from_utf8(&chunk.expect("stream ended early")).unwrap());
    }
    frames
}

fn stream_req(http: &reqwest::Client, url: &str, id: Option<&str>) -> reqwest::RequestBuilder {
    let mut req = http
        .post(format!("{url}/gated"))
        .header("content-type", "application/json")
        .header("accept", "text/event-stream")
        .body(json!({"data": 3}).to_string());
    if let Some(id) = id {
        req = req.header("x-genkit-stream-id", id);
    }
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_replays_then_streams_live() {
    let gate = Arc::new(Semaphore::new(0));
    let manager = InMemoryStreamManager::new();
    let opts =
        FlowServerOptions::new().flow_with(gated(gate.clone()), HandlerOptions::new().stream_manager(manager.clone()));
    let (server, url) = serve(opts).await;
    let http = reqwest::Client::new();

    // First client: gets the stream id and the first chunk, then goes away.
    let mut first = stream_req(&http, &url, None).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["content-type"], "text/plain");
    let id = first.headers()["x-genkit-stream-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36);
    let mut buf = String::new();
    assert_eq!(read_frames(&mut first, &mut buf, 1).await, [r#"data: {"message":0}"#]);
    drop(first);

    // The run goes on: release chunk 1 while nobody listens.
    gate.add_permits(1);
    tokio::time::sleep(Duration::from_millis(50)).await;

    // Second client: replay of 0 and 1, then 2 live, then the result.
    let mut second = stream_req(&http, &url, Some(&id)).send().await.unwrap();
    assert_eq!(second.status(), 200);
    assert!(second.headers().get("x-genkit-stream-id").is_none());
    let mut buf = String::new();
    assert_eq!(read_frames(&mut second, &mut buf, 2).await, [r#"data: {"message":0}"#, r#"data: {"message":1}"#]);
    gate.add_permits(1);
    assert_eq!(read_frames(&mut second, &mut buf, 1).await, [r#"data: {"message":2}"#]);
    gate.add_permits(1);
    assert_eq!(read_frames(&mut second, &mut buf, 1).await, [r#"data: {"result":"sent 3"}"#]);
    assert!(second.chunk().await.unwrap().is_none(), "the stream ends after the result");

    // A finished stream is replayed whole.
    let body = stream_req(&http, &url, Some(&id)).send().await.unwrap().text().await.unwrap();
    assert_eq!(
        body,
        "data: {\"message\":0}\n\ndata: {\"message\":1}\n\ndata: {\"message\":2}\n\ndata: {\"result\":\"sent 3\"}\n\n"
    );
    assert_eq!(manager.len(), 1);

    // Unknown id: 204, empty body.
    let res = stream_req(&http, &url, Some("no-such-stream")).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert!(res.bytes().await.unwrap().is_empty());

    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_runs_are_replayed_with_their_error() {
    let manager = InMemoryStreamManager::new();
    let opts = FlowServerOptions::new().flow_with(common::fail(), HandlerOptions::new().stream_manager(manager));
    let (server, url) = serve(opts).await;
    let http = reqwest::Client::new();
    let send = |id: Option<String>| {
        let mut req = http
            .post(format!("{url}/fail?stream=true"))
            .header("content-type", "application/json")
            .body(r#"{"data":1}"#);
        if let Some(id) = id {
            req = req.header("x-genkit-stream-id", id);
        }
        req.send()
    };
    let res = send(None).await.unwrap();
    let id = res.headers()["x-genkit-stream-id"].to_str().unwrap().to_owned();
    let want = "data: {\"message\":\"before\"}\n\nerror: {\"error\":{\"status\":\"NOT_FOUND\",\"message\":\"nothing here\",\"details\":{\"why\":\"test\"}}}\n\n";
    assert_eq!(res.text().await.unwrap(), want);
    assert_eq!(send(Some(id)).await.unwrap().text().await.unwrap(), want);
    server.stop().await.unwrap();
}
