//! Tools: functions a model may call during `generate`, interrupts that pause the
//! tool loop for a human or the app, and the `respond`/`restart` builders that resume it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use genkit_core::schema::DRAFT_07;
use genkit_core::{Action, ActionContext, ActionCx, ActionDef, ActionType, Error, Registry, Result, Status};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::{MultipartToolResponse, Part, ToolDefinition, ToolRequest, ToolResponse};

/// The cause carried by an interrupt error (JS `ToolInterruptError`): the tool asked the
/// generate loop to stop and hand the request back to the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInterrupt {
    /// Metadata for the caller (recorded as the part's `metadata.interrupt`).
    pub metadata: Option<Value>,
}

impl fmt::Display for ToolInterrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ToolInterruptError")
    }
}

impl std::error::Error for ToolInterrupt {}

/// An interrupt error: returning it from a tool pauses generation. Status `ABORTED`
/// if it ever escapes the loop.
pub fn interrupt_error(metadata: Option<Value>) -> Error {
    let msg = match metadata.as_ref().and_then(|m| m.get("message")).and_then(Value::as_str) {
        Some(m) => format!("tool interrupted: {m}"),
        None => "tool interrupted".to_owned(),
    };
    let mut e = Error::new(Status::Aborted, msg).with_source(ToolInterrupt { metadata: metadata.clone() });
    if let Some(m) = metadata {
        e = e.with_details(json!({ "interrupt": m }));
    }
    e
}

/// The interrupt carried by `err`, if it is one.
pub fn as_interrupt(err: &Error) -> Option<&ToolInterrupt> {
    std::error::Error::source(err).and_then(|s| s.downcast_ref::<ToolInterrupt>())
}

/// What a tool function receives besides its input (JS tool `ctx`): the triggering request's
/// metadata, `resumed` data after a restart, `interrupt`, context and cancellation.
pub struct ToolCx {
    cx: ActionCx<()>,
}

impl fmt::Debug for ToolCx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolCx").field("metadata", &self.metadata()).finish()
    }
}

impl ToolCx {
    /// An interrupt error to return from the tool: `return Err(cx.interrupt(json!({...})))`.
    pub fn interrupt(&self, metadata: impl Into<Option<Value>>) -> Error {
        interrupt_error(metadata.into())
    }

    /// The metadata of the tool request part that triggered this call.
    pub fn metadata(&self) -> Option<&Map<String, Value>> {
        self.cx.call_metadata().and_then(Value::as_object)
    }

    /// The `resumed` metadata when the call is a restart (`restart(interrupt, resumed)`).
    pub fn resumed(&self) -> Option<&Value> {
        self.metadata().and_then(|m| m.get("resumed")).filter(|v| !matches!(v, Value::Null | Value::Bool(false)))
    }

    /// The action context.
    pub fn context(&self) -> &ActionContext {
        self.cx.context()
    }

    /// Fires when the generation is cancelled.
    pub fn cancellation(&self) -> &CancellationToken {
        self.cx.cancellation()
    }

    /// The registry the tool runs in.
    pub fn registry(&self) -> Option<&Registry> {
        self.cx.registry()
    }
}

/// Name, description and schemas of a tool (JS `ToolConfig`).
#[derive(Debug, Clone, Default)]
pub struct ToolConfig {
    name: String,
    description: String,
    input_schema: Option<Value>,
    output_schema: Option<Value>,
    metadata: Map<String, Value>,
}

impl ToolConfig {
    /// A tool named `name` described to the model by `description`.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        ToolConfig { name: name.into(), description: description.into(), ..ToolConfig::default() }
    }

    /// Overrides the input JSON schema (otherwise derived from the input type).
    #[must_use]
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.input_schema = Some(schema);
        self
    }

    /// Overrides the output JSON schema (otherwise derived from the output type).
    #[must_use]
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// Adds a metadata entry.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: Value) -> Self {
        self.metadata.insert(key.into(), value);
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn builder<I, O>(
    action_type: ActionType,
    config: ToolConfig,
    extra: Map<String, Value>,
) -> genkit_core::ActionBuilder<I, O, ()>
where
    I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
{
    let ToolConfig { name, description, input_schema, output_schema, metadata } = config;
    let mut b = ActionDef::<I, O>::builder(action_type, name).description(description);
    if let Some(s) = input_schema {
        b = b.input_schema(s);
    }
    if let Some(s) = output_schema
        && action_type == ActionType::Tool
    {
        b = b.output_schema(s);
    }
    for (k, v) in metadata {
        b = b.metadata(k, v);
    }
    for (k, v) in extra {
        b = b.metadata(k, v);
    }
    b
}

