//! [`Chat`]: a conversation on one thread of a [`ChatSession`] (JS `Chat`), and
//! [`ChatOptions`], how one starts (JS `ChatOptions`).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use genkit_core::{ActionStream, Result};
use serde_json::Value;

use super::data::{is_preamble, tag_as_preamble};
use super::{ChatSession, MAIN_THREAD, SessionOptions};
use crate::generate::{GenerateOptions, GenerateStream, generate};
use crate::prompt::ExecutablePrompt;
use crate::{GenerateResponse, Message, Role};

/// The span attribute naming the session a chat `send` runs in.
pub const SESSION_ID_ATTR: &str = "genkit:sessionId";
/// The span attribute naming the thread a chat `send` runs on.
pub const THREAD_NAME_ATTR: &str = "genkit:threadName";

/// How a chat starts (JS `ChatOptions` and the thread and preamble arguments of
/// `session.chat`): the thread, the preamble, and the base generate options every `send`
/// starts from.
///
/// The preamble is either a prompt, rendered with [`ChatOptions::input`] and the base options
/// laid over it, or the base options' `system` and `messages`. Either way its messages are
/// tagged `metadata.preamble = true` and always lead the conversation: a chat on a thread
/// that already has a preamble replaces it.
///
/// Convert from [`GenerateOptions`] (the base options) or a prompt (the preamble):
///
/// ```
/// use genkit_ai::experimental::chat::ChatOptions;
/// use genkit_ai::generate::GenerateOptions;
/// let opts = ChatOptions::from(GenerateOptions::new().model("test/echo").system("Talk like a pirate."))
///     .thread("pirate");
/// assert_eq!(opts.thread.as_deref(), Some("pirate"));
/// ```
#[derive(Clone, Default)]
pub struct ChatOptions {
    /// The thread (default [`MAIN_THREAD`]).
    pub thread: Option<String>,
    /// A prompt rendered as the preamble.
    pub preamble: Option<ExecutablePrompt>,
    /// The input the preamble prompt is rendered with.
    pub input: Option<Value>,
    /// The generate options every `send` starts from (JS `BaseGenerateOptions`); without a
    /// preamble prompt, their `system` and `messages` are the preamble. A `prompt` here is
    /// the chat's first user message.
    pub base: GenerateOptions,
    /// The session a chat made by `Genkit::chat` creates (its id, initial state and store);
    /// not used by [`ChatSession::chat`].
    pub session: SessionOptions,
}

impl fmt::Debug for ChatOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatOptions")
            .field("thread", &self.thread)
            .field("preamble", &self.preamble)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl ChatOptions {
    /// A chat on the main thread with no preamble and empty base options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the thread.
    #[must_use]
    pub fn thread(mut self, thread: impl Into<String>) -> Self {
        self.thread = Some(thread.into());
        self
    }

    /// Sets the preamble prompt.
    #[must_use]
    pub fn preamble<I, O>(mut self, prompt: &ExecutablePrompt<I, O>) -> Self {
        self.preamble = Some(prompt.typed());
        self
    }

    /// Sets the input of the preamble prompt.
    #[must_use]
    pub fn input(mut self, input: Value) -> Self {
        self.input = Some(input);
        self
    }

    /// Sets the base generate options.
    #[must_use]
    pub fn options(mut self, base: GenerateOptions) -> Self {
        self.base = base;
        self
    }

    /// Sets the options of the session `Genkit::chat` creates.
    #[must_use]
    pub fn session(mut self, session: SessionOptions) -> Self {
        self.session = session;
        self
    }
}

impl From<GenerateOptions> for ChatOptions {
    fn from(base: GenerateOptions) -> Self {
        ChatOptions::new().options(base)
    }
}

impl<I, O> From<&ExecutablePrompt<I, O>> for ChatOptions {
    fn from(prompt: &ExecutablePrompt<I, O>) -> Self {
        ChatOptions::new().preamble(prompt)
    }
}

/// What a chat keeps between sends.
struct ChatState {
    /// The base options (the preamble, moved into `messages`, is not kept here).
    base: GenerateOptions,
    /// The conversation so far (preamble first).
    messages: Vec<Message>,
}

struct ChatInner {
    session: ChatSession,
    thread: String,
    state: Mutex<ChatState>,
    /// One send at a time: each continues the conversation the previous one left.
    turn: tokio::sync::Mutex<()>,
}

/// A conversation on one thread of a [`ChatSession`] (JS `Chat`): each
/// [`send`](Chat::send) generates with the preamble and the thread's history, then saves
/// the new history to the session. Cheap to clone: clones are the same chat.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit_core::Result<()> {
/// use genkit_ai::experimental::chat::{ChatSession, SessionOptions};
/// use genkit_ai::generate::GenerateOptions;
/// let registry = genkit_core::Registry::new();
/// registry.register_action(genkit_ai::model::testing::echo_model("test/echo").as_action())?;
/// let session = ChatSession::new(&registry, SessionOptions::new())?;
/// let chat = session.chat(GenerateOptions::new().model("test/echo").system("Be brief.")).await?;
/// chat.send("hi").await?;
/// let r = chat.send("again").await?;
/// // The echo model answers with the text of every message sent: preamble, history, new message.
/// assert!(r.text().starts_with("Echo: Be brief.\nhi\nEcho: Be brief.\nhi"));
/// assert!(r.text().contains("\nagain"));
/// assert_eq!(session.messages("main").len(), 5);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Chat {
    inner: Arc<ChatInner>,
}

impl fmt::Debug for Chat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chat")
            .field("session_id", &self.session_id())
            .field("thread", &self.inner.thread)
            .finish_non_exhaustive()
    }
}

