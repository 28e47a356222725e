//! Built-in middleware: `retry`, `fallback`, `toolApproval` (M10) and the model middlewares
//! `simulateSystemPrompt`, `augmentWithContext`, `simulateConstrainedGeneration`,
//! `validateSupport` (M3–M5, M8).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use genkit_core::action::{ActionMiddleware, Next};
use genkit_core::{Error, Registry, Result, RunOptions, Status};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{GenerateMiddleware, MiddlewareDef, MiddlewareUse, ModelHookCx, ModelNext, ToolHookCx, ToolNext};
use crate::format::{inject_instructions, json_instructions};
use crate::tool::{as_interrupt, interrupt_error};
use crate::{Message, ModelReference, ModelRequest, ModelResponse, ModelResponseChunk, ModelSupports, Part, Role};

// ---------------------------------------------------------------- retry

/// Options of [`retry`] (JS `retry({...})` of `@genkit-ai/middleware`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RetryOptions {
    /// Retries after the first attempt (default 3).
    pub max_retries: u32,
    /// Statuses that are retried (default `UNAVAILABLE, DEADLINE_EXCEEDED,
    /// RESOURCE_EXHAUSTED, ABORTED, INTERNAL`).
    #[schemars(with = "Vec<String>")]
    pub statuses: Vec<Status>,
    /// First delay in milliseconds (default 1000).
    pub initial_delay_ms: u64,
    /// Delay cap in milliseconds (default 60000).
    pub max_delay_ms: u64,
    /// Delay multiplier (default 2).
    pub backoff_factor: f64,
    /// Disables the random jitter (`+ 1000·2^attempt·random()` ms).
    pub no_jitter: bool,
}

const RETRY_STATUSES: [Status; 5] =
    [Status::Unavailable, Status::DeadlineExceeded, Status::ResourceExhausted, Status::Aborted, Status::Internal];

impl Default for RetryOptions {
    fn default() -> Self {
        RetryOptions {
            max_retries: 3,
            statuses: RETRY_STATUSES.to_vec(),
            initial_delay_ms: 1000,
            max_delay_ms: 60_000,
            backoff_factor: 2.0,
            no_jitter: false,
        }
    }
}

fn random_unit() -> f64 {
    static STATE: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = STATE.get_or_init(RandomState::new).build_hasher();
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether an error must never be retried or fall back: interrupts and cancellation.
fn never_retry(e: &Error) -> bool {
    as_interrupt(e).is_some() || e.status() == Status::Cancelled
}

struct Retry(RetryOptions);

impl GenerateMiddleware for Retry {
    fn model(
        self: Arc<Self>,
        req: ModelRequest,
        cx: ModelHookCx,
        next: ModelNext,
    ) -> BoxFuture<'static, Result<ModelResponse>> {
        async move {
            let o = &self.0;
            let mut current = o.initial_delay_ms as f64;
            let mut attempt = 0u32;
            loop {
                let err = match next.run(req.clone(), cx.clone()).await {
                    Ok(r) => return Ok(r),
                    Err(e) => e,
                };
                if attempt >= o.max_retries {
                    tracing::warn!(
                        middleware = "retry",
                        "Retry attempts exhausted ({}). Last error: {err}",
                        o.max_retries
                    );
                    return Err(err);
                }
                if never_retry(&err) || !o.statuses.contains(&err.status()) {
                    tracing::warn!(
                        middleware = "retry",
                        "Retry skipped for {err}: status {} is not retryable",
                        err.status()
                    );
                    return Err(err);
                }
                let mut delay = current;
                if !o.no_jitter {
                    delay += 1000.0 * 2f64.powi(attempt as i32) * random_unit();
                }
                if let Some(after) = err.retry_after() {
                    delay = delay.max(after.as_secs_f64() * 1000.0);
                }
                attempt += 1;
                tracing::warn!(
                    middleware = "retry",
                    attempt,
                    delay_ms = delay.round(),
                    "Retry {attempt} of {} in {}ms due to error: {err}",
                    o.max_retries,
                    delay.round()
                );
                let sleep = tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0) / 1000.0));
                match &cx.cancellation {
                    Some(tok) => {
                        tokio::select! {
                            () = sleep => {}
                            () = tok.cancelled() => return Err(Error::cancelled("Generation was cancelled.")),
                        }
                    }
                    None => sleep.await,
                }
                current = (current * o.backoff_factor).min(o.max_delay_ms as f64);
            }
        }
        .boxed()
    }
}

