//! Scale-out, proved with real processes and real servers: two `flow-node` processes share
//! one PostgreSQL database (then one Redis); a streaming flow started on the first is resumed
//! on the second with every chunk, replayed then live, and the result of the run on the first.
//!
//! The store half of scale-out (a watch in one store instance seeing an abort saved through
//! another; 50 concurrent read-modify-writes through two instances losing nothing) is proved
//! by `check_two_instances` in the genkit-postgres and genkit-redis tests. The agent half (a
//! detached turn started on one node aborted from the other; 50 concurrent turns on one
//! session) needs the agent runtime: it belongs here, as a flow-node mode serving an agent
//! with `PostgresSessionStore` / `RedisSessionStore`, once `define_agent` has landed.

use std::process::Stdio;
use std::time::Duration;

use futures::StreamExt;
use genkit::server::FlowClient;
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
    Node { url: format!("{base}/gated"), child }
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
