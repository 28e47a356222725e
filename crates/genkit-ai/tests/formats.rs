//! Output formats (`json`, `array`, `text`, `enum`, `jsonl`, custom formats) and structured
//! output through `generate`.

use futures::StreamExt;
use genkit_ai::ModelResponseChunk;
use genkit_ai::format::{ChunkView, FormatConfig, builtin_format, define_format, inject_instructions};
use genkit_ai::generate::{define_generate_action, generate, generate_data, generate_data_stream, generate_stream};
use genkit_ai::model::testing::ProgrammableModel;
use genkit_ai::{
    Constrained, FinishReason, GenerateOptions, Instructions, Message, ModelOptions, ModelResponse, ModelSupports,
    OutputOptions, Part, Role,
};
use genkit_core::{Registry, Status};
use serde::Deserialize;
use serde_json::{Value, json};

fn setup(supports: Option<ModelSupports>) -> (Registry, ProgrammableModel) {
    let reg = Registry::new();
    let pm = match supports {
        Some(s) => ProgrammableModel::with_options(ModelOptions::new("m").supports(s)),
        None => ProgrammableModel::with_options(ModelOptions::new("m")),
    };
    reg.register_action(pm.action().as_action()).unwrap();
    define_generate_action(&reg).unwrap();
    (reg, pm)
}

fn reply(text: &str) -> ModelResponse {
    ModelResponse { message: Some(Message::model(text)), finish_reason: Some(FinishReason::Stop), ..Default::default() }
}

const SCHEMA: &str = r#"{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}"#;

fn schema() -> Value {
    serde_json::from_str(SCHEMA).unwrap()
}

#[test]
fn instruction_texts_are_exact() {
    let s = schema();
    let json_i = builtin_format("json").unwrap().handler(Some(&s)).unwrap().instructions().unwrap();
    assert_eq!(
        json_i,
        format!("Output should be in JSON format and conform to the following schema:\n\n```\n{SCHEMA}\n```\n")
    );
    let arr = json!({"type": "array", "items": {"type": "object"}});
    let a = builtin_format("array").unwrap().handler(Some(&arr)).unwrap().instructions().unwrap();
    assert_eq!(
        a,
        "Output should be a JSON array conforming to the following schema:\n    \n```\n{\"type\":\"array\",\"items\":{\"type\":\"object\"}}\n```\n    "
    );
    let l = builtin_format("jsonl").unwrap().handler(Some(&arr)).unwrap().instructions().unwrap();
    assert_eq!(
        l,
        "Output should be JSONL format, a sequence of JSON objects (one per line) separated by a newline `\\n` character. Each line should be a JSON object conforming to the following schema:\n\n```\n{\"type\":\"object\"}\n```\n    "
    );
    let e = builtin_format("enum").unwrap().handler(Some(&json!({"type": "string", "enum": ["a", "b"]}))).unwrap();
    assert_eq!(
        e.instructions().unwrap(),
        "Output should be ONLY one of the following enum values. Do not output any additional information or add quotes.\n\na\nb"
    );
    assert!(builtin_format("text").unwrap().handler(None).unwrap().instructions().is_none());
}

#[test]
fn schema_requirements_are_enforced() {
    let obj = json!({"type": "object"});
    for (name, msg) in [
        ("array", "Must supply an 'array' schema type when using the 'items' parser format."),
        ("enum", "Must supply a 'string' or 'enum' schema type when using the enum parser format."),
        ("jsonl", "Must supply an 'array' schema type containing 'object' items when using the 'jsonl' parser format."),
    ] {
        let err = builtin_format(name).unwrap().handler(Some(&obj)).err().unwrap();
        assert_eq!((err.status(), err.message()), (Status::InvalidArgument, msg));
    }
}

#[test]
fn parsers_follow_js() {
    let m = |t: &str| Message::model(t);
    let json_h = builtin_format("json").unwrap().handler(None).unwrap();
    assert_eq!(json_h.parse_message(&m("Here:\n```json\n{\"a\": 1,}\n```")), Some(json!({"a": 1})));
    let arr = builtin_format("array").unwrap().handler(None).unwrap();
    assert_eq!(arr.parse_message(&m("[{\"a\":1},{\"b\":2}]")), Some(json!([{"a": 1}, {"b": 2}])));
    let en = builtin_format("enum").unwrap().handler(None).unwrap();
    assert_eq!(en.parse_message(&m(" 'RED'\n")), Some(json!("RED")));
    let jl = builtin_format("jsonl").unwrap().handler(None).unwrap();
    assert_eq!(jl.parse_message(&m("{\"a\":1}\nnot json\n{\"b\":2}")), Some(json!([{"a": 1}, {"b": 2}])));

    // streaming: array yields only newly completed items; jsonl only complete new lines
    let chunk = |t: &str| ModelResponseChunk::new(vec![Part::text(t)]);
    let c1 = chunk("[{\"a\":1},{\"b\"");
    let c2 = chunk(":2},{\"c\":3}]");
    assert_eq!(
        arr.parse_chunk(ChunkView { chunk: &c1, previous_text: "", has_previous: false }),
        Some(json!([{"a": 1}]))
    );
    assert_eq!(
        arr.parse_chunk(ChunkView { chunk: &c2, previous_text: "[{\"a\":1},{\"b\"", has_previous: true }),
        Some(json!([{"b": 2}, {"c": 3}]))
    );
    let l1 = chunk("{\"a\":1}\n{\"b\":");
    let l2 = chunk("2}\n");
    assert_eq!(
        jl.parse_chunk(ChunkView { chunk: &l1, previous_text: "", has_previous: false }),
        Some(json!([{"a": 1}]))
    );
    assert_eq!(
        jl.parse_chunk(ChunkView { chunk: &l2, previous_text: "{\"a\":1}\n{\"b\":", has_previous: true }),
        Some(json!([{"b": 2}]))
    );
    // json chunks parse the accumulated (partial) text
    let j = chunk("ame\": \"Ad");
    assert_eq!(
        json_h.parse_chunk(ChunkView { chunk: &j, previous_text: "{\"n", has_previous: true }),
        Some(json!({"name": "Ad"}))
    );
}

