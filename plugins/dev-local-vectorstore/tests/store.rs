//! The dev local vector store: JS file compatibility, real embeddings, concurrency, bad input.

use std::sync::Arc;

use genkit_ai::Document;
use genkit_ai::embedder::{EmbedResponse, EmbedderOptions, Embedding};
use genkit_ai::indexer::{self, IndexOptions};
use genkit_ai::retriever::{self, RetrieveOptions};
use genkit_core::{Registry, Status};
use genkit_dev_local_vectorstore::{DevLocalVectorStore, IndexConfig, document_id, index_ref};
use serde_json::json;

fn temp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("dlv-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The embedder the JS golden file was written with: `[text length, 0.5, -1.25]`.
fn golden_registry(dir: &std::path::Path, dims: usize) -> Registry {
    let r = Registry::new();
    let e = genkit_ai::embedder::new(EmbedderOptions::new("fake"), move |req, _| async move {
        let embeddings = req
            .input
            .iter()
            .map(|d| {
                let mut v = vec![d.text().chars().count() as f32, 0.5, -1.25];
                v.resize(dims, 0.0);
                Embedding { embedding: v, metadata: None }
            })
            .collect();
        Ok(EmbedResponse { embeddings })
    });
    r.register_action(e.as_action()).unwrap();
    r.register_plugin(Arc::new(DevLocalVectorStore::new(vec![IndexConfig::new("golden", "fake").dir(dir)]))).unwrap();
    r
}

fn golden_docs() -> Vec<Document> {
    vec![
        Document::from_text("hello world"),
        Document::from_text_with(
            "with metadata",
            json!({"source": "a.txt", "page": 2, "tags": ["x", "y"]}).as_object().cloned(),
        ),
        Document::from_media("https://example.com/cat.png", Some("image/png".into()), None),
        Document::from_text("unicode ü ✓ \"quoted\""),
    ]
}

const GOLDEN: &str = include_str!("data/__db_golden.json");

#[tokio::test]
async fn writes_the_same_file_as_the_js_plugin() {
    let dir = temp("golden-write");
    let r = golden_registry(&dir, 3);
    indexer::index(&r, IndexOptions::new(index_ref("golden")).documents(golden_docs())).await.unwrap();
    let ours = std::fs::read_to_string(dir.join("__db_golden.json")).unwrap();
    // Same ids, documents and embeddings, in the same layout (JS keeps insertion order of a
    // concurrent map fill, so compare as JSON values, and the formatting of one entry exactly).
    let a: serde_json::Value = serde_json::from_str(&ours).unwrap();
    let b: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    assert_eq!(a, b);
    let first_entry_js = &GOLDEN[..GOLDEN.find("  },\n").unwrap()];
    assert!(ours.starts_with(first_entry_js), "formatting differs:\n{ours}");
    assert_eq!(document_id(&Document::from_text("hello world")), "1c661686184d897ce5cdf053b8ea2c8e");
}

#[tokio::test]
async fn reads_a_store_written_by_the_js_plugin() {
    let dir = temp("golden-read");
    std::fs::write(dir.join("__db_golden.json"), GOLDEN).unwrap();
    let r = golden_registry(&dir, 3);
    // JS returned these two for the query "hello" with k = 2.
    let docs =
        retriever::retrieve(&r, RetrieveOptions::new(index_ref("golden")).query("hello").options(json!({"k": 2})))
            .await
            .unwrap();
    let got = serde_json::to_value(&docs).unwrap();
    assert_eq!(
        got,
        json!([{"content":[{"text":"hello world"}]},{"content":[{"text":"with metadata"}],"metadata":{"source":"a.txt","page":2,"tags":["x","y"]}}])
    );
    // Indexing the same documents again adds nothing.
    indexer::index(&r, IndexOptions::new(index_ref("golden")).documents(golden_docs())).await.unwrap();
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("__db_golden.json")).unwrap()).unwrap();
    assert_eq!(again.as_object().unwrap().len(), 4);
}

