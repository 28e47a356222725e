//! Evaluators: `/evaluator/<name>` scores a dataset of `{input, output, context,
//! reference}` data points, one span per test case, as the Dev UI and `genkit eval:*` expect.
//! [`new`] and [`new_batch`] build one; [`evaluate`] calls one by name, reference or handle.

use std::future::Future;
use std::sync::Arc;

use futures::future::join_all;
use genkit_core::{ActionCx, ActionDef, ActionType, Error, Registry, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::action_ref::{action_ref, call, lookup, merge_options};

/// A data point to evaluate (JS `BaseDataPoint`); `test_case_id` is filled with a UUID when absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BaseDataPoint {
    /// The input given to the system under test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// What it produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// The context it used (e.g. retrieved documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<Value>>,
    /// The expected answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Value>,
    /// Id of the test case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_case_id: Option<String>,
    /// Traces of the run that produced `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_ids: Option<Vec<String>>,
}

/// Input of an evaluator action (JS `EvalRequest` + `batchSize`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvalRequest {
    /// The data points.
    pub dataset: Vec<BaseDataPoint>,
    /// Id of this evaluation run.
    pub eval_run_id: String,
    /// Evaluator options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
    /// How many data points run concurrently (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
}

/// PASS / FAIL / UNKNOWN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum EvalStatus {
    /// Could not tell.
    Unknown,
    /// Passed.
    Pass,
    /// Failed.
    Fail,
}

/// A score: a number, a string or a boolean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ScoreValue {
    /// Numeric score.
    Number(f64),
    /// Boolean score.
    Bool(bool),
    /// Text score.
    Text(String),
}

/// One score of a test case (JS `Score`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Score {
    /// Distinguishes several scores of one test case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<ScoreValue>,
    /// PASS / FAIL / UNKNOWN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<EvalStatus>,
    /// Why the evaluation failed to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `{reasoning?, ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
}

/// One score or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Evaluation {
    /// A single score.
    One(Score),
    /// Several scores.
    Many(Vec<Score>),
}

/// The evaluation of one test case (JS `EvalFnResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvalFnResponse {
    /// Position in the dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_index: Option<usize>,
    /// Id of the test case.
    pub test_case_id: String,
    /// Trace of the evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Span of the evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// The score(s).
    pub evaluation: Evaluation,
}

impl EvalFnResponse {
    /// A response with one score for `test_case_id`.
    pub fn new(test_case_id: impl Into<String>, score: Score) -> Self {
        EvalFnResponse {
            sample_index: None,
            test_case_id: test_case_id.into(),
            trace_id: None,
            span_id: None,
            evaluation: Evaluation::One(score),
        }
    }
}

/// An evaluator (JS `EvaluatorAction`): a typed handle, cheap to clone. Build one with [`new`]
/// or [`new_batch`], or define it with `Genkit::define_evaluator`.
pub type Evaluator = ActionDef<EvalRequest, Vec<EvalFnResponse>>;

/// What an evaluator function receives besides the request: the registry it is registered in
/// (`cx.registry()`, e.g. to reach a judge model), the action context and the cancellation token.
pub type EvaluatorCx = ActionCx<()>;

/// What the function of a per-data-point evaluator ([`new`]) gets: one data point (its
/// `test_case_id` filled) and the evaluator options of the run (JS `EvaluatorFn` arguments).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataPointRequest {
    /// The data point to score.
    pub data_point: BaseDataPoint,
    /// The options of the evaluation run.
    pub options: Option<Value>,
}

/// Options of an evaluator (JS `defineEvaluator` options).
#[derive(Debug, Clone)]
pub struct EvaluatorOptions {
    /// Action name.
    pub name: String,
    /// Name shown in the Dev UI.
    pub display_name: String,
    /// What it measures.
    pub definition: String,
    /// Whether running it costs money (judge models); default true.
    pub is_billed: bool,
    /// JSON schema of the options.
    pub config_schema: Option<Value>,
}

impl EvaluatorOptions {
    /// Options for `name`.
    pub fn new(name: impl Into<String>, display_name: impl Into<String>, definition: impl Into<String>) -> Self {
        EvaluatorOptions {
            name: name.into(),
            display_name: display_name.into(),
            definition: definition.into(),
            is_billed: true,
            config_schema: None,
        }
    }

    /// Marks the evaluator as free (no judge model).
    #[must_use]
    pub fn not_billed(mut self) -> Self {
        self.is_billed = false;
        self
    }

    /// Sets the options schema.
    #[must_use]
    pub fn config_schema(mut self, schema: Value) -> Self {
        self.config_schema = Some(schema);
        self
    }
}

type CaseFn = Arc<
    dyn Fn(DataPointRequest, EvaluatorCx) -> futures::future::BoxFuture<'static, Result<EvalFnResponse>> + Send + Sync,
>;

