//! The agent runtime beyond the conformance spec: registration and metadata, the snapshot
//! and abort actions, state schemas, client transforms, expiry, heartbeats, misuse errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use futures::future::BoxFuture;
use genkit_ai::experimental::agent::testing::{InProcessDriver, SpecHarness, run_agent_spec};
use genkit_ai::experimental::agent::{
    AgentAbortRequest, AgentInit, AgentInput, AgentOptions, AgentResult, AgentStreamChunk, ClientTransform,
    GetSnapshotRequest, TurnResult, define_agent, define_custom_agent, validate_resume_against_history,
};
use genkit_ai::experimental::session::{
    AgentFinishReason, InMemorySessionStore, SessionSnapshot, SessionState, SessionStore, SnapshotMutator,
    SnapshotQuery, SnapshotStatus, SnapshotWatch,
};
use genkit_ai::prompt::PromptConfig;
use genkit_ai::{Message, Part};
use genkit_core::{ActionContext, Registry, Result, RunOptions, Status};
use serde_json::{Value, json};

fn user(text: &str) -> AgentInput {
    AgentInput { message: Some(Message::user(text)), ..AgentInput::default() }
}

fn store() -> Arc<dyn SessionStore> {
    Arc::new(InMemorySessionStore::new())
}

fn counter(registry: &Registry, opts: AgentOptions) -> genkit_ai::experimental::agent::Agent {
    define_custom_agent(registry, opts, |sess, _cx| async move {
        sess.run(|_, _| {
            let sess = sess.clone();
            async move {
                let n = sess.custom().and_then(|c| c.get("n").and_then(Value::as_i64)).unwrap_or(0);
                sess.update_custom(|_| json!({"n": n + 1, "secret": "s3cr3t"}));
                Ok(TurnResult::default())
            }
        })
        .await?;
        Ok(AgentResult { message: Some(Message::model("ok")), ..AgentResult::default() })
    })
    .unwrap()
}

#[tokio::test]
async fn an_agent_registers_its_three_actions_with_the_agent_metadata() {
    let r = Registry::new();
    SpecHarness::define(&r).unwrap();
    let a = r.lookup_action("/agent/promptAgentWithStore").await.unwrap().unwrap();
    let meta = &a.metadata();
    assert_eq!(meta.metadata.as_ref().unwrap().get("bidi"), Some(&json!(true)));
    assert_eq!(
        meta.metadata.as_ref().unwrap().get("agent"),
        Some(&json!({"stateManagement": "server", "abortable": true}))
    );
    assert!(meta.init_schema.is_some());
    let c = r.lookup_action("/agent/promptAgent").await.unwrap().unwrap();
    assert_eq!(
        c.metadata().metadata.as_ref().unwrap().get("agent"),
        Some(&json!({"stateManagement": "client", "abortable": false}))
    );
    for key in [
        "/agent-snapshot/promptAgentWithStore",
        "/agent-abort/promptAgentWithStore",
        "/prompt/promptAgentWithStore",
        "/executable-prompt/promptAgentWithStore",
        "/agent/customAgentBlocking",
    ] {
        assert!(r.lookup_action(key).await.unwrap().is_some(), "{key} is not registered");
    }
}

#[tokio::test]
async fn the_erased_action_runs_a_turn_from_json() {
    let r = Registry::new();
    let h = SpecHarness::define(&r).unwrap();
    h.model().respond_text("hello back");
    let a = r.lookup_action("/agent/promptAgentWithStore").await.unwrap().unwrap();
    let inputs = futures::stream::iter([json!({"message": {"role": "user", "content": [{"text": "hi"}]}})]).boxed();
    let out = a.run_bidi_json(inputs, RunOptions::new().init(json!({}))).await.unwrap().result;
    assert_eq!(out["finishReason"], "stop");
    assert_eq!(out["message"]["content"][0]["text"], "hello back");
    assert!(out["snapshotId"].is_string() && out.get("state").is_none(), "{out}");
    // The snapshot action reads it back; a metadata-only read drops the state.
    let snap = r.lookup_action("/agent-snapshot/promptAgentWithStore").await.unwrap().unwrap();
    let got = snap.run_json(json!({"snapshotId": out["snapshotId"]}), RunOptions::new()).await.unwrap().result;
    assert_eq!(got["status"], "completed");
    assert_eq!(got["state"]["messages"][1]["content"][0]["text"], "hello back");
    let meta = snap
        .run_json(json!({"snapshotId": out["snapshotId"], "metadataOnly": true}), RunOptions::new())
        .await
        .unwrap()
        .result;
    assert!(meta.get("state").is_none());
}

