//! [`PromptConfig`]: what a prompt is made of (JS `PromptConfig`, P1), as a builder or a
//! struct literal with `..Default::default()`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use genkit_core::{ActionContext, Error, Result};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::generate::{ModelArg, OutputOptions, ToolArg};
use crate::middleware::MiddlewareUse;
use crate::{Content, DocumentData, Message, Part, ToolChoice};

/// What a prompt function receives besides the input: the context the prompt is rendered
/// with and, for a messages function, the history passed in the call options.
#[derive(Debug, Clone, Default)]
pub struct PromptCx {
    /// The action context (the call's `context`, else the ambient one).
    pub context: ActionContext,
    /// The history (`GenerateOptions::messages` of the call); only given to messages functions.
    pub history: Option<Vec<Message>>,
}

impl PromptCx {
    /// The session state (`context.state`), if any.
    pub fn state(&self) -> Option<&Value> {
        self.context.get("state")
    }
}

pub(crate) type PartsFn = Arc<dyn Fn(Value, PromptCx) -> BoxFuture<'static, Result<Vec<Part>>> + Send + Sync>;
pub(crate) type MessagesFn = Arc<dyn Fn(Value, PromptCx) -> BoxFuture<'static, Result<Vec<Message>>> + Send + Sync>;
pub(crate) type DocsFn = Arc<dyn Fn(Value, PromptCx) -> BoxFuture<'static, Result<Vec<DocumentData>>> + Send + Sync>;

/// Deserializes the prompt input for a typed prompt function (a move for `Value`).
fn typed_input<T: DeserializeOwned + 'static>(input: Value) -> Result<T> {
    let boxed: Box<dyn std::any::Any> = Box::new(input);
    match boxed.downcast::<T>() {
        Ok(t) => Ok(*t),
        Err(b) => match b.downcast::<Value>() {
            Ok(v) => serde_json::from_value(*v).map_err(|e| {
                Error::invalid_argument(format!("the prompt input does not fit the function's input type: {e}"))
                    .with_source(e)
            }),
            Err(_) => Err(Error::internal("prompt input type mismatch")),
        },
    }
}

fn erase<T, R, C, F, Fut>(f: F) -> Arc<dyn Fn(Value, PromptCx) -> BoxFuture<'static, Result<R>> + Send + Sync>
where
    T: DeserializeOwned + Send + 'static,
    C: Into<R> + 'static,
    R: Send + 'static,
    F: Fn(T, PromptCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<C>> + Send + 'static,
{
    Arc::new(move |input: Value, cx: PromptCx| match typed_input::<T>(input) {
        Ok(t) => f(t, cx).map(|r| r.map(Into::into)).boxed(),
        Err(e) => futures::future::ready(Err(e)).boxed(),
    })
}

/// The `system` or `prompt` of a prompt: a Dotprompt template, fixed parts, or a function of
/// the input. Strings convert to templates, parts to fixed parts.
#[derive(Clone)]
pub enum PromptContent {
    /// A Dotprompt (Handlebars) template rendered to exactly one message.
    Template(String),
    /// Fixed parts.
    Parts(Vec<Part>),
    /// A function of the input (see [`PromptConfig::system_fn`]).
    Fn(PartsFnHandle),
}

/// A prompt function, type-erased (see [`PromptConfig::system_fn`], [`PromptConfig::prompt_fn`]).
#[derive(Clone)]
pub struct PartsFnHandle(pub(crate) PartsFn);

impl fmt::Debug for PartsFnHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PartsFn")
    }
}

impl fmt::Debug for PromptContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromptContent::Template(t) => f.debug_tuple("Template").field(t).finish(),
            PromptContent::Parts(p) => f.debug_tuple("Parts").field(p).finish(),
            PromptContent::Fn(_) => f.write_str("Fn"),
        }
    }
}

impl From<&str> for PromptContent {
    fn from(s: &str) -> Self {
        PromptContent::Template(s.to_owned())
    }
}

impl From<String> for PromptContent {
    fn from(s: String) -> Self {
        PromptContent::Template(s)
    }
}

impl From<Part> for PromptContent {
    fn from(p: Part) -> Self {
        PromptContent::Parts(vec![p])
    }
}

impl From<Vec<Part>> for PromptContent {
    fn from(p: Vec<Part>) -> Self {
        PromptContent::Parts(p)
    }
}

