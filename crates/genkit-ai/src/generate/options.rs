//! `GenerateOptions`: everything a `generate` call takes (JS `GenerateOptions`), as a
//! builder or a struct literal with `..Default::default()`.

use std::fmt;
use std::sync::Arc;

use genkit_core::{Action, ActionContext, StreamSink};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::middleware::MiddlewareUse;
use crate::tool::Tool;
use crate::types::Content;
use crate::{DocumentData, GenerateResponseChunk, Instructions, Message, ModelRef, Part, ToolChoice};

/// The setters of the generation parameters `GenerateOptions` and `PromptConfig` share
/// (model, config, tools, tool choice, turns, output, middleware), written once: both structs
/// have these fields with the same names and types.
macro_rules! generation_setters {
    () => {
        /// Sets the model.
        #[must_use]
        pub fn model(mut self, model: impl Into<$crate::ModelArg>) -> Self {
            self.model = Some(model.into());
            self
        }

        /// Sets the model config (merged over the model reference's config).
        #[must_use]
        pub fn config(mut self, config: serde_json::Value) -> Self {
            self.config = Some(config);
            self
        }

        /// Adds a tool (a name, a typed tool, or any action).
        #[must_use]
        pub fn tool(mut self, tool: impl Into<$crate::ToolArg>) -> Self {
            self.tools.push(tool.into());
            self
        }

        /// Adds tools.
        #[must_use]
        pub fn tools<T: Into<$crate::ToolArg>>(mut self, tools: impl IntoIterator<Item = T>) -> Self {
            self.tools.extend(tools.into_iter().map(Into::into));
            self
        }

        /// Sets the tool choice.
        #[must_use]
        pub fn tool_choice(mut self, choice: $crate::ToolChoice) -> Self {
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

        /// Sets the output options.
        #[must_use]
        pub fn output(mut self, output: $crate::OutputOptions) -> Self {
            self.output = Some(output);
            self
        }

        /// Asks for JSON output conforming to `T`'s schema.
        #[must_use]
        pub fn output_type<T: schemars::JsonSchema>(mut self) -> Self {
            self.output = Some($crate::OutputOptions::of::<T>());
            self
        }

        /// Adds a middleware (a value implementing `Middleware`, or a `MiddlewareUse`).
        #[must_use]
        pub fn use_middleware(mut self, m: impl Into<$crate::middleware::MiddlewareUse>) -> Self {
            self.middleware.push(m.into());
            self
        }
    };
}
pub(crate) use generation_setters;

/// A model: by name, by reference (with default config), or an action.
#[derive(Clone)]
pub enum ModelArg {
    /// A registered model's name, e.g. `"googleai/gemini-2.5-flash"`.
    Name(String),
    /// A reference with default config.
    Ref(ModelRef),
    /// A model action (registered in the call's registry if needed).
    Action(Arc<dyn Action>),
}

impl fmt::Debug for ModelArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelArg::Name(n) => write!(f, "Name({n})"),
            ModelArg::Ref(r) => write!(f, "Ref({})", r.name()),
            ModelArg::Action(a) => write!(f, "Action({})", a.key()),
        }
    }
}

impl From<&str> for ModelArg {
    fn from(s: &str) -> Self {
        ModelArg::Name(s.to_owned())
    }
}

impl From<String> for ModelArg {
    fn from(s: String) -> Self {
        ModelArg::Name(s)
    }
}

impl From<ModelRef> for ModelArg {
    fn from(r: ModelRef) -> Self {
        ModelArg::Ref(r)
    }
}

impl From<&ModelRef> for ModelArg {
    fn from(r: &ModelRef) -> Self {
        ModelArg::Ref(r.clone())
    }
}

impl From<&crate::Model> for ModelArg {
    fn from(a: &crate::Model) -> Self {
        ModelArg::Action(a.as_action())
    }
}

/// A tool (or resource): by name (`"lookup"`, `"/tool/lookup"`, `"mcp:tool/*"`), or an
/// action (dynamic tools are registered in the call's registry).
#[derive(Clone)]
pub enum ToolArg {
    /// By name or key.
    Name(String),
    /// An action.
    Action(Arc<dyn Action>),
}

