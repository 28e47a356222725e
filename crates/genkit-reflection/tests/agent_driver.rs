//! The reflection agent driver (feature `testing`) runs agent spec steps (`send`,
//! `getSnapshotData`, `abort`, `waitUntilCompleted`) over reflection v1 and v2 against the
//! echo agent test fixture of genkit-ai.

use std::sync::Arc;

use genkit_ai::experimental::agent::fixture::define_echo_agent;
use genkit_ai::experimental::session::{InMemorySessionStore, SessionStore};
use genkit_core::{Registry, Status};
use genkit_reflection::agent_driver::{ReflectionAgentDriver, V2Listener};
use genkit_reflection::{Reflection, ReflectionOptions};
use serde_json::{Value, json};

fn registry() -> Registry {
    let registry = Registry::new();
    let store: Arc<dyn SessionStore> = Arc::new(InMemorySessionStore::new());
    define_echo_agent(&registry, "echo", Some(store)).unwrap();
    registry
}

fn user(text: &str) -> Value {
    json!({"message": {"role": "user", "content": [{"text": text}]}})
}

/// The steps every transport must run alike.
async fn common_steps(d: &ReflectionAgentDriver) {
    let run = d.send("echo", &json!({}), &[user("hi")]).await.unwrap();
    let out = run.output.unwrap();
    assert_eq!(out["message"]["content"][0]["text"], "echo: hi");
    assert_eq!(run.chunks.last().unwrap()["turnEnd"]["finishReason"], "stop");
    assert_eq!(run.chunks[1], json!({"modelChunk": {"content": [{"text": "echo: "}]}}));
    let snap = out["snapshotId"].as_str().unwrap().to_owned();

    let s = d.get_snapshot("echo", &snap).await.unwrap();
    assert_eq!((s["status"].as_str(), s["snapshotId"].as_str()), (Some("completed"), Some(snap.as_str())));
    assert_eq!(d.get_snapshot("echo", "missing").await.unwrap_err().status(), Status::NotFound);

    // A failed turn is an output, not a transport error.
    let failed = d.send("echo", &json!({"snapshotId": snap}), &[user("fail")]).await.unwrap().output.unwrap();
    assert_eq!(failed["finishReason"], "failed");
    assert_eq!(failed["error"]["status"], "INVALID_ARGUMENT");
    // A bad init is the run's error.
    let bad = d.send("echo", &json!({"snapshotId": "missing"}), &[user("x")]).await.unwrap();
    assert_eq!(bad.output.unwrap_err().status(), Status::NotFound);

    // Detach, wait; detach, abort, wait.
    let detached = d.send("echo", &json!({}), &[json!({"detach": true, "message": user("bg")["message"]})]).await;
    let id = detached.unwrap().output.unwrap()["snapshotId"].as_str().unwrap().to_owned();
    assert_eq!(d.wait_until_completed("echo", &id).await.unwrap()["status"], "completed");
    let slow = d.send("echo", &json!({}), &[json!({"detach": true, "message": user("slow")["message"]})]).await;
    let id = slow.unwrap().output.unwrap()["snapshotId"].as_str().unwrap().to_owned();
    assert_eq!(d.abort("echo", &id).await.unwrap(), json!({"snapshotId": id, "status": "pending"}));
    assert_eq!(d.wait_until_completed("echo", &id).await.unwrap()["status"], "aborted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_v1_driver_runs_spec_steps() {
    let root = std::env::temp_dir().join(format!("genkit-refl-driver-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let opts = ReflectionOptions { project_root: Some(root.clone()), handle_signals: false, ..Default::default() };
    let reflection = Reflection::start(&registry(), opts).await.unwrap();
    reflection.announced().await;
    let d = ReflectionAgentDriver::v1(reflection.url());
    common_steps(&d).await;
    let e = d.send("echo", &json!({}), &[user("a"), user("b")]).await.unwrap_err();
    assert_eq!(e.status(), Status::Unimplemented);
    reflection.stop();
    let _ = std::fs::remove_dir_all(root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_v2_driver_runs_spec_steps_with_several_inputs() {
    let listener = V2Listener::bind().await.unwrap();
    let opts = ReflectionOptions {
        reflection_v2_server: Some(listener.url().to_owned()),
        handle_signals: false,
        ..Default::default()
    };
    let reflection = Reflection::start(&registry(), opts).await.unwrap();
    let d = ReflectionAgentDriver::v2(listener).await.unwrap();
    common_steps(&d).await;
    // Several inputs: turns of one run.
    let run = d.send("echo", &json!({}), &[user("a"), user("b")]).await.unwrap();
    assert_eq!(run.chunks.iter().filter(|c| c["turnEnd"].is_object()).count(), 2);
    assert_eq!(run.output.unwrap()["message"]["content"][0]["text"], "echo: b");
    reflection.stop();
}
