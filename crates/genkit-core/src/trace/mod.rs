//! Tracing: every action run opens an OpenTelemetry span carrying the `genkit:*`
//! attributes the JS runtime sets (`genkit:type`, `genkit:name`, `genkit:path`, `genkit:input`,
//! `genkit:output`, `genkit:state`, …, which the Dev UI reads), and `run` sub-steps
//! open `flowStep` spans.
//!
//! Spans are created by an `opentelemetry_sdk` tracer owned by each [`Telemetry`]. Exporters
//! plug in as OpenTelemetry [`SpanProcessor`]s with [`Telemetry::add_span_processor`], at
//! any time (the Dev UI exporter attaches once the CLI tells the runtime where its telemetry
//! server is). While no processor is attached, spans still get ids (returned to callers) but
//! no attributes are serialized, so tracing costs almost nothing.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use opentelemetry::trace::{SpanContext, SpanKind, Status as OtelStatus, TraceContextExt, Tracer as _};
use opentelemetry::{Context as OtelContext, KeyValue, StringValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, Span, SpanData, SpanProcessor};
use serde::{Deserialize, Serialize};

use crate::context::Frame;
use crate::{ActionType, Error, Result};

pub use opentelemetry::trace::{SpanId, TraceId};

/// Name of the OpenTelemetry tracer (instrumentation scope) Genkit spans are created with.
pub const TRACER_NAME: &str = "genkit-tracer";
/// Version of the tracer.
pub const TRACER_VERSION: &str = "v1";

/// Trace and span ids of an action run, as lowercase hex (`{traceId, spanId}` on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceIds {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
}

impl TraceIds {
    fn from_context(sc: &SpanContext) -> TraceIds {
        TraceIds { trace_id: sc.trace_id().to_string(), span_id: sc.span_id().to_string() }
    }
}

/// The span a running action or step leaves for its children.
#[derive(Clone)]
pub(crate) struct SpanFrame {
    pub(crate) telemetry: Arc<Telemetry>,
    pub(crate) otel: OtelContext,
    pub(crate) path: Arc<str>,
}

/// Fans spans out to the processors attached at run time.
#[derive(Debug, Default)]
struct Fanout {
    processors: RwLock<Vec<Arc<dyn SpanProcessor>>>,
    active: AtomicBool,
}

impl Fanout {
    fn each(&self, mut f: impl FnMut(&dyn SpanProcessor)) {
        let ps = self.processors.read().unwrap_or_else(|e| e.into_inner());
        for p in ps.iter() {
            f(p.as_ref());
        }
    }
}

#[derive(Debug)]
struct FanoutProcessor(Arc<Fanout>);

impl SpanProcessor for FanoutProcessor {
    fn on_start(&self, span: &mut Span, cx: &OtelContext) {
        if self.0.active.load(Ordering::Acquire) {
            let ps = self.0.processors.read().unwrap_or_else(|e| e.into_inner());
            for p in ps.iter() {
                p.on_start(span, cx);
            }
        }
    }

    fn on_end(&self, span: SpanData) {
        if !self.0.active.load(Ordering::Acquire) {
            return;
        }
        let ps = self.0.processors.read().unwrap_or_else(|e| e.into_inner());
        if let [only] = ps.as_slice() {
            only.on_end(span);
        } else {
            for p in ps.iter() {
                p.on_end(span.clone());
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut res = Ok(());
        self.0.each(|p| {
            if let Err(e) = p.force_flush() {
                res = Err(e);
            }
        });
        res
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.each(|p| {
            let _ = p.shutdown_with_timeout(timeout);
        });
        Ok(())
    }
}

/// A Genkit instance's tracer and its attached span processors (the exporter seam).
pub struct Telemetry {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    fanout: Arc<Fanout>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").field("recording", &self.is_recording()).finish()
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry::new()
    }
}

impl Telemetry {
    /// A tracer with no processors attached.
    pub fn new() -> Telemetry {
        let fanout = Arc::new(Fanout::default());
        let provider = SdkTracerProvider::builder().with_span_processor(FanoutProcessor(fanout.clone())).build();
        let scope = opentelemetry::InstrumentationScope::builder(TRACER_NAME).with_version(TRACER_VERSION).build();
        let tracer = opentelemetry::trace::TracerProvider::tracer_with_scope(&provider, scope);
        Telemetry { provider, tracer, fanout }
    }

    /// The process-wide telemetry used by actions that were never registered.
    pub fn global() -> Arc<Telemetry> {
        static GLOBAL: OnceLock<Arc<Telemetry>> = OnceLock::new();
        GLOBAL.get_or_init(|| Arc::new(Telemetry::new())).clone()
    }

    /// Attaches a span processor (an exporter). Spans ending after this call reach it.
    ///
    /// ```
    /// use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};
    /// let t = genkit_core::Telemetry::new();
    /// t.add_span_processor(SimpleSpanProcessor::new(InMemorySpanExporter::default()));
    /// assert!(t.is_recording());
    /// ```
    pub fn add_span_processor(&self, processor: impl SpanProcessor + 'static) {
        let mut ps = self.fanout.processors.write().unwrap_or_else(|e| e.into_inner());
        ps.push(Arc::new(processor));
        self.fanout.active.store(true, Ordering::Release);
    }

