//! The live [`Session`] a turn reads and changes, and [`current_session`] for code running
//! inside one (JS `Session`, `getCurrentSession`).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use genkit_core::{Error, Result, Status};
use serde_json::Value;

use super::{Artifact, SessionState};
use crate::Message;

/// A change to a [`Session`], delivered to [`Session::on_event`] listeners as it happens.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// [`Session::update_custom`] changed the custom state.
    CustomChanged,
    /// An artifact with a new name (or without one) was added.
    ArtifactAdded(Artifact),
    /// An artifact replaced the one with its name.
    ArtifactUpdated(Artifact),
}

type Listener = Arc<dyn Fn(&Session, &SessionEvent) + Send + Sync>;

struct Inner {
    session_id: String,
    state: Mutex<(SessionState, u64)>,
    listeners: Mutex<Vec<(u64, Listener)>>,
    next_listener: AtomicU64,
}

/// The state of one conversation while a turn runs: messages, custom state and artifacts,
/// with a version that counts changes. Cheap to clone: clones are the same session.
///
/// Reads return copies, so holding one never blocks the turn. Listeners registered with
/// [`Session::on_event`] hear of custom-state and artifact changes as they happen; agents
/// turn them into `customPatch` and `artifact` stream chunks.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("session_id", &self.inner.session_id).field("version", &self.version()).finish()
    }
}

/// Keeps a [`Session::on_event`] listener registered; dropping it removes the listener.
#[must_use = "the listener is removed when the subscription is dropped"]
pub struct Subscription {
    session: Weak<Inner>,
    id: u64,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("id", &self.id).finish()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(inner) = self.session.upgrade() {
            lock(&inner.listeners).retain(|(id, _)| *id != self.id);
        }
    }
}

// Every update under these locks is a single assignment, so a panic elsewhere cannot leave
// the data half-written: a poisoned lock is still safe to use.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

tokio::task_local! {
    static CURRENT: Session;
}

impl Session {
    /// A session starting from `initial`; its id is `initial.session_id`, else a new random
    /// one (written into the state).
    ///
    /// # Errors
    /// `UNAVAILABLE` when a random id is needed and the OS has no randomness.
    pub fn new(mut initial: SessionState) -> Result<Session> {
        let session_id = match initial.session_id.take().filter(|s| !s.is_empty()) {
            Some(id) => id,
            None => genkit_core::id::uuid_v4()?,
        };
        initial.session_id = Some(session_id.clone());
        Ok(Session {
            inner: Arc::new(Inner {
                session_id,
                state: Mutex::new((initial, 0)),
                listeners: Mutex::new(Vec::new()),
                next_listener: AtomicU64::new(0),
            }),
        })
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        &self.inner.session_id
    }

    /// A copy of the whole state.
    pub fn state(&self) -> SessionState {
        lock(&self.inner.state).0.clone()
    }

    /// A copy of the messages.
    pub fn messages(&self) -> Vec<Message> {
        lock(&self.inner.state).0.messages.clone().unwrap_or_default()
    }

    /// Appends messages.
    pub fn add_messages(&self, messages: impl IntoIterator<Item = Message>) {
        let mut g = lock(&self.inner.state);
        g.0.messages.get_or_insert_with(Vec::new).extend(messages);
        g.1 += 1;
    }

    /// Replaces the messages.
    pub fn set_messages(&self, messages: Vec<Message>) {
        let mut g = lock(&self.inner.state);
        g.0.messages = Some(messages);
        g.1 += 1;
    }

    /// A copy of the custom state.
    pub fn custom(&self) -> Option<Value> {
        lock(&self.inner.state).0.custom.clone()
    }

    /// Replaces the custom state with `f(current)` and tells listeners
    /// ([`SessionEvent::CustomChanged`]).
    pub fn update_custom(&self, f: impl FnOnce(Option<Value>) -> Value) {
        {
            let mut g = lock(&self.inner.state);
            let current = g.0.custom.take();
            g.0.custom = Some(f(current));
            g.1 += 1;
        }
        self.emit(&SessionEvent::CustomChanged);
    }

    /// A copy of the artifacts.
    pub fn artifacts(&self) -> Vec<Artifact> {
        lock(&self.inner.state).0.artifacts.clone().unwrap_or_default()
    }

