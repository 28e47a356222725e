//! The axum handler that serves one action with the Genkit flow protocol: JS
//! `expressHandler`.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, Stream, StreamExt};
use genkit_core::{Action, ActionContext, ActionDef, ActionResult, Error, RunOptions, Status};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::context::{ContextProvider, RequestData};
use crate::durable::{StreamEvent, StreamManager, StreamWriter};
use crate::frame::{
    MISSING_BODY_MESSAGE, SPAN_ID_HEADER, STREAM_CONTENT_TYPE, STREAM_ID_HEADER, TRACE_ID_HEADER, bad_request,
    error_frame, error_response, json_response, message_frame, panic_error, push_message_frame, result_body,
    result_frame,
};

/// Something that can be served: an `Arc<dyn Action>` or a typed action/flow handle.
pub trait IntoAction {
    /// The erased action.
    fn into_action(self) -> Arc<dyn Action>;
}

impl IntoAction for Arc<dyn Action> {
    fn into_action(self) -> Arc<dyn Action> {
        self
    }
}

impl IntoAction for &Arc<dyn Action> {
    fn into_action(self) -> Arc<dyn Action> {
        self.clone()
    }
}

impl<I, O, S> IntoAction for ActionDef<I, O, S>
where
    I: DeserializeOwned + serde::Serialize + Send + Sync + 'static,
    O: serde::Serialize + DeserializeOwned + Send + Sync + 'static,
    S: serde::Serialize + Send + Sync + 'static,
{
    fn into_action(self) -> Arc<dyn Action> {
        Arc::new(self)
    }
}

impl<I, O, S> IntoAction for &ActionDef<I, O, S>
where
    I: DeserializeOwned + serde::Serialize + Send + Sync + 'static,
    O: serde::Serialize + DeserializeOwned + Send + Sync + 'static,
    S: serde::Serialize + Send + Sync + 'static,
{
    fn into_action(self) -> Arc<dyn Action> {
        Arc::new(self.clone())
    }
}

/// Options of one served flow (JS `expressHandler` options / `withFlowOptions`).
///
/// ```
/// use std::sync::Arc;
/// use genkit_server::{HandlerOptions, InMemoryStreamManager, api_key};
/// let opts = HandlerOptions::new()
///     .context_provider(api_key("secret"))
///     .stream_manager(InMemoryStreamManager::new())
///     .path("v1/joke");
/// ```
#[derive(Clone, Default)]
pub struct HandlerOptions {
    pub(crate) context_provider: Option<Arc<dyn ContextProvider>>,
    pub(crate) stream_manager: Option<Arc<dyn StreamManager>>,
    pub(crate) path: Option<String>,
}

impl fmt::Debug for HandlerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerOptions")
            .field("context_provider", &self.context_provider.is_some())
            .field("stream_manager", &self.stream_manager.is_some())
            .field("path", &self.path)
            .finish()
    }
}

impl HandlerOptions {
    /// No context provider, no stream manager, the default path.
    pub fn new() -> Self {
        HandlerOptions::default()
    }

    /// Builds each request's context, or rejects the request (see [`ContextProvider`]).
    #[must_use]
    pub fn context_provider(mut self, provider: impl ContextProvider) -> Self {
        self.context_provider = Some(Arc::new(provider));
        self
    }

    /// Same as [`HandlerOptions::context_provider`], with a shared provider.
    #[must_use]
    pub fn context_provider_arc(mut self, provider: Arc<dyn ContextProvider>) -> Self {
        self.context_provider = Some(provider);
        self
    }

    /// Records streamed runs so clients can resume them (durable streaming).
    #[must_use]
    pub fn stream_manager(mut self, manager: impl StreamManager) -> Self {
        self.stream_manager = Some(Arc::new(manager));
        self
    }

    /// Same as [`HandlerOptions::stream_manager`], with a shared manager.
    #[must_use]
    pub fn stream_manager_arc(mut self, manager: Arc<dyn StreamManager>) -> Self {
        self.stream_manager = Some(manager);
        self
    }

    /// The route of this flow in a [`crate::FlowServer`] or [`flow_router`], without the
    /// leading `/` (default: the flow name).
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }
}

/// Serves `action` on `POST` (JS `expressHandler(action)`); mount it with
/// `Router::route(path, …)`. Other methods get 405.
///
/// ```
/// use axum::Router;
/// use genkit_core::{ActionCx, ActionDef, ActionType};
/// let echo = ActionDef::builder(ActionType::Flow, "echo")
///     .build(|s: String, _cx: ActionCx<()>| async move { Ok(s) });
/// let app: Router = Router::new().route("/echo", genkit_server::flow_handler(&echo));
/// ```
pub fn flow_handler(action: impl IntoAction) -> MethodRouter {
    flow_handler_with(action, HandlerOptions::default())
}

