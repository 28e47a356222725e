//! The chat model: a quantized GGUF (llama, mistral, qwen2 or qwen3 architecture) run on the CPU
//! by this crate's own forward pass ([`crate::transformer`]), with its own tokenizer and chat
//! template, streaming token by token.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use candle_core::Device;
use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_transformers::generation::Sampling;
use genkit_ai::{Message, ModelRequest, ModelResponse};
use genkit_core::{Error, Result, Status};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use crate::batch::Batcher;
use crate::constrain::{self, Compiler};
use crate::fetch::{mark_verified, progress, verified};
use crate::gguf_tokenizer;
use crate::prefix::{self, PrefixCache};
use crate::template::{CHATML, ChatTemplate};
use crate::transformer::{Kv, Scratch, Transformer};

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
    /// A grammar the output must match (constrained decoding), instead of the one derived from
    /// the request's output format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grammar: Option<GrammarConfig>,
}

/// A custom output grammar (`config.grammar`): exactly one of `lark` or `regex`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrammarConfig {
    /// A grammar in llguidance's Lark dialect (`start: ...`; `%json {schema}` embeds a JSON schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lark: Option<String>,
    /// A regular expression (Rust `regex` syntax) the whole output must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

pub(crate) const DEFAULT_MAX_OUTPUT_TOKENS: usize = 512;

/// Whether to keep a converted copy of a model stored in a quantization other than Q8_0.
///
/// Chat models compute with 8-bit weights (Q8_0, a scale per 32 values), whatever the file
/// holds: weight matrices in any other type (Q4_1, Q4_K, F16, ...) are converted as they load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Requantize {
    /// Write a Q8_0 copy of such a file once (into the model cache, when the model keeps
    /// converted copies) and load that copy afterwards: loads about 3× faster.
    #[default]
    Auto,
    /// Convert in memory on every load; write nothing.
    Never,
}

/// How to load a GGUF chat model.
#[derive(Debug, Clone)]
pub(crate) struct LoadOptions {
    pub(crate) tokenizer_json: Option<PathBuf>,
    pub(crate) chat_template: Option<String>,
    pub(crate) requantize: Requantize,
    /// Where to keep a converted copy (None: convert in memory on every load).
    pub(crate) converted_dir: Option<PathBuf>,
    /// Bound of the prefix cache in tokens (0 disables it).
    pub(crate) prefix_tokens: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            tokenizer_json: None,
            chat_template: None,
            requantize: Requantize::Auto,
            converted_dir: None,
            prefix_tokens: prefix::DEFAULT_TOKENS,
        }
    }
}

/// A loaded chat model.
pub(crate) struct ChatEngine {
    /// The weights, shared by every generation (each has its own KV state).
    pub(crate) model: Transformer,
    pub(crate) tokenizer: Tokenizer,
    template: ChatTemplate,
    bos: Option<u32>,
    pub(crate) stop_ids: Vec<u32>,
    pub(crate) context_length: usize,
    pub(crate) device: Device,
    /// Model states by the tokens they hold.
    pub(crate) prefixes: PrefixCache<Kv>,
    /// Forward passes, shared by the generations running at the same time.
    pub(crate) batcher: Batcher,
    /// The buffers of the pass in progress (only the batch's leader takes them).
    pub(crate) scratch: Mutex<Scratch>,
    /// The grammar compiler for this model's vocabulary, built on first use.
    compiler: OnceLock<std::result::Result<Compiler, String>>,
    /// The id that opens a message in the chat template (`<|im_start|>`), where prompts are
    /// split so the conversation before the last message can be reused.
    pub(crate) message_start: Option<u32>,
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

/// Whether a tensor is a weight matrix stored in a type other than Q8_0 (vectors, such as norms,
/// stay as they are).
fn convertible(t: &gguf_file::TensorInfo) -> bool {
    t.shape.rank() == 2 && t.ggml_dtype != GgmlDType::Q8_0 && t.shape.dims().last().is_some_and(|c| c % 32 == 0)
}

fn needs_conversion(ct: &gguf_file::Content, mode: Requantize) -> bool {
    mode == Requantize::Auto && ct.tensor_infos.values().any(convertible)
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

/// Converts every weight matrix to Q8_0 and writes a complete GGUF to `out`.
pub(crate) fn convert<W: std::io::Write + std::io::Seek>(
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
        let qt = if ct.tensor_infos.get(name.as_str()).is_some_and(convertible) {
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

        // A file in another quantization is converted as it loads; with a directory for
        // converted copies, once.
        let weights = match &opts.converted_dir {
            Some(dir) if needs_conversion(&ct, opts.requantize) => {
                let conv = dir.join(converted_name(path));
                if !verified(&conv, "local") {
                    progress(&format!(
                        "converting {} to Q8_0, the weights the local engine computes with (once; kept in {})",
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
                load_weights(&arch, &ct2, &mut r2, &conv)?
            }
            _ => load_weights(&arch, &ct, &mut reader, path)?,
        };
        let model = weights;
        let message_start =
            ["<|im_start|>", "<|start_header_id|>", "<start_of_turn>"].iter().find_map(|t| tokenizer.token_to_id(t));
        Ok(ChatEngine {
            model,
            tokenizer,
            template,
            bos: special.add_bos.then_some(special.bos).flatten(),
            stop_ids,
            context_length,
            device: Device::Cpu,
            prefixes: PrefixCache::new(opts.prefix_tokens, prefix::DEFAULT_ENTRIES),
            batcher: Batcher::default(),
            scratch: Mutex::new(Scratch::default()),
            compiler: OnceLock::new(),
            message_start,
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

    /// The grammar compiler (built on first use: it indexes the vocabulary).
    pub(crate) fn compiler(&self) -> Result<&Compiler> {
        let c = self.compiler.get_or_init(|| {
            let n_vocab = self.tokenizer.get_vocab_size(true);
            constrain::vocabulary(&self.tokenizer, n_vocab, &self.stop_ids)
                .and_then(|env| Compiler::new(&env))
                .map_err(|e| e.message().to_owned())
        });
        c.as_ref().map_err(|e| Error::new(Status::Unimplemented, e.clone()))
    }

    /// Tokenizer, for tests and benchmarks.
    pub(crate) fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
}

fn load_weights<R: std::io::Read + std::io::Seek>(
    arch: &str,
    ct: &gguf_file::Content,
    reader: &mut R,
    path: &Path,
) -> Result<Transformer> {
    let m = Transformer::load(ct, reader, arch, &path.display().to_string())?;
    tracing::debug!(
        target: "genkit_local",
        path = %path.display(),
        weights_mb = m.weight_bytes() / 1_000_000,
        kernel = crate::q8::kernel_name(),
        "chat model loaded"
    );
    Ok(m)
}

pub(crate) fn sampling(cfg: &LocalChatConfig) -> Sampling {
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

pub(crate) fn seed(s: Option<u64>) -> u64 {
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
        let out = tokio::task::spawn_blocking(move || engine.generate(&req, &sink, &cancel, &pool))
            .await
            .map_err(|e| Error::internal(e.to_string()))?;
        drop(guard);
        out
    }
}
