//! Model specs (what each model is and supports) and the built-in catalogues of OpenAI,
//! DeepSeek and xAI.

use genkit_ai::{Constrained, ModelSupports};

/// What kind of endpoint a model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelKind {
    /// `POST /chat/completions`.
    Chat,
    /// `POST /images/generations`.
    Image,
    /// `POST /audio/speech` (text to speech).
    Speech,
    /// `POST /audio/transcriptions` (speech to text).
    Transcription,
}

impl ModelKind {
    /// The kind of an OpenAI model id by the naming of OpenAI's own model families, as Genkit
    /// JS's `openai` plugin resolves them: `dall-e-*`, `gpt-image-*` → image; `tts-*`, `*-tts`
    /// → speech; `whisper-*`, `*-transcribe*` → transcription; anything else → chat.
    ///
    /// Only the `openai` plugin applies it, to ids it does not know. Every other provider
    /// resolves an unknown id as a chat model whatever its name (a served model called
    /// `qwen-image-chat` is not sent to `/images/generations`); declare other kinds with
    /// [`OpenAiCompat::model`](crate::OpenAiCompat::model) and [`ModelSpec::of_kind`].
    ///
    /// ```
    /// use genkit_openai_compat::ModelKind;
    /// assert_eq!(ModelKind::guess("gpt-image-1"), ModelKind::Image);
    /// assert_eq!(ModelKind::guess("dall-e-2"), ModelKind::Image);
    /// assert_eq!(ModelKind::guess("gpt-4o-mini-tts"), ModelKind::Speech);
    /// assert_eq!(ModelKind::guess("gpt-4o-transcribe"), ModelKind::Transcription);
    /// assert_eq!(ModelKind::guess("llama3.2"), ModelKind::Chat);
    /// assert_eq!(ModelKind::guess("flux-image-dev"), ModelKind::Chat);
    /// ```
    pub fn guess(id: &str) -> ModelKind {
        if id.starts_with("dall-e") || id.starts_with("gpt-image-") {
            ModelKind::Image
        } else if id.starts_with("tts-") || id.ends_with("-tts") {
            ModelKind::Speech
        } else if id.starts_with("whisper") || id.contains("-transcribe") {
            ModelKind::Transcription
        } else {
            ModelKind::Chat
        }
    }
}

/// A model a plugin offers: its id at the provider (also its Genkit name under the plugin's
/// namespace), kind, label and capabilities.
///
/// ```
/// use genkit_openai_compat::ModelSpec;
/// let m = ModelSpec::chat("llama3.2").label("Llama 3.2 (vLLM)").media(false);
/// assert_eq!(m.id(), "llama3.2");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub(crate) id: String,
    pub(crate) label: Option<String>,
    pub(crate) kind: ModelKind,
    pub(crate) supports: ModelSupports,
    pub(crate) max_completion_tokens: bool,
    pub(crate) reasoner: bool,
}

/// Capabilities of a multimodal chat model with tools and constrained JSON output.
pub fn multimodal_chat() -> ModelSupports {
    ModelSupports {
        multiturn: Some(true),
        media: Some(true),
        tools: Some(true),
        system_role: Some(true),
        output: Some(vec!["text".into(), "json".into()]),
        constrained: Some(Constrained::All),
        tool_choice: Some(true),
        ..ModelSupports::default()
    }
}

fn text_chat() -> ModelSupports {
    ModelSupports { media: Some(false), ..multimodal_chat() }
}

fn single_turn(output: &str, media: bool) -> ModelSupports {
    ModelSupports {
        multiturn: Some(false),
        media: Some(media),
        tools: Some(false),
        system_role: Some(false),
        output: Some(vec![output.into()]),
        ..ModelSupports::default()
    }
}

impl ModelSpec {
    /// A chat model with the capabilities of a modern multimodal model (multi-turn, tools,
    /// tool choice, media, system role, text and constrained JSON output).
    pub fn chat(id: impl Into<String>) -> ModelSpec {
        ModelSpec::of_kind(id, ModelKind::Chat)
    }

    /// A model of the given kind with that kind's default capabilities.
    pub fn of_kind(id: impl Into<String>, kind: ModelKind) -> ModelSpec {
        let supports = match kind {
            ModelKind::Chat => multimodal_chat(),
            ModelKind::Image => single_turn("media", false),
            ModelKind::Speech => single_turn("media", false),
            ModelKind::Transcription => single_turn("text", true),
        };
        ModelSpec { id: id.into(), label: None, kind, supports, max_completion_tokens: false, reasoner: false }
    }

    /// The model id at the provider.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The model's kind.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Sets the display label.
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

    /// Whether the model takes media input.
    #[must_use]
    pub fn media(mut self, yes: bool) -> Self {
        self.supports.media = Some(yes);
        self
    }

    /// Whether the model can call tools.
    #[must_use]
    pub fn tools(mut self, yes: bool) -> Self {
        self.supports.tools = Some(yes);
        self.supports.tool_choice = Some(yes);
        self
    }

    /// Sends `max_completion_tokens` instead of `max_tokens` (OpenAI o-series and GPT-5).
    #[must_use]
    pub fn max_completion_tokens(mut self, yes: bool) -> Self {
        self.max_completion_tokens = yes;
        self
    }

