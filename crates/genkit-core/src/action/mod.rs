//! Actions: the unit everything in Genkit is made of.
//!
//! The registry stores type-erased, JSON-speaking [`Action`]s (`Arc<dyn Action>`). Typed code
//! holds an [`ActionDef<I, O, S>`], which is also an `Action` and offers a typed fast path that
//! skips the JSON round trip.

mod def;
mod middleware;

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::streaming::{ActionStream, StreamSink};
use crate::trace::TraceIds;
use crate::{ActionContext, ActionMetadata, Registry, Result};

pub use def::{ActionBuilder, ActionDef, BidiStream, InputStream};
pub use middleware::{ActionMiddleware, Next};

/// A type-erased action, as stored in the registry. JSON in, JSON out.
///
/// Implemented by [`ActionDef`]; implement it yourself only to wrap another action.
pub trait Action: Send + Sync + 'static {
    /// The action's metadata (type, key, name, schemas).
    fn metadata(&self) -> &ActionMetadata;

    /// Runs the action with JSON input (JS `action.run`): validates input, opens a span,
    /// runs, validates output, and returns the result with its trace ids.
    fn run_json(&self, input: Value, opts: RunOptions<Value>) -> BoxFuture<'static, Result<ActionResult<Value>>>;

    /// Runs the action as a bidirectional action: `inputs` is its input stream. Unary
    /// actions run once on the first input.
    fn run_bidi_json(
        &self,
        inputs: BoxStream<'static, Value>,
        opts: RunOptions<Value>,
    ) -> BoxFuture<'static, Result<ActionResult<Value>>>;

    /// A copy of this action under another name (used to namespace plugin actions).
    /// `None` when the action cannot be renamed.
    fn renamed(&self, name: &str) -> Option<Arc<dyn Action>>;

    /// Lets typed handles downcast to their concrete type for the typed fast path.
    fn as_any(&self) -> &dyn Any;

    /// Called by the registry on registration, so the action can reach it while running
    /// (registry context, plugin initialization). The default ignores it.
    fn set_registry(&self, registry: &Registry) {
        let _ = registry;
    }
}

pub(crate) fn attach_registry_dyn(action: &dyn Action, registry: &Registry) {
    action.set_registry(registry);
}

impl fmt::Debug for dyn Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Action").field("key", &self.metadata().key).finish()
    }
}

impl dyn Action {
    /// The registry key `/<type>/<name>`.
    pub fn key(&self) -> &str {
        &self.metadata().key
    }

    /// The action name.
    pub fn name(&self) -> &str {
        &self.metadata().name
    }

    /// Streams the action with JSON input (JS `action.stream`).
    pub fn stream_json(&self, input: Value, opts: RunOptions<Value>) -> ActionStream<Value, Value> {
        ActionStream::new(|sink| {
            let fut = self.run_json(input, opts.on_chunk_sink(sink));
            async move { fut.await.map(|r| r.result) }
        })
    }
}

/// The result of [`Action::run_json`] and typed `run_with` calls: output plus trace ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionResult<O> {
    /// The action's output.
    pub result: O,
    /// Trace and span ids of the run.
    pub telemetry: TraceIds,
}

type TraceStartFn = Box<dyn FnOnce(&TraceIds) + Send>;

/// The `on_trace_start` callback, shared by clones of the options: it fires once, for the
/// first run that starts a span.
#[derive(Clone)]
pub(crate) struct TraceStart(Arc<std::sync::Mutex<Option<TraceStartFn>>>);

impl TraceStart {
    fn new(f: TraceStartFn) -> Self {
        TraceStart(Arc::new(std::sync::Mutex::new(Some(f))))
    }

    /// Calls the callback unless a clone already did.
    pub(crate) fn fire(&self, ids: &TraceIds) {
        let f = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(f) = f {
            f(ids);
        }
    }
}

/// Options of one action run (JS `ActionRunOptions`). `S` is the chunk type.
///
/// Cloning is cheap (the callbacks are shared), so an [`ActionMiddleware`] can call `next`
/// more than once, e.g. to retry. Clones share the chunk sink, the cancellation token and the
/// [`RunOptions::on_trace_start`] callback, which fires only for the first run.
pub struct RunOptions<S = Value> {
    pub(crate) context: Option<ActionContext>,
    pub(crate) on_chunk: StreamSink<S>,
    pub(crate) cancel: Option<CancellationToken>,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) on_trace_start: Option<TraceStart>,
    pub(crate) init: Option<Value>,
    pub(crate) call_metadata: Option<Value>,
}

impl<S> Clone for RunOptions<S> {
    fn clone(&self) -> Self {
        RunOptions {
            context: self.context.clone(),
            on_chunk: self.on_chunk.clone(),
            cancel: self.cancel.clone(),
            labels: self.labels.clone(),
            on_trace_start: self.on_trace_start.clone(),
            init: self.init.clone(),
            call_metadata: self.call_metadata.clone(),
        }
    }
}

impl<S> Default for RunOptions<S> {
    fn default() -> Self {
        RunOptions {
            context: None,
            on_chunk: StreamSink::default(),
            cancel: None,
            labels: Vec::new(),
            on_trace_start: None,
            init: None,
            call_metadata: None,
        }
    }
}

