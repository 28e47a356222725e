//! Session state, snapshots and snapshot stores (Genkit 1.42 `Session`, `SessionSnapshot`,
//! `SessionStore`).
//!
//! A conversation's state is a [`SessionState`]: its messages, an app-defined `custom` value
//! and named artifacts. A turn mutates a live [`Session`]; when the turn ends, the agent
//! saves a [`SessionSnapshot`] of it through a [`SessionStore`]. Snapshots form a tree: each
//! names its `parentId`, and resuming a session by id continues from its newest leaf.
//!
//! Stores: [`InMemorySessionStore`] here; file, PostgreSQL and Redis stores elsewhere, all
//! implementing the one object-safe [`SessionStore`] trait.
//!
//! ```
//! use genkit_ai::experimental::session::{InMemorySessionStore, SessionSnapshot, SessionStore, SnapshotQuery};
//! # async fn demo() -> genkit_core::Result<()> {
//! let store = InMemorySessionStore::new();
//! let cx = genkit_core::ActionContext::new();
//! let id = store
//!     .save_snapshot(None, &mut |_current| Some(SessionSnapshot::new("").with_session_id("s1")), &cx)
//!     .await?
//!     .expect("saved");
//! let latest = store.get_snapshot(&SnapshotQuery::session("s1"), &cx).await?.expect("found");
//! assert_eq!(latest.snapshot_id, id);
//! # Ok(()) }
//! ```

pub mod file;
mod live;
mod memory;
mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod types;

pub use file::FileSessionStore;
pub use live::{Session, SessionEvent, Subscription, current_session};
pub use memory::InMemorySessionStore;
pub use store::{
    SessionStore, SnapshotMutator, SnapshotQuery, SnapshotWatch, assert_valid_session_id, reserve_snapshot_id,
    select_leaf_snapshot, versioned_watch,
};
pub use types::{AgentFinishReason, Artifact, SessionSnapshot, SessionState, SnapshotStatus};
