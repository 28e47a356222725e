//! [`PromptConfig`]: what a prompt is made of (JS `PromptConfig`), as a builder or a
//! struct literal with `..Default::default()`.

use std::fmt;
use std::future::Future;

use genkit_core::Result;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use super::content::{
    DocsFnHandle, MessagesFnHandle, PartsFnHandle, PromptContent, PromptCx, PromptDocs, PromptMessages,
};
use super::content::{content_to_parts, erase};
use crate::generate::{ModelArg, OutputOptions, ToolArg};
use crate::middleware::MiddlewareUse;
use crate::{Content, DocumentData, Message, ToolChoice};

/// Everything a prompt is made of (JS `PromptConfig`): name and variant, model and config,
/// input and output schemas, the `system` / `messages` / `prompt` templates (or parts, or
/// functions), docs, tools and generation options.
///
/// ```
/// use genkit_ai::prompt::PromptConfig;
/// use serde_json::json;
/// let cfg = PromptConfig::new("greet")
///     .model("googleai/gemini-2.5-flash")
///     .input_schema(json!({"type": "object", "properties": {"name": {"type": "string"}}}))
///     .system("You are friendly.")
///     .prompt("Say hello to {{name}}.");
/// assert_eq!(cfg.name, "greet");
/// ```
#[derive(Clone, Default)]
pub struct PromptConfig {
    /// The prompt name (registered as `/prompt/<name>[.<variant>]`).
    pub name: String,
    /// A variant of the prompt (`greet.formal`).
    pub variant: Option<String>,
    /// The model (else the call's model, else the default model).
    pub model: Option<ModelArg>,
    /// Model config, merged under the call's config.
    pub config: Option<Value>,
    /// A description (shown in the Dev UI, and to models when the prompt is a tool).
    pub description: Option<String>,
    /// JSON schema of the input.
    pub input_schema: Option<Value>,
    /// Default template variables, merged under the input (`{...default, ...input}`) before
    /// rendering templates and calling prompt functions.
    pub input_default: Option<Value>,
    /// Output format and schema.
    pub output: Option<OutputOptions>,
    /// System instructions: one leading `system` message.
    pub system: Option<PromptContent>,
    /// Messages between the system message and the prompt (and the history).
    pub messages: Option<PromptMessages>,
    /// The prompt: one trailing `user` message.
    pub prompt: Option<PromptContent>,
    /// Documents for the model's context.
    pub docs: Option<PromptDocs>,
    /// Tools the model may call.
    pub tools: Vec<ToolArg>,
    /// Tool choice.
    pub tool_choice: Option<ToolChoice>,
    /// Maximum tool-call rounds.
    pub max_turns: Option<u32>,
    /// Return tool requests instead of running them.
    pub return_tool_requests: Option<bool>,
    /// Metadata of the prompt action (`metadata.prompt` entries are merged into the action's
    /// `metadata.prompt`; a `metadata` entry becomes the rendered options' `metadata.prompt`).
    pub metadata: Option<Map<String, Value>>,
    /// Generate middleware (`use`).
    pub middleware: Vec<MiddlewareUse>,
}

impl fmt::Debug for PromptConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromptConfig")
            .field("name", &self.name)
            .field("variant", &self.variant)
            .field("model", &self.model)
            .field("system", &self.system)
            .field("messages", &self.messages)
            .field("prompt", &self.prompt)
            .finish_non_exhaustive()
    }
}

impl PromptConfig {
    /// A prompt named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        PromptConfig { name: name.into(), ..Self::default() }
    }

    /// The registry name: `name` or `name.variant`.
    pub fn key_name(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}.{v}", self.name),
            None => self.name.clone(),
        }
    }

    /// Sets the variant.
    #[must_use]
    pub fn variant(mut self, variant: impl Into<String>) -> Self {
        self.variant = Some(variant.into());
        self
    }

    crate::generate::generation_setters!();

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the input JSON schema.
    #[must_use]
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.input_schema = Some(schema);
        self
    }

    /// Sets the input JSON schema from a Rust type.
    #[must_use]
    pub fn input_type<T: schemars::JsonSchema>(mut self) -> Self {
        self.input_schema = Some(crate::generate::schema_of::<T>());
        self
    }

    /// Sets default template variables.
    #[must_use]
    pub fn input_default(mut self, default: Value) -> Self {
        self.input_default = Some(default);
        self
    }

    /// Sets the system instructions: a template string or parts.
    #[must_use]
    pub fn system(mut self, system: impl Into<PromptContent>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Sets the system instructions from a function of the input (typed as `T`, deserialized
    /// from the input JSON).
    #[must_use]
    pub fn system_fn<T, C, F, Fut>(mut self, f: F) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        C: Into<Content> + 'static,
        F: Fn(T, PromptCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<C>> + Send + 'static,
    {
        self.system = Some(content_fn(f));
        self
    }

    /// Sets the prompt: a template string or parts.
    #[must_use]
    pub fn prompt(mut self, prompt: impl Into<PromptContent>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }

    /// Sets the prompt from a function of the input.
    ///
    /// ```
    /// use genkit_ai::prompt::PromptConfig;
    /// #[derive(serde::Deserialize)]
    /// struct Topic { topic: String }
    /// let cfg = PromptConfig::new("joke")
    ///     .prompt_fn(|t: Topic, _cx| async move { Ok(format!("Tell a joke about {}.", t.topic)) });
    /// assert!(cfg.prompt.is_some());
    /// ```
    #[must_use]
    pub fn prompt_fn<T, C, F, Fut>(mut self, f: F) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        C: Into<Content> + 'static,
        F: Fn(T, PromptCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<C>> + Send + 'static,
    {
        self.prompt = Some(content_fn(f));
        self
    }

    /// Sets the messages: a template string (with `{{role}}`/`{{history}}` markers) or fixed
    /// messages.
    #[must_use]
    pub fn messages(mut self, messages: impl Into<PromptMessages>) -> Self {
        self.messages = Some(messages.into());
        self
    }

    /// Sets the messages from a function of the input and the history.
    #[must_use]
    pub fn messages_fn<T, F, Fut>(mut self, f: F) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(T, PromptCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<Message>>> + Send + 'static,
    {
        self.messages = Some(PromptMessages::Fn(MessagesFnHandle(erase::<T, Vec<Message>, Vec<Message>, F, Fut>(f))));
        self
    }

    /// Sets fixed documents.
    #[must_use]
    pub fn docs(mut self, docs: Vec<DocumentData>) -> Self {
        self.docs = Some(PromptDocs::Docs(docs));
        self
    }

    /// Sets the documents from a function of the input.
    #[must_use]
    pub fn docs_fn<T, F, Fut>(mut self, f: F) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(T, PromptCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<DocumentData>>> + Send + 'static,
    {
        self.docs = Some(PromptDocs::Fn(DocsFnHandle(erase::<T, Vec<DocumentData>, Vec<DocumentData>, F, Fut>(f))));
        self
    }

    /// Adds a metadata entry.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: Value) -> Self {
        self.metadata.get_or_insert_with(Map::new).insert(key.into(), value);
        self
    }
}

/// A `system`/`prompt` function of the typed input, erased to a parts function.
fn content_fn<T, C, F, Fut>(f: F) -> PromptContent
where
    T: DeserializeOwned + Send + 'static,
    C: Into<Content> + 'static,
    F: Fn(T, PromptCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<C>> + Send + 'static,
{
    PromptContent::Fn(PartsFnHandle(content_to_parts(erase::<T, Content, C, F, Fut>(f))))
}
