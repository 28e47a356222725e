//! Opt-in tests against the live APIs. Ignored by default; run with
//! `OPENAI_API_KEY=… cargo test -p genkit-openai-compat --test live -- --ignored`
//! (likewise `DEEPSEEK_API_KEY`, `XAI_API_KEY`; pick one with `-- --ignored openai_live`). A test
//! run without its key fails and names the variable, so a live run never passes by accident.

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::{FinishReason, GenerateOptions};
use genkit_core::Registry;
use genkit_openai_compat::OpenAiCompat;
use serde_json::json;

fn live(var: &str, plugin: OpenAiCompat) -> Registry {
    assert!(
        std::env::var(var).is_ok_and(|v| !v.is_empty()),
        "{var} is not set: this live test calls the real API; set the key or run another test"
    );
    let r = Registry::new();
    r.register_plugin(Arc::new(plugin)).unwrap();
    r
}

async fn chat_and_stream(r: &Registry, model: &str) {
    let resp = generate(
        r,
        GenerateOptions::new()
            .model(model)
            .prompt("Reply with the single word: pong")
            .config(json!({"temperature": 0})),
    )
    .await
    .unwrap();
    assert!(resp.text().to_lowercase().contains("pong"), "{}", resp.text());
    assert_eq!(resp.finish_reason, Some(FinishReason::Stop));
    assert!(resp.usage.as_ref().unwrap().total_tokens.unwrap() > 0.0);
    let mut s = generate_stream(r, GenerateOptions::new().model(model).prompt("Count from 1 to 5, comma separated."));
    let mut text = String::new();
    while let Some(c) = s.next().await {
        text.push_str(&c.unwrap().text());
    }
    assert_eq!(text, s.output().await.unwrap().text());
}

#[tokio::test]
#[ignore = "needs OPENAI_API_KEY and network"]
async fn openai_live() {
    let r = live("OPENAI_API_KEY", OpenAiCompat::openai());
    chat_and_stream(&r, "openai/gpt-4o-mini").await;
}

#[tokio::test]
#[ignore = "needs DEEPSEEK_API_KEY and network"]
async fn deepseek_live() {
    let r = live("DEEPSEEK_API_KEY", OpenAiCompat::deepseek());
    chat_and_stream(&r, "deepseek/deepseek-chat").await;
    let resp =
        generate(&r, GenerateOptions::new().model("deepseek/deepseek-reasoner").prompt("Is 9.11 larger than 9.8?"))
            .await
            .unwrap();
    assert!(!resp.reasoning().is_empty());
}

#[tokio::test]
#[ignore = "needs XAI_API_KEY and network"]
async fn xai_live() {
    let r = live("XAI_API_KEY", OpenAiCompat::xai());
    chat_and_stream(&r, "xai/grok-3-mini").await;
}