#[test]
fn inject_instructions_targets_system_then_last_user() {
    let mut msgs = vec![Message::user("a"), Message::system("s"), Message::user("b")];
    inject_instructions(&mut msgs, Some("OUT"));
    assert_eq!(msgs[1].content.len(), 2);
    assert_eq!(msgs[1].content[1].metadata_value("purpose"), Some(&json!("output")));
    // already present: no-op
    inject_instructions(&mut msgs, Some("AGAIN"));
    assert_eq!(msgs[1].content.len(), 2);
    let mut msgs = vec![Message::user("a"), Message::model("x"), Message::user("b")];
    inject_instructions(&mut msgs, Some("OUT"));
    assert_eq!(msgs[2].content[1].text.as_deref(), Some("OUT"));
    // a pending placeholder at index > 0 is replaced
    let placeholder = Part::text("").with_metadata("purpose", json!("output")).with_metadata("pending", json!(true));
    let mut msgs = vec![Message::new(Role::User, vec![Part::text("q"), placeholder])];
    inject_instructions(&mut msgs, Some("OUT"));
    assert_eq!(msgs[0].content.len(), 2);
    assert_eq!(msgs[0].content[1].text.as_deref(), Some("OUT"));
}

#[tokio::test]
async fn schema_on_a_model_without_constrained_support_injects_instructions() {
    let (reg, pm) = setup(None);
    pm.respond(reply("{\"name\": \"Ada\"}"));
    let resp = generate(
        &reg,
        GenerateOptions::new().model("m").prompt("who?").output(OutputOptions::default().with_schema(schema())),
    )
    .await
    .unwrap();
    let req = pm.last_request().unwrap();
    assert_eq!(serde_json::to_value(&req.output).unwrap(), json!({"constrained": false}));
    let injected = req.messages[0].content.last().unwrap();
    assert_eq!(injected.metadata_value("purpose"), Some(&json!("output")));
    assert!(injected.text.as_ref().unwrap().starts_with("Output should be in JSON format"));
    // history keeps the user's message without the simulated instructions
    assert_eq!(resp.request.as_ref().unwrap().messages[0].content.len(), 1);
    assert_eq!(resp.output(), Some(json!({"name": "Ada"})));
    assert_eq!(
        resp.message.as_ref().unwrap().metadata.as_ref().unwrap()["generate"],
        json!({"output": {"contentType": "application/json", "format": "json"}})
    );
}

#[tokio::test]
async fn native_constrained_models_see_the_schema() {
    let (reg, pm) = setup(Some(ModelSupports { constrained: Some(Constrained::All), ..Default::default() }));
    pm.respond(reply("{\"name\": \"Ada\"}"));
    generate(
        &reg,
        GenerateOptions::new().model("m").prompt("who?").output(OutputOptions::default().with_schema(schema())),
    )
    .await
    .unwrap();
    let req = pm.last_request().unwrap();
    assert_eq!(
        serde_json::to_value(&req.output).unwrap(),
        json!({"constrained": true, "contentType": "application/json", "format": "json", "schema": schema()})
    );
    assert_eq!(req.messages[0].content.len(), 1);
}

#[tokio::test]
async fn constrained_false_means_no_instructions() {
    let (reg, pm) = setup(None);
    pm.respond(reply("{\"name\": \"Ada\"}"));
    let out = OutputOptions { schema: Some(schema()), constrained: Some(false), ..Default::default() };
    generate(&reg, GenerateOptions::new().model("m").prompt("who?").output(out)).await.unwrap();
    assert_eq!(pm.last_request().unwrap().messages[0].content.len(), 1);
}

