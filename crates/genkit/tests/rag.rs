//! Retrieval and evaluation through the facade (R1–R7): retrievers, simple retrievers,
//! indexers, rerankers, evaluators, and `docs` reaching a model without native context support.

use std::sync::{Arc, Mutex};

use genkit::ai::evaluator::{
    BaseDataPoint, EvalFnResponse, EvalStatus, Evaluation, EvaluatorOptions, Score, ScoreValue,
};
use genkit::ai::reranker::{RankedDocumentData, RankedDocumentMetadata, RerankerResponse};
use genkit::ai::retriever::{
    ItemContent, ItemMetadata, RetrieverOptions, RetrieverResponse, SimpleContent, SimpleRetrieverOptions,
};
use genkit::ai::{Document, Part};
use genkit::prelude::*;
use serde_json::{Value, json};

async fn app() -> Genkit {
    Genkit::builder().build().await.unwrap()
}

#[tokio::test]
async fn retriever_gets_query_and_options_and_declares_metadata() {
    let g = app().await;
    g.define_retriever(
        RetrieverOptions::new("words").config_type::<genkit::ai::retriever::CommonRetrieverOptions>(),
        |q: Document, opts: Option<Value>| async move {
            let k = opts.and_then(|o| o["k"].as_u64()).unwrap_or(2) as usize;
            let docs = q.text().split(' ').take(k).map(Document::from_text).collect();
            Ok(RetrieverResponse { documents: docs })
        },
    );
    let docs = g.retrieve("words", "a b c d", Some(json!({"k": 3}))).await.unwrap();
    assert_eq!(docs.iter().map(Document::text).collect::<Vec<_>>(), ["a", "b", "c"]);
    // Options are validated against the config schema.
    let e = g.retrieve("words", "a b", Some(json!({"k": "three"}))).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    let meta = g.registry().lookup_action("/retriever/words").await.unwrap().unwrap();
    let md = serde_json::to_value(meta.metadata()).unwrap();
    assert_eq!(md["metadata"]["type"], "retriever");
    assert!(md["metadata"]["retriever"]["customOptions"]["properties"]["k"].is_object(), "{md}");
    assert!(md["inputSchema"]["properties"]["options"]["properties"]["k"].is_object(), "{md}");
    // Unknown retriever.
    assert_eq!(g.retrieve("nope", "x", None).await.unwrap_err().status(), Status::NotFound);
}

#[tokio::test]
async fn simple_retriever_converts_items_like_js() {
    let g = app().await;
    let items = json!([
        {"body": "first", "id": 1, "tag": "a"},
        {"body": "second", "id": 2, "tag": "b"}
    ]);
    let it = items.clone();
    let opts = SimpleRetrieverOptions {
        retriever: RetrieverOptions::new("by-key"),
        content: Some(ItemContent::Key("body".into())),
        metadata: None,
    };
    g.define_simple_retriever(opts, move |_, _| {
        let it = it.clone();
        async move { Ok(it.as_array().unwrap().clone()) }
    });
    let docs = g.retrieve("by-key", "q", None).await.unwrap();
    assert_eq!(docs[0].text(), "first");
    assert_eq!(docs[0].metadata.clone().unwrap(), *json!({"id": 1, "tag": "a"}).as_object().unwrap());

    // Keys picked; strings become text without metadata; content function with parts.
    let opts = SimpleRetrieverOptions {
        retriever: RetrieverOptions::new("picked"),
        content: Some(ItemContent::Fn(Arc::new(|v: &Value| {
            SimpleContent::Parts(vec![Part::text(format!("#{}", v["id"]))])
        }))),
        metadata: Some(ItemMetadata::Keys(vec!["tag".into()])),
    };
    let it = items.clone();
    g.define_simple_retriever(opts, move |_, _| {
        let it = it.clone();
        async move { Ok(it.as_array().unwrap().clone()) }
    });
    let docs = g.retrieve("picked", "q", None).await.unwrap();
    assert_eq!(docs[1].text(), "#2");
    assert_eq!(docs[1].metadata.clone().unwrap(), *json!({"tag": "b"}).as_object().unwrap());

    // No content option for an object item, and null items, are INVALID_ARGUMENT.
    let opts = SimpleRetrieverOptions { retriever: RetrieverOptions::new("bad"), content: None, metadata: None };
    g.define_simple_retriever(opts, |_, _| async { Ok(vec![json!("plain text"), json!({"x": 1})]) });
    let e = g.retrieve("bad", "q", None).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().starts_with("Cannot convert item to document without content option."), "{e}");
    let opts = SimpleRetrieverOptions { retriever: RetrieverOptions::new("null"), content: None, metadata: None };
    g.define_simple_retriever(opts, |_, _| async { Ok(vec![Value::Null]) });
    let e = g.retrieve("null", "q", None).await.unwrap_err();
    assert_eq!(e.message(), "Items returned from simple retriever must be non-null.");
}

