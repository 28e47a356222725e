//! `generate` end to end: the language-neutral spec cases through `/util/generate`, and the
//! behaviours checked against Genkit JS (chunk indexes, history roles, maxTurns, interrupts,
//! resume, errors).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use genkit_ai::ModelResponseChunk;
use genkit_ai::generate::{define_generate_action, generate, generate_stream};
use genkit_ai::model::testing::ProgrammableModel;
use genkit_ai::tool::{self, RestartOptions, ToolConfig, respond_tool, restart_tool};
use genkit_ai::{FinishReason, GenerateOptions, Message, ModelResponse, Part, ResumeOptions, Role, Tool};
use genkit_core::{Registry, RunOptions, Status};
use serde_json::{Value, json};

fn setup(model: &str) -> (Registry, ProgrammableModel) {
    let reg = Registry::new();
    let pm = ProgrammableModel::new(model);
    reg.register_action(pm.action().as_action()).unwrap();
    define_generate_action(&reg).unwrap();
    (reg, pm)
}

fn text_tool(reg: &Registry, name: &str, out: &'static str) {
    let t =
        tool::new::<Value, Value, _, _>(
            ToolConfig::new(name, "description"),
            move |_i, _cx| async move { Ok(json!(out)) },
        );
    reg.register_action(t.as_action()).unwrap();
}

fn tool_call(name: &str, reference: &str, input: Value) -> ModelResponse {
    ModelResponse {
        message: Some(Message::new(Role::Model, vec![Part::tool_request(name, Some(input), Some(reference.into()))])),
        ..Default::default()
    }
}

fn stop(text: &str) -> ModelResponse {
    ModelResponse { message: Some(Message::model(text)), finish_reason: Some(FinishReason::Stop), ..Default::default() }
}

/// Removes what the 1.33-era spec file predates: `key` on tool definitions (added in 1.42).
fn strip_tool_keys(v: &mut Value) {
    if let Some(tools) = v.pointer_mut("/request/tools").and_then(Value::as_array_mut) {
        for t in tools {
            if let Some(o) = t.as_object_mut() {
                o.remove("key");
            }
        }
    }
}

#[tokio::test]
async fn generate_spec_yaml_cases_pass() {
    let text = include_str!("data/generate-spec.yaml");
    let spec: Value = serde_norway::from_str(text).unwrap();
    let cases = spec["tests"].as_array().unwrap();
    let mut passed = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (reg, pm) = setup("programmableModel");
        text_tool(&reg, "testTool", "tool called");
        let chunks = case["streamChunks"].as_array().cloned().unwrap_or_default();
        for (i, r) in case["modelResponses"].as_array().unwrap().iter().enumerate() {
            let resp: ModelResponse = serde_json::from_value(r.clone()).unwrap();
            let cs: Vec<ModelResponseChunk> =
                chunks.get(i).map(|c| serde_json::from_value(c.clone()).unwrap()).unwrap_or_default();
            pm.respond_streaming(cs, resp);
        }
        let action = reg.lookup_action("/util/generate").await.unwrap().unwrap();
        let input = case["input"].clone();
        let (mut out, got_chunks) = if case["stream"].as_bool() == Some(true) {
            let mut s = action.stream_json(input, RunOptions::new());
            let mut got = Vec::new();
            while let Some(c) = s.next().await {
                got.push(c.unwrap());
            }
            (s.output().await.unwrap(), got)
        } else {
            (action.run_json(input, RunOptions::new()).await.unwrap().result, Vec::new())
        };
        strip_tool_keys(&mut out);
        assert_eq!(out, case["expectResponse"], "case '{name}'");
        if let Some(exp) = case.get("expectChunks") {
            assert_eq!(Value::Array(got_chunks), *exp, "chunks of case '{name}'");
        }
        passed += 1;
    }
    println!("generate-spec.yaml: {passed}/{} cases passed", cases.len());
    assert_eq!(passed, cases.len());
}

#[tokio::test]
async fn tool_definitions_carry_key_and_void_schemas() {
    let (reg, pm) = setup("m");
    text_tool(&reg, "testTool", "tool called");
    pm.respond(stop("ok"));
    generate(&reg, GenerateOptions::new().model("m").prompt("hi").tool("testTool")).await.unwrap();
    let req = pm.last_request().unwrap();
    let def = serde_json::to_value(&req.tools.unwrap()[0]).unwrap();
    assert_eq!(
        def,
        json!({"name": "testTool", "key": "/tool/testTool", "description": "description",
               "inputSchema": {"$schema": "http://json-schema.org/draft-07/schema#"},
               "outputSchema": {"$schema": "http://json-schema.org/draft-07/schema#"}})
    );
}