#[tokio::test]
async fn explicit_instructions_are_kept_in_history() {
    let (reg, pm) = setup(None);
    pm.respond(reply("RED"));
    let out = OutputOptions {
        format: Some("enum".into()),
        schema: Some(json!({"type": "string", "enum": ["RED", "BLUE"]})),
        ..Default::default()
    };
    let resp = generate(&reg, GenerateOptions::new().model("m").prompt("color?").output(out)).await.unwrap();
    let hist = &resp.request.as_ref().unwrap().messages[0];
    assert_eq!(hist.content.len(), 2, "enum instructions are injected by the format and kept");
    assert_eq!(resp.output(), Some(json!("RED")));

    let (reg, pm) = setup(None);
    pm.respond(reply("{}"));
    let out = OutputOptions { instructions: Some(Instructions::Custom("Reply with {}".into())), ..Default::default() };
    generate(
        &reg,
        GenerateOptions::new().model("m").prompt("x").output(OutputOptions { format: Some("json".into()), ..out }),
    )
    .await
    .unwrap();
    assert_eq!(pm.last_request().unwrap().messages[0].content[1].text.as_deref(), Some("Reply with {}"));
}

#[tokio::test]
async fn schema_mismatch_is_invalid_argument() {
    let (reg, pm) = setup(None);
    pm.respond(reply("{\"nom\": 1}"));
    let err = generate(
        &reg,
        GenerateOptions::new().model("m").prompt("x").output(OutputOptions::default().with_schema(schema())),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("must have required property 'name'"), "{}", err.message());
}

#[derive(Debug, Deserialize, schemars::JsonSchema, PartialEq)]
struct Person {
    name: String,
    age: u32,
}

#[tokio::test]
async fn generate_data_returns_typed_output() {
    let (reg, pm) = setup(None);
    pm.respond(reply("```json\n{\"name\": \"Ada\", \"age\": 36}\n```"));
    let p: Person = generate_data(&reg, GenerateOptions::new().model("m").prompt("who?")).await.unwrap();
    assert_eq!(p, Person { name: "Ada".into(), age: 36 });
    let schema = pm.last_request().unwrap().messages[0].content[1].text.clone().unwrap();
    assert!(schema.contains("\"required\":[\"name\",\"age\"]"), "{schema}");
}

#[tokio::test]
async fn generate_data_stream_yields_partial_output() {
    let (reg, pm) = setup(None);
    let ch = |t: &str| ModelResponseChunk::new(vec![Part::text(t)]);
    pm.respond_streaming(
        vec![ch("{\"name\": \"A"), ch("da\", \"ag"), ch("e\": 36}")],
        reply("{\"name\": \"Ada\", \"age\": 36}"),
    );
    let mut s = generate_data_stream::<Person>(&reg, GenerateOptions::new().model("m").prompt("who?"));
    let mut partials = Vec::new();
    let mut typed = Vec::new();
    while let Some(c) = s.next().await {
        let c = c.unwrap();
        partials.push(c.partial.clone().unwrap());
        typed.push(c.data.is_some());
    }
    assert_eq!(partials, [json!({"name": "A"}), json!({"name": "Ada"}), json!({"name": "Ada", "age": 36})]);
    assert_eq!(typed, [false, false, true]);
    assert_eq!(s.output().await.unwrap(), Person { name: "Ada".into(), age: 36 });
}

#[tokio::test]
async fn custom_formats_override_and_parse() {
    let (reg, pm) = setup(None);
    struct Upper;
    impl genkit_ai::format::FormatHandler for Upper {
        fn parse_message(&self, m: &Message) -> Option<Value> {
            Some(Value::String(m.text().to_uppercase()))
        }
        fn instructions(&self) -> Option<String> {
            Some("Answer in lowercase.".into())
        }
    }
    define_format(
        &reg,
        "upper",
        FormatConfig { content_type: Some("text/upper".into()), ..Default::default() },
        |_| Ok(std::sync::Arc::new(Upper)),
    );
    pm.respond(reply("hello"));
    let resp = generate(&reg, GenerateOptions::new().model("m").prompt("x").output(OutputOptions::format("upper")))
        .await
        .unwrap();
    assert_eq!(resp.output(), Some(json!("HELLO")));
    let req = pm.last_request().unwrap();
    assert_eq!(req.messages[0].content[1].text.as_deref(), Some("Answer in lowercase."));
    assert_eq!(req.output.unwrap().content_type.as_deref(), Some("text/upper"));
}

#[tokio::test]
async fn text_streaming_chunk_output() {
    let (reg, pm) = setup(None);
    let ch = |t: &str| ModelResponseChunk::new(vec![Part::text(t)]);
    pm.respond_streaming(vec![ch("a"), ch("b")], reply("ab"));
    let mut s =
        generate_stream(&reg, GenerateOptions::new().model("m").prompt("x").output(OutputOptions::format("text")));
    let mut texts = Vec::new();
    while let Some(c) = s.next().await {
        texts.push(c.unwrap().text());
    }
    assert_eq!(texts, ["a", "b"]);
    assert_eq!(s.output().await.unwrap().output(), Some(json!("ab")));
}
