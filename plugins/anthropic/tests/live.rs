//! Opt-in tests against the live Anthropic API. Ignored by default; run with
//! `ANTHROPIC_API_KEY=… cargo test -p genkit-anthropic --test live -- --ignored`. A test run
//! without the key fails and names the variable, so a live run never passes by accident.

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::{FinishReason, GenerateOptions, Message, ModelRequest};
use genkit_anthropic::Anthropic;
use genkit_core::Registry;
use serde_json::json;

fn key() -> String {
    std::env::var("ANTHROPIC_API_KEY")
        .ok()
        .filter(|v| !v.is_empty())
        .expect("ANTHROPIC_API_KEY is not set: this live test calls the real API; set the key or run another test")
}

fn registry() -> Registry {
    key();
    let r = Registry::new();
    r.register_plugin(Arc::new(Anthropic::new())).unwrap();
    r
}

#[tokio::test]
#[ignore = "calls the live Anthropic API; needs ANTHROPIC_API_KEY"]
async fn anthropic_live_messages_stream_and_thinking() {
    let r = registry();
    let model = "anthropic/claude-haiku-4-5";
    let resp = generate(
        &r,
        GenerateOptions::new()
            .model(model)
            .prompt("Reply with the single word: pong")
            .config(json!({"temperature": 0})),
    )
    .await
    .unwrap();
    assert!(resp.text().to_lowercase().contains("pong"), "{}", resp.text());
    assert_eq!(resp.finish_reason, Some(FinishReason::Stop));
    let mut s = generate_stream(&r, GenerateOptions::new().model(model).prompt("Count from 1 to 5, comma separated."));
    let mut text = String::new();
    while let Some(c) = s.next().await {
        text.push_str(&c.unwrap().text());
    }
    assert!(text.contains('3'), "{text}");
    let thought = generate(
        &r,
        GenerateOptions::new()
            .model("anthropic/claude-sonnet-4-5")
            .prompt("Is 1001 prime? Answer yes or no.")
            .config(json!({"thinking": {"enabled": true, "budgetTokens": 1024}})),
    )
    .await
    .unwrap();
    let parts = thought.message().unwrap().content.clone();
    assert!(parts.iter().any(|p| p.reasoning.is_some() && p.metadata_value("thoughtSignature").is_some()), "{parts:?}");
}

#[tokio::test]
#[ignore = "calls the live Anthropic API; needs ANTHROPIC_API_KEY"]
async fn anthropic_live_count_tokens() {
    key();
    let n = Anthropic::new()
        .count_tokens(
            "claude-haiku-4-5",
            &ModelRequest { messages: vec![Message::user("Hello, Claude")], ..ModelRequest::default() },
        )
        .await
        .unwrap();
    assert!(n > 0);
}
