//! The typed agent client (JS `createAgentAPI` / `AgentChat`): multi-turn chats with an agent
//! served in this process (over the registry's `/agent/<name>` bidi action) or remotely (see
//! [`super::remote`]), through one [`AgentTransport`].
//!
//! ```no_run
//! # async fn demo(registry: genkit_core::Registry) -> genkit_core::Result<()> {
//! use futures::StreamExt;
//! use genkit_ai::experimental::agent::AgentClient;
//!
//! let agent = AgentClient::in_process(registry, "assistant");
//! let mut chat = agent.chat();
//! let answer = chat.send("Hello!").await?;
//! println!("{}", answer.text());
//!
//! let mut turn = chat.send_stream("Tell me more.");
//! while let Some(chunk) = turn.next().await {
//!     print!("{}", chunk?.text());
//! }
//! let answer = turn.response().await?;
//! println!("snapshot: {:?}", answer.snapshot_id());
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::{BoxFuture, Either};
use futures::stream::BoxStream;
use futures::{FutureExt, Stream, StreamExt};
use genkit_core::{Action, ActionContext, ActionResult, Error, Registry, Result, RunOptions, Status};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::{
    AgentAbortRequest, AgentAbortResponse, AgentInit, AgentInput, AgentOutput, AgentResume, AgentStateManagement,
    AgentStreamChunk, GetSnapshotRequest,
};
use crate::experimental::session::{AgentFinishReason, Artifact, SessionSnapshot, SessionState, SnapshotStatus};
use crate::{Media, Message, Part};

/// One event of a turn as a transport delivers it: chunks, then exactly one output last.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnEvent {
    /// A chunk of the agent's stream.
    Chunk(Box<AgentStreamChunk>),
    /// The run's output; nothing follows it.
    Output(Box<AgentOutput>),
}

/// The events of one turn: [`TurnEvent::Chunk`]s, then a [`TurnEvent::Output`] (or an error).
pub type TurnEvents = BoxStream<'static, Result<TurnEvent>>;

/// How an [`AgentClient`] reaches an agent (JS `AgentTransport`): in process
/// ([`RegistryAgentTransport`]) or over HTTP ([`super::remote::RemoteAgentTransport`]).
/// Object safe; implement it to reach agents another way.
pub trait AgentTransport: Send + Sync + 'static {
    /// Who keeps the agent's state, when the transport knows (else the first output tells).
    fn state_management(&self) -> Option<AgentStateManagement>;

    /// Runs one turn: `input` is the only item of the agent's input stream, `init` its init.
    /// When `cancel` fires, the run stops (the stream then ends, with or without an output).
    fn run_turn(&self, input: AgentInput, init: AgentInit, cancel: CancellationToken) -> TurnEvents;

    /// The snapshot a request names (`/agent-snapshot/<name>`), `None` when there is none.
    fn get_snapshot(&self, request: GetSnapshotRequest) -> BoxFuture<'static, Result<Option<SessionSnapshot>>>;

    /// Aborts the (detached) turn writing `snapshot_id` (`/agent-abort/<name>`); returns the
    /// snapshot's status before the abort.
    fn abort(&self, snapshot_id: String) -> BoxFuture<'static, Result<Option<SnapshotStatus>>>;
}

impl From<&str> for AgentInput {
    /// A user message with this text.
    fn from(text: &str) -> Self {
        AgentInput { message: Some(Message::user(text)), ..AgentInput::default() }
    }
}

impl From<String> for AgentInput {
    /// A user message with this text.
    fn from(text: String) -> Self {
        AgentInput { message: Some(Message::user(text)), ..AgentInput::default() }
    }
}

impl From<Message> for AgentInput {
    /// This message.
    fn from(message: Message) -> Self {
        AgentInput { message: Some(message), ..AgentInput::default() }
    }
}

impl From<AgentResume> for AgentInput {
    /// Resumes an interrupted turn.
    fn from(resume: AgentResume) -> Self {
        AgentInput { resume: Some(resume), ..AgentInput::default() }
    }
}

/// The client side of an agent (JS `createAgentAPI(transport)` and the `chat` / `loadChat` /
/// `getSnapshot` / `abort` methods of an agent or `remoteAgent`). Cheap to clone.
#[derive(Clone)]
pub struct AgentClient {
    transport: Arc<dyn AgentTransport>,
}

impl fmt::Debug for AgentClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentClient").field("state_management", &self.transport.state_management()).finish()
    }
}

impl AgentClient {
    /// A client over any transport.
    pub fn new(transport: impl AgentTransport) -> AgentClient {
        AgentClient { transport: Arc::new(transport) }
    }

    /// A client over a shared transport.
    pub fn from_arc(transport: Arc<dyn AgentTransport>) -> AgentClient {
        AgentClient { transport }
    }

    /// A client of the agent `name` registered in `registry` (its `/agent/<name>`,
    /// `/agent-snapshot/<name>` and `/agent-abort/<name>` actions).
    pub fn in_process(registry: Registry, name: impl Into<String>) -> AgentClient {
        AgentClient::new(RegistryAgentTransport::new(registry, name))
    }

    /// The transport.
    pub fn transport(&self) -> &Arc<dyn AgentTransport> {
        &self.transport
    }

