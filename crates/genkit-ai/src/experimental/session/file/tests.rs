use std::sync::Arc;

use futures::StreamExt;
use serde_json::json;

use super::*;
use crate::experimental::session::testing;
use crate::experimental::session::{SessionState, SnapshotStatus};

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let p = std::env::temp_dir().join(format!("genkit-file-store-{}", genkit_core::id::uuid_v4().unwrap()));
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn snap(session: &str, parent: Option<&str>, at: &str) -> SessionSnapshot {
    SessionSnapshot {
        session_id: Some(session.into()),
        parent_id: parent.map(str::to_owned),
        created_at: at.into(),
        status: Some(SnapshotStatus::Completed),
        state: Some(SessionState {
            session_id: Some(session.into()),
            messages: Some(vec![crate::Message::user("hi")]),
            custom: Some(json!({"n": 1})),
            artifacts: None,
        }),
        ..SessionSnapshot::default()
    }
}

async fn put(store: &FileSessionStore, id: Option<&str>, s: SessionSnapshot) -> String {
    let mut s = Some(s);
    store.save_snapshot(id, &mut |_| s.take(), &ActionContext::new()).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_store_keeps_the_store_contract() {
    let dir = TempDir::new();
    let store = FileSessionStore::new(&dir.0).unwrap().watch_poll_interval(Duration::from_millis(50));
    testing::check_session_store(Arc::new(store)).await.unwrap();
}

#[tokio::test]
async fn branching_can_be_refused() {
    let dir = TempDir::new();
    let store = FileSessionStore::new(&dir.0).unwrap().reject_branching_sessions(true);
    testing::check_branching_refused(&store).await.unwrap();
}

#[tokio::test]
async fn files_have_the_js_layout_and_bytes() {
    let dir = TempDir::new();
    let store = FileSessionStore::new(&dir.0).unwrap();
    let id = put(&store, Some("snap-1"), snap("sess-1", None, "2026-01-01T00:00:00.000Z")).await;
    assert_eq!(id, "snap-1");
    let bytes = fs::read_to_string(dir.0.join("global/snap-1.json")).unwrap();
    // JSON.stringify(snapshot, null, 2): two-space indent, no trailing newline.
    let expected = r#"{
  "snapshotId": "snap-1",
  "sessionId": "sess-1",
  "createdAt": "2026-01-01T00:00:00.000Z",
  "status": "completed",
  "state": {
    "sessionId": "sess-1",
    "messages": [
      {
        "role": "user",
        "content": [
          {
            "text": "hi"
          }
        ]
      }
    ],
    "custom": {
      "n": 1
    }
  }
}"#;
    assert_eq!(bytes, expected);
    let pointer: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.0.join("global/.pointers/sess-1.json")).unwrap()).unwrap();
    assert_eq!(pointer["currentSnapshotId"], "snap-1");
    assert!(pointer["updatedAt"].as_str().unwrap().ends_with('Z'));
    // An update in place leaves the pointer alone and takes a lock file.
    store.save_snapshot(Some("snap-1"), &mut |c| c.cloned(), &ActionContext::new()).await.unwrap();
    assert!(dir.0.join("global/.locks/snap-1.lock").exists());
    // Only the snapshot, the pointer and lock directories: no temporary files left behind.
    let mut names: Vec<String> =
        fs::read_dir(dir.0.join("global")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, [".locks", ".pointers", "snap-1.json"]);
}

