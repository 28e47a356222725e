//! Defining agents: [`define_custom_agent`] registers the bidi action `/agent/<name>` with
//! `/agent-snapshot/<name>` and `/agent-abort/<name>` beside it (JS `defineCustomAgent`).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use genkit_core::{
    ActionContext, ActionCx, ActionDef, ActionType, Error, InputStream, Registry, Result, RunOptions, SchemaValidator,
    Status,
};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::runner::{Emitter, SessionRunner, error_details};
use super::{
    AgentAbortRequest, AgentAbortResponse, AgentInit, AgentInput, AgentMetadata, AgentOutput, AgentResult,
    AgentStateManagement, AgentStreamChunk, GetSnapshotRequest,
};
use crate::experimental::session::{
    AgentFinishReason, Session, SessionEvent, SessionSnapshot, SessionState, SessionStore, SnapshotQuery,
    SnapshotStatus, assert_valid_session_id,
};

/// How often a detached turn refreshes its pending snapshot's `heartbeatAt`.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);
/// How old a pending snapshot's heartbeat may get before it reads as `expired`.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(60);

type StateTransform = Arc<dyn Fn(SessionState) -> SessionState + Send + Sync>;
type ChunkTransform = Arc<dyn Fn(AgentStreamChunk) -> Option<AgentStreamChunk> + Send + Sync>;

/// What a client sees of an agent's state and stream (JS `clientTransform`): redact state
/// in outputs and snapshot reads (the store keeps it whole), rewrite or drop chunks.
#[derive(Clone, Default)]
pub struct ClientTransform {
    state: Option<StateTransform>,
    chunk: Option<ChunkTransform>,
}

impl fmt::Debug for ClientTransform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTransform")
            .field("state", &self.state.is_some())
            .field("chunk", &self.chunk.is_some())
            .finish()
    }
}

impl ClientTransform {
    /// No transform.
    pub fn new() -> ClientTransform {
        ClientTransform::default()
    }

    /// Rewrites the state clients receive (outputs, snapshot reads, `customPatch` chunks).
    #[must_use]
    pub fn state(mut self, f: impl Fn(SessionState) -> SessionState + Send + Sync + 'static) -> Self {
        self.state = Some(Arc::new(f));
        self
    }

    /// Rewrites each streamed chunk, or drops it (`None`).
    #[must_use]
    pub fn chunk(mut self, f: impl Fn(AgentStreamChunk) -> Option<AgentStreamChunk> + Send + Sync + 'static) -> Self {
        self.chunk = Some(Arc::new(f));
        self
    }

    fn apply_state(&self, state: SessionState) -> SessionState {
        match &self.state {
            Some(f) => f(state),
            None => state,
        }
    }
}

/// The options every agent takes (JS `defineCustomAgent` config).
#[derive(Clone)]
pub struct AgentOptions {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) state_schema: Option<Value>,
    pub(crate) store: Option<Arc<dyn SessionStore>>,
    pub(crate) client_transform: ClientTransform,
    pub(crate) prompt_input: Option<Value>,
}

impl fmt::Debug for AgentOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentOptions")
            .field("name", &self.name)
            .field("store", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for AgentOptions {
    /// Options without a name, for agents that take their prompt's name.
    fn default() -> Self {
        AgentOptions::new("")
    }
}

impl AgentOptions {
    /// Options for the agent `name`: client-managed state, no schema.
    pub fn new(name: impl Into<String>) -> AgentOptions {
        AgentOptions {
            name: name.into(),
            description: None,
            state_schema: None,
            store: None,
            client_transform: ClientTransform::default(),
            prompt_input: None,
        }
    }

    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// The JSON schema of the custom state: state loaded from a snapshot or sent by the
    /// client must conform, else the run ends `failed` with `INVALID_ARGUMENT`.
    #[must_use]
    pub fn state_schema(mut self, schema: Value) -> Self {
        self.state_schema = Some(schema);
        self
    }

    /// The custom state's schema from `T`.
    #[must_use]
    pub fn state_type<T: schemars::JsonSchema>(self) -> Self {
        self.state_schema(crate::generate::schema_of::<T>())
    }

    /// Keeps the state in `store` (server-managed state): clients name a snapshot or
    /// session; runs can detach and be aborted.
    #[must_use]
    pub fn store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Sets the client transforms.
    #[must_use]
    pub fn client_transform(mut self, t: ClientTransform) -> Self {
        self.client_transform = t;
        self
    }

    /// Prompt agents: the input each turn renders the prompt with (default `{}`).
    #[must_use]
    pub fn prompt_input(mut self, input: Value) -> Self {
        self.prompt_input = Some(input);
        self
    }
}

/// What a custom agent's function receives besides its [`SessionRunner`] (JS
/// `{sendChunk, abortSignal, context}`).
#[derive(Clone)]
pub struct AgentFnCx {
    emit: Emitter,
    runner: SessionRunner,
    cancellation: CancellationToken,
    context: ActionContext,
}

impl fmt::Debug for AgentFnCx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentFnCx").finish_non_exhaustive()
    }
}