    /// A new conversation (JS `chat()`): a fresh session.
    pub fn chat(&self) -> AgentChat {
        self.chat_with(AgentInit::default())
    }

    /// A conversation starting from `init` (JS `chat(init)`): a snapshot or session id of a
    /// server-managed agent, or client-managed state.
    pub fn chat_with(&self, init: AgentInit) -> AgentChat {
        AgentChat::new(self.transport.clone(), init)
    }

    /// A conversation continuing a stored snapshot (JS `loadChat`): its messages, artifacts
    /// and state are loaded at once.
    ///
    /// # Errors
    /// `NOT_FOUND` "Snapshot … not found." when there is none; the transport's errors.
    pub async fn load_chat(&self, request: GetSnapshotRequest) -> Result<AgentChat> {
        let what = match (&request.snapshot_id, &request.session_id) {
            (Some(id), _) => id.clone(),
            (None, Some(s)) => format!("session {s}"),
            (None, None) => String::from("(none)"),
        };
        let snapshot = self
            .transport
            .get_snapshot(request)
            .await?
            .ok_or_else(|| Error::not_found(format!("Snapshot {what} not found.")))?;
        let mut chat = AgentChat::new(self.transport.clone(), AgentInit::default());
        chat.snapshot_id = Some(snapshot.snapshot_id.clone());
        chat.hydrate(snapshot.state);
        Ok(chat)
    }

    /// The snapshot a request names (JS `getSnapshot`), `None` when there is none.
    ///
    /// # Errors
    /// The transport's errors (`INVALID_ARGUMENT` for a request naming neither id).
    pub async fn get_snapshot(&self, request: GetSnapshotRequest) -> Result<Option<SessionSnapshot>> {
        self.transport.get_snapshot(request).await
    }

    /// Aborts the detached turn writing `snapshot_id` (JS `abort`); returns the snapshot's
    /// status before the abort.
    ///
    /// # Errors
    /// The transport's errors (`FAILED_PRECONDITION` for agents without a store).
    pub async fn abort(&self, snapshot_id: impl Into<String>) -> Result<Option<SnapshotStatus>> {
        self.transport.abort(snapshot_id.into()).await
    }
}

/// Snapshot lookups by id, for [`AgentClient::load_chat`] and [`AgentClient::get_snapshot`].
impl GetSnapshotRequest {
    /// The snapshot with this id.
    pub fn snapshot(id: impl Into<String>) -> GetSnapshotRequest {
        GetSnapshotRequest { snapshot_id: Some(id.into()), ..GetSnapshotRequest::default() }
    }

    /// The latest snapshot of this session.
    pub fn session(id: impl Into<String>) -> GetSnapshotRequest {
        GetSnapshotRequest { session_id: Some(id.into()), ..GetSnapshotRequest::default() }
    }
}

impl AgentInit {
    /// Continues from a snapshot (server-managed agents).
    pub fn from_snapshot(id: impl Into<String>) -> AgentInit {
        AgentInit { snapshot_id: Some(id.into()), ..AgentInit::default() }
    }

    /// Continues (or starts) a session (server-managed agents).
    pub fn from_session(id: impl Into<String>) -> AgentInit {
        AgentInit { session_id: Some(id.into()), ..AgentInit::default() }
    }

    /// Continues from state the client kept (client-managed agents).
    pub fn from_state(state: SessionState) -> AgentInit {
        AgentInit { state: Some(state), ..AgentInit::default() }
    }
}

/// A conversation with an agent (JS `AgentChat`). Each turn continues where the last one
/// left off: for a server-managed agent the chat sends the last snapshot id, for a
/// client-managed one the whole state it got back.
pub struct AgentChat {
    transport: Arc<dyn AgentTransport>,
    connect_init: AgentInit,
    state_management: Option<AgentStateManagement>,
    snapshot_id: Option<String>,
    session_id: Option<String>,
    messages: Vec<Message>,
    artifacts: Vec<Artifact>,
    client_state: Option<SessionState>,
}

impl fmt::Debug for AgentChat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentChat")
            .field("snapshot_id", &self.snapshot_id)
            .field("session_id", &self.session_id)
            .field("messages", &self.messages.len())
            .field("artifacts", &self.artifacts.len())
            .finish()
    }
}

impl AgentChat {
    fn new(transport: Arc<dyn AgentTransport>, init: AgentInit) -> AgentChat {
        let mut chat = AgentChat {
            state_management: transport.state_management(),
            transport,
            snapshot_id: init.snapshot_id.clone(),
            session_id: init.session_id.clone(),
            connect_init: init,
            messages: Vec::new(),
            artifacts: Vec::new(),
            client_state: None,
        };
        if let Some(state) = chat.connect_init.state.clone() {
            chat.hydrate(Some(state));
        }
        chat
    }

    fn hydrate(&mut self, state: Option<SessionState>) {
        self.messages = state.as_ref().and_then(|s| s.messages.clone()).unwrap_or_default();
        self.artifacts = state.as_ref().and_then(|s| s.artifacts.clone()).unwrap_or_default();
        if let Some(id) = state.as_ref().and_then(|s| s.session_id.clone()) {
            self.session_id = Some(id);
        }
        self.client_state = state;
    }

