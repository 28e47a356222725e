//! # genkit-anthropic: Anthropic's Claude models for Genkit
//!
//! The `anthropic/*` models over the Messages API: plain and streamed generation, tools and
//! `tool_choice`, images (base64 and URL), PDF and plain-text documents, extended thinking
//! with signatures, prompt caching, citations, server tools (web search, code execution,
//! MCP connector), structured output, and two helpers: token counting
//! ([`Anthropic::count_tokens`]) and the Message Batches API ([`Anthropic::create_batch`]).
//!
//! Through the facade (`genkit-rs` with feature `anthropic`, re-exported as
//! `genkit::anthropic`):
//!
//! ```ignore
//! use genkit::anthropic::Anthropic;
//! use genkit::prelude::*;
//!
//! let g = Genkit::builder().plugin(Anthropic::new()).build().await?; // ANTHROPIC_API_KEY
//! let r = g.generate(GenerateOptions::new().model("anthropic/claude-haiku-4-5").prompt("Say hi")).await?;
//! println!("{}", r.text());
//! ```
//!
//! The plugin is hand-written on `reqwest` and `serde`: Anthropic publishes no official Rust
//! SDK, the community crates lag the API's newer blocks (citations, server tools, effort,
//! structured output), and the API is small. Framing, error mapping and key redaction come
//! from the shared provider toolkit, `genkit-http`.
//!
//! ## Mapping
//! - system messages → the top-level `system` (text blocks when one is cached); `model` →
//!   `assistant`; `tool` → `user` with `tool_result` blocks (`tool_use_id` = the part's `ref`).
//! - media: `image/*` → `image` (a `data:` URL as base64, an http(s) URL as `url`);
//!   `application/pdf` → `document`; `text/plain` → a plain text `document`; contentType
//!   `anthropic/file` / `anthropic/image` → Files API sources. [`DocumentPart`] makes a custom
//!   document part with title, context and citations.
//! - `reasoning` parts ↔ `thinking` blocks, the signature in `metadata.thoughtSignature`
//!   (sent back; reasoning without one, from another model, is left out); redacted thinking ↔
//!   a part with `custom.redactedThinking`.
//! - `metadata.cache_control` (an object, `true`, or a TTL such as `"1h"`) on text, image,
//!   document, tool call and tool result parts and on tool definitions → `cache_control`.
//! - text blocks' citations → `metadata.citations` of the text part.
//! - server tool calls → text parts with `metadata.anthropicServerToolUse`; their results →
//!   text parts with `custom.anthropicServerToolResult` (as Genkit JS); both are sent back
//!   as they came, so a `pause_turn` can be continued.
//! - finish reasons: `end_turn`, `stop_sequence`, `tool_use`, `pause_turn` → `stop`;
//!   `max_tokens`, `model_context_window_exceeded` → `length`; `refusal` → `other`.
//! - usage: input/output tokens, `cachedContentTokens` = cache reads, every Anthropic count
//!   in `usage.custom`.
//!
//! Provider errors become Genkit errors by HTTP status ([`Status::from_http`](genkit_core::Status::from_http):
//! 429 → `RESOURCE_EXHAUSTED` with `retry-after`, 529 `overloaded_error` and other 5xx →
//! `UNAVAILABLE`, both retryable), carrying Anthropic's message with the key redacted. An
//! `error` event in a stream becomes the error of its type; a stream cut before
//! `message_stop` is `UNAVAILABLE`, never a silently short answer.
//!
//! See `docs/anthropic.md` for every option and config key.
#![deny(unsafe_code)]

mod batches;
mod client;
mod config;
mod document;
mod error;
mod messages;
mod models;
mod plugin;
mod tokens;

pub use batches::{BatchCounts, BatchOutcome, BatchRequest, BatchResult, MessageBatch};
pub use client::{DEFAULT_API_VERSION, DEFAULT_BASE_URL};
pub use config::{AnthropicConfig, ApiSurface, ThinkingConfig};
pub use document::{DOCUMENT_KEY, DocumentPart, DocumentSource, anthropic_document};
pub use messages::encode::{DEFAULT_BETAS, DEFAULT_MAX_TOKENS};
pub use models::{ModelSpec, claude_models, claude_structured_supports, claude_supports};
pub use plugin::Anthropic;

/// The API key type: a [`genkit_http::Secret`], whose `Debug` and `Display` never show it.
pub use genkit_http::Secret as ApiKey;

/// Part metadata and `custom` keys the plugin reads and writes.
pub mod keys {
    pub use crate::messages::encode::{
        RAW_BLOCK_KEY, REDACTED_THINKING_KEY, SERVER_TOOL_RESULT_KEY, SERVER_TOOL_USE_KEY, SIGNATURE_KEY,
    };
}

/// The wire codec without the HTTP layer: request encoding and response/stream decoding,
/// for benchmarks and for tools that talk to the API themselves.
pub mod codec {
    pub use crate::messages::decode::{block_part, decode_message, finish_reason, usage};
    pub use crate::messages::encode::{
        EFFORT_BETA, EncodeOptions, Encoded, FILES_BETA, STRUCTURED_OUTPUTS_BETA, encode_request, structured_schema,
    };
    pub use crate::messages::stream::StreamDecoder;
    pub use crate::messages::wire::{
        Block, Delta, KnownBlock, MessageDeltaBody, MessageParam, MessageResponse, MessagesRequest, Source,
        StreamEvent, SystemPrompt, Usage,
    };
    pub use genkit_http::SseEvent;
}