/// [`flow_handler`] with options (context provider, stream manager).
pub fn flow_handler_with(action: impl IntoAction, options: HandlerOptions) -> MethodRouter {
    let handler = Arc::new(FlowHandler { action: action.into_action(), options });
    post(move |req: Request| handler.clone().handle(req))
}

/// A router serving each action at `/<name>` (or its [`HandlerOptions::path`]), with a JSON
/// 404 for other paths. Add layers (CORS, body limit) as needed, or use
/// [`crate::start_flow_server`], which does.
///
/// The router carries that 404 as its fallback, so merge it into an app router that has no
/// fallback of its own (axum refuses two), or mount the handlers one by one with
/// [`flow_handler`] when your app keeps its own fallback.
pub fn flow_router<A: IntoAction>(actions: impl IntoIterator<Item = A>) -> Router {
    routes(actions.into_iter().map(|a| (a.into_action(), HandlerOptions::default())), "")
}

pub(crate) fn routes(flows: impl IntoIterator<Item = (Arc<dyn Action>, HandlerOptions)>, prefix: &str) -> Router {
    let prefix = prefix.trim_start_matches('/');
    let mut router = Router::new();
    for (action, options) in flows {
        let path = format!("/{prefix}{}", options.path.as_deref().unwrap_or_else(|| action.name()));
        tracing::debug!(" - {path}");
        router = router.route(&path, flow_handler_with(action, options));
    }
    router.fallback(not_found)
}

async fn not_found(req: Request) -> Response {
    let e = Error::new(Status::NotFound, format!("Cannot {} {}", req.method(), req.uri().path()));
    error_response(&e)
}

struct FlowHandler {
    action: Arc<dyn Action>,
    options: HandlerOptions,
}

/// The request body (`data` may be absent; JS then runs the flow with `undefined`).
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    data: Value,
    #[serde(default)]
    init: Option<Value>,
}

fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        let mime = ct.split(';').next().unwrap_or_default().trim();
        mime.eq_ignore_ascii_case("application/json")
    })
}

fn wants_stream(headers: &HeaderMap, query: Option<&str>) -> bool {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .any(|v| v.as_bytes().windows(17).any(|w| w.eq_ignore_ascii_case(b"text/event-stream")));
    accept
        || query.is_some_and(|q| {
            q.split('&').find_map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k == "stream").then_some(v)
            }) == Some("true")
        })
}

