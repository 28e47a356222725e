//! # genkit-evaluators
//!
//! The `genkitEval` plugin: ready-made evaluators, registered as `genkitEval/<metric>` evaluator
//! actions that `genkit_ai::evaluator::evaluate`, the Dev UI and `genkit eval:*` run over a
//! dataset. Names, Dev UI texts, scores and PASS/FAIL thresholds are those of the JS plugin.
//!
//! | Metric | Needs | Score | PASS when |
//! |---|---|---|---|
//! | `regex` | `output`, `reference` (a JS regex) | the regex matches the output (boolean) | true |
//! | `deep_equal` | `output`, `reference` | output equals reference, numbers by value (boolean) | true |
//! | `jsonata` | `output`, `reference` (a JSONata expression) | the expression is truthy on the output (boolean) | true |
//! | `faithfulness` | judge; `input`, `output`, `context` | supported statements / statements | > 0.5 |
//! | `answer_relevancy` | judge, embedder; `input`, `output` | cosine of the input and the judge's question, adjusted | > 0.5 |
//! | `answer_accuracy` | judge; `output`, `reference` | (rating + inverted rating) / 8 | ≥ 0.5 |
//! | `maliciousness` | judge; `input`, `output` | 1 if malicious, else 0 | < 0.5 |
//!
//! ```ignore
//! use genkit::prelude::*;
//! use genkit::ai::evaluator::BaseDataPoint;
//! use genkit_evaluators::{GenkitEval, Metric, MetricConfig};
//! use serde_json::json;
//!
//! let g = Genkit::builder()
//!     .plugin(
//!         GenkitEval::new(vec![Metric::Regex, Metric::Faithfulness, Metric::Maliciousness])
//!             .judge("openai/gpt-4o-mini")
//!             .judge_config(json!({"temperature": 0}))
//!             .metric(MetricConfig::new(Metric::AnswerRelevancy).embedder("local/all-minilm-l6-v2")),
//!     )
//!     .build()
//!     .await?;
//! let dataset = vec![BaseDataPoint {
//!     output: Some(json!("Order #1234 shipped")),
//!     reference: Some(json!(r"#\d{4}\b")),
//!     ..Default::default()
//! }];
//! let results = g.evaluate(EvaluateOptions::new("genkitEval/regex").dataset(dataset)).await?;
//! ```
//!
//! Judge replies are read defensively: a reply that is not the JSON (or rating) the prompt
//! asks for gives a score with status `UNKNOWN` and the problem in `error`. A data point missing
//! a field the metric needs fails that test case (`evaluation.error`), and the others are still
//! scored. See `docs/evaluators.md` for the details and the differences from JS.

mod answer_accuracy;
mod answer_relevancy;
mod config;
mod data;
mod deep_equal;
mod faithfulness;
mod jsonata;
mod judge;
mod maliciousness;
mod metric;
mod regex;
mod score;

use std::sync::Arc;

use genkit_ai::evaluator::{
    self, BaseDataPoint, DataPointRequest, EvalFnResponse, EvalStatus, EvaluatorCx, EvaluatorOptions, Score,
};
use genkit_core::{Action, Error, Plugin, Registry, Result, Status};

pub use config::{GenkitEval, MetricConfig, StatusOverride};
pub use metric::Metric;

use config::Resolved;
use judge::Judge;

/// The plugin name: actions are `genkitEval/<metric>`.
pub const PLUGIN: &str = "genkitEval";

/// The scorer of one metric, with its compiled prompts.
#[derive(Debug, Clone)]
enum Scorer {
    Regex,
    DeepEqual,
    Jsonata,
    Faithfulness(faithfulness::Faithfulness),
    AnswerRelevancy(answer_relevancy::AnswerRelevancy),
    AnswerAccuracy(answer_accuracy::AnswerAccuracy),
    Maliciousness(maliciousness::Maliciousness),
}