    /// The snapshot the last turn saved (server-managed agents).
    pub fn snapshot_id(&self) -> Option<&str> {
        self.snapshot_id.as_deref()
    }

    /// The session.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The custom state as last seen (streamed patches applied as they arrive).
    pub fn state(&self) -> Option<&Value> {
        self.client_state.as_ref().and_then(|s| s.custom.as_ref())
    }

    /// The whole client-held state (client-managed agents).
    pub fn session_state(&self) -> Option<&SessionState> {
        self.client_state.as_ref()
    }

    /// The conversation so far.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The session's artifacts so far.
    pub fn artifacts(&self) -> &[Artifact] {
        &self.artifacts
    }

    /// Who keeps the state: from the transport, else learnt from the first output.
    pub fn state_management(&self) -> Option<AgentStateManagement> {
        self.state_management
    }

    /// The init of the next turn (JS `buildInit`): the last snapshot, else the client-held
    /// state, else what the chat was opened with.
    fn build_init(&self) -> AgentInit {
        if let Some(id) = &self.snapshot_id {
            return AgentInit::from_snapshot(id.clone());
        }
        if let Some(state) = &self.client_state {
            return AgentInit::from_state(state.clone());
        }
        self.connect_init.clone()
    }

    /// Sends a message (or resume) and waits for the turn to end (JS `send`).
    ///
    /// # Errors
    /// A failed turn: the agent's error, with [`AgentFailure`] details (state, snapshot id,
    /// the raw output); transport errors likewise.
    pub async fn send(&mut self, input: impl Into<AgentInput>) -> Result<AgentResponse> {
        self.send_stream(input).response().await
    }

