//! Behaviour of chat sessions and chats, with the test models.

use std::sync::Arc;

use futures::StreamExt;
use genkit_core::{ActionContext, Registry, Status};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};
use serde_json::{Value, json};

use super::*;
use crate::experimental::session::{InMemorySessionStore, SessionStore, SnapshotQuery, current_session};
use crate::generate::GenerateOptions;
use crate::model::testing::{ProgrammableModel, echo_model};
use crate::prompt::{PromptConfig, define_prompt};
use crate::tool::{self, ToolConfig};
use crate::{FinishReason, Message, ModelResponse, ModelResponseChunk, Part, Role, ToolChoice};

fn registry() -> Registry {
    let r = Registry::new();
    r.register_action(echo_model("echo").as_action()).unwrap();
    r
}

fn programmable(r: &Registry) -> ProgrammableModel {
    let pm = ProgrammableModel::new("pm");
    r.register_action(pm.action().as_action()).unwrap();
    pm
}

fn texts(messages: &[Message]) -> Vec<String> {
    messages.iter().map(|m| format!("{:?}:{}", m.role, m.text())).collect()
}

fn preamble_flags(messages: &[Message]) -> Vec<bool> {
    messages.iter().map(super::data::is_preamble).collect()
}

// ---- sessions ----

#[test]
fn a_session_id_is_trimmed_or_a_new_uuid() {
    let r = registry();
    let s = ChatSession::new(&r, SessionOptions::new().session_id("  s1 ")).unwrap();
    assert_eq!(s.id(), "s1");
    let s = ChatSession::new(&r, SessionOptions::new().session_id("   ")).unwrap();
    assert_eq!(s.id().len(), 36);
    assert_ne!(ChatSession::new(&r, SessionOptions::new()).unwrap().id(), s.id());
}

#[tokio::test]
async fn a_session_starts_with_its_initial_state_and_saves_nothing_until_changed() {
    let r = registry();
    let store = InMemorySessionDataStore::new();
    let s = ChatSession::new(
        &r,
        SessionOptions::new().session_id("s1").initial_state(json!({"n": 1})).store(store.clone()),
    )
    .unwrap();
    assert_eq!(s.state(), Some(json!({"n": 1})));
    assert_eq!(s.live().custom(), Some(json!({"n": 1})));
    assert_eq!(serde_json::to_value(s.to_json()).unwrap(), json!({"id": "s1", "state": {"n": 1}, "threads": {}}));
    assert_eq!(store.get("s1", &ActionContext::new()).await.unwrap(), None);
}

#[tokio::test]
async fn state_and_message_updates_save_the_whole_session_data() {
    let r = registry();
    let store = InMemorySessionDataStore::new();
    let cx = ActionContext::new();
    let s = ChatSession::new(&r, SessionOptions::new().session_id("s1").store(store.clone())).unwrap();
    s.update_messages("side", vec![Message::user("a")]).await.unwrap();
    assert_eq!(
        serde_json::to_value(store.get("s1", &cx).await.unwrap()).unwrap(),
        json!({"id": "s1", "threads": {"side": [{"role": "user", "content": [{"text": "a"}]}]}})
    );
    s.update_state(json!({"name": "Ada"})).await.unwrap();
    s.update_messages(MAIN_THREAD, vec![Message::user("b")]).await.unwrap();
    let saved = store.get("s1", &cx).await.unwrap().unwrap();
    assert_eq!(saved, s.to_json());
    assert_eq!(saved.state, Some(json!({"name": "Ada"})));
    assert_eq!(saved.thread("side"), &[Message::user("a")]);
    assert_eq!(saved.thread(MAIN_THREAD), &[Message::user("b")]);
    assert_eq!(s.messages(MAIN_THREAD), vec![Message::user("b")]);
    assert_eq!(s.state_as::<Value>().unwrap(), Some(json!({"name": "Ada"})));
    assert_eq!(s.state_as::<u32>().unwrap_err().status(), Status::InvalidArgument);
}

