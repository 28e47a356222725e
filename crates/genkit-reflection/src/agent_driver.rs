//! A driver for agent conformance tests through the reflection API (feature `testing`): the
//! steps of Genkit's agent spec (`send`, `getSnapshotData`, `abort`, `waitUntilCompleted`) run
//! against a runtime's reflection server, as the Genkit CLI and Dev UI would run them.
//!
//! Two transports, one interface ([`ReflectionAgentDriver`]):
//! - [`ReflectionAgentDriver::v1`]: HTTP `POST /api/runAction?stream=true`. A run takes one
//!   input, so a `send` with several inputs fails with `UNIMPLEMENTED` (use v2).
//! - [`ReflectionAgentDriver::v2`]: the driver plays the CLI's WebSocket server; the runtime
//!   connects to it (start its [`crate::Reflection`] with `reflection_v2_server` =
//!   [`V2Listener::url`]) and runs take an input stream (`streamInput`), so a `send` may carry
//!   several inputs (turns of one run).
//!
//! Everything is wire JSON (`AgentInput`, `AgentInit`, `AgentStreamChunk`, `AgentOutput`,
//! `SessionSnapshot`, `AgentAbortResponse`), so the driver depends on no agent runtime.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use genkit_core::{Error, Result, Status};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// What one `send` step observed: the streamed chunks and the run's output or error.
#[derive(Debug, Clone)]
pub struct TurnRun {
    /// The `AgentStreamChunk`s, in order.
    pub chunks: Vec<Value>,
    /// The `AgentOutput`, or the run's error (status, message, details).
    pub output: Result<Value>,
}

/// Statuses a detached turn leaves when it ends.
const TERMINAL: [&str; 4] = ["completed", "failed", "aborted", "expired"];

/// Runs agent spec steps through a runtime's reflection API.
#[derive(Debug, Clone)]
pub struct ReflectionAgentDriver {
    transport: Transport,
    poll_interval: Duration,
    wait_timeout: Duration,
}

#[derive(Debug, Clone)]
enum Transport {
    V1 { base: String, http: reqwest::Client },
    V2(Arc<V2Connection>),
}

impl ReflectionAgentDriver {
    /// A driver over reflection v1 at `base` (the runtime's reflection URL, e.g.
    /// [`crate::Reflection::url`]).
    pub fn v1(base: impl Into<String>) -> ReflectionAgentDriver {
        let base = base.into().trim_end_matches('/').to_owned();
        ReflectionAgentDriver::with(Transport::V1 { base, http: reqwest::Client::new() })
    }

    /// A driver over reflection v2: waits for the runtime to connect to `listener` and
    /// register.
    ///
    /// # Errors
    /// `UNAVAILABLE` when no runtime connects and registers within 30 s.
    pub async fn v2(listener: V2Listener) -> Result<ReflectionAgentDriver> {
        let conn = listener.accept().await?;
        Ok(ReflectionAgentDriver::with(Transport::V2(Arc::new(conn))))
    }

    fn with(transport: Transport) -> ReflectionAgentDriver {
        ReflectionAgentDriver {
            transport,
            poll_interval: Duration::from_millis(20),
            wait_timeout: Duration::from_secs(30),
        }
    }

    /// How often [`ReflectionAgentDriver::wait_until_completed`] polls (default 20 ms) and
    /// how long it waits at most (default 30 s).
    #[must_use]
    pub fn polling(mut self, interval: Duration, timeout: Duration) -> Self {
        self.poll_interval = interval;
        self.wait_timeout = timeout;
        self
    }

    /// Spec step `send`: runs `/agent/<agent>` with `init` and `inputs` (its input stream),
    /// streaming.
    ///
    /// # Errors
    /// Transport failures; `UNIMPLEMENTED` for several inputs over v1. The run's own error is
    /// in [`TurnRun::output`].
    pub async fn send(&self, agent: &str, init: &Value, inputs: &[Value]) -> Result<TurnRun> {
        let key = format!("/agent/{agent}");
        match &self.transport {
            Transport::V1 { base, http } => {
                let input = match inputs {
                    [] => Value::Null,
                    [one] => one.clone(),
                    _ => {
                        return Err(Error::new(
                            Status::Unimplemented,
                            "reflection v1 runs an action on one input: use the v2 driver for several inputs",
                        ));
                    }
                };
                v1_run(http, base, json!({"key": key, "input": input, "init": init}), true).await
            }
            Transport::V2(conn) => conn.run(json!({"key": key, "init": init}), Some(inputs), true).await,
        }
    }

