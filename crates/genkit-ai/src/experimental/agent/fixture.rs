//! **Test fixture** (feature `testing`): a small hand-made agent that speaks the agent wire
//! protocol (`/agent/<name>`, `/agent-snapshot/<name>`, `/agent-abort/<name>`), so the client,
//! the flow server and the reflection API can be tested without the agent runtime. It is not
//! an agent runtime: it echoes.
//!
//! Each turn of [`define_echo_agent`]:
//! - sets the custom state to `{"turns": n}` (a `customPatch` chunk),
//! - streams `echo: ` and then the user's text as two model chunks,
//! - on the text `artifact`, adds the artifact `notes` (an `artifact` chunk),
//! - on the text `interrupt`, ends `interrupted` with an interrupt tool request `confirm`,
//! - on the text `fail`, fails with `INVALID_ARGUMENT` "fixture failure",
//! - on a resume, answers `resumed: <tool output>`,
//! - on a detached input (server-managed only), answers `detached` at once and finishes in
//!   the background; the text `slow` waits for an abort (up to 30 s) instead of finishing,
//! - ends with a `turnEnd` chunk and saves a `completed` snapshot (server-managed).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use genkit_core::{
    ActionContext, ActionCx, ActionDef, ActionType, Error, InputStream, Registry, Result, Status, schema_for,
};
use serde_json::json;

use super::{
    AgentAbortRequest, AgentAbortResponse, AgentInit, AgentInput, AgentOutput, AgentStreamChunk, GetSnapshotRequest,
    TurnEnd,
};
use crate::experimental::session::{
    AgentFinishReason, Artifact, SessionSnapshot, SessionState, SessionStore, SnapshotQuery, SnapshotStatus,
};
use crate::{Message, ModelResponseChunk, Part, Role, RuntimeError};

/// Registers the echo fixture `name` in `registry`: server-managed with `store`, else
/// client-managed. Returns the keys of the actions registered.
///
/// # Errors
/// The registry's (a name taken twice).
pub fn define_echo_agent(registry: &Registry, name: &str, store: Option<Arc<dyn SessionStore>>) -> Result<Vec<String>> {
    let meta =
        json!({"stateManagement": if store.is_some() { "server" } else { "client" }, "abortable": store.is_some()});
    let s = store.clone();
    let agent = ActionDef::<AgentInput, AgentOutput, AgentStreamChunk>::builder(ActionType::Agent, name)
        .description("Echo agent (test fixture)")
        .init_schema(schema_for::<AgentInit>())
        .metadata("agent", meta)
        .build_bidi(move |inputs: InputStream<AgentInput>, cx: ActionCx<AgentStreamChunk>| {
            run_agent(inputs, cx, s.clone())
        });
    registry.register_action(Arc::new(agent))?;
    let mut keys = vec![format!("/agent/{name}")];
    if let Some(store) = store {
        let (st, agent_name) = (store.clone(), name.to_owned());
        let snapshot = ActionDef::<GetSnapshotRequest, SessionSnapshot, ()>::builder(ActionType::AgentSnapshot, name)
            .description("Gets snapshot data of the echo agent (test fixture)")
            .build(move |req: GetSnapshotRequest, cx: ActionCx<()>| {
                let (store, agent_name) = (st.clone(), agent_name.clone());
                async move {
                    let query = SnapshotQuery::from_ids(req.snapshot_id.as_deref(), req.session_id.as_deref())?;
                    store.get_snapshot(&query, cx.context()).await?.ok_or_else(|| {
                        let target = req.snapshot_id.or(req.session_id).unwrap_or_default();
                        Error::not_found(format!("Snapshot '{target}' not found for agent '{agent_name}'."))
                    })
                }
            });
        registry.register_action(Arc::new(snapshot))?;
        let st = store;
        let abort = ActionDef::<AgentAbortRequest, AgentAbortResponse, ()>::builder(ActionType::AgentAbort, name)
            .description("Aborts a detached turn of the echo agent (test fixture)")
            .build(move |req: AgentAbortRequest, cx: ActionCx<()>| {
                let store = st.clone();
                async move {
                    let mut previous = None;
                    store
                        .save_snapshot(
                            Some(&req.snapshot_id),
                            &mut |current| {
                                let current = current?;
                                previous = current.status;
                                match current.status {
                                    Some(
                                        SnapshotStatus::Completed | SnapshotStatus::Failed | SnapshotStatus::Aborted,
                                    ) => None,
                                    _ => Some(current.clone().with_status(SnapshotStatus::Aborted)),
                                }
                            },
                            cx.context(),
                        )
                        .await?;
                    Ok(AgentAbortResponse { snapshot_id: req.snapshot_id, status: previous })
                }
            });
        registry.register_action(Arc::new(abort))?;
        keys.push(format!("/agent-snapshot/{name}"));
        keys.push(format!("/agent-abort/{name}"));
    }
    Ok(keys)
}

