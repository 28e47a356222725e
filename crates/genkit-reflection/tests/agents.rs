//! Agents through the reflection API, as the Genkit CLI and Dev UI run them: listed with
//! their `agent` metadata, run with `init` (v1 and v2), and run as bidirectional actions with
//! an input stream (v2 `streamInput`, `sendInputStreamChunk`, `endInputStream`). The agent
//! is genkit-ai's wire-compatible echo test fixture.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use genkit_ai::experimental::agent::fixture::define_echo_agent;
use genkit_ai::experimental::session::{InMemorySessionStore, SessionStore};
use genkit_core::Registry;
use genkit_reflection::{Reflection, ReflectionOptions};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn registry() -> Registry {
    let registry = Registry::new();
    let store: Arc<dyn SessionStore> = Arc::new(InMemorySessionStore::new());
    define_echo_agent(&registry, "echo", Some(store)).unwrap();
    registry
}

fn user(text: &str) -> Value {
    json!({"message": {"role": "user", "content": [{"text": text}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_lists_agents_and_runs_turns_with_init() {
    let root = std::env::temp_dir().join(format!("genkit-refl-agents-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let opts = ReflectionOptions { project_root: Some(root.clone()), handle_signals: false, ..Default::default() };
    let reflection = Reflection::start(&registry(), opts).await.unwrap();
    reflection.announced().await;
    let base = reflection.url();
    let http = reqwest::Client::new();

    let actions: Value = http.get(format!("{base}/api/actions")).send().await.unwrap().json().await.unwrap();
    let agent = &actions["/agent/echo"];
    assert_eq!(agent["name"], "echo");
    assert_eq!(agent["metadata"]["agent"], json!({"stateManagement": "server", "abortable": true}));
    assert_eq!(agent["metadata"]["bidi"], true);
    assert!(agent["initSchema"].is_object(), "{agent}");
    assert!(actions["/agent-snapshot/echo"].is_object());
    assert!(actions["/agent-abort/echo"].is_object());

    let run = |body: Value, stream: bool| {
        let http = http.clone();
        let url = format!("{base}/api/runAction{}", if stream { "?stream=true" } else { "" });
        async move { http.post(url).json(&body).send().await.unwrap().text().await.unwrap() }
    };
    let out: Value =
        serde_json::from_str(&run(json!({"key": "/agent/echo", "input": user("hi"), "init": {}}), false).await)
            .unwrap();
    let first = out["result"]["snapshotId"].as_str().unwrap().to_owned();
    assert_eq!(out["result"]["message"]["content"][0]["text"], "echo: hi");
    assert!(out["telemetry"]["traceId"].is_string());

    // The next turn continues the snapshot named in `init`; streamed, one chunk per line.
    let text = run(json!({"key": "/agent/echo", "input": user("again"), "init": {"snapshotId": first}}), true).await;
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0], json!({"customPatch": [{"op": "replace", "path": "", "value": {"turns": 2}}]}));
    assert_eq!(lines[1], json!({"modelChunk": {"content": [{"text": "echo: "}]}}));
    let last = lines.last().unwrap();
    assert_eq!(last["result"]["finishReason"], "stop");

    let snap: Value =
        serde_json::from_str(&run(json!({"key": "/agent-snapshot/echo", "input": {"snapshotId": first}}), false).await)
            .unwrap();
    assert_eq!(snap["result"]["status"], "completed");
    reflection.stop();
    let _ = std::fs::remove_dir_all(root);
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn recv(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(20), ws.next()).await.expect("a message").unwrap().unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_runs_agents_with_an_input_stream() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let opts = ReflectionOptions { reflection_v2_server: Some(url), handle_signals: false, ..Default::default() };
    let reflection = Reflection::start(&registry(), opts).await.unwrap();
    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    let reg = recv(&mut ws).await;
    send(&mut ws, json!({"jsonrpc": "2.0", "result": {}, "id": reg["id"]})).await;

    // Two turns in one run: the inputs arrive after `runAction`, then the stream ends.
    let params = json!({"key": "/agent/echo", "init": {}, "stream": true, "streamInput": true});
    send(&mut ws, json!({"jsonrpc": "2.0", "method": "runAction", "id": "7", "params": params})).await;
    for text in ["one", "two"] {
        let chunk = json!({"requestId": "7", "chunk": user(text)});
        send(&mut ws, json!({"jsonrpc": "2.0", "method": "sendInputStreamChunk", "params": chunk})).await;
    }
    send(&mut ws, json!({"jsonrpc": "2.0", "method": "endInputStream", "params": {"requestId": "7"}})).await;
    let mut turn_ends = 0;
    let result = loop {
        let m = recv(&mut ws).await;
        if m["method"] == "streamChunk" {
            assert_eq!(m["params"]["requestId"], "7");
            turn_ends += usize::from(m["params"]["chunk"]["turnEnd"].is_object());
        } else if m["id"] == "7" {
            break m;
        }
    };
    assert_eq!(turn_ends, 2);
    let out = &result["result"]["result"];
    assert_eq!(out["message"]["content"][0]["text"], "echo: two");
    assert_eq!(out["finishReason"], "stop");

    // `init` alone (no input stream) runs one turn on `input`, continuing a snapshot.
    let id = out["snapshotId"].clone();
    let params = json!({"key": "/agent/echo", "input": user("three"), "init": {"snapshotId": id}});
    send(&mut ws, json!({"jsonrpc": "2.0", "method": "runAction", "id": "8", "params": params})).await;
    let result = loop {
        let m = recv(&mut ws).await;
        if m["id"] == "8" {
            break m;
        }
    };
    let history = result["result"]["result"]["message"]["content"][0]["text"].clone();
    assert_eq!(history, "echo: three");
    reflection.stop();
}
