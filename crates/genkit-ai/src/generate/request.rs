//! Building requests: `GenerateOptions` → the wire `GenerateActionOptions` (messages
//! assembled, model and tools named, output and resume options), and a turn's
//! `GenerateActionOptions` → the `ModelRequest` the model sees (format instructions and
//! defaults applied, tools turned into definitions).

use std::sync::Arc;

use genkit_core::{Action, ActionType, Error, Registry, Result};
use serde_json::{Map, Value};

use super::resolve::Seeds;
use super::{GenerateOptions, ModelArg, ToolArg};
use crate::format::{Format, inject_instructions, resolve_format, resolve_instructions, should_inject_instructions};
use crate::middleware::MiddlewareUse;
use crate::tool::to_tool_definition;
use crate::{GenerateActionOptions, GenerateActionOutputConfig, GenerateRequest, Message, OutputConfig, Resume, Role};

/// Turns options into the wire `GenerateActionOptions`: messages assembled as
/// `[system] + messages + [prompt]`, the model named (looked up when `resolve`, its
/// reference config merged under `config`), tools and resources named, output defaults,
/// resume lists, middleware refs. The actions found on the way (typed handles, the looked-up
/// model) are kept in `seeds`, so the turns do not look them up again.
pub(super) async fn action_options(
    registry: &Registry,
    opts: &GenerateOptions,
    resolve: bool,
    seeds: &mut Seeds,
) -> Result<GenerateActionOptions> {
    let mut messages = Vec::with_capacity(opts.messages.len() + 2);
    if let Some(s) = &opts.system {
        messages.push(Message::new(Role::System, s.0.clone()));
    }
    messages.extend(opts.messages.iter().cloned());
    if let Some(p) = &opts.prompt {
        messages.push(Message::new(Role::User, p.0.clone()));
    }
    if messages.is_empty() {
        return Err(Error::invalid_argument("at least one message is required in generate request"));
    }

    let (model, ref_config) = match &opts.model {
        None => (None, None),
        Some(ModelArg::Name(n)) if !resolve => (Some(n.clone()), None),
        Some(ModelArg::Ref(r)) if !resolve => (Some(r.name().to_owned()), r.config().cloned()),
        Some(ModelArg::Name(n)) => (Some(seeds.model(lookup_model(registry, n).await?)), None),
        Some(ModelArg::Ref(r)) => (Some(seeds.model(lookup_model(registry, r.name()).await?)), r.config().cloned()),
        Some(ModelArg::Action(a)) => (Some(seeds.model(a.clone())), None),
    };
    // JS always sends `config: {version, ...refConfig, ...config}`; `version` is undefined
    // unless set, so the model sees at least `{}`.
    let mut config = Map::new();
    for src in [ref_config.as_ref(), opts.config.as_ref()].into_iter().flatten() {
        if let Value::Object(m) = src {
            for (k, v) in m {
                if !v.is_null() {
                    config.insert(k.clone(), v.clone());
                }
            }
        }
    }

    let mut tools = Vec::with_capacity(opts.tools.len());
    for t in &opts.tools {
        match t {
            ToolArg::Name(n) => tools.extend(resolve_full_tool_names(registry, n).await?),
            ToolArg::Action(a) => {
                let m = a.metadata();
                let ty = m.metadata_value("type").and_then(Value::as_str).unwrap_or(m.action_type.as_str());
                let key = format!("/{ty}/{}", m.name);
                seeds.tool(&key, a.clone());
                tools.push(key);
            }
        }
    }
    let resources = opts
        .resources
        .iter()
        .map(|r| match r {
            ToolArg::Name(n) => n.clone(),
            ToolArg::Action(a) => format!("/resource/{}", a.name()),
        })
        .collect::<Vec<_>>();

    let output = opts.output.as_ref().map(|o| GenerateActionOutputConfig {
        format: o.format.clone().or_else(|| o.schema.as_ref().map(|_| "json".to_owned())),
        content_type: o.content_type.clone(),
        instructions: o.instructions.clone(),
        json_schema: o.schema.clone(),
        constrained: o.constrained,
    });
    let resume = opts.resume.as_ref().map(|r| Resume {
        respond: Some(r.respond.clone()),
        restart: Some(r.restart.clone()),
        metadata: r.metadata.clone(),
    });
    let middleware: Vec<_> = opts.middleware.iter().map(MiddlewareUse::to_ref).collect();
    Ok(GenerateActionOptions {
        model,
        docs: (!opts.docs.is_empty()).then(|| opts.docs.clone()),
        messages,
        tools: (!opts.tools.is_empty()).then_some(tools),
        resources: (!opts.resources.is_empty()).then_some(resources),
        tool_choice: opts.tool_choice,
        config: Some(Value::Object(config)),
        output,
        resume,
        return_tool_requests: opts.return_tool_requests,
        max_turns: opts.max_turns,
        step_name: opts.step_name.clone(),
        middleware: (!middleware.is_empty()).then_some(middleware),
    })
}

async fn lookup_model(registry: &Registry, name: &str) -> Result<Arc<dyn Action>> {
    crate::model::lookup(registry, name).await?.ok_or_else(|| Error::not_found(format!("Model '{name}' not found")))
}