    /// Spec step `getSnapshotData`: runs `/agent-snapshot/<agent>`.
    ///
    /// # Errors
    /// The action's error (`NOT_FOUND` for an unknown snapshot) or a transport failure.
    pub async fn get_snapshot(&self, agent: &str, snapshot_id: &str) -> Result<Value> {
        self.unary(&format!("/agent-snapshot/{agent}"), json!({"snapshotId": snapshot_id})).await
    }

    /// Spec step `getSnapshotData` by snapshot or by session (its latest snapshot): runs
    /// `/agent-snapshot/<agent>` with whichever ids are given.
    ///
    /// # Errors
    /// As [`ReflectionAgentDriver::get_snapshot`]; `INVALID_ARGUMENT` (from the agent) when
    /// neither or both ids are given.
    pub async fn get_snapshot_data(
        &self,
        agent: &str,
        snapshot_id: Option<&str>,
        session_id: Option<&str>,
    ) -> Result<Value> {
        let mut req = serde_json::Map::new();
        if let Some(id) = snapshot_id {
            req.insert("snapshotId".into(), json!(id));
        }
        if let Some(id) = session_id {
            req.insert("sessionId".into(), json!(id));
        }
        self.unary(&format!("/agent-snapshot/{agent}"), Value::Object(req)).await
    }

    /// Spec step `abort`: runs `/agent-abort/<agent>`; returns the `AgentAbortResponse`.
    ///
    /// # Errors
    /// The action's error or a transport failure.
    pub async fn abort(&self, agent: &str, snapshot_id: &str) -> Result<Value> {
        self.unary(&format!("/agent-abort/{agent}"), json!({"snapshotId": snapshot_id})).await
    }

    /// Spec step `waitUntilCompleted`: polls the snapshot until its status is terminal
    /// (completed, failed, aborted, expired); returns it.
    ///
    /// # Errors
    /// `DEADLINE_EXCEEDED` after the wait timeout; lookup errors other than `NOT_FOUND`.
    pub async fn wait_until_completed(&self, agent: &str, snapshot_id: &str) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + self.wait_timeout;
        loop {
            match self.get_snapshot(agent, snapshot_id).await {
                Ok(s) if s["status"].as_str().is_some_and(|st| TERMINAL.contains(&st)) => return Ok(s),
                Ok(_) => {}
                Err(e) if e.status() == Status::NotFound => {}
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::new(
                    Status::DeadlineExceeded,
                    format!("snapshot {snapshot_id} did not complete within {:?}", self.wait_timeout),
                ));
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    async fn unary(&self, key: &str, input: Value) -> Result<Value> {
        let run = match &self.transport {
            Transport::V1 { base, http } => v1_run(http, base, json!({"key": key, "input": input}), false).await?,
            Transport::V2(conn) => conn.run(json!({"key": key, "input": input}), None, false).await?,
        };
        run.output
    }
}

/// The `result` of a run envelope, or its `error` as an [`Error`].
fn envelope(v: &Value) -> Result<Value> {
    match v.get("error") {
        Some(e) => Err(Error::from_json(e)),
        None => Ok(v.get("result").cloned().unwrap_or(Value::Null)),
    }
}

async fn v1_run(http: &reqwest::Client, base: &str, body: Value, stream: bool) -> Result<TurnRun> {
    let url = format!("{base}/api/runAction{}", if stream { "?stream=true" } else { "" });
    let res = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| Error::new(Status::Unavailable, e.to_string()))?;
    let text = res.text().await.map_err(|e| Error::new(Status::Unavailable, e.to_string()))?;
    if !stream {
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Error::new(Status::Internal, format!("invalid reflection answer {text:?}: {e}")))?;
        return Ok(TurnRun { chunks: Vec::new(), output: envelope(&v) });
    }
    // One JSON chunk per line, then the envelope (no newline after it).
    let mut lines: Vec<Value> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        lines.push(
            serde_json::from_str(line)
                .map_err(|e| Error::new(Status::Internal, format!("invalid reflection stream line {line:?}: {e}")))?,
        );
    }
    let last = lines.pop().ok_or_else(|| Error::new(Status::Internal, "empty reflection answer"))?;
    Ok(TurnRun { chunks: lines, output: envelope(&last) })
}

/// The WebSocket server a v2 runtime connects to (the CLI's part).
#[derive(Debug)]
pub struct V2Listener {
    listener: tokio::net::TcpListener,
    url: String,
}

