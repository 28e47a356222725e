//! Scale-out, proved with real processes and real servers: two `flow-node` processes share
//! one PostgreSQL database (then one Redis); a streaming flow started on the first is resumed
//! on the second with every chunk, replayed then live, and the result of the run on the first.
//!
//! The session stores, across three processes: 50 concurrent read-modify-writes of one
//! snapshot sent to two nodes lose nothing, and a watch in this test process sees an abort
//! saved by a node (as a detached turn learns of an abort requested on another node).
//!
//! Agents across processes (each node serves the custom agent `turns` with its store, at
//! `/turns` with `/turns/getSnapshot` and `/turns/abort`, used through `remote_agent`):
//! - a detached turn started on node A is aborted through node B's abort endpoint: A's turn
//!   sees its cancellation (A's `stats` count it) and the snapshot reads `aborted` on both;
//! - 50 concurrent turns resuming one session by id, spread over both nodes: each continues
//!   the session's latest leaf at its start (so they may branch), each turn's snapshot holds
//!   exactly its parent's messages plus its own two (the user message and the reply), and each
//!   of the 50 user messages is the own message of exactly one turn snapshot: nothing lost,
//!   nothing duplicated.

use std::process::Stdio;
use std::time::Duration;

use futures::StreamExt;
use genkit::experimental::agent::{AgentInit, GetSnapshotRequest};
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

