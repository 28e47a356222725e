//! [`SessionRunner`]: the turn loop of an agent run (JS `SessionRunner`). It takes the run's
//! inputs one at a time, runs a turn for each, and after each turn saves a snapshot (when
//! the agent has a store) and streams a `turnEnd` chunk.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use genkit_core::{ActionContext, Error, Result, Status};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{AgentInput, AgentStreamChunk, TurnEnd};
use crate::experimental::session::{
    AgentFinishReason, Artifact, Session, SessionSnapshot, SessionState, SessionStore, SnapshotStatus,
    reserve_snapshot_id,
};
use crate::{Message, RuntimeError};

/// What a turn function learns about its turn (JS `TurnContext`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TurnContext {
    /// The id the snapshot saved at the end of this turn will have, reserved up front so the
    /// turn can name external state after it (`None` without a store).
    pub snapshot_id: Option<String>,
    /// The snapshot this turn continues.
    pub parent_snapshot_id: Option<String>,
    /// The turn's index in this run, from 0.
    pub turn_index: u32,
}

/// What a turn function returns (JS `TurnResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnResult {
    /// Why the turn ended (reported on `turnEnd` and the output); `None` reports none.
    pub finish_reason: Option<AgentFinishReason>,
}

impl TurnResult {
    /// A turn that ended for `reason`.
    pub fn finished(reason: impl Into<AgentFinishReason>) -> TurnResult {
        TurnResult { finish_reason: Some(reason.into()) }
    }
}

pub(crate) type Emitter = Arc<dyn Fn(AgentStreamChunk) + Send + Sync>;
pub(crate) type InputRx = mpsc::UnboundedReceiver<Result<AgentInput>>;

struct RunnerState {
    turn_index: u32,
    new_snapshot_id: Option<String>,
    last_turn_finish_reason: Option<AgentFinishReason>,
    last_turn_error: Option<RuntimeError>,
    last_good_state: SessionState,
    last_good_snapshot_id: Option<String>,
    last_snapshot: Option<SessionSnapshot>,
    last_snapshot_version: u64,
    is_detached: bool,
    first_custom_patch_in_turn: bool,
    last_sent_custom: Value,
}

struct Inner {
    session: Session,
    inputs: Mutex<Option<InputRx>>,
    store: Option<Arc<dyn SessionStore>>,
    abort: CancellationToken,
    context: ActionContext,
    emit: Emitter,
    state: Mutex<RunnerState>,
}

/// Runs the turns of one agent run over its live [`Session`] (JS `SessionRunner`). A custom
/// agent's function receives one and calls [`SessionRunner::run`] with its turn function;
/// the runner reads and changes the session through the delegate methods. Cheap to clone:
/// clones are the same runner.
#[derive(Clone)]
pub struct SessionRunner {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SessionRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRunner").field("session", &self.inner.session).finish_non_exhaustive()
    }
}

// Every update under this lock is a few assignments that cannot panic halfway.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The wire form of a turn's error (JS `toErrorDetails`): status, message and the details
/// given explicitly, never the error's source chain.
pub(crate) fn error_details(e: &Error) -> RuntimeError {
    let message = if e.message().is_empty() { "Internal failure".to_owned() } else { e.message().to_owned() };
    RuntimeError { status: Some(e.status().as_str().to_owned()), message, details: e.details().cloned() }
}

impl SessionRunner {
    pub(crate) fn new(
        session: Session,
        inputs: InputRx,
        store: Option<Arc<dyn SessionStore>>,
        abort: CancellationToken,
        context: ActionContext,
        emit: Emitter,
        last_snapshot: Option<SessionSnapshot>,
    ) -> SessionRunner {
        let state = RunnerState {
            turn_index: 0,
            new_snapshot_id: None,
            last_turn_finish_reason: None,
            last_turn_error: None,
            last_good_state: session.state(),
            last_good_snapshot_id: last_snapshot.as_ref().map(|s| s.snapshot_id.clone()),
            last_snapshot,
            last_snapshot_version: 0,
            is_detached: false,
            first_custom_patch_in_turn: true,
            last_sent_custom: Value::Null,
        };
        SessionRunner {
            inner: Arc::new(Inner {
                session,
                inputs: Mutex::new(Some(inputs)),
                store,
                abort,
                context,
                emit,
                state: Mutex::new(state),
            }),
        }
    }

