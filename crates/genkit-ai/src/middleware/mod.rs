//! Middleware: hooks around each generate turn, each model call and each tool call, plus
//! tools a middleware contributes (JS `generateMiddleware`).
//!
//! There is one trait, [`Middleware`], with three hooks (`wrap_generate`, `wrap_model`,
//! `wrap_tool`) written as ordinary `async fn`s; each passes through by default, so a
//! middleware overrides only what it wraps. A hook gets its input and a [`Next`]: the rest of
//! the chain, which it may call any number of times (retry) or not at all (a cache).
//!
//! A [`MiddlewareDef`] is registered by name (as registry value `middleware/<name>`, so
//! `/util/generate`'s `use: [{name, config}]` finds it) and instantiated once per `generate`
//! call with its JSON config; [`MiddlewareUse`] is one entry of `generate`'s `use` list.
//!
//! ```
//! use genkit_ai::middleware::{Middleware, ModelNext};
//! use genkit_ai::{ModelRequest, ModelResponse};
//!
//! /// Counts the model calls of a generation.
//! #[derive(Default)]
//! struct CountCalls(std::sync::atomic::AtomicU32);
//!
//! impl Middleware for CountCalls {
//!     async fn wrap_model(&self, req: ModelRequest, next: ModelNext<'_>) -> genkit_core::Result<ModelResponse> {
//!         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!         next.run(req).await
//!     }
//! }
//! ```
//!
//! This module depends only on the wire types: the built-in model middlewares
//! (`simulate_system_prompt`, …) live in [`crate::model`], the `@genkit-ai/middleware`
//! ports (retry, fallback, tool approval, …) in the `genkit-middleware` crate.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use genkit_core::{Action, ActionContext, Error, Registry, RegistryValue, Result, StreamSink};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::{GenerateActionOptions, MiddlewareRef, ModelRequest, ModelResponse, ModelResponseChunk, Part};

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

/// What the `generate` hook chain carries besides the turn.
#[derive(Clone, Default)]
pub struct GenerateHookCx {
    /// Where a middleware streams chunks of its own (absent when not streaming). Chunks
    /// without `index`/`role` get the turn's message index and `model`.
    pub on_chunk: Option<StreamSink<ModelResponseChunk>>,
    /// Cancellation of the generation.
    pub cancellation: Option<CancellationToken>,
    /// Action context.
    pub context: Option<ActionContext>,
}

impl fmt::Debug for GenerateHookCx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenerateHookCx").field("streaming", &self.on_chunk.is_some()).finish()
    }
}

/// What the `model` hook chain carries besides the request.
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

/// What the `tool` hook chain carries besides the tool request part.
#[derive(Debug, Clone, Default)]
pub struct ToolHookCx {
    /// Metadata of the tool request part (incl. `resumed` on restarts).
    pub metadata: Option<Map<String, Value>>,
}

/// A middleware: hooks around each generate turn, model call and tool call. Every hook
/// passes through by default. Implement the hooks as `async fn`s.
pub trait Middleware: Send + Sync + 'static {
    /// Wraps each generate turn (including tool rounds and resumes).
    fn wrap_generate(
        &self,
        envelope: GenerateEnvelope,
        next: GenerateNext<'_>,
    ) -> impl Future<Output = Result<ModelResponse>> + Send {
        next.run(envelope)
    }

    /// Wraps each model call.
    fn wrap_model(&self, req: ModelRequest, next: ModelNext<'_>) -> impl Future<Output = Result<ModelResponse>> + Send {
        next.run(req)
    }

    /// Wraps each tool execution (including restarts): returns the tool response part, or
    /// `None` to drop it.
    fn wrap_tool(&self, req: Part, next: ToolNext<'_>) -> impl Future<Output = Result<Option<Part>>> + Send {
        next.run(req)
    }

    /// Tools added to every turn's tool list.
    fn tools(&self) -> Vec<Arc<dyn Action>> {
        Vec::new()
    }
}

/// The object-safe twin of [`Middleware`] the chain stores; every `Middleware` is one.
pub(crate) trait ErasedMiddleware: Send + Sync {
    fn wrap_generate<'a>(&'a self, e: GenerateEnvelope, n: GenerateNext<'a>) -> BoxFuture<'a, Result<ModelResponse>>;
    fn wrap_model<'a>(&'a self, r: ModelRequest, n: ModelNext<'a>) -> BoxFuture<'a, Result<ModelResponse>>;
    fn wrap_tool<'a>(&'a self, p: Part, n: ToolNext<'a>) -> BoxFuture<'a, Result<Option<Part>>>;
    fn tools(&self) -> Vec<Arc<dyn Action>>;
}

