//! A Rust client for flows served over HTTP (feature `client`): JS `runFlow` / `streamFlow`
//! from `genkit/beta/client`, typed.

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::SystemTime;

use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use genkit_core::{Error, Result, Status};
use genkit_http::{Decoded, RetryAfter, SseDecoder, SseEvent, SseOptions};
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::frame::STREAM_ID_HEADER;

/// Calls flows served with the Genkit flow protocol (by this crate, Genkit JS's express
/// plugin, Go's `genkit.Handler`, …). Cheap to clone; reuses connections.
///
/// ```no_run
/// # async fn demo() -> genkit_core::Result<()> {
/// use futures::StreamExt;
/// let client = genkit_server::FlowClient::new();
/// let joke: String = client.run("http://127.0.0.1:3400/tellJoke", &"cats", &[]).await?;
/// let mut s = client.stream::<_, String, String>("http://127.0.0.1:3400/tellJoke", &"dogs", &[]).await?;
/// while let Some(chunk) = s.next().await {
///     print!("{}", chunk?);
/// }
/// let whole = s.output().await?;
/// # Ok(()) }
/// ```
///
/// A whole answer (a non-streaming result, or an error body) is read into memory only up to
/// [`FlowClient::max_response_bytes`] (32 MiB by default), so a misbehaving server cannot
/// make the client allocate without bound.
#[derive(Debug, Clone)]
pub struct FlowClient {
    http: reqwest::Client,
    max_response_bytes: usize,
}

impl Default for FlowClient {
    fn default() -> Self {
        FlowClient::new()
    }
}

#[derive(Serialize)]
struct Envelope<'a, I> {
    data: &'a I,
    /// The `init` of a bidirectional flow (an agent's `AgentInit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    init: Option<&'a Value>,
}

impl FlowClient {
    /// The default of [`FlowClient::max_response_bytes`]: 32 MiB.
    pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

    /// A client with its own connection pool.
    ///
    /// # Panics
    /// If the TLS backend cannot be initialized (it is rustls with bundled roots, so in
    /// practice never).
    pub fn new() -> Self {
        FlowClient { http: reqwest::Client::new(), max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES }
    }

    /// The largest whole answer read (a non-streaming result or an error body), in bytes
    /// (default [`FlowClient::DEFAULT_MAX_RESPONSE_BYTES`]); a larger one fails the call with
    /// `RESOURCE_EXHAUSTED`. Streamed answers are read frame by frame and are not limited in
    /// total.
    ///
    /// ```
    /// let client = genkit_server::FlowClient::new().max_response_bytes(1 << 20);
    /// ```
    #[must_use]
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    fn post<I: Serialize>(&self, url: &str, input: &I, headers: &[(&str, &str)]) -> Result<reqwest::RequestBuilder> {
        self.post_init(url, input, None, headers)
    }