fn request_headers(headers: &HeaderMap) -> impl Iterator<Item = (&str, String)> {
    headers.iter().map(|(k, v)| (k.as_str(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
}

impl FlowHandler {
    async fn handle(self: Arc<Self>, mut req: Request) -> Response {
        let headers = std::mem::take(req.headers_mut());
        let method = req.method().as_str().to_owned();
        let streaming = wants_stream(&headers, req.uri().query());
        let body = match Bytes::from_request(req, &()).await {
            Ok(b) => b,
            Err(rejection) => {
                let status = rejection.status();
                let e = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    Error::new(Status::InvalidArgument, "request entity too large")
                } else {
                    Error::new(Status::InvalidArgument, rejection.body_text())
                };
                let mut res = error_response(&e);
                *res.status_mut() = status;
                return res;
            }
        };
        if body.is_empty() || !is_json(&headers) {
            tracing::error!("{MISSING_BODY_MESSAGE}");
            return bad_request(MISSING_BODY_MESSAGE);
        }
        let Envelope { data: input, init } = match serde_json::from_slice::<Envelope>(&body) {
            Ok(env) => env,
            Err(e) => {
                let msg = if e.is_data() {
                    format!("the request body must be a JSON object with a `data` field: {e}")
                } else {
                    format!("invalid JSON in the request body: {e}")
                };
                return error_response(&Error::new(Status::InvalidArgument, msg));
            }
        };
        drop(body);

        let (input, context) = match &self.options.context_provider {
            None => (input, ActionContext::new()),
            Some(provider) => {
                let request = RequestData::new(method, request_headers(&headers), input);
                match AssertUnwindSafe(provider.provide(&request)).catch_unwind().await {
                    Ok(Ok(cx)) => (request.input, cx),
                    Ok(Err(e)) => {
                        tracing::error!("Auth policy failed with error: {e}");
                        return error_response(&e);
                    }
                    Err(panic) => return error_response(&panic_error(panic.as_ref())),
                }
            }
        };

        let mut opts = RunOptions::new().context(context);
        if let Some(init) = init {
            opts = opts.init(init);
        }
        if !streaming {
            return self.run(input, opts).await;
        }
        match (&self.options.stream_manager, headers.get(STREAM_ID_HEADER)) {
            (Some(manager), Some(id)) => subscribe(manager.as_ref(), &String::from_utf8_lossy(id.as_bytes())).await,
            (Some(manager), None) => self.stream_durable(manager.as_ref(), input, opts).await,
            (None, _) => self.stream(input, opts),
        }
    }

    /// Non-streaming: `{"result": …}` plus trace headers, or the error.
    async fn run(&self, input: Value, opts: RunOptions<Value>) -> Response {
        let token = CancellationToken::new();
        // Fires the flow's token if the client goes away (the server drops this future).
        let guard = token.clone().drop_guard();
        let run = self.action.run_json(input, opts.cancellation(token));
        let res = AssertUnwindSafe(run).catch_unwind().await;
        guard.disarm();
        match res {
            Ok(Ok(r)) => {
                let mut res = json_response(StatusCode::OK, result_body(&r.result));
                let h = res.headers_mut();
                for (name, v) in [(TRACE_ID_HEADER, r.telemetry.trace_id), (SPAN_ID_HEADER, r.telemetry.span_id)] {
                    if let Ok(v) = HeaderValue::try_from(v) {
                        h.insert(name, v);
                    }
                }
                res
            }
            Ok(Err(e)) => {
                tracing::error!("Non-streaming request failed with error: {e}");
                error_response(&e)
            }
            Err(panic) => {
                let e = panic_error(panic.as_ref());
                tracing::error!("Non-streaming request failed with error: {e}");
                error_response(&e)
            }
        }
    }

    /// Streaming without a stream manager: the run is driven by the response body itself
    /// (no task), so a client disconnect drops it and fires its cancellation token.
    fn stream(&self, input: Value, opts: RunOptions<Value>) -> Response {
        stream_response(Body::from_stream(RunBody::start(self.action.as_ref(), input, opts)), None)
    }

    /// Streaming with a stream manager: the run goes on in a task even if this client leaves,
    /// recording its chunks and result so the client can resume with the stream id.
    async fn stream_durable(&self, manager: &dyn StreamManager, input: Value, opts: RunOptions<Value>) -> Response {
        let id = match genkit_core::id::uuid_v4() {
            Ok(id) => id,
            Err(e) => {
                tracing::error!("Streaming request failed with error: {e}");
                return error_response(&e);
            }
        };
        let writer = match manager.open(&id).await {
            Ok(w) => w,
            Err(e) => {
                tracing::error!("Streaming request failed with error: {e}");
                return error_response(&e);
            }
        };
        let (tx, rx) = mpsc::unbounded::<Bytes>();
        tokio::spawn(run_durable(self.action.clone(), input, opts, writer, tx));
        let frames = rx.ready_chunks(64).map(|frames| Ok::<_, std::convert::Infallible>(frames.concat()));
        stream_response(Body::from_stream(frames), Some(&id))
    }
}

fn stream_response(body: Body, stream_id: Option<&str>) -> Response {
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(STREAM_CONTENT_TYPE));
    if let Some(v) = stream_id.and_then(|id| HeaderValue::try_from(id).ok()) {
        h.insert(STREAM_ID_HEADER, v);
    }
    res
}

async fn run_durable(
    action: Arc<dyn Action>,
    input: Value,
    opts: RunOptions<Value>,
    writer: Box<dyn StreamWriter>,
    tx: mpsc::UnboundedSender<Bytes>,
) {
    let (chunks_tx, mut chunks_rx) = mpsc::unbounded::<Value>();
    let control = chunks_tx.clone();
    let client = tx.clone();
    let opts = opts.on_chunk(move |chunk: Value| {
        let _ = client.unbounded_send(message_frame(&chunk));
        let _ = chunks_tx.unbounded_send(chunk);
    });
    let run = async move {
        let res = AssertUnwindSafe(action.run_json(input, opts)).catch_unwind().await;
        // Chunks sent later (by tasks the flow left behind) are not recorded.
        control.close_channel();
        res
    };
    let record = async {
        while let Some(chunk) = chunks_rx.next().await {
            if let Err(e) = writer.write(chunk).await {
                tracing::warn!("durable stream write failed: {e}");
            }
        }
    };
    let (res, ()) = futures::join!(run, record);
    let outcome = match res {
        Ok(Ok(r)) => Ok(r.result),
        Ok(Err(e)) => Err(e),
        Err(panic) => Err(panic_error(panic.as_ref())),
    };
    let (recorded, frame) = match &outcome {
        Ok(output) => (writer.done(output.clone()).await, result_frame(output)),
        Err(e) => {
            tracing::error!("Streaming request failed with error: {e}");
            (writer.error(e.clone()).await, error_frame(e))
        }
    };
    if let Err(e) = recorded {
        tracing::warn!("durable stream end failed: {e}");
    }
    let _ = tx.unbounded_send(frame);
}

/// Resumes a durable stream: replayed and live chunks, then the result or error; 204 when the
/// stream is unknown.
async fn subscribe(manager: &dyn StreamManager, id: &str) -> Response {
    match manager.subscribe(id).await {
        Ok(events) => stream_response(Body::from_stream(SubscriptionBody { events: Some(events) }), None),
        Err(e) if e.status() == Status::NotFound => StatusCode::NO_CONTENT.into_response(),
        Err(e) if e.status() == Status::DeadlineExceeded => stream_response(Body::from(error_frame(&e)), None),
        Err(e) => error_response(&e),
    }
}

/// The body of a streamed run: message frames, then the result or error frame. It drives
/// the run itself, so dropping it (client gone) drops the run and fires its token.
struct RunBody {
    run: Option<BoxFuture<'static, genkit_core::Result<ActionResult<Value>>>>,
    chunks: mpsc::UnboundedReceiver<Value>,
    last: Option<Bytes>,
    guard: Option<DropGuard>,
}

impl RunBody {
    fn start(action: &dyn Action, input: Value, opts: RunOptions<Value>) -> RunBody {
        let token = CancellationToken::new();
        let guard = token.clone().drop_guard();
        let (tx, chunks) = mpsc::unbounded();
        let opts = opts.cancellation(token).on_chunk(move |c| {
            let _ = tx.unbounded_send(c);
        });
        RunBody { run: Some(action.run_json(input, opts)), chunks, last: None, guard: Some(guard) }
    }
}

/// Frames already available are sent together, up to this many bytes per write.
const BATCH_BYTES: usize = 64 * 1024;

impl Stream for RunBody {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        // Everything that is ready goes out in one write; the frames are unchanged.
        let mut out = Vec::new();
        loop {
            while out.len() < BATCH_BYTES {
                match this.chunks.try_recv() {
                    Ok(chunk) => push_message_frame(&mut out, &chunk),
                    Err(_) => break,
                }
            }
            if out.len() >= BATCH_BYTES {
                return Poll::Ready(Some(Ok(Bytes::from(out))));
            }
            if let Some(last) = this.last.take() {
                if let Some(g) = this.guard.take() {
                    g.disarm();
                }
                out.extend_from_slice(&last);
                return Poll::Ready(Some(Ok(Bytes::from(out))));
            }
            let Some(run) = this.run.as_mut() else {
                return Poll::Ready(if out.is_empty() { None } else { Some(Ok(Bytes::from(out))) });
            };
            let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| run.poll_unpin(cx))) {
                Ok(Poll::Pending) => match this.chunks.poll_next_unpin(cx) {
                    Poll::Ready(Some(chunk)) => {
                        push_message_frame(&mut out, &chunk);
                        continue;
                    }
                    _ if out.is_empty() => return Poll::Pending,
                    _ => return Poll::Ready(Some(Ok(Bytes::from(out)))),
                },
                Ok(Poll::Ready(r)) => r.map(|r| r.result),
                Err(panic) => Err(panic_error(panic.as_ref())),
            };
            this.run = None;
            // Chunks already sent go out first (the loop drains them), then this frame.
            this.last = Some(match outcome {
                Ok(output) => result_frame(&output),
                Err(e) => {
                    tracing::error!("Streaming request failed with error: {e}");
                    error_frame(&e)
                }
            });
        }
    }
}

