//! `answer_relevancy` with real embeddings from the local `all-minilm-l6-v2` embedder and a
//! scripted judge.

use std::sync::Arc;

use genkit_ai::embedder::{EmbedParams, embed};
use genkit_ai::evaluator::{BaseDataPoint, EvalStatus, EvaluateOptions, Evaluation, ScoreValue, evaluate};
use genkit_ai::model::testing::ProgrammableModel;
use genkit_core::Registry;
use genkit_evaluators::{GenkitEval, Metric};
use serde_json::json;

async fn cosine(r: &Registry, a: &str, b: &str) -> f64 {
    let e = |t: &str| embed(r, EmbedParams::new(genkit_local::ALL_MINILM, t));
    let (a, b) = (e(a).await.unwrap().remove(0).embedding, e(b).await.unwrap().remove(0).embedding);
    let dot: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (norm(&a) * norm(&b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_relevancy_with_the_local_embedder() {
    let r = Registry::new();
    r.register_plugin(Arc::new(genkit_local::Local::new())).unwrap();
    let judge = ProgrammableModel::new("test/judge");
    r.register_action(judge.action().as_action()).unwrap();
    let plugin = GenkitEval::new(vec![Metric::AnswerRelevancy]).judge("test/judge").embedder(genkit_local::ALL_MINILM);
    r.register_plugin(Arc::new(plugin)).unwrap();

    let question = "What is the capital of France?";
    let close = "Which city is the capital of France?";
    let far = "How many hours a day do cats sleep?";
    judge.respond_text(&json!({"question": close, "answered": true, "noncommittal": false}).to_string());
    judge.respond_text(&json!({"question": far, "answered": true, "noncommittal": false}).to_string());
    let point = |id: &str, output: &str| BaseDataPoint {
        input: Some(json!(question)),
        output: Some(json!(output)),
        test_case_id: Some(id.to_owned()),
        ..BaseDataPoint::default()
    };
    let dataset = vec![point("close", "Paris is the capital of France."), point("far", "Cats sleep 16 hours a day.")];
    let out = evaluate(&r, EvaluateOptions::new("genkitEval/answer_relevancy").dataset(dataset)).await.unwrap();
    let scores: Vec<(f64, EvalStatus)> = out
        .iter()
        .map(|o| match &o.evaluation {
            Evaluation::One(s) => match (&s.score, s.status) {
                (Some(ScoreValue::Number(n)), Some(st)) => (*n, st),
                _ => panic!("{s:?}"),
            },
            Evaluation::Many(v) => panic!("{v:?}"),
        })
        .collect();
    // The score is exactly |cosine| of the two embeddings.
    assert_eq!(scores[0].0, cosine(&r, question, close).await.abs());
    assert_eq!(scores[1].0, cosine(&r, question, far).await.abs());
    assert!(scores[0].0 > 0.8, "paraphrases are close: {scores:?}");
    assert_eq!(scores[0].1, EvalStatus::Pass);
    assert!(scores[1].0 < 0.5, "unrelated questions are far apart: {scores:?}");
    assert_eq!(scores[1].1, EvalStatus::Fail);
}