/// The `retry` middleware definition (register it to use `{name: "retry"}` by name).
pub fn retry_def() -> Arc<MiddlewareDef> {
    static D: OnceLock<Arc<MiddlewareDef>> = OnceLock::new();
    D.get_or_init(|| {
        Arc::new(MiddlewareDef::typed(
            "retry",
            "Retries failed model calls with exponential backoff.",
            |o: RetryOptions, _| Ok(Arc::new(Retry(o)) as Arc<dyn GenerateMiddleware>),
        ))
    })
    .clone()
}

/// Retries model calls that fail with a retryable status (M6/M10): exponential backoff with
/// jitter, at least the provider's `Retry-After`; never retries interrupts or cancellation.
///
/// ```
/// use genkit_ai::middleware::{retry, RetryOptions};
/// let mw = retry(RetryOptions { max_retries: 2, ..Default::default() });
/// assert_eq!(mw.to_ref().name, "retry");
/// ```
pub fn retry(options: RetryOptions) -> MiddlewareUse {
    retry_def().with_config(serde_json::to_value(options).ok())
}

// ---------------------------------------------------------------- fallback

/// Options of [`fallback`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct FallbackOptions {
    /// Models to try in order.
    pub models: Vec<ModelReference>,
    /// Statuses that trigger the fallback (default: the retry statuses plus `NOT_FOUND`,
    /// `UNIMPLEMENTED`).
    #[schemars(with = "Vec<String>")]
    pub statuses: Vec<Status>,
    /// Use only each fallback model's own config (otherwise its config, else the request's).
    pub isolate_config: bool,
}

impl Default for FallbackOptions {
    fn default() -> Self {
        let mut statuses = RETRY_STATUSES.to_vec();
        statuses.extend([Status::NotFound, Status::Unimplemented]);
        FallbackOptions { models: Vec::new(), statuses, isolate_config: false }
    }
}

struct Fallback(FallbackOptions, Registry);

impl GenerateMiddleware for Fallback {
    fn model(
        self: Arc<Self>,
        req: ModelRequest,
        cx: ModelHookCx,
        next: ModelNext,
    ) -> BoxFuture<'static, Result<ModelResponse>> {
        async move {
            let first = match next.run(req.clone(), cx.clone()).await {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            let o = &self.0;
            if never_retry(&first) || !o.statuses.contains(&first.status()) {
                tracing::warn!(middleware = "fallback", "Skipping fallback for unhandled error: {first}");
                return Err(first);
            }
            let mut last = first;
            for m in &o.models {
                tracing::warn!(middleware = "fallback", target_model = %m.name, "Falling back to model {} due to error {last}", m.name);
                let mut r = req.clone();
                r.config = if o.isolate_config { m.config.clone() } else { m.config.clone().or_else(|| req.config.clone()) };
                let result = match crate::generate::engine::lookup_model(&self.1, &m.name).await {
                    Ok(Some(action)) => crate::generate::engine::call_model(&action, r, cx.clone()).await,
                    Ok(None) => Err(Error::not_found(format!("Model '{}' not found", m.name))),
                    Err(e) => Err(e),
                };
                match result {
                    Ok(resp) => return Ok(resp),
                    Err(e) if !never_retry(&e) && o.statuses.contains(&e.status()) => last = e,
                    Err(e) => {
                        tracing::warn!(middleware = "fallback", "Aborting fallback sequence for unrecoverable error: {e}");
                        return Err(e);
                    }
                }
            }
            tracing::warn!(middleware = "fallback", "Fallback options exhausted. Last error: {last}");
            Err(last)
        }
        .boxed()
    }
}