    /// The live session.
    pub fn session(&self) -> &Session {
        &self.inner.session
    }

    /// A copy of the session state.
    pub fn state(&self) -> SessionState {
        self.inner.session.state()
    }

    /// A copy of the messages.
    pub fn messages(&self) -> Vec<Message> {
        self.inner.session.messages()
    }

    /// Appends messages.
    pub fn add_messages(&self, messages: impl IntoIterator<Item = Message>) {
        self.inner.session.add_messages(messages);
    }

    /// Replaces the messages.
    pub fn set_messages(&self, messages: Vec<Message>) {
        self.inner.session.set_messages(messages);
    }

    /// A copy of the custom state.
    pub fn custom(&self) -> Option<Value> {
        self.inner.session.custom()
    }

    /// Replaces the custom state with `f(current)`; streams a `customPatch` chunk.
    pub fn update_custom(&self, f: impl FnOnce(Option<Value>) -> Value) {
        self.inner.session.update_custom(f);
    }

    /// A copy of the artifacts.
    pub fn artifacts(&self) -> Vec<Artifact> {
        self.inner.session.artifacts()
    }

    /// Adds artifacts (one with an existing name replaces it); streams `artifact` chunks.
    pub fn add_artifacts(&self, artifacts: impl IntoIterator<Item = Artifact>) {
        self.inner.session.add_artifacts(artifacts);
    }

    /// Fires when the run is aborted (through the store or by the caller).
    pub fn cancellation(&self) -> &CancellationToken {
        &self.inner.abort
    }

    /// Why the last turn ended.
    pub fn last_turn_finish_reason(&self) -> Option<AgentFinishReason> {
        lock(&self.inner.state).last_turn_finish_reason
    }

    /// The error of the last turn, when it failed.
    pub fn last_turn_error(&self) -> Option<RuntimeError> {
        lock(&self.inner.state).last_turn_error.clone()
    }

    /// Whether the client detached from this run.
    pub fn is_detached(&self) -> bool {
        lock(&self.inner.state).is_detached
    }

    pub(crate) fn last_good(&self) -> (SessionState, Option<String>) {
        let st = lock(&self.inner.state);
        (st.last_good_state.clone(), st.last_good_snapshot_id.clone())
    }

    /// Runs `turn` once per input, in order, until the inputs end or a turn fails or is
    /// aborted (JS `SessionRunner.run`). Each turn runs in a `runTurn-<n>` span; the input's
    /// message is added to the session first. After each turn a `completed` snapshot is
    /// saved (with a store) and a `turnEnd` chunk streamed. A failing turn saves a `failed`
    /// snapshot, streams `turnEnd {finishReason: failed}` and ends the loop; the run then
    /// resolves gracefully with the error (it is not returned here).
    ///
    /// # Errors
    /// The input stream's errors (an invalid input, a failed detach); store failures while
    /// saving a failed turn; `FAILED_PRECONDITION` when called twice at once.
    pub async fn run<F, Fut>(&self, mut turn: F) -> Result<()>
    where
        F: FnMut(AgentInput, TurnContext) -> Fut,
        Fut: Future<Output = Result<TurnResult>>,
    {
        let taken = lock(&self.inner.inputs).take();
        let Some(mut rx) = taken else {
            return Err(Error::new(Status::FailedPrecondition, "SessionRunner::run is already running"));
        };
        let res = self.run_loop(&mut rx, &mut turn).await;
        *lock(&self.inner.inputs) = Some(rx);
        res
    }

