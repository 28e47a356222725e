//! The turn engine (G10–G14, G18): one model call per turn, tool rounds, interrupts and
//! resume, chunk indexes — the behaviour of JS `generateActionTurn` and friends.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::{BoxFuture, try_join_all};
use genkit_core::{Action, ActionType, Error, Registry, Result, RunOptions, Status, StreamSink, Telemetry};
use serde_json::{Map, Value, json};

use crate::format::{
    Format, FormatHandler, inject_instructions, resolve_format, resolve_instructions, should_inject_instructions,
};
use crate::middleware::{GenerateEnvelope, GenerateMiddleware, HookCx, HookNext, ModelHookCx, ToolHookCx};
use crate::tool::{as_interrupt, to_tool_definition};
use crate::{
    GenerateActionOptions, GenerateActionOutputConfig, GenerateRequest, GenerateResponse, GenerateResponseChunk,
    Message, ModelAction, ModelRequest, ModelResponse, ModelResponseChunk, Operation, OutputConfig, OutputParser, Part,
    Role, ToolResponse, TurnChunks,
};

/// Per-`generate` state shared by every turn.
pub(crate) struct Engine {
    pub(crate) registry: Registry,
    pub(crate) middleware: Arc<[Arc<dyn GenerateMiddleware>]>,
    pub(crate) telemetry: Arc<Telemetry>,
}

/// `/model/<name>`, else `/background-model/<name>`.
pub(crate) async fn lookup_model(registry: &Registry, name: &str) -> Result<Option<Arc<dyn Action>>> {
    if let Some(a) = registry.lookup_action(&format!("/model/{name}")).await? {
        return Ok(Some(a));
    }
    registry.lookup_action(&format!("/background-model/{name}")).await
}

/// The model named by the request, else the registry's default model (G3).
pub(crate) async fn resolve_model(registry: &Registry, name: Option<&str>) -> Result<Arc<dyn Action>> {
    let name = match name {
        Some(n) => n.to_owned(),
        None => match registry.lookup_value("defaultModel", "defaultModel").await?.and_then(|v| v.downcast::<String>())
        {
            Some(n) => (*n).clone(),
            None => return Err(Error::invalid_argument("Must supply a `model` to `generate()` calls.")),
        },
    };
    let model =
        lookup_model(registry, &name).await?.ok_or_else(|| Error::not_found(format!("Model '{name}' not found")))?;
    if model_supports_meta(&*model).and_then(|m| m.get("stage")).and_then(Value::as_str) == Some("deprecated") {
        tracing::warn!("Model '{}' is deprecated and may be removed in a future release.", model.name());
    }
    Ok(model)
}

fn model_supports_meta(model: &dyn Action) -> Option<&Map<String, Value>> {
    model.metadata().metadata.as_ref().and_then(|m| m.get("model")).and_then(Value::as_object)
}

/// Resolves a tool reference (T7): a full key, then `/tool/`, `/tool.v2/`, `/prompt/`,
/// `/dynamic-action-provider/`.
pub(crate) async fn resolve_tool(registry: &Registry, name: &str) -> Result<Arc<dyn Action>> {
    if name.starts_with('/')
        && let Some(a) = registry.lookup_action(name).await?
    {
        return Ok(a);
    }
    for prefix in ["/tool/", "/tool.v2/", "/prompt/", "/dynamic-action-provider/"] {
        if let Some(a) = registry.lookup_action(&format!("{prefix}{name}")).await? {
            return Ok(a);
        }
    }
    Err(Error::not_found(format!("Tool {name} not found")))
}

/// Run options carrying the generation's cancellation and explicit context.
fn run_options<S: 'static>(
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

/// Calls a model action: typed when it is a [`ModelAction`], else through JSON.
pub(crate) fn call_model(
    model: &Arc<dyn Action>,
    req: ModelRequest,
    cx: ModelHookCx,
) -> BoxFuture<'static, Result<ModelResponse>> {
    if let Some(typed) = model.as_any().downcast_ref::<ModelAction>() {
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

/// Runs one turn inside its `generate` span (JS `generateHelper`).
pub(crate) fn generate_helper(
    eng: Arc<Engine>,
    request: GenerateActionOptions,
    current_turn: u32,
    message_index: u32,
    cx: HookCx,
) -> BoxFuture<'static, Result<GenerateResponse>> {
    async move {
        let name = request.step_name.clone().unwrap_or_else(|| "generate".to_owned());
        let tel = eng.telemetry.clone();
        // Serialized only while spans are recorded (an exporter is attached).
        let input = if tel.is_recording() { serde_json::to_string(&request).ok() } else { None };
        genkit_core::run_span(
            &tel,
            &name,
            "util",
            move || input,
            generate_action_impl(eng, request, current_turn, message_index, cx),
        )
        .await
    }
    .boxed()
}

