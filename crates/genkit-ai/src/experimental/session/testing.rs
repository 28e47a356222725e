//! The contract every [`SessionStore`] keeps, as checks a store's own tests call (feature
//! `testing`): the in-memory store runs them here, the file, PostgreSQL and Redis stores in
//! their crates, so every store is held to the same behaviour.
//!
//! Each check uses fresh random ids, so it can run against a database shared with other runs.
//! Checks return `Err` with what went wrong instead of panicking.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use genkit_core::{ActionContext, Status};
use serde_json::json;

use super::{SessionSnapshot, SessionState, SessionStore, SnapshotQuery, SnapshotStatus};

type Check = Result<(), String>;

fn fresh() -> Result<String, String> {
    genkit_core::id::uuid_v4().map_err(|e| e.to_string())
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> Check {
    if cond { Ok(()) } else { Err(what()) }
}

fn snapshot(session: &str, parent: Option<&str>, created_at: &str, text: &str) -> SessionSnapshot {
    SessionSnapshot {
        snapshot_id: String::new(),
        session_id: Some(session.to_owned()),
        parent_id: parent.map(str::to_owned),
        created_at: created_at.to_owned(),
        status: Some(SnapshotStatus::Completed),
        state: Some(SessionState {
            session_id: Some(session.to_owned()),
            messages: Some(vec![crate::Message::user(text)]),
            custom: Some(json!({"text": text})),
            artifacts: None,
        }),
        ..SessionSnapshot::default()
    }
}

async fn save(store: &dyn SessionStore, id: Option<&str>, snap: SessionSnapshot) -> Result<String, String> {
    let mut snap = Some(snap);
    let cx = ActionContext::new();
    store
        .save_snapshot(id, &mut |_| snap.take(), &cx)
        .await
        .map_err(|e| format!("save_snapshot failed: {e}"))?
        .ok_or_else(|| "save_snapshot wrote nothing although the mutator returned a snapshot".to_owned())
}

async fn get(store: &dyn SessionStore, q: SnapshotQuery) -> Result<Option<SessionSnapshot>, String> {
    store.get_snapshot(&q, &ActionContext::new()).await.map_err(|e| format!("get_snapshot({q:?}) failed: {e}"))
}

/// Runs every check below against `store`.
///
/// # Errors
/// The first check that failed, saying what it expected.
pub async fn check_session_store(store: Arc<dyn SessionStore>) -> Check {
    check_round_trip(&*store).await?;
    check_read_modify_write(&*store).await?;
    check_latest_leaf(&*store).await?;
    check_concurrent_updates(store.clone(), 50).await?;
    check_watch(&*store).await
}

/// A snapshot saved without an id gets a fresh one and reads back equal, under that id.
///
/// # Errors
/// What differed.
pub async fn check_round_trip(store: &dyn SessionStore) -> Check {
    let session = fresh()?;
    let snap = snapshot(&session, None, "2026-01-01T00:00:00.000Z", "hello");
    let id = save(store, None, snap.clone()).await?;
    ensure(!id.is_empty(), || "the store returned an empty snapshot id".into())?;
    let back = get(store, SnapshotQuery::snapshot(&id)).await?.ok_or("the saved snapshot is not found by its id")?;
    let expected = SessionSnapshot { snapshot_id: id.clone(), ..snap };
    ensure(back == expected, || format!("read back {back:?}, expected {expected:?}"))?;
    let unknown = get(store, SnapshotQuery::snapshot(fresh()?)).await?;
    ensure(unknown.is_none(), || "an unknown snapshot id found something".into())?;
    let unknown = get(store, SnapshotQuery::session(fresh()?)).await?;
    ensure(unknown.is_none(), || "an unknown session id found something".into())
}

/// The mutator sees the stored snapshot; returning `None` writes nothing.
///
/// # Errors
/// What differed.
pub async fn check_read_modify_write(store: &dyn SessionStore) -> Check {
    let session = fresh()?;
    let id = fresh()?;
    let cx = ActionContext::new();
    let mut seen_first = None;
    let first = snapshot(&session, None, "2026-01-01T00:00:00.000Z", "v1");
    let mut pending = Some(first.clone());
    store
        .save_snapshot(
            Some(&id),
            &mut |cur| {
                seen_first = Some(cur.is_some());
                pending.take()
            },
            &cx,
        )
        .await
        .map_err(|e| e.to_string())?;
    ensure(seen_first == Some(false), || "the mutator of a new id was not given `None`".into())?;
    let mut seen = None;
    store
        .save_snapshot(
            Some(&id),
            &mut |cur| {
                seen = cur.cloned();
                let mut next = cur.cloned()?;
                next.status = Some(SnapshotStatus::Aborted);
                Some(next)
            },
            &cx,
        )
        .await
        .map_err(|e| e.to_string())?;
    let seen = seen.ok_or("the mutator was not given the stored snapshot")?;
    ensure(seen.state == first.state, || format!("the mutator saw {seen:?}"))?;
    let declined = store.save_snapshot(Some(&id), &mut |_| None, &cx).await.map_err(|e| e.to_string())?;
    ensure(declined.is_none(), || "a declined save returned an id".into())?;
    let now = get(store, SnapshotQuery::snapshot(&id)).await?.ok_or("the snapshot vanished")?;
    ensure(now.status == Some(SnapshotStatus::Aborted), || format!("the update was lost: {now:?}"))
}

/// A session lookup returns the chain's last snapshot, and the newest leaf once the history
/// branches.
///
/// # Errors
/// What differed.
pub async fn check_latest_leaf(store: &dyn SessionStore) -> Check {
    let session = fresh()?;
    let a = save(store, None, snapshot(&session, None, "2026-01-01T00:00:01.000Z", "a")).await?;
    let b = save(store, None, snapshot(&session, Some(&a), "2026-01-01T00:00:02.000Z", "b")).await?;
    let c = save(store, None, snapshot(&session, Some(&b), "2026-01-01T00:00:03.000Z", "c")).await?;
    let leaf = get(store, SnapshotQuery::session(&session)).await?.ok_or("the session is not found")?;
    ensure(leaf.snapshot_id == c, || format!("latest is {}, expected {c}", leaf.snapshot_id))?;
    // Regenerate from `a`: a second leaf, newer than `c`.
    let d = save(store, None, snapshot(&session, Some(&a), "2026-01-01T00:00:04.000Z", "d")).await?;
    let leaf = get(store, SnapshotQuery::session(&session)).await?.ok_or("the session is not found")?;
    ensure(leaf.snapshot_id == d, || format!("latest of a branched session is {}, expected {d}", leaf.snapshot_id))
}

/// With branching refused, a branched session's lookup is `FAILED_PRECONDITION`.
///
/// # Errors
/// What differed.
pub async fn check_branching_refused(store: &dyn SessionStore) -> Check {
    let session = fresh()?;
    let a = save(store, None, snapshot(&session, None, "2026-01-01T00:00:01.000Z", "a")).await?;
    save(store, None, snapshot(&session, Some(&a), "2026-01-01T00:00:02.000Z", "b")).await?;
    save(store, None, snapshot(&session, Some(&a), "2026-01-01T00:00:03.000Z", "c")).await?;
    match store.get_snapshot(&SnapshotQuery::session(&session), &ActionContext::new()).await {
        Err(e) if e.status() == Status::FailedPrecondition => Ok(()),
        other => Err(format!("a branched session with branching refused gave {other:?}")),
    }
}

/// `n` concurrent read-modify-writes of one snapshot, each appending a message, lose and
/// duplicate nothing.
///
/// # Errors
/// What differed.
pub async fn check_concurrent_updates(store: Arc<dyn SessionStore>, n: usize) -> Check {
    let session = fresh()?;
    let id = save(&*store, None, snapshot(&session, None, "2026-01-01T00:00:00.000Z", "start")).await?;
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let store = store.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let cx = ActionContext::new();
            store
                .save_snapshot(
                    Some(&id),
                    &mut |cur| {
                        let mut next = cur.cloned()?;
                        let state = next.state.get_or_insert_with(SessionState::default);
                        state.messages.get_or_insert_with(Vec::new).push(crate::Message::user(format!("m{i}")));
                        Some(next)
                    },
                    &cx,
                )
                .await
        }));
    }
    for t in tasks {
        t.await.map_err(|e| format!("a writer task failed: {e}"))?.map_err(|e| format!("a save failed: {e}"))?;
    }
    let end = get(&*store, SnapshotQuery::snapshot(&id)).await?.ok_or("the snapshot vanished")?;
    let texts: Vec<String> =
        end.state.and_then(|s| s.messages).unwrap_or_default().iter().map(crate::Message::text).collect();
    ensure(texts.len() == n + 1, || {
        format!("{} messages after {n} concurrent appends, expected {}", texts.len(), n + 1)
    })?;
    for i in 0..n {
        let m = format!("m{i}");
        let count = texts.iter().filter(|t| **t == m).count();
        ensure(count == 1, || format!("message {m} appears {count} times"))?;
    }
    Ok(())
}

