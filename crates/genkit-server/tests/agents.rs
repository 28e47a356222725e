//! Agents served over HTTP with the layout of Genkit's `remoteAgent` (`<path>`,
//! `<path>/getSnapshot`, `<path>/abort`), driven by the typed Rust client `remote_agent` and
//! checked frame by frame on the wire. Two kinds of agents are served: the wire-compatible
//! echo test fixture of genkit-ai (`experimental::agent::fixture`), which covers every path of
//! the protocol, and real agents of the agent runtime (a prompt agent on the echo model and a
//! custom agent that works until aborted, both with an in-memory session store).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::serve;
use futures::StreamExt;
use genkit_ai::Message;
use genkit_ai::experimental::agent::fixture::define_echo_agent;
use genkit_ai::experimental::agent::{
    AgentFailure, AgentFnCx, AgentInit, AgentOptions, AgentResult, AgentResume, AgentStateManagement,
    GetSnapshotRequest, RemoteAgentOptions, SessionRunner, TurnResult, define_agent, define_custom_agent,
};
use genkit_ai::experimental::session::{AgentFinishReason, InMemorySessionStore, SessionStore, SnapshotStatus};
use genkit_ai::model::testing::echo_model;
use genkit_ai::prompt::PromptConfig;
use genkit_core::{Registry, Status};
use genkit_server::{
    AgentEndpoints, FlowServer, FlowServerOptions, HandlerOptions, api_key, remote_agent, remote_agent_options,
};
use serde_json::{Value, json};

const POLL: Duration = Duration::from_millis(10);

/// Real agents of the runtime: `assistant`, a prompt agent on the echo model, and `worker`, a
/// custom agent whose turns run until they are aborted; both keep their state in a store.
fn define_real_agents(registry: &Registry) {
    registry.register_action(echo_model("echo").as_action()).unwrap();
    let store = || Arc::new(InMemorySessionStore::new()) as Arc<dyn SessionStore>;
    define_agent(registry, PromptConfig::new("assistant").model("echo"), AgentOptions::default().store(store()))
        .unwrap();
    define_custom_agent(
        registry,
        AgentOptions::new("worker").store(store()),
        |sess: SessionRunner, cx: AgentFnCx| async move {
            sess.run(|_, _| {
                let token = cx.cancellation().clone();
                async move {
                    token.cancelled().await;
                    Ok(TurnResult::default())
                }
            })
            .await?;
            Ok(AgentResult { message: Some(Message::model("stopped")), ..AgentResult::default() })
        },
    )
    .unwrap();
}

