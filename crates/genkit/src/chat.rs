//! The chat half of [`Genkit`] (**experimental**, as Genkit's beta chat API): sessions with
//! app state and named threads, and chats on them. The types are in
//! [`genkit::experimental::chat`](crate::experimental::chat).

use genkit_ai::experimental::chat::{self, Chat, ChatOptions, ChatSession, SessionOptions};
use genkit_core::Result;

use crate::Genkit;

impl Genkit {
    /// **Experimental.** A new session (JS `ai.createSession`): its id is
    /// `opts.session_id` trimmed, else a new UUID; it starts with `opts.initial_state` and is
    /// saved to `opts.store` after each change.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
    /// use genkit::experimental::chat::{InMemorySessionDataStore, SessionOptions};
    /// use genkit::{GenerateOptions, Genkit};
    /// use serde_json::json;
    /// let g = Genkit::builder().build().await?;
    /// g.register(genkit::ai::model::testing::echo_model("echo").as_action());
    /// let store = InMemorySessionDataStore::new();
    /// let session = g.create_session(SessionOptions::new().initial_state(json!({"name": "Ada"})).store(store.clone()))?;
    /// let chat = session.chat(GenerateOptions::new().model("echo")).await?;
    /// chat.send("hi").await?;
    /// let again = g.load_session(session.id(), SessionOptions::new().store(store)).await?;
    /// assert_eq!(again.messages("main").len(), 2);
    /// assert_eq!(again.state(), Some(json!({"name": "Ada"})));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `UNAVAILABLE` when a UUID is needed and the OS has no randomness.
    pub fn create_session(&self, opts: SessionOptions) -> Result<ChatSession> {
        ChatSession::new(self.registry(), opts)
    }

    /// **Experimental.** The session `session_id` as saved in `opts.store` (JS
    /// `ai.loadSession`); an empty session with that id when the store has none.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` without a store (`options.store is required`); the store's failures.
    pub async fn load_session(&self, session_id: &str, opts: SessionOptions) -> Result<ChatSession> {
        ChatSession::load(self.registry(), session_id, opts).await
    }

    /// **Experimental.** The session the calling code runs in (JS `ai.currentSession()`):
    /// inside [`ChatSession::run`] and while a chat sends (so in its tools).
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` `not running within a session` outside of one.
    pub fn current_chat_session(&self) -> Result<ChatSession> {
        chat::current_chat_session()
    }

    /// **Experimental.** A chat in a new session (JS `ai.chat`; each call makes a new
    /// session, from `opts.session`): give it base [`GenerateOptions`](crate::GenerateOptions)
    /// (whose `system` and `messages` are the preamble), a prompt (rendered as the preamble),
    /// or full [`ChatOptions`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
    /// use genkit::{GenerateOptions, Genkit};
    /// let g = Genkit::builder().build().await?;
    /// g.register(genkit::ai::model::testing::echo_model("echo").as_action());
    /// let chat = g.chat(GenerateOptions::new().model("echo").system("Talk like a pirate.")).await?;
    /// let r = chat.send("Hello").await?;
    /// assert!(r.text().starts_with("Echo: Talk like a pirate.\nHello"));
    /// assert_eq!(chat.messages().len(), 3);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Genkit::create_session`] and [`ChatSession::chat`].
    pub async fn chat(&self, opts: impl Into<ChatOptions>) -> Result<Chat> {
        let mut opts = opts.into();
        let session = self.create_session(std::mem::take(&mut opts.session))?;
        session.chat(opts).await
    }
}