    /// Whether any processor is attached (attributes are only serialized then).
    pub fn is_recording(&self) -> bool {
        self.fanout.active.load(Ordering::Acquire)
    }

    /// Flushes every attached processor (JS `flushTracing`).
    ///
    /// # Errors
    /// `INTERNAL` when a processor fails to flush.
    pub fn flush(&self) -> Result<()> {
        self.provider
            .force_flush()
            .map_err(|e| Error::new(crate::Status::Internal, format!("flushing spans failed: {e}")))
    }

    /// Starts a span (as root when `parent` is `None`). `labels` are the start-time attributes.
    pub(crate) fn start(
        self: &Arc<Self>,
        name: &Arc<str>,
        span_type: &'static str,
        subtype: Option<ActionType>,
        labels: Vec<KeyValue>,
        parent: Option<&SpanFrame>,
    ) -> ActiveSpan {
        let parent_cx = parent.map_or_else(OtelContext::new, |p| p.otel.clone());
        let span = self
            .tracer
            .span_builder(Cow::Owned(name.to_string()))
            .with_kind(SpanKind::Internal)
            .with_attributes(labels)
            .start_with_context(&self.tracer, &parent_cx);
        let otel = parent_cx.with_span(span);
        let t = match subtype {
            Some(ActionType::Flow) => "flow",
            _ => span_type,
        };
        let recording = self.is_recording();
        // The path only ends up in attributes, so it is built only while spans are recorded.
        let path: Arc<str> = if recording {
            let parent_path = parent.map_or("", |p| &p.path);
            format!("{parent_path}/{{{name},t:{t}}}").into()
        } else {
            static EMPTY: OnceLock<Arc<str>> = OnceLock::new();
            EMPTY.get_or_init(|| Arc::from("")).clone()
        };
        ActiveSpan {
            frame: SpanFrame { telemetry: self.clone(), otel, path },
            is_root: parent.is_none(),
            subtype,
            name: name.clone(),
            recording,
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        let _ = self.provider.force_flush();
    }
}

/// Trace and span ids of the innermost span running on this task (an action run, a `run`
/// step or a [`run_span`]), if any.
pub fn current_trace_ids() -> Option<TraceIds> {
    Frame::current().span.as_ref().map(|f| TraceIds::from_context(f.otel.span().span_context()))
}

/// A started span; ends with [`ActiveSpan::end_ok`] or [`ActiveSpan::end_err`].
pub(crate) struct ActiveSpan {
    pub(crate) frame: SpanFrame,
    is_root: bool,
    subtype: Option<ActionType>,
    name: Arc<str>,
    recording: bool,
}

impl ActiveSpan {
    pub(crate) fn ids(&self) -> TraceIds {
        TraceIds::from_context(self.frame.otel.span().span_context())
    }

    pub(crate) fn recording(&self) -> bool {
        self.recording
    }

    fn end_attrs(
        &self,
        state: &'static str,
        input: Option<String>,
        output: Option<String>,
        meta: Vec<KeyValue>,
    ) -> Vec<KeyValue> {
        let mut path = self.frame.path.to_string();
        if !self.is_root
            && let Some(st) = self.subtype
        {
            path.pop();
            path.push_str(",s:");
            path.push_str(st.as_str());
            path.push('}');
        }
        let mut attrs = Vec::with_capacity(8 + meta.len());
        attrs.push(KeyValue::new("genkit:name", StringValue::from(self.name.clone())));
        if self.is_root {
            attrs.push(KeyValue::new("genkit:isRoot", true));
        }
        attrs.push(KeyValue::new("genkit:path", path));
        if let Some(i) = input {
            attrs.push(KeyValue::new("genkit:input", crate::redact::redact_secrets_in_text(i)));
        }
        if let Some(o) = output {
            attrs.push(KeyValue::new("genkit:output", crate::redact::redact_secrets_in_text(o)));
        }
        attrs.push(KeyValue::new("genkit:state", state));
        attrs.extend(meta);
        attrs
    }

    /// Ends the span successfully.
    pub(crate) fn end_ok(self, input: Option<String>, output: Option<String>, meta: Vec<KeyValue>) {
        if !self.recording {
            self.frame.otel.span().end();
            return;
        }
        let attrs = self.end_attrs("success", input, output, meta);
        let span = self.frame.otel.span();
        span.set_attributes(attrs);
        span.end();
    }

