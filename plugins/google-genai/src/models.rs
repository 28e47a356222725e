//! The Gemini catalogue: which models and embedders the plugin registers and what each
//! model supports. Any other `gemini-*` or `gemma-*` id resolves on demand.

use genkit_ai::{Constrained, ModelStage, ModelSupports};

/// A Gemini (or Gemma) model the plugin offers: its Genkit id (`googleai/<id>`), a label and
/// capabilities.
///
/// ```
/// use genkit_google_genai::ModelSpec;
/// let m = ModelSpec::new("gemini-2.5-flash");
/// assert_eq!(m.id(), "gemini-2.5-flash");
/// assert_eq!(m.capabilities().tools, Some(true));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub(crate) id: String,
    pub(crate) label: Option<String>,
    pub(crate) supports: ModelSupports,
    pub(crate) stage: Option<ModelStage>,
}

/// Capabilities of the Gemini models (as Genkit JS): multi-turn, media input, tools with
/// `toolChoice`, system instructions, text and JSON output, constrained generation when no
/// tools are given.
pub fn gemini_supports() -> ModelSupports {
    ModelSupports {
        multiturn: Some(true),
        media: Some(true),
        tools: Some(true),
        tool_choice: Some(true),
        system_role: Some(true),
        output: Some(vec!["text".into(), "json".into()]),
        constrained: Some(Constrained::NoTools),
        ..ModelSupports::default()
    }
}

/// The Gemini models Genkit JS lists for the Gemini Developer API.
pub const GEMINI_MODELS: [&str; 10] = [
    "gemini-pro-latest",
    "gemini-flash-latest",
    "gemini-flash-lite-latest",
    "gemini-3.1-flash-lite-preview",
    "gemini-3.1-pro-preview",
    "gemini-3-flash-preview",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.0-flash",
];

/// The Gemma models Genkit JS lists (served by the same `generateContent` method).
pub const GEMMA_MODELS: [&str; 6] =
    ["gemma-3-1b-it", "gemma-3-4b-it", "gemma-3-12b-it", "gemma-3-27b-it", "gemma-3n-e4b-it", "gemma-4-31b-it"];

/// The embedders registered at init and the vector length each returns by default.
pub const GEMINI_EMBEDDERS: [(&str, usize); 2] = [("gemini-embedding-001", 3072), ("text-embedding-004", 768)];

