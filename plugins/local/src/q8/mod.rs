//! 8-bit matrix products for the chat model: weights in Q8_0 (a scale per 32 values, as in the
//! GGUF file) laid out for SIMD, activations quantized to 8 bits on the fly, integer dot
//! products, one multiply by the two scales per block.
//!
//! Layout. Rows are taken 16 at a time (a *group*, padded with zero rows). For each group and
//! each 32-column block the 16 × 32 weights are stored as 8 slices of 64 bytes: slice `k` holds
//! columns `4k..4k+4` of each of the 16 rows, row after row. One 512-bit multiply-add of such a
//! slice with 4 activation bytes broadcast to all lanes (`vpdpbusd`) advances the dot products of
//! all 16 rows at once, so a block of 16 rows costs 8 instructions and no horizontal sums. The
//! 16 scales of a group-block are kept as f16 next to each other (one `vcvtph2ps`).
//!
//! Weights are stored offset by +128 as unsigned bytes (`vpdpbusd` multiplies unsigned by
//! signed bytes); the activations stay signed. The offset adds `128 × Σ activation` to each
//! block's dot product, a number that depends only on the activation, computed once when it is
//! quantized and subtracted per block.
//!
//! Several tokens (a prompt chunk, a batch of conversations) go through the AVX-512 kernel 4 at a
//! time, each block's weights and scales loaded once for the 4.
//!
//! Kernels: AVX-512 VNNI, AVX-VNNI and AVX2 (x86_64), NEON with or without `sdot` (aarch64),
//! chosen at run time, and a portable one that is exact to the same integers. All give the same result up to float summation order.

use half::f16;

#[cfg(target_arch = "aarch64")]
mod arm;
#[cfg(target_arch = "x86_64")]
mod x86;

/// Values per quantization block.
pub(crate) const QK: usize = 32;
/// Rows per group.
pub(crate) const ROWS: usize = 16;
/// Bytes of one group-block.
const GB: usize = ROWS * QK;

/// A weight matrix (`rows × cols`, `cols` a multiple of 32) in the layout above.
#[derive(Clone)]
pub(crate) struct QMatrix {
    rows: usize,
    cols: usize,
    blocks: usize,
    groups: usize,
    /// `groups × blocks × 512` bytes, weights + 128.
    quants: Vec<u8>,
    /// `groups × blocks × 16` f16 scales.
    scales: Vec<f16>,
}

impl std::fmt::Debug for QMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QMatrix").field("rows", &self.rows).field("cols", &self.cols).finish_non_exhaustive()
    }
}

/// One Q8_0 block as the GGUF file stores it: a scale and 32 signed bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Block {
    pub(crate) d: f16,
    pub(crate) qs: [i8; QK],
}

/// Quantizes 32 floats to a Q8_0 block (scale = max |x| / 127, values rounded to nearest,
/// ties to even, as llama.cpp's SIMD quantizer rounds).
pub(crate) fn quantize_block(x: &[f32]) -> Block {
    let amax = x.iter().fold(0f32, |m, v| if v.abs() > m { v.abs() } else { m });
    let d = amax / 127.0;
    let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
    let mut qs = [0i8; QK];
    for (q, v) in qs.iter_mut().zip(x) {
        *q = round_small(v * inv) as i8;
    }
    Block { d: f16::from_f32(d), qs }
}

/// Rounds `y` (|y| < 2²²) to the nearest integer, ties to even, without a libm call: adding
/// 1.5 × 2²³ leaves no fraction bits, so the addition itself rounds.
#[inline(always)]
fn round_small(y: f32) -> i32 {
    const MAGIC: f32 = 12_582_912.0;
    ((y + MAGIC) - MAGIC) as i32
}

