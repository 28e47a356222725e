//! The registry: actions by key, values, named schemas, plugins, child registries.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use serde_json::Value;

use crate::key::plugin_segment;
use crate::plugin::{DynPlugin, DynamicActionProvider};
use crate::trace::Telemetry;
use crate::{Action, ActionContext, ActionMetadata, ActionType, Error, ParsedKey, Result, Status, action_key};

type LazyAction = Shared<BoxFuture<'static, Result<Arc<dyn Action>>>>;

#[derive(Clone)]
enum Entry {
    Ready(Arc<dyn Action>),
    Lazy(LazyAction),
}

struct PluginEntry {
    plugin: Arc<dyn DynPlugin>,
    init: tokio::sync::OnceCell<Result<()>>,
    values: tokio::sync::OnceCell<Result<()>>,
}

/// A registered value: any Rust value, optionally with a JSON form for the Dev UI.
#[derive(Clone)]
pub struct RegistryValue {
    any: Arc<dyn Any + Send + Sync>,
    json: Option<Value>,
}

impl fmt::Debug for RegistryValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryValue").field("json", &self.json).finish()
    }
}

impl RegistryValue {
    /// A value without a JSON form.
    pub fn new<T: Any + Send + Sync>(v: T) -> Self {
        RegistryValue { any: Arc::new(v), json: None }
    }

    /// A value with a JSON form (shown by the reflection API's `/api/values`).
    pub fn with_json<T: Any + Send + Sync>(v: T, json: Value) -> Self {
        RegistryValue { any: Arc::new(v), json: Some(json) }
    }

    /// Downcasts to the stored type.
    pub fn downcast<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.any.clone().downcast::<T>().ok()
    }

    /// The JSON form, if any.
    pub fn json(&self) -> Option<&Value> {
        self.json.as_ref()
    }
}

struct Inner {
    parent: Option<Registry>,
    actions: RwLock<HashMap<Arc<str>, Entry>>,
    values: RwLock<HashMap<String, BTreeMap<String, RegistryValue>>>,
    schemas: RwLock<HashMap<String, Value>>,
    plugins: RwLock<Vec<Arc<PluginEntry>>>,
    daps: RwLock<HashMap<String, Arc<dyn DynamicActionProvider>>>,
    all_plugins_ready: AtomicBool,
    init_all_lock: tokio::sync::Mutex<()>,
    /// Grows with every registration: see [`Registry::revision`].
    revision: AtomicU64,
    context: ActionContext,
    telemetry: Arc<Telemetry>,
}

/// The registry: every action, value, schema and plugin of a Genkit instance, addressable by
/// key at run time. Cheap to clone (a handle).
#[derive(Clone)]
pub struct Registry(Arc<Inner>);

/// A weak handle to a registry: what actions and callbacks stored in the registry keep, so
/// they can reach it without keeping it alive (no reference cycle).
#[derive(Clone)]
pub struct WeakRegistry(Weak<Inner>);

impl WeakRegistry {
    /// The registry, if it still exists.
    pub fn upgrade(&self) -> Option<Registry> {
        self.0.upgrade().map(Registry)
    }
}