#[tokio::test]
async fn snapshot_and_abort_actions_report_missing_snapshots_and_stores() {
    let r = Registry::new();
    let h = SpecHarness::define(&r).unwrap();
    let with = h.agent("promptAgentWithStore").unwrap();
    let err = with
        .snapshot_action()
        .run(GetSnapshotRequest { snapshot_id: Some("nope".into()), ..GetSnapshotRequest::default() })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Status::NotFound);
    assert!(err.message().contains("Snapshot 'nope' not found for agent 'promptAgentWithStore'"), "{err}");
    let res = with.abort_action().run(AgentAbortRequest { snapshot_id: "nope".into() }).await.unwrap();
    assert_eq!((res.snapshot_id.as_str(), res.status), ("nope", None));

    let without = h.agent("promptAgent").unwrap();
    let err = without
        .snapshot_action()
        .run(GetSnapshotRequest { snapshot_id: Some("x".into()), ..GetSnapshotRequest::default() })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Status::FailedPrecondition);
    assert!(err.message().contains("getSnapshotData requires a persistent store"), "{err}");
    let err = without.abort_action().run(AgentAbortRequest { snapshot_id: "x".into() }).await.unwrap_err();
    assert_eq!(err.status(), Status::FailedPrecondition);
}

#[tokio::test]
async fn custom_state_breaking_the_schema_fails_the_run_gracefully() {
    let r = Registry::new();
    let agent = counter(
        &r,
        AgentOptions::new("typed").state_schema(json!({"type": "object", "properties": {"n": {"type": "integer"}}})),
    );
    let bad = SessionState { custom: Some(json!({"n": "three"})), ..SessionState::default() };
    let out =
        agent.run(&AgentInit { state: Some(bad.clone()), ..AgentInit::default() }, vec![user("x")]).await.unwrap();
    assert_eq!(out.finish_reason, Some(AgentFinishReason::Failed));
    assert_eq!(out.error.unwrap().status.as_deref(), Some("INVALID_ARGUMENT"));
    assert_eq!(out.state, Some(bad), "the client gets its state back");
    let meta = agent.action().metadata().metadata.as_ref().unwrap().get("agent").cloned().unwrap();
    assert_eq!(meta["stateSchema"]["properties"]["n"]["type"], "integer");
    let good = SessionState { custom: Some(json!({"n": 2})), ..SessionState::default() };
    let out = agent.run(&AgentInit { state: Some(good), ..AgentInit::default() }, vec![user("x")]).await.unwrap();
    assert_eq!(out.state.unwrap().custom.unwrap()["n"], 3);
}

#[tokio::test]
async fn client_transforms_redact_state_and_rewrite_or_drop_chunks() {
    let r = Registry::new();
    let s = store();
    let redact = |mut st: SessionState| {
        if let Some(Value::Object(c)) = st.custom.as_mut() {
            c.remove("secret");
        }
        st
    };
    let t = ClientTransform::new().state(redact).chunk(|c: AgentStreamChunk| c.turn_end.is_none().then_some(c));
    let agent = counter(&r, AgentOptions::new("redacted").store(s.clone()).client_transform(t));
    let mut bidi = agent.stream_bidi(&AgentInit::default(), RunOptions::default());
    bidi.send(user("go")).unwrap();
    bidi.close();
    let mut chunks = Vec::new();
    while let Some(c) = bidi.next().await {
        chunks.push(serde_json::to_value(c.unwrap()).unwrap());
    }
    let out = bidi.output().await.unwrap();
    assert_eq!(chunks, vec![json!({"customPatch": [{"op": "replace", "path": "", "value": {"n": 1}}]})]);
    let id = out.snapshot_id.unwrap();
    // Reads are redacted; the store keeps the whole state.
    let seen = agent.get_snapshot_data(&SnapshotQuery::snapshot(&id), &ActionContext::new()).await.unwrap().unwrap();
    assert_eq!(seen.state.unwrap().custom, Some(json!({"n": 1})));
    let stored = s.get_snapshot(&SnapshotQuery::snapshot(&id), &ActionContext::new()).await.unwrap().unwrap();
    assert_eq!(stored.state.unwrap().custom, Some(json!({"n": 1, "secret": "s3cr3t"})));
}

