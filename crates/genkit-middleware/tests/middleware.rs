//! The built-in middlewares (retry, fallback, tool approval, the model middlewares), custom
//! middleware by value and by name, and resources expanded before the model call.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use genkit_ai::generate::{define_generate_action, generate};
use genkit_ai::middleware::{GenerateEnvelope, GenerateNext, Middleware, MiddlewareDef, MiddlewareUse, ModelNext};
use genkit_ai::model::testing::ProgrammableModel;
use genkit_ai::model::{
    AugmentWithContextOptions, SimulateSystemPromptOptions, augment_with_context, simulate_system_prompt,
    validate_support,
};
use genkit_ai::resource::{ResourceOptions, ResourceOutput};
use genkit_ai::tool::{self, RestartOptions, ToolConfig, restart_tool};
use genkit_ai::{
    DocumentData, FinishReason, GenerateOptions, Message, ModelReference, ModelRequest, ModelResponse, ModelSupports,
    Part, ResumeOptions, Role, Tool,
};
use genkit_core::{Error, Registry, RunOptions, Status};
use genkit_middleware::{FallbackOptions, RetryOptions, ToolApprovalOptions, fallback, retry, tool_approval};
use serde_json::{Value, json};

fn setup() -> (Registry, ProgrammableModel) {
    let reg = Registry::new();
    let pm = ProgrammableModel::new("m");
    reg.register_action(pm.action().as_action()).unwrap();
    define_generate_action(&reg).unwrap();
    (reg, pm)
}

fn stop(text: &str) -> ModelResponse {
    ModelResponse { message: Some(Message::model(text)), finish_reason: Some(FinishReason::Stop), ..Default::default() }
}

fn fast_retry(max: u32) -> RetryOptions {
    RetryOptions { max_retries: max, initial_delay_ms: 1, no_jitter: true, ..Default::default() }
}

#[tokio::test]
async fn retry_retries_listed_statuses_then_succeeds() {
    let (reg, pm) = setup();
    pm.fail(Error::new(Status::Unavailable, "down")).fail(Error::new(Status::Internal, "oops")).respond(stop("ok"));
    let r = generate(&reg, GenerateOptions::new().model("m").prompt("x").use_middleware(retry(fast_retry(3))))
        .await
        .unwrap();
    assert_eq!(r.text(), "ok");
    assert_eq!(pm.requests().len(), 3);
}

