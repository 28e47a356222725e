//! The stores against a real Redis server: `GENKIT_TEST_REDIS_URL` names it
//! (`eval "$(scripts/lib/start-redis.sh)"` starts one; scripts/test does this).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use genkit_ai::experimental::session::{SessionSnapshot, SessionStore, SnapshotQuery, testing};
use genkit_core::{ActionContext, Status};
use genkit_redis::{RedisSessionStore, RedisStreamManager};
use genkit_server::StreamManager;
use serde_json::json;

fn url() -> String {
    std::env::var("GENKIT_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!(
            "GENKIT_TEST_REDIS_URL is not set: these tests need a Redis server. Start a throw-away one with \
             `eval \"$(scripts/lib/start-redis.sh)\"` (needs Debian's redisql package; scripts/test does both) \
             and run the tests again."
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_store_keeps_the_store_contract() {
    let store = RedisSessionStore::new(&url()).unwrap().watch_backstop(Duration::from_millis(500));
    testing::check_session_store(Arc::new(store)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branching_can_be_refused() {
    let store = RedisSessionStore::new(&url()).unwrap().reject_branching_sessions(true);
    testing::check_branching_refused(&store).await.unwrap();
}

/// Two stores with their own pools and `LISTEN` connections, as two processes have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_database_share_updates_and_aborts() {
    let a = RedisSessionStore::new(&url()).unwrap().watch_backstop(Duration::from_secs(60));
    let b = RedisSessionStore::new(&url()).unwrap();
    testing::check_two_instances(Arc::new(a), Arc::new(b), 50).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_are_isolated_and_prefixes_configurable() {
    let prefix = format!("test-{}:", genkit_core::id::uuid_v4().unwrap());
    let store = RedisSessionStore::new(&url())
        .unwrap()
        .key_prefix(&prefix)
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
    // Tenant keys cannot reach into each other's key space through ':'.
    let tricky = ActionContext::new().with("auth", json!({"uid": "alice:snap:x"}));
    assert!(store.get_snapshot(&SnapshotQuery::snapshot("same-id"), &tricky).await.unwrap().is_none());
}

#[tokio::test]
async fn bad_and_unreachable_databases_are_clear_errors() {
    let e = RedisSessionStore::new("redis://u:hunter2@[bad").unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(!e.message().contains("hunter2"), "{e}");
    // Nothing listens on port 1.
    let store = RedisSessionStore::new("redis://u:hunter2@127.0.0.1:1/0").unwrap();
    let e = store.get_snapshot(&SnapshotQuery::snapshot("x"), &ActionContext::new()).await.unwrap_err();
    assert_eq!(e.status(), Status::Unavailable, "{e}");
    assert!(!e.message().contains("hunter2"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_stream_manager_keeps_the_contract() {
    let m = RedisStreamManager::new(&url()).unwrap();
    genkit_server::testing::check_stream_manager(Arc::new(m)).await.unwrap();
    let short = RedisStreamManager::new(&url()).unwrap().with_ttl(Duration::from_millis(50));
    genkit_server::testing::check_ttl(&short, Duration::from_millis(300)).await.unwrap();
}

/// A stream written through one manager is read live through another (another process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_written_by_one_manager_is_followed_by_another() {
    let (one, two) = (RedisStreamManager::new(&url()).unwrap(), RedisStreamManager::new(&url()).unwrap());
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

/// The subscription connection is dropped by the server (a restart, a failover, `CLIENT
/// KILL`): the store resubscribes and its watches still see the next save, without the
/// backstop. The test uses its own database number so that only its connections are killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_survives_a_lost_subscription() {
    let base = url();
    // The server's URL without its database number, then database 7.
    let root = match base.rfind('/') {
        Some(i) if !base[..i].ends_with('/') && base[i + 1..].chars().all(|c| c.is_ascii_digit()) => &base[..i],
        _ => base.trim_end_matches('/'),
    };
    let db_url = format!("{root}/7");
    let prefix = format!("test-{}:", genkit_core::id::uuid_v4().unwrap());
    let store = RedisSessionStore::new(&db_url).unwrap().key_prefix(&prefix).watch_backstop(Duration::from_secs(600));
    let cx = ActionContext::new();
    let mut s = Some(SessionSnapshot::new("").with_session_id("s"));
    let id = store.save_snapshot(None, &mut |_| s.take(), &cx).await.unwrap().unwrap();
    let mut watch = store.watch(&id, &cx).await.unwrap().unwrap();

    let admin = redis::Client::open(base.as_str()).unwrap();
    let mut admin = admin.get_multiplexed_async_connection().await.unwrap();
    let clients: String =
        redis::cmd("CLIENT").arg("LIST").arg("TYPE").arg("pubsub").query_async(&mut admin).await.unwrap();
    let ours: Vec<&str> = clients
        .lines()
        .filter(|l| l.split(' ').any(|f| f == "db=7"))
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .collect();
    assert_eq!(ours.len(), 1, "the store's subscription was not found in {clients}");
    let _: i64 = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(ours[0]).query_async(&mut admin).await.unwrap();

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
