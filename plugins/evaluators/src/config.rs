//! Plugin and per-metric options: the judge model, its config, the embedder and its options
//! are set once on [`GenkitEval`] and may be overridden for one metric by [`MetricConfig`].

use std::fmt;
use std::sync::Arc;

use genkit_ai::evaluator::{EvalStatus, Score};
use genkit_core::{Error, Result};
use serde_json::{Map, Value};

use crate::Metric;

/// Decides the status of a score instead of the metric's threshold (JS `statusOverrideFn`).
#[derive(Clone)]
pub struct StatusOverride(Arc<dyn Fn(&Score) -> EvalStatus + Send + Sync>);

impl StatusOverride {
    /// Wraps a function of the score.
    pub fn new(f: impl Fn(&Score) -> EvalStatus + Send + Sync + 'static) -> Self {
        StatusOverride(Arc::new(f))
    }

    /// The status `f` gives `score`.
    pub fn status(&self, score: &Score) -> EvalStatus {
        (self.0)(score)
    }
}

impl fmt::Debug for StatusOverride {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StatusOverride")
    }
}

/// One metric to register, with options that override the plugin's (JS `GenkitMetricConfig`).
///
/// ```
/// use genkit_evaluators::{Metric, MetricConfig};
/// let m = MetricConfig::new(Metric::Faithfulness).judge("googleai/gemini-2.5-pro");
/// assert_eq!(m.metric(), Metric::Faithfulness);
/// ```
#[derive(Debug, Clone)]
pub struct MetricConfig {
    metric: Metric,
    judge: Option<String>,
    judge_config: Option<Value>,
    embedder: Option<String>,
    embedder_options: Option<Map<String, Value>>,
    status_override: Option<StatusOverride>,
}

impl MetricConfig {
    /// `metric` with the plugin's options.
    pub fn new(metric: Metric) -> Self {
        MetricConfig {
            metric,
            judge: None,
            judge_config: None,
            embedder: None,
            embedder_options: None,
            status_override: None,
        }
    }

    /// The metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The judge model for this metric (a model name such as `googleai/gemini-2.5-flash`).
    #[must_use]
    pub fn judge(mut self, model: impl Into<String>) -> Self {
        self.judge = Some(model.into());
        self
    }

    /// The judge model's config for this metric (e.g. `{"temperature": 0}`).
    #[must_use]
    pub fn judge_config(mut self, config: Value) -> Self {
        self.judge_config = Some(config);
        self
    }

    /// The embedder for this metric (only `answer_relevancy` uses one).
    #[must_use]
    pub fn embedder(mut self, embedder: impl Into<String>) -> Self {
        self.embedder = Some(embedder.into());
        self
    }

    /// The embedder's options for this metric.
    #[must_use]
    pub fn embedder_options(mut self, options: Map<String, Value>) -> Self {
        self.embedder_options = Some(options);
        self
    }

    /// Sets the status of every score of this metric with `f` instead of the metric's threshold
    /// (scores that could not be computed keep `UNKNOWN`).
    #[must_use]
    pub fn status_override(mut self, f: impl Fn(&Score) -> EvalStatus + Send + Sync + 'static) -> Self {
        self.status_override = Some(StatusOverride::new(f));
        self
    }
}

impl From<Metric> for MetricConfig {
    fn from(metric: Metric) -> Self {
        MetricConfig::new(metric)
    }
}

/// The `genkitEval` plugin (JS `genkitEval({metrics, judge, judgeConfig, embedder,
/// embedderOptions})`): registers `genkitEval/<metric>` for each configured metric.
///
/// ```
/// use genkit_evaluators::{GenkitEval, Metric, MetricConfig};
/// let plugin = GenkitEval::new(vec![Metric::Regex, Metric::DeepEqual, Metric::Faithfulness])
///     .judge("googleai/gemini-2.5-flash")
///     .judge_config(serde_json::json!({"temperature": 0}))
///     .metric(MetricConfig::new(Metric::AnswerRelevancy).embedder("local/all-minilm-l6-v2"));
/// # let _ = plugin;
/// ```
#[derive(Debug, Clone)]
pub struct GenkitEval {
    pub(crate) metrics: Vec<MetricConfig>,
    judge: Option<String>,
    judge_config: Option<Value>,
    embedder: Option<String>,
    embedder_options: Option<Map<String, Value>>,
}

impl GenkitEval {
    /// The plugin with these metrics (each a [`Metric`] or a [`MetricConfig`]).
    pub fn new<M: Into<MetricConfig>>(metrics: impl IntoIterator<Item = M>) -> Self {
        GenkitEval {
            metrics: metrics.into_iter().map(Into::into).collect(),
            judge: None,
            judge_config: None,
            embedder: None,
            embedder_options: None,
        }
    }

    /// Adds a metric.
    #[must_use]
    pub fn metric(mut self, metric: impl Into<MetricConfig>) -> Self {
        self.metrics.push(metric.into());
        self
    }

    /// The judge model of the judge metrics (faithfulness, answer relevancy, answer accuracy,
    /// maliciousness), unless a metric sets its own.
    #[must_use]
    pub fn judge(mut self, model: impl Into<String>) -> Self {
        self.judge = Some(model.into());
        self
    }