#[tokio::test]
async fn retry_gives_up_and_skips_unlisted_statuses() {
    let (reg, pm) = setup();
    pm.set_handler(|_, _| Err(Error::new(Status::Unavailable, "down")));
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("x").use_middleware(retry(fast_retry(2))))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Status::Unavailable);
    assert_eq!(pm.requests().len(), 3, "attempts = maxRetries + 1");

    let (reg, pm) = setup();
    pm.fail(Error::new(Status::InvalidArgument, "bad"));
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("x").use_middleware(retry(fast_retry(3))))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert_eq!(pm.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_honours_retry_after_and_backoff() {
    let (reg, pm) = setup();
    pm.fail(Error::new(Status::ResourceExhausted, "slow down").with_retry_after(Duration::from_secs(30)))
        .respond(stop("ok"));
    let start = tokio::time::Instant::now();
    let opts = RetryOptions { initial_delay_ms: 1000, no_jitter: true, ..Default::default() };
    generate(&reg, GenerateOptions::new().model("m").prompt("x").use_middleware(retry(opts))).await.unwrap();
    assert!(start.elapsed() >= Duration::from_secs(30), "waited {:?}", start.elapsed());
    assert!(start.elapsed() < Duration::from_secs(31));
}

/// A provider asking to wait an hour, or longer than a `Duration` can say, is waited for
/// `maxRetryAfterMs` at most (60 s by default). The clock is tokio's paused test clock, so the
/// waits are exact and instant.
#[tokio::test(start_paused = true)]
async fn retry_caps_a_huge_retry_after() {
    for (after, opts, waited) in [
        (Duration::MAX, RetryOptions { no_jitter: true, ..Default::default() }, Duration::from_secs(60)),
        (Duration::from_secs(3600), RetryOptions { no_jitter: true, ..Default::default() }, Duration::from_secs(60)),
        (
            Duration::from_secs(3600),
            RetryOptions { no_jitter: true, max_retry_after_ms: 5000, ..Default::default() },
            Duration::from_secs(5),
        ),
        (
            Duration::from_secs(3600),
            RetryOptions { no_jitter: true, max_retry_after_ms: 0, initial_delay_ms: 10, ..Default::default() },
            Duration::from_millis(10),
        ),
    ] {
        let (reg, pm) = setup();
        pm.fail(Error::new(Status::ResourceExhausted, "quota").with_retry_after(after)).respond(stop("ok"));
        let start = tokio::time::Instant::now();
        let r = generate(&reg, GenerateOptions::new().model("m").prompt("x").use_middleware(retry(opts.clone())))
            .await
            .unwrap();
        assert_eq!(r.text(), "ok");
        assert_eq!(start.elapsed(), waited, "Retry-After {after:?} with {opts:?}");
    }
    assert_eq!(
        serde_json::to_value(RetryOptions::default()).unwrap()["maxRetryAfterMs"],
        json!(60_000),
        "the cap is part of the JSON config"
    );
}

/// Jitter doubles with every attempt (`1000·2^attempt·random()` ms): after about 64 attempts
/// the delay no longer fits a `Duration`, which must mean "the longest wait", not a panic.
#[tokio::test(start_paused = true)]
async fn retry_survives_delays_longer_than_a_duration_holds() {
    let (reg, pm) = setup();
    for _ in 0..100 {
        pm.fail(Error::new(Status::Unavailable, "down"));
    }
    pm.respond(stop("ok"));
    let opts = RetryOptions { max_retries: 100, initial_delay_ms: 1, ..Default::default() };
    let r = generate(&reg, GenerateOptions::new().model("m").prompt("x").use_middleware(retry(opts))).await.unwrap();
    assert_eq!(r.text(), "ok");
    assert_eq!(pm.requests().len(), 101);
}

#[tokio::test]
async fn retry_never_retries_interrupts_or_cancellation() {
    let (reg, pm) = setup();
    pm.fail(Error::cancelled("stop"));
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("x").use_middleware(retry(fast_retry(3))))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Status::Cancelled);
    assert_eq!(pm.requests().len(), 1);
    pm.fail(genkit_ai::tool::interrupt_error(None));
    let err = generate(
        &reg,
        GenerateOptions::new()
            .model("m")
            .prompt("x")
            .use_middleware(retry(RetryOptions { statuses: vec![Status::Aborted], ..fast_retry(3) })),
    )
    .await
    .unwrap_err();
    assert!(genkit_ai::tool::as_interrupt(&err).is_some());
    assert_eq!(pm.requests().len(), 2);
}

#[tokio::test]
async fn fallback_tries_the_next_models() {
    let (reg, pm) = setup();
    let backup = ProgrammableModel::new("backup");
    reg.register_action(backup.action().as_action()).unwrap();
    pm.fail(Error::new(Status::Unavailable, "down"));
    backup.respond(stop("from backup"));
    let opts = FallbackOptions {
        models: vec![
            ModelReference { name: "missing".into(), config: None },
            ModelReference { name: "backup".into(), config: Some(json!({"temperature": 0})) },
        ],
        ..Default::default()
    };
    let r = generate(
        &reg,
        GenerateOptions::new().model("m").prompt("x").config(json!({"topK": 1})).use_middleware(fallback(opts)),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "from backup");
    assert_eq!(backup.last_request().unwrap().config, Some(json!({"temperature": 0})));

    // a non-fallback status is rethrown without trying others
    pm.fail(Error::new(Status::PermissionDenied, "no"));
    let opts =
        FallbackOptions { models: vec![ModelReference { name: "backup".into(), config: None }], ..Default::default() };
    let err =
        generate(&reg, GenerateOptions::new().model("m").prompt("x").use_middleware(fallback(opts))).await.unwrap_err();
    assert_eq!(err.status(), Status::PermissionDenied);
    assert_eq!(backup.requests().len(), 1);
}

