//! Prompt metadata, parsed and rendered prompts, and render data.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::{Document, JsonMap, Message};

/// A tool made available to the model (`toolDefs` in resolved metadata).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolDefinition {
    /// The tool name.
    pub name: String,
    /// What the tool does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the tool input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// JSON Schema of the tool output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Extra tool metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonMap>,
}

impl ToolDefinition {
    /// A tool definition with a name and an input schema.
    pub fn new(name: impl Into<String>, input_schema: Value) -> Self {
        ToolDefinition { name: name.into(), input_schema: Some(input_schema), ..Default::default() }
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// The `input` section of prompt metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptInput {
    /// Default values merged under the render input (`{...default, ...input}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<JsonMap>,
    /// The input schema: Picoschema in frontmatter, JSON Schema once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Any other keys, kept verbatim.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// The `output` section of prompt metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptOutput {
    /// The output format (`json`, `text`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The output schema: Picoschema in frontmatter, JSON Schema once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Any other keys (`contentType`, `instructions`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// Prompt metadata: the frontmatter of a prompt, per-call options, or the resolved merge of both.
///
/// Used as call options for [`Dotprompt::render`](crate::Dotprompt::render) and
/// [`Dotprompt::render_metadata`](crate::Dotprompt::render_metadata): every field that is set overrides the
/// frontmatter, except `config`, which is merged key by key.
///
/// ```
/// use dotprompt::PromptMetadata;
/// let opts = PromptMetadata::default().model("googleai/gemini-2.5-flash").config_value("temperature", 0.2.into());
/// assert_eq!(opts.model.as_deref(), Some("googleai/gemini-2.5-flash"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptMetadata {
    /// The prompt name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The prompt variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The prompt version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A description of the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Tool names. Once resolved, only the names that no registered tool or resolver knew about remain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Resolved tool definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_defs: Option<Vec<ToolDefinition>>,
    /// Model configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<JsonMap>,
    /// Input defaults and schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<PromptInput>,
    /// Output format and schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<PromptOutput>,
    /// The whole frontmatter as parsed, including non-reserved keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<JsonMap>,
    /// Namespaced frontmatter keys: `a.b.c: v` becomes `ext["a.b"]["c"] = v`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext: Option<JsonMap>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonMap>,
}

impl PromptMetadata {
    /// Sets the model.
    #[must_use]
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Replaces the model config.
    #[must_use]
    pub fn config(mut self, config: JsonMap) -> Self {
        self.config = Some(config);
        self
    }

    /// Sets one model config key.
    #[must_use]
    pub fn config_value(mut self, key: impl Into<String>, value: Value) -> Self {
        self.config.get_or_insert_default().insert(key.into(), value);
        self
    }

    /// Sets the input defaults (`input.default`).
    #[must_use]
    pub fn input_default(mut self, default: JsonMap) -> Self {
        self.input.get_or_insert_default().default = Some(default);
        self
    }

    /// Sets the input schema (Picoschema or JSON Schema).
    #[must_use]
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.input.get_or_insert_default().schema = Some(schema);
        self
    }

    /// Sets the output schema (Picoschema or JSON Schema).
    #[must_use]
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output.get_or_insert_default().schema = Some(schema);
        self
    }

    /// Sets the tool names.
    #[must_use]
    pub fn tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tools = Some(tools.into_iter().map(Into::into).collect());
        self
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == PromptMetadata::default()
    }

    /// Overlays `other` on `self`: set fields replace, `config` merges key by key.
    pub(crate) fn overlay(&mut self, other: &PromptMetadata) {
        fn set<T: Clone>(dst: &mut Option<T>, src: &Option<T>) {
            if let Some(v) = src {
                *dst = Some(v.clone());
            }
        }
        let mut config = self.config.take().unwrap_or_default();
        if let Some(c) = &other.config {
            for (k, v) in c {
                config.insert(k.clone(), v.clone());
            }
        }
        set(&mut self.name, &other.name);
        set(&mut self.variant, &other.variant);
        set(&mut self.version, &other.version);
        set(&mut self.description, &other.description);
        set(&mut self.model, &other.model);
        set(&mut self.tools, &other.tools);
        set(&mut self.tool_defs, &other.tool_defs);
        set(&mut self.input, &other.input);
        set(&mut self.output, &other.output);
        set(&mut self.raw, &other.raw);
        set(&mut self.ext, &other.ext);
        set(&mut self.metadata, &other.metadata);
        self.config = Some(config);
    }
}

/// A parsed `.prompt` source: frontmatter metadata plus the template body.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ParsedPrompt {
    /// The frontmatter metadata (with `raw` and `ext` filled in).
    #[serde(flatten)]
    pub meta: PromptMetadata,
    /// The Handlebars template: the body after the frontmatter, trimmed.
    pub template: String,
    /// How many source lines precede the template, used to report template errors at source lines.
    #[serde(skip)]
    pub template_line_offset: usize,
}

/// The result of rendering a prompt: resolved metadata (without `input`) plus messages.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RenderedPrompt {
    /// The resolved metadata. `input` is always `None` here.
    #[serde(flatten)]
    pub meta: PromptMetadata,
    /// The rendered messages.
    pub messages: Vec<Message>,
}

/// The data a prompt is rendered with.
///
/// ```
/// use dotprompt::DataArgument;
/// use serde_json::json;
/// let data = DataArgument::new().input(json!({"name": "Ada"})).context_value("auth", json!({"uid": "u1"}));
/// assert_eq!(data.context.unwrap()["auth"]["uid"], "u1");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataArgument {
    /// Template variables (the Handlebars root context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// Documents, available as `@metadata.docs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<Vec<Document>>,
    /// Conversation history, placed by `{{history}}` (or before the last user message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
    /// Context values; each key `k` is available as `@k` (`@state`, `@auth`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<JsonMap>,
}

impl DataArgument {
    /// Empty render data.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the template variables.
    #[must_use]
    pub fn input(mut self, input: Value) -> Self {
        self.input = Some(input);
        self
    }

    /// Sets the documents.
    #[must_use]
    pub fn docs(mut self, docs: Vec<Document>) -> Self {
        self.docs = Some(docs);
        self
    }

    /// Sets the history messages.
    #[must_use]
    pub fn messages(mut self, messages: Vec<Message>) -> Self {
        self.messages = Some(messages);
        self
    }

    /// Sets one context value, available in templates as `@key`.
    #[must_use]
    pub fn context_value(mut self, key: impl Into<String>, value: Value) -> Self {
        self.context.get_or_insert_default().insert(key.into(), value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overlay_merges_config_shallowly_and_replaces_the_rest() {
        let mut base = PromptMetadata::default().model("a").config_value("t", json!(1)).config_value("k", json!(2));
        base.input = Some(PromptInput { schema: Some(json!("string")), ..Default::default() });
        let over = PromptMetadata::default().config_value("t", json!(3)).input_default(JsonMap::new());
        base.overlay(&over);
        assert_eq!(base.model.as_deref(), Some("a"));
        assert_eq!(base.config.as_ref().unwrap()["t"], 3);
        assert_eq!(base.config.as_ref().unwrap()["k"], 2);
        assert_eq!(base.input.as_ref().unwrap().schema, None);
    }

    #[test]
    fn metadata_serializes_camel_case() {
        let m = PromptMetadata {
            tool_defs: Some(vec![ToolDefinition::new("t", json!({"type": "object"})).description("d")]),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"toolDefs": [{"name": "t", "description": "d", "inputSchema": {"type": "object"}}]})
        );
    }
}