    async fn run_loop<F, Fut>(&self, rx: &mut InputRx, turn: &mut F) -> Result<()>
    where
        F: FnMut(AgentInput, TurnContext) -> Fut,
        Fut: Future<Output = Result<TurnResult>>,
    {
        while let Some(item) = rx.recv().await {
            let input = item?;
            if let Some(m) = &input.message {
                self.inner.session.add_messages([m.clone()]);
            }
            let (turn_snapshot_id, parent, index) = {
                let mut st = lock(&self.inner.state);
                st.first_custom_patch_in_turn = true;
                if self.inner.store.is_some() && st.new_snapshot_id.is_none() {
                    st.new_snapshot_id = Some(reserve_snapshot_id()?);
                }
                (st.new_snapshot_id.take(), st.last_snapshot.as_ref().map(|s| s.snapshot_id.clone()), st.turn_index)
            };
            let tcx =
                TurnContext { snapshot_id: turn_snapshot_id.clone(), parent_snapshot_id: parent, turn_index: index };
            let span_input = serde_json::to_value(&input).ok();
            let name = format!("runTurn-{}", index + 1);
            let res = genkit_core::run(&name, span_input.as_ref(), async {
                let result = turn(input, tcx).await?;
                let reason = result.finish_reason;
                {
                    let mut st = lock(&self.inner.state);
                    st.last_turn_finish_reason = reason;
                    st.last_turn_error = None;
                }
                let saved =
                    self.save_snapshot(Some(SnapshotStatus::Completed), None, turn_snapshot_id.clone(), reason).await?;
                let state = self.inner.session.state();
                {
                    let mut st = lock(&self.inner.state);
                    st.last_good_state = state.clone();
                    st.last_good_snapshot_id.clone_from(&saved);
                }
                self.notify_end_turn(saved, reason);
                Ok(state)
            })
            .await;
            match res {
                Ok(_) => lock(&self.inner.state).turn_index += 1,
                Err(e) => {
                    if self.inner.abort.is_cancelled() {
                        let last = {
                            let mut st = lock(&self.inner.state);
                            st.last_turn_finish_reason = Some(AgentFinishReason::Aborted);
                            st.last_turn_error = None;
                            st.last_snapshot.as_ref().map(|s| s.snapshot_id.clone())
                        };
                        self.notify_end_turn(last, Some(AgentFinishReason::Aborted));
                        break;
                    }
                    let details = error_details(&e);
                    {
                        let mut st = lock(&self.inner.state);
                        st.last_turn_finish_reason = Some(AgentFinishReason::Failed);
                        st.last_turn_error = Some(details.clone());
                    }
                    let saved = self
                        .save_snapshot(
                            Some(SnapshotStatus::Failed),
                            Some(details),
                            turn_snapshot_id,
                            Some(AgentFinishReason::Failed),
                        )
                        .await?;
                    self.notify_end_turn(saved, Some(AgentFinishReason::Failed));
                    break;
                }
            }
        }
        Ok(())
    }

    fn notify_end_turn(&self, snapshot_id: Option<String>, finish_reason: Option<AgentFinishReason>) {
        if self.is_detached() {
            return;
        }
        let snapshot_id = if self.inner.store.is_some() { snapshot_id } else { None };
        (self.inner.emit)(AgentStreamChunk {
            turn_end: Some(TurnEnd { snapshot_id, finish_reason }),
            ..AgentStreamChunk::default()
        });
    }

    /// Writes a `pending` snapshot for a detaching client and marks the run detached: no
    /// more chunks are streamed. Returns the snapshot id the running (or next) turn saves to.
    pub(crate) async fn begin_detach(&self) -> Result<String> {
        let id = {
            let mut st = lock(&self.inner.state);
            match st.new_snapshot_id.clone() {
                Some(id) => id,
                None => {
                    let id = reserve_snapshot_id()?;
                    st.new_snapshot_id = Some(id.clone());
                    id
                }
            }
        };
        self.save_snapshot(Some(SnapshotStatus::Pending), None, Some(id.clone()), None).await?;
        lock(&self.inner.state).is_detached = true;
        Ok(id)
    }

