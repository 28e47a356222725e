//! The AI layer of Genkit for Rust: wire types of models, messages and parts; models;
//! `generate` with the tool loop, interrupts and resume; tools; output formats; middleware;
//! resources; prompts (Dotprompt templates and `.prompt` files).
#![deny(unsafe_code)]

mod action_ref;
pub mod dap;
mod document;
pub mod embedder;
pub mod evaluator;
pub mod experimental;
pub mod extract;
pub mod format;
pub mod generate;
pub mod indexer;
pub mod middleware;
pub mod model;
pub mod prompt;
pub mod reranker;
pub mod resource;
pub mod retriever;
mod schema_cache;
pub mod tool;
mod types;

pub use document::Document;
pub use embedder::{
    EmbedContent, EmbedParams, EmbedRequest, EmbedResponse, Embedder, EmbedderInfo, EmbedderOptions, EmbedderRef,
    Embedding,
};
pub use generate::{
    ChunkOrigin, GenerateOptions, GenerateResponse, GenerateResponseChunk, ModelArg, OutputOptions, ResumeOptions,
    ToolArg,
};
pub use model::{Model, ModelCx, ModelOptions, ModelRef};
pub use prompt::{ExecutablePrompt, PromptConfig};
pub use tool::{Tool, ToolConfig, ToolCx};
pub use types::*;