    /// Sends a message (or resume) and streams the turn (JS `sendStream`): iterate the
    /// [`AgentTurn`] for chunks, then await [`AgentTurn::response`].
    pub fn send_stream(&mut self, input: impl Into<AgentInput>) -> AgentTurn<'_> {
        let input = input.into();
        let count_before = self.messages.len();
        if let Some(m) = &input.message {
            self.messages.push(m.clone());
        }
        let init = self.build_init();
        let cancel = CancellationToken::new();
        let events = self.transport.run_turn(input, init, cancel.clone());
        AgentTurn {
            chat: self,
            events: Some(events),
            cancel,
            previous_text: String::new(),
            count_before,
            outcome: None,
        }
    }

    /// Resumes an interrupted turn (JS `resume`) with tool answers and/or restarts (build them
    /// with [`AgentInterrupt::respond`] and [`AgentInterrupt::restart`]).
    ///
    /// # Errors
    /// As [`AgentChat::send`].
    pub async fn resume(&mut self, resume: AgentResume) -> Result<AgentResponse> {
        self.send(resume).await
    }

    /// Resumes an interrupted turn, streaming (JS `resumeStream`).
    pub fn resume_stream(&mut self, resume: AgentResume) -> AgentTurn<'_> {
        self.send_stream(resume)
    }

    /// Starts a turn that goes on in the background (JS `detach`): the agent answers at once
    /// with the turn's snapshot id; follow it with the returned [`DetachedTask`].
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` from agents without a session store; `INTERNAL` when the agent
    /// answered without a snapshot id; transport errors.
    pub async fn detach(&mut self, input: impl Into<AgentInput>) -> Result<DetachedTask> {
        let mut input = input.into();
        input.detach = Some(true);
        if let Some(m) = &input.message {
            self.messages.push(m.clone());
        }
        let init = self.build_init();
        let mut events = self.transport.run_turn(input, init, CancellationToken::new());
        let mut output = None;
        while let Some(event) = events.next().await {
            if let TurnEvent::Output(o) = event? {
                output = Some(*o);
            }
        }
        let raw = output.ok_or_else(|| Error::new(Status::Internal, "the agent's stream ended without an output"))?;
        self.apply_output(&raw);
        let snapshot_id =
            raw.snapshot_id.ok_or_else(|| Error::new(Status::Internal, "detach did not return a snapshotId."))?;
        Ok(DetachedTask { snapshot_id, transport: self.transport.clone() })
    }

    /// Aborts the turn writing this chat's snapshot (JS `chat.abort()`); `None` when the chat
    /// has no snapshot yet.
    ///
    /// # Errors
    /// The transport's errors.
    pub async fn abort(&self) -> Result<Option<SnapshotStatus>> {
        match &self.snapshot_id {
            Some(id) => self.transport.abort(id.clone()).await,
            None => Ok(None),
        }
    }

    /// Applies a streamed RFC 6902 patch to the custom state (JS `applyCustomPatch`). The
    /// first patch of a turn replaces the whole document, so a lost patch cannot outlive it.
    fn apply_custom_patch(&mut self, patch: &json_patch::Patch) -> Result<()> {
        let state = self.client_state.get_or_insert_with(SessionState::default);
        let mut doc = state.custom.take().unwrap_or(Value::Null);
        let res = json_patch::patch(&mut doc, patch);
        state.custom = Some(doc);
        res.map_err(|e| Error::new(Status::Internal, format!("cannot apply the agent's custom state patch: {e}")))
    }

    /// Applies a finished turn's output to the running aggregates (JS `applyOutput`).
    fn apply_output(&mut self, raw: &AgentOutput) {
        if let Some(id) = &raw.snapshot_id {
            self.snapshot_id = Some(id.clone());
        }
        if let Some(id) = &raw.session_id {
            self.session_id = Some(id.clone());
        }
        if let Some(state) = &raw.state {
            self.client_state = Some(state.clone());
        }
        if self.state_management.is_none() {
            if raw.snapshot_id.is_some() {
                self.state_management = Some(AgentStateManagement::Server);
            } else if raw.state.is_some() {
                self.state_management = Some(AgentStateManagement::Client);
            }
        }
        match raw.state.as_ref().and_then(|s| s.messages.as_ref()) {
            Some(messages) => self.messages.clone_from(messages),
            None => {
                if let Some(m) = &raw.message {
                    self.messages.push(m.clone());
                }
            }
        }
        match raw.state.as_ref().and_then(|s| s.artifacts.as_ref()) {
            Some(artifacts) => self.artifacts.clone_from(artifacts),
            None => {
                for a in raw.artifacts.iter().flatten() {
                    let at =
                        a.name.as_ref().and_then(|n| self.artifacts.iter().position(|x| x.name.as_ref() == Some(n)));
                    match at {
                        Some(i) => self.artifacts[i] = a.clone(),
                        None => self.artifacts.push(a.clone()),
                    }
                }
            }
        }
    }

    /// Ends a turn (JS `buildResponse`): applies the output, or fails with the turn's error.
    fn finish_turn(&mut self, raw: AgentOutput, count_before: usize) -> Result<AgentResponse> {
        let failed_or_aborted =
            matches!(raw.finish_reason, Some(AgentFinishReason::Failed | AgentFinishReason::Aborted));
        let keeps_messages = raw.state.as_ref().is_some_and(|s| s.messages.is_some()) || raw.message.is_some();
        if failed_or_aborted && !keeps_messages {
            self.messages.truncate(count_before);
        }
        self.apply_output(&raw);
        let response = AgentResponse {
            messages: self.messages.clone(),
            fallback_state: self.state().cloned(),
            fallback_session_id: self.session_id.clone(),
            raw,
        };
        if response.raw.finish_reason == Some(AgentFinishReason::Failed) {
            let (status, message, details) = match &response.raw.error {
                Some(e) => (
                    e.status.as_deref().and_then(|s| s.replace(' ', "_").parse().ok()).unwrap_or(Status::Unknown),
                    e.message.clone(),
                    e.details.clone(),
                ),
                None => (Status::Unknown, String::from("Agent turn failed."), None),
            };
            let failure = AgentFailure {
                details,
                state: response.raw.state.as_ref().and_then(|s| s.custom.clone()),
                snapshot_id: response.raw.snapshot_id.clone(),
                output: Some(response.raw),
            };
            return Err(failure.attach(Error::new(status, message)));
        }
        Ok(response)
    }

    /// A transport error as a turn failure (JS `toAgentError`): same status and message, with
    /// the chat's state and snapshot id in [`AgentFailure`] details.
    fn to_agent_error(&self, e: Error) -> Error {
        if AgentFailure::from_error(&e).is_some() {
            return e;
        }
        let failure = AgentFailure {
            details: e.details().cloned(),
            state: self.state().cloned(),
            snapshot_id: self.snapshot_id.clone(),
            output: None,
        };
        failure.attach(e)
    }
}

/// What a failed turn's error carries besides its status and message (JS `AgentError`'s
/// `details`, `state`, `snapshotId`, `response`), kept in the error's details under
/// `"agentFailure"`. Read it back with [`AgentFailure::from_error`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentFailure {
    /// The agent's error details.
    pub details: Option<Value>,
    /// The custom state after the failure (the last good state).
    pub state: Option<Value>,
    /// The last good snapshot (server-managed agents).
    pub snapshot_id: Option<String>,
    /// The agent's raw output, when it answered with a failed turn.
    pub output: Option<AgentOutput>,
}

impl AgentFailure {
    const KEY: &'static str = "agentFailure";

    fn attach(&self, e: Error) -> Error {
        let mut m = Map::new();
        if let Some(d) = &self.details {
            m.insert("details".into(), d.clone());
        }
        if let Some(s) = &self.state {
            m.insert("state".into(), s.clone());
        }
        if let Some(id) = &self.snapshot_id {
            m.insert("snapshotId".into(), json!(id));
        }
        if let Some(o) = &self.output
            && let Ok(v) = serde_json::to_value(o)
        {
            m.insert("output".into(), v);
        }
        let mut details = Map::new();
        details.insert(Self::KEY.into(), Value::Object(m));
        e.with_details(Value::Object(details))
    }

    /// The failure details of an error from [`AgentChat::send`] and friends.
    pub fn from_error(e: &Error) -> Option<AgentFailure> {
        let m = e.details()?.get(Self::KEY)?.as_object()?;
        Some(AgentFailure {
            details: m.get("details").cloned(),
            state: m.get("state").cloned(),
            snapshot_id: m.get("snapshotId").and_then(Value::as_str).map(str::to_owned),
            output: m.get("output").and_then(|o| serde_json::from_value(o.clone()).ok()),
        })
    }
}

/// A streaming turn (JS `sendStream`'s `{stream, response, abort}`): a [`Stream`] of
/// [`AgentChunk`]s, then [`AgentTurn::response`]. It borrows the chat: the chat's state
/// follows the streamed custom patches as they arrive.
pub struct AgentTurn<'a> {
    chat: &'a mut AgentChat,
    events: Option<TurnEvents>,
    cancel: CancellationToken,
    previous_text: String,
    count_before: usize,
    outcome: Option<Result<AgentOutput>>,
}

impl fmt::Debug for AgentTurn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentTurn").field("finished", &self.events.is_none()).finish()
    }
}

impl AgentTurn<'_> {
    /// A token that aborts the turn when cancelled (JS `abort()`), usable from another task.
    /// The turn then ends with an `aborted` response.
    pub fn abort_handle(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Aborts the turn (JS `abort()`).
    pub fn abort(&self) {
        self.cancel.cancel();
    }

    /// The chat as it is now (its state follows streamed patches).
    pub fn chat(&self) -> &AgentChat {
        self.chat
    }

    /// Reads the rest of the turn and returns its response.
    ///
    /// # Errors
    /// As [`AgentChat::send`].
    pub async fn response(mut self) -> Result<AgentResponse> {
        while self.next().await.is_some() {}
        let outcome =
            self.outcome.take().unwrap_or_else(|| Err(Error::new(Status::Internal, "the agent turn did not end")));
        let raw = match outcome {
            Ok(raw) => raw,
            Err(_) if self.cancel.is_cancelled() => {
                AgentOutput { finish_reason: Some(AgentFinishReason::Aborted), ..AgentOutput::default() }
            }
            Err(e) => return Err(self.chat.to_agent_error(e)),
        };
        self.chat.finish_turn(raw, self.count_before)
    }

    fn end(&mut self, outcome: Result<AgentOutput>) -> Option<Result<AgentChunk>> {
        self.events = None;
        let err = match &outcome {
            Err(e) if !self.cancel.is_cancelled() => Some(self.chat.to_agent_error(e.clone())),
            _ => None,
        };
        self.outcome = Some(outcome);
        err.map(Err)
    }
}

impl Stream for AgentTurn<'_> {
    type Item = Result<AgentChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(events) = this.events.as_mut() else { return Poll::Ready(None) };
        match events.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(TurnEvent::Chunk(raw)))) => {
                let mut chunk =
                    AgentChunk { previous_text: std::mem::take(&mut this.previous_text), raw: *raw, custom: None };
                this.previous_text = chunk.accumulated_text();
                if let Some(patch) = &chunk.raw.custom_patch {
                    if let Err(e) = this.chat.apply_custom_patch(patch) {
                        return Poll::Ready(this.end(Err(e)));
                    }
                    chunk.custom = Some(this.chat.state().cloned().unwrap_or(Value::Null));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Ok(TurnEvent::Output(o)))) => Poll::Ready(this.end(Ok(*o))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(this.end(Err(e))),
            Poll::Ready(None) => {
                let e = Error::new(Status::Internal, "the agent's stream ended without an output");
                Poll::Ready(this.end(Err(e)))
            }
        }
    }
}

/// One streamed chunk of a turn (JS `AgentChunk`).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentChunk {
    raw: AgentStreamChunk,
    previous_text: String,
    custom: Option<Value>,
}

impl AgentChunk {
    fn content(&self) -> &[Part] {
        self.raw.model_chunk.as_ref().map_or(&[], |c| c.content.as_slice())
    }

    /// The chunk's text.
    pub fn text(&self) -> String {
        self.content().iter().filter_map(|p| p.text.as_deref()).collect()
    }

    /// The chunk's reasoning text.
    pub fn reasoning(&self) -> String {
        self.content().iter().filter_map(|p| p.reasoning.as_deref()).collect()
    }

    /// The turn's text so far, this chunk included.
    pub fn accumulated_text(&self) -> String {
        self.previous_text.clone() + &self.text()
    }

    /// The chunk's tool request parts.
    pub fn tool_requests(&self) -> Vec<&Part> {
        self.content().iter().filter(|p| p.tool_request.is_some()).collect()
    }

    /// The first data part's data.
    pub fn data(&self) -> Option<&Value> {
        self.content().iter().find_map(|p| p.data.as_deref())
    }

    /// The first media part's media.
    pub fn media(&self) -> Option<&Media> {
        self.content().iter().find_map(|p| p.media.as_deref())
    }

    /// The artifact this chunk adds or replaces.
    pub fn artifact(&self) -> Option<&Artifact> {
        self.raw.artifact.as_ref()
    }

    /// The custom state after this chunk's patch (only on chunks carrying one).
    pub fn custom(&self) -> Option<&Value> {
        self.custom.as_ref()
    }

    /// The wire chunk.
    pub fn raw(&self) -> &AgentStreamChunk {
        &self.raw
    }
}

/// The result of a turn (JS `AgentResponse`), with the helpers of a generate response.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentResponse {
    raw: AgentOutput,
    messages: Vec<Message>,
    fallback_state: Option<Value>,
    fallback_session_id: Option<String>,
}

impl AgentResponse {
    /// The turn's last message.
    pub fn message(&self) -> Option<&Message> {
        self.raw.message.as_ref()
    }

    fn content(&self) -> &[Part] {
        self.raw.message.as_ref().map_or(&[], |m| m.content.as_slice())
    }

    /// The text of the last message.
    pub fn text(&self) -> String {
        self.content().iter().filter_map(|p| p.text.as_deref()).collect()
    }

    /// The reasoning text of the last message.
    pub fn reasoning(&self) -> String {
        self.content().iter().filter_map(|p| p.reasoning.as_deref()).collect()
    }

    /// The first media part of the last message.
    pub fn media(&self) -> Option<&Media> {
        self.content().iter().find_map(|p| p.media.as_deref())
    }

    /// The first data part of the last message.
    pub fn data(&self) -> Option<&Value> {
        self.content().iter().find_map(|p| p.data.as_deref())
    }

    /// The tool request parts of the last message.
    pub fn tool_requests(&self) -> Vec<&Part> {
        self.content().iter().filter(|p| p.tool_request.is_some()).collect()
    }

    /// The interrupted tool requests, to answer with [`AgentChat::resume`].
    pub fn interrupts(&self) -> Vec<AgentInterrupt> {
        self.content().iter().filter(|p| p.is_interrupt()).filter_map(AgentInterrupt::from_part).collect()
    }

    /// The conversation after this turn.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Why the turn ended (`unknown` when the agent did not say).
    pub fn finish_reason(&self) -> AgentFinishReason {
        self.raw.finish_reason.unwrap_or(AgentFinishReason::Unknown)
    }

    /// The error message of a failed turn.
    pub fn finish_message(&self) -> Option<&str> {
        self.raw.error.as_ref().map(|e| e.message.as_str())
    }

    /// The snapshot the turn saved (server-managed agents).
    pub fn snapshot_id(&self) -> Option<&str> {
        self.raw.snapshot_id.as_deref()
    }

    /// The session.
    pub fn session_id(&self) -> Option<&str> {
        self.raw.session_id.as_deref().or(self.fallback_session_id.as_deref())
    }

    /// The custom state after the turn.
    pub fn state(&self) -> Option<&Value> {
        self.raw.state.as_ref().and_then(|s| s.custom.as_ref()).or(self.fallback_state.as_ref())
    }

    /// The artifacts of the output (else of its state).
    pub fn artifacts(&self) -> &[Artifact] {
        self.raw
            .artifacts
            .as_deref()
            .or_else(|| self.raw.state.as_ref().and_then(|s| s.artifacts.as_deref()))
            .unwrap_or(&[])
    }

    /// The wire output.
    pub fn raw(&self) -> &AgentOutput {
        &self.raw
    }

    /// Fails when the turn was blocked or has no message (JS `assertValid`).
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` saying which.
    pub fn assert_valid(&self) -> Result<()> {
        if self.finish_reason() == AgentFinishReason::Blocked {
            let why = self.finish_message().map(|m| format!(": {m}")).unwrap_or_default();
            return Err(Error::new(Status::FailedPrecondition, format!("Generation blocked{why}.")));
        }
        if self.raw.message.is_none() {
            return Err(Error::new(Status::FailedPrecondition, "Agent response has no message."));
        }
        Ok(())
    }
}