struct Conversation {
    state: SessionState,
    session_id: String,
    parent: Option<String>,
}

async fn resolve(
    init: Option<AgentInit>,
    store: Option<&Arc<dyn SessionStore>>,
    cx: &ActionContext,
) -> Result<Conversation> {
    let init = init.unwrap_or_default();
    if let Some(store) = store {
        if init.state.is_some() {
            return Err(Error::invalid_argument("this agent keeps its state on the server: send a snapshotId"));
        }
        let query = match (&init.snapshot_id, &init.session_id) {
            (Some(id), _) => Some(SnapshotQuery::snapshot(id.clone())),
            (None, Some(s)) => Some(SnapshotQuery::session(s.clone())),
            (None, None) => None,
        };
        if let Some(query) = query {
            if let Some(snap) = store.get_snapshot(&query, cx).await? {
                let session_id = snap.owner().map(str::to_owned).unwrap_or_default();
                return Ok(Conversation {
                    state: snap.state.unwrap_or_default(),
                    session_id,
                    parent: Some(snap.snapshot_id),
                });
            }
            if let Some(id) = init.snapshot_id {
                return Err(Error::not_found(format!("Snapshot '{id}' not found.")));
            }
        }
    } else if init.snapshot_id.is_some() {
        return Err(Error::invalid_argument("this agent keeps no store: send the state"));
    }
    let state = init.state.unwrap_or_default();
    let session_id = match init.session_id.or_else(|| state.session_id.clone()) {
        Some(s) => s,
        None => genkit_core::id::uuid_v4()?,
    };
    Ok(Conversation { state, session_id, parent: None })
}

async fn run_agent(
    mut inputs: InputStream<AgentInput>,
    cx: ActionCx<AgentStreamChunk>,
    store: Option<Arc<dyn SessionStore>>,
) -> Result<AgentOutput> {
    let init: Option<AgentInit> =
        cx.init().cloned().map(serde_json::from_value).transpose().map_err(Error::internal)?;
    let mut conv = resolve(init, store.as_ref(), cx.context()).await?;
    let mut out = AgentOutput { session_id: Some(conv.session_id.clone()), ..AgentOutput::default() };
    while let Some(input) = inputs.next().await {
        let input = input?;
        if input.detach == Some(true) {
            let Some(store) = store.clone() else {
                return Err(Error::new(
                    Status::FailedPrecondition,
                    "Detach is only supported when a session store is provided.",
                ));
            };
            let id = crate::experimental::session::reserve_snapshot_id()?;
            let pending = snapshot(&conv, &id, SnapshotStatus::Pending, None);
            store.save_snapshot(Some(&id), &mut |_| Some(pending.clone()), cx.context()).await?;
            let (context, bg_id) = (cx.context().clone(), id.clone());
            tokio::spawn(async move { background(store, context, conv, bg_id, input).await });
            return Ok(AgentOutput {
                session_id: out.session_id,
                snapshot_id: Some(id),
                finish_reason: Some(AgentFinishReason::Detached),
                ..AgentOutput::default()
            });
        }
        let last_good = conv.state.custom.clone();
        let turns = conv.state.custom.as_ref().and_then(|c| c.get("turns")).and_then(serde_json::Value::as_u64);
        let turns = turns.unwrap_or(0) + 1;
        conv.state.custom = Some(json!({"turns": turns}));
        let patch = serde_json::from_value(json!([{"op": "replace", "path": "", "value": {"turns": turns}}]))
            .map_err(Error::internal)?;
        cx.send_chunk(AgentStreamChunk { custom_patch: Some(patch), ..AgentStreamChunk::default() });
        let (reply, finish, error) = answer(&mut conv, &input, &cx);
        if finish == AgentFinishReason::Failed {
            conv.state.custom = last_good;
        } else {
            let messages = conv.state.messages.get_or_insert_with(Vec::new);
            messages.extend(input.message.clone());
            messages.push(reply.clone());
        }
        let mut snapshot_id = None;
        if let Some(store) = &store {
            let id = crate::experimental::session::reserve_snapshot_id()?;
            let status =
                if finish == AgentFinishReason::Failed { SnapshotStatus::Failed } else { SnapshotStatus::Completed };
            let snap = snapshot(&conv, &id, status, Some(finish));
            store.save_snapshot(Some(&id), &mut |_| Some(snap.clone()), cx.context()).await?;
            if finish != AgentFinishReason::Failed {
                conv.parent = Some(id.clone());
            }
            snapshot_id = Some(id);
        }
        cx.send_chunk(AgentStreamChunk {
            turn_end: Some(TurnEnd { snapshot_id: snapshot_id.clone(), finish_reason: Some(finish) }),
            ..AgentStreamChunk::default()
        });
        out.finish_reason = Some(finish);
        out.error = error;
        if finish == AgentFinishReason::Failed {
            out.snapshot_id = conv.parent.clone().filter(|_| store.is_some());
            out.message = None;
        } else {
            out.message = Some(reply);
            out.snapshot_id = snapshot_id;
        }
        out.artifacts = conv.state.artifacts.clone().filter(|a| !a.is_empty());
    }
    if store.is_none() {
        conv.state.session_id = Some(conv.session_id.clone());
        out.state = Some(conv.state);
    }
    Ok(out)
}

