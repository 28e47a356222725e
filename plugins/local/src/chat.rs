//! The chat model: a quantized GGUF (llama, qwen2 or qwen3 architecture) run by candle on the
//! CPU, with its own tokenizer and chat template, streaming token by token.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::{quantized_llama, quantized_qwen2, quantized_qwen3};
use genkit_ai::{FinishReason, GenerationUsage, Message, ModelRequest, ModelResponse, ModelResponseChunk, Part, Role};
use genkit_core::{Error, Result, Status, StreamSink};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;
use tokio_util::sync::CancellationToken;

use crate::decode::{Detokenizer, Filtered, StopFilter};
use crate::fetch::{mark_verified, progress, verified};
use crate::gguf_tokenizer;
use crate::template::{CHATML, ChatTemplate};

/// Generation options of a local chat model (the model's `config`). Unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalChatConfig {
    /// Sampling temperature; absent or 0 means greedy decoding (deterministic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Maximum number of tokens to generate (default 512, bounded by the context window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<usize>,
    /// Sample only from the `top_k` most likely tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
    /// Nucleus sampling: sample from the smallest set of tokens whose probability reaches `top_p`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Generation stops before any of these strings; they are not part of the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Random seed for sampled decoding (default: a new seed per call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Penalty applied to tokens seen in the last `repeat_last_n` tokens (default 1.1; 1 = off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_penalty: Option<f32>,
    /// How many recent tokens the repeat penalty looks at (default 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_last_n: Option<usize>,
}

const DEFAULT_MAX_OUTPUT_TOKENS: usize = 512;

/// Whether to convert weights of a slow quantization when loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Requantize {
    /// Convert Q4_1 tensors to Q8_0 on x86_64, where candle has no fast Q4_1 kernel
    /// (about 5× faster generation); leave other files as they are.
    #[default]
    Auto,
    /// Load the file as it is.
    Never,
}

enum Weights {
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
    Qwen3(quantized_qwen3::ModelWeights),
}

impl Weights {
    fn forward(&mut self, x: &Tensor, pos: usize) -> candle_core::Result<Tensor> {
        match self {
            Weights::Llama(w) => w.forward(x, pos),
            Weights::Qwen2(w) => w.forward(x, pos),
            Weights::Qwen3(w) => w.forward(x, pos),
        }
    }

    fn clear(&mut self) {
        match self {
            Weights::Llama(w) => w.clear_kv_cache(),
            Weights::Qwen2(w) => w.clear_kv_cache(),
            Weights::Qwen3(w) => w.clear_kv_cache(),
        }
    }
}

/// How to load a GGUF chat model.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoadOptions {
    pub(crate) tokenizer_json: Option<PathBuf>,
    pub(crate) chat_template: Option<String>,
    pub(crate) requantize: Requantize,
    /// Where to keep a converted copy (None: convert in memory on every load).
    pub(crate) converted_dir: Option<PathBuf>,
}

/// A loaded chat model. Generation holds `weights` locked (it keeps a KV cache), so calls to
/// one model run one at a time.
pub(crate) struct ChatEngine {
    weights: Mutex<Weights>,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    bos: Option<u32>,
    stop_ids: Vec<u32>,
    context_length: usize,
    device: Device,
    /// Seconds the load took.
    pub(crate) load_secs: f64,
}

impl std::fmt::Debug for ChatEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatEngine").field("context_length", &self.context_length).finish_non_exhaustive()
    }
}

fn cerr(what: &str, path: &Path) -> impl FnOnce(candle_core::Error) -> Error {
    let p = path.display().to_string();
    let what = what.to_owned();
    move |e| Error::new(Status::DataLoss, format!("{what} {p}: {e}"))
}

fn ioerr(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let p = path.display().to_string();
    move |e| Error::new(Status::NotFound, format!("cannot open model file {p}: {e}"))
}

fn needs_conversion(ct: &gguf_file::Content, mode: Requantize) -> bool {
    mode == Requantize::Auto
        && cfg!(target_arch = "x86_64")
        && ct.tensor_infos.values().any(|t| t.ggml_dtype == GgmlDType::Q4_1)
}

/// Name of the converted copy of `path` (keyed by its name, size and modification time).
fn converted_name(path: &Path) -> String {
    let md = std::fs::metadata(path).ok();
    let len = md.as_ref().map_or(0, std::fs::Metadata::len);
    let mtime =
        md.and_then(|m| m.modified().ok()).and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs());
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    format!("{stem}-{len}-{mtime}.q8_0.gguf")
}

