//! Reflection API v1: the HTTP server the Genkit CLI calls (`/api/__health`, `/api/notify`,
//! `/api/actions`, `/api/values`, `/api/runAction`, `/api/cancelAction`, `/api/envs`,
//! `/api/__quitquitquit`). Every request first passes the checks of [`crate::guard`]
//! (loopback `Host`, loopback `Origin`, JSON `POST` bodies).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use genkit_core::{Error, Status};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::run::{RunActionRequest, Shared, Started, error_envelope};

/// The largest request body accepted (as JS: 30 MB).
pub(crate) const BODY_LIMIT: usize = 30 * 1024 * 1024;

/// What the v1 handlers need.
#[derive(Debug)]
pub(crate) struct V1 {
    pub(crate) shared: Arc<Shared>,
    /// The effective runtime id (`GENKIT_RUNTIME_ID` or `<pid>-<port>`).
    pub(crate) runtime_id: String,
    /// `<pid>-<port>`, also accepted by `__health`.
    pub(crate) pid_port: String,
    /// Fired by `/api/__quitquitquit`.
    pub(crate) quit: tokio_util::sync::CancellationToken,
    /// Set by the first `__health` check: a Genkit tool has found the runtime file.
    pub(crate) seen: std::sync::atomic::AtomicBool,
}

pub(crate) fn router(state: Arc<V1>) -> Router {
    Router::new()
        .route("/api/__health", get(health))
        .route("/api/notify", post(notify))
        .route("/api/actions", get(actions))
        .route("/api/values", get(values))
        .route("/api/runAction", post(run_action))
        .route("/api/cancelAction", post(cancel_action))
        .route("/api/envs", get(envs))
        .route("/api/__quitquitquit", get(quit).post(quit))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(crate::guard::guard))
        .layer(middleware::map_response(version_header))
        .with_state(state)
}

async fn version_header(mut res: Response) -> Response {
    res.headers_mut().insert("x-genkit-version", HeaderValue::from_static(crate::GENKIT_VERSION));
    res
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

/// The generic handler's answer to a failed endpoint (JS: 200 with `{error}`).
fn error_response(status: StatusCode, e: &Error) -> Response {
    json_response(status, &error_envelope(e))
}

/// The request body, or the answer to a body that could not be read: 413 with a JSON error
/// when it is over [`BODY_LIMIT`].
fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Box<Response>> {
    body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!(
                "request entity too large: the Genkit reflection server accepts bodies up to {} MiB",
                BODY_LIMIT >> 20
            )
        } else {
            format!("cannot read the request body: {}", rejection.body_text())
        };
        Box::new(error_response(status, &Error::new(Status::InvalidArgument, message)))
    })
}

fn parse_body<T: serde::de::DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, Box<Response>> {
    let body = body_bytes(body)?;
    serde_json::from_slice(&body).map_err(|e| {
        Box::new(error_response(
            StatusCode::BAD_REQUEST,
            &Error::invalid_argument(format!("the request body is not valid JSON of the expected shape: {e}")),
        ))
    })
}

async fn health(State(s): State<Arc<V1>>, Query(q): Query<HashMap<String, String>>) -> Response {
    s.seen.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(id) = q.get("id")
        && *id != s.runtime_id
        && *id != s.pid_port
    {
        return (StatusCode::SERVICE_UNAVAILABLE, "Invalid runtime ID").into_response();
    }
    // As JS: listing initializes the plugins, so the first real request is fast.
    let _ = s.shared.registry.list_actions().await;
    (StatusCode::OK, "OK").into_response()
}

async fn notify(State(s): State<Arc<V1>>, body: Result<Bytes, BytesRejection>) -> Response {
    let v: Value = match parse_body(body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if let Some(url) = v.get("telemetryServerUrl").and_then(Value::as_str)
        && s.shared.exporter.set_url(url)
    {
        tracing::debug!("exporting traces to {url}");
    }
    crate::check_spec_version(v.get("reflectionApiSpecVersion"));
    (StatusCode::OK, "OK").into_response()
}

async fn actions(State(s): State<Arc<V1>>) -> Response {
    match s.shared.list_actions().await {
        Ok(m) => json_response(StatusCode::OK, &Value::Object(m)),
        Err(e) => error_response(StatusCode::OK, &e),
    }
}

async fn values(State(s): State<Arc<V1>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(t) = q.get("type") else {
        return (StatusCode::BAD_REQUEST, "Query parameter \"type\" is required.").into_response();
    };
    match s.shared.list_values(t).await {
        None => (
            StatusCode::BAD_REQUEST,
            format!("'type' {t} is not supported. Only 'defaultModel' and 'middleware' are supported"),
        )
            .into_response(),
        Some(Ok(m)) => json_response(StatusCode::OK, &Value::Object(m)),
        Some(Err(e)) => error_response(StatusCode::OK, &e),
    }
}

async fn run_action(
    State(s): State<Arc<V1>>,
    Query(q): Query<HashMap<String, String>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut req: RunActionRequest = match parse_body(body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let stream = q.get("stream").is_some_and(|v| v == "true");
    req.stream = stream;
    let content_type = if stream { "text/plain" } else { "application/json" };
    let mut running = match s.shared.start(req).await {
        Started::Running(r) => r,
        Started::Done(v) => return json_response(StatusCode::OK, &v),
        Started::UnknownKey(e) => return error_response(StatusCode::NOT_FOUND, &e),
        Started::Failed(e) => return error_response(StatusCode::OK, &e),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let trace_id = running.ids.trace_id.clone();
    let span_id = running.ids.span_id.clone();
    tokio::spawn(async move {
        while let Some(chunk) = running.next_chunk().await {
            let mut line = chunk.to_string();
            line.push('\n');
            if tx.send(Bytes::from(line)).await.is_err() {
                // The client went away: the run goes on (as in JS) unless cancelled, but its
                // later chunks are dropped instead of piling up unread.
                running.close_chunks();
                break;
            }
        }
        let envelope = match running.finish().await {
            Ok(v) => v,
            Err(e) => error_envelope(&e),
        };
        let _ = tx.send(Bytes::from(envelope.to_string())).await;
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    }));
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&trace_id) {
        h.insert("x-genkit-trace-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&span_id) {
        h.insert("x-genkit-span-id", v);
    }
    res
}

async fn cancel_action(State(s): State<Arc<V1>>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body_bytes(body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(trace_id) = v.get("traceId").and_then(Value::as_str) else {
        return json_response(StatusCode::BAD_REQUEST, &json!({"error": "traceId is required"}));
    };
    if s.shared.cancel(trace_id) {
        json_response(StatusCode::OK, &json!({"message": "Action cancelled"}))
    } else {
        json_response(StatusCode::NOT_FOUND, &json!({"message": "Action not found or already completed"}))
    }
}

async fn envs() -> Response {
    json_response(StatusCode::OK, &json!(["dev"]))
}

async fn quit(State(s): State<Arc<V1>>) -> Response {
    s.quit.cancel();
    (StatusCode::OK, "OK").into_response()
}
