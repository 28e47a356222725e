//! Retrieval and evaluation through the facade: retrievers, simple retrievers,
//! indexers, rerankers, evaluators, and `docs` reaching a model without native context support;
//! handlers reaching the registry through their context; references with default options.

use std::sync::{Arc, Mutex};

use genkit::ai::evaluator::{
    BaseDataPoint, DataPointRequest, EvalFnResponse, EvalRequest, EvalStatus, Evaluation, Score, ScoreValue,
};
use genkit::ai::indexer::IndexerRequest;
use genkit::ai::reranker::{RankedDocumentData, RankedDocumentMetadata, RerankerRequest, RerankerResponse};
use genkit::ai::retriever::{
    ItemContent, ItemMetadata, RetrieverRequest, RetrieverResponse, SimpleContent, SimpleRetrieverOptions,
};
use genkit::ai::{Document, Part};
use genkit::prelude::*;
use genkit::{
    EvaluatorCx, EvaluatorOptions, EvaluatorRef, IndexerCx, IndexerOptions, IndexerRef, RerankerCx, RerankerOptions,
    RerankerRef, RetrieverCx, RetrieverOptions, RetrieverRef,
};
use serde_json::{Value, json};

async fn app() -> Genkit {
    Genkit::builder().build().await.unwrap()
}

#[tokio::test]
async fn retriever_gets_query_and_options_and_declares_metadata() {
    let g = app().await;
    g.define_retriever(
        RetrieverOptions::new("words").config_type::<genkit::ai::retriever::CommonRetrieverOptions>(),
        |req: RetrieverRequest, _cx: RetrieverCx| async move {
            let k = req.options.and_then(|o| o["k"].as_u64()).unwrap_or(2) as usize;
            let docs = req.query.text().split(' ').take(k).map(Document::from_text).collect();
            Ok(RetrieverResponse { documents: docs })
        },
    );
    let docs = g.retrieve(RetrieveOptions::new("words").query("a b c d").options(json!({"k": 3}))).await.unwrap();
    assert_eq!(docs.iter().map(Document::text).collect::<Vec<_>>(), ["a", "b", "c"]);
    // Options are validated against the config schema.
    let e = g.retrieve(RetrieveOptions::new("words").query("a b").options(json!({"k": "three"}))).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    let meta = g.registry().lookup_action("/retriever/words").await.unwrap().unwrap();
    let md = serde_json::to_value(meta.metadata()).unwrap();
    assert_eq!(md["metadata"]["type"], "retriever");
    assert!(md["metadata"]["retriever"]["customOptions"]["properties"]["k"].is_object(), "{md}");
    assert!(md["inputSchema"]["properties"]["options"]["properties"]["k"].is_object(), "{md}");
    // Unknown retriever.
    let e = g.retrieve(RetrieveOptions::new("nope").query("x")).await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert_eq!(e.message(), "Unable to resolve the retriever: /retriever/nope not found");
}

#[tokio::test]
async fn simple_retriever_converts_items_like_js() {
    let g = app().await;
    let items = json!([
        {"body": "first", "id": 1, "tag": "a"},
        {"body": "second", "id": 2, "tag": "b"}
    ]);
    let it = items.clone();
    let opts = SimpleRetrieverOptions::new("by-key").content(ItemContent::Key("body".into()));
    g.define_simple_retriever(opts, move |_, _| {
        let it = it.clone();
        async move { Ok(it.as_array().unwrap().clone()) }
    });
    let docs = g.retrieve(RetrieveOptions::new("by-key").query("q")).await.unwrap();
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
    let docs = g.retrieve(RetrieveOptions::new("picked").query("q")).await.unwrap();
    assert_eq!(docs[1].text(), "#2");
    assert_eq!(docs[1].metadata.clone().unwrap(), *json!({"tag": "b"}).as_object().unwrap());

    // No content option for an object item, and null items, are INVALID_ARGUMENT.
    let opts = SimpleRetrieverOptions { retriever: RetrieverOptions::new("bad"), content: None, metadata: None };
    g.define_simple_retriever(opts, |_, _| async { Ok(vec![json!("plain text"), json!({"x": 1})]) });
    let e = g.retrieve(RetrieveOptions::new("bad").query("q")).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().starts_with("Cannot convert item to document without content option."), "{e}");
    let opts = SimpleRetrieverOptions { retriever: RetrieverOptions::new("null"), content: None, metadata: None };
    g.define_simple_retriever(opts, |_, _| async { Ok(vec![Value::Null]) });
    let e = g.retrieve(RetrieveOptions::new("null").query("q")).await.unwrap_err();
    assert_eq!(e.message(), "Items returned from simple retriever must be non-null.");
}