impl<M: Middleware> ErasedMiddleware for M {
    fn wrap_generate<'a>(&'a self, e: GenerateEnvelope, n: GenerateNext<'a>) -> BoxFuture<'a, Result<ModelResponse>> {
        Box::pin(Middleware::wrap_generate(self, e, n))
    }
    fn wrap_model<'a>(&'a self, r: ModelRequest, n: ModelNext<'a>) -> BoxFuture<'a, Result<ModelResponse>> {
        Box::pin(Middleware::wrap_model(self, r, n))
    }
    fn wrap_tool<'a>(&'a self, p: Part, n: ToolNext<'a>) -> BoxFuture<'a, Result<Option<Part>>> {
        Box::pin(Middleware::wrap_tool(self, p, n))
    }
    fn tools(&self) -> Vec<Arc<dyn Action>> {
        Middleware::tools(self)
    }
}

/// An instantiated middleware, as a chain holds it.
#[derive(Clone)]
pub struct MiddlewareInstance(pub(crate) Arc<dyn ErasedMiddleware>);

impl MiddlewareInstance {
    /// Wraps a middleware.
    pub fn new(m: impl Middleware) -> Self {
        MiddlewareInstance(Arc::new(m))
    }

    /// The tools it contributes.
    pub fn tools(&self) -> Vec<Arc<dyn Action>> {
        self.0.tools()
    }
}

impl fmt::Debug for MiddlewareInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MiddlewareInstance")
    }
}

type End<'a, I, O, C> = dyn Fn(I, C) -> BoxFuture<'a, Result<O>> + Send + Sync + 'a;
type HookFn<'a, I, O, C> = fn(&'a dyn ErasedMiddleware, I, Next<'a, I, O, C>) -> BoxFuture<'a, Result<O>>;

/// The rest of a hook chain: the middlewares after this one, then the wrapped call itself.
/// Cheap to copy around; call [`Next::run`] as often as needed.
pub struct Next<'a, I, O, C> {
    rest: &'a [MiddlewareInstance],
    cx: C,
    end: &'a End<'a, I, O, C>,
    hook: HookFn<'a, I, O, C>,
}

/// The rest of the `generate` hook chain.
pub type GenerateNext<'a> = Next<'a, GenerateEnvelope, ModelResponse, GenerateHookCx>;
/// The rest of the `model` hook chain.
pub type ModelNext<'a> = Next<'a, ModelRequest, ModelResponse, ModelHookCx>;
/// The rest of the `tool` hook chain: `Ok(None)` drops the tool's response.
pub type ToolNext<'a> = Next<'a, Part, Option<Part>, ToolHookCx>;

impl<I, O, C: Clone> Clone for Next<'_, I, O, C> {
    fn clone(&self) -> Self {
        Next { rest: self.rest, cx: self.cx.clone(), end: self.end, hook: self.hook }
    }
}

impl<I, O, C> fmt::Debug for Next<'_, I, O, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next").field("remaining", &self.rest.len()).finish()
    }
}

impl<'a, I, O, C: Clone> Next<'a, I, O, C> {
    /// What the chain carries (streaming sink, cancellation, context, …).
    pub fn cx(&self) -> &C {
        &self.cx
    }

    /// Calls the rest of the chain with `input`.
    ///
    /// # Errors
    /// Whatever the rest of the chain returns.
    pub fn run(&self, input: I) -> BoxFuture<'a, Result<O>> {
        self.run_with(input, self.cx.clone())
    }

    /// Calls the rest of the chain with `input` and a changed `cx`.
    ///
    /// # Errors
    /// Whatever the rest of the chain returns.
    pub fn run_with(&self, input: I, cx: C) -> BoxFuture<'a, Result<O>> {
        match self.rest.split_first() {
            Some((m, rest)) => (self.hook)(&*m.0, input, Next { rest, cx, end: self.end, hook: self.hook }),
            None => (self.end)(input, cx),
        }
    }
}