impl AgentFnCx {
    /// Streams a chunk to the client (dropped once the client detached).
    pub fn send_chunk(&self, chunk: AgentStreamChunk) {
        if !self.runner.is_detached() {
            (self.emit)(chunk);
        }
    }

    /// Fires when the run is aborted.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancellation
    }

    /// The action context (auth).
    pub fn context(&self) -> &ActionContext {
        &self.context
    }
}

pub(crate) type AgentFn =
    Arc<dyn Fn(SessionRunner, AgentFnCx) -> BoxFuture<'static, Result<AgentResult>> + Send + Sync>;

struct Shared {
    name: String,
    store: Option<Arc<dyn SessionStore>>,
    transform: ClientTransform,
    validator: Option<SchemaValidator>,
    handler: AgentFn,
}

impl Shared {
    fn validate_custom(&self, custom: Option<&Value>) -> Result<()> {
        match (&self.validator, custom) {
            (Some(v), Some(c)) => v.validate(c),
            _ => Ok(()),
        }
    }

    fn require_store(&self, operation: &str) -> Result<&Arc<dyn SessionStore>> {
        self.store.as_ref().ok_or_else(|| {
            Error::new(
                Status::FailedPrecondition,
                format!("{operation} requires a persistent store. Provide a 'store' when defining '{}'.", self.name),
            )
        })
    }
}

/// The primary action of an agent: `AgentInput` stream in, `AgentOutput` out, chunks of
/// `AgentStreamChunk`, `init` an `AgentInit`.
pub type AgentAction = ActionDef<AgentInput, AgentOutput, AgentStreamChunk>;

/// A defined agent: its three actions and direct access to its snapshots. Cheap to clone.
#[derive(Clone)]
pub struct Agent {
    action: AgentAction,
    snapshot_action: ActionDef<GetSnapshotRequest, SessionSnapshot>,
    abort_action: ActionDef<AgentAbortRequest, AgentAbortResponse>,
    shared: Arc<Shared>,
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agent").field("name", &self.shared.name).finish_non_exhaustive()
    }
}

impl Agent {
    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The bidi action `/agent/<name>`.
    pub fn action(&self) -> &AgentAction {
        &self.action
    }

    /// The action `/agent-snapshot/<name>`.
    pub fn snapshot_action(&self) -> &ActionDef<GetSnapshotRequest, SessionSnapshot> {
        &self.snapshot_action
    }

    /// The action `/agent-abort/<name>`.
    pub fn abort_action(&self) -> &ActionDef<AgentAbortRequest, AgentAbortResponse> {
        &self.abort_action
    }

    /// Who keeps the state.
    pub fn state_management(&self) -> AgentStateManagement {
        if self.shared.store.is_some() { AgentStateManagement::Server } else { AgentStateManagement::Client }
    }

    /// Starts a run from `init`: send inputs, close, read chunks, await the output.
    pub fn stream_bidi(
        &self,
        init: &AgentInit,
        opts: RunOptions<AgentStreamChunk>,
    ) -> genkit_core::BidiStream<AgentInput, AgentStreamChunk, AgentOutput> {
        let init = serde_json::to_value(init).unwrap_or_else(|_| json!({}));
        self.action.stream_bidi(opts.init(init))
    }

    /// Runs the agent from `init` over `inputs` and returns the output (chunks dropped).
    ///
    /// # Errors
    /// API misuse (`FAILED_PRECONDITION`, `INVALID_ARGUMENT`); other failures resolve as an
    /// output with `finishReason: failed`.
    pub async fn run(&self, init: &AgentInit, inputs: Vec<AgentInput>) -> Result<AgentOutput> {
        let mut bidi = self.stream_bidi(init, RunOptions::default());
        for i in inputs {
            bidi.send(i)?;
        }
        bidi.close();
        bidi.output().await
    }