#[tokio::test]
async fn ids_must_be_plain_file_names() {
    let dir = TempDir::new();
    let store = FileSessionStore::new(&dir.0).unwrap();
    let cx = ActionContext::new();
    for bad in ["../x", "a/b", "a\\b", "..", ".", "a\0b"] {
        let e = store.get_snapshot(&SnapshotQuery::snapshot(bad), &cx).await.unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{bad:?}");
        assert!(e.message().contains("plain file name"), "{e}");
        let e = store.get_snapshot(&SnapshotQuery::session(bad), &cx).await.unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{bad:?}");
        let e = store.save_snapshot(Some(bad), &mut |_| Some(SessionSnapshot::default()), &cx).await.unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{bad:?}");
        let mut s = Some(SessionSnapshot::new(bad));
        let e = store.save_snapshot(None, &mut |_| s.take(), &cx).await.unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{bad:?}");
        assert!(store.watch(bad, &cx).await.is_err());
    }
    // Nothing escaped the store's directory.
    assert!(!dir.0.parent().unwrap().join("x.json").exists());
    let prefixed = FileSessionStore::new(&dir.0).unwrap().snapshot_path_prefix(|_| "../up".into());
    let e = prefixed.get_snapshot(&SnapshotQuery::snapshot("a"), &cx).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

#[tokio::test]
async fn the_prefix_function_isolates_tenants() {
    let dir = TempDir::new();
    let store = FileSessionStore::new(&dir.0)
        .unwrap()
        .snapshot_path_prefix(|cx| cx.auth().and_then(|a| a["uid"].as_str()).unwrap_or("anon").to_owned());
    let alice = ActionContext::new().with("auth", json!({"uid": "alice"}));
    let bob = ActionContext::new().with("auth", json!({"uid": "bob"}));
    let mut s = Some(snap("s", None, "2026-01-01T00:00:00.000Z"));
    let id = store.save_snapshot(None, &mut |_| s.take(), &alice).await.unwrap().unwrap();
    assert!(dir.0.join("alice").join(format!("{id}.json")).exists());
    assert!(store.get_snapshot(&SnapshotQuery::snapshot(&id), &alice).await.unwrap().is_some());
    assert!(store.get_snapshot(&SnapshotQuery::snapshot(&id), &bob).await.unwrap().is_none());
    assert!(store.get_snapshot(&SnapshotQuery::session("s"), &bob).await.unwrap().is_none());
    assert!(store.get_snapshot(&SnapshotQuery::session("s"), &alice).await.unwrap().is_some());
}

#[tokio::test]
async fn session_lookups_survive_a_missing_or_stale_pointer() {
    let dir = TempDir::new();
    let store = FileSessionStore::new(&dir.0).unwrap();
    let a = put(&store, None, snap("s", None, "2026-01-01T00:00:01.000Z")).await;
    let b = put(&store, None, snap("s", Some(&a), "2026-01-01T00:00:02.000Z")).await;
    let pointer = dir.0.join("global/.pointers/s.json");
    let cx = ActionContext::new();
    fs::remove_file(&pointer).unwrap();
    assert_eq!(store.get_snapshot(&SnapshotQuery::session("s"), &cx).await.unwrap().unwrap().snapshot_id, b);
    // The scan wrote the pointer back.
    assert!(fs::read_to_string(&pointer).unwrap().contains(&b));
    // A pointer naming another session's snapshot is ignored.
    let other = put(&store, None, snap("t", None, "2026-01-01T00:00:03.000Z")).await;
    fs::write(&pointer, json!({"currentSnapshotId": other, "updatedAt": "x"}).to_string()).unwrap();
    assert_eq!(store.get_snapshot(&SnapshotQuery::session("s"), &cx).await.unwrap().unwrap().snapshot_id, b);
    fs::write(&pointer, "not json").unwrap();
    assert_eq!(store.get_snapshot(&SnapshotQuery::session("s"), &cx).await.unwrap().unwrap().snapshot_id, b);
}

#[tokio::test]
async fn long_chains_are_pruned() {
    let dir = TempDir::new();
    let store = FileSessionStore::new(&dir.0).unwrap().max_persisted_chain_length(2);
    let a = put(&store, None, snap("s", None, "1")).await;
    let b = put(&store, None, snap("s", Some(&a), "2")).await;
    assert!(dir.0.join(format!("global/{a}.json")).exists());
    let c = put(&store, None, snap("s", Some(&b), "3")).await;
    assert!(!dir.0.join(format!("global/{a}.json")).exists());
    assert!(dir.0.join(format!("global/{b}.json")).exists());
    assert!(dir.0.join(format!("global/{c}.json")).exists());
}

#[tokio::test]
async fn corrupt_and_oversized_files_are_errors() {
    let dir = TempDir::new();
    let store = FileSessionStore::new(&dir.0).unwrap().max_file_bytes(64);
    fs::create_dir_all(dir.0.join("global")).unwrap();
    fs::write(dir.0.join("global/bad.json"), "{").unwrap();
    fs::write(dir.0.join("global/big.json"), " ".repeat(100)).unwrap();
    let cx = ActionContext::new();
    let e = store.get_snapshot(&SnapshotQuery::snapshot("bad"), &cx).await.unwrap_err();
    assert_eq!(e.status(), Status::DataLoss);
    let e = store.get_snapshot(&SnapshotQuery::snapshot("big"), &cx).await.unwrap_err();
    assert_eq!(e.status(), Status::ResourceExhausted);
}

/// Two store instances on one directory share nothing in memory, as two processes would not:
/// only the lock files keep their concurrent updates from losing each other's writes, and only
/// polling brings a save through one to a watcher of the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_directory_lose_no_update_and_see_each_others_aborts() {
    let dir = TempDir::new();
    let one = FileSessionStore::new(&dir.0).unwrap().watch_poll_interval(Duration::from_millis(20));
    let two = FileSessionStore::new(&dir.0).unwrap();
    testing::check_two_instances(Arc::new(one), Arc::new(two), 50).await.unwrap();
}

