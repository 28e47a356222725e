//! **Experimental**: sessions with app state and named chat threads, and chats on them
//! (Genkit's beta `ai.createSession` / `ai.loadSession` / `ai.chat` API, JS
//! `js/ai/src/session.ts` and `chat.ts`; Go `core/x/session`), built on the agents'
//! session state model.
//!
//! - [`ChatSession`]: app state plus named threads of messages, saved after every change to
//!   a [`SessionDataStore`] as [`SessionData`] `{id, state?, threads?}`.
//! - [`Chat`]: a conversation on one thread: [`Chat::send`] generates with the chat's
//!   preamble and the thread's history and saves the new history.
//! - Stores: [`InMemorySessionDataStore`], and [`SnapshotSessionDataStore`], which keeps chat
//!   sessions in any snapshot [`SessionStore`](crate::experimental::session::SessionStore)
//!   (in memory, file, PostgreSQL, Redis), mapped as [`SessionData::into_state`] says.
//!
//! A chat session's state lives in an agents' [`Session`](crate::experimental::session::Session)
//! ([`ChatSession::live`]): the app state is its `custom` value, the main thread its
//! messages. Prompts rendered inside a session (a chat's preamble, prompts a tool calls, code
//! in [`ChatSession::run`]) read the app state as `@state` (and `PromptCx::state` in prompt
//! functions), the same way they read an agent's custom state.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit_core::Result<()> {
//! use genkit_ai::experimental::chat::{ChatOptions, ChatSession, InMemorySessionDataStore, SessionOptions};
//! use genkit_ai::generate::GenerateOptions;
//! let registry = genkit_core::Registry::new();
//! registry.register_action(genkit_ai::model::testing::echo_model("test/echo").as_action())?;
//! let store = InMemorySessionDataStore::new();
//! let session = ChatSession::new(&registry, SessionOptions::new().store(store.clone()))?;
//! let pirate = session
//!     .chat(ChatOptions::from(GenerateOptions::new().model("test/echo").system("Talk like a pirate.")).thread("pirate"))
//!     .await?;
//! pirate.send("hi").await?;
//! // Later, maybe in another process sharing the store:
//! let session = ChatSession::load(&registry, session.id(), SessionOptions::new().store(store)).await?;
//! let pirate = session.chat(ChatOptions::new().thread("pirate")).await?;
//! assert_eq!(pirate.messages().len(), 3); // system, user, model
//! # Ok(()) }
//! ```

#[allow(clippy::module_inception)]
mod chat;
mod data;
mod session;
mod store;
#[cfg(test)]
mod tests;

pub use chat::{Chat, ChatOptions, SESSION_ID_ATTR, THREAD_NAME_ATTR};
pub use data::{MAIN_THREAD, SessionData, THREAD_ARTIFACT_KEY};
pub use session::{ChatSession, SessionOptions, current_chat_session};
pub use store::{InMemorySessionDataStore, SessionDataStore, SnapshotSessionDataStore};
