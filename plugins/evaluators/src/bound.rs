//! Gives an evaluator's scoring function the registry it is registered in.
//!
//! `genkit_ai::evaluator::new` calls the scoring function with the data point and options
//! only, but the judge metrics must reach their judge model and embedder through the registry.
//! [`Bound`] wraps the evaluator action and, when the registry registers it, records a weak
//! handle in a [`RegistrySlot`] that the scoring function holds.

use std::any::Any;
use std::sync::{Arc, OnceLock};

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use genkit_core::{Action, ActionMetadata, ActionResult, Error, Registry, Result, RunOptions, Status, WeakRegistry};
use serde_json::Value;

/// Where a registered evaluator finds its registry.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegistrySlot(Arc<OnceLock<WeakRegistry>>);

impl RegistrySlot {
    /// The registry the evaluator was registered in.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` when the evaluator was never registered, or its registry is gone.
    pub(crate) fn registry(&self, evaluator: &str) -> Result<Registry> {
        self.0.get().and_then(WeakRegistry::upgrade).ok_or_else(|| {
            Error::new(
                Status::FailedPrecondition,
                format!("{evaluator} must be registered (through the genkitEval plugin) to reach its judge model"),
            )
        })
    }

    fn set(&self, registry: &Registry) {
        // The first registration wins; an action is registered in one registry.
        let _ = self.0.set(registry.downgrade());
    }
}

/// An evaluator action that records its registry on registration. Everything else is the
/// wrapped action's (including `as_any`, so `evaluate` keeps its typed fast path).
pub(crate) struct Bound {
    inner: Arc<dyn Action>,
    slot: RegistrySlot,
}

impl Bound {
    pub(crate) fn wrap(inner: Arc<dyn Action>, slot: RegistrySlot) -> Arc<dyn Action> {
        Arc::new(Bound { inner, slot })
    }
}

impl Action for Bound {
    fn metadata(&self) -> &ActionMetadata {
        self.inner.metadata()
    }

    fn run_json(&self, input: Value, opts: RunOptions<Value>) -> BoxFuture<'static, Result<ActionResult<Value>>> {
        self.inner.run_json(input, opts)
    }

    fn run_bidi_json(
        &self,
        inputs: BoxStream<'static, Value>,
        opts: RunOptions<Value>,
    ) -> BoxFuture<'static, Result<ActionResult<Value>>> {
        self.inner.run_bidi_json(inputs, opts)
    }

    fn renamed(&self, name: &str) -> Option<Arc<dyn Action>> {
        self.inner.renamed(name).map(|inner| Bound::wrap(inner, self.slot.clone()))
    }

    fn as_any(&self) -> &dyn Any {
        self.inner.as_any()
    }

    fn set_registry(&self, registry: &Registry) {
        self.slot.set(registry);
        self.inner.set_registry(registry);
    }
}
