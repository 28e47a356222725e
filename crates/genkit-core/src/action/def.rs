//! [`ActionDef`]: the one concrete action type, with a typed fast path, and its builder.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, Stream, StreamExt};
use opentelemetry::KeyValue;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{Action, ActionCx, ActionMiddleware, ActionResult, Next, RunOptions};
use crate::context::Frame;
use crate::registry::WeakRegistry;
use crate::schema::{SchemaValidator, is_trivial, schema_for};
use crate::streaming::ActionStream;
use crate::trace::Telemetry;
use crate::{ActionContext, ActionMetadata, ActionType, Error, Registry, Result, Status};

type UnaryFn<I, O, S> = Arc<dyn Fn(I, ActionCx<S>) -> BoxFuture<'static, Result<O>> + Send + Sync>;
type BidiFn<I, O, S> = Arc<dyn Fn(InputStream<I>, ActionCx<S>) -> BoxFuture<'static, Result<O>> + Send + Sync>;

enum Body<I, O, S> {
    Unary(UnaryFn<I, O, S>),
    Bidi(BidiFn<I, O, S>),
}

impl<I, O, S> Clone for Body<I, O, S> {
    fn clone(&self) -> Self {
        match self {
            Body::Unary(f) => Body::Unary(f.clone()),
            Body::Bidi(f) => Body::Bidi(f.clone()),
        }
    }
}

/// A lazily compiled schema validator (compiled on first use, error kept).
#[derive(Clone, Default)]
struct LazyValidator {
    schema: Option<Value>,
    compiled: OnceLock<Result<SchemaValidator>>,
}

impl LazyValidator {
    fn new(schema: Option<Value>) -> Self {
        LazyValidator { schema: schema.filter(|s| !is_trivial(s)), compiled: OnceLock::new() }
    }

    fn validate(&self, data: &Value) -> Result<()> {
        let Some(schema) = &self.schema else { return Ok(()) };
        match self.compiled.get_or_init(|| SchemaValidator::new(schema.clone())) {
            Ok(v) => v.validate(data),
            Err(e) => Err(e.clone()),
        }
    }
}

struct Inner<I, O, S> {
    meta: ActionMetadata,
    body: Body<I, O, S>,
    input_v: LazyValidator,
    output_v: LazyValidator,
    init_v: LazyValidator,
    /// Validate typed values too (a schema was supplied by hand, so the type alone does not
    /// guarantee it holds).
    typed_input_check: bool,
    typed_output_check: bool,
    init_plugins: bool,
    middleware: Vec<Arc<dyn ActionMiddleware<I, O, S>>>,
    registry: OnceLock<WeakRegistry>,
}

impl<I, O, S> Inner<I, O, S> {
    fn clone_renamed(&self, name: &str) -> Self {
        let mut meta = self.meta.clone();
        meta.set_name(name);
        Inner {
            meta,
            body: self.body.clone(),
            input_v: self.input_v.clone(),
            output_v: self.output_v.clone(),
            init_v: self.init_v.clone(),
            typed_input_check: self.typed_input_check,
            typed_output_check: self.typed_output_check,
            init_plugins: self.init_plugins,
            middleware: self.middleware.clone(),
            registry: OnceLock::new(),
        }
    }
}

/// A defined action with typed input `I`, output `O` and chunk type `S`. Cheap to clone.
///
/// It is an [`Action`] (the erased, JSON-speaking form the registry stores) and also offers
/// typed calls ([`ActionDef::run`], [`ActionDef::stream`]) that skip JSON conversion.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit_core::Result<()> {
/// use genkit_core::{ActionCx, ActionDef, ActionType};
/// let shout = ActionDef::builder(ActionType::Custom, "shout")
///     .build(|s: String, _cx: ActionCx<()>| async move { Ok(s.to_uppercase()) });
/// assert_eq!(shout.run("hi".into()).await?, "HI");
/// # Ok(()) }
/// ```
pub struct ActionDef<I, O, S = ()> {
    inner: Arc<Inner<I, O, S>>,
}

impl<I, O, S> Clone for ActionDef<I, O, S> {
    fn clone(&self) -> Self {
        ActionDef { inner: self.inner.clone() }
    }
}