#[tokio::test]
async fn loading_needs_a_store_and_restores_state_and_threads() {
    let r = registry();
    let err = ChatSession::load(&r, "s1", SessionOptions::new()).await.unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("options.store is required"), "{err}");

    let store = InMemorySessionDataStore::new();
    let s = ChatSession::new(&r, SessionOptions::new().store(store.clone())).unwrap();
    s.update_state(json!({"n": 2})).await.unwrap();
    s.update_messages("t", vec![Message::model("x")]).await.unwrap();
    let loaded = ChatSession::load(&r, s.id(), SessionOptions::new().store(store.clone())).await.unwrap();
    assert_eq!(loaded.to_json(), s.to_json());

    let unknown = ChatSession::load(&r, "nope", SessionOptions::new().store(store)).await.unwrap();
    assert_eq!(unknown.id(), "nope");
    assert_eq!(unknown.state(), None);
}

#[tokio::test]
async fn run_makes_the_session_current_for_chat_and_agent_code() {
    let r = registry();
    assert_eq!(current_chat_session().unwrap_err().status(), Status::FailedPrecondition);
    assert_eq!(current_chat_session().unwrap_err().message(), "not running within a session");
    let s = ChatSession::new(&r, SessionOptions::new().initial_state(json!(1))).unwrap();
    let (chat_id, live_state) =
        s.run(async { (current_chat_session().unwrap().id().to_owned(), current_session().unwrap().custom()) }).await;
    assert_eq!(chat_id, s.id());
    assert_eq!(live_state, Some(json!(1)));
}

// ---- chats ----

#[tokio::test]
async fn a_chat_sends_the_preamble_then_the_history_and_saves_the_thread() {
    let r = registry();
    let store = InMemorySessionDataStore::new();
    let s = ChatSession::new(&r, SessionOptions::new().store(store.clone())).unwrap();
    let chat = s
        .chat(GenerateOptions::new().model("echo").system("be brief").messages(vec![Message::user("ctx")]))
        .await
        .unwrap();
    assert_eq!(preamble_flags(&chat.messages()), [true, true]);
    assert_eq!(chat.messages()[0].role, Role::System);
    chat.send("hi").await.unwrap();
    let r2 = chat.send("again").await.unwrap();
    assert_eq!(r2.text(), "Echo: be brief\nctx\nhi\nEcho: be brief\nctx\nhi; config: {}\nagain; config: {}");
    let history = chat.messages();
    assert_eq!(preamble_flags(&history), [true, true, false, false, false, false]);
    assert_eq!(s.messages(MAIN_THREAD), history);
    let saved = store.get(s.id(), &ActionContext::new()).await.unwrap().unwrap();
    assert_eq!(saved.thread(MAIN_THREAD), history.as_slice());
    assert_eq!(chat.session_id(), s.id());
    assert_eq!(chat.thread(), MAIN_THREAD);
}

#[tokio::test]
async fn a_new_preamble_replaces_the_old_one_and_keeps_the_history() {
    let r = registry();
    let s = ChatSession::new(&r, SessionOptions::new()).unwrap();
    let chat = s.chat(GenerateOptions::new().model("echo").system("old")).await.unwrap();
    chat.send("hi").await.unwrap();
    let chat = s.chat(GenerateOptions::new().model("echo").system("new")).await.unwrap();
    assert_eq!(texts(&chat.messages()), ["System:new", "User:hi", "Model:Echo: old\nhi; config: {}"]);
    // Without a preamble, the thread's history (old preamble included) is kept as it is.
    let chat = s.chat(GenerateOptions::new().model("echo")).await.unwrap();
    assert_eq!(texts(&chat.messages()), ["System:old", "User:hi", "Model:Echo: old\nhi; config: {}"]);
}