#[tokio::test]
async fn misuse_errors_are_returned_and_setup_failures_resolve_as_failed() {
    let r = Registry::new();
    let h = SpecHarness::define(&r).unwrap();
    let client = h.agent("customAgentWithCustomState").unwrap();
    let err =
        client.run(&AgentInit::default(), vec![AgentInput { detach: Some(true), ..user("x") }]).await.unwrap_err();
    assert_eq!(err.status(), Status::FailedPrecondition);
    assert!(err.message().contains("Detach is only supported when a session store is provided"), "{err}");
    let err = client
        .run(&AgentInit { snapshot_id: Some("s".into()), ..AgentInit::default() }, vec![user("x")])
        .await
        .unwrap_err();
    assert!(err.message().contains("Cannot use 'snapshotId'"), "{err}");

    let server = h.agent("customAgentWithCustomStateStore").unwrap();
    let out = server
        .run(&AgentInit { snapshot_id: Some("missing".into()), ..AgentInit::default() }, vec![user("x")])
        .await
        .unwrap();
    assert_eq!(out.finish_reason, Some(AgentFinishReason::Failed));
    let e = out.error.unwrap();
    assert_eq!((e.status.as_deref(), e.message.as_str()), (Some("NOT_FOUND"), "Snapshot missing not found"));
}

#[tokio::test]
async fn only_completed_snapshots_resume_and_a_session_resumes_from_its_last_completed_one() {
    let r = Registry::new();
    let s = store();
    let agent = counter(&r, AgentOptions::new("c").store(s.clone()));
    let first = agent
        .run(&AgentInit { session_id: Some("sess".into()), ..AgentInit::default() }, vec![user("1")])
        .await
        .unwrap();
    let good = first.snapshot_id.unwrap();
    // A failed leaf after it: resuming the session skips back to the completed one.
    let cx = ActionContext::new();
    let failed = SessionSnapshot::new("bad")
        .with_session_id("sess")
        .with_parent(&good)
        .with_status(SnapshotStatus::Failed)
        .with_state(SessionState { session_id: Some("sess".into()), ..SessionState::default() });
    s.save_snapshot(None, &mut |_| Some(failed.clone()), &cx).await.unwrap();
    let out = agent
        .run(&AgentInit { snapshot_id: Some("bad".into()), ..AgentInit::default() }, vec![user("2")])
        .await
        .unwrap();
    assert_eq!(out.finish_reason, Some(AgentFinishReason::Failed));
    assert!(out.error.unwrap().message.contains("is not resumable (status: failed)"));
    let out = agent
        .run(&AgentInit { session_id: Some("sess".into()), ..AgentInit::default() }, vec![user("2")])
        .await
        .unwrap();
    let snap = agent.get_snapshot_data(&SnapshotQuery::snapshot(out.snapshot_id.unwrap()), &cx).await.unwrap().unwrap();
    assert_eq!(snap.parent_id.as_deref(), Some(good.as_str()));
    assert_eq!(snap.state.unwrap().custom.unwrap()["n"], 2);
}