#[tokio::test]
async fn tool_approval_interrupts_until_approved() {
    let (reg, pm) = setup();
    let runs = Arc::new(AtomicUsize::new(0));
    let r2 = runs.clone();
    let pay: Tool<Value, Value> = tool::new(ToolConfig::new("pay", "pays"), move |_, _| {
        r2.fetch_add(1, Ordering::SeqCst);
        async { Ok(json!("paid")) }
    });
    let look: Tool<Value, Value> = tool::new(ToolConfig::new("look", "looks"), |_, _| async { Ok(json!("seen")) });
    reg.register_action(pay.as_action()).unwrap();
    reg.register_action(look.as_action()).unwrap();
    pm.respond(ModelResponse {
        message: Some(Message::new(
            Role::Model,
            vec![Part::tool_request("look", None, Some("1".into())), Part::tool_request("pay", None, Some("2".into()))],
        )),
        ..Default::default()
    });
    let approval = || tool_approval(ToolApprovalOptions { approved: vec!["look".into()] });
    let resp =
        generate(&reg, GenerateOptions::new().model("m").prompt("x").tools(["look", "pay"]).use_middleware(approval()))
            .await
            .unwrap();
    assert_eq!(resp.finish_reason, Some(FinishReason::Interrupted));
    let interrupt = resp.interrupts()[0].clone();
    assert_eq!(interrupt.metadata_value("interrupt"), Some(&json!({"message": "Tool not in approved list: pay"})));
    assert_eq!(runs.load(Ordering::SeqCst), 0);

    pm.respond(stop("done"));
    let restart = restart_tool(&interrupt, RestartOptions::new().resumed(json!({"toolApproved": true}))).unwrap();
    let resp = generate(
        &reg,
        GenerateOptions::new()
            .model("m")
            .messages(resp.messages().unwrap())
            .tools(["look", "pay"])
            .use_middleware(approval())
            .resume(ResumeOptions { restart: vec![restart], ..Default::default() }),
    )
    .await
    .unwrap();
    assert_eq!(resp.text(), "done");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn model_middlewares_rewrite_requests() {
    let (reg, pm) = setup();
    pm.respond(stop("ok"));
    generate(
        &reg,
        GenerateOptions::new()
            .model("m")
            .system("Be nice.")
            .prompt("hi")
            .use_middleware(simulate_system_prompt(SimulateSystemPromptOptions::default())),
    )
    .await
    .unwrap();
    let req = pm.last_request().unwrap();
    assert_eq!(
        serde_json::to_value(&req.messages).unwrap(),
        json!([
            {"role": "user", "content": [{"text": "SYSTEM INSTRUCTIONS:\n"}, {"text": "Be nice."}]},
            {"role": "model", "content": [{"text": "Understood."}]},
            {"role": "user", "content": [{"text": "hi"}]}
        ])
    );

    let v = validate_support("m", &ModelSupports { tools: Some(false), ..Default::default() });
    let req = ModelRequest {
        messages: vec![Message::user("x")],
        tools: Some(vec![genkit_ai::ToolDefinition {
            name: "t".into(),
            key: None,
            description: String::new(),
            input_schema: None,
            output_schema: None,
            metadata: None,
        }]),
        ..Default::default()
    };
    let err = v.apply(req).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().starts_with("Model 'm' does not support tool use, but tools were provided."));
}

#[tokio::test]
async fn docs_are_rendered_into_the_last_user_message() {
    let (reg, pm) = setup();
    pm.respond(stop("ok"));
    let mut d1 = DocumentData::from_text("doc1");
    d1.metadata = Some(serde_json::from_value(json!({"ref": "R1"})).unwrap());
    let resp =
        generate(&reg, GenerateOptions::new().model("m").prompt("q").docs(vec![d1, DocumentData::from_text("doc2")]))
            .await
            .unwrap();
    let req = pm.last_request().unwrap();
    let part = &req.messages[0].content[1];
    assert_eq!(
        part.text.as_deref(),
        Some("\n\nUse the following information to complete your task:\n\n- [R1]: doc1\n- [1]: doc2\n\n")
    );
    assert_eq!(part.metadata_value("purpose"), Some(&json!("context")));
    // copy-on-write: the returned history does not carry the context part
    assert_eq!(resp.request.as_ref().unwrap().messages[0].content.len(), 1);

    let custom =
        augment_with_context(AugmentWithContextOptions { preface: None, no_citations: true, ..Default::default() });
    let req = ModelRequest {
        messages: vec![Message::user("q")],
        docs: Some(vec![DocumentData::from_text("d")]),
        ..Default::default()
    };
    assert_eq!(custom.apply(req).unwrap().messages[0].content[1].text.as_deref(), Some("- d\n\n"));
}