    /// Adds artifacts: one with the name of an existing one replaces it
    /// ([`SessionEvent::ArtifactUpdated`]), others are appended
    /// ([`SessionEvent::ArtifactAdded`]).
    pub fn add_artifacts(&self, artifacts: impl IntoIterator<Item = Artifact>) {
        let mut events = Vec::new();
        {
            let mut g = lock(&self.inner.state);
            let list = g.0.artifacts.get_or_insert_with(Vec::new);
            for a in artifacts {
                let existing = a.name.as_ref().and_then(|n| list.iter().position(|e| e.name.as_ref() == Some(n)));
                match existing.and_then(|i| list.get_mut(i)) {
                    Some(slot) => {
                        *slot = a.clone();
                        events.push(SessionEvent::ArtifactUpdated(a));
                    }
                    None => {
                        list.push(a.clone());
                        events.push(SessionEvent::ArtifactAdded(a));
                    }
                }
            }
            if !events.is_empty() {
                g.1 += 1;
            }
        }
        for e in &events {
            self.emit(e);
        }
    }

    /// How many changes the state has had (JS `getVersion`): a turn compares it to decide
    /// whether there is anything to save.
    pub fn version(&self) -> u64 {
        lock(&self.inner.state).1
    }

    /// Calls `listener` on each change until the returned [`Subscription`] is dropped.
    /// Listeners run on the task making the change, after the change, in registration order.
    pub fn on_event(&self, listener: impl Fn(&Session, &SessionEvent) + Send + Sync + 'static) -> Subscription {
        let id = self.inner.next_listener.fetch_add(1, Ordering::Relaxed);
        lock(&self.inner.listeners).push((id, Arc::new(listener)));
        Subscription { session: Arc::downgrade(&self.inner), id }
    }

    fn emit(&self, event: &SessionEvent) {
        // Listeners are called outside the lock, so one may register or drop listeners.
        let listeners: Vec<Listener> = lock(&self.inner.listeners).iter().map(|(_, l)| l.clone()).collect();
        for l in listeners {
            l(self, event);
        }
    }

    /// Runs `fut` with this session as the [`current_session`] (JS `session.run`).
    pub async fn run<F: Future>(&self, fut: F) -> F::Output {
        CURRENT.scope(self.clone(), fut).await
    }
}

/// The session the calling code runs in (set by [`Session::run`]; agents run each turn in
/// theirs), e.g. for a tool that reads or changes the custom state.
///
/// # Errors
/// `FAILED_PRECONDITION` `not running within a session` outside of one.
pub fn current_session() -> Result<Session> {
    CURRENT.try_with(Session::clone).map_err(|_| Error::new(Status::FailedPrecondition, "not running within a session"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Part;
    use serde_json::json;

    #[test]
    fn a_session_takes_its_id_from_the_state_or_makes_one() {
        let s = Session::new(SessionState { session_id: Some("abc".into()), ..SessionState::default() }).unwrap();
        assert_eq!(s.session_id(), "abc");
        let s = Session::new(SessionState::default()).unwrap();
        assert_eq!(s.session_id().len(), 36);
        assert_eq!(s.state().session_id.as_deref(), Some(s.session_id()));
    }

    #[test]
    fn changes_count_versions_and_reach_listeners_until_unsubscribed() {
        let s = Session::new(SessionState::default()).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sub = {
            let seen = seen.clone();
            s.on_event(move |_, e| lock(&seen).push(e.clone()))
        };
        s.add_messages([Message::user("hi")]);
        s.update_custom(|c| {
            assert!(c.is_none());
            json!({"n": 1})
        });
        s.add_artifacts([Artifact::new("doc", vec![Part::text("v1")])]);
        s.add_artifacts([Artifact::new("doc", vec![Part::text("v2")]), Artifact::new("doc2", vec![])]);
        assert_eq!(s.version(), 4);
        assert_eq!(s.artifacts().len(), 2);
        assert_eq!(s.artifacts()[0].parts[0].as_text(), Some("v2"));
        assert_eq!(s.custom(), Some(json!({"n": 1})));
        assert_eq!(
            *lock(&seen),
            vec![
                SessionEvent::CustomChanged,
                SessionEvent::ArtifactAdded(Artifact::new("doc", vec![Part::text("v1")])),
                SessionEvent::ArtifactUpdated(Artifact::new("doc", vec![Part::text("v2")])),
                SessionEvent::ArtifactAdded(Artifact::new("doc2", vec![])),
            ]
        );
        drop(sub);
        s.update_custom(|_| json!(2));
        assert_eq!(lock(&seen).len(), 4);
    }

    #[tokio::test]
    async fn the_current_session_is_the_one_running() {
        assert_eq!(current_session().unwrap_err().status(), Status::FailedPrecondition);
        let s = Session::new(SessionState::default()).unwrap();
        let id = s.run(async { current_session().unwrap().session_id().to_owned() }).await;
        assert_eq!(id, s.session_id());
    }
}