#[tokio::test]
async fn a_stale_pending_snapshot_reads_as_expired() {
    let r = Registry::new();
    let s = store();
    let agent = counter(&r, AgentOptions::new("c").store(s.clone()));
    let cx = ActionContext::new();
    let mut snap = SessionSnapshot::new("old").with_session_id("s").with_status(SnapshotStatus::Pending);
    snap.heartbeat_at = Some("2020-01-01T00:00:00.000Z".into());
    s.save_snapshot(None, &mut |_| Some(snap.clone()), &cx).await.unwrap();
    let mut fresh = SessionSnapshot::new("new").with_session_id("s2").with_status(SnapshotStatus::Pending);
    fresh.heartbeat_at = Some(genkit_core::time::now_iso());
    s.save_snapshot(None, &mut |_| Some(fresh.clone()), &cx).await.unwrap();
    let read = |id: &'static str| {
        let agent = agent.clone();
        async move { agent.get_snapshot_data(&SnapshotQuery::snapshot(id), &ActionContext::new()).await.unwrap() }
    };
    assert_eq!(read("old").await.unwrap().status, Some(SnapshotStatus::Expired));
    assert_eq!(read("new").await.unwrap().status, Some(SnapshotStatus::Pending));
    // An expired run can still be aborted.
    assert_eq!(agent.abort("old", &cx).await.unwrap(), Some(SnapshotStatus::Pending));
}

/// A store that counts saves, to see the heartbeat write.
struct Counting {
    inner: InMemorySessionStore,
    saves: AtomicUsize,
}

impl SessionStore for Counting {
    fn get_snapshot<'a>(
        &'a self,
        q: &'a SnapshotQuery,
        cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<Option<SessionSnapshot>>> {
        self.inner.get_snapshot(q, cx)
    }
    fn save_snapshot<'a>(
        &'a self,
        id: Option<&'a str>,
        m: &'a mut SnapshotMutator<'_>,
        cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<Option<String>>> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save_snapshot(id, m, cx)
    }
    fn watch<'a>(&'a self, id: &'a str, cx: &'a ActionContext) -> BoxFuture<'a, Result<Option<SnapshotWatch>>> {
        self.inner.watch(id, cx)
    }
}

#[tokio::test(start_paused = true)]
async fn a_detached_turn_beats_every_30_seconds_until_aborted() {
    let r = Registry::new();
    let s = Arc::new(Counting { inner: InMemorySessionStore::new(), saves: AtomicUsize::new(0) });
    let agent = define_custom_agent(&r, AgentOptions::new("blocking").store(s.clone()), |sess, cx| async move {
        let token = cx.cancellation().clone();
        sess.run(|_, _| {
            let token = token.clone();
            async move {
                token.cancelled().await;
                Ok(TurnResult::default())
            }
        })
        .await?;
        Ok(AgentResult::default())
    })
    .unwrap();
    let out = agent.run(&AgentInit::default(), vec![AgentInput { detach: Some(true), ..user("work") }]).await.unwrap();
    assert_eq!(out.finish_reason, Some(AgentFinishReason::Detached));
    let id = out.snapshot_id.unwrap();
    let after_detach = s.saves.load(Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_secs(31)).await;
    assert_eq!(s.saves.load(Ordering::SeqCst), after_detach + 1, "one heartbeat after 30 s");
    let cx = ActionContext::new();
    let snap = s.get_snapshot(&SnapshotQuery::snapshot(&id), &cx).await.unwrap().unwrap();
    assert!(snap.heartbeat_at.is_some());
    assert_eq!(agent.abort(&id, &cx).await.unwrap(), Some(SnapshotStatus::Pending));
    // The abort reaches the turn through the watch; the aborted status is kept.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let snap = s.get_snapshot(&SnapshotQuery::snapshot(&id), &cx).await.unwrap().unwrap();
    assert_eq!(snap.status, Some(SnapshotStatus::Aborted));
    let beats = s.saves.load(Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_secs(120)).await;
    assert_eq!(s.saves.load(Ordering::SeqCst), beats, "no heartbeat after the run ended");
}

