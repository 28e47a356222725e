//! The stores against a real PostgreSQL server: `GENKIT_TEST_POSTGRES_URL` names it
//! (`eval "$(scripts/lib/start-postgres.sh)"` starts one; scripts/test does this).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use genkit_ai::experimental::session::{SessionSnapshot, SessionStore, SnapshotQuery, testing};
use genkit_core::{ActionContext, Status};
use genkit_postgres::{PostgresSessionStore, PostgresStreamManager};
use genkit_server::StreamManager;
use serde_json::json;

fn url() -> String {
    std::env::var("GENKIT_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "GENKIT_TEST_POSTGRES_URL is not set: these tests need a PostgreSQL server. Start a throw-away one with \
             `eval \"$(scripts/lib/start-postgres.sh)\"` (needs Debian's postgresql package; scripts/test does both) \
             and run the tests again."
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_keeps_the_store_contract() {
    let store = PostgresSessionStore::new(&url()).unwrap().watch_backstop(Duration::from_millis(500));
    testing::check_session_store(Arc::new(store)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branching_can_be_refused() {
    let store = PostgresSessionStore::new(&url()).unwrap().reject_branching_sessions(true);
    testing::check_branching_refused(&store).await.unwrap();
}

/// Two stores with their own pools and `LISTEN` connections, as two processes have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_database_share_updates_and_aborts() {
    let a = PostgresSessionStore::new(&url()).unwrap().watch_backstop(Duration::from_secs(60));
    let b = PostgresSessionStore::new(&url()).unwrap();
    testing::check_two_instances(Arc::new(a), Arc::new(b), 50).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_are_isolated_and_tables_configurable() {
    let table = format!("t_{}", genkit_core::id::uuid_v4().unwrap().replace('-', ""));
    let store = PostgresSessionStore::new(&url())
        .unwrap()
        .table(&table)
        .unwrap()
        .tenant_key(|cx| cx.auth().and_then(|a| a["uid"].as_str()).unwrap_or_default().to_owned());
    let alice = ActionContext::new().with("auth", json!({"uid": "alice"}));
    let bob = ActionContext::new().with("auth", json!({"uid": "bob"}));
    let mut s = Some(SessionSnapshot::new("same-id").with_session_id("s"));
    store.save_snapshot(None, &mut |_| s.take(), &alice).await.unwrap().unwrap();
    let mut s = Some(SessionSnapshot::new("same-id").with_session_id("s").with_parent("p"));
    store.save_snapshot(None, &mut |_| s.take(), &bob).await.unwrap().unwrap();
    let a = store.get_snapshot(&SnapshotQuery::snapshot("same-id"), &alice).await.unwrap().unwrap();
    let b = store.get_snapshot(&SnapshotQuery::snapshot("same-id"), &bob).await.unwrap().unwrap();
    assert_eq!((a.parent_id, b.parent_id.as_deref()), (None, Some("p")));
    let nobody = ActionContext::new();
    assert!(store.get_snapshot(&SnapshotQuery::session("s"), &nobody).await.unwrap().is_none());
    assert!(PostgresSessionStore::new(&url()).unwrap().table("x; drop table y").is_err());
    let e = store.get_snapshot(&SnapshotQuery::snapshot("a\0b"), &nobody).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    let e = store.save_snapshot(Some("a\0b"), &mut |_| None, &nobody).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

#[tokio::test]
async fn bad_and_unreachable_databases_are_clear_errors() {
    let e = PostgresSessionStore::new("postgres://u:hunter2@[bad").unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(!e.message().contains("hunter2"), "{e}");
    // Nothing listens on port 1.
    let store = PostgresSessionStore::new("postgres://u:hunter2@127.0.0.1:1/db").unwrap();
    let e = store.get_snapshot(&SnapshotQuery::snapshot("x"), &ActionContext::new()).await.unwrap_err();
    assert_eq!(e.status(), Status::Unavailable, "{e}");
    assert!(!e.message().contains("hunter2"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_stream_manager_keeps_the_contract() {
    let m = PostgresStreamManager::new(&url()).unwrap();
    genkit_server::testing::check_stream_manager(Arc::new(m)).await.unwrap();
    let short = PostgresStreamManager::new(&url()).unwrap().with_ttl(Duration::from_millis(50));
    genkit_server::testing::check_ttl(&short, Duration::from_millis(300)).await.unwrap();
    assert!(short.delete_expired().await.unwrap() >= 1);
}

/// A stream written through one manager is read live through another (another process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_written_by_one_manager_is_followed_by_another() {
    let (one, two) = (PostgresStreamManager::new(&url()).unwrap(), PostgresStreamManager::new(&url()).unwrap());
    let id = genkit_core::id::uuid_v4().unwrap();
    let w = one.open(&id).await.unwrap();
    w.write(json!(1)).await.unwrap();
    let mut sub = two.subscribe(&id).await.unwrap();
    assert!(matches!(sub.next().await, Some(genkit_server::StreamEvent::Chunk(c)) if c == json!(1)));
    w.write(json!(2)).await.unwrap();
    assert!(matches!(sub.next().await, Some(genkit_server::StreamEvent::Chunk(c)) if c == json!(2)));
    w.done(json!("end")).await.unwrap();
    assert!(matches!(sub.next().await, Some(genkit_server::StreamEvent::Done(c)) if c == json!("end")));
    assert!(sub.next().await.is_none());
}

/// The `LISTEN` connection is dropped by the server (a restart, a failover, an idle-session
/// killer): the store reconnects and its watches still see the next save, without the backstop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_survives_a_lost_listen_connection() {
    let table = format!("t_{}", genkit_core::id::uuid_v4().unwrap().replace('-', ""));
    let store =
        PostgresSessionStore::new(&url()).unwrap().table(&table).unwrap().watch_backstop(Duration::from_secs(600));
    let cx = ActionContext::new();
    let mut s = Some(SessionSnapshot::new("").with_session_id("s"));
    let id = store.save_snapshot(None, &mut |_| s.take(), &cx).await.unwrap().unwrap();
    let mut watch = store.watch(&id, &cx).await.unwrap().unwrap();

    let (admin, connection) = tokio_postgres::connect(&url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let killed = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1",
            &[&format!("LISTEN \"{table}_changes\"")],
        )
        .await
        .unwrap();
    assert_eq!(killed, 1, "the store's LISTEN connection was not found");

    store
        .save_snapshot(
            Some(&id),
            &mut |c| Some(c.cloned()?.with_status(genkit_ai::experimental::session::SnapshotStatus::Aborted)),
            &cx,
        )
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(60), watch.next()).await.unwrap().unwrap();
    assert_eq!(seen.status, Some(genkit_ai::experimental::session::SnapshotStatus::Aborted));
}
