//! Trace export to the Genkit telemetry server (`POST {telemetry}/api/traces`, `TraceData`
//! JSON), the way the JS runtime does it in dev mode: each span once when it ends, and also
//! when it starts (with `endTime: 0`) when realtime telemetry is on.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, Status as OtelStatus};
use opentelemetry::{Array, KeyValue, Value as OtelValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

/// How long [`TraceExporter::flush`] waits for pending exports.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

enum Msg {
    Post { url: Arc<str>, body: Vec<u8> },
    Flush(oneshot::Sender<()>),
}

struct Inner {
    /// Telemetry server base URL (no trailing slash).
    url: RwLock<Option<Arc<str>>>,
    /// Set from `GENKIT_TELEMETRY_SERVER`: later notifications do not change it.
    pinned: bool,
    realtime: bool,
    tx: mpsc::UnboundedSender<Msg>,
}

/// Exports Genkit spans to a Genkit telemetry server. Cheap to clone; attach a clone to a
/// registry's telemetry with [`Telemetry::add_span_processor`](genkit_core::Telemetry::add_span_processor).
///
/// Posts go out in order from one background task, so a span's start snapshot always
/// precedes its end; [`TraceExporter::flush`] waits until everything queued so far is sent.
#[derive(Clone)]
pub struct TraceExporter(Arc<Inner>);

impl std::fmt::Debug for TraceExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceExporter")
            .field("url", &self.url())
            .field("pinned", &self.0.pinned)
            .field("realtime", &self.0.realtime)
            .finish()
    }
}

impl TraceExporter {
    /// An exporter configured from the environment: the URL from `GENKIT_TELEMETRY_SERVER`
    /// (which then wins over [`set_url`](Self::set_url)), realtime start snapshots when
    /// `GENKIT_ENABLE_REALTIME_TELEMETRY=true`. Must be called inside a tokio runtime.
    pub fn from_env() -> TraceExporter {
        let url = std::env::var("GENKIT_TELEMETRY_SERVER").ok().filter(|u| !u.is_empty());
        let realtime = std::env::var("GENKIT_ENABLE_REALTIME_TELEMETRY").is_ok_and(|v| v == "true");
        TraceExporter::new(url.as_deref(), url.is_some(), realtime)
    }

    /// An exporter posting to `url` (if any). `pinned` makes [`set_url`](Self::set_url) a
    /// no-op; `realtime` also exports spans when they start. Must be called inside a tokio
    /// runtime (it spawns the posting task).
    pub fn new(url: Option<&str>, pinned: bool, realtime: bool) -> TraceExporter {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(post_loop(rx));
        TraceExporter(Arc::new(Inner {
            url: RwLock::new(url.map(|u| Arc::from(u.trim_end_matches('/')))),
            pinned,
            realtime,
            tx,
        }))
    }

    /// The telemetry server URL spans go to, if known.
    pub fn url(&self) -> Option<String> {
        self.0.url.read().unwrap_or_else(|e| e.into_inner()).as_deref().map(str::to_owned)
    }

    /// Switches export to `url` (from `/api/notify` or a v2 `register` answer), unless the
    /// URL came from `GENKIT_TELEMETRY_SERVER`. Returns whether it changed.
    pub fn set_url(&self, url: &str) -> bool {
        if self.0.pinned {
            return false;
        }
        let mut cur = self.0.url.write().unwrap_or_else(|e| e.into_inner());
        *cur = Some(Arc::from(url.trim_end_matches('/')));
        true
    }

    /// Whether spans are also exported when they start.
    pub fn is_realtime(&self) -> bool {
        self.0.realtime
    }

    /// Waits until every span queued so far has been posted (JS `flushTracing`), at most
    /// ten seconds.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.0.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = tokio::time::timeout(FLUSH_TIMEOUT, rx).await;
        }
    }

    fn enqueue(&self, data: &SpanData, running: bool) {
        let Some(url) = self.0.url.read().unwrap_or_else(|e| e.into_inner()).clone() else {
            return;
        };
        let body = trace_data(data, running);
        match serde_json::to_vec(&body) {
            Ok(body) => {
                let _ = self.0.tx.send(Msg::Post { url, body });
            }
            Err(e) => tracing::warn!("cannot serialize a span for the Genkit telemetry server: {e}"),
        }
    }
}