impl QMatrix {
    /// Builds the matrix from row-major Q8_0 blocks (`rows × cols / 32` of them).
    pub(crate) fn from_blocks(rows: usize, cols: usize, blocks_of: impl Fn(usize) -> Vec<Block>) -> QMatrix {
        let blocks = cols / QK;
        let groups = rows.div_ceil(ROWS);
        let mut quants = vec![128u8; groups * blocks * GB];
        let mut scales = vec![f16::ZERO; groups * blocks * ROWS];
        for r in 0..rows {
            let (g, lane) = (r / ROWS, r % ROWS);
            for (b, blk) in blocks_of(r).iter().enumerate().take(blocks) {
                let base = (g * blocks + b) * GB;
                for (i, q) in blk.qs.iter().enumerate() {
                    let (k, j) = (i / 4, i % 4);
                    // -128 is read as -127: no Q8_0 quantizer writes it (the scale maps the
                    // largest magnitude to 127), and the AVX2 kernel negates weights.
                    quants[base + k * 64 + lane * 4 + j] = (i16::from((*q).max(-127)) + 128) as u8;
                }
                scales[(g * blocks + b) * ROWS + lane] = blk.d;
            }
        }
        QMatrix { rows, cols, blocks, groups, quants, scales }
    }

    /// Builds the matrix from row-major floats, quantizing each 32 values.
    pub(crate) fn from_f32(rows: usize, cols: usize, data: &[f32]) -> QMatrix {
        QMatrix::from_blocks(rows, cols, |r| data[r * cols..(r + 1) * cols].chunks(QK).map(quantize_block).collect())
    }

    /// Rows.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.quants.len() + self.scales.len() * 2
    }

    /// Row `r` as floats (the embedding lookup reads the token table this way).
    pub(crate) fn row_into(&self, r: usize, out: &mut [f32]) {
        let (g, lane) = (r / ROWS, r % ROWS);
        for b in 0..self.blocks {
            let base = (g * self.blocks + b) * GB;
            let d = self.scales[(g * self.blocks + b) * ROWS + lane].to_f32();
            for i in 0..QK {
                let q = i32::from(self.quants[base + (i / 4) * 64 + lane * 4 + i % 4]) - 128;
                out[b * QK + i] = q as f32 * d;
            }
        }
    }
}

/// Activations quantized for a product: `n` vectors of `cols` values.
#[derive(Debug, Default)]
pub(crate) struct QActs {
    n: usize,
    cols: usize,
    /// The signed bytes, 4 to a word (the unit a `vpdpbusd` lane multiplies).
    words: Vec<i32>,
    /// Scale per block.
    d: Vec<f32>,
    /// `128 × Σ bytes` per block: what the +128 weight offset adds to the block's dot product.
    corr: Vec<i32>,
}

impl QActs {
    /// Quantizes `x` (`n × cols`, row-major) in place of the previous contents.
    pub(crate) fn quantize(&mut self, x: &[f32], cols: usize) {
        let n = x.len() / cols;
        let blocks = cols / QK;
        self.n = n;
        self.cols = cols;
        self.words.clear();
        self.d.clear();
        self.corr.clear();
        self.words.reserve(n * cols / 4);
        let x = &x[..n * blocks * QK];
        #[cfg(target_arch = "x86_64")]
        if kernel() == Kernel::Avx512Vnni && x86::quantize_avx512(x, &mut self.words, &mut self.d, &mut self.corr) {
            return;
        }
        for chunk in x.chunks_exact(QK) {
            let b = quantize_block(chunk);
            self.d.push(b.d.to_f32());
            self.corr.push(128 * b.qs.iter().map(|&q| i32::from(q)).sum::<i32>());
            for w in b.qs.chunks_exact(4) {
                self.words.push(i32::from_le_bytes([w[0] as u8, w[1] as u8, w[2] as u8, w[3] as u8]));
            }
        }
    }
}

