//! Models: define a model from an async function, refer to models by name with default
//! config, find and call them, the built-in model middlewares, and basic usage counting.

pub mod background;
mod call;
mod reference;
mod transform;
mod usage;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;

use genkit_core::{Action, ActionBuilder, ActionCx, ActionDef, ActionMetadata, ActionType, DynPlugin, Error, Result};
use serde_json::{Map, Value, json};

pub use call::{call, lookup, resolve};
pub(crate) use call::{model_info, run_options};
pub use reference::ModelRef;
pub use transform::{
    AugmentWithContext, AugmentWithContextOptions, CONTEXT_PREFACE, SimulateConstrainedGeneration,
    SimulateSystemPrompt, SimulateSystemPromptOptions, ValidateSupport, augment_with_context,
    simulate_constrained_generation, simulate_system_prompt, validate_support,
};
pub(crate) use transform::{apply_constrained_simulation, augment_context, needs_constrained_simulation};
pub use usage::basic_usage_stats;

use crate::middleware::{Middleware, MiddlewareInstance, ModelHookCx, run_model};
use crate::{ModelInfo, ModelRequest, ModelResponse, ModelResponseChunk, ModelStage, ModelSupports};

/// A model: `ModelRequest` in, `ModelResponse` out, `ModelResponseChunk`s streamed.
pub type Model = ActionDef<ModelRequest, ModelResponse, ModelResponseChunk>;

/// What a model function receives besides the request: `send_chunk`, `streaming_requested`,
/// `cancellation`, `context`.
pub type ModelCx = ActionCx<ModelResponseChunk>;

/// Options of a model (JS `defineModel({name, label, versions, supports, configSchema})`).
#[derive(Debug, Clone, Default)]
pub struct ModelOptions {
    name: String,
    info: ModelInfo,
    config_schema: Option<Value>,
    middleware: Vec<MiddlewareInstance>,
}

impl ModelOptions {
    /// Options for a model named `name` (`plugin/model` for plugin models).
    pub fn new(name: impl Into<String>) -> Self {
        ModelOptions { name: name.into(), ..ModelOptions::default() }
    }

    /// Human-readable label (defaults to the name).
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.info.label = Some(label.into());
        self
    }

    /// Supported versions.
    #[must_use]
    pub fn versions(mut self, versions: Vec<String>) -> Self {
        self.info.versions = Some(versions);
        self
    }

    /// Capabilities.
    #[must_use]
    pub fn supports(mut self, supports: ModelSupports) -> Self {
        self.info.supports = Some(supports);
        self
    }

    /// Replaces label, versions, capabilities and stage with `info` (what JS
    /// `modelActionMetadata({info})` takes). `info.config_schema` becomes the config schema
    /// when set.
    #[must_use]
    pub fn info(mut self, info: ModelInfo) -> Self {
        if let Some(s) = &info.config_schema {
            self.config_schema = Some(Value::Object(s.clone()));
        }
        self.info = ModelInfo { config_schema: None, ..info };
        self
    }

    /// Release stage.
    #[must_use]
    pub fn stage(mut self, stage: ModelStage) -> Self {
        self.info.stage = Some(stage);
        self
    }

    /// JSON schema of the model's config (shown as `customOptions` in the Dev UI).
    #[must_use]
    pub fn config_schema(mut self, schema: Value) -> Self {
        self.config_schema = Some(schema);
        self
    }

    /// Adds a middleware whose model hook wraps every call of this model (JS
    /// `defineModel({use})`), outermost first; it runs before the built-in context and
    /// constrained-output handling. Its generate and tool hooks do not apply here.
    #[must_use]
    pub fn middleware(mut self, m: impl Middleware) -> Self {
        self.middleware.push(MiddlewareInstance::new(m));
        self
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `metadata.model` as JS writes it: `{label, customOptions?, versions?, supports?, stage?}`.
    pub fn metadata(&self) -> Value {
        let mut m = Map::new();
        m.insert("label".into(), json!(self.info.label.clone().unwrap_or_else(|| self.name.clone())));
        if let Some(s) = &self.config_schema {
            m.insert("customOptions".into(), s.clone());
        }
        if let Some(v) = &self.info.versions {
            m.insert("versions".into(), json!(v));
        }
        if let Some(s) = &self.info.supports {
            m.insert("supports".into(), serde_json::to_value(s).unwrap_or_default());
        }
        if let Some(s) = &self.info.stage {
            m.insert("stage".into(), serde_json::to_value(s).unwrap_or_default());
        }
        Value::Object(m)
    }
}