#[tokio::test]
async fn chunk_indexes_follow_js_over_two_tool_rounds() {
    let (reg, pm) = setup("m");
    text_tool(&reg, "t", "out");
    let ch = |t: &str| ModelResponseChunk::new(vec![Part::text(t)]);
    pm.respond_streaming(vec![ch("a"), ch("b")], tool_call("t", "1", json!({})));
    pm.respond_streaming(vec![ch("c"), ch("d")], tool_call("t", "2", json!({})));
    pm.respond_streaming(vec![ch("e")], stop("done"));
    let mut s = generate_stream(&reg, GenerateOptions::new().model("m").prompt("go").tool("t"));
    let mut seq = Vec::new();
    while let Some(c) = s.next().await {
        let c = c.unwrap();
        let role = serde_json::to_value(c.role.unwrap()).unwrap();
        seq.push(format!("{}:{}", c.index.unwrap(), role.as_str().unwrap()));
    }
    let resp = s.output().await.unwrap();
    assert_eq!(seq, ["0:model", "0:model", "1:tool", "2:model", "2:model", "3:tool", "4:model"]);
    let roles: Vec<Role> = resp.messages().unwrap().iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Model, Role::Tool, Role::Model, Role::Tool, Role::Model]);
    assert_eq!(resp.text(), "done");
}

#[tokio::test]
async fn max_turns_allows_n_plus_one_model_calls_then_aborts() {
    for (max, calls) in [(2u32, 3usize), (0, 1)] {
        let (reg, pm) = setup("m");
        text_tool(&reg, "t", "out");
        pm.set_handler(|_, _| Ok(tool_call("t", "r", json!({}))));
        let err =
            generate(&reg, GenerateOptions::new().model("m").prompt("go").tool("t").max_turns(max)).await.unwrap_err();
        assert_eq!(err.status(), Status::Aborted);
        assert_eq!(err.message(), format!("Exceeded maximum tool call iterations ({max})"));
        assert!(err.details().unwrap().get("response").is_some());
        assert!(err.details().unwrap().get("request").is_some());
        assert_eq!(pm.requests().len(), calls, "maxTurns={max}");
    }
}

/// Errors that copy the request into their details (too many turns, a tool that is not
/// found) keep the request but never a per-request API key or the caller's auth.
#[tokio::test]
async fn error_details_that_copy_the_request_carry_no_secrets() {
    let (reg, pm) = setup("m");
    text_tool(&reg, "t", "out");
    pm.set_handler(|_, _| Ok(tool_call("t", "r", json!({}))));
    let opts = GenerateOptions::new()
        .model("m")
        .prompt("go")
        .tool("t")
        .max_turns(0)
        .config(json!({"apiKey": "sk-secret-1", "temperature": 0.5}));
    let err = generate(&reg, opts).await.unwrap_err();
    let details = err.details().unwrap().to_string();
    assert!(!details.contains("sk-secret-1"), "{details}");
    assert!(details.contains("temperature") && details.contains("<redacted>"), "{details}");
    assert!(!format!("{err:?}").contains("sk-secret-1"));

    pm.respond(tool_call("ghost", "1", json!({})));
    let opts = GenerateOptions::new().model("m").prompt("x").config(json!({"api_key": "sk-secret-2"}));
    let err = generate(&reg, opts).await.unwrap_err();
    assert_eq!(err.status(), Status::NotFound);
    let details = err.details().unwrap().to_string();
    assert!(!details.contains("sk-secret-2") && details.contains("request"), "{details}");
}

#[tokio::test]
async fn default_max_turns_is_five() {
    let (reg, pm) = setup("m");
    text_tool(&reg, "t", "out");
    pm.set_handler(|_, _| Ok(tool_call("t", "r", json!({}))));
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("go").tool("t")).await.unwrap_err();
    assert_eq!(err.message(), "Exceeded maximum tool call iterations (5)");
    assert_eq!(pm.requests().len(), 6);
}

#[tokio::test]
async fn parallel_tools_answer_in_request_order() {
    let (reg, pm) = setup("m");
    let slow: Tool<Value, Value> = tool::new(ToolConfig::new("slow", "slow"), |_, _| async {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        Ok(json!("slow"))
    });
    let fast: Tool<Value, Value> = tool::new(ToolConfig::new("fast", "fast"), |_, _| async { Ok(json!("fast")) });
    reg.register_action(slow.as_action()).unwrap();
    reg.register_action(fast.as_action()).unwrap();
    pm.respond(ModelResponse {
        message: Some(Message::new(
            Role::Model,
            vec![
                Part::tool_request("slow", None, Some("1".into())),
                Part::tool_request("fast", None, Some("2".into())),
            ],
        )),
        ..Default::default()
    });
    pm.respond(stop("ok"));
    generate(&reg, GenerateOptions::new().model("m").prompt("go").tool("slow").tool("fast")).await.unwrap();
    let last = pm.last_request().unwrap();
    let tool_msg = last.messages.last().unwrap();
    let names: Vec<&str> = tool_msg.content.iter().map(|p| p.tool_response.as_ref().unwrap().name.as_str()).collect();
    assert_eq!(names, ["slow", "fast"]);
}