impl V2Listener {
    /// Listens on a free loopback port.
    ///
    /// # Errors
    /// `UNAVAILABLE` when no port can be bound.
    pub async fn bind() -> Result<V2Listener> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::new(Status::Unavailable, format!("cannot listen: {e}")))?;
        let port = listener.local_addr().map_err(Error::internal)?.port();
        Ok(V2Listener { listener, url: format!("ws://127.0.0.1:{port}") })
    }

    /// The URL to give the runtime (`GENKIT_REFLECTION_V2_SERVER`).
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn accept(self) -> Result<V2Connection> {
        let unavailable = |m: String| Error::new(Status::Unavailable, m);
        let accepted = tokio::time::timeout(Duration::from_secs(30), self.listener.accept())
            .await
            .map_err(|_| unavailable("no runtime connected within 30 s".into()))?;
        let (tcp, _) = accepted.map_err(|e| unavailable(e.to_string()))?;
        let mut ws = tokio_tungstenite::accept_async(tcp).await.map_err(|e| unavailable(e.to_string()))?;
        // The runtime registers first; answer it, then serve requests.
        let register = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .map_err(|_| unavailable("the runtime did not register".into()))?;
        let register: Value = match register {
            Some(Ok(Message::Text(t))) => serde_json::from_str(t.as_str()).map_err(Error::internal)?,
            other => return Err(unavailable(format!("unexpected first message: {other:?}"))),
        };
        let ack = json!({"jsonrpc": "2.0", "id": register["id"], "result": {}});
        ws.send(Message::text(ack.to_string())).await.map_err(|e| unavailable(e.to_string()))?;
        Ok(V2Connection::start(ws))
    }
}

type Pending = Arc<Mutex<HashMap<String, (mpsc::UnboundedSender<Value>, oneshot::Sender<Value>)>>>;

/// A runtime's v2 connection: requests out, answers and `streamChunk`s routed back by id.
#[derive(Debug)]
struct V2Connection {
    out: mpsc::UnboundedSender<Value>,
    pending: Pending,
    next_id: std::sync::atomic::AtomicU64,
}

impl V2Connection {
    fn start(ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) -> V2Connection {
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Value>();
        tokio::spawn(async move {
            while let Some(v) = out_rx.recv().await {
                if sink.send(Message::text(v.to_string())).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let routes = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(t) = msg else { continue };
                let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else { continue };
                let mut pending = routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if v["method"] == "streamChunk" {
                    let id = v["params"]["requestId"].as_str().unwrap_or_default();
                    if let Some((chunks, _)) = pending.get(id) {
                        let _ = chunks.send(v["params"]["chunk"].clone());
                    }
                } else if let Some(id) = v["id"].as_str()
                    && v.get("method").is_none()
                    && let Some((_, done)) = pending.remove(id)
                {
                    let _ = done.send(v);
                }
            }
            // The runtime went away: pending runs fail (their senders drop).
            routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
        });
        V2Connection { out, pending, next_id: std::sync::atomic::AtomicU64::new(1) }
    }

    async fn run(&self, mut params: Value, inputs: Option<&[Value]>, stream: bool) -> Result<TurnRun> {
        let id = format!("driver-{}", self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let (chunk_tx, mut chunk_rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = oneshot::channel();
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id.clone(), (chunk_tx, done_tx));
        params["stream"] = json!(stream);
        if inputs.is_some() {
            params["streamInput"] = json!(true);
        }
        let gone = || Error::new(Status::Unavailable, "the runtime's reflection connection closed");
        self.out
            .send(json!({"jsonrpc": "2.0", "method": "runAction", "id": id, "params": params}))
            .map_err(|_| gone())?;
        for chunk in inputs.into_iter().flatten() {
            let note = json!({"jsonrpc": "2.0", "method": "sendInputStreamChunk",
                "params": {"requestId": id, "chunk": chunk}});
            self.out.send(note).map_err(|_| gone())?;
        }
        if inputs.is_some() {
            let end = json!({"jsonrpc": "2.0", "method": "endInputStream", "params": {"requestId": id}});
            self.out.send(end).map_err(|_| gone())?;
        }
        let answer = done_rx.await.map_err(|_| gone())?;
        let mut chunks = Vec::new();
        while let Ok(c) = chunk_rx.try_recv() {
            chunks.push(c);
        }
        let output = match answer.get("error") {
            // JSON-RPC error: the action's `Status` is its `data` (else its message).
            Some(e) => Err(match e.get("data") {
                Some(d) if d.is_object() => Error::from_json(d),
                _ => Error::new(Status::Unknown, e["message"].as_str().unwrap_or("unknown error")),
            }),
            None => envelope(&answer["result"]),
        };
        Ok(TurnRun { chunks, output })
    }
}
