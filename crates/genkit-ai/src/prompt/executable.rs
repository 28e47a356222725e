//! [`ExecutablePrompt`]: the handle applications call a prompt through: render,
//! generate, stream, or use it as a tool; looked up lazily when made from a name.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use genkit_core::{Action, ActionStream, Error, Registry, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::action::prompt_state;
use super::render::render_traced;
use super::state::PromptState;
use crate::GenerateResponse;
use crate::generate::{DataStream, GenerateOptions, GenerateStream, ToolArg, generate};

/// A prompt reference (JS `ref`): the registry name (`name` or `name.variant`) and the
/// metadata the prompt was defined with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptRef {
    /// `name` or `name.variant`.
    pub name: String,
    /// The `metadata` of the prompt's config (none for `.prompt` files and lookups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

enum Target {
    Defined(Arc<PromptState>),
    Lookup { name: String, variant: Option<String>, key: String, found: OnceLock<Arc<PromptState>> },
}

/// A prompt you can call: render it, generate with it (plain, streaming or typed), or hand it
/// to a model as a tool. Cheap to clone.
///
/// `I` is the input type (serialized to the template variables) and `O` the output type
/// (`generate_data` parses the response into it); both default to JSON [`Value`]. Get one
/// from `Genkit::define_prompt`, `Genkit::prompt` (a lazy lookup: the prompt is resolved on
/// first use), or turn one into a typed handle with [`ExecutablePrompt::typed`].
pub struct ExecutablePrompt<I = Value, O = Value> {
    registry: Registry,
    target: Arc<Target>,
    _io: PhantomData<fn(I) -> O>,
}

impl<I, O> Clone for ExecutablePrompt<I, O> {
    fn clone(&self) -> Self {
        ExecutablePrompt { registry: self.registry.clone(), target: self.target.clone(), _io: PhantomData }
    }
}

impl<I, O> fmt::Debug for ExecutablePrompt<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutablePrompt").field("name", &self.name()).finish_non_exhaustive()
    }
}

/// Serializes the input, moving it when it already is a `Value`.
fn input_json<I: Serialize + 'static>(input: I) -> Result<Value> {
    let boxed: Box<dyn Any> = Box::new(input);
    match boxed.downcast::<Value>() {
        Ok(v) => Ok(*v),
        Err(b) => match b.downcast::<I>() {
            Ok(i) => serde_json::to_value(&*i).map_err(|e| {
                Error::invalid_argument(format!("the prompt input cannot be serialized: {e}")).with_source(e)
            }),
            Err(_) => Err(Error::internal("prompt input type mismatch")),
        },
    }
}

impl<I, O> ExecutablePrompt<I, O> {
    pub(crate) fn defined(registry: Registry, state: Arc<PromptState>) -> Self {
        ExecutablePrompt { registry, target: Arc::new(Target::Defined(state)), _io: PhantomData }
    }

    pub(crate) fn lookup(registry: Registry, name: &str, variant: Option<&str>) -> Self {
        let key = match variant {
            Some(v) => format!("{name}.{v}"),
            None => name.to_owned(),
        };
        let target =
            Target::Lookup { name: name.to_owned(), variant: variant.map(str::to_owned), key, found: OnceLock::new() };
        ExecutablePrompt { registry, target: Arc::new(target), _io: PhantomData }
    }

    /// The registry name: `name` or `name.variant`.
    pub fn name(&self) -> &str {
        match &*self.target {
            Target::Defined(s) => &s.key,
            Target::Lookup { key, .. } => key,
        }
    }

    /// The prompt reference (JS `ref`).
    pub fn reference(&self) -> PromptRef {
        let metadata = match &*self.target {
            Target::Defined(s) => s.ref_metadata().cloned(),
            Target::Lookup { .. } => None,
        };
        PromptRef { name: self.name().to_owned(), metadata }
    }

    /// The same prompt with other input and output types (for example a typed handle on a
    /// prompt loaded from a `.prompt` file). No schema is added.
    pub fn typed<I2, O2>(&self) -> ExecutablePrompt<I2, O2> {
        ExecutablePrompt { registry: self.registry.clone(), target: self.target.clone(), _io: PhantomData }
    }

    async fn state(&self) -> Result<Arc<PromptState>> {
        match &*self.target {
            Target::Defined(s) => Ok(s.clone()),
            Target::Lookup { name, variant, key, found } => {
                if let Some(s) = found.get() {
                    return Ok(s.clone());
                }
                let action = self.registry.lookup_action(&format!("/prompt/{key}")).await?;
                let Some(state) = action.as_deref().and_then(prompt_state) else {
                    let v = variant.as_ref().map(|v| format!(" (variant {v})")).unwrap_or_default();
                    return Err(Error::not_found(format!("Prompt {name}{v} not found")));
                };
                Ok(found.get_or_init(|| state).clone())
            }
        }
    }