/// Expands a tool name (JS `resolveFullToolNames`): `host:tool/x` (DAP, wildcards allowed),
/// else `/tool/x`, `/tool.v2/x`, `/prompt/x`.
async fn resolve_full_tool_names(registry: &Registry, name: &str) -> Result<Vec<String>> {
    if name.contains(':') {
        let key = format!("/dynamic-action-provider/{name}");
        let names = registry.resolve_action_names(&key).await?;
        if names.is_empty() {
            return Err(Error::not_found(format!("Unable to resolve tool: {name}")));
        }
        return Ok(names);
    }
    if name.starts_with('/') && registry.lookup_action(name).await?.is_some() {
        return Ok(vec![name.to_owned()]);
    }
    for prefix in ["/tool/", "/tool.v2/", "/prompt/"] {
        let key = format!("{prefix}{name}");
        if registry.lookup_action(&key).await?.is_some() {
            return Ok(vec![key]);
        }
    }
    Err(Error::not_found(format!("Unable to resolve tool: {name}")))
}

/// Registers the call's dynamic tools and resources and a model given as an action in the
/// per-call `registry`, so the by-name path finds them.
pub(super) fn register_dynamic(registry: &Registry, opts: &GenerateOptions) -> Result<()> {
    let dynamic = |a: &Arc<dyn Action>| a.metadata().metadata_value("dynamic") == Some(&Value::Bool(true));
    for t in &opts.tools {
        if let ToolArg::Action(a) = t
            && dynamic(a)
        {
            registry.register_action(a.clone())?;
        }
    }
    for r in &opts.resources {
        if let ToolArg::Action(a) = r
            && (dynamic(a) || a.metadata().action_type == ActionType::Resource)
        {
            registry.register_action(a.clone())?;
        }
    }
    if let Some(ModelArg::Action(a)) = &opts.model {
        registry.register_action(a.clone())?;
    }
    Ok(())
}

/// Applies the output format to a turn's request: `json` when only a schema is given, the
/// format's instructions injected when it asks for them, its defaults for `format`,
/// `contentType` and `constrained`.
///
/// # Errors
/// The format's error for a schema it cannot take.
pub(super) fn apply_format(
    mut request: GenerateActionOptions,
    format: Option<&Arc<dyn Format>>,
) -> Result<GenerateActionOptions> {
    if let Some(out) = request.output.as_mut()
        && out.json_schema.is_some()
        && out.format.is_none()
    {
        out.format = Some("json".into());
    }
    let Some(format) = format else { return Ok(request) };
    let out = request.output.as_ref();
    // Resolving instructions renders the schema; only do it when they are injected (a format
    // whose handler rejects the schema still fails later, when the parser is built).
    if should_inject_instructions(format.config(), out) {
        let schema = out.and_then(|o| o.json_schema.as_ref());
        let instructions = resolve_instructions(Some(format), schema, out.and_then(|o| o.instructions.as_ref()))?;
        inject_instructions(&mut request.messages, instructions.as_deref());
    }
    let cfg = format.config();
    let out = request.output.get_or_insert_with(GenerateActionOutputConfig::default);
    if out.format.is_none() {
        out.format.clone_from(&cfg.format);
    }
    if out.content_type.is_none() {
        out.content_type.clone_from(&cfg.content_type);
    }
    if out.constrained.is_none() {
        out.constrained = cfg.constrained;
    }
    Ok(request)
}

/// The model request of a turn, with warnings when the model does not declare support for
/// the request's tools or tool choice.
pub(super) fn model_request(
    request: &GenerateActionOptions,
    tools: &[Arc<dyn Action>],
    model: &dyn Action,
) -> GenerateRequest {
    let supports = crate::model::model_info(model).and_then(|m| m.get("supports")).and_then(Value::as_object);
    if let Some(s) = supports {
        let n = request.tools.as_ref().map_or(0, Vec::len);
        if n > 0 && !s.get("tools").and_then(Value::as_bool).unwrap_or(false) {
            tracing::warn!(
                "The model '{}' does not support tools (you set: {n} tools). The model may not behave the way you expect.",
                model.name()
            );
        }
        if let Some(tc) = request.tool_choice
            && !s.get("toolChoice").and_then(Value::as_bool).unwrap_or(false)
        {
            tracing::warn!(
                "The model '{}' does not support the 'toolChoice' option (you set: {tc:?}). The model may not behave the way you expect.",
                model.name()
            );
        }
    }
    build_request(request, tools)
}

fn build_request(request: &GenerateActionOptions, tools: &[Arc<dyn Action>]) -> GenerateRequest {
    let output = request.output.as_ref().map_or_else(OutputConfig::default, |o| OutputConfig {
        format: o.format.clone(),
        schema: o.json_schema.as_ref().and_then(Value::as_object).cloned(),
        constrained: o.constrained,
        content_type: o.content_type.clone(),
    });
    GenerateRequest {
        messages: request.messages.clone(),
        config: request.config.clone(),
        tools: Some(tools.iter().map(|t| to_tool_definition(&**t)).collect()),
        tool_choice: request.tool_choice,
        output: Some(output),
        docs: request.docs.clone(),
        candidates: None,
    }
}

/// The model request `request` would produce, without calling anything (JS
/// `toGenerateRequest`): tools resolved into definitions, format instructions injected and
/// format defaults applied. The model is not resolved.
pub(super) async fn request_for(registry: &Registry, request: GenerateActionOptions) -> Result<GenerateRequest> {
    let mut tools = Vec::new();
    for n in request.tools.iter().flatten() {
        tools.push(super::resolve::resolve_tool(registry, n).await?);
    }
    let format = resolve_format(registry, request.output.as_ref()).await?;
    let request = apply_format(request, format.as_ref())?;
    Ok(build_request(&request, &tools))
}