    /// A snapshot of this agent's store, as clients see it (a stale `pending` reads as
    /// `expired`; the client state transform applied). `None` when there is none.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` without a store; the store's errors.
    pub async fn get_snapshot_data(
        &self,
        query: &SnapshotQuery,
        cx: &ActionContext,
    ) -> Result<Option<SessionSnapshot>> {
        resolve_snapshot(&self.shared, query, cx).await
    }

    /// Aborts the snapshot's run: a `pending` (or `aborting`, `expired`) snapshot becomes
    /// `aborted`, which stops the run through the store's watch. Returns the status before,
    /// `None` when the snapshot does not exist. Finished snapshots stay as they are.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` without a store; the store's errors.
    pub async fn abort(&self, snapshot_id: &str, cx: &ActionContext) -> Result<Option<SnapshotStatus>> {
        abort_in_store(self.shared.require_store("abort")?.as_ref(), snapshot_id, cx).await
    }
}

/// Whether a `pending` snapshot's heartbeat is older than [`HEARTBEAT_TIMEOUT`].
pub(crate) fn heartbeat_expired(s: &SessionSnapshot) -> bool {
    if s.status != Some(SnapshotStatus::Pending) {
        return false;
    }
    let Some(beat) = s.heartbeat_at.as_deref() else { return false };
    let Some(cutoff) = SystemTime::now().checked_sub(HEARTBEAT_TIMEOUT) else { return false };
    // ISO-8601 UTC timestamps of one format order as strings do.
    beat < genkit_core::time::iso_timestamp(cutoff).as_str()
}

async fn resolve_snapshot(
    shared: &Shared,
    query: &SnapshotQuery,
    cx: &ActionContext,
) -> Result<Option<SessionSnapshot>> {
    let store = shared.require_store("getSnapshotData")?;
    let Some(mut snap) = store.get_snapshot(query, cx).await? else { return Ok(None) };
    if heartbeat_expired(&snap) {
        snap.status = Some(SnapshotStatus::Expired);
    }
    if let Some(state) = snap.state.take() {
        snap.state = Some(shared.transform.apply_state(state));
    }
    Ok(Some(snap))
}

/// Marks a snapshot `aborted` unless it already finished; returns its status before (JS
/// `abortSnapshotInStore`).
///
/// # Errors
/// The store's errors.
pub async fn abort_in_store(
    store: &dyn SessionStore,
    snapshot_id: &str,
    cx: &ActionContext,
) -> Result<Option<SnapshotStatus>> {
    let mut previous = None;
    let mut mutator = |current: Option<&SessionSnapshot>| {
        let current = current?;
        previous = current.status;
        match current.status {
            Some(SnapshotStatus::Completed | SnapshotStatus::Failed | SnapshotStatus::Aborted) => None,
            _ => {
                let mut next = current.clone();
                next.status = Some(SnapshotStatus::Aborted);
                next.updated_at = Some(genkit_core::time::now_iso());
                Some(next)
            }
        }
    };
    store.save_snapshot(Some(snapshot_id), &mut mutator, cx).await?;
    Ok(previous)
}