#[tokio::test]
async fn interrupts_stop_the_loop_with_metadata_and_pending_output() {
    let (reg, pm) = setup("m");
    text_tool(&reg, "ok", "fine");
    let ask: Tool<Value, Value> = tool::interrupt(ToolConfig::new("ask", "ask the user"), |i| Some(json!({"q": i})));
    reg.register_action(ask.as_action()).unwrap();
    pm.respond(ModelResponse {
        message: Some(Message::new(
            Role::Model,
            vec![
                Part::tool_request("ok", Some(json!({})), Some("1".into())),
                Part::tool_request("ask", Some(json!("why?")), Some("2".into())),
            ],
        )),
        ..Default::default()
    });
    let resp = generate(&reg, GenerateOptions::new().model("m").prompt("go").tool("ok").tool("ask")).await.unwrap();
    assert_eq!(resp.finish_reason, Some(FinishReason::Interrupted));
    assert_eq!(resp.finish_message.as_deref(), Some("One or more tool calls resulted in interrupts."));
    let msg = resp.message.as_ref().unwrap();
    assert_eq!(msg.content[0].metadata_value("pendingOutput"), Some(&json!("fine")));
    assert_eq!(msg.content[1].metadata_value("interrupt"), Some(&json!({"q": "why?"})));
    let interrupts = resp.interrupts();
    assert_eq!(interrupts.len(), 1);
    assert_eq!(pm.requests().len(), 1);
    assert_eq!(ask.action().metadata().metadata_value("tool"), Some(&json!({"restartable": false})));

    // resume: respond to the interrupt; the pending output is reused
    pm.respond(stop("answered"));
    let history = resp.messages().unwrap();
    let reply = respond_tool(interrupts[0], json!("because"), None).unwrap();
    let resumed = generate(
        &reg,
        GenerateOptions::new()
            .model("m")
            .messages(history)
            .tool("ok")
            .tool("ask")
            .resume(ResumeOptions { respond: vec![reply], ..Default::default() }),
    )
    .await
    .unwrap();
    assert_eq!(resumed.text(), "answered");
    let sent = pm.last_request().unwrap();
    let tool_msg = sent.messages.last().unwrap();
    assert_eq!(tool_msg.role, Role::Tool);
    assert_eq!(tool_msg.metadata.as_ref().unwrap()["resumed"], json!(true));
    let first = &tool_msg.content[0];
    assert_eq!(first.tool_response.as_ref().unwrap().output, Some(json!("fine")));
    assert_eq!(first.metadata_value("source"), Some(&json!("pending")));
    assert_eq!(tool_msg.content[1].tool_response.as_ref().unwrap().output, Some(json!("because")));
    assert_eq!(tool_msg.content[1].metadata_value("interruptResponse"), Some(&json!(true)));
    let model_msg = &sent.messages[sent.messages.len() - 2];
    assert_eq!(model_msg.content[1].metadata_value("resolvedInterrupt"), Some(&json!({"q": "why?"})));
    assert!(model_msg.content[0].metadata_value("pendingOutput").is_none());
}

#[tokio::test]
async fn restart_reruns_the_tool_with_resumed_metadata() {
    let (reg, pm) = setup("m");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let guarded: Tool<Value, Value> = tool::new(ToolConfig::new("guarded", "needs approval"), move |input, cx| {
        let s2 = s2.clone();
        async move {
            match cx.resumed() {
                Some(r) => {
                    s2.lock().unwrap().push(r.clone());
                    Ok(json!({"ran_with": input}))
                }
                None => Err(cx.interrupt(json!({"approve": true}))),
            }
        }
    });
    reg.register_action(guarded.as_action()).unwrap();
    pm.respond(tool_call("guarded", "7", json!({"x": 1})));
    let resp = generate(&reg, GenerateOptions::new().model("m").prompt("go").tool("guarded")).await.unwrap();
    let interrupt = resp.interrupts()[0].clone();
    pm.respond(stop("done"));
    let restart = guarded
        .restart(&interrupt, RestartOptions::new().resumed(json!({"ok": true})).replace_input(json!({"x": 2})))
        .unwrap();
    assert_eq!(restart.metadata_value("replacedInput"), Some(&json!({"x": 1})));
    let resp = generate(
        &reg,
        GenerateOptions::new()
            .model("m")
            .messages(resp.messages().unwrap())
            .tool("guarded")
            .resume(ResumeOptions { restart: vec![restart], ..Default::default() }),
    )
    .await
    .unwrap();
    assert_eq!(resp.text(), "done");
    assert_eq!(*seen.lock().unwrap(), vec![json!({"ok": true})]);
    let sent = pm.last_request().unwrap();
    let out = sent.messages.last().unwrap().content[0].tool_response.clone().unwrap().output;
    assert_eq!(out, Some(json!({"ran_with": {"x": 2}})));
}

