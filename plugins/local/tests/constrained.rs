//! Constrained decoding with the real model: structured output (json, array, enum, jsonl),
//! custom grammars, tool calls and the tool loop, streaming and cancellation under a grammar.

use std::sync::{Arc, OnceLock};

use futures::StreamExt;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::{FinishReason, GenerateOptions, ToolChoice};
use genkit_core::{Registry, RunOptions, Status};
use genkit_local::{Local, SMOLLM2_135M};
use serde_json::{Value, json};

fn registry() -> Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        let r = Registry::new();
        r.register_plugin(Arc::new(Local::new())).unwrap();
        r
    })
    .clone()
}

async fn model() -> Arc<dyn genkit_core::Action> {
    registry().lookup_action(&format!("/model/{SMOLLM2_135M}")).await.unwrap().unwrap()
}

fn validate(schema: &Value, v: &Value) {
    let validator = jsonschema::validator_for(schema).unwrap();
    if let Err(e) = validator.validate(v) {
        panic!("{v} does not validate against {schema}: {e}");
    }
}

fn profile_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "number"}},
        "required": ["name", "age"]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_output_parses_and_validates() {
    let schema = profile_schema();
    let req = json!({
        "messages": [{"role": "user", "content": [{"text": "Generate a profile for John Doe."}]}],
        "output": {"format": "json", "schema": schema, "constrained": true},
        "config": {"maxOutputTokens": 60}
    });
    let r = model().await.run_json(req, RunOptions::default()).await.unwrap().result;
    let text = r["message"]["content"][0]["text"].as_str().unwrap().to_owned();
    eprintln!("structured: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    validate(&schema, &v);
    assert_eq!(r["finishReason"], json!("stop"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_call_is_decoded_into_a_tool_request() {
    let req = json!({
        "messages": [{"role": "user", "content": [{"text": "What is the weather in New York? Use the tool."}]}],
        "tools": [{"name": "weather", "description": "Get the weather for a city",
                   "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
        "toolChoice": "required",
        "config": {"maxOutputTokens": 60}
    });
    let r = model().await.run_json(req, RunOptions::default()).await.unwrap().result;
    let tr = &r["message"]["content"][0]["toolRequest"];
    assert_eq!(tr["name"], json!("weather"), "{r}");
    assert!(tr["input"]["city"].is_string(), "{r}");
    assert_eq!(r["message"]["content"].as_array().unwrap().len(), 1, "{r}");
}

fn weather_tool() -> Value {
    json!({"name": "weather", "description": "Get the weather for a city",
           "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_choice_none_gives_text_and_auto_text_never_looks_like_a_call() {
    for choice in ["none", "auto"] {
        let req = json!({
            "messages": [{"role": "user", "content": [{"text": "Say hello."}]}],
            "tools": [weather_tool()],
            "toolChoice": choice,
            "config": {"maxOutputTokens": 12}
        });
        let r = model().await.run_json(req, RunOptions::default()).await.unwrap().result;
        let text = r["message"]["content"][0]["text"].as_str().unwrap_or_default();
        assert!(!text.is_empty() && !text.starts_with('<'), "{choice}: {r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_tool_call_arrives_as_a_tool_request_chunk() {
    let req = json!({
        "messages": [{"role": "user", "content": [{"text": "What is the weather in New York? Use the weather tool"}]}],
        "tools": [weather_tool()],
        "toolChoice": "required",
        "config": {"maxOutputTokens": 60}
    });
    let mut s = model().await.stream_json(req, RunOptions::default());
    let mut chunks = Vec::new();
    while let Some(c) = s.next().await {
        chunks.push(c.unwrap());
    }
    let r = s.output().await.unwrap();
    assert_eq!(chunks.len(), 1, "one chunk per completed call, no raw markup: {chunks:?}");
    assert_eq!(chunks[0]["content"][0]["toolRequest"]["name"], json!("weather"));
    assert_eq!(chunks[0]["content"][0]["toolRequest"], r["message"]["content"][0]["toolRequest"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn array_enum_and_jsonl_formats_follow_their_grammars() {
    let ask = |output: Value, max: u32| {
        json!({
            "messages": [{"role": "user", "content": [{"text": "List three primary colors."}]}],
            "output": output,
            "config": {"maxOutputTokens": max}
        })
    };
    let text = |r: &Value| r["message"]["content"][0]["text"].as_str().unwrap().to_owned();
    let array = json!({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3});
    let r = model()
        .await
        .run_json(ask(json!({"format": "array", "schema": array, "constrained": true}), 40), RunOptions::default())
        .await
        .unwrap()
        .result;
    validate(&array, &serde_json::from_str(&text(&r)).unwrap());

    let r = model()
        .await
        .run_json(ask(json!({"format": "enum", "schema": {"type": "string", "enum": ["red", "green", "purple"]}, "constrained": true}), 10), RunOptions::default())
        .await
        .unwrap()
        .result;
    assert!(["red", "green", "purple"].contains(&text(&r).as_str()), "{r}");
    assert_eq!(r["finishReason"], json!("stop"));

    let item =
        json!({"type": "object", "properties": {"color": {"type": "string", "maxLength": 12}}, "required": ["color"]});
    let r = model()
        .await
        .run_json(
            ask(json!({"format": "jsonl", "schema": {"type": "array", "items": item}}), 40),
            RunOptions::default(),
        )
        .await
        .unwrap()
        .result;
    let t = text(&r);
    let lines: Vec<&str> = t.lines().collect();
    assert!(!lines.is_empty(), "{r}");
    // The last line may be cut by the token budget; every complete line is a valid object.
    let complete = if r["finishReason"] == json!("stop") { &lines[..] } else { &lines[..lines.len() - 1] };
    for l in complete {
        validate(&item, &serde_json::from_str(l).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_regex_and_lark_grammars_constrain_the_output() {
    let ask = |grammar: Value| {
        json!({
            "messages": [{"role": "user", "content": [{"text": "What is 12 + 7?"}]}],
            "config": {"maxOutputTokens": 8, "grammar": grammar}
        })
    };
    let r = model().await.run_json(ask(json!({"regex": "[0-9]{1,3}"})), RunOptions::default()).await.unwrap().result;
    let t = r["message"]["content"][0]["text"].as_str().unwrap().to_owned();
    assert!(!t.is_empty() && t.len() <= 3 && t.chars().all(|c| c.is_ascii_digit()), "{t}");

    let lark = "start: \"The answer is \" NUM \".\"\nNUM: /[0-9]+/\n";
    let r = model().await.run_json(ask(json!({"lark": lark})), RunOptions::default()).await.unwrap().result;
    let t = r["message"]["content"][0]["text"].as_str().unwrap().to_owned();
    assert!(t.starts_with("The answer is ") && t.ends_with('.'), "{t}");

    let bad = model().await.run_json(ask(json!({"lark": "start: @@@"})), RunOptions::default()).await.unwrap_err();
    assert_eq!(bad.status(), Status::InvalidArgument, "{bad}");
    let both = model()
        .await
        .run_json(ask(json!({"lark": "start: \"a\"", "regex": "a"})), RunOptions::default())
        .await
        .unwrap_err();
    assert_eq!(both.status(), Status::InvalidArgument, "{both}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_output_streams_token_by_token_and_cancels_between_tokens() {
    let schema = json!({"type": "object", "properties": {"review": {"type": "string"}, "rating": {"type": "number"}},
                        "required": ["review", "rating"]});
    let req = json!({
        "messages": [{"role": "user", "content": [{"text": "Generate a movie review for John Wick"}]}],
        "output": {"format": "json", "schema": schema, "constrained": true},
        "config": {"maxOutputTokens": 80}
    });
    let mut s = model().await.stream_json(req.clone(), RunOptions::default());
    let mut streamed = String::new();
    let mut chunks = 0;
    while let Some(c) = s.next().await {
        streamed.push_str(c.unwrap()["content"][0]["text"].as_str().unwrap());
        chunks += 1;
    }
    let r = s.output().await.unwrap();
    assert!(chunks > 5, "token-by-token streaming, got {chunks} chunks");
    assert_eq!(r["message"]["content"][0]["text"].as_str().unwrap(), streamed);
    if r["finishReason"] == json!("stop") {
        validate(&schema, &serde_json::from_str(&streamed).unwrap());
    }

    let token = tokio_util::sync::CancellationToken::new();
    let mut s = model().await.stream_json(req, RunOptions::default().cancellation(token.clone()));
    let mut seen = 0;
    while let Some(c) = s.next().await {
        if c.is_ok() {
            seen += 1;
            if seen == 3 {
                token.cancel();
            }
        }
    }
    let err = s.output().await.unwrap_err();
    assert_eq!(err.status(), Status::Cancelled, "{err}");
    assert!(seen < 10, "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_loop_calls_a_real_tool_and_answers() {
    use genkit_ai::{Message, Part, Role};
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    #[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
    struct City {
        city: String,
    }
    let tool: genkit_ai::Tool<City, String> = genkit_ai::tool::new(
        genkit_ai::ToolConfig::new("weather", "Get the weather for a city"),
        move |input: City, _cx| {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(format!("It is sunny and 21 degrees in {}.", input.city))
            }
        },
    );
    registry().register_action(tool.as_action()).unwrap();
    // One worked example in the history (a 135M model follows examples better than instructions).
    let example = vec![
        Message::user("What is the weather in Paris?"),
        Message::new(
            Role::Model,
            vec![Part::tool_request("weather", Some(json!({"city": "Paris"})), Some("call_0".into()))],
        ),
        Message::new(
            Role::Tool,
            vec![Part::tool_response(
                "weather",
                Some(json!("It is rainy and 12 degrees in Paris.")),
                Some("call_0".into()),
            )],
        ),
        Message::model("It is rainy and 12 degrees in Paris."),
    ];
    let opts = GenerateOptions::new()
        .model(SMOLLM2_135M)
        .messages(example)
        .prompt("What is the weather in London?")
        .tool(&tool)
        .tool_choice(ToolChoice::Auto)
        .config(json!({"maxOutputTokens": 40}));
    let r = generate(&registry(), opts).await.unwrap();
    assert!(calls.load(std::sync::atomic::Ordering::SeqCst) >= 1, "the tool ran");
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    assert!(r.text().contains("sunny"), "the answer uses the tool's result: {}", r.text());
    let msgs = r.messages().unwrap();
    assert!(msgs.iter().any(|m| m.role == Role::Tool), "{msgs:?}");
}
