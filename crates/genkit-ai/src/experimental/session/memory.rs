//! [`InMemorySessionStore`]: snapshots in a map, for tests, development and single-process
//! apps (JS `InMemorySessionStore`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::channel::mpsc;
use futures::future::BoxFuture;
use genkit_core::{ActionContext, Result};

use super::store::{SnapshotMutator, SnapshotWatch, reserve_snapshot_id, select_leaf_snapshot};
use super::{SessionSnapshot, SessionStore, SnapshotQuery};

#[derive(Default)]
struct Inner {
    snapshots: HashMap<String, SessionSnapshot>,
    watchers: HashMap<String, Vec<mpsc::UnboundedSender<SessionSnapshot>>>,
}

/// A [`SessionStore`] keeping snapshots in memory, lost when the process ends. Cheap to
/// clone: clones share the snapshots.
#[derive(Clone, Default)]
pub struct InMemorySessionStore {
    inner: Arc<Mutex<Inner>>,
    reject_branching: bool,
}

impl std::fmt::Debug for InMemorySessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemorySessionStore").field("snapshots", &self.lock().snapshots.len()).finish()
    }
}

impl InMemorySessionStore {
    /// An empty store.
    pub fn new() -> InMemorySessionStore {
        InMemorySessionStore::default()
    }

    /// With `true`, a session lookup that finds a branched history (more than one leaf)
    /// fails with `FAILED_PRECONDITION` instead of returning the newest leaf; useful in
    /// development to notice accidental branching. Default `false`, as in JS.
    #[must_use]
    pub fn reject_branching_sessions(mut self, yes: bool) -> Self {
        self.reject_branching = yes;
        self
    }

    /// How many snapshots the store holds.
    pub fn len(&self) -> usize {
        self.lock().snapshots.len()
    }

    /// Whether the store holds no snapshot.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while the lock is held cannot leave the map half-written (every update is
    // one insert), so a poisoned lock is still safe to use.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, query: &SnapshotQuery) -> Result<Option<SessionSnapshot>> {
        let inner = self.lock();
        match query {
            SnapshotQuery::SnapshotId(id) => Ok(inner.snapshots.get(id).cloned()),
            SnapshotQuery::SessionId(sid) => {
                let owned: Vec<SessionSnapshot> =
                    inner.snapshots.values().filter(|s| s.owner() == Some(sid.as_str())).cloned().collect();
                Ok(select_leaf_snapshot(&owned, sid, self.reject_branching)?.cloned())
            }
        }
    }

    fn save(&self, snapshot_id: Option<&str>, mutator: &mut SnapshotMutator<'_>) -> Result<Option<String>> {
        let mut inner = self.lock();
        let current = snapshot_id.and_then(|id| inner.snapshots.get(id));
        let Some(mut next) = mutator(current) else { return Ok(None) };
        let id = match snapshot_id {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ if !next.snapshot_id.is_empty() => next.snapshot_id.clone(),
            _ => reserve_snapshot_id()?,
        };
        next.snapshot_id.clone_from(&id);
        if let Some(watchers) = inner.watchers.get_mut(&id) {
            watchers.retain(|w| w.unbounded_send(next.clone()).is_ok());
        }
        inner.snapshots.insert(id.clone(), next);
        Ok(Some(id))
    }
}

impl SessionStore for InMemorySessionStore {
    fn get_snapshot<'a>(
        &'a self,
        query: &'a SnapshotQuery,
        _cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<Option<SessionSnapshot>>> {
        Box::pin(async move { self.get(query) })
    }

    fn save_snapshot<'a>(
        &'a self,
        snapshot_id: Option<&'a str>,
        mutator: &'a mut SnapshotMutator<'_>,
        _cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move { self.save(snapshot_id, mutator) })
    }

    fn watch<'a>(
        &'a self,
        snapshot_id: &'a str,
        _cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<Option<SnapshotWatch>>> {
        Box::pin(async move {
            let (tx, rx) = mpsc::unbounded();
            self.lock().watchers.entry(snapshot_id.to_owned()).or_default().push(tx);
            Ok(Some(Box::pin(rx) as SnapshotWatch))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_in_memory_store_keeps_the_store_contract() {
        super::super::testing::check_session_store(Arc::new(InMemorySessionStore::new())).await.unwrap();
    }

    #[tokio::test]
    async fn branching_can_be_refused() {
        let store = InMemorySessionStore::new().reject_branching_sessions(true);
        super::super::testing::check_branching_refused(&store).await.unwrap();
    }
}
