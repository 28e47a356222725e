//! What both reflection transports share: running an action for the tools (early trace ids,
//! chunks, cancellation by trace id, the final envelope) and listing actions and values.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use genkit_core::{Action, ActionContext, ActionResult, Error, Registry, RunOptions, Status, TraceIds};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::exporter::TraceExporter;

/// The body of `POST /api/runAction` and the params of v2 `runAction`. Unknown fields (the
/// CLI forwards `runtimeId` and more) are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunActionRequest {
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) input: Option<Value>,
    #[serde(default)]
    pub(crate) context: Option<Value>,
    #[serde(default)]
    pub(crate) telemetry_labels: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub(crate) stream: bool,
    /// The `init` of a bidirectional run (an agent's `AgentInit`).
    #[serde(default)]
    pub(crate) init: Option<Value>,
}

/// State shared by the v1 server and the v2 client.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) registry: Registry,
    pub(crate) exporter: TraceExporter,
    active: Mutex<HashMap<String, CancellationToken>>,
    /// v2: the input streams of running `streamInput` runs, by JSON-RPC request id.
    inputs: Mutex<HashMap<String, mpsc::UnboundedSender<Value>>>,
}

/// An action run that has started its root span.
pub(crate) struct Running {
    pub(crate) ids: TraceIds,
    chunks: mpsc::UnboundedReceiver<Value>,
    task: JoinHandle<genkit_core::Result<ActionResult<Value>>>,
    /// The run's result once [`Running::next_chunk`] saw the task end.
    ended: Option<RunEnd>,
    shared: Arc<Shared>,
}

type RunEnd = std::result::Result<genkit_core::Result<ActionResult<Value>>, tokio::task::JoinError>;

/// How a run request went before its root span started.
pub(crate) enum Started {
    /// The span started: headers can go out now.
    Running(Running),
    /// No action has the requested key.
    UnknownKey(Error),
    /// The run ended before any span existed (invalid input, …).
    Failed(Error),
    /// An action that reports no span start finished (its spans, if any, are flushed).
    Done(Value),
}