#[tokio::test]
async fn resume_errors_match_js() {
    let (reg, pm) = setup("m");
    text_tool(&reg, "t", "x");
    // no model message with tool requests
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("hi").resume(ResumeOptions::default()))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Status::FailedPrecondition);
    assert_eq!(
        err.message(),
        "Cannot 'resume' generation unless the previous message is a model message with at least one tool request."
    );
    // unresolved request
    let history =
        vec![Message::user("hi"), Message::new(Role::Model, vec![Part::tool_request("t", None, Some("9".into()))])];
    let err =
        generate(&reg, GenerateOptions::new().model("m").messages(history).tool("t").resume(ResumeOptions::default()))
            .await
            .unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().starts_with("Unresolved tool request 't#9' was not handled by the 'resume' argument."));
    assert!(pm.requests().is_empty());
}

#[tokio::test]
async fn restart_that_interrupts_again_is_a_precondition_failure() {
    let (reg, _pm) = setup("m");
    let ask: Tool<Value, Value> = tool::interrupt(ToolConfig::new("ask", "ask"), |_| None);
    reg.register_action(ask.as_action()).unwrap();
    let req = Part::tool_request("ask", None, Some("1".into())).with_metadata("interrupt", json!(true));
    let history = vec![Message::user("hi"), Message::new(Role::Model, vec![req.clone()])];
    let err = generate(
        &reg,
        GenerateOptions::new().model("m").messages(history).tool("ask").resume(ResumeOptions {
            restart: vec![restart_tool(&req, RestartOptions::new()).unwrap()],
            ..Default::default()
        }),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), Status::FailedPrecondition);
    assert_eq!(err.message(), "One or more tools triggered an interrupt during a restarted execution.");
}

#[tokio::test]
async fn bad_input_errors() {
    let (reg, pm) = setup("m");
    let err = generate(&reg, GenerateOptions::new().model("nope").prompt("hi")).await.unwrap_err();
    assert_eq!((err.status(), err.message()), (Status::NotFound, "Model 'nope' not found"));
    let err = generate(&reg, GenerateOptions::new().prompt("hi")).await.unwrap_err();
    assert_eq!(
        (err.status(), err.message()),
        (Status::InvalidArgument, "Must supply a `model` to `generate()` calls.")
    );
    let err = generate(&reg, GenerateOptions::new().model("m")).await.unwrap_err();
    assert_eq!(err.message(), "at least one message is required in generate request");
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("x").tool("missing")).await.unwrap_err();
    assert_eq!((err.status(), err.message()), (Status::NotFound, "Unable to resolve tool: missing"));

    // duplicate short names
    let a: Tool<Value, Value> = tool::new(ToolConfig::new("a/x", "a"), |_, _| async { Ok(json!(1)) });
    let b: Tool<Value, Value> = tool::new(ToolConfig::new("b/x", "b"), |_, _| async { Ok(json!(2)) });
    reg.register_action(a.as_action()).unwrap();
    reg.register_action(b.as_action()).unwrap();
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("x").tool("a/x").tool("b/x")).await.unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert_eq!(err.message(), "Cannot provide two tools with the same name: 'b/x' and 'a/x'");

    // a model asking for a tool it was not given
    pm.respond(tool_call("ghost", "1", json!({})));
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("x")).await.unwrap_err();
    assert_eq!((err.status(), err.message()), (Status::NotFound, "Tool ghost not found"));

    // blocked
    pm.respond(ModelResponse {
        finish_reason: Some(FinishReason::Blocked),
        finish_message: Some("unsafe".into()),
        ..Default::default()
    });
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("x")).await.unwrap_err();
    assert_eq!((err.status(), err.message()), (Status::FailedPrecondition, "Generation blocked: unsafe"));

    // no message
    pm.respond(ModelResponse { finish_reason: Some(FinishReason::Other), ..Default::default() });
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("x")).await.unwrap_err();
    assert_eq!(err.message(), "Model did not generate a message. Finish reason: 'other': undefined");
}

