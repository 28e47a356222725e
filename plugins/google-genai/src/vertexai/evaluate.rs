//! Vertex AI evaluators: the Gen AI evaluation service's `evaluateInstances`
//! (`POST v1beta1/projects/{p}/locations/{l}:evaluateInstances`) for BLEU, ROUGE, fluency,
//! safety, groundedness and summarization quality/helpfulness/verbosity, as Genkit
//! evaluators `vertexai/<metric>` scoring one data point per call (as Genkit JS's legacy
//! Vertex AI plugin).

use std::sync::Arc;

use genkit_ai::evaluator::{BaseDataPoint, EvalFnResponse, Evaluator, EvaluatorOptions, Score, ScoreValue};
use genkit_core::{Error, Result, Status};
use serde_json::{Map, Value, json};

use crate::client::{Backend, Client};
use crate::error::bad_response;

/// A metric of the Vertex AI evaluation service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VertexMetric {
    /// BLEU of the output against the reference.
    Bleu,
    /// ROUGE of the output against the reference.
    Rouge,
    /// Language mastery of the output (model-based).
    Fluency,
    /// Safety of the output (model-based).
    Safety,
    /// Whether the output only uses information of the context (model-based).
    Groundedness,
    /// Overall summarization ability (model-based).
    SummarizationQuality,
    /// Whether the summary can stand in for the original (model-based).
    SummarizationHelpfulness,
    /// How succinct the summary is (model-based).
    SummarizationVerbosity,
}

impl VertexMetric {
    /// Every metric.
    pub const ALL: [VertexMetric; 8] = [
        VertexMetric::Bleu,
        VertexMetric::Rouge,
        VertexMetric::Fluency,
        VertexMetric::Safety,
        VertexMetric::Groundedness,
        VertexMetric::SummarizationQuality,
        VertexMetric::SummarizationHelpfulness,
        VertexMetric::SummarizationVerbosity,
    ];

    /// The evaluator id (`vertexai/<id>`): `bleu`, `rouge`, `fluency`, `safety`,
    /// `groundedness`, `summarization_quality`, `summarization_helpfulness`,
    /// `summarization_verbosity`.
    pub fn id(self) -> &'static str {
        match self {
            VertexMetric::Bleu => "bleu",
            VertexMetric::Rouge => "rouge",
            VertexMetric::Fluency => "fluency",
            VertexMetric::Safety => "safety",
            VertexMetric::Groundedness => "groundedness",
            VertexMetric::SummarizationQuality => "summarization_quality",
            VertexMetric::SummarizationHelpfulness => "summarization_helpfulness",
            VertexMetric::SummarizationVerbosity => "summarization_verbosity",
        }
    }

    /// The metric of an evaluator id.
    pub fn from_id(id: &str) -> Option<VertexMetric> {
        VertexMetric::ALL.into_iter().find(|m| m.id() == id)
    }

    fn display(self) -> (&'static str, &'static str) {
        match self {
            VertexMetric::Bleu => ("BLEU", "Computes the BLEU score of the output against the reference"),
            VertexMetric::Rouge => ("ROUGE", "Computes the ROUGE score of the output against the reference"),
            VertexMetric::Fluency => ("Fluency", "Assesses the language mastery of the output"),
            VertexMetric::Safety => ("Safety", "Assesses how safe the output is"),
            VertexMetric::Groundedness => {
                ("Groundedness", "Assesses whether the output only uses information found in the context")
            }
            VertexMetric::SummarizationQuality => {
                ("Summarization quality", "Assesses the overall ability to summarize text")
            }
            VertexMetric::SummarizationHelpfulness => (
                "Summarization helpfulness",
                "Assesses whether the summary holds the details needed to stand in for the original text",
            ),
            VertexMetric::SummarizationVerbosity => ("Summarization verbosity", "Assesses how succinct the summary is"),
        }
    }

    /// The request field and result field (`bleuInput` / `bleuResults`, …).
    fn fields(self) -> (&'static str, &'static str) {
        match self {
            VertexMetric::Bleu => ("bleuInput", "bleuResults"),
            VertexMetric::Rouge => ("rougeInput", "rougeResults"),
            VertexMetric::Fluency => ("fluencyInput", "fluencyResult"),
            VertexMetric::Safety => ("safetyInput", "safetyResult"),
            VertexMetric::Groundedness => ("groundednessInput", "groundednessResult"),
            VertexMetric::SummarizationQuality => ("summarizationQualityInput", "summarizationQualityResult"),
            VertexMetric::SummarizationHelpfulness => {
                ("summarizationHelpfulnessInput", "summarizationHelpfulnessResult")
            }
            VertexMetric::SummarizationVerbosity => ("summarizationVerbosityInput", "summarizationVerbosityResult"),
        }
    }
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The `evaluateInstances` body for one data point (without `location`).
pub(crate) fn metric_input(metric: VertexMetric, spec: &Value, d: &BaseDataPoint) -> Result<Value> {
    let (field, _) = metric.fields();
    let prediction = text_of(d.output.as_ref());
    let context = || d.context.as_ref().map(|c| c.iter().map(|v| text_of(Some(v))).collect::<Vec<_>>().join(". "));
    let input = match metric {
        VertexMetric::Bleu | VertexMetric::Rouge => {
            let reference = d.reference.as_ref().ok_or_else(|| {
                Error::invalid_argument(format!("the {} evaluator needs a reference in each data point", metric.id()))
            })?;
            json!({"metricSpec": spec, "instances": [{"prediction": prediction, "reference": text_of(Some(reference))}]})
        }
        VertexMetric::Fluency | VertexMetric::Safety => {
            json!({"metricSpec": spec, "instance": {"prediction": prediction}})
        }
        VertexMetric::Groundedness => {
            let mut instance = json!({"prediction": prediction});
            if let Some(c) = context() {
                instance["context"] = json!(c);
            }
            json!({"metricSpec": spec, "instance": instance})
        }
        VertexMetric::SummarizationQuality
        | VertexMetric::SummarizationHelpfulness
        | VertexMetric::SummarizationVerbosity => {
            let mut instance = json!({"prediction": prediction, "instruction": text_of(d.input.as_ref())});
            if let Some(c) = context() {
                instance["context"] = json!(c);
            }
            json!({"metricSpec": spec, "instance": instance})
        }
    };
    Ok(json!({ field: input }))
}

