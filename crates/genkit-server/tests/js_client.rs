//! The official Genkit JS client (npm `genkit` 1.42.0, `genkit/beta/client` `runFlow` /
//! `streamFlow`) calls the Rust server: results, chunks, errors, headers, `init`, durable
//! streams, abort, and Genkit's flow-server conformance cases.
//! Needs Node.js and `npm ci --prefix tools/js-client` (done by `scripts/test`).

mod common;

use std::time::Duration;

use common::serve;
use genkit_core::{ActionCx, ActionDef, ActionType, Flow};
use genkit_server::{FlowServerOptions, HandlerOptions, InMemoryStreamManager, api_key};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Hands its token to the test, sends its input back as a chunk, then waits forever.
fn hang(tokens: mpsc::UnboundedSender<CancellationToken>) -> Flow<String, String, String> {
    ActionDef::builder(ActionType::Flow, "hang").build(move |s: String, cx: ActionCx<String>| {
        let tokens = tokens.clone();
        async move {
            tokens.send(cx.cancellation().clone()).unwrap();
            cx.send_chunk(s);
            std::future::pending::<()>().await;
            Ok(String::new())
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_js_client_talks_to_the_rust_server() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/js-client");
    assert!(
        std::path::Path::new(dir).join("node_modules/genkit/package.json").exists(),
        "the Genkit JS client is not installed: run `npm ci --prefix tools/js-client` (scripts/test does this)"
    );
    let (tx, mut tokens) = mpsc::unbounded_channel();
    let opts = FlowServerOptions::new()
        .flow(common::echo())
        .flow(common::greet())
        .flow(common::fail())
        .flow(common::bidi())
        .flow(common::streamy())
        .flow_with(common::whoami(), HandlerOptions::new().context_provider(api_key("secret")))
        .flow_with(
            common::streamy(),
            HandlerOptions::new().path("durable").stream_manager(InMemoryStreamManager::new()),
        )
        .flow(hang(tx));
    let (server, url) = serve(opts).await;

    let spec: Value = serde_norway::from_str(include_str!("data/flow-server-spec.yaml")).unwrap();
    let cases = spec["tests"].to_string();
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("node").arg("check.mjs").arg(&url).arg(&cases).current_dir(dir).output(),
    )
    .await
    .expect("the JS client check timed out")
    .expect("cannot run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "JS client check failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("ok conformance: streamy"), "{stdout}");
    assert!(stdout.trim_end().ends_with("all checks passed"), "{stdout}");

    // The JS client's abort reached the flow.
    let token = tokens.recv().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), token.cancelled()).await.expect("the aborted flow was not cancelled");
    server.stop().await.unwrap();
}