fn generate_action_impl(
    eng: Arc<Engine>,
    request: GenerateActionOptions,
    current_turn: u32,
    message_index: u32,
    cx: HookCx,
) -> BoxFuture<'static, Result<GenerateResponse>> {
    // The chunks of this turn, shared with chunks that middleware streams (JS
    // `sharedPreviousChunks`).
    let turn = TurnChunks::new();
    if !eng.middleware.iter().any(|m| m.wraps_generate()) {
        return generate_action_turn(eng, request, current_turn, message_index, cx, turn);
    }
    dispatch_generate(eng, 0, GenerateEnvelope { request, current_turn, message_index }, cx, turn)
}

fn dispatch_generate(
    eng: Arc<Engine>,
    index: usize,
    env: GenerateEnvelope,
    cx: HookCx,
    turn: Arc<TurnChunks>,
) -> BoxFuture<'static, Result<GenerateResponse>> {
    if index >= eng.middleware.len() {
        return generate_action_turn(eng, env.request, env.current_turn, env.message_index, cx, turn);
    }
    let mw = eng.middleware[index].clone();
    if !mw.wraps_generate() {
        return dispatch_generate(eng, index + 1, env, cx, turn);
    }
    let mi = env.message_index;
    let t2 = turn.clone();
    let hook_cx = HookCx {
        on_chunk: cx.on_chunk.as_ref().map(|s| {
            s.map(move |mut c: GenerateResponseChunk| {
                if !c.origin.is_streamed() {
                    c.index.get_or_insert(mi);
                    c.role.get_or_insert(Role::Model);
                    t2.record(&mut c);
                }
                Some(c)
            })
        }),
        ..cx
    };
    let e2 = eng.clone();
    let next = HookNext::new(move |env: GenerateEnvelope, cx: HookCx| {
        dispatch_generate(e2.clone(), index + 1, env, cx, turn.clone())
    });
    mw.generate(env, hook_cx, next)
}

struct Resolved {
    model: Arc<dyn Action>,
    tools: Vec<Arc<dyn Action>>,
    format: Option<Arc<dyn Format>>,
}

async fn resolve_parameters(eng: &Engine, request: &GenerateActionOptions) -> Result<Resolved> {
    let model = resolve_model(&eng.registry, request.model.as_deref()).await?;
    let mut tools = Vec::new();
    if let Some(names) = &request.tools {
        tools.reserve(names.len());
        for n in names {
            tools.push(resolve_tool(&eng.registry, n).await?);
        }
    }
    for m in eng.middleware.iter() {
        tools.extend(m.tools());
    }
    let format = resolve_format(&eng.registry, request.output.as_ref()).await?;
    Ok(Resolved { model, tools, format })
}

fn short_name(action: &dyn Action) -> &str {
    let n: &str = &action.metadata().name;
    n.rsplit('/').next().unwrap_or(n)
}

/// Duplicate short names are rejected (G10 step 5).
fn assert_valid_tool_names(tools: &[Arc<dyn Action>]) -> Result<()> {
    for (i, t) in tools.iter().enumerate() {
        if let Some(prev) = tools[..i].iter().find(|p| short_name(&***p) == short_name(&**t)) {
            return Err(Error::invalid_argument(format!(
                "Cannot provide two tools with the same name: '{}' and '{}'",
                t.metadata().name,
                prev.metadata().name
            )));
        }
    }
    Ok(())
}