struct Counting(Arc<AtomicUsize>);

impl Middleware for Counting {
    async fn wrap_generate(&self, env: GenerateEnvelope, next: GenerateNext<'_>) -> genkit_core::Result<ModelResponse> {
        self.0.fetch_add(1, Ordering::SeqCst);
        next.run(env).await
    }
}

/// Appends a user message to every model request.
struct Tag;

impl Middleware for Tag {
    async fn wrap_model(&self, mut req: ModelRequest, next: ModelNext<'_>) -> genkit_core::Result<ModelResponse> {
        req.messages.push(Message::user("tagged"));
        next.run(req).await
    }
}

#[tokio::test]
async fn custom_middleware_wraps_every_turn_and_resolves_by_name() {
    let (reg, pm) = setup();
    let count = Arc::new(AtomicUsize::new(0));
    let c2 = count.clone();
    let def = MiddlewareDef::new("counting", move |_| Ok(Counting(c2.clone())));
    def.register(&reg);
    let t: Tool<Value, Value> = tool::new(ToolConfig::new("t", "t"), |_, _| async { Ok(json!(1)) });
    reg.register_action(t.as_action()).unwrap();
    pm.respond(ModelResponse {
        message: Some(Message::new(Role::Model, vec![Part::tool_request("t", None, Some("1".into()))])),
        ..Default::default()
    });
    pm.respond(stop("ok"));
    // through /util/generate with a wire `use` ref
    let action = reg.lookup_action("/util/generate").await.unwrap().unwrap();
    let out = action
        .run_json(
            json!({"model": "m", "messages": [{"role": "user", "content": [{"text": "x"}]}], "tools": ["t"], "use": [{"name": "counting"}]}),
            RunOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(out.result["message"]["content"][0]["text"], "ok");
    assert_eq!(count.load(Ordering::SeqCst), 2, "one per turn");

    let err = action
        .run_json(json!({"model": "m", "messages": [{"role": "user", "content": [{"text": "x"}]}], "use": [{"name": "nope"}]}), RunOptions::new())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.message()), (Status::NotFound, "Middleware nope not found in registry."));

    // a middleware value in `use`, not registered by name
    pm.respond(stop("ok"));
    generate(&reg, GenerateOptions::new().model("m").prompt("x").use_middleware(MiddlewareUse::new(Tag)))
        .await
        .unwrap();
    assert_eq!(pm.last_request().unwrap().messages.last().unwrap().text(), "tagged");
}

#[tokio::test]
async fn resource_parts_are_expanded_before_the_model_call() {
    let (reg, pm) = setup();
    let file =
        genkit_ai::resource::new(ResourceOptions::template("file:///{path}").name("files"), |input, cx| async move {
            Ok(ResourceOutput {
                content: vec![Part::text(format!("contents of {} ({})", input.uri, cx.variables["path"]))],
            })
        })
        .unwrap();
    reg.register_action(file.as_action()).unwrap();
    let fixed = genkit_ai::resource::new(ResourceOptions::uri("my://fixed"), |_, _| async move {
        Ok(ResourceOutput { content: vec![Part::text("fixed")] })
    })
    .unwrap();
    reg.register_action(fixed.as_action()).unwrap();
    pm.respond(stop("ok"));
    let prompt = vec![Part::text("read "), Part::resource("file:///notes.txt"), Part::resource("my://fixed")];
    generate(&reg, GenerateOptions::new().model("m").prompt(prompt)).await.unwrap();
    let req = pm.last_request().unwrap();
    let content = &req.messages[0].content;
    assert_eq!(content[1].text.as_deref(), Some("contents of file:///notes.txt (notes.txt)"));
    assert_eq!(
        content[1].metadata_value("resource"),
        Some(&json!({"uri": "file:///notes.txt", "template": "file:///{path}"}))
    );
    assert_eq!(content[2].metadata_value("resource"), Some(&json!({"uri": "my://fixed"})));

    let err = generate(&reg, GenerateOptions::new().model("m").prompt(Part::resource("zzz://none"))).await.unwrap_err();
    assert_eq!((err.status(), err.message()), (Status::NotFound, "failed to find matching resource for zzz://none"));

    let err = genkit_ai::resource::new(ResourceOptions::default(), |_, _| async { Ok(ResourceOutput::default()) })
        .unwrap_err();
    assert_eq!(err.message(), "must specify either url or template options");
    let err = fixed.run(genkit_ai::resource::ResourceInput { uri: "my://other".into() }).await.unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
}