/// Converts every Q4_1 tensor to Q8_0 and writes a complete GGUF to `out`.
fn convert<W: std::io::Write + std::io::Seek>(
    ct: &gguf_file::Content,
    reader: &mut BufReader<File>,
    out: &mut W,
    path: &Path,
) -> Result<()> {
    let dev = Device::Cpu;
    let mut names: Vec<&String> = ct.tensor_infos.keys().collect();
    names.sort();
    let mut tensors: Vec<(&str, QTensor)> = Vec::with_capacity(names.len());
    for name in names {
        let qt = ct.tensor(reader, name, &dev).map_err(cerr("cannot read tensor of", path))?;
        let qt = if qt.dtype() == GgmlDType::Q4_1 {
            let f = qt.dequantize(&dev).map_err(cerr("cannot convert", path))?;
            QTensor::quantize(&f, GgmlDType::Q8_0).map_err(cerr("cannot convert", path))?
        } else {
            qt
        };
        tensors.push((name.as_str(), qt));
    }
    let mut md: Vec<(&str, &gguf_file::Value)> = ct.metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    md.sort_by(|a, b| a.0.cmp(b.0));
    let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    gguf_file::write(out, &md, &refs).map_err(cerr("cannot write the converted copy of", path))
}

fn read_content(path: &Path) -> Result<(gguf_file::Content, BufReader<File>)> {
    let mut reader = BufReader::new(File::open(path).map_err(ioerr(path))?);
    let ct = gguf_file::Content::read(&mut reader).map_err(cerr("not a valid GGUF file:", path))?;
    Ok((ct, reader))
}

impl ChatEngine {
    /// Loads a GGUF chat model (blocking: call from a blocking thread).
    pub(crate) fn load(path: &Path, opts: &LoadOptions) -> Result<ChatEngine> {
        let start = Instant::now();
        let (ct, mut reader) = read_content(path)?;
        let tokenizer = match &opts.tokenizer_json {
            Some(p) => Tokenizer::from_file(p).map_err(|e| {
                Error::new(Status::InvalidArgument, format!("cannot load tokenizer {}: {e}", p.display()))
            })?,
            None => gguf_tokenizer::from_gguf(&ct)?,
        };
        let special = gguf_tokenizer::special_tokens(&ct);
        let token_text = |id: Option<u32>| id.and_then(|i| tokenizer.id_to_token(i)).unwrap_or_default();
        let template_src = opts
            .chat_template
            .clone()
            .or_else(|| ct.metadata.get("tokenizer.chat_template").and_then(|v| v.to_string().ok()).cloned())
            .unwrap_or_else(|| CHATML.to_owned());
        let template = ChatTemplate::new(&template_src, &token_text(special.bos), &token_text(special.eos))?;
        let arch =
            ct.metadata.get("general.architecture").and_then(|v| v.to_string().ok()).cloned().unwrap_or_default();
        let context_length = ct
            .metadata
            .get(&format!("{arch}.context_length"))
            .and_then(|v| v.to_u32().ok())
            .map_or(2048, |v| v as usize);
        let mut stop_ids: Vec<u32> = special.eos.into_iter().collect();
        for t in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>", "<|end|>"] {
            if let Some(id) = tokenizer.token_to_id(t)
                && !stop_ids.contains(&id)
            {
                stop_ids.push(id);
            }
        }