impl<I, O, S> fmt::Debug for ActionDef<I, O, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionDef").field("key", &self.inner.meta.key).finish()
    }
}

/// Builds an [`ActionDef`]: `ActionDef::builder(type, name)`, options, then `build(fn)`.
pub struct ActionBuilder<I, O, S> {
    meta: ActionMetadata,
    input_schema: Option<Value>,
    output_schema: Option<Value>,
    stream_schema: Option<Value>,
    init_schema: Option<Value>,
    init_plugins: bool,
    middleware: Vec<Arc<dyn ActionMiddleware<I, O, S>>>,
    _io: PhantomData<fn(I) -> (O, S)>,
}

impl<I, O, S> fmt::Debug for ActionBuilder<I, O, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionBuilder").field("meta", &self.meta).finish()
    }
}

/// Serializes a typed value to JSON, moving it when it already is a `Value`.
pub(crate) fn to_json<T: Serialize + 'static>(t: T) -> Result<Value> {
    let boxed: Box<dyn Any> = Box::new(t);
    match boxed.downcast::<Value>() {
        Ok(v) => Ok(*v),
        Err(b) => {
            let t = b.downcast::<T>().map_err(|_| Error::new(Status::Internal, "type mismatch"))?;
            serde_json::to_value(&*t)
                .map_err(|e| Error::new(Status::Internal, format!("cannot serialize value: {e}")).with_source(e))
        }
    }
}

/// Deserializes JSON into a typed value, moving it when the target is `Value`.
pub(crate) fn from_json<T: DeserializeOwned + 'static>(v: Value, what: &str) -> Result<T> {
    let boxed: Box<dyn Any> = Box::new(v);
    match boxed.downcast::<T>() {
        Ok(t) => Ok(*t),
        Err(b) => {
            let v = b.downcast::<Value>().map_err(|_| Error::new(Status::Internal, "type mismatch"))?;
            serde_json::from_value(*v)
                .map_err(|e| Error::new(Status::InvalidArgument, format!("invalid {what}: {e}")).with_source(e))
        }
    }
}

fn trivial_to_none(schema: Value) -> Option<Value> {
    let mut s = schema;
    if let Some(o) = s.as_object_mut()
        && o.len() == 1
        && o.contains_key("$schema")
    {
        return None;
    }
    if s == Value::Bool(true) { None } else { Some(std::mem::take(&mut s)) }
}

fn derived_schema<T: JsonSchema + 'static>() -> Option<Value> {
    use std::any::TypeId;
    if TypeId::of::<T>() == TypeId::of::<()>() {
        return None;
    }
    trivial_to_none(schema_for::<T>())
}

