//! [`ChatSession`]: a session with app state and named chat threads (JS `Session` of
//! `ai.createSession`), built on the agents' live [`Session`]: its `custom` value is the app
//! state and its messages the main thread.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use genkit_core::{ActionContext, Error, Registry, Result, Status, current_context};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Chat, ChatOptions, MAIN_THREAD, SessionData, SessionDataStore};
use crate::Message;
use crate::experimental::session::{Session, SessionState};

/// How to create or load a [`ChatSession`] (JS `SessionOptions`).
///
/// ```
/// use genkit_ai::experimental::chat::{InMemorySessionDataStore, SessionOptions};
/// let opts = SessionOptions::new()
///     .session_id("s1")
///     .initial_state(serde_json::json!({"name": "Ada"}))
///     .store(InMemorySessionDataStore::new());
/// assert_eq!(opts.session_id.as_deref(), Some("s1"));
/// ```
#[derive(Clone, Default)]
pub struct SessionOptions {
    /// The session id (trimmed; a new UUID when absent or blank).
    pub session_id: Option<String>,
    /// The app state the session starts with.
    pub initial_state: Option<Value>,
    /// Where the session is saved; without one, nothing is persisted.
    pub store: Option<Arc<dyn SessionDataStore>>,
}

impl fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionOptions")
            .field("session_id", &self.session_id)
            .field("initial_state", &self.initial_state)
            .field("store", &self.store.is_some())
            .finish()
    }
}

impl SessionOptions {
    /// No id, state or store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the session id.
    #[must_use]
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// Sets the initial app state.
    #[must_use]
    pub fn initial_state(mut self, state: Value) -> Self {
        self.initial_state = Some(state);
        self
    }

    /// Sets the store (any [`SessionDataStore`]; use [`SnapshotSessionDataStore`] for a
    /// snapshot store).
    ///
    /// [`SnapshotSessionDataStore`]: super::SnapshotSessionDataStore
    #[must_use]
    pub fn store(mut self, store: impl SessionDataStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Sets a shared store.
    #[must_use]
    pub fn store_arc(mut self, store: Arc<dyn SessionDataStore>) -> Self {
        self.store = Some(store);
        self
    }
}

struct Inner {
    registry: Registry,
    live: Session,
    /// Threads other than [`MAIN_THREAD`], which lives in `live`'s messages.
    threads: Mutex<BTreeMap<String, Vec<Message>>>,
    store: Option<Arc<dyn SessionDataStore>>,
    /// Orders saves: each save writes the data as it is when the save starts, so saves must
    /// reach the store in the order they were made. An async lock, because the store call
    /// is awaited while it is held.
    save_order: tokio::sync::Mutex<()>,
}

/// A session: app state and named chat threads, saved to a [`SessionDataStore`] after each
/// change (JS `Session` of the beta chat API). Cheap to clone: clones are the same session.
///
/// The state lives in the agents' live [`Session`] ([`ChatSession::live`]): the app state is
/// its `custom` value and the main thread its messages. While a chat sends, and inside
/// [`ChatSession::run`], that session is the [`current_session`], so prompts rendered there
/// read the app state as `@state` and tools may change it with
/// [`Session::update_custom`] (saved with the next change).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit_core::Result<()> {
/// use genkit_ai::experimental::chat::{ChatSession, InMemorySessionDataStore, SessionOptions};
/// use serde_json::json;
/// let registry = genkit_core::Registry::new();
/// let store = InMemorySessionDataStore::new();
/// let session = ChatSession::new(&registry, SessionOptions::new().store(store.clone()))?;
/// session.update_state(json!({"name": "Ada"})).await?;
/// let loaded = ChatSession::load(&registry, session.id(), SessionOptions::new().store(store)).await?;
/// assert_eq!(loaded.state(), Some(json!({"name": "Ada"})));
/// # Ok(()) }
/// ```
///
/// [`current_session`]: crate::experimental::session::current_session
#[derive(Clone)]
pub struct ChatSession {
    inner: Arc<Inner>,
}

impl fmt::Debug for ChatSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatSession").field("id", &self.id()).finish_non_exhaustive()
    }
}

tokio::task_local! {
    static CURRENT: ChatSession;
}

