//! `generate` (G1–G22): build a request from options, run the turn engine (model call, tool
//! rounds, interrupts, resume, formats, middleware), stream chunks, return the response.
//!
//! Applications call these through `Genkit::generate`/`generate_stream`/`generate_data`;
//! the functions here take the registry explicitly.

pub(crate) mod engine;
mod options;
mod typed;

use std::sync::Arc;

use genkit_core::{
    Action, ActionDef, ActionStream, ActionType, Error, Registry, Result, RunOptions, StreamSink, run_with_context,
};
use serde_json::{Map, Value};

pub use options::{GenerateOptions, ModelArg, OutputOptions, ResumeOptions, ToolArg};
pub(crate) use typed::schema_of;
pub use typed::{DataChunk, DataStream, generate_data, generate_data_stream};

use crate::middleware::{HookCx, register_uses, resolve_middleware};
use crate::{
    GenerateActionOptions, GenerateActionOutputConfig, GenerateResponse, GenerateResponseChunk, Message, Resume, Role,
};
use engine::Engine;

/// The action that runs `generate` from JSON (G6).
pub type GenerateAction = ActionDef<GenerateActionOptions, GenerateResponse, GenerateResponseChunk>;

/// A streaming generation: iterate the chunks, then [`ActionStream::output`] for the
/// response (G19).
pub type GenerateStream = ActionStream<GenerateResponseChunk, GenerateResponse>;

/// Turns options into the wire `GenerateActionOptions` (G2–G4): messages assembled as
/// `[system] + messages + [prompt]`, the model resolved to its name with its reference
/// config merged under `config`, tools and resources turned into registry keys (dynamic ones
/// registered in `registry`, which should be the per-call child), output defaults, resume
/// lists, middleware refs.
///
/// # Errors
/// `INVALID_ARGUMENT` with no messages; `NOT_FOUND` for an unknown model or tool.
pub async fn to_generate_action_options(registry: &Registry, opts: &GenerateOptions) -> Result<GenerateActionOptions> {
    action_options(registry, opts, true).await
}

/// The model request a generation with `opts` would send on its first turn (JS
/// `toGenerateRequest`, what a `/prompt/<name>` action returns): messages assembled, config
/// merged, tools resolved into definitions, format instructions injected. Nothing is called
/// and the model is not looked up; dynamic tools are registered in a throw-away child of
/// `registry`.
///
/// # Errors
/// `INVALID_ARGUMENT` with no messages; `NOT_FOUND` for an unknown tool or format.
pub async fn to_generate_request(registry: &Registry, opts: &GenerateOptions) -> Result<crate::GenerateRequest> {
    let child = registry.child();
    register_dynamic(&child, opts)?;
    let request = action_options(&child, opts, false).await?;
    engine::request_for(&child, request).await
}