#[tokio::test]
async fn a_caller_cancelling_an_attached_run_gets_cancelled() {
    let r = Registry::new();
    let h = SpecHarness::define(&r).unwrap();
    let agent = h.agent("customAgentBlocking").unwrap();
    let token = tokio_util::sync::CancellationToken::new();
    let mut bidi = agent.stream_bidi(&AgentInit::default(), RunOptions::default().cancellation(token.clone()));
    bidi.send(user("work")).unwrap();
    bidi.close();
    token.cancel();
    let err = bidi.output().await.unwrap_err();
    assert_eq!(err.status(), Status::Cancelled);
}

#[test]
fn resume_validation_rejects_unknown_and_modified_requests() {
    let history = vec![
        Message::user("do it"),
        Message {
            role: genkit_ai::Role::Model,
            content: vec![
                serde_json::from_value::<Part>(json!({"toolRequest": {"name": "t", "ref": "1", "input": {"a": 1}}}))
                    .unwrap(),
            ],
            metadata: None,
        },
    ];
    let resume = |v: Value| serde_json::from_value(v).unwrap();
    let ok = resume(json!({"restart": [{"toolRequest": {"name": "t", "ref": "1", "input": {"a": 1}}}],
        "respond": [{"toolResponse": {"name": "t", "ref": "1", "output": 2}}]}));
    validate_resume_against_history(&ok, &history).unwrap();
    let forged = resume(json!({"restart": [{"toolRequest": {"name": "t", "ref": "1", "input": {"a": 2}}}]}));
    let e = validate_resume_against_history(&forged, &history).unwrap_err();
    assert!(e.message().contains("modified inputs"), "{e}");
    let unknown = resume(json!({"respond": [{"toolResponse": {"name": "t", "ref": "2", "output": 2}}]}));
    let e = validate_resume_against_history(&unknown, &history).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("(ref: 2) which was not found in session history"), "{e}");
}

#[tokio::test]
async fn a_prompt_agent_keeps_the_template_out_of_the_session() {
    let r = Registry::new();
    let h = SpecHarness::define(&r).unwrap();
    let agent = define_agent(
        &r,
        PromptConfig::new("withSystem").model("programmableModel").system("You are {{persona}}."),
        AgentOptions::default().prompt_input(json!({"persona": "terse"})),
    )
    .unwrap();
    h.model().respond_text("one");
    h.model().respond_text("two");
    let out = agent.run(&AgentInit::default(), vec![user("a"), user("b")]).await.unwrap();
    let msgs = out.state.unwrap().messages.unwrap();
    let texts: Vec<String> = msgs.iter().map(Message::text).collect();
    assert_eq!(texts, ["a", "one", "b", "two"]);
    assert!(msgs.iter().all(|m| m.metadata.is_none()), "{msgs:?}");
    // The model saw the system prompt first, then the history.
    let req = h.model().last_request().unwrap();
    assert_eq!(req.messages[0].text(), "You are terse.");
    assert_eq!(req.messages.len(), 4);
}

#[tokio::test]
async fn the_spec_runner_catches_a_wrong_expectation() {
    let yaml = include_str!("data/agent-spec.yaml");
    let mut spec: Value = serde_norway::from_str(yaml).unwrap();
    let tests = spec["tests"].as_array_mut().unwrap();
    tests.truncate(3);
    tests[0]["steps"][0]["expectOutput"]["message"]["content"][0]["text"] = json!("something else");
    tests[1]["steps"][1]["expectSnapshot"]["status"] = json!("pending");
    tests[2]["steps"][0]["expectChunks"].as_array_mut().unwrap().pop();
    let report = run_agent_spec(&spec, || async { InProcessDriver::new() }).await;
    assert_eq!(report.passed(), 0, "{report}");
    assert_eq!(report.total(), 3);
}

