//! Dynamic action providers: a source of actions discovered at run time (MCP servers,
//! remote catalogues), cached with a TTL and addressed as
//! `/dynamic-action-provider/<dap>:<type>/<name>` (tools also as `<dap>:tool/<name|*>`).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use genkit_core::{Action, ActionDef, ActionMetadata, ActionType, DynamicActionProvider, Registry, Result};
use serde_json::{Value, json};
// Tokio's clock (the system clock outside paused-time tests).
use tokio::time::Instant;

/// The actions a provider offers, by type.
pub type DapActions = HashMap<ActionType, Vec<Arc<dyn Action>>>;

type FetchFn = dyn Fn() -> BoxFuture<'static, Result<DapActions>> + Send + Sync;

/// How long fetched actions are cached (JS `cacheConfig.ttlMillis`).
///
/// The variants are literal: `For(Duration::ZERO)` expires at once, i.e. behaves like
/// `Disabled`. To carry a JS-style `ttlMillis` over (where `0` means the default), use
/// [`CacheTtl::from_millis`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheTtl {
    /// Cache for this long (the default is 3 s).
    For(Duration),
    /// Fetch on every lookup (JS: a negative TTL).
    Disabled,
}

/// The default TTL, 3000 ms (JS `cacheConfig.ttlMillis` undefined or `0`).
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_millis(3000);

impl Default for CacheTtl {
    fn default() -> Self {
        CacheTtl::For(DEFAULT_CACHE_TTL)
    }
}

impl CacheTtl {
    /// The TTL JS derives from `cacheConfig.ttlMillis`: `None` or `0` → the default
    /// 3000 ms, negative → no caching, positive → that many milliseconds.
    ///
    /// ```
    /// use std::time::Duration;
    /// use genkit_ai::dap::CacheTtl;
    /// assert_eq!(CacheTtl::from_millis(None), CacheTtl::default());
    /// assert_eq!(CacheTtl::from_millis(Some(0)), CacheTtl::For(Duration::from_millis(3000)));
    /// assert_eq!(CacheTtl::from_millis(Some(-1)), CacheTtl::Disabled);
    /// assert_eq!(CacheTtl::from_millis(Some(50)), CacheTtl::For(Duration::from_millis(50)));
    /// ```
    pub fn from_millis(ttl_millis: Option<i64>) -> CacheTtl {
        match ttl_millis {
            None | Some(0) => CacheTtl::default(),
            Some(ms) if ms < 0 => CacheTtl::Disabled,
            Some(ms) => CacheTtl::For(Duration::from_millis(ms.unsigned_abs())),
        }
    }
}

struct Cached {
    at: Instant,
    actions: Arc<DapActions>,
}

/// A dynamic action provider with a TTL cache; concurrent fetches are coalesced and a
/// failed fetch invalidates the cache.
pub struct Dap {
    name: String,
    ttl: CacheTtl,
    fetch: Arc<FetchFn>,
    cache: tokio::sync::Mutex<Option<Cached>>,
}

impl fmt::Debug for Dap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dap").field("name", &self.name).field("ttl", &self.ttl).finish()
    }
}

impl Dap {
    /// The actions, from the cache while fresh, else fetched.
    ///
    /// # Errors
    /// The fetch error (the cache is invalidated).
    pub async fn actions(&self) -> Result<Arc<DapActions>> {
        let mut guard = self.cache.lock().await;
        if let (CacheTtl::For(ttl), Some(c)) = (self.ttl, guard.as_ref())
            && c.at.elapsed() < ttl
        {
            return Ok(c.actions.clone());
        }
        self.refresh_locked(&mut guard).await
    }

    async fn refresh_locked(&self, guard: &mut Option<Cached>) -> Result<Arc<DapActions>> {
        match (self.fetch)().await {
            Ok(a) => {
                let a = Arc::new(a);
                *guard = Some(Cached { at: Instant::now(), actions: a.clone() });
                Ok(a)
            }
            Err(e) => {
                *guard = None;
                Err(e)
            }
        }
    }

    /// Fetches again, ignoring the cache.
    ///
    /// # Errors
    /// The fetch error.
    pub async fn refresh(&self) -> Result<Arc<DapActions>> {
        let mut guard = self.cache.lock().await;
        self.refresh_locked(&mut guard).await
    }

    /// Drops the cached actions.
    pub async fn invalidate_cache(&self) {
        *self.cache.lock().await = None;
    }

    /// Metadata of the actions of `action_type` whose names match `pattern` (`*` = all,
    /// `prefix*`, or an exact name).
    ///
    /// # Errors
    /// The fetch error.
    pub async fn list_matching(&self, action_type: ActionType, pattern: &str) -> Result<Vec<ActionMetadata>> {
        let all = self.actions().await?;
        let matches = |n: &str| match pattern.strip_suffix('*') {
            Some(prefix) => n.starts_with(prefix),
            None => n == pattern,
        };
        Ok(all
            .get(&action_type)
            .map(|v| {
                v.iter()
                    .filter(|a| matches(&a.metadata().name))
                    .map(|a| child_metadata(&self.name, action_type, &**a))
                    .collect()
            })
            .unwrap_or_default())
    }
}

fn child_metadata(dap: &str, action_type: ActionType, a: &dyn Action) -> ActionMetadata {
    let mut m = a.metadata().clone();
    m.key = format!("/dynamic-action-provider/{dap}:{}/{}", action_type.as_str(), m.name).into();
    m
}

impl DynamicActionProvider for Dap {
    fn get_action<'a>(
        &'a self,
        action_type: ActionType,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<dyn Action>>>> {
        async move {
            let all = self.actions().await?;
            Ok(all.get(&action_type).and_then(|v| v.iter().find(|a| &*a.metadata().name == name).cloned()))
        }
        .boxed()
    }

    fn list_action_metadata<'a>(&'a self, action_type: ActionType) -> BoxFuture<'a, Result<Vec<ActionMetadata>>> {
        self.list_matching(action_type, "*").boxed()
    }
}

/// Defines and registers a dynamic action provider `name` (JS
/// `defineDynamicActionProvider`): its action `/dynamic-action-provider/<name>` returns the
/// metadata of every provided action (refreshing the cache), and lookups of
/// `/dynamic-action-provider/<name>:<type>/<action>` go through the cache.
///
/// # Errors
/// As `Registry::register_action`.
pub fn define_dynamic_action_provider<F, Fut>(
    registry: &Registry,
    name: &str,
    ttl: CacheTtl,
    fetch: F,
) -> Result<Arc<Dap>>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<DapActions>> + Send + 'static,
{
    let dap = Arc::new(Dap {
        name: name.to_owned(),
        ttl,
        fetch: Arc::new(move || fetch().boxed()),
        cache: tokio::sync::Mutex::new(None),
    });
    let d2 = dap.clone();
    // Made with JS `defineAction`, so plugins are initialized before it runs.
    let action = ActionDef::<Value, Value>::builder(ActionType::DynamicActionProvider, name)
        .metadata("type", json!("dynamic-action-provider"))
        .initializes_plugins()
        .build(move |_input: Value, _cx| {
            let d = d2.clone();
            async move {
                let all = d.refresh().await?;
                let mut out = Vec::new();
                for (t, actions) in all.iter() {
                    out.extend(actions.iter().map(|a| child_metadata(&d.name, *t, &**a)));
                }
                out.sort_by(|a, b| a.key.cmp(&b.key));
                serde_json::to_value(out).map_err(genkit_core::Error::internal)
            }
        });
    registry.register_dynamic_action_provider(name, dap.clone(), action.as_action())?;
    Ok(dap)
}
