//! The agent half of [`Genkit`] (**experimental**, as every Genkit runtime marks agents):
//! define prompt-backed and custom agents. The types live in [`crate::experimental::agent`].
//!
//! An agent handle gives a typed in-process client: `agent.chat()` (a multi-turn
//! [`AgentChat`](crate::experimental::agent::AgentChat): `send`, `send_stream`, `resume`,
//! `detach` → poll / wait / abort) and `agent.client()` (an
//! [`AgentClient`](crate::experimental::agent::AgentClient): `load_chat`, `get_snapshot`,
//! `abort`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use futures::StreamExt;
//! use genkit::experimental::agent::{AgentOptions, GetSnapshotRequest};
//! use genkit::experimental::session::{InMemorySessionStore, SessionStore};
//! use genkit::{Genkit, PromptConfig};
//!
//! let g = Genkit::builder().build().await?;
//! g.register(genkit::ai::model::testing::echo_model("echo").as_action());
//! let store: Arc<dyn SessionStore> = Arc::new(InMemorySessionStore::new());
//! let agent = g.define_agent(PromptConfig::new("helper").model("echo"), AgentOptions::default().store(store));
//!
//! let mut chat = agent.chat()?;
//! let answer = chat.send("hi").await?;
//! assert_eq!(answer.text(), "Echo: hi; config: {}");
//!
//! let mut turn = chat.send_stream("more");
//! while let Some(chunk) = turn.next().await {
//!     let _text = chunk?.text();
//! }
//! let snapshot = turn.response().await?.snapshot_id().map(str::to_owned);
//!
//! // A turn in the background: wait for it (or abort it).
//! let task = chat.detach("later").await?;
//! task.wait(Duration::from_millis(10)).await?;
//!
//! // Another chat continuing from an earlier snapshot.
//! let client = agent.client()?;
//! let request = GetSnapshotRequest::snapshot(snapshot.unwrap_or_default());
//! let mut resumed = client.load_chat(request).await?;
//! assert_eq!(resumed.messages().len(), 4);
//! resumed.send("again").await?;
//! # Ok(()) }
//! ```

use std::future::Future;

use genkit_ai::experimental::agent::{self, Agent, AgentFnCx, AgentOptions, AgentResult, SessionRunner};
use genkit_ai::prompt::PromptConfig;
use genkit_core::Result;

use crate::Genkit;

impl Genkit {
    /// Defines a prompt and an agent backed by it (JS `ai.defineAgent`): registers
    /// `/prompt/<name>`, `/executable-prompt/<name>` and the agent's `/agent/<name>`,
    /// `/agent-snapshot/<name>` and `/agent-abort/<name>`. Each turn renders the prompt with
    /// the conversation as history and generates. **Experimental.**
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
    /// use genkit::experimental::agent::{AgentInit, AgentInput, AgentOptions};
    /// use genkit::{Genkit, Message, PromptConfig};
    /// let g = Genkit::builder().build().await?;
    /// g.register(genkit::ai::model::testing::echo_model("echo").as_action());
    /// let agent = g.define_agent(PromptConfig::new("helper").model("echo"), AgentOptions::default());
    /// let input = AgentInput { message: Some(Message::user("hi")), ..AgentInput::default() };
    /// let out = agent.run(&AgentInit::default(), vec![input]).await?;
    /// assert_eq!(out.message.unwrap().text(), "Echo: hi; config: {}");
    /// assert_eq!(out.state.unwrap().messages.unwrap().len(), 2); // client-managed state
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    /// When called while an action runs, like [`Genkit::register`], or with an invalid
    /// state schema.
    pub fn define_agent(&self, prompt: PromptConfig, opts: AgentOptions) -> Agent {
        crate::genkit::or_panic(agent::define_agent(self.registry(), prompt, opts))
    }

    /// Defines an agent backed by the existing prompt `prompt_name` (JS
    /// `ai.definePromptAgent`); the agent takes the prompt's name. **Experimental.**
    ///
    /// # Panics
    /// As [`Genkit::define_agent`].
    pub fn define_prompt_agent(&self, prompt_name: &str, opts: AgentOptions) -> Agent {
        crate::genkit::or_panic(agent::define_prompt_agent(self.registry(), prompt_name, opts))
    }

    /// Defines a custom agent (JS `ai.defineCustomAgent`): `f` receives the run's
    /// [`SessionRunner`] and an [`AgentFnCx`], runs its turns with [`SessionRunner::run`] and
    /// returns the [`AgentResult`]. **Experimental.**
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
    /// use genkit::experimental::agent::{AgentInit, AgentInput, AgentOptions, AgentResult, TurnResult};
    /// use genkit::{Genkit, Message};
    /// let g = Genkit::builder().build().await?;
    /// let counter = g.define_custom_agent(AgentOptions::new("counter"), |sess, _cx| async move {
    ///     sess.run(|_input, _turn| {
    ///         let sess = sess.clone();
    ///         async move {
    ///             let n = sess.custom().and_then(|c| c.as_i64()).unwrap_or(0);
    ///             sess.update_custom(|_| serde_json::json!(n + 1));
    ///             Ok(TurnResult::default())
    ///         }
    ///     })
    ///     .await?;
    ///     Ok(AgentResult { message: Some(Message::model("counted")), ..AgentResult::default() })
    /// });
    /// let turn = || AgentInput { message: Some(Message::user("+1")), ..AgentInput::default() };
    /// let out = counter.run(&AgentInit::default(), vec![turn(), turn()]).await?;
    /// assert_eq!(out.state.unwrap().custom, Some(serde_json::json!(2)));
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    /// As [`Genkit::define_agent`].
    pub fn define_custom_agent<F, Fut>(&self, opts: AgentOptions, f: F) -> Agent
    where
        F: Fn(SessionRunner, AgentFnCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<AgentResult>> + Send + 'static,
    {
        crate::genkit::or_panic(agent::define_custom_agent(self.registry(), opts, f))
    }
}
