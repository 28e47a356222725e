//! The judge metrics with a scripted judge (`ProgrammableModel`) and a deterministic fake
//! embedder: exact scores and statuses, malformed replies (`UNKNOWN`), missing fields, failing
//! judges, and per-metric options.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use genkit_ai::embedder::{EmbedResponse, EmbedderOptions, Embedding};
use genkit_ai::evaluator::{
    BaseDataPoint, EvalFnResponse, EvalStatus, EvaluateOptions, Evaluation, Score, ScoreValue, evaluate,
};
use genkit_ai::model::testing::ProgrammableModel;
use genkit_ai::{ModelRequest, Role};
use genkit_core::{Error, Registry, Status};
use genkit_evaluators::{GenkitEval, Metric, MetricConfig};
use serde_json::{Value, json};

const JUDGE: &str = "test/judge";
const EMBEDDER: &str = "test/embedder";

/// Texts the fake embedder knows, and their vectors; any other text embeds as `[0, 1]`.
fn vectors() -> HashMap<&'static str, Vec<f32>> {
    HashMap::from([
        ("What is the capital of France?", vec![3.0, 4.0]),
        ("Which city is the capital of France?", vec![4.0, 3.0]),
        ("What is France's capital not?", vec![-3.0, -4.0]),
        ("A question in three dimensions?", vec![1.0, 0.0, 0.0]),
    ])
}

struct Setup {
    registry: Registry,
    judge: ProgrammableModel,
    embedded: Arc<Mutex<Vec<String>>>,
}

fn setup(plugin: GenkitEval) -> Setup {
    let registry = Registry::new();
    let judge = ProgrammableModel::new(JUDGE);
    registry.register_action(judge.action().as_action()).unwrap();
    let embedded = Arc::new(Mutex::new(Vec::new()));
    let seen = embedded.clone();
    let table = vectors();
    let embedder = genkit_ai::embedder::new(EmbedderOptions::new(EMBEDDER), move |req, _| {
        let seen = seen.clone();
        let out: Vec<Embedding> = req
            .input
            .iter()
            .map(|d| {
                let text = d.text();
                seen.lock().unwrap().push(text.clone());
                let embedding = table.get(text.as_str()).cloned().unwrap_or_else(|| vec![0.0, 1.0]);
                Embedding { embedding, metadata: None }
            })
            .collect();
        async move { Ok(EmbedResponse { embeddings: out }) }
    });
    registry.register_action(embedder.as_action()).unwrap();
    registry.register_plugin(Arc::new(plugin.judge(JUDGE).embedder(EMBEDDER))).unwrap();
    Setup { registry, judge, embedded }
}

fn point(id: &str, input: Option<&str>, output: Option<&str>) -> BaseDataPoint {
    BaseDataPoint {
        input: input.map(|s| json!(s)),
        output: output.map(|s| json!(s)),
        test_case_id: Some(id.to_owned()),
        ..BaseDataPoint::default()
    }
}

fn with_context(mut d: BaseDataPoint, context: &[Value]) -> BaseDataPoint {
    d.context = Some(context.to_vec());
    d
}

fn with_reference(mut d: BaseDataPoint, reference: &str) -> BaseDataPoint {
    d.reference = Some(json!(reference));
    d
}

fn score_of(r: &EvalFnResponse) -> &Score {
    match &r.evaluation {
        Evaluation::One(s) => s,
        Evaluation::Many(v) => panic!("expected one score, got {v:?}"),
    }
}

/// `(score, status, reasoning)` of a scored case.
fn scored(r: &EvalFnResponse) -> (f64, EvalStatus, String) {
    let s = score_of(r);
    assert_eq!(s.error, None, "case {} failed", r.test_case_id);
    let Some(ScoreValue::Number(n)) = s.score else { panic!("no numeric score: {s:?}") };
    let why = s.details.as_ref().and_then(|d| d["reasoning"].as_str()).unwrap_or_default().to_owned();
    (n, s.status.unwrap(), why)
}

/// The error of an `UNKNOWN` score.
fn unknown(r: &EvalFnResponse) -> String {
    let s = score_of(r);
    assert_eq!(s.status, Some(EvalStatus::Unknown), "case {}: {s:?}", r.test_case_id);
    assert_eq!(s.score, None);
    s.error.clone().unwrap()
}

/// The error of a case that failed to run.
fn failed(r: &EvalFnResponse) -> String {
    let s = score_of(r);
    assert_eq!((s.status, &s.score), (None, &None), "case {}: {s:?}", r.test_case_id);
    s.error.clone().unwrap()
}

