//! Retrieval-augmented generation (RAG) with the file-backed dev vector store
//! (`genkit-dev-local-vectorstore`): index a few documents, retrieve the two closest to a
//! question, and answer with them as context.
//!
//! Needs no API key and downloads nothing: the embedder is a tiny deterministic one defined in
//! the app (hashed word counts), and the model is the echo test model (facade feature
//! `testing`), which answers with what it was sent, so you see the context a real model would
//! get. Swap in a real embedder and model (e.g. `genkit::local`) for real answers.
//! Run with `cargo run -p example-rag`; the index is written under the system temp folder.
//!
//! The setup lives in [`build_app`] and the demo in [`answer`] so that tests can call them.

use std::path::Path;

use genkit::ai::{EmbedRequest, EmbedResponse, EmbedderOptions, Embedding};
use genkit::dev_local_vectorstore::{DevLocalVectorStore, IndexConfig, index_ref};
use genkit::prelude::*;
use genkit::testing::echo_model;
use serde_json::json;

/// The documents the example indexes.
pub const FACTS: [&str; 4] = [
    "The Pacific is the largest ocean on Earth.",
    "Bread is baked from flour, water and yeast.",
    "Rust guarantees memory safety without a garbage collector.",
    "Paris is the capital of France.",
];

/// Length of the toy embeddings.
const DIMENSIONS: usize = 64;

/// A toy embedding: each lower-cased word adds 1 to a slot chosen by a hash of the word, so
/// texts sharing words point the same way. Deterministic, instant, and good enough to demo.
pub fn embed_words(text: &str) -> Vec<f32> {
    let mut v = vec![0.0; DIMENSIONS];
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let hash = word.to_lowercase().bytes().fold(7usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(b)));
        v[hash % DIMENSIONS] += 1.0;
    }
    v
}

/// Builds the Genkit instance with the `facts` index stored in `store_dir`, the `demo/words`
/// embedder and the `demo/echo` model, then indexes [`FACTS`] (indexing twice stores once).
///
/// # Errors
/// When the instance cannot be built or the index cannot be written.
pub async fn build_app(store_dir: &Path) -> Result<Genkit> {
    let g = Genkit::builder()
        .plugin(DevLocalVectorStore::new(vec![IndexConfig::new("facts", "demo/words").dir(store_dir)]))
        .build()
        .await?;
    g.define_embedder(EmbedderOptions::new("demo/words"), |req: EmbedRequest, _cx| async move {
        let embeddings = req.input.iter().map(|doc| Embedding::new(embed_words(&doc.text())));
        Ok(EmbedResponse { embeddings: embeddings.collect() })
    });
    g.register(echo_model("demo/echo").as_action());

    let docs = FACTS.iter().map(|f| Document::from_text(*f)).collect();
    g.index(IndexOptions::new(index_ref("facts")).documents(docs)).await?;
    Ok(g)
}

/// Retrieves the two facts closest to `question` and generates an answer with them as
/// context; returns the facts and the answer.
///
/// # Errors
/// When retrieval or generation fails.
pub async fn answer(g: &Genkit, question: &str) -> Result<(Vec<String>, String)> {
    let found = g.retrieve(RetrieveOptions::new(index_ref("facts")).query(question).options(json!({"k": 2}))).await?;
    let sources = found.iter().map(Document::text).collect();
    let r = g.generate(GenerateOptions::new().model("demo/echo").prompt(question).docs(found)).await?;
    Ok((sources, r.text()))
}