// Every update under this lock is one assignment, so a poisoned lock still holds whole values.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Chat {
    pub(super) async fn new(session: ChatSession, opts: ChatOptions) -> Result<Chat> {
        let ChatOptions { thread, preamble, input, base, session: _ } = opts;
        let thread = thread.unwrap_or_else(|| MAIN_THREAD.to_owned());
        let mut base = match preamble {
            Some(prompt) => session.run(prompt.render_with(input.unwrap_or(Value::Null), base)).await?,
            None => base,
        };
        // The preamble: a `system` option (left by the caller, or laid over a rendered
        // prompt) first, then the messages.
        let mut preamble = Vec::with_capacity(base.messages.len() + 1);
        if let Some(system) = base.system.take() {
            preamble.push(Message::new(Role::System, system.0));
        }
        preamble.append(&mut base.messages);
        // A prompt in the base options is the first user message (JS does the same).
        let first = base.prompt.take().map(|p| Message::new(Role::User, p.0));
        let history = session.messages(&thread);
        let mut messages = if preamble.is_empty() {
            history
        } else {
            let mut m = tag_as_preamble(preamble);
            m.extend(history.into_iter().filter(|m| !is_preamble(m)));
            m
        };
        messages.extend(first);
        Ok(Chat {
            inner: Arc::new(ChatInner {
                session,
                thread,
                state: Mutex::new(ChatState { base, messages }),
                turn: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        self.inner.session.id()
    }

    /// The thread name.
    pub fn thread(&self) -> &str {
        &self.inner.thread
    }

    /// The session this chat belongs to.
    pub fn session(&self) -> &ChatSession {
        &self.inner.session
    }

    /// The conversation so far, preamble first (JS `chat.messages`).
    pub fn messages(&self) -> Vec<Message> {
        lock(&self.inner.state).messages.clone()
    }

    /// Sends a message and generates the answer (JS `chat.send`): a string, parts, or full
    /// [`GenerateOptions`] (whose set fields override the chat's base options; non-empty
    /// `messages` replace the history for this send). Runs inside the session, in a span
    /// `send` of type `helper` with the attributes `genkit:sessionId` and
    /// `genkit:threadName`. Afterwards the response's messages are the thread's history,
    /// saved to the session, and the request's `toolChoice` and `config` become the base for
    /// the next send. Sends on one chat run one at a time.
    ///
    /// # Errors
    /// As `generate`; the session store's failures.
    pub async fn send(&self, opts: impl Into<GenerateOptions>) -> Result<GenerateResponse> {
        let opts = opts.into();
        let session = &self.inner.session;
        let _turn = self.inner.turn.lock().await;
        let prompt = opts.prompt.clone();
        let input = move || prompt.map(|p| serde_json::to_string(&p.0).unwrap_or_default());
        let request = {
            let s = lock(&self.inner.state);
            overlay(s.base.clone(), s.messages.clone(), opts)
        };
        let telemetry = session.registry().telemetry();
        let labels = [(SESSION_ID_ATTR, session.id()), (THREAD_NAME_ATTR, self.inner.thread.as_str())];
        let fut = async {
            let response = generate(session.registry(), request).await?;
            let history = response.messages()?;
            {
                let mut s = lock(&self.inner.state);
                if let Some(req) = &response.request {
                    s.base.tool_choice = req.tool_choice;
                    s.base.config.clone_from(&req.config);
                }
                s.messages.clone_from(&history);
            }
            session.update_messages(&self.inner.thread, history).await?;
            Ok(response)
        };
        session.run(genkit_core::run_span_with_labels(&telemetry, "send", "helper", &labels, input, fut)).await
    }

    /// [`Chat::send`], streaming (JS `chat.sendStream`): iterate the chunks, then
    /// `.output()` for the response.
    pub fn send_stream(&self, opts: impl Into<GenerateOptions>) -> GenerateStream {
        let chat = self.clone();
        let mut opts = opts.into();
        ActionStream::new(move |sink| async move {
            opts.on_chunk = Some(sink);
            chat.send(opts).await
        })
    }
}

/// The request of a send: the base options with the conversation as messages, then every
/// option the send sets laid over them (JS `{...requestBase, messages, ...sendOptions}`).
fn overlay(base: GenerateOptions, messages: Vec<Message>, send: GenerateOptions) -> GenerateOptions {
    fn list<T>(send: Vec<T>, base: Vec<T>) -> Vec<T> {
        if send.is_empty() { base } else { send }
    }
    let GenerateOptions {
        model,
        system,
        prompt,
        messages: send_messages,
        docs,
        tools,
        resources,
        tool_choice,
        return_tool_requests,
        max_turns,
        config,
        output,
        resume,
        middleware,
        context,
        cancellation,
        step_name,
        on_chunk,
        metadata,
    } = send;
    GenerateOptions {
        model: model.or(base.model),
        system: system.or(base.system),
        prompt: prompt.or(base.prompt),
        messages: list(send_messages, messages),
        docs: list(docs, base.docs),
        tools: list(tools, base.tools),
        resources: list(resources, base.resources),
        tool_choice: tool_choice.or(base.tool_choice),
        return_tool_requests: return_tool_requests.or(base.return_tool_requests),
        max_turns: max_turns.or(base.max_turns),
        config: config.or(base.config),
        output: output.or(base.output),
        resume: resume.or(base.resume),
        middleware: list(middleware, base.middleware),
        context: context.or(base.context),
        cancellation: cancellation.or(base.cancellation),
        step_name: step_name.or(base.step_name),
        on_chunk: on_chunk.or(base.on_chunk),
        metadata: metadata.or(base.metadata),
    }
}
