//! The [`Genkit`] handle and its builder.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use genkit_ai::prompt::EmbeddedPrompts;
use genkit_core::action::InputStream;
use genkit_core::{
    Action, ActionContext, ActionCx, ActionResult, ActionStream, DynPlugin, Flow, Registry, RegistryValue, Result,
    RunOptions, Telemetry,
};
use opentelemetry_sdk::trace::SpanProcessor;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::flow::FlowOptions;

/// The Genkit instance: owns the registry and offers the typed API. Cheap to clone.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
/// use genkit::Genkit;
/// let g = Genkit::builder().build().await?;
/// let joke = g.define_flow("tellJoke", |topic: String, _cx| async move {
///     Ok(format!("A joke about {topic}"))
/// });
/// assert_eq!(joke.run("cats".to_owned()).await?, "A joke about cats");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Genkit {
    registry: Registry,
    default_model: Option<String>,
    flows: Arc<RwLock<Vec<Arc<dyn Action>>>>,
    #[cfg(feature = "reflection")]
    reflection: Option<Arc<genkit_reflection::Reflection>>,
}

type AttachProcessor = Box<dyn FnOnce(&Telemetry) + Send>;
type HelperFn = Arc<dyn Fn(&[Value], &serde_json::Map<String, Value>) -> Result<Value> + Send + Sync>;

/// Where `build` loads `.prompt` files from.
#[derive(Debug, Clone, Default)]
enum PromptDir {
    /// `./prompts` (relative to the working directory), unless embedded prompts are given.
    #[default]
    Default,
    Path(PathBuf),
    Disabled,
}

/// Configures a [`Genkit`] instance (JS `genkit({...})`).
pub struct GenkitBuilder {
    plugins: Vec<Arc<dyn DynPlugin>>,
    context: ActionContext,
    default_model: Option<String>,
    processors: Vec<AttachProcessor>,
    prompt_dir: PromptDir,
    embedded: Vec<EmbeddedPrompts>,
    helpers: Vec<(String, HelperFn)>,
    partials: Vec<(String, String)>,
    #[cfg(feature = "reflection")]
    reflection: Option<genkit_reflection::ReflectionOptions>,
}

impl Default for GenkitBuilder {
    fn default() -> Self {
        GenkitBuilder {
            plugins: Vec::new(),
            context: ActionContext::default(),
            default_model: None,
            processors: Vec::new(),
            prompt_dir: PromptDir::default(),
            embedded: Vec::new(),
            helpers: Vec::new(),
            partials: Vec::new(),
            #[cfg(feature = "reflection")]
            reflection: Some(genkit_reflection::ReflectionOptions::default()),
        }
    }
}

