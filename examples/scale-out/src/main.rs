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
//!
//! It also serves the custom agent `turns` (**experimental** agents) with the node's session
//! store, at `/turns` with `/turns/getSnapshot` and `/turns/abort` (the layout of JS
//! `remoteAgent`). A turn whose message is `wait` waits until it is aborted (its cancellation
//! token fires) and then ends; any other message `m` is answered `reply to m`. The flow
//! `stats` tells how many `wait` turns of this node saw their abort.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use genkit::experimental::agent::{AgentOptions, AgentResult, TurnResult};
use genkit::experimental::session::{SessionStore, SnapshotStatus};
use genkit::genkit_core::{ActionCx, ActionDef, ActionType, Flow};
use genkit::server::{AgentEndpoints, FlowServerOptions, HandlerOptions, StreamManager, start_flow_server};
use genkit::{ActionContext, Error, Genkit, Message, Result};
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

/// Defines the custom agent `turns` on `g` with `store`; `aborted` counts the `wait` turns
/// that saw their abort.
fn define_turns(g: &Genkit, store: Arc<dyn SessionStore>, aborted: Arc<AtomicU64>) {
    g.define_custom_agent(AgentOptions::new("turns").store(store), move |sess, cx| {
        let aborted = aborted.clone();
        async move {
            let token = cx.cancellation().clone();
            sess.run(|input, _turn| {
                let (sess, token, aborted) = (sess.clone(), token.clone(), aborted.clone());
                async move {
                    let text = input.message.as_ref().map(Message::text).unwrap_or_default();
                    if text == "wait" {
                        token.cancelled().await;
                        aborted.fetch_add(1, Ordering::SeqCst);
                        return Err(Error::cancelled("the turn was aborted"));
                    }
                    sess.add_messages([Message::model(format!("reply to {text}"))]);
                    Ok(TurnResult::default())
                }
            })
            .await?;
            Ok(AgentResult { message: sess.messages().last().cloned(), ..AgentResult::default() })
        }
    });
}

/// The `stats` flow: how many `wait` turns of this node saw their abort.
fn stats(aborted: Arc<AtomicU64>) -> Flow<(), serde_json::Value> {
    ActionDef::builder(ActionType::Flow, "stats").build(move |_: (), _cx: ActionCx<()>| {
        let aborted = aborted.clone();
        async move { Ok(serde_json::json!({"abortedTurns": aborted.load(Ordering::SeqCst)})) }
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
    let abort = editing("abort", store.clone(), |snapshot, _| snapshot.status = Some(SnapshotStatus::Aborted));
    let g = Genkit::builder().build().await?;
    let aborted = Arc::new(AtomicU64::new(0));
    define_turns(&g, store, aborted.clone());
    let turns = AgentEndpoints::from_registry(g.registry(), "turns").await?;
    let node = format!("node {}", std::process::id());
    let port = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(0);
    let options = FlowServerOptions::new()
        .flow_with(gated(node), HandlerOptions::new().stream_manager_arc(manager))
        .flow(append)
        .flow(abort)
        .flow(stats(aborted))
        .agent(&turns)
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
