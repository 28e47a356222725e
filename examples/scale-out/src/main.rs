//! `flow-node`: one flow-server process of a scaled-out deployment. Several of them, started
//! with the same database, share durable streams: a client that started a streaming flow on
//! one node resumes it (`x-genkit-stream-id`) on any other, nothing lost.
//!
//! ```sh
//! flow-node postgres postgres://genkit@127.0.0.1:5432/postgres   # or: flow-node redis redis://127.0.0.1:6379/
//! ```
//!
//! It listens on 127.0.0.1 at a free port (or `PORT`), prints `listening http://127.0.0.1:N`
//! and serves until its standard input closes. Its flows:
//! - `gated` streams `before` chunks, then waits until the file named `gate` exists and streams
//!   `after` more: a test controls exactly when the live part starts;
//! - `append` adds a user message to a stored session snapshot (a read-modify-write through the
//!   node's own session store), and `abort` marks a snapshot aborted, as an agent's abort
//!   action does: with several nodes, they show the store's guarantees across processes.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use genkit::experimental::session::{SessionStore, SnapshotStatus};
use genkit::genkit_core::{ActionCx, ActionDef, ActionType, Flow};
use genkit::server::{FlowServerOptions, HandlerOptions, StreamManager, start_flow_server};
use genkit::{ActionContext, Error, Message, Result};
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

/// The input of the `append` and `abort` flows.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Edit {
    snapshot_id: String,
    #[serde(default)]
    text: String,
}

/// Saves `edit` of the snapshot through `store`; true when it existed.
fn editing(
    name: &'static str,
    store: Arc<dyn SessionStore>,
    edit: fn(&mut genkit::experimental::session::SessionSnapshot, &str),
) -> Flow<Edit, bool> {
    ActionDef::builder(ActionType::Flow, name).build(move |input: Edit, _cx: ActionCx<()>| {
        let store = store.clone();
        async move {
            let saved = store
                .save_snapshot(
                    Some(&input.snapshot_id),
                    &mut |current| {
                        let mut next = current.cloned()?;
                        edit(&mut next, &input.text);
                        Some(next)
                    },
                    &ActionContext::new(),
                )
                .await?;
            Ok(saved.is_some())
        }
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (manager, store): (Arc<dyn StreamManager>, Arc<dyn SessionStore>) =
        match (args.first().map(String::as_str), args.get(1)) {
            (Some("postgres"), Some(url)) => (
                Arc::new(genkit::postgres::PostgresStreamManager::new(url)?),
                Arc::new(genkit::postgres::PostgresSessionStore::new(url)?),
            ),
            (Some("redis"), Some(url)) => (
                Arc::new(genkit::redis::RedisStreamManager::new(url)?),
                Arc::new(genkit::redis::RedisSessionStore::new(url)?),
            ),
            _ => return Err(Error::invalid_argument("usage: flow-node (postgres|redis) URL")),
        };
    let append = editing("append", store.clone(), |snapshot, text| {
        let state = snapshot.state.get_or_insert_with(Default::default);
        state.messages.get_or_insert_with(Vec::new).push(Message::user(text));
    });
    let abort = editing("abort", store, |snapshot, _| snapshot.status = Some(SnapshotStatus::Aborted));
    let node = format!("node {}", std::process::id());
    let port = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(0);
    let options = FlowServerOptions::new()
        .flow_with(gated(node), HandlerOptions::new().stream_manager_arc(manager))
        .flow(append)
        .flow(abort)
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
