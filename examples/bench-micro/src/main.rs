//! `bench-micro <generate_turn|tool_loop|stream_200|structured_output> [n] [warmup]`: runs
//! `warmup` untimed then `n` timed calls of one workload on a current-thread tokio runtime and
//! prints one JSON line like the JS harness's `micro.mjs` (same defaults, percentiles and
//! rounding), with `"rt":"rust"`.
#![deny(unsafe_code)]

use std::process::ExitCode;
use std::time::Instant;

use bench_micro::{Workload, run_op, setup};
use serde_json::{Value, json};

fn usage(what: &str) -> ExitCode {
    let names: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
    eprintln!("{what}; usage: bench-micro <{}> [n] [warmup]", names.join("|"));
    ExitCode::from(2)
}

/// A count argument: absent or empty means the default (JS `Number(arg || default)`).
fn count(arg: Option<&String>, default: usize) -> Option<usize> {
    match arg.map(String::as_str) {
        None | Some("") => Some(default),
        Some(s) => s.parse().ok(),
    }
}

/// Rounds to 3 decimals and prints integral values without a fraction, as JS does.
fn r3(x: f64) -> Value {
    let x = (x * 1000.0).round() / 1000.0;
    if x.fract() == 0.0 && x.abs() < 9e15 { json!(x as i64) } else { json!(x) }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("", String::as_str);
    let Some(workload) = Workload::parse(name) else {
        return usage(&format!("unknown workload {name:?}"));
    };
    let (dn, dw) = workload.defaults();
    let (Some(n), Some(warmup)) = (count(args.get(1), dn), count(args.get(2), dw)) else {
        return usage("n and warmup must be non-negative integers");
    };
    if n == 0 {
        return usage("n must be at least 1");
    }
    let g = match setup().await {
        Ok(g) => g,
        Err(e) => {
            eprintln!("setup failed: {e}");
            return ExitCode::FAILURE;
        }
    };

    for _ in 0..warmup {
        if let Err(e) = run_op(&g, workload).await {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    }
    let divisor = workload.divisor();
    let mut samples = Vec::with_capacity(n);
    let all = Instant::now();
    for _ in 0..n {
        let t0 = Instant::now();
        let r = run_op(&g, workload).await;
        let elapsed = t0.elapsed();
        if let Err(e) = r {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
        samples.push(elapsed.as_nanos() as f64 / 1000.0 / divisor);
    }
    let wall_s = all.elapsed().as_secs_f64();

    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| samples[((p * (n - 1) as f64).floor() as usize).min(n - 1)];
    let mean = samples.iter().sum::<f64>() / n as f64;
    let line = json!({
        "rt": "rust",
        "workload": workload.name(),
        "unit": workload.unit(),
        "n": n,
        "warmup": warmup,
        "mean": r3(mean),
        "p50": r3(pct(0.5)),
        "p99": r3(pct(0.99)),
        "wall_s": r3(wall_s),
    });
    println!("{line}");
    ExitCode::SUCCESS
}
