//! Serves the load-and-leaks workload (`bench_server::load`) for `scripts/load-servers`:
//! - the flow server on 127.0.0.1:`PORT` (default 3400): `POST /echo`, `POST /count`, and
//!   `GET /stats` (`{"liveRuns", "aliveTasks"}`: `count` runs in progress and tokio tasks alive);
//! - the reflection server on 127.0.0.1:`REFLECTION_PORT` (default 3100), its runtime file
//!   under `LOAD_PROJECT_ROOT` (default a directory in the system temp dir).
//!
//! Runs `BENCH_WORKERS` tokio worker threads (default 2). Stop it with SIGTERM or Ctrl-C.

use std::net::Ipv4Addr;

use genkit::server::axum;
use genkit::server::axum::routing::get;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

fn main() -> genkit::Result<()> {
    let workers = env_or("BENCH_WORKERS", 2usize).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(genkit::Error::internal)?;
    rt.block_on(async {
        let app = bench_server::load::load_app().await?;
        let root = std::env::var_os("LOAD_PROJECT_ROOT")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join(format!("genkit-load-{}", std::process::id())));
        std::fs::create_dir_all(&root).map_err(genkit::Error::internal)?;
        let reflection = bench_server::load::start_reflection(&app, env_or("REFLECTION_PORT", 3100u16), root).await?;
        let live = app.live.clone();
        let router = bench_server::load::flow_router(&app).route(
            "/stats",
            get(move || {
                let live = live.get();
                async move {
                    let tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
                    axum::Json(serde_json::json!({"liveRuns": live, "aliveTasks": tasks}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, env_or("PORT", 3400u16)))
            .await
            .map_err(genkit::Error::internal)?;
        let addr = listener.local_addr().map_err(genkit::Error::internal)?;
        eprintln!("load-server flow=http://{addr} reflection={} pid={}", reflection.url(), std::process::id());
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, router).await.map_err(genkit::Error::internal)
    })
}