impl<I, O, S> ActionBuilder<I, O, S>
where
    I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
    S: Serialize + JsonSchema + Send + Sync + 'static,
{
    fn new(action_type: ActionType, name: impl Into<String>) -> Self {
        ActionBuilder {
            meta: ActionMetadata::new(action_type, name),
            input_schema: None,
            output_schema: None,
            stream_schema: None,
            init_schema: None,
            init_plugins: false,
            middleware: Vec::new(),
            _io: PhantomData,
        }
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.meta.description = Some(d.into());
        self
    }

    /// Overrides the input JSON schema (otherwise derived from `I`). Typed calls are then
    /// validated too.
    #[must_use]
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.input_schema = Some(schema);
        self
    }

    /// Overrides the output JSON schema (otherwise derived from `O`).
    #[must_use]
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// Overrides the stream chunk JSON schema (otherwise derived from `S`).
    #[must_use]
    pub fn stream_schema(mut self, schema: Value) -> Self {
        self.stream_schema = Some(schema);
        self
    }

    /// Sets the schema of the `init` value of bidirectional runs.
    #[must_use]
    pub fn init_schema(mut self, schema: Value) -> Self {
        self.init_schema = Some(schema);
        self
    }

    /// Adds one `metadata` entry.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: Value) -> Self {
        self.meta.insert_metadata(key, value);
        self
    }

    /// Initializes all plugins before each run (JS `defineAction` semantics, used by models,
    /// embedders, prompts and `/util/generate`).
    #[must_use]
    pub fn initializes_plugins(mut self) -> Self {
        self.init_plugins = true;
        self
    }

    /// Adds an action middleware; the first added is the outermost.
    #[must_use]
    pub fn middleware(mut self, m: impl ActionMiddleware<I, O, S> + 'static) -> Self {
        self.middleware.push(Arc::new(m));
        self
    }

    fn finish(self, body: Body<I, O, S>) -> ActionDef<I, O, S> {
        let mut meta = self.meta;
        let typed_input_check = self.input_schema.is_some();
        let typed_output_check = self.output_schema.is_some();
        meta.input_schema = self.input_schema.or_else(derived_schema::<I>);
        meta.output_schema = self.output_schema.or_else(derived_schema::<O>);
        meta.stream_schema = self.stream_schema.or_else(derived_schema::<S>);
        meta.init_schema = self.init_schema;
        if matches!(body, Body::Bidi(_)) {
            meta.insert_metadata("bidi", json!(true));
        }
        ActionDef {
            inner: Arc::new(Inner {
                input_v: LazyValidator::new(meta.input_schema.clone()),
                output_v: LazyValidator::new(meta.output_schema.clone()),
                init_v: LazyValidator::new(meta.init_schema.clone()),
                meta,
                body,
                typed_input_check,
                typed_output_check,
                init_plugins: self.init_plugins,
                middleware: self.middleware,
                registry: OnceLock::new(),
            }),
        }
    }

    /// Builds the action from an async function of `(input, cx)`.
    pub fn build<F, Fut>(self, f: F) -> ActionDef<I, O, S>
    where
        F: Fn(I, ActionCx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O>> + Send + 'static,
    {
        self.finish(Body::Unary(Arc::new(move |i, cx| f(i, cx).boxed())))
    }

    /// Builds a bidirectional action from an async function of `(input stream, cx)`:
    /// chunks go out through `cx.send_chunk`, the return value is the output.
    pub fn build_bidi<F, Fut>(self, f: F) -> ActionDef<I, O, S>
    where
        F: Fn(InputStream<I>, ActionCx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O>> + Send + 'static,
    {
        self.finish(Body::Bidi(Arc::new(move |i, cx| f(i, cx).boxed())))
    }
}

impl<I, O, S> ActionDef<I, O, S>
where
    I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
    S: Serialize + JsonSchema + Send + Sync + 'static,
{
    /// Starts building an action of the given type and name.
    pub fn builder(action_type: ActionType, name: impl Into<String>) -> ActionBuilder<I, O, S> {
        ActionBuilder::new(action_type, name)
    }
}

impl<I, O, S> ActionDef<I, O, S>
where
    I: DeserializeOwned + Serialize + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: Serialize + Send + Sync + 'static,
{
    /// The action's metadata.
    pub fn metadata(&self) -> &ActionMetadata {
        &self.inner.meta
    }

    /// The action name.
    pub fn name(&self) -> &str {
        &self.inner.meta.name
    }

    /// The registry key.
    pub fn key(&self) -> &str {
        &self.inner.meta.key
    }

    /// The erased form, as stored in the registry.
    pub fn as_action(&self) -> Arc<dyn Action> {
        Arc::new(self.clone())
    }

    pub(crate) fn attach_registry(&self, registry: &Registry) {
        if self.inner.registry.set(registry.downgrade()).is_err() {
            tracing::error!(
                "action {} is already registered in another registry; it keeps the first",
                self.inner.meta.key
            );
        }
    }

    /// Runs with typed input and returns the output (JS `action(input)`).
    ///
    /// # Errors
    /// Whatever the action returns; `INVALID_ARGUMENT` when a hand-written schema rejects
    /// the input or output; `CANCELLED` when cancelled.
    pub async fn run(&self, input: I) -> Result<O> {
        self.run_with(input, RunOptions::default()).await.map(|r| r.result)
    }

    /// Runs with typed input and options; returns output and trace ids (JS `action.run`).
    ///
    /// # Errors
    /// As [`ActionDef::run`].
    pub fn run_with(&self, input: I, opts: RunOptions<S>) -> BoxFuture<'static, Result<ActionResult<O>>> {
        let inner = self.inner.clone();
        async move {
            if inner.typed_input_check {
                inner.input_v.validate(&to_json_ref(&input)?)?;
            }
            let res = dispatch(inner.clone(), 0, input, opts, None).await?;
            if inner.typed_output_check {
                inner.output_v.validate(&to_json_ref(&res.result)?)?;
            }
            Ok(res)
        }
        .boxed()
    }

    /// Streams with typed input: chunks of `S`, then the output.
    pub fn stream(&self, input: I) -> ActionStream<S, O> {
        self.stream_with(input, RunOptions::default())
    }

    /// Streams with typed input and options.
    pub fn stream_with(&self, input: I, opts: RunOptions<S>) -> ActionStream<S, O> {
        ActionStream::new(|sink| {
            let fut = self.run_with(input, opts.on_chunk_sink(sink));
            async move { fut.await.map(|r| r.result) }
        })
    }

    /// Starts a bidirectional run (JS `streamBidi`): send inputs, read chunks, await output.
    pub fn stream_bidi(&self, opts: RunOptions<S>) -> BidiStream<I, S, O> {
        let (tx, rx) = mpsc::unbounded_channel::<I>();
        let inputs = InputStream::new(
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|i| (Ok(i), rx)) }).boxed(),
        );
        let inner = self.inner.clone();
        let stream = ActionStream::new(move |sink| async move {
            let opts = opts.on_chunk_sink(sink);
            run_core(inner, Input::Stream(inputs), opts, None).await.map(|r| r.result)
        });
        BidiStream { tx: Some(tx), stream }
    }
}