fn apply_format(mut request: GenerateActionOptions, format: Option<&Arc<dyn Format>>) -> Result<GenerateActionOptions> {
    if let Some(out) = request.output.as_mut()
        && out.json_schema.is_some()
        && out.format.is_none()
    {
        out.format = Some("json".into());
    }
    let Some(format) = format else { return Ok(request) };
    let out = request.output.as_ref();
    // Resolving instructions renders the schema; only do it when they are injected (a format
    // whose handler rejects the schema still fails below, when the parser is built).
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

fn to_generate_request(
    request: &GenerateActionOptions,
    tools: &[Arc<dyn Action>],
    model: &dyn Action,
) -> GenerateRequest {
    let supports = model_supports_meta(model).and_then(|m| m.get("supports")).and_then(Value::as_object);
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
pub(crate) async fn request_for(registry: &Registry, request: GenerateActionOptions) -> Result<GenerateRequest> {
    let mut tools = Vec::new();
    for n in request.tools.iter().flatten() {
        tools.push(resolve_tool(registry, n).await?);
    }
    let format = resolve_format(registry, request.output.as_ref()).await?;
    let request = apply_format(request, format.as_ref())?;
    Ok(build_request(&request, &tools))
}

/// The response as JS `GenerateResponse.toJSON()` shapes it: `usage` and `custom` default to
/// `{}`, empty `finishMessage` dropped, `request` attached, the format recorded on the
/// message metadata, `latencyMs`/`raw` not carried.
fn finalize(resp: ModelResponse, request: GenerateRequest, parser: Option<Arc<dyn FormatHandler>>) -> GenerateResponse {
    let ModelResponse { message, finish_reason, finish_message, usage, custom, operation, candidates, .. } = resp;
    let first = candidates.and_then(|c| c.into_iter().next());
    let mut message = message.or_else(|| first.as_ref().map(|c| c.message.clone()));
    if let Some(m) = message.as_mut()
        && let Some(out) = &request.output
        && (out.format.is_some() || out.content_type.is_some())
    {
        let mut o = Map::new();
        if let Some(ct) = &out.content_type {
            o.insert("contentType".into(), json!(ct));
        }
        if let Some(f) = &out.format {
            o.insert("format".into(), json!(f));
        }
        m.metadata.get_or_insert_with(Map::new).insert("generate".into(), json!({ "output": o }));
    }
    GenerateResponse {
        message,
        finish_reason: finish_reason.or_else(|| first.as_ref().map(|c| c.finish_reason)),
        finish_message: finish_message
            .or_else(|| first.as_ref().and_then(|c| c.finish_message.clone()))
            .filter(|m| !m.is_empty()),
        usage: Some(usage.unwrap_or_default()),
        custom: Some(custom.unwrap_or_else(|| Value::Object(Map::new()))),
        request: Some(request),
        operation,
        parser: OutputParser(parser),
        ..GenerateResponse::default()
    }
}

fn generate_action_turn(
    eng: Arc<Engine>,
    request: GenerateActionOptions,
    current_turn: u32,
    message_index: u32,
    cx: HookCx,
    turn: Arc<TurnChunks>,
) -> BoxFuture<'static, Result<GenerateResponse>> {
    async move {
        if let Some(tok) = &cx.cancellation
            && tok.is_cancelled()
        {
            return Err(Error::cancelled("Generation was cancelled."));
        }
        let Resolved { model, tools, format } = resolve_parameters(&eng, &request).await?;
        let request = apply_format(request, format.as_ref())?;
        let request = crate::resource::apply_resources(&eng.registry, request).await?;
        assert_valid_tool_names(&tools)?;

        if request.resume.is_some() {
            let (revised, tool_message) = resolve_resume_option(&eng, request, &tools, &cx).await?;
            if let Some(sink) = &cx.on_chunk {
                if let Some(f) = &format {
                    let schema = revised.output.as_ref().and_then(|o| o.json_schema.as_ref());
                    turn.set_parser(f.handler(schema).ok().as_ref());
                }
                sink.send(GenerateResponseChunk {
                    role: Some(Role::Tool),
                    index: Some(message_index),
                    content: tool_message.content.clone(),
                    origin: turn.fresh(),
                    ..GenerateResponseChunk::default()
                });
            }
            return generate_helper(eng, revised, current_turn, message_index + 1, cx).await;
        }

        let gen_request = to_generate_request(&request, &tools, &*model);
        let schema = gen_request.output.as_ref().and_then(|o| o.schema.as_ref()).map(|s| Value::Object(s.clone()));
        let handler = match &format {
            Some(f) => Some(f.handler(schema.as_ref())?),
            None => None,
        };

        turn.set_parser(handler.as_ref());
        turn.start_at(message_index);
        let model_sink = cx.on_chunk.as_ref().map(|outer| {
            let outer = outer.clone();
            let turn = turn.clone();
            StreamSink::new(move |c: ModelResponseChunk| outer.send(turn.make(Role::Model, c)))
        });
        let model_cx =
            ModelHookCx { on_chunk: model_sink, cancellation: cx.cancellation.clone(), context: cx.context.clone() };
        let background = model.metadata().action_type == ActionType::BackgroundModel;
        let model_resp = dispatch_model(&eng, 0, &model, gen_request.clone(), model_cx).await?;
        let response = finalize(model_resp, gen_request, handler);
        if background {
            return Ok(response);
        }
        response.assert_valid()?;
        let Some(generated) = response.message.clone() else { return Ok(response) };
        let has_tool_requests = generated.content.iter().any(|p| p.tool_request.is_some());
        if request.return_tool_requests == Some(true) || !has_tool_requests {
            if !has_tool_requests {
                response.assert_valid_schema()?;
            }
            return Ok(response);
        }
        let max_turns = request.max_turns.unwrap_or(5);
        if current_turn + 1 > max_turns {
            let req_json = serde_json::to_value(&response.request).unwrap_or(Value::Null);
            let err = response
                .response_error(Status::Aborted, format!("Exceeded maximum tool call iterations ({max_turns})"));
            let mut details = err.details().cloned().unwrap_or_else(|| json!({}));
            if let Some(d) = details.as_object_mut() {
                d.insert("request".into(), req_json);
            }
            return Err(err.with_details(details));
        }
        let outcome = resolve_tool_requests(&eng, &request, &generated, &tools, &cx).await?;
        match outcome {
            ToolRound::Interrupted(revised) => Ok(GenerateResponse {
                finish_reason: Some(crate::FinishReason::Interrupted),
                finish_message: Some("One or more tool calls resulted in interrupts.".into()),
                message: Some(revised),
                ..response
            }),
            ToolRound::Responses(parts) => {
                let tool_message = (!parts.is_empty()).then(|| Message::new(Role::Tool, parts));
                if let Some(tm) = &tool_message
                    && let Some(sink) = &cx.on_chunk
                {
                    let chunk = turn.make(
                        Role::Tool,
                        GenerateResponseChunk { content: tm.content.clone(), ..GenerateResponseChunk::default() },
                    );
                    sink.send(chunk);
                }
                let next_index = turn.index();
                let mut next = request;
                next.messages.push(generated);
                if let Some(tm) = tool_message {
                    next.messages.push(tm);
                }
                generate_helper(eng, next, current_turn + 1, next_index + 1, cx).await
            }
        }
    }
    .boxed()
}

fn dispatch_model(
    eng: &Arc<Engine>,
    index: usize,
    model: &Arc<dyn Action>,
    req: ModelRequest,
    cx: ModelHookCx,
) -> BoxFuture<'static, Result<ModelResponse>> {
    if index >= eng.middleware.len() {
        return call_model(model, req, cx);
    }
    let mw = eng.middleware[index].clone();
    let e2 = eng.clone();
    let m2 = model.clone();
    let next = HookNext::new(move |r: ModelRequest, c: ModelHookCx| dispatch_model(&e2, index + 1, &m2, r, c));
    mw.model(req, cx, next)
}

