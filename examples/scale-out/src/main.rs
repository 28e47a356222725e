//! `flow-node`: one flow-server process of a scaled-out deployment. Several of them, started
//! with the same database, share durable streams: a client that started a streaming flow on
//! one node resumes it (`x-genkit-stream-id`) on any other, nothing lost.
//!
//! ```sh
//! flow-node postgres postgres://genkit@127.0.0.1:5432/postgres   # or: flow-node redis redis://127.0.0.1:6379/
//! ```
//!
//! It listens on 127.0.0.1 at a free port (or `PORT`), prints `listening http://127.0.0.1:N`
//! and serves until its standard input closes. Its flow, `gated`, streams `before` chunks, then
//! waits until the file named `gate` exists and streams `after` more: a test controls exactly
//! when the live part starts.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use genkit::genkit_core::{ActionCx, ActionDef, ActionType, Flow};
use genkit::server::{FlowServerOptions, HandlerOptions, StreamManager, start_flow_server};
use genkit::{Error, Result};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

/// The input of the `gated` flow.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
struct Gated {
    before: u32,
    after: u32,
    gate: String,
}

fn gated(node: String) -> Flow<Gated, String, String> {
    ActionDef::builder(ActionType::Flow, "gated").build(move |input: Gated, cx: ActionCx<String>| {
        let node = node.clone();
        async move {
            for i in 0..input.before {
                cx.send_chunk(format!("chunk {i}"));
            }
            while !tokio::fs::try_exists(&input.gate).await.unwrap_or(false) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            for i in input.before..input.before + input.after {
                cx.send_chunk(format!("chunk {i}"));
            }
            Ok(format!("{} chunks from {node}", input.before + input.after))
        }
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let manager: Arc<dyn StreamManager> = match (args.first().map(String::as_str), args.get(1)) {
        (Some("postgres"), Some(url)) => Arc::new(genkit::postgres::PostgresStreamManager::new(url)?),
        (Some("redis"), Some(url)) => Arc::new(genkit::redis::RedisStreamManager::new(url)?),
        _ => return Err(Error::invalid_argument("usage: flow-node (postgres|redis) URL")),
    };
    let node = format!("node {}", std::process::id());
    let port = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(0);
    let options = FlowServerOptions::new()
        .flow_with(gated(node), HandlerOptions::new().stream_manager_arc(manager))
        .host(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .port(port)
        .shutdown_on_signal(true);
    let server = start_flow_server(options).await?;
    println!("listening http://{}", server.local_addr());
    // Serve until standard input closes (the parent went away) or a signal stops the server.
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    server.stop().await
}