/// An interrupted tool request (JS `AgentInterrupt`): answer it with [`AgentInterrupt::respond`]
/// or run it again with [`AgentInterrupt::restart`], then [`AgentChat::resume`].
#[derive(Debug, Clone, PartialEq)]
pub struct AgentInterrupt {
    /// The tool.
    pub name: String,
    /// The request's `ref`.
    pub reference: Option<String>,
    /// The tool input.
    pub input: Option<Value>,
}

impl AgentInterrupt {
    fn from_part(p: &Part) -> Option<AgentInterrupt> {
        let r = p.tool_request.as_deref()?;
        Some(AgentInterrupt { name: r.name.clone(), reference: r.reference.clone(), input: r.input.clone() })
    }

    /// A `toolResponse` part answering the request with `output`.
    pub fn respond(&self, output: Value) -> Part {
        Part::tool_response(self.name.clone(), Some(output), self.reference.clone())
    }

    /// A `toolRequest` part running the request again.
    pub fn restart(&self) -> Part {
        Part::tool_request(self.name.clone(), self.input.clone(), self.reference.clone())
    }
}

impl AgentResume {
    /// Answers interrupted tool requests (`toolResponse` parts).
    pub fn respond(parts: impl IntoIterator<Item = Part>) -> AgentResume {
        AgentResume { respond: Some(parts.into_iter().collect()), restart: None }
    }

