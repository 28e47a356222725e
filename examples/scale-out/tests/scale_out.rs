//! Scale-out, proved with real processes and real servers: two `flow-node` processes share
//! one PostgreSQL database (then one Redis); a streaming flow started on the first is resumed
//! on the second with every chunk, replayed then live, and the result of the run on the first.
//!
//! The session stores, across three processes: 50 concurrent read-modify-writes of one
//! snapshot sent to two nodes lose nothing, and a watch in this test process sees an abort
//! saved by a node (as a detached turn learns of an abort requested on another node).
//!
//! Hook for the agent half (needs the agent runtime, branch agents): serve an agent from
//! flow-node with the node's `store` (`PostgresSessionStore` / `RedisSessionStore`), then add
//! here: a detached turn started on node A aborted through node B's abort action; 50
//! concurrent turns on one session spread over both nodes, every message kept.

use std::process::Stdio;
use std::time::Duration;

use futures::StreamExt;
use genkit::experimental::session::{SessionSnapshot, SessionState, SessionStore, SnapshotQuery, SnapshotStatus};
use genkit::server::FlowClient;
use genkit::{ActionContext, Message};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const NODE: &str = env!("CARGO_BIN_EXE_flow-node");

fn server_url(var: &str, script: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: this test needs a real server. Start a throw-away one with \
             `eval \"$(scripts/lib/{script})\"` (scripts/test does this) and run it again."
        )
    })
}

/// A running flow-node; killed when dropped.
struct Node {
    child: Child,
    url: String,
    base: String,
}

async fn start_node(kind: &str, db: &str) -> Node {
    let mut child = Command::new(NODE)
        .args([kind, db])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cannot start flow-node");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("flow-node did not start within 60 s")
        .unwrap()
        .expect("flow-node exited before listening");
    let base = line.strip_prefix("listening ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    Node { url: format!("{base}/gated"), base: base.to_owned(), child }
}

async fn next(stream: &mut genkit::server::FlowStream<String, String>) -> String {
    tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("no chunk within 30 s")
        .expect("the stream ended early")
        .unwrap()
}

async fn resume_on_another_node(kind: &str, db: &str) {
    let (a, b) = (start_node(kind, db).await, start_node(kind, db).await);
    let gate = std::env::temp_dir().join(format!("genkit-scale-out-{}", genkit::genkit_core::id::uuid_v4().unwrap()));
    let input = json!({"before": 3, "after": 3, "gate": gate});
    let client = FlowClient::new();

    let mut first = client.stream::<_, String, String>(&a.url, &input, &[]).await.unwrap();
    let id = first.stream_id().expect("no durable stream id").to_owned();
    assert_eq!(next(&mut first).await, "chunk 0");
    drop(first); // the client loses its connection to node A

    let mut again = client.resume::<String, String>(&b.url, &id, &[]).await.unwrap();
    for i in 0..3 {
        assert_eq!(next(&mut again).await, format!("chunk {i}"), "replayed through node B");
    }
    std::fs::write(&gate, "").unwrap(); // the run on node A goes on: its chunks reach B live
    for i in 3..6 {
        assert_eq!(next(&mut again).await, format!("chunk {i}"), "live through node B");
    }
    let output = tokio::time::timeout(Duration::from_secs(30), again.output()).await.unwrap().unwrap();
    assert_eq!(output, format!("6 chunks from node {}", a.child.id().unwrap()));
    let _ = std::fs::remove_file(&gate);
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_started_on_one_node_is_resumed_on_another_through_postgres() {
    resume_on_another_node("postgres", &server_url("GENKIT_TEST_POSTGRES_URL", "start-postgres.sh")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_started_on_one_node_is_resumed_on_another_through_redis() {
    resume_on_another_node("redis", &server_url("GENKIT_TEST_REDIS_URL", "start-redis.sh")).await;
}

async fn store_across_processes(kind: &str, db: &str, store: std::sync::Arc<dyn SessionStore>) {
    let (a, b) = (start_node(kind, db).await, start_node(kind, db).await);
    let cx = ActionContext::new();
    let session = genkit::genkit_core::id::uuid_v4().unwrap();
    let mut first = Some(
        SessionSnapshot::new("")
            .with_session_id(&session)
            .with_state(SessionState { messages: Some(vec![Message::user("start")]), ..SessionState::default() }),
    );
    let id = store.save_snapshot(None, &mut |_| first.take(), &cx).await.unwrap().unwrap();
    let mut watch = store.watch(&id, &cx).await.unwrap().expect("the store cannot watch");

    let client = FlowClient::new();
    let appends = (0..50).map(|i| {
        let (client, id) = (client.clone(), id.clone());
        let url = format!("{}/append", if i % 2 == 0 { &a.base } else { &b.base });
        async move { client.run::<_, bool>(&url, &json!({"snapshotId": id, "text": format!("m{i}")}), &[]).await }
    });
    for saved in futures::future::join_all(appends).await {
        assert!(saved.unwrap(), "an append found no snapshot");
    }
    let end = store.get_snapshot(&SnapshotQuery::snapshot(&id), &cx).await.unwrap().unwrap();
    let mut texts: Vec<String> = end.state.unwrap().messages.unwrap().iter().map(Message::text).collect();
    texts.sort();
    let mut expected: Vec<String> = (0..50).map(|i| format!("m{i}")).chain(["start".to_owned()]).collect();
    expected.sort();
    assert_eq!(texts, expected, "50 concurrent appends through two nodes");

    let aborted: bool = client.run(&format!("{}/abort", b.base), &json!({"snapshotId": id}), &[]).await.unwrap();
    assert!(aborted);
    // The watch here (a third process) sees the updates in order, ending with the abort.
    loop {
        let seen = tokio::time::timeout(Duration::from_secs(30), watch.next())
            .await
            .expect("no abort seen within 30 s")
            .expect("the watch ended");
        if seen.status == Some(SnapshotStatus::Aborted) {
            break;
        }
    }
    drop((a, b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_keeps_its_guarantees_across_processes() {
    let url = server_url("GENKIT_TEST_POSTGRES_URL", "start-postgres.sh");
    let store = genkit::postgres::PostgresSessionStore::new(&url).unwrap();
    store_across_processes("postgres", &url, std::sync::Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_store_keeps_its_guarantees_across_processes() {
    let url = server_url("GENKIT_TEST_REDIS_URL", "start-redis.sh");
    let store = genkit::redis::RedisSessionStore::new(&url).unwrap();
    store_across_processes("redis", &url, std::sync::Arc::new(store)).await;
}