impl Shared {
    pub(crate) fn new(registry: Registry, exporter: TraceExporter) -> Arc<Shared> {
        Arc::new(Shared { registry, exporter, active: Mutex::new(HashMap::new()), inputs: Mutex::new(HashMap::new()) })
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn inputs(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Value>>> {
        self.inputs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens the input stream of the run `request_id` (before its `runAction` is handled, so
    /// no chunk sent right after it is lost).
    pub(crate) fn open_input(&self, request_id: String) -> mpsc::UnboundedReceiver<Value> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.inputs().insert(request_id, tx);
        rx
    }

    /// Feeds one input to the run `request_id`; returns whether it is still open.
    pub(crate) fn send_input(&self, request_id: &str, chunk: Value) -> bool {
        self.inputs().get(request_id).is_some_and(|tx| tx.send(chunk).is_ok())
    }

    /// Ends the input stream of the run `request_id`; returns whether there was one.
    pub(crate) fn end_input(&self, request_id: &str) -> bool {
        self.inputs().remove(request_id).is_some()
    }

    /// Cancels the running action with this trace id; returns whether one was found.
    pub(crate) fn cancel(&self, trace_id: &str) -> bool {
        match self.active().remove(trace_id) {
            Some(tok) => {
                tok.cancel();
                true
            }
            None => false,
        }
    }

    /// Every action the tools may run, by key (DAP children and plugin-resolvable ones
    /// included).
    pub(crate) async fn list_actions(&self) -> genkit_core::Result<Map<String, Value>> {
        let metas = self.registry.list_resolvable_actions().await?;
        let mut out = Map::with_capacity(metas.len());
        for (key, meta) in metas {
            let mut v = serde_json::to_value(&meta).map_err(Error::internal)?;
            if let Value::Object(m) = &mut v {
                // `null` is never valid in the tools' schema: omit instead.
                m.retain(|_, v| !v.is_null());
                if let Some(Value::Object(md)) = m.get_mut("metadata") {
                    md.retain(|_, v| !v.is_null());
                }
            }
            out.insert(key, v);
        }
        Ok(out)
    }

    /// `GET /api/values?type=…`: `defaultModel` and `middleware`, as JS serves them.
    pub(crate) async fn list_values(&self, value_type: &str) -> Option<genkit_core::Result<Map<String, Value>>> {
        if value_type != "defaultModel" && value_type != "middleware" {
            return None;
        }
        let values = match self.registry.list_values(value_type).await {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        let mut out = Map::new();
        for (name, v) in values {
            let json = match v.json() {
                // JS serves the default model as a model reference.
                Some(Value::String(s)) if value_type == "defaultModel" => json!({"name": s}),
                Some(j) => j.clone(),
                None => continue,
            };
            out.insert(name, json);
        }
        Some(Ok(out))
    }

    /// Starts running `req`: resolves once the root span started (or the run failed first).
    pub(crate) async fn start(self: &Arc<Self>, req: RunActionRequest) -> Started {
        self.start_with_inputs(req, None).await
    }

    /// [`Shared::start`] for a bidirectional run fed by `inputs` (v2 `streamInput`).
    pub(crate) async fn start_with_inputs(
        self: &Arc<Self>,
        req: RunActionRequest,
        inputs: Option<mpsc::UnboundedReceiver<Value>>,
    ) -> Started {
        let action: Arc<dyn Action> = match self.registry.lookup_action(&req.key).await {
            Ok(Some(a)) => a,
            Ok(None) => return Started::UnknownKey(not_found(&req.key)),
            Err(e) => return Started::Failed(e),
        };
        let context = match req.context {
            None | Some(Value::Null) => ActionContext::new(),
            Some(Value::Object(m)) => ActionContext::from_map(m),
            Some(_) => return Started::Failed(Error::invalid_argument("`context` must be a JSON object")),
        };
        let (ids_tx, ids_rx) = oneshot::channel::<TraceIds>();
        let token = CancellationToken::new();
        let mut opts = RunOptions::new().context(context).cancellation(token.clone()).on_trace_start(move |ids| {
            let _ = ids_tx.send(ids.clone());
        });
        for (k, v) in req.telemetry_labels.into_iter().flatten() {
            let v = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            opts = opts.telemetry_label(k, v);
        }
        let (chunk_tx, chunks) = mpsc::unbounded_channel();
        if req.stream {
            opts = opts.on_chunk(move |c| {
                let _ = chunk_tx.send(c);
            });
        }
        if let Some(init) = req.init.filter(|i| !i.is_null()) {
            opts = opts.init(init);
        }
        let run = match inputs {
            Some(mut rx) => {
                let inputs = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
                action.run_bidi_json(Box::pin(inputs), opts)
            }
            None => action.run_json(req.input.unwrap_or(Value::Null), opts),
        };
        let mut task = tokio::spawn(run);
        match ids_rx.await {
            Ok(ids) => {
                self.active().insert(ids.trace_id.clone(), token);
                Started::Running(Running { ids, chunks, task, ended: None, shared: self.clone() })
            }
            Err(_) => match (&mut task).await {
                Ok(Ok(r)) => {
                    self.exporter.flush().await;
                    Started::Done(json!({"result": r.result, "telemetry": {"traceId": r.telemetry.trace_id}}))
                }
                Ok(Err(e)) => Started::Failed(e),
                Err(e) => Started::Failed(Error::new(Status::Internal, format!("the action panicked: {e}"))),
            },
        }
    }
}

impl Running {
    /// The run's next stream chunk; `None` once the run has returned and every chunk sent
    /// before is out. The run returning ends the stream even while something still holds
    /// its chunk callback: a detached agent turn returns its output and goes on in the
    /// background (its later chunks are not part of this run's answer).
    pub(crate) async fn next_chunk(&mut self) -> Option<Value> {
        if self.ended.is_some() {
            return self.chunks.try_recv().ok();
        }
        tokio::select! {
            biased;
            c = self.chunks.recv() => c,
            end = &mut self.task => {
                self.ended = Some(end);
                self.chunks.try_recv().ok()
            }
        }
    }

    /// Stops taking chunks (the client went away); the run itself goes on.
    pub(crate) fn close_chunks(&mut self) {
        self.chunks.close();
    }

    /// Waits for the run to end, flushes its spans to the telemetry server, and returns the
    /// final envelope (`{result, telemetry}` or `{error}`).
    pub(crate) async fn finish(self) -> Result<Value, Error> {
        let end = match self.ended {
            Some(end) => end,
            None => self.task.await,
        };
        let res = match end {
            Ok(r) => r,
            Err(e) => Err(Error::new(Status::Internal, format!("the action panicked: {e}"))),
        };
        self.shared.active().remove(&self.ids.trace_id);
        self.shared.exporter.flush().await;
        match res {
            Ok(r) => Ok(json!({"result": r.result, "telemetry": {"traceId": r.telemetry.trace_id}})),
            Err(e) => {
                let e = if e.trace_id().is_none() { e.with_trace_id(self.ids.trace_id.clone()) } else { e };
                Err(e)
            }
        }
    }
}

/// `NOT_FOUND` for an unknown action key.
pub(crate) fn not_found(key: &str) -> Error {
    Error::not_found(format!("action {key} not found"))
}

/// The wire `Status` of an error, with the trace id in `details` (no stack: Rust has none to
/// leak) and every secret in `details` redacted (see [`genkit_core::redact`]).
pub(crate) fn status_json(e: &Error) -> Value {
    let mut details = match e.details() {
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            let mut m = Map::new();
            m.insert("details".into(), other.clone());
            m
        }
        None => Map::new(),
    };
    if let Some(t) = e.trace_id() {
        details.insert("traceId".into(), json!(t));
    }
    let mut details = Value::Object(details);
    genkit_core::redact::redact_secrets(&mut details);
    let mut m = Map::with_capacity(3);
    m.insert("code".into(), json!(e.status().code()));
    m.insert("message".into(), json!(e.message()));
    if details.as_object().is_some_and(|d| !d.is_empty()) {
        m.insert("details".into(), details);
    }
    Value::Object(m)
}

/// `{"error": Status}`.
pub(crate) fn error_envelope(e: &Error) -> Value {
    json!({"error": status_json(e)})
}