impl fmt::Debug for ToolArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolArg::Name(n) => write!(f, "Name({n})"),
            ToolArg::Action(a) => write!(f, "Action({})", a.key()),
        }
    }
}

impl From<&str> for ToolArg {
    fn from(s: &str) -> Self {
        ToolArg::Name(s.to_owned())
    }
}

impl From<String> for ToolArg {
    fn from(s: String) -> Self {
        ToolArg::Name(s)
    }
}

impl From<Arc<dyn Action>> for ToolArg {
    fn from(a: Arc<dyn Action>) -> Self {
        ToolArg::Action(a)
    }
}

impl<I, O> From<&Tool<I, O>> for ToolArg
where
    I: DeserializeOwned + Serialize + schemars::JsonSchema + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + schemars::JsonSchema + Send + Sync + 'static,
{
    fn from(t: &Tool<I, O>) -> Self {
        ToolArg::Action(t.as_action())
    }
}

impl<I, O, S> From<&genkit_core::ActionDef<I, O, S>> for ToolArg
where
    I: DeserializeOwned + Serialize + schemars::JsonSchema + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + schemars::JsonSchema + Send + Sync + 'static,
    S: Serialize + schemars::JsonSchema + Send + Sync + 'static,
{
    fn from(a: &genkit_core::ActionDef<I, O, S>) -> Self {
        ToolArg::Action(a.as_action())
    }
}

/// Output options (JS `output: {format, contentType, instructions, schema, constrained}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutputOptions {
    /// Format name (`json`, `text`, `array`, `enum`, `jsonl`, or a custom one); `json` when
    /// a schema is given without one.
    pub format: Option<String>,
    /// Content type.
    pub content_type: Option<String>,
    /// Inject the format's instructions (`true`), none (`false`), or custom text.
    pub instructions: Option<Instructions>,
    /// JSON schema of the output.
    pub schema: Option<Value>,
    /// Ask for constrained generation.
    pub constrained: Option<bool>,
}

impl OutputOptions {
    /// JSON output conforming to `T`'s schema.
    pub fn of<T: schemars::JsonSchema>() -> Self {
        OutputOptions { schema: Some(crate::generate::typed::schema_of::<T>()), ..Self::default() }
    }

    /// Output in the named format.
    pub fn format(format: impl Into<String>) -> Self {
        OutputOptions { format: Some(format.into()), ..Self::default() }
    }

    /// Sets the schema.
    #[must_use]
    pub fn with_schema(mut self, schema: Value) -> Self {
        self.schema = Some(schema);
        self
    }
}

/// Resume options: answers to interrupts and tool requests to run again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResumeOptions {
    /// Tool response parts (from `Tool::respond` / `respond_tool`).
    pub respond: Vec<Part>,
    /// Tool request parts to restart (from `Tool::restart` / `restart_tool`).
    pub restart: Vec<Part>,
    /// Metadata recorded on the resumed tool message (`metadata.resumed`).
    pub metadata: Option<Map<String, Value>>,
}