    /// Marks a reasoning model that ignores sampling settings (warns when they are given).
    #[must_use]
    pub fn reasoner(mut self, yes: bool) -> Self {
        self.reasoner = yes;
        self
    }

    pub(crate) fn display_label(&self, provider: &str) -> String {
        self.label.clone().unwrap_or_else(|| format!("{provider} - {}", self.id))
    }
}

/// The OpenAI chat models of Genkit JS's compat-oai catalogue (plus GPT-4.1 and o3).
pub fn openai_chat_models() -> Vec<ModelSpec> {
    let multimodal = [
        "gpt-4.5",
        "gpt-4.5-preview",
        "gpt-4o",
        "gpt-4o-2024-05-13",
        "gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
        "gpt-4-turbo",
        "gpt-4-turbo-2024-04-09",
        "gpt-4-vision-preview",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "gpt-5-chat-latest",
    ];
    let text = [
        "gpt-4",
        "gpt-4-turbo-preview",
        "gpt-4-0125-preview",
        "gpt-3.5-turbo",
        "gpt-3.5-turbo-0125",
        "gpt-3.5-turbo-1106",
    ];
    let reasoning_multimodal = ["o1", "o3", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5.1"];
    let mut out: Vec<ModelSpec> = multimodal.iter().map(|m| ModelSpec::chat(*m)).collect();
    out.extend(text.iter().map(|m| ModelSpec::chat(*m).supports(text_chat())));
    out.extend(reasoning_multimodal.iter().map(|m| ModelSpec::chat(*m).max_completion_tokens(true)));
    out.push(ModelSpec::chat("o3-mini").supports(text_chat()).max_completion_tokens(true));
    if let Some(o1) = out.iter_mut().find(|m| m.id == "o1") {
        o1.supports.system_role = Some(false);
    }
    out
}

/// OpenAI's image, speech and transcription models.
pub fn openai_media_models() -> Vec<ModelSpec> {
    let mut out = Vec::new();
    for id in ["dall-e-3", "gpt-image-1"] {
        out.push(ModelSpec::of_kind(id, ModelKind::Image));
    }
    for id in ["tts-1", "tts-1-hd", "gpt-4o-mini-tts"] {
        out.push(ModelSpec::of_kind(id, ModelKind::Speech));
    }
    for id in ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"] {
        out.push(ModelSpec::of_kind(id, ModelKind::Transcription));
    }
    out
}

/// OpenAI's embedders and their vector lengths.
pub const OPENAI_EMBEDDERS: [(&str, usize); 3] =
    [("text-embedding-3-small", 1536), ("text-embedding-3-large", 3072), ("text-embedding-ada-002", 1536)];

/// DeepSeek: `deepseek-chat` (tools, JSON) and `deepseek-reasoner` (reasoning, no tools).
pub fn deepseek_models() -> Vec<ModelSpec> {
    vec![
        ModelSpec::chat("deepseek-chat").label("DeepSeek Chat").supports(text_chat()),
        deepseek_reasoner("deepseek-reasoner").label("DeepSeek Reasoner"),
    ]
}

/// The spec of a DeepSeek reasoner model.
pub(crate) fn deepseek_reasoner(id: &str) -> ModelSpec {
    ModelSpec::chat(id)
        .supports(ModelSupports {
            tools: Some(false),
            tool_choice: Some(false),
            output: Some(vec!["text".into()]),
            constrained: Some(Constrained::None),
            ..text_chat()
        })
        .reasoner(true)
}

/// xAI Grok chat models, the vision model and the image model.
pub fn xai_models() -> Vec<ModelSpec> {
    let mut out: Vec<ModelSpec> = ["grok-4", "grok-3", "grok-3-fast", "grok-3-mini", "grok-3-mini-fast"]
        .iter()
        .map(|m| ModelSpec::chat(*m).supports(text_chat()))
        .collect();
    if let Some(g4) = out.iter_mut().find(|m| m.id == "grok-4") {
        g4.supports.media = Some(true);
    }
    out.push(ModelSpec::chat("grok-2-vision-1212").supports(ModelSupports {
        tools: Some(false),
        tool_choice: Some(false),
        ..multimodal_chat()
    }));
    out.push(ModelSpec::of_kind("grok-2-image-1212", ModelKind::Image));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_have_the_js_models_with_the_right_capabilities() {
        let oa = openai_chat_models();
        let get = |id: &str| oa.iter().find(|m| m.id == id).unwrap();
        assert_eq!(get("gpt-4o").supports.media, Some(true));
        assert_eq!(get("gpt-3.5-turbo").supports.media, Some(false));
        assert!(get("o3-mini").max_completion_tokens && !get("gpt-4o").max_completion_tokens);
        assert_eq!(get("o1").supports.system_role, Some(false));
        for id in ["gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5-chat-latest", "gpt-5.1", "gpt-4.5", "o4-mini"] {
            get(id);
        }
        let ds = deepseek_models();
        assert!(ds[1].reasoner && ds[1].supports.tools == Some(false));
        assert_eq!(ds[0].supports.tools, Some(true));
        let x = xai_models();
        assert!(x.iter().any(|m| m.id == "grok-2-image-1212" && m.kind == ModelKind::Image));
        assert!(x.iter().any(|m| m.id == "grok-2-vision-1212" && m.supports.media == Some(true)));
        assert!(openai_media_models().iter().all(|m| m.kind == ModelKind::guess(&m.id)));
    }
}
