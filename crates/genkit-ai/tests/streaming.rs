//! Streamed chunks know their turn: `previous_text`, `accumulated_text` and
//! `output` parsed by the request's format; and cancellation reaches the model and the tools
//! (also a tool restarted on resume).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use genkit_ai::ModelResponseChunk;
use genkit_ai::generate::{define_generate_action, generate, generate_stream};
use genkit_ai::model::testing::ProgrammableModel;
use genkit_ai::tool::{self, ToolConfig};
use genkit_ai::{
    FinishReason, GenerateOptions, GenerateResponseChunk, Message, ModelOptions, ModelResponse, OutputOptions, Part,
    ResumeOptions, Role, Tool, model,
};
use genkit_core::{Registry, RunOptions, Status};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn setup(name: &str) -> (Registry, ProgrammableModel) {
    let reg = Registry::new();
    let pm = ProgrammableModel::new(name);
    reg.register_action(pm.action().as_action()).unwrap();
    define_generate_action(&reg).unwrap();
    (reg, pm)
}

fn text_chunk(t: &str) -> ModelResponseChunk {
    ModelResponseChunk::new(vec![Part::text(t)])
}

fn stop(text: &str) -> ModelResponse {
    ModelResponse { message: Some(Message::model(text)), finish_reason: Some(FinishReason::Stop), ..Default::default() }
}

fn tool_call(name: &str, reference: &str) -> ModelResponse {
    ModelResponse {
        message: Some(Message::new(
            Role::Model,
            vec![Part::tool_request(name, Some(json!({})), Some(reference.into()))],
        )),
        ..Default::default()
    }
}

async fn collect(reg: &Registry, opts: GenerateOptions) -> Vec<GenerateResponseChunk> {
    let mut s = generate_stream(reg, opts);
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        out.push(c.unwrap());
    }
    s.output().await.unwrap();
    out
}

fn items_schema() -> Value {
    json!({"type": "array", "items": {"type": "object"}})
}

#[tokio::test]
async fn array_chunks_carry_the_items_completed_in_each_chunk() {
    let (reg, pm) = setup("m");
    pm.respond_streaming(
        vec![text_chunk("[{\"a\": 1},"), text_chunk(" {\"b\": 2}, {\"c\": 3}]")],
        stop("[{\"a\": 1}, {\"b\": 2}, {\"c\": 3}]"),
    );
    let opts = GenerateOptions::new()
        .model("m")
        .prompt("list")
        .output(OutputOptions::format("array").with_schema(items_schema()));
    let chunks = collect(&reg, opts).await;
    let outputs: Vec<Option<Value>> = chunks.iter().map(GenerateResponseChunk::output).collect();
    assert_eq!(outputs, vec![Some(json!([{"a": 1}])), Some(json!([{"b": 2}, {"c": 3}]))]);
}

#[tokio::test]
async fn jsonl_chunks_carry_the_lines_completed_in_each_chunk() {
    let (reg, pm) = setup("m");
    pm.respond_streaming(
        vec![text_chunk("{\"a\": 1}\n{\"b\""), text_chunk(": 2}\n{\"c\": 3}\n")],
        stop("{\"a\": 1}\n{\"b\": 2}\n{\"c\": 3}\n"),
    );
    let opts = GenerateOptions::new()
        .model("m")
        .prompt("list")
        .output(OutputOptions::format("jsonl").with_schema(items_schema()));
    let chunks = collect(&reg, opts).await;
    let outputs: Vec<Option<Value>> = chunks.iter().map(GenerateResponseChunk::output).collect();
    assert_eq!(outputs, vec![Some(json!([{"a": 1}])), Some(json!([{"b": 2}, {"c": 3}]))]);
}

#[tokio::test]
async fn json_chunks_carry_the_partial_document() {
    let (reg, pm) = setup("m");
    pm.respond_streaming(
        vec![text_chunk("```json\n{\"name\": \"Ad"), text_chunk("a\", \"age\": 36}\n```")],
        stop("{\"name\": \"Ada\", \"age\": 36}"),
    );
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "number"}}});
    let chunks = collect(
        &reg,
        GenerateOptions::new()
            .model("m")
            .prompt("who")
            .output(OutputOptions { schema: Some(schema), ..Default::default() }),
    )
    .await;
    assert_eq!(chunks[0].output(), Some(json!({"name": "Ad"})));
    assert_eq!(chunks[1].output(), Some(json!({"name": "Ada", "age": 36})));
}

