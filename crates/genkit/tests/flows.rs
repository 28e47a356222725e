//! Flows through the `Genkit` facade: typed, streaming and bidirectional flows, `run` steps,
//! the builder, and the context flows run with.

use std::sync::Arc;

use futures::StreamExt;
use genkit::opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};
use genkit::prelude::*;
use genkit::{ActionType, Plugin};
use serde_json::{Value, json};

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
struct Sum {
    a: i64,
    b: i64,
}

#[tokio::test]
async fn flows_run_directly_by_name_and_streaming() {
    let g = Genkit::builder().build().await.unwrap();
    let add = g.define_flow_with(FlowOptions::new("add").description("adds"), |s: Sum, _cx: ActionCx<()>| async move {
        Ok(s.a + s.b)
    });
    assert_eq!(add.run(Sum { a: 2, b: 3 }).await.unwrap(), 5);
    let r = g.run_action("/flow/add", json!({"a": 1, "b": 1}), RunOptions::new()).await.unwrap();
    assert_eq!(r.result, json!(2));
    let meta = add.metadata();
    assert_eq!(meta.description.as_deref(), Some("adds"));
    assert_eq!(meta.input_schema.as_ref().unwrap()["properties"]["a"]["type"], "integer");

    let words = g.define_streaming_flow("words", |text: String, cx: ActionCx<String>| async move {
        for w in text.split_whitespace() {
            cx.send_chunk(w.to_owned());
        }
        Ok(text.split_whitespace().count())
    });
    let mut s = g.stream_action("/flow/words", json!("a b c"), RunOptions::new()).await.unwrap();
    let mut got = Vec::new();
    while let Some(c) = s.next().await {
        got.push(c.unwrap());
    }
    assert_eq!(got, vec![json!("a"), json!("b"), json!("c")]);
    assert_eq!(s.output().await.unwrap(), json!(3));
    assert_eq!(words.metadata().stream_schema.as_ref().unwrap()["type"], "string");

    let e = g.run_action("/flow/missing", json!(null), RunOptions::new()).await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    let e = g.run_action("not-a-key", json!(null), RunOptions::new()).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    let names: Vec<String> = g.flows().iter().map(|f| f.name().to_owned()).collect();
    assert_eq!(names, vec!["add", "words"]);
}

#[tokio::test]
async fn flows_see_builder_context_and_call_context() {
    let g = Genkit::builder().context(ActionContext::new().with("app", json!("demo"))).build().await.unwrap();
    let f = g.define_flow("ctx", |_: (), cx| async move { Ok(Value::Object(cx.context().as_map().clone())) });
    assert_eq!(f.run(()).await.unwrap(), json!({"app": "demo"}));
    let cx = ActionContext::new().with("auth", json!({"uid": "u"}));
    let r = f.run_with((), RunOptions::new().context(cx)).await.unwrap();
    assert_eq!(r.result, json!({"app": "demo", "auth": {"uid": "u"}}));
}

#[tokio::test]
async fn steps_record_input_and_output() {
    let exp = InMemorySpanExporter::default();
    let g = Genkit::builder().span_processor(SimpleSpanProcessor::new(exp.clone())).build().await.unwrap();
    let g2 = g.clone();
    let f = g.define_flow("steps", move |n: u32, _cx| {
        let g = g2.clone();
        async move { g.run_with_input("double", n, |n| async move { Ok(n * 2) }).await }
    });
    assert_eq!(f.run(21).await.unwrap(), 42);
    let spans = exp.get_finished_spans().unwrap();
    let step = spans.iter().find(|s| s.name == "double").unwrap();
    let get = |k: &str| step.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
    assert_eq!(get("genkit:input").as_deref(), Some("21"));
    assert_eq!(get("genkit:output").as_deref(), Some("42"));
    assert_eq!(get("genkit:type").as_deref(), Some("flowStep"));
    g.flush_tracing().unwrap();
}

struct Tools;

impl Plugin for Tools {
    fn name(&self) -> &str {
        "tools"
    }
    async fn init(&self) -> genkit::Result<Vec<Arc<dyn genkit::Action>>> {
        let upper = genkit::ActionDef::builder(ActionType::Tool, "upper")
            .build(|s: String, _cx: ActionCx<()>| async move { Ok(s.to_uppercase()) });
        Ok(vec![upper.as_action()])
    }
}

