//! The bridge between a Genkit for Rust app and the Genkit developer tools (npm
//! `genkit-cli`: the Dev UI, `genkit flow:run`, `genkit eval:*`, `genkit dev:test-model`).
//!
//! [`Reflection::start`] does what the JS runtime does when `GENKIT_ENV=dev`:
//! - with `GENKIT_REFLECTION_V2_SERVER` set, it connects to the CLI as a WebSocket JSON-RPC
//!   client (reflection v2, used by `genkit flow:run … -- <cmd>`);
//! - otherwise it serves reflection API v1 over HTTP on `127.0.0.1`, on the first free port
//!   in 3100–3200, and writes the runtime file `<projectRoot>/.genkit/runtimes/<id>-<ms>.json`
//!   (removed again on SIGINT/SIGTERM);
//! - either way it exports every span as `TraceData` to the Genkit telemetry server
//!   (`GENKIT_TELEMETRY_SERVER`, else the URL the CLI sends), flushed before each run's
//!   final answer.
//!
//! The `genkit` facade starts it from `Genkit::builder().build()` in dev mode; use this crate
//! directly only to attach the tools to a bare [`Registry`].
#![deny(unsafe_code)]

#[cfg(feature = "testing")]
pub mod agent_driver;
mod exporter;
mod guard;
mod run;
mod runtime_file;
mod v1;
mod v2;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use genkit_core::{Error, Registry, Result, Status};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use exporter::{TraceExporter, trace_data};
pub use genkit_core::time::iso_timestamp;
pub use runtime_file::{PROJECT_ROOT_MARKERS, RuntimeFile, RuntimeInfo, find_project_root};

/// `genkitVersion` as Genkit for Rust reports it (`rust/<version>`).
pub const GENKIT_VERSION: &str = concat!("rust/", env!("CARGO_PKG_VERSION"));

/// The reflection API spec version this runtime speaks.
pub const REFLECTION_API_SPEC_VERSION: u64 = 1;

/// The ports the v1 server tries, in order (as JS and Go).
pub const DEFAULT_PORTS: std::ops::RangeInclusive<u16> = 3100..=3200;

/// Options of [`Reflection::start`].
#[derive(Debug, Clone)]
pub struct ReflectionOptions {
    /// A fixed port (default: `GENKIT_REFLECTION_PORT`, else the first free one in 3100–3200).
    pub port: Option<u16>,
    /// The display name in the Dev UI (default: the runtime id).
    pub name: Option<String>,
    /// The runtime id (default: `GENKIT_RUNTIME_ID`, else `<pid>-<port>`, or `<pid>` in v2).
    pub runtime_id: Option<String>,
    /// Where `.genkit/` lives (default: found from the working directory with the CLI's
    /// markers, see [`find_project_root`]).
    pub project_root: Option<PathBuf>,
    /// Whether SIGINT/SIGTERM remove the runtime file and exit the process with 0, as the JS
    /// runtime does (default: true).
    pub handle_signals: bool,
    /// The telemetry server base URL (default: `GENKIT_TELEMETRY_SERVER`). When set, URLs the
    /// CLI sends later are ignored.
    pub telemetry_server: Option<String>,
    /// Whether spans are also exported when they start (default:
    /// `GENKIT_ENABLE_REALTIME_TELEMETRY=true`).
    pub realtime_telemetry: Option<bool>,
    /// The CLI's WebSocket URL for reflection v2 (default: `GENKIT_REFLECTION_V2_SERVER`).
    pub reflection_v2_server: Option<String>,
}

impl Default for ReflectionOptions {
    fn default() -> Self {
        ReflectionOptions {
            port: None,
            name: None,
            runtime_id: None,
            project_root: None,
            handle_signals: true,
            telemetry_server: None,
            realtime_telemetry: None,
            reflection_v2_server: None,
        }
    }
}

#[derive(Debug)]
enum Transport {
    Http {
        addr: SocketAddr,
        file: Mutex<Option<RuntimeFile>>,
        /// Turns true once the runtime file is written.
        announced: tokio::sync::watch::Receiver<bool>,
    },
    WebSocket {
        url: String,
    },
}

/// A running reflection bridge. Dropping the handle keeps it running; call
/// [`Reflection::stop`] to end it.
#[derive(Debug)]
pub struct Reflection {
    transport: Transport,
    runtime_id: String,
    exporter: TraceExporter,
    stop: CancellationToken,
}