#[tokio::test]
async fn accumulated_text_restarts_with_each_turn() {
    let (reg, pm) = setup("m");
    let t: Tool<Value, Value> = tool::new(ToolConfig::new("look", "looks"), |_i, _cx| async move { Ok(json!("seen")) });
    reg.register_action(t.as_action()).unwrap();
    pm.respond_streaming(vec![text_chunk("Let me "), text_chunk("look.")], tool_call("look", "1"));
    pm.respond_streaming(vec![text_chunk("Sunny"), text_chunk(" today.")], stop("Sunny today."));
    let chunks = collect(&reg, GenerateOptions::new().model("m").prompt("weather?").tool("look")).await;
    let seen: Vec<(u32, Role, String, String)> = chunks
        .iter()
        .map(|c| (c.index.unwrap(), c.role.unwrap(), c.previous_text().unwrap(), c.accumulated_text().unwrap()))
        .collect();
    let r = |i, role, p: &str, a: &str| (i, role, p.to_owned(), a.to_owned());
    assert_eq!(
        seen,
        vec![
            r(0, Role::Model, "", "Let me "),
            r(0, Role::Model, "Let me ", "Let me look."),
            r(1, Role::Tool, "Let me look.", "Let me look."),
            r(2, Role::Model, "", "Sunny"),
            r(2, Role::Model, "Sunny", "Sunny today."),
        ]
    );
    assert_eq!(chunks[2].origin().previous_chunk_count(), Some(2));
    assert_eq!(chunks[3].origin().previous_chunk_count(), Some(0));
    // The origin is not part of the chunk's value: the wire form and `==` ignore it.
    let wire = serde_json::to_value(&chunks[1]).unwrap();
    assert_eq!(wire, json!({"role": "model", "index": 0, "content": [{"text": "look."}]}));
    let back: GenerateResponseChunk = serde_json::from_value(wire).unwrap();
    assert_eq!(back, chunks[1]);
    assert!(!back.origin().is_streamed());
    // Without its turn a chunk cannot compose accumulated text (JS message and status).
    let err = back.accumulated_text().unwrap_err();
    assert_eq!(err.status(), Status::FailedPrecondition);
    assert_eq!(err.message(), "Cannot compose accumulated text without previous chunks.");
    // …but still parses what it has.
    assert_eq!(GenerateResponseChunk::from(text_chunk("{\"x\": 1}")).output(), Some(json!({"x": 1})));
}

#[tokio::test]
async fn typed_streams_parse_each_turn_on_its_own() {
    #[derive(Debug, serde::Deserialize, schemars::JsonSchema, PartialEq)]
    struct Person {
        name: String,
        age: u32,
    }
    let (reg, pm) = setup("m");
    let t: Tool<Value, Value> = tool::new(ToolConfig::new("look", "looks"), |_i, _cx| async move { Ok(json!("seen")) });
    reg.register_action(t.as_action()).unwrap();
    // The first turn's prose must not leak into the second turn's JSON.
    pm.respond_streaming(vec![text_chunk("{\"note\": \"checking\"}")], tool_call("look", "1"));
    pm.respond_streaming(
        vec![text_chunk("{\"name\": \"Ada\""), text_chunk(", \"age\": 36}")],
        stop("{\"name\": \"Ada\", \"age\": 36}"),
    );
    let mut s = genkit_ai::generate::generate_data_stream::<Person>(
        &reg,
        GenerateOptions::new().model("m").prompt("who").tool("look"),
    );
    let mut partials = Vec::new();
    let mut last = None;
    while let Some(c) = s.next().await {
        let c = c.unwrap();
        partials.push(c.partial.clone());
        last = c.data;
    }
    assert_eq!(partials.last().cloned().flatten(), Some(json!({"name": "Ada", "age": 36})));
    assert_eq!(partials[2], Some(json!({"name": "Ada"})));
    assert_eq!(last, Some(Person { name: "Ada".into(), age: 36 }));
    assert_eq!(s.output().await.unwrap(), Person { name: "Ada".into(), age: 36 });
}

