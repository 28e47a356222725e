//! The load-and-leaks workload (`scripts/load-servers`, `tests/load.rs`): a non-streaming
//! and a streaming flow served by the flow server and by the reflection server, a client that
//! checks every streamed frame byte for byte, and clients that hang up mid-stream.
//!
//! The streaming flow `count` sends `n` chunks that each name their request (`tag`) and their
//! position (`i`) and carry a text derived from both, so a lost, repeated, reordered, mixed-up
//! or garbled frame never looks like a correct one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use genkit::Flow;
use genkit::prelude::*;
use genkit::reflection::{Reflection, ReflectionOptions};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The input of `count`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CountInput {
    /// How many chunks to send.
    pub n: u32,
    /// Names the request; every chunk and the result repeat it.
    pub tag: String,
    /// A pause before each chunk, in milliseconds (default none), so a run lasts long enough
    /// for a client to leave in the middle.
    #[serde(default)]
    pub delay_ms: u64,
}

/// One chunk of `count`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CountChunk {
    /// The request's tag.
    pub tag: String,
    /// The chunk's position, from 0.
    pub i: u32,
    /// A text derived from `tag` and `i` ([`chunk_text`]).
    pub text: String,
}

/// The output of `count`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CountOutput {
    /// The request's tag.
    pub tag: String,
    /// How many chunks were sent.
    pub count: u32,
}

/// The text of chunk `i` of request `tag`: both, then 64 hex digits rotated by `i`.
pub fn chunk_text(tag: &str, i: u32) -> String {
    let digits = "0123456789abcdef".repeat(4);
    let k = (i % 64) as usize;
    format!("{tag}/{i}/{}{}", &digits[k..], &digits[..k])
}

/// The chunk `count` sends at position `i` for `tag`.
pub fn expected_chunk(tag: &str, i: u32) -> CountChunk {
    CountChunk { tag: tag.to_owned(), i, text: chunk_text(tag, i) }
}

/// Counts the `count` runs: those in progress (up when a run starts, down when its future is
/// dropped: finished, failed or cancelled) and all started so far.
#[derive(Debug, Clone, Default)]
pub struct LiveRuns {
    live: Arc<AtomicUsize>,
    started: Arc<AtomicUsize>,
}

impl LiveRuns {
    /// Runs in progress now.
    pub fn get(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Runs started so far.
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    fn enter(&self) -> LiveGuard {
        self.started.fetch_add(1, Ordering::SeqCst);
        self.live.fetch_add(1, Ordering::SeqCst);
        LiveGuard(self.live.clone())
    }
}

struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The workload app: the Genkit instance, its flows, and the count of live `count` runs.
#[derive(Debug)]
pub struct LoadApp {
    /// The instance.
    pub genkit: Genkit,
    /// Returns its input (non-streaming).
    pub echo: Flow<String, String>,
    /// Streams `n` chunks (see the module docs).
    pub count: Flow<CountInput, CountOutput, CountChunk>,
    /// `count` runs in progress.
    pub live: LiveRuns,
}

/// Builds the workload app.
///
/// # Errors
/// When the instance cannot be built.
pub async fn load_app() -> genkit::Result<LoadApp> {
    let g = Genkit::builder().no_prompt_dir().build().await?;
    let echo = g.define_flow("echo", |input: String, _cx| async move { Ok(input) });
    let live = LiveRuns::default();
    let runs = live.clone();
    let count = g.define_streaming_flow("count", move |input: CountInput, cx: ActionCx<CountChunk>| {
        let guard = runs.enter();
        async move {
            let _guard = guard;
            for i in 0..input.n {
                if input.delay_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(input.delay_ms)).await;
                }
                cx.send_chunk(expected_chunk(&input.tag, i));
            }
            Ok(CountOutput { tag: input.tag, count: input.n })
        }
    });
    Ok(LoadApp { genkit: g, echo, count, live })
}

/// The flow server's router for the workload: `POST /echo` and `POST /count`.
pub fn flow_router(app: &LoadApp) -> genkit::server::axum::Router {
    genkit::server::FlowServerOptions::new().flow(&app.echo).flow(&app.count).router()
}