/// Polls `url` (the `stats` flow) until `abortedTurns` is `n`.
async fn wait_for_aborted_turns(client: &FlowClient, url: &str, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let stats: serde_json::Value = client.run(url, &json!(null), &[]).await.unwrap();
        if stats["abortedTurns"] == json!(n) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "no aborted turn seen on node A within 30 s: {stats}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn detached_turn_aborted_from_another_node(kind: &str, db: &str) {
    let (a, b) = (start_node(kind, db).await, start_node(kind, db).await);
    let (on_a, on_b) = (
        genkit::server::remote_agent(format!("{}/turns", a.base)),
        genkit::server::remote_agent(format!("{}/turns", b.base)),
    );
    let mut chat = on_a.chat();
    let task = chat.detach("wait").await.unwrap();
    let id = task.snapshot_id().to_owned();
    let pending = on_b.get_snapshot(GetSnapshotRequest::snapshot(&id)).await.unwrap().expect("no pending snapshot");
    assert_eq!(pending.status, Some(SnapshotStatus::Pending));

    let before = on_b.abort(&id).await.unwrap();
    assert_eq!(before, Some(SnapshotStatus::Pending), "node B aborted a pending turn");
    // Node A's turn learns of the abort through the store and ends: its handler saw the
    // cancellation of its token.
    wait_for_aborted_turns(&FlowClient::new(), &format!("{}/stats", a.base), 1).await;
    for node in [&on_a, &on_b] {
        let snapshot = node.get_snapshot(GetSnapshotRequest::snapshot(&id)).await.unwrap().unwrap();
        assert_eq!(snapshot.status, Some(SnapshotStatus::Aborted));
    }
    let done = tokio::time::timeout(Duration::from_secs(30), task.wait(Duration::from_millis(50)))
        .await
        .expect("the detached task did not finish within 30 s");
    match done {
        Ok(snapshot) => assert_eq!(snapshot.status, Some(SnapshotStatus::Aborted)),
        Err(e) => assert!(format!("{e}").contains("abort"), "waiting ended with {e}"),
    }
    // A second abort finds it aborted already.
    assert_eq!(on_a.abort(&id).await.unwrap(), Some(SnapshotStatus::Aborted));
    drop((a, b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_turn_on_one_node_is_aborted_from_another_through_postgres() {
    detached_turn_aborted_from_another_node("postgres", &server_url("GENKIT_TEST_POSTGRES_URL", "start-postgres.sh"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_turn_on_one_node_is_aborted_from_another_through_redis() {
    detached_turn_aborted_from_another_node("redis", &server_url("GENKIT_TEST_REDIS_URL", "start-redis.sh")).await;
}

fn texts(snapshot: &SessionSnapshot) -> Vec<String> {
    snapshot
        .state
        .as_ref()
        .and_then(|s| s.messages.as_ref())
        .map(|m| m.iter().map(Message::text).collect())
        .unwrap_or_default()
}

async fn concurrent_turns_on_one_session(kind: &str, db: &str, store: std::sync::Arc<dyn SessionStore>) {
    let (a, b) = (start_node(kind, db).await, start_node(kind, db).await);
    let nodes = [
        genkit::server::remote_agent(format!("{}/turns", a.base)),
        genkit::server::remote_agent(format!("{}/turns", b.base)),
    ];
    let session = genkit::genkit_core::id::uuid_v4().unwrap();
    let first = nodes[0].chat_with(AgentInit::from_session(&session)).send("start").await.unwrap();
    assert_eq!(first.text(), "reply to start");

    let turns = (0..50).map(|i| {
        let agent = nodes[i % 2].clone();
        let session = session.clone();
        async move {
            let started = std::time::Instant::now();
            let answer = agent.chat_with(AgentInit::from_session(&session)).send(format!("m{i}")).await.unwrap();
            assert_eq!(answer.text(), format!("reply to m{i}"));
            (i, answer.snapshot_id().expect("no snapshot id").to_owned(), started.elapsed())
        }
    });
    let started = std::time::Instant::now();
    let done = futures::future::join_all(turns).await;
    let all = started.elapsed();

    let cx = ActionContext::new();
    let mut own = Vec::new();
    let mut ids = std::collections::HashSet::new();
    let mut parents = std::collections::HashSet::new();
    for (i, id, _) in &done {
        assert!(ids.insert(id.clone()), "two turns saved snapshot {id}");
        let snapshot = store.get_snapshot(&SnapshotQuery::snapshot(id), &cx).await.unwrap().unwrap();
        assert_eq!(snapshot.session_id.as_deref(), Some(session.as_str()));
        assert_eq!(snapshot.status, Some(SnapshotStatus::Completed));
        let parent_id = snapshot.parent_id.clone().expect("a turn snapshot without a parent");
        parents.insert(parent_id.clone());
        let parent = store.get_snapshot(&SnapshotQuery::snapshot(&parent_id), &cx).await.unwrap().unwrap();
        assert_eq!(parent.session_id.as_deref(), Some(session.as_str()));
        let mut expected = texts(&parent);
        expected.extend([format!("m{i}"), format!("reply to m{i}")]);
        assert_eq!(texts(&snapshot), expected, "turn m{i}: its parent's messages plus its own, nothing else");
        own.push(format!("m{i}"));
    }
    // Each user message is the own turn of exactly one snapshot, and appears once in it.
    own.sort();
    let mut expected: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    expected.sort();
    assert_eq!(own, expected);
    let leaf = store.get_snapshot(&SnapshotQuery::session(&session), &cx).await.unwrap().unwrap();
    let leaf_texts = texts(&leaf);
    let unique: std::collections::HashSet<&String> = leaf_texts.iter().collect();
    assert_eq!(unique.len(), leaf_texts.len(), "a message repeated in the latest leaf: {leaf_texts:?}");

    let mut times: Vec<Duration> = done.iter().map(|(_, _, t)| *t).collect();
    times.sort();
    println!(
        "{kind}: 50 concurrent turns over 2 nodes in {all:?}; per turn min {:?}, median {:?}, max {:?}; {} distinct parents",
        times[0],
        times[25],
        times[49],
        parents.len()
    );
    drop((a, b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_turns_on_one_session_keep_every_message_through_postgres() {
    let url = server_url("GENKIT_TEST_POSTGRES_URL", "start-postgres.sh");
    let store = genkit::postgres::PostgresSessionStore::new(&url).unwrap();
    concurrent_turns_on_one_session("postgres", &url, std::sync::Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_turns_on_one_session_keep_every_message_through_redis() {
    let url = server_url("GENKIT_TEST_REDIS_URL", "start-redis.sh");
    let store = genkit::redis::RedisSessionStore::new(&url).unwrap();
    concurrent_turns_on_one_session("redis", &url, std::sync::Arc::new(store)).await;
}