#[tokio::test]
async fn threads_are_separate_conversations_in_one_session() {
    let r = registry();
    let s = ChatSession::new(&r, SessionOptions::new()).unwrap();
    let lawyer = s
        .chat(ChatOptions::from(GenerateOptions::new().model("echo").system("lawyer")).thread("lawyer"))
        .await
        .unwrap();
    let pirate = s
        .chat(ChatOptions::from(GenerateOptions::new().model("echo").system("pirate")).thread("pirate"))
        .await
        .unwrap();
    assert_eq!(lawyer.send("joke").await.unwrap().text(), "Echo: lawyer\njoke; config: {}");
    assert_eq!(pirate.send("joke").await.unwrap().text(), "Echo: pirate\njoke; config: {}");
    assert_eq!(s.messages("lawyer").len(), 3);
    assert_eq!(s.messages("pirate").len(), 3);
    assert!(s.messages(MAIN_THREAD).is_empty());
    assert_eq!(s.to_json().threads.unwrap().len(), 2);
}

#[tokio::test]
async fn a_prompt_preamble_is_rendered_with_the_input_and_the_session_state() {
    let r = registry();
    let prompt = define_prompt(
        &r,
        PromptConfig::new("agent").model("echo").system("You help {{@state.name}} with {{topic}}.").prompt("Start."),
    )
    .unwrap();
    let s = ChatSession::new(&r, SessionOptions::new().initial_state(json!({"name": "Ada"}))).unwrap();
    let chat = s.chat(ChatOptions::new().preamble(&prompt).input(json!({"topic": "math"}))).await.unwrap();
    assert_eq!(texts(&chat.messages()), ["System:You help Ada with math.", "User:Start."]);
    assert_eq!(preamble_flags(&chat.messages()), [true, true]);
    let resp = chat.send("2+2?").await.unwrap();
    assert_eq!(resp.text(), "Echo: You help Ada with math.\nStart.\n2+2?; config: {}");
    // The prompt converts to chat options directly.
    let chat = s.chat(&prompt).await.unwrap();
    assert_eq!(texts(&chat.messages())[0], "System:You help Ada with .");
    // A `system` option laid over the prompt leads the preamble once, instead of being sent
    // again with every request.
    let chat =
        s.chat(ChatOptions::from(GenerateOptions::new().system("extra")).preamble(&prompt).thread("t2")).await.unwrap();
    assert_eq!(texts(&chat.messages()), ["System:extra", "System:You help Ada with .", "User:Start."]);
    assert_eq!(preamble_flags(&chat.messages()), [true, true, true]);
    let resp = chat.send("go").await.unwrap();
    assert_eq!(resp.text(), "Echo: extra\nYou help Ada with .\nStart.\ngo; config: {}");
}

#[tokio::test]
async fn prompts_read_the_state_of_the_session_they_render_in() {
    let r = registry();
    let prompt = define_prompt(
        &r,
        PromptConfig::new("p").model("echo").prompt("Hi {{@state.name}}").system_fn(
            |_: Value, cx: crate::prompt::PromptCx| async move {
                Ok(format!("state={}", cx.state().cloned().unwrap_or_default()))
            },
        ),
    )
    .unwrap();
    let s = ChatSession::new(&r, SessionOptions::new().initial_state(json!({"name": "Bo"}))).unwrap();
    let rendered = s.run(prompt.render(json!({}))).await.unwrap();
    assert_eq!(texts(&rendered.messages), ["System:state={\"name\":\"Bo\"}", "User:Hi Bo"]);
    let outside = prompt.render(json!({})).await.unwrap();
    assert_eq!(texts(&outside.messages), ["System:state=null", "User:Hi "]);
}

#[tokio::test]
async fn a_prompt_in_the_base_options_is_the_first_user_message() {
    let r = registry();
    let s = ChatSession::new(&r, SessionOptions::new()).unwrap();
    let chat = s.chat(GenerateOptions::new().model("echo").system("sys").prompt("first")).await.unwrap();
    assert_eq!(texts(&chat.messages()), ["System:sys", "User:first"]);
    assert_eq!(preamble_flags(&chat.messages()), [true, false]);
    assert_eq!(chat.send("second").await.unwrap().text(), "Echo: sys\nfirst\nsecond; config: {}");
}

