//! CPU threads used for inference, without touching the process environment.
//!
//! Each engine owns a [`Pool`] of [`effective_threads`] rayon threads and runs its loads and
//! forward passes inside it (`ThreadPool::install`): the chat model's 8-bit products split
//! their rows over it, and the embedder's dense kernels (candle) run on it.
//!
//! Busy threads compete with everything else on the machine: more threads than free cores
//! is slower, not faster (measured: 2 threads on a busy 2-vCPU machine were many times slower
//! than 1), hence the default of one thread on small machines.

use std::sync::OnceLock;

static REQUESTED: OnceLock<usize> = OnceLock::new();

/// The environment variable that sets the thread count.
const ENV: &str = "GENKIT_LOCAL_THREADS";
/// Read too, when [`ENV`] is not set, for programs written for earlier versions (which ran
/// candle's quantized kernels, sized by it).
const LEGACY_ENV: &str = "CANDLE_NUM_THREADS";

/// Asks for `n` threads (call before the first model loads; later calls have no effect).
pub(crate) fn request(n: usize) {
    let _ = REQUESTED.set(n.max(1));
}

/// The default thread count: 1 on machines with up to 2 CPUs (where busy workers compete
/// with everything else), else half the CPUs, at most 8.
pub fn default_threads() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if cpus <= 2 { 1 } else { (cpus / 2).min(8) }
}

fn env_threads() -> Option<usize> {
    [ENV, LEGACY_ENV]
        .iter()
        .find_map(|k| std::env::var(k).ok().and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0))
}

/// The thread count inference runs with: `GENKIT_LOCAL_THREADS` (or `CANDLE_NUM_THREADS`)
/// when set, else the count asked for with `Local::threads`, else [`default_threads`].
pub fn effective_threads() -> usize {
    env_threads().unwrap_or_else(|| REQUESTED.get().copied().unwrap_or_else(default_threads))
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
        let before = std::env::var_os(ENV);
        let pool = Pool::new();
        let (inside, name) =
            pool.install(|| (rayon::current_num_threads(), std::thread::current().name().map(str::to_owned)));
        assert_eq!(inside, effective_threads());
        assert_eq!(pool.threads(), effective_threads());
        assert!(name.is_some_and(|n| n.starts_with("genkit-local-")));
        // Nothing is written to the process environment any more.
        assert_eq!(std::env::var_os(ENV), before);
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