impl<S> fmt::Debug for RunOptions<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunOptions")
            .field("context", &self.context.is_some())
            .field("streaming", &self.on_chunk)
            .field("labels", &self.labels)
            .finish()
    }
}

impl<S: 'static> RunOptions<S> {
    /// Default options.
    pub fn new() -> Self {
        RunOptions::default()
    }

    /// Runs with this context (wins over the ambient context; merged over the registry's).
    #[must_use]
    pub fn context(mut self, context: ActionContext) -> Self {
        self.context = Some(context);
        self
    }

    /// Receives streamed chunks; sets `streaming_requested`.
    #[must_use]
    pub fn on_chunk(mut self, f: impl Fn(S) + Send + Sync + 'static) -> Self {
        self.on_chunk = StreamSink::new(f);
        self
    }

    /// Receives streamed chunks through an existing sink.
    #[must_use]
    pub fn on_chunk_sink(mut self, sink: StreamSink<S>) -> Self {
        self.on_chunk = sink;
        self
    }

    /// Cancels the run when the token fires (JS `abortSignal`): the action sees the token in
    /// [`ActionCx::cancellation`], and the run ends with `CANCELLED` if still going.
    #[must_use]
    pub fn cancellation(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Adds a telemetry label (a start-time span attribute, e.g. `batchRun`).
    #[must_use]
    pub fn telemetry_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }

    /// Called once with the trace ids as soon as the span starts (for the first run only
    /// when the options are cloned, e.g. by a retrying middleware).
    #[must_use]
    pub fn on_trace_start(mut self, f: impl FnOnce(&TraceIds) + Send + 'static) -> Self {
        self.on_trace_start = Some(TraceStart::new(Box::new(f)));
        self
    }

    /// The `init` value of a bidirectional run.
    #[must_use]
    pub fn init(mut self, init: Value) -> Self {
        self.init = Some(init);
        self
    }

    /// Per-call metadata the caller hands to the action (the generate loop passes the
    /// triggering tool request's metadata to tools this way); read it with
    /// [`ActionCx::call_metadata`].
    #[must_use]
    pub fn call_metadata(mut self, metadata: Value) -> Self {
        self.call_metadata = Some(metadata);
        self
    }

    pub(crate) fn with_sink<T>(self, on_chunk: StreamSink<T>) -> RunOptions<T> {
        RunOptions {
            context: self.context,
            on_chunk,
            cancel: self.cancel,
            labels: self.labels,
            on_trace_start: self.on_trace_start,
            init: self.init,
            call_metadata: self.call_metadata,
        }
    }
}

/// What an action function receives besides its input (JS `ActionFnArg`).
pub struct ActionCx<S = Value> {
    pub(crate) sink: StreamSink<S>,
    pub(crate) context: ActionContext,
    pub(crate) trace: TraceIds,
    pub(crate) cancel: CancellationToken,
    pub(crate) registry: Option<Registry>,
    pub(crate) init: Option<Value>,
    pub(crate) call_metadata: Option<Value>,
}

/// A copy for work the action fans out (an evaluator scoring its data points concurrently):
/// the same sink, context, trace ids, cancellation token and registry.
impl<S> Clone for ActionCx<S> {
    fn clone(&self) -> Self {
        ActionCx {
            sink: self.sink.clone(),
            context: self.context.clone(),
            trace: self.trace.clone(),
            cancel: self.cancel.clone(),
            registry: self.registry.clone(),
            init: self.init.clone(),
            call_metadata: self.call_metadata.clone(),
        }
    }
}

impl<S> fmt::Debug for ActionCx<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionCx").field("streaming_requested", &self.sink).field("trace", &self.trace).finish()
    }
}

impl<S: 'static> ActionCx<S> {
    /// Whether the caller asked for streaming.
    pub fn streaming_requested(&self) -> bool {
        self.sink.is_active()
    }

    /// Sends one chunk to the caller (a no-op when not streaming).
    pub fn send_chunk(&self, chunk: S) {
        self.sink.send(chunk);
    }

    /// The sink chunks go to; clone it into spawned tasks.
    pub fn sink(&self) -> &StreamSink<S> {
        &self.sink
    }

    /// The effective context: registry context merged under explicit or ambient context.
    pub fn context(&self) -> &ActionContext {
        &self.context
    }

    /// Trace and span ids of this run.
    pub fn trace(&self) -> &TraceIds {
        &self.trace
    }

    /// Fires when the caller cancels (JS `abortSignal`).
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// The registry the action is registered in, if any.
    pub fn registry(&self) -> Option<&Registry> {
        self.registry.as_ref()
    }

    /// The validated `init` value of a bidirectional run.
    pub fn init(&self) -> Option<&Value> {
        self.init.as_ref()
    }

    /// The per-call metadata given with [`RunOptions::call_metadata`].
    pub fn call_metadata(&self) -> Option<&Value> {
        self.call_metadata.as_ref()
    }
}

#[cfg(test)]
mod tests;
