//! Generate middleware: `Censor`, a custom middleware that hides words in the model's replies,
//! used by value and by name (registered with a JSON config, the way the Dev UI and other
//! runtimes choose middleware), then the built-in `retry` around a model that fails twice
//! before it answers.
//!
//! Needs no API key: both models are defined in the app.
//! Run with `cargo run -p example-middleware`.
//!
//! The setup lives in [`build_app`] and the demo in [`run_demo`] so that tests can call them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use genkit::Status;
use genkit::middleware::{Middleware, MiddlewareDef, MiddlewareUse, ModelNext, RetryOptions, retry};
use genkit::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Replaces banned words in the model's replies with `***`. The struct is also its config:
/// `{"words": ["darn"]}` when the middleware is chosen by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Censor {
    /// The words to hide.
    pub words: Vec<String>,
}

impl Middleware for Censor {
    async fn wrap_model(&self, req: ModelRequest, next: ModelNext<'_>) -> Result<ModelResponse> {
        // Call the rest of the chain (here: the model), then rewrite what it answered.
        let mut resp = next.run(req).await?;
        let texts = resp.message.iter_mut().flat_map(|m| m.content.iter_mut()).filter_map(|p| p.text.as_mut());
        for text in texts {
            for word in &self.words {
                *text = text.replace(word.as_str(), "***");
            }
        }
        Ok(resp)
    }
}

/// Builds the Genkit instance: the `demo/parrot` and `demo/flaky` models, and `censor`
/// registered by name.
///
/// # Errors
/// When the instance cannot be built.
pub async fn build_app() -> Result<Genkit> {
    let g = Genkit::builder().build().await?;
    // Repeats the prompt, like a very obedient chat model.
    g.define_model(ModelOptions::new("demo/parrot"), |req: ModelRequest, _cx| async move {
        let said = req.messages.last().map(Message::text).unwrap_or_default();
        Ok(ModelResponse::from_text(format!("You said: {said}")))
    });
    // Fails its first two calls with UNAVAILABLE, like an overloaded provider.
    let calls = Arc::new(AtomicU32::new(0));
    g.define_model(ModelOptions::new("demo/flaky"), move |_req: ModelRequest, _cx| {
        let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            if call <= 2 {
                return Err(Error::new(Status::Unavailable, format!("overloaded (call {call})")));
            }
            Ok(ModelResponse::from_text(format!("answered on call {call}")))
        }
    });
    // By name: the factory gets the `use` entry's config, parsed as `Censor`.
    g.define_middleware(MiddlewareDef::typed("censor", "Hides banned words", |config: Censor, _init| Ok(config)));
    Ok(g)
}

/// Runs each middleware once and returns what it printed.
///
/// # Errors
/// When a generation that should succeed fails.
pub async fn run_demo(g: &Genkit) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let parrot = || GenerateOptions::new().model("demo/parrot").prompt("darn it, heck, this is fine");

    let r = g.generate(parrot().use_middleware(Censor { words: vec!["darn".into()] })).await?;
    out.push(format!("by value: {}", r.text()));

    let by_name = MiddlewareUse::named("censor", Some(json!({"words": ["darn", "heck"]})));
    let r = g.generate(parrot().use_middleware(by_name)).await?;
    out.push(format!("by name:  {}", r.text()));

    let flaky = || GenerateOptions::new().model("demo/flaky").prompt("Hello?");
    match g.generate(flaky()).await {
        Ok(r) => out.push(format!("without retry: {}", r.text())),
        Err(e) => out.push(format!("without retry: {e}")),
    }
    // Short delays so the demo is quick; the defaults start at one second.
    let fast = RetryOptions { max_retries: 3, initial_delay_ms: 10, no_jitter: true, ..RetryOptions::default() };
    let r = g.generate(flaky().use_middleware(retry(fast))).await?;
    out.push(format!("with retry: {}", r.text()));
    Ok(out)
}
