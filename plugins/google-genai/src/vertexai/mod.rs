//! Vertex AI (`vertexai/*`): the Gemini models and embedders on Google Cloud, with
//! Application Default Credentials or an express-mode API key.

pub(crate) mod embed;
mod plugin;

pub use plugin::{LOCATION_ENV, PROJECT_ENV, VERTEX_API_KEY_ENV, VERTEX_EMBEDDERS, VERTEX_MODELS, VertexAi};
