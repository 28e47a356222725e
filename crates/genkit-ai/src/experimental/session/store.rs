//! The [`SessionStore`] trait and what every store shares: lookups by snapshot or session
//! id, the choice of a session's latest leaf, id rules.

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use genkit_core::{ActionContext, Error, Result, Status};

use super::SessionSnapshot;

/// Which snapshot [`SessionStore::get_snapshot`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotQuery {
    /// The snapshot with this id.
    SnapshotId(String),
    /// The newest leaf of this session's snapshot tree (see [`select_leaf_snapshot`]).
    SessionId(String),
}

impl SnapshotQuery {
    /// Looks up a snapshot by id.
    pub fn snapshot(id: impl Into<String>) -> SnapshotQuery {
        SnapshotQuery::SnapshotId(id.into())
    }

    /// Looks up a session's latest leaf snapshot.
    pub fn session(id: impl Into<String>) -> SnapshotQuery {
        SnapshotQuery::SessionId(id.into())
    }

    /// The query as JS's `GetSnapshotOptions` carry it: exactly one of the two ids.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when both or neither are given, or the session id is blank.
    pub fn from_ids(snapshot_id: Option<&str>, session_id: Option<&str>) -> Result<SnapshotQuery> {
        match (snapshot_id.filter(|s| !s.is_empty()), session_id.filter(|s| !s.is_empty())) {
            (Some(s), None) => Ok(SnapshotQuery::snapshot(s)),
            (None, Some(s)) => {
                assert_valid_session_id(s)?;
                Ok(SnapshotQuery::session(s))
            }
            (s, _) => Err(Error::invalid_argument(format!(
                "getSnapshot requires exactly one of 'snapshotId' or 'sessionId' (got {}).",
                if s.is_some() { "both" } else { "neither" }
            ))),
        }
    }
}

/// The read-modify-write step of [`SessionStore::save_snapshot`]: given the stored snapshot
/// (if any), returns the one to store, or `None` to leave it as it is. A store may call it
/// more than once when a concurrent writer got in first (optimistic stores retry), so it must
/// not have side effects beyond its return value.
pub type SnapshotMutator<'a> = dyn FnMut(Option<&SessionSnapshot>) -> Option<SessionSnapshot> + Send + 'a;

/// Updates of one snapshot, from [`SessionStore::watch`]: each item is the snapshot as just
/// saved. Dropping the stream stops watching.
pub type SnapshotWatch = BoxStream<'static, SessionSnapshot>;

/// Persists session snapshots (JS `SessionStore`). Object safe: agents hold an
/// `Arc<dyn SessionStore>`.
///
/// Implementations must make [`save_snapshot`](SessionStore::save_snapshot) atomic per
/// snapshot id (two concurrent saves never both read the same current value and both write),
/// and should implement [`watch`](SessionStore::watch) so that an abort written by one
/// process reaches the process running the turn.
///
/// The `cx` argument is the calling action's context (auth): multi-tenant stores scope their
/// keys by it.
pub trait SessionStore: Send + Sync + 'static {
    /// The snapshot `query` names, or `None` when there is none.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` when a session lookup finds no single latest leaf (see
    /// [`select_leaf_snapshot`]); `INVALID_ARGUMENT` for ids the store cannot hold; the
    /// store's own failures.
    fn get_snapshot<'a>(
        &'a self,
        query: &'a SnapshotQuery,
        cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<Option<SessionSnapshot>>>;

    /// Atomically reads the snapshot `snapshot_id` (none when `None` or not stored), passes it
    /// to `mutator` and stores what that returns. The stored snapshot's id is `snapshot_id`,
    /// else the returned snapshot's own id, else a new random one ([`reserve_snapshot_id`]).
    /// Returns the id, or `None` when the mutator declined to write.
    ///
    /// # Errors
    /// The store's own failures; `INVALID_ARGUMENT` for ids the store cannot hold.
    fn save_snapshot<'a>(
        &'a self,
        snapshot_id: Option<&'a str>,
        mutator: &'a mut SnapshotMutator<'_>,
        cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<Option<String>>>;

    /// Watches one snapshot: the stream yields it each time it is saved (by any process
    /// sharing the store, for shared stores). `None` when the store cannot watch; then a
    /// detached turn cannot be aborted from elsewhere (JS `onSnapshotStateChange`).
    ///
    /// # Errors
    /// The store's own failures.
    fn watch<'a>(
        &'a self,
        snapshot_id: &'a str,
        cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<Option<SnapshotWatch>>> {
        let _ = (snapshot_id, cx);
        Box::pin(async { Ok(None) })
    }
}