/// A model that waits for the generation's cancellation, records that it saw it, and stops.
fn waiting_model(reg: &Registry, saw: Arc<AtomicBool>) {
    let m = model::new(ModelOptions::new("waits"), move |_req, cx| {
        let saw = saw.clone();
        async move {
            cx.cancellation().cancelled().await;
            saw.store(true, Ordering::SeqCst);
            Err(genkit_core::Error::cancelled("the model stopped"))
        }
    });
    reg.register_action(m.as_action()).unwrap();
}

fn cancel_soon(tok: &CancellationToken) {
    let t = tok.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        t.cancel();
    });
}

/// Lets tasks that observed the cancellation finish recording it.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[tokio::test]
async fn cancelling_a_generation_reaches_the_model() {
    let (reg, _pm) = setup("m");
    let saw = Arc::new(AtomicBool::new(false));
    waiting_model(&reg, saw.clone());
    let tok = CancellationToken::new();
    cancel_soon(&tok);
    let model_task = tokio::spawn({
        let reg = reg.clone();
        async move { generate(&reg, GenerateOptions::new().model("waits").prompt("x").cancellation(tok)).await }
    });
    let err = model_task.await.unwrap().unwrap_err();
    assert_eq!(err.status(), Status::Cancelled);
    settle().await;
    // The model's own token is the generation's token (not only the outer race).
    assert!(saw.load(Ordering::SeqCst), "the model saw the cancellation");
}

#[tokio::test]
async fn cancelling_util_generate_reaches_the_model() {
    let (reg, _pm) = setup("m");
    let saw = Arc::new(AtomicBool::new(false));
    waiting_model(&reg, saw.clone());
    let action = reg.lookup_action("/util/generate").await.unwrap().unwrap();
    let tok = CancellationToken::new();
    cancel_soon(&tok);
    let input = json!({"model": "waits", "messages": [{"role": "user", "content": [{"text": "x"}]}]});
    let err = action.run_json(input, RunOptions::new().cancellation(tok)).await.unwrap_err();
    assert_eq!(err.status(), Status::Cancelled);
    settle().await;
    assert!(saw.load(Ordering::SeqCst), "the model saw the cancellation");
}

/// A tool that waits for cancellation and records that it saw it.
fn waiting_tool(reg: &Registry, name: &str, saw: Arc<AtomicBool>) {
    let t: Tool<Value, Value> = tool::new(ToolConfig::new(name, "waits"), move |_i, cx| {
        let saw = saw.clone();
        async move {
            cx.cancellation().cancelled().await;
            saw.store(true, Ordering::SeqCst);
            Ok(json!("too late"))
        }
    });
    reg.register_action(t.as_action()).unwrap();
}

#[tokio::test]
async fn cancelling_a_generation_reaches_its_tools() {
    let (reg, pm) = setup("m");
    let saw = Arc::new(AtomicBool::new(false));
    waiting_tool(&reg, "slow", saw.clone());
    pm.respond(tool_call("slow", "1"));
    let tok = CancellationToken::new();
    cancel_soon(&tok);
    let err =
        generate(&reg, GenerateOptions::new().model("m").prompt("x").tool("slow").cancellation(tok)).await.unwrap_err();
    assert_eq!(err.status(), Status::Cancelled);
    settle().await;
    assert!(saw.load(Ordering::SeqCst), "the tool saw the cancellation");
}

#[tokio::test]
async fn restarted_tools_get_the_generations_cancellation() {
    let (reg, pm) = setup("m");
    let saw = Arc::new(AtomicBool::new(false));
    waiting_tool(&reg, "slow", saw.clone());
    let history = vec![
        Message::user("x"),
        Message::new(Role::Model, vec![Part::tool_request("slow", Some(json!({})), Some("1".into()))]),
    ];
    pm.respond(stop("done"));
    let restart = Part::tool_request("slow", Some(json!({})), Some("1".into()));
    let tok = CancellationToken::new();
    cancel_soon(&tok);
    let opts = GenerateOptions::new()
        .model("m")
        .messages(history)
        .tool("slow")
        .resume(ResumeOptions { restart: vec![restart], ..Default::default() })
        .cancellation(tok);
    let err = generate(&reg, opts).await.unwrap_err();
    assert_eq!(err.status(), Status::Cancelled);
    settle().await;
    assert!(saw.load(Ordering::SeqCst), "the restarted tool saw the cancellation");
}

