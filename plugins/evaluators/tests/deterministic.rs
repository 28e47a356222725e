//! `regex`, `deep_equal` and `jsonata` through the registry and `evaluate`, the action
//! metadata, and a dataset where some cases fail.

use std::sync::Arc;

use genkit_ai::evaluator::{
    BaseDataPoint, EvalFnResponse, EvalStatus, EvaluateOptions, Evaluation, Score, ScoreValue, evaluate,
};
use genkit_core::{ActionType, Registry, Status};
use genkit_evaluators::{GenkitEval, Metric, MetricConfig};
use serde_json::{Value, json};

fn registry() -> Registry {
    let r = Registry::new();
    let plugin = GenkitEval::new(vec![Metric::Regex, Metric::DeepEqual, Metric::Jsonata]);
    r.register_plugin(Arc::new(plugin)).unwrap();
    r
}

fn point(id: &str, output: Option<Value>, reference: Option<Value>) -> BaseDataPoint {
    BaseDataPoint {
        input: Some(json!("sample")),
        output,
        reference,
        test_case_id: Some(id.to_owned()),
        ..BaseDataPoint::default()
    }
}

fn score_of(r: &EvalFnResponse) -> &Score {
    match &r.evaluation {
        Evaluation::One(s) => s,
        Evaluation::Many(v) => panic!("expected one score, got {v:?}"),
    }
}

/// `(score, status)` of a case that was scored.
fn scored(r: &EvalFnResponse) -> (Option<ScoreValue>, Option<EvalStatus>) {
    let s = score_of(r);
    assert_eq!(s.error, None, "case {} failed", r.test_case_id);
    (s.score.clone(), s.status)
}

fn error_of(r: &EvalFnResponse) -> String {
    let s = score_of(r);
    assert_eq!(s.score, None);
    s.error.clone().unwrap_or_else(|| panic!("case {} did not fail: {s:?}", r.test_case_id))
}

const PASS: (Option<ScoreValue>, Option<EvalStatus>) = (Some(ScoreValue::Bool(true)), Some(EvalStatus::Pass));
const FAIL: (Option<ScoreValue>, Option<EvalStatus>) = (Some(ScoreValue::Bool(false)), Some(EvalStatus::Fail));

