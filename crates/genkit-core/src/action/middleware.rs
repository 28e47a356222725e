//! Action middleware: wrappers around an action's run, outermost first.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;

use super::RunOptions;
use crate::Result;

type NextFn<I, O, S> = Arc<dyn Fn(I, RunOptions<S>) -> BoxFuture<'static, Result<O>> + Send + Sync>;

/// The rest of the middleware chain (and finally the action itself).
pub struct Next<I, O, S> {
    f: NextFn<I, O, S>,
}

impl<I, O, S> fmt::Debug for Next<I, O, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Next")
    }
}

impl<I, O, S> Next<I, O, S> {
    pub(crate) fn new(f: impl Fn(I, RunOptions<S>) -> BoxFuture<'static, Result<O>> + Send + Sync + 'static) -> Self {
        Next { f: Arc::new(f) }
    }

    /// Calls the rest of the chain with (possibly modified) input and options.
    ///
    /// # Errors
    /// Whatever the rest of the chain returns.
    pub fn run(&self, input: I, opts: RunOptions<S>) -> BoxFuture<'static, Result<O>> {
        (self.f)(input, opts)
    }
}

/// A middleware around an action's runs. The input and options may be changed before
/// calling `next`, and the output after. In JS the function's arity chose between
/// `(req, next)` and `(req, opts, next)`; here the options are always passed.
pub trait ActionMiddleware<I, O, S>: Send + Sync {
    /// Handles one run.
    fn call(&self, input: I, opts: RunOptions<S>, next: Next<I, O, S>) -> BoxFuture<'static, Result<O>>;
}

impl<I, O, S, F, Fut> ActionMiddleware<I, O, S> for F
where
    F: Fn(I, RunOptions<S>, Next<I, O, S>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<O>> + Send + 'static,
{
    fn call(&self, input: I, opts: RunOptions<S>, next: Next<I, O, S>) -> BoxFuture<'static, Result<O>> {
        self(input, opts, next).boxed()
    }
}
