//! Constrained decoding with the real model: structured output (json, array, enum, jsonl),
//! custom grammars, tool calls and the tool loop, streaming and cancellation under a grammar.

use std::sync::{Arc, OnceLock};

use futures::StreamExt;
use genkit_ai::generate::generate;
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

/// A nested schema whose every value is bounded (string lengths, integer range, array length),
/// so any output the grammar allows fits in the token budget.
fn nested_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 8},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
            "home": {
                "type": "object",
                "properties": {"city": {"type": "string", "maxLength": 8}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                "required": ["city", "zip"]
            }
        },
        "required": ["name", "age", "home"]
    })
}

/// 200 sampled runs (temperature 1, seeds 0..200) of structured output with a nested schema:
/// every one finishes and validates. The prompt is the same for all, so the prefix cache
/// evaluates it once; each run generates about 30 tokens (a few minutes in all on one core).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_seeded_runs_of_a_nested_schema_all_validate() {
    let schema = nested_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let m = model().await;
    for seed in 0..200u64 {
        let req = json!({
            "messages": [{"role": "user", "content": [{"text": "Make up a person."}]}],
            "output": {"format": "json", "schema": schema, "constrained": true},
            "config": {"maxOutputTokens": 80, "temperature": 1.0, "seed": seed}
        });
        let r = m.run_json(req, RunOptions::default()).await.unwrap().result;
        let text = r["message"]["content"][0]["text"].as_str().unwrap();
        assert_eq!(r["finishReason"], json!("stop"), "seed {seed}: {r}");
        let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("seed {seed}: {e}: {text}"));
        assert!(validator.is_valid(&v), "seed {seed}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefix_cache_reuses_the_system_prompt_and_the_previous_turn() {
    // A registry of its own, so other tests' prompts do not warm its cache.
    let r = Registry::new();
    r.register_plugin(Arc::new(Local::new())).unwrap();
    let system = "You are a helpful assistant who answers in one short sentence. You like geography.";
    let ask = |q: &str| {
        json!({
            "messages": [{"role": "system", "content": [{"text": system}]}, {"role": "user", "content": [{"text": q}]}],
            "config": {"maxOutputTokens": 12}
        })
    };
    let m = r.lookup_action(&format!("/model/{SMOLLM2_135M}")).await.unwrap().unwrap();
    let first = m.run_json(ask("What is the capital of France?"), RunOptions::default()).await.unwrap().result;
    assert!(first["usage"]["cachedContentTokens"].is_null(), "{first}");
    let second = m.run_json(ask("What is the capital of Italy?"), RunOptions::default()).await.unwrap().result;
    let cached = second["usage"]["cachedContentTokens"].as_f64().unwrap();
    let input = second["usage"]["inputTokens"].as_f64().unwrap();
    assert!(cached > 15.0 && cached < input, "the system prompt is reused: {second}");

    // The next turn of the conversation starts from the state the first answer left.
    let answer = first["message"]["content"][0]["text"].as_str().unwrap();
    let mut next = ask("What is the capital of France?");
    next["messages"].as_array_mut().unwrap().extend([
        json!({"role": "model", "content": [{"text": answer}]}),
        json!({"role": "user", "content": [{"text": "And of Spain?"}]}),
    ]);
    let third = m.run_json(next, RunOptions::default()).await.unwrap().result;
    let first_total = first["usage"]["totalTokens"].as_f64().unwrap();
    assert!(third["usage"]["cachedContentTokens"].as_f64().unwrap() >= first_total - 1.0, "{first} {third}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefix_cache_does_not_change_greedy_answers() {
    let cold = Registry::new();
    cold.register_plugin(Arc::new(
        Local::empty().model(genkit_local::LocalChatModel::smollm2_135m().prefix_cache_tokens(0)),
    ))
    .unwrap();
    let system = "You are a pirate. Always say 'Arr'.";
    let opts = |q: &str| {
        GenerateOptions::new().model(SMOLLM2_135M).system(system).prompt(q).config(json!({"maxOutputTokens": 16}))
    };
    for q in ["Who are you?", "Where is your ship?"] {
        let warm = generate(&registry(), opts(q)).await.unwrap();
        let c = generate(&cold, opts(q)).await.unwrap();
        assert_eq!(warm.text(), c.text());
        assert!(c.usage.clone().unwrap().cached_content_tokens.is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_model_and_progress_together() {
    let ask =
        |q: &str| json!({"messages": [{"role": "user", "content": [{"text": q}]}], "config": {"maxOutputTokens": 24}});
    let m = model().await;
    let alone = m.run_json(ask("Write a short poem about rain."), RunOptions::default()).await.unwrap().result;
    // Two streams at once: both produce their first chunk before either finishes.
    let mut a = m.stream_json(ask("Write a short poem about rain."), RunOptions::default());
    let mut b = m.stream_json(ask("Write a short poem about snow."), RunOptions::default());
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (oa, ob) = (order.clone(), order.clone());
    let ta = async move {
        let mut n = 0;
        while let Some(c) = a.next().await {
            c.unwrap();
            n += 1;
            oa.lock().unwrap().push(('a', n));
        }
        a.output().await.unwrap()
    };
    let tb = async move {
        let mut n = 0;
        while let Some(c) = b.next().await {
            c.unwrap();
            n += 1;
            ob.lock().unwrap().push(('b', n));
        }
        b.output().await.unwrap()
    };
    let (ra, _rb) = tokio::join!(ta, tb);
    // Same answer as alone (each request has its own state).
    assert_eq!(ra["message"], alone["message"]);
    let order = order.lock().unwrap().clone();
    let last_a = order.iter().rposition(|(s, _)| *s == 'a').unwrap();
    let first_b = order.iter().position(|(s, _)| *s == 'b').unwrap();
    let last_b = order.iter().rposition(|(s, _)| *s == 'b').unwrap();
    let first_a = order.iter().position(|(s, _)| *s == 'a').unwrap();
    assert!(first_b < last_a && first_a < last_b, "interleaved: {order:?}");
}