/// The `fallback` middleware definition.
pub fn fallback_def() -> Arc<MiddlewareDef> {
    static D: OnceLock<Arc<MiddlewareDef>> = OnceLock::new();
    D.get_or_init(|| {
        Arc::new(MiddlewareDef::typed(
            "fallback",
            "Falls back to other models when a model call fails.",
            |o: FallbackOptions, init| Ok(Arc::new(Fallback(o, init.registry.clone())) as Arc<dyn GenerateMiddleware>),
        ))
    })
    .clone()
}

/// Calls the next model of `models` when a model call fails with a fallback status (M7/M10).
pub fn fallback(options: FallbackOptions) -> MiddlewareUse {
    fallback_def().with_config(serde_json::to_value(options).ok())
}

// ---------------------------------------------------------------- toolApproval

/// Options of [`tool_approval`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ToolApprovalOptions {
    /// Tools that run without approval.
    pub approved: Vec<String>,
}

struct ToolApproval(ToolApprovalOptions);

impl GenerateMiddleware for ToolApproval {
    fn tool(self: Arc<Self>, req: Part, cx: ToolHookCx, next: ToolNext) -> BoxFuture<'static, Result<Option<Part>>> {
        let name = req.tool_request.as_ref().map(|t| t.name.clone()).unwrap_or_default();
        let approved = self.0.approved.contains(&name)
            || cx
                .metadata
                .as_ref()
                .and_then(|m| m.get("resumed"))
                .and_then(|r| r.get("toolApproved"))
                .and_then(Value::as_bool)
                == Some(true);
        if approved {
            return next.run(req, cx);
        }
        async move {
            genkit_core::run(&name, None, async {
                Err::<Option<Part>, _>(interrupt_error(Some(json!({
                    "message": format!("Tool not in approved list: {name}")
                }))))
            })
            .await
        }
        .boxed()
    }
}

/// The `toolApproval` middleware definition.
pub fn tool_approval_def() -> Arc<MiddlewareDef> {
    static D: OnceLock<Arc<MiddlewareDef>> = OnceLock::new();
    D.get_or_init(|| {
        Arc::new(MiddlewareDef::typed(
            "toolApproval",
            "Interrupts calls of tools that are not approved.",
            |o: ToolApprovalOptions, _| Ok(Arc::new(ToolApproval(o)) as Arc<dyn GenerateMiddleware>),
        ))
    })
    .clone()
}

/// Interrupts every call of a tool not in `approved` (M10): the interrupt's metadata is
/// `{message: "Tool not in approved list: <name>"}`; resume with
/// `restart_tool(interrupt, Some(json!({"toolApproved": true})), None)`.
pub fn tool_approval(options: ToolApprovalOptions) -> MiddlewareUse {
    tool_approval_def().with_config(serde_json::to_value(options).ok())
}

/// The built-in middleware definitions (`retry`, `fallback`, `toolApproval`).
pub fn builtin_defs() -> Vec<Arc<MiddlewareDef>> {
    vec![retry_def(), fallback_def(), tool_approval_def()]
}

// ---------------------------------------------------------------- model middleware

type Transform = dyn Fn(ModelRequest) -> Result<ModelRequest> + Send + Sync;

/// A model middleware that rewrites the request before the model sees it. Use it in a
/// model's definition (`ModelOptions::middleware`) or in `generate`'s `use` list.
#[derive(Clone)]
pub struct ModelMiddleware {
    name: &'static str,
    f: Arc<Transform>,
}

impl std::fmt::Debug for ModelMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelMiddleware").field("name", &self.name).finish()
    }
}

impl ModelMiddleware {
    fn new(name: &'static str, f: impl Fn(ModelRequest) -> Result<ModelRequest> + Send + Sync + 'static) -> Self {
        ModelMiddleware { name, f: Arc::new(f) }
    }

    /// Applies the rewrite.
    ///
    /// # Errors
    /// The middleware's error (e.g. `validate_support`).
    pub fn apply(&self, req: ModelRequest) -> Result<ModelRequest> {
        (self.f)(req)
    }
}

