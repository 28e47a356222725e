//! The two actions of a prompt: `/prompt/<key>` (input: the prompt input, output: the
//! `GenerateRequest` it renders to) and `/executable-prompt/<key>` (output: the
//! `GenerateActionOptions` of the `generate` call it would make). Both are registered lazily:
//! the prompt's config is resolved when the action is first looked up.

use std::any::Any;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use genkit_core::{Action, ActionCx, ActionDef, ActionMetadata, ActionResult, ActionType, Error, Registry, Result};
use serde_json::Value;

use super::render::render_traced;
use super::state::PromptState;
use crate::GenerateActionOptions;
use crate::generate::{GenerateOptions, to_generate_action_options, to_generate_request};

/// A prompt action: an ordinary action that also carries the prompt behind it, so a lookup by
/// name gets back to the executable prompt (JS `action.__executablePrompt`).
pub(crate) struct PromptAction {
    inner: Arc<dyn Action>,
    pub(crate) state: Arc<PromptState>,
}

impl Action for PromptAction {
    fn metadata(&self) -> &ActionMetadata {
        self.inner.metadata()
    }

    fn run_json(
        &self,
        input: Value,
        opts: genkit_core::RunOptions<Value>,
    ) -> BoxFuture<'static, Result<ActionResult<Value>>> {
        self.inner.run_json(input, opts)
    }

    fn run_bidi_json(
        &self,
        inputs: BoxStream<'static, Value>,
        opts: genkit_core::RunOptions<Value>,
    ) -> BoxFuture<'static, Result<ActionResult<Value>>> {
        self.inner.run_bidi_json(inputs, opts)
    }

    fn renamed(&self, name: &str) -> Option<Arc<dyn Action>> {
        let inner = self.inner.renamed(name)?;
        Some(Arc::new(PromptAction { inner, state: self.state.clone() }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn set_registry(&self, registry: &Registry) {
        self.inner.set_registry(registry);
    }
}

/// The prompt behind a `/prompt/…` or `/executable-prompt/…` action defined by this module.
pub(crate) fn prompt_state(action: &dyn Action) -> Option<Arc<PromptState>> {
    action.as_any().downcast_ref::<PromptAction>().map(|p| p.state.clone())
}

fn registry_of(cx: &ActionCx<()>) -> Result<Registry> {
    cx.registry().cloned().ok_or_else(|| Error::internal("prompt action run outside of a registry"))
}

/// Builds one of the two actions (once the config is resolved).
fn build(state: &Arc<PromptState>, action_type: ActionType) -> Result<Arc<dyn Action>> {
    let resolved = state.resolve()?.clone();
    let config = &resolved.config;
    let st = state.clone();
    let inner: Arc<dyn Action> = if action_type == ActionType::Prompt {
        let mut b = ActionDef::<Value, Value>::builder(ActionType::Prompt, state.key.clone()).initializes_plugins();
        if let Some(d) = &config.description {
            b = b.description(d.clone());
        }
        if let Some(s) = &config.input_schema {
            b = b.input_schema(s.clone());
        }
        for (k, v) in &resolved.metadata {
            b = b.metadata(k.clone(), v.clone());
        }
        b.build(move |input: Value, cx: ActionCx<()>| {
            let st = st.clone();
            async move {
                let registry = registry_of(&cx)?;
                let opts = GenerateOptions { context: Some(cx.context().clone()), ..GenerateOptions::default() };
                let rendered = render_traced(&st, &registry.telemetry(), &input, opts).await?;
                let request = to_generate_request(&registry, &rendered).await?;
                serde_json::to_value(request).map_err(Error::internal)
            }
        })
        .as_action()
    } else {
        let mut b = ActionDef::<Value, GenerateActionOptions>::builder(ActionType::ExecutablePrompt, state.key.clone())
            .initializes_plugins();
        if let Some(d) = &config.description {
            b = b.description(d.clone());
        }
        if let Some(s) = &config.input_schema {
            b = b.input_schema(s.clone());
        }
        for (k, v) in &resolved.metadata {
            b = b.metadata(k.clone(), v.clone());
        }
        b.build(move |input: Value, cx: ActionCx<()>| {
            let st = st.clone();
            async move {
                let registry = registry_of(&cx)?;
                let opts = GenerateOptions { context: Some(cx.context().clone()), ..GenerateOptions::default() };
                let rendered = render_traced(&st, &registry.telemetry(), &input, opts).await?;
                to_generate_action_options(&registry.child(), &rendered).await
            }
        })
        .as_action()
    };
    Ok(Arc::new(PromptAction { inner, state: state.clone() }))
}

/// Registers both actions of `state` lazily in `registry`.
///
/// # Errors
/// As `Registry::register_action_lazy` (`FAILED_PRECONDITION` while an action runs).
pub(crate) fn register(registry: &Registry, state: &Arc<PromptState>) -> genkit_core::Result<()> {
    for action_type in [ActionType::Prompt, ActionType::ExecutablePrompt] {
        let st = state.clone();
        registry.register_action_lazy(action_type, &state.key, async move { build(&st, action_type) })?;
    }
    Ok(())
}