#[tokio::test]
async fn dynamic_action_providers_serve_tools_with_a_cache() {
    use genkit_ai::dap::{CacheTtl, DapActions, define_dynamic_action_provider};
    use genkit_core::ActionType;
    let (reg, pm) = setup();
    let fetches = Arc::new(AtomicUsize::new(0));
    let f2 = fetches.clone();
    let dap = define_dynamic_action_provider(&reg, "mcp", CacheTtl::default(), move || {
        f2.fetch_add(1, Ordering::SeqCst);
        async move {
            let mut m = DapActions::new();
            let a: Tool<Value, Value> = tool::new(ToolConfig::new("alpha", "a"), |_, _| async { Ok(json!("A")) });
            let b: Tool<Value, Value> = tool::new(ToolConfig::new("beta", "b"), |_, _| async { Ok(json!("B")) });
            m.insert(ActionType::Tool, vec![a.as_action(), b.as_action()]);
            Ok(m)
        }
    })
    .unwrap();
    pm.respond(ModelResponse {
        message: Some(Message::new(Role::Model, vec![Part::tool_request("beta", None, Some("1".into()))])),
        ..Default::default()
    });
    pm.respond(stop("ok"));
    generate(&reg, GenerateOptions::new().model("m").prompt("x").tool("mcp:tool/*")).await.unwrap();
    let first = pm.requests()[0].clone();
    let names: Vec<String> = first.tools.unwrap().iter().map(|t| t.name.clone()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    let tool_msg = pm.last_request().unwrap().messages.last().unwrap().clone();
    assert_eq!(tool_msg.content[0].tool_response.as_ref().unwrap().output, Some(json!("B")));
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "lookups within the TTL share one fetch");
    // running the DAP action refreshes and lists children with DAP keys
    let listed = reg.lookup_action("/dynamic-action-provider/mcp").await.unwrap().unwrap();
    let out = listed.run_json(json!(null), RunOptions::new()).await.unwrap().result;
    assert_eq!(out[0]["key"], "/dynamic-action-provider/mcp:tool/alpha");
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    dap.invalidate_cache().await;
    assert_eq!(dap.list_matching(ActionType::Tool, "al*").await.unwrap().len(), 1);
    assert_eq!(fetches.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn fallback_isolate_config_decides_whether_the_request_config_carries_over() {
    for (isolate, expected) in [(true, None), (false, Some(json!({"topK": 1})))] {
        let (reg, pm) = setup();
        let backup = ProgrammableModel::new("backup");
        reg.register_action(backup.action().as_action()).unwrap();
        pm.fail(Error::new(Status::Unavailable, "down"));
        backup.respond(stop("from backup"));
        let opts = FallbackOptions {
            models: vec![ModelReference { name: "backup".into(), config: None }],
            isolate_config: isolate,
            ..Default::default()
        };
        let r = generate(
            &reg,
            GenerateOptions::new().model("m").prompt("x").config(json!({"topK": 1})).use_middleware(fallback(opts)),
        )
        .await
        .unwrap();
        assert_eq!(r.text(), "from backup");
        assert_eq!(pm.last_request().unwrap().config, Some(json!({"topK": 1})));
        assert_eq!(backup.last_request().unwrap().config, expected, "isolateConfig={isolate}");
    }
}

#[test]
fn validate_support_rejects_media_and_multiple_messages() {
    let v = validate_support("m", &ModelSupports { media: Some(false), multiturn: Some(false), ..Default::default() });
    let media = ModelRequest {
        messages: vec![Message::new(Role::User, vec![Part::media("https://x/y.png", Some("image/png".into()))])],
        ..Default::default()
    };
    let err = v.apply(media).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().starts_with("Model 'm' does not support media, but media was provided. Request: {"));
    let two = ModelRequest { messages: vec![Message::user("a"), Message::model("b")], ..Default::default() };
    let err = v.apply(two).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().starts_with("Model 'm' does not support multiple messages, but 2 were provided. Request: {"));
    // one text message passes; unset capabilities are not checked (JS semantics)
    assert!(v.apply(ModelRequest { messages: vec![Message::user("a")], ..Default::default() }).is_ok());
    let lax = validate_support("m", &ModelSupports::default());
    let two = ModelRequest { messages: vec![Message::user("a"), Message::model("b")], ..Default::default() };
    assert!(lax.apply(two).is_ok());
}