#[tokio::test]
async fn send_takes_text_parts_or_options_laid_over_the_base() {
    let r = registry();
    let pm = programmable(&r);
    let s = ChatSession::new(&r, SessionOptions::new()).unwrap();
    let chat = s.chat(GenerateOptions::new().model("echo").config(json!({"t": 1}))).await.unwrap();
    let parts = vec![Part::text("a"), Part::text("b")];
    assert_eq!(chat.send(parts).await.unwrap().text(), "Echo: ab; config: {\"t\":1}");
    pm.respond_text("from pm");
    let resp = chat.send(GenerateOptions::new().model("pm").prompt("q").tool_choice(ToolChoice::None)).await.unwrap();
    assert_eq!(resp.text(), "from pm");
    let req = pm.last_request().unwrap();
    assert_eq!(texts(&req.messages), ["User:ab", "Model:Echo: ab; config: {\"t\":1}", "User:q"]);
    // The request's config and tool choice carry over to the next send.
    assert_eq!(req.config, Some(json!({"t": 1})));
    pm.respond_text("again");
    chat.send(GenerateOptions::new().model("pm").prompt("q2")).await.unwrap();
    assert_eq!(pm.last_request().unwrap().tool_choice, Some(ToolChoice::None));
    // A send's config replaces the base config, and then stays.
    chat.send(GenerateOptions::new().prompt("x").config(json!({"t": 2}))).await.unwrap();
    assert!(chat.send("y").await.unwrap().text().ends_with("; config: {\"t\":2}"));
    // Messages in the send options replace the history for that send.
    let resp = chat.send(GenerateOptions::new().messages(vec![Message::user("only")])).await.unwrap();
    assert_eq!(resp.text(), "Echo: only; config: {\"t\":2}");
    assert_eq!(chat.messages().len(), 2);
}

#[tokio::test]
async fn tools_keep_working_across_sends_and_see_the_session() {
    let r = registry();
    let pm = programmable(&r);
    let counter = tool::new(ToolConfig::new("count", "counts"), |_: Value, _cx| async move {
        let session = current_chat_session()?;
        let n = session.state().and_then(|s| s["n"].as_i64()).unwrap_or(0) + 1;
        session.live().update_custom(|_| json!({"n": n}));
        Ok(json!(n))
    });
    r.register_action(counter.as_action()).unwrap();
    let store = InMemorySessionDataStore::new();
    let s = ChatSession::new(&r, SessionOptions::new().store(store.clone())).unwrap();
    let chat = s.chat(GenerateOptions::new().model("pm").tool("count")).await.unwrap();
    for _ in 0..2 {
        pm.respond(ModelResponse::from_message(Message::new(
            Role::Model,
            vec![Part::tool_request("count", Some(json!({})), Some("r".into()))],
        )));
        pm.respond_text("done");
        chat.send("count").await.unwrap();
        assert_eq!(pm.last_request().unwrap().tools.map(|t| t.len()), Some(1));
    }
    assert_eq!(s.state(), Some(json!({"n": 2})));
    // The tool's state change is saved with the thread.
    let saved = store.get(s.id(), &ActionContext::new()).await.unwrap().unwrap();
    assert_eq!(saved.state, Some(json!({"n": 2})));
    assert_eq!(saved.thread(MAIN_THREAD).len(), 8);
}