/// A typed tool: input `I`, output `O`. Cheap to clone. Pass it (or its name) to
/// `generate`'s tools; use [`Tool::respond`] / [`Tool::restart`] to answer its interrupts.
pub struct Tool<I, O> {
    action: ActionDef<I, O>,
    dynamic: bool,
}

impl<I, O> Clone for Tool<I, O> {
    fn clone(&self) -> Self {
        Tool { action: self.action.clone(), dynamic: self.dynamic }
    }
}

impl<I, O> fmt::Debug for Tool<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool").field("dynamic", &self.dynamic).finish_non_exhaustive()
    }
}

fn tool_metadata(
    action_type: ActionType,
    dynamic: bool,
    restartable: Option<bool>,
    config: &ToolConfig,
) -> Map<String, Value> {
    let mut extra = Map::new();
    extra.insert("type".into(), json!(action_type.as_str()));
    let mut tool = config.metadata.get("tool").and_then(Value::as_object).cloned().unwrap_or_default();
    if action_type == ActionType::ToolV2 {
        tool.insert("multipart".into(), json!(true));
    }
    if let Some(r) = restartable {
        tool.insert("restartable".into(), json!(r));
    }
    if !tool.is_empty() {
        extra.insert("tool".into(), Value::Object(tool));
    }
    if dynamic {
        extra.insert("dynamic".into(), json!(true));
    }
    extra
}