/// A save by another instance (another process) reaches a watcher by polling.
#[tokio::test]
async fn a_watch_sees_saves_of_another_instance() {
    let dir = TempDir::new();
    let watcher = FileSessionStore::new(&dir.0).unwrap().watch_poll_interval(Duration::from_millis(20));
    let writer = FileSessionStore::new(&dir.0).unwrap();
    let id = put(&writer, None, snap("s", None, "1")).await;
    let mut updates = watcher.watch(&id, &ActionContext::new()).await.unwrap().unwrap();
    writer
        .save_snapshot(
            Some(&id),
            &mut |c| Some(c.cloned()?.with_status(SnapshotStatus::Aborted)),
            &ActionContext::new(),
        )
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(30), updates.next()).await.unwrap().unwrap();
    assert_eq!(seen.status, Some(SnapshotStatus::Aborted));
    assert_eq!(seen.snapshot_id, id);
}

/// Genkit JS's own `FileSessionStore` (npm genkit, tools/js-client) and this one share a
/// directory: each reads what the other wrote (by id and by session, through the other's
/// pointer file), JS updates a Rust snapshot in place, and the same snapshot is written byte
/// for byte alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_and_rust_share_a_directory() {
    let js = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/js-client");
    assert!(
        Path::new(js).join("node_modules/genkit/package.json").exists(),
        "the Genkit JS packages are not installed: run `npm ci --prefix tools/js-client` (scripts/test does this)"
    );
    let dir = TempDir::new();
    let store = FileSessionStore::new(&dir.0).unwrap();
    put(&store, Some("rust-1"), snap("rust-s", None, "2026-01-01T00:00:00.000Z")).await;
    let out = tokio::process::Command::new("node")
        .arg("session-store.mjs")
        .arg(&dir.0)
        .current_dir(js)
        .output()
        .await
        .expect("cannot run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "node failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(seen, json!({"bySession": "rust-1", "byId": {"n": 1}}));

    let cx = ActionContext::new();
    let updated = store.get_snapshot(&SnapshotQuery::snapshot("rust-1"), &cx).await.unwrap().unwrap();
    assert_eq!(updated.status, Some(SnapshotStatus::Aborted));
    let from_js = store.get_snapshot(&SnapshotQuery::session("js-s"), &cx).await.unwrap().unwrap();
    assert_eq!(from_js.snapshot_id, "js-1");

    // Rust writes the very snapshot JS wrote: the same bytes.
    let other = TempDir::new();
    let again = FileSessionStore::new(&other.0).unwrap();
    put(&again, Some("js-1"), from_js).await;
    let js_bytes = fs::read_to_string(dir.0.join("global/js-1.json")).unwrap();
    let rust_bytes = fs::read_to_string(other.0.join("global/js-1.json")).unwrap();
    assert_eq!(rust_bytes, js_bytes);
}
