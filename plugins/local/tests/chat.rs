//! The local chat model with real weights (fetched once into the model cache).

use std::sync::{Arc, OnceLock};

use futures::StreamExt;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::{FinishReason, GenerateOptions};
use genkit_core::{Registry, RunOptions, Status};
use genkit_local::{Local, SMOLLM2_135M};
use serde_json::json;

fn registry() -> Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        let r = Registry::new();
        r.register_plugin(Arc::new(Local::new())).unwrap();
        r
    })
    .clone()
}

fn ask(prompt: &str, config: serde_json::Value) -> GenerateOptions {
    GenerateOptions::new().model(SMOLLM2_135M).prompt(prompt).config(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_a_simple_factual_question() {
    let r =
        generate(&registry(), ask("What is the capital of France? Answer in one sentence.", json!({}))).await.unwrap();
    assert!(r.text().contains("Paris"), "{}", r.text());
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let usage = r.usage.clone().unwrap();
    assert!(usage.input_tokens.unwrap() > 10.0);
    assert!(usage.output_tokens.unwrap() >= 3.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_chunks_concatenate_to_the_final_text() {
    let mut s = generate_stream(&registry(), ask("Write a short haiku about the sea.", json!({"maxOutputTokens": 40})));
    let mut streamed = String::new();
    let mut chunks = 0;
    while let Some(c) = s.next().await {
        let c = c.unwrap();
        streamed.push_str(&c.text());
        chunks += 1;
    }
    let r = s.output().await.unwrap();
    assert!(chunks > 5, "token-by-token streaming, got {chunks} chunks");
    assert_eq!(streamed, r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respects_max_output_tokens() {
    let r = generate(&registry(), ask("Tell me a long story about a dragon.", json!({"maxOutputTokens": 7})))
        .await
        .unwrap();
    assert_eq!(r.finish_reason, Some(FinishReason::Length));
    assert_eq!(r.usage.clone().unwrap().output_tokens, Some(7.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greedy_is_deterministic_and_stop_sequences_cut_the_output() {
    let cfg = json!({"maxOutputTokens": 30});
    let a = generate(&registry(), ask("Write a short haiku about the sea.", cfg.clone())).await.unwrap().text();
    let b = generate(&registry(), ask("Write a short haiku about the sea.", cfg)).await.unwrap().text();
    assert_eq!(a, b);
    // Stop at a word from the middle of the greedy answer: the output is what came before it.
    let words: Vec<&str> = a.split_whitespace().collect();
    assert!(words.len() > 4, "{a}");
    let stop = format!(" {}", words[3]);
    let cut = a.find(&stop).unwrap();
    let r = generate(
        &registry(),
        ask("Write a short haiku about the sea.", json!({"maxOutputTokens": 30, "stopSequences": [stop]})),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), a[..cut]);
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_with_a_seed_is_reproducible() {
    let cfg = json!({"temperature": 0.9, "topK": 40, "topP": 0.95, "seed": 7, "maxOutputTokens": 16});
    let a = generate(&registry(), ask("Name a color.", cfg.clone())).await.unwrap().text();
    let b = generate(&registry(), ask("Name a color.", cfg)).await.unwrap().text();
    assert_eq!(a, b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_prompt_and_history_go_through_the_chat_template() {
    use genkit_ai::Message;
    let opts = GenerateOptions::new()
        .model(SMOLLM2_135M)
        .system("You are a pirate. Always say 'Arr'.")
        .messages(vec![Message::user("Hello!"), Message::model("Arr, hello!")])
        .prompt("Who are you?")
        .config(json!({"maxOutputTokens": 20}));
    let r = generate(&registry(), opts).await.unwrap();
    assert!(!r.text().is_empty());
    // 4 messages in, the model's answer appended.
    assert_eq!(r.messages().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_stops_generation_between_tokens() {
    let action = registry().lookup_action(&format!("/model/{SMOLLM2_135M}")).await.unwrap().unwrap();
    let token = tokio_util::sync::CancellationToken::new();
    let req = json!({"messages": [{"role": "user", "content": [{"text": "Count from 1 to 100."}]}], "config": {"maxOutputTokens": 400}});
    let t2 = token.clone();
    let mut seen = 0;
    let mut stream = action.stream_json(req, RunOptions::default().cancellation(token.clone()));
    while let Some(c) = stream.next().await {
        if c.is_ok() {
            seen += 1;
            if seen == 3 {
                t2.cancel();
            }
        }
    }
    let err = stream.output().await.unwrap_err();
    assert_eq!(err.status(), Status::Cancelled, "{err}");
    assert!(seen < 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declares_honest_capabilities_and_a_config_schema() {
    let action = registry().lookup_action(&format!("/model/{SMOLLM2_135M}")).await.unwrap().unwrap();
    let md = serde_json::to_value(action.metadata()).unwrap();
    let model = &md["metadata"]["model"];
    assert_eq!(model["supports"]["tools"], json!(true));
    assert_eq!(model["supports"]["toolChoice"], json!(true));
    assert_eq!(model["supports"]["constrained"], json!("all"));
    assert_eq!(model["supports"]["output"], json!(["text", "json", "array", "enum", "jsonl"]));
    assert_eq!(model["supports"]["media"], json!(false));
    assert_eq!(model["supports"]["systemRole"], json!(true));
    assert!(model["customOptions"]["properties"]["maxOutputTokens"].is_object(), "{model}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_config_is_a_clear_error() {
    let e = generate(&registry(), ask("hi", json!({"temperature": "hot"}))).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("invalid config"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_is_constrained_natively_without_instructions() {
    // The model constrains decoding itself: no schema instructions are added to the prompt.
    let action = registry().lookup_action(&format!("/model/{SMOLLM2_135M}")).await.unwrap().unwrap();
    let mut req = json!({
        "messages": [{"role": "user", "content": [{"text": "Which city is the capital of France?"}]}],
        "config": {"maxOutputTokens": 1}
    });
    let plain = action.run_json(req.clone(), RunOptions::default()).await.unwrap().result;
    req["output"] = json!({"format": "json", "constrained": true, "schema": {"type": "object", "properties": {"city": {"type": "string"}}}});
    let with_json = action.run_json(req, RunOptions::default()).await.unwrap().result;
    let tokens = |r: &serde_json::Value| r["usage"]["inputTokens"].as_f64().unwrap();
    assert_eq!(tokens(&with_json), tokens(&plain));
    assert_eq!(with_json["message"]["content"][0]["text"], json!("{"), "{with_json}");
}
