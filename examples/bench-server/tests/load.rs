//! Under many concurrent requests, on real sockets: every streamed frame of the flow server
//! and of the reflection server arrives intact (none lost, repeated, reordered, mixed up with
//! another request's or garbled), and clients that hang up mid-stream leave no run and no task
//! behind. `scripts/load-servers` runs the same checks against a release build under wrk.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bench_server::load::{LiveRuns, LoadApp, Target, hang_up_mid_stream, load_app, start_reflection, verify_many};
use genkit::reflection::Reflection;

struct Servers {
    app: LoadApp,
    flow: SocketAddr,
    reflection: Arc<Reflection>,
    root: std::path::PathBuf,
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.reflection.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The flow server and the reflection server of the workload, on free loopback ports, served
/// by the current runtime.
async fn servers(tag: &str) -> Servers {
    let app = load_app().await.unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let flow = l.local_addr().unwrap();
    let router = bench_server::load::flow_router(&app);
    tokio::spawn(async move { genkit::server::axum::serve(l, router).await });
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let root = std::env::temp_dir().join(format!("genkit-load-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let reflection = start_reflection(&app, 0, root.clone()).await.unwrap();
    Servers { app, flow, reflection, root }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_frame_of_many_concurrent_streams_is_intact() {
    let s = servers("frames").await;
    let base = format!("http://{}", s.flow);
    let v = verify_many(Target::FlowServer, &base, "flow", 400, 64, 40).await;
    assert_eq!((v.streams, v.failed, v.frames), (400, 0, 400 * 41), "{:?}", v.errors);
    let v = verify_many(Target::Reflection, &s.reflection.url(), "refl", 200, 32, 40).await;
    assert_eq!((v.streams, v.failed, v.frames), (200, 0, 200 * 41), "{:?}", v.errors);
    assert_eq!(s.app.live.started(), 600);
}

/// Polls (every 20 ms, for at most `secs` seconds) until `done`; a generous deadline only
/// turns a leak into a failure instead of a hang.
fn eventually(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

#[test]
fn clients_that_hang_up_mid_stream_leave_no_run_and_no_task() {
    // The servers get a runtime of their own, so its task count is theirs alone.
    let server_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let s = server_rt.block_on(servers("hangup"));
    let (flow, reflection) = (s.flow, s.reflection.local_addr().unwrap());
    let live: LiveRuns = s.app.live.clone();
    let alive = || server_rt.metrics().num_alive_tasks();
    // Let the servers' own background tasks settle before taking the baseline.
    std::thread::sleep(Duration::from_millis(300));
    let baseline = alive();

    let clients = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    clients.block_on(async {
        let mut tasks = Vec::new();
        for k in 0..160u32 {
            let tag = format!("h{k}");
            // Flow-server runs are cancelled when their client leaves, so they may be endless
            // in practice (20 s); reflection runs finish on their own (as in Genkit JS).
            let (addr, refl, stream, n, delay) = match k % 4 {
                0 => (flow, false, true, 10_000, 2),
                1 => (flow, false, false, 10_000, 2),
                2 => (reflection, true, true, 30, 10),
                _ => (reflection, true, false, 30, 10),
            };
            tasks.push(tokio::spawn(async move { hang_up_mid_stream(addr, refl, stream, &tag, n, delay).await }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    });
    drop(clients);
    assert!(live.started() >= 120, "the streaming and reflection runs started: {}", live.started());
    let settled = eventually(60, || live.get() == 0 && alive() <= baseline);
    assert!(settled, "live runs {}, alive tasks {} (baseline {baseline})", live.get(), alive());

    // The servers still answer.
    let base = format!("http://{flow}");
    let v = server_rt.block_on(async {
        let v = verify_many(Target::FlowServer, &base, "after", 8, 8, 5).await;
        (v.failed, v.streams)
    });
    assert_eq!(v, (0, 8));
    drop(s);
}

/// The verifying client is not a rubber stamp: a server that loses, repeats, reorders, mixes
/// up or garbles one frame, or adds bytes after the result, fails it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verifier_notices_lost_reordered_and_garbled_frames() {
    use bench_server::load::{CountOutput, expected_chunk, verify_flow_stream};
    use genkit::server::axum;
    let frame = |tag: &str, i: u32| {
        format!("data: {{\"message\":{}}}\n\n", serde_json::to_string(&expected_chunk(tag, i)).unwrap())
    };
    let result = |n: u32| {
        let out = CountOutput { tag: "t".into(), count: n };
        format!("data: {{\"result\":{}}}\n\n", serde_json::to_string(&out).unwrap())
    };
    let good: Vec<String> = (0..4).map(|i| frame("t", i)).collect();
    let variants: Vec<(&str, String)> = vec![
        ("intact", format!("{}{}", good.concat(), result(4))),
        ("lost", format!("{}{}{}{}", good[0], good[1], good[3], result(4))),
        ("repeated", format!("{}{}{}", good.concat(), good[3], result(4))),
        ("reordered", format!("{}{}{}{}{}", good[0], good[2], good[1], good[3], result(4))),
        ("another request's", format!("{}{}{}{}{}", good[0], frame("u", 1), good[2], good[3], result(4))),
        ("garbled", format!("{}{}", good.concat().replacen("89ab", "89aB", 1), result(4))),
        ("trailing bytes", format!("{}{}data: x\n\n", good.concat(), result(4))),
        ("no result", good.concat()),
    ];
    let mut app = axum::Router::new();
    for (k, (_, body)) in variants.iter().enumerate() {
        let body = body.clone();
        app = app.route(&format!("/{k}/count"), axum::routing::post(move || async move { body }));
    }
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    let http = reqwest::Client::new();
    for (k, (what, _)) in variants.iter().enumerate() {
        let r = verify_flow_stream(&http, &format!("{base}/{k}/count"), "t", 4).await;
        if *what == "intact" {
            assert_eq!(r, Ok(5));
        } else {
            assert!(r.is_err(), "{what} frames passed");
        }
    }
}