#[tokio::test]
async fn builder_registers_plugins_default_model_and_schemas() {
    let g = Genkit::builder().plugin(Tools).default_model("tools/model").build().await.unwrap();
    let r = g.run_action("/tool/tools/upper", json!("x"), RunOptions::new()).await.unwrap();
    assert_eq!(r.result, json!("X"));
    assert_eq!(g.default_model(), Some("tools/model"));
    let v = g.registry().lookup_value("defaultModel", "defaultModel").await.unwrap().unwrap();
    assert_eq!(v.json(), Some(&json!("tools/model")));
    let s = g.define_schema_for::<Sum>("Sum").unwrap();
    assert_eq!(g.registry().require_schema("Sum").unwrap(), s);
    assert_eq!(g.define_json_schema("Sum", json!({})).unwrap_err().status(), Status::AlreadyExists);
    let e = Genkit::builder().plugin(Tools).plugin(Tools).build().await.unwrap_err();
    assert_eq!(e.status(), Status::AlreadyExists);
}

#[tokio::test]
async fn defining_a_flow_inside_a_flow_panics_with_failed_precondition() {
    let g = Genkit::builder().build().await.unwrap();
    let g2 = g.clone();
    let f = g.define_flow("definer", move |_: (), _cx| {
        let g = g2.clone();
        async move {
            let late = genkit::ActionDef::builder(ActionType::Tool, "late2")
                .build(|_: (), _cx: ActionCx<()>| async move { Ok(()) })
                .as_action();
            let e = g.try_register(late).unwrap_err();
            assert_eq!(e.status(), Status::FailedPrecondition);
            let h = tokio::spawn(genkit::genkit_core::propagate(async move {
                g.define_flow("late", |_: (), _cx| async move { Ok(()) });
            }));
            let msg = match h.await {
                Err(e) if e.is_panic() => {
                    let p = e.into_panic();
                    p.downcast_ref::<String>().cloned().unwrap_or_default()
                }
                _ => String::new(),
            };
            Ok(msg)
        }
    });
    let msg = f.run(()).await.unwrap();
    assert!(msg.starts_with("FAILED_PRECONDITION: Cannot define new actions at runtime"), "{msg}");
}

#[tokio::test]
async fn bidi_flows_stream_both_ways_and_record_init() {
    use genkit::genkit_core::InputStream;
    let exp = InMemorySpanExporter::default();
    let g = Genkit::builder().span_processor(SimpleSpanProcessor::new(exp.clone())).build().await.unwrap();
    let init_schema = json!({"type": "object", "properties": {"prefix": {"type": "string"}}, "required": ["prefix"]});
    let chat = g.define_bidi_flow(
        FlowOptions::new("chat").init_schema(init_schema.clone()),
        |mut inputs: InputStream<String>, cx: ActionCx<String>| async move {
            let prefix = cx.init().and_then(|i| i["prefix"].as_str()).unwrap_or_default().to_owned();
            let mut seen = Vec::new();
            while let Some(i) = inputs.next().await {
                let i = i?;
                cx.send_chunk(format!("{prefix}{i}"));
                seen.push(i);
            }
            Ok(seen.join(","))
        },
    );
    // The metadata marks it bidirectional, on the handle and in the registry.
    assert_eq!(chat.metadata().metadata_value("bidi"), Some(&json!(true)));
    assert_eq!(chat.metadata().init_schema.as_ref(), Some(&init_schema));
    let registered = g.lookup_action("/flow/chat").await.unwrap().unwrap();
    assert_eq!(registered.metadata().metadata_value("bidi"), Some(&json!(true)));
    assert_eq!(registered.metadata().action_type, ActionType::Flow);
    assert!(g.flows().iter().any(|f| f.key() == "/flow/chat"));

    // Inputs in, chunks out, interleaved; then the output.
    let mut call = chat.stream_bidi(RunOptions::new().init(json!({"prefix": "> "})));
    call.send("hi".into()).unwrap();
    assert_eq!(call.next().await.unwrap().unwrap(), "> hi");
    call.send("there".into()).unwrap();
    assert_eq!(call.next().await.unwrap().unwrap(), "> there");
    call.close();
    assert_eq!(call.send("late".into()).unwrap_err().status(), Status::FailedPrecondition);
    assert_eq!(call.output().await.unwrap(), "hi,there");

    // The span is the flow's, with the init recorded.
    let spans = exp.get_finished_spans().unwrap();
    let span = spans.iter().find(|s| s.name == "chat").unwrap();
    let get = |k: &str| span.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
    assert_eq!(get("genkit:init").as_deref(), Some(r#"{"prefix":"> "}"#));
    assert_eq!(get("genkit:metadata:subtype").as_deref(), Some("flow"));
    assert_eq!(get("genkit:state").as_deref(), Some("success"));

    // An init the schema rejects fails the run with INVALID_ARGUMENT.
    let bad = chat.stream_bidi(RunOptions::new().init(json!({"prefix": 1})));
    assert_eq!(bad.output().await.unwrap_err().status(), Status::InvalidArgument);
    // By name with JSON, the bidi path works too.
    let items = futures::stream::iter(vec![json!("a"), json!("b")]).boxed();
    let r = registered.run_bidi_json(items, RunOptions::new().init(json!({"prefix": ""}))).await.unwrap();
    assert_eq!(r.result, json!("a,b"));
    g.flush_tracing().unwrap();
}

#[tokio::test]
async fn steps_outside_flows_are_root_spans_of_the_instance() {
    let exp = InMemorySpanExporter::default();
    let g = Genkit::builder().span_processor(SimpleSpanProcessor::new(exp.clone())).build().await.unwrap();
    let n = g.run("outline", async { Ok(3) }).await.unwrap();
    let m = g.run_with_input("double", n, |n| async move { Ok(n * 2) }).await.unwrap();
    assert_eq!(m, 6);
    let spans = exp.get_finished_spans().unwrap();
    let attr = |name: &str, key: &str| {
        let s = spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name}"));
        s.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string())
    };
    assert_eq!(attr("outline", "genkit:type").as_deref(), Some("flowStep"));
    assert_eq!(attr("outline", "genkit:isRoot").as_deref(), Some("true"));
    assert_eq!(attr("double", "genkit:input").as_deref(), Some("3"));
    assert_eq!(attr("double", "genkit:output").as_deref(), Some("6"));
}