impl Reflection {
    /// Starts the bridge for `registry` (v2 client when `GENKIT_REFLECTION_V2_SERVER` is set,
    /// else the v1 server plus the runtime file) and attaches the trace exporter to the
    /// registry's telemetry. Does not check `GENKIT_ENV`; the facade does.
    ///
    /// # Errors
    /// `UNAVAILABLE` when no port in the range is free (or the fixed one is taken);
    /// `INTERNAL` when the runtime file cannot be written.
    pub async fn start(registry: &Registry, opts: ReflectionOptions) -> Result<Arc<Reflection>> {
        let url = opts
            .telemetry_server
            .clone()
            .or_else(|| std::env::var("GENKIT_TELEMETRY_SERVER").ok().filter(|u| !u.is_empty()));
        let realtime = opts
            .realtime_telemetry
            .unwrap_or_else(|| std::env::var("GENKIT_ENABLE_REALTIME_TELEMETRY").is_ok_and(|v| v == "true"));
        let exporter = TraceExporter::new(url.as_deref(), url.is_some(), realtime);
        registry.telemetry().add_span_processor(exporter.clone());
        let shared = run::Shared::new(registry.clone(), exporter.clone());
        let stop = CancellationToken::new();
        let env_id =
            opts.runtime_id.clone().or_else(|| std::env::var("GENKIT_RUNTIME_ID").ok().filter(|s| !s.is_empty()));
        let v2_url = opts
            .reflection_v2_server
            .clone()
            .or_else(|| std::env::var("GENKIT_REFLECTION_V2_SERVER").ok().filter(|s| !s.is_empty()));
        if let Some(url) = v2_url {
            let id = env_id.unwrap_or_else(|| std::process::id().to_string());
            let name = opts.name.clone().unwrap_or_else(|| id.clone());
            let reg = v2::Registration { id: id.clone(), name };
            tokio::spawn(v2::run_client(url.clone(), shared, reg, stop.clone()));
            if opts.handle_signals {
                tokio::spawn(exit_on_signal(None));
            }
            return Ok(Arc::new(Reflection {
                transport: Transport::WebSocket { url },
                runtime_id: id,
                exporter,
                stop,
            }));
        }
        let listener = bind(opts.port).await?;
        let addr = listener.local_addr().map_err(|e| Error::new(Status::Internal, e.to_string()))?;
        let pid_port = format!("{}-{}", std::process::id(), addr.port());
        let runtime_id = env_id.unwrap_or_else(|| pid_port.clone());
        let state = Arc::new(v1::V1 {
            shared,
            runtime_id: runtime_id.clone(),
            pid_port,
            quit: stop.clone(),
            seen: std::sync::atomic::AtomicBool::new(false),
        });
        let app = v1::router(state.clone());
        // Headers go out before the body: without NODELAY, Nagle and delayed ACKs add ~40 ms.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let shutdown = stop.clone();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await });
            if let Err(e) = serve.await {
                tracing::error!("the Genkit reflection server stopped: {e}");
            }
        });
        let root = match opts.project_root {
            Some(r) => r,
            None => {
                let cwd = std::env::current_dir().map_err(|e| Error::new(Status::Internal, e.to_string()))?;
                find_project_root(&cwd)
            }
        };
        let info = RuntimeInfo {
            id: runtime_id.clone(),
            pid: std::process::id(),
            name: opts.name,
            reflection_server_url: format!("http://127.0.0.1:{}", addr.port()),
            timestamp: iso_timestamp(SystemTime::now()),
            genkit_version: GENKIT_VERSION.to_owned(),
            reflection_api_spec_version: 1,
        };
        let file = RuntimeFile::prepare(&root, &info).map_err(|e| {
            stop.cancel();
            Error::new(
                Status::Internal,
                format!("cannot write the Genkit runtime file under {}: {e}", root.join(".genkit/runtimes").display()),
            )
        })?;
        let (announced_tx, announced) = tokio::sync::watch::channel(false);
        tokio::spawn(announce(registry.clone(), file.clone(), info, state, stop.clone(), announced_tx));
        let reflection = Arc::new(Reflection {
            transport: Transport::Http { addr, file: Mutex::new(Some(file.clone())), announced },
            runtime_id,
            exporter,
            stop: stop.clone(),
        });
        // `/api/__quitquitquit` or `stop()`: the server ends and the file goes.
        let weak = Arc::downgrade(&reflection);
        tokio::spawn(async move {
            stop.cancelled().await;
            if let Some(r) = weak.upgrade() {
                r.remove_file();
            } else {
                file.remove();
            }
        });
        if opts.handle_signals {
            let file = reflection.runtime_file_handle();
            tokio::spawn(exit_on_signal(file));
        }
        Ok(reflection)
    }

    /// The v1 server's address (`None` in v2 mode).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.transport {
            Transport::Http { addr, .. } => Some(*addr),
            Transport::WebSocket { .. } => None,
        }
    }

    /// `http://127.0.0.1:<port>` in v1 mode, the CLI's `ws://…` URL in v2 mode.
    pub fn url(&self) -> String {
        match &self.transport {
            Transport::Http { addr, .. } => format!("http://127.0.0.1:{}", addr.port()),
            Transport::WebSocket { url } => url.clone(),
        }
    }

    /// The runtime id the tools address this runtime by.
    pub fn runtime_id(&self) -> &str {
        &self.runtime_id
    }

    /// The runtime file, once written and while it exists (v1 only).
    pub fn runtime_file(&self) -> Option<PathBuf> {
        match &self.transport {
            Transport::Http { announced, .. } if *announced.borrow() => {
                self.runtime_file_handle().map(|f| f.path().to_path_buf())
            }
            _ => None,
        }
    }

    /// Waits until the runtime file is written (v1; returns at once in v2 mode, or when the
    /// bridge stops first).
    ///
    /// [`Reflection::start`] returns before writing it: the file tells the Genkit CLI the app
    /// is ready, so it is written once the app has finished defining its actions (no
    /// registration for 100 ms, at most 3 s after the start), as the JS runtime writes it on
    /// the tick after the app's module has run.
    pub async fn announced(&self) {
        if let Transport::Http { announced, .. } = &self.transport {
            let mut rx = announced.clone();
            let stop = self.stop.clone();
            tokio::select! {
                _ = rx.wait_for(|written| *written) => {}
                () = stop.cancelled() => {}
            }
        }
    }

    /// The trace exporter attached to the registry.
    pub fn exporter(&self) -> &TraceExporter {
        &self.exporter
    }

    /// Stops the server (or the v2 connection) and removes the runtime file.
    pub fn stop(&self) {
        self.stop.cancel();
        self.remove_file();
    }

    fn runtime_file_handle(&self) -> Option<RuntimeFile> {
        match &self.transport {
            Transport::Http { file, .. } => file.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            Transport::WebSocket { .. } => None,
        }
    }

    fn remove_file(&self) {
        if let Transport::Http { file, .. } = &self.transport
            && let Some(f) = file.lock().unwrap_or_else(|e| e.into_inner()).take()
        {
            f.remove();
        }
    }
}

