//! One generate turn (JS `generateHelper`/`generateActionTurn`): under its span and the
//! middleware's generate hooks, resolve the model, tools and format, apply resume, call the
//! model (through the model hooks), then either finish or run a tool round and recurse.

use std::sync::{Arc, Mutex, PoisonError};

use futures::FutureExt;
use futures::future::BoxFuture;
use genkit_core::{ActionContext, ActionType, Error, Registry, Result, Status, StreamSink, Telemetry};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::chunk::TurnChunks;
use super::request::{apply_format, model_request};
use super::resolve::Resolver;
use super::resume::resolve_resume_option;
use super::tools::{ToolRound, assert_valid_tool_names, resolve_tool_requests};
use super::{GenerateResponse, GenerateResponseChunk};
use crate::format::FormatHandler;
use crate::middleware::{GenerateEnvelope, GenerateHookCx, MiddlewareInstance, ModelHookCx, run_generate, run_model};
use crate::{
    FinishReason, GenerateActionOptions, GenerateRequest, Message, ModelRequest, ModelResponse, ModelResponseChunk,
    Role,
};

/// Per-`generate` state shared by every turn.
pub(crate) struct Engine {
    pub(crate) registry: Registry,
    pub(crate) middleware: Arc<[MiddlewareInstance]>,
    pub(crate) telemetry: Arc<Telemetry>,
    /// The generation's chunk sink (absent when not streaming).
    pub(crate) on_chunk: Option<StreamSink<GenerateResponseChunk>>,
    pub(crate) cancellation: Option<CancellationToken>,
    pub(crate) context: Option<ActionContext>,
    pub(crate) resolver: Resolver,
    /// The output parser of the latest turn that built one (the final response's).
    parser: Mutex<Option<Arc<dyn FormatHandler>>>,
}

impl Engine {
    pub(crate) fn new(
        registry: Registry,
        middleware: Vec<MiddlewareInstance>,
        resolver: Resolver,
        on_chunk: Option<StreamSink<GenerateResponseChunk>>,
        cancellation: Option<CancellationToken>,
        context: Option<ActionContext>,
    ) -> Arc<Self> {
        let telemetry = registry.telemetry();
        Arc::new(Engine {
            registry,
            middleware: middleware.into(),
            telemetry,
            on_chunk,
            cancellation,
            context,
            resolver,
            parser: Mutex::new(None),
        })
    }

    fn set_parser(&self, parser: Option<Arc<dyn FormatHandler>>) {
        *self.parser.lock().unwrap_or_else(PoisonError::into_inner) = parser;
    }

    /// Runs the whole generation from `request` and wraps the final response with the
    /// output parser of its format.
    pub(crate) async fn run(self: Arc<Self>, request: GenerateActionOptions) -> Result<GenerateResponse> {
        let data = generate_helper(self.clone(), request, 0, 0).await?;
        let parser = self.parser.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Ok(GenerateResponse::with_parser(data, parser))
    }
}

/// Runs one turn inside its `generate` span.
fn generate_helper(
    eng: Arc<Engine>,
    request: GenerateActionOptions,
    current_turn: u32,
    message_index: u32,
) -> BoxFuture<'static, Result<ModelResponse>> {
    async move {
        let name = request.step_name.clone().unwrap_or_else(|| "generate".to_owned());
        let tel = eng.telemetry.clone();
        // Serialized only while spans are recorded (an exporter is attached).
        let input = if tel.is_recording() { serde_json::to_string(&request).ok() } else { None };
        let turn = wrap_turn(eng, request, current_turn, message_index);
        genkit_core::run_span(&tel, &name, "util", move || input, turn).await
    }
    .boxed()
}

/// The turn under the middleware's generate hooks. Chunks a middleware streams itself
/// count among the turn's chunks (JS `sharedPreviousChunks`).
fn wrap_turn(
    eng: Arc<Engine>,
    request: GenerateActionOptions,
    current_turn: u32,
    message_index: u32,
) -> BoxFuture<'static, Result<ModelResponse>> {
    let turn = TurnChunks::new();
    if eng.middleware.is_empty() {
        return generate_turn(eng, request, current_turn, message_index, turn);
    }
    async move {
        let on_chunk = eng.on_chunk.as_ref().map(|outer| {
            let (outer, turn) = (outer.clone(), turn.clone());
            StreamSink::new(move |c: ModelResponseChunk| outer.send(turn.adopt(c, message_index)))
        });
        let cx = GenerateHookCx { on_chunk, cancellation: eng.cancellation.clone(), context: eng.context.clone() };
        let envelope = GenerateEnvelope { request, current_turn, message_index };
        let end = |env: GenerateEnvelope, _: GenerateHookCx| {
            generate_turn(eng.clone(), env.request, env.current_turn, env.message_index, turn.clone())
        };
        run_generate(&eng.middleware, envelope, cx, &end).await
    }
    .boxed()
}