#[tokio::test]
async fn send_stream_streams_chunks_then_the_response_and_saves_the_thread() {
    let r = registry();
    let pm = programmable(&r);
    let s = ChatSession::new(&r, SessionOptions::new()).unwrap();
    let chat = s.chat(GenerateOptions::new().model("pm")).await.unwrap();
    let chunk = |t: &str| ModelResponseChunk { content: vec![Part::text(t)], ..ModelResponseChunk::default() };
    pm.respond_streaming(
        vec![chunk("Hel"), chunk("lo")],
        ModelResponse {
            message: Some(Message::model("Hello")),
            finish_reason: Some(FinishReason::Stop),
            ..ModelResponse::default()
        },
    );
    let mut stream = chat.send_stream("hi");
    let mut seen = Vec::new();
    while let Some(c) = stream.next().await {
        seen.push(c.unwrap().text());
    }
    assert_eq!(seen, ["Hel", "lo"]);
    assert_eq!(stream.output().await.unwrap().text(), "Hello");
    assert_eq!(texts(&s.messages(MAIN_THREAD)), ["User:hi", "Model:Hello"]);
}

#[tokio::test]
async fn sends_on_one_chat_run_one_after_the_other() {
    let r = registry();
    let s = ChatSession::new(&r, SessionOptions::new()).unwrap();
    let chat = s.chat(GenerateOptions::new().model("echo")).await.unwrap();
    let other = chat.clone();
    let (a, b) = tokio::join!(chat.send("a"), other.send("b"));
    a.unwrap();
    b.unwrap();
    // Each send saw the other's turn, whichever ran first.
    assert_eq!(chat.messages().len(), 4);
}

#[tokio::test]
async fn a_failed_send_leaves_the_history_as_it_was() {
    let r = registry();
    let pm = programmable(&r);
    let s = ChatSession::new(&r, SessionOptions::new()).unwrap();
    let chat = s.chat(GenerateOptions::new().model("pm")).await.unwrap();
    pm.fail(genkit_core::Error::new(Status::Unavailable, "down"));
    assert_eq!(chat.send("hi").await.unwrap_err().status(), Status::Unavailable);
    assert!(chat.messages().is_empty());
    assert!(s.messages(MAIN_THREAD).is_empty());
}

