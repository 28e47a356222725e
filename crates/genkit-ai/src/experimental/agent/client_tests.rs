//! Tests of the typed client, in process, against the wire-compatible echo fixture.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use genkit_core::{Registry, Status};
use serde_json::json;

use super::*;
use crate::experimental::agent::fixture::define_echo_agent;
use crate::experimental::session::{InMemorySessionStore, SessionStore};

const POLL: Duration = Duration::from_millis(10);

fn server_agent() -> (AgentClient, InMemorySessionStore) {
    let registry = Registry::new();
    let store = InMemorySessionStore::new();
    define_echo_agent(&registry, "echo", Some(Arc::new(store.clone()) as Arc<dyn SessionStore>)).unwrap();
    (AgentClient::in_process(registry, "echo"), store)
}

fn client_agent() -> AgentClient {
    let registry = Registry::new();
    define_echo_agent(&registry, "echo", None).unwrap();
    AgentClient::in_process(registry, "echo")
}

#[tokio::test]
async fn server_managed_turns_continue_from_the_last_snapshot() {
    let (agent, store) = server_agent();
    let mut chat = agent.chat();
    let r = chat.send("hi").await.unwrap();
    assert_eq!(r.text(), "echo: hi");
    assert_eq!(r.finish_reason(), AgentFinishReason::Stop);
    let first = r.snapshot_id().unwrap().to_owned();
    assert_eq!(chat.snapshot_id(), Some(first.as_str()));
    assert!(r.session_id().is_some());
    assert_eq!(r.state(), Some(&json!({"turns": 1})));
    assert_eq!(chat.state_management(), Some(AgentStateManagement::Server));
    assert_eq!(r.messages().len(), 2);

    let r = chat.send("again").await.unwrap();
    assert_eq!(r.state(), Some(&json!({"turns": 2})), "the second turn continued the first");
    assert_ne!(r.snapshot_id(), Some(first.as_str()));
    assert_eq!(chat.messages().len(), 4);
    assert_eq!(chat.messages()[3].text(), "echo: again");
    assert_eq!(store.len(), 2);
}

#[tokio::test]
async fn streaming_yields_chunks_with_accumulated_text_and_live_custom_state() {
    let (agent, _) = server_agent();
    let mut chat = agent.chat();
    let mut turn = chat.send_stream("hi");
    let mut texts = Vec::new();
    let mut saw_custom = false;
    let mut saw_end = false;
    while let Some(c) = turn.next().await {
        let c = c.unwrap();
        if let Some(custom) = c.custom() {
            assert_eq!(custom, &json!({"turns": 1}));
            assert_eq!(turn.chat().state(), Some(&json!({"turns": 1})));
            saw_custom = true;
        }
        if !c.text().is_empty() {
            texts.push(c.accumulated_text());
        }
        if let Some(end) = &c.raw().turn_end {
            assert_eq!(end.finish_reason, Some(AgentFinishReason::Stop));
            assert!(end.snapshot_id.is_some());
            saw_end = true;
        }
    }
    assert!(saw_custom && saw_end);
    assert_eq!(texts, ["echo: ", "echo: hi"]);
    let r = turn.response().await.unwrap();
    assert_eq!(r.text(), "echo: hi");
}

#[tokio::test]
async fn client_managed_chats_send_their_state_back() {
    let agent = client_agent();
    let mut chat = agent.chat();
    let r = chat.send("one").await.unwrap();
    assert_eq!(r.snapshot_id(), None);
    assert_eq!(chat.state_management(), Some(AgentStateManagement::Client));
    assert_eq!(chat.session_state().unwrap().messages.as_ref().unwrap().len(), 2);
    let r = chat.send("two").await.unwrap();
    assert_eq!(r.state(), Some(&json!({"turns": 2})));
    assert_eq!(chat.messages().len(), 4);
    // A chat opened from saved state continues it.
    let mut again = agent.chat_with(AgentInit::from_state(chat.session_state().unwrap().clone()));
    assert_eq!(again.messages().len(), 4);
    let r = again.send("three").await.unwrap();
    assert_eq!(r.state(), Some(&json!({"turns": 3})));
    assert_eq!(again.session_id(), chat.session_id());
}

