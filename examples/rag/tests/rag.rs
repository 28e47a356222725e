//! The RAG example retrieves the right document and hands it to the model.

use std::path::PathBuf;

/// A fresh store folder for one test.
fn store_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("genkit-example-rag-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn retrieves_the_closest_facts_and_answers_with_them() {
    let dir = store_dir("answer");
    let g = example_rag::build_app(&dir).await.unwrap();
    assert!(dir.join("__db_facts.json").exists());

    let (sources, answer) = example_rag::answer(&g, "Which ocean is the largest?").await.unwrap();
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[0], "The Pacific is the largest ocean on Earth.");
    // The echo model shows the context section Genkit added to the prompt.
    assert!(answer.starts_with("Echo: Which ocean is the largest?"), "{answer}");
    assert!(answer.contains("- [0]: The Pacific is the largest ocean on Earth."), "{answer}");

    let (sources, _) = example_rag::answer(&g, "What is bread made from?").await.unwrap();
    assert_eq!(sources[0], "Bread is baked from flour, water and yeast.");
    let (sources, _) = example_rag::answer(&g, "Is Rust memory safe?").await.unwrap();
    assert_eq!(sources[0], "Rust guarantees memory safety without a garbage collector.");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn indexing_again_stores_each_document_once() {
    let dir = store_dir("twice");
    example_rag::build_app(&dir).await.unwrap();
    example_rag::build_app(&dir).await.unwrap();
    let store: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("__db_facts.json")).unwrap()).unwrap();
    assert_eq!(store.as_object().unwrap().len(), example_rag::FACTS.len());
    let _ = std::fs::remove_dir_all(&dir);
}