#[tokio::test]
async fn models_supporting_context_get_docs_unrendered() {
    let reg = Registry::new();
    let pm = ProgrammableModel::with_options(
        genkit_ai::ModelOptions::new("ctx").supports(ModelSupports { context: Some(true), ..Default::default() }),
    );
    reg.register_action(pm.action().as_action()).unwrap();
    pm.respond(stop("ok"));
    generate(&reg, GenerateOptions::new().model("ctx").prompt("q").docs(vec![DocumentData::from_text("doc1")]))
        .await
        .unwrap();
    let req = pm.last_request().unwrap();
    assert_eq!(req.messages[0].content, vec![Part::text("q")]);
    assert_eq!(req.docs, Some(vec![DocumentData::from_text("doc1")]));
}

#[tokio::test]
async fn constrained_no_tools_is_simulated_only_when_tools_are_present() {
    let reg = Registry::new();
    let pm = ProgrammableModel::with_options(genkit_ai::ModelOptions::new("nt").supports(ModelSupports {
        tools: Some(true),
        constrained: Some(genkit_ai::Constrained::NoTools),
        ..Default::default()
    }));
    reg.register_action(pm.action().as_action()).unwrap();
    let t: Tool<Value, Value> = tool::new(ToolConfig::new("t", "t"), |_, _| async { Ok(json!(1)) });
    reg.register_action(t.as_action()).unwrap();
    let schema = json!({"type": "object", "properties": {"a": {"type": "number"}}});
    let output = || genkit_ai::OutputOptions::default().with_schema(schema.clone());

    // without tools: native constrained output
    pm.respond(stop("{\"a\": 1}"));
    generate(&reg, GenerateOptions::new().model("nt").prompt("x").output(output())).await.unwrap();
    let req = pm.last_request().unwrap();
    let out = req.output.unwrap();
    assert_eq!((out.constrained, out.format.as_deref()), (Some(true), Some("json")));
    assert_eq!(out.schema.map(Value::Object), Some(schema.clone()));
    assert_eq!(req.messages[0].content.len(), 1, "no instructions injected");

    // with tools: simulated (instructions injected, constrained output cleared)
    pm.respond(stop("{\"a\": 1}"));
    generate(&reg, GenerateOptions::new().model("nt").prompt("x").tool("t").output(output())).await.unwrap();
    let req = pm.last_request().unwrap();
    let out = req.output.unwrap();
    assert_eq!((out.constrained, out.format, out.schema), (Some(false), None, None));
    let injected = &req.messages[0].content[1];
    assert_eq!(injected.metadata_value("purpose"), Some(&json!("output")));
    assert!(
        injected
            .text
            .as_deref()
            .unwrap()
            .starts_with("Output should be in JSON format and conform to the following schema:\n\n```\n")
    );
}

