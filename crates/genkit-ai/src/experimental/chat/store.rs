//! Where chat sessions persist: the [`SessionDataStore`] trait (JS `SessionStore` of the
//! beta chat API: `get(id)`, `save(id, data)`), the [`InMemorySessionDataStore`], and
//! [`SnapshotSessionDataStore`], which keeps chat sessions in any snapshot
//! [`SessionStore`] (in memory, files, PostgreSQL, Redis).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::future::BoxFuture;
use genkit_core::{ActionContext, Result};

use super::SessionData;
use crate::experimental::session::{SessionSnapshot, SessionStore, SnapshotQuery, SnapshotStatus};

/// Persists [`SessionData`] by session id (JS `SessionStore` of `ai.createSession`). Object
/// safe: sessions hold an `Arc<dyn SessionDataStore>`.
///
/// `cx` is the action context of the caller (auth), for stores that scope data by tenant.
pub trait SessionDataStore: Send + Sync + 'static {
    /// The data saved for `session_id`, or `None` when there is none.
    ///
    /// # Errors
    /// The store's own failures.
    fn get<'a>(&'a self, session_id: &'a str, cx: &'a ActionContext) -> BoxFuture<'a, Result<Option<SessionData>>>;

    /// Saves `data` as the whole data of `session_id`, replacing what was there.
    ///
    /// # Errors
    /// The store's own failures.
    fn save<'a>(
        &'a self,
        session_id: &'a str,
        data: &'a SessionData,
        cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<()>>;
}

// ---- in memory ----

/// A [`SessionDataStore`] in a map, lost when the process ends (JS `inMemorySessionStore()`).
/// Cheap to clone: clones share the data.
#[derive(Clone, Default)]
pub struct InMemorySessionDataStore {
    data: Arc<Mutex<HashMap<String, SessionData>>>,
}

impl std::fmt::Debug for InMemorySessionDataStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemorySessionDataStore").field("sessions", &self.lock().len()).finish()
    }
}

impl InMemorySessionDataStore {
    /// An empty store.
    pub fn new() -> InMemorySessionDataStore {
        InMemorySessionDataStore::default()
    }

    // Every update is one insert, so a poisoned lock still holds whole values.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, SessionData>> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SessionDataStore for InMemorySessionDataStore {
    fn get<'a>(&'a self, session_id: &'a str, _cx: &'a ActionContext) -> BoxFuture<'a, Result<Option<SessionData>>> {
        let found = self.lock().get(session_id).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn save<'a>(
        &'a self,
        session_id: &'a str,
        data: &'a SessionData,
        _cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<()>> {
        self.lock().insert(session_id.to_owned(), data.clone());
        Box::pin(async { Ok(()) })
    }
}

// ---- over a snapshot store ----

/// Keeps chat sessions in a snapshot [`SessionStore`], the store agents use, so every
/// snapshot store (in memory, file, PostgreSQL, Redis) also stores chat sessions, and a chat
/// session and an agent can share one session.
///
/// Each save appends a snapshot to the session's chain: a new snapshot of the session
/// (`sessionId` = the session id, `parentId` = its previous latest snapshot, `status`
/// `completed`) whose state is the data mapped by [`SessionData::into_state`]:
///
/// | `SessionData`            | snapshot `state`                                              |
/// |--------------------------|---------------------------------------------------------------|
/// | `id`                     | `sessionId`                                                   |
/// | `state`                  | `custom`                                                      |
/// | `threads.main`           | `messages`                                                    |
/// | `threads.<t>` (t ≠ main) | artifact `chatThread:<t>`, metadata `{"chatThread": "<t>"}`, one `data` part per message |
///
/// Artifacts that are not threads (an agent's) are carried over from the previous
/// snapshot. [`get`](SessionDataStore::get) reads the session's latest leaf snapshot (see
/// [`SnapshotQuery::session`]) and maps it back; a session an agent wrote reads as its
/// custom state and main thread. Two processes saving the same session at once each append
/// a snapshot; the newer one is then the latest.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit_core::Result<()> {
/// use genkit_ai::experimental::chat::{SessionData, SessionDataStore, SnapshotSessionDataStore};
/// use genkit_ai::experimental::session::{InMemorySessionStore, SessionStore, SnapshotQuery};
/// let snapshots = InMemorySessionStore::new();
/// let store = SnapshotSessionDataStore::new(snapshots.clone());
/// let cx = genkit_core::ActionContext::new();
/// let mut data = SessionData::new("s1");
/// data.state = Some(serde_json::json!({"name": "Ada"}));
/// store.save("s1", &data, &cx).await?;
/// let snap = snapshots.get_snapshot(&SnapshotQuery::session("s1"), &cx).await?.expect("saved");
/// assert_eq!(snap.state.and_then(|s| s.custom), data.state);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SnapshotSessionDataStore {
    store: Arc<dyn SessionStore>,
}

impl std::fmt::Debug for SnapshotSessionDataStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotSessionDataStore").finish_non_exhaustive()
    }
}

impl SnapshotSessionDataStore {
    /// Chat sessions kept in `store`.
    pub fn new(store: impl SessionStore) -> SnapshotSessionDataStore {
        SnapshotSessionDataStore { store: Arc::new(store) }
    }

    /// Chat sessions kept in a shared snapshot store (the one agents use).
    pub fn from_arc(store: Arc<dyn SessionStore>) -> SnapshotSessionDataStore {
        SnapshotSessionDataStore { store }
    }

    /// The snapshot store underneath.
    pub fn snapshot_store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }
}