/// Starts the reflection server (v1, HTTP on 127.0.0.1) for the app, on `port` (0: any free
/// one), with its runtime file under `project_root`, no telemetry server and no signal
/// handling.
///
/// # Errors
/// When the port is taken or the runtime file cannot be written.
pub async fn start_reflection(
    app: &LoadApp,
    port: u16,
    project_root: std::path::PathBuf,
) -> genkit::Result<Arc<Reflection>> {
    let opts = ReflectionOptions {
        port: Some(port),
        project_root: Some(project_root),
        handle_signals: false,
        telemetry_server: None,
        realtime_telemetry: Some(false),
        reflection_v2_server: None,
        ..ReflectionOptions::default()
    };
    Reflection::start(app.genkit.registry(), opts).await
}

/// The flow-server request body of `count`.
pub fn flow_body(tag: &str, n: u32, delay_ms: u64) -> String {
    let input = CountInput { n, tag: tag.to_owned(), delay_ms };
    serde_json::json!({ "data": input }).to_string()
}

/// The reflection `runAction` request body of `count`.
pub fn reflection_body(tag: &str, n: u32, delay_ms: u64) -> String {
    let input = CountInput { n, tag: tag.to_owned(), delay_ms };
    serde_json::json!({ "key": "/flow/count", "input": input }).to_string()
}

/// Reads a whole answer body.
async fn read_all(mut res: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(c) = res.chunk().await.map_err(|e| format!("reading the answer: {e}"))? {
        out.extend_from_slice(&c);
    }
    Ok(out)
}

fn json_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Streams `count` from the flow server at `url` (`…/count`) and checks the answer byte for
/// byte: `n` frames `data: {"message":<chunk i>}\n\n` in order, then
/// `data: {"result":{"tag","count"}}\n\n`, then nothing. Returns the number of frames checked.
///
/// # Errors
/// What was wrong, with the request's tag.
pub async fn verify_flow_stream(http: &reqwest::Client, url: &str, tag: &str, n: u32) -> Result<u64, String> {
    let res = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "text/event-stream")
        .body(flow_body(tag, n, 0))
        .send()
        .await
        .map_err(|e| format!("{tag}: request failed: {e}"))?;
    if res.status() != 200 {
        return Err(format!("{tag}: HTTP {}", res.status()));
    }
    let body = read_all(res).await.map_err(|e| format!("{tag}: {e}"))?;
    let mut rest = body.as_slice();
    for i in 0..n {
        let frame = format!("data: {{\"message\":{}}}\n\n", json_text(&expected_chunk(tag, i)));
        rest = rest.strip_prefix(frame.as_bytes()).ok_or_else(|| mismatch(tag, i, &frame, rest))?;
    }
    let last = format!("data: {{\"result\":{}}}\n\n", json_text(&CountOutput { tag: tag.to_owned(), count: n }));
    rest = rest.strip_prefix(last.as_bytes()).ok_or_else(|| mismatch(tag, n, &last, rest))?;
    if !rest.is_empty() {
        return Err(format!("{tag}: {} bytes after the result frame", rest.len()));
    }
    Ok(u64::from(n) + 1)
}

/// Streams `count` from the reflection server at `base` (`POST /api/runAction?stream=true`)
/// and checks every line: `n` chunk lines in order, then the envelope
/// `{"result":…,"telemetry":{"traceId":…}}` with no newline after it. Returns the number of
/// lines checked.
///
/// # Errors
/// What was wrong, with the request's tag.
pub async fn verify_reflection_stream(http: &reqwest::Client, base: &str, tag: &str, n: u32) -> Result<u64, String> {
    let res = http
        .post(format!("{base}/api/runAction?stream=true"))
        .header("content-type", "application/json")
        .body(reflection_body(tag, n, 0))
        .send()
        .await
        .map_err(|e| format!("{tag}: request failed: {e}"))?;
    if res.status() != 200 {
        return Err(format!("{tag}: HTTP {}", res.status()));
    }
    let body = read_all(res).await.map_err(|e| format!("{tag}: {e}"))?;
    let mut rest = body.as_slice();
    for i in 0..n {
        let line = format!("{}\n", json_text(&expected_chunk(tag, i)));
        rest = rest.strip_prefix(line.as_bytes()).ok_or_else(|| mismatch(tag, i, &line, rest))?;
    }
    let prefix = format!(
        "{{\"result\":{},\"telemetry\":{{\"traceId\":\"",
        json_text(&CountOutput { tag: tag.to_owned(), count: n })
    );
    let trace = rest.strip_prefix(prefix.as_bytes()).ok_or_else(|| mismatch(tag, n, &prefix, rest))?;
    let ok = trace.len() == 32 + 3 && trace.ends_with(b"\"}}") && trace[..32].iter().all(u8::is_ascii_hexdigit);
    if !ok {
        return Err(format!("{tag}: bad envelope end {:?}", String::from_utf8_lossy(trace)));
    }
    Ok(u64::from(n) + 1)
}

