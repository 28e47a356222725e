//! Which code serves which model id: Imagen ids go to `:predict`, every other model id to
//! `generateContent` (Gemini and Gemma, with the TTS and image variants). Both backends
//! build their model actions here, so a family added once serves `googleai/` and
//! `vertexai/` alike.

use std::sync::Arc;

use genkit_core::Action;

use crate::client::Client;
use crate::models::{ModelSpec, is_gemini_id};

/// Whether the plugin serves `id` as a (non-background) model.
pub(crate) fn is_model_id(id: &str) -> bool {
    is_gemini_id(id) || crate::imagen::is_imagen_id(id)
}

/// The model action of `spec` for the plugin named `plugin`.
pub(crate) fn model_action(
    plugin: &str,
    client: Arc<Client>,
    spec: &ModelSpec,
    response_json_schema: bool,
) -> Arc<dyn Action> {
    if crate::imagen::is_imagen_id(&spec.id) {
        crate::imagen::imagen_model(plugin, client, spec).as_action()
    } else {
        crate::gemini::gemini_model(plugin, client, spec, response_json_schema).as_action()
    }
}
