//! CPU threads used by candle's quantized kernels.
//!
//! candle sizes its worker pool once, from the `CANDLE_NUM_THREADS` environment variable, the
//! first time a kernel runs; its workers spin at barriers, so more threads than free cores is
//! many times slower (measured: 2 threads on a busy 2-vCPU machine gave 2–3 tokens/s instead
//! of 40). There is no API to size the pool, so before first use we set the variable, unless
//! the user already did.

use std::sync::{Once, OnceLock};

static REQUESTED: OnceLock<usize> = OnceLock::new();

/// Asks for `n` threads (call before the first model loads; later calls have no effect).
pub(crate) fn request(n: usize) {
    let _ = REQUESTED.set(n.max(1));
}

/// The default thread count: 1 on machines with up to 2 CPUs (where spinning workers compete
/// with everything else), else half the CPUs, at most 8.
pub fn default_threads() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if cpus <= 2 { 1 } else { (cpus / 2).min(8) }
}

/// The thread count candle will use (or is using).
pub fn effective_threads() -> usize {
    std::env::var("CANDLE_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| REQUESTED.get().copied().unwrap_or_else(default_threads))
}

/// Sets `CANDLE_NUM_THREADS` once, before candle first reads it.
pub(crate) fn configure() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("CANDLE_NUM_THREADS").is_some() {
            return;
        }
        let n = effective_threads();
        // SAFETY (reviewed exception to the crate's unsafe-code rule): `set_var` is unsafe
        // because a concurrent `getenv` from foreign code could read the environment while it is
        // rewritten. This runs once, from the model-loading thread, before candle starts its pool;
        // Rust's own environment accesses take std's environment lock. The only way to size
        // candle 0.11's CPU pool is this variable.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
        }
        tracing::debug!(target: "genkit_local", threads = n, "candle CPU threads");
    });
}
