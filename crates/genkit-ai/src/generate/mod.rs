//! `generate`: build a request from options, run the turns (model call, tool rounds,
//! interrupts, resume, formats, middleware), stream chunks, return the response.
//!
//! Applications call these through `Genkit::generate`/`generate_stream`/`generate_data`;
//! the functions here take the registry explicitly. The steps live one per file:
//! [`request`](self) building, model/tool/format resolution (once per call), the turn, the
//! tool round, resume, and the response and chunk wrappers.

mod chunk;
mod operation;
mod options;
mod request;
mod resolve;
mod response;
mod resume;
mod tools;
mod turn;
mod typed;

use genkit_core::{
    ActionDef, ActionStream, ActionType, Error, Registry, Result, RunOptions, StreamSink, run_with_context,
};
use serde_json::Value;

pub use chunk::{ChunkOrigin, GenerateResponseChunk};
pub use operation::generate_operation;
pub(crate) use options::generation_setters;
pub use options::{GenerateOptions, ModelArg, OutputOptions, ResumeOptions, ToolArg};
pub use response::{GenerateResponse, message_output};
pub(crate) use typed::schema_of;
pub use typed::{DataChunk, DataStream, generate_data, generate_data_stream};

use crate::GenerateActionOptions;
use crate::middleware::{MiddlewareInstance, register_uses, resolve_middleware};
use resolve::{Resolver, Seeds};
use turn::Engine;

/// The action that runs `generate` from JSON.
pub type GenerateAction = ActionDef<GenerateActionOptions, GenerateResponse, GenerateResponseChunk>;

/// A streaming generation: iterate the chunks, then [`ActionStream::output`] for the
/// response.
pub type GenerateStream = ActionStream<GenerateResponseChunk, GenerateResponse>;

/// Turns options into the wire `GenerateActionOptions`: messages assembled as
/// `[system] + messages + [prompt]`, the model resolved to its name with its reference
/// config merged under `config`, tools and resources turned into registry keys (dynamic ones
/// registered in `registry`, which should be the per-call child), output defaults, resume
/// lists, middleware refs.
///
/// # Errors
/// `INVALID_ARGUMENT` with no messages; `NOT_FOUND` for an unknown model or tool.
pub async fn to_generate_action_options(registry: &Registry, opts: &GenerateOptions) -> Result<GenerateActionOptions> {
    request::action_options(registry, opts, true, &mut Seeds::default()).await
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
    request::register_dynamic(&child, opts)?;
    let request = request::action_options(&child, opts, false, &mut Seeds::default()).await?;
    request::request_for(&child, request).await
}

/// Instantiates the request's middleware; contributed dynamic tools are registered in the
/// per-call registry.
async fn middleware_for(registry: &Registry, refs: &[crate::MiddlewareRef]) -> Result<Vec<MiddlewareInstance>> {
    let middleware = resolve_middleware(registry, refs).await?;
    for m in &middleware {
        for t in m.tools() {
            if t.metadata().metadata_value("dynamic") == Some(&Value::Bool(true)) {
                registry.register_action(t)?;
            }
        }
    }
    Ok(middleware)
}

/// Runs a generation: the model call and every tool round, under a `generate` span.
///
/// # Errors
/// `INVALID_ARGUMENT` (no model, no messages, duplicate tool names, schema mismatch),
/// `NOT_FOUND` (model, tool, middleware, resource), `FAILED_PRECONDITION` (blocked, no
/// message, resume preconditions), `ABORTED` (max turns), the model's and tools' errors,
/// `CANCELLED`.
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
    request::register_dynamic(&child, &opts)?;
    register_uses(&child, &opts.middleware).await?;
    let mut seeds = Seeds::default();
    let request = request::action_options(&child, &opts, true, &mut seeds).await?;
    let middleware = middleware_for(&child, request.middleware.as_deref().unwrap_or_default()).await?;
    let eng =
        Engine::new(child, middleware, Resolver::new(seeds), on_chunk, opts.cancellation.clone(), opts.context.clone());
    let fut = eng.run(request);
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

/// Streams a generation: chunks as the model and tool rounds produce them, then the
/// response from [`ActionStream::output`]. The generation runs as the stream is polled.
pub fn generate_stream(registry: &Registry, opts: GenerateOptions) -> GenerateStream {
    let registry = registry.clone();
    ActionStream::new(move |sink| async move { run_generate(&registry, opts, Some(sink)).await })
}

/// Builds the `/util/generate` action: `GenerateActionOptions` in, the response out, chunks
/// streamed as `{role, index, content, custom?}`. `use` refs are looked up among the
/// registered middleware values; the model and tools by name.
pub fn generate_action() -> GenerateAction {
    ActionDef::builder(ActionType::Util, "generate").initializes_plugins().build(
        |request: GenerateActionOptions, cx: genkit_core::ActionCx<GenerateResponseChunk>| async move {
            let registry = cx.registry().cloned().unwrap_or_default();
            let child = registry.child();
            let middleware = middleware_for(&child, request.middleware.as_deref().unwrap_or_default()).await?;
            let on_chunk = cx.streaming_requested().then(|| cx.sink().clone());
            let eng =
                Engine::new(child, middleware, Resolver::default(), on_chunk, Some(cx.cancellation().clone()), None);
            eng.run(request).await
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
