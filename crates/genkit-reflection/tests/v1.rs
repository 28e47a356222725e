//! Reflection API v1 over real HTTP: every endpoint, early trace headers, streaming framing,
//! errors, cancellation, the runtime file, and trace export to a fake telemetry server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use genkit_core::{ActionDef, ActionType, Error, Registry, RegistryValue, Status};
use genkit_reflection::{Reflection, ReflectionOptions};
use serde_json::{Value, json};
use tokio::sync::Notify;

type Posts = Arc<Mutex<Vec<Value>>>;

/// A telemetry server that records every `POST /api/traces` body.
async fn telemetry_server() -> (String, Posts) {
    let posts: Posts = Arc::default();
    let app = Router::new()
        .route(
            "/api/traces",
            post(|State(p): State<Posts>, body: axum::body::Bytes| async move {
                p.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
                "OK"
            }),
        )
        .with_state(posts.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, posts)
}

struct Fixture {
    reflection: Arc<Reflection>,
    base: String,
    root: std::path::PathBuf,
    gate: Arc<Notify>,
    client: reqwest::Client,
}

fn temp_root(tag: &str) -> std::path::PathBuf {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let d = std::env::temp_dir().join(format!("genkit-refl-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn fixture(tag: &str, opts: ReflectionOptions) -> Fixture {
    let registry = Registry::new();
    let gate = Arc::new(Notify::new());
    let hello = ActionDef::<String, String, ()>::builder(ActionType::Flow, "hello").build(|name, _cx| async move {
        let upper = genkit_core::run("upper", None, async { Ok(name.to_uppercase()) }).await?;
        Ok(format!("Hello {upper}"))
    });
    let count = ActionDef::<u32, String, u32>::builder(ActionType::Flow, "count").build(|n, cx| async move {
        for i in (1..=n).rev() {
            cx.send_chunk(i);
        }
        Ok("done".to_owned())
    });
    let g = gate.clone();
    let gated = ActionDef::<Value, String, ()>::builder(ActionType::Flow, "gated").build(move |_, _cx| {
        let g = g.clone();
        async move {
            g.notified().await;
            Ok("released".to_owned())
        }
    });
    let failing = ActionDef::<Value, String, ()>::builder(ActionType::Flow, "failing")
        .build(|_, _cx| async move { Err(Error::new(Status::FailedPrecondition, "boom")) });
    let slow = ActionDef::<Value, String, ()>::builder(ActionType::Flow, "slow").build(|_, cx| async move {
        cx.cancellation().cancelled().await;
        Err(Error::cancelled("aborted"))
    });
    for a in [hello.as_action(), count.as_action(), gated.as_action(), failing.as_action(), slow.as_action()] {
        registry.register_action(a).unwrap();
    }
    registry.register_value("defaultModel", "defaultModel", RegistryValue::with_json("test/echo", json!("test/echo")));
    let root = temp_root(tag);
    let opts = ReflectionOptions { project_root: Some(root.clone()), handle_signals: false, ..opts };
    let reflection = Reflection::start(&registry, opts).await.unwrap();
    reflection.announced().await;
    let base = reflection.url();
    Fixture { reflection, base, root, gate, client: reqwest::Client::new() }
}

impl Fixture {
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client.post(format!("{}{path}", self.base)).json(&body).send().await.unwrap()
    }
    async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).send().await.unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.reflection.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_file_and_health_accept_the_effective_id_and_pid_port() {
    let f = fixture("health", ReflectionOptions { runtime_id: Some("custom-id".into()), ..Default::default() }).await;
    let file = f.reflection.runtime_file().expect("runtime file");
    assert!(file.starts_with(f.root.join(".genkit/runtimes")));
    let info: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let port = f.reflection.local_addr().unwrap().port();
    assert_eq!(info["id"], "custom-id");
    assert_eq!(info["pid"], std::process::id());
    assert_eq!(info["reflectionServerUrl"], format!("http://127.0.0.1:{port}"));
    assert_eq!(info["genkitVersion"], genkit_reflection::GENKIT_VERSION);
    assert_eq!(info["reflectionApiSpecVersion"], 1);
    assert!(info.get("name").is_none());
    assert!((3100..=3200).contains(&port) || port > 0);

    let r = f.get("/api/__health?id=custom-id").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-genkit-version"], genkit_reflection::GENKIT_VERSION);
    let pid_port = format!("/api/__health?id={}-{port}", std::process::id());
    assert_eq!(f.get(&pid_port).await.status(), 200, "the JS/Go health bug must not exist here");
    assert_eq!(f.get("/api/__health").await.status(), 200);
    let bad = f.get("/api/__health?id=someone-else").await;
    assert_eq!(bad.status(), 503);
    assert_eq!(bad.text().await.unwrap(), "Invalid runtime ID");
    assert_eq!(f.get("/api/envs").await.json::<Value>().await.unwrap(), json!(["dev"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_and_values() {
    let f = fixture("actions", ReflectionOptions::default()).await;
    let actions: Value = f.get("/api/actions").await.json().await.unwrap();
    let hello = &actions["/flow/hello"];
    assert_eq!(hello["key"], "/flow/hello");
    assert_eq!(hello["name"], "hello");
    assert_eq!(hello["inputSchema"]["type"], "string");
    assert!(actions.as_object().unwrap().values().all(|a| a.as_object().unwrap().values().all(|v| !v.is_null())));
    assert!(actions.get("/flow/count").is_some());

    let v: Value = f.get("/api/values?type=defaultModel").await.json().await.unwrap();
    assert_eq!(v, json!({"defaultModel": {"name": "test/echo"}}));
    let v: Value = f.get("/api/values?type=middleware").await.json().await.unwrap();
    assert!(v.is_object());
    let missing = f.get("/api/values").await;
    assert_eq!(missing.status(), 400);
    assert_eq!(missing.text().await.unwrap(), "Query parameter \"type\" is required.");
    let other = f.get("/api/values?type=flows").await;
    assert_eq!(other.status(), 400);
    assert!(other.text().await.unwrap().contains("Only 'defaultModel' and 'middleware' are supported"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_action_sends_trace_headers_as_soon_as_the_span_starts() {
    let f = fixture("headers", ReflectionOptions::default()).await;
    // The action only finishes once released, so receiving the headers proves they were
    // flushed before the body (the timeout only turns a hang into a failure).
    let res = tokio::time::timeout(Duration::from_secs(20), f.post("/api/runAction", json!({"key": "/flow/gated"})))
        .await
        .expect("headers arrive while the action is still running");
    assert_eq!(res.status(), 200);
    let trace_id = res.headers()["x-genkit-trace-id"].to_str().unwrap().to_owned();
    assert_eq!(trace_id.len(), 32);
    assert_eq!(res.headers()["x-genkit-span-id"].len(), 16);
    assert_eq!(res.headers()["content-type"], "application/json");
    f.gate.notify_one();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"result": "released", "telemetry": {"traceId": trace_id}}));

    let body: Value = f
        .post("/api/runAction", json!({"key": "/flow/hello", "input": "world", "runtimeId": "ignored"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["result"], "Hello WORLD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_writes_one_json_line_per_chunk_and_the_envelope_last_without_newline() {
    let f = fixture("stream", ReflectionOptions::default()).await;
    let res = f.post("/api/runAction?stream=true", json!({"key": "/flow/count", "input": 3})).await;
    assert_eq!(res.headers()["content-type"], "text/plain");
    let trace_id = res.headers()["x-genkit-trace-id"].to_str().unwrap().to_owned();
    let text = res.text().await.unwrap();
    let expected = format!("3\n2\n1\n{{\"result\":\"done\",\"telemetry\":{{\"traceId\":\"{trace_id}\"}}}}");
    assert_eq!(text, expected);
    // Without ?stream=true no chunks are written.
    let plain = f.post("/api/runAction", json!({"key": "/flow/count", "input": 2})).await.text().await.unwrap();
    assert!(plain.starts_with("{\"result\":\"done\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_failures() {
    let f = fixture("errors", ReflectionOptions::default()).await;
    let r = f.client.post(format!("{}/api/runAction", f.base)).body("{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], 3);

    let r = f.post("/api/runAction", json!({"key": "/flow/nope"})).await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], 5);
    assert_eq!(body["error"]["message"], "action /flow/nope not found");

    // The server answers 413 before reading the whole body and closes that connection: send
    // it on a client of its own, so the shared client's pooled connection stays usable.
    let big = vec![b' '; 31 * 1024 * 1024];
    let r = reqwest::Client::new().post(format!("{}/api/runAction", f.base)).body(big).send().await.unwrap();
    assert_eq!(r.status(), 413);

    // Schema validation fails before any span: 200 with the error and no trace headers.
    let r = f.post("/api/runAction", json!({"key": "/flow/hello", "input": 42})).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("x-genkit-trace-id").is_none());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], 3);
    assert!(body["error"]["message"].as_str().unwrap().contains("Schema validation failed"));

    // The action fails after its span started: the error envelope with the trace id.
    let r = f.post("/api/runAction", json!({"key": "/flow/failing"})).await;
    let trace_id = r.headers()["x-genkit-trace-id"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({"error": {"code": 9, "message": "boom", "details": {"traceId": trace_id}}}));
    // Streaming: the error is the last line.
    let text = f.post("/api/runAction?stream=true", json!({"key": "/flow/failing"})).await.text().await.unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["error"]["message"], "boom");

    let r = f.client.post(format!("{}/api/notify", f.base)).body("[").send().await.unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_action_really_cancels_the_run() {
    let f = fixture("cancel", ReflectionOptions::default()).await;
    let res = f.post("/api/runAction", json!({"key": "/flow/slow"})).await;
    let trace_id = res.headers()["x-genkit-trace-id"].to_str().unwrap().to_owned();
    let r = f.post("/api/cancelAction", json!({"traceId": trace_id})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"message": "Action cancelled"}));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 1, "{body}");
    assert_eq!(body["error"]["details"]["traceId"], trace_id);

    let again = f.post("/api/cancelAction", json!({"traceId": trace_id})).await;
    assert_eq!(again.status(), 404);
    assert_eq!(again.json::<Value>().await.unwrap(), json!({"message": "Action not found or already completed"}));
    let missing = f.post("/api/cancelAction", json!({})).await;
    assert_eq!(missing.status(), 400);
    assert_eq!(missing.json::<Value>().await.unwrap(), json!({"error": "traceId is required"}));
}

fn span_posts(posts: &Posts, trace_id: &str) -> Vec<Value> {
    posts
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p["traceId"] == trace_id)
        .flat_map(|p| p["spans"].as_object().unwrap().values().cloned().collect::<Vec<_>>())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_the_telemetry_server_before_the_final_answer() {
    let (url, posts) = telemetry_server().await;
    let f = fixture("traces", ReflectionOptions { realtime_telemetry: Some(true), ..Default::default() }).await;
    // No URL until the CLI notifies one.
    let r = f.post("/api/notify", json!({"telemetryServerUrl": url, "reflectionApiSpecVersion": 1})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(f.reflection.exporter().url().as_deref(), Some(url.as_str()));

    let body: Value = f
        .post("/api/runAction", json!({"key": "/flow/hello", "input": "world", "telemetryLabels": {"batchRun": "L1"}}))
        .await
        .json()
        .await
        .unwrap();
    let trace_id = body["telemetry"]["traceId"].as_str().unwrap().to_owned();
    // Flushed before the answer: everything is there already.
    let spans = span_posts(&posts, &trace_id);
    assert_eq!(spans.len(), 4, "start and end of the flow and of its step: {spans:#?}");
    let order: Vec<(String, bool)> =
        spans.iter().map(|s| (s["displayName"].as_str().unwrap().to_owned(), s["endTime"] == json!(0))).collect();
    assert_eq!(
        order,
        [("hello".into(), true), ("upper".into(), true), ("upper".into(), false), ("hello".into(), false)]
    );
    let start = &spans[0];
    assert_eq!(
        start["attributes"],
        json!({"genkit:type": "action", "genkit:metadata:subtype": "flow", "genkit:key": "/flow/hello", "batchRun": "L1"})
    );
    let root = &spans[3];
    let a = &root["attributes"];
    assert_eq!(a["genkit:name"], "hello");
    assert_eq!(a["genkit:isRoot"], true);
    assert_eq!(a["genkit:path"], "/{hello,t:flow}");
    assert_eq!(a["genkit:input"], "\"world\"");
    assert_eq!(a["genkit:output"], "\"Hello WORLD\"");
    assert_eq!(a["genkit:state"], "success");
    assert_eq!(a["genkit:metadata:context"], "{}");
    assert_eq!(a["batchRun"], "L1");
    assert!(root.get("parentSpanId").is_none());
    assert_eq!(root["spanKind"], "INTERNAL");
    assert_eq!(root["status"], json!({"code": 0}));
    assert_eq!(root["instrumentationLibrary"], json!({"name": "genkit-tracer", "version": "v1"}));
    assert!(root["endTime"].as_f64().unwrap() >= root["startTime"].as_f64().unwrap());
    let step = &spans[2];
    assert_eq!(step["parentSpanId"], root["spanId"]);
    assert_eq!(step["attributes"]["genkit:type"], "flowStep");
    assert_eq!(step["attributes"]["genkit:path"], "/{hello,t:flow}/{upper,t:flowStep}");
    // Trace-level fields only on posts of the root span.
    let p = posts.lock().unwrap().clone();
    let root_post = p.iter().rfind(|p| p["spans"].get(root["spanId"].as_str().unwrap()).is_some()).unwrap();
    assert_eq!(root_post["displayName"], "hello");
    let step_post = p.iter().rfind(|p| p["spans"].get(step["spanId"].as_str().unwrap()).is_some()).unwrap();
    assert!(step_post.get("displayName").is_none());

    // A failure is recorded on the span.
    let r = f.post("/api/runAction", json!({"key": "/flow/failing"})).await;
    let trace_id = r.headers()["x-genkit-trace-id"].to_str().unwrap().to_owned();
    let _ = r.text().await.unwrap();
    let spans = span_posts(&posts, &trace_id);
    let end = spans.iter().find(|s| s["endTime"] != json!(0)).unwrap();
    assert_eq!(end["status"], json!({"code": 2, "message": "FAILED_PRECONDITION: boom"}));
    assert_eq!(end["attributes"]["genkit:state"], "error");
    assert_eq!(end["attributes"]["genkit:isFailureSource"], true);
    let ev = &end["timeEvents"]["timeEvent"][0]["annotation"];
    assert_eq!(ev["description"], "exception");
    assert_eq!(ev["attributes"]["exception.message"], "FAILED_PRECONDITION: boom");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_telemetry_url_ignores_notify() {
    let (url, posts) = telemetry_server().await;
    let f = fixture("pinned", ReflectionOptions { telemetry_server: Some(url.clone()), ..Default::default() }).await;
    let _ = f.post("/api/notify", json!({"telemetryServerUrl": "http://127.0.0.1:9"})).await;
    assert_eq!(f.reflection.exporter().url().as_deref(), Some(url.as_str()));
    let body: Value = f.post("/api/runAction", json!({"key": "/flow/hello", "input": "x"})).await.json().await.unwrap();
    let spans = span_posts(&posts, body["telemetry"]["traceId"].as_str().unwrap());
    assert_eq!(spans.len(), 2, "only end snapshots without realtime telemetry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitquitquit_stops_the_server_and_removes_the_runtime_file() {
    let f = fixture("quit", ReflectionOptions::default()).await;
    let file = f.reflection.runtime_file().unwrap();
    assert!(file.exists());
    assert_eq!(f.get("/api/__quitquitquit").await.status(), 200);
    for _ in 0..100 {
        if !file.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!file.exists());
}

/// A runtime no tool has health-checked writes its file again (same name, new inode), so a
/// CLI watcher that missed the first write finds it; after a `__health` check it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_file_is_written_again_until_a_tool_checks_health() {
    use std::os::unix::fs::MetadataExt;
    let f = fixture("reannounce", ReflectionOptions::default()).await;
    let file = f.reflection.runtime_file().expect("runtime file");
    let first = std::fs::metadata(&file).unwrap().ino();
    let mut rewritten = false;
    for _ in 0..300 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if std::fs::metadata(&file).is_ok_and(|m| m.ino() != first) {
            rewritten = true;
            break;
        }
    }
    assert!(rewritten, "the runtime file was written again");
    let info: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(info["pid"], std::process::id());
    assert_eq!(std::fs::read_dir(file.parent().unwrap()).unwrap().count(), 1, "one file, under the same name");
    assert!(
        !std::fs::read_dir(f.root.join(".genkit"))
            .unwrap()
            .any(|e| { e.unwrap().file_name().to_string_lossy().ends_with(".tmp") })
    );
    assert_eq!(f.get("/api/__health").await.status(), 200);
}

/// The runtime file announces the app once it has defined its actions: an action registered
/// right after the start (as an app defines its flows after `build()`) is already there when
/// the file appears, and is listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_file_is_written_once_the_app_has_defined_its_actions() {
    let registry = Registry::new();
    let root = temp_root("late");
    let opts = ReflectionOptions { project_root: Some(root.clone()), handle_signals: false, ..Default::default() };
    let reflection = Reflection::start(&registry, opts).await.unwrap();
    let revision = registry.revision();
    let late = ActionDef::<String, String, ()>::builder(ActionType::Flow, "late").build(|s, _cx| async move { Ok(s) });
    registry.register_action(late.as_action()).unwrap();
    assert!(registry.revision() > revision);
    reflection.announced().await;
    let file = reflection.runtime_file().expect("runtime file");
    let info: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(info["reflectionServerUrl"], reflection.url());
    let actions: Value = reqwest::get(format!("{}/api/actions", reflection.url())).await.unwrap().json().await.unwrap();
    assert!(actions.get("/flow/late").is_some(), "{actions}");
    reflection.stop();
    let _ = std::fs::remove_dir_all(&root);
}
