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