fn to_json_ref<T: Serialize>(t: &T) -> Result<Value> {
    serde_json::to_value(t)
        .map_err(|e| Error::new(Status::Internal, format!("cannot serialize value: {e}")).with_source(e))
}

fn dispatch<I, O, S>(
    inner: Arc<Inner<I, O, S>>,
    index: usize,
    input: I,
    opts: RunOptions<S>,
    input_json: Option<String>,
) -> BoxFuture<'static, Result<ActionResult<O>>>
where
    I: DeserializeOwned + Serialize + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: Serialize + Send + Sync + 'static,
{
    if index >= inner.middleware.len() {
        return run_core(inner, Input::One(input), opts, input_json).boxed();
    }
    async move {
        let m = inner.middleware[index].clone();
        // The ids of the last successful run `next` made (JS keeps the last `action.run`'s).
        let telemetry = Arc::new(std::sync::Mutex::new(None));
        let t2 = telemetry.clone();
        let next_inner = inner.clone();
        let next = Next::new(opts, move |i, o| {
            let t2 = t2.clone();
            dispatch(next_inner.clone(), index + 1, i, o, None)
                .map(move |r| {
                    r.map(|r| {
                        *t2.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(r.telemetry);
                        r.result
                    })
                })
                .boxed()
        });
        let result = m.call(input, next).await?;
        let telemetry = telemetry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .unwrap_or_else(|| crate::trace::TraceIds { trace_id: String::new(), span_id: String::new() });
        drop(input_json);
        Ok(ActionResult { result, telemetry })
    }
    .boxed()
}

enum Input<I> {
    One(I),
    Stream(InputStream<I>),
}