fn user_text(req: &ModelRequest) -> String {
    let m = req.messages.last().unwrap();
    assert_eq!(m.role, Role::User);
    m.text()
}

async fn run(s: &Setup, metric: Metric, dataset: Vec<BaseDataPoint>) -> Vec<EvalFnResponse> {
    evaluate(&s.registry, EvaluateOptions::new(metric.evaluator_name()).dataset(dataset).eval_run_id("run"))
        .await
        .unwrap()
}

#[tokio::test]
async fn faithfulness() {
    let s = setup(GenkitEval::new(vec![Metric::Faithfulness]).judge_config(json!({"temperature": 0})));
    let (question, answer) =
        ("Tell me about Paris.", "Paris is the capital of France. It has 2 million people. It hosts the Louvre.");
    let (q, a) = (Some(question), Some(answer));
    let ctx = [
        json!("Paris, capital of France, about 2.1 million inhabitants."),
        json!({"content": [{"text": "Home of the Louvre museum."}]}),
    ];
    let j = &s.judge;
    // 1: two of three statements supported.
    j.respond_text(r#"{"statements": ["Paris is the capital of France.", "Paris has 2 million people.", "Paris hosts the Louvre."]}"#);
    j.respond_text(
        r#"```json
{"responses": [{"statement": "Paris is the capital of France.", "reason": "Stated.", "verdict": true},
 {"statement": "Paris has 2 million people.", "reason": "The context says 2.1 million.", "verdict": false},
 {"statement": "Paris hosts the Louvre.", "reason": "Home of the Louvre.", "verdict": "true"}]}
```"#,
    );
    // 2: one of two: 0.5 is not above the threshold.
    j.respond_text(r#"{"statements": ["s1", "s2"]}"#);
    j.respond_text(r#"{"responses": [{"statement": "s1", "reason": "r1", "verdict": true}, {"statement": "s2", "reason": "r2", "verdict": false}]}"#);
    // 3: the first reply is prose.
    j.respond_text("The answer looks faithful to me.");
    // 4: a verdict is neither true nor false.
    j.respond_text(r#"{"statements": ["s1"]}"#);
    j.respond_text(r#"{"responses": [{"statement": "s1", "reason": "r", "verdict": "probably"}]}"#);
    // 5: fewer verdicts than statements.
    j.respond_text(r#"{"statements": ["s1", "s2"]}"#);
    j.respond_text(r#"{"responses": [{"statement": "s1", "reason": "r", "verdict": true}]}"#);
    // 6: no statements at all.
    j.respond_text(r#"{"statements": []}"#);
    // 7: statements is not a list.
    j.respond_text(r#"{"statements": "s1"}"#);
    // 8: the judge fails.
    j.fail(Error::new(Status::ResourceExhausted, "quota exceeded"));

    let mut dataset: Vec<BaseDataPoint> = (1..=8).map(|i| with_context(point(&format!("c{i}"), q, a), &ctx)).collect();
    // 9: no context; 10: no output. Neither reaches the judge.
    dataset.push(point("c9", q, a));
    dataset.push(with_context(point("c10", q, None), &ctx));
    let out = run(&s, Metric::Faithfulness, dataset).await;
    assert_eq!(out.len(), 10);

    let (score, status, why) = scored(&out[0]);
    assert_eq!(score, 2.0 / 3.0);
    assert_eq!(status, EvalStatus::Pass);
    assert_eq!(why, "Stated.; The context says 2.1 million.; Home of the Louvre.");
    assert_eq!(scored(&out[1]), (0.5, EvalStatus::Fail, "r1; r2".to_owned()));
    let e = unknown(&out[2]);
    assert_eq!(e, r#"the judge's reply is not a JSON object: "The answer looks faithful to me.""#);
    assert!(unknown(&out[3]).contains(r#"has a response without a true or false "verdict""#));
    assert!(unknown(&out[4]).starts_with("the judge's reply has 1 verdicts for 2 statements: "));
    assert_eq!(unknown(&out[5]), "the judge found no statements in the output");
    assert!(unknown(&out[6]).starts_with(r#"the judge's reply has a "statements" that is not a list"#));
    assert_eq!(failed(&out[7]), "Evaluation of test case c8 failed: \nRESOURCE_EXHAUSTED: quota exceeded");
    assert_eq!(failed(&out[8]), "Evaluation of test case c9 failed: \nINVALID_ARGUMENT: Context was not provided");
    assert_eq!(failed(&out[9]), "Evaluation of test case c10 failed: \nINVALID_ARGUMENT: Output was not provided");

    // What the judge saw: system + user messages, the judge config, JSON output.
    let reqs = j.requests();
    assert_eq!(reqs.len(), 12);
    for r in &reqs {
        assert_eq!(r.messages.len(), 2);
        assert_eq!(r.messages[0].role, Role::System);
        assert_eq!(r.config, Some(json!({"temperature": 0})));
        assert_eq!(r.output.as_ref().and_then(|o| o.format.as_deref()), Some("json"));
    }
    assert_eq!(user_text(&reqs[0]), format!("Question: {question}\nAnswer: {answer}\nJSON:"));
    assert_eq!(
        user_text(&reqs[1]),
        "Context:\nParis, capital of France, about 2.1 million inhabitants.\nHome of the Louvre museum.\nStatements:\n\
         - Paris is the capital of France.\n- Paris has 2 million people.\n- Paris hosts the Louvre.\nJSON:"
    );
    assert!(reqs[0].messages[0].text().starts_with("You are a careful annotator."));
}

#[tokio::test]
async fn answer_relevancy_with_a_fake_embedder() {
    let s = setup(GenkitEval::new(vec![Metric::AnswerRelevancy]));
    let q = Some("What is the capital of France?");
    let j = &s.judge;
    j.respond_text(r#"{"question": "Which city is the capital of France?", "answered": true, "noncommittal": false}"#);
    j.respond_text(r#"{"question": "Which city is the capital of France?", "answered": false, "noncommittal": false}"#);
    j.respond_text(r#"{"question": "Which city is the capital of France?", "answered": true, "noncommittal": true}"#);
    // Opposite vectors: |cosine| = 1, as in JS.
    j.respond_text(r#"{"question": "What is France's capital not?", "answered": "yes", "noncommittal": "no"}"#);
    j.respond_text(r#"{"question": "", "answered": true, "noncommittal": false}"#);
    j.respond_text(r#"{"question": "Which city is the capital of France?", "answered": true}"#);
    j.respond_text(r#"{"question": "A question in three dimensions?", "answered": true, "noncommittal": false}"#);
    let answer = Some("Paris.");
    let mut dataset: Vec<BaseDataPoint> = (1..=7).map(|i| point(&format!("r{i}"), q, answer)).collect();
    dataset[0] = with_context(dataset[0].clone(), &[json!("France's capital is Paris.")]);
    dataset.push(point("r8", None, answer));
    let out = run(&s, Metric::AnswerRelevancy, dataset).await;

    assert_eq!(scored(&out[0]), (0.96, EvalStatus::Pass, "Cosine similarity".to_owned()));
    assert_eq!(
        scored(&out[1]),
        (0.96 - 0.5, EvalStatus::Fail, "Cosine similarity with penalty for insufficient answer".to_owned())
    );
    assert_eq!(scored(&out[2]), (0.0, EvalStatus::Fail, "Noncommittal".to_owned()));
    assert_eq!(scored(&out[3]), (1.0, EvalStatus::Pass, "Cosine similarity".to_owned()));
    assert!(unknown(&out[4]).starts_with(r#"the judge's reply has an empty "question""#));
    assert!(unknown(&out[5]).starts_with(r#"the judge's reply has no field "noncommittal""#));
    let e = failed(&out[6]);
    assert!(
        e.ends_with(
            "INVALID_ARGUMENT: the embeddings of the question and of the generated question differ in length (2 and 3)"
        ),
        "{e}"
    );
    assert_eq!(failed(&out[7]), "Evaluation of test case r8 failed: \nINVALID_ARGUMENT: Input was not provided");

    // The original and the generated question were embedded, once per scored case.
    let embedded = s.embedded.lock().unwrap().clone();
    assert_eq!(embedded.len(), 10);
    assert_eq!(embedded[0], "What is the capital of France?");
    assert_eq!(embedded[1], "Which city is the capital of France?");
    let reqs = s.judge.requests();
    assert_eq!(
        user_text(&reqs[0]),
        "Question: What is the capital of France?\nContext: France's capital is Paris.\nAnswer: Paris.\nJSON:"
    );
    assert_eq!(user_text(&reqs[1]), "Question: What is the capital of France?\nAnswer: Paris.\nJSON:");
}

#[tokio::test]
async fn answer_accuracy() {
    let s = setup(GenkitEval::new(vec![Metric::AnswerAccuracy]));
    let j = &s.judge;
    for (first, second) in [("4", "4"), ("4", "2"), ("2", "2"), ("2", " 0\n"), ("0", "0"), ("Rating: 4", "4")] {
        j.respond_text(first);
        j.respond_text(second);
    }
    j.respond_text("excellent");
    j.respond_text("4");
    j.respond_text("7");
    let case =
        |i: usize| with_reference(point(&format!("a{i}"), Some("Capital of France?"), Some("Paris")), "Paris, France");
    let mut dataset: Vec<BaseDataPoint> = (1..=8).map(case).collect();
    dataset.push(point("a9", Some("q"), Some("Paris")));
    let out = run(&s, Metric::AnswerAccuracy, dataset).await;

    let expected = [
        (1.0, EvalStatus::Pass),
        (0.75, EvalStatus::Pass),
        (0.5, EvalStatus::Pass),
        (0.25, EvalStatus::Fail),
        (0.0, EvalStatus::Fail),
        (1.0, EvalStatus::Pass),
    ];
    for (o, (score, status)) in out.iter().zip(expected) {
        let (got, got_status, _) = scored(o);
        assert_eq!((got, got_status), (score, status), "{}", o.test_case_id);
    }
    assert_eq!(scored(&out[1]).2, "ratings: 4 (output against reference), 2 (reference against output)");
    assert_eq!(
        unknown(&out[6]),
        r#"rating the output against the reference: the judge's reply has no rating: "excellent""#
    );
    assert_eq!(
        unknown(&out[7]),
        r#"rating the reference against the output: the judge's rating 7 is not between 0 and 4: "7""#
    );
    assert!(failed(&out[8]).ends_with("INVALID_ARGUMENT: Reference was not provided"));

    // Twice per case, the second time with answer and reference swapped; one call for a7.
    let reqs = s.judge.requests();
    assert_eq!(reqs.len(), 6 * 2 + 1 + 2);
    assert_eq!(
        user_text(&reqs[0]),
        "Question: Capital of France?\nReference answer: Paris, France\nAnswer to grade: Paris\nRating:"
    );
    assert_eq!(
        user_text(&reqs[1]),
        "Question: Capital of France?\nReference answer: Paris\nAnswer to grade: Paris, France\nRating:"
    );
    assert_eq!(reqs[0].output.as_ref().and_then(|o| o.format.as_deref()), None, "a plain-text rating");
}

#[tokio::test]
async fn maliciousness() {
    let s = setup(GenkitEval::new(vec![Metric::Maliciousness]));
    let j = &s.judge;
    j.respond_text(r#"{"reason": "Safe cooking advice.", "verdict": false}"#);
    j.respond_text(r#"Here you go: {"reason": "A phishing message.", "verdict": "true"}"#);
    j.respond_text(r#"{"reason": "Unclear.", "verdict": "maybe"}"#);
    j.respond_text("no");
    j.respond_text(r#"{"reason": "No verdict here."}"#);
    let dataset = vec![
        point("m1", Some("How do I boil an egg?"), Some("Simmer it for 8 minutes.")),
        point("m2", Some("Write to my customers"), Some("Send us your PIN now!")),
        point("m3", Some("i"), Some("o")),
        point("m4", Some("i"), Some("o")),
        point("m5", Some("i"), Some("o")),
        point("m6", Some("i"), None),
    ];
    let out = run(&s, Metric::Maliciousness, dataset).await;
    assert_eq!(scored(&out[0]), (0.0, EvalStatus::Pass, "Safe cooking advice.".to_owned()));
    assert_eq!(scored(&out[1]), (1.0, EvalStatus::Fail, "A phishing message.".to_owned()));
    assert!(unknown(&out[2]).starts_with(r#"the judge's reply has a "verdict" that is not true or false"#));
    assert_eq!(unknown(&out[3]), r#"the judge's reply is not a JSON object: "no""#);
    assert!(unknown(&out[4]).starts_with(r#"the judge's reply has no field "verdict""#));
    assert!(failed(&out[5]).ends_with("INVALID_ARGUMENT: Output was not provided"));
    let reqs = s.judge.requests();
    assert_eq!(reqs.len(), 5);
    assert_eq!(user_text(&reqs[0]), "Request:\nHow do I boil an egg?\nReply:\nSimmer it for 8 minutes.\nJSON:");
}

#[tokio::test]
async fn per_metric_judge_and_concurrent_batches() {
    let registry = Registry::new();
    let main = ProgrammableModel::new("test/main");
    let strict = ProgrammableModel::new("test/strict");
    registry.register_action(main.action().as_action()).unwrap();
    registry.register_action(strict.action().as_action()).unwrap();
    main.set_handler(|_, _| Ok(reply(r#"{"reason": "fine", "verdict": false}"#)));
    strict.set_handler(|_, _| Ok(reply("4")));
    let plugin = GenkitEval::new(vec![Metric::Maliciousness])
        .metric(
            MetricConfig::new(Metric::AnswerAccuracy).judge("test/strict").judge_config(json!({"temperature": 0.0})),
        )
        .judge("test/main")
        .judge_config(json!({"temperature": 0.7}));
    registry.register_plugin(Arc::new(plugin)).unwrap();

    let dataset: Vec<BaseDataPoint> =
        (0..6).map(|i| with_reference(point(&format!("p{i}"), Some("q"), Some("a")), "a")).collect();
    let action = registry.lookup_action("/evaluator/genkitEval/maliciousness").await.unwrap().unwrap();
    let input = json!({"dataset": serde_json::to_value(&dataset).unwrap(), "evalRunId": "r", "batchSize": 3});
    let out = action.run_json(input, Default::default()).await.unwrap().result;
    let statuses: Vec<&Value> = out.as_array().unwrap().iter().map(|o| &o["evaluation"]["status"]).collect();
    assert_eq!(statuses, vec![&json!("PASS"); 6]);
    assert_eq!(main.requests().len(), 6);
    assert!(main.requests().iter().all(|r| r.config == Some(json!({"temperature": 0.7}))));

    let out = evaluate(&registry, EvaluateOptions::new("genkitEval/answer_accuracy").dataset(dataset)).await.unwrap();
    assert!(out.iter().all(|o| scored(o).0 == 1.0));
    assert_eq!(strict.requests().len(), 12);
    assert!(strict.requests().iter().all(|r| r.config == Some(json!({"temperature": 0.0}))));
    assert_eq!(main.requests().len(), 6, "the main judge was not asked for accuracy");
}

fn reply(text: &str) -> genkit_ai::ModelResponse {
    genkit_ai::ModelResponse {
        message: Some(genkit_ai::Message::model(text)),
        finish_reason: Some(genkit_ai::FinishReason::Stop),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_unregistered_judge_fails_the_case() {
    let registry = Registry::new();
    registry.register_plugin(Arc::new(GenkitEval::new(vec![Metric::Maliciousness]).judge("nobody/judge"))).unwrap();
    let out = evaluate(
        &registry,
        EvaluateOptions::new("genkitEval/maliciousness").dataset(vec![point("x", Some("i"), Some("o"))]),
    )
    .await
    .unwrap();
    let e = failed(&out[0]);
    assert!(e.starts_with("Evaluation of test case x failed: \nNOT_FOUND: "), "{e}");
}

#[tokio::test]
async fn a_judge_metric_reaches_its_judge_through_the_registry_it_is_registered_in() {
    // Registered by the plugin: the evaluator finds `test/judge` through its context.
    let s = setup(GenkitEval::new(vec![Metric::Maliciousness]));
    s.judge.respond_text(r#"{"reason": "harmless", "verdict": false}"#);
    let evaluator = s.registry.lookup_action("/evaluator/genkitEval/maliciousness").await.unwrap().unwrap();
    let req = json!({"dataset": [point("x", Some("i"), Some("o"))], "evalRunId": "r"});
    let out = evaluator.run_json(req.clone(), genkit_core::RunOptions::default()).await.unwrap().result;
    assert_eq!(out[0]["evaluation"]["score"], json!(0.0), "{out}");
    assert_eq!(s.judge.requests().len(), 1);

    // Never registered: the case fails with the precondition, and the others still run.
    let plugin = GenkitEval::new(vec![Metric::Maliciousness]).judge(JUDGE);
    let loose = genkit_core::Plugin::init(&plugin).await.unwrap().remove(0);
    let out = loose.run_json(req, genkit_core::RunOptions::default()).await.unwrap().result;
    let e = out[0]["evaluation"]["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        e.ends_with(
            "FAILED_PRECONDITION: genkitEval/maliciousness must be registered (through the genkitEval plugin) to reach \
             its judge model"
        ),
        "{e}"
    );
}
