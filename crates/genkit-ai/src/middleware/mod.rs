//! Generate middleware (M9): hooks around each generate turn, each model call and each tool
//! call, plus tools a middleware contributes. A [`MiddlewareDef`] is registered by name (as
//! registry value `middleware/<name>`, so `/util/generate`'s `use: [{name, config}]` finds it)
//! and instantiated once per `generate` call with its JSON config.
//!
//! Built-ins: [`retry`], [`fallback`], [`tool_approval`] (the `@genkit-ai/middleware`
//! package) and the model middlewares [`simulate_system_prompt`], [`augment_with_context`],
//! [`simulate_constrained_generation`], [`validate_support`].

pub(crate) mod builtin;
#[cfg(feature = "download-media")]
mod download;
mod filesystem;
mod skills;

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use genkit_core::{Action, ActionContext, Error, Registry, RegistryValue, Result, StreamSink};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::{
    GenerateActionOptions, GenerateResponse, GenerateResponseChunk, MiddlewareRef, ModelRequest, ModelResponse,
    ModelResponseChunk, Part,
};

pub use builtin::{
    AugmentWithContextOptions, CONTEXT_PREFACE, FallbackOptions, ModelMiddleware, RetryOptions,
    SimulateSystemPromptOptions, ToolApprovalOptions, augment_with_context, builtin_defs, fallback, fallback_def,
    retry, retry_def, simulate_constrained_generation, simulate_system_prompt, tool_approval, tool_approval_def,
    validate_support,
};
#[cfg(feature = "download-media")]
pub use download::{DownloadMediaOptions, download_request_media, download_request_media_def};
pub use filesystem::{ACCESS_DENIED, FilesystemOptions, filesystem, filesystem_def};
pub use skills::{SKILLS_METADATA_KEY, SkillsOptions, skills, skills_def};

/// One generate turn as the `generate` hook sees it.
#[derive(Debug, Clone)]
pub struct GenerateEnvelope {
    /// The turn's request.
    pub request: GenerateActionOptions,
    /// Tool-call rounds done so far.
    pub current_turn: u32,
    /// Index of the next message in the streamed output.
    pub message_index: u32,
}

/// Options passed along the `generate` hook chain.
#[derive(Clone, Default)]
pub struct HookCx {
    /// Streamed chunks (absent when not streaming). Chunks without `index`/`role` get the
    /// turn's message index and `model`.
    pub on_chunk: Option<StreamSink<GenerateResponseChunk>>,
    /// Cancellation of the generation.
    pub cancellation: Option<CancellationToken>,
    /// Action context.
    pub context: Option<ActionContext>,
}

impl fmt::Debug for HookCx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookCx").field("streaming", &self.on_chunk.is_some()).finish()
    }
}

/// Options passed along the `model` hook chain.
#[derive(Clone, Default)]
pub struct ModelHookCx {
    /// Streamed model chunks (absent when not streaming).
    pub on_chunk: Option<StreamSink<ModelResponseChunk>>,
    /// Cancellation of the generation.
    pub cancellation: Option<CancellationToken>,
    /// Action context.
    pub context: Option<ActionContext>,
}

impl fmt::Debug for ModelHookCx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelHookCx").field("streaming", &self.on_chunk.is_some()).finish()
    }
}

/// Options passed along the `tool` hook chain: the tool request part's metadata.
#[derive(Debug, Clone, Default)]
pub struct ToolHookCx {
    /// Metadata of the tool request part (incl. `resumed` on restarts).
    pub metadata: Option<Map<String, Value>>,
}

type NextFn<I, C, O> = Arc<dyn Fn(I, C) -> BoxFuture<'static, Result<O>> + Send + Sync>;

/// The rest of a hook chain.
pub struct HookNext<I, C, O> {
    f: NextFn<I, C, O>,
}

impl<I, C, O> Clone for HookNext<I, C, O> {
    fn clone(&self) -> Self {
        HookNext { f: self.f.clone() }
    }
}

impl<I, C, O> fmt::Debug for HookNext<I, C, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HookNext")
    }
}

impl<I, C, O> HookNext<I, C, O> {
    pub(crate) fn new(f: impl Fn(I, C) -> BoxFuture<'static, Result<O>> + Send + Sync + 'static) -> Self {
        HookNext { f: Arc::new(f) }
    }

    /// Calls the rest of the chain.
    ///
    /// # Errors
    /// Whatever the rest of the chain returns.
    pub fn run(&self, input: I, cx: C) -> BoxFuture<'static, Result<O>> {
        (self.f)(input, cx)
    }
}

/// Next of the `generate` hook.
pub type GenerateNext = HookNext<GenerateEnvelope, HookCx, GenerateResponse>;
/// Next of the `model` hook.
pub type ModelNext = HookNext<ModelRequest, ModelHookCx, ModelResponse>;
/// Next of the `tool` hook: `Ok(None)` drops the tool's response.
pub type ToolNext = HookNext<Part, ToolHookCx, Option<Part>>;

