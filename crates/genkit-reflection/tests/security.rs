//! The reflection server refuses what a web page open in a browser could send it (a
//! cross-origin `text/plain` POST, a DNS-rebinding `Host`, a cross-site link), accepts what
//! the Genkit CLI and Dev UI send, bounds request bodies, and keeps secrets out of its error
//! answers. Requests are written byte by byte on a raw socket, so every header is the test's.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use genkit_core::{ActionDef, ActionType, Error, Registry, Status};
use genkit_reflection::{Reflection, ReflectionOptions};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Fixture {
    reflection: Arc<Reflection>,
    root: std::path::PathBuf,
    runs: Arc<AtomicUsize>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.reflection.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

async fn fixture(tag: &str) -> Fixture {
    let registry = Registry::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let hello = ActionDef::<String, String, ()>::builder(ActionType::Flow, "hello").build(move |name, _cx| {
        r.fetch_add(1, Ordering::SeqCst);
        async move { Ok(format!("Hello {name}")) }
    });
    let leaky = ActionDef::<Value, String, String>::builder(ActionType::Flow, "leaky").build(|_, cx| async move {
        cx.send_chunk("tick".into());
        Err(Error::new(Status::FailedPrecondition, "tool not found").with_details(json!({
            "request": {"config": {"apiKey": "sk-secret-1"}, "temperature": 0.3},
            "context": {"auth": {"uid": "u1", "token": "tok-secret-2"}},
            "secrets": {"db": "pw-secret-3"},
        })))
    });
    registry.register_action(hello.as_action()).unwrap();
    registry.register_action(leaky.as_action()).unwrap();
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let root = std::env::temp_dir().join(format!("genkit-refl-sec-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let opts = ReflectionOptions {
        project_root: Some(root.clone()),
        handle_signals: false,
        telemetry_server: Some("http://127.0.0.1:9".into()),
        ..ReflectionOptions::default()
    };
    let reflection = Reflection::start(&registry, opts).await.unwrap();
    reflection.announced().await;
    Fixture { reflection, root, runs }
}

/// An answer read off the socket: the status code and everything after the header block
/// (still chunk-encoded for streamed answers, which is enough for `contains`).
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Sends one HTTP/1.1 request with exactly `headers` (plus `Content-Length` and
/// `Connection: close`) and reads the whole answer.
async fn raw(f: &Fixture, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let addr = f.reflection.local_addr().unwrap();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Answer { status, head: head.to_owned(), body: body.to_owned() }
}

fn host(f: &Fixture) -> String {
    format!("127.0.0.1:{}", f.reflection.local_addr().unwrap().port())
}

const RUN_HELLO: &[u8] = br#"{"key":"/flow/hello","input":"x","context":{"auth":{"uid":"admin"}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_page_cannot_run_actions() {
    let f = fixture("run").await;
    let h = host(&f);
    // The "simple" cross-origin POST a page may send without a preflight.
    let a = raw(
        &f,
        "POST",
        "/api/runAction",
        &[("Host", &h), ("Origin", "https://evil.example"), ("Content-Type", "text/plain")],
        RUN_HELLO,
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(a.json()["error"]["code"], 7);
    // The same body as text/plain without an Origin: not JSON, so refused, with a clear message.
    let a = raw(&f, "POST", "/api/runAction", &[("Host", &h), ("Content-Type", "text/plain")], RUN_HELLO).await;
    assert_eq!(a.status, 415, "{}", a.body);
    let e = &a.json()["error"];
    assert_eq!(e["code"], 3);
    assert!(e["message"].as_str().unwrap().contains("application/json"), "{e}");
    let a = raw(&f, "POST", "/api/runAction", &[("Host", &h)], RUN_HELLO).await;
    assert_eq!(a.status, 415);
    // A JSON POST from another origin (the browser would have to pass a preflight first).
    let a = raw(
        &f,
        "POST",
        "/api/runAction",
        &[("Host", &h), ("Origin", "http://localhost.evil.example:3000"), ("Content-Type", "application/json")],
        RUN_HELLO,
    )
    .await;
    assert_eq!(a.status, 403);
    assert_eq!(f.runs.load(Ordering::SeqCst), 0, "no refused request ran the action");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_rebinding_host_is_refused() {
    let f = fixture("rebind").await;
    let port = f.reflection.local_addr().unwrap().port();
    let rebound = format!("rebind.evil.example:{port}");
    let a = raw(&f, "GET", "/api/actions", &[("Host", &rebound)], b"").await;
    assert_eq!(a.status, 403);
    assert!(!a.body.contains("/flow/hello"), "the action list does not leak: {}", a.body);
    let a = raw(
        &f,
        "POST",
        "/api/runAction",
        &[("Host", &rebound), ("Origin", &format!("http://{rebound}")), ("Content-Type", "application/json")],
        RUN_HELLO,
    )
    .await;
    assert_eq!(a.status, 403);
    let a = raw(&f, "GET", "/api/actions", &[], b"").await;
    assert_eq!(a.status, 403, "no Host at all");
    assert_eq!(f.runs.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_page_cannot_redirect_traces_or_stop_the_runtime() {
    let f = fixture("notify").await;
    let h = host(&f);
    let notify = br#"{"telemetryServerUrl":"https://collector.evil.example"}"#;
    let a = raw(&f, "POST", "/api/notify", &[("Host", &h), ("Content-Type", "text/plain")], notify).await;
    assert_eq!(a.status, 415);
    let a = raw(
        &f,
        "POST",
        "/api/notify",
        &[("Host", &h), ("Origin", "https://evil.example"), ("Content-Type", "application/json")],
        notify,
    )
    .await;
    assert_eq!(a.status, 403);
    assert_eq!(f.reflection.exporter().url().as_deref(), Some("http://127.0.0.1:9"));
    // A link or an image on another site: a GET with `Sec-Fetch-Site: cross-site`.
    let a = raw(&f, "GET", "/api/__quitquitquit", &[("Host", &h), ("Sec-Fetch-Site", "cross-site")], b"").await;
    assert_eq!(a.status, 403);
    let a = raw(&f, "GET", "/api/__quitquitquit", &[("Host", &h), ("Origin", "null")], b"").await;
    assert_eq!(a.status, 403);
    let a = raw(&f, "GET", "/api/__health", &[("Host", &h)], b"").await;
    assert_eq!(a.status, 200, "still running");
    assert!(f.reflection.runtime_file().is_some_and(|p| p.exists()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_the_dev_ui_get_through() {
    let f = fixture("tools").await;
    let h = host(&f);
    // Node's fetch (`__health`) and axios (`runAction`, `notify`), as the CLI 1.43 sends them.
    let a = raw(&f, "GET", &format!("/api/__health?id={}", f.reflection.runtime_id()), &[("Host", &h)], b"").await;
    assert_eq!(a.status, 200);
    let axios = [
        ("Host", h.as_str()),
        ("Accept", "application/json, text/plain, */*"),
        ("Content-Type", "application/json"),
        ("User-Agent", "axios/1.13.2"),
    ];
    let a = raw(&f, "POST", "/api/runAction?stream=true", &axios, RUN_HELLO).await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("Hello x"), "{}", a.body);
    let a = raw(&f, "POST", "/api/notify", &axios, br#"{"telemetryServerUrl":"http://localhost:4033"}"#).await;
    assert_eq!(a.status, 200);
    // A page of the Dev UI (served by the CLI on localhost) and the `localhost` host name.
    let local = format!("localhost:{}", f.reflection.local_addr().unwrap().port());
    let a = raw(
        &f,
        "POST",
        "/api/runAction",
        &[
            ("Host", &local),
            ("Origin", "http://localhost:4000"),
            ("Sec-Fetch-Site", "same-site"),
            ("Content-Type", "application/json; charset=UTF-8"),
        ],
        RUN_HELLO,
    )
    .await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("Hello x"), "{}", a.body);
    assert!(a.head.to_ascii_lowercase().contains("x-genkit-version: rust/"));
    assert_eq!(f.runs.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_bodies_get_a_json_413() {
    let f = fixture("big").await;
    let h = host(&f);
    let big = vec![b' '; 31 * 1024 * 1024];
    let a = raw(&f, "POST", "/api/runAction", &[("Host", &h), ("Content-Type", "application/json")], &big).await;
    assert_eq!(a.status, 413);
    let e = &a.json()["error"];
    assert_eq!(e["code"], 3);
    assert!(e["message"].as_str().unwrap().starts_with("request entity too large"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_answers_carry_no_secrets() {
    let f = fixture("secrets").await;
    let h = host(&f);
    let json_post = [("Host", h.as_str()), ("Content-Type", "application/json")];
    for path in ["/api/runAction", "/api/runAction?stream=true"] {
        let a = raw(&f, "POST", path, &json_post, br#"{"key":"/flow/leaky","input":null}"#).await;
        assert_eq!(a.status, 200);
        for secret in ["sk-secret-1", "tok-secret-2", "pw-secret-3", "u1"] {
            assert!(!a.body.contains(secret), "{path} leaks {secret}: {}", a.body);
        }
        assert!(a.body.contains("tool not found") && a.body.contains("<redacted>"), "{}", a.body);
        assert!(a.body.contains("\"temperature\":0.3"), "other details stay: {}", a.body);
    }
}