    fn post_init<I: Serialize>(
        &self,
        url: &str,
        input: &I,
        init: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<reqwest::RequestBuilder> {
        let body = serde_json::to_vec(&Envelope { data: input, init })
            .map_err(|e| Error::new(Status::InvalidArgument, format!("cannot serialize the flow input: {e}")))?;
        let mut req = self.http.post(url).header("content-type", "application/json").body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Ok(req)
    }

    /// Runs the flow at `url` with `input` and returns its output (JS `runFlow`).
    ///
    /// # Errors
    /// The flow's error as the server sent it (status, message, details); `UNAVAILABLE` when
    /// the server cannot be reached; `INVALID_ARGUMENT` when the output does not fit `O`;
    /// `RESOURCE_EXHAUSTED` when the answer is over [`FlowClient::max_response_bytes`].
    pub async fn run<I: Serialize, O: DeserializeOwned>(
        &self,
        url: &str,
        input: &I,
        headers: &[(&str, &str)],
    ) -> Result<O> {
        let res = self.post(url, input, headers)?.send().await.map_err(transport_error)?;
        let status = res.status().as_u16();
        let response_headers = res.headers().clone();
        let body = read_body(res, self.max_response_bytes).await?;
        if status != 200 {
            return Err(error_from_response(status, &response_headers, &body));
        }
        let mut v: Value = serde_json::from_slice(&body)
            .map_err(|e| Error::new(Status::Internal, format!("the server sent invalid JSON: {e}")))?;
        if let Some(e) = v.get("error") {
            return Err(match e {
                Value::String(s) => Error::new(Status::Unknown, s.clone()),
                other => Error::from_json(other),
            });
        }
        let result = v.get_mut("result").map(Value::take).unwrap_or_default();
        decode(result, "output")
    }

    /// Runs the flow at `url` with `input`, streaming (JS `streamFlow`): iterate the returned
    /// [`FlowStream`] for the chunks, then await [`FlowStream::output`].
    ///
    /// # Errors
    /// As [`FlowClient::run`], for errors the server answers before streaming starts.
    pub async fn stream<I: Serialize, S: DeserializeOwned, O: DeserializeOwned>(
        &self,
        url: &str,
        input: &I,
        headers: &[(&str, &str)],
    ) -> Result<FlowStream<S, O>> {
        let req = self.post(url, input, headers)?.header("accept", "text/event-stream");
        FlowStream::start(req, self.max_response_bytes).await
    }

    /// [`FlowClient::stream`] for a bidirectional flow: the body carries `init` too
    /// (`{"data": input, "init": init}`), as agents expect (JS `streamFlow({init})`).
    ///
    /// # Errors
    /// As [`FlowClient::stream`].
    pub async fn stream_with_init<I: Serialize, S: DeserializeOwned, O: DeserializeOwned>(
        &self,
        url: &str,
        input: &I,
        init: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<FlowStream<S, O>> {
        let req = self.post_init(url, input, init, headers)?.header("accept", "text/event-stream");
        FlowStream::start(req, self.max_response_bytes).await
    }

    /// Re-subscribes to the durable stream `stream_id` of the flow at `url` (JS `streamFlow`
    /// with `streamId`): chunks sent so far are replayed, then live ones follow.
    ///
    /// # Errors
    /// `NOT_FOUND` "Stream not found." when the server does not know the stream (HTTP 204);
    /// otherwise as [`FlowClient::stream`].
    pub async fn resume<S: DeserializeOwned, O: DeserializeOwned>(
        &self,
        url: &str,
        stream_id: &str,
        headers: &[(&str, &str)],
    ) -> Result<FlowStream<S, O>> {
        let req = self
            .post(url, &Value::Null, headers)?
            .header("accept", "text/event-stream")
            .header(STREAM_ID_HEADER, stream_id);
        FlowStream::start(req, self.max_response_bytes).await
    }
}

fn shared() -> &'static FlowClient {
    static CLIENT: OnceLock<FlowClient> = OnceLock::new();
    CLIENT.get_or_init(FlowClient::new)
}

/// Runs the flow at `url` with a shared [`FlowClient`] (JS `runFlow`).
///
/// ```no_run
/// # async fn demo() -> genkit_core::Result<()> {
/// let out: String = genkit_server::run_flow("http://127.0.0.1:3400/echo", &"hi", &[("authorization", "k")]).await?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`FlowClient::run`].
pub async fn run_flow<I: Serialize, O: DeserializeOwned>(url: &str, input: &I, headers: &[(&str, &str)]) -> Result<O> {
    shared().run(url, input, headers).await
}

/// Streams the flow at `url` with a shared [`FlowClient`] (JS `streamFlow`).
///
/// # Errors
/// As [`FlowClient::stream`].
pub async fn stream_flow<I: Serialize, S: DeserializeOwned, O: DeserializeOwned>(
    url: &str,
    input: &I,
    headers: &[(&str, &str)],
) -> Result<FlowStream<S, O>> {
    shared().stream(url, input, headers).await
}

fn transport_error(e: reqwest::Error) -> Error {
    let status = if e.is_timeout() { Status::DeadlineExceeded } else { Status::Unavailable };
    Error::new(status, format!("flow request failed: {e}")).with_source(e)
}

/// Reads a whole answer body, refusing one over `limit` bytes: up front when its
/// `Content-Length` says so, else as soon as the bytes received pass the limit.
async fn read_body(mut res: reqwest::Response, limit: usize) -> Result<Vec<u8>> {
    let too_large = || {
        Error::new(
            Status::ResourceExhausted,
            format!("the flow server's answer is larger than the client's limit of {limit} bytes (max_response_bytes)"),
        )
    };
    if res.content_length().is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(too_large());
    }
    let mut out = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(transport_error)? {
        if chunk.len() > limit.saturating_sub(out.len()) {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn decode<T: DeserializeOwned>(v: Value, what: &str) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::new(Status::InvalidArgument, format!("unexpected flow {what}: {e}")))
}

/// The error of a non-200 answer: the Genkit error in the body when there is one, else the
/// HTTP status mapped to a Genkit status; with the server's `Retry-After`, if it sent one.
fn error_from_response(code: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let genkit = parsed.as_ref().and_then(|v| match v.get("error") {
        Some(e @ Value::Object(_)) => Some(e),
        _ if v.get("status").is_some_and(Value::is_string) => Some(v),
        _ => None,
    });
    let e = match genkit {
        Some(v) => Error::from_json(v),
        None => {
            Error::new(Status::from_http(code), format!("Server returned: {code}: {}", String::from_utf8_lossy(body)))
        }
    };
    let e = e.with_http_status(code);
    match RetryAfter::new().from_headers(headers, SystemTime::now()) {
        Some(after) => e.with_retry_after(after),
        None => e,
    }
}

enum Frame {
    Message(Value),
    Result(Value),
    Error(Error),
}

/// One frame of the flow protocol: `data: {"message"|"result": …}` or
/// `error: {"error": {…}}` (read as an event of type `error`).
fn parse_frame(event: &SseEvent) -> Result<Frame> {
    let mut v: Value = serde_json::from_str(&event.data)
        .map_err(|e| Error::new(Status::Internal, format!("the server sent an invalid stream frame: {e}")))?;
    if let Some(m) = v.get_mut("message") {
        Ok(Frame::Message(m.take()))
    } else if let Some(r) = v.get_mut("result") {
        Ok(Frame::Result(r.take()))
    } else if let Some(e) = v.get("error") {
        Ok(Frame::Error(Error::from_json(e)))
    } else {
        Err(Error::new(Status::Internal, format!("unknown chunk format: {v}")))
    }
}

/// The decoder of the flow protocol's frames: Server-Sent Events plus `error:` lines.
fn frame_decoder() -> SseDecoder {
    SseDecoder::with_options(SseOptions::new().event_field("error"))
}

/// The events of a streamed answer.
fn events(res: reqwest::Response) -> impl Stream<Item = Result<SseEvent>> + Send + 'static {
    let body =
        futures::stream::try_unfold(res, |mut res| async move { Ok(res.chunk().await?.map(|chunk| (chunk, res))) })
            .map_err(transport_error);
    Decoded::new(body, frame_decoder())
}

