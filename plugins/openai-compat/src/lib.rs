//! # genkit-openai-compat: OpenAI and every server that speaks its API
//!
//! One implementation of the OpenAI wire format (Chat Completions plain and streamed,
//! tools, JSON mode and strict `json_schema` output, vision, reasoning, usage; embeddings;
//! image generation; text to speech; speech to text) serving several Genkit plugins:
//!
//! | constructor | namespace | key / base URL variables |
//! |---|---|---|
//! | [`OpenAiCompat::openai`] | `openai/*` | `OPENAI_API_KEY`, `OPENAI_BASE_URL` |
//! | [`OpenAiCompat::deepseek`] | `deepseek/*` | `DEEPSEEK_API_KEY`, `DEEPSEEK_BASE_URL` |
//! | [`OpenAiCompat::xai`] | `xai/*` | `XAI_API_KEY`, `XAI_BASE_URL` |
//! | [`OpenAiCompat::azure`] | `microsoft-foundry/*` | `AZURE_OPENAI_API_KEY`, `AZURE_OPENAI_ENDPOINT`, `OPENAI_API_VERSION` |
//! | [`openai_compatible`] | any | given |
//!
//! Through the facade (`genkit-rs` with feature `openai`, re-exported as `genkit::openai`):
//!
//! ```ignore
//! use genkit::openai::OpenAiCompat;
//! use genkit::prelude::*;
//!
//! let g = Genkit::builder().plugin(OpenAiCompat::openai()).build().await?; // OPENAI_API_KEY
//! let r = g.generate(GenerateOptions::new().model("openai/gpt-4o-mini").prompt("Say hi")).await?;
//! println!("{}", r.text());
//! ```
//!
//! (`examples/provider` runs the same against any OpenAI-compatible server, and its test
//! against a local fake.)
//!
//! Provider errors become Genkit errors by HTTP status, with the table every plugin shares
//! ([`Status::from_http`](genkit_core::Status::from_http): 429 → `RESOURCE_EXHAUSTED` with the
//! provider's `Retry-After`, 401 → `UNAUTHENTICATED`, 400 → `INVALID_ARGUMENT`, 403 →
//! `PERMISSION_DENIED`, 404 → `NOT_FOUND`, 5xx → `UNAVAILABLE` but 501 and 504)
//! carrying the provider's message (with the API key redacted), so the `retry` and `fallback`
//! middleware work unchanged. A stream cut before the
//! model finished is an `UNAVAILABLE` error, never a silently short answer.
//!
//! See `docs/openai-compat.md` for every option, config field and the testing setup.
#![deny(unsafe_code)]

mod audio;
mod chat;
mod client;
mod embed;
mod error;
mod image;
mod models;
mod plugin;

pub use audio::{SpeechConfig, TranscriptionConfig};
pub use chat::config::{ChatConfig, VisualDetailLevel};
pub use chat::schema::strict_schema;
pub use client::{ApiKey, TokenProvider};
pub use embed::EmbedConfig;
pub use image::ImageConfig;
pub use models::{
    ModelKind, ModelSpec, OPENAI_EMBEDDERS, deepseek_models, multimodal_chat, openai_chat_models, openai_media_models,
    xai_models,
};
pub use plugin::{AZURE_DEFAULT_API_VERSION, OpenAiCompat};

/// A plugin for any OpenAI-compatible server (vLLM, llama.cpp, LM Studio, Ollama `/v1`,
/// LiteLLM, …) named `name`, at `base_url` (ending in `/v1` for most servers), with an
/// optional API key. Any model name resolves as a chat model (`<name>/<model>`).
///
/// ```
/// use genkit_openai_compat::openai_compatible;
/// let local = openai_compatible("vllm", "http://127.0.0.1:8000/v1", None);
/// let _ = local;
/// ```
pub fn openai_compatible(name: impl Into<String>, base_url: impl Into<String>, api_key: Option<&str>) -> OpenAiCompat {
    OpenAiCompat::compatible(name, base_url, api_key)
}

/// The wire codec without the HTTP layer: request encoding and response/stream decoding,
/// for benchmarks and for tools that talk to a server themselves.
pub mod codec {
    pub use crate::chat::decode::{StreamDecoder, decode_completion};
    pub use crate::chat::encode::{EncodeOptions, encode_chat_request, parse_config};
    pub use crate::chat::wire::{ChatChunk, ChatCompletion, ChatRequest};
    pub use genkit_http::SseEvent;
}
