//! Opt-in tests against the live Gemini API. Ignored by default; run with
//! `GEMINI_API_KEY=… cargo test -p genkit-google-genai --test live -- --ignored`. A run without
//! a key fails and names the variable, so a live run never passes by accident.

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::{FinishReason, GenerateOptions};
use genkit_core::Registry;
use genkit_google_genai::{API_KEY_ENV, GoogleAi};
use serde_json::json;

fn registry() -> Registry {
    let has_key = API_KEY_ENV.iter().any(|n| std::env::var(n).is_ok_and(|v| !v.is_empty()));
    assert!(has_key, "GEMINI_API_KEY is not set: this live test calls the real API; set the key or run another test");
    let r = Registry::new();
    r.register_plugin(Arc::new(GoogleAi::new())).unwrap();
    r
}

#[tokio::test]
#[ignore = "calls the live Gemini API; needs GEMINI_API_KEY"]
async fn gemini_live_generate_stream_thinking_and_embed() {
    let r = registry();
    let model = "googleai/gemini-2.5-flash";
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
            .model(model)
            .prompt("Is 1001 prime? Answer yes or no.")
            .config(json!({"thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}})),
    )
    .await
    .unwrap();
    assert!(thought.usage.clone().unwrap().thoughts_tokens.is_some());
    let e = genkit_ai::embedder::embed_many(
        &r,
        "googleai/gemini-embedding-001",
        vec!["hello".into()],
        Some(json!({"outputDimensionality": 8})),
    )
    .await
    .unwrap();
    assert_eq!(e[0].embedding.len(), 8);
}