fn generate_turn(
    eng: Arc<Engine>,
    request: GenerateActionOptions,
    current_turn: u32,
    message_index: u32,
    turn: Arc<TurnChunks>,
) -> BoxFuture<'static, Result<ModelResponse>> {
    async move {
        if eng.cancellation.as_ref().is_some_and(CancellationToken::is_cancelled) {
            return Err(Error::cancelled("Generation was cancelled."));
        }
        let resolved = eng.resolver.resolve(&eng.registry, &eng.middleware, &request).await?;
        let (model, tools, format) = (&resolved.model, &resolved.tools, resolved.format.as_ref());
        let request = apply_format(request, format)?;
        let request = crate::resource::apply_resources(&eng.registry, request).await?;
        assert_valid_tool_names(tools)?;

        if request.resume.is_some() {
            let (revised, tool_message) = resolve_resume_option(&eng, request, tools).await?;
            if let Some(sink) = &eng.on_chunk {
                if let Some(f) = format {
                    let schema = revised.output.as_ref().and_then(|o| o.json_schema.as_ref());
                    turn.set_parser(f.handler(schema).ok().as_ref());
                }
                let data = ModelResponseChunk {
                    role: Some(Role::Tool),
                    index: Some(message_index),
                    content: tool_message.content,
                    ..ModelResponseChunk::default()
                };
                sink.send(turn.fresh(data));
            }
            return generate_helper(eng, revised, current_turn, message_index + 1).await;
        }

        let gen_request = model_request(&request, tools, &**model);
        let schema = gen_request.output.as_ref().and_then(|o| o.schema.as_ref()).map(|s| Value::Object(s.clone()));
        let handler = match format {
            Some(f) => Some(f.handler(schema.as_ref())?),
            None => None,
        };
        turn.set_parser(handler.as_ref());
        turn.start_at(message_index);
        eng.set_parser(handler.clone());

        let background = model.metadata().action_type == ActionType::BackgroundModel;
        let model_resp = call_model(&eng, model, &turn, gen_request.clone()).await?;
        let response = GenerateResponse::with_parser(finalize(model_resp, gen_request), handler);
        if background {
            return Ok(response.into_data());
        }
        response.assert_valid()?;
        let Some(generated) = response.message.clone() else { return Ok(response.into_data()) };
        let has_tool_requests = generated.content.iter().any(|p| p.tool_request.is_some());
        if request.return_tool_requests == Some(true) || !has_tool_requests {
            if !has_tool_requests {
                response.assert_valid_schema()?;
            }
            return Ok(response.into_data());
        }
        let max_turns = request.max_turns.unwrap_or(5);
        if current_turn + 1 > max_turns {
            return Err(max_turns_error(&response, max_turns));
        }
        match resolve_tool_requests(&eng, &request, &generated, tools).await? {
            ToolRound::Interrupted(revised) => Ok(ModelResponse {
                finish_reason: Some(FinishReason::Interrupted),
                finish_message: Some("One or more tool calls resulted in interrupts.".into()),
                message: Some(revised),
                ..response.into_data()
            }),
            ToolRound::Responses(parts) => {
                let tool_message = (!parts.is_empty()).then(|| Message::new(Role::Tool, parts));
                if let Some(tm) = &tool_message
                    && let Some(sink) = &eng.on_chunk
                {
                    sink.send(turn.make(Role::Tool, ModelResponseChunk::new(tm.content.clone())));
                }
                let next_index = turn.index();
                let mut next = request;
                next.messages.push(generated);
                if let Some(tm) = tool_message {
                    next.messages.push(tm);
                }
                generate_helper(eng, next, current_turn + 1, next_index + 1).await
            }
        }
    }
    .boxed()
}

/// Calls the model through the middleware's model hooks; its chunks become the turn's.
async fn call_model(
    eng: &Arc<Engine>,
    model: &Arc<dyn genkit_core::Action>,
    turn: &Arc<TurnChunks>,
    req: ModelRequest,
) -> Result<ModelResponse> {
    let on_chunk = eng.on_chunk.as_ref().map(|outer| {
        let (outer, turn) = (outer.clone(), turn.clone());
        StreamSink::new(move |c: ModelResponseChunk| outer.send(turn.make(Role::Model, c)))
    });
    let cx = ModelHookCx { on_chunk, cancellation: eng.cancellation.clone(), context: eng.context.clone() };
    if eng.middleware.is_empty() {
        return crate::model::call(model, req, cx).await;
    }
    let end = |r: ModelRequest, c: ModelHookCx| crate::model::call(model, r, c);
    run_model(&eng.middleware, req, cx, &end).await
}

/// `ABORTED` `Exceeded maximum tool call iterations (<n>)` with the response and request in
/// its details.
fn max_turns_error(response: &GenerateResponse, max_turns: u32) -> Error {
    let req_json = serde_json::to_value(&response.request).unwrap_or(Value::Null);
    let err = response.response_error(Status::Aborted, format!("Exceeded maximum tool call iterations ({max_turns})"));
    let mut details = err.details().cloned().unwrap_or_else(|| json!({}));
    if let Some(d) = details.as_object_mut() {
        d.insert("request".into(), req_json);
    }
    err.with_details(details)
}

/// The response as JS `GenerateResponse.toJSON()` shapes it: `usage` and `custom` default to
/// `{}`, empty `finishMessage` dropped, `request` attached, the format recorded on the
/// message metadata, `latencyMs`/`raw` not carried.
fn finalize(resp: ModelResponse, request: GenerateRequest) -> ModelResponse {
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
    ModelResponse {
        message,
        finish_reason: finish_reason.or_else(|| first.as_ref().map(|c| c.finish_reason)),
        finish_message: finish_message
            .or_else(|| first.as_ref().and_then(|c| c.finish_message.clone()))
            .filter(|m| !m.is_empty()),
        usage: Some(usage.unwrap_or_default()),
        custom: Some(custom.unwrap_or_else(|| Value::Object(Map::new()))),
        request: Some(request),
        operation,
        ..ModelResponse::default()
    }
}
