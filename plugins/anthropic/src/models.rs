//! The Claude catalogue: which models the plugin registers, the API id each one calls, and
//! what each supports. Any other model id resolves on demand with capabilities guessed from
//! its family.

use genkit_ai::{Constrained, ModelStage, ModelSupports};

/// A Claude model the plugin offers: its Genkit id (`anthropic/<id>`), the model id sent to
/// the API, a label and capabilities.
///
/// ```
/// use genkit_anthropic::ModelSpec;
/// let m = ModelSpec::new("claude-sonnet-4-5-20250929").label("Claude Sonnet 4.5 (pinned)");
/// assert_eq!(m.id(), "claude-sonnet-4-5-20250929");
/// assert!(m.capabilities().constrained.is_some(), "the family takes native structured output");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub(crate) id: String,
    pub(crate) api_id: String,
    pub(crate) label: Option<String>,
    pub(crate) supports: ModelSupports,
    pub(crate) stage: Option<ModelStage>,
}

/// Families that take native structured output (`output_format` JSON schema), effort and the
/// newer beta features: JS's "advanced" models. A dated snapshot (`claude-opus-4-5-20251101`)
/// belongs to its family.
const ADVANCED_FAMILIES: [&str; 7] = [
    "claude-opus-4-7",
    "claude-opus-4-6",
    "claude-opus-4-5",
    "claude-opus-4-1",
    "claude-sonnet-4-6",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
];

/// Capabilities of every Claude model: multi-turn, images and documents, tools with
/// `tool_choice`, system prompts, text output.
pub fn claude_supports() -> ModelSupports {
    ModelSupports {
        multiturn: Some(true),
        media: Some(true),
        tools: Some(true),
        system_role: Some(true),
        tool_choice: Some(true),
        output: Some(vec!["text".into()]),
        ..ModelSupports::default()
    }
}

/// [`claude_supports`] plus JSON output with native constrained generation (the structured
/// outputs of the newer models).
pub fn claude_structured_supports() -> ModelSupports {
    ModelSupports {
        output: Some(vec!["text".into(), "json".into()]),
        constrained: Some(Constrained::All),
        ..claude_supports()
    }
}

fn label_of(id: &str) -> String {
    // `claude-sonnet-4-5` → `Claude Sonnet 4.5`; `claude-3-5-haiku` → `Claude 3.5 Haiku`.
    let mut words: Vec<String> = Vec::new();
    for w in id.split('-') {
        if w.chars().all(|c| c.is_ascii_digit()) && w.len() <= 2 {
            match words.last_mut() {
                Some(last) if last.chars().all(|c| c.is_ascii_digit() || c == '.') => {
                    last.push('.');
                    last.push_str(w);
                }
                _ => words.push(w.to_owned()),
            }
        } else {
            let mut c = w.chars();
            words.push(c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default());
        }
    }
    words.join(" ")
}

impl ModelSpec {
    /// A model called by `id`, with capabilities guessed from its family: the families of
    /// Claude Opus 4.1 and later, Sonnet 4.5 and later and Haiku 4.5 take structured output.
    pub fn new(id: impl Into<String>) -> ModelSpec {
        let id = id.into();
        let supports = if ADVANCED_FAMILIES.iter().any(|f| id.starts_with(f)) {
            claude_structured_supports()
        } else {
            claude_supports()
        };
        ModelSpec { api_id: id.clone(), id, label: None, supports, stage: None }
    }

    /// Sends `api_id` to the API instead of the Genkit id (an alias to a dated snapshot).
    #[must_use]
    pub fn api_id(mut self, api_id: impl Into<String>) -> Self {
        self.api_id = api_id.into();
        self
    }

    /// Sets the label shown in the Dev UI (default: `Anthropic - <name from the id>`).
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

    /// The model's Genkit id (without the `anthropic/` prefix).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The capabilities.
    pub fn capabilities(&self) -> &ModelSupports {
        &self.supports
    }

    /// The label shown in the Dev UI.
    pub fn display_label(&self) -> String {
        self.label.clone().unwrap_or_else(|| format!("Anthropic - {}", label_of(&self.id)))
    }
}

/// The known Claude models, as Genkit JS and Python list them: the current families with
/// structured output, Claude Sonnet 4 and Opus 4 (called by their dated snapshots, as the
/// API has no undated alias for them) and the Claude 3 Haiku models (legacy).
///
/// ```
/// let ids: Vec<_> = genkit_anthropic::claude_models().iter().map(|m| m.id().to_owned()).collect();
/// assert!(ids.contains(&"claude-haiku-4-5".to_owned()));
/// assert!(ids.contains(&"claude-sonnet-4".to_owned()));
/// ```
pub fn claude_models() -> Vec<ModelSpec> {
    let mut out: Vec<ModelSpec> = ADVANCED_FAMILIES.iter().map(|id| ModelSpec::new(*id)).collect();
    out.push(ModelSpec::new("claude-sonnet-4").api_id("claude-sonnet-4-20250514"));
    out.push(ModelSpec::new("claude-opus-4").api_id("claude-opus-4-20250514"));
    out.push(ModelSpec::new("claude-3-5-haiku").api_id("claude-3-5-haiku-latest").stage(ModelStage::Legacy));
    out.push(ModelSpec::new("claude-3-haiku").api_id("claude-3-haiku-20240307").stage(ModelStage::Legacy));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_decide_structured_output() {
        assert_eq!(ModelSpec::new("claude-haiku-4-5").supports.constrained, Some(Constrained::All));
        assert_eq!(ModelSpec::new("claude-opus-4-5-20251101").supports.constrained, Some(Constrained::All));
        assert_eq!(ModelSpec::new("claude-sonnet-4-20250514").supports.constrained, None);
        assert_eq!(ModelSpec::new("claude-3-7-sonnet-latest").supports.output, Some(vec!["text".to_owned()]));
        for m in claude_models() {
            assert_eq!(m.supports.tools, Some(true), "{}", m.id);
            assert_eq!(m.supports.media, Some(true), "{}", m.id);
            assert_eq!(m.supports.system_role, Some(true), "{}", m.id);
        }
    }

    #[test]
    fn labels_read_like_the_product_names() {
        assert_eq!(ModelSpec::new("claude-sonnet-4-5").display_label(), "Anthropic - Claude Sonnet 4.5");
        assert_eq!(ModelSpec::new("claude-3-5-haiku").display_label(), "Anthropic - Claude 3.5 Haiku");
        assert_eq!(ModelSpec::new("claude-opus-4").display_label(), "Anthropic - Claude Opus 4");
        assert_eq!(ModelSpec::new("x").label("X").display_label(), "X");
    }

    #[test]
    fn short_names_call_dated_snapshots() {
        let m = claude_models();
        let sonnet4 = m.iter().find(|m| m.id == "claude-sonnet-4").unwrap();
        assert_eq!(sonnet4.api_id, "claude-sonnet-4-20250514");
        let haiku = m.iter().find(|m| m.id == "claude-haiku-4-5").unwrap();
        assert_eq!(haiku.api_id, "claude-haiku-4-5");
    }
}
