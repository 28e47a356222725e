//! The real Genkit CLI (npm `genkit-cli@1.43.0`, in `tools/genkit-cli`) sees a Rust agent: the
//! Dev UI server of `genkit start --experimental-reflection-v2` lists it with its `agent`
//! metadata, runs a turn with `init` (`/api/runAction`), and runs it as a bidirectional action
//! whose inputs come one by one (`/api/streamAction?bidi=true`, `/api/sendBidiInput`,
//! `/api/endBidiInput`), as the Dev UI's agent playground does. The app is
//! `src/bin/agent-runtime.rs` (genkit-ai's echo agent test fixture and a real prompt agent).
//!
//! The test stops processes with `kill(2)` (see `common/mod.rs`), never with `/usr/bin/kill`:
//! its first version ran `kill -TERM -<pgid>`, which procps-ng 4.0 executes as
//! `kill(-1, SIGTERM)` for a group id beginning with 1, killing every process of the machine.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{Value, json};

mod common;

const RUNTIME: &str = env!("CARGO_BIN_EXE_agent-runtime");

fn cli() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/genkit-cli/node_modules/.bin/genkit");
    assert!(
        p.exists(),
        "the Genkit CLI is not installed at {}: run `npm ci --prefix tools/genkit-cli` (scripts/test does)",
        p.display()
    );
    p
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

fn user(text: &str) -> Value {
    json!({"message": {"role": "user", "content": [{"text": text}]}})
}

#[test]
fn the_dev_ui_server_lists_and_runs_a_rust_agent() {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("genkit-devtools-agents-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("package.json"), "{\"name\": \"agents-test\", \"private\": true}\n").unwrap();
    let mut cmd = Command::new(cli());
    cmd.args(["--non-interactive", "start", "--experimental-reflection-v2", "--", RUNTIME])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for v in ["GENKIT_ENV", "GENKIT_TELEMETRY_SERVER", "GENKIT_REFLECTION_V2_SERVER", "GENKIT_RUNTIME_ID"] {
        cmd.env_remove(v);
    }
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut start = Group(cmd.spawn().unwrap());
    let servers = dir.join(".genkit/servers");
    let mut ui = String::new();
    for _ in 0..1200 {
        let found = std::fs::read_dir(&servers).ok().and_then(|rd| {
            rd.flatten().find_map(|e| {
                let v: Value = serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
                v["url"].as_str().map(str::to_owned)
            })
        });
        if let Some(url) = found {
            ui = url;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!ui.is_empty(), "the Dev UI server did not start");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let rt_pid = rt.block_on(async {
        let c = reqwest::Client::new();
        let list = || async {
            let url = format!("{ui}/api/listActions?input=%7B%7D");
            c.get(url).send().await.unwrap().json::<Value>().await.unwrap()
        };
        let mut actions = Value::Null;
        for _ in 0..600 {
            actions = list().await;
            // The app defines its agents after `build()` has started the reflection bridge, so
            // an early listing can hold the first agent without the second: wait for both.
            let data = &actions["result"]["data"];
            if data.get("/agent/echo").is_some() && data.get("/agent/assistant").is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let agent = &actions["result"]["data"]["/agent/echo"];
        assert_eq!(agent["metadata"]["agent"]["stateManagement"], "server", "{actions}");
        assert_eq!(agent["metadata"]["bidi"], true, "{agent}");
        assert!(actions["result"]["data"].get("/agent-snapshot/echo").is_some());

        // One turn with `init`.
        let run: Value = c
            .post(format!("{ui}/api/runAction"))
            .json(&json!({"key": "/agent/echo", "input": user("hi"), "init": {}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(run["result"]["message"]["content"][0]["text"], "echo: hi", "{run}");
        let first = run["result"]["snapshotId"].as_str().expect("a snapshot id").to_owned();

        // A bidirectional run continuing that snapshot: two turns sent one by one.
        let res = c
            .post(format!("{ui}/api/streamAction?bidi=true"))
            .json(&json!({"key": "/agent/echo", "init": {"snapshotId": first}}))
            .send()
            .await
            .unwrap();
        let trace_id = res.headers().get("x-genkit-trace-id").expect("a trace id header").to_str().unwrap().to_owned();
        for text in ["two", "three"] {
            let r = c
                .post(format!("{ui}/api/sendBidiInput"))
                .json(&json!({"traceId": trace_id, "chunk": user(text)}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
        let r = c.post(format!("{ui}/api/endBidiInput")).json(&json!({"traceId": trace_id})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body = res.text().await.unwrap();
        let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let turns: Vec<&Value> = lines.iter().filter(|l| l["turnEnd"].is_object()).collect();
        assert_eq!(turns.len(), 2, "{body}");
        assert_eq!(lines[0]["customPatch"][0]["value"], json!({"turns": 2}), "continued the snapshot: {body}");
        let out = lines.last().unwrap();
        assert_eq!(out["result"]["message"]["content"][0]["text"], "echo: three", "{body}");

        // A real prompt agent of the runtime: two turns, the second continuing the first.
        let assistant = &actions["result"]["data"]["/agent/assistant"];
        assert_eq!(assistant["metadata"]["agent"]["stateManagement"], "server", "{actions}");
        let mut snapshot = Value::Null;
        for (text, want) in
            [("hi", "Echo: hi; config: {}"), ("more", "Echo: hi\nEcho: hi; config: {}\nmore; config: {}")]
        {
            let init = if snapshot.is_null() { json!({}) } else { json!({"snapshotId": snapshot}) };
            let run: Value = c
                .post(format!("{ui}/api/runAction"))
                .json(&json!({"key": "/agent/assistant", "input": user(text), "init": init}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(run["result"]["message"]["content"][0]["text"], want, "{run}");
            snapshot = run["result"]["snapshotId"].clone();
        }

        // The snapshot action runs too.
        let snap: Value = c
            .post(format!("{ui}/api/runAction"))
            .json(&json!({"key": "/agent-snapshot/echo", "input": {"snapshotId": first}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(snap["result"]["status"], "completed", "{snap}");

        // Stop the app first (as the Dev UI's kill button does); `genkit start` then ends by itself.
        let url = format!("{ui}/api/getActiveRuntimes?input=null");
        let runtimes: Value = c.get(url).send().await.unwrap().json().await.unwrap();
        runtimes["result"]["data"][0]["pid"].as_u64().expect("the runtime's pid")
    });
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
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tests' signal helpers reach exactly the group or process named, and refuse the ids
/// that mean many processes (the `kill -TERM -<pgid>` these tests used to run became
/// `kill(-1, SIGTERM)` under procps-ng 4.0 whenever the pgid began with 1).
#[test]
fn test_signals_reach_only_the_named_group() {
    let spawn_group = || {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.spawn().unwrap()
    };
    let mut target = spawn_group();
    let mut bystander = spawn_group();
    assert!(common::signal_group(target.id(), Signal::SIGTERM));
    let status = target.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(15));
    assert!(bystander.try_wait().unwrap().is_none(), "another group was signalled");

    for many in [0_i64, 1, -1, -12345, i64::from(u32::MAX)] {
        assert!(!common::signal_group(many, Signal::SIGTERM), "{many}");
        assert!(!common::signal_process(many, Signal::SIGTERM), "{many}");
    }
    let own_group = nix::unistd::getpgrp().as_raw();
    assert!(!common::signal_group(own_group, Signal::SIGTERM));
    assert!(!common::signal_process(std::process::id(), Signal::SIGTERM));
    assert!(bystander.try_wait().unwrap().is_none());
    bystander.kill().unwrap();
    bystander.wait().unwrap();
}
