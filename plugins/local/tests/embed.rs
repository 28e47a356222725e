//! The local embedder with real weights, checked against reference values computed by an
//! independent NumPy implementation of BERT on the same files (see docs/local-models.md).

use std::sync::{Arc, OnceLock};

use genkit_ai::embedder::{cosine_similarity, embed, embed_many};
use genkit_ai::{DocumentData, EmbedContent};
use genkit_core::{Registry, Status};
use genkit_local::{ALL_MINILM, Local};

fn registry() -> Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        let r = Registry::new();
        r.register_plugin(Arc::new(Local::new())).unwrap();
        r
    })
    .clone()
}

const SENTENCES: [&str; 4] = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
];

async fn vectors() -> Vec<Vec<f32>> {
    let content: Vec<EmbedContent> = SENTENCES.iter().map(|s| EmbedContent::from(*s)).collect();
    embed_many(&registry(), ALL_MINILM, content, None).await.unwrap().into_iter().map(|e| e.embedding).collect()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 5e-5
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matches_reference_values_to_four_decimals() {
    let v = vectors().await;
    assert_eq!(v.len(), 4);
    assert!(v.iter().all(|e| e.len() == 384));
    let first5 = [0.033242f32, 0.004406, -0.006277, 0.048379, -0.138702];
    for (got, want) in v[0].iter().zip(first5) {
        assert!(close(*got, want), "got {:?}, want {first5:?}", &v[0][..5]);
    }
    let cos = |i: usize, j: usize| cosine_similarity(&v[i], &v[j]);
    assert!(close(cos(0, 1), 0.7553), "eating/bread {}", cos(0, 1));
    assert!(close(cos(0, 2), -0.1050), "eating/baby {}", cos(0, 2));
    assert!(close(cos(0, 3), 0.2474), "eating/horse {}", cos(0, 3));
    assert!(close(cos(2, 3), -0.1088), "baby/horse {}", cos(2, 3));
    for e in &v {
        let norm: f32 = e.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "L2-normalised, got {norm}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranks_related_sentences_closer() {
    let v = vectors().await;
    let bread = cosine_similarity(&v[0], &v[1]);
    let unrelated = cosine_similarity(&v[0], &v[2]);
    assert!(bread > unrelated + 0.5, "bread {bread} vs unrelated {unrelated}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_embed_equals_batched_embed() {
    let one = embed(&registry(), genkit_ai::EmbedParams::new(ALL_MINILM, SENTENCES[1])).await.unwrap();
    let v = vectors().await;
    assert_eq!(one.len(), 1);
    for (a, b) in one[0].embedding.iter().zip(&v[1]) {
        assert!((a - b).abs() < 1e-5, "padding in a batch must not change a sentence's vector");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_input_is_rejected_and_metadata_is_declared() {
    let doc = DocumentData { content: vec![genkit_ai::Part::media("https://x/y.png", None)], metadata: None };
    let e = embed_many(&registry(), ALL_MINILM, vec![EmbedContent::Document(doc)], None).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    let a = registry().lookup_action(&format!("/embedder/{ALL_MINILM}")).await.unwrap().unwrap();
    let md = serde_json::to_value(a.metadata()).unwrap();
    assert_eq!(md["metadata"]["info"]["dimensions"], 384);
    assert_eq!(md["metadata"]["type"], "embedder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_embedder_is_a_clear_error() {
    let e = embed(&registry(), genkit_ai::EmbedParams::new("local/nope", "x")).await.unwrap_err();
    assert_eq!(e.message(), "Unable to resolve embedder local/nope");
}