async fn server() -> (FlowServer, String) {
    let registry = Registry::new();
    let store: Arc<dyn SessionStore> = Arc::new(InMemorySessionStore::new());
    define_echo_agent(&registry, "echo", Some(store)).unwrap();
    define_echo_agent(&registry, "local", None).unwrap();
    define_real_agents(&registry);
    let echo = AgentEndpoints::from_registry(&registry, "echo").await.unwrap();
    let local = AgentEndpoints::from_registry(&registry, "local").await.unwrap();
    let assistant = AgentEndpoints::from_registry(&registry, "assistant").await.unwrap();
    let worker = AgentEndpoints::from_registry(&registry, "worker").await.unwrap();
    serve(
        FlowServerOptions::new()
            .agent(&echo)
            .agent(&assistant)
            .agent(&worker)
            .agent_with(&local, HandlerOptions::new().path("api/local"))
            .agent_with(&echo, HandlerOptions::new().path("private/echo").context_provider(api_key("secret"))),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_agents_send_stream_resume_and_load() {
    let (server, url) = server().await;
    let agent = remote_agent(format!("{url}/echo"));
    let mut chat = agent.chat();
    let r = chat.send("hi").await.unwrap();
    assert_eq!(r.text(), "echo: hi");
    assert_eq!(r.state(), Some(&json!({"turns": 1})));
    let first = r.snapshot_id().unwrap().to_owned();
    assert_eq!(chat.state_management(), Some(AgentStateManagement::Server));

    let mut turn = chat.send_stream("again");
    let mut texts = Vec::new();
    let mut custom = None;
    while let Some(c) = turn.next().await {
        let c = c.unwrap();
        if !c.text().is_empty() {
            texts.push(c.accumulated_text());
        }
        custom = c.custom().cloned().or(custom);
    }
    assert_eq!(texts, ["echo: ", "echo: again"]);
    assert_eq!(custom, Some(json!({"turns": 2})));
    let r = turn.response().await.unwrap();
    assert_eq!(r.messages().len(), 4);

    // Interrupt, then resume with a tool answer.
    let r = chat.send("interrupt").await.unwrap();
    assert_eq!(r.finish_reason(), AgentFinishReason::Interrupted);
    let answer = r.interrupts()[0].respond(json!({"ok": true}));
    assert_eq!(chat.resume(AgentResume::respond([answer])).await.unwrap().text(), "resumed: {\"ok\":true}");

    // Snapshots: lookup, load by snapshot and session, resume from an old snapshot.
    let snap = agent.get_snapshot(GetSnapshotRequest::snapshot(first.clone())).await.unwrap().unwrap();
    assert_eq!(snap.status, Some(SnapshotStatus::Completed));
    assert_eq!(agent.get_snapshot(GetSnapshotRequest::snapshot("missing")).await.unwrap(), None);
    let loaded = agent.load_chat(GetSnapshotRequest::session(chat.session_id().unwrap())).await.unwrap();
    assert_eq!(loaded.messages().len(), chat.messages().len());
    let mut old = agent.load_chat(GetSnapshotRequest::snapshot(first.clone())).await.unwrap();
    assert_eq!(old.send("branch").await.unwrap().state(), Some(&json!({"turns": 2})));
    let mut by_init = agent.chat_with(AgentInit::from_snapshot(first));
    assert_eq!(by_init.send("branch").await.unwrap().state(), Some(&json!({"turns": 2})));
    assert_eq!(agent.load_chat(GetSnapshotRequest::snapshot("missing")).await.unwrap_err().status(), Status::NotFound);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_detached_turns_are_polled_and_aborted() {
    let (server, url) = server().await;
    let agent = remote_agent(format!("{url}/echo"));
    let mut chat = agent.chat();
    let task = chat.detach("bg").await.unwrap();
    assert_eq!(task.wait(POLL).await.unwrap().status, Some(SnapshotStatus::Completed));

    let task = chat.detach("slow").await.unwrap();
    let mut polls = task.poll(POLL);
    assert_eq!(polls.next().await.unwrap().unwrap().status, Some(SnapshotStatus::Pending));
    drop(polls);
    assert_eq!(task.abort().await.unwrap(), Some(SnapshotStatus::Pending));
    assert_eq!(task.wait(POLL).await.unwrap().status, Some(SnapshotStatus::Aborted));
    assert_eq!(agent.abort(task.snapshot_id()).await.unwrap(), Some(SnapshotStatus::Aborted));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_client_managed_agents_and_failures() {
    let (server, url) = server().await;
    let agent = remote_agent(format!("{url}/api/local"));
    let mut chat = agent.chat();
    chat.send("one").await.unwrap();
    let r = chat.send("two").await.unwrap();
    assert_eq!((r.snapshot_id(), r.state()), (None, Some(&json!({"turns": 2}))));
    assert_eq!(chat.state_management(), Some(AgentStateManagement::Client));
    let e = chat.send("fail").await.unwrap_err();
    assert_eq!((e.status(), e.message()), (Status::InvalidArgument, "fixture failure"));
    let failure = AgentFailure::from_error(&e).unwrap();
    assert_eq!(failure.state, Some(json!({"turns": 2})), "the last good state");
    assert_eq!(chat.messages().len(), 4);
    // A client-managed agent has no snapshot endpoints.
    let e = chat.detach("bg").await.unwrap_err();
    assert_eq!(e.status(), Status::FailedPrecondition);
    assert_eq!(agent.get_snapshot(GetSnapshotRequest::snapshot("x")).await.unwrap(), None);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_agents_send_headers_to_all_three_endpoints() {
    let (server, url) = server().await;
    let denied = remote_agent(format!("{url}/private/echo"));
    assert_eq!(denied.chat().send("hi").await.unwrap_err().status(), Status::Unauthenticated);
    let agent = remote_agent_options(
        RemoteAgentOptions::new(format!("{url}/private/echo")).headers([("authorization", "secret")]),
    );
    let mut chat = agent.chat();
    let id = chat.send("hi").await.unwrap().snapshot_id().unwrap().to_owned();
    assert!(agent.get_snapshot(GetSnapshotRequest::snapshot(id.clone())).await.unwrap().is_some());
    assert_eq!(agent.abort(id).await.unwrap(), Some(SnapshotStatus::Completed));
    // Other endpoint URLs can be named.
    let moved = remote_agent_options(
        RemoteAgentOptions::new(format!("{url}/echo")).with_get_snapshot_url(format!("{url}/nowhere")),
    );
    assert_eq!(moved.get_snapshot(GetSnapshotRequest::snapshot("x")).await.unwrap(), None);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wire_is_the_flow_protocol_with_init() {
    let (server, url) = server().await;
    let http = reqwest::Client::new();
    let body = json!({"data": {"message": {"role": "user", "content": [{"text": "hi"}]}}, "init": {}});
    let res = http
        .post(format!("{url}/echo"))
        .header("content-type", "application/json")
        .header("accept", "text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let frames: Vec<Value> = text
        .split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|f| serde_json::from_str(f.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert_eq!(frames[0], json!({"message": {"customPatch": [{"op": "replace", "path": "", "value": {"turns": 1}}]}}));
    assert_eq!(frames[1], json!({"message": {"modelChunk": {"content": [{"text": "echo: "}]}}}));
    assert!(frames[3]["message"]["turnEnd"]["snapshotId"].is_string(), "{text}");
    let out = &frames[4]["result"];
    assert_eq!(out["finishReason"], "stop");
    assert_eq!(out["message"], json!({"role": "model", "content": [{"text": "echo: hi"}]}));
    let id = out["snapshotId"].as_str().unwrap();

    // getSnapshot and abort take the flow envelope too.
    let snap: Value = http
        .post(format!("{url}/echo/getSnapshot"))
        .json(&json!({"data": {"snapshotId": id}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(snap["result"]["snapshotId"], id);
    assert_eq!(snap["result"]["status"], "completed");
    let missing =
        http.post(format!("{url}/echo/getSnapshot")).json(&json!({"data": {"snapshotId": "no"}})).send().await;
    let missing = missing.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<Value>().await.unwrap()["status"], "NOT_FOUND");
    let abort: Value = http
        .post(format!("{url}/echo/abort"))
        .json(&json!({"data": {"snapshotId": id}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(abort, json!({"result": {"snapshotId": id, "status": "completed"}}));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_remote_turn_ends_aborted() {
    let (server, url) = server().await;
    let mut chat = remote_agent(format!("{url}/echo")).chat();
    chat.send("hi").await.unwrap();
    let turn = chat.send_stream("never mind");
    turn.abort();
    let r = turn.response().await.unwrap();
    assert_eq!(r.finish_reason(), AgentFinishReason::Aborted);
    assert_eq!(chat.messages().len(), 2, "the aborted turn's message is dropped");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn endpoints_come_from_the_registry() {
    let registry = Registry::new();
    define_echo_agent(&registry, "local", None).unwrap();
    let e = AgentEndpoints::from_registry(&registry, "nobody").await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    let local = AgentEndpoints::from_registry(&registry, "local").await.unwrap();
    assert!(format!("{local:?}").contains("get_snapshot: false"));
    let _router = genkit_server::agent_router(&local, HandlerOptions::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_clients_drive_real_agents() {
    let (server, url) = server().await;
    let agent = remote_agent(format!("{url}/assistant"));
    let mut chat = agent.chat();
    let r = chat.send("hi").await.unwrap();
    assert_eq!(r.text(), "Echo: hi; config: {}");
    let first = r.snapshot_id().unwrap().to_owned();
    assert_eq!(chat.state_management(), Some(AgentStateManagement::Server));

    let mut turn = chat.send_stream("again");
    let mut chunks = 0;
    while let Some(c) = turn.next().await {
        if !c.unwrap().text().is_empty() {
            chunks += 1;
        }
    }
    let r = turn.response().await.unwrap();
    assert!(chunks > 0, "the model's chunks were streamed");
    assert_eq!(r.text(), "Echo: hi\nEcho: hi; config: {}\nagain; config: {}");
    assert_eq!(chat.messages().len(), 4);

    // Resume from the first snapshot: the history has one turn.
    let mut branch = agent.chat_with(AgentInit::from_snapshot(&first));
    let r = branch.send("branch").await.unwrap();
    assert_eq!(r.text(), "Echo: hi\nEcho: hi; config: {}\nbranch; config: {}");
    let snap = agent.get_snapshot(GetSnapshotRequest::snapshot(&first)).await.unwrap().unwrap();
    assert_eq!(snap.status, Some(SnapshotStatus::Completed));

    // Detach: wait for a turn that ends; abort one that works until aborted.
    let done = chat.detach("later").await.unwrap().wait(POLL).await.unwrap();
    assert_eq!(done.status, Some(SnapshotStatus::Completed));
    let worker = remote_agent(format!("{url}/worker"));
    let task = worker.chat().detach("work").await.unwrap();
    assert_eq!(task.abort().await.unwrap(), Some(SnapshotStatus::Pending));
    assert_eq!(task.wait(POLL).await.unwrap().status, Some(SnapshotStatus::Aborted));
    server.stop().await.unwrap();
}

/// Runs a check script of `tools/js-client` with the official JS client against the server.
async fn run_js_check(script: &str) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/js-client");
    assert!(
        std::path::Path::new(dir).join("node_modules/genkit/package.json").exists(),
        "the Genkit JS client is not installed: run `npm ci --prefix tools/js-client` (scripts/test does this)"
    );
    let (server, url) = server().await;
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("node").arg(script).arg(&url).current_dir(dir).output(),
    )
    .await
    .expect("the JS agent check timed out")
    .expect("cannot run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "JS agent check failed:\n{stdout}\n{stderr}");
    assert!(stdout.trim_end().ends_with("all agent checks passed"), "{stdout}");
    server.stop().await.unwrap();
}

/// The official JS client (npm `genkit` 1.42.0, `remoteAgent` from `genkit/beta/client`)
/// drives real agents of the Rust runtime served over HTTP: send, stream, resume by
/// snapshot, loadChat, getSnapshot, detach + wait, detach + abort. Needs Node.js and
/// `npm ci --prefix tools/js-client`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_js_remote_agent_drives_real_rust_agents() {
    run_js_check("real-agent-check.mjs").await;
}

/// The official JS client (npm `genkit` 1.42.0, `remoteAgent` from `genkit/beta/client`)
/// drives the Rust server's agents. Needs Node.js and `npm ci --prefix tools/js-client`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_js_remote_agent_drives_rust_served_agents() {
    run_js_check("agent-check.mjs").await;
}