enum ToolRound {
    Interrupted(Message),
    Responses(Vec<Part>),
}

enum ToolOutcome {
    Response(Part),
    Interrupt(Part),
    Dropped,
}

fn tool_map<'a>(tools: &'a [Arc<dyn Action>], name: &str) -> Option<&'a Arc<dyn Action>> {
    tools.iter().find(|t| short_name(&***t) == name)
}

fn dispatch_tool(
    eng: &Arc<Engine>,
    index: usize,
    tool: &Arc<dyn Action>,
    part: Part,
    cx: ToolHookCx,
    hook: &HookCx,
) -> BoxFuture<'static, Result<Option<Part>>> {
    if index >= eng.middleware.len() {
        return execute_tool(tool.clone(), part, cx, hook.clone());
    }
    let mw = eng.middleware[index].clone();
    let e2 = eng.clone();
    let t2 = tool.clone();
    let h2 = hook.clone();
    let next = HookNext::new(move |p: Part, c: ToolHookCx| dispatch_tool(&e2, index + 1, &t2, p, c, &h2));
    mw.tool(part, cx, next)
}

fn execute_tool(
    tool: Arc<dyn Action>,
    part: Part,
    cx: ToolHookCx,
    hook: HookCx,
) -> BoxFuture<'static, Result<Option<Part>>> {
    async move {
        let Some(req) = part.tool_request else { return Ok(None) };
        let mut opts = run_options::<Value>(hook.cancellation, hook.context);
        if let Some(m) = cx.metadata {
            opts = opts.call_metadata(Value::Object(m));
        }
        let input = req.input.clone().unwrap_or(Value::Null);
        let run = tool.run_json(input, opts);
        let out = match AssertUnwindSafe(run).catch_unwind().await {
            Ok(r) => r?.result,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                return Err(Error::new(Status::Internal, format!("Tool '{}' panicked: {what}", req.name)));
            }
        };
        if tool.metadata().action_type == ActionType::ToolV2 {
            let mp: crate::MultipartToolResponse = serde_json::from_value(out).map_err(|e| {
                Error::internal(format!("tool '{}' returned an invalid multipart response: {e}", req.name))
            })?;
            return Ok(Some(Part {
                tool_response: Some(ToolResponse {
                    reference: req.reference,
                    name: req.name,
                    output: mp.output,
                    content: mp.content,
                }),
                metadata: mp.metadata,
                ..Part::default()
            }));
        }
        Ok(Some(Part {
            tool_response: Some(ToolResponse {
                reference: req.reference,
                name: req.name,
                output: Some(out),
                content: None,
            }),
            ..Part::default()
        }))
    }
    .boxed()
}

