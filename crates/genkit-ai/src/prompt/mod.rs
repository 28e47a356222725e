//! Prompts: templates plus model, config, schemas and tools, defined in code
//! or loaded from `.prompt` files, registered as `/prompt/<name>` and
//! `/executable-prompt/<name>` actions and called through an [`ExecutablePrompt`].
//!
//! Templates are Dotprompt (Handlebars with `{{role}}`, `{{history}}`, `{{media}}`,
//! `{{section}}`, `{{json}}`, …) rendered by the [`dotprompt`] crate. Each registry has one
//! Dotprompt [`environment`] holding its helpers and partials; named schemas (`schema: Name`
//! in frontmatter) resolve against the registry's schemas.
//!
//! Applications use these through `Genkit::define_prompt`, `Genkit::prompt` and the prompt
//! folder options of `GenkitBuilder`; see `docs/prompts.md`.

mod action;
mod config;
mod content;
mod executable;
mod file;
mod folder;
mod metadata;
mod render;
mod state;

use std::sync::{Arc, Mutex};

use dotprompt::{Dotprompt, DotpromptOptions, ErrorKind, Missing};
use futures::FutureExt;
use genkit_core::{Error, Registry, RegistryValue, Result, Status};
use serde_json::{Map, Value};

pub use config::{
    DocsFnHandle, MessagesFnHandle, PartsFnHandle, PromptConfig, PromptContent, PromptCx, PromptDocs, PromptMessages,
};
pub use executable::{ExecutablePrompt, PromptRef};
pub use folder::{EmbeddedPrompts, load_prompt_dir, load_prompt_sources};

const ENV_VALUE: &str = "dotprompt";

fn root(registry: &Registry) -> &Registry {
    let mut r = registry;
    while let Some(p) = r.parent() {
        r = p;
    }
    r
}

fn lookup_environment(root: &Registry) -> Option<Dotprompt> {
    let v = root.lookup_value(ENV_VALUE, ENV_VALUE).now_or_never()?.ok().flatten()?;
    v.downcast::<Dotprompt>().map(|d| (*d).clone())
}

/// The Dotprompt environment of `registry` (shared with its child registries): its helpers
/// and partials, with named schemas resolved from the registry. Created on first use.
pub fn environment(registry: &Registry) -> Dotprompt {
    let root = root(registry);
    if let Some(dp) = lookup_environment(root) {
        return dp;
    }
    static CREATE: Mutex<()> = Mutex::new(());
    let _guard = CREATE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(dp) = lookup_environment(root) {
        return dp;
    }
    let weak = root.downgrade();
    let dp = Dotprompt::new(
        DotpromptOptions::new().schema_resolver(move |name| weak.upgrade().and_then(|r| r.lookup_schema(name))),
    );
    root.register_value(ENV_VALUE, ENV_VALUE, RegistryValue::new(dp.clone()));
    dp
}

/// Defines a prompt in `registry`: its `/prompt/<name[.variant]>` and
/// `/executable-prompt/<name[.variant]>` actions are registered lazily (the metadata is
/// computed on first lookup), and the returned handle renders and generates with it.
/// Defining a prompt with the same name again replaces it.
///
/// # Errors
/// `FAILED_PRECONDITION` (`Cannot define new actions at runtime.`) when called on a root
/// registry while an action runs: define prompts when the app starts.
pub fn define_prompt(registry: &Registry, config: PromptConfig) -> Result<ExecutablePrompt> {
    let state = Arc::new(state::PromptState::from_config(config, environment(registry)));
    action::register(registry, &state)?;
    Ok(ExecutablePrompt::defined(registry.clone(), state))
}

/// Defines a typed prompt: input `I`, output `O`. When the config has no input schema, `I`'s
/// schema is used; when it has no output options, `O`'s schema (JSON output). `Value` adds
/// no schema.
///
/// # Errors
/// As [`define_prompt`].
pub fn define_typed_prompt<I, O>(registry: &Registry, mut config: PromptConfig) -> Result<ExecutablePrompt<I, O>>
where
    I: schemars::JsonSchema + 'static,
    O: schemars::JsonSchema + 'static,
{
    let untyped = |t: std::any::TypeId| t == std::any::TypeId::of::<Value>() || t == std::any::TypeId::of::<()>();
    if config.input_schema.is_none() && !untyped(std::any::TypeId::of::<I>()) {
        config.input_schema = Some(crate::generate::schema_of::<I>());
    }
    if config.output.is_none() && !untyped(std::any::TypeId::of::<O>()) {
        config.output = Some(crate::generate::OutputOptions::of::<O>());
    }
    Ok(define_prompt(registry, config)?.typed())
}

/// A lazy handle on the prompt `name` (and `variant`) of `registry`: nothing is looked up
/// until it is used; then a missing prompt is `NOT_FOUND` `Prompt <name> (variant <v>) not
/// found`.
pub fn prompt(registry: &Registry, name: &str, variant: Option<&str>) -> ExecutablePrompt {
    ExecutablePrompt::lookup(registry.clone(), name, variant)
}

/// Registers a template helper usable by every prompt of `registry`: it receives the
/// positional arguments and the hash (`key=value`) arguments and returns the value to print.
/// Prompts already compiled keep the helpers they were compiled with only if they did not
/// use this name.
pub fn define_helper(
    registry: &Registry,
    name: &str,
    helper: impl Fn(&[Value], &Map<String, Value>) -> Result<Value> + Send + Sync + 'static,
) {
    environment(registry).define_helper(name, move |args, hash| {
        helper(args, hash).map_err(|e| dotprompt::Error::helper(e.message().to_owned()))
    });
}

/// Registers (or replaces) a partial, usable as `{{> name}}` by every prompt of
/// `registry`.
pub fn define_partial(registry: &Registry, name: &str, source: &str) {
    environment(registry).define_partial(name, source);
}

/// A Genkit error for a Dotprompt error; `origin` (a file name or a description of the
/// template) is prefixed to the message with the line, when known.
pub(crate) fn convert_error(e: dotprompt::Error, origin: Option<&str>) -> Error {
    let (status, message) = match e.kind() {
        ErrorKind::NotFound { item: Missing::Schema, name } => (Status::NotFound, format!("Schema '{name}' not found")),
        ErrorKind::NotFound { .. } => (Status::NotFound, e.message().to_owned()),
        ErrorKind::Parse { .. } => (Status::InvalidArgument, e.to_string()),
        _ => {
            let message = match (origin, e.line()) {
                (Some(o), Some(line)) => format!("{o}:{line}: {}", e.message()),
                (Some(o), None) => format!("{o}: {}", e.message()),
                (None, _) => e.to_string(),
            };
            (Status::InvalidArgument, message)
        }
    };
    Error::new(status, message).with_source(e)
}