#[tokio::test]
async fn tool_errors_and_panics_fail_the_generation() {
    let (reg, pm) = setup("m");
    let bad: Tool<Value, Value> = tool::new(ToolConfig::new("bad", "fails"), |_, _| async {
        Err(genkit_core::Error::new(Status::PermissionDenied, "no access"))
    });
    let boom: Tool<Value, Value> = tool::new(ToolConfig::new("boom", "panics"), |_, _| async {
        if true {
            panic!("kaboom");
        }
        Ok(json!(null))
    });
    reg.register_action(bad.as_action()).unwrap();
    reg.register_action(boom.as_action()).unwrap();
    pm.respond(tool_call("bad", "1", json!({})));
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("x").tool("bad")).await.unwrap_err();
    assert_eq!((err.status(), err.message()), (Status::PermissionDenied, "no access"));
    pm.respond(tool_call("boom", "1", json!({})));
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("x").tool("boom")).await.unwrap_err();
    assert_eq!(err.status(), Status::Internal);
    assert!(err.message().contains("kaboom"), "{}", err.message());
}

#[tokio::test]
async fn cancellation_stops_a_running_tool() {
    let (reg, pm) = setup("m");
    let started = Arc::new(AtomicUsize::new(0));
    let s2 = started.clone();
    let slow: Tool<Value, Value> = tool::new(ToolConfig::new("slow", "slow"), move |_, cx| {
        s2.fetch_add(1, Ordering::SeqCst);
        async move {
            cx.cancellation().cancelled().await;
            Ok(json!("never"))
        }
    });
    reg.register_action(slow.as_action()).unwrap();
    pm.respond(tool_call("slow", "1", json!({})));
    let tok = tokio_util::sync::CancellationToken::new();
    let t2 = tok.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        t2.cancel();
    });
    let err =
        generate(&reg, GenerateOptions::new().model("m").prompt("x").tool("slow").cancellation(tok)).await.unwrap_err();
    assert_eq!(err.status(), Status::Cancelled);
    assert_eq!(started.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn config_merges_over_model_ref_config() {
    let (reg, pm) = setup("m");
    pm.respond(stop("ok"));
    let r = genkit_ai::ModelRef::new("m").with_config(json!({"temperature": 1, "topK": 3})).with_version("v2");
    generate(&reg, GenerateOptions::new().model(r).prompt("x").config(json!({"temperature": 0.5}))).await.unwrap();
    assert_eq!(pm.last_request().unwrap().config, Some(json!({"temperature": 0.5, "topK": 3, "version": "v2"})));
    pm.respond(stop("ok"));
    generate(&reg, GenerateOptions::new().model("m").prompt("x")).await.unwrap();
    assert_eq!(pm.last_request().unwrap().config, Some(json!({})));
}

#[tokio::test]
async fn return_tool_requests_skips_execution() {
    let (reg, pm) = setup("m");
    text_tool(&reg, "t", "x");
    pm.respond(tool_call("t", "1", json!({})));
    let resp = generate(&reg, GenerateOptions::new().model("m").prompt("x").tool("t").return_tool_requests(true))
        .await
        .unwrap();
    assert_eq!(resp.tool_requests().len(), 1);
    assert_eq!(pm.requests().len(), 1);
}

#[tokio::test]
async fn background_models_return_operations() {
    use genkit_ai::generate::generate_operation;
    use genkit_ai::model::background::{self, cancel_operation, check_operation};
    use genkit_ai::{ModelOptions, ModelSupports, Operation};
    let reg = Registry::new();
    define_generate_action(&reg).unwrap();
    let bg = background::new(
        &ModelOptions::new("veo").supports(ModelSupports { long_running: Some(true), ..Default::default() }),
        |_req, _cx| async {
            Ok(Operation {
                action: None,
                id: "op1".into(),
                done: Some(false),
                output: None,
                error: None,
                metadata: None,
            })
        },
        |mut op: Operation, _cx| async move {
            op.done = Some(true);
            op.output = Some(json!({"video": "v.mp4"}));
            Ok(op)
        },
        None,
    );
    bg.register(&reg).unwrap();
    let resp = generate(&reg, GenerateOptions::new().model("veo").prompt("a cat")).await.unwrap();
    let op = resp.operation.clone().unwrap();
    assert!(resp.message.is_none());
    assert_eq!(op.action.as_deref(), Some("/background-model/veo"));
    let op = generate_operation(&reg, GenerateOptions::new().model("veo").prompt("a cat")).await.unwrap();
    let done = check_operation(&reg, op.clone()).await.unwrap();
    assert_eq!((done.done, done.action.as_deref()), (Some(true), Some("/background-model/veo")));
    let err = cancel_operation(&reg, op).await.unwrap_err();
    assert_eq!(err.status(), Status::Unimplemented);
    let err = check_operation(
        &reg,
        Operation { action: None, id: "x".into(), done: None, output: None, error: None, metadata: None },
    )
    .await
    .unwrap_err();
    assert_eq!(err.message(), "Provided operation is missing original request information");
}

#[tokio::test]
async fn multipart_tools_answer_with_output_content_and_metadata() {
    use genkit_ai::MultipartToolResponse;
    let (reg, pm) = setup("m");
    let shot =
        genkit_ai::tool::multipart(ToolConfig::new("screenshot", "takes a screenshot"), |i: Value, _cx| async move {
            Ok(MultipartToolResponse {
                output: Some(json!({"taken": i["page"]})),
                content: Some(vec![Part::media("data:image/png;base64,AAAA", Some("image/png".into()))]),
                metadata: Some(serde_json::from_value(json!({"size": 4})).unwrap()),
            })
        });
    assert_eq!(shot.key(), "/tool.v2/screenshot");
    assert_eq!(shot.metadata().metadata_value("tool"), Some(&json!({"multipart": true})));
    reg.register_action(shot.as_action()).unwrap();
    pm.respond(tool_call("screenshot", "s1", json!({"page": "home"})));
    pm.respond(stop("looks fine"));
    let resp = generate(&reg, GenerateOptions::new().model("m").prompt("check").tool("screenshot")).await.unwrap();
    assert_eq!(resp.text(), "looks fine");
    let history = resp.messages().unwrap();
    let tool_msg = &history[2];
    assert_eq!(tool_msg.role, Role::Tool);
    assert_eq!(
        serde_json::to_value(&tool_msg.content).unwrap(),
        json!([{
            "toolResponse": {
                "name": "screenshot", "ref": "s1", "output": {"taken": "home"},
                "content": [{"media": {"url": "data:image/png;base64,AAAA", "contentType": "image/png"}}]
            },
            "metadata": {"size": 4}
        }])
    );
    // the definition sent to the model: the short name, the inner (void) output schema
    let def = &pm.requests()[0].tools.clone().unwrap()[0];
    assert_eq!((def.name.as_str(), def.key.as_deref()), ("screenshot", Some("/tool.v2/screenshot")));
}

#[tokio::test]
async fn every_tool_has_a_tool_v2_companion_returning_output() {
    let reg = Registry::new();
    let add = tool::new::<Value, Value, _, _>(
        ToolConfig::new("add", "adds").metadata("custom", json!(1)),
        |i, _| async move { Ok(json!(i["a"].as_i64().unwrap() + i["b"].as_i64().unwrap())) },
    );
    // what `Genkit::define_tool` registers: the tool and its companion
    reg.register_action(add.as_action()).unwrap();
    reg.register_action(add.v2_action().as_action()).unwrap();
    let v2 = reg.lookup_action("/tool.v2/add").await.unwrap().unwrap();
    let meta = v2.metadata();
    assert_eq!(meta.metadata_value("type"), Some(&json!("tool.v2")));
    assert_eq!(meta.metadata_value("tool"), Some(&json!({"multipart": true})));
    assert_eq!(meta.metadata_value("custom"), Some(&json!(1)));
    assert_eq!(meta.description.as_deref(), Some("adds"));
    let out = v2.run_json(json!({"a": 2, "b": 3}), RunOptions::new()).await.unwrap().result;
    assert_eq!(out, json!({"output": 5}));
    // generate resolves the plain name to `/tool/add` first
    assert!(reg.lookup_action("/tool/add").await.unwrap().is_some());
}

#[tokio::test]
async fn unknown_output_format_is_forwarded_without_a_parser() {
    let (reg, pm) = setup("m");
    pm.respond(stop("{\"a\": 1}"));
    let resp = generate(
        &reg,
        GenerateOptions::new().model("m").prompt("x").output(genkit_ai::OutputOptions::format("mystery")),
    )
    .await
    .unwrap();
    let out = pm.last_request().unwrap().output.unwrap();
    assert_eq!(out, genkit_ai::OutputConfig { format: Some("mystery".into()), ..Default::default() });
    // no instructions injected, no parser: output falls back to JSON extracted from the text
    assert_eq!(pm.last_request().unwrap().messages[0].content.len(), 1);
    assert_eq!(resp.output(), Some(json!({"a": 1})));
}

#[tokio::test]
async fn respond_and_restart_validate_against_the_tool_schemas() {
    let t: Tool<Value, Value> = tool::new(
        ToolConfig::new("ask", "asks")
            .input_schema(json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}))
            .output_schema(json!({"type": "string"})),
        |_, _| async { Ok(json!("x")) },
    );
    let interrupt =
        Part::tool_request("ask", Some(json!({"q": "why"})), Some("1".into())).with_metadata("interrupt", json!(true));
    let err = t.respond(&interrupt, json!(42), None).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(t.respond(&interrupt, json!("because"), None).is_ok());
    let err = t.restart(&interrupt, RestartOptions::new().replace_input(json!({"q": 7}))).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    let err = t.restart(&interrupt, RestartOptions::new().replace_input(json!({}))).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    let ok = t.restart(&interrupt, RestartOptions::new().replace_input(json!({"q": "how"}))).unwrap();
    assert_eq!(ok.tool_request.unwrap().input, Some(json!({"q": "how"})));
}

