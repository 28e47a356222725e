//! A model provider through the facade: any OpenAI-compatible server (llama.cpp's
//! `llama-server`, vLLM, Ollama's `/v1`, LM Studio, LiteLLM, …) registered with
//! `genkit::openai::openai_compatible` (facade feature `openai`). Local servers need no API key.
//!
//! Start a server, then run with `cargo run -p example-provider`. The base URL comes from
//! `OPENAI_COMPAT_BASE_URL` (default [`DEFAULT_BASE_URL`], llama.cpp's; vLLM listens on
//! `http://127.0.0.1:8000/v1`, Ollama on `http://127.0.0.1:11434/v1`) and the model from
//! `OPENAI_COMPAT_MODEL` (default `default`; llama.cpp serves its one model under any name).
//!
//! The setup lives in [`build_app`] and the call in [`ask`] so that tests can run them against
//! a fake server.

use genkit::openai::openai_compatible;
use genkit::prelude::*;
use serde_json::json;

/// Where llama.cpp's `llama-server` listens by default.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080/v1";

/// Builds the Genkit instance with the server at `base_url` as the plugin `local`: every
/// model name `local/<id>` is sent to it as model `<id>`.
///
/// # Errors
/// When the instance cannot be built.
pub async fn build_app(base_url: &str) -> Result<Genkit> {
    Genkit::builder().plugin(openai_compatible("local", base_url, None)).build().await
}

/// Asks the server's model `model` a question and returns its answer.
///
/// # Errors
/// When the server cannot be reached (`UNAVAILABLE`) or answers with an error.
pub async fn ask(g: &Genkit, model: &str, question: &str) -> Result<String> {
    let opts = GenerateOptions::new()
        .model(format!("local/{model}"))
        .system("Answer in one short sentence.")
        .prompt(question)
        .config(json!({"temperature": 0.2, "maxOutputTokens": 64}));
    Ok(g.generate(opts).await?.text())
}