impl ActionMiddleware<ModelRequest, ModelResponse, ModelResponseChunk> for ModelMiddleware {
    fn call(
        &self,
        input: ModelRequest,
        opts: RunOptions<ModelResponseChunk>,
        next: Next<ModelRequest, ModelResponse, ModelResponseChunk>,
    ) -> BoxFuture<'static, Result<ModelResponse>> {
        match (self.f)(input) {
            Ok(r) => next.run(r, opts),
            Err(e) => async move { Err(e) }.boxed(),
        }
    }
}

impl From<ModelMiddleware> for MiddlewareUse {
    fn from(m: ModelMiddleware) -> MiddlewareUse {
        MiddlewareUse::model_fn(move |req, cx, next| match m.apply(req) {
            Ok(r) => next.run(r, cx),
            Err(e) => async move { Err(e) }.boxed(),
        })
    }
}

/// Options of [`simulate_system_prompt`].
#[derive(Debug, Clone)]
pub struct SimulateSystemPromptOptions {
    /// Text before the system parts (default `SYSTEM INSTRUCTIONS:\n`).
    pub preface: String,
    /// The model's acknowledgement (default `Understood.`).
    pub acknowledgement: String,
}

impl Default for SimulateSystemPromptOptions {
    fn default() -> Self {
        SimulateSystemPromptOptions { preface: "SYSTEM INSTRUCTIONS:\n".into(), acknowledgement: "Understood.".into() }
    }
}

/// For models without a system role (M4): the first system message becomes a user message
/// (`preface` + its parts) followed by a model acknowledgement.
pub fn simulate_system_prompt(options: SimulateSystemPromptOptions) -> ModelMiddleware {
    ModelMiddleware::new("simulateSystemPrompt", move |mut req| {
        if let Some(i) = req.messages.iter().position(|m| m.role == Role::System) {
            let sys = req.messages.remove(i);
            let mut content = Vec::with_capacity(sys.content.len() + 1);
            content.push(Part::text(options.preface.clone()));
            content.extend(sys.content);
            req.messages.insert(i, Message::new(Role::User, content));
            req.messages.insert(i + 1, Message::model(options.acknowledgement.clone()));
        }
        Ok(req)
    })
}

/// Options of [`augment_with_context`].
#[derive(Debug, Clone)]
pub struct AugmentWithContextOptions {
    /// Text before the documents (default `\n\nUse the following information to complete
    /// your task:\n\n`; `None` for none).
    pub preface: Option<String>,
    /// Citation key: `None` uses `metadata.ref`, else `metadata.id`, else the index;
    /// `Some(key)` uses `metadata[key]`.
    pub citation_key: Option<String>,
    /// Leave citations out entirely (JS `citationKey: null`).
    pub no_citations: bool,
}

/// The default context preface.
pub const CONTEXT_PREFACE: &str = "\n\nUse the following information to complete your task:\n\n";

impl Default for AugmentWithContextOptions {
    fn default() -> Self {
        AugmentWithContextOptions { preface: Some(CONTEXT_PREFACE.into()), citation_key: None, no_citations: false }
    }
}

fn js_string(v: Option<&Value>) -> String {
    match v {
        None => "undefined".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn truthy(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
        _ => true,
    })
}

/// Renders `docs` into the last user message (M5) for models without native context
/// support: the preface, then `- [<citation>]: <text>` per document, then a newline, as a
/// part with `metadata.purpose = "context"` (replacing a pending placeholder). The request
/// is rewritten copy-on-write: unlike JS, the caller's history is not modified.
pub fn augment_with_context(options: AugmentWithContextOptions) -> ModelMiddleware {
    ModelMiddleware::new("augmentWithContext", move |req| Ok(augment_context(req, &options)))
}

