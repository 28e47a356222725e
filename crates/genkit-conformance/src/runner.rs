//! Running suites in-process against a registry, as `genkit dev:test-model` runs them
//! against a runtime: suites sequentially, the tests of a suite concurrently.

use std::fmt;
use std::sync::{Arc, Mutex};

use genkit_ai::ModelResponse;
use genkit_core::{Action, Registry, RunOptions};
use serde_json::Value;

use crate::builtin::default_supports;
use crate::report::{MISSING_MODEL, MISSING_MODEL_TEST, Report, SuiteReport, TestOutcome};
use crate::suite::{Suite, TestCase};
use crate::validator::validate;

type OutcomeFn = Arc<dyn Fn(&TestOutcome) + Send + Sync>;

/// Options of a run.
///
/// ```
/// use genkit_conformance::ConformanceOptions;
/// let opts = ConformanceOptions::new().default_supports(["multiturn", "system-role"]);
/// assert_eq!(opts.supports_list(), ["multiturn", "system-role"]);
/// ```
#[derive(Clone)]
pub struct ConformanceOptions {
    default_supports: Vec<String>,
    on_outcome: Option<OutcomeFn>,
}

impl Default for ConformanceOptions {
    fn default() -> Self {
        ConformanceOptions { default_supports: default_supports(), on_outcome: None }
    }
}

impl fmt::Debug for ConformanceOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConformanceOptions")
            .field("default_supports", &self.default_supports)
            .field("on_outcome", &self.on_outcome.is_some())
            .finish()
    }
}

impl ConformanceOptions {
    /// The CLI's defaults (`--supports` = [`crate::DEFAULT_SUPPORTS`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The `--supports` list used by suites with neither `supports` nor `tests`.
    #[must_use]
    pub fn default_supports<S: Into<String>>(mut self, caps: impl IntoIterator<Item = S>) -> Self {
        self.default_supports = caps.into_iter().map(Into::into).collect();
        self
    }

    /// Called with each outcome as its test finishes (in completion order), e.g. to print
    /// progress the way the CLI does.
    #[must_use]
    pub fn on_outcome(mut self, f: impl Fn(&TestOutcome) + Send + Sync + 'static) -> Self {
        self.on_outcome = Some(Arc::new(f));
        self
    }

    /// The `--supports` list in effect.
    pub fn supports_list(&self) -> &[String] {
        &self.default_supports
    }
}

/// Runs suites with the CLI's defaults. Equivalent to
/// `run_suites_with(registry, suites, &ConformanceOptions::default())`.
///
/// With the `Genkit` facade, pass `g.registry()`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use genkit_conformance::{Suite, run_suites};
/// let registry = genkit_core::Registry::new();
/// registry.register_action(genkit_ai::model::testing::echo_model("test/echo").as_action()).unwrap();
/// let report = run_suites(&registry, &[Suite::for_model("test/echo").supports(["multiturn"])]).await;
/// assert_eq!(report.summary(), "Tests Completed: 1 Passed, 0 Failed");
/// # }
/// ```
pub async fn run_suites(registry: &Registry, suites: &[Suite]) -> Report {
    run_suites_with(registry, suites, &ConformanceOptions::default()).await
}

/// Runs suites one after the other; see [`run_suite`].
pub async fn run_suites_with(registry: &Registry, suites: &[Suite], opts: &ConformanceOptions) -> Report {
    let mut report = Report::default();
    for suite in suites {
        report.suites.push(run_suite(registry, suite, opts).await);
    }
    report
}

/// Runs one suite: its built-in cases (from `supports`, or the default list under the CLI's
/// rules) and custom tests, concurrently.
///
/// A suite without a model fails as one test ([`MISSING_MODEL`]). When the model's action
/// is not in the registry, every test of the suite fails with a "not found" reason right
/// away (the CLI first waits up to 30 s for the runtime to register it, then its calls fail).
pub async fn run_suite(registry: &Registry, suite: &Suite, opts: &ConformanceOptions) -> SuiteReport {
    let mut out = SuiteReport { model: suite.model.clone(), ..SuiteReport::default() };
    let Some(key) = suite.model_key() else {
        let o = TestOutcome::fail("", MISSING_MODEL_TEST, MISSING_MODEL);
        notify(opts, &o);
        out.results.push(o);
        return out;
    };
    let (cases, warnings) = suite.test_cases(&opts.default_supports);
    out.warnings = warnings;
    let action = match registry.lookup_action(&key).await {
        Ok(Some(a)) => Ok(a),
        Ok(None) => Err(format!("model action '{key}' not found in the registry")),
        Err(e) => Err(format!("looking up model action '{key}' failed: {e}")),
    };
    let runs = cases.iter().map(|case| {
        let action = action.clone();
        async move {
            let res = match &action {
                Ok(a) => run_case(a.as_ref(), case).await,
                Err(reason) => Err(reason.clone()),
            };
            let o = match res {
                Ok(()) => TestOutcome::pass(&suite.model, &case.name),
                Err(reason) => TestOutcome::fail(&suite.model, &case.name, reason),
            };
            notify(opts, &o);
            o
        }
    });
    out.results = futures::future::join_all(runs).await;
    out
}

fn notify(opts: &ConformanceOptions, o: &TestOutcome) {
    if let Some(f) = &opts.on_outcome {
        f(o);
    }
}

/// Runs one test case against a model action: calls it with the case's input (streaming
/// when `stream` is set, collecting the chunks), requires at least one chunk when
/// streaming, parses the result as a `ModelResponse` and runs the validators in order.
///
/// # Errors
/// The failure reason: the action's error, `Streaming requested but no chunks received.`,
/// a parse error of the result, or the first failing validator's message.
pub async fn run_case(model: &dyn Action, case: &TestCase) -> Result<(), String> {
    let chunks: Arc<Mutex<Vec<Value>>> = Arc::default();
    let opts = if case.stream {
        let sink = chunks.clone();
        RunOptions::new().on_chunk(move |c: Value| lock(&sink).push(c))
    } else {
        RunOptions::new()
    };
    let result = model.run_json(case.input.clone(), opts).await.map_err(|e| e.to_string())?;
    let chunks = std::mem::take(&mut *lock(&chunks));
    if case.stream && chunks.is_empty() {
        return Err("Streaming requested but no chunks received.".to_owned());
    }
    let response: ModelResponse = serde_json::from_value(result.result)
        .map_err(|e| format!("the model's result is not a valid GenerateResponse: {e}"))?;
    for v in &case.validators {
        validate(v, &response, &chunks)?;
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