#[tokio::test]
async fn a_prompt_agent_finds_its_prompt_when_it_runs() {
    let r = Registry::new();
    let h = SpecHarness::define(&r).unwrap();
    let agent = genkit_ai::experimental::agent::define_prompt_agent(&r, "later", AgentOptions::default()).unwrap();
    let out = agent.run(&AgentInit::default(), vec![user("hi")]).await.unwrap();
    assert_eq!(out.finish_reason, Some(AgentFinishReason::Failed));
    let e = out.error.unwrap();
    assert_eq!(e.status.as_deref(), Some("NOT_FOUND"));
    assert!(e.message.contains("Prompt 'later' not found. Ensure it is defined before the agent is invoked."));
    genkit_ai::prompt::define_prompt(&r, PromptConfig::new("later").model("programmableModel")).unwrap();
    h.model().respond_text("found it");
    let out = agent.run(&AgentInit::default(), vec![user("hi")]).await.unwrap();
    assert_eq!(out.message.unwrap().text(), "found it");
}

async fn chunks_and_output(
    agent: &genkit_ai::experimental::agent::Agent,
    inputs: Vec<AgentInput>,
) -> (Vec<Value>, genkit_ai::experimental::agent::AgentOutput) {
    let mut bidi = agent.stream_bidi(&AgentInit::default(), RunOptions::default());
    for i in inputs {
        bidi.send(i).unwrap();
    }
    bidi.close();
    let mut chunks = Vec::new();
    while let Some(c) = bidi.next().await {
        chunks.push(serde_json::to_value(c.unwrap()).unwrap());
    }
    (chunks, bidi.output().await.unwrap())
}

#[tokio::test]
async fn every_turn_rebases_custom_state_and_ends_with_turn_end() {
    let r = Registry::new();
    let client = counter(&r, AgentOptions::new("client"));
    let (chunks, _) = chunks_and_output(&client, vec![user("1"), user("2")]).await;
    let replace =
        |n: i64| json!({"customPatch": [{"op": "replace", "path": "", "value": {"n": n, "secret": "s3cr3t"}}]});
    assert_eq!(chunks, vec![replace(1), json!({"turnEnd": {}}), replace(2), json!({"turnEnd": {}})]);

    let server = counter(&r, AgentOptions::new("server").store(store()));
    let (chunks, out) = chunks_and_output(&server, vec![user("1"), user("2")]).await;
    let ends: Vec<&Value> = chunks.iter().filter_map(|c| c.get("turnEnd")).collect();
    assert_eq!(ends.len(), 2);
    let first = ends[0]["snapshotId"].as_str().unwrap();
    assert_eq!(ends[1]["snapshotId"].as_str(), out.snapshot_id.as_deref());
    let snap = server
        .get_snapshot_data(&SnapshotQuery::snapshot(out.snapshot_id.unwrap()), &ActionContext::new())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snap.parent_id.as_deref(), Some(first), "the second turn's snapshot continues the first");
}

/// A run is one `agent` action span with a `runTurn-<n>` step span per turn under it, and
/// the turn's generate under that.
#[tokio::test]
async fn each_turn_runs_in_a_run_turn_span_under_the_agent_span() {
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};
    let exporter = InMemorySpanExporter::default();
    let telemetry = Arc::new(genkit_core::Telemetry::new());
    telemetry.add_span_processor(SimpleSpanProcessor::new(exporter.clone()));
    let r = Registry::with_parts(ActionContext::default(), telemetry);
    let h = SpecHarness::define(&r).unwrap();
    h.model().respond_text("one");
    h.model().respond_text("two");
    h.agent("promptAgent").unwrap().run(&AgentInit::default(), vec![user("a"), user("b")]).await.unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let by_name = |n: &str| spans.iter().find(|s| s.name == n).unwrap_or_else(|| panic!("no span {n}"));
    let agent = by_name("promptAgent");
    for turn in ["runTurn-1", "runTurn-2"] {
        let s = by_name(turn);
        assert_eq!(s.parent_span_id, agent.span_context.span_id(), "{turn} is not under the agent span");
        let kind = s.attributes.iter().find(|kv| kv.key.as_str() == "genkit:type").map(|kv| kv.value.to_string());
        assert_eq!(kind.as_deref(), Some("flowStep"));
    }
    let generates: Vec<_> = spans.iter().filter(|s| s.name == "generate").collect();
    assert_eq!(generates.len(), 2);
    assert_eq!(generates[0].parent_span_id, by_name("runTurn-1").span_context.span_id());
}
