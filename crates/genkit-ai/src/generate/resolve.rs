//! Resolving a turn's model, tools and output format — once per call: the first turn looks
//! them up (or takes the typed handles the caller passed), later turns with the same model,
//! tools and format reuse them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use genkit_core::{Action, Error, Registry, Result};

use crate::GenerateActionOptions;
use crate::format::{Format, resolve_format};
use crate::middleware::MiddlewareInstance;

/// Actions the caller handed over as typed handles, or that were found while building the
/// request, by the name the request uses for them.
#[derive(Default)]
pub(crate) struct Seeds {
    model: Option<(String, Arc<dyn Action>)>,
    tools: HashMap<String, Arc<dyn Action>>,
}

impl Seeds {
    /// Keeps the model; returns its name.
    pub(super) fn model(&mut self, action: Arc<dyn Action>) -> String {
        let name = action.name().to_owned();
        self.model = Some((name.clone(), action));
        name
    }

    /// Keeps a tool under its request name.
    pub(super) fn tool(&mut self, key: &str, action: Arc<dyn Action>) {
        self.tools.insert(key.to_owned(), action);
    }
}

/// A turn's model, tools (the request's, then the middleware's) and output format.
pub(crate) struct Resolved {
    key: Key,
    pub(crate) model: Arc<dyn Action>,
    pub(crate) tools: Vec<Arc<dyn Action>>,
    pub(crate) format: Option<Arc<dyn Format>>,
}

/// What resolution depends on: the model name, the tool names and the effective format.
#[derive(PartialEq)]
struct Key {
    model: Option<String>,
    tools: Option<Vec<String>>,
    format: Option<String>,
}

impl Key {
    fn of(request: &GenerateActionOptions) -> Key {
        let format = request.output.as_ref().and_then(|o| match (&o.format, &o.json_schema) {
            (Some(f), _) => Some(f.clone()),
            (None, Some(_)) => Some("json".to_owned()),
            (None, None) => None,
        });
        Key { model: request.model.clone(), tools: request.tools.clone(), format }
    }
}

/// The per-call resolution cache.
#[derive(Default)]
pub(crate) struct Resolver {
    seeds: Seeds,
    last: Mutex<Option<Arc<Resolved>>>,
}

impl Resolver {
    pub(crate) fn new(seeds: Seeds) -> Self {
        Resolver { seeds, last: Mutex::new(None) }
    }

    /// The model, tools and format of `request`: the previous turn's when they are the same,
    /// else looked up (typed handles first, then the registry).
    pub(crate) async fn resolve(
        &self,
        registry: &Registry,
        middleware: &[MiddlewareInstance],
        request: &GenerateActionOptions,
    ) -> Result<Arc<Resolved>> {
        let key = Key::of(request);
        if let Some(r) = self.last.lock().unwrap_or_else(PoisonError::into_inner).as_ref()
            && r.key == key
        {
            return Ok(r.clone());
        }
        let model = match (&self.seeds.model, key.model.as_deref()) {
            (Some((name, a)), Some(n)) if name == n => a.clone(),
            (_, n) => crate::model::resolve(registry, n).await?,
        };
        let mut tools = Vec::with_capacity(key.tools.as_ref().map_or(0, Vec::len));
        for n in key.tools.iter().flatten() {
            match self.seeds.tools.get(n) {
                Some(a) => tools.push(a.clone()),
                None => tools.push(resolve_tool(registry, n).await?),
            }
        }
        for m in middleware {
            tools.extend(m.tools());
        }
        let format = resolve_format(registry, request.output.as_ref()).await?;
        let resolved = Arc::new(Resolved { key, model, tools, format });
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(resolved.clone());
        Ok(resolved)
    }
}

/// Resolves a tool reference: a full key, then `/tool/`, `/tool.v2/`, `/prompt/`,
/// `/dynamic-action-provider/`.
///
/// # Errors
/// `NOT_FOUND` `Tool <name> not found`.
pub(crate) async fn resolve_tool(registry: &Registry, name: &str) -> Result<Arc<dyn Action>> {
    if name.starts_with('/')
        && let Some(a) = registry.lookup_action(name).await?
    {
        return Ok(a);
    }
    for prefix in ["/tool/", "/tool.v2/", "/prompt/", "/dynamic-action-provider/"] {
        if let Some(a) = registry.lookup_action(&format!("{prefix}{name}")).await? {
            return Ok(a);
        }
    }
    Err(Error::not_found(format!("Tool {name} not found")))
}
