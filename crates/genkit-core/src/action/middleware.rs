//! Action middleware: wrappers around an action's run, outermost first.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;

use super::RunOptions;
use crate::Result;

type NextFn<I, O, S> = Arc<dyn Fn(I, RunOptions<S>) -> BoxFuture<'static, Result<O>> + Send + Sync>;

/// The rest of the middleware chain (and finally the action itself), with the run's options.
///
/// It has the shape of the `generate`, `model` and `tool` hook chains' `Next` in `genkit-ai`:
/// [`Next::run`] passes an input on with the same options, [`Next::run_with`] with changed
/// ones, and [`Next::cx`] reads them. Cheap to clone; may be run more than once (to retry).
pub struct Next<I, O, S> {
    f: NextFn<I, O, S>,
    opts: RunOptions<S>,
}

impl<I, O, S> Clone for Next<I, O, S> {
    fn clone(&self) -> Self {
        Next { f: self.f.clone(), opts: self.opts.clone() }
    }
}

impl<I, O, S> fmt::Debug for Next<I, O, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Next")
    }
}

impl<I, O, S> Next<I, O, S> {
    pub(crate) fn new(
        opts: RunOptions<S>,
        f: impl Fn(I, RunOptions<S>) -> BoxFuture<'static, Result<O>> + Send + Sync + 'static,
    ) -> Self {
        Next { f: Arc::new(f), opts }
    }

    /// The run's options (context, streaming sink, cancellation, …).
    pub fn cx(&self) -> &RunOptions<S> {
        &self.opts
    }

    /// Calls the rest of the chain with `input` and the run's options.
    ///
    /// # Errors
    /// Whatever the rest of the chain returns.
    pub fn run(&self, input: I) -> BoxFuture<'static, Result<O>> {
        (self.f)(input, self.opts.clone())
    }

    /// Calls the rest of the chain with `input` and changed options.
    ///
    /// # Errors
    /// Whatever the rest of the chain returns.
    pub fn run_with(&self, input: I, opts: RunOptions<S>) -> BoxFuture<'static, Result<O>> {
        (self.f)(input, opts)
    }
}

/// A middleware around an action's runs (JS `use` on an action's parameters). The input may be
/// changed before calling `next`, the options through [`Next::run_with`], and the output after.
/// In JS the function's arity chose between `(req, next)` and `(req, opts, next)`; here the
/// options are always reachable through [`Next::cx`]. Closures `Fn(I, Next) -> impl Future`
/// implement it.
pub trait ActionMiddleware<I, O, S>: Send + Sync {
    /// Handles one run.
    fn call(&self, input: I, next: Next<I, O, S>) -> BoxFuture<'static, Result<O>>;
}

impl<I, O, S, F, Fut> ActionMiddleware<I, O, S> for F
where
    F: Fn(I, Next<I, O, S>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<O>> + Send + 'static,
{
    fn call(&self, input: I, next: Next<I, O, S>) -> BoxFuture<'static, Result<O>> {
        self(input, next).boxed()
    }
}
