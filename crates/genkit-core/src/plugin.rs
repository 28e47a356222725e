//! Plugins: the v2 shape — `init` returns actions, `resolve` makes one action on
//! demand, `list` describes what could be resolved. Names are namespaced automatically.

use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::{Action, ActionMetadata, ActionType, RegistryValue, Result};

/// A value a plugin contributes to the registry: registered as
/// `value_type`/`name` when the plugin initializes. JS plugin v2 `middleware()` is the same
/// thing for generate middleware (value type `middleware`); formats (`format`) and any other
/// value type work alike.
///
/// ```
/// use genkit_core::{PluginValue, RegistryValue};
/// let v = PluginValue::new("format", "csv", RegistryValue::new(()));
/// assert_eq!((v.value_type.as_str(), v.name.as_str()), ("format", "csv"));
/// ```
#[derive(Debug, Clone)]
pub struct PluginValue {
    /// The value type (`middleware`, `format`, …).
    pub value_type: String,
    /// The name it is registered (and looked up) under; used as given, not namespaced.
    pub name: String,
    /// The value.
    pub value: RegistryValue,
}

impl PluginValue {
    /// A value of `value_type` named `name`.
    pub fn new(value_type: impl Into<String>, name: impl Into<String>, value: RegistryValue) -> Self {
        PluginValue { value_type: value_type.into(), name: name.into(), value }
    }
}

/// A Genkit plugin. Implement it with ordinary `async fn`s; every method but `name` has a
/// default.
///
/// ```
/// use std::sync::Arc;
/// use genkit_core::{Action, ActionCx, ActionDef, ActionType, Plugin, Result};
///
/// struct Greeter;
///
/// impl Plugin for Greeter {
///     fn name(&self) -> &str { "greeter" }
///     async fn init(&self) -> Result<Vec<Arc<dyn Action>>> {
///         // Registered as `/custom/greeter/hello`.
///         let hello = ActionDef::builder(ActionType::Custom, "hello")
///             .build(|who: String, _cx: ActionCx<()>| async move { Ok(format!("Hello, {who}!")) });
///         Ok(vec![hello.as_action()])
///     }
/// }
/// ```
pub trait Plugin: Send + Sync + 'static {
    /// The plugin's name; also the namespace of its actions.
    fn name(&self) -> &str;

    /// Runs once, lazily (on the first lookup in the plugin's namespace, or before the first
    /// run of a model-like action, or when listing). Returns actions to register.
    fn init(&self) -> impl Future<Output = Result<Vec<Arc<dyn Action>>>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Makes one action on demand after a registry miss in the plugin's namespace; `name`
    /// is without the namespace.
    fn resolve(
        &self,
        action_type: ActionType,
        name: &str,
    ) -> impl Future<Output = Result<Option<Arc<dyn Action>>>> + Send {
        let _ = (action_type, name);
        async { Ok(None) }
    }

    /// Describes the actions this plugin could resolve (for the Dev UI's lists).
    fn list(&self) -> impl Future<Output = Result<Vec<ActionMetadata>>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Values to register (generate middleware, formats, …; JS plugin v2 `middleware()`).
    /// Called once: when the plugin is added with `Registry::add_plugin` (what
    /// `Genkit::builder().plugin(…)` does, as JS registers middlewares at `genkit()`), else
    /// when it initializes, right after [`Plugin::init`]. An error fails `add_plugin`, or
    /// the initialization like an `init` error.
    fn values(&self) -> impl Future<Output = Result<Vec<PluginValue>>> + Send {
        async { Ok(Vec::new()) }
    }
}

/// The object-safe twin of [`Plugin`], which the registry stores.
pub trait DynPlugin: Send + Sync + 'static {
    /// See [`Plugin::name`].
    fn name(&self) -> &str;
    /// See [`Plugin::init`].
    fn init(&self) -> BoxFuture<'_, Result<Vec<Arc<dyn Action>>>>;
    /// See [`Plugin::resolve`].
    fn resolve<'a>(&'a self, action_type: ActionType, name: &'a str) -> BoxFuture<'a, Result<Option<Arc<dyn Action>>>>;
    /// See [`Plugin::list`].
    fn list(&self) -> BoxFuture<'_, Result<Vec<ActionMetadata>>>;
    /// See [`Plugin::values`]. The default contributes none.
    fn values(&self) -> BoxFuture<'_, Result<Vec<PluginValue>>> {
        async { Ok(Vec::new()) }.boxed()
    }
}

impl<P: Plugin> DynPlugin for P {
    fn name(&self) -> &str {
        Plugin::name(self)
    }
    fn init(&self) -> BoxFuture<'_, Result<Vec<Arc<dyn Action>>>> {
        Plugin::init(self).boxed()
    }
    fn resolve<'a>(&'a self, action_type: ActionType, name: &'a str) -> BoxFuture<'a, Result<Option<Arc<dyn Action>>>> {
        Plugin::resolve(self, action_type, name).boxed()
    }
    fn list(&self) -> BoxFuture<'_, Result<Vec<ActionMetadata>>> {
        Plugin::list(self).boxed()
    }
    fn values(&self) -> BoxFuture<'_, Result<Vec<PluginValue>>> {
        Plugin::values(self).boxed()
    }
}

/// A dynamic action provider (DAP): a source of actions discovered at run time (e.g. an MCP
/// server), addressed as `/dynamic-action-provider/<dap>:<type>/<name>`.
pub trait DynamicActionProvider: Send + Sync + 'static {
    /// Returns one action, or `None`.
    fn get_action<'a>(
        &'a self,
        action_type: ActionType,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<dyn Action>>>>;
    /// Lists the metadata of the actions of one type (for wildcard expansion and listing).
    fn list_action_metadata<'a>(&'a self, action_type: ActionType) -> BoxFuture<'a, Result<Vec<ActionMetadata>>>;
}