        let weights = if needs_conversion(&ct, opts.requantize) {
            match &opts.converted_dir {
                Some(dir) => {
                    let conv = dir.join(converted_name(path));
                    if !verified(&conv, "local") {
                        progress(&format!(
                            "converting {} from Q4_1 to Q8_0 for faster generation (once; kept in {})",
                            path.display(),
                            dir.display()
                        ));
                        std::fs::create_dir_all(dir).map_err(Error::internal)?;
                        let tmp = conv.with_extension(format!("part{}", std::process::id()));
                        let mut out = BufWriter::new(File::create(&tmp).map_err(Error::internal)?);
                        convert(&ct, &mut reader, &mut out, path)?;
                        out.into_inner()
                            .map_err(|e| Error::internal(e.to_string()))?
                            .sync_all()
                            .map_err(Error::internal)?;
                        std::fs::rename(&tmp, &conv).map_err(Error::internal)?;
                        mark_verified(&conv)?;
                    }
                    let (ct2, mut r2) = read_content(&conv)?;
                    load_weights(&arch, ct2, &mut r2, &conv)?
                }
                None => {
                    let mut buf = std::io::Cursor::new(Vec::new());
                    convert(&ct, &mut reader, &mut buf, path)?;
                    buf.set_position(0);
                    let ct2 = gguf_file::Content::read(&mut buf).map_err(cerr("cannot read converted", path))?;
                    load_weights(&arch, ct2, &mut buf, path)?
                }
            }
        } else {
            load_weights(&arch, ct, &mut reader, path)?
        };
        Ok(ChatEngine {
            weights: Mutex::new(weights),
            tokenizer,
            template,
            bos: special.add_bos.then_some(special.bos).flatten(),
            stop_ids,
            context_length,
            device: Device::Cpu,
            load_secs: start.elapsed().as_secs_f64(),
        })
    }

    /// The token ids of the prompt for `messages`.
    pub(crate) fn prompt_ids(&self, messages: &[Message]) -> Result<Vec<u32>> {
        let text = self.template.render(messages)?;
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| Error::new(Status::InvalidArgument, format!("cannot tokenize the prompt: {e}")))?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        ids.extend(self.bos);
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    /// Runs one generation (blocking). Chunks go to `sink` as text is produced; `cancel`
    /// is checked between tokens.
    pub(crate) fn generate(
        &self,
        req: &ModelRequest,
        sink: &StreamSink<ModelResponseChunk>,
        cancel: &CancellationToken,
    ) -> Result<ModelResponse> {
        let cfg: LocalChatConfig = match &req.config {
            Some(c) if !c.is_null() => serde_json::from_value(c.clone())
                .map_err(|e| Error::invalid_argument(format!("invalid config for a local model: {e}")))?,
            _ => LocalChatConfig::default(),
        };
        let prompt = self.prompt_ids(&req.messages)?;
        if prompt.len() >= self.context_length {
            return Err(Error::invalid_argument(format!(
                "the prompt is {} tokens long, but the model's context window is {} tokens: shorten the \
                 conversation",
                prompt.len(),
                self.context_length
            )));
        }
        let max_new =
            cfg.max_output_tokens.unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS).min(self.context_length - prompt.len());
        let mut sampler = LogitsProcessor::from_sampling(seed(cfg.seed), sampling(&cfg));
        let penalty = cfg.repeat_penalty.unwrap_or(1.1);
        let last_n = cfg.repeat_last_n.unwrap_or(64);
        let mut stops = StopFilter::new(cfg.stop_sequences.unwrap_or_default());
        let mut detok = Detokenizer::default();
        let mut text = String::new();
        let mut all: Vec<u32> = prompt.clone();
        let mut generated = 0usize;
        let mut finish = FinishReason::Length;
        let wrap = |e: candle_core::Error| Error::new(Status::Internal, format!("local model failed: {e}"));

        let mut weights = self.weights.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        weights.clear();
        let input = Tensor::new(prompt.as_slice(), &self.device).and_then(|t| t.unsqueeze(0)).map_err(wrap)?;
        let mut logits = weights.forward(&input, 0).and_then(|l| l.squeeze(0)).map_err(wrap)?;
        let emit = |t: String, text: &mut String| {
            if !t.is_empty() {
                if sink.is_active() {
                    sink.send(ModelResponseChunk {
                        role: Some(Role::Model),
                        index: Some(0),
                        content: vec![Part::text(t.clone())],
                        ..ModelResponseChunk::default()
                    });
                }
                text.push_str(&t);
            }
        };
        while generated < max_new {
            if cancel.is_cancelled() {
                return Err(Error::cancelled("generation was cancelled"));
            }
            if penalty != 1.0 {
                let start = all.len().saturating_sub(last_n);
                logits =
                    candle_transformers::utils::apply_repeat_penalty(&logits, penalty, &all[start..]).map_err(wrap)?;
            }
            let next = sampler.sample(&logits).map_err(wrap)?;
            if self.stop_ids.contains(&next) {
                finish = FinishReason::Stop;
                break;
            }
            generated += 1;
            all.push(next);
            let piece = detok.push(&self.tokenizer, next);
            match stops.push(&piece) {
                Filtered::Continue(t) => emit(t, &mut text),
                Filtered::Stop(t) => {
                    emit(t, &mut text);
                    finish = FinishReason::Stop;
                    break;
                }
            }
            if generated >= max_new {
                break;
            }
            let input = Tensor::new(&[next], &self.device).and_then(|t| t.unsqueeze(0)).map_err(wrap)?;
            logits = weights.forward(&input, all.len() - 1).and_then(|l| l.squeeze(0)).map_err(wrap)?;
        }
        drop(weights);
        if finish == FinishReason::Length {
            let rest = detok.rest(&self.tokenizer);
            let (Filtered::Continue(t) | Filtered::Stop(t)) = stops.push(&rest);
            emit(t, &mut text);
            emit(stops.finish(), &mut text);
        }
        let usage = GenerationUsage {
            input_tokens: Some(prompt.len() as f64),
            output_tokens: Some(generated as f64),
            total_tokens: Some((prompt.len() + generated) as f64),
            input_characters: Some(req.messages.iter().map(|m| m.text().chars().count()).sum::<usize>() as f64),
            output_characters: Some(text.chars().count() as f64),
            ..GenerationUsage::default()
        };
        Ok(ModelResponse {
            message: Some(Message::model(text)),
            finish_reason: Some(finish),
            usage: Some(usage),
            ..ModelResponse::default()
        })
    }

    /// Tokenizer, for tests and benchmarks.
    pub(crate) fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
}