async fn action_options(registry: &Registry, opts: &GenerateOptions, resolve: bool) -> Result<GenerateActionOptions> {
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
        Some(ModelArg::Name(n)) => (Some(resolve_model_name(registry, n).await?), None),
        Some(ModelArg::Ref(r)) => (Some(resolve_model_name(registry, r.name()).await?), r.config().cloned()),
        Some(ModelArg::Action(a)) => (Some(a.name().to_owned()), None),
    };
    // JS always sends `config: {version, ...refConfig, ...config}`; `version` is undefined
    // unless set, so the model sees at least `{}`.
    let config = {
        let mut cfg = Map::new();
        for src in [ref_config.as_ref(), opts.config.as_ref()].into_iter().flatten() {
            if let Value::Object(m) = src {
                for (k, v) in m {
                    if !v.is_null() {
                        cfg.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        Some(Value::Object(cfg))
    };

    let mut tools = Vec::with_capacity(opts.tools.len());
    for t in &opts.tools {
        match t {
            ToolArg::Name(n) => tools.extend(resolve_full_tool_names(registry, n).await?),
            ToolArg::Action(a) => {
                let m = a.metadata();
                let ty = m.metadata_value("type").and_then(Value::as_str).unwrap_or(m.action_type.as_str());
                tools.push(format!("/{ty}/{}", m.name));
            }
        }
    }
    let mut resources = Vec::with_capacity(opts.resources.len());
    for r in &opts.resources {
        match r {
            ToolArg::Name(n) => resources.push(n.clone()),
            ToolArg::Action(a) => resources.push(format!("/resource/{}", a.name())),
        }
    }

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
    let middleware: Vec<_> = opts.middleware.iter().map(crate::middleware::MiddlewareUse::to_ref).collect();
    Ok(GenerateActionOptions {
        model,
        docs: (!opts.docs.is_empty()).then(|| opts.docs.clone()),
        messages,
        tools: (!opts.tools.is_empty()).then_some(tools),
        resources: (!opts.resources.is_empty()).then_some(resources),
        tool_choice: opts.tool_choice,
        config,
        output,
        resume,
        return_tool_requests: opts.return_tool_requests,
        max_turns: opts.max_turns,
        step_name: opts.step_name.clone(),
        middleware: (!middleware.is_empty()).then_some(middleware),
    })
}

async fn resolve_model_name(registry: &Registry, name: &str) -> Result<String> {
    match engine::lookup_model(registry, name).await? {
        Some(a) => Ok(a.name().to_owned()),
        None => Err(Error::not_found(format!("Model '{name}' not found"))),
    }
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

fn register_dynamic(registry: &Registry, opts: &GenerateOptions) -> Result<()> {
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

async fn engine_for(registry: Registry, refs: &[crate::MiddlewareRef]) -> Result<Arc<Engine>> {
    let middleware = resolve_middleware(&registry, refs).await?;
    for m in &middleware {
        for t in m.tools() {
            if t.metadata().metadata_value("dynamic") == Some(&Value::Bool(true)) {
                registry.register_action(t)?;
            }
        }
    }
    let telemetry = registry.telemetry();
    Ok(Arc::new(Engine { registry, middleware: middleware.into(), telemetry }))
}

/// Runs a generation (G1, G5): the model call and every tool round, under a `generate` span.
///
/// # Errors
/// As the spec lists: `INVALID_ARGUMENT` (no model, no messages, duplicate tool names, schema
/// mismatch), `NOT_FOUND` (model, tool, middleware, resource), `FAILED_PRECONDITION`
/// (blocked, no message, resume preconditions), `ABORTED` (max turns), the model's and
/// tools' errors, `CANCELLED`.
pub async fn generate(registry: &Registry, opts: GenerateOptions) -> Result<GenerateResponse> {
    let on_chunk = opts.on_chunk.clone();
    run_generate(registry, opts, on_chunk).await
}

async fn run_generate(
    registry: &Registry,
    opts: GenerateOptions,
    on_chunk: Option<StreamSink<GenerateResponseChunk>>,
) -> Result<GenerateResponse> {
    let child = registry.child();
    register_dynamic(&child, &opts)?;
    register_uses(&child, &opts.middleware).await?;
    let request = to_generate_action_options(&child, &opts).await?;
    let eng = engine_for(child, request.middleware.as_deref().unwrap_or_default()).await?;
    let cx = HookCx { on_chunk, cancellation: opts.cancellation.clone(), context: opts.context.clone() };
    let fut = engine::generate_helper(eng, request, 0, 0, cx);
    match opts.cancellation {
        Some(tok) => {
            run_with_context(opts.context, async move {
                tokio::select! {
                    biased;
                    r = fut => r,
                    () = tok.cancelled() => Err(Error::cancelled("Generation was cancelled.")),
                }
            })
            .await
        }
        None => run_with_context(opts.context, fut).await,
    }
}

/// Streams a generation (G19): chunks as the model and tool rounds produce them, then the
/// response from [`ActionStream::output`]. The generation runs as the stream is polled.
pub fn generate_stream(registry: &Registry, opts: GenerateOptions) -> GenerateStream {
    let registry = registry.clone();
    ActionStream::new(move |sink| async move { run_generate(&registry, opts, Some(sink)).await })
}

/// Builds the `/util/generate` action (G6): `GenerateActionOptions` in, the response out,
/// chunks streamed as `{role, index, content, custom?}`. `use` refs are looked up among the
/// registered middleware values.
pub fn generate_action() -> GenerateAction {
    ActionDef::builder(ActionType::Util, "generate").initializes_plugins().build(
        |request: GenerateActionOptions, cx: genkit_core::ActionCx<GenerateResponseChunk>| async move {
            let registry = cx.registry().cloned().unwrap_or_default();
            let child = registry.child();
            let eng = engine_for(child, request.middleware.as_deref().unwrap_or_default()).await?;
            let on_chunk = cx.streaming_requested().then(|| cx.sink().clone());
            let hook = HookCx { on_chunk, cancellation: Some(cx.cancellation().clone()), context: None };
            engine::generate_helper(eng, request, 0, 0, hook).await
        },
    )
}

/// Registers `/util/generate` in `registry` (done by `Genkit::builder().build()`).
///
/// # Errors
/// As `Registry::register_action`.
pub fn define_generate_action(registry: &Registry) -> Result<GenerateAction> {
    let a = generate_action();
    registry.register_action(a.as_action())?;
    Ok(a)
}

/// Runs `/util/generate`-shaped options directly (what other runtimes and the Dev UI send).
///
/// # Errors
/// As [`generate`].
pub async fn generate_from_options(
    registry: &Registry,
    request: GenerateActionOptions,
    opts: RunOptions<GenerateResponseChunk>,
) -> Result<GenerateResponse> {
    generate_action_for(registry).run_with(request, opts).await.map(|r| r.result)
}

fn generate_action_for(registry: &Registry) -> GenerateAction {
    let a = generate_action();
    genkit_core::Action::set_registry(&a, registry);
    a
}