async fn resolve_tool_request(
    eng: &Arc<Engine>,
    part: &Part,
    tools: &[Arc<dyn Action>],
    hook: &HookCx,
    request: &GenerateActionOptions,
) -> Result<ToolOutcome> {
    let Some(tr) = &part.tool_request else { return Ok(ToolOutcome::Dropped) };
    let Some(tool) = tool_map(tools, &tr.name) else {
        return Err(Error::not_found(format!("Tool {} not found", tr.name))
            .with_details(json!({ "request": serde_json::to_value(request).unwrap_or(Value::Null) })));
    };
    let cx = ToolHookCx { metadata: part.metadata.clone() };
    match dispatch_tool(eng, 0, tool, part.clone(), cx, hook).await {
        Ok(Some(p)) => Ok(ToolOutcome::Response(p)),
        Ok(None) => Ok(ToolOutcome::Dropped),
        Err(e) => match as_interrupt(&e) {
            Some(i) => {
                tracing::debug!("tool '{}' triggered an interrupt", tool.name());
                let mut meta = part.metadata.clone().unwrap_or_default();
                meta.insert("interrupt".into(), i.metadata.clone().unwrap_or(Value::Bool(true)));
                Ok(ToolOutcome::Interrupt(Part {
                    tool_request: part.tool_request.clone(),
                    metadata: Some(meta),
                    ..Part::default()
                }))
            }
            None => Err(e),
        },
    }
}

fn with_pending_output(part: &Part, response: &Part) -> Part {
    let mut p = part.clone();
    let out = response.tool_response.as_ref().and_then(|r| r.output.clone()).unwrap_or(Value::Null);
    p.metadata.get_or_insert_with(Map::new).insert("pendingOutput".into(), out);
    p
}

/// Runs every tool request of the model message in parallel (G12); responses are kept in
/// request order.
async fn resolve_tool_requests(
    eng: &Arc<Engine>,
    request: &GenerateActionOptions,
    generated: &Message,
    tools: &[Arc<dyn Action>],
    hook: &HookCx,
) -> Result<ToolRound> {
    let futs = generated.content.iter().map(|p| resolve_tool_request(eng, p, tools, hook, request));
    let outcomes = try_join_all(futs).await?;
    let mut revised = generated.clone();
    let mut responses = Vec::new();
    let mut interrupted = false;
    for (i, o) in outcomes.into_iter().enumerate() {
        match o {
            ToolOutcome::Response(r) => {
                revised.content[i] = with_pending_output(&generated.content[i], &r);
                responses.push(r);
            }
            ToolOutcome::Interrupt(p) => {
                revised.content[i] = p;
                interrupted = true;
            }
            ToolOutcome::Dropped => {}
        }
    }
    if interrupted {
        return Ok(ToolRound::Interrupted(revised));
    }
    Ok(ToolRound::Responses(responses))
}

fn same_call(a: &crate::ToolRequest, name: &str, reference: Option<&String>) -> bool {
    a.name == name && a.reference.as_ref() == reference
}