/// An instantiated generate middleware (JS `GenerateMiddlewareDef`). Every hook defaults to
/// calling `next` unchanged.
pub trait GenerateMiddleware: Send + Sync + 'static {
    /// Wraps each generate turn (including tool rounds and resumes).
    fn generate(
        self: Arc<Self>,
        env: GenerateEnvelope,
        cx: HookCx,
        next: GenerateNext,
    ) -> BoxFuture<'static, Result<GenerateResponse>> {
        next.run(env, cx)
    }

    /// Wraps each model call.
    fn model(
        self: Arc<Self>,
        req: ModelRequest,
        cx: ModelHookCx,
        next: ModelNext,
    ) -> BoxFuture<'static, Result<ModelResponse>> {
        next.run(req, cx)
    }

    /// Wraps each tool execution (including restarts). Returns the tool response part, or
    /// `None` to drop it.
    fn tool(self: Arc<Self>, req: Part, cx: ToolHookCx, next: ToolNext) -> BoxFuture<'static, Result<Option<Part>>> {
        next.run(req, cx)
    }

    /// Tools added to every turn's tool list.
    fn tools(&self) -> Vec<Arc<dyn Action>> {
        Vec::new()
    }

    /// Whether [`GenerateMiddleware::generate`] is overridden (lets the engine skip the
    /// chain when no middleware wraps turns).
    fn wraps_generate(&self) -> bool {
        false
    }
}

/// What a middleware factory receives.
#[derive(Debug, Clone, Copy)]
pub struct MiddlewareInit<'a> {
    /// The `config` of the `use` entry.
    pub config: Option<&'a Value>,
    /// Options given when the middleware was registered through a plugin.
    pub plugin_config: Option<&'a Value>,
    /// The (per-call) registry.
    pub registry: &'a Registry,
}

impl MiddlewareInit<'_> {
    /// The `use` entry's config as `T` (`T::default()` when absent or null).
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` `invalid config for middleware '<name>': …` when it does not fit.
    pub fn config_as<T: serde::de::DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        match self.config {
            None | Some(Value::Null) => Ok(T::default()),
            Some(v) => T::deserialize(v)
                .map_err(|e| Error::invalid_argument(format!("invalid config for middleware '{name}': {e}"))),
        }
    }
}

type Factory = dyn Fn(MiddlewareInit<'_>) -> Result<Arc<dyn GenerateMiddleware>> + Send + Sync;

/// A named, configurable middleware (JS `generateMiddleware({name, configSchema}, factory)`).
pub struct MiddlewareDef {
    name: String,
    description: Option<String>,
    config_schema: Option<Value>,
    metadata: Option<Map<String, Value>>,
    plugin_config: Option<Value>,
    factory: Arc<Factory>,
}

impl fmt::Debug for MiddlewareDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MiddlewareDef").field("name", &self.name).finish()
    }
}

pub(crate) struct MiddlewareEntry(pub(crate) Arc<MiddlewareDef>);

impl MiddlewareDef {
    /// A middleware named `name` built per `generate` call by `factory`.
    pub fn new(
        name: impl Into<String>,
        factory: impl Fn(MiddlewareInit<'_>) -> Result<Arc<dyn GenerateMiddleware>> + Send + Sync + 'static,
    ) -> Self {
        MiddlewareDef {
            name: name.into(),
            description: None,
            config_schema: None,
            metadata: None,
            plugin_config: None,
            factory: Arc::new(factory),
        }
    }

    /// A middleware whose `use` config is parsed as `C` (`C::default()` when absent; bad config
    /// is `INVALID_ARGUMENT`), with `C`'s JSON schema as its config schema and `description`.
    pub fn typed<C>(
        name: &str,
        description: &str,
        factory: impl Fn(C, &MiddlewareInit<'_>) -> Result<Arc<dyn GenerateMiddleware>> + Send + Sync + 'static,
    ) -> Self
    where
        C: serde::de::DeserializeOwned + schemars::JsonSchema + Default + 'static,
    {
        let owned = name.to_owned();
        MiddlewareDef::new(name, move |init| factory(init.config_as::<C>(&owned)?, &init))
            .description(description)
            .config_schema(genkit_core::schema_for::<C>())
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Sets the JSON schema of the config.
    #[must_use]
    pub fn config_schema(mut self, schema: Value) -> Self {
        self.config_schema = Some(schema);
        self
    }

    /// Adds a metadata entry.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: Value) -> Self {
        self.metadata.get_or_insert_with(Map::new).insert(key.into(), value);
        self
    }

    /// Plugin-level options handed to the factory (JS `mw.plugin(options)`).
    #[must_use]
    pub fn plugin_config(mut self, config: Value) -> Self {
        self.plugin_config = Some(config);
        self
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is a dynamic middleware (`metadata.dynamic`), e.g. a wrapped model function.
    pub(crate) fn is_dynamic(&self) -> bool {
        self.metadata.as_ref().and_then(|m| m.get("dynamic")) == Some(&Value::Bool(true))
    }

    /// The wire description `MiddlewareDesc {name, description?, configSchema?, metadata?}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        if let Some(d) = &self.description {
            m.insert("description".into(), json!(d));
        }
        if let Some(s) = &self.config_schema {
            m.insert("configSchema".into(), s.clone());
        }
        if let Some(md) = &self.metadata {
            m.insert("metadata".into(), Value::Object(md.clone()));
        }
        Value::Object(m)
    }

    /// Registers it as value `middleware/<name>` (listed by the reflection API).
    pub fn register(self: &Arc<Self>, registry: &Registry) {
        let v = self.plugin_value();
        registry.register_value(&v.value_type, &v.name, v.value);
    }

    /// The value a plugin returns from [`Plugin::values`](genkit_core::Plugin::values) to
    /// contribute this middleware (JS plugin v2 `middleware()`): registered as
    /// `middleware/<name>` when the plugin is added, so `use: [{name}]` finds it.
    pub fn plugin_value(self: &Arc<Self>) -> genkit_core::PluginValue {
        genkit_core::PluginValue::new(
            "middleware",
            self.name.clone(),
            RegistryValue::with_json(MiddlewareEntry(self.clone()), self.to_json()),
        )
    }

    /// Instantiates it.
    ///
    /// # Errors
    /// The factory's error (e.g. `INVALID_ARGUMENT` for a bad config).
    pub fn instantiate(&self, config: Option<&Value>, registry: &Registry) -> Result<Arc<dyn GenerateMiddleware>> {
        (self.factory)(MiddlewareInit { config, plugin_config: self.plugin_config.as_ref(), registry })
    }

    /// A `use` entry for `generate` with this config.
    pub fn with_config(self: &Arc<Self>, config: Option<Value>) -> MiddlewareUse {
        MiddlewareUse { def: Some(self.clone()), name: self.name.clone(), config }
    }
}