#[tokio::test]
async fn tools_get_a_tool_v2_companion() {
    let g = Genkit::builder().build().await.unwrap();
    g.define_tool(genkit::ToolConfig::new("add", "adds"), |s: Sum, _cx| async move { Ok(s.a + s.b) });
    let v1 = g.run_action("/tool/add", json!({"a": 2, "b": 3}), RunOptions::new()).await.unwrap();
    assert_eq!(v1.result, json!(5));
    let v2 = g.lookup_action("/tool.v2/add").await.unwrap().expect("the /tool.v2/ companion is registered");
    assert_eq!(v2.metadata().metadata.as_ref().and_then(|m| m.get("type")), Some(&json!("tool.v2")));
    let out = g.run_action("/tool.v2/add", json!({"a": 2, "b": 3}), RunOptions::new()).await.unwrap();
    assert_eq!(out.result, json!({"output": 5}));
}

/// A plugin contributing a generate middleware (JS plugin v2 `middleware()`).
struct Tagging(Arc<std::sync::atomic::AtomicUsize>);

struct NoOp;
impl genkit::middleware::Middleware for NoOp {}

impl Plugin for Tagging {
    fn name(&self) -> &str {
        "tagging"
    }
    async fn values(&self) -> genkit::Result<Vec<genkit::PluginValue>> {
        let made = self.0.clone();
        let def = Arc::new(genkit::middleware::MiddlewareDef::new("tagger", move |_init| {
            made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(NoOp)
        }));
        Ok(vec![def.plugin_value()])
    }
}

#[tokio::test]
async fn plugins_contribute_middleware_usable_by_name() {
    let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let g = Genkit::builder().plugin(Tagging(made.clone())).build().await.unwrap();
    g.register(genkit::ai::model::testing::echo_model("echo").as_action());
    let listed: Vec<String> = g.registry().list_values("middleware").await.unwrap().into_keys().collect();
    assert!(listed.contains(&"tagger".to_owned()), "{listed:?}");
    let out = g
        .run_action(
            "/util/generate",
            json!({"model": "echo", "messages": [{"role": "user", "content": [{"text": "hi"}]}], "use": [{"name": "tagger"}]}),
            RunOptions::new(),
        )
        .await
        .unwrap();
    assert!(out.result["message"]["content"][0]["text"].as_str().unwrap().starts_with("Echo: hi"));
    assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 1, "instantiated once for the call");
}