impl fmt::Debug for WeakRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakRegistry").field("alive", &(self.0.strong_count() > 0)).finish()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.actions.read().map(|a| a.len()).unwrap_or(0);
        f.debug_struct("Registry").field("actions", &n).field("child", &self.0.parent.is_some()).finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    /// An empty root registry with its own telemetry.
    pub fn new() -> Registry {
        Registry::with_parts(ActionContext::default(), Arc::new(Telemetry::new()))
    }

    /// A root registry with a base context (JS `GenkitOptions.context`) and telemetry.
    pub fn with_parts(context: ActionContext, telemetry: Arc<Telemetry>) -> Registry {
        Registry(Arc::new(Inner {
            parent: None,
            actions: RwLock::default(),
            values: RwLock::default(),
            schemas: RwLock::default(),
            plugins: RwLock::default(),
            daps: RwLock::default(),
            all_plugins_ready: AtomicBool::new(true),
            init_all_lock: tokio::sync::Mutex::new(()),
            revision: AtomicU64::new(0),
            context,
            telemetry,
        }))
    }

    /// A child registry: lookups fall back to `self`; registrations stay in the child.
    /// Shares telemetry; does not inherit the base context or plugins.
    pub fn child(&self) -> Registry {
        Registry(Arc::new(Inner {
            parent: Some(self.clone()),
            actions: RwLock::default(),
            values: RwLock::default(),
            schemas: RwLock::default(),
            plugins: RwLock::default(),
            daps: RwLock::default(),
            all_plugins_ready: AtomicBool::new(true),
            init_all_lock: tokio::sync::Mutex::new(()),
            revision: AtomicU64::new(0),
            context: ActionContext::default(),
            telemetry: self.0.telemetry.clone(),
        }))
    }

    /// A weak handle to this registry (for callbacks stored in it, to avoid cycles).
    pub fn downgrade(&self) -> WeakRegistry {
        WeakRegistry(Arc::downgrade(&self.0))
    }

    /// The parent, for child registries.
    pub fn parent(&self) -> Option<&Registry> {
        self.0.parent.as_ref()
    }

    /// The base context merged under every action's context.
    pub fn context(&self) -> &ActionContext {
        &self.0.context
    }

    /// The telemetry spans of this registry's actions go to.
    pub fn telemetry(&self) -> Arc<Telemetry> {
        self.0.telemetry.clone()
    }

    /// A counter that grows with every registration in this registry (actions, lazy actions,
    /// values, schemas, plugins, dynamic action providers). The developer tools use it to
    /// announce the runtime once the app has finished defining its actions.
    pub fn revision(&self) -> u64 {
        self.0.revision.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.0.revision.fetch_add(1, Ordering::AcqRel);
    }

    // ---- actions ----

    /// Registers an action. A duplicate key logs an error and overwrites.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` when called on a root registry from inside a running action
    /// (`Cannot define new actions at runtime.`).
    pub fn register_action(&self, action: Arc<dyn Action>) -> Result<()> {
        self.check_not_in_runtime(&action.metadata().key)?;
        self.insert_action(action);
        Ok(())
    }

    /// The runtime guard: a root registry refuses new actions while an action runs (child
    /// registries, which hold per-call dynamic actions, accept them).
    fn check_not_in_runtime(&self, key: &str) -> Result<()> {
        if self.0.parent.is_none() && crate::context::in_action_runtime() {
            return Err(Error::new(
                Status::FailedPrecondition,
                format!(
                    "Cannot define new actions at runtime (while defining '{key}'). Define actions when the app starts, before running any."
                ),
            ));
        }
        Ok(())
    }

    /// Registers an action under `namespace/` unless its name already has that prefix.
    ///
    /// # Errors
    /// As [`Registry::register_action`]; `INVALID_ARGUMENT` when the action cannot be renamed.
    pub fn register_action_in(&self, namespace: &str, action: Arc<dyn Action>) -> Result<()> {
        let action = namespaced(namespace, action)?;
        self.register_action(action)
    }

    pub(crate) fn insert_action(&self, action: Arc<dyn Action>) {
        attach(&action, self);
        let key: Arc<str> = action.metadata().key.clone();
        let old = write(&self.0.actions).insert(key.clone(), Entry::Ready(action));
        self.bump();
        if old.is_some() {
            log_overwrite(&key);
        }
    }

    /// Registers a lazily created action (JS `registerActionAsync`): `make` runs on the
    /// first lookup. Like [`Registry::register_action`], a duplicate key logs an error and
    /// overwrites.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` when called on a root registry from inside a running action
    /// (`Cannot define new actions at runtime.`); nothing is registered then.
    pub fn register_action_lazy(
        &self,
        action_type: ActionType,
        name: &str,
        make: impl std::future::Future<Output = Result<Arc<dyn Action>>> + Send + 'static,
    ) -> Result<()> {
        let key: Arc<str> = action_key(action_type, name).into();
        self.check_not_in_runtime(&key)?;
        let me = self.downgrade();
        let fut = async move {
            let a = make.await?;
            if let Some(r) = me.upgrade() {
                attach(&a, &r);
            }
            Ok(a)
        }
        .boxed()
        .shared();
        let old = write(&self.0.actions).insert(key.clone(), Entry::Lazy(fut));
        self.bump();
        if old.is_some() {
            log_overwrite(&key);
        }
        Ok(())
    }

    /// Looks an action up by key: DAP children, then the key's plugin (initialized, and
    /// its resolver asked on a miss), then local entries, then the parent. `Ok(None)` when
    /// absent.
    ///
    /// # Errors
    /// A plugin's init or resolve error; a lazy action's creation error.
    pub fn lookup_action<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Arc<dyn Action>>>> {
        async move {
            if key.starts_with("/dynamic-action-provider/") && key.contains(':') {
                let parsed = ParsedKey::parse(key)?;
                if let Some(host) = &parsed.dynamic_action_host
                    && let Some(dap) = self.lookup_dap(host)
                {
                    if parsed.action_name.contains('*') {
                        return Ok(None);
                    }
                    return dap.get_action(parsed.action_type, &parsed.action_name).await;
                }
            }
            if let Some(plugin) = plugin_segment(key)
                && let Some(entry) = self.local_plugin(plugin)
            {
                self.init_plugin(&entry).await?;
                if !read(&self.0.actions).contains_key(key) {
                    let parsed = ParsedKey::parse(key)?;
                    let resolved = entry.plugin.resolve(parsed.action_type, &parsed.action_name).await?;
                    if let Some(a) = resolved {
                        let a = namespaced(entry.plugin.name(), a)?;
                        self.insert_action(a);
                    }
                }
            }
            let entry = read(&self.0.actions).get(key).cloned();
            match entry {
                Some(Entry::Ready(a)) => Ok(Some(a)),
                Some(Entry::Lazy(f)) => {
                    let a = f.await?;
                    write(&self.0.actions).insert(key.into(), Entry::Ready(a.clone()));
                    Ok(Some(a))
                }
                None => match &self.0.parent {
                    Some(p) => p.lookup_action(key).await,
                    None => Ok(None),
                },
            }
        }
        .boxed()
    }

    /// Like [`Registry::lookup_action`], but absence is a `NOT_FOUND` error.
    ///
    /// # Errors
    /// `NOT_FOUND` when absent; otherwise as `lookup_action`.
    pub async fn require_action(&self, key: &str) -> Result<Arc<dyn Action>> {
        ParsedKey::parse(key)?;
        self.lookup_action(key).await?.ok_or_else(|| Error::not_found(format!("action '{key}' not found")))
    }

    /// Expands a key into concrete keys: DAP wildcards (`…:tool/*`, `…:tool/prefix*`)
    /// through the provider's list; other keys to themselves if they exist.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for an invalid key; a provider's list error.
    pub async fn resolve_action_names(&self, key: &str) -> Result<Vec<String>> {
        let parsed = ParsedKey::parse(key)?;
        if let Some(host) = &parsed.dynamic_action_host
            && let Some(dap) = self.lookup_dap(host)
            && let Some(prefix) = parsed.action_name.strip_suffix('*')
        {
            let metas = dap.list_action_metadata(parsed.action_type).await?;
            return Ok(metas
                .iter()
                .filter(|m| m.name.starts_with(prefix))
                .map(|m| format!("/dynamic-action-provider/{host}:{}/{}", parsed.action_type, m.name))
                .collect());
        }
        Ok(if self.lookup_action(key).await?.is_some() { vec![key.to_owned()] } else { Vec::new() })
    }

    /// Every registered action: initializes all plugins, creates lazy actions, and
    /// merges the parent's under this registry's (child wins). Sorted by key.
    ///
    /// # Errors
    /// A plugin's init error or a lazy action's creation error.
    pub fn list_actions(&self) -> BoxFuture<'_, Result<BTreeMap<String, Arc<dyn Action>>>> {
        async move {
            self.initialize_all_plugins().await?;
            let mut out = match &self.0.parent {
                Some(p) => p.list_actions().await?,
                None => BTreeMap::new(),
            };
            let entries: Vec<(Arc<str>, Entry)> =
                read(&self.0.actions).iter().map(|(k, e)| (k.clone(), e.clone())).collect();
            for (k, e) in entries {
                let a = match e {
                    Entry::Ready(a) => a,
                    Entry::Lazy(f) => {
                        let a = f.await?;
                        write(&self.0.actions).insert(k.clone(), Entry::Ready(a.clone()));
                        a
                    }
                };
                out.insert(k.to_string(), a);
            }
            Ok(out)
        }
        .boxed()
    }

    /// Metadata of every registered action plus what plugins and DAPs could resolve.
    /// Plugins are listed in parallel; a plugin whose `list` fails, or lists an entry without
    /// a name (`INVALID_ARGUMENT`), is logged at error level (`Error listing actions for
    /// <plugin>`) and contributes nothing, while the other plugins' entries are kept.
    ///
    /// # Errors
    /// As [`Registry::list_actions`].
    pub async fn list_resolvable_actions(&self) -> Result<BTreeMap<String, ActionMetadata>> {
        let mut out: BTreeMap<String, ActionMetadata> = BTreeMap::new();
        let root = self.root();
        let plugins = root.plugins();
        let lists = futures::future::join_all(plugins.iter().map(|p| async move {
            let name = p.plugin.name();
            (name.to_owned(), p.plugin.list().await.and_then(|metas| namespaced_listing(name, metas)))
        }))
        .await;
        for (plugin, res) in lists {
            match res {
                Ok(metas) => out.extend(metas.into_iter().map(|m| (m.key.to_string(), m))),
                Err(e) => tracing::error!("Error listing actions for {plugin}: {e}"),
            }
        }
        for (k, a) in self.list_actions().await? {
            out.insert(k, a.metadata().clone());
        }
        let daps: Vec<(String, Arc<dyn DynamicActionProvider>)> = self.all_daps().into_iter().collect();
        for (host, dap) in daps {
            for t in ActionType::ALL {
                if let Ok(metas) = dap.list_action_metadata(t).await {
                    for mut m in metas {
                        m.key = format!("/dynamic-action-provider/{host}:{t}/{}", m.name).into();
                        out.insert(m.key.to_string(), m);
                    }
                }
            }
        }
        Ok(out)
    }

    // ---- dynamic action providers ----

    /// Registers a dynamic action provider under `name`, together with its action
    /// (`/dynamic-action-provider/<name>`).
    ///
    /// # Errors
    /// As [`Registry::register_action`].
    pub fn register_dynamic_action_provider(
        &self,
        name: &str,
        provider: Arc<dyn DynamicActionProvider>,
        action: Arc<dyn Action>,
    ) -> Result<()> {
        self.register_action(action)?;
        write(&self.0.daps).insert(name.to_owned(), provider);
        self.bump();
        Ok(())
    }

    fn lookup_dap(&self, name: &str) -> Option<Arc<dyn DynamicActionProvider>> {
        read(&self.0.daps).get(name).cloned().or_else(|| self.0.parent.as_ref().and_then(|p| p.lookup_dap(name)))
    }

    fn all_daps(&self) -> HashMap<String, Arc<dyn DynamicActionProvider>> {
        let mut m = self.0.parent.as_ref().map(Registry::all_daps).unwrap_or_default();
        m.extend(read(&self.0.daps).iter().map(|(k, v)| (k.clone(), v.clone())));
        m
    }

    // ---- plugins ----

    fn root(&self) -> &Registry {
        let mut r = self;
        while let Some(p) = &r.0.parent {
            r = p;
        }
        r
    }

    fn plugins(&self) -> Vec<Arc<PluginEntry>> {
        read(&self.0.plugins).clone()
    }

    fn local_plugin(&self, name: &str) -> Option<Arc<PluginEntry>> {
        read(&self.0.plugins).iter().find(|p| p.plugin.name() == name).cloned()
    }

    /// Registers a plugin; it initializes lazily.
    ///
    /// # Errors
    /// `ALREADY_EXISTS` when a plugin of that name is registered (`Plugin X already registered`).
    pub fn register_plugin(&self, plugin: Arc<dyn DynPlugin>) -> Result<()> {
        let mut ps = write(&self.0.plugins);
        if ps.iter().any(|p| p.plugin.name() == plugin.name()) {
            return Err(Error::new(Status::AlreadyExists, format!("Plugin {} already registered", plugin.name())));
        }
        ps.push(Arc::new(PluginEntry {
            plugin,
            init: tokio::sync::OnceCell::new(),
            values: tokio::sync::OnceCell::new(),
        }));
        self.0.all_plugins_ready.store(false, Ordering::Release);
        drop(ps);
        self.bump();
        Ok(())
    }

    /// Registers a plugin and, right away, the values it contributes
    /// ([`Plugin::values`](crate::Plugin::values), e.g. generate middlewares), as JS `genkit()`
    /// registers a plugin's middlewares; its actions still initialize lazily.
    /// `Genkit::builder().plugin(…)` uses this.
    ///
    /// # Errors
    /// As [`Registry::register_plugin`]; an error from `values` (the plugin stays registered).
    pub async fn add_plugin(&self, plugin: Arc<dyn DynPlugin>) -> Result<()> {
        let name = plugin.name().to_owned();
        self.register_plugin(plugin)?;
        match self.local_plugin(&name) {
            Some(entry) => self.plugin_values(&entry).await,
            None => Ok(()),
        }
    }

    /// Registers the plugin's values once (at `add_plugin`, else when it initializes).
    async fn plugin_values(&self, entry: &PluginEntry) -> Result<()> {
        entry
            .values
            .get_or_init(|| async {
                let name = entry.plugin.name();
                let values = entry.plugin.values().await.map_err(|e| {
                    Error::new(e.status(), format!("initializing plugin '{name}' failed: {}", e.message()))
                        .with_source(e)
                })?;
                for v in values {
                    self.register_value(&v.value_type, &v.name, v.value);
                }
                Ok(())
            })
            .await
            .clone()
    }

    /// Names of the registered plugins, in registration order.
    pub fn plugin_names(&self) -> Vec<String> {
        read(&self.root().0.plugins).iter().map(|p| p.plugin.name().to_owned()).collect()
    }

    async fn init_plugin(&self, entry: &PluginEntry) -> Result<()> {
        entry
            .init
            .get_or_init(|| async {
                let name = entry.plugin.name().to_owned();
                tracing::debug!("initializing plugin {name}");
                let actions = entry.plugin.init().await.map_err(|e| {
                    Error::new(e.status(), format!("initializing plugin '{name}' failed: {}", e.message()))
                        .with_source(e)
                })?;
                for a in actions {
                    let a = namespaced(&name, a)?;
                    self.insert_action(a);
                }
                self.plugin_values(entry).await
            })
            .await
            .clone()
    }

    /// Initializes every plugin once, sequentially in registration order. Cheap once
    /// done.
    ///
    /// # Errors
    /// The first plugin init error.
    pub async fn initialize_all_plugins(&self) -> Result<()> {
        let root = self.root();
        if root.0.all_plugins_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let _g = root.0.init_all_lock.lock().await;
        for p in root.plugins() {
            root.init_plugin(&p).await?;
        }
        root.0.all_plugins_ready.store(true, Ordering::Release);
        Ok(())
    }

    // ---- values ----

    /// Registers a value of a type (`format`, `defaultModel`, `middleware`, …).
    pub fn register_value(&self, value_type: &str, name: &str, value: RegistryValue) {
        write(&self.0.values).entry(value_type.to_owned()).or_default().insert(name.to_owned(), value);
        self.bump();
    }

    /// Looks a value up (JS `lookupValue`). When this registry has no such value and `key`
    /// has four or more `/`-separated tokens (`/<x>/<plugin>/<name…>`), the plugin named by
    /// the third token is initialized first (which registers its [`Plugin::values`]); then the
    /// lookup falls back to the parent.
    ///
    /// [`Plugin::values`]: crate::Plugin::values
    ///
    /// # Errors
    /// A plugin's init error.
    pub fn lookup_value<'a>(
        &'a self,
        value_type: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<RegistryValue>>> {
        async move {
            let local = || read(&self.0.values).get(value_type).and_then(|m| m.get(key)).cloned();
            let mut v = local();
            if v.is_none()
                && let Some(plugin) = value_key_plugin(key)
                && let Some(e) = self.root().local_plugin(plugin)
            {
                self.root().init_plugin(&e).await?;
                v = local();
            }
            match (v, &self.0.parent) {
                (Some(v), _) => Ok(Some(v)),
                (None, Some(p)) => p.lookup_value(value_type, key).await,
                (None, None) => Ok(None),
            }
        }
        .boxed()
    }

    /// All values of a type, the parent's merged under this registry's.
    ///
    /// # Errors
    /// A plugin's init error.
    pub fn list_values<'a>(&'a self, value_type: &'a str) -> BoxFuture<'a, Result<BTreeMap<String, RegistryValue>>> {
        async move {
            self.initialize_all_plugins().await?;
            let mut out = match &self.0.parent {
                Some(p) => p.list_values(value_type).await?,
                None => BTreeMap::new(),
            };
            if let Some(m) = read(&self.0.values).get(value_type) {
                out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            Ok(out)
        }
        .boxed()
    }

    // ---- schemas ----

    /// Registers a named JSON schema.
    ///
    /// # Errors
    /// `ALREADY_EXISTS` (`Schema X already registered`).
    pub fn register_schema(&self, name: &str, schema: Value) -> Result<()> {
        let mut s = write(&self.0.schemas);
        if s.contains_key(name) {
            return Err(Error::new(Status::AlreadyExists, format!("Schema {name} already registered")));
        }
        s.insert(name.to_owned(), schema);
        drop(s);
        self.bump();
        Ok(())
    }

    /// Looks a named schema up, falling back to the parent.
    pub fn lookup_schema(&self, name: &str) -> Option<Value> {
        read(&self.0.schemas).get(name).cloned().or_else(|| self.0.parent.as_ref().and_then(|p| p.lookup_schema(name)))
    }

    /// Like [`Registry::lookup_schema`], but absence is `NOT_FOUND` `Schema '<name>' not found`.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub fn require_schema(&self, name: &str) -> Result<Value> {
        self.lookup_schema(name).ok_or_else(|| Error::not_found(format!("Schema '{name}' not found")))
    }
}