#[tokio::test]
async fn interrupts_are_answered_with_resume() {
    let (agent, _) = server_agent();
    let mut chat = agent.chat();
    let r = chat.send("interrupt").await.unwrap();
    assert_eq!(r.finish_reason(), AgentFinishReason::Interrupted);
    let interrupts = r.interrupts();
    assert_eq!(interrupts.len(), 1);
    assert_eq!((interrupts[0].name.as_str(), interrupts[0].reference.as_deref()), ("confirm", Some("r1")));
    assert_eq!(r.tool_requests().len(), 1);
    let respond = interrupts[0].respond(json!("yes"));
    assert_eq!(
        serde_json::to_value(&respond).unwrap(),
        json!({"toolResponse": {"ref": "r1", "name": "confirm", "output": "yes"}})
    );
    assert_eq!(
        serde_json::to_value(interrupts[0].restart()).unwrap(),
        json!({"toolRequest": {"ref": "r1", "name": "confirm", "input": {"q": "sure?"}}})
    );
    let r = chat.resume(AgentResume::respond([respond])).await.unwrap();
    assert_eq!(r.text(), "resumed: \"yes\"");
    let mut turn = chat.resume_stream(AgentResume::respond([Part::tool_response("confirm", Some(json!(1)), None)]));
    let mut text = String::new();
    while let Some(c) = turn.next().await {
        text = c.unwrap().accumulated_text();
    }
    assert_eq!(text, "resumed: 1");
    assert_eq!(turn.response().await.unwrap().state(), Some(&json!({"turns": 3})));
}

#[tokio::test]
async fn a_failed_turn_is_an_error_carrying_the_agent_failure() {
    let (agent, _) = server_agent();
    let mut chat = agent.chat();
    let good = chat.send("hi").await.unwrap().snapshot_id().unwrap().to_owned();
    let e = chat.send("fail").await.unwrap_err();
    assert_eq!((e.status(), e.message()), (Status::InvalidArgument, "fixture failure"));
    let failure = AgentFailure::from_error(&e).unwrap();
    assert_eq!(failure.snapshot_id.as_deref(), Some(good.as_str()), "points at the last good snapshot");
    assert_eq!(failure.details, Some(json!({"why": "asked to"})));
    assert_eq!(failure.output.unwrap().finish_reason, Some(AgentFinishReason::Failed));
    assert_eq!(chat.messages().len(), 2, "the failed turn's message is dropped");
    // The chat goes on from the last good snapshot.
    assert_eq!(chat.send("ok").await.unwrap().text(), "echo: ok");
}

#[tokio::test]
async fn artifacts_are_tracked() {
    let (agent, _) = server_agent();
    let mut chat = agent.chat();
    let mut turn = chat.send_stream("artifact");
    let mut streamed = None;
    while let Some(c) = turn.next().await {
        if let Some(a) = c.unwrap().artifact() {
            streamed = Some(a.clone());
        }
    }
    let r = turn.response().await.unwrap();
    assert_eq!(streamed.unwrap().name.as_deref(), Some("notes"));
    assert_eq!(r.artifacts().len(), 1);
    assert_eq!(chat.artifacts().len(), 1);
    chat.send("artifact").await.unwrap();
    assert_eq!(chat.artifacts().len(), 1, "an artifact with the same name replaces the old one");
}