/// `out = x · mᵀ`: `x` quantized activations (`n × cols`), `out` `n × m.rows()`. Runs on the
/// current rayon pool when it has more than one thread.
pub(crate) fn matmul(m: &QMatrix, x: &QActs, out: &mut Vec<f32>, scratch: &mut Vec<f32>) {
    debug_assert_eq!(m.cols, x.cols);
    let n = x.n;
    scratch.clear();
    scratch.resize(m.groups * n * ROWS, 0.0);
    let kernel = kernel();
    let threads = rayon::current_num_threads();
    if threads > 1 && m.groups >= 8 {
        use rayon::prelude::*;
        let per = m.groups.div_ceil(threads * 4).max(1);
        scratch.par_chunks_mut(per * n * ROWS).enumerate().for_each(|(i, chunk)| {
            run(kernel, m, x, i * per, chunk);
        });
    } else {
        run(kernel, m, x, 0, scratch);
    }
    // `scratch` is group-major (`[group][token][16]`); `out` is token-major.
    out.clear();
    out.resize(n * m.rows, 0.0);
    for g in 0..m.groups {
        let lanes = ROWS.min(m.rows - g * ROWS);
        for t in 0..n {
            let src = &scratch[(g * n + t) * ROWS..][..lanes];
            out[t * m.rows + g * ROWS..][..lanes].copy_from_slice(src);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
    #[cfg(target_arch = "x86_64")]
    AvxVnni,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "aarch64")]
    NeonDot,
    #[cfg(target_arch = "aarch64")]
    Neon,
    Portable,
}

fn kernel() -> Kernel {
    static K: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
    *K.get_or_init(|| {
        let forced = std::env::var("GENKIT_LOCAL_KERNEL").ok();
        #[cfg(target_arch = "x86_64")]
        {
            // `GENKIT_LOCAL_KERNEL` picks a slower kernel than the best (for comparisons).
            let rank = |k: &str| match k {
                "portable" => 0,
                "avx2" => 1,
                "avxvnni" => 2,
                _ => 3,
            };
            let cap = forced.as_deref().map_or(3, rank);
            if cap >= 3 && x86::has_avx512_vnni() {
                return Kernel::Avx512Vnni;
            }
            if cap >= 2 && x86::has_avx_vnni() {
                return Kernel::AvxVnni;
            }
            if cap >= 1 && x86::has_avx2() {
                return Kernel::Avx2;
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            // `GENKIT_LOCAL_KERNEL=neon` or `portable` picks a slower kernel than the best.
            let cap = match forced.as_deref() {
                Some("portable") => 0,
                Some("neon") => 1,
                _ => 2,
            };
            if cap >= 2 && arm::has_dotprod() {
                return Kernel::NeonDot;
            }
            if cap >= 1 && std::arch::is_aarch64_feature_detected!("neon") {
                return Kernel::Neon;
            }
        }
        let _ = forced;
        Kernel::Portable
    })
}

/// Runs `f` compiled for AVX-512 (or AVX2) when the CPU has it: the closure is inlined into a
/// function with those features enabled, so plain loops in it are vectorized 16 (or 8) floats
/// wide. Elsewhere it runs as it is.
#[inline(always)]
pub(crate) fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    match kernel() {
        Kernel::Avx512Vnni => return x86::with_avx512(f),
        Kernel::AvxVnni | Kernel::Avx2 => return x86::with_avx2(f),
        Kernel::Portable => {}
    }
    f()
}

/// The name of the kernel in use: `avx512-vnni`, `avx-vnni`, `avx2`, `neon-dotprod`, `neon` or
/// `portable` (for benchmarks and logs; `GENKIT_LOCAL_KERNEL=portable`, `avx2`, `avxvnni` or
/// `neon` forces a slower one, for comparisons).
pub(crate) fn kernel_name() -> &'static str {
    match kernel() {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512Vnni => "avx512-vnni",
        #[cfg(target_arch = "x86_64")]
        Kernel::AvxVnni => "avx-vnni",
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => "avx2",
        #[cfg(target_arch = "aarch64")]
        Kernel::NeonDot => "neon-dotprod",
        #[cfg(target_arch = "aarch64")]
        Kernel::Neon => "neon",
        Kernel::Portable => "portable",
    }
}