async fn run_core<I, O, S>(
    inner: Arc<Inner<I, O, S>>,
    input: Input<I>,
    opts: RunOptions<S>,
    input_json: Option<String>,
) -> Result<ActionResult<O>>
where
    I: DeserializeOwned + Serialize + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: Serialize + Send + Sync + 'static,
{
    let registry = inner.registry.get().and_then(WeakRegistry::upgrade);
    if inner.init_plugins
        && let Some(r) = &registry
    {
        r.initialize_all_plugins().await?;
    }
    if let Some(init) = &opts.init {
        inner.init_v.validate(init)?;
    }
    let telemetry = registry.as_ref().map_or_else(Telemetry::global, Registry::telemetry);
    let parent = Frame::current();
    let meta = &inner.meta;
    let base = registry.as_ref().map(Registry::context);
    let ambient = opts.context.as_ref().or(parent.context.as_ref());
    let context = match (ambient, base) {
        (Some(a), Some(b)) => a.merged_over(b),
        (Some(a), None) => a.clone(),
        (None, Some(b)) => b.clone(),
        (None, None) => ActionContext::default(),
    };
    let mut labels = Vec::with_capacity(3 + opts.labels.len());
    labels.push(KeyValue::new("genkit:type", "action"));
    labels.push(KeyValue::new("genkit:metadata:subtype", meta.action_type.as_str()));
    labels.push(KeyValue::new("genkit:key", opentelemetry::StringValue::from(meta.key.clone())));
    for (k, v) in &opts.labels {
        labels.push(KeyValue::new(k.clone(), v.clone()));
    }
    let span = telemetry.start(&meta.name, "action", Some(meta.action_type), labels, parent.span.as_ref());
    let ids = span.ids();
    let RunOptions { context: explicit, on_chunk, cancel, on_trace_start, init, call_metadata, .. } = opts;
    if let Some(f) = on_trace_start {
        f.fire(&ids);
    }
    let recording = span.recording();
    let mut meta_attrs = Vec::new();
    let span_input = if recording {
        meta_attrs.push(KeyValue::new("genkit:metadata:subtype", meta.action_type.as_str()));
        if let Some(c) = &explicit {
            meta_attrs.push(KeyValue::new("genkit:metadata:context", c.redacted_json()));
        }
        if let Some(i) = &init {
            // JS 1.42 records the validated `init` of bidirectional runs as `genkit:init`,
            // JSON-stringified like `input` (API keys redacted like `input`).
            meta_attrs.push(KeyValue::new("genkit:init", crate::redact::redact_secrets_in_text(i.to_string())));
        }
        match (&input, input_json) {
            (_, Some(j)) => Some(j),
            (Input::One(i), None) => serde_json::to_string(i).ok(),
            (Input::Stream(_), None) => None,
        }
    } else {
        None
    };
    let token = cancel.clone().unwrap_or_default();
    let cx = ActionCx { sink: on_chunk, context, trace: ids.clone(), cancel: token, registry, init, call_metadata };
    let frame = Frame { context: explicit.or(parent.context), span: Some(span.frame.clone()), in_runtime: true };
    let fut = match (&inner.body, input) {
        (Body::Unary(f), Input::One(i)) => f(i, cx),
        (Body::Bidi(f), Input::Stream(s)) => f(s, cx),
        (Body::Bidi(f), Input::One(i)) => f(InputStream::once(i), cx),
        (Body::Unary(f), Input::Stream(mut s)) => {
            let f = f.clone();
            async move {
                match s.next().await {
                    Some(Ok(i)) => f(i, cx).await,
                    Some(Err(e)) => Err(e),
                    None => Err(Error::invalid_argument("the input stream ended without an input")),
                }
            }
            .boxed()
        }
    };
    let res = match cancel {
        None => frame.scope(fut).await,
        Some(tok) => {
            tokio::select! {
                biased;
                r = frame.scope(fut) => r,
                () = tok.cancelled() => Err(Error::cancelled("Action was cancelled.")),
            }
        }
    };
    match res {
        Ok(o) => {
            let out = if recording { serde_json::to_string(&o).ok() } else { None };
            span.end_ok(span_input, out, meta_attrs);
            Ok(ActionResult { result: o, telemetry: ids })
        }
        Err(mut e) => {
            span.end_err(&mut e, span_input, meta_attrs);
            if e.trace_id().is_none() {
                e = e.with_trace_id(ids.trace_id);
            }
            Err(e)
        }
    }
}