#[tokio::test]
async fn chats_load_from_snapshots_and_sessions() {
    let (agent, _) = server_agent();
    let mut chat = agent.chat();
    chat.send("hi").await.unwrap();
    let snap = chat.snapshot_id().unwrap().to_owned();
    let session = chat.session_id().unwrap().to_owned();
    let got = agent.get_snapshot(GetSnapshotRequest::snapshot(snap.clone())).await.unwrap().unwrap();
    assert_eq!(got.status, Some(SnapshotStatus::Completed));
    assert_eq!(agent.get_snapshot(GetSnapshotRequest::snapshot("nope")).await.unwrap(), None);

    let mut loaded = agent.load_chat(GetSnapshotRequest::snapshot(snap.clone())).await.unwrap();
    assert_eq!((loaded.messages().len(), loaded.state()), (2, Some(&json!({"turns": 1}))));
    assert_eq!(loaded.session_id(), Some(session.as_str()));
    assert_eq!(loaded.send("more").await.unwrap().state(), Some(&json!({"turns": 2})));
    let by_session = agent.load_chat(GetSnapshotRequest::session(session)).await.unwrap();
    assert_eq!(by_session.messages().len(), 4);
    let e = agent.load_chat(GetSnapshotRequest::snapshot("nope")).await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    // chat_with(snapshot) continues it too.
    let mut branch = agent.chat_with(AgentInit::from_snapshot(snap));
    assert_eq!(branch.send("branch").await.unwrap().state(), Some(&json!({"turns": 2})));
}

#[tokio::test]
async fn detached_turns_are_polled_to_completion() {
    let (agent, _) = server_agent();
    let mut chat = agent.chat();
    let task = chat.detach("bg").await.unwrap();
    assert_eq!(chat.snapshot_id(), Some(task.snapshot_id()));
    let done = task.wait(POLL).await.unwrap();
    assert_eq!(done.status, Some(SnapshotStatus::Completed));
    assert_eq!(done.state.unwrap().messages.unwrap().last().unwrap().text(), "echo: bg");
}

#[tokio::test]
async fn detached_turns_can_be_aborted() {
    let (agent, _) = server_agent();
    let mut chat = agent.chat();
    let task = chat.detach("slow").await.unwrap();
    assert_eq!(task.abort().await.unwrap(), Some(SnapshotStatus::Pending));
    let last = task.wait(POLL).await.unwrap();
    assert_eq!(last.status, Some(SnapshotStatus::Aborted));
    // Aborting again reports the status it found.
    assert_eq!(agent.abort(task.snapshot_id()).await.unwrap(), Some(SnapshotStatus::Aborted));
    assert_eq!(chat.abort().await.unwrap(), Some(SnapshotStatus::Aborted));
}

#[tokio::test]
async fn detach_snapshots_and_abort_need_a_store() {
    let agent = client_agent();
    let mut chat = agent.chat();
    let e = chat.detach("bg").await.unwrap_err();
    assert_eq!(e.status(), Status::FailedPrecondition);
    let e = agent.get_snapshot(GetSnapshotRequest::snapshot("x")).await.unwrap_err();
    assert_eq!(e.status(), Status::FailedPrecondition);
    assert!(e.message().contains("no session store"), "{e}");
    assert_eq!(agent.abort("x").await.unwrap_err().status(), Status::FailedPrecondition);
}

#[tokio::test]
async fn an_aborted_turn_ends_with_an_aborted_response() {
    let (agent, _) = server_agent();
    let mut chat = agent.chat();
    let turn = chat.send_stream("hi");
    turn.abort_handle().cancel();
    let r = turn.response().await.unwrap();
    assert_eq!(r.finish_reason(), AgentFinishReason::Aborted);
    assert!(chat.messages().is_empty(), "the aborted turn's message is dropped");
}

#[tokio::test]
async fn an_unknown_agent_is_not_found() {
    let agent = AgentClient::in_process(Registry::new(), "nobody");
    let e = agent.chat().send("hi").await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert!(e.message().contains("/agent/nobody"), "{e}");
}

#[tokio::test]
async fn a_session_id_starts_and_continues_a_named_session() {
    let (agent, _) = server_agent();
    let mut first = agent.chat_with(AgentInit::from_session("s1"));
    assert_eq!(first.session_id(), Some("s1"));
    first.send("hi").await.unwrap();
    let mut second = agent.chat_with(AgentInit::from_session("s1"));
    let r = second.send("again").await.unwrap();
    assert_eq!(r.session_id(), Some("s1"));
    assert_eq!(r.state(), Some(&json!({"turns": 2})), "continued the session's latest snapshot");
}