impl SessionDataStore for SnapshotSessionDataStore {
    fn get<'a>(&'a self, session_id: &'a str, cx: &'a ActionContext) -> BoxFuture<'a, Result<Option<SessionData>>> {
        Box::pin(async move {
            let query = SnapshotQuery::session(session_id);
            let Some(snap) = self.store.get_snapshot(&query, cx).await? else { return Ok(None) };
            Ok(Some(SessionData::from_state(session_id, snap.state.unwrap_or_default()).0))
        })
    }

    fn save<'a>(
        &'a self,
        session_id: &'a str,
        data: &'a SessionData,
        cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let query = SnapshotQuery::session(session_id);
            let previous = self.store.get_snapshot(&query, cx).await?;
            let (parent, artifacts) = match previous {
                Some(p) => (Some(p.snapshot_id), p.state.and_then(|s| s.artifacts).unwrap_or_default()),
                None => (None, Vec::new()),
            };
            let mut data = data.clone();
            data.id = session_id.to_owned();
            let mut snapshot = SessionSnapshot::new("")
                .with_session_id(session_id)
                .with_status(SnapshotStatus::Completed)
                .with_state(data.into_state(artifacts));
            snapshot.parent_id = parent;
            snapshot.updated_at = Some(snapshot.created_at.clone());
            // The mutator may run more than once (optimistic stores retry); it always gives
            // the same snapshot.
            self.store.save_snapshot(None, &mut |_| Some(snapshot.clone()), cx).await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experimental::chat::MAIN_THREAD;
    use crate::experimental::session::{Artifact, InMemorySessionStore, SessionState};
    use crate::{Message, Part};
    use serde_json::json;

    fn data(id: &str, name: &str) -> SessionData {
        let mut d = SessionData::new(id);
        d.state = Some(json!({"name": name}));
        d.threads = Some(
            [(MAIN_THREAD.to_owned(), vec![Message::user(name)]), ("side".to_owned(), vec![Message::model("s")])]
                .into(),
        );
        d
    }

    #[tokio::test]
    async fn the_in_memory_store_saves_and_gets_by_id() {
        let store = InMemorySessionDataStore::new();
        let cx = ActionContext::new();
        assert_eq!(store.get("s1", &cx).await.unwrap(), None);
        store.save("s1", &data("s1", "a"), &cx).await.unwrap();
        store.save("s1", &data("s1", "b"), &cx).await.unwrap();
        assert_eq!(store.clone().get("s1", &cx).await.unwrap(), Some(data("s1", "b")));
        assert_eq!(store.get("s2", &cx).await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_snapshot_adapter_appends_a_snapshot_chain_and_reads_the_latest() {
        let snapshots = InMemorySessionStore::new().reject_branching_sessions(true);
        let store = SnapshotSessionDataStore::new(snapshots.clone());
        let cx = ActionContext::new();
        assert_eq!(store.get("s1", &cx).await.unwrap(), None);
        store.save("s1", &data("s1", "a"), &cx).await.unwrap();
        store.save("s1", &data("s1", "b"), &cx).await.unwrap();
        store.save("s2", &data("s2", "c"), &cx).await.unwrap();
        assert_eq!(snapshots.len(), 3);
        assert_eq!(store.get("s1", &cx).await.unwrap(), Some(data("s1", "b")));
        assert_eq!(store.get("s2", &cx).await.unwrap(), Some(data("s2", "c")));
        let latest = snapshots.get_snapshot(&SnapshotQuery::session("s1"), &cx).await.unwrap().unwrap();
        assert_eq!(latest.status, Some(SnapshotStatus::Completed));
        assert_eq!(latest.session_id.as_deref(), Some("s1"));
        let parent = snapshots.get_snapshot(&SnapshotQuery::snapshot(latest.parent_id.unwrap()), &cx).await.unwrap();
        assert_eq!(parent.unwrap().state.unwrap().custom, Some(json!({"name": "a"})));
        let state = latest.state.unwrap();
        assert_eq!(state.messages, Some(vec![Message::user("b")]));
        assert_eq!(state.artifacts.unwrap()[0].name.as_deref(), Some("chatThread:side"));
    }

    #[tokio::test]
    async fn the_snapshot_adapter_reads_what_an_agent_wrote_and_keeps_its_artifacts() {
        let snapshots = InMemorySessionStore::new();
        let cx = ActionContext::new();
        let agent_state = SessionState {
            session_id: Some("s1".into()),
            messages: Some(vec![Message::user("from agent")]),
            custom: Some(json!({"step": 1})),
            artifacts: Some(vec![Artifact::new("doc", vec![Part::text("d")])]),
        };
        let snap = SessionSnapshot::new("").with_session_id("s1").with_state(agent_state);
        snapshots.save_snapshot(None, &mut |_| Some(snap.clone()), &cx).await.unwrap();
        let store = SnapshotSessionDataStore::from_arc(Arc::new(snapshots.clone()));
        let mut d = store.get("s1", &cx).await.unwrap().unwrap();
        assert_eq!(d.state, Some(json!({"step": 1})));
        assert_eq!(d.thread(MAIN_THREAD), &[Message::user("from agent")]);
        d.state = Some(json!({"step": 2}));
        store.save("s1", &d, &cx).await.unwrap();
        let latest = snapshots.get_snapshot(&SnapshotQuery::session("s1"), &cx).await.unwrap().unwrap();
        let state = latest.state.unwrap();
        assert_eq!(state.custom, Some(json!({"step": 2})));
        assert_eq!(state.artifacts, Some(vec![Artifact::new("doc", vec![Part::text("d")])]));
    }
}