/// Applies `resume` (G14): answers or restarts every tool request of the last model
/// message, appends the tool message and clears `resume`.
async fn resolve_resume_option(
    eng: &Arc<Engine>,
    mut request: GenerateActionOptions,
    tools: &[Arc<dyn Action>],
    hook: &HookCx,
) -> Result<(GenerateActionOptions, Message)> {
    let resume = request.resume.take().unwrap_or_default();
    let snapshot = request.clone();
    let last = match request.messages.last_mut() {
        Some(m) if m.role == Role::Model && m.content.iter().any(|p| p.tool_request.is_some()) => m,
        _ => {
            return Err(Error::new(
                Status::FailedPrecondition,
                "Cannot 'resume' generation unless the previous message is a model message with at least one tool request.",
            ));
        }
    };
    let respond = resume.respond.clone().unwrap_or_default();
    let restart = resume.restart.clone().unwrap_or_default();
    // Restarted tools run with the generation's cancellation and context, but stream nothing.
    let hook = HookCx { on_chunk: None, ..hook.clone() };
    let mut responses = Vec::new();
    let mut interrupted = false;
    let mut new_content = Vec::with_capacity(last.content.len());
    for part in std::mem::take(&mut last.content) {
        let Some(tr) = part.tool_request.clone() else {
            new_content.push(part);
            continue;
        };
        // (a) pending output from an earlier partial round
        if let Some(mut meta) = part.metadata.clone()
            && let Some(pending) = meta.remove("pendingOutput")
        {
            let mut rmeta = meta.clone();
            rmeta.insert("source".into(), json!("pending"));
            responses.push(Part {
                tool_response: Some(ToolResponse {
                    reference: tr.reference.clone(),
                    name: tr.name.clone(),
                    output: Some(pending),
                    content: None,
                }),
                metadata: Some(rmeta),
                ..Part::default()
            });
            new_content.push(Part { metadata: Some(meta), ..part });
            continue;
        }
        let resolved_meta = |p: &Part| {
            let mut meta = p.metadata.clone().unwrap_or_default();
            if let Some(i) = meta.remove("interrupt") {
                meta.insert("resolvedInterrupt".into(), i);
            }
            meta
        };
        // (b) a provided response
        if let Some(r) = respond
            .iter()
            .find(|r| r.tool_response.as_ref().is_some_and(|t| t.name == tr.name && t.reference == tr.reference))
        {
            responses.push(r.clone());
            let meta = resolved_meta(&part);
            new_content.push(Part { metadata: (!meta.is_empty()).then_some(meta), ..part });
            continue;
        }
        // (c) a restart
        if let Some(r) = restart
            .iter()
            .find(|r| r.tool_request.as_ref().is_some_and(|t| same_call(t, &tr.name, tr.reference.as_ref())))
        {
            match resolve_tool_request(eng, r, tools, &hook, &snapshot).await? {
                ToolOutcome::Interrupt(p) => {
                    interrupted = true;
                    new_content.push(p);
                    continue;
                }
                ToolOutcome::Response(resp) => {
                    responses.push(resp);
                    let meta = resolved_meta(&part);
                    new_content.push(Part { metadata: (!meta.is_empty()).then_some(meta), ..part });
                    continue;
                }
                ToolOutcome::Dropped => {}
            }
        }
        let reference = tr.reference.as_ref().map(|r| format!("#{r}")).unwrap_or_default();
        return Err(Error::invalid_argument(format!(
            "Unresolved tool request '{}{reference}' was not handled by the 'resume' argument. You must supply replies or restarts for all interrupted tool requests.'",
            tr.name
        )));
    }
    last.content = new_content;
    if interrupted {
        return Err(Error::new(
            Status::FailedPrecondition,
            "One or more tools triggered an interrupt during a restarted execution.",
        )
        .with_details(json!({ "message": serde_json::to_value(&*last).unwrap_or(Value::Null) })));
    }
    let n = last.content.iter().filter(|p| p.tool_request.is_some()).count();
    if responses.len() != n {
        return Err(Error::new(
            Status::FailedPrecondition,
            format!("Expected {n} tool responses but resolved to {}.", responses.len()),
        ));
    }
    let mut meta = Map::new();
    meta.insert("resumed".into(), resume.metadata.map_or(Value::Bool(true), Value::Object));
    let tool_message = Message { role: Role::Tool, content: responses, metadata: Some(meta) };
    request.messages.push(tool_message.clone());
    Ok((request, tool_message))
}
