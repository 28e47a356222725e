//! Vertex AI (`vertexai/*`): the Gemini models and embedders on Google Cloud, with
//! Application Default Credentials or an express-mode API key.

pub(crate) mod embed;
#[cfg(feature = "model-garden")]
pub(crate) mod garden;
mod plugin;

pub use plugin::{LOCATION_ENV, PROJECT_ENV, VERTEX_API_KEY_ENV, VERTEX_EMBEDDERS, VERTEX_MODELS, VertexAi};

#[cfg(feature = "model-garden")]
pub use garden::{VERTEX_ANTHROPIC_VERSION, VERTEX_CLAUDE_MODELS, vertex_claude_body};