fn generate_hook<'a>(
    m: &'a dyn ErasedMiddleware,
    e: GenerateEnvelope,
    n: GenerateNext<'a>,
) -> BoxFuture<'a, Result<ModelResponse>> {
    m.wrap_generate(e, n)
}

fn model_hook<'a>(
    m: &'a dyn ErasedMiddleware,
    r: ModelRequest,
    n: ModelNext<'a>,
) -> BoxFuture<'a, Result<ModelResponse>> {
    m.wrap_model(r, n)
}

fn tool_hook<'a>(m: &'a dyn ErasedMiddleware, p: Part, n: ToolNext<'a>) -> BoxFuture<'a, Result<Option<Part>>> {
    m.wrap_tool(p, n)
}

/// Runs `chain`'s `generate` hooks around `end`.
pub(crate) fn run_generate<'a>(
    chain: &'a [MiddlewareInstance],
    envelope: GenerateEnvelope,
    cx: GenerateHookCx,
    end: &'a End<'a, GenerateEnvelope, ModelResponse, GenerateHookCx>,
) -> BoxFuture<'a, Result<ModelResponse>> {
    Next { rest: chain, cx: cx.clone(), end, hook: generate_hook }.run_with(envelope, cx)
}

/// Runs `chain`'s `model` hooks around `end`.
pub(crate) fn run_model<'a>(
    chain: &'a [MiddlewareInstance],
    req: ModelRequest,
    cx: ModelHookCx,
    end: &'a End<'a, ModelRequest, ModelResponse, ModelHookCx>,
) -> BoxFuture<'a, Result<ModelResponse>> {
    Next { rest: chain, cx: cx.clone(), end, hook: model_hook }.run_with(req, cx)
}

/// Runs `chain`'s `tool` hooks around `end`.
pub(crate) fn run_tool<'a>(
    chain: &'a [MiddlewareInstance],
    part: Part,
    cx: ToolHookCx,
    end: &'a End<'a, Part, Option<Part>, ToolHookCx>,
) -> BoxFuture<'a, Result<Option<Part>>> {
    Next { rest: chain, cx: cx.clone(), end, hook: tool_hook }.run_with(part, cx)
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

type Factory = dyn Fn(MiddlewareInit<'_>) -> Result<MiddlewareInstance> + Send + Sync;

/// A named, configurable middleware (JS `generateMiddleware({name, configSchema}, factory)`).
/// A cheap-to-clone handle: register it, hand it to plugins, and `use` it by value.
#[derive(Clone)]
pub struct MiddlewareDef(Arc<DefInner>);

#[derive(Clone)]
struct DefInner {
    name: String,
    description: Option<String>,
    config_schema: Option<Value>,
    metadata: Option<Map<String, Value>>,
    plugin_config: Option<Value>,
    factory: Arc<Factory>,
}

impl fmt::Debug for MiddlewareDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MiddlewareDef").field("name", &self.0.name).finish()
    }
}

pub(crate) struct MiddlewareEntry(pub(crate) MiddlewareDef);

impl MiddlewareDef {
    /// A middleware named `name` built per `generate` call by `factory`.
    pub fn new<M: Middleware>(
        name: impl Into<String>,
        factory: impl Fn(MiddlewareInit<'_>) -> Result<M> + Send + Sync + 'static,
    ) -> Self {
        MiddlewareDef(Arc::new(DefInner {
            name: name.into(),
            description: None,
            config_schema: None,
            metadata: None,
            plugin_config: None,
            factory: Arc::new(move |init| factory(init).map(MiddlewareInstance::new)),
        }))
    }

    /// A middleware whose `use` config is parsed as `C` (`C::default()` when absent; bad config
    /// is `INVALID_ARGUMENT`), with `C`'s JSON schema as its config schema and `description`.
    pub fn typed<C, M>(
        name: &str,
        description: &str,
        factory: impl Fn(C, &MiddlewareInit<'_>) -> Result<M> + Send + Sync + 'static,
    ) -> Self
    where
        C: serde::de::DeserializeOwned + schemars::JsonSchema + Default + 'static,
        M: Middleware,
    {
        let owned = name.to_owned();
        MiddlewareDef::new(name, move |init| factory(init.config_as::<C>(&owned)?, &init))
            .description(description)
            .config_schema(genkit_core::schema_for::<C>())
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, d: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.0).description = Some(d.into());
        self
    }

    /// Sets the JSON schema of the config.
    #[must_use]
    pub fn config_schema(mut self, schema: Value) -> Self {
        Arc::make_mut(&mut self.0).config_schema = Some(schema);
        self
    }

    /// Adds a metadata entry.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: Value) -> Self {
        Arc::make_mut(&mut self.0).metadata.get_or_insert_with(Map::new).insert(key.into(), value);
        self
    }