    /// The judge model's config, unless a metric sets its own.
    #[must_use]
    pub fn judge_config(mut self, config: Value) -> Self {
        self.judge_config = Some(config);
        self
    }

    /// The embedder of `answer_relevancy`, unless the metric sets its own.
    #[must_use]
    pub fn embedder(mut self, embedder: impl Into<String>) -> Self {
        self.embedder = Some(embedder.into());
        self
    }

    /// The embedder's options, unless the metric sets its own.
    #[must_use]
    pub fn embedder_options(mut self, options: Map<String, Value>) -> Self {
        self.embedder_options = Some(options);
        self
    }

    /// Each metric's options, the metric's own winning over the plugin's.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when no metric is configured, a metric is listed twice, a judge
    /// metric has no judge model, or `answer_relevancy` has no embedder.
    pub(crate) fn resolve(&self) -> Result<Vec<Resolved>> {
        if self.metrics.is_empty() {
            return Err(Error::invalid_argument("No metrics configured in genkitEval plugin"));
        }
        let mut out: Vec<Resolved> = Vec::with_capacity(self.metrics.len());
        for m in &self.metrics {
            let metric = m.metric;
            if out.iter().any(|r| r.metric == metric) {
                return Err(Error::invalid_argument(format!("genkitEval: metric {metric} is configured twice")));
            }
            let judge = m.judge.clone().or_else(|| self.judge.clone());
            let judge = match (metric.needs_judge(), judge) {
                (false, _) => None,
                (true, Some(model)) => {
                    Some(JudgeModel { model, config: m.judge_config.clone().or_else(|| self.judge_config.clone()) })
                }
                (true, None) => {
                    return Err(Error::invalid_argument(format!(
                        "genkitEval: a judge model must be set (GenkitEval::judge or MetricConfig::judge) to compute {metric}"
                    )));
                }
            };
            let embedder = m.embedder.clone().or_else(|| self.embedder.clone());
            let embedder = match (metric.needs_embedder(), embedder) {
                (false, _) => None,
                (true, Some(name)) => Some(EmbedderChoice {
                    name,
                    options: m.embedder_options.clone().or_else(|| self.embedder_options.clone()),
                }),
                (true, None) => {
                    return Err(Error::invalid_argument(format!(
                        "genkitEval: an embedder must be set (GenkitEval::embedder or MetricConfig::embedder) to compute {metric}"
                    )));
                }
            };
            out.push(Resolved { metric, judge, embedder, status_override: m.status_override.clone() });
        }
        Ok(out)
    }
}

/// A judge model and its config.
#[derive(Debug, Clone)]
pub(crate) struct JudgeModel {
    pub(crate) model: String,
    pub(crate) config: Option<Value>,
}

/// An embedder and its options.
#[derive(Debug, Clone)]
pub(crate) struct EmbedderChoice {
    pub(crate) name: String,
    pub(crate) options: Option<Map<String, Value>>,
}

/// A metric with its final options.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) metric: Metric,
    pub(crate) judge: Option<JudgeModel>,
    pub(crate) embedder: Option<EmbedderChoice>,
    pub(crate) status_override: Option<StatusOverride>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metric_options_override_the_plugin_options() {
        let p = GenkitEval::new(vec![Metric::Maliciousness])
            .metric(MetricConfig::new(Metric::Faithfulness).judge("b/judge").judge_config(json!({"t": 1})))
            .metric(Metric::AnswerRelevancy)
            .judge("a/judge")
            .judge_config(json!({"t": 0}))
            .embedder("e/one");
        let r = p.resolve().unwrap();
        assert_eq!(r[0].judge.as_ref().unwrap().model, "a/judge");
        assert_eq!(r[0].judge.as_ref().unwrap().config, Some(json!({"t": 0})));
        assert_eq!(r[1].judge.as_ref().unwrap().model, "b/judge");
        assert_eq!(r[1].judge.as_ref().unwrap().config, Some(json!({"t": 1})));
        assert_eq!(r[2].embedder.as_ref().unwrap().name, "e/one");
        assert!(r[0].embedder.is_none());
    }

    #[test]
    fn missing_judge_embedder_or_metrics_are_errors() {
        let e = GenkitEval::new(Vec::<Metric>::new()).resolve().unwrap_err();
        assert_eq!(e.message(), "No metrics configured in genkitEval plugin");
        let e = GenkitEval::new(vec![Metric::Faithfulness]).resolve().unwrap_err();
        assert!(e.message().contains("judge model must be set"), "{e}");
        let e = GenkitEval::new(vec![Metric::AnswerRelevancy]).judge("j").resolve().unwrap_err();
        assert!(e.message().contains("embedder must be set"), "{e}");
        let e = GenkitEval::new(vec![Metric::Regex, Metric::Regex]).resolve().unwrap_err();
        assert!(e.message().contains("twice"), "{e}");
        assert!(GenkitEval::new(vec![Metric::Regex, Metric::Jsonata]).resolve().is_ok());
    }
}
