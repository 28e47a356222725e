//! Test helpers (feature `testing`): capture what code under test logs through `tracing`,
//! e.g. to check a warning's text or that an API key never reaches the logs.
//!
//! ```
//! let (logs, _guard) = genkit_core::testing::LogCapture::start();
//! tracing::warn!("temperature not supported");
//! assert_eq!(logs.lines_at("WARN").len(), 1);
//! assert!(logs.text().contains("temperature not supported"));
//! ```

use std::sync::{Arc, Mutex, PoisonError};

/// Collects the formatted `tracing` output (no colours, every level) of the current thread
/// while its guard lives. A `#[tokio::test]` runs on one thread, so it sees the whole test.
///
/// One global subscriber (installed on first use) writes each event into the capture of the
/// thread that logged it. A per-thread default subscriber would be simpler, but `tracing`
/// caches each call site's interest process-wide, and tests running in parallel threads could
/// then see an event skipped for them because another thread had no subscriber at that moment.
#[derive(Clone, Default, Debug)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static CURRENT: std::cell::RefCell<Option<LogCapture>> = const { std::cell::RefCell::new(None) };
}

/// Ends a capture when dropped: the thread's events are no longer collected.
#[derive(Debug)]
pub struct CaptureGuard {
    previous: Option<LogCapture>,
    /// Used when another global subscriber was already installed.
    fallback: Option<tracing::subscriber::DefaultGuard>,
}

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
        self.fallback.take();
    }
}

/// Routes writes to the current thread's capture (nowhere when the thread captures nothing).
#[derive(Clone, Copy, Debug, Default)]
struct Router;

impl std::io::Write for Router {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CURRENT.with(|c| {
            if let Some(cap) = c.borrow().as_ref() {
                cap.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Router {
    type Writer = Router;
    fn make_writer(&'a self) -> Router {
        Router
    }
}

impl LogCapture {
    /// Starts capturing on this thread until the returned guard drops.
    pub fn start() -> (LogCapture, CaptureGuard) {
        static GLOBAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let global = *GLOBAL.get_or_init(|| {
            let sub = tracing_subscriber::fmt()
                .with_writer(Router)
                .with_ansi(false)
                .with_max_level(tracing::Level::TRACE)
                .finish();
            tracing::subscriber::set_global_default(sub).is_ok()
        });
        let logs = LogCapture::default();
        let previous = CURRENT.with(|c| c.borrow_mut().replace(logs.clone()));
        // Another global subscriber was there first: fall back to a per-thread one.
        let fallback = (!global).then(|| {
            let sub = tracing_subscriber::fmt()
                .with_writer(logs.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::TRACE)
                .finish();
            tracing::subscriber::set_default(sub)
        });
        (logs, CaptureGuard { previous, fallback })
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }

    /// The captured lines logged at `level` (`ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE`).
    pub fn lines_at(&self, level: &str) -> Vec<String> {
        let tag = format!(" {level} ");
        self.text().lines().filter(|l| l.contains(&tag)).map(str::to_owned).collect()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> LogCapture {
        self.clone()
    }
}

/// Starts llm-katan (the OpenAI/Anthropic/Gemini-compatible echo server from PyPI that provider
/// plugins test against over real HTTP) for this test process and returns its base URL
/// (`http://127.0.0.1:PORT`).
///
/// - `url_var`: when that environment variable names a running server (and `extra` is empty),
///   its URL is used and nothing is started.
/// - `script`: the plugin's start script; it is run as `bash <script> --watch <pid> [-- extra…]`,
///   prints `LLM_KATAN_URL=<url>` once the server answers, and stops the server when this
///   process exits.
/// - `GENKIT_SKIP_LLM_KATAN=1` skips: `Ok(None)`.
///
/// # Errors
/// A message that ends with `help` when the script cannot be run or never prints the URL.
pub fn llm_katan(script: &str, url_var: &str, extra: &[String], help: &str) -> Result<Option<String>, String> {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    if extra.is_empty()
        && let Ok(u) = std::env::var(url_var)
        && !u.trim().is_empty()
    {
        return Ok(Some(u.trim().trim_end_matches('/').to_owned()));
    }
    if std::env::var("GENKIT_SKIP_LLM_KATAN").is_ok_and(|v| v == "1") {
        eprintln!("GENKIT_SKIP_LLM_KATAN=1: skipping the llm-katan tests");
        return Ok(None);
    }
    let mut cmd = Command::new("bash");
    cmd.arg(script).arg("--watch").arg(std::process::id().to_string());
    if !extra.is_empty() {
        cmd.arg("--").args(extra);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {script}: {e}. {help}"))?;
    let Some(stdout) = child.stdout.take() else {
        return Err(format!("{script} has no standard output. {help}"));
    };
    let mut lines = BufReader::new(stdout).lines();
    let url = lines
        .by_ref()
        .map_while(std::result::Result::ok)
        .find_map(|l| l.strip_prefix("LLM_KATAN_URL=").map(str::to_owned));
    let Some(url) = url else {
        let status = child.wait().ok();
        return Err(format!(
            "llm-katan could not be started by {script} (exit {status:?}; its output is above). {help}"
        ));
    };
    // The script stays up while this process lives and stops the server when it exits.
    std::mem::forget(lines);
    std::mem::forget(child);
    Ok(Some(url))
}
