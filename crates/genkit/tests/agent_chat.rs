//! The agent handle gives a typed in-process client: `agent.chat()` sends, streams, resumes
//! from a snapshot, detaches (wait, abort), and `agent.client()` reads snapshots.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use genkit::experimental::agent::{AgentInput, AgentOptions, GetSnapshotRequest};
use genkit::experimental::session::{InMemorySessionStore, SessionStore, SnapshotStatus};
use genkit::{Genkit, Message, PromptConfig};

async fn app() -> (Genkit, genkit::experimental::agent::Agent) {
    let g = Genkit::builder().build().await.unwrap();
    g.register(genkit::ai::model::testing::echo_model("echo").as_action());
    let store: Arc<dyn SessionStore> = Arc::new(InMemorySessionStore::new());
    let agent = g.define_agent(PromptConfig::new("helper").model("echo"), AgentOptions::default().store(store));
    (g, agent)
}

#[tokio::test]
async fn agent_chat_sends_streams_and_continues_by_snapshot() {
    let (_g, agent) = app().await;
    let mut chat = agent.chat().unwrap();
    let first = chat.send("hi").await.unwrap();
    assert_eq!(first.text(), "Echo: hi; config: {}");
    let snap = first.snapshot_id().expect("a server-managed agent returns a snapshot id").to_owned();

    let mut turn = chat.send_stream("again");
    let mut streamed = String::new();
    while let Some(chunk) = turn.next().await {
        streamed.push_str(&chunk.unwrap().text());
    }
    let second = turn.response().await.unwrap();
    assert!(second.text().starts_with("Echo: hi"), "the history reached the model: {}", second.text());
    assert!(!streamed.is_empty(), "the turn streamed");
    assert_eq!(chat.messages().len(), 4);

    // A new chat resumed from the first snapshot sees only the first turn.
    let client = agent.client().unwrap();
    let mut resumed = client.load_chat(GetSnapshotRequest::snapshot(&snap)).await.unwrap();
    assert_eq!(resumed.messages().len(), 2);
    resumed.send(Message::user("branch")).await.unwrap();
    assert_eq!(resumed.messages().len(), 4);

    let read = client.get_snapshot(GetSnapshotRequest::snapshot(&snap)).await.unwrap().unwrap();
    assert_eq!(read.status, Some(SnapshotStatus::Completed));
    assert!(client.get_snapshot(GetSnapshotRequest::snapshot("missing")).await.unwrap().is_none());
}

#[tokio::test]
async fn agent_chat_detaches_then_waits_or_aborts() {
    let (_g, agent) = app().await;
    let mut chat = agent.chat().unwrap();
    let task = chat.detach(AgentInput::from("background")).await.unwrap();
    let done = task.wait(Duration::from_millis(10)).await.unwrap();
    assert_eq!(done.status, Some(SnapshotStatus::Completed));

    let task = chat.detach(AgentInput::from("more")).await.unwrap();
    // Whether the abort lands before or after the turn ends, the turn ends with a final status.
    let _ = task.abort().await.unwrap();
    let end = task.wait(Duration::from_millis(10)).await.unwrap();
    assert!(matches!(end.status, Some(SnapshotStatus::Completed | SnapshotStatus::Aborted)), "{:?}", end.status);
}

#[tokio::test]
async fn agent_chat_of_a_client_managed_agent_keeps_the_state() {
    let g = Genkit::builder().build().await.unwrap();
    g.register(genkit::ai::model::testing::echo_model("echo").as_action());
    let agent = g.define_agent(PromptConfig::new("stateless").model("echo"), AgentOptions::default());
    let mut chat = agent.chat().unwrap();
    let first = chat.send("one").await.unwrap();
    assert!(first.snapshot_id().is_none());
    let second = chat.send("two").await.unwrap();
    assert!(second.text().starts_with("Echo: one"), "the chat sent its state back: {}", second.text());
    assert_eq!(chat.messages().len(), 4);
}