    /// Ends the span with an error; marks it as the failure source if no inner span was.
    pub(crate) fn end_err(self, err: &mut Error, input: Option<String>, meta: Vec<KeyValue>) {
        let first = err.mark_failure_source();
        let span = self.frame.otel.span();
        if self.recording {
            let msg = err.to_string();
            let mut attrs = self.end_attrs("error", input, None, meta);
            if first {
                attrs.push(KeyValue::new("genkit:isFailureSource", true));
            }
            span.set_attributes(attrs);
            span.add_event(
                "exception",
                vec![KeyValue::new("exception.type", "GenkitError"), KeyValue::new("exception.message", msg.clone())],
            );
            span.set_status(OtelStatus::error(msg));
        } else {
            span.set_status(OtelStatus::error(""));
        }
        span.end();
    }
}

/// Runs `fut` as a named step (JS `ai.run(name, fn)`): a span of type `flowStep` with the
/// step's output (and `input`, if given) recorded as JSON. Inside an action the span is a
/// child of the current span; outside any action it is a root span (`genkit:isRoot`), as in
/// JS, on the process-wide [`Telemetry::global`] (use [`run_span`] with type `flowStep` to
/// pick the telemetry of a Genkit instance instead).
///
/// ```no_run
/// # async fn demo() -> genkit_core::Result<()> {
/// let n = genkit_core::run("count", None, async { Ok::<_, genkit_core::Error>(3) }).await?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// Whatever `fut` returns.
pub async fn run<T, F>(name: &str, input: Option<&serde_json::Value>, fut: F) -> Result<T>
where
    T: Serialize,
    F: std::future::Future<Output = Result<T>>,
{
    run_span(&Telemetry::global(), name, "flowStep", || input.map(serde_json::Value::to_string), fut).await
}

/// Runs `fut` in a span named `name` of type `span_type` (JS `runInNewSpan`; `generate`
/// uses type `util`): a child of the current span, or a root span on `telemetry` outside any
/// action. `input` is called only when spans are recorded; the output is recorded as JSON.
///
/// # Errors
/// Whatever `fut` returns.
pub async fn run_span<T, F>(
    telemetry: &Arc<Telemetry>,
    name: &str,
    span_type: &'static str,
    input: impl FnOnce() -> Option<String>,
    fut: F,
) -> Result<T>
where
    T: Serialize,
    F: std::future::Future<Output = Result<T>>,
{
    run_span_with_metadata(telemetry, name, span_type, &[], input, fut).await
}

/// Like [`run_span`], and records each `(key, value)` of `metadata` as the span attribute
/// `genkit:metadata:<key>` (JS `runInNewSpan({metadata: {metadata: {...}}})`, e.g. the
/// `promptName` of a prompt's `render` span).
///
/// # Errors
/// Whatever `fut` returns.
pub async fn run_span_with_metadata<T, F>(
    telemetry: &Arc<Telemetry>,
    name: &str,
    span_type: &'static str,
    metadata: &[(&str, &str)],
    input: impl FnOnce() -> Option<String>,
    fut: F,
) -> Result<T>
where
    T: Serialize,
    F: std::future::Future<Output = Result<T>>,
{
    run_span_inner(telemetry, name, span_type, &[], metadata, input, fut).await
}

/// Like [`run_span`], and sets each `(key, value)` of `labels` as a span attribute as it is
/// (JS `runInNewSpan({labels})`, e.g. `genkit:sessionId` on a chat's `send` span).
///
/// # Errors
/// Whatever `fut` returns.
pub async fn run_span_with_labels<T, F>(
    telemetry: &Arc<Telemetry>,
    name: &str,
    span_type: &'static str,
    labels: &[(&str, &str)],
    input: impl FnOnce() -> Option<String>,
    fut: F,
) -> Result<T>
where
    T: Serialize,
    F: std::future::Future<Output = Result<T>>,
{
    run_span_inner(telemetry, name, span_type, labels, &[], input, fut).await
}

async fn run_span_inner<T, F>(
    telemetry: &Arc<Telemetry>,
    name: &str,
    span_type: &'static str,
    labels: &[(&str, &str)],
    metadata: &[(&str, &str)],
    input: impl FnOnce() -> Option<String>,
    fut: F,
) -> Result<T>
where
    T: Serialize,
    F: std::future::Future<Output = Result<T>>,
{
    let frame = Frame::current();
    let name: Arc<str> = name.into();
    let tel = frame.span.as_ref().map_or_else(|| telemetry.clone(), |p| p.telemetry.clone());
    let mut start_attrs = Vec::with_capacity(1 + labels.len());
    start_attrs.push(KeyValue::new("genkit:type", span_type));
    start_attrs.extend(labels.iter().map(|(k, v)| KeyValue::new((*k).to_owned(), (*v).to_owned())));
    let span = tel.start(&name, span_type, None, start_attrs, frame.span.as_ref());
    let recording = span.recording();
    let input = if recording { input() } else { None };
    let meta = || -> Vec<KeyValue> {
        if !recording {
            return Vec::new();
        }
        metadata.iter().map(|(k, v)| KeyValue::new(format!("genkit:metadata:{k}"), (*v).to_owned())).collect()
    };
    let mut child = frame;
    child.span = Some(span.frame.clone());
    match child.scope(fut).await {
        Ok(v) => {
            let o = if recording { serde_json::to_string(&v).ok() } else { None };
            span.end_ok(input, o, meta());
            Ok(v)
        }
        Err(mut e) => {
            span.end_err(&mut e, input, meta());
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests;