impl std::fmt::Debug for GenkitBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenkitBuilder")
            .field("plugins", &self.plugins.iter().map(|p| p.name().to_owned()).collect::<Vec<_>>())
            .field("default_model", &self.default_model)
            .field("prompt_dir", &self.prompt_dir)
            .field("embedded_prompts", &self.embedded.iter().map(|e| e.len()).sum::<usize>())
            .field("helpers", &self.helpers.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .field("partials", &self.partials.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl GenkitBuilder {
    /// Adds a plugin. Plugins initialize lazily, on first use.
    #[must_use]
    pub fn plugin(mut self, plugin: impl DynPlugin) -> Self {
        self.plugins.push(Arc::new(plugin));
        self
    }

    /// Sets the base context merged under every action's context (JS `GenkitOptions.context`).
    #[must_use]
    pub fn context(mut self, context: ActionContext) -> Self {
        self.context = context;
        self
    }

    /// Sets the default model name (stored as the `defaultModel` value).
    #[must_use]
    pub fn default_model(mut self, name: impl Into<String>) -> Self {
        self.default_model = Some(name.into());
        self
    }

    /// Attaches an OpenTelemetry span processor (an exporter) from the start.
    #[must_use]
    pub fn span_processor(mut self, p: impl SpanProcessor + 'static) -> Self {
        self.processors.push(Box::new(move |t: &Telemetry| t.add_span_processor(p)));
        self
    }

    /// Loads `.prompt` files from `dir` at build (default: `./prompts`, relative to the
    /// working directory; a missing folder is skipped).
    #[must_use]
    pub fn prompt_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.prompt_dir = PromptDir::Path(dir.into());
        self
    }

    /// Loads no prompt folder (JS `promptDir: null`).
    #[must_use]
    pub fn no_prompt_dir(mut self) -> Self {
        self.prompt_dir = PromptDir::Disabled;
        self
    }

    /// Loads prompt files embedded in the binary with [`embed_prompts!`](crate::embed_prompts)
    /// at build, exactly like a folder. The default `./prompts` folder is then not loaded
    /// (set [`prompt_dir`](Self::prompt_dir) to load a folder too).
    ///
    /// ```ignore
    /// static PROMPTS: genkit::EmbeddedPrompts = genkit::embed_prompts!("prompts");
    /// let g = genkit::Genkit::builder().embedded_prompts(PROMPTS).build().await?;
    /// ```
    #[must_use]
    pub fn embedded_prompts(mut self, files: EmbeddedPrompts) -> Self {
        self.embedded.push(files);
        self
    }

    /// Registers a template helper before the prompt files are loaded (they are checked for
    /// unknown helpers at load). See [`Genkit::define_helper`].
    #[must_use]
    pub fn helper(
        mut self,
        name: impl Into<String>,
        helper: impl Fn(&[Value], &serde_json::Map<String, Value>) -> Result<Value> + Send + Sync + 'static,
    ) -> Self {
        self.helpers.push((name.into(), Arc::new(helper)));
        self
    }

    /// Registers a partial before the prompt files are loaded. See [`Genkit::define_partial`].
    #[must_use]
    pub fn partial(mut self, name: impl Into<String>, source: impl Into<String>) -> Self {
        self.partials.push((name.into(), source.into()));
        self
    }

    /// Sets how the Genkit developer tools see this app when `GENKIT_ENV=dev` (port, display
    /// name, runtime id, project root, signal handling); see [`crate::reflection`].
    #[cfg(feature = "reflection")]
    #[must_use]
    pub fn reflection(mut self, options: genkit_reflection::ReflectionOptions) -> Self {
        self.reflection = Some(options);
        self
    }

    /// Never starts the reflection bridge, even when `GENKIT_ENV=dev`.
    #[cfg(feature = "reflection")]
    #[must_use]
    pub fn no_reflection(mut self) -> Self {
        self.reflection = None;
        self
    }

    /// Builds the instance: registers `/util/generate`, the default model, the prompt files
    /// (embedded ones, then the prompt folder) and the plugins.
    ///
    /// # Errors
    /// `ALREADY_EXISTS` when two plugins share a name; `INVALID_ARGUMENT` naming the file and
    /// line when a prompt file has malformed frontmatter, a malformed template or an unknown
    /// helper; `INTERNAL` when a prompt file cannot be read.
    pub async fn build(self) -> Result<Genkit> {
        let telemetry = Arc::new(Telemetry::new());
        for p in self.processors {
            p(&telemetry);
        }
        let registry = Registry::with_parts(self.context, telemetry);
        let default_model = self.default_model.clone();
        if let Some(m) = self.default_model {
            let json = Value::String(m.clone());
            registry.register_value("defaultModel", "defaultModel", RegistryValue::with_json(m, json));
        }
        genkit_ai::prompt::environment(&registry);
        for (name, helper) in self.helpers {
            genkit_ai::prompt::define_helper(&registry, &name, move |args, hash| helper(args, hash));
        }
        for (name, source) in &self.partials {
            genkit_ai::prompt::define_partial(&registry, name, source);
        }
        for files in &self.embedded {
            genkit_ai::prompt::load_prompt_sources(&registry, files.iter().copied(), None)?;
        }
        match self.prompt_dir {
            PromptDir::Default if self.embedded.is_empty() => {
                genkit_ai::prompt::load_prompt_dir(&registry, "./prompts", None)?;
            }
            PromptDir::Path(dir) => {
                genkit_ai::prompt::load_prompt_dir(&registry, dir, None)?;
            }
            PromptDir::Default | PromptDir::Disabled => {}
        }
        for p in self.plugins {
            registry.add_plugin(p).await?;
        }
        genkit_ai::generate::define_generate_action(&registry)?;
        for d in genkit_middleware::builtin_defs() {
            d.register(&registry);
        }
        #[cfg(feature = "reflection")]
        let reflection = match self.reflection {
            Some(opts) if genkit_core::is_dev_env() => {
                match genkit_reflection::Reflection::start(&registry, opts).await {
                    Ok(r) => Some(r),
                    Err(e) => {
                        tracing::error!("the Genkit developer tools cannot see this app: {e}");
                        None
                    }
                }
            }
            _ => None,
        };
        Ok(Genkit {
            registry,
            default_model,
            flows: Arc::default(),
            #[cfg(feature = "reflection")]
            reflection,
        })
    }
}

impl Genkit {
    /// Starts configuring an instance.
    pub fn builder() -> GenkitBuilder {
        GenkitBuilder::default()
    }

    /// The registry (for plugins, tooling and by-name access).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The developer-tools bridge, when `GENKIT_ENV=dev` started it.
    #[cfg(feature = "reflection")]
    pub fn reflection(&self) -> Option<&Arc<genkit_reflection::Reflection>> {
        self.reflection.as_ref()
    }

    /// The tracer and its exporters.
    pub fn telemetry(&self) -> Arc<Telemetry> {
        self.registry.telemetry()
    }

    /// The default model name, if configured with [`GenkitBuilder::default_model`].
    pub fn default_model(&self) -> Option<&str> {
        self.default_model.as_deref()
    }

    /// Registers an action built elsewhere (e.g. with [`genkit_core::ActionDef::builder`]).
    ///
    /// # Panics
    /// When called while an action runs (a programmer mistake: define actions when the app
    /// starts); the message is the `FAILED_PRECONDITION` error [`Genkit::try_register`] returns.
    pub fn register(&self, action: Arc<dyn Action>) {
        or_panic(self.try_register(action));
    }

    /// Registers an action, returning an error instead of panicking.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` (`Cannot define new actions at runtime…`) when called while an
    /// action runs.
    pub fn try_register(&self, action: Arc<dyn Action>) -> Result<()> {
        self.registry.register_action(action)
    }

    /// Defines a flow: a named, traced async function, callable directly, by name, over HTTP
    /// and from the Dev UI. Input and output schemas come from the Rust types.
    ///
    /// # Panics
    /// When called while an action runs: define flows when the app starts.
    pub fn define_flow<I, O, F, Fut>(&self, name: &str, f: F) -> Flow<I, O>
    where
        I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
        O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
        F: Fn(I, ActionCx<()>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O>> + Send + 'static,
    {
        self.define_flow_with(FlowOptions::new(name), f)
    }

    /// Defines a streaming flow; chunks of `S` go out through `cx.send_chunk`.
    ///
    /// # Panics
    /// As [`Genkit::define_flow`].
    pub fn define_streaming_flow<I, O, S, F, Fut>(&self, name: &str, f: F) -> Flow<I, O, S>
    where
        I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
        O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
        S: Serialize + JsonSchema + Send + Sync + 'static,
        F: Fn(I, ActionCx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O>> + Send + 'static,
    {
        self.define_flow_with(FlowOptions::new(name), f)
    }

    /// Defines a flow with options (description, hand-written schemas, metadata).
    ///
    /// # Panics
    /// As [`Genkit::define_flow`].
    pub fn define_flow_with<I, O, S, F, Fut>(&self, opts: FlowOptions, f: F) -> Flow<I, O, S>
    where
        I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
        O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
        S: Serialize + JsonSchema + Send + Sync + 'static,
        F: Fn(I, ActionCx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O>> + Send + 'static,
    {
        let flow = opts.into_builder().build(f);
        self.add_flow(flow.as_action());
        flow
    }

    /// Defines a bidirectional flow (1.42 `initSchema` + input stream): read inputs from the
    /// stream, send chunks, return the output.
    ///
    /// # Panics
    /// As [`Genkit::define_flow`].
    pub fn define_bidi_flow<I, O, S, F, Fut>(&self, opts: FlowOptions, f: F) -> Flow<I, O, S>
    where
        I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
        O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
        S: Serialize + JsonSchema + Send + Sync + 'static,
        F: Fn(InputStream<I>, ActionCx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O>> + Send + 'static,
    {
        let flow = opts.into_builder().build_bidi(f);
        self.add_flow(flow.as_action());
        flow
    }

    fn add_flow(&self, action: Arc<dyn Action>) {
        self.register(action.clone());
        self.flows.write().unwrap_or_else(|e| e.into_inner()).push(action);
    }

    /// The flows defined on this instance (JS `ai.flows`).
    pub fn flows(&self) -> Vec<Arc<dyn Action>> {
        self.flows.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Runs a traced sub-step of the current flow (JS `ai.run`).
    ///
    /// # Errors
    /// Whatever `fut` returns.
    pub async fn run<T: Serialize>(&self, name: &str, fut: impl Future<Output = Result<T>>) -> Result<T> {
        // Outside any action the step is a root span of this instance's telemetry.
        genkit_core::run_span(&self.telemetry(), name, "flowStep", || None, fut).await
    }

    /// Runs a traced sub-step and records its input (JS `ai.run(name, input, fn)`).
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub async fn run_with_input<In: Serialize, T: Serialize, Fut>(
        &self,
        name: &str,
        input: In,
        f: impl FnOnce(In) -> Fut,
    ) -> Result<T>
    where
        Fut: Future<Output = Result<T>>,
    {
        let json = serde_json::to_string(&input)?;
        genkit_core::run_span(&self.telemetry(), name, "flowStep", move || Some(json), f(input)).await
    }

    /// Looks an action up by key (`/flow/name`, `/model/plugin/name`, …).
    ///
    /// # Errors
    /// A plugin's init or resolve error.
    pub async fn lookup_action(&self, key: &str) -> Result<Option<Arc<dyn Action>>> {
        self.registry.lookup_action(key).await
    }

    /// Runs an action by key with JSON input.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown key, `INVALID_ARGUMENT` for an invalid key or input, or the
    /// action's own error.
    pub async fn run_action(&self, key: &str, input: Value, opts: RunOptions<Value>) -> Result<ActionResult<Value>> {
        self.registry.require_action(key).await?.run_json(input, opts).await
    }

    /// Streams an action by key with JSON input.
    ///
    /// # Errors
    /// As [`Genkit::run_action`] (lookup errors come before streaming starts).
    pub async fn stream_action(
        &self,
        key: &str,
        input: Value,
        opts: RunOptions<Value>,
    ) -> Result<ActionStream<Value, Value>> {
        Ok(self.registry.require_action(key).await?.stream_json(input, opts))
    }

    /// Registers a named JSON schema (JS `defineJsonSchema`), usable as `schema: <name>` in
    /// `.prompt` files.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
    /// let g = genkit::Genkit::builder().build().await?;
    /// g.define_schema("City", serde_json::json!({"type": "object", "properties": {"name": {"type": "string"}}}))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `ALREADY_EXISTS` when the name is taken.
    pub fn define_schema(&self, name: &str, schema: Value) -> Result<()> {
        self.registry.register_schema(name, schema)
    }

    /// Registers a named JSON schema derived from a Rust type (JS `defineSchema`); returns the
    /// schema.
    ///
    /// # Errors
    /// `ALREADY_EXISTS` when the name is taken.
    pub fn define_schema_for<T: JsonSchema>(&self, name: &str) -> Result<Value> {
        let s = genkit_core::schema_for::<T>();
        self.registry.register_schema(name, s.clone())?;
        Ok(s)
    }

    /// Same as [`Genkit::define_schema`] (the JS name).
    ///
    /// # Errors
    /// `ALREADY_EXISTS` when the name is taken.
    pub fn define_json_schema(&self, name: &str, schema: Value) -> Result<()> {
        self.define_schema(name, schema)
    }

    /// The ambient action context, if called inside an action (JS `ai.currentContext()`).
    pub fn current_context(&self) -> Option<ActionContext> {
        genkit_core::current_context()
    }

    /// Flushes span exporters (JS `flushTracing`).
    ///
    /// # Errors
    /// `INTERNAL` when an exporter fails.
    pub fn flush_tracing(&self) -> Result<()> {
        self.registry.telemetry().flush()
    }
}

/// Unwraps the result of defining an action, panicking with its error: defining actions
/// while one runs is a programming error, not bad input (the `try_` variants return it).
#[allow(
    clippy::panic,
    reason = "a programming error (defining actions while one runs), not input; the try_ variants return it"
)]
pub(crate) fn or_panic<T>(r: Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}