    /// Runs interrupted tool requests again (`toolRequest` parts).
    pub fn restart(parts: impl IntoIterator<Item = Part>) -> AgentResume {
        AgentResume { respond: None, restart: Some(parts.into_iter().collect()) }
    }
}

/// Snapshot statuses after which a detached turn changes no more.
fn is_terminal(status: Option<SnapshotStatus>) -> bool {
    matches!(
        status,
        Some(SnapshotStatus::Completed | SnapshotStatus::Failed | SnapshotStatus::Aborted | SnapshotStatus::Expired)
    )
}

/// A turn going on in the background (JS `DetachedTask`).
#[derive(Clone)]
pub struct DetachedTask {
    snapshot_id: String,
    transport: Arc<dyn AgentTransport>,
}

impl fmt::Debug for DetachedTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DetachedTask").field("snapshot_id", &self.snapshot_id).finish()
    }
}

impl DetachedTask {
    /// The default polling interval of [`DetachedTask::poll`] and [`DetachedTask::wait`] (1 s).
    pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

    /// The snapshot the turn writes.
    pub fn snapshot_id(&self) -> &str {
        &self.snapshot_id
    }

    /// Polls the snapshot every `interval` (JS `poll`): yields it each time it is found, and
    /// ends after a terminal status (completed, failed, aborted, expired) or an error.
    pub fn poll(&self, interval: Duration) -> BoxStream<'static, Result<SessionSnapshot>> {
        let transport = self.transport.clone();
        let request = GetSnapshotRequest::snapshot(self.snapshot_id.clone());
        futures::stream::unfold(Some(false), move |state| {
            let transport = transport.clone();
            let request = request.clone();
            async move {
                let mut waited = state?;
                loop {
                    if waited {
                        tokio::time::sleep(interval).await;
                    }
                    waited = true;
                    match transport.get_snapshot(request.clone()).await {
                        Ok(Some(s)) => {
                            let next = if is_terminal(s.status) { None } else { Some(true) };
                            return Some((Ok(s), next));
                        }
                        Ok(None) => {}
                        Err(e) => return Some((Err(e), None)),
                    }
                }
            }
        })
        .boxed()
    }

    /// Polls until the turn ends and returns its last snapshot (JS `wait`).
    ///
    /// # Errors
    /// The transport's errors.
    pub async fn wait(&self, interval: Duration) -> Result<SessionSnapshot> {
        let mut last = None;
        let mut polls = self.poll(interval);
        while let Some(s) = polls.next().await {
            last = Some(s?);
        }
        last.ok_or_else(|| {
            Error::new(Status::NotFound, format!("Detached task {} did not produce a snapshot.", self.snapshot_id))
        })
    }

    /// Aborts the turn (JS `abort`); returns the snapshot's status before the abort.
    ///
    /// # Errors
    /// The transport's errors.
    pub async fn abort(&self) -> Result<Option<SnapshotStatus>> {
        self.transport.abort(self.snapshot_id.clone()).await
    }
}

