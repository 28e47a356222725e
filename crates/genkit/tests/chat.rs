//! The experimental session and chat API through the facade: `Genkit::chat`,
//! `create_session`, `load_session`, `current_chat_session`, prompt-file preambles reading
//! `@state`, and chat sessions kept in a snapshot store shared by two instances.

use std::path::PathBuf;

use genkit::ai::model::testing::{ProgrammableModel, echo_model};
use genkit::experimental::chat::{
    ChatOptions, InMemorySessionDataStore, MAIN_THREAD, SessionDataStore, SessionOptions, SnapshotSessionDataStore,
};
use genkit::experimental::session::InMemorySessionStore;
use genkit::prelude::*;
use genkit::{ActionContext, ModelResponse, Part, Role, Status, ToolConfig};
use serde_json::{Value, json};

async fn app() -> Genkit {
    let g = Genkit::builder().build().await.unwrap();
    g.register(echo_model("echo").as_action());
    g
}

fn temp_prompts(tag: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("genkit-chat-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (path, source) in files {
        std::fs::write(dir.join(path), source).unwrap();
    }
    dir
}

#[tokio::test]
async fn genkit_chat_makes_a_new_session_each_call() {
    let g = app().await;
    let a = g.chat(GenerateOptions::new().model("echo")).await.unwrap();
    let b = g.chat(GenerateOptions::new().model("echo")).await.unwrap();
    assert_ne!(a.session_id(), b.session_id());
    a.send("only in a").await.unwrap();
    assert!(b.messages().is_empty());

    // The session options of the chat options make its session: id and store.
    let store = InMemorySessionDataStore::new();
    let c = g
        .chat(
            ChatOptions::from(GenerateOptions::new().model("echo"))
                .session(SessionOptions::new().session_id("chat-1").store(store.clone())),
        )
        .await
        .unwrap();
    assert_eq!(c.session_id(), "chat-1");
    c.send("hi").await.unwrap();
    let saved = store.get("chat-1", &ActionContext::new()).await.unwrap().unwrap();
    assert_eq!(saved.thread(MAIN_THREAD).len(), 2);
}

#[tokio::test]
async fn a_prompt_file_preamble_reads_the_session_state() {
    let dir = temp_prompts(
        "state",
        &[(
            "tutor.prompt",
            "---\nmodel: echo\ninput:\n  schema:\n    subject: string\n---\n\
             {{role \"system\"}}Tutor {{@state.student}} in {{subject}}.",
        )],
    );
    let g = Genkit::builder().prompt_dir(&dir).build().await.unwrap();
    g.register(echo_model("echo").as_action());
    let session = g.create_session(SessionOptions::new().initial_state(json!({"student": "Ada"}))).unwrap();
    let tutor = g.prompt("tutor");
    let chat = session.chat(ChatOptions::new().preamble(&tutor).input(json!({"subject": "algebra"}))).await.unwrap();
    let r = chat.send("x+1=2?").await.unwrap();
    assert!(r.text().starts_with("Echo: Tutor Ada in algebra.\nx+1=2?"), "{}", r.text());
    let first = &chat.messages()[0];
    assert_eq!(first.role, Role::System);
    assert_eq!(first.metadata.as_ref().unwrap()["preamble"], json!(true));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn tools_find_the_current_session_through_the_facade() {
    let g = app().await;
    let pm = ProgrammableModel::new("pm");
    g.register(pm.action().as_action());
    let g2 = g.clone();
    let remember = g.define_tool(ToolConfig::new("remember", "remembers a name"), move |name: String, _cx| {
        let g = g2.clone();
        async move {
            let session = g.current_chat_session()?;
            session.update_state(json!({"name": name})).await?;
            Ok(session.id().to_owned())
        }
    });
    assert_eq!(g.current_chat_session().unwrap_err().status(), Status::FailedPrecondition);
    let store = InMemorySessionDataStore::new();
    let session = g.create_session(SessionOptions::new().store(store.clone())).unwrap();
    let chat = session.chat(GenerateOptions::new().model("pm").tool(&remember)).await.unwrap();
    pm.respond(ModelResponse::from_message(Message::new(
        Role::Model,
        vec![Part::tool_request("remember", Some(json!("Ada")), Some("1".into()))],
    )));
    pm.respond_text("noted");
    chat.send("I am Ada").await.unwrap();
    let loaded = g.load_session(session.id(), SessionOptions::new().store(store)).await.unwrap();
    assert_eq!(loaded.state(), Some(json!({"name": "Ada"})));
    assert_eq!(loaded.messages(MAIN_THREAD).len(), 4);
    let tool_out: Value =
        loaded.messages(MAIN_THREAD)[2].content[0].tool_response.as_ref().unwrap().output.clone().unwrap();
    assert_eq!(tool_out, json!(session.id()));
}

#[tokio::test]
async fn two_instances_share_chat_sessions_through_a_snapshot_store() {
    let snapshots = InMemorySessionStore::new();
    let store = SnapshotSessionDataStore::new(snapshots.clone());
    let (g1, g2) = (app().await, app().await);
    let s1 = g1.create_session(SessionOptions::new().session_id("shared").store(store.clone())).unwrap();
    let chat = s1.chat(GenerateOptions::new().model("echo").system("sys")).await.unwrap();
    chat.send("one").await.unwrap();

    let err = g2.load_session("shared", SessionOptions::new()).await.unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    let s2 = g2.load_session("shared", SessionOptions::new().store(store)).await.unwrap();
    let chat2 = s2.chat(GenerateOptions::new().model("echo")).await.unwrap();
    assert_eq!(chat2.messages(), chat.messages());
    let r = chat2.send("two").await.unwrap();
    assert!(r.text().starts_with("Echo: sys\none\n"), "{}", r.text());
    assert_eq!(snapshots.len(), 2);
}
