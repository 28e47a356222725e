//! A small HTTP/1.1 server on 127.0.0.1 that misbehaves on purpose, for fault tests of
//! provider plugins: it cuts streams, resets connections, sends malformed JSON, answers 429
//! with `Retry-After` or 5xx, stalls, or sends more than anyone should read. It speaks just
//! enough HTTP for a client: it reads one request per connection (head and `Content-Length`
//! body), answers with `Connection: close`, and closes.
//!
//! Each request gets the next [`Fault`] of the script; the last one repeats.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// A complete JSON answer, HTTP 200.
    Json(Value),
    /// A complete Server-Sent Events answer: `data: <event>` for each, then `data: [DONE]`.
    Sse(Vec<Value>),
    /// An answer with this status, extra headers and body (JSON content type).
    Status(u16, Vec<(&'static str, String)>, String),
    /// HTTP 200 with this content type and body as given (malformed JSON, …).
    Raw(&'static str, String),
    /// SSE headers and these events, then the connection closes cleanly (no finish, no
    /// `[DONE]`): a stream cut by a proxy or a crashed server.
    CutStream(Vec<Value>),
    /// SSE headers and these events (chunked), then a TCP reset.
    ResetMidStream(Vec<Value>),
    /// A TCP reset instead of any answer.
    Reset,
    /// A `Content-Length` larger than the body sent, then the connection closes.
    ShortBody(usize, String),
    /// The request is read and never answered; the connection stays open.
    Stall,
    /// SSE headers and these events, then nothing more, the connection open.
    StallMidStream(Vec<Value>),
    /// HTTP 200 with this content type and a body that never ends (no line ends either).
    Endless(&'static str),
}

/// A running fault server. Dropping it stops accepting connections.
#[derive(Debug)]
pub struct FaultServer {
    base: String,
    requests: Arc<AtomicUsize>,
    accept: JoinHandle<()>,
}

impl FaultServer {
    /// Starts a server on a free port of 127.0.0.1 playing `script` (request `i` gets
    /// `script[min(i, len - 1)]`).
    ///
    /// # Panics
    /// When `script` is empty or no port can be bound.
    pub async fn start(script: Vec<Fault>) -> FaultServer {
        assert!(!script.is_empty(), "a fault script needs at least one step");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let requests = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let count = requests.clone();
        let accept = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let script = script.clone();
                let count = count.clone();
                tokio::spawn(async move {
                    let mut sock = sock;
                    // `None`: the client went away before sending a whole request.
                    let _ = read_request(&mut sock, script, count).await;
                    // Dropping the socket here closes it (or resets it, after `set_zero_linger`).
                });
            }
        });
        FaultServer { base, requests, accept }
    }

    /// The base URL with `/v1`, as an OpenAI-compatible plugin wants it.
    pub fn url(&self) -> String {
        format!("{}/v1", self.base)
    }

    /// How many requests have come in so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Reads one request and answers it as the script says. `None` when the client went away.
async fn read_request(sock: &mut TcpStream, script: Arc<Vec<Fault>>, count: Arc<AtomicUsize>) -> Option<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut tmp).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        let n = sock.read(&mut tmp).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&tmp[..n]);
    }
    let i = count.fetch_add(1, Ordering::SeqCst);
    let fault = script[i.min(script.len() - 1)].clone();
    play(sock, fault).await;
    Some(())
}

fn sse_event(ev: &Value) -> String {
    format!("data: {ev}\n\n")
}

/// One chunk of a chunked body.
fn chunk(data: &str) -> String {
    format!("{:x}\r\n{data}\r\n", data.len())
}

const SSE_HEAD: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";

/// Waits "forever" (longer than any test runs) with the connection open.
async fn hold() {
    tokio::time::sleep(Duration::from_secs(3600)).await;
}

async fn play(sock: &mut TcpStream, fault: Fault) {
    let complete = |status: &str, ctype: &str, headers: &[(&str, String)], body: &str| {
        let mut out = format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("Connection: close\r\n\r\n");
        out.push_str(body);
        out
    };
    // Write errors mean the client went away, which is the client's right in a fault test.
    let _ = match fault {
        Fault::Json(v) => sock.write_all(complete("200 OK", "application/json", &[], &v.to_string()).as_bytes()).await,
        Fault::Sse(events) => {
            let mut body: String = events.iter().map(sse_event).collect();
            body.push_str("data: [DONE]\n\n");
            sock.write_all(complete("200 OK", "text/event-stream", &[], &body).as_bytes()).await
        }
        Fault::Status(code, headers, body) => {
            let status = format!("{code} Fault");
            sock.write_all(complete(&status, "application/json", &headers, &body).as_bytes()).await
        }
        Fault::Raw(ctype, body) => sock.write_all(complete("200 OK", ctype, &[], &body).as_bytes()).await,
        Fault::CutStream(events) => {
            // No chunked framing: the body runs to the end of the connection, so closing it is
            // a clean end of body and only the SSE content shows the cut.
            let mut out = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n".to_owned();
            out.extend(events.iter().map(sse_event));
            sock.write_all(out.as_bytes()).await
        }
        Fault::ResetMidStream(events) => {
            let mut out = SSE_HEAD.to_owned();
            out.extend(events.iter().map(|e| chunk(&sse_event(e))));
            let _ = sock.write_all(out.as_bytes()).await;
            let _ = sock.flush().await;
            // Let the client read what was sent before the reset discards it.
            tokio::time::sleep(Duration::from_millis(100)).await;
            sock.set_zero_linger()
        }
        Fault::Reset => sock.set_zero_linger(),
        Fault::ShortBody(declared, body) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
            );
            sock.write_all(format!("{head}{body}").as_bytes()).await
        }
        Fault::Stall => {
            hold().await;
            Ok(())
        }
        Fault::StallMidStream(events) => {
            let mut out = SSE_HEAD.to_owned();
            out.extend(events.iter().map(|e| chunk(&sse_event(e))));
            let _ = sock.write_all(out.as_bytes()).await;
            hold().await;
            Ok(())
        }
        Fault::Endless(ctype) => {
            let mut head = format!("HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nConnection: close\r\n\r\n");
            if ctype == "text/event-stream" {
                head.push_str("data: ");
            }
            let _ = sock.write_all(head.as_bytes()).await;
            let block = vec![b'x'; 64 << 10];
            while sock.write_all(&block).await.is_ok() {}
            Ok(())
        }
    };
}