/// Computes groups `g0..` into `out` (`[group][token][16]`, as many groups as it holds).
fn run(kernel: Kernel, m: &QMatrix, x: &QActs, g0: usize, out: &mut [f32]) {
    let groups = out.len() / (x.n * ROWS);
    match kernel {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512Vnni => x86::groups_avx512(m, x, g0, groups, out),
        #[cfg(target_arch = "x86_64")]
        Kernel::AvxVnni => x86::groups_avx(m, x, g0, groups, out),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => x86::groups_avx2(m, x, g0, groups, out),
        #[cfg(target_arch = "aarch64")]
        Kernel::NeonDot => arm::groups_dotprod(m, x, g0, groups, out),
        #[cfg(target_arch = "aarch64")]
        Kernel::Neon => arm::groups_neon(m, x, g0, groups, out),
        Kernel::Portable => groups_portable(m, x, g0, groups, out),
    }
}

/// Runs `tile` over groups `g0..g0 + groups` of `m` and the tokens of `x`: `tile(q, sc, t,
/// left, out)` gets a group's weights and scales, the first token of a tile, how many tokens
/// are left and the output from that token on (`[token][16]`), and returns how many tokens it
/// did (the SIMD kernels take up to 4, loading each block's weights once per tile).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
fn for_each_tile(
    m: &QMatrix,
    x: &QActs,
    g0: usize,
    groups: usize,
    out: &mut [f32],
    mut tile: impl FnMut(&[u8], &[f16], usize, usize, &mut [f32]) -> usize,
) {
    let bl = m.blocks;
    for gi in 0..groups {
        let g = g0 + gi;
        let q = &m.quants[g * bl * GB..][..bl * GB];
        let sc = &m.scales[g * bl * ROWS..][..bl * ROWS];
        let mut t = 0;
        while t < x.n {
            t += tile(q, sc, t, x.n - t, &mut out[(gi * x.n + t) * ROWS..]).max(1);
        }
    }
}

/// The portable kernel: the same integer arithmetic, written for the autovectorizer. Per
/// group and block, the 16 scales are converted from f16 once (in bulk) for all the tokens;
/// per token, [`dot_block`] gives the 16 rows' integer dot products.
fn groups_portable(m: &QMatrix, x: &QActs, g0: usize, groups: usize, out: &mut [f32]) {
    use half::slice::HalfFloatSliceExt;
    let bl = m.blocks;
    let mut sc = [0f32; ROWS];
    for gi in 0..groups {
        let g = g0 + gi;
        let o = &mut out[gi * x.n * ROWS..][..x.n * ROWS];
        o.fill(0.0);
        for b in 0..bl {
            let Ok(q) = <&[u8; GB]>::try_from(&m.quants[(g * bl + b) * GB..][..GB]) else { continue };
            m.scales[(g * bl + b) * ROWS..][..ROWS].convert_to_f32_slice(&mut sc);
            for (t, o) in o.chunks_exact_mut(ROWS).enumerate() {
                let Ok(xw) = <&[i32; 8]>::try_from(&x.words[(t * bl + b) * 8..][..8]) else { continue };
                let acc = dot_block(q, xw);
                let (dx, corr) = (x.d[t * bl + b], x.corr[t * bl + b]);
                for lane in 0..ROWS {
                    o[lane] += (acc[lane] - corr) as f32 * (sc[lane] * dx);
                }
            }
        }
    }
}