async fn post_loop(mut rx: mpsc::UnboundedReceiver<Msg>) {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("trace export disabled: cannot build an HTTP client: {e}");
            return;
        }
    };
    let mut warned = false;
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Flush(done) => {
                let _ = done.send(());
            }
            Msg::Post { url, body } => {
                let res = client
                    .post(format!("{url}/api/traces"))
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => warned = false,
                    Ok(r) => {
                        tracing::warn!("the Genkit telemetry server at {url} refused a trace: HTTP {}", r.status());
                    }
                    Err(e) if !warned => {
                        warned = true;
                        tracing::warn!("cannot export traces to the Genkit telemetry server at {url}: {e}");
                    }
                    Err(_) => {}
                }
            }
        }
    }
}

impl SpanProcessor for TraceExporter {
    fn on_start(&self, span: &mut Span, _cx: &opentelemetry::Context) {
        if self.0.realtime
            && let Some(data) = span.exported_data()
        {
            self.enqueue(&data, true);
        }
    }

    fn on_end(&self, span: SpanData) {
        self.enqueue(&span, false);
    }

    fn force_flush(&self) -> OTelSdkResult {
        // Posting is asynchronous; `TraceExporter::flush` is the awaitable flush.
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

fn millis(t: SystemTime) -> Value {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let ms = d.as_secs_f64() * 1000.0;
    if d.subsec_nanos().is_multiple_of(1_000_000) { json!(d.as_millis()) } else { json!(ms) }
}

fn otel_value(v: &OtelValue) -> Value {
    match v {
        OtelValue::Bool(b) => json!(b),
        OtelValue::I64(i) => json!(i),
        OtelValue::F64(f) => json!(f),
        OtelValue::String(s) => json!(s.as_str()),
        OtelValue::Array(a) => match a {
            Array::Bool(v) => json!(v),
            Array::I64(v) => json!(v),
            Array::F64(v) => json!(v),
            Array::String(v) => Value::Array(v.iter().map(|s| json!(s.as_str())).collect()),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

fn attributes<'a>(kvs: impl IntoIterator<Item = &'a KeyValue>) -> Map<String, Value> {
    kvs.into_iter().map(|kv| (kv.key.as_str().to_owned(), otel_value(&kv.value))).collect()
}

/// The `SpanData` JSON of one span (`running`: a start snapshot with `endTime: 0`).
pub(crate) fn span_json(s: &SpanData, running: bool) -> Value {
    let mut m = Map::with_capacity(14);
    m.insert("spanId".into(), json!(s.span_context.span_id().to_string()));
    m.insert("traceId".into(), json!(s.span_context.trace_id().to_string()));
    if s.parent_span_id != SpanId::INVALID {
        m.insert("parentSpanId".into(), json!(s.parent_span_id.to_string()));
    }
    m.insert("startTime".into(), millis(s.start_time));
    m.insert("endTime".into(), if running { json!(0) } else { millis(s.end_time) });
    m.insert("attributes".into(), Value::Object(attributes(&s.attributes)));
    m.insert("displayName".into(), json!(s.name));
    m.insert("links".into(), json!([]));
    m.insert("spanKind".into(), json!("INTERNAL"));
    m.insert("sameProcessAsParentSpan".into(), json!({"value": !s.parent_span_is_remote}));
    let status = match &s.status {
        OtelStatus::Error { description } if !running => json!({"code": 2, "message": description}),
        _ => json!({"code": 0}),
    };
    m.insert("status".into(), status);
    let events: Vec<Value> = if running {
        Vec::new()
    } else {
        s.events
            .iter()
            .map(|e| {
                json!({
                    "time": millis(e.timestamp),
                    "annotation": {"attributes": attributes(&e.attributes), "description": e.name},
                })
            })
            .collect()
    };
    m.insert("timeEvents".into(), json!({"timeEvent": events}));
    let scope = &s.instrumentation_scope;
    let mut lib = Map::new();
    lib.insert("name".into(), json!(scope.name()));
    if let Some(v) = scope.version() {
        lib.insert("version".into(), json!(v));
    }
    m.insert("instrumentationLibrary".into(), Value::Object(lib));
    Value::Object(m)
}

/// The `TraceData` JSON that posts one span to the telemetry server (`running`: a start
/// snapshot with `endTime: 0`). Trace-level fields are set only for a root span.
pub fn trace_data(s: &SpanData, running: bool) -> Value {
    let span = span_json(s, running);
    let mut m = Map::with_capacity(5);
    m.insert("traceId".into(), json!(s.span_context.trace_id().to_string()));
    if s.parent_span_id == SpanId::INVALID {
        m.insert("displayName".into(), json!(s.name));
        m.insert("startTime".into(), span["startTime"].clone());
        m.insert("endTime".into(), span["endTime"].clone());
    }
    let mut spans = Map::with_capacity(1);
    spans.insert(s.span_context.span_id().to_string(), span);
    m.insert("spans".into(), Value::Object(spans));
    Value::Object(m)
}