    /// Plugin-level options handed to the factory (JS `mw.plugin(options)`).
    #[must_use]
    pub fn plugin_config(mut self, config: Value) -> Self {
        Arc::make_mut(&mut self.0).plugin_config = Some(config);
        self
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether it is a dynamic middleware (`metadata.dynamic`), e.g. a wrapped model function.
    pub(crate) fn is_dynamic(&self) -> bool {
        self.0.metadata.as_ref().and_then(|m| m.get("dynamic")) == Some(&Value::Bool(true))
    }

    /// The wire description `MiddlewareDesc {name, description?, configSchema?, metadata?}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let d = &*self.0;
        m.insert("name".into(), json!(d.name));
        if let Some(d) = &d.description {
            m.insert("description".into(), json!(d));
        }
        if let Some(s) = &d.config_schema {
            m.insert("configSchema".into(), s.clone());
        }
        if let Some(md) = &d.metadata {
            m.insert("metadata".into(), Value::Object(md.clone()));
        }
        Value::Object(m)
    }

    /// Registers it as value `middleware/<name>` (listed by the reflection API).
    pub fn register(&self, registry: &Registry) {
        let v = self.plugin_value();
        registry.register_value(&v.value_type, &v.name, v.value);
    }

    /// The value a plugin returns from [`Plugin::values`](genkit_core::Plugin::values) to
    /// contribute this middleware (JS plugin v2 `middleware()`): registered as
    /// `middleware/<name>` when the plugin is added, so `use: [{name}]` finds it.
    pub fn plugin_value(&self) -> genkit_core::PluginValue {
        genkit_core::PluginValue::new(
            "middleware",
            self.0.name.clone(),
            RegistryValue::with_json(MiddlewareEntry(self.clone()), self.to_json()),
        )
    }

    /// Instantiates it.
    ///
    /// # Errors
    /// The factory's error (e.g. `INVALID_ARGUMENT` for a bad config).
    pub fn instantiate(&self, config: Option<&Value>, registry: &Registry) -> Result<MiddlewareInstance> {
        (self.0.factory)(MiddlewareInit { config, plugin_config: self.0.plugin_config.as_ref(), registry })
    }

    /// A `use` entry for `generate` with this config.
    pub fn with_config(&self, config: Option<Value>) -> MiddlewareUse {
        MiddlewareUse { def: Some(self.clone()), name: self.0.name.clone(), config }
    }
}

/// One entry of `generate`'s `use` list: a middleware (by definition or registered name)
/// with its config.
#[derive(Debug, Clone)]
pub struct MiddlewareUse {
    pub(crate) def: Option<MiddlewareDef>,
    pub(crate) name: String,
    pub(crate) config: Option<Value>,
}

impl MiddlewareUse {
    /// A registered middleware by name.
    pub fn named(name: impl Into<String>, config: Option<Value>) -> Self {
        MiddlewareUse { def: None, name: name.into(), config }
    }

    /// A middleware value used directly, without registering it by name first (JS `use:
    /// [mw]`): registered for the call under a generated name.
    pub fn new(m: impl Middleware) -> Self {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("dynamic-middleware-{n}");
        let instance = MiddlewareInstance::new(m);
        let def = MiddlewareDef(Arc::new(DefInner {
            name: name.clone(),
            description: None,
            config_schema: None,
            metadata: None,
            plugin_config: None,
            factory: Arc::new(move |_| Ok(instance.clone())),
        }))
        .metadata("dynamic", json!(true));
        MiddlewareUse { def: Some(def), name, config: None }
    }

    /// The wire reference `{name, config?}`.
    pub fn to_ref(&self) -> MiddlewareRef {
        MiddlewareRef { name: self.name.clone(), config: self.config.clone() }
    }
}

impl<M: Middleware> From<M> for MiddlewareUse {
    fn from(m: M) -> Self {
        MiddlewareUse::new(m)
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
pub(crate) async fn resolve_middleware(registry: &Registry, refs: &[MiddlewareRef]) -> Result<Vec<MiddlewareInstance>> {
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
