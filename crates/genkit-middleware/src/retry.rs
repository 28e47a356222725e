//! `retry`: retries model calls that fail with a retryable status, with exponential backoff
//! and jitter, honouring the provider's `Retry-After` (JS `retry` of `@genkit-ai/middleware`).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::time::Duration;

use genkit_ai::middleware::{Middleware, MiddlewareDef, MiddlewareUse, ModelNext};
use genkit_ai::{ModelRequest, ModelResponse};
use genkit_core::{Error, Result, Status};
use serde::{Deserialize, Serialize};

use crate::never_retry;

/// Options of [`retry`] (JS `retry({...})` of `@genkit-ai/middleware`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RetryOptions {
    /// Retries after the first attempt (default 3).
    pub max_retries: u32,
    /// Statuses that are retried (default `UNAVAILABLE, DEADLINE_EXCEEDED,
    /// RESOURCE_EXHAUSTED, ABORTED, INTERNAL`).
    #[schemars(with = "Vec<String>")]
    pub statuses: Vec<Status>,
    /// First delay in milliseconds (default 1000).
    pub initial_delay_ms: u64,
    /// Delay cap in milliseconds (default 60000).
    pub max_delay_ms: u64,
    /// Delay multiplier (default 2).
    pub backoff_factor: f64,
    /// Disables the random jitter (`+ 1000·2^attempt·random()` ms).
    pub no_jitter: bool,
    /// The longest provider `Retry-After` honoured, in milliseconds (default 60000, as
    /// `maxDelayMs`). A provider asking for longer (an hour for a daily quota, or a garbled
    /// huge value) is waited for this long at most, so one answer cannot park a request
    /// indefinitely; set it to 0 to ignore `Retry-After` and use the backoff alone. Rust-only:
    /// Genkit JS honours any `Retry-After`.
    pub max_retry_after_ms: u64,
}

pub(crate) const RETRY_STATUSES: [Status; 5] =
    [Status::Unavailable, Status::DeadlineExceeded, Status::ResourceExhausted, Status::Aborted, Status::Internal];

impl Default for RetryOptions {
    fn default() -> Self {
        RetryOptions {
            max_retries: 3,
            statuses: RETRY_STATUSES.to_vec(),
            initial_delay_ms: 1000,
            max_delay_ms: 60_000,
            backoff_factor: 2.0,
            no_jitter: false,
            max_retry_after_ms: 60_000,
        }
    }
}

fn random_unit() -> f64 {
    static STATE: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = STATE.get_or_init(RandomState::new).build_hasher();
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// A delay in milliseconds as a `Duration`, whatever the options made of it: negative and
/// NaN are zero, and a delay too long for a `Duration` (an infinite backoff factor, jitter
/// after a thousand attempts) is the longest one, where `Duration::from_secs_f64` would panic.
fn from_millis(ms: f64) -> Duration {
    if ms.is_nan() || ms <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::MAX)
}

struct Retry(RetryOptions);

impl Middleware for Retry {
    async fn wrap_model(&self, req: ModelRequest, next: ModelNext<'_>) -> Result<ModelResponse> {
        {
            let o = &self.0;
            let mut current = o.initial_delay_ms as f64;
            let mut attempt = 0u32;
            loop {
                let err = match next.run(req.clone()).await {
                    Ok(r) => return Ok(r),
                    Err(e) => e,
                };
                if attempt >= o.max_retries {
                    tracing::warn!(
                        middleware = "retry",
                        "Retry attempts exhausted ({}). Last error: {err}",
                        o.max_retries
                    );
                    return Err(err);
                }
                if never_retry(&err) || !o.statuses.contains(&err.status()) {
                    tracing::warn!(
                        middleware = "retry",
                        "Retry skipped for {err}: status {} is not retryable",
                        err.status()
                    );
                    return Err(err);
                }
                let mut delay = current;
                if !o.no_jitter {
                    delay += 1000.0 * 2f64.powi(attempt as i32) * random_unit();
                }
                if let Some(after) = err.retry_after() {
                    let after = after.min(Duration::from_millis(o.max_retry_after_ms));
                    delay = delay.max(after.as_secs_f64() * 1000.0);
                }
                attempt += 1;
                tracing::warn!(
                    middleware = "retry",
                    attempt,
                    delay_ms = delay.round(),
                    "Retry {attempt} of {} in {}ms due to error: {err}",
                    o.max_retries,
                    delay.round()
                );
                let sleep = tokio::time::sleep(from_millis(delay));
                match &next.cx().cancellation {
                    Some(tok) => {
                        tokio::select! {
                            () = sleep => {}
                            () = tok.cancelled() => return Err(Error::cancelled("Generation was cancelled.")),
                        }
                    }
                    None => sleep.await,
                }
                current = (current * o.backoff_factor).min(o.max_delay_ms as f64);
            }
        }
    }
}

/// The `retry` middleware definition (register it to use `{name: "retry"}` by name).
pub fn retry_def() -> MiddlewareDef {
    static D: OnceLock<MiddlewareDef> = OnceLock::new();
    D.get_or_init(|| {
        MiddlewareDef::typed("retry", "Retries failed model calls with exponential backoff.", |o: RetryOptions, _| {
            Ok(Retry(o))
        })
    })
    .clone()
}

/// Retries model calls that fail with a retryable status: exponential backoff with
/// jitter, at least the provider's `Retry-After` (up to
/// [`max_retry_after_ms`](RetryOptions::max_retry_after_ms), 60 s by default); never retries
/// interrupts or cancellation.
///
/// ```
/// use genkit_middleware::{retry, RetryOptions};
/// let mw = retry(RetryOptions { max_retries: 2, ..Default::default() });
/// assert_eq!(mw.to_ref().name, "retry");
/// ```
pub fn retry(options: RetryOptions) -> MiddlewareUse {
    retry_def().with_config(serde_json::to_value(options).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_delay_converts_without_panicking() {
        assert_eq!(from_millis(1500.0), Duration::from_millis(1500));
        for zero in [0.0, -1.0, f64::NAN, f64::NEG_INFINITY] {
            assert_eq!(from_millis(zero), Duration::ZERO, "{zero}");
        }
        for huge in [f64::INFINITY, f64::MAX, 1e30, Duration::MAX.as_secs_f64() * 1000.0] {
            assert_eq!(from_millis(huge), Duration::MAX, "{huge}");
        }
    }
}