/// Defines a custom agent in `registry` (JS `defineCustomAgent`): `handler` gets the run's
/// [`SessionRunner`] and an [`AgentFnCx`], usually calls [`SessionRunner::run`] with a turn
/// function, and returns the [`AgentResult`]. Registers `/agent/<name>`,
/// `/agent-snapshot/<name>` and `/agent-abort/<name>`.
///
/// # Errors
/// `INVALID_ARGUMENT` for an invalid state schema; registration errors (defining actions
/// while an action runs).
pub fn define_custom_agent<F, Fut>(registry: &Registry, opts: AgentOptions, handler: F) -> Result<Agent>
where
    F: Fn(SessionRunner, AgentFnCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AgentResult>> + Send + 'static,
{
    let handler: AgentFn = Arc::new(move |r, cx| handler(r, cx).boxed());
    build_agent(registry, opts, handler)
}

pub(crate) fn build_agent(registry: &Registry, opts: AgentOptions, handler: AgentFn) -> Result<Agent> {
    let AgentOptions { name, description, state_schema: schema, store, client_transform, prompt_input: _ } = opts;
    let state_schema: Option<Map<String, Value>> = schema.as_ref().and_then(|s| s.as_object().cloned());
    let validator = schema.map(SchemaValidator::new).transpose()?;
    let has_store = store.is_some();
    let shared = Arc::new(Shared { name: name.clone(), store, transform: client_transform, validator, handler });
    let meta = AgentMetadata {
        state_management: if has_store { AgentStateManagement::Server } else { AgentStateManagement::Client },
        // A store can always be asked to watch; whether it can is known only when asked.
        abortable: has_store,
        state_schema,
    };
    let mut builder = AgentAction::builder(ActionType::Agent, name.clone())
        .init_schema(genkit_core::schema_for::<AgentInit>())
        .metadata("agent", serde_json::to_value(&meta).map_err(|e| Error::internal(e.to_string()))?);
    if let Some(d) = description {
        builder = builder.description(d);
    }
    let s = shared.clone();
    let action = builder.build_bidi(move |inputs: InputStream<AgentInput>, cx: ActionCx<AgentStreamChunk>| {
        run_agent(s.clone(), inputs, cx)
    });
    let s = shared.clone();
    let snapshot_action = ActionDef::builder(ActionType::AgentSnapshot, name.clone())
        .description(format!("Gets snapshot data for {} by snapshotId or sessionId", name))
        .build(move |req: GetSnapshotRequest, cx: ActionCx<()>| {
            let s = s.clone();
            async move {
                let query = SnapshotQuery::from_ids(req.snapshot_id.as_deref(), req.session_id.as_deref())?;
                let Some(mut snap) = resolve_snapshot(&s, &query, cx.context()).await? else {
                    let target = req.snapshot_id.or(req.session_id).unwrap_or_else(|| "unknown".into());
                    return Err(Error::not_found(format!("Snapshot '{target}' not found for agent '{}'.", s.name)));
                };
                if req.metadata_only == Some(true) {
                    snap.state = None;
                }
                Ok(snap)
            }
        });
    let s = shared.clone();
    let abort_action = ActionDef::builder(ActionType::AgentAbort, name.clone())
        .description(format!(
            "Aborts {} agent by snapshotId. Returns the snapshot id and its status after the abort attempt.",
            name
        ))
        .build(move |req: AgentAbortRequest, cx: ActionCx<()>| {
            let s = s.clone();
            async move {
                let store = s.require_store("abort")?;
                let status = abort_in_store(store.as_ref(), &req.snapshot_id, cx.context()).await?;
                Ok(AgentAbortResponse { snapshot_id: req.snapshot_id, status })
            }
        });
    registry.register_action(action.as_action())?;
    registry.register_action(snapshot_action.as_action())?;
    registry.register_action(abort_action.as_action())?;
    Ok(Agent { action, snapshot_action, abort_action, shared })
}

/// A setup failure: misuse is returned as an error, anything else resolves as `failed`.
enum SetupError {
    Misuse(Error),
    Other(Error),
}

impl From<Error> for SetupError {
    fn from(e: Error) -> Self {
        SetupError::Other(e)
    }
}

fn assert_init_matches(shared: &Shared, init: &AgentInit) -> Result<()> {
    let snapshot_id = init.snapshot_id.as_deref().filter(|s| !s.is_empty());
    let session_id = init.session_id.as_deref().filter(|s| !s.is_empty());
    if (snapshot_id.is_some() || session_id.is_some()) && shared.store.is_none() {
        let which = if snapshot_id.is_some() { "snapshotId" } else { "sessionId" };
        return Err(Error::new(
            Status::FailedPrecondition,
            format!(
                "Cannot use '{which}' with agent '{}': this agent has no store configured (client-managed state). \
                 Send 'state' instead.",
                shared.name
            ),
        ));
    }
    if init.state.is_some() && shared.store.is_some() {
        return Err(Error::new(
            Status::FailedPrecondition,
            format!(
                "Cannot send 'state' to agent '{}': this agent uses a server-managed store. Send 'snapshotId' or \
                 'sessionId' instead.",
                shared.name
            ),
        ));
    }
    Ok(())
}

fn fresh_state(session_id: Option<String>) -> SessionState {
    SessionState { session_id, messages: Some(Vec::new()), custom: None, artifacts: Some(Vec::new()) }
}

fn session_from_snapshot(snapshot: &SessionSnapshot) -> Result<Session> {
    let mut state = snapshot.state.clone().unwrap_or_default();
    if state.session_id.is_none() {
        state.session_id = snapshot.owner().map(str::to_owned);
    }
    Session::new(state)
}

async fn resolve_session(
    shared: &Shared,
    init: &AgentInit,
    cx: &ActionContext,
) -> std::result::Result<(Session, Option<SessionSnapshot>), SetupError> {
    let snapshot_id = init.snapshot_id.as_deref().filter(|s| !s.is_empty());
    let session_id = init.session_id.as_deref().filter(|s| !s.is_empty());
    if let Some(id) = snapshot_id {
        let store = shared.require_store("resume")?;
        let snapshot = store
            .get_snapshot(&SnapshotQuery::snapshot(id), cx)
            .await?
            .ok_or_else(|| Error::not_found(format!("Snapshot {id} not found")))?;
        let owner = snapshot.owner();
        if let Some(sid) = session_id
            && owner != Some(sid)
        {
            return Err(SetupError::Misuse(Error::invalid_argument(format!(
                "Snapshot {id} does not belong to session {sid} (it belongs to {}).",
                owner.unwrap_or("an unknown session")
            ))));
        }
        if snapshot.status != Some(SnapshotStatus::Completed) {
            return Err(SetupError::Other(Error::invalid_argument(format!(
                "Snapshot {id} is not resumable (status: {}). Only 'completed' snapshots can be resumed.",
                snapshot.status.map_or("unknown", SnapshotStatus::as_str)
            ))));
        }
        shared.validate_custom(snapshot.state.as_ref().and_then(|s| s.custom.as_ref()))?;
        let session = session_from_snapshot(&snapshot)?;
        return Ok((session, Some(snapshot)));
    }
    if let Some(sid) = session_id {
        assert_valid_session_id(sid)?;
        let store = shared.require_store("resume")?;
        let mut snapshot = store.get_snapshot(&SnapshotQuery::session(sid), cx).await?;
        let mut visited = std::collections::HashSet::new();
        while let Some(s) = snapshot.take_if(|s| s.status != Some(SnapshotStatus::Completed)) {
            if !visited.insert(s.snapshot_id.clone()) {
                return Err(SetupError::Other(Error::new(
                    Status::FailedPrecondition,
                    format!(
                        "Session '{sid}' has a cyclic snapshot parent chain (snapshot '{}' was visited twice). \
                         Resume by snapshotId instead.",
                        s.snapshot_id
                    ),
                )));
            }
            snapshot = match &s.parent_id {
                Some(p) => store.get_snapshot(&SnapshotQuery::snapshot(p.clone()), cx).await?,
                None => None,
            };
        }
        return match snapshot {
            Some(snap) => {
                shared.validate_custom(snap.state.as_ref().and_then(|s| s.custom.as_ref()))?;
                let session = session_from_snapshot(&snap)?;
                Ok((session, Some(snap)))
            }
            None => Ok((Session::new(fresh_state(Some(sid.to_owned())))?, None)),
        };
    }
    if let Some(state) = &init.state
        && shared.store.is_none()
    {
        shared.validate_custom(state.custom.as_ref())?;
        return Ok((Session::new(state.clone())?, None));
    }
    Ok((Session::new(fresh_state(None))?, None))
}

/// Cancels the run's abort token when the action's future is dropped (the caller went away)
/// before the run finished or detached.
struct AbortOnDrop {
    token: CancellationToken,
    armed: bool,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.token.cancel();
        }
    }
}