/// One entry of `generate`'s `use` list: a middleware (by definition or registered name)
/// with its config.
#[derive(Debug, Clone)]
pub struct MiddlewareUse {
    pub(crate) def: Option<Arc<MiddlewareDef>>,
    pub(crate) name: String,
    pub(crate) config: Option<Value>,
}

impl MiddlewareUse {
    /// A registered middleware by name.
    pub fn named(name: impl Into<String>, config: Option<Value>) -> Self {
        MiddlewareUse { def: None, name: name.into(), config }
    }

    /// A plain model middleware (JS legacy `use: [fn]`): wrapped as a middleware with only
    /// a `model` hook.
    pub fn model_fn(
        f: impl Fn(ModelRequest, ModelHookCx, ModelNext) -> BoxFuture<'static, Result<ModelResponse>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("dynamic-middleware-{n}");
        let f: Arc<ModelFn> = Arc::new(f);
        let def =
            MiddlewareDef::new(
                name.clone(),
                move |_| Ok(Arc::new(ModelOnly(f.clone())) as Arc<dyn GenerateMiddleware>),
            )
            .metadata("dynamic", json!(true));
        MiddlewareUse { def: Some(Arc::new(def)), name, config: None }
    }

    /// The wire reference `{name, config?}`.
    pub fn to_ref(&self) -> MiddlewareRef {
        MiddlewareRef { name: self.name.clone(), config: self.config.clone() }
    }
}

type ModelFn = dyn Fn(ModelRequest, ModelHookCx, ModelNext) -> BoxFuture<'static, Result<ModelResponse>> + Send + Sync;

struct ModelOnly(Arc<ModelFn>);

impl GenerateMiddleware for ModelOnly {
    fn model(
        self: Arc<Self>,
        req: ModelRequest,
        cx: ModelHookCx,
        next: ModelNext,
    ) -> BoxFuture<'static, Result<ModelResponse>> {
        (self.0)(req, cx, next)
    }
}

/// Registers the definitions of `uses` that are not registered yet (JS `normalizeMiddleware`).
pub(crate) async fn register_uses(registry: &Registry, uses: &[MiddlewareUse]) -> Result<()> {
    for u in uses {
        if let Some(def) = &u.def
            && registry.lookup_value("middleware", &u.name).await?.is_none()
        {
            def.register(registry);
        }
    }
    Ok(())
}

/// Looks up and instantiates the middleware of wire refs (JS `resolveMiddleware`).
///
/// # Errors
/// `NOT_FOUND` `Middleware X not found in registry.`; a factory's error.
pub(crate) async fn resolve_middleware(
    registry: &Registry,
    refs: &[MiddlewareRef],
) -> Result<Vec<Arc<dyn GenerateMiddleware>>> {
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        let def = registry
            .lookup_value("middleware", &r.name)
            .await?
            .and_then(|v| v.downcast::<MiddlewareEntry>())
            .ok_or_else(|| Error::not_found(format!("Middleware {} not found in registry.", r.name)))?;
        out.push(def.0.instantiate(r.config.as_ref(), registry)?);
    }
    Ok(out)
}
