//! Starting a generation on a background model and returning its operation (JS
//! `ai.generateOperation`).

use genkit_core::{Error, Registry, Result, Status};

use super::{GenerateOptions, ModelArg, generate};
use crate::Operation;

/// Starts a generation on a background model and returns its operation.
///
/// # Errors
/// `INVALID_ARGUMENT` when the model does not declare `supports.longRunning`;
/// `FAILED_PRECONDITION` when no operation came back.
pub async fn generate_operation(registry: &Registry, opts: GenerateOptions) -> Result<Operation> {
    let model = match &opts.model {
        Some(ModelArg::Name(n)) => crate::model::resolve(registry, Some(n)).await?,
        Some(ModelArg::Ref(r)) => crate::model::resolve(registry, Some(r.name())).await?,
        Some(ModelArg::Action(a)) => a.clone(),
        None => crate::model::resolve(registry, None).await?,
    };
    let long = crate::model::model_info(&*model)
        .and_then(|m| m.get("supports"))
        .and_then(|s| s.get("longRunning"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    if !long {
        return Err(Error::invalid_argument(format!(
            "Model '{}' does not support long running operations.",
            model.name()
        )));
    }
    let resp = generate(registry, opts).await?;
    resp.into_data().operation.ok_or_else(|| {
        Error::new(Status::FailedPrecondition, format!("Model '{}' did not return an operation.", model.name()))
    })
}