/// The plugin a value key names (JS `parsePluginName`): the third `/`-token of a key with at
/// least four.
fn value_key_plugin(key: &str) -> Option<&str> {
    let mut tokens = key.split('/');
    let plugin = tokens.nth(2)?;
    tokens.next().map(|_| plugin)
}

/// The duplicate-key log line of action registration (JS logs `<key> already has an entry in the registry.
/// Overwriting.` at error level).
fn log_overwrite(key: &str) {
    tracing::error!("{key} already has an entry in the registry. Overwriting.");
}

fn attach(action: &Arc<dyn Action>, registry: &Registry) {
    crate::action::attach_registry_dyn(action.as_ref(), registry);
}

/// Checks a plugin's `list` result and puts each entry under `plugin/` unless already there.
/// One entry without a name rejects the whole list (JS throws `INVALID_ARGUMENT` from inside
/// its loop over the list and the caller swallows it per plugin; an `actionType` is always
/// present here, the type guarantees it).
fn namespaced_listing(plugin: &str, metas: Vec<ActionMetadata>) -> Result<Vec<ActionMetadata>> {
    if metas.iter().any(|m| m.name.is_empty()) {
        return Err(Error::invalid_argument(format!(
            "Invalid metadata when listing actions from {plugin} - name required"
        )));
    }
    let prefix = format!("{plugin}/");
    Ok(metas
        .into_iter()
        .map(|mut m| {
            if !m.name.starts_with(&prefix) {
                let n = format!("{prefix}{}", m.name);
                m.set_name(n);
            } else if m.key.is_empty() {
                let n = m.name.to_string();
                m.set_name(n);
            }
            m
        })
        .collect())
}

/// Puts an action under `namespace/` unless already there (plugin namespacing).
pub(crate) fn namespaced(namespace: &str, action: Arc<dyn Action>) -> Result<Arc<dyn Action>> {
    let name = &action.metadata().name;
    if name.len() > namespace.len() && name.starts_with(namespace) && name.as_bytes()[namespace.len()] == b'/' {
        return Ok(action);
    }
    let full = format!("{namespace}/{name}");
    action.renamed(&full).ok_or_else(|| {
        Error::invalid_argument(format!(
            "action '{name}' of plugin '{namespace}' cannot be renamed to '{full}'; name it '{full}' yourself"
        ))
    })
}

#[cfg(test)]
mod tests;