impl<I, O, S> Action for ActionDef<I, O, S>
where
    I: DeserializeOwned + Serialize + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: Serialize + Send + Sync + 'static,
{
    fn metadata(&self) -> &ActionMetadata {
        &self.inner.meta
    }

    fn run_json(&self, input: Value, opts: RunOptions<Value>) -> BoxFuture<'static, Result<ActionResult<Value>>> {
        let inner = self.inner.clone();
        async move {
            inner.input_v.validate(&input)?;
            let span_input =
                if inner.middleware.is_empty() && recording_for(&inner) { Some(input.to_string()) } else { None };
            let typed: I = from_json(input, "input")?;
            let sink = opts.on_chunk.map(|s: S| to_json(s).ok());
            let opts = opts.with_sink(sink);
            let res = dispatch(inner.clone(), 0, typed, opts, span_input).await?;
            let out = to_json(res.result)?;
            inner.output_v.validate(&out)?;
            Ok(ActionResult { result: out, telemetry: res.telemetry })
        }
        .boxed()
    }

    fn run_bidi_json(
        &self,
        inputs: BoxStream<'static, Value>,
        opts: RunOptions<Value>,
    ) -> BoxFuture<'static, Result<ActionResult<Value>>> {
        let inner = self.inner.clone();
        async move {
            let v = inner.clone();
            let typed = InputStream::new(
                inputs
                    .map(move |item| {
                        v.input_v.validate(&item)?;
                        from_json::<I>(item, "input")
                    })
                    .boxed(),
            );
            let sink = opts.on_chunk.map(|s: S| to_json(s).ok());
            let opts = opts.with_sink(sink);
            let res = run_core(inner.clone(), Input::Stream(typed), opts, None).await?;
            let out = to_json(res.result)?;
            inner.output_v.validate(&out)?;
            Ok(ActionResult { result: out, telemetry: res.telemetry })
        }
        .boxed()
    }

    fn renamed(&self, name: &str) -> Option<Arc<dyn Action>> {
        Some(Arc::new(ActionDef { inner: Arc::new(self.inner.clone_renamed(name)) }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn set_registry(&self, registry: &Registry) {
        self.attach_registry(registry);
    }
}

fn recording_for<I, O, S>(inner: &Inner<I, O, S>) -> bool {
    inner
        .registry
        .get()
        .and_then(WeakRegistry::upgrade)
        .map_or_else(|| Telemetry::global().is_recording(), |r| r.telemetry().is_recording())
}

/// The input stream of a bidirectional action: yields each input (or its validation error).
pub struct InputStream<I> {
    inner: BoxStream<'static, Result<I>>,
}

impl<I> fmt::Debug for InputStream<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InputStream")
    }
}

impl<I: Send + 'static> InputStream<I> {
    /// Wraps a stream of inputs.
    pub fn new(inner: BoxStream<'static, Result<I>>) -> Self {
        InputStream { inner }
    }

    /// A stream of one input (what a unary call of a bidirectional action sees).
    pub fn once(i: I) -> Self {
        InputStream { inner: futures::stream::once(async move { Ok(i) }).boxed() }
    }
}

impl<I> Stream for InputStream<I> {
    type Item = Result<I>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// A running bidirectional call: [`BidiStream::send`] inputs, [`BidiStream::close`] the input
/// side, read chunks as a [`Stream`], then [`BidiStream::output`].
pub struct BidiStream<I, S, O> {
    tx: Option<mpsc::UnboundedSender<I>>,
    stream: ActionStream<S, O>,
}

impl<I, S, O> fmt::Debug for BidiStream<I, S, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BidiStream").field("open", &self.tx.is_some()).finish()
    }
}

impl<I, S: Send + 'static, O: Send + 'static> BidiStream<I, S, O> {
    /// Sends one input.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` after [`BidiStream::close`] or once the action has finished.
    pub fn send(&self, input: I) -> Result<()> {
        let closed = || Error::new(Status::FailedPrecondition, "the input stream is closed");
        self.tx.as_ref().ok_or_else(closed)?.send(input).map_err(|_| closed())
    }

    /// Ends the input stream.
    pub fn close(&mut self) {
        self.tx = None;
    }

    /// Closes the input side and awaits the output.
    ///
    /// # Errors
    /// The action's error.
    pub async fn output(mut self) -> Result<O> {
        self.tx = None;
        self.stream.output().await
    }
}

impl<I, S, O: Send> Stream for BidiStream<I, S, O> {
    type Item = Result<S>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.stream).poll_next(cx)
    }
}

impl<I, S, O> Unpin for BidiStream<I, S, O> {}
