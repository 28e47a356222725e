//! Finding and calling models: by name (`/model/<name>`, else `/background-model/<name>`),
//! the registry's default model, and one call with a request, typed when the action is a
//! [`Model`](super::Model) and through JSON otherwise.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use genkit_core::{Action, ActionType, Error, Registry, Result, RunOptions};
use serde_json::{Map, Value};

use crate::middleware::ModelHookCx;
use crate::{ModelRequest, ModelResponse, ModelResponseChunk, Operation};

/// The model action named `name`: `/model/<name>`, else `/background-model/<name>`.
///
/// # Errors
/// A plugin's error while resolving it.
pub async fn lookup(registry: &Registry, name: &str) -> Result<Option<Arc<dyn Action>>> {
    if let Some(a) = registry.lookup_action(&format!("/model/{name}")).await? {
        return Ok(Some(a));
    }
    registry.lookup_action(&format!("/background-model/{name}")).await
}

/// The model named `name`, else the registry's default model (JS `resolveModel`). Logs a
/// warning for a deprecated model.
///
/// # Errors
/// `INVALID_ARGUMENT` `Must supply a `model` to `generate()` calls.` without a name or a
/// default; `NOT_FOUND` `Model '<name>' not found`.
pub async fn resolve(registry: &Registry, name: Option<&str>) -> Result<Arc<dyn Action>> {
    let name = match name {
        Some(n) => n.to_owned(),
        None => match registry.lookup_value("defaultModel", "defaultModel").await?.and_then(|v| v.downcast::<String>())
        {
            Some(n) => (*n).clone(),
            None => return Err(Error::invalid_argument("Must supply a `model` to `generate()` calls.")),
        },
    };
    let model = lookup(registry, &name).await?.ok_or_else(|| Error::not_found(format!("Model '{name}' not found")))?;
    if model_info(&*model).and_then(|m| m.get("stage")).and_then(Value::as_str) == Some("deprecated") {
        tracing::warn!("Model '{}' is deprecated and may be removed in a future release.", model.name());
    }
    Ok(model)
}

/// The action's `metadata.model` (`{label, supports, stage, …}`).
pub(crate) fn model_info(model: &dyn Action) -> Option<&Map<String, Value>> {
    model.metadata().metadata.as_ref().and_then(|m| m.get("model")).and_then(Value::as_object)
}

/// Run options carrying a call's cancellation and explicit context.
pub(crate) fn run_options<S: 'static>(
    cancel: Option<tokio_util::sync::CancellationToken>,
    context: Option<genkit_core::ActionContext>,
) -> RunOptions<S> {
    let mut opts = RunOptions::new();
    if let Some(c) = cancel {
        opts = opts.cancellation(c);
    }
    if let Some(c) = context {
        opts = opts.context(c);
    }
    opts
}

/// Calls a model action with `req`: typed when it is a [`Model`](super::Model), else through
/// JSON (a background model's operation comes back as the response's `operation`). Chunks go
/// to `cx.on_chunk`.
///
/// # Errors
/// The model's error; `INTERNAL` when a JSON model returns something that is not a response.
pub fn call(model: &Arc<dyn Action>, req: ModelRequest, cx: ModelHookCx) -> BoxFuture<'static, Result<ModelResponse>> {
    if let Some(typed) = model.as_any().downcast_ref::<super::Model>() {
        let mut opts = run_options::<ModelResponseChunk>(cx.cancellation, cx.context);
        if let Some(s) = cx.on_chunk {
            opts = opts.on_chunk_sink(s);
        }
        let fut = typed.run_with(req, opts);
        return async move { fut.await.map(|r| r.result) }.boxed();
    }
    let mut opts = run_options::<Value>(cx.cancellation, cx.context);
    if let Some(s) = cx.on_chunk {
        opts = opts.on_chunk_sink(s.map(|v: Value| serde_json::from_value::<ModelResponseChunk>(v).ok()));
    }
    let background = model.metadata().action_type == ActionType::BackgroundModel;
    let input = serde_json::to_value(&req);
    let model = model.clone();
    async move {
        let out = model.run_json(input.map_err(Error::internal)?, opts).await?.result;
        if background {
            let op: Operation = serde_json::from_value(out)
                .map_err(|e| Error::internal(format!("background model returned an invalid operation: {e}")))?;
            return Ok(ModelResponse { operation: Some(op), ..ModelResponse::default() });
        }
        serde_json::from_value(out).map_err(|e| Error::internal(format!("model returned an invalid response: {e}")))
    }
    .boxed()
}
