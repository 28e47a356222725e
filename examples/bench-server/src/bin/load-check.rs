//! The checking clients of `scripts/load-servers` (see `bench_server::load`):
//!
//! ```text
//! load-check verify flow|reflection <base-url> <seconds> <concurrency> <chunks>
//! load-check hangup <flow-base-url> <reflection-base-url> <clients> [<baseline-tasks>]
//! ```
//!
//! `verify` streams `count` for `<seconds>`, `<concurrency>` requests at a time, and checks every
//! frame of every answer byte for byte; it prints `VERIFY <target> streams=… frames=… failed=…`.
//! `hangup` opens `<clients>` streaming and non-streaming runs on both servers, hangs up on each
//! mid-stream, then polls the flow server's `/stats` until no `count` run is live and no more
//! tokio tasks are alive than before (or than `<baseline-tasks>`, when the baseline was taken
//! earlier, e.g. before a wrk run that is still going; at most 120 s); it prints `HANGUP …`.
//! Either exits with 1 when a check fails.

use std::time::{Duration, Instant};

use bench_server::load::{Target, hang_up_mid_stream, verify_many};

fn usage() -> ! {
    eprintln!(
        "usage: load-check verify flow|reflection <base-url> <seconds> <concurrency> <chunks>\n       \
         load-check hangup <flow-base-url> <reflection-base-url> <clients> [<baseline-tasks>]"
    );
    std::process::exit(2)
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or_else(|| usage())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() else {
        std::process::exit(2);
    };
    let ok = match args.get(1).map(String::as_str) {
        Some("verify") => rt.block_on(verify(&args)),
        Some("hangup") => rt.block_on(hangup(&args)),
        _ => usage(),
    };
    std::process::exit(i32::from(!ok));
}

async fn verify(args: &[String]) -> bool {
    let target = match args.get(2).map(String::as_str) {
        Some("flow") => Target::FlowServer,
        Some("reflection") => Target::Reflection,
        _ => usage(),
    };
    let base: String = arg(args, 3);
    let seconds: u64 = arg(args, 4);
    let concurrency: usize = arg(args, 5);
    let chunks: u32 = arg(args, 6);
    let start = Instant::now();
    let (mut streams, mut frames, mut failed, mut errors) = (0, 0, 0, Vec::new());
    let mut round = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        let prefix = format!("v{}-{round}", std::process::id());
        let v = verify_many(target, &base, &prefix, concurrency as u64 * 4, concurrency, chunks).await;
        streams += v.streams;
        frames += v.frames;
        failed += v.failed;
        errors.extend(v.errors.into_iter().take(5usize.saturating_sub(errors.len())));
        round += 1;
    }
    println!("VERIFY {} streams={streams} frames={frames} failed={failed}", args[2]);
    for e in &errors {
        println!("  {e}");
    }
    failed == 0 && streams > 0
}

async fn stats(http: &reqwest::Client, base: &str) -> Option<(u64, u64)> {
    let res = http.get(format!("{base}/stats")).send().await.ok()?;
    let mut body = Vec::new();
    let mut res = res;
    while let Ok(Some(c)) = res.chunk().await {
        body.extend_from_slice(&c);
    }
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    Some((v["liveRuns"].as_u64()?, v["aliveTasks"].as_u64()?))
}

fn socket_addr(base: &str) -> std::net::SocketAddr {
    base.trim_start_matches("http://").trim_end_matches('/').parse().unwrap_or_else(|_| usage())
}

async fn hangup(args: &[String]) -> bool {
    let flow: String = arg(args, 2);
    let reflection: String = arg(args, 3);
    let clients: usize = arg(args, 4);
    // No pooled connection: this client's own idle connection would count as a server task.
    let Ok(http) = reqwest::Client::builder().pool_max_idle_per_host(0).build() else {
        return false;
    };
    let before = match args.get(5) {
        Some(_) => arg(args, 5),
        None => match stats(&http, &flow).await {
            Some((_, before)) => before,
            None => {
                println!("HANGUP cannot read {flow}/stats");
                return false;
            }
        },
    };
    let mut tasks = Vec::new();
    for k in 0..clients {
        // Flow server runs are cancelled when their client leaves, so they may be long; the
        // reflection server lets a run finish (as Genkit JS does), so those are short.
        let (addr, is_reflection, stream, n, delay) = match k % 4 {
            0 => (socket_addr(&flow), false, true, 10_000, 2),
            1 => (socket_addr(&flow), false, false, 10_000, 2),
            2 => (socket_addr(&reflection), true, true, 50, 10),
            _ => (socket_addr(&reflection), true, false, 50, 10),
        };
        let tag = format!("h{k}");
        tasks.push(tokio::spawn(async move { hang_up_mid_stream(addr, is_reflection, stream, &tag, n, delay).await }));
    }
    let mut failed = 0;
    for t in tasks {
        if !matches!(t.await, Ok(Ok(()))) {
            failed += 1;
        }
    }
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < Duration::from_secs(120) {
        last = stats(&http, &flow).await;
        if let Some((live, alive)) = last
            && live == 0
            && alive <= before
        {
            println!(
                "HANGUP clients={clients} connect_failures={failed} tasks_before={before} tasks_after={alive} \
                 live_runs=0 settled_after_ms={}",
                start.elapsed().as_millis()
            );
            return failed == 0;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("HANGUP clients={clients} NOT SETTLED after 120 s: tasks_before={before} (live runs, tasks)={last:?}");
    false
}