/// Everything a `generate` call takes.
///
/// ```
/// use genkit_ai::generate::GenerateOptions;
/// let opts = GenerateOptions::new().model("test/echo").system("Be brief.").prompt("Hi").max_turns(2);
/// assert_eq!(opts.max_turns, Some(2));
/// ```
#[derive(Clone, Default)]
pub struct GenerateOptions {
    /// The model (else the registry's default model).
    pub model: Option<ModelArg>,
    /// System instructions: one leading system message.
    pub system: Option<Content>,
    /// The prompt: one trailing user message.
    pub prompt: Option<Content>,
    /// History, between system and prompt.
    pub messages: Vec<Message>,
    /// Documents for the model's context.
    pub docs: Vec<DocumentData>,
    /// Tools the model may call.
    pub tools: Vec<ToolArg>,
    /// Resources available to `resource` parts.
    pub resources: Vec<ToolArg>,
    /// Tool choice.
    pub tool_choice: Option<ToolChoice>,
    /// Return tool requests instead of running them.
    pub return_tool_requests: Option<bool>,
    /// Maximum tool-call rounds (default 5).
    pub max_turns: Option<u32>,
    /// Model config, merged over the model reference's config.
    pub config: Option<Value>,
    /// Output options.
    pub output: Option<OutputOptions>,
    /// Resume after interrupts.
    pub resume: Option<ResumeOptions>,
    /// Middleware (`use`).
    pub middleware: Vec<MiddlewareUse>,
    /// Action context for the model, tools and sub-actions.
    pub context: Option<ActionContext>,
    /// Cancels the generation (JS `abortSignal`).
    pub cancellation: Option<CancellationToken>,
    /// Name of the generate span (default `generate`).
    pub step_name: Option<String>,
    /// Receives streamed chunks (JS `onChunk`).
    pub on_chunk: Option<StreamSink<GenerateResponseChunk>>,
    /// Metadata for tooling, not sent to the model (a rendered prompt puts its frontmatter
    /// `metadata` here as `{"prompt": …}`).
    pub metadata: Option<Map<String, Value>>,
}

impl fmt::Debug for GenerateOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenerateOptions")
            .field("model", &self.model)
            .field("messages", &self.messages.len())
            .field("tools", &self.tools)
            .field("max_turns", &self.max_turns)
            .finish_non_exhaustive()
    }
}

impl GenerateOptions {
    /// Empty options.
    pub fn new() -> Self {
        Self::default()
    }

    generation_setters!();

    /// Sets the system instructions.
    #[must_use]
    pub fn system(mut self, system: impl Into<Content>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Sets the prompt.
    #[must_use]
    pub fn prompt(mut self, prompt: impl Into<Content>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }

    /// Sets the history.
    #[must_use]
    pub fn messages(mut self, messages: Vec<Message>) -> Self {
        self.messages = messages;
        self
    }

    /// Adds context documents.
    #[must_use]
    pub fn docs(mut self, docs: Vec<DocumentData>) -> Self {
        self.docs = docs;
        self
    }

    /// Adds a resource.
    #[must_use]
    pub fn resource(mut self, resource: impl Into<ToolArg>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// Resumes after interrupts.
    #[must_use]
    pub fn resume(mut self, resume: ResumeOptions) -> Self {
        self.resume = Some(resume);
        self
    }

    /// Sets the action context.
    #[must_use]
    pub fn context(mut self, context: ActionContext) -> Self {
        self.context = Some(context);
        self
    }

    /// Cancels the generation when `token` fires.
    #[must_use]
    pub fn cancellation(mut self, token: CancellationToken) -> Self {
        self.cancellation = Some(token);
        self
    }

    /// Names the generate span.
    #[must_use]
    pub fn step_name(mut self, name: impl Into<String>) -> Self {
        self.step_name = Some(name.into());
        self
    }

    /// Sets the tooling metadata.
    #[must_use]
    pub fn metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Receives streamed chunks.
    #[must_use]
    pub fn on_chunk(mut self, f: impl Fn(GenerateResponseChunk) + Send + Sync + 'static) -> Self {
        self.on_chunk = Some(StreamSink::new(f));
        self
    }
}

impl From<&str> for GenerateOptions {
    fn from(prompt: &str) -> Self {
        GenerateOptions::new().prompt(prompt)
    }
}

impl From<String> for GenerateOptions {
    fn from(prompt: String) -> Self {
        GenerateOptions::new().prompt(prompt)
    }
}

impl From<Part> for GenerateOptions {
    /// A prompt of one part (JS `ai.generate(part)`).
    fn from(prompt: Part) -> Self {
        GenerateOptions::new().prompt(prompt)
    }
}

impl From<Vec<Part>> for GenerateOptions {
    /// A prompt of several parts, e.g. text and media (JS `ai.generate([part, …])`).
    fn from(prompt: Vec<Part>) -> Self {
        GenerateOptions::new().prompt(prompt)
    }
}