#[tokio::test]
async fn indexer_receives_documents() {
    let g = app().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    g.define_indexer(RetrieverOptions::new("mem"), move |docs: Vec<Document>, _| {
        let s = s.clone();
        async move {
            s.lock().unwrap().extend(docs.iter().map(Document::text));
            Ok(())
        }
    });
    g.index("mem", vec![Document::from_text("x"), Document::from_text("y")], None).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), ["x", "y"]);
    let md =
        serde_json::to_value(g.registry().lookup_action("/indexer/mem").await.unwrap().unwrap().metadata()).unwrap();
    assert_eq!(md["metadata"]["type"], "indexer");
    assert_eq!(g.index("nope", vec![], None).await.unwrap_err().status(), Status::NotFound);
}

#[tokio::test]
async fn reranker_scores_documents() {
    let g = app().await;
    g.define_reranker(RetrieverOptions::new("by-length"), |q: Document, docs: Vec<Document>, _| async move {
        let ql = q.text().len() as f64;
        let mut ranked: Vec<RankedDocumentData> = docs
            .into_iter()
            .map(|d| RankedDocumentData {
                metadata: RankedDocumentMetadata {
                    score: -(d.text().len() as f64 - ql).abs(),
                    rest: Default::default(),
                },
                content: d.content,
            })
            .collect();
        ranked.sort_by(|a, b| b.score().total_cmp(&a.score()));
        Ok(RerankerResponse { documents: ranked })
    });
    let docs = ["a", "abcd", "abc"].map(Document::from_text).to_vec();
    let ranked = g.rerank("by-length", "xyz", docs, None).await.unwrap();
    assert_eq!(ranked[0].score(), 0.0);
    assert_eq!(ranked[0].clone().into_document().text(), "abc");
    let wire = serde_json::to_value(&ranked[0]).unwrap();
    assert_eq!(wire, json!({"content": [{"text": "abc"}], "metadata": {"score": 0.0}}));
    assert_eq!(g.rerank("nope", "x", vec![], None).await.unwrap_err().status(), Status::NotFound);
}