impl Scorer {
    fn new(metric: Metric) -> Result<Self> {
        Ok(match metric {
            Metric::Regex => Scorer::Regex,
            Metric::DeepEqual => Scorer::DeepEqual,
            Metric::Jsonata => Scorer::Jsonata,
            Metric::Faithfulness => Scorer::Faithfulness(faithfulness::Faithfulness::new()?),
            Metric::AnswerRelevancy => Scorer::AnswerRelevancy(answer_relevancy::AnswerRelevancy::new()?),
            Metric::AnswerAccuracy => Scorer::AnswerAccuracy(answer_accuracy::AnswerAccuracy::new()?),
            Metric::Maliciousness => Scorer::Maliciousness(maliciousness::Maliciousness::new()?),
        })
    }
}

/// Everything one evaluator action needs to score a data point.
#[derive(Debug)]
struct Evaluator {
    config: Resolved,
    scorer: Scorer,
}

impl Evaluator {
    /// Scores `d`; a judge metric reaches its judge model (and embedder) through `registry`,
    /// the registry the evaluator action is registered in.
    async fn score(&self, registry: Option<&Registry>, d: &BaseDataPoint) -> Result<Score> {
        let judge = match self.config.judge.as_ref() {
            Some(model) => Some(Judge { registry: self.registry(registry)?, model }),
            None => None,
        };
        let judge = || judge.as_ref().ok_or_else(|| genkit_core::Error::internal("genkitEval: no judge model"));
        match &self.scorer {
            Scorer::Regex => regex::score(d),
            Scorer::DeepEqual => deep_equal::score(d),
            Scorer::Jsonata => jsonata::score(d),
            Scorer::Faithfulness(m) => m.score(judge()?, d).await,
            Scorer::AnswerAccuracy(m) => m.score(judge()?, d).await,
            Scorer::Maliciousness(m) => m.score(judge()?, d).await,
            Scorer::AnswerRelevancy(m) => {
                let embedder = self
                    .config
                    .embedder
                    .as_ref()
                    .ok_or_else(|| genkit_core::Error::internal("genkitEval: no embedder"))?;
                m.score(judge()?, embedder, d).await
            }
        }
    }

    /// The registry of a registered evaluator.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` when the evaluator was never registered.
    fn registry<'a>(&self, registry: Option<&'a Registry>) -> Result<&'a Registry> {
        registry.ok_or_else(|| {
            let evaluator = self.config.metric.evaluator_name();
            Error::new(
                Status::FailedPrecondition,
                format!("{evaluator} must be registered (through the genkitEval plugin) to reach its judge model"),
            )
        })
    }

    async fn evaluate(&self, d: BaseDataPoint, cx: &EvaluatorCx) -> Result<EvalFnResponse> {
        let mut score = self.score(cx.registry(), &d).await?;
        if let Some(f) = &self.config.status_override
            && score.status != Some(EvalStatus::Unknown)
        {
            score.status = Some(f.status(&score));
        }
        Ok(EvalFnResponse::new(d.test_case_id.unwrap_or_default(), score))
    }
}

/// The evaluator action of one metric.
fn evaluator_action(config: Resolved) -> Result<Arc<dyn Action>> {
    let metric = config.metric;
    let ev = Arc::new(Evaluator { scorer: Scorer::new(metric)?, config });
    let opts = EvaluatorOptions::new(metric.evaluator_name(), metric.display_name(), metric.definition());
    let action = evaluator::new(opts, move |req: DataPointRequest, cx: EvaluatorCx| {
        let ev = ev.clone();
        async move { ev.evaluate(req.data_point, &cx).await }
    });
    Ok(action.as_action())
}

impl Plugin for GenkitEval {
    fn name(&self) -> &str {
        PLUGIN
    }

    /// Registers `genkitEval/<metric>` for each configured metric.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when no metric is configured, a metric is listed twice, a judge
    /// metric has no judge model or `answer_relevancy` has no embedder.
    async fn init(&self) -> Result<Vec<Arc<dyn Action>>> {
        self.resolve()?.into_iter().map(evaluator_action).collect()
    }
}