impl<I, O> Tool<I, O>
where
    I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
{
    fn build<F, Fut>(config: ToolConfig, dynamic: bool, restartable: Option<bool>, f: F) -> Self
    where
        F: Fn(I, ToolCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O>> + Send + 'static,
    {
        let extra = tool_metadata(ActionType::Tool, dynamic, restartable, &config);
        let action = builder::<I, O>(ActionType::Tool, config, extra).build(move |i, cx| f(i, ToolCx { cx }));
        Tool { action, dynamic }
    }

    /// The tool's action.
    pub fn action(&self) -> &ActionDef<I, O> {
        &self.action
    }

    /// The type-erased action.
    pub fn as_action(&self) -> Arc<dyn Action> {
        self.action.as_action()
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        self.action.name()
    }

    /// Whether the tool is dynamic.
    pub fn is_dynamic(&self) -> bool {
        self.dynamic
    }

    /// Calls the tool directly.
    ///
    /// # Errors
    /// The tool's error; an interrupt error when it interrupts.
    pub async fn run(&self, input: I) -> Result<O> {
        self.action.run(input).await
    }

    /// The `tool.v2` companion action JS registers beside every tool: returns `{output}`.
    pub fn v2_action(&self) -> ActionDef<Value, MultipartToolResponse> {
        let meta = self.action.metadata();
        let inner = self.action.as_action();
        let mut b = ActionDef::<Value, MultipartToolResponse>::builder(ActionType::ToolV2, meta.name.to_string())
            .description(meta.description.clone().unwrap_or_default());
        if let Some(s) = &meta.input_schema {
            b = b.input_schema(s.clone());
        }
        if let Some(m) = &meta.metadata {
            for (k, v) in m {
                if k != "type" && k != "tool" && k != "dynamic" {
                    b = b.metadata(k.clone(), v.clone());
                }
            }
        }
        b.metadata("type", json!("tool.v2")).metadata("tool", json!({"multipart": true})).build(move |input, cx| {
            let mut opts =
                genkit_core::RunOptions::new().context(cx.context().clone()).cancellation(cx.cancellation().clone());
            if let Some(m) = cx.call_metadata() {
                opts = opts.call_metadata(m.clone());
            }
            let fut = inner.run_json(input, opts);
            async move {
                let out = fut.await?.result;
                Ok(MultipartToolResponse { output: Some(out), ..MultipartToolResponse::default() })
            }
        })
    }

    /// Answers an interrupt of this tool: the output is validated against the tool's
    /// output schema. Pass the result in `resume.respond`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when `output` does not fit the schema or `interrupt` is not a tool
    /// request.
    pub fn respond(&self, interrupt: &Part, output: O, metadata: Option<Value>) -> Result<Part> {
        let out = serde_json::to_value(output).map_err(Error::internal)?;
        if let Some(s) = &self.action.metadata().output_schema {
            crate::schema_cache::validate_value(s, &out)?;
        }
        respond_tool(interrupt, out, metadata)
    }

    /// Restarts an interrupted request of this tool, optionally with new input (validated
    /// against the input schema). Pass the result in `resume.restart`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when the replaced input does not fit the schema or `interrupt` is
    /// not a tool request.
    pub fn restart(&self, interrupt: &Part, opts: RestartOptions<I>) -> Result<Part> {
        let RestartOptions { resumed, replace_input } = opts;
        let replace = match replace_input {
            Some(i) => {
                let v = serde_json::to_value(i).map_err(Error::internal)?;
                if let Some(s) = &self.action.metadata().input_schema {
                    crate::schema_cache::validate_value(s, &v)?;
                }
                Some(v)
            }
            None => None,
        };
        restart_tool(interrupt, RestartOptions { resumed, replace_input: replace })
    }
}

/// How to restart an interrupted tool request: what the tool sees as `resumed` metadata
/// (default `true`) and, optionally, a new input.
///
/// ```
/// use genkit_ai::tool::RestartOptions;
/// let opts = RestartOptions::<serde_json::Value>::new().resumed(serde_json::json!({"toolApproved": true}));
/// assert!(opts.replace_input.is_none());
/// ```
#[derive(Debug, Clone)]
pub struct RestartOptions<I = Value> {
    /// The `metadata.resumed` the tool sees (default `true`).
    pub resumed: Option<Value>,
    /// A new input replacing the original one (kept as `metadata.replacedInput`).
    pub replace_input: Option<I>,
}

impl<I> Default for RestartOptions<I> {
    fn default() -> Self {
        RestartOptions { resumed: None, replace_input: None }
    }
}

impl<I> RestartOptions<I> {
    /// Restart as is, with `resumed: true`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the `resumed` metadata.
    #[must_use]
    pub fn resumed(mut self, resumed: Value) -> Self {
        self.resumed = Some(resumed);
        self
    }

    /// Replaces the input.
    #[must_use]
    pub fn replace_input(mut self, input: I) -> Self {
        self.replace_input = Some(input);
        self
    }
}

/// Builds a tool, not registered: register it with `Genkit::define_tool`, or pass it to
/// `generate` as a dynamic tool after [`dynamic`]. Every action kind is built the same way:
/// `tool::new`, `model::new`, `retriever::new`, … (the `Genkit::define_*` methods build and
/// register in one step).
pub fn new<I, O, F, Fut>(config: ToolConfig, f: F) -> Tool<I, O>
where
    I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
    F: Fn(I, ToolCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O>> + Send + 'static,
{
    Tool::build(config, false, None, f)
}

/// A dynamic (unregistered) tool: `metadata.dynamic = true`; registered only in the
/// per-call registry of the `generate` it is passed to.
pub fn dynamic<I, O, F, Fut>(config: ToolConfig, f: F) -> Tool<I, O>
where
    I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
    F: Fn(I, ToolCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O>> + Send + 'static,
{
    Tool::build(config, true, None, f)
}

/// An interrupt (JS `defineInterrupt`): a tool whose every call interrupts with the
/// metadata `request_metadata(input)` returns; `metadata.tool.restartable = false`.
pub fn interrupt<I, O>(
    config: ToolConfig,
    request_metadata: impl Fn(&I) -> Option<Value> + Send + Sync + 'static,
) -> Tool<I, O>
where
    I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
{
    let rm = Arc::new(request_metadata);
    Tool::build(config, false, Some(false), move |i: I, _cx| {
        let meta = rm(&i);
        async move { Err(interrupt_error(meta)) }
    })
}

/// A multipart tool: returns output and/or content parts; registered only as
/// `/tool.v2/<name>`.
pub fn multipart<I, F, Fut>(config: ToolConfig, f: F) -> ActionDef<I, MultipartToolResponse>
where
    I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
    F: Fn(I, ToolCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<MultipartToolResponse>> + Send + 'static,
{
    let extra = tool_metadata(ActionType::ToolV2, false, None, &config);
    builder::<I, MultipartToolResponse>(ActionType::ToolV2, config, extra).build(move |i, cx| f(i, ToolCx { cx }))
}

fn interrupt_request(interrupt: &Part) -> Result<&ToolRequest> {
    interrupt
        .tool_request
        .as_deref()
        .ok_or_else(|| Error::invalid_argument("expected a tool request part (an interrupt)"))
}

/// Builds a `resume.respond` part for an interrupt without schema validation (JS
/// `respondTool`): `{toolResponse: {name, ref, output}, metadata: {interruptResponse}}`.
///
/// # Errors
/// `INVALID_ARGUMENT` when `interrupt` is not a tool request.
pub fn respond_tool(interrupt: &Part, output: Value, metadata: Option<Value>) -> Result<Part> {
    let req = interrupt_request(interrupt)?;
    let mut meta = Map::new();
    meta.insert("interruptResponse".into(), metadata.unwrap_or(Value::Bool(true)));
    Ok(Part {
        tool_response: Some(Box::new(ToolResponse {
            reference: req.reference.clone(),
            name: req.name.clone(),
            output: Some(output),
            content: None,
        })),
        metadata: Some(meta),
        ..Part::default()
    })
}

/// Builds a `resume.restart` part without schema validation (JS `restartTool`): the request
/// with `metadata.resumed` (and `replacedInput` when the input is replaced).
///
/// # Errors
/// `INVALID_ARGUMENT` when `interrupt` is not a tool request.
pub fn restart_tool(interrupt: &Part, opts: RestartOptions) -> Result<Part> {
    let RestartOptions { resumed, replace_input } = opts;
    let req = interrupt_request(interrupt)?;
    let mut meta = interrupt.metadata.clone().unwrap_or_default();
    meta.insert("resumed".into(), resumed.unwrap_or(Value::Bool(true)));
    let input = match replace_input {
        Some(new) => {
            if let Some(orig) = &req.input {
                meta.insert("replacedInput".into(), orig.clone());
            }
            Some(new)
        }
        None => req.input.clone(),
    };
    Ok(Part {
        tool_request: Some(Box::new(ToolRequest {
            reference: req.reference.clone(),
            name: req.name.clone(),
            input,
            partial: None,
        })),
        metadata: Some(meta),
        ..Part::default()
    })
}

fn void_schema() -> Value {
    json!({ "$schema": DRAFT_07 })
}

/// The definition sent to models for a tool action: the short name (after the last
/// `/`), description, schemas (an empty draft-07 schema when absent), `key`, and
/// `metadata.originalName` when the name was shortened.
pub fn to_tool_definition(action: &dyn Action) -> ToolDefinition {
    let meta = action.metadata();
    let original: &str = &meta.name;
    let name = original.rsplit('/').next().unwrap_or(original);
    let output_schema = if meta.action_type == ActionType::ToolV2 {
        // A multipart tool's output schema is the `MultipartToolResponse` wrapper; the model
        // sees the inner output (JS uses the configured output schema, void by default).
        void_schema()
    } else {
        meta.output_schema.clone().unwrap_or_else(void_schema)
    };
    ToolDefinition {
        name: name.to_owned(),
        key: Some(meta.key.to_string()),
        description: meta.description.clone().unwrap_or_default(),
        input_schema: Some(meta.input_schema.clone().unwrap_or_else(void_schema)),
        output_schema: Some(output_schema),
        metadata: (name != original).then(|| {
            let mut m = Map::new();
            m.insert("originalName".into(), json!(original));
            m
        }),
    }
}
