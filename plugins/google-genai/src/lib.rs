//! # genkit-google-genai: Google's Gemini models for Genkit
//!
//! Two plugins: [`GoogleAi`] (`googleai/*`) over the Gemini Developer API
//! (`generativelanguage.googleapis.com`), and [`VertexAi`] (`vertexai/*`) over Vertex AI
//! (project and location or `global` endpoints with Application Default Credentials, or an
//! express-mode API key). Both: plain and SSE-streamed `generateContent`, tools and tool
//! choice, media input (inline `data:` URLs and file URIs), thinking with thought signatures,
//! structured output, safety settings, embedders, and model listing. Vertex AI adds rerankers
//! (Discovery Engine ranking), evaluators (`evaluateInstances`) and, with feature
//! `model-garden`, Claude on Vertex and OpenAI-compatible Model Garden models. The media
//! families serve both backends: Imagen (`:predict`), the Gemini image and text-to-speech
//! models (PCM returned as WAV), Veo as background models (`:predictLongRunning`); Vertex AI
//! adds Lyria and the multimodal embedder. Context caching follows message `metadata.cache`
//! on both (see `docs/google-genai.md`).
//!
//! ```no_run
//! # async fn demo() -> genkit_core::Result<()> {
//! use genkit_google_genai::GoogleAi;
//! let plugin = GoogleAi::new(); // GEMINI_API_KEY, GOOGLE_API_KEY or GOOGLE_GENAI_API_KEY
//! # let _ = plugin; Ok(()) }
//! ```
//!
//! The client is hand-written on `reqwest` and `serde` (as Genkit JS's own plugin is a
//! hand-written REST client). SSE framing, body limits and key redaction come from
//! `genkit-http`; Vertex AI's OAuth tokens from a small ADC implementation on `ring`
//! ([`Credentials`]).
//!
//! ## Mapping
//! - the first system message → `systemInstruction`; `user` → `user`, `model` → `model`,
//!   `tool` → `function`.
//! - text ↔ `text`; reasoning ↔ `{thought: true, text}`; a part's `metadata.thoughtSignature`
//!   ↔ the part's `thoughtSignature` (sent back, as Gemini requires for multi-turn tool use
//!   with thinking); media `data:` URLs ↔ `inlineData`, other URLs → `fileData`;
//!   toolRequest ↔ `functionCall` (`ref` = `id`), toolResponse → `functionResponse`
//!   (`response: {name, content}`); tool names' `/` ↔ `__`.
//! - tools → `functionDeclarations` with schemas rewritten by [`gemini_schema`];
//!   `toolChoice` auto/required/none → `functionCallingConfig.mode` AUTO/ANY/NONE.
//! - JSON output → `responseMimeType: application/json` and, without tools,
//!   `responseSchema`.
//! - finish reasons: `STOP` → stop, `MAX_TOKENS` → length, safety/recitation/blocklist
//!   reasons → blocked, `MALFORMED_FUNCTION_CALL`/`OTHER` → other, else unknown.
//! - usage: prompt/candidates/total tokens, `thoughtsTokenCount` → thoughtsTokens,
//!   `cachedContentTokenCount` → cachedContentTokens.
//!
//! Errors: Google's `{"error": {"code", "message", "status", "details"}}` becomes a Genkit
//! error with the canonical `status` (e.g. `RESOURCE_EXHAUSTED`), the message (key
//! redacted), and the retry delay of a `google.rpc.RetryInfo` detail or `Retry-After`.
#![deny(unsafe_code)]

mod auth;
mod cache;
mod client;
mod config;
mod decode;
mod embed;
mod encode;
mod error;
mod family;
mod gemini;
mod imagen;
mod lyria;
mod models;
mod multimodal_embed;
mod partial_args;
mod plugin;
mod predict;
mod tts;
mod veo;
mod vertexai;

pub use auth::{
    CLOUD_PLATFORM_SCOPE, CREDENTIALS_ENV, CREDENTIALS_JSON_ENV, Credentials, DEFAULT_METADATA_HOST, METADATA_HOST_ENV,
};
pub use cache::DEFAULT_CACHE_TTL_SECS;
pub use client::{DEFAULT_API_VERSION, DEFAULT_BASE_URL, KeyTransport};
pub use config::{FunctionCallingConfig, GeminiConfig, SafetySetting, ThinkingConfig};
pub use embed::EmbedConfig;
pub use encode::{THOUGHT_SIGNATURE_KEY, gemini_schema};
pub use imagen::{IMAGEN_MODELS, ImagenConfig, imagen_supports};
pub use lyria::{LYRIA_MODELS, LyriaConfig, lyria_supports};
pub use models::{
    GEMINI_EMBEDDERS, GEMINI_IMAGE_MODELS, GEMINI_MODELS, GEMMA_MODELS, ModelSpec, gemini_image_supports,
    gemini_models, gemini_supports,
};
pub use multimodal_embed::{MULTIMODAL_EMBEDDERS, MultimodalEmbedConfig};
pub use plugin::{API_KEY_ENV, GoogleAi};
pub use tts::{TTS_MODELS, tts_supports};
pub use veo::{VEO_MODELS, VERTEX_VEO_MODELS, VeoConfig, veo_supports};
pub use vertexai::{DISCOVERY_ENGINE_URL, RerankConfig, VERTEX_RERANKERS, VertexMetric};
pub use vertexai::{
    LOCATION_ENV, LYRIA_LOCATION, PROJECT_ENV, VERTEX_API_KEY_ENV, VERTEX_EMBEDDERS, VERTEX_MODELS, VertexAi,
};
#[cfg(feature = "model-garden")]
pub use vertexai::{VERTEX_ANTHROPIC_VERSION, VERTEX_CLAUDE_MODELS, vertex_claude_body};

/// The API key type: a [`genkit_http::Secret`], whose `Debug` and `Display` never show it.
pub use genkit_http::Secret as ApiKey;

/// The wire codec without the HTTP layer: request encoding and response/stream decoding.
pub mod codec {
    pub use crate::decode::{StreamDecoder, decode_part, decode_response, finish_reason, usage};
    pub use crate::encode::{EncodeOptions, Encoded, encode_request, tool_name_from_wire, tool_name_to_wire};
}