async fn bind(port: Option<u16>) -> Result<TcpListener> {
    let fixed = port.or_else(|| std::env::var("GENKIT_REFLECTION_PORT").ok().and_then(|p| p.parse().ok()));
    if let Some(p) = fixed {
        return TcpListener::bind((Ipv4Addr::LOCALHOST, p)).await.map_err(|e| {
            Error::new(Status::Unavailable, format!("cannot start the Genkit reflection server on 127.0.0.1:{p}: {e}"))
        });
    }
    for p in DEFAULT_PORTS {
        if let Ok(l) = TcpListener::bind((Ipv4Addr::LOCALHOST, p)).await {
            return Ok(l);
        }
    }
    Err(Error::new(
        Status::Unavailable,
        "no free port in 3100-3200 for the Genkit reflection server; stop other Genkit apps or set GENKIT_REFLECTION_PORT",
    ))
}

/// How long the registry must stay unchanged before the runtime file is written (v1) or the
/// runtime registers with the CLI (v2).
const SETTLE_QUIET: Duration = Duration::from_millis(100);
/// The longest the runtime file waits for the registry to settle.
const SETTLE_MAX: Duration = Duration::from_secs(3);

/// Waits until nothing was registered in `registry` for `quiet`, or `max` passed.
pub(crate) async fn settle(registry: &Registry, quiet: Duration, max: Duration) {
    let deadline = tokio::time::Instant::now() + max;
    let mut seen = registry.revision();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(quiet.min(left)).await;
        let now = registry.revision();
        if now == seen {
            return;
        }
        seen = now;
    }
}

/// Waits until the app has defined its actions (nothing new registered for
/// [`SETTLE_QUIET`], at most [`SETTLE_MAX`]) and lists its plugins' actions, as JS does before
/// the tools are told of the runtime; false if `stop` fired first. Both transports wait here:
/// v1 before writing its runtime file, v2 before registering with the CLI.
pub(crate) async fn ready(registry: &Registry, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = stop.cancelled() => return false,
        () = settle(registry, SETTLE_QUIET, SETTLE_MAX) => {}
    }
    if let Err(e) = registry.list_resolvable_actions().await {
        tracing::warn!("listing actions for the Genkit tools failed: {e}");
    }
    true
}

