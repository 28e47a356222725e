//! CPU threads used for inference, without touching the process environment.
//!
//! candle runs work on two kinds of pool:
//! - dense kernels (the embedder's matrix products, element-wise and reduction ops) run on the
//!   rayon pool of the calling thread. Each engine owns a [`Pool`] of [`effective_threads`]
//!   threads and runs its loads and forward passes inside it (`ThreadPool::install`), so those
//!   kernels use exactly that many threads;
//! - quantized kernels (the chat model's matrix products) run on a spinning pool of candle's
//!   own, which candle 0.11 sizes once, at first use, from the `CANDLE_NUM_THREADS` environment
//!   variable (else `RAYON_NUM_THREADS`, else the number of physical cores) and offers no API
//!   to size otherwise. Setting the variable from inside a running, multi-threaded program is
//!   unsound (`std::env::set_var` races with every `getenv`), so this crate no longer does: when
//!   that pool's size differs from the requested count it says so once, with the variable to set
//!   when starting the program (`scripts/test` does this for the project's own tests).
//!
//! Spinning workers compete with everything else on the machine: more threads than free cores
//! is many times slower (measured: 2 threads on a busy 2-vCPU machine gave 2–3 tokens/s
//! instead of 40), hence the default of one thread on small machines.

use std::sync::{Once, OnceLock};

static REQUESTED: OnceLock<usize> = OnceLock::new();

/// The environment variable candle reads once to size its quantized-kernel pool.
const CANDLE_ENV: &str = "CANDLE_NUM_THREADS";

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

fn env_threads() -> Option<usize> {
    std::env::var(CANDLE_ENV).ok().and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0)
}

/// The thread count inference runs with: `CANDLE_NUM_THREADS` when set, else the count asked
/// for with `Local::threads`, else [`default_threads`].
pub fn effective_threads() -> usize {
    env_threads().unwrap_or_else(|| REQUESTED.get().copied().unwrap_or_else(default_threads))
}

/// The size of candle's quantized-kernel pool, as candle computes it: `CANDLE_NUM_THREADS`,
/// else its own default (`RAYON_NUM_THREADS`, else the physical cores).
pub fn quantized_kernel_threads() -> usize {
    env_threads().unwrap_or_else(candle_core::utils::get_num_threads)
}

/// Says once, at the first model load, when candle's quantized-kernel pool will not have the
/// requested size, and how to give it that size.
fn report_quantized_pool() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let (wanted, candle) = (effective_threads(), quantized_kernel_threads());
        if wanted == candle {
            tracing::debug!(target: "genkit_local", threads = wanted, "candle CPU threads");
        } else {
            tracing::warn!(
                target: "genkit_local",
                "local models run dense kernels on {wanted} thread(s), but candle sizes the pool of its quantized \
                 kernels (chat models) only from the environment and will use {candle}: start the program with \
                 {CANDLE_ENV}={wanted} to use {wanted} there too"
            );
        }
    });
}

/// A rayon pool of [`effective_threads`] threads, built on first use, that one engine runs its
/// loads and forward passes in.
#[derive(Debug, Default)]
pub(crate) struct Pool(OnceLock<Option<rayon::ThreadPool>>);

impl Pool {
    /// An engine's pool (no thread starts until the first [`Pool::install`]).
    pub(crate) fn new() -> Pool {
        Pool::default()
    }

    /// The number of threads of this pool (0 when it could not be built and work runs on the
    /// calling thread's pool instead).
    #[cfg(test)]
    fn threads(&self) -> usize {
        self.get().map_or(0, rayon::ThreadPool::current_num_threads)
    }

    fn get(&self) -> Option<&rayon::ThreadPool> {
        self.0
            .get_or_init(|| {
                report_quantized_pool();
                let n = effective_threads();
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(|i| format!("genkit-local-{i}"))
                    .build()
                    .inspect_err(|e| {
                        tracing::warn!(target: "genkit_local", "cannot start {n} inference threads ({e}); using rayon's global pool");
                    })
                    .ok()
            })
            .as_ref()
    }

    /// Runs `f` (blocking) on this pool, so the rayon-based kernels it calls use its threads.
    pub(crate) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match self.get() {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_on_a_pool_of_the_effective_size_without_changing_the_environment() {
        let before = std::env::var_os(CANDLE_ENV);
        let pool = Pool::new();
        let (inside, name) =
            pool.install(|| (rayon::current_num_threads(), std::thread::current().name().map(str::to_owned)));
        assert_eq!(inside, effective_threads());
        assert_eq!(pool.threads(), effective_threads());
        assert!(name.is_some_and(|n| n.starts_with("genkit-local-")));
        // Nothing is written to the process environment any more.
        assert_eq!(std::env::var_os(CANDLE_ENV), before);
    }

    #[test]
    fn parallel_work_inside_the_pool_uses_at_most_its_threads() {
        use rayon::prelude::*;
        let pool = Pool::new();
        let threads: std::collections::HashSet<String> = pool.install(|| {
            (0..64).into_par_iter().map(|_| std::thread::current().name().unwrap_or_default().to_owned()).collect()
        });
        assert!(threads.len() <= effective_threads(), "{threads:?}");
        assert!(threads.iter().all(|n| n.starts_with("genkit-local-")), "{threads:?}");
    }
}