async fn run_agent(
    shared: Arc<Shared>,
    inputs: InputStream<AgentInput>,
    cx: ActionCx<AgentStreamChunk>,
) -> Result<AgentOutput> {
    let init: AgentInit = match cx.init() {
        Some(v) if !v.is_null() => serde_json::from_value(v.clone())
            .map_err(|e| Error::invalid_argument(format!("invalid agent init: {e}")))?,
        _ => AgentInit::default(),
    };
    assert_init_matches(&shared, &init)?;
    let context = cx.context().clone();
    let (session, snapshot) = match resolve_session(&shared, &init, &context).await {
        Ok(r) => r,
        Err(SetupError::Misuse(e)) => return Err(e),
        Err(SetupError::Other(e)) => {
            return Ok(AgentOutput {
                finish_reason: Some(AgentFinishReason::Failed),
                error: Some(error_details(&e)),
                state: if shared.store.is_none() { init.state.clone() } else { None },
                ..AgentOutput::default()
            });
        }
    };

    let abort = CancellationToken::new();
    let mut guard = AbortOnDrop { token: abort.clone(), armed: true };
    let emit: Emitter = {
        let sink = cx.sink().clone();
        let transform = shared.transform.chunk.clone();
        Arc::new(move |chunk: AgentStreamChunk| {
            let chunk = match &transform {
                Some(t) => t(chunk),
                None => Some(chunk),
            };
            if let Some(c) = chunk {
                sink.send(c);
            }
        })
    };
    let (input_tx, input_rx) = mpsc::unbounded_channel();
    let runner = SessionRunner::new(
        session.clone(),
        input_rx,
        shared.store.clone(),
        abort.clone(),
        context.clone(),
        emit.clone(),
        snapshot,
    );

    // Session changes become `artifact` and `customPatch` chunks while attached.
    let subscription = {
        let runner = runner.clone();
        let emit = emit.clone();
        let transform = shared.transform.clone();
        session.on_event(move |s, event| match event {
            SessionEvent::ArtifactAdded(a) | SessionEvent::ArtifactUpdated(a) => {
                if !runner.is_detached() {
                    emit(AgentStreamChunk { artifact: Some(a.clone()), ..AgentStreamChunk::default() });
                }
            }
            SessionEvent::CustomChanged => {
                if runner.is_detached() {
                    return;
                }
                let custom = transform.apply_state(s.state()).custom.unwrap_or(Value::Null);
                if let Some(patch) = runner.custom_patch(custom) {
                    emit(AgentStreamChunk { custom_patch: Some(patch), ..AgentStreamChunk::default() });
                }
            }
        })
    };

    let flow_done = CancellationToken::new();
    let (detach_tx, mut detach_rx) = oneshot::channel::<Result<String>>();
    tokio::spawn(genkit_core::propagate(pipe_inputs(
        inputs,
        input_tx,
        runner.clone(),
        shared.store.clone(),
        detach_tx,
        abort.clone(),
        flow_done.clone(),
        context.clone(),
    )));

    let fn_cx = AgentFnCx { emit, runner: runner.clone(), cancellation: abort.clone(), context: context.clone() };
    let handler = shared.handler.clone();
    let flow_runner = runner.clone();
    let flow_session = session.clone();
    let done = flow_done.clone();
    let mut flow = tokio::spawn(genkit_core::propagate(async move {
        let result = flow_session.run(handler(flow_runner.clone(), fn_cx)).await;
        let out = match result {
            Ok(r) => match flow_runner.save_snapshot(None, None, None, None).await {
                Ok(id) => Ok((r, id)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        done.cancel();
        drop(subscription);
        out
    }));

    // Whichever comes first: the client detaching (answered at once, the run goes on) or
    // the run ending. A pipe that ends without a detach closes the channel: wait for the run.
    let detach = tokio::select! {
        biased;
        d = &mut detach_rx => d.ok(),
        r = &mut flow => {
            guard.armed = false;
            return finish_output(&shared, &runner, &session, r);
        }
    };
    match detach {
        Some(Ok(snapshot_id)) => {
            guard.armed = false;
            Ok(AgentOutput {
                session_id: Some(session.session_id().to_owned()),
                snapshot_id: Some(snapshot_id),
                finish_reason: Some(AgentFinishReason::Detached),
                state: shared.store.is_none().then(|| shared.transform.apply_state(session.state())),
                ..AgentOutput::default()
            })
        }
        // A refused detach is misuse: the error is the answer and the run is cancelled.
        Some(Err(e)) => Err(e),
        None => {
            let r = (&mut flow).await;
            guard.armed = false;
            finish_output(&shared, &runner, &session, r)
        }
    }
}

type FlowResult = std::result::Result<Result<(AgentResult, Option<String>)>, tokio::task::JoinError>;

fn finish_output(shared: &Shared, runner: &SessionRunner, session: &Session, r: FlowResult) -> Result<AgentOutput> {
    let (result, final_snapshot_id) =
        r.map_err(|e| Error::new(Status::Internal, format!("the agent's task failed: {e}")))??;
    let artifacts = result.artifacts.filter(|a| !a.is_empty());
    if runner.last_turn_finish_reason() == Some(AgentFinishReason::Failed)
        && let Some(error) = runner.last_turn_error()
    {
        let (last_good, last_good_snapshot) = runner.last_good();
        let message = last_good.messages.as_ref().and_then(|m| m.last().cloned());
        return Ok(AgentOutput {
            session_id: Some(session.session_id().to_owned()),
            finish_reason: Some(AgentFinishReason::Failed),
            error: Some(error),
            artifacts,
            message,
            snapshot_id: if shared.store.is_some() { last_good_snapshot } else { None },
            state: shared.store.is_none().then(|| shared.transform.apply_state(last_good)),
        });
    }
    Ok(AgentOutput {
        session_id: Some(session.session_id().to_owned()),
        artifacts,
        message: result.message,
        finish_reason: result.finish_reason.or_else(|| runner.last_turn_finish_reason()),
        snapshot_id: if shared.store.is_some() { final_snapshot_id } else { None },
        state: shared.store.is_none().then(|| shared.transform.apply_state(session.state())),
        error: None,
    })
}

/// Forwards the run's inputs to the runner. A `detach` input writes the pending snapshot,
/// starts the heartbeat and the abort watch, and answers the caller at once; its message or
/// resume payload, if any, still runs as a turn.
#[allow(clippy::too_many_arguments)]
async fn pipe_inputs(
    mut inputs: InputStream<AgentInput>,
    tx: mpsc::UnboundedSender<Result<AgentInput>>,
    runner: SessionRunner,
    store: Option<Arc<dyn SessionStore>>,
    detach_tx: oneshot::Sender<Result<String>>,
    abort: CancellationToken,
    flow_done: CancellationToken,
    cx: ActionContext,
) {
    let mut detach_tx = Some(detach_tx);
    while let Some(item) = inputs.next().await {
        let input = match item {
            Ok(i) => i,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        if input.detach != Some(true) {
            if tx.send(Ok(input)).is_err() {
                return;
            }
            continue;
        }
        match &store {
            None => {
                if let Some(d) = detach_tx.take() {
                    let _ = d.send(Err(Error::new(
                        Status::FailedPrecondition,
                        "Detach is only supported when a session store is provided.",
                    )));
                }
            }
            Some(store) => {
                let id = match runner.begin_detach().await {
                    Ok(id) => id,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                start_heartbeat(store.clone(), id.clone(), flow_done.clone(), cx.clone());
                watch_for_abort(store.as_ref(), &id, abort.clone(), flow_done.clone(), &cx).await;
                if let Some(d) = detach_tx.take() {
                    let _ = d.send(Ok(id));
                }
            }
        }
        let resume = input.resume.as_ref();
        let has_payload = input.message.is_some()
            || resume.and_then(|r| r.restart.as_ref()).is_some_and(|r| !r.is_empty())
            || resume.and_then(|r| r.respond.as_ref()).is_some_and(|r| !r.is_empty());
        if has_payload && tx.send(Ok(input)).is_err() {
            return;
        }
    }
}

fn start_heartbeat(store: Arc<dyn SessionStore>, id: String, done: CancellationToken, cx: ActionContext) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT_INTERVAL, HEARTBEAT_INTERVAL);
        loop {
            tokio::select! {
                () = done.cancelled() => return,
                _ = tick.tick() => {
                    let mut beat = |current: Option<&SessionSnapshot>| {
                        let current = current.filter(|c| c.status == Some(SnapshotStatus::Pending))?;
                        let mut next = current.clone();
                        next.heartbeat_at = Some(genkit_core::time::now_iso());
                        Some(next)
                    };
                    if let Err(e) = store.save_snapshot(Some(&id), &mut beat, &cx).await {
                        tracing::warn!(snapshot_id = %id, "agent heartbeat failed: {e}");
                    }
                }
            }
        }
    });
}

async fn watch_for_abort(
    store: &dyn SessionStore,
    id: &str,
    abort: CancellationToken,
    done: CancellationToken,
    cx: &ActionContext,
) {
    let mut watch = match store.watch(id, cx).await {
        Ok(Some(w)) => w,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(snapshot_id = %id, "cannot watch the detached turn's snapshot for aborts: {e}");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = done.cancelled() => return,
                next = watch.next() => match next {
                    Some(s) if s.status == Some(SnapshotStatus::Aborted) => {
                        abort.cancel();
                        return;
                    }
                    Some(_) => {}
                    None => return,
                },
            }
        }
    });
}