/// Writes the runtime file once the app's actions are defined, then keeps re-announcing it
/// until a tool finds the runtime.
async fn announce(
    registry: Registry,
    file: RuntimeFile,
    info: RuntimeInfo,
    state: Arc<v1::V1>,
    stop: CancellationToken,
    announced: tokio::sync::watch::Sender<bool>,
) {
    // As JS: the registry is fully populated (plugins listed) before the file appears.
    if !ready(&registry, &stop).await {
        return;
    }
    drop(registry);
    let (f, i) = (file.clone(), info.clone());
    let written = tokio::task::spawn_blocking(move || f.publish(&i)).await;
    if stop.is_cancelled() {
        // Stopped while writing: the file must not outlive the runtime.
        file.remove();
        return;
    }
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(
                "cannot write the Genkit runtime file {}: {e}; the Genkit developer tools will not find this app",
                file.path().display()
            );
            return;
        }
        Err(_) => return,
    }
    announced.send_replace(true);
    tracing::info!(
        "Genkit reflection server listening on {} (runtime file {})",
        info.reflection_server_url,
        file.path().display()
    );
    reannounce(file, info, state, stop).await;
}

/// When to write the runtime file again while no tool has checked the runtime's health.
const REANNOUNCE_AFTER: [Duration; 4] =
    [Duration::from_secs(2), Duration::from_secs(4), Duration::from_secs(8), Duration::from_secs(16)];

/// Writes the runtime file again (same name) a few times until a tool calls `__health`.
///
/// The CLI watches `.genkit/runtimes` and health-checks each new file once. A runtime that
/// starts within milliseconds (as a Rust binary does under `genkit start`) can write its file
/// while the CLI's watcher is still starting, and the CLI then never sees it. Writing it again
/// lets the watcher pick it up; a runtime the tools already found is left alone.
async fn reannounce(file: RuntimeFile, info: RuntimeInfo, state: Arc<v1::V1>, stop: CancellationToken) {
    for wait in REANNOUNCE_AFTER {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        if state.seen.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let (f, i) = (file.clone(), info.clone());
        let written = tokio::task::spawn_blocking(move || f.rewrite(&i)).await;
        if stop.is_cancelled() {
            // Stopped while writing: the file must not outlive the runtime.
            file.remove();
            return;
        }
        match written {
            Ok(Ok(true)) => tracing::debug!("no Genkit tool has found this runtime yet: runtime file written again"),
            Ok(Ok(false)) => return,
            Ok(Err(e)) => {
                tracing::debug!("writing the runtime file again failed: {e}");
                return;
            }
            Err(_) => return,
        }
    }
}

/// On SIGINT/SIGTERM: remove our runtime file, then exit with 0 (as the JS runtime).
async fn exit_on_signal(file: Option<RuntimeFile>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            tracing::warn!("cannot install signal handlers; the runtime file will not be removed on exit");
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
    }
    if let Some(f) = file {
        f.remove();
    }
    std::process::exit(0);
}

/// Warns when the tools speak another reflection API version.
pub(crate) fn check_spec_version(v: Option<&Value>) {
    match v.and_then(Value::as_u64) {
        Some(v) if v < REFLECTION_API_SPEC_VERSION => {
            tracing::warn!("the Genkit CLI speaks reflection API v{v}; it may be outdated: update genkit-cli");
        }
        Some(v) if v > REFLECTION_API_SPEC_VERSION => {
            tracing::warn!("the Genkit CLI speaks reflection API v{v}; this runtime may be outdated: update genkit");
        }
        _ => {}
    }
}

/// The runtime file lives under this path of a project root.
pub fn runtimes_dir(root: &Path) -> PathBuf {
    root.join(".genkit").join("runtimes")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use genkit_core::Registry;
    use genkit_core::{ActionDef, ActionType};

    fn register(registry: &Registry, i: usize) {
        let a = ActionDef::<String, String, ()>::builder(ActionType::Flow, format!("f{i}"))
            .build(|s, _cx| async move { Ok(s) });
        let _ = registry.register_action(a.as_action());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn settle_waits_until_registrations_stop() {
        let registry = Registry::new();
        let r = registry.clone();
        let writer = tokio::spawn(async move {
            for i in 0..20 {
                register(&r, i);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        super::settle(&registry, Duration::from_millis(500), Duration::from_secs(60)).await;
        assert_eq!(registry.revision(), 20, "settled before the last registration");
        writer.await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn settle_gives_up_waiting_after_its_limit() {
        let registry = Registry::new();
        let r = registry.clone();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let writer = tokio::spawn(async move {
            let mut i = 0;
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                register(&r, i);
                i += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        super::settle(&registry, Duration::from_millis(200), Duration::from_millis(300)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.await.unwrap();
    }
}
