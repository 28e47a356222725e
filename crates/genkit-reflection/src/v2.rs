//! Reflection API v2: the runtime connects to the CLI's WebSocket server
//! (`GENKIT_REFLECTION_V2_SERVER`) and answers JSON-RPC 2.0 requests (`listActions`,
//! `listValues`, `runAction`, `cancelAction`), sending `runActionState` and `streamChunk`
//! notifications while actions run.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::run::{RunActionRequest, Shared, Started, status_json};

/// What the runtime registers itself as.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    pub(crate) id: String,
    pub(crate) name: String,
}

/// Connects (and reconnects with backoff `min(500 ms·2^n, 5 s)`) until `stop` fires.
///
/// The first connection waits, as v1's runtime file does, until the app has stopped
/// registering actions (or 3 s passed) and its plugins' actions are listed: an app defines
/// its flows and agents after `build()` started this client, and a CLI that is told of the
/// runtime before then lists only part of it.
pub(crate) async fn run_client(url: String, shared: Arc<Shared>, reg: Registration, stop: CancellationToken) {
    if !crate::ready(&shared.registry, &stop).await {
        return;
    }
    let mut attempt: u32 = 0;
    loop {
        let connected = tokio::select! {
            () = stop.cancelled() => return,
            r = tokio_tungstenite::connect_async(url.as_str()) => r,
        };
        match connected {
            Ok((ws, _)) => {
                attempt = 0;
                tracing::debug!("connected to the Genkit CLI at {url} (reflection v2)");
                serve(ws, &shared, &reg, &stop).await;
                if stop.is_cancelled() {
                    return;
                }
                tracing::debug!("the Genkit CLI closed the reflection connection; reconnecting");
            }
            Err(e) => {
                if attempt == 0 {
                    tracing::warn!("cannot connect to the Genkit CLI at {url} (reflection v2): {e}; retrying");
                }
            }
        }
        let delay = Duration::from_millis(500u64.saturating_mul(1 << attempt.min(4))).min(Duration::from_secs(5));
        attempt = attempt.saturating_add(1);
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn serve(ws: Ws, shared: &Arc<Shared>, reg: &Registration, stop: &CancellationToken) {
    let (mut sink, mut stream) = ws.split();
    let (out, mut out_rx) = mpsc::unbounded_channel::<Value>();
    let writer = tokio::spawn(async move {
        while let Some(v) = out_rx.recv().await {
            if sink.send(Message::text(v.to_string())).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let _ = out.send(json!({
        "jsonrpc": "2.0",
        "id": "register",
        "method": "register",
        "params": {
            "id": reg.id,
            "pid": std::process::id(),
            "name": reg.name,
            "genkitVersion": crate::GENKIT_VERSION,
            "reflectionApiSpecVersion": 1,
            "envs": ["dev"],
        },
    }));
    loop {
        let msg = tokio::select! {
            () = stop.cancelled() => break,
            m = stream.next() => m,
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => continue,
        };
        let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
            tracing::debug!("ignoring a malformed reflection v2 message");
            continue;
        };
        handle(&v, shared, &out);
    }
    drop(out);
    let _ = writer.await;
}

fn handle(v: &Value, shared: &Arc<Shared>, out: &mpsc::UnboundedSender<Value>) {
    let Some(method) = v.get("method").and_then(Value::as_str).map(str::to_owned) else {
        // A response: the answer to `register` carries the telemetry server URL.
        if let Some(url) = v.pointer("/result/telemetryServerUrl").and_then(Value::as_str) {
            shared.exporter.set_url(url);
        }
        if let Some(err) = v.get("error") {
            tracing::warn!("the Genkit CLI rejected a reflection v2 message: {err}");
        }
        return;
    };
    let id = v.get("id").cloned();
    let params = v.get("params").cloned().unwrap_or(Value::Null);
    match method.as_str() {
        "configure" => {
            if let Some(url) = params.get("telemetryServerUrl").and_then(Value::as_str) {
                shared.exporter.set_url(url);
            }
        }
        "sendInputStreamChunk" => {
            let request_id = params.get("requestId").map(request_key).unwrap_or_default();
            let chunk = params.get("chunk").cloned().unwrap_or(Value::Null);
            if !shared.send_input(&request_id, chunk) {
                tracing::warn!("Received input stream chunk for unknown request ID: {request_id}");
            }
        }
        "endInputStream" => {
            let request_id = params.get("requestId").map(request_key).unwrap_or_default();
            if !shared.end_input(&request_id) {
                tracing::warn!("Received end input stream for unknown request ID: {request_id}");
            }
        }
        _ => {
            let Some(id) = id else { return };
            // `streamInput`: the run's input stream comes in `sendInputStreamChunk` messages
            // until `endInputStream` (`input` is then ignored, as in JS). Opened now, before
            // the run starts in its task, so chunks sent right after `runAction` find it.
            let inputs = (method == "runAction" && params.get("streamInput") == Some(&Value::Bool(true)))
                .then(|| shared.open_input(request_key(&id)));
            let shared = shared.clone();
            let out = out.clone();
            tokio::spawn(async move {
                let reply = match request(&method, params, &id, &shared, &out, inputs).await {
                    Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                    Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
                };
                let _ = out.send(reply);
            });
        }
    }
}

/// The key of a JSON-RPC request id (`sendInputStreamChunk` names the run by it).
fn request_key(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn rpc_error(code: i64, message: impl Into<String>) -> Value {
    json!({"code": code, "message": message.into()})
}

async fn request(
    method: &str,
    params: Value,
    id: &Value,
    shared: &Arc<Shared>,
    out: &mpsc::UnboundedSender<Value>,
    inputs: Option<mpsc::UnboundedReceiver<Value>>,
) -> Result<Value, Value> {
    match method {
        "listActions" => match shared.list_actions().await {
            Ok(actions) => Ok(json!({"actions": actions})),
            Err(e) => Err(action_error(&e)),
        },
        "listValues" => {
            let t = params.get("type").and_then(Value::as_str).unwrap_or_default();
            match shared.list_values(t).await {
                Some(Ok(values)) => Ok(json!({"values": values})),
                Some(Err(e)) => Err(action_error(&e)),
                None => Err(rpc_error(
                    -32602,
                    format!("'type' {t} is not supported. Only 'defaultModel' and 'middleware' are supported"),
                )),
            }
        }
        "cancelAction" => {
            let Some(trace_id) = params.get("traceId").and_then(Value::as_str) else {
                return Err(rpc_error(-32602, "traceId is required"));
            };
            if shared.cancel(trace_id) {
                Ok(json!({"message": "Action cancelled"}))
            } else {
                Err(rpc_error(-32602, "Action not found or already completed"))
            }
        }
        "runAction" => {
            let req: RunActionRequest = serde_json::from_value(params).map_err(|e| {
                shared.end_input(&request_key(id));
                rpc_error(-32602, format!("Invalid params for runAction: {e}"))
            })?;
            let stream = req.stream;
            let started = shared.start_with_inputs(req, inputs).await;
            let result = run_started(started, stream, id, out).await;
            shared.end_input(&request_key(id));
            result
        }
        other => Err(rpc_error(-32601, format!("Method not found: {other}"))),
    }
}

/// Answers a started `runAction`: `runActionState`, the `streamChunk`s, then the result.
async fn run_started(
    started: Started,
    stream: bool,
    id: &Value,
    out: &mpsc::UnboundedSender<Value>,
) -> Result<Value, Value> {
    match started {
        Started::UnknownKey(e) => Err(rpc_error(-32602, e.message())),
        Started::Failed(e) => Err(action_error(&e)),
        Started::Done(v) => Ok(v),
        Started::Running(mut running) => {
            let _ = out.send(json!({
                "jsonrpc": "2.0",
                "method": "runActionState",
                "params": {"requestId": id, "state": {"traceId": running.ids.trace_id}},
            }));
            while let Some(chunk) = running.next_chunk().await {
                if stream {
                    let _ = out.send(json!({
                        "jsonrpc": "2.0",
                        "method": "streamChunk",
                        "params": {"requestId": id, "chunk": chunk},
                    }));
                }
            }
            running.finish().await.map_err(|e| action_error(&e))
        }
    }
}

/// An action failure: `-32000` with the `Status` as `data`.
fn action_error(e: &genkit_core::Error) -> Value {
    json!({"code": -32000, "message": e.message(), "data": status_json(e)})
}