#[tokio::test]
async fn send_runs_in_a_helper_span_naming_session_and_thread() {
    let r = registry();
    let exp = InMemorySpanExporter::default();
    r.telemetry().add_span_processor(SimpleSpanProcessor::new(exp.clone()));
    let s = ChatSession::new(&r, SessionOptions::new().session_id("s1")).unwrap();
    let chat = s.chat(ChatOptions::from(GenerateOptions::new().model("echo")).thread("t1")).await.unwrap();
    chat.send("hi").await.unwrap();
    let spans = exp.get_finished_spans().unwrap();
    let send = spans.iter().find(|s| s.name == "send").expect("a send span");
    let attr = |k: &str| send.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
    assert_eq!(attr("genkit:type").as_deref(), Some("helper"));
    assert_eq!(attr(SESSION_ID_ATTR).as_deref(), Some("s1"));
    assert_eq!(attr(THREAD_NAME_ATTR).as_deref(), Some("t1"));
    assert_eq!(attr("genkit:input").as_deref(), Some(r#"[{"text":"hi"}]"#));
    let generate = spans.iter().find(|s| s.name == "generate").expect("a generate span");
    assert_eq!(generate.parent_span_id, send.span_context.span_id());
}

// ---- chat sessions in a snapshot store ----

#[tokio::test]
async fn a_chat_session_lives_in_a_snapshot_store_and_loads_back() {
    let r = registry();
    let snapshots = InMemorySessionStore::new().reject_branching_sessions(true);
    let store = SnapshotSessionDataStore::new(snapshots.clone());
    let s =
        ChatSession::new(&r, SessionOptions::new().initial_state(json!({"name": "Ada"})).store(store.clone())).unwrap();
    let main = s.chat(GenerateOptions::new().model("echo").system("sys")).await.unwrap();
    main.send("hi").await.unwrap();
    let side = s.chat(ChatOptions::from(GenerateOptions::new().model("echo")).thread("side")).await.unwrap();
    side.send("aside").await.unwrap();
    assert_eq!(snapshots.len(), 2);

    let cx = ActionContext::new();
    let latest = snapshots.get_snapshot(&SnapshotQuery::session(s.id()), &cx).await.unwrap().unwrap();
    let state = latest.state.unwrap();
    assert_eq!(state.custom, Some(json!({"name": "Ada"})));
    assert_eq!(texts(state.messages.as_deref().unwrap()), ["System:sys", "User:hi", "Model:Echo: sys\nhi; config: {}"]);

    let loaded = ChatSession::load(&r, s.id(), SessionOptions::new().store_arc(Arc::new(store))).await.unwrap();
    assert_eq!(loaded.to_json(), s.to_json());
    let side = loaded.chat(ChatOptions::from(GenerateOptions::new().model("echo")).thread("side")).await.unwrap();
    assert_eq!(side.send("more").await.unwrap().text(), "Echo: aside\nEcho: aside; config: {}\nmore; config: {}");
}

#[tokio::test]
async fn handles_are_cheap_clones_that_work_from_spawned_tasks() {
    fn shared<T: Clone + Send + Sync + 'static>() {}
    shared::<ChatSession>();
    shared::<Chat>();
    shared::<InMemorySessionDataStore>();
    shared::<SnapshotSessionDataStore>();
    let _: Option<&dyn SessionDataStore> = None;

    let r = registry();
    let s = ChatSession::new(&r, SessionOptions::new().store(InMemorySessionDataStore::new())).unwrap();
    let chat = s.chat(GenerateOptions::new().model("echo")).await.unwrap();
    let (c, s2) = (chat.clone(), s.clone());
    tokio::spawn(async move {
        c.send("from a task").await.unwrap();
        s2.update_state(json!({"done": true})).await.unwrap();
        let opened = s2.chat(ChatOptions::from(GenerateOptions::new().model("echo")).thread("t")).await.unwrap();
        opened.send_stream("x").output().await.unwrap();
    })
    .await
    .unwrap();
    assert_eq!(chat.messages().len(), 2);
    assert_eq!(s.state(), Some(json!({"done": true})));
    assert_eq!(s.messages("t").len(), 2);
}

#[tokio::test]
async fn a_preamble_that_fails_to_render_fails_the_chat() {
    let r = registry();
    let s = ChatSession::new(&r, SessionOptions::new()).unwrap();
    let missing = crate::prompt::prompt(&r, "nope", None);
    assert_eq!(s.chat(&missing).await.unwrap_err().status(), Status::NotFound);
    let bad = define_prompt(&r, PromptConfig::new("bad").model("echo").system("{{#if}}")).unwrap();
    assert_eq!(s.chat(&bad).await.unwrap_err().status(), Status::InvalidArgument);
    assert!(s.messages(MAIN_THREAD).is_empty());
}

#[tokio::test]
async fn a_chat_session_survives_a_restart_in_a_file_session_store() {
    use crate::experimental::session::FileSessionStore;
    let dir = std::env::temp_dir().join(format!("genkit-chat-file-{}", genkit_core::id::uuid_v4().unwrap()));
    let r = registry();
    let store = SnapshotSessionDataStore::new(FileSessionStore::new(&dir).unwrap());
    let s = ChatSession::new(&r, SessionOptions::new().initial_state(json!({"n": 1})).store(store)).unwrap();
    let chat = s.chat(GenerateOptions::new().model("echo").system("sys")).await.unwrap();
    chat.send("hi").await.unwrap();
    s.update_messages("side", vec![Message::user("aside")]).await.unwrap();

    // A new store on the same folder, as after a restart.
    let reopened = SnapshotSessionDataStore::new(FileSessionStore::new(&dir).unwrap());
    let loaded = ChatSession::load(&r, s.id(), SessionOptions::new().store(reopened)).await.unwrap();
    assert_eq!(loaded.to_json(), s.to_json());
    let _ = std::fs::remove_dir_all(dir);
}