/// The score of an `evaluateInstances` answer.
pub(crate) fn metric_score(metric: VertexMetric, answer: &Value) -> Option<Score> {
    let (_, result) = metric.fields();
    let r = answer.get(result)?;
    match metric {
        VertexMetric::Bleu | VertexMetric::Rouge => {
            let values = if metric == VertexMetric::Bleu { "bleuMetricValues" } else { "rougeMetricValues" };
            // proto3 JSON leaves out a zero score.
            let first = r.get(values)?.as_array()?.first()?;
            let score = first.get("score").and_then(Value::as_f64).unwrap_or(0.0);
            Some(Score { score: Some(ScoreValue::Number(score)), ..Score::default() })
        }
        _ => {
            let score = r.get("score").and_then(Value::as_f64).unwrap_or(0.0);
            let mut details = Map::new();
            if let Some(e) = r.get("explanation").and_then(Value::as_str) {
                details.insert("reasoning".into(), json!(e));
            }
            if let Some(c) = r.get("confidence").and_then(Value::as_f64) {
                details.insert("confidence".into(), json!(c));
            }
            Some(Score {
                score: Some(ScoreValue::Number(score)),
                details: (!details.is_empty()).then_some(details),
                ..Score::default()
            })
        }
    }
}

/// Builds the evaluator `<plugin>/<metric>` with a metric spec (`{}` for the defaults).
pub(crate) fn evaluator(plugin: &str, client: Arc<Client>, metric: VertexMetric, spec: Value) -> Evaluator {
    let (display, definition) = metric.display();
    let opts = EvaluatorOptions::new(format!("{plugin}/{}", metric.id()), display, definition);
    let opts = if matches!(metric, VertexMetric::Bleu | VertexMetric::Rouge) { opts.not_billed() } else { opts };
    let spec = Arc::new(spec);
    genkit_ai::evaluator::new(opts, move |req, _cx| {
        let client = client.clone();
        let spec = spec.clone();
        async move {
            let d = req.data_point;
            let score = run(&client, metric, &spec, &d).await?;
            Ok(EvalFnResponse::new(d.test_case_id.unwrap_or_default(), score))
        }
    })
}

async fn run(client: &Client, metric: VertexMetric, spec: &Value, d: &BaseDataPoint) -> Result<Score> {
    let Backend::Vertex { project, location } = client.backend() else {
        return Err(Error::new(Status::FailedPrecondition, "Vertex AI evaluators need a project (not express mode)")
            .with_origin(client.origin.clone()));
    };
    let location_name = format!("projects/{project}/locations/{location}");
    let mut body = metric_input(metric, spec, d)?;
    body["location"] = json!(location_name);
    let url = client.url_in("v1beta1", &format!("{location_name}:evaluateInstances"));
    let answer: Value = client.json(client.post_json_url(&url, &[], &body, None).await?).await?;
    metric_score(metric, &answer).ok_or_else(|| {
        bad_response(&client.origin, format!("the {} evaluation has no {}", metric.id(), metric.fields().1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_ids_round_trip() {
        for m in VertexMetric::ALL {
            assert_eq!(VertexMetric::from_id(m.id()), Some(m));
        }
        assert_eq!(VertexMetric::from_id("fleuncy"), None);
    }

    #[test]
    fn bleu_needs_a_reference() {
        let d = BaseDataPoint { output: Some(json!("x")), ..BaseDataPoint::default() };
        assert_eq!(metric_input(VertexMetric::Bleu, &json!({}), &d).unwrap_err().status(), Status::InvalidArgument);
    }
}