pub(crate) fn label_of(id: &str) -> String {
    // `gemini-2.5-flash-lite` → `Gemini 2.5 Flash Lite`.
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether an id names a model this plugin serves through `generateContent`.
pub(crate) fn is_gemini_id(id: &str) -> bool {
    (id.starts_with("gemini-") || id.starts_with("gemma-")) && !id.contains("embedding")
}

/// Whether an id names an embedder.
pub(crate) fn is_embedder_id(id: &str) -> bool {
    id.contains("embedding")
}

impl ModelSpec {
    /// A model called by `id` with the Gemini capabilities; Gemma models take no system
    /// instruction through the API, and previews are marked unstable.
    pub fn new(id: impl Into<String>) -> ModelSpec {
        let id = id.into();
        let mut supports = gemini_supports();
        if id.starts_with("gemma-") {
            supports.system_role = Some(false);
            supports.tool_choice = None;
        } else if crate::imagen::is_imagen_id(&id) || crate::imagen::is_try_on_id(&id) {
            supports = crate::imagen::imagen_supports();
        } else if crate::lyria::is_lyria_id(&id) {
            supports = crate::lyria::lyria_supports();
        } else if crate::veo::is_veo_id(&id) {
            supports = crate::veo::veo_supports();
        } else if crate::tts::is_tts_id(&id) {
            supports = crate::tts::tts_supports();
        } else if is_gemini_image_id(&id) {
            supports = gemini_image_supports();
        }
        if schema_with_tools(&id) && supports.constrained.is_some() {
            supports.constrained = Some(Constrained::All);
        }
        let stage = (id.contains("preview") || id.contains("-exp")).then_some(ModelStage::Unstable);
        ModelSpec { id, label: None, supports, stage }
    }

    /// Sets the label shown in the Dev UI (default `Google AI - <name from the id>`).
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Replaces the capabilities.
    #[must_use]
    pub fn supports(mut self, supports: ModelSupports) -> Self {
        self.supports = supports;
        self
    }

    /// Sets the release stage.
    #[must_use]
    pub fn stage(mut self, stage: ModelStage) -> Self {
        self.stage = Some(stage);
        self
    }

    /// The model's id (without the plugin prefix).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The capabilities.
    pub fn capabilities(&self) -> &ModelSupports {
        &self.supports
    }

    /// The label shown in the Dev UI.
    pub fn display_label(&self) -> String {
        self.label.clone().unwrap_or_else(|| format!("Google AI - {}", label_of(&self.id)))
    }
}

/// The Gemini models that generate images (with text) through `generateContent`.
pub const GEMINI_IMAGE_MODELS: [&str; 2] = ["gemini-2.5-flash-image", "gemini-3-pro-image-preview"];

/// Whether an id names a Gemini model that generates images (`gemini-*-image*`).
pub(crate) fn is_gemini_image_id(id: &str) -> bool {
    id.starts_with("gemini-") && (id.ends_with("-image") || id.contains("-image-"))
}

/// The `responseModalities` a model needs when the config sets none: `AUDIO` for the
/// text-to-speech models, `TEXT` and `IMAGE` for the image models.
pub(crate) fn default_modalities(id: &str) -> Option<Vec<String>> {
    if crate::tts::is_tts_id(id) {
        Some(vec!["AUDIO".into()])
    } else if is_gemini_image_id(id) {
        Some(vec!["TEXT".into(), "IMAGE".into()])
    } else {
        None
    }
}

/// What the Gemini image models take and give (as Genkit JS): the Gemini capabilities,
/// with images among the outputs.
pub fn gemini_image_supports() -> ModelSupports {
    ModelSupports { output: Some(vec!["text".into(), "json".into(), "media".into()]), ..gemini_supports() }
}

/// Whether a model takes an output schema together with tools (structured output with
/// function calling): Gemini 3 and later, and the `-latest` aliases that point at them. Older
/// models answer tools plus `responseMimeType: application/json` with an error, so for them
/// Genkit's `constrained: no-tools` turns the schema into prompt instructions when tools are
/// given.
pub(crate) fn schema_with_tools(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("gemini-") else { return false };
    if id.ends_with("-latest") {
        return true;
    }
    rest.split(['.', '-']).next().and_then(|major| major.parse::<u32>().ok()).is_some_and(|major| major >= 3)
}

/// The known models: [`GEMINI_MODELS`], [`GEMMA_MODELS`], then the media models served
/// by the same plugin: [`GEMINI_IMAGE_MODELS`], [`TTS_MODELS`](crate::TTS_MODELS) and
/// [`IMAGEN_MODELS`](crate::IMAGEN_MODELS).
pub fn gemini_models() -> Vec<ModelSpec> {
    GEMINI_MODELS
        .iter()
        .chain(GEMMA_MODELS.iter())
        .chain(GEMINI_IMAGE_MODELS.iter())
        .chain(crate::tts::TTS_MODELS.iter())
        .chain(crate::imagen::IMAGEN_MODELS.iter())
        .map(|id| ModelSpec::new(*id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_capabilities_and_labels() {
        for m in
            gemini_models().into_iter().filter(|m| GEMINI_MODELS.contains(&m.id()) || GEMMA_MODELS.contains(&m.id()))
        {
            assert_eq!(m.supports.multiturn, Some(true), "{}", m.id);
            assert_eq!(m.supports.media, Some(true), "{}", m.id);
            let want = if schema_with_tools(&m.id) { Constrained::All } else { Constrained::NoTools };
            assert_eq!(m.supports.constrained, Some(want), "{}", m.id);
        }
        assert_eq!(ModelSpec::new("gemini-2.5-flash-lite").display_label(), "Google AI - Gemini 2.5 Flash Lite");
        assert_eq!(ModelSpec::new("gemma-3-4b-it").supports.system_role, Some(false));
        assert_eq!(ModelSpec::new("gemini-3-flash-preview").stage, Some(ModelStage::Unstable));
        assert!(is_gemini_id("gemini-9-ultra") && is_gemini_id("gemma-5-1b"));
        assert!(!is_gemini_id("gemini-embedding-001") && is_embedder_id("gemini-embedding-001"));
        assert!(!is_gemini_id("imagen-4.0-generate-001"));
        let imagen = ModelSpec::new("imagen-4.0-generate-001");
        assert_eq!((imagen.supports.multiturn, imagen.supports.output), (Some(false), Some(vec!["media".into()])));
        let tts = ModelSpec::new("gemini-2.5-flash-preview-tts");
        assert_eq!((tts.supports.tools, tts.supports.output), (Some(false), Some(vec!["media".into()])));
        let img = ModelSpec::new("gemini-2.5-flash-image");
        assert_eq!(img.supports.output, Some(vec!["text".into(), "json".into(), "media".into()]));
        assert_eq!(img.supports.constrained, Some(Constrained::NoTools));
        assert_eq!(ModelSpec::new("gemini-3-pro-image-preview").supports.constrained, Some(Constrained::All));
        for (id, yes) in [
            ("gemini-3-flash-preview", true),
            ("gemini-3.1-pro-preview", true),
            ("gemini-flash-latest", true),
            ("gemini-10-ultra", true),
            ("gemini-2.5-flash", false),
            ("gemini-2.0-flash", false),
            ("gemma-4-31b-it", false),
        ] {
            assert_eq!(schema_with_tools(id), yes, "{id}");
            assert_eq!(ModelSpec::new(id).supports.constrained == Some(Constrained::All), yes, "{id}");
        }
        assert!(gemini_models().iter().any(|m| m.id == "imagen-4.0-fast-generate-001"));
    }
}