/// The 16 rows' dot products of one group-block (weights + 128) with one block of activation
/// bytes (4 to a word). Written as an element-wise multiply-add over the 64 bytes of each slice
/// against the slice's 4 activation bytes repeated (so the compiler vectorizes it with no
/// gathers: `pmullw` on SSE2, widening multiplies on NEON); each row's 4 partial sums are
/// added at the end.
#[inline(always)]
fn dot_block(q: &[u8; GB], xw: &[i32; 8]) -> [i32; ROWS] {
    let mut acc = [0i32; 64];
    for (k, w) in xw.iter().enumerate() {
        let b = w.to_le_bytes();
        let xp: [i16; 64] = std::array::from_fn(|e| i16::from(b[e % 4] as i8));
        let Ok(s) = <&[u8; 64]>::try_from(&q[k * 64..][..64]) else { continue };
        for e in 0..64 {
            // |255 × 128| fits in 16 bits, and 8 slices' sums easily in 32.
            acc[e] += i32::from(i16::from(s[e]) * xp[e]);
        }
    }
    std::array::from_fn(|l| (acc[4 * l] + acc[4 * l + 1]) + (acc[4 * l + 2] + acc[4 * l + 3]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn reference(m: &QMatrix, w: &[f32], x: &[f32]) -> Vec<f32> {
        // Dequantized weights times quantized-then-dequantized activations, in f64.
        let (rows, cols) = (m.rows, m.cols);
        let n = x.len() / cols;
        let mut deq = vec![0f32; cols];
        let mut out = vec![0f32; n * rows];
        let xq: Vec<f32> = x
            .chunks(QK)
            .flat_map(|c| {
                let b = quantize_block(c);
                b.qs.iter().map(|&q| f32::from(q) * b.d.to_f32()).collect::<Vec<_>>()
            })
            .collect();
        for r in 0..rows {
            m.row_into(r, &mut deq);
            // Each dequantized weight is within half a step of the original.
            for (a, b) in deq.iter().zip(&w[r * cols..(r + 1) * cols]) {
                assert!((a - b).abs() <= 0.01, "{a} vs {b}");
            }
            for t in 0..n {
                let s: f64 = deq.iter().zip(&xq[t * cols..]).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
                out[t * rows + r] = s as f32;
            }
        }
        out
    }

    fn check(rows: usize, cols: usize, n: usize, force: Option<Kernel>) {
        let mut seed = (rows * 31 + cols * 7 + n) as u64;
        let w: Vec<f32> = (0..rows * cols).map(|_| lcg(&mut seed)).collect();
        let x: Vec<f32> = (0..n * cols).map(|_| lcg(&mut seed) * 3.0).collect();
        let m = QMatrix::from_f32(rows, cols, &w);
        let mut qa = QActs::default();
        qa.quantize(&x, cols);
        let want = reference(&m, &w, &x);
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        match force {
            None => matmul(&m, &qa, &mut out, &mut scratch),
            Some(k) => {
                scratch.resize(m.groups * n * ROWS, 0.0);
                run(k, &m, &qa, 0, &mut scratch);
                out.resize(n * rows, 0.0);
                for g in 0..m.groups {
                    let lanes = ROWS.min(rows - g * ROWS);
                    for t in 0..n {
                        out[t * rows + g * ROWS..][..lanes].copy_from_slice(&scratch[(g * n + t) * ROWS..][..lanes]);
                    }
                }
            }
        }
        for (i, (a, b)) in out.iter().zip(&want).enumerate() {
            assert!((a - b).abs() <= 1e-3 * (1.0 + b.abs()), "{rows}x{cols} n={n} {force:?} [{i}]: {a} vs {b}");
        }
    }

    /// The extreme bytes (weights of ±127, and -128, read as -127; activations of ±127) give
    /// exact sums in every kernel: no 16-bit intermediate saturates or wraps.
    #[test]
    fn extreme_bytes_are_exact_in_every_kernel() {
        let (rows, cols) = (16, 64);
        for (wq, xv) in [(-128i8, -1.0f32), (-128, 1.0), (-127, -1.0), (127, 1.0), (127, -1.0)] {
            let m = QMatrix::from_blocks(rows, cols, |_| vec![Block { d: f16::ONE, qs: [wq; QK] }; cols / QK]);
            let mut qa = QActs::default();
            qa.quantize(&vec![xv; 2 * cols], cols);
            // Each activation byte is ±127 with the scale 1/127: every product is wq · ±1.
            let want = f32::from(wq.max(-127)) * xv * cols as f32;
            for k in all_kernels() {
                let mut out = vec![0.0; m.groups * 2 * ROWS];
                run(k, &m, &qa, 0, &mut out);
                for v in &out {
                    assert!((v - want).abs() <= 1e-3 * want.abs(), "{k:?} w={wq} x={xv}: {v} vs {want}");
                }
            }
        }
    }

    /// Every kernel this CPU can run.
    fn all_kernels() -> Vec<Kernel> {
        let mut kernels = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if x86::has_avx512_vnni() {
                kernels.push(Kernel::Avx512Vnni);
            }
            if x86::has_avx_vnni() {
                kernels.push(Kernel::AvxVnni);
            }
            if x86::has_avx2() {
                kernels.push(Kernel::Avx2);
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            kernels.push(Kernel::Neon);
            if arm::has_dotprod() {
                kernels.push(Kernel::NeonDot);
            }
        }
        kernels
    }

    #[test]
    fn products_match_the_dequantized_reference_for_every_kernel() {
        let mut kernels = vec![None];
        kernels.extend(all_kernels().into_iter().map(Some));
        for k in kernels {
            for (rows, cols, n) in
                [(16, 32, 1), (17, 64, 1), (40, 96, 3), (130, 576, 2), (5, 32, 4), (33, 64, 7), (16, 96, 9)]
            {
                check(rows, cols, n, k);
            }
        }
    }

    /// The SIMD quantizer gives exactly the portable one's bytes, scales and sums.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_quantization_is_exact() {
        let mut seed = 7u64;
        let mut x: Vec<f32> = (0..32 * 40).map(|_| lcg(&mut seed) * 5.0).collect();
        x[32..64].fill(0.0); // an all-zero block
        x[70] = 1e-30; // a tiny one
        let (mut w, mut d, mut c) = (Vec::new(), Vec::new(), Vec::new());
        if !x86::quantize_avx512(&x, &mut w, &mut d, &mut c) {
            return; // no AVX-512 here: only the portable path runs
        }
        for (i, chunk) in x.chunks_exact(QK).enumerate() {
            let b = quantize_block(chunk);
            assert_eq!(d[i], b.d.to_f32(), "block {i}");
            assert_eq!(c[i], 128 * b.qs.iter().map(|&q| i32::from(q)).sum::<i32>(), "block {i}");
            for (k, q) in b.qs.chunks_exact(4).enumerate() {
                assert_eq!(w[i * 8 + k], i32::from_le_bytes([q[0] as u8, q[1] as u8, q[2] as u8, q[3] as u8]));
            }
        }
    }

    #[test]
    fn rows_round_trip_through_the_layout() {
        let w: Vec<f32> = (0..20 * 64).map(|i| ((i % 37) as f32 - 18.0) / 18.0).collect();
        let m = QMatrix::from_f32(20, 64, &w);
        let mut row = vec![0f32; 64];
        for r in 0..20 {
            m.row_into(r, &mut row);
            for (a, b) in row.iter().zip(&w[r * 64..]) {
                assert!((a - b).abs() < 0.01);
            }
        }
        assert_eq!(m.bytes(), 2 * 2 * GB + 2 * 2 * ROWS * 2);
    }

    #[test]
    fn rounding_is_to_nearest_with_ties_to_even() {
        for (y, want) in [(0.4, 0), (0.5, 0), (1.5, 2), (2.5, 2), (-0.6, -1), (-1.5, -2), (126.7, 127), (-127.0, -127)]
        {
            assert_eq!(round_small(y), want, "{y}");
        }
    }

    #[test]
    fn zero_blocks_quantize_to_zero() {
        let b = quantize_block(&[0.0; QK]);
        assert_eq!(b.d.to_f32(), 0.0);
        assert!(b.qs.iter().all(|q| *q == 0));
    }
}