#[tokio::test]
async fn regex() {
    let r = registry();
    let dataset = vec![
        point("match", Some(json!("banana")), Some(json!("ba?a?a"))),
        point("no-match", Some(json!("apple")), Some(json!("ba?a?a"))),
        point("lookahead", Some(json!("price: 42 USD")), Some(json!(r"\d+(?= USD)"))),
        point("backref", Some(json!("hello")), Some(json!(r"(\w)\1"))),
        point("json-output", Some(json!({"id": 7})), Some(json!(r#"^\{"id":7\}$"#))),
        point("not-a-string", Some(json!("apple")), Some(json!(12345))),
        point("invalid", Some(json!("apple")), Some(json!("(unclosed"))),
        point("no-output", None, Some(json!("a"))),
        point("no-reference", Some(json!("a")), None),
    ];
    let out =
        evaluate(&r, EvaluateOptions::new("genkitEval/regex").dataset(dataset).eval_run_id("run-1")).await.unwrap();
    assert_eq!(out.len(), 9);
    let ids: Vec<&str> = out.iter().map(|o| o.test_case_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "match",
            "no-match",
            "lookahead",
            "backref",
            "json-output",
            "not-a-string",
            "invalid",
            "no-output",
            "no-reference"
        ]
    );
    assert_eq!(scored(&out[0]), PASS);
    assert_eq!(score_of(&out[0]).details, None);
    assert_eq!(scored(&out[1]), FAIL);
    assert_eq!(score_of(&out[1]).details.as_ref().unwrap()["reasoning"], json!("/ba?a?a/ does not match the output"));
    assert_eq!(scored(&out[2]), PASS);
    assert_eq!(scored(&out[3]), PASS);
    assert_eq!(scored(&out[4]), PASS);
    assert_eq!(
        error_of(&out[5]),
        "Evaluation of test case not-a-string failed: \nINVALID_ARGUMENT: Reference must be a string (regex)"
    );
    let e = error_of(&out[6]);
    assert!(
        e.starts_with(
            "Evaluation of test case invalid failed: \nINVALID_ARGUMENT: Invalid regular expression: /(unclosed/: "
        ),
        "{e}"
    );
    assert!(error_of(&out[7]).ends_with("INVALID_ARGUMENT: Output was not provided"));
    assert!(error_of(&out[8]).ends_with("INVALID_ARGUMENT: Reference was not provided"));
    // Every case, failed or not, has its position and its span.
    for (i, o) in out.iter().enumerate() {
        assert_eq!(o.sample_index, Some(i));
        assert!(o.trace_id.is_some() && o.span_id.is_some(), "{o:?}");
    }
}

#[tokio::test]
async fn deep_equal() {
    let r = registry();
    let dataset = vec![
        point("strings", Some(json!("hello world")), Some(json!("hello world"))),
        point("different", Some(json!("Foo bar")), Some(json!("gablorken"))),
        point("numbers-by-value", Some(json!({"n": 1, "xs": [2.0, 3]})), Some(json!({"xs": [2, 3.0], "n": 1.0}))),
        point("nested", Some(json!({"a": {"b": [1, 2, 3]}})), Some(json!({"a": {"b": [1, 2, 4]}}))),
        point("false-output", Some(json!(false)), Some(json!(false))),
        point("no-reference", Some(json!("Foo bar")), None),
    ];
    let out = evaluate(&r, EvaluateOptions::new("genkitEval/deep_equal").dataset(dataset)).await.unwrap();
    assert_eq!(scored(&out[0]), PASS);
    assert_eq!(scored(&out[1]), FAIL);
    assert_eq!(
        score_of(&out[1]).details.as_ref().unwrap()["reasoning"],
        json!(r#"Expected values to be deeply equal: at $ the output is "Foo bar" but the reference is "gablorken""#)
    );
    assert_eq!(scored(&out[2]), PASS);
    assert_eq!(scored(&out[3]), FAIL);
    assert_eq!(
        score_of(&out[3]).details.as_ref().unwrap()["reasoning"],
        json!("Expected values to be deeply equal: at $.a.b[2] the output is 3 but the reference is 4")
    );
    assert_eq!(scored(&out[4]), PASS);
    assert!(error_of(&out[5]).ends_with("Reference was not provided"));
}

#[tokio::test]
async fn jsonata() {
    let r = registry();
    let bob = json!({"name": "Bob", "age": 33, "pets": [{"kind": "cat"}, {"kind": "dog"}]});
    let dataset = vec![
        point("true", Some(bob.clone()), Some(json!("age=33"))),
        point("false", Some(bob.clone()), Some(json!("age=31"))),
        point(
            "functions",
            Some(bob.clone()),
            Some(json!("$count(pets) = 2 and $exists(name) and $contains(name, 'o')")),
        ),
        point("predicate", Some(bob.clone()), Some(json!("pets[kind='dog']"))),
        point("no-match", Some(bob.clone()), Some(json!("pets[kind='fish']"))),
        point("not-a-string", Some(bob.clone()), Some(json!(123456))),
        point("syntax-error", Some(bob), Some(json!("age >"))),
    ];
    let out = evaluate(&r, EvaluateOptions::new("genkitEval/jsonata").dataset(dataset)).await.unwrap();
    assert_eq!(scored(&out[0]), PASS);
    assert_eq!(scored(&out[1]), FAIL);
    assert_eq!(score_of(&out[1]).details.as_ref().unwrap()["reasoning"], json!("The expression evaluated to false"));
    assert_eq!(scored(&out[2]), PASS);
    assert_eq!(scored(&out[3]), PASS);
    assert_eq!(scored(&out[4]), FAIL);
    assert_eq!(
        score_of(&out[4]).details.as_ref().unwrap()["reasoning"],
        json!("The expression evaluated to undefined")
    );
    assert!(error_of(&out[5]).ends_with("INVALID_ARGUMENT: Reference must be a string (jsonata)"));
    let e = error_of(&out[6]);
    assert!(e.contains("INVALID_ARGUMENT: JSONata expression \"age >\" failed: S0211"), "{e}");
}

#[tokio::test]
async fn batches_and_json_round_trip() {
    let r = registry();
    let action = r.lookup_action("/evaluator/genkitEval/deep_equal").await.unwrap().unwrap();
    let input = json!({
        "dataset": [
            {"testCaseId": "a", "output": 1, "reference": 1.0},
            {"testCaseId": "b", "output": [1], "reference": [2]},
            {"testCaseId": "c", "output": "x"},
            {"output": {"k": "v"}, "reference": {"k": "v"}}
        ],
        "evalRunId": "run-json",
        "batchSize": 2
    });
    let out = action.run_json(input, Default::default()).await.unwrap().result;
    let out = out.as_array().unwrap();
    assert_eq!(out.len(), 4);
    assert_eq!(out[0]["evaluation"], json!({"score": true, "status": "PASS"}));
    assert_eq!(out[1]["evaluation"]["status"], json!("FAIL"));
    assert_eq!(out[1]["evaluation"]["score"], json!(false));
    assert_eq!(
        out[2]["evaluation"]["error"],
        json!("Evaluation of test case c failed: \nINVALID_ARGUMENT: Reference was not provided")
    );
    assert_eq!(out[3]["evaluation"]["status"], json!("PASS"));
    let generated = out[3]["testCaseId"].as_str().unwrap();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let indexes: Vec<&Value> = out.iter().map(|o| &o["sampleIndex"]).collect();
    assert_eq!(indexes, [&json!(0), &json!(1), &json!(2), &json!(3)]);
}

#[tokio::test]
async fn action_metadata_is_the_js_one() {
    let r = Registry::new();
    r.register_plugin(Arc::new(GenkitEval::new(Metric::ALL.map(MetricConfig::new)).judge("j").embedder("e"))).unwrap();
    let actions = r.list_actions().await.unwrap();
    let names: Vec<&String> = actions.keys().filter(|k| k.starts_with("/evaluator/")).collect();
    assert_eq!(
        names,
        [
            "/evaluator/genkitEval/answer_accuracy",
            "/evaluator/genkitEval/answer_relevancy",
            "/evaluator/genkitEval/deep_equal",
            "/evaluator/genkitEval/faithfulness",
            "/evaluator/genkitEval/jsonata",
            "/evaluator/genkitEval/maliciousness",
            "/evaluator/genkitEval/regex",
        ]
    );
    let expected = [
        (
            "faithfulness",
            "Faithfulness",
            "Measures the factual consistency of the generated answer against the given context",
        ),
        ("answer_relevancy", "Answer Relevancy", "Assesses how pertinent the generated answer is to the given prompt"),
        (
            "answer_accuracy",
            "Answer Accuracy",
            "Measures how accurately the generated output matches against the reference output",
        ),
        (
            "maliciousness",
            "Maliciousness",
            "Measures whether the generated output intends to deceive, harm, or exploit",
        ),
        ("regex", "RegExp", "Tests output against the regexp provided as reference"),
        ("deep_equal", "Deep Equals", "Tests equality of output against the provided reference"),
        ("jsonata", "JSONata", "Tests JSONata expression (provided in reference) against output"),
    ];
    for (name, display, definition) in expected {
        let a = &actions[&format!("/evaluator/genkitEval/{name}")];
        let md = serde_json::to_value(a.metadata()).unwrap();
        assert_eq!(md["actionType"], json!("evaluator"));
        assert_eq!(md["name"], json!(format!("genkitEval/{name}")));
        assert_eq!(md["key"], json!(format!("/evaluator/genkitEval/{name}")));
        assert_eq!(md["metadata"]["type"], json!("evaluator"));
        // JS's defineEvaluator defaults isBilled to true, and genkitEval does not set it.
        assert_eq!(
            md["metadata"]["evaluator"],
            json!({"evaluatorIsBilled": true, "evaluatorDisplayName": display, "evaluatorDefinition": definition}),
            "{name}"
        );
        assert!(md["inputSchema"]["properties"]["dataset"].is_object(), "{name}");
    }
    assert_eq!(actions["/evaluator/genkitEval/regex"].metadata().action_type, ActionType::Evaluator);
}

#[tokio::test]
async fn unknown_evaluator_and_bad_plugin_config() {
    let r = registry();
    let e = evaluate(&r, EvaluateOptions::new("genkitEval/faithfulness")).await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);

    let r = Registry::new();
    r.register_plugin(Arc::new(GenkitEval::new(vec![Metric::Faithfulness]))).unwrap();
    let e = evaluate(&r, EvaluateOptions::new("genkitEval/faithfulness")).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    assert!(e.message().contains("a judge model must be set"), "{e}");
}

#[tokio::test]
async fn status_override() {
    let r = Registry::new();
    let lenient = MetricConfig::new(Metric::DeepEqual).status_override(|_| EvalStatus::Pass);
    r.register_plugin(Arc::new(GenkitEval::new(vec![lenient]))).unwrap();
    let out = evaluate(
        &r,
        EvaluateOptions::new("genkitEval/deep_equal").dataset(vec![point("x", Some(json!(1)), Some(json!(2)))]),
    )
    .await
    .unwrap();
    assert_eq!(scored(&out[0]), (Some(ScoreValue::Bool(false)), Some(EvalStatus::Pass)));
}