#[tokio::test]
async fn namespaced_tools_are_sent_by_short_name_with_the_original_name() {
    let (reg, pm) = setup("m");
    text_tool(&reg, "plugin/x", "from x");
    pm.respond(tool_call("x", "1", json!({})));
    pm.respond(stop("ok"));
    generate(&reg, GenerateOptions::new().model("m").prompt("go").tool("plugin/x")).await.unwrap();
    let def = &pm.requests()[0].tools.clone().unwrap()[0];
    assert_eq!(def.name, "x");
    assert_eq!(def.key.as_deref(), Some("/tool/plugin/x"));
    assert_eq!(def.metadata.as_ref().unwrap()["originalName"], json!("plugin/x"));
    // the model calls it by the short name; the loop maps it back
    let tool_msg = pm.last_request().unwrap().messages.last().unwrap().clone();
    assert_eq!(tool_msg.content[0].tool_response.as_ref().unwrap().name, "x");
    assert_eq!(tool_msg.content[0].tool_response.as_ref().unwrap().output, Some(json!("from x")));
}

#[tokio::test]
async fn a_resumed_tool_message_streams_as_a_tool_chunk_at_the_message_index() {
    let (reg, pm) = setup("m");
    text_tool(&reg, "t", "x");
    let history = vec![
        Message::user("hi"),
        Message::new(
            Role::Model,
            vec![Part::tool_request("t", None, Some("9".into())).with_metadata("interrupt", json!(true))],
        ),
    ];
    let reply = respond_tool(&history[1].content[0], json!("answer"), None).unwrap();
    let ch = ModelResponseChunk::new(vec![Part::text("done")]);
    pm.respond_streaming(vec![ch], stop("done"));
    let mut s = generate_stream(
        &reg,
        GenerateOptions::new()
            .model("m")
            .messages(history)
            .tool("t")
            .resume(ResumeOptions { respond: vec![reply], ..Default::default() }),
    );
    let mut chunks = Vec::new();
    while let Some(c) = s.next().await {
        chunks.push(c.unwrap());
    }
    s.output().await.unwrap();
    assert_eq!(chunks.len(), 2);
    assert_eq!((chunks[0].role, chunks[0].index), (Some(Role::Tool), Some(0)));
    assert_eq!(chunks[0].content[0].tool_response.as_ref().unwrap().output, Some(json!("answer")));
    assert_eq!((chunks[1].role, chunks[1].index), (Some(Role::Model), Some(1)));
}

