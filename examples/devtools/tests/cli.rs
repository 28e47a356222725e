//! The real Genkit CLI (npm `genkit-cli@1.43.0`, installed into `tools/genkit-cli` by
//! `scripts/test`) drives this sample: discovery through the runtime file, `flow:run` plain and
//! streaming, `flow:batchRun --label`, `eval:flow`, `eval:run`, `eval:extractData`,
//! `trace:list`/`trace:get`, `dev:test-model` (also compared with the Rust-native conformance
//! runner), the Dev UI server's API, ephemeral commands over reflection v2, and SIGTERM cleanup.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{Value, json};

mod common;

/// The CLI picks its telemetry and UI ports with check-then-bind: one CLI scenario at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn cli() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/genkit-cli/node_modules/.bin/genkit");
    assert!(
        p.exists(),
        "the Genkit CLI is not installed at {}: run `npm ci --prefix tools/genkit-cli` (scripts/test does)",
        p.display()
    );
    p
}

const RUNTIME: &str = env!("CARGO_BIN_EXE_example-devtools");

/// A fresh project directory (with a `package.json`, a project-root marker of the CLI's).
fn project(tag: &str) -> PathBuf {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let d = std::env::temp_dir().join(format!("genkit-devtools-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("package.json"), "{\"name\": \"devtools-test\", \"private\": true}\n").unwrap();
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("model-tests.yaml"), d.join("model-tests.yaml")).unwrap();
    d
}

fn clean_env(cmd: &mut Command) -> &mut Command {
    for v in [
        "GENKIT_ENV",
        "GENKIT_TELEMETRY_SERVER",
        "GENKIT_REFLECTION_V2_SERVER",
        "GENKIT_RUNTIME_ID",
        "GENKIT_ENABLE_REALTIME_TELEMETRY",
        "GENKIT_REFLECTION_PORT",
    ] {
        cmd.env_remove(v);
    }
    cmd
}

/// Runs `genkit --non-interactive <args>` in `dir` (killed after 5 minutes: no hangs).
fn genkit(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg("300").arg(cli()).arg("--non-interactive").args(args).current_dir(dir);
    clean_env(&mut cmd).stdin(Stdio::null()).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = genkit(dir, args);
    let t = text(&o);
    assert!(o.status.success(), "genkit {args:?} failed ({}):\n{t}", o.status);
    t
}

fn runtime_files(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir.join(".genkit/runtimes")) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect(),
        Err(_) => Vec::new(),
    }
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..600 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// The sample started in dev mode, as `genkit start` would; killed on drop.
struct Runtime(Child);

impl Runtime {
    fn start(dir: &Path) -> Runtime {
        let mut cmd = Command::new(RUNTIME);
        clean_env(&mut cmd).current_dir(dir).env("GENKIT_ENV", "dev").stdout(Stdio::null()).stderr(Stdio::null());
        let rt = Runtime(cmd.spawn().unwrap());
        wait_for("the runtime file", || !runtime_files(dir).is_empty());
        rt
    }

    fn signal(&self, sig: Signal) {
        assert!(common::signal_process(self.0.id(), sig));
    }
}

/// A process leading its own process group; the whole group is stopped on drop.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            common::signal_group(self.0.id(), Signal::SIGTERM);
            let _ = self.0.wait();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn trace_id_of(output: &str) -> String {
    let line = output.lines().find_map(|l| l.trim().strip_prefix("Trace ID:")).expect("a Trace ID line");
    line.trim().to_owned()
}

/// The pass/fail lines of a `dev:test-model` run, sorted.
fn outcomes(output: &str) -> Vec<String> {
    let mut v: Vec<String> = output
        .lines()
        .filter_map(|l| {
            if let Some(i) = l.find("✅ Passed: ") {
                Some(format!("PASS {}", &l[i + "✅ Passed: ".len()..]))
            } else {
                l.find("❌ Failed: ").map(|i| {
                    let rest = &l[i + "❌ Failed: ".len()..];
                    format!("FAIL {}", rest.split(" - ").next().unwrap_or(rest))
                })
            }
        })
        .collect();
    v.sort();
    v
}