/// The `messages` of a prompt: a Dotprompt template (with `{{role}}` and `{{history}}`
/// markers), fixed messages, or a function of the input and the history.
#[derive(Clone)]
pub enum PromptMessages {
    /// A Dotprompt template rendered to any number of messages; the call's history goes where
    /// `{{history}}` is (else before the last user message).
    Template(String),
    /// Fixed messages.
    Messages(Vec<Message>),
    /// A function of the input and [`PromptCx::history`].
    Fn(MessagesFnHandle),
}

/// A messages function, type-erased (see [`PromptConfig::messages_fn`]).
#[derive(Clone)]
pub struct MessagesFnHandle(pub(crate) MessagesFn);

impl fmt::Debug for MessagesFnHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MessagesFn")
    }
}

impl fmt::Debug for PromptMessages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromptMessages::Template(t) => f.debug_tuple("Template").field(t).finish(),
            PromptMessages::Messages(m) => f.debug_tuple("Messages").field(m).finish(),
            PromptMessages::Fn(_) => f.write_str("Fn"),
        }
    }
}

impl From<&str> for PromptMessages {
    fn from(s: &str) -> Self {
        PromptMessages::Template(s.to_owned())
    }
}

impl From<String> for PromptMessages {
    fn from(s: String) -> Self {
        PromptMessages::Template(s)
    }
}

impl From<Vec<Message>> for PromptMessages {
    fn from(m: Vec<Message>) -> Self {
        PromptMessages::Messages(m)
    }
}

/// The `docs` of a prompt: fixed documents or a function of the input.
#[derive(Clone)]
pub enum PromptDocs {
    /// Fixed documents.
    Docs(Vec<DocumentData>),
    /// A function of the input.
    Fn(DocsFnHandle),
}

/// A docs function, type-erased (see [`PromptConfig::docs_fn`]).
#[derive(Clone)]
pub struct DocsFnHandle(pub(crate) DocsFn);

impl fmt::Debug for DocsFnHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DocsFn")
    }
}

impl fmt::Debug for PromptDocs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromptDocs::Docs(d) => f.debug_tuple("Docs").field(d).finish(),
            PromptDocs::Fn(_) => f.write_str("Fn"),
        }
    }
}

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

    /// Sets the model.
    #[must_use]
    pub fn model(mut self, model: impl Into<ModelArg>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the model config.
    #[must_use]
    pub fn config(mut self, config: Value) -> Self {
        self.config = Some(config);
        self
    }

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

    /// Sets the output options.
    #[must_use]
    pub fn output(mut self, output: OutputOptions) -> Self {
        self.output = Some(output);
        self
    }

    /// Asks for JSON output conforming to `T`'s schema.
    #[must_use]
    pub fn output_type<T: schemars::JsonSchema>(mut self) -> Self {
        self.output = Some(OutputOptions::of::<T>());
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
        let f = erase::<T, Content, C, F, Fut>(f);
        self.system = Some(PromptContent::Fn(PartsFnHandle(content_to_parts(f))));
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
        let f = erase::<T, Content, C, F, Fut>(f);
        self.prompt = Some(PromptContent::Fn(PartsFnHandle(content_to_parts(f))));
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

    /// Adds a tool.
    #[must_use]
    pub fn tool(mut self, tool: impl Into<ToolArg>) -> Self {
        self.tools.push(tool.into());
        self
    }

    /// Adds tools.
    #[must_use]
    pub fn tools<T: Into<ToolArg>>(mut self, tools: impl IntoIterator<Item = T>) -> Self {
        self.tools.extend(tools.into_iter().map(Into::into));
        self
    }

    /// Sets the tool choice.
    #[must_use]
    pub fn tool_choice(mut self, choice: ToolChoice) -> Self {
        self.tool_choice = Some(choice);
        self
    }

    /// Sets the maximum number of tool-call rounds.
    #[must_use]
    pub fn max_turns(mut self, n: u32) -> Self {
        self.max_turns = Some(n);
        self
    }

    /// Returns tool requests instead of running tools.
    #[must_use]
    pub fn return_tool_requests(mut self, yes: bool) -> Self {
        self.return_tool_requests = Some(yes);
        self
    }

    /// Adds a metadata entry.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: Value) -> Self {
        self.metadata.get_or_insert_with(Map::new).insert(key.into(), value);
        self
    }

    /// Adds a generate middleware.
    #[must_use]
    pub fn use_middleware(mut self, m: impl Into<MiddlewareUse>) -> Self {
        self.middleware.push(m.into());
        self
    }
}

fn content_to_parts(f: Arc<dyn Fn(Value, PromptCx) -> BoxFuture<'static, Result<Content>> + Send + Sync>) -> PartsFn {
    Arc::new(move |input, cx| f(input, cx).map(|r| r.map(|c| c.0)).boxed())
}