fn mismatch(tag: &str, i: u32, expected: &str, got: &[u8]) -> String {
    let shown = &got[..got.len().min(expected.len() + 16)];
    format!("{tag}: frame {i}: expected {expected:?}, got {:?}", String::from_utf8_lossy(shown))
}

/// Which server a verifying client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The flow server (`POST <base>/count`, SSE frames).
    FlowServer,
    /// The reflection server (`POST <base>/api/runAction?stream=true`, JSON lines).
    Reflection,
}

/// The outcome of [`verify_many`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    /// Streams read to the end.
    pub streams: u64,
    /// Frames (or lines) found intact, result included.
    pub frames: u64,
    /// Streams that were wrong or failed.
    pub failed: u64,
    /// The first few failures.
    pub errors: Vec<String>,
}

/// Runs `streams` streaming requests of `n` chunks each against `base`, `concurrency` at a
/// time, each with its own tag (`<prefix>-<k>`), and checks every frame of every answer.
pub async fn verify_many(
    target: Target,
    base: &str,
    prefix: &str,
    streams: u64,
    concurrency: usize,
    n: u32,
) -> Verified {
    use futures::StreamExt;
    let http = reqwest::Client::new();
    let results = futures::stream::iter(0..streams)
        .map(|k| {
            let http = http.clone();
            let tag = format!("{prefix}-{k}");
            async move {
                match target {
                    Target::FlowServer => verify_flow_stream(&http, &format!("{base}/count"), &tag, n).await,
                    Target::Reflection => verify_reflection_stream(&http, base, &tag, n).await,
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut v = Verified::default();
    for r in results {
        v.streams += 1;
        match r {
            Ok(frames) => v.frames += frames,
            Err(e) => {
                v.failed += 1;
                if v.errors.len() < 5 {
                    v.errors.push(e);
                }
            }
        }
    }
    v
}

/// Starts a streaming `count` request of `n` chunks `delay_ms` apart on a raw connection to
/// `addr`, reads until the first chunk has arrived, then drops the connection: a client that
/// leaves mid-stream. `reflection` picks the reflection API instead of the flow server;
/// `stream: false` leaves before a non-streaming answer instead (after the headers for the
/// reflection server, which sends them early; at once for the flow server).
///
/// # Errors
/// When the connection fails or closes before the first chunk.
pub async fn hang_up_mid_stream(
    addr: std::net::SocketAddr,
    reflection: bool,
    stream: bool,
    tag: &str,
    n: u32,
    delay_ms: u64,
) -> std::io::Result<()> {
    let (path, body) = match (reflection, stream) {
        (false, true) => ("/count?stream=true", flow_body(tag, n, delay_ms)),
        (false, false) => ("/count", flow_body(tag, n, delay_ms)),
        (true, true) => ("/api/runAction?stream=true", reflection_body(tag, n, delay_ms)),
        (true, false) => ("/api/runAction", reflection_body(tag, n, delay_ms)),
    };
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        addr.port(),
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    if !stream && !reflection {
        // The run has started once the request is in; leave before its answer.
        tokio::time::sleep(Duration::from_millis(delay_ms.max(1))).await;
        return Ok(());
    }
    let marker = if stream { "\"i\":0," } else { "x-genkit-trace-id" };
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).to_ascii_lowercase().contains(marker) {
        let k = s.read(&mut buf).await?;
        if k == 0 {
            return Err(std::io::Error::other(format!("{tag}: closed before the first chunk")));
        }
        got.extend_from_slice(&buf[..k]);
    }
    Ok(())
}