/// A watcher of a snapshot sees each later save of it, in order.
///
/// # Errors
/// What differed; a store that cannot watch passes.
pub async fn check_watch(store: &dyn SessionStore) -> Check {
    let session = fresh()?;
    let id = save(store, None, snapshot(&session, None, "2026-01-01T00:00:00.000Z", "start")).await?;
    let cx = ActionContext::new();
    let Some(mut watch) = store.watch(&id, &cx).await.map_err(|e| format!("watch failed: {e}"))? else {
        return Ok(());
    };
    for status in [SnapshotStatus::Aborting, SnapshotStatus::Aborted] {
        store
            .save_snapshot(
                Some(&id),
                &mut |cur| {
                    let mut next = cur.cloned()?;
                    next.status = Some(status);
                    Some(next)
                },
                &cx,
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    // Stores that poll may coalesce updates: every update seen must be of this snapshot, in
    // save order, ending with the last one.
    let mut seen = Vec::new();
    while seen.last() != Some(&SnapshotStatus::Aborted) {
        // A deadline against a hung store, not a timing assertion.
        let next = tokio::time::timeout(Duration::from_secs(30), watch.next())
            .await
            .map_err(|_| format!("no update of {id} within 30 s (seen {seen:?})"))?
            .ok_or("the watch ended")?;
        ensure(next.snapshot_id == id, || format!("watching {id} gave {}", next.snapshot_id))?;
        seen.push(next.status.ok_or("an update without a status")?);
    }
    ensure(seen == [SnapshotStatus::Aborting, SnapshotStatus::Aborted] || seen == [SnapshotStatus::Aborted], || {
        format!("updates seen out of order: {seen:?}")
    })
}

/// Two instances of one store sharing their storage, as two processes would (two
/// connection pools on one database, two handles on one directory): `n` concurrent
/// read-modify-writes alternating between them lose nothing, and a watch through `a` sees an
/// abort saved through `b` (how a detached turn running in one process learns of an abort
/// requested in another).
///
/// # Errors
/// What differed.
pub async fn check_two_instances(a: Arc<dyn SessionStore>, b: Arc<dyn SessionStore>, n: usize) -> Check {
    check_concurrent_updates(Arc::new(Alternating { stores: [a.clone(), b.clone()], next: Default::default() }), n)
        .await?;
    let session = fresh()?;
    let id = save(&*a, None, snapshot(&session, None, "2026-01-01T00:00:00.000Z", "detached")).await?;
    let cx = ActionContext::new();
    let Some(mut watch) = a.watch(&id, &cx).await.map_err(|e| format!("watch failed: {e}"))? else {
        return Err("the store cannot watch, so an abort from another process is never seen".into());
    };
    b.save_snapshot(
        Some(&id),
        &mut |cur| {
            let mut next = cur.cloned()?;
            next.status = Some(SnapshotStatus::Aborted);
            Some(next)
        },
        &cx,
    )
    .await
    .map_err(|e| format!("the abort save failed: {e}"))?;
    // A deadline against a hung store, not a timing assertion.
    let seen = tokio::time::timeout(Duration::from_secs(30), watch.next())
        .await
        .map_err(|_| format!("the watch through one instance saw no abort saved through the other within 30 s ({id})"))?
        .ok_or("the watch ended")?;
    ensure(seen.snapshot_id == id && seen.status == Some(SnapshotStatus::Aborted), || {
        format!("the watch saw {seen:?}, expected {id} aborted")
    })
}

/// Sends each call to the next of two stores in turn.
struct Alternating {
    stores: [Arc<dyn SessionStore>; 2],
    next: std::sync::atomic::AtomicUsize,
}

impl Alternating {
    fn pick(&self) -> &dyn SessionStore {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 2;
        if i == 0 { &*self.stores[0] } else { &*self.stores[1] }
    }
}

impl SessionStore for Alternating {
    fn get_snapshot<'a>(
        &'a self,
        query: &'a SnapshotQuery,
        cx: &'a ActionContext,
    ) -> futures::future::BoxFuture<'a, genkit_core::Result<Option<SessionSnapshot>>> {
        self.pick().get_snapshot(query, cx)
    }

    fn save_snapshot<'a>(
        &'a self,
        snapshot_id: Option<&'a str>,
        mutator: &'a mut super::SnapshotMutator<'_>,
        cx: &'a ActionContext,
    ) -> futures::future::BoxFuture<'a, genkit_core::Result<Option<String>>> {
        self.pick().save_snapshot(snapshot_id, mutator, cx)
    }
}