/// A streaming flow call: a [`Stream`] of chunks `S`, then [`FlowStream::output`]. Dropping it
/// closes the connection, which cancels the flow on the server (unless it is a durable
/// stream).
pub struct FlowStream<S, O> {
    frames: BoxStream<'static, Result<Frame>>,
    stream_id: Option<String>,
    output: Option<Result<O>>,
    finished: bool,
    _chunk: PhantomData<fn() -> S>,
}

impl<S, O> fmt::Debug for FlowStream<S, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowStream").field("stream_id", &self.stream_id).field("finished", &self.finished).finish()
    }
}

impl<S, O> Unpin for FlowStream<S, O> {}

impl<S: DeserializeOwned, O: DeserializeOwned> FlowStream<S, O> {
    async fn start(req: reqwest::RequestBuilder, max_error_bytes: usize) -> Result<Self> {
        let res = req.send().await.map_err(transport_error)?;
        let code = res.status().as_u16();
        if code == 204 {
            return Err(Error::new(Status::NotFound, "Stream not found.").with_http_status(204));
        }
        if code != 200 {
            let headers = res.headers().clone();
            let body = read_body(res, max_error_bytes).await?;
            return Err(error_from_response(code, &headers, &body));
        }
        let stream_id = res.headers().get(STREAM_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let frames = events(res).map(|event| event.and_then(|e| parse_frame(&e))).boxed();
        Ok(FlowStream { frames, stream_id, output: None, finished: false, _chunk: PhantomData })
    }

    /// The durable stream id the server assigned (`x-genkit-stream-id`), if it keeps one;
    /// pass it to [`FlowClient::resume`] to reconnect.
    pub fn stream_id(&self) -> Option<&str> {
        self.stream_id.as_deref()
    }

    /// Reads the rest of the stream (discarding chunks) and returns the flow's output.
    ///
    /// # Errors
    /// The flow's error, a transport error, or `INTERNAL` when the stream ends without a
    /// result.
    pub async fn output(mut self) -> Result<O> {
        while !self.finished {
            let _ = self.next().await;
        }
        self.output.take().unwrap_or_else(|| Err(Error::new(Status::FailedPrecondition, "stream output already taken")))
    }
}

impl<S: DeserializeOwned, O: DeserializeOwned> Stream for FlowStream<S, O> {
    type Item = Result<S>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        let failure = match self.frames.poll_next_unpin(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(Ok(Frame::Message(m)))) => return Poll::Ready(Some(decode(m, "chunk"))),
            Poll::Ready(Some(Ok(Frame::Result(r)))) => {
                self.finished = true;
                self.output = Some(decode(r, "output"));
                return Poll::Ready(None);
            }
            Poll::Ready(Some(Ok(Frame::Error(e)) | Err(e))) => e,
            Poll::Ready(None) => Error::new(Status::Internal, "stream did not terminate correctly"),
        };
        self.finished = true;
        self.output = Some(Err(failure.clone()));
        Poll::Ready(Some(Err(failure)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genkit_http::Decoder;
    use serde_json::json;

    fn parse(text: &[u8]) -> Result<Frame> {
        let mut d = frame_decoder();
        d.push(text);
        parse_frame(&d.next_item()?.expect("one frame"))
    }

    #[test]
    fn frames_parse() {
        assert!(matches!(parse(b"data: {\"message\":1}\n\n"), Ok(Frame::Message(m)) if m == json!(1)));
        assert!(matches!(parse(b"data: {\"result\":\"r\"}\n\n"), Ok(Frame::Result(r)) if r == json!("r")));
        let Ok(Frame::Error(e)) = parse(b"error: {\"error\":{\"status\":\"NOT_FOUND\",\"message\":\"m\"}}\n\n") else {
            panic!("not an error frame")
        };
        assert_eq!((e.status(), e.message()), (Status::NotFound, "m"));
        assert!(parse(b"data: {\"x\":1}\n\n").is_err());
        assert!(parse(b"data: not json\n\n").is_err());
    }

    #[test]
    fn error_answers_parse() {
        let none = HeaderMap::new();
        let e = error_from_response(401, &none, br#"{"status":"UNAUTHENTICATED","message":"Unauthenticated"}"#);
        assert_eq!(
            (e.status(), e.message(), e.provider_http_status()),
            (Status::Unauthenticated, "Unauthenticated", Some(401))
        );
        let e = error_from_response(400, &none, br#"{"message":"bad","status":"INVALID ARGUMENT"}"#);
        assert_eq!(e.status(), Status::InvalidArgument);
        let e = error_from_response(502, &none, b"<html>bad gateway</html>");
        assert_eq!(e.status(), Status::Unavailable);
        assert!(e.message().starts_with("Server returned: 502: "));
        assert_eq!(e.retry_after(), None);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", reqwest::header::HeaderValue::from_static("3"));
        let e = error_from_response(429, &headers, b"slow down");
        assert_eq!((e.status(), e.retry_after()), (Status::ResourceExhausted, Some(std::time::Duration::from_secs(3))));
    }
}
