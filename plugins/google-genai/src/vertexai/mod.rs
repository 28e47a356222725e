//! Vertex AI (`vertexai/*`): the Gemini models and embedders on Google Cloud, with
//! Application Default Credentials or an express-mode API key.

pub(crate) mod embed;
pub(crate) mod evaluate;
#[cfg(feature = "model-garden")]
pub(crate) mod garden;
mod plugin;
pub(crate) mod rerank;

pub use evaluate::VertexMetric;
pub use plugin::{
    LOCATION_ENV, LYRIA_LOCATION, PROJECT_ENV, VERTEX_API_KEY_ENV, VERTEX_EMBEDDERS, VERTEX_MODELS, VertexAi,
};
pub(crate) use plugin::{location_host, path_safe};
pub use rerank::{DISCOVERY_ENGINE_URL, RerankConfig, VERTEX_RERANKERS};

#[cfg(feature = "model-garden")]
pub use garden::{VERTEX_ANTHROPIC_VERSION, VERTEX_CLAUDE_MODELS, vertex_claude_body};