    /// The whole-document replace (first of a turn) or RFC 6902 diff to stream after a
    /// custom-state change; `None` when detached or nothing changed.
    pub(crate) fn custom_patch(&self, transformed: Value) -> Option<json_patch::Patch> {
        let mut st = lock(&self.inner.state);
        if st.is_detached {
            return None;
        }
        let patch = if st.first_custom_patch_in_turn {
            st.first_custom_patch_in_turn = false;
            json_patch::Patch(vec![json_patch::PatchOperation::Replace(json_patch::ReplaceOperation {
                path: json_patch::jsonptr::PointerBuf::new(),
                value: transformed.clone(),
            })])
        } else {
            json_patch::diff(&st.last_sent_custom, &transformed)
        };
        st.last_sent_custom = transformed;
        (!patch.0.is_empty()).then_some(patch)
    }

    /// Saves a snapshot of the session (JS `maybeSnapshot`). Without a store, or with nothing
    /// changed and no status to record, returns the last snapshot's id. The write is skipped
    /// when the stored snapshot was aborted meanwhile (an abort is never overwritten).
    pub(crate) async fn save_snapshot(
        &self,
        status: Option<SnapshotStatus>,
        error: Option<RuntimeError>,
        snapshot_id: Option<String>,
        finish_reason: Option<AgentFinishReason>,
    ) -> Result<Option<String>> {
        let (last, last_version, detached, new_id) = {
            let st = lock(&self.inner.state);
            (st.last_snapshot.clone(), st.last_snapshot_version, st.is_detached, st.new_snapshot_id.clone())
        };
        let last_id = last.as_ref().map(|s| s.snapshot_id.clone());
        let Some(store) = &self.inner.store else { return Ok(last_id) };
        if detached && snapshot_id != last_id {
            return Ok(last_id);
        }
        let version = self.inner.session.version();
        if version == last_version && status.is_none() {
            return Ok(last_id);
        }
        let effective = snapshot_id.or(new_id);
        // A turn that saves over the pending snapshot its detach wrote continues that
        // snapshot's parent (JS would name the snapshot as its own parent here).
        let parent_id = match &last {
            Some(l) if Some(&l.snapshot_id) == effective.as_ref() => l.parent_id.clone(),
            Some(l) => Some(l.snapshot_id.clone()),
            None => None,
        };
        let now = genkit_core::time::now_iso();
        let snapshot = SessionSnapshot {
            snapshot_id: effective.clone().unwrap_or_default(),
            session_id: Some(self.inner.session.session_id().to_owned()),
            parent_id,
            created_at: now.clone(),
            updated_at: Some(now.clone()),
            heartbeat_at: (status == Some(SnapshotStatus::Pending)).then(|| now.clone()),
            status: Some(status.unwrap_or(SnapshotStatus::Completed)),
            finish_reason,
            error,
            state: Some(self.inner.session.state()),
        };
        let candidate = snapshot.clone();
        let mut mutator = move |current: Option<&SessionSnapshot>| {
            if current.and_then(|c| c.status) == Some(SnapshotStatus::Aborted) { None } else { Some(candidate.clone()) }
        };
        let assigned = store.save_snapshot(effective.as_deref(), &mut mutator, &self.inner.context).await?;
        match assigned {
            None => Ok(effective),
            Some(id) => {
                let mut st = lock(&self.inner.state);
                st.last_snapshot = Some(SessionSnapshot { snapshot_id: id.clone(), ..snapshot });
                st.last_snapshot_version = version;
                Ok(Some(id))
            }
        }
    }
}
