//! Concurrent generations on one loaded model share its forward passes (continuous batching).
//!
//! Each generation hands its next step (new tokens and its KV state) to the [`Batcher`] and
//! waits. The first waiting thread that finds no pass running becomes the *leader*: it takes
//! every queued step, oldest first, up to a token budget, runs them as one batched pass (the
//! weights are read once for all of them) and hands each result back. Steps are served in the
//! order they arrived, so no generation starves; a lone generation runs its steps directly.
//!
//! Long prompts are fed in chunks by the caller, so a new request's prompt shares passes with
//! the other generations' single tokens instead of stalling them.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use genkit_core::{Error, Result};

use crate::transformer::{Kv, Step};

/// Most tokens in one batched pass (a prompt chunk is at most [`PROMPT_CHUNK`]).
const MAX_BATCH_TOKENS: usize = 256;
/// Longest a leader waits for the steps of other generations in progress (they are sampling
/// their next token, which takes well under this).
const GATHER: Duration = Duration::from_millis(2);
/// Prompt tokens per step.
pub(crate) const PROMPT_CHUNK: usize = 64;

type Outcome = Result<(Kv, Vec<f32>)>;
/// Runs a batch of steps: returns the logits of each (see `Transformer::forward_batch`).
pub(crate) type Exec<'a> = dyn Fn(&mut [Step]) -> Result<Vec<Vec<f32>>> + Sync + 'a;

#[derive(Default)]
struct Queue {
    next: u64,
    pending: Vec<(u64, Step)>,
    done: HashMap<u64, Outcome>,
    running: bool,
    /// Generations in progress (between [`Batcher::join`] and the drop of its guard).
    active: usize,
    /// Steps served in batches of more than one (tests and figures).
    shared: u64,
    /// Passes run (tests).
    passes: u64,
}

/// The queue of steps waiting for a pass.
#[derive(Default)]
pub(crate) struct Batcher {
    q: Mutex<Queue>,
    cv: Condvar,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl Batcher {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.q.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `step` in the next pass (blocking) and returns its state and logits. `exec` runs a
    /// batch; whichever waiting thread leads calls it.
    pub(crate) fn run(&self, step: Step, exec: &Exec<'_>) -> Outcome {
        let mut q = self.lock();
        let id = q.next;
        q.next += 1;
        q.pending.push((id, step));
        // A leader may be waiting for this step.
        self.cv.notify_all();
        loop {
            if let Some(out) = q.done.remove(&id) {
                return out;
            }
            if q.running {
                q = self.cv.wait(q).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            // Lead. Other generations are sampling their next token from the last pass: give
            // them a moment to queue their steps, so they share this pass instead of each
            // running alone in turn.
            q.running = true;
            let deadline = Instant::now() + GATHER;
            while q.pending.len() < q.active {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                q = self.cv.wait_timeout(q, left).unwrap_or_else(PoisonError::into_inner).0;
            }
            // Take the oldest steps that fit the budget (always at least one).
            let mut tokens = 0;
            let take = q
                .pending
                .iter()
                .take_while(|(_, s)| {
                    tokens += s.tokens.len();
                    tokens <= MAX_BATCH_TOKENS
                })
                .count()
                .max(1);
            let batch: Vec<(u64, Step)> = q.pending.drain(..take).collect();
            if batch.len() > 1 {
                q.shared += batch.len() as u64;
            }
            q.passes += 1;
            drop(q);
            let (ids, mut steps): (Vec<u64>, Vec<Step>) = batch.into_iter().unzip();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exec(&mut steps)))
                .unwrap_or_else(|_| Err(Error::internal("the local model's forward pass panicked")));
            q = self.lock();
            match result {
                Ok(logits) => {
                    for ((id, step), l) in ids.into_iter().zip(steps).zip(logits) {
                        q.done.insert(id, Ok((step.kv, l)));
                    }
                }
                Err(e) => {
                    for id in ids {
                        q.done.insert(id, Err(e.clone()));
                    }
                }
            }
            q.running = false;
            self.cv.notify_all();
        }
    }

    /// Registers a generation until the guard drops: leaders wait (briefly) for the steps of
    /// registered generations.
    pub(crate) fn join(&self) -> Active<'_> {
        self.lock().active += 1;
        Active(self)
    }

    /// Passes run so far.
    #[cfg(test)]
    pub(crate) fn passes(&self) -> u64 {
        self.lock().passes
    }

    /// Steps that were served together with others so far.
    #[cfg(test)]
    pub(crate) fn shared_steps(&self) -> u64 {
        self.lock().shared
    }
}

/// A generation in progress; see [`Batcher::join`].
#[derive(Debug)]
pub(crate) struct Active<'a>(&'a Batcher);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        let mut q = self.0.lock();
        q.active = q.active.saturating_sub(1);
        drop(q);
        // A leader waiting for this generation's step waits no more.
        self.0.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn step(tokens: Vec<u32>) -> Step {
        Step { tokens, kv: Kv::default(), logits: true }
    }

    #[test]
    fn a_lone_step_runs_directly_and_gets_its_own_result() {
        let b = Batcher::default();
        let (_, l) = b
            .run(step(vec![7, 8]), &|s: &mut [Step]| Ok(s.iter().map(|s| vec![s.tokens.len() as f32]).collect()))
            .unwrap();
        assert_eq!(l, vec![2.0]);
        assert_eq!(b.shared_steps(), 0);
    }

    #[test]
    fn steps_queued_during_a_pass_share_the_next_one_and_each_gets_its_own_result() {
        let b = Arc::new(Batcher::default());
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..8u32)
            .map(|i| {
                let (b, sizes) = (b.clone(), sizes.clone());
                std::thread::spawn(move || {
                    let exec = |s: &mut [Step]| {
                        let first = {
                            let mut sz = sizes.lock().unwrap();
                            sz.push(s.len());
                            sz.len() == 1
                        };
                        // The first pass lasts until every other step is queued.
                        while first && b.lock().pending.len() + s.len() < 8 {
                            std::thread::yield_now();
                        }
                        Ok(s.iter().map(|s| vec![s.tokens[0] as f32]).collect())
                    };
                    b.run(step(vec![i]), &exec).unwrap().1[0]
                })
            })
            .collect();
        for (i, t) in threads.into_iter().enumerate() {
            assert_eq!(t.join().unwrap(), i as f32);
        }
        // Two passes: the first, and one with every step queued while it ran.
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.len(), 2, "{sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), 8);
        assert!(b.shared_steps() >= 7);
    }

    #[test]
    fn a_failed_pass_fails_its_steps_and_the_batcher_goes_on() {
        let b = Batcher::default();
        let e = b.run(step(vec![1]), &|_: &mut [Step]| Err(Error::internal("boom"))).unwrap_err();
        assert_eq!(e.message(), "boom");
        let e = b.run(step(vec![1]), &|_: &mut [Step]| -> Result<Vec<Vec<f32>>> { panic!("kernel bug") }).unwrap_err();
        assert!(e.message().contains("panicked"));
        assert!(b.run(step(vec![1]), &|s: &mut [Step]| Ok(vec![vec![]; s.len()])).is_ok());
    }
}