#[tokio::test]
async fn tool_choice_is_forwarded_to_the_model() {
    let (reg, pm) = setup("m");
    text_tool(&reg, "t", "x");
    pm.respond(stop("ok"));
    generate(
        &reg,
        GenerateOptions::new().model("m").prompt("x").tool("t").tool_choice(genkit_ai::ToolChoice::Required),
    )
    .await
    .unwrap();
    let req = pm.last_request().unwrap();
    assert_eq!(req.tool_choice, Some(genkit_ai::ToolChoice::Required));
    assert_eq!(serde_json::to_value(&req).unwrap()["toolChoice"], json!("required"));
}

#[tokio::test]
async fn models_tools_and_resources_can_be_passed_as_actions() {
    use genkit_ai::resource::{ResourceOptions, ResourceOutput};
    // nothing registered: the model, a dynamic tool and a resource only come with the options
    let reg = Registry::new();
    let pm = ProgrammableModel::new("unregistered");
    let greet: Tool<Value, Value> = tool::dynamic(ToolConfig::new("greet", "greets"), |i: Value, _| async move {
        Ok(json!(format!("hello {}", i["who"].as_str().unwrap_or("?"))))
    });
    assert!(greet.is_dynamic());
    let notes = genkit_ai::resource::new(ResourceOptions::uri("notes://today").name("notes"), |_, _| async {
        Ok(ResourceOutput { content: vec![Part::text("buy milk")] })
    })
    .unwrap();
    pm.respond(tool_call("greet", "1", json!({"who": "bob"})));
    pm.respond(stop("done"));
    let resp = generate(
        &reg,
        GenerateOptions::new()
            .model(&pm.action())
            .prompt(vec![Part::text("read "), Part::resource("notes://today")])
            .tool(&greet)
            .resource(&notes),
    )
    .await
    .unwrap();
    assert_eq!(resp.text(), "done");
    let reqs = pm.requests();
    assert_eq!(reqs[0].messages[0].content[1].text.as_deref(), Some("buy milk"));
    assert_eq!(reqs[0].tools.as_ref().unwrap()[0].name, "greet");
    let tool_msg = reqs[1].messages.last().unwrap();
    assert_eq!(tool_msg.content[0].tool_response.as_ref().unwrap().output, Some(json!("hello bob")));
    // they were registered only in the call's child registry
    assert!(reg.lookup_action("/tool/greet").await.unwrap().is_none());
    assert!(reg.lookup_action("/model/unregistered").await.unwrap().is_none());
}

