//! Targets for HTTP request bodies: the flow server (through its axum `Router`, no socket) and
//! the reflection API (a real server on 127.0.0.1, as the Genkit CLI reaches it).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::Request;
use genkit_core::{ActionDef, ActionType, Registry};
use genkit_reflection::{Reflection, ReflectionOptions};
use genkit_server::{HandlerOptions, InMemoryStreamManager, api_key, flow_handler, flow_handler_with};
use serde_json::Value;
use tower::ServiceExt;

/// The largest response body read back; the echo flows answer with at most a few times the input.
const MAX_RESPONSE: usize = 1 << 22;

/// An echo flow that streams its input back once as a chunk before returning it.
fn echo() -> ActionDef<Value, Value, Value> {
    ActionDef::<Value, Value, Value>::builder(ActionType::Flow, "echo").build(|v, cx| async move {
        cx.send_chunk(v.clone());
        Ok(v)
    })
}

/// A runtime that runs everything on the calling thread, so runs are repeatable, and a lock
/// that lets one input at a time use it (tests may call the targets from several threads).
struct Shared<T> {
    rt: tokio::runtime::Runtime,
    lock: Mutex<()>,
    state: T,
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("cannot start a tokio runtime for the fuzz target: {e}"),
    }
}

/// A request body for the flow server (`genkit-server`). The first byte picks the flow (plain,
/// behind an API key, durable streams), whether to stream, the `Content-Type`, the
/// `Authorization` header and a stream id to resume; the rest is the body.
pub fn flow_body(data: &[u8]) {
    static APP: OnceLock<Shared<Router>> = OnceLock::new();
    let shared = APP.get_or_init(|| {
        let echo = echo();
        let durable = InMemoryStreamManager::new().with_ttl(Duration::ZERO);
        let app = Router::new()
            .route("/echo", flow_handler(&echo))
            .route("/auth", flow_handler_with(&echo, HandlerOptions::new().context_provider(api_key("secret"))))
            .route("/durable", flow_handler_with(&echo, HandlerOptions::new().stream_manager(durable)));
        Shared { rt: runtime(), lock: Mutex::new(()), state: app }
    });
    let Some((&flags, body)) = data.split_first() else { return };
    let path = ["/echo", "/auth", "/durable", "/echo?stream=true"][usize::from(flags & 3)];
    let mut req = Request::post(path);
    if flags & 4 != 0 {
        req = req.header("accept", "text/event-stream");
    }
    req = req.header("content-type", if flags & 8 == 0 { "application/json" } else { "text/plain" });
    if flags & 16 != 0 {
        req = req.header("authorization", "secret");
    }
    if flags & 32 != 0 {
        req = req.header(genkit_server::STREAM_ID_HEADER, "fuzz-stream");
    }
    let Ok(req) = req.body(Body::from(body.to_vec())) else { return };
    let _guard = shared.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    shared.rt.block_on(async {
        let Ok(res) = shared.state.clone().oneshot(req).await;
        let status = res.status();
        let bytes = to_bytes(res.into_body(), MAX_RESPONSE).await;
        assert!(bytes.is_ok() || status.is_success(), "unreadable {status} response");
    });
}

struct ReflectionState {
    base: String,
    client: reqwest::Client,
    // Kept alive for the process: the server stops when the handle and registry go.
    _reflection: Arc<Reflection>,
    _registry: Registry,
}

/// A request body for the reflection API (`genkit-reflection`), posted to a real server on
/// 127.0.0.1 with an echo flow and a counting flow registered. The first byte picks the
/// endpoint (`runAction`, streaming `runAction`, `cancelAction`); the rest is the body.
/// `/api/notify` is left out on purpose: it sets the URL traces are exported to, and a fuzzed
/// URL must not make the fuzzer send traffic anywhere.
pub fn reflection_body(data: &[u8]) {
    static SERVER: OnceLock<Shared<ReflectionState>> = OnceLock::new();
    let shared = SERVER.get_or_init(|| {
        let rt = runtime();
        let state = rt.block_on(async {
            let registry = Registry::new();
            let count = ActionDef::<u32, String, u32>::builder(ActionType::Flow, "count").build(|n, cx| async move {
                for i in (1..=n.min(16)).rev() {
                    cx.send_chunk(i);
                }
                Ok("done".to_owned())
            });
            for a in [echo().as_action(), count.as_action()] {
                if let Err(e) = registry.register_action(a) {
                    panic!("cannot register the fuzz flows: {e}");
                }
            }
            let root = std::env::temp_dir().join(format!("genkit-fuzz-reflection-{}", std::process::id()));
            if let Err(e) = std::fs::create_dir_all(&root) {
                panic!("cannot create {}: {e}", root.display());
            }
            let opts = ReflectionOptions { project_root: Some(root), handle_signals: false, ..Default::default() };
            let reflection = match Reflection::start(&registry, opts).await {
                Ok(r) => r,
                Err(e) => panic!("cannot start the reflection server: {e}"),
            };
            let client = match reqwest::Client::builder().no_proxy().build() {
                Ok(c) => c,
                Err(e) => panic!("cannot build an HTTP client: {e}"),
            };
            ReflectionState { base: reflection.url(), client, _reflection: reflection, _registry: registry }
        });
        Shared { rt, lock: Mutex::new(()), state }
    });
    let Some((&flags, body)) = data.split_first() else { return };
    let path = ["/api/runAction", "/api/runAction?stream=true", "/api/cancelAction"][usize::from(flags % 3)];
    let s = &shared.state;
    let _guard = shared.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    shared.rt.block_on(async {
        let res = s
            .client
            .post(format!("{}{path}", s.base))
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await;
        match res {
            Ok(res) => {
                let _ = res.bytes().await;
            }
            Err(e) => panic!("the reflection server did not answer: {e}"),
        }
    });
}
