//! Background (long-running) models and operations: `start` returns an [`Operation`],
//! `check` polls it, `cancel` stops it.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;
use futures::future::BoxFuture;
use genkit_core::{Action, ActionCx, ActionDef, ActionType, Error, Registry, Result, RunOptions, Status};
use serde_json::json;

use super::ModelOptions;
use crate::{ModelRequest, Operation};

type OpFn = dyn Fn(Operation, ActionCx<()>) -> BoxFuture<'static, Result<Operation>> + Send + Sync;

/// The actions of a background model: `/background-model/<n>`,
/// `/check-operation/<n>/check` and (with a cancel function) `/cancel-operation/<n>/cancel`.
#[derive(Debug, Clone)]
pub struct BackgroundModel {
    /// Starts an operation.
    pub start: ActionDef<ModelRequest, Operation>,
    /// Checks an operation.
    pub check: ActionDef<Operation, Operation>,
    /// Cancels an operation.
    pub cancel: Option<ActionDef<Operation, Operation>>,
}

impl BackgroundModel {
    /// Registers every action.
    ///
    /// # Errors
    /// As `Registry::register_action`.
    pub fn register(&self, registry: &Registry) -> Result<()> {
        registry.register_action(self.start.as_action())?;
        registry.register_action(self.check.as_action())?;
        if let Some(c) = &self.cancel {
            registry.register_action(c.as_action())?;
        }
        Ok(())
    }
}

fn stamp(mut op: Operation, key: &str) -> Operation {
    op.action = Some(key.to_owned());
    op
}

fn op_action(ty: ActionType, name: &str, verb: &str, key: String, f: Arc<OpFn>) -> ActionDef<Operation, Operation> {
    ActionDef::<Operation, Operation>::builder(ty, format!("{name}/{verb}")).build(move |op: Operation, cx| {
        let fut = f(op, cx);
        let key = key.clone();
        async move { fut.await.map(|o| stamp(o, &key)) }
    })
}

/// Builds a background model (JS `backgroundModel({…, start, check, cancel?})`). Every
/// returned operation gets `action = "/background-model/<name>"`; `start` adds
/// `metadata.latencyMs`. Declare `supports.long_running = Some(true)` in `opts`.
pub fn new<S, SF, C, CF>(opts: &ModelOptions, start: S, check: C, cancel: Option<Arc<OpFn>>) -> BackgroundModel
where
    S: Fn(ModelRequest, ActionCx<()>) -> SF + Send + Sync + 'static,
    SF: Future<Output = Result<Operation>> + Send + 'static,
    C: Fn(Operation, ActionCx<()>) -> CF + Send + Sync + 'static,
    CF: Future<Output = Result<Operation>> + Send + 'static,
{
    let name = opts.name().to_owned();
    let key = format!("/background-model/{name}");
    let k2 = key.clone();
    let start = super::model_builder::<Operation, ()>(opts, ActionType::BackgroundModel).build(move |req, cx| {
        let t0 = Instant::now();
        let fut = start(req, cx);
        let key = k2.clone();
        async move {
            let mut op = fut.await?;
            op.metadata
                .get_or_insert_with(Default::default)
                .insert("latencyMs".into(), json!(t0.elapsed().as_secs_f64() * 1000.0));
            Ok(stamp(op, &key))
        }
    });
    let check: Arc<OpFn> = Arc::new(move |op, cx| check(op, cx).boxed());
    BackgroundModel {
        start,
        check: op_action(ActionType::CheckOperation, &name, "check", key.clone(), check),
        cancel: cancel.map(|c| op_action(ActionType::CancelOperation, &name, "cancel", key, c)),
    }
}

fn model_name(op: &Operation) -> Result<&str> {
    let Some(action) = op.action.as_deref() else {
        return Err(Error::invalid_argument("Provided operation is missing original request information"));
    };
    action.strip_prefix("/background-model/").ok_or_else(|| {
        Error::invalid_argument(format!("Failed to resolve background action from original request: {action}"))
    })
}

/// JS `lookupBackgroundAction(op.action)` then `check`/`cancel`: the background model must
/// exist (else `INVALID_ARGUMENT`); a missing cancel action is `UNIMPLEMENTED`.
async fn run_op(registry: &Registry, op: Operation, ty: &str, verb: &str) -> Result<Operation> {
    let name = model_name(&op)?;
    let action = op.action.as_deref().unwrap_or_default();
    let unresolved =
        || Error::invalid_argument(format!("Failed to resolve background action from original request: {action}"));
    if registry.lookup_action(action).await?.is_none() {
        return Err(unresolved());
    }
    let key = format!("/{ty}/{name}/{verb}");
    let Some(a): Option<Arc<dyn Action>> = registry.lookup_action(&key).await? else {
        if verb == "cancel" {
            return Err(Error::new(
                Status::Unimplemented,
                format!("Background action {action} does not support cancellation."),
            ));
        }
        return Err(unresolved());
    };
    let input = serde_json::to_value(&op).map_err(Error::internal)?;
    let out = a.run_json(input, RunOptions::new()).await?.result;
    serde_json::from_value(out).map_err(|e| Error::internal(format!("invalid operation: {e}")))
}

/// Checks an operation (JS `ai.checkOperation`).
///
/// # Errors
/// `INVALID_ARGUMENT` when the operation has no `action` or it cannot be resolved.
pub async fn check_operation(registry: &Registry, op: Operation) -> Result<Operation> {
    run_op(registry, op, "check-operation", "check").await
}

/// Cancels an operation (JS `ai.cancelOperation`).
///
/// # Errors
/// As [`check_operation`]; `UNIMPLEMENTED` when the model cannot cancel.
pub async fn cancel_operation(registry: &Registry, op: Operation) -> Result<Operation> {
    run_op(registry, op, "cancel-operation", "cancel").await
}
