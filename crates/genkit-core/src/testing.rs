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
#[derive(Clone, Default, Debug)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Starts capturing on this thread until the returned guard drops.
    pub fn start() -> (LogCapture, tracing::subscriber::DefaultGuard) {
        let logs = LogCapture::default();
        let sub = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        (logs, tracing::subscriber::set_default(sub))
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
