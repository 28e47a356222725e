//! The benchmark app: a fake text model and the flows `echo` and `gen`, exactly as the Genkit JS
//! benchmark harness that `scripts/bench-server-vs-js` runs defines them (`common.mjs`); and, in
//! [`load`], the load-and-leaks workload of `scripts/load-servers`.

pub mod load;

use genkit::Flow;
use genkit::ai::{FinishReason, Message, ModelOptions, ModelResponse};
use genkit::prelude::*;

/// The fake model's answer.
pub const FIXED_TEXT: &str = "Hello from the fake model.";

/// The app: the Genkit instance and its two flows.
#[derive(Debug)]
pub struct BenchApp {
    /// The instance.
    pub genkit: Genkit,
    /// Returns its input.
    pub echo: Flow<String, String>,
    /// One `generate` on `fake/text`.
    pub gen_flow: Flow<String, String>,
}

/// Builds the app.
///
/// # Errors
/// When the instance cannot be built.
pub async fn app() -> genkit::Result<BenchApp> {
    let g = Genkit::builder().no_prompt_dir().build().await?;
    g.define_model(ModelOptions::new("fake/text"), |_req, _cx| async {
        Ok(ModelResponse {
            message: Some(Message::model(FIXED_TEXT)),
            finish_reason: Some(FinishReason::Stop),
            ..ModelResponse::default()
        })
    });
    let echo = g.define_flow("echo", |input: String, _cx| async move { Ok(input) });
    let g2 = g.clone();
    let gen_flow = g.define_flow("gen", move |input: String, _cx| {
        let g = g2.clone();
        async move { Ok(g.generate(GenerateOptions::new().model("fake/text").prompt(input)).await?.text()) }
    });
    Ok(BenchApp { genkit: g, echo, gen_flow })
}