impl super::Agent {
    /// A typed client of this agent, in process (JS `agent.chat()` and friends come from it):
    /// its runs go through the agent's own `/agent/<name>`, `/agent-snapshot/<name>` and
    /// `/agent-abort/<name>` actions, so it needs no registry.
    ///
    /// # Errors
    /// None in practice: `INTERNAL` if the agent's actions cannot be collected.
    pub fn client(&self) -> Result<AgentClient> {
        // A registry holding only this agent's actions: the agent itself still resolves its
        // model, tools and prompts in the registry it was defined in.
        let own = Registry::new();
        own.register_action(self.action().as_action())?;
        own.register_action(self.snapshot_action().as_action())?;
        own.register_action(self.abort_action().as_action())?;
        let transport = RegistryAgentTransport::new(own, self.name()).state_management(self.state_management());
        Ok(AgentClient::new(transport))
    }

    /// A new multi-turn chat with this agent, in process (JS `agent.chat()`): `send`,
    /// `send_stream`, `resume`, `detach` → poll / wait / abort.
    ///
    /// # Errors
    /// As [`super::Agent::client`].
    pub fn chat(&self) -> Result<AgentChat> {
        Ok(self.client()?.chat())
    }
}

/// The in-process transport: runs the agent's actions found by name in a registry.
#[derive(Clone)]
pub struct RegistryAgentTransport {
    registry: Registry,
    name: String,
    context: Option<ActionContext>,
    state_management: Option<AgentStateManagement>,
}

impl fmt::Debug for RegistryAgentTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryAgentTransport").field("name", &self.name).finish()
    }
}

impl RegistryAgentTransport {
    /// The agent `name` of `registry`.
    pub fn new(registry: Registry, name: impl Into<String>) -> RegistryAgentTransport {
        RegistryAgentTransport { registry, name: name.into(), context: None, state_management: None }
    }

    /// Runs the agent's actions with this context (auth; stores scope snapshots by it).
    #[must_use]
    pub fn context(mut self, context: ActionContext) -> Self {
        self.context = Some(context);
        self
    }

    /// Declares who keeps the agent's state (otherwise learnt from its first output).
    #[must_use]
    pub fn state_management(mut self, who: AgentStateManagement) -> Self {
        self.state_management = Some(who);
        self
    }

    fn options(&self) -> RunOptions<Value> {
        match &self.context {
            Some(cx) => RunOptions::new().context(cx.clone()),
            None => RunOptions::new(),
        }
    }

    async fn lookup(registry: &Registry, kind: &str, name: &str) -> Result<Arc<dyn Action>> {
        if let Some(action) = registry.lookup_action(&format!("/{kind}/{name}")).await? {
            return Ok(action);
        }
        let agent_exists = kind != "agent" && registry.lookup_action(&format!("/agent/{name}")).await?.is_some();
        Err(if agent_exists {
            // As JS `requireStore`: only agents with a session store have snapshots to read or abort.
            Error::new(
                Status::FailedPrecondition,
                format!("Agent '{name}' has no session store, so it has no snapshots (no action /{kind}/{name})."),
            )
        } else {
            Error::not_found(format!("action /{kind}/{name} not found: is the agent '{name}' defined?"))
        })
    }
}