/// The watch loop of a store that keeps a version per snapshot and hears of changes on a
/// broadcast channel (PostgreSQL `NOTIFY`, Redis pub/sub): on each wake that `concerns` the
/// snapshot, and at least every `backstop` (a missed notification), it re-reads the snapshot
/// with `read` and yields it when its version is above `last`. The loop ends when the returned
/// stream is dropped; a closed channel leaves only the backstop.
pub fn versioned_watch<W, V, R, Fut>(
    mut wakes: tokio::sync::broadcast::Receiver<W>,
    concerns: impl Fn(&W) -> bool + Send + 'static,
    backstop: std::time::Duration,
    mut last: V,
    mut read: R,
) -> SnapshotWatch
where
    W: Clone + Send + 'static,
    V: PartialOrd + Send + 'static,
    R: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Option<(SessionSnapshot, V)>>> + Send,
{
    use tokio::sync::broadcast::error::RecvError;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut listening = true;
        loop {
            tokio::select! {
                () = tx.closed() => return,
                wake = wakes.recv(), if listening => match wake {
                    Ok(w) if !concerns(&w) => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => listening = false,
                },
                () = tokio::time::sleep(backstop) => {}
            }
            match read().await {
                Ok(Some((snap, version))) if version > last => {
                    last = version;
                    if tx.send(snap).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "re-reading a watched snapshot failed"),
            }
        }
    });
    Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// A new snapshot id (a random UUID), for callers that need the id before saving (JS
/// `reserveSnapshotId`).
///
/// # Errors
/// `UNAVAILABLE` when the operating system has no randomness to give.
pub fn reserve_snapshot_id() -> Result<String> {
    genkit_core::id::uuid_v4()
}

/// Checks that a session id is usable: not empty or blank (JS `assertValidSessionId`).
///
/// # Errors
/// `INVALID_ARGUMENT` saying what was wrong.
pub fn assert_valid_session_id(session_id: &str) -> Result<()> {
    if session_id.trim().is_empty() {
        return Err(Error::invalid_argument(format!(
            "Invalid sessionId: expected a non-empty string, got \"{session_id}\"."
        )));
    }
    Ok(())
}

/// The latest snapshot of a session from all of its snapshots: its only leaf (a snapshot no
/// other names as parent), or, when the history branched (a turn was regenerated), the newest
/// leaf by `createdAt` — unless `reject_branching`, then `FAILED_PRECONDITION`.
///
/// # Errors
/// `FAILED_PRECONDITION` when there is no leaf (a cycle) or, with `reject_branching`, more
/// than one.
pub fn select_leaf_snapshot<'s>(
    snapshots: &'s [SessionSnapshot],
    session_id: &str,
    reject_branching: bool,
) -> Result<Option<&'s SessionSnapshot>> {
    if snapshots.is_empty() {
        return Ok(None);
    }
    let parents: std::collections::HashSet<&str> = snapshots.iter().filter_map(|s| s.parent_id.as_deref()).collect();
    let leaves: Vec<&SessionSnapshot> =
        snapshots.iter().filter(|s| !parents.contains(s.snapshot_id.as_str())).collect();
    match leaves.len() {
        0 => Err(Error::new(
            Status::FailedPrecondition,
            format!(
                "Session '{session_id}' has no leaf snapshot (corrupt or cyclic history). Resume by snapshotId instead."
            ),
        )),
        1 => Ok(leaves.first().copied()),
        n if reject_branching => Err(Error::new(
            Status::FailedPrecondition,
            format!(
                "Session '{session_id}' has branching snapshots ({n} leaves), so there is no single latest \
                 snapshot. This happens when a conversation is branched (e.g. regenerate). Resume by snapshotId \
                 instead."
            ),
        )),
        _ => Ok(leaves.into_iter().reduce(|a, b| if b.created_at > a.created_at { b } else { a })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(id: &str, parent: Option<&str>, at: &str) -> SessionSnapshot {
        SessionSnapshot {
            snapshot_id: id.into(),
            parent_id: parent.map(str::to_owned),
            created_at: at.into(),
            ..SessionSnapshot::default()
        }
    }

    #[test]
    fn the_leaf_of_a_chain_is_its_last_snapshot() {
        let s = [snap("a", None, "1"), snap("b", Some("a"), "2"), snap("c", Some("b"), "3")];
        assert_eq!(select_leaf_snapshot(&s, "s", true).unwrap().unwrap().snapshot_id, "c");
        assert!(select_leaf_snapshot(&[], "s", true).unwrap().is_none());
    }

    #[test]
    fn a_branched_history_resolves_to_the_newest_leaf_or_is_refused() {
        let s = [snap("a", None, "1"), snap("b", Some("a"), "3"), snap("c", Some("a"), "2")];
        assert_eq!(select_leaf_snapshot(&s, "s", false).unwrap().unwrap().snapshot_id, "b");
        let e = select_leaf_snapshot(&s, "s", true).unwrap_err();
        assert_eq!(e.status(), Status::FailedPrecondition);
        assert!(e.message().contains("2 leaves"), "{e}");
    }

    #[test]
    fn a_cycle_has_no_leaf() {
        let s = [snap("a", Some("b"), "1"), snap("b", Some("a"), "2")];
        assert_eq!(select_leaf_snapshot(&s, "s", false).unwrap_err().status(), Status::FailedPrecondition);
    }

    #[test]
    fn queries_take_exactly_one_id() {
        assert_eq!(SnapshotQuery::from_ids(Some("a"), None).unwrap(), SnapshotQuery::snapshot("a"));
        assert_eq!(SnapshotQuery::from_ids(None, Some("s")).unwrap(), SnapshotQuery::session("s"));
        for (a, b) in [(Some("a"), Some("s")), (None, None), (None, Some("  "))] {
            assert_eq!(SnapshotQuery::from_ids(a, b).unwrap_err().status(), Status::InvalidArgument);
        }
    }
}
