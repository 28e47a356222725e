//! Retrieval latency (top 10 of 10,000 documents) and indexing throughput, with a cheap
//! deterministic embedder so the figures are the store's own.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use genkit_ai::Document;
use genkit_ai::embedder::{EmbedResponse, EmbedderOptions, Embedding};
use genkit_ai::indexer::{self, IndexOptions};
use genkit_ai::retriever::{self, RetrieveOptions};
use genkit_core::Registry;
use genkit_dev_local_vectorstore::{DevLocalVectorStore, IndexConfig, index_ref};

const DIMS: usize = 384;

fn vector(text: &str) -> Vec<f32> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    (0..DIMS)
        .map(|i| {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            ((h.wrapping_add(i as u64) % 2000) as f32 / 1000.0) - 1.0
        })
        .collect()
}

fn setup(dir: &std::path::Path, index: &str) -> Registry {
    let r = Registry::new();
    let e = genkit_ai::embedder::new(EmbedderOptions::new("hash"), |req, _| async move {
        Ok(EmbedResponse {
            embeddings: req.input.iter().map(|d| Embedding { embedding: vector(&d.text()), metadata: None }).collect(),
        })
    });
    r.register_action(e.as_action()).unwrap();
    r.register_plugin(Arc::new(DevLocalVectorStore::new(vec![IndexConfig::new(index, "hash").dir(dir)]))).unwrap();
    r
}

fn docs(n: usize, offset: usize) -> Vec<Document> {
    (0..n).map(|i| Document::from_text(format!("document number {} about topic {}", i + offset, i % 97))).collect()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = std::env::temp_dir().join(format!("dlv-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let r = setup(&dir, "big");
    rt.block_on(async {
        for chunk in 0..10 {
            indexer::index(&r, IndexOptions::new(index_ref("big")).documents(docs(1000, chunk * 1000))).await.unwrap();
        }
    });
    c.bench_function("retrieve top 10 of 10,000 (384 dims)", |b| {
        b.to_async(&rt).iter(|| async {
            let d = retriever::retrieve(
                &r,
                RetrieveOptions::new(index_ref("big")).query("topic 42").options(serde_json::json!({"k": 10})),
            )
            .await
            .unwrap();
            assert_eq!(d.len(), 10);
        });
    });
    let mut g = c.benchmark_group("index");
    g.sample_size(10);
    let mut n = 0;
    g.bench_function("index 1,000 documents into an empty store (one call)", |b| {
        b.iter(|| {
            n += 1;
            let sub = dir.join(format!("fresh-{n}"));
            let r = setup(&sub, "fresh");
            rt.block_on(indexer::index(&r, IndexOptions::new(index_ref("fresh")).documents(docs(1000, 0)))).unwrap();
        });
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