impl AgentTransport for RegistryAgentTransport {
    fn state_management(&self) -> Option<AgentStateManagement> {
        self.state_management
    }

    fn run_turn(&self, input: AgentInput, init: AgentInit, cancel: CancellationToken) -> TurnEvents {
        let registry = self.registry.clone();
        let name = self.name.clone();
        let opts = self.options();
        let stop = cancel.clone();
        let start = async move {
            let action = Self::lookup(&registry, "agent", &name).await?;
            let input = serde_json::to_value(&input).map_err(Error::internal)?;
            let init = serde_json::to_value(&init).map_err(Error::internal)?;
            let (tx, rx) = futures::channel::mpsc::unbounded::<Value>();
            let opts = opts.init(init).cancellation(cancel).on_chunk(move |c| {
                let _ = tx.unbounded_send(c);
            });
            let run = action.run_bidi_json(futures::stream::iter([input]).boxed(), opts);
            Ok(run_events(run, rx))
        };
        futures::stream::once(start)
            .flat_map(|started: Result<TurnEvents>| match started {
                Ok(events) => events,
                Err(e) => futures::stream::iter([Err(e)]).boxed(),
            })
            // An abort stops reading at once (dropping the run); the agent also sees the
            // token fire, as JS agents see their abort signal.
            .take_until(stop.cancelled_owned())
            .boxed()
    }

    fn get_snapshot(&self, request: GetSnapshotRequest) -> BoxFuture<'static, Result<Option<SessionSnapshot>>> {
        let registry = self.registry.clone();
        let name = self.name.clone();
        let opts = self.options();
        async move {
            let action = Self::lookup(&registry, "agent-snapshot", &name).await?;
            let input = serde_json::to_value(&request).map_err(Error::internal)?;
            match action.run_json(input, opts).await {
                Ok(r) => decode(r.result, "snapshot").map(Some),
                Err(e) if e.status() == Status::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        }
        .boxed()
    }

    fn abort(&self, snapshot_id: String) -> BoxFuture<'static, Result<Option<SnapshotStatus>>> {
        let registry = self.registry.clone();
        let name = self.name.clone();
        let opts = self.options();
        async move {
            let action = Self::lookup(&registry, "agent-abort", &name).await?;
            let input = serde_json::to_value(AgentAbortRequest { snapshot_id }).map_err(Error::internal)?;
            let out: AgentAbortResponse = decode(action.run_json(input, opts).await?.result, "abort response")?;
            Ok(out.status)
        }
        .boxed()
    }
}

/// Decodes a value the agent sent.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T> {
    serde_json::from_value(v)
        .map_err(|e| Error::new(Status::Internal, format!("the agent sent an invalid {what}: {e}")))
}

/// A chunk from the wire as a turn event.
pub(crate) fn chunk_event(v: Value) -> Result<TurnEvent> {
    decode(v, "stream chunk").map(|c| TurnEvent::Chunk(Box::new(c)))
}

/// An output from the wire as a turn event.
pub(crate) fn output_event(v: Value) -> Result<TurnEvent> {
    decode(v, "output").map(|o| TurnEvent::Output(Box::new(o)))
}

/// The events of an in-process run: chunks as the sink receives them, then the output. The
/// run is driven by the stream itself (no task), so it stays in the caller's trace and
/// task-local context; dropping the stream drops the run.
fn run_events(
    run: BoxFuture<'static, Result<ActionResult<Value>>>,
    rx: futures::channel::mpsc::UnboundedReceiver<Value>,
) -> TurnEvents {
    enum St {
        Running(BoxFuture<'static, Result<ActionResult<Value>>>, futures::channel::mpsc::UnboundedReceiver<Value>),
        Draining(VecDeque<Value>, Result<Value>),
        Done,
    }
    futures::stream::unfold(St::Running(run, rx), |st| async move {
        match st {
            St::Running(mut run, mut rx) => {
                let step = match futures::future::select(rx.next(), &mut run).await {
                    Either::Left((chunk, _)) => Either::Left(chunk),
                    Either::Right((res, _)) => Either::Right(res),
                };
                match step {
                    Either::Left(Some(chunk)) => Some((chunk_event(chunk), St::Running(run, rx))),
                    Either::Left(None) => Some((run.await.and_then(|r| output_event(r.result)), St::Done)),
                    Either::Right(res) => {
                        // Chunks are sent while the run is going, so all are queued by now.
                        rx.close();
                        let mut rest = VecDeque::new();
                        while let Ok(c) = rx.try_recv() {
                            rest.push_back(c);
                        }
                        let res = res.map(|r| r.result);
                        match rest.pop_front() {
                            Some(c) => Some((chunk_event(c), St::Draining(rest, res))),
                            None => Some((res.and_then(output_event), St::Done)),
                        }
                    }
                }
            }
            St::Draining(mut rest, res) => match rest.pop_front() {
                Some(c) => Some((chunk_event(c), St::Draining(rest, res))),
                None => Some((res.and_then(output_event), St::Done)),
            },
            St::Done => None,
        }
    })
    .boxed()
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