pub(crate) fn augment_context(mut req: ModelRequest, options: &AugmentWithContextOptions) -> ModelRequest {
    let Some(docs) = req.docs.as_ref().filter(|d| !d.is_empty()) else { return req };
    let Some(ui) = req.messages.iter().rposition(|m| m.role == Role::User) else { return req };
    let purpose = |p: &Part| p.metadata_value("purpose").and_then(Value::as_str) == Some("context");
    let idx = req.messages[ui].content.iter().position(purpose);
    if let Some(i) = idx
        && truthy(req.messages[ui].content[i].metadata_value("pending")).is_none()
    {
        return req;
    }
    let mut out = options.preface.clone().unwrap_or_default();
    for (i, d) in docs.iter().enumerate() {
        out.push_str("- ");
        let meta = d.metadata.as_ref();
        if let Some(key) = &options.citation_key {
            out.push_str(&format!("[{}]: ", js_string(meta.and_then(|m| m.get(key)))));
        } else if !options.no_citations {
            let cite = truthy(meta.and_then(|m| m.get("ref")))
                .or_else(|| truthy(meta.and_then(|m| m.get("id"))))
                .map_or_else(|| i.to_string(), |v| js_string(Some(v)));
            out.push_str(&format!("[{cite}]: "));
        }
        out.push_str(&d.text());
        out.push('\n');
    }
    out.push('\n');
    let part = Part::text(out).with_metadata("purpose", json!("context"));
    let content = &mut req.messages[ui].content;
    match idx {
        Some(i) => content[i] = part,
        None => content.push(part),
    }
    req
}

/// Simulates constrained generation (F7/M8) for models without native support: when the
/// request asks for constrained output with a schema, the JSON instructions are injected
/// into the prompt and `constrained`/`format`/`contentType`/`schema` are cleared.
pub fn simulate_constrained_generation() -> ModelMiddleware {
    ModelMiddleware::new("simulateConstrainedGeneration", |req| Ok(apply_constrained_simulation(req)))
}

pub(crate) fn apply_constrained_simulation(mut req: ModelRequest) -> ModelRequest {
    let Some(out) = req.output.as_mut() else { return req };
    if out.constrained != Some(true) {
        return req;
    }
    let Some(schema) = out.schema.take() else { return req };
    out.constrained = Some(false);
    out.format = None;
    out.content_type = None;
    let text = json_instructions(&Value::Object(schema));
    inject_instructions(&mut req.messages, Some(&text));
    req
}

/// Whether the constrained simulator applies to a model with `supports` (JS
/// `getModelMiddleware`): no native support, `none`, or `no-tools` with tools present.
pub(crate) fn needs_constrained_simulation(supports: Option<&ModelSupports>, req: &ModelRequest) -> bool {
    use crate::Constrained;
    match supports.and_then(|s| s.constrained) {
        None | Some(Constrained::None) => true,
        Some(Constrained::NoTools) => req.tools.as_ref().is_some_and(|t| !t.is_empty()),
        Some(Constrained::All) => false,
    }
}

/// Rejects requests a model cannot handle (M3, JS semantics, opt-in): media when
/// `supports.media == false`, tools when `supports.tools == false`, several messages when
/// `supports.multiturn == false`. `INVALID_ARGUMENT` `Model '<name>' does not support …`.
pub fn validate_support(name: &str, supports: &ModelSupports) -> ModelMiddleware {
    let name = name.to_owned();
    let supports = supports.clone();
    ModelMiddleware::new("validateSupport", move |req| {
        let invalid = |what: String| {
            Err(Error::invalid_argument(format!(
                "Model '{name}' does not support {what}. Request: {}",
                serde_json::to_string_pretty(&req).unwrap_or_default()
            )))
        };
        if supports.media == Some(false) && req.messages.iter().any(|m| m.content.iter().any(|p| p.media.is_some())) {
            return invalid("media, but media was provided".into());
        }
        if supports.tools == Some(false) && req.tools.as_ref().is_some_and(|t| !t.is_empty()) {
            return invalid("tool use, but tools were provided".into());
        }
        if supports.multiturn == Some(false) && req.messages.len() > 1 {
            return invalid(format!("multiple messages, but {} were provided", req.messages.len()));
        }
        Ok(req)
    })
}