    async fn render_json(&self, input: &Value, opts: GenerateOptions) -> Result<GenerateOptions> {
        let state = self.state().await?;
        render_traced(&state, &self.registry.telemetry(), input, opts).await
    }

    async fn generate_json(&self, input: Value, opts: GenerateOptions) -> Result<GenerateResponse> {
        let state = self.state().await?;
        let telemetry = self.registry.telemetry();
        let fut = async {
            let rendered = render_traced(&state, &telemetry, &input, opts).await?;
            generate(&self.registry, rendered).await
        };
        genkit_core::run_span(&telemetry, &state.key, "dotprompt", || Some(input.to_string()), fut).await
    }

    /// The prompt as a tool (JS `asTool()`): its `/prompt/…` action, which a model calls with
    /// the prompt input and which returns the rendered `GenerateRequest` (Genkit 1.42
    /// semantics). `ToolArg::from(&prompt)` does the same without the lookup.
    ///
    /// # Errors
    /// `NOT_FOUND` when the prompt does not exist; its resolution errors.
    pub async fn as_tool(&self) -> Result<Arc<dyn Action>> {
        let key = format!("/prompt/{}", self.name());
        self.state().await?;
        self.registry.require_action(&key).await
    }
}

impl<I: Serialize + 'static, O> ExecutablePrompt<I, O> {
    /// Renders the prompt (JS `render`): the options of the `generate` call it would make.
    ///
    /// # Errors
    /// `NOT_FOUND` for a missing prompt, schema or partial; `INVALID_ARGUMENT` for template
    /// errors; the errors of prompt functions.
    pub async fn render(&self, input: I) -> Result<GenerateOptions> {
        self.render_with(input, GenerateOptions::default()).await
    }

    /// [`Self::render`] with call options laid over the prompt's (set fields win, `config`
    /// is merged key by key, `messages` are the history).
    ///
    /// # Errors
    /// As [`Self::render`].
    pub async fn render_with(&self, input: I, opts: GenerateOptions) -> Result<GenerateOptions> {
        let input = input_json(input)?;
        self.render_json(&input, opts).await
    }

    /// Renders the prompt and generates (JS `prompt(input)`), in a `dotprompt` span named
    /// after the prompt.
    ///
    /// # Errors
    /// As [`ExecutablePrompt::render`], then as `generate`.
    pub async fn generate(&self, input: I) -> Result<GenerateResponse> {
        self.generate_with(input, GenerateOptions::default()).await
    }

    /// [`Self::generate`] with call options (JS `prompt(input, opts)`), laid over the
    /// prompt's as [`Self::render_with`] does.
    ///
    /// # Errors
    /// As [`Self::generate`].
    pub async fn generate_with(&self, input: I, opts: GenerateOptions) -> Result<GenerateResponse> {
        let input = input_json(input)?;
        self.generate_json(input, opts).await
    }

    /// Renders the prompt and streams the generation (JS `prompt.stream`): iterate the
    /// chunks, then `.output()` for the response.
    pub fn stream(&self, input: I) -> GenerateStream {
        self.stream_with(input, GenerateOptions::default())
    }

    /// [`Self::stream`] with call options.
    pub fn stream_with(&self, input: I, opts: GenerateOptions) -> GenerateStream {
        let this: ExecutablePrompt = self.typed();
        let input = input_json(input);
        ActionStream::new(move |sink| async move {
            let mut opts = opts;
            opts.on_chunk = Some(sink);
            this.generate_json(input?, opts).await
        })
    }
}

impl<I: Serialize + 'static, O: DeserializeOwned> ExecutablePrompt<I, O> {
    /// Generates and parses the output into `O` (validated against the output schema when the
    /// prompt has one).
    ///
    /// # Errors
    /// As [`ExecutablePrompt::generate`]; `INVALID_ARGUMENT` when the output does not fit `O`;
    /// `FAILED_PRECONDITION` when the model produced no output.
    pub async fn generate_data(&self, input: I) -> Result<O> {
        self.generate_data_with(input, GenerateOptions::default()).await
    }

    /// [`Self::generate_data`] with call options.
    ///
    /// # Errors
    /// As [`Self::generate_data`].
    pub async fn generate_data_with(&self, input: I, opts: GenerateOptions) -> Result<O> {
        self.generate_with(input, opts).await?.output_as::<O>()
    }

    /// Streams the generation; each chunk comes with the output parsed so far as `O`.
    pub fn stream_data(&self, input: I) -> DataStream<O> {
        self.stream_data_with(input, GenerateOptions::default())
    }

    /// [`Self::stream_data`] with call options.
    pub fn stream_data_with(&self, input: I, opts: GenerateOptions) -> DataStream<O> {
        DataStream::from_stream(self.stream_with(input, opts))
    }
}

impl<I, O> From<&ExecutablePrompt<I, O>> for ToolArg {
    fn from(p: &ExecutablePrompt<I, O>) -> Self {
        ToolArg::Name(format!("/prompt/{}", p.name()))
    }
}