fn builder(opts: EvaluatorOptions) -> genkit_core::ActionBuilder<EvalRequest, Vec<EvalFnResponse>, ()> {
    let EvaluatorOptions { name, display_name, definition, is_billed, config_schema } = opts;
    let mut md = Map::new();
    md.insert("evaluatorIsBilled".into(), json!(is_billed));
    md.insert("evaluatorDisplayName".into(), json!(display_name));
    md.insert("evaluatorDefinition".into(), json!(definition));
    let mut input = genkit_core::schema::schema_for::<EvalRequest>();
    if let Some(c) = &config_schema {
        md.insert("customOptions".into(), c.clone());
        if let Some(p) = input.get_mut("properties").and_then(Value::as_object_mut) {
            let mut c = c.clone();
            if let Some(o) = c.as_object_mut() {
                o.remove("$schema");
            }
            p.insert("options".into(), c);
        }
    }
    ActionDef::<EvalRequest, Vec<EvalFnResponse>>::builder(ActionType::Evaluator, name)
        .input_schema(input)
        .metadata("type", json!("evaluator"))
        .metadata("evaluator", Value::Object(md))
}

/// A random (version 4) UUID; randomness from the standard library's per-process random
/// hashing keys mixed with a counter.
pub(crate) fn uuid() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let word = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u64(salt);
        h.finish()
    };
    let (a, b) = (word(1), word(2));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        (a as u16) & 0x0fff,
        ((b >> 48) as u16 & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

async fn run_case(
    f: &CaseFn,
    cx: &EvaluatorCx,
    tel: &Arc<genkit_core::Telemetry>,
    d: BaseDataPoint,
    sample_index: usize,
    run_id: &str,
    options: Option<Value>,
) -> EvalFnResponse {
    let id = d.test_case_id.clone().unwrap_or_default();
    let name = format!("Test Case {id}");
    let input = serde_json::to_string(&d).ok();
    let failed = |id: &str, e: &Error, ids: Option<genkit_core::TraceIds>| {
        let (trace_id, span_id) = ids.map_or((None, None), |i| (Some(i.trace_id), Some(i.span_id)));
        EvalFnResponse {
            sample_index: Some(sample_index),
            test_case_id: id.to_owned(),
            trace_id,
            span_id,
            evaluation: Evaluation::One(Score {
                error: Some(format!("Evaluation of test case {id} failed: \n{e}")),
                ..Score::default()
            }),
        }
    };
    let fut = async {
        let ids = genkit_core::current_trace_ids();
        Ok::<_, Error>(match f(DataPointRequest { data_point: d, options }, cx.clone()).await {
            Ok(mut resp) => {
                if let Some(i) = ids {
                    resp.trace_id = Some(i.trace_id);
                    resp.span_id = Some(i.span_id);
                }
                resp.sample_index = Some(sample_index);
                resp
            }
            Err(e) => failed(&id, &e, ids),
        })
    };
    let meta = [("evaluator:evalRunId", run_id)];
    genkit_core::run_span_with_metadata(tel, &name, "evaluator", &meta, || input, fut)
        .await
        .unwrap_or_else(|e| failed(&id, &e, None))
}

fn build(opts: EvaluatorOptions, f: CaseFn) -> Evaluator {
    builder(opts).build(move |req: EvalRequest, cx: EvaluatorCx| {
        let f = f.clone();
        async move {
            let tel = cx.registry().map_or_else(genkit_core::Telemetry::global, Registry::telemetry);
            let size = req.batch_size.filter(|s| *s > 0).unwrap_or(1);
            let mut out = Vec::with_capacity(req.dataset.len());
            let mut dataset = req.dataset;
            for d in &mut dataset {
                d.test_case_id.get_or_insert_with(uuid);
            }
            for (bi, batch) in dataset.chunks(size).enumerate() {
                let cases = batch.iter().enumerate().map(|(i, d)| {
                    let sample = if req.batch_size.is_some() { size * bi + i } else { bi };
                    run_case(&f, &cx, &tel, d.clone(), sample, &req.eval_run_id, req.options.clone())
                });
                if batch.len() == 1 {
                    out.extend(join_all(cases).await);
                } else {
                    let name = format!("Batch {bi}");
                    let input = serde_json::to_string(batch).ok();
                    let r = genkit_core::run_span_with_metadata(
                        &tel,
                        &name,
                        "evaluator",
                        &[("evaluator:evalRunId", &req.eval_run_id)],
                        || input,
                        async { Ok::<_, Error>(join_all(cases).await) },
                    )
                    .await;
                    match r {
                        Ok(v) => out.extend(v),
                        Err(e) => tracing::error!("Evaluation of batch {bi} failed: \n{e}"),
                    }
                }
            }
            Ok(out)
        }
    })
}

/// Builds an evaluator that scores one data point at a time (JS `evaluator()`); data points of a
/// batch run concurrently, each in a `Test Case <id>` span. A failing data point yields an
/// `evaluation.error` for that case; the others are still scored. The function gets a
/// [`DataPointRequest`] and an [`EvaluatorCx`] (through which it reaches, e.g., a judge model).
///
/// ```
/// use genkit_ai::evaluator::{self, EvalFnResponse, EvaluatorOptions, Score, ScoreValue};
/// let opts = EvaluatorOptions::new("exact", "Exact match", "Output equals reference").not_billed();
/// let exact = evaluator::new(opts, |req, _cx| async move {
///     let d = req.data_point;
///     let score = Score { score: Some(ScoreValue::Bool(d.output == d.reference)), ..Score::default() };
///     Ok(EvalFnResponse::new(d.test_case_id.unwrap_or_default(), score))
/// });
/// assert_eq!(exact.name(), "exact");
/// ```
pub fn new<F, Fut>(opts: EvaluatorOptions, f: F) -> Evaluator
where
    F: Fn(DataPointRequest, EvaluatorCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<EvalFnResponse>> + Send + 'static,
{
    let f: CaseFn = Arc::new(move |req, cx| Box::pin(f(req, cx)));
    build(opts, f)
}

/// Builds an evaluator that scores the whole dataset in one call (Go `DefineBatchEvaluator`);
/// the function gets the request with every `test_case_id` filled, and an [`EvaluatorCx`].
pub fn new_batch<F, Fut>(opts: EvaluatorOptions, f: F) -> Evaluator
where
    F: Fn(EvalRequest, EvaluatorCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<EvalFnResponse>>> + Send + 'static,
{
    let f = Arc::new(f);
    builder(opts).build(move |mut req: EvalRequest, cx: EvaluatorCx| {
        let f = f.clone();
        async move {
            for d in &mut req.dataset {
                d.test_case_id.get_or_insert_with(uuid);
            }
            f(req, cx).await
        }
    })
}

action_ref!("evaluator", EvaluatorRef, EvaluatorArg, Evaluator, "genkitEval/faithfulness");

/// What [`evaluate`] takes (JS `EvaluatorParams`): the evaluator, the dataset, the run id
/// (default: a UUID) and its options.
///
/// ```
/// use genkit_ai::evaluator::{BaseDataPoint, EvaluateOptions};
/// let point = BaseDataPoint { output: Some("Paris".into()), ..Default::default() };
/// let opts = EvaluateOptions::new("genkitEval/regex").dataset(vec![point]).eval_run_id("run-1");
/// assert_eq!(opts.eval_run_id.as_deref(), Some("run-1"));
/// ```
#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    /// The evaluator: a name, an [`EvaluatorRef`] or an [`Evaluator`] handle.
    pub evaluator: EvaluatorArg,
    /// The data points.
    pub dataset: Vec<BaseDataPoint>,
    /// Id of the run (default: a random UUID).
    pub eval_run_id: Option<String>,
    /// Evaluator options, merged over the reference's defaults.
    pub options: Option<Value>,
}

impl EvaluateOptions {
    /// Evaluate with `evaluator`.
    pub fn new(evaluator: impl Into<EvaluatorArg>) -> Self {
        EvaluateOptions { evaluator: evaluator.into(), dataset: Vec::new(), eval_run_id: None, options: None }
    }

    /// Sets the data points.
    #[must_use]
    pub fn dataset(mut self, dataset: Vec<BaseDataPoint>) -> Self {
        self.dataset = dataset;
        self
    }

    /// Sets the id of the run.
    #[must_use]
    pub fn eval_run_id(mut self, id: impl Into<String>) -> Self {
        self.eval_run_id = Some(id.into());
        self
    }

    /// Sets the evaluator options.
    #[must_use]
    pub fn options(mut self, options: Value) -> Self {
        self.options = Some(options);
        self
    }
}

/// Runs an evaluator on a dataset (JS `ai.evaluate`). A reference's default options are merged
/// under the call's; a handle is called directly.
///
/// # Errors
/// `NOT_FOUND` `Unable to utilize the provided evaluator: …` when there is no such evaluator.
pub async fn evaluate(registry: &Registry, opts: EvaluateOptions) -> Result<Vec<EvalFnResponse>> {
    let EvaluateOptions { evaluator, dataset, eval_run_id, options } = opts;
    let req = EvalRequest {
        dataset,
        eval_run_id: eval_run_id.unwrap_or_else(uuid),
        options: merge_options(evaluator.config(), options),
        batch_size: None,
    };
    match &evaluator {
        EvaluatorArg::Handle(h) => h.run(req).await,
        EvaluatorArg::Name(_) | EvaluatorArg::Ref(_) => {
            let name = evaluator.name();
            let action = lookup(registry, "evaluator", name, "Unable to utilize the provided evaluator").await?;
            call(action.as_ref(), req, |e| Error::internal(format!("evaluator {name} returned: {e}"))).await
        }
    }
}