/// Each turn opens a span named `step_name` (default `generate`), type `util`.
#[tokio::test]
async fn turns_open_spans_named_after_the_step() {
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};
    let exporter = InMemorySpanExporter::default();
    let telemetry = Arc::new(genkit_core::Telemetry::new());
    telemetry.add_span_processor(SimpleSpanProcessor::new(exporter.clone()));
    let reg = Registry::with_parts(genkit_core::ActionContext::default(), telemetry);
    let pm = ProgrammableModel::new("m");
    reg.register_action(pm.action().as_action()).unwrap();
    let t: Tool<Value, Value> = tool::new(ToolConfig::new("look", "looks"), |_i, _cx| async move { Ok(json!("seen")) });
    reg.register_action(t.as_action()).unwrap();
    pm.respond(tool_call("look", "1"));
    pm.respond(stop("done"));
    generate(&reg, GenerateOptions::new().model("m").prompt("x").tool("look").step_name("plan")).await.unwrap();
    pm.respond(stop("plain"));
    generate(&reg, GenerateOptions::new().model("m").prompt("y")).await.unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let typed = |name: &str| {
        spans
            .iter()
            .filter(|s| s.name == name)
            .map(|s| {
                s.attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == "genkit:type")
                    .map(|kv| kv.value.to_string())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
    };
    // Two turns of the first call (tool round), one of the second.
    assert_eq!(typed("plan"), vec!["util", "util"]);
    assert_eq!(typed("generate"), vec!["util"]);
}

/// Parts as the whole argument; history goes between the system message and the prompt.
#[tokio::test]
async fn parts_and_history_assemble_in_js_order() {
    let (reg, pm) = setup("m");
    pm.respond(stop("ok"));
    let media = Part::media("https://example.com/cat.png", Some("image/png".into()));
    let mut opts = GenerateOptions::from(vec![Part::text("what is this?"), media.clone()]);
    opts = opts.model("m").system("be brief").messages(vec![Message::user("earlier"), Message::model("noted")]);
    let r = generate(&reg, opts).await.unwrap();
    let sent = pm.last_request().unwrap();
    let roles: Vec<Role> = sent.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, vec![Role::System, Role::User, Role::Model, Role::User]);
    assert_eq!(sent.messages[1].text(), "earlier");
    assert_eq!(sent.messages[3].content, vec![Part::text("what is this?"), media]);
    assert_eq!(r.messages().unwrap().len(), 5);
}

/// A failing generation fails the stream and its output alike.
#[tokio::test]
async fn stream_errors_surface_from_the_stream_and_the_output() {
    let (reg, pm) = setup("m");
    pm.respond_streaming(vec![text_chunk("partial")], tool_call("ghost", "1"));
    let mut s = generate_stream(&reg, GenerateOptions::new().model("m").prompt("x").tool("ghost"));
    let mut items = Vec::new();
    while let Some(c) = s.next().await {
        items.push(c.map(|c| c.text()).map_err(|e| e.status()));
    }
    // The unresolvable tool fails before the model is called: no chunk, then the error.
    assert_eq!(items, vec![Err(Status::NotFound)]);
    assert_eq!(s.output().await.unwrap_err().status(), Status::NotFound);

    let bad = model::new(ModelOptions::new("bad"), |_req, cx| async move {
        cx.send_chunk(text_chunk("so far"));
        Err(genkit_core::Error::new(Status::Unavailable, "model down"))
    });
    reg.register_action(bad.as_action()).unwrap();
    let mut s = generate_stream(&reg, GenerateOptions::new().model("bad").prompt("x"));
    let mut items = Vec::new();
    while let Some(c) = s.next().await {
        items.push(c.map(|c| c.text()).map_err(|e| e.status()));
    }
    assert_eq!(items, vec![Ok("so far".to_owned()), Err(Status::Unavailable)]);
    let e = s.output().await.unwrap_err();
    assert_eq!((e.status(), e.message()), (Status::Unavailable, "model down"));
}