#[tokio::test]
async fn evaluator_scores_each_case_and_reports_failures_per_case() {
    let g = app().await;
    g.define_evaluator(
        EvaluatorOptions::new("exact", "Exact match", "Output equals reference").not_billed(),
        |d: BaseDataPoint, _| async move {
            if d.output == Some(json!("boom")) {
                return Err(genkit::Error::invalid_argument("cannot score this"));
            }
            let ok = d.output == d.reference;
            Ok(EvalFnResponse::new(
                d.test_case_id.unwrap_or_default(),
                Score {
                    score: Some(ScoreValue::Bool(ok)),
                    status: Some(if ok { EvalStatus::Pass } else { EvalStatus::Fail }),
                    ..Score::default()
                },
            ))
        },
    );
    let dataset = vec![
        BaseDataPoint {
            output: Some(json!("a")),
            reference: Some(json!("a")),
            test_case_id: Some("t1".into()),
            ..Default::default()
        },
        BaseDataPoint { output: Some(json!("boom")), ..Default::default() },
        BaseDataPoint {
            output: Some(json!("b")),
            reference: Some(json!("c")),
            test_case_id: Some("t3".into()),
            ..Default::default()
        },
    ];
    let out = g.evaluate("exact", dataset, None).await.unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(out[0].test_case_id, "t1");
    assert_eq!(out[0].sample_index, Some(0));
    assert!(out[0].trace_id.as_ref().is_some_and(|t| t.len() == 32));
    match &out[1].evaluation {
        Evaluation::One(s) => {
            assert!(
                s.error
                    .as_deref()
                    .unwrap()
                    .starts_with(&format!("Evaluation of test case {} failed: \n", out[1].test_case_id))
            );
        }
        Evaluation::Many(_) => panic!("one score expected"),
    }
    assert_eq!(out[1].test_case_id.len(), 36, "a UUID fills a missing test case id");
    assert!(matches!(&out[2].evaluation, Evaluation::One(Score { status: Some(EvalStatus::Fail), .. })));
    let md = serde_json::to_value(g.registry().lookup_action("/evaluator/exact").await.unwrap().unwrap().metadata())
        .unwrap();
    assert_eq!(
        md["metadata"]["evaluator"],
        json!({"evaluatorIsBilled": false, "evaluatorDisplayName": "Exact match", "evaluatorDefinition": "Output equals reference"})
    );
    assert_eq!(md["metadata"]["type"], "evaluator");
}

#[tokio::test]
async fn evaluator_batches_run_with_sample_indexes_as_js() {
    let g = app().await;
    g.define_evaluator(EvaluatorOptions::new("len", "Length", "Output length"), |d: BaseDataPoint, _| async move {
        let n = d.output.as_ref().and_then(Value::as_str).map_or(0, str::len);
        Ok(EvalFnResponse::new(
            d.test_case_id.unwrap_or_default(),
            Score { score: Some(ScoreValue::Number(n as f64)), ..Score::default() },
        ))
    });
    let dataset: Vec<BaseDataPoint> =
        (0..5).map(|i| BaseDataPoint { output: Some(json!("x".repeat(i))), ..Default::default() }).collect();
    let req = json!({"dataset": dataset, "evalRunId": "run-1", "batchSize": 2});
    let out = g.run_action("/evaluator/len", req, RunOptions::new()).await.unwrap().result;
    let idx: Vec<u64> = out.as_array().unwrap().iter().map(|r| r["sampleIndex"].as_u64().unwrap()).collect();
    assert_eq!(idx, [0, 1, 2, 3, 4]);
    assert_eq!(out[3]["evaluation"]["score"], json!(3.0));
}

#[tokio::test]
async fn docs_reach_a_model_without_context_support_as_a_context_section() {
    let g = app().await;
    let pm = genkit::ai::model::testing::ProgrammableModel::new("test/pm");
    pm.respond_text("ok");
    g.register(pm.action().as_action());
    let docs = vec![Document::from_text("Paris is in France."), Document::from_text("Rome is in Italy.")];
    g.generate(GenerateOptions::new().model("test/pm").prompt("Where is Paris?").docs(docs)).await.unwrap();
    let sent = serde_json::to_string(&pm.requests()[0].messages).unwrap();
    assert!(sent.contains("Paris is in France.") && sent.contains("Rome is in Italy."), "{sent}");
    assert!(sent.contains("\"purpose\":\"context\""), "{sent}");
}

#[tokio::test]
async fn document_helpers() {
    let d = Document::from_data("https://x/y.png", Some("image/png"), None);
    assert_eq!(d.data_type().as_deref(), Some("image/png"));
    assert_eq!(Document::from_text("t").data(), "t");
}
