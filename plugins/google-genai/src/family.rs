//! Which code serves which model id: Imagen ids go to `:predict`, Veo ids are background
//! models (`:predictLongRunning`), every other model id goes to `generateContent` (Gemini
//! and Gemma, with the TTS and image variants). Both backends
//! build their model actions here, so a family added once serves `googleai/` and
//! `vertexai/` alike.
//!
//! How the Vertex AI backend (`crate::vertexai`) wires them: model actions come from
//! [`model_action`] (it routes Imagen, virtual try-on and Lyria ids to `:predict`), on-demand
//! ids are decided by [`is_vertex_model_id`], Veo is registered with [`background_actions`]
//! over `veo::VERTEX_VEO_MODELS` and resolved with [`background_action`], and
//! `multimodalembedding@*` ids get `multimodal_embed::multimodal_embedder`. The client's
//! backend decides the rest: Veo operations are checked with `:fetchPredictOperation` on
//! Vertex AI (`Client::operation_check`), URLs come from `Client::model_path`,
//! `Client::model_resource` and `Client::scoped` (context caches:
//! `projects/{p}/locations/{l}/cachedContents`), and `Client::in_location` serves a model
//! from another location than the plugin's (Lyria from `global`).

use std::sync::Arc;

use genkit_core::{Action, ActionMetadata, ActionType};

use crate::client::Client;
use crate::models::{ModelSpec, is_gemini_id};

/// Whether the plugin serves `id` as a (non-background) model.
pub(crate) fn is_model_id(id: &str) -> bool {
    is_gemini_id(id) || crate::imagen::is_imagen_id(id)
}

/// Whether the Vertex AI backend serves `id` as a (non-background) model: the models of
/// [`is_model_id`], Lyria and virtual try-on.
pub(crate) fn is_vertex_model_id(id: &str) -> bool {
    is_model_id(id) || crate::lyria::is_lyria_id(id) || crate::imagen::is_try_on_id(id)
}

/// The model action of `spec` for the plugin named `plugin` (Lyria ids build the Lyria
/// model: only the Vertex AI backend resolves or lists them).
pub(crate) fn model_action(
    plugin: &str,
    client: Arc<Client>,
    spec: &ModelSpec,
    response_json_schema: bool,
) -> Arc<dyn Action> {
    if crate::imagen::is_imagen_id(&spec.id) || crate::imagen::is_try_on_id(&spec.id) {
        crate::imagen::imagen_model(plugin, client, spec).as_action()
    } else if crate::lyria::is_lyria_id(&spec.id) {
        crate::lyria::lyria_model(plugin, client, spec).as_action()
    } else {
        crate::gemini::gemini_model(plugin, client, spec, response_json_schema).as_action()
    }
}

/// The spec of a background model `id`, labelled for the client's backend (`Google AI - …` or
/// `Vertex AI - …`).
pub(crate) fn background_spec(client: &Client, id: &str) -> ModelSpec {
    let spec = ModelSpec::new(id);
    match client.backend() {
        crate::client::Backend::GeminiApi => spec,
        _ => spec.label(format!("Vertex AI - {}", crate::models::label_of(id))),
    }
}

/// The background-model actions (start, check, cancel) of each Veo model in `ids`, for a
/// plugin's init.
pub(crate) fn background_actions(plugin: &str, client: &Arc<Client>, ids: &[&str]) -> Vec<Arc<dyn Action>> {
    ids.iter().flat_map(|id| crate::veo::veo_actions(plugin, client.clone(), &background_spec(client, id))).collect()
}

/// The listing entries (the background models themselves) of the Veo models in `ids`.
pub(crate) fn background_metadata(plugin: &str, client: &Arc<Client>, ids: &[&str]) -> Vec<ActionMetadata> {
    ids.iter()
        .map(|id| {
            crate::veo::veo_model(plugin, client.clone(), &background_spec(client, id))
                .start
                .as_action()
                .metadata()
                .clone()
        })
        .collect()
}

/// A background model, check or cancel action named `id` (`veo-x`, `veo-x/check`,
/// `veo-x/cancel`), if it names one.
pub(crate) fn background_action(
    plugin: &str,
    client: Arc<Client>,
    ty: ActionType,
    id: &str,
) -> Option<Arc<dyn Action>> {
    crate::veo::veo_action(plugin, client, ty, id)
}
