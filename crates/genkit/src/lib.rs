//! # Genkit for Rust
//!
//! Build AI-powered applications with flows, models, tools and prompts, and inspect them
//! with the Genkit developer tools. This crate is what applications depend on; it re-exports
//! the core runtime ([`genkit_core`]).
//!
//! # Flows
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
//! use genkit::prelude::*;
//!
//! let g = Genkit::builder().build().await?;
//! let shout = g.define_flow("shout", |text: String, _cx| async move { Ok(text.to_uppercase()) });
//!
//! // Directly, typed:
//! assert_eq!(shout.run("hi".into()).await?, "HI");
//! // By name, with JSON (what the Dev UI and HTTP server do):
//! let out = g.run_action("/flow/shout", serde_json::json!("hey"), RunOptions::new()).await?;
//! assert_eq!(out.result, "HEY");
//! # Ok(()) }
//! ```
//!
//! Streaming flows send chunks with `cx.send_chunk` and are consumed as a `Stream`; traced
//! sub-steps use [`Genkit::run`]. See the `docs/` folder for guides.
//!
//! # Prompts
//! Prompts are Dotprompt templates plus model, config, schemas and tools: define them in
//! code with [`Genkit::define_prompt`], or as `.prompt` files in `./prompts` (see
//! [`GenkitBuilder::prompt_dir`], [`embed_prompts!`]) looked up with [`Genkit::prompt`]. See
//! `docs/prompts.md`.
#![deny(unsafe_code)]

mod agent;
mod ai_api;
mod chat;
mod flow;
mod genkit;
mod prompt_api;
mod rag_api;

/// The Dotprompt template engine (`.prompt` parsing, Handlebars rendering, Picoschema).
pub use dotprompt;
pub use flow::FlowOptions;
pub use genkit::{Genkit, GenkitBuilder};
/// The AI layer (models, generate, tools, formats, middleware, resources).
pub use genkit_ai as ai;
/// Middleware: the [`Middleware`](middleware::Middleware) trait, definitions and `use`
/// entries, and the built-in middlewares (retry, fallback, tool approval, filesystem,
/// skills; `download_request_media` with feature `download-media`).
pub mod middleware {
    pub use genkit_ai::middleware::*;
    pub use genkit_middleware::*;
}
/// **Experimental** (as in every Genkit runtime): agents, sessions and session stores. Names
/// and shapes here may change in a minor release.
pub mod experimental {
    pub use genkit_ai::experimental::*;
}
pub use genkit_ai::embedder::{
    EmbedParams, EmbedRequest, EmbedResponse, Embedder, EmbedderCx, EmbedderOptions, Embedding,
};
pub use genkit_ai::evaluator::{EvaluateOptions, Evaluator, EvaluatorCx, EvaluatorOptions, EvaluatorRef};
pub use genkit_ai::generate::{GenerateStream, OutputOptions, ResumeOptions};
pub use genkit_ai::indexer::{IndexOptions, Indexer, IndexerCx, IndexerOptions, IndexerRef};
pub use genkit_ai::prompt::{EmbeddedPrompts, ExecutablePrompt, PromptConfig, PromptCx, PromptRef};
pub use genkit_ai::reranker::{RerankOptions, Reranker, RerankerCx, RerankerOptions, RerankerRef};
pub use genkit_ai::retriever::{RetrieveOptions, Retriever, RetrieverCx, RetrieverOptions, RetrieverRef};
pub use genkit_ai::{
    Content, Document, DocumentData, FinishReason, GenerateOptions, GenerateResponse, GenerateResponseChunk, Message,
    Model, ModelCx, ModelOptions, ModelRef, ModelRequest, ModelResponse, ModelResponseChunk, ModelSupports, Part, Role,
    Tool, ToolConfig, ToolCx,
};
/// Anthropic's Claude models (feature `anthropic`): see [`genkit_anthropic`].
#[cfg(feature = "anthropic")]
pub use genkit_anthropic as anthropic;
pub use genkit_core;
pub use genkit_core::{
    Action, ActionContext, ActionCx, ActionDef, ActionMetadata, ActionResult, ActionStream, ActionType, BidiStream,
    Error, Flow, InputStream, Plugin, PluginValue, Registry, Result, RunOptions, Status, TraceIds, current_context,
    schema_for,
};
/// The file-backed vector store for development (feature `dev-local-vectorstore`): see
/// [`genkit_dev_local_vectorstore`].
#[cfg(feature = "dev-local-vectorstore")]
pub use genkit_dev_local_vectorstore as dev_local_vectorstore;
/// The built-in evaluators (feature `evaluators`): see [`genkit_evaluators`].
#[cfg(feature = "evaluators")]
pub use genkit_evaluators as evaluators;
/// Google's Gemini API models and embedders (feature `google-genai`): see
/// [`genkit_google_genai`].
#[cfg(feature = "google-genai")]
pub use genkit_google_genai as google_genai;
/// The in-process local models plugin (feature `local`): see [`genkit_local`].
#[cfg(feature = "local")]
pub use genkit_local as local;
/// Embeds a folder of `.prompt` files in the binary at compile time, for
/// [`GenkitBuilder::embedded_prompts`]: `embed_prompts!("prompts")` (relative to the crate's
/// `Cargo.toml`) expands to the `(relative path, source)` pairs of its files.
pub use genkit_macros::embed_prompts;
/// OpenAI and the OpenAI-compatible providers (feature `openai`): see [`genkit_openai_compat`].
#[cfg(feature = "openai")]
pub use genkit_openai_compat as openai;
/// PostgreSQL session store and durable stream manager (feature `postgres`): see
/// [`genkit_postgres`].
#[cfg(feature = "postgres")]
pub use genkit_postgres as postgres;
/// Redis session store and durable stream manager (feature `redis`): see [`genkit_redis`].
#[cfg(feature = "redis")]
pub use genkit_redis as redis;
/// The Genkit developer-tools bridge (the `genkit-reflection` crate).
#[cfg(feature = "reflection")]
pub use genkit_reflection as reflection;
/// The HTTP flow server (feature `server`): see [`genkit_server`].
#[cfg(feature = "server")]
pub use genkit_server as server;
/// Test models and helpers for an app's own tests (feature `testing`): [`echo_model`](testing::echo_model),
/// [`ProgrammableModel`](testing::ProgrammableModel) (queue responses, chunks and errors,
/// inspect the requests), and [`LogCapture`](testing::LogCapture).
#[cfg(feature = "testing")]
pub mod testing {
    pub use genkit_ai::model::testing::*;
    pub use genkit_core::testing::*;
}
/// The async runtime Genkit runs on, re-exported so an app that only depends on `genkit`
/// can write `#[genkit::tokio::main(crate = "genkit::tokio")]` and use its timers and tasks.
pub use tokio;
/// The OpenTelemetry API and SDK versions Genkit uses (for span processors and exporters).
pub use {opentelemetry, opentelemetry_sdk};

/// Everything an application usually needs, in one import.
pub mod prelude {
    pub use crate::{
        ActionContext, ActionCx, Document, Error, EvaluateOptions, ExecutablePrompt, FinishReason, Flow, FlowOptions,
        GenerateOptions, GenerateResponse, GenerateResponseChunk, Genkit, IndexOptions, Message, Model, ModelCx,
        ModelOptions, ModelRequest, ModelResponse, ModelResponseChunk, OutputOptions, Part, PromptConfig,
        RerankOptions, Result, RetrieveOptions, Role, RunOptions, Status, Tool, ToolConfig, ToolCx, current_context,
    };
    pub use futures::StreamExt as _;
}