/// Builds an (unregistered) model action from an async function of `(request, cx)` (JS
/// `model(options, runner)`, the v2 runner shape). The response gets `latencyMs` (the
/// function's wall time) unless it sets one. Register it with `Registry::register_action`
/// or return it from a plugin's `init`/`resolve`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit_core::Result<()> {
/// use genkit_ai::{FinishReason, Message, ModelOptions, ModelResponse, model};
/// let m = model::new(ModelOptions::new("demo/hello"), |_req, _cx| async move {
///     Ok(ModelResponse {
///         message: Some(Message::model("hello")),
///         finish_reason: Some(FinishReason::Stop),
///         ..Default::default()
///     })
/// });
/// let resp = m.run(Default::default()).await?;
/// assert_eq!(resp.text(), "hello");
/// assert!(resp.latency_ms.is_some());
/// # Ok(()) }
/// ```
pub fn new<F, Fut>(mut opts: ModelOptions, f: F) -> Model
where
    F: Fn(ModelRequest, ModelCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ModelResponse>> + Send + 'static,
{
    let supports = opts.info.supports.clone();
    // JS `getModelMiddleware`: context augmentation unless the model reads `docs` itself, then
    // the constrained-output simulator when the model lacks native support.
    let augment =
        (!supports.as_ref().and_then(|s| s.context).unwrap_or(false)).then(AugmentWithContextOptions::default);
    let defaults = Arc::new(move |mut req: ModelRequest| {
        if let Some(a) = &augment
            && req.docs.as_ref().is_some_and(|d| !d.is_empty())
        {
            req = augment_context(req, a);
        }
        if needs_constrained_simulation(supports.as_ref(), &req) {
            req = apply_constrained_simulation(req);
        }
        req
    });
    let f = Arc::new(f);
    let chain: Arc<[MiddlewareInstance]> = std::mem::take(&mut opts.middleware).into();
    model_builder::<ModelResponse, ModelResponseChunk>(&opts, ActionType::Model).build(
        move |req: ModelRequest, cx: ModelCx| {
            let (f, defaults, chain) = (f.clone(), defaults.clone(), chain.clone());
            async move {
                let start = Instant::now();
                let mut resp = if chain.is_empty() {
                    f(defaults(req), cx).await?
                } else {
                    let hook_cx = ModelHookCx {
                        on_chunk: cx.streaming_requested().then(|| cx.sink().clone()),
                        cancellation: Some(cx.cancellation().clone()),
                        context: Some(cx.context().clone()),
                    };
                    let end = |req: ModelRequest, _: ModelHookCx| f(defaults(req), cx.clone()).boxed();
                    run_model(&chain, req, hook_cx, &end).await?
                };
                if resp.latency_ms.is_none() {
                    resp.latency_ms = Some(start.elapsed().as_secs_f64() * 1000.0);
                }
                Ok(resp)
            }
        },
    )
}

/// The builder every model action starts from: type, name, description (the label) and
/// `metadata.model`. Shared by [`new`], background models and [`model_action_metadata`] so
/// listed metadata equals the resolved action's.
pub(crate) fn model_builder<O, S>(opts: &ModelOptions, action_type: ActionType) -> ActionBuilder<ModelRequest, O, S>
where
    O: serde::Serialize + serde::de::DeserializeOwned + schemars::JsonSchema + Send + Sync + 'static,
    S: serde::Serialize + schemars::JsonSchema + Send + Sync + 'static,
{
    let label = opts.info.label.clone().unwrap_or_else(|| opts.name.clone());
    ActionDef::<ModelRequest, O, S>::builder(action_type, opts.name.clone())
        .description(label)
        .metadata("model", opts.metadata())
        .initializes_plugins()
}

/// The metadata of the model action `opts` describes, without defining it (JS
/// `modelActionMetadata({name, info, configSchema, background})`): exactly what
/// [`new`] (or, with `background`, [`background::new`]'s start action) would produce —
/// type, key, description, input/output/stream schemas and `metadata.model`. For a
/// plugin's [`Plugin::list`](genkit_core::Plugin::list), so the Dev UI lists models before
/// they are resolved.
///
/// ```
/// use genkit_ai::model::{self, ModelOptions, model_action_metadata};
/// let opts = ModelOptions::new("acme/fast").label("Acme Fast");
/// let listed = model_action_metadata(&opts, false);
/// let defined = model::new(opts, |_req, _cx| async { Ok(Default::default()) });
/// assert_eq!(&listed, defined.metadata());
/// assert_eq!(&*listed.key, "/model/acme/fast");
/// ```
pub fn model_action_metadata(opts: &ModelOptions, background: bool) -> ActionMetadata {
    let unused = || Error::new(genkit_core::Status::Unimplemented, "metadata only");
    if background {
        model_builder::<crate::Operation, ()>(opts, ActionType::BackgroundModel)
            .build(move |_req, _cx| async move { Err(unused()) })
            .metadata()
            .clone()
    } else {
        model_builder::<ModelResponse, ModelResponseChunk>(opts, ActionType::Model)
            .build(move |_req, _cx| async move { Err(unused()) })
            .metadata()
            .clone()
    }
}

/// Resolves the model `name` through `plugin` (JS `plugin.model(name)`): calls its
/// `resolve(ActionType::Model, name)` (`name` without the plugin's namespace).
///
/// # Errors
/// `NOT_FOUND` `Failed to resolve model <name> for plugin <plugin>` when the plugin does not
/// resolve it; the plugin's own error.
pub async fn plugin_model<P: DynPlugin + ?Sized>(plugin: &P, name: &str) -> Result<Arc<dyn Action>> {
    match DynPlugin::resolve(plugin, ActionType::Model, name).await? {
        Some(a) => Ok(a),
        None => Err(Error::not_found(format!("Failed to resolve model {name} for plugin {}", DynPlugin::name(plugin)))),
    }
}

#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod tests;
