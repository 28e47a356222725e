//! `fallback`: when a model call fails with a fallback status, the next of a list of models
//! is tried (JS `fallback` of `@genkit-ai/middleware`).

use std::sync::OnceLock;

use genkit_ai::middleware::{Middleware, MiddlewareDef, MiddlewareUse, ModelNext};
use genkit_ai::{ModelReference, ModelRequest, ModelResponse, model};
use genkit_core::{Error, Registry, Result, Status};
use serde::{Deserialize, Serialize};

use crate::never_retry;
use crate::retry::RETRY_STATUSES;

/// Options of [`fallback`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct FallbackOptions {
    /// Models to try in order.
    pub models: Vec<ModelReference>,
    /// Statuses that trigger the fallback (default: the retry statuses plus `NOT_FOUND`,
    /// `UNIMPLEMENTED`).
    #[schemars(with = "Vec<String>")]
    pub statuses: Vec<Status>,
    /// Use only each fallback model's own config (otherwise its config, else the request's).
    pub isolate_config: bool,
}

impl Default for FallbackOptions {
    fn default() -> Self {
        let mut statuses = RETRY_STATUSES.to_vec();
        statuses.extend([Status::NotFound, Status::Unimplemented]);
        FallbackOptions { models: Vec::new(), statuses, isolate_config: false }
    }
}

struct Fallback(FallbackOptions, Registry);

impl Middleware for Fallback {
    async fn wrap_model(&self, req: ModelRequest, next: ModelNext<'_>) -> Result<ModelResponse> {
        {
            let first = match next.run(req.clone()).await {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            let o = &self.0;
            if never_retry(&first) || !o.statuses.contains(&first.status()) {
                tracing::warn!(middleware = "fallback", "Skipping fallback for unhandled error: {first}");
                return Err(first);
            }
            let mut last = first;
            for m in &o.models {
                tracing::warn!(middleware = "fallback", target_model = %m.name, "Falling back to model {} due to error {last}", m.name);
                let mut r = req.clone();
                r.config =
                    if o.isolate_config { m.config.clone() } else { m.config.clone().or_else(|| req.config.clone()) };
                let result = match model::lookup(&self.1, &m.name).await {
                    Ok(Some(action)) => model::call(&action, r, next.cx().clone()).await,
                    Ok(None) => Err(Error::not_found(format!("Model '{}' not found", m.name))),
                    Err(e) => Err(e),
                };
                match result {
                    Ok(resp) => return Ok(resp),
                    Err(e) if !never_retry(&e) && o.statuses.contains(&e.status()) => last = e,
                    Err(e) => {
                        tracing::warn!(
                            middleware = "fallback",
                            "Aborting fallback sequence for unrecoverable error: {e}"
                        );
                        return Err(e);
                    }
                }
            }
            tracing::warn!(middleware = "fallback", "Fallback options exhausted. Last error: {last}");
            Err(last)
        }
    }
}

/// The `fallback` middleware definition.
pub fn fallback_def() -> MiddlewareDef {
    static D: OnceLock<MiddlewareDef> = OnceLock::new();
    D.get_or_init(|| {
        MiddlewareDef::typed(
            "fallback",
            "Falls back to other models when a model call fails.",
            |o: FallbackOptions, init| Ok(Fallback(o, init.registry.clone())),
        )
    })
    .clone()
}

/// Calls the next model of `models` when a model call fails with a fallback status .
pub fn fallback(options: FallbackOptions) -> MiddlewareUse {
    fallback_def().with_config(serde_json::to_value(options).ok())
}