// Every update under this lock is one assignment, so a poisoned lock still holds whole values.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ChatSession {
    /// A new session (JS `ai.createSession`): its id is `opts.session_id` trimmed, else a new
    /// UUID. Nothing is saved until the first change.
    ///
    /// # Errors
    /// `UNAVAILABLE` when a UUID is needed and the OS has no randomness.
    pub fn new(registry: &Registry, opts: SessionOptions) -> Result<ChatSession> {
        let id = match opts.session_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(id) => id.to_owned(),
            None => genkit_core::id::uuid_v4()?,
        };
        let mut data = SessionData::new(id);
        data.state = opts.initial_state;
        ChatSession::from_data(registry, data, opts.store)
    }

    /// The session `session_id` as saved in `opts.store` (JS `ai.loadSession`); an empty
    /// session with that id when the store has none. `opts.initial_state` and
    /// `opts.session_id` are not used.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` without a store; the store's failures.
    pub async fn load(registry: &Registry, session_id: &str, opts: SessionOptions) -> Result<ChatSession> {
        let Some(store) = opts.store else {
            return Err(Error::invalid_argument(
                "options.store is required: loading a session needs the store it was saved in (SessionOptions::store)",
            ));
        };
        let cx = current_context().unwrap_or_default();
        let data = store.get(session_id, &cx).await?.unwrap_or_else(|| SessionData::new(session_id));
        ChatSession::from_data(registry, SessionData { id: session_id.to_owned(), ..data }, Some(store))
    }

    fn from_data(registry: &Registry, data: SessionData, store: Option<Arc<dyn SessionDataStore>>) -> Result<Self> {
        let mut threads = data.threads.unwrap_or_default();
        let main = threads.remove(MAIN_THREAD);
        let live = Session::new(SessionState {
            session_id: Some(data.id),
            messages: main,
            custom: data.state,
            artifacts: None,
        })?;
        Ok(ChatSession {
            inner: Arc::new(Inner {
                registry: registry.clone(),
                live,
                threads: Mutex::new(threads),
                store,
                save_order: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The session id.
    pub fn id(&self) -> &str {
        self.inner.live.session_id()
    }

    /// The registry chats of this session generate with.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The agents' live session holding this session's state and main thread.
    pub fn live(&self) -> &Session {
        &self.inner.live
    }

    /// A copy of the app state (JS `session.state`).
    pub fn state(&self) -> Option<Value> {
        self.inner.live.custom()
    }

    /// The app state deserialized into `T`; `None` when there is none.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when the state does not fit `T`.
    pub fn state_as<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        self.state()
            .map(|v| {
                serde_json::from_value(v).map_err(|e| {
                    Error::invalid_argument(format!("the session state does not fit the requested type: {e}"))
                })
            })
            .transpose()
    }

    /// Replaces the app state and saves the session (JS `updateState`, which merges the
    /// top-level keys of an object instead; Go replaces, as here).
    ///
    /// # Errors
    /// The store's failures.
    pub async fn update_state(&self, state: Value) -> Result<()> {
        self.inner.live.update_custom(|_| state);
        self.save().await
    }

    /// A copy of a thread's messages (empty for a thread without any).
    pub fn messages(&self, thread: &str) -> Vec<Message> {
        if thread == MAIN_THREAD {
            self.inner.live.messages()
        } else {
            lock(&self.inner.threads).get(thread).cloned().unwrap_or_default()
        }
    }

    /// Replaces a thread's messages and saves the session (JS `updateMessages`).
    ///
    /// # Errors
    /// The store's failures.
    pub async fn update_messages(&self, thread: &str, messages: Vec<Message>) -> Result<()> {
        if thread == MAIN_THREAD {
            self.inner.live.set_messages(messages);
        } else {
            lock(&self.inner.threads).insert(thread.to_owned(), messages);
        }
        self.save().await
    }

    /// The session data: `{id, state?, threads}` (JS `toJSON`).
    pub fn to_json(&self) -> SessionData {
        let mut threads = lock(&self.inner.threads).clone();
        let live = self.inner.live.state();
        if let Some(main) = live.messages {
            threads.insert(MAIN_THREAD.to_owned(), main);
        }
        SessionData { id: self.id().to_owned(), state: live.custom, threads: Some(threads) }
    }

    /// Saves the whole session data to the store, if there is one.
    async fn save(&self) -> Result<()> {
        let Some(store) = &self.inner.store else { return Ok(()) };
        let _order = self.inner.save_order.lock().await;
        let data = self.to_json();
        let cx: ActionContext = current_context().unwrap_or_default();
        store.save(self.id(), &data, &cx).await
    }

    /// Runs `fut` inside this session (JS `session.run`): [`current_chat_session`] returns it
    /// and the agents' [`current_session`](crate::experimental::session::current_session)
    /// returns [`ChatSession::live`], so prompts rendered in `fut` read the state as `@state`.
    pub async fn run<F: Future>(&self, fut: F) -> F::Output {
        CURRENT.scope(self.clone(), self.inner.live.run(fut)).await
    }

    /// A chat on a thread of this session (JS `session.chat`): the thread named in `opts`
    /// (default [`MAIN_THREAD`]) continues from its saved messages, with the preamble and
    /// base generate options of `opts`. A prompt preamble is rendered now, inside this
    /// session.
    ///
    /// # Errors
    /// The preamble prompt's render errors.
    pub async fn chat(&self, opts: impl Into<ChatOptions>) -> Result<Chat> {
        Chat::new(self.clone(), opts.into()).await
    }
}

/// The chat session the calling code runs in (JS `ai.currentSession()`): inside
/// [`ChatSession::run`] and while a [`Chat`] sends (so in its tools).
///
/// # Errors
/// `FAILED_PRECONDITION` `not running within a session` outside of one.
pub fn current_chat_session() -> Result<ChatSession> {
    CURRENT
        .try_with(ChatSession::clone)
        .map_err(|_| Error::new(Status::FailedPrecondition, "not running within a session"))
}