/// The reply to one input, streaming it.
fn answer(
    conv: &mut Conversation,
    input: &AgentInput,
    cx: &ActionCx<AgentStreamChunk>,
) -> (Message, AgentFinishReason, Option<RuntimeError>) {
    if let Some(resume) = &input.resume {
        let outputs: Vec<String> = resume
            .respond
            .iter()
            .flatten()
            .filter_map(|p| p.tool_response.as_ref())
            .map(|r| r.output.clone().unwrap_or_default().to_string())
            .collect();
        let text = format!("resumed: {}", outputs.join(","));
        cx.send_chunk(model_chunk(&text));
        return (Message::model(text), AgentFinishReason::Stop, None);
    }
    let text = input.message.as_ref().map(Message::text).unwrap_or_default();
    match text.as_str() {
        "fail" => {
            let e = RuntimeError {
                status: Some("INVALID_ARGUMENT".into()),
                message: "fixture failure".into(),
                details: Some(json!({"why": "asked to"})),
            };
            (Message::model(""), AgentFinishReason::Failed, Some(e))
        }
        "interrupt" => {
            let part = Part::tool_request("confirm", Some(json!({"q": "sure?"})), Some("r1".into()))
                .with_metadata("interrupt", json!(true));
            (Message::new(Role::Model, vec![part]), AgentFinishReason::Interrupted, None)
        }
        _ => {
            if text == "artifact" {
                let a = Artifact::new("notes", vec![Part::text("v1")]);
                conv.state.artifacts.get_or_insert_with(Vec::new).push(a.clone());
                cx.send_chunk(AgentStreamChunk { artifact: Some(a), ..AgentStreamChunk::default() });
            }
            cx.send_chunk(model_chunk("echo: "));
            cx.send_chunk(model_chunk(&text));
            (Message::model(format!("echo: {text}")), AgentFinishReason::Stop, None)
        }
    }
}

fn model_chunk(text: &str) -> AgentStreamChunk {
    AgentStreamChunk { model_chunk: Some(ModelResponseChunk::from_text(text)), ..AgentStreamChunk::default() }
}

fn snapshot(
    conv: &Conversation,
    id: &str,
    status: SnapshotStatus,
    finish: Option<AgentFinishReason>,
) -> SessionSnapshot {
    let mut state = conv.state.clone();
    state.session_id = Some(conv.session_id.clone());
    let mut s = SessionSnapshot::new(id).with_session_id(conv.session_id.clone()).with_status(status).with_state(state);
    s.parent_id.clone_from(&conv.parent);
    s.finish_reason = finish;
    s
}

/// The background part of a detached turn: finishes it, or (text `slow`) waits for an abort.
async fn background(
    store: Arc<dyn SessionStore>,
    cx: ActionContext,
    mut conv: Conversation,
    id: String,
    input: AgentInput,
) {
    let text = input.message.as_ref().map(Message::text).unwrap_or_default();
    if text == "slow" {
        let Ok(Some(mut watch)) = store.watch(&id, &cx).await else { return };
        let aborted = async {
            while let Some(s) = watch.next().await {
                if s.status == Some(SnapshotStatus::Aborted) {
                    return;
                }
            }
        };
        // Aborted (the abort action already wrote the status) or given up.
        let _ = tokio::time::timeout(Duration::from_secs(30), aborted).await;
        return;
    }
    let messages = conv.state.messages.get_or_insert_with(Vec::new);
    messages.extend(input.message);
    messages.push(Message::model(format!("echo: {text}")));
    let done = snapshot(&conv, &id, SnapshotStatus::Completed, Some(AgentFinishReason::Stop));
    let _ = store
        .save_snapshot(
            Some(&id),
            &mut |current| match current.and_then(|c| c.status) {
                Some(SnapshotStatus::Aborted) => None,
                _ => Some(done.clone()),
            },
            &cx,
        )
        .await;
}