fn expected_outcomes() -> Vec<String> {
    let mut v: Vec<String> = [
        // test/echo
        "PASS Multiturn Conformance",
        "PASS Multiturn Conformance with streaming",
        "FAIL System Role Conformance",
        "FAIL Tool Request Conformance",
        // test/scripted
        "PASS Tool Request Conformance",
        "PASS Structured Output Conformance",
        "PASS Multiturn Conformance",
        "FAIL System Role Conformance",
        "FAIL Image Input (Base64) Conformance",
        "PASS Multiturn Conformance with streaming",
        "PASS Tool Request Conformance with streaming",
        "PASS Structured Output Conformance with streaming",
        "PASS Tool Response",
        "PASS Streaming Echo",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.sort();
    v
}

#[test]
fn the_cli_drives_a_running_rust_runtime() {
    let _serial = lock();
    let dir = project("standalone");
    let rt = Runtime::start(&dir);
    let files = runtime_files(&dir);
    assert_eq!(files.len(), 1);
    let info: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(info["pid"], rt.0.id());
    assert_eq!(info["reflectionApiSpecVersion"], 1);
    assert!(info["genkitVersion"].as_str().unwrap().starts_with("rust/"));

    // flow:run, plain and streaming.
    let out = ok(&dir, &["flow:run", "hello", "\"world\""]);
    assert!(out.contains("Hello WORLD"), "{out}");
    let hello_trace = trace_id_of(&out);
    let out = ok(&dir, &["flow:run", "countdown", "3", "--stream"]);
    let chunks = out.find("3\n2\n1\n").expect("chunks printed in order");
    assert!(chunks < out.find("counted down from 3").unwrap(), "{out}");
    let failed = genkit(&dir, &["flow:run", "failing"]);
    assert!(text(&failed).contains("boom"), "{}", text(&failed));

    // flow:batchRun with a label, then eval:extractData filtering on it.
    std::fs::write(
        dir.join("questions.json"),
        json!([{"input": "What is the capital of France?"}, {"input": "Tell me about Rust"}]).to_string(),
    )
    .unwrap();
    ok(&dir, &["flow:batchRun", "qa", "questions.json", "--label", "L1", "--output", "batch.json"]);
    let batch: Value = serde_json::from_slice(&std::fs::read(dir.join("batch.json")).unwrap()).unwrap();
    assert_eq!(batch.as_array().unwrap().len(), 2, "{batch}");
    assert_eq!(batch[0]["output"], "Paris is the capital of France.", "{batch}");
    ok(&dir, &["eval:extractData", "qa", "--label", "L1", "--output", "extracted.json"]);
    let rows: Value = serde_json::from_slice(&std::fs::read(dir.join("extracted.json")).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let rust = rows.iter().find(|r| r["input"] == "Tell me about Rust").expect("the labelled run");
    assert_eq!(rust["output"], "Rust is a programming language that guarantees memory safety.");
    // The 1.43 telemetry server lists traces with their root span only, so extractData finds no
    // retriever spans (the same for a JS runtime); eval:flow below reads whole traces.
    assert_eq!(rust["context"], json!([]));
    assert_eq!(rust["traceIds"].as_array().unwrap().len(), 1);

    // eval:flow: runs the flow, reads its trace back (input, output, retriever context), scores it.
    ok(&dir, &["eval:flow", "qa", "--input", "questions.json", "--evaluators", "devtools/grounded", "--force"]);
    let evals: Vec<PathBuf> = std::fs::read_dir(dir.join(".genkit/evals"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("index.json"))
        .collect();
    assert_eq!(evals.len(), 1);
    let run: Value = serde_json::from_slice(&std::fs::read(&evals[0]).unwrap()).unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        assert!(r["context"].as_array().is_some_and(|c| c.len() == 1), "{r}");
        assert_eq!(r["metrics"][0]["status"], "PASS", "{r}");
        assert_eq!(r["metrics"][0]["evaluator"], "/evaluator/devtools/grounded");
    }

    // eval:run on a dataset.
    std::fs::write(
        dir.join("dataset.json"),
        json!([
            {"testCaseId": "good", "input": "q", "output": "Paris it is", "context": ["Paris is the capital of France."]},
            {"testCaseId": "bad", "input": "q", "output": "no idea", "context": ["Paris is the capital of France."]}
        ])
        .to_string(),
    )
    .unwrap();
    ok(&dir, &["eval:run", "dataset.json", "--evaluators", "devtools/grounded", "--force", "--output", "scores.json"]);
    let scores: Value = serde_json::from_slice(&std::fs::read(dir.join("scores.json")).unwrap()).unwrap();
    let status = |id: &str| {
        scores.as_array().unwrap().iter().find(|r| r["testCaseId"] == id).unwrap()["metrics"][0]["status"].clone()
    };
    assert_eq!(status("good"), "PASS", "{scores}");
    assert_eq!(status("bad"), "FAIL", "{scores}");

    // trace:list and trace:get show our spans with the attributes JS sets.
    let list = ok(&dir, &["trace:list", "--limit", "50"]);
    assert!(list.contains("Name:     hello"), "{list}");
    assert!(list.contains("Status:   success"), "{list}");
    let got = ok(&dir, &["trace:get", &hello_trace, "--format", "json"]);
    let json_start = got.find('{').unwrap();
    let trace: Value = serde_json::Deserializer::from_str(&got[json_start..]).into_iter().next().unwrap().unwrap();
    let spans = trace["spans"].as_object().unwrap();
    let root = spans.values().find(|s| s.get("parentSpanId").is_none()).unwrap();
    let a = &root["attributes"];
    assert_eq!(a["genkit:type"], "action");
    assert_eq!(a["genkit:metadata:subtype"], "flow");
    assert_eq!(a["genkit:name"], "hello");
    assert_eq!(a["genkit:path"], "/{hello,t:flow}");
    assert_eq!(a["genkit:input"], "\"world\"");
    assert_eq!(a["genkit:output"], "\"Hello WORLD\"");
    assert_eq!(a["genkit:state"], "success");
    assert_eq!(a["genkit:isRoot"], true);
    let step = spans.values().find(|s| s["displayName"] == "upper").expect("the flow step span");
    assert_eq!(step["attributes"]["genkit:path"], "/{hello,t:flow}/{upper,t:flowStep}");

    // dev:test-model against the running runtime, and the Rust-native runner on the same suite.
    let o = genkit(&dir, &["dev:test-model", "--from-file", "model-tests.yaml"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "failures make it exit 1:\n{out}");
    assert_eq!(outcomes(&out), expected_outcomes(), "{out}");
    assert!(out.contains("Tests Completed: 10 Passed, 4 Failed"), "{out}");
    let native = native_report();
    let cli_report = genkit_conformance::Report::from_cli_output(&out);
    assert_eq!(cli_report.diff(&native), Vec::<String>::new(), "CLI:\n{out}\nnative:\n{native}");

    // SIGTERM: the runtime removes its file and exits with 0.
    let mut rt = rt;
    rt.signal(Signal::SIGTERM);
    let status = rt.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(runtime_files(&dir).is_empty(), "the runtime file is removed on SIGTERM");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same suite file run in-process with `genkit-conformance`.
fn native_report() -> genkit_conformance::Report {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let app = example_devtools::build_app().await.unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("model-tests.yaml");
        let suites = genkit_conformance::load_suites(path).unwrap();
        genkit_conformance::run_suites(app.registry(), &suites).await
    })
}

#[test]
fn dev_test_model_starts_the_runtime_and_stops_it() {
    let _serial = lock();
    let dir = project("testmodel");
    let o = genkit(&dir, &["dev:test-model", "--from-file", "model-tests.yaml", "--", RUNTIME]);
    let out = text(&o);
    assert_eq!(outcomes(&out), expected_outcomes(), "{out}");
    // The CLI SIGTERMs the runtime it started; the runtime removes its file.
    wait_for("the runtime file to disappear", || runtime_files(&dir).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ephemeral_commands_use_reflection_v2() {
    let _serial = lock();
    let dir = project("ephemeral");
    let out = ok(&dir, &["flow:run", "hello", "\"v2\"", "--", RUNTIME]);
    assert!(out.contains("Hello V2"), "{out}");
    let out = ok(&dir, &["flow:run", "countdown", "2", "--stream", "--", RUNTIME]);
    assert!(out.contains("2\n1\n"), "{out}");
    assert!(out.contains("counted down from 2"), "{out}");
    std::fs::write(dir.join("questions.json"), json!([{"input": "What is the capital of France?"}]).to_string())
        .unwrap();
    let out = ok(
        &dir,
        &[
            "eval:flow",
            "qa",
            "--input",
            "questions.json",
            "--evaluators",
            "devtools/grounded",
            "--force",
            "--",
            RUNTIME,
        ],
    );
    assert!(!out.contains("Error"), "{out}");
    let evals = std::fs::read_dir(dir.join(".genkit/evals")).unwrap().count();
    assert_eq!(evals, 2, "one eval run plus the index");
    assert!(runtime_files(&dir).is_empty(), "v2 runtimes write no runtime file");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_dev_ui_server_sees_and_runs_the_rust_app() {
    let _serial = lock();
    let dir = project("devui");
    let mut cmd = Command::new(cli());
    cmd.args(["--non-interactive", "start", "--", RUNTIME])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Its own process group, so a failing test stops the CLI and the app it started.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut start = Group(clean_env(&mut cmd).spawn().unwrap());
    let servers = dir.join(".genkit/servers");
    let mut ui = String::new();
    wait_for("the Dev UI server file", || {
        let Ok(rd) = std::fs::read_dir(&servers) else { return false };
        for e in rd.flatten() {
            if let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(e.path()).unwrap_or_default()) {
                ui = v["url"].as_str().unwrap_or_default().to_owned();
                return true;
            }
        }
        false
    });
    let rtr = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rtr.block_on(async {
        let c = reqwest::Client::new();
        let get = |proc: &str, input: Value| {
            let url = format!("{ui}/api/{proc}?input={}", urlencode(&input.to_string()));
            let c = c.clone();
            async move { c.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
        };
        // The Dev UI server finds the runtime by watching the runtime files; on a loaded
        // machine (the whole suite runs in parallel) that can take a while.
        let mut runtimes = Value::Null;
        for _ in 0..600 {
            runtimes = get("getActiveRuntimes", Value::Null).await;
            if runtimes["result"]["data"].as_array().is_some_and(|a| !a.is_empty()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let rt = &runtimes["result"]["data"][0];
        let version = rt["genkitVersion"].as_str().unwrap_or_default();
        assert!(version.starts_with("rust/"), "the Dev UI server lists the Rust runtime within 2 minutes: {runtimes}");
        let actions = get("listActions", json!({})).await;
        let actions = &actions["result"]["data"];
        for key in [
            "/flow/hello",
            "/model/test/echo",
            "/model/test/scripted",
            "/prompt/joke",
            "/evaluator/devtools/grounded",
            "/retriever/devtools/facts",
            "/tool/weather",
            "/util/generate",
        ] {
            assert!(actions.get(key).is_some(), "the Dev UI lists {key}: {actions}");
        }
        let run: Value = c
            .post(format!("{ui}/api/runAction"))
            .json(&json!({"key": "/flow/hello", "input": "dev ui"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(run["result"], "Hello DEV UI", "{run}");
        assert!(run["genkitVersion"].as_str().unwrap().starts_with("rust/"), "{run}");
        let trace_id = run["telemetry"]["traceId"].as_str().unwrap().to_owned();
        let trace = get("getTrace", json!({"traceId": trace_id})).await;
        assert_eq!(trace["result"]["data"]["displayName"], "hello", "{trace}");
    });
    // Stopping the app (as the Dev UI's kill button does) ends `genkit start` too.
    let files = runtime_files(&dir);
    let rt_pid = files
        .first()
        .and_then(|f| serde_json::from_slice::<Value>(&std::fs::read(f).ok()?).ok())
        .and_then(|v| v["pid"].as_u64())
        .expect("the runtime file names the app's pid");
    assert!(common::signal_process(rt_pid, Signal::SIGTERM), "cannot signal the app {rt_pid}");
    let mut exited = false;
    for _ in 0..600 {
        if start.0.try_wait().unwrap().is_some() {
            exited = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(exited, "genkit start did not exit after its app stopped");
    assert!(runtime_files(&dir).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