#[tokio::test]
async fn string_message_content_is_normalized_to_a_text_part() {
    let m: Message = serde_json::from_value(json!({"role": "user", "content": "hi"})).unwrap();
    assert_eq!(m, Message::user("hi"));
    assert_eq!(serde_json::to_value(&m).unwrap(), json!({"role": "user", "content": [{"text": "hi"}]}));
    assert_eq!(Message::parse_data(json!("yo"), Role::Model).unwrap(), Message::model("yo"));
    assert_eq!(Message::parse_data(json!(3), Role::User).unwrap_err().status(), Status::InvalidArgument);

    // through /util/generate (JSON input, schema-validated)
    let (reg, pm) = setup("m");
    pm.respond(stop("ok"));
    let action = reg.lookup_action("/util/generate").await.unwrap().unwrap();
    let out = action
        .run_json(
            json!({"model": "m", "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hi"}
            ]}),
            RunOptions::new(),
        )
        .await
        .unwrap()
        .result;
    assert_eq!(out["message"]["content"][0]["text"], "ok");
    let sent = pm.last_request().unwrap();
    assert_eq!(sent.messages, vec![Message::system("be brief"), Message::user("hi")]);
    assert_eq!(out["request"]["messages"][1]["content"], json!([{"text": "hi"}]));
}

#[tokio::test]
async fn background_operation_errors_match_js() {
    use genkit_ai::generate::generate_operation;
    use genkit_ai::model::background::{self, cancel_operation, check_operation};
    use genkit_ai::{ModelOptions, ModelSupports, Operation};
    let (reg, pm) = setup("plain");
    fn op(action: &str) -> Operation {
        Operation {
            action: Some(action.into()),
            id: "op".into(),
            done: None,
            output: None,
            error: None,
            metadata: None,
        }
    }
    for result in [
        check_operation(&reg, op("/background-model/nope")).await,
        cancel_operation(&reg, op("/background-model/nope")).await,
        check_operation(&reg, op("/model/plain")).await,
    ] {
        let err = result.unwrap_err();
        assert_eq!(err.status(), Status::InvalidArgument);
        assert!(err.message().starts_with("Failed to resolve background action from original request: /"));
    }
    let err = check_operation(&reg, op("/background-model/nope")).await.unwrap_err();
    assert_eq!(err.message(), "Failed to resolve background action from original request: /background-model/nope");

    // a background model without cancel
    let bg = background::new(
        &ModelOptions::new("veo").supports(ModelSupports { long_running: Some(true), ..Default::default() }),
        |_req, _cx| async { Ok(op("")) },
        |o: Operation, _cx| async move { Ok(o) },
        None,
    );
    bg.register(&reg).unwrap();
    let err = cancel_operation(&reg, op("/background-model/veo")).await.unwrap_err();
    assert_eq!(
        (err.status(), err.message()),
        (Status::Unimplemented, "Background action /background-model/veo does not support cancellation.")
    );

    // generate_operation on a model that is not long-running
    let err = generate_operation(&reg, GenerateOptions::new().model("plain").prompt("x")).await.unwrap_err();
    assert_eq!(
        (err.status(), err.message()),
        (Status::InvalidArgument, "Model 'plain' does not support long running operations.")
    );
    assert!(pm.requests().is_empty());

    // a long-running model that returns no operation
    let lr = ProgrammableModel::with_options(
        ModelOptions::new("lr").supports(ModelSupports { long_running: Some(true), ..Default::default() }),
    );
    reg.register_action(lr.action().as_action()).unwrap();
    lr.respond(stop("no op"));
    let err = generate_operation(&reg, GenerateOptions::new().model("lr").prompt("x")).await.unwrap_err();
    assert_eq!((err.status(), err.message()), (Status::FailedPrecondition, "Model 'lr' did not return an operation."));

    // the model may be passed as an action (here one that is not registered)
    let veo2 = background::new(
        &ModelOptions::new("veo2").supports(ModelSupports { long_running: Some(true), ..Default::default() }),
        |_req, _cx| async { Ok(op("")) },
        |o: Operation, _cx| async move { Ok(o) },
        None,
    );
    let opts = GenerateOptions {
        model: Some(genkit_ai::ModelArg::Action(veo2.start.as_action())),
        ..GenerateOptions::new().prompt("x")
    };
    let started = generate_operation(&reg, opts).await.unwrap();
    assert_eq!(started.action.as_deref(), Some("/background-model/veo2"));
}
