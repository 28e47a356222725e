//! Sentence embedders: a BERT model (safetensors + `tokenizer.json`, Sentence-Transformers
//! layout) with mean or CLS pooling and L2 normalisation, run by candle on the CPU.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use genkit_ai::{EmbedRequest, EmbedResponse, Embedding};
use genkit_core::{Error, Result, Status};
use serde::Deserialize;
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// Largest number of documents run through the model at once.
const BATCH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pooling {
    Mean,
    Cls,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

/// A loaded BERT sentence embedder.
pub(crate) struct BertEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    pooling: Pooling,
    normalize: bool,
    /// Length of the vectors.
    pub(crate) dimensions: usize,
    /// Seconds the load took.
    pub(crate) load_secs: f64,
}

impl std::fmt::Debug for BertEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEmbedder").field("dimensions", &self.dimensions).finish_non_exhaustive()
    }
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>> {
    let p = dir.join(name);
    std::fs::read(&p).map_err(|e| {
        Error::new(
            Status::NotFound,
            format!(
                "cannot read {}: {e} (a BERT embedder folder needs model.safetensors, config.json and tokenizer.json)",
                p.display()
            ),
        )
    })
}

impl BertEmbedder {
    /// Loads the model in `dir` (blocking).
    pub(crate) fn load(dir: &Path) -> Result<BertEmbedder> {
        let start = Instant::now();
        let config: Config = serde_json::from_slice(&read(dir, "config.json")?)
            .map_err(|e| Error::new(Status::DataLoss, format!("{}/config.json: {e}", dir.display())))?;
        let dimensions = serde_json::from_slice::<serde_json::Value>(&read(dir, "config.json")?)
            .ok()
            .and_then(|v| v.get("hidden_size").and_then(serde_json::Value::as_u64))
            .unwrap_or(0) as usize;
        let device = Device::Cpu;
        let weights = read(dir, "model.safetensors")?;
        let tensors = candle_core::safetensors::load_buffer(&weights, &device)
            .map_err(|e| Error::new(Status::DataLoss, format!("{}/model.safetensors: {e}", dir.display())))?;
        drop(weights);
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(vb, &config)
            .map_err(|e| Error::new(Status::DataLoss, format!("{} is not a BERT model: {e}", dir.display())))?;
        let mut tokenizer = Tokenizer::from_bytes(read(dir, "tokenizer.json")?)
            .map_err(|e| Error::new(Status::DataLoss, format!("{}/tokenizer.json: {e}", dir.display())))?;
        let max_len = std::fs::read(dir.join("sentence_bert_config.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<SentenceBertConfig>(&b).ok())
            .and_then(|c| c.max_seq_length)
            .unwrap_or(256);
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: max_len, ..TruncationParams::default() }))
            .map_err(|e| Error::internal(e.to_string()))?;
        tokenizer.with_padding(Some(PaddingParams::default()));
        let pooling = match std::fs::read(dir.join("1_Pooling/config.json")) {
            Ok(b) => match serde_json::from_slice::<PoolingConfig>(&b) {
                Ok(c) if c.pooling_mode_cls_token => Pooling::Cls,
                _ => Pooling::Mean,
            },
            Err(_) => Pooling::Mean,
        };
        // Sentence-Transformers lists a Normalize module; without modules.json, normalise anyway
        // (cosine similarity is what retrieval uses).
        let normalize = std::fs::read_to_string(dir.join("modules.json")).map_or(true, |s| s.contains("Normalize"));
        Ok(BertEmbedder { model, tokenizer, pooling, normalize, dimensions, load_secs: start.elapsed().as_secs_f64() })
    }

    /// Embeds texts (blocking), in batches.
    pub(crate) fn embed_texts(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            out.extend(
                self.embed_batch(batch).map_err(|e| Error::new(Status::Internal, format!("embedder failed: {e}")))?,
            );
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[String]) -> candle_core::Result<Vec<Vec<f32>>> {
        let enc = self.tokenizer.encode_batch(texts.to_vec(), true).map_err(candle_core::Error::wrap)?;
        let dev = &self.model.device;
        let rows = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> candle_core::Result<Tensor> {
            let v: Vec<Tensor> = enc.iter().map(|e| Tensor::new(f(e), dev)).collect::<candle_core::Result<_>>()?;
            Tensor::stack(&v, 0)
        };
        let ids = rows(&|e| e.get_ids())?;
        let types = rows(&|e| e.get_type_ids())?;
        let mask = rows(&|e| e.get_attention_mask())?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        let pooled = match self.pooling {
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Mean => {
                let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                let sum = hidden.broadcast_mul(&m)?.sum(1)?;
                let count = m.sum(1)?.clamp(1e-9f32, f32::MAX)?;
                sum.broadcast_div(&count)?
            }
        };
        let pooled = if self.normalize {
            let norm = pooled.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12f32, f32::MAX)?;
            pooled.broadcast_div(&norm)?
        } else {
            pooled
        };
        pooled.to_vec2::<f32>()
    }
}

/// An embedder that loads on first use and then stays in memory.
pub(crate) struct LazyEmbedder {
    source: Arc<dyn Fn() -> Result<PathBuf> + Send + Sync>,
    cell: tokio::sync::OnceCell<Arc<BertEmbedder>>,
    /// The threads this embedder loads and runs on.
    pool: Arc<crate::threads::Pool>,
}

impl LazyEmbedder {
    pub(crate) fn new(source: Arc<dyn Fn() -> Result<PathBuf> + Send + Sync>) -> Self {
        LazyEmbedder { source, cell: tokio::sync::OnceCell::new(), pool: Arc::new(crate::threads::Pool::new()) }
    }

    pub(crate) async fn engine(&self) -> Result<Arc<BertEmbedder>> {
        self.cell
            .get_or_try_init(|| async {
                let source = self.source.clone();
                let pool = self.pool.clone();
                tokio::task::spawn_blocking(move || pool.install(|| BertEmbedder::load(&source()?).map(Arc::new)))
                    .await
                    .map_err(|e| Error::internal(e.to_string()))?
            })
            .await
            .cloned()
    }

    pub(crate) async fn embed(&self, req: EmbedRequest) -> Result<EmbedResponse> {
        let engine = self.engine().await?;
        let mut texts = Vec::with_capacity(req.input.len());
        for (i, d) in req.input.iter().enumerate() {
            if d.content.iter().any(|p| p.media.is_some()) {
                return Err(Error::invalid_argument(format!("document {i} has media: this embedder reads text only")));
            }
            texts.push(d.text());
        }
        let pool = self.pool.clone();
        let vectors = tokio::task::spawn_blocking(move || pool.install(|| engine.embed_texts(&texts)))
            .await
            .map_err(|e| Error::internal(e.to_string()))??;
        Ok(EmbedResponse {
            embeddings: vectors.into_iter().map(|embedding| Embedding { embedding, metadata: None }).collect(),
        })
    }
}