/// The body of a resumed durable stream.
struct SubscriptionBody {
    events: Option<BoxStream<'static, StreamEvent>>,
}

impl Stream for SubscriptionBody {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut out = Vec::new();
        while out.len() < BATCH_BYTES {
            let Some(events) = self.events.as_mut() else { break };
            match events.poll_next_unpin(cx) {
                Poll::Pending => break,
                Poll::Ready(Some(StreamEvent::Chunk(c))) => push_message_frame(&mut out, &c),
                Poll::Ready(end) => {
                    match end {
                        Some(StreamEvent::Done(output)) => out.extend_from_slice(&result_frame(&output)),
                        Some(StreamEvent::Error(e)) => out.extend_from_slice(&error_frame(&e)),
                        _ => {}
                    }
                    self.events = None;
                }
            }
        }
        if !out.is_empty() {
            Poll::Ready(Some(Ok(Bytes::from(out))))
        } else if self.events.is_none() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_detection() {
        let mut h = HeaderMap::new();
        assert!(!wants_stream(&h, None));
        assert!(wants_stream(&h, Some("a=1&stream=true")));
        assert!(!wants_stream(&h, Some("stream=false")));
        h.insert(header::ACCEPT, HeaderValue::from_static("Text/Event-Stream, */*"));
        assert!(wants_stream(&h, None));
    }

    #[test]
    fn json_content_type() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("Application/JSON; charset=utf-8"));
        assert!(is_json(&h));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!is_json(&h));
    }
}