#[tokio::test]
async fn default_k_is_three_and_metadata_is_declared() {
    let dir = temp("k");
    let r = golden_registry(&dir, 3);
    indexer::index(&r, IndexOptions::new(index_ref("golden")).documents(golden_docs())).await.unwrap();
    assert_eq!(retriever::retrieve(&r, RetrieveOptions::new(index_ref("golden")).query("x")).await.unwrap().len(), 3);
    let a = r.lookup_action("/retriever/devLocalVectorstore/golden").await.unwrap().unwrap();
    let md = serde_json::to_value(a.metadata()).unwrap();
    assert_eq!(md["metadata"]["info"]["label"], "Local file-based Retriever - golden");
    assert!(md["metadata"]["retriever"]["customOptions"]["properties"]["k"].is_object());
    assert!(r.lookup_action("/indexer/devLocalVectorstore/golden").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_indexing_loses_nothing() {
    let dir = temp("parallel");
    let r = golden_registry(&dir, 8);
    // Two plugin instances on the same file behave like two processes: only the lock file
    // coordinates them.
    let r2 = golden_registry(&dir, 8);
    let mut tasks = Vec::new();
    for t in 0..8 {
        let reg = if t % 2 == 0 { r.clone() } else { r2.clone() };
        tasks.push(tokio::spawn(async move {
            for i in 0..5 {
                let d = Document::from_text(format!("task {t} doc {i}"));
                indexer::index(&reg, IndexOptions::new(index_ref("golden")).documents(vec![d])).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("__db_golden.json")).unwrap()).unwrap();
    assert_eq!(stored.as_object().unwrap().len(), 40);
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[tokio::test]
async fn an_interrupted_write_leaves_the_store_intact() {
    let dir = temp("crash");
    let r = golden_registry(&dir, 3);
    indexer::index(&r, IndexOptions::new(index_ref("golden")).documents(golden_docs())).await.unwrap();
    let before = std::fs::read_to_string(dir.join("__db_golden.json")).unwrap();
    // A writer that died mid-write leaves only its temporary file; the store is untouched and
    // the next write succeeds.
    std::fs::write(dir.join("__db_golden.json.tmp-999999"), "{\"half\": ").unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("__db_golden.json")).unwrap(), before);
    indexer::index(&r, IndexOptions::new(index_ref("golden")).documents(vec![Document::from_text("after the crash")]))
        .await
        .unwrap();
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("__db_golden.json")).unwrap()).unwrap();
    assert_eq!(after.as_object().unwrap().len(), 5);
}

#[tokio::test]
async fn dimension_mismatch_is_a_clear_error() {
    let dir = temp("dims");
    let r = golden_registry(&dir, 3);
    indexer::index(&r, IndexOptions::new(index_ref("golden")).documents(golden_docs())).await.unwrap();
    let other = golden_registry(&dir, 5);
    let e = retriever::retrieve(&other, RetrieveOptions::new(index_ref("golden")).query("hello")).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("stores 3-dimensional vectors"), "{e}");
    let e = indexer::index(&other, IndexOptions::new(index_ref("golden")).documents(vec![Document::from_text("new")]))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

/// An embedder that gives texts starting with "bad" the first component `bad`, others their length.
fn registry_with_bad_values(dir: &std::path::Path, bad: f32) -> Registry {
    let r = Registry::new();
    let e = genkit_ai::embedder::new(EmbedderOptions::new("fake"), move |req, _| async move {
        let embeddings = req
            .input
            .iter()
            .map(|d| {
                let first = if d.text().starts_with("bad") { bad } else { d.text().len() as f32 };
                Embedding { embedding: vec![first, 0.5, -1.25], metadata: None }
            })
            .collect();
        Ok(EmbedResponse { embeddings })
    });
    r.register_action(e.as_action()).unwrap();
    r.register_plugin(Arc::new(DevLocalVectorStore::new(vec![IndexConfig::new("golden", "fake").dir(dir)]))).unwrap();
    r
}

#[tokio::test]
async fn non_finite_embeddings_are_refused_and_the_store_still_loads() {
    for (i, bad) in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY].into_iter().enumerate() {
        let dir = temp(&format!("non-finite-{i}"));
        let r = registry_with_bad_values(&dir, bad);
        let index = |texts: &[&str]| {
            let docs = texts.iter().map(|t| Document::from_text(*t)).collect();
            indexer::index(&r, IndexOptions::new(index_ref("golden")).documents(docs))
        };
        index(&["good"]).await.unwrap();
        // A batch with one bad vector is refused whole.
        let e = index(&["fine", "bad one"]).await.unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{bad}: {e}");
        assert!(e.message().contains("non-finite"), "{e}");
        let e =
            retriever::retrieve(&r, RetrieveOptions::new(index_ref("golden")).query("bad query")).await.unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{bad}: {e}");
        // After a restart (a new registry reading the file) the store loads with only the good document.
        let restarted = registry_with_bad_values(&dir, bad);
        let docs = retriever::retrieve(&restarted, RetrieveOptions::new(index_ref("golden")).query("x")).await.unwrap();
        assert_eq!(docs.iter().map(|d| d.text()).collect::<Vec<_>>(), ["good"]);
    }
}

#[tokio::test]
async fn unknown_index_or_corrupt_file_are_clear_errors() {
    let dir = temp("bad");
    let r = golden_registry(&dir, 3);
    let e = retriever::retrieve(&r, RetrieveOptions::new(index_ref("nope")).query("x")).await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    std::fs::write(dir.join("__db_golden.json"), "not json").unwrap();
    let e = retriever::retrieve(&r, RetrieveOptions::new(index_ref("golden")).query("x")).await.unwrap_err();
    assert_eq!(e.status(), Status::DataLoss);
    assert!(e.message().contains("not a valid vector store file"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_the_semantically_closest_document_with_real_embeddings() {
    let dir = temp("real");
    let r = Registry::new();
    r.register_plugin(Arc::new(genkit_local::Local::new())).unwrap();
    r.register_plugin(Arc::new(DevLocalVectorStore::new(vec![
        IndexConfig::new("facts", genkit_local::ALL_MINILM).dir(&dir),
    ])))
    .unwrap();
    let facts = [
        "Paris is the capital of France.",
        "Bread is baked from flour, water and yeast.",
        "Rust guarantees memory safety without a garbage collector.",
        "The Pacific is the largest ocean on Earth.",
        "Cats sleep for most of the day.",
    ];
    let docs = facts.iter().map(|f| Document::from_text(*f)).collect();
    indexer::index(&r, IndexOptions::new(index_ref("facts")).documents(docs)).await.unwrap();
    let cases = [
        ("Which programming language is memory safe?", 2),
        ("What is the biggest sea on the planet?", 3),
        ("How do you make a loaf?", 1),
        ("What city is France's capital?", 0),
    ];
    for (q, want) in cases {
        let got = retriever::retrieve(&r, RetrieveOptions::new(index_ref("facts")).query(q).options(json!({"k": 1})))
            .await
            .unwrap();
        assert_eq!(got[0].text(), facts[want], "query {q:?}");
    }
}