fn load_weights<R: std::io::Read + std::io::Seek>(
    arch: &str,
    ct: gguf_file::Content,
    reader: &mut R,
    path: &Path,
) -> Result<Weights> {
    let dev = Device::Cpu;
    let w = match arch {
        "llama" | "mistral" => Weights::Llama(
            quantized_llama::ModelWeights::from_gguf(ct, reader, &dev).map_err(cerr("cannot load", path))?,
        ),
        "qwen2" => Weights::Qwen2(
            quantized_qwen2::ModelWeights::from_gguf(ct, reader, &dev).map_err(cerr("cannot load", path))?,
        ),
        "qwen3" => Weights::Qwen3(
            quantized_qwen3::ModelWeights::from_gguf(ct, reader, &dev).map_err(cerr("cannot load", path))?,
        ),
        other => {
            return Err(Error::new(
                Status::Unimplemented,
                format!(
                    "{}: GGUF architecture '{other}' is not supported by the local plugin (supported: llama, mistral, \
                     qwen2, qwen3)",
                    path.display()
                ),
            ));
        }
    };
    Ok(w)
}

fn sampling(cfg: &LocalChatConfig) -> Sampling {
    let t = cfg.temperature.unwrap_or(0.0);
    if t.is_nan() || t < 1e-7 {
        return Sampling::ArgMax;
    }
    match (cfg.top_k, cfg.top_p) {
        (Some(k), Some(p)) => Sampling::TopKThenTopP { k, p, temperature: t },
        (Some(k), None) => Sampling::TopK { k, temperature: t },
        (None, Some(p)) => Sampling::TopP { p, temperature: t },
        (None, None) => Sampling::All { temperature: t },
    }
}

fn seed(s: Option<u64>) -> u64 {
    s.unwrap_or_else(|| {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64) ^ u64::from(std::process::id())
    })
}

/// A chat model that loads on first use and then stays in memory.
pub(crate) struct LazyChat {
    source: Arc<dyn Fn() -> Result<PathBuf> + Send + Sync>,
    opts: LoadOptions,
    cell: tokio::sync::OnceCell<Arc<ChatEngine>>,
    /// The threads this model loads and generates on.
    pool: Arc<crate::threads::Pool>,
}

impl LazyChat {
    pub(crate) fn new(source: Arc<dyn Fn() -> Result<PathBuf> + Send + Sync>, opts: LoadOptions) -> Self {
        LazyChat { source, opts, cell: tokio::sync::OnceCell::new(), pool: Arc::new(crate::threads::Pool::new()) }
    }

    pub(crate) async fn engine(&self) -> Result<Arc<ChatEngine>> {
        self.cell
            .get_or_try_init(|| async {
                let source = self.source.clone();
                let opts = self.opts.clone();
                let pool = self.pool.clone();
                tokio::task::spawn_blocking(move || {
                    pool.install(|| {
                        let path = source()?;
                        ChatEngine::load(&path, &opts).map(Arc::new)
                    })
                })
                .await
                .map_err(|e| Error::internal(e.to_string()))?
            })
            .await
            .cloned()
    }

    pub(crate) async fn generate(&self, req: ModelRequest, cx: genkit_ai::ModelCx) -> Result<ModelResponse> {
        let engine = self.engine().await?;
        let sink = cx.sink().clone();
        let cancel = cx.cancellation().child_token();
        // Stops the blocking loop when this future is dropped (e.g. the client went away).
        let guard = cancel.clone().drop_guard();
        let pool = self.pool.clone();
        let out = tokio::task::spawn_blocking(move || pool.install(|| engine.generate(&req, &sink, &cancel)))
            .await
            .map_err(|e| Error::internal(e.to_string()))?;
        drop(guard);
        out
    }
}