#[tokio::test]
async fn indexer_receives_documents() {
    let g = app().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    g.define_indexer(IndexerOptions::new("mem"), move |req: IndexerRequest, _cx: IndexerCx| {
        let s = s.clone();
        async move {
            s.lock().unwrap().extend(req.documents.iter().map(Document::text));
            Ok(())
        }
    });
    let docs = vec![Document::from_text("x"), Document::from_text("y")];
    g.index(IndexOptions::new("mem").documents(docs)).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), ["x", "y"]);
    let md =
        serde_json::to_value(g.registry().lookup_action("/indexer/mem").await.unwrap().unwrap().metadata()).unwrap();
    assert_eq!(md["metadata"]["type"], "indexer");
    let e = g.index(IndexOptions::new("nope")).await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert_eq!(e.message(), "Unable to utilize the provided indexer: /indexer/nope not found");
}

#[tokio::test]
async fn reranker_scores_documents() {
    let g = app().await;
    g.define_reranker(RerankerOptions::new("by-length"), |req: RerankerRequest, _cx: RerankerCx| async move {
        let ql = req.query.text().len() as f64;
        let mut ranked: Vec<RankedDocumentData> = req
            .documents
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
    let ranked = g.rerank(RerankOptions::new("by-length").query("xyz").documents(docs)).await.unwrap();
    assert_eq!(ranked[0].score(), 0.0);
    assert_eq!(ranked[0].clone().into_document().text(), "abc");
    let wire = serde_json::to_value(&ranked[0]).unwrap();
    assert_eq!(wire, json!({"content": [{"text": "abc"}], "metadata": {"score": 0.0}}));
    let e = g.rerank(RerankOptions::new("nope").query("x")).await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert_eq!(e.message(), "Unable to resolve the reranker: /reranker/nope not found");
}

#[tokio::test]
async fn evaluator_scores_each_case_and_reports_failures_per_case() {
    let g = app().await;
    g.define_evaluator(
        EvaluatorOptions::new("exact", "Exact match", "Output equals reference").not_billed(),
        |req: DataPointRequest, _cx: EvaluatorCx| async move {
            let d = req.data_point;
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
    let out = g.evaluate(EvaluateOptions::new("exact").dataset(dataset)).await.unwrap();
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
    g.define_evaluator(
        EvaluatorOptions::new("len", "Length", "Output length"),
        |req: DataPointRequest, _| async move {
            let d = req.data_point;
            let n = d.output.as_ref().and_then(Value::as_str).map_or(0, str::len);
            Ok(EvalFnResponse::new(
                d.test_case_id.unwrap_or_default(),
                Score { score: Some(ScoreValue::Number(n as f64)), ..Score::default() },
            ))
        },
    );
    let dataset: Vec<BaseDataPoint> =
        (0..5).map(|i| BaseDataPoint { output: Some(json!("x".repeat(i))), ..Default::default() }).collect();
    let req = json!({"dataset": dataset, "evalRunId": "run-1", "batchSize": 2});
    let out = g.run_action("/evaluator/len", req, RunOptions::new()).await.unwrap().result;
    let idx: Vec<u64> = out.as_array().unwrap().iter().map(|r| r["sampleIndex"].as_u64().unwrap()).collect();
    assert_eq!(idx, [0, 1, 2, 3, 4]);
    assert_eq!(out[3]["evaluation"]["score"], json!(3.0));
}

/// The reply of the echo model `test/echo` to `prompt` (without the config it echoes), asked
/// through `registry`.
async fn ask_echo(registry: Option<&genkit::Registry>, prompt: &str) -> genkit::Result<String> {
    let registry = registry.ok_or_else(|| genkit::Error::internal("no registry in the handler's context"))?;
    let opts = GenerateOptions::new().model("test/echo").prompt(prompt);
    let text = genkit::ai::generate::generate(registry, opts).await?.text();
    Ok(text.split("; config:").next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn handlers_reach_the_registry_through_their_context() {
    let g = app().await;
    g.register(genkit::ai::model::testing::echo_model("test/echo").as_action());

    g.define_retriever(RetrieverOptions::new("expand"), |req: RetrieverRequest, cx: RetrieverCx| async move {
        let text = ask_echo(cx.registry(), &req.query.text()).await?;
        Ok(RetrieverResponse { documents: vec![Document::from_text(text)] })
    });
    let docs = g.retrieve(RetrieveOptions::new("expand").query("paris")).await.unwrap();
    assert_eq!(docs[0].text(), "Echo: paris");

    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    g.define_indexer(IndexerOptions::new("echoed"), move |req: IndexerRequest, cx: IndexerCx| {
        let s = s.clone();
        async move {
            for d in &req.documents {
                let text = ask_echo(cx.registry(), &d.text()).await?;
                s.lock().unwrap().push(text);
            }
            Ok(())
        }
    });
    g.index(IndexOptions::new("echoed").documents(vec![Document::from_text("x")])).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), ["Echo: x"]);

    g.define_reranker(RerankerOptions::new("by-echo"), |req: RerankerRequest, cx: RerankerCx| async move {
        let mut documents = Vec::new();
        for d in req.documents {
            let echoed = ask_echo(cx.registry(), &d.text()).await?;
            let metadata = RankedDocumentMetadata { score: echoed.len() as f64, rest: Default::default() };
            documents.push(RankedDocumentData { content: d.content, metadata });
        }
        Ok(RerankerResponse { documents })
    });
    let ranked =
        g.rerank(RerankOptions::new("by-echo").query("q").documents(vec![Document::from_text("abc")])).await.unwrap();
    assert_eq!(ranked[0].score(), "Echo: abc".len() as f64);

    // A judge-style evaluator: each data point is scored by asking a model of the registry.
    g.define_evaluator(
        EvaluatorOptions::new("judged", "Judged", "Asks a model"),
        |req: DataPointRequest, cx: EvaluatorCx| async move {
            let d = req.data_point;
            let output = d.output.as_ref().and_then(Value::as_str).unwrap_or_default();
            let verdict = ask_echo(cx.registry(), output).await?;
            let score = Score { score: Some(ScoreValue::Text(verdict)), ..Score::default() };
            Ok(EvalFnResponse::new(d.test_case_id.unwrap_or_default(), score))
        },
    );
    let dataset: Vec<BaseDataPoint> =
        ["a", "b"].iter().map(|o| BaseDataPoint { output: Some(json!(o)), ..Default::default() }).collect();
    let out = g.evaluate(EvaluateOptions::new("judged").dataset(dataset.clone())).await.unwrap();
    let verdicts: Vec<_> = out.iter().map(|r| r.evaluation.clone()).collect();
    assert!(
        matches!(&verdicts[..], [Evaluation::One(a), Evaluation::One(b)]
            if a.score == Some(ScoreValue::Text("Echo: a".into())) && b.score == Some(ScoreValue::Text("Echo: b".into()))),
        "{verdicts:?}"
    );

    g.define_batch_evaluator(
        EvaluatorOptions::new("judged-batch", "Judged", "Asks a model once"),
        |req: EvalRequest, cx: EvaluatorCx| async move {
            let verdict = ask_echo(cx.registry(), &req.eval_run_id).await?;
            let score = Score { score: Some(ScoreValue::Text(verdict)), ..Score::default() };
            let ids = req.dataset.into_iter().filter_map(|d| d.test_case_id);
            Ok(ids.map(|id| EvalFnResponse::new(id, score.clone())).collect())
        },
    );
    let out = g.evaluate(EvaluateOptions::new("judged-batch").dataset(dataset).eval_run_id("run-7")).await.unwrap();
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|r| r.test_case_id.len() == 36), "test case ids are filled");
    assert!(
        matches!(&out[0].evaluation, Evaluation::One(s) if s.score == Some(ScoreValue::Text("Echo: run-7".into())))
    );
}

#[tokio::test]
async fn a_reference_s_default_options_merge_under_the_call_options() {
    let g = app().await;
    // Every handler reports the options it received.
    let retriever = g.define_retriever(RetrieverOptions::new("opts"), |req: RetrieverRequest, _cx| async move {
        Ok(RetrieverResponse { documents: vec![Document::from_text(json!(req.options).to_string())] })
    });
    let got = |docs: Vec<Document>| serde_json::from_str::<Value>(&docs[0].text()).unwrap();
    let facts = RetrieverRef::new("opts").with_config(json!({"k": 3, "filter": "a"}));
    assert_eq!(facts.name(), "opts");

    let docs = g.retrieve(RetrieveOptions::new(&facts).query("q").options(json!({"k": 5}))).await.unwrap();
    assert_eq!(got(docs), json!({"k": 5, "filter": "a"}));
    let docs = g.retrieve(RetrieveOptions::new(facts.clone()).query("q")).await.unwrap();
    assert_eq!(got(docs), json!({"k": 3, "filter": "a"}));
    // By name or handle: the call's options only, as before.
    let docs = g.retrieve(RetrieveOptions::new("opts").query("q")).await.unwrap();
    assert_eq!(got(docs), Value::Null);
    let docs = g.retrieve(RetrieveOptions::new(&retriever).query("q").options(json!({"k": 1}))).await.unwrap();
    assert_eq!(got(docs), json!({"k": 1}));
    // An unregistered handle is called directly.
    let loose = genkit::ai::retriever::new(RetrieverOptions::new("loose"), |_req, cx: RetrieverCx| async move {
        Ok(RetrieverResponse { documents: vec![Document::from_text(format!("{}", cx.registry().is_some()))] })
    });
    let docs = g.retrieve(RetrieveOptions::new(&loose).query("q")).await.unwrap();
    assert_eq!(docs[0].text(), "false");

    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    g.define_indexer(IndexerOptions::new("opts"), move |req: IndexerRequest, _cx| {
        s.lock().unwrap().push(req.options);
        async { Ok(()) }
    });
    let store = IndexerRef::new("opts").with_config(json!({"collection": "c", "upsert": false}));
    g.index(IndexOptions::new(store).options(json!({"upsert": true}))).await.unwrap();
    assert_eq!(seen.lock().unwrap()[0], Some(json!({"collection": "c", "upsert": true})));

    g.define_reranker(RerankerOptions::new("opts"), |req: RerankerRequest, _cx| async move {
        let mut rest = serde_json::Map::new();
        rest.insert("options".into(), json!(req.options));
        let metadata = RankedDocumentMetadata { score: 1.0, rest };
        Ok(RerankerResponse { documents: vec![RankedDocumentData { content: vec![], metadata }] })
    });
    let by = RerankerRef::new("opts").with_config(json!({"k": 2}));
    let ranked = g.rerank(RerankOptions::new(by).query("q").options(json!({"model": "m"}))).await.unwrap();
    assert_eq!(ranked[0].metadata.rest["options"], json!({"k": 2, "model": "m"}));

    g.define_batch_evaluator(
        EvaluatorOptions::new("opts", "Options", "Echoes options"),
        |req: EvalRequest, _| async move {
            let score = Score { details: req.options.and_then(|o| o.as_object().cloned()), ..Score::default() };
            Ok(vec![EvalFnResponse::new("only", score)])
        },
    );
    let strict = EvaluatorRef::new("opts").with_config(json!({"threshold": 0.5, "strict": true}));
    let out = g.evaluate(EvaluateOptions::new(strict).options(json!({"threshold": 0.9}))).await.unwrap();
    assert!(
        matches!(&out[0].evaluation, Evaluation::One(s)
            if s.details == json!({"threshold": 0.9, "strict": true}).as_object().cloned()),
        "{out:?}"
    );
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