#[tokio::test]
async fn resource_output_parts_with_their_own_resource_get_a_parent() {
    let r = genkit_ai::resource::new(ResourceOptions::template("dir://{name}"), |_, _| async move {
        Ok(ResourceOutput {
            content: vec![
                Part::text("inner").with_metadata("resource", json!({"uri": "file://inner.txt"})),
                Part::text("kept")
                    .with_metadata("resource", json!({"uri": "file://kept.txt", "parent": {"uri": "other://p"}})),
                Part::text("plain"),
            ],
        })
    })
    .unwrap();
    let out = r.run(genkit_ai::resource::ResourceInput { uri: "dir://docs".into() }).await.unwrap();
    assert_eq!(
        out.content[0].metadata_value("resource"),
        Some(&json!({"uri": "file://inner.txt", "parent": {"uri": "dir://docs", "template": "dir://{name}"}}))
    );
    assert_eq!(
        out.content[1].metadata_value("resource"),
        Some(&json!({"uri": "file://kept.txt", "parent": {"uri": "other://p"}}))
    );
    assert_eq!(
        out.content[2].metadata_value("resource"),
        Some(&json!({"uri": "dir://docs", "template": "dir://{name}"}))
    );
}

#[tokio::test]
async fn a_failed_dap_fetch_surfaces_and_invalidates_the_cache() {
    use genkit_ai::dap::{CacheTtl, DapActions, define_dynamic_action_provider};
    use genkit_core::ActionType;
    let (reg, _pm) = setup();
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let dap = define_dynamic_action_provider(&reg, "flaky", CacheTtl::default(), move || {
        let n = c2.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 1 {
                return Err(Error::new(Status::Unavailable, "server down"));
            }
            let mut m = DapActions::new();
            let a: Tool<Value, Value> = tool::new(ToolConfig::new("alpha", "a"), |_, _| async { Ok(json!("A")) });
            m.insert(ActionType::Tool, vec![a.as_action()]);
            Ok(m)
        }
    })
    .unwrap();
    assert_eq!(dap.actions().await.unwrap().len(), 1);
    // a refresh fails: the error surfaces and the cached actions are dropped
    let err = dap.refresh().await.unwrap_err();
    assert_eq!((err.status(), err.message()), (Status::Unavailable, "server down"));
    // the next lookup fetches again (the cache was invalidated) and succeeds
    assert_eq!(dap.list_matching(ActionType::Tool, "*").await.unwrap().len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // and is cached again
    assert!(reg.lookup_action("/dynamic-action-provider/flaky:tool/alpha").await.unwrap().is_some());
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // a failure through a lookup surfaces as the lookup's error
    let (reg, _pm) = setup();
    define_dynamic_action_provider(&reg, "down", CacheTtl::Disabled, || async {
        Err::<DapActions, _>(Error::new(Status::Unavailable, "unreachable"))
    })
    .unwrap();
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("x").tool("down:tool/*")).await.unwrap_err();
    assert_eq!(err.status(), Status::Unavailable);
}

#[tokio::test(start_paused = true)]
async fn dap_cache_ttls_follow_js() {
    use genkit_ai::dap::{CacheTtl, DapActions, define_dynamic_action_provider};
    for (ttl, after_100ms, after_5s) in [
        (CacheTtl::from_millis(Some(0)), 1, 2),  // 0 → the default 3000 ms
        (CacheTtl::from_millis(Some(-1)), 2, 3), // negative → no caching
        (CacheTtl::from_millis(Some(50)), 2, 3),
    ] {
        let reg = Registry::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = calls.clone();
        let dap = define_dynamic_action_provider(&reg, "d", ttl, move || {
            c2.fetch_add(1, Ordering::SeqCst);
            async { Ok(DapActions::new()) }
        })
        .unwrap();
        dap.actions().await.unwrap();
        tokio::time::advance(Duration::from_millis(100)).await;
        dap.actions().await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), after_100ms, "{ttl:?} after 100 ms");
        tokio::time::advance(Duration::from_secs(5)).await;
        dap.actions().await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), after_5s, "{ttl:?} after 5 s");
    }
}

#[test]
fn every_builtin_describes_its_config() {
    let mut defs = genkit_middleware::builtin_defs();
    defs.push(genkit_middleware::filesystem_def());
    defs.push(genkit_middleware::skills_def());
    for d in &defs {
        let v = d.to_json();
        assert_eq!(v["name"], json!(d.name()));
        assert!(v["description"].is_string(), "{v}");
        assert!(v["configSchema"].is_object(), "{v}");
    }
}
