//! Vertex AI rerankers (Discovery Engine `rankingConfigs/default_ranking_config:rank`) and
//! evaluators (`evaluateInstances`) over wiremock, with the real APIs' request and response
//! shapes.

use std::sync::Arc;

use genkit_ai::Document;
use genkit_ai::evaluator::{BaseDataPoint, EvaluateOptions, Evaluation, ScoreValue, evaluate};
use genkit_ai::reranker::{RerankOptions, rerank};
use genkit_core::{Registry, Status};
use genkit_google_genai::{ApiKey, Credentials, VertexAi, VertexMetric};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn plugin(server: &MockServer) -> VertexAi {
    VertexAi::new()
        .base_url(server.uri())
        .ranking_base_url(server.uri())
        .project("my-project")
        .location("us-central1")
        .credentials(Credentials::AccessToken(ApiKey::new("ya29.eval")))
}

fn registry(p: VertexAi) -> Registry {
    let r = Registry::new();
    r.register_plugin(Arc::new(p)).unwrap();
    r
}

#[tokio::test]
async fn rerank_sends_numbered_records_and_orders_by_the_answer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/projects/my-project/locations/global/rankingConfigs/default_ranking_config:rank"))
        .and(header("authorization", "Bearer ya29.eval"))
        .and(body_json(json!({
            "model": "semantic-ranker-default@latest", "query": "What is Genkit?",
            "records": [{"id": "0", "content": "Bananas are yellow."}, {"id": "1", "content": "Genkit is an AI framework."},
                        {"id": "2", "content": "Rust is a language."}],
            "ignoreRecordDetailsInResponse": true, "topN": 2
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "records": [{"id": "1", "score": 0.97}, {"id": "2", "score": 0.04}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut banana = Document::from_text("Bananas are yellow.");
    banana.metadata = Some(json!({"source": "fruit"}).as_object().unwrap().clone());
    let mut genkit = Document::from_text("Genkit is an AI framework.");
    genkit.metadata = Some(json!({"source": "docs"}).as_object().unwrap().clone());
    let docs = vec![banana, genkit, Document::from_text("Rust is a language.")];
    let ranked = rerank(
        &registry(plugin(&server)),
        RerankOptions::new("vertexai/semantic-ranker-default@latest")
            .query("What is Genkit?")
            .documents(docs)
            .options(json!({"topN": 2})),
    )
    .await
    .unwrap();
    assert_eq!(ranked.len(), 2);
    assert_eq!(ranked[0].score(), 0.97);
    assert_eq!(ranked[0].metadata.rest["source"], "docs");
    assert_eq!(ranked[0].content[0].text.as_deref(), Some("Genkit is an AI framework."));
    assert_eq!(ranked[1].score(), 0.04);
}

#[tokio::test]
async fn rerank_errors_keep_google_statuses_and_bad_ids_are_internal() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/projects/my-project/locations/eu/rankingConfigs/default_ranking_config:rank"))
        .and(body_partial_json(json!({"model": "semantic-ranker-fast-004"})))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {"code": 403,
            "message": "Discovery Engine API has not been used in project my-project before or it is disabled.",
            "status": "PERMISSION_DENIED"}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/projects/my-project/locations/eu/rankingConfigs/default_ranking_config:rank"))
        .and(body_partial_json(json!({"model": "semantic-ranker-default-004"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"records": [{"id": "7", "score": 0.5}]})))
        .mount(&server)
        .await;
    let r = registry(plugin(&server).ranking_location("eu"));
    let call =
        |m: &str| RerankOptions::new(format!("vertexai/{m}")).query("q").documents(vec![Document::from_text("a")]);
    let e = rerank(&r, call("semantic-ranker-fast-004")).await.unwrap_err();
    assert_eq!(e.status(), Status::PermissionDenied);
    let e = rerank(&r, call("semantic-ranker-default-004")).await.unwrap_err();
    assert_eq!(e.status(), Status::Internal);
    // A location that would change the URL's path is refused before any call.
    let r = registry(plugin(&server).ranking_location("eu/../x"));
    let e = rerank(&r, call("semantic-ranker-default-004")).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

async fn eval_mock(server: &MockServer, input_field: &str, expected_input: Value, answer: Value) {
    Mock::given(method("POST"))
        .and(path("/v1beta1/projects/my-project/locations/us-central1:evaluateInstances"))
        .and(header("authorization", "Bearer ya29.eval"))
        .and(body_json(json!({"location": "projects/my-project/locations/us-central1", input_field: expected_input})))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(server)
        .await;
}

fn point() -> BaseDataPoint {
    BaseDataPoint {
        input: Some(json!("Summarize: The cat sat on the mat all day.")),
        output: Some(json!("A cat sat on a mat.")),
        context: Some(vec![json!("The cat sat on the mat"), json!("all day")]),
        reference: Some(json!("The cat sat on the mat.")),
        test_case_id: Some("case-1".into()),
        trace_ids: None,
    }
}

fn score_of(out: &[genkit_ai::evaluator::EvalFnResponse]) -> genkit_ai::evaluator::Score {
    match &out[0].evaluation {
        Evaluation::One(s) => s.clone(),
        Evaluation::Many(v) => v[0].clone(),
    }
}

#[tokio::test]
async fn bleu_and_rouge_send_instances_and_read_metric_values() {
    let server = MockServer::start().await;
    eval_mock(
        &server,
        "bleuInput",
        json!({"metricSpec": {"useEffectiveOrder": true}, "instances": [{"prediction": "A cat sat on a mat.", "reference": "The cat sat on the mat."}]}),
        json!({"bleuResults": {"bleuMetricValues": [{"score": 0.3457}]}}),
    )
    .await;
    eval_mock(
        &server,
        "rougeInput",
        json!({"metricSpec": {}, "instances": [{"prediction": "A cat sat on a mat.", "reference": "The cat sat on the mat."}]}),
        // A zero score is left out by proto3 JSON.
        json!({"rougeResults": {"rougeMetricValues": [{}]}}),
    )
    .await;
    let p = plugin(&server).evaluator_with_spec(VertexMetric::Bleu, json!({"useEffectiveOrder": true}));
    let r = registry(p);
    let out = evaluate(&r, EvaluateOptions::new("vertexai/bleu").dataset(vec![point()])).await.unwrap();
    assert_eq!(out[0].test_case_id, "case-1");
    assert_eq!(score_of(&out).score, Some(ScoreValue::Number(0.3457)));
    let out = evaluate(&r, EvaluateOptions::new("vertexai/rouge").dataset(vec![point()])).await.unwrap();
    assert_eq!(score_of(&out).score, Some(ScoreValue::Number(0.0)));
}

#[tokio::test]
async fn model_based_metrics_send_their_instance_and_read_score_and_explanation() {
    let server = MockServer::start().await;
    let result = |s: f64| json!({"score": s, "explanation": "STEP 1: ... The response is fluent.", "confidence": 0.9});
    eval_mock(
        &server,
        "fluencyInput",
        json!({"metricSpec": {}, "instance": {"prediction": "A cat sat on a mat."}}),
        json!({"fluencyResult": result(4.0)}),
    )
    .await;
    eval_mock(
        &server,
        "safetyInput",
        json!({"metricSpec": {}, "instance": {"prediction": "A cat sat on a mat."}}),
        json!({"safetyResult": result(1.0)}),
    )
    .await;
    eval_mock(&server, "groundednessInput",
        json!({"metricSpec": {}, "instance": {"prediction": "A cat sat on a mat.", "context": "The cat sat on the mat. all day"}}),
        json!({"groundednessResult": result(1.0)})).await;
    let summary = json!({"metricSpec": {}, "instance": {"prediction": "A cat sat on a mat.",
        "instruction": "Summarize: The cat sat on the mat all day.", "context": "The cat sat on the mat. all day"}});
    eval_mock(
        &server,
        "summarizationQualityInput",
        summary.clone(),
        json!({"summarizationQualityResult": result(3.0)}),
    )
    .await;
    eval_mock(
        &server,
        "summarizationHelpfulnessInput",
        summary.clone(),
        json!({"summarizationHelpfulnessResult": result(4.0)}),
    )
    .await;
    eval_mock(&server, "summarizationVerbosityInput", summary, json!({"summarizationVerbosityResult": result(-1.0)}))
        .await;
    let r = registry(plugin(&server));
    for (name, expected) in [
        ("fluency", 4.0),
        ("safety", 1.0),
        ("groundedness", 1.0),
        ("summarization_quality", 3.0),
        ("summarization_helpfulness", 4.0),
        ("summarization_verbosity", -1.0),
    ] {
        let out = evaluate(&r, EvaluateOptions::new(format!("vertexai/{name}")).dataset(vec![point()])).await.unwrap();
        let s = score_of(&out);
        assert_eq!(s.score, Some(ScoreValue::Number(expected)), "{name}");
        let d = s.details.unwrap();
        assert_eq!(d["reasoning"], "STEP 1: ... The response is fluent.", "{name}");
        assert_eq!(d["confidence"], 0.9, "{name}");
    }
}

#[tokio::test]
async fn an_evaluation_error_is_reported_on_its_test_case() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta1/projects/my-project/locations/us-central1:evaluateInstances"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {"code": 429,
            "message": "Quota exceeded for aiplatform.googleapis.com/evaluation_requests.", "status": "RESOURCE_EXHAUSTED"}})))
        .mount(&server)
        .await;
    let out = evaluate(&registry(plugin(&server)), EvaluateOptions::new("vertexai/fluency").dataset(vec![point()]))
        .await
        .unwrap();
    let s = score_of(&out);
    assert!(s.error.unwrap().contains("Quota exceeded"));
    // BLEU without a reference is the caller's mistake, reported on the case too.
    let mut p = point();
    p.reference = None;
    let out =
        evaluate(&registry(plugin(&server)), EvaluateOptions::new("vertexai/bleu").dataset(vec![p])).await.unwrap();
    assert!(score_of(&out).error.unwrap().contains("reference"));
}

#[tokio::test]
async fn registered_evaluators_and_rerankers_are_listed() {
    use genkit_core::Plugin;
    let server = MockServer::start().await;
    let p = plugin(&server).evaluator(VertexMetric::Groundedness).list_remote_models(false);
    let names: Vec<String> = p.list().await.unwrap().into_iter().map(|m| m.name.to_string()).collect();
    assert!(names.contains(&"vertexai/groundedness".to_owned()), "{names:?}");
    assert!(names.contains(&"vertexai/semantic-ranker-default@latest".to_owned()), "{names:?}");
    assert!(!names.contains(&"vertexai/bleu".to_owned()));
}
