//! The x86_64 kernels of [`super`]: AVX-512 VNNI (16 rows per instruction), AVX-VNNI (8) and
//! AVX2 (8, three instructions where VNNI has one).
//!
//! `unsafe` is used for two things only, each in a one-line block with its reason:
//! - calling a `#[target_feature]` function, after the run-time check that the CPU has those
//!   features (the check is in the same function, right before the call);
//! - unaligned SIMD loads and stores, always from a sub-slice taken with bounds-checked indexing
//!   whose length is exactly the vector's size.
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use super::{GB, QActs, QMatrix, ROWS};

/// Whether this CPU runs [`groups_avx512`].
pub(super) fn has_avx512_vnni() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vnni")
}

/// Whether this CPU runs [`groups_avx2`].
pub(super) fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
}

/// Whether this CPU runs [`groups_avx`].
pub(super) fn has_avx_vnni() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
        && is_x86_feature_detected!("avxvnni")
}

/// Runs `f` inside a function compiled with AVX-512 enabled (the caller has checked that the
/// CPU has it; checked again here).
pub(super) fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    if has_avx512_vnni() {
        // SAFETY: the CPU has every feature the function is compiled for (checked just above).
        unsafe { avx512_context(f) }
    } else {
        f()
    }
}

/// As [`with_avx512`], with AVX2 and FMA.
pub(super) fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    if has_avx2() {
        // SAFETY: the CPU has every feature the function is compiled for (checked just above).
        unsafe { avx2_context(f) }
    } else {
        f()
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn avx2_context<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma")]
fn avx512_context<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Groups `g0..g0 + groups` of `m` times every vector of `x`, into `out` (`[group][token][16]`).
pub(super) fn groups_avx512(m: &QMatrix, x: &QActs, g0: usize, groups: usize, out: &mut [f32]) {
    if has_avx512_vnni() {
        // SAFETY: the CPU has every feature the function is compiled for (checked just above).
        unsafe { avx512(m, x, g0, groups, out) }
    } else {
        super::groups_portable(m, x, g0, groups, out);
    }
}

/// As [`groups_avx512`], with 256-bit AVX-VNNI.
pub(super) fn groups_avx(m: &QMatrix, x: &QActs, g0: usize, groups: usize, out: &mut [f32]) {
    if has_avx_vnni() {
        // SAFETY: the CPU has every feature the function is compiled for (checked just above).
        unsafe { avx(m, x, g0, groups, out) }
    } else {
        super::groups_portable(m, x, g0, groups, out);
    }
}

/// As [`groups_avx512`], with AVX2 alone (CPUs without VNNI).
pub(super) fn groups_avx2(m: &QMatrix, x: &QActs, g0: usize, groups: usize, out: &mut [f32]) {
    if has_avx2() {
        // SAFETY: the CPU has every feature the function is compiled for (checked just above).
        unsafe { avx2(m, x, g0, groups, out) }
    } else {
        super::groups_portable(m, x, g0, groups, out);
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn avx512(m: &QMatrix, x: &QActs, g0: usize, groups: usize, out: &mut [f32]) {
    let bl = m.blocks;
    super::for_each_tile(m, x, g0, groups, out, |q, sc, t, left, o| match left {
        1 => tile512::<1>(q, sc, bl, x, t, o),
        2 => tile512::<2>(q, sc, bl, x, t, o),
        3 => tile512::<3>(q, sc, bl, x, t, o),
        _ => tile512::<4>(q, sc, bl, x, t, o),
    });
}

/// One group of 16 rows times tokens `t0..t0 + T` into `out` (`T × 16` floats); returns `T`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn tile512<const T: usize>(q: &[u8], sc: &[half::f16], bl: usize, x: &QActs, t0: usize, out: &mut [f32]) -> usize {
    let mut sum = [_mm512_setzero_ps(); T];
    let mut w = [_mm512_setzero_si512(); 8];
    for b in 0..bl {
        let qb = &q[b * GB..][..GB];
        for (k, v) in w.iter_mut().enumerate() {
            let s = &qb[k * 64..][..64];
            // SAFETY: the slice is exactly 64 bytes, the size of the load.
            *v = unsafe { _mm512_loadu_si512(s.as_ptr().cast()) };
        }
        let s = &sc[b * ROWS..][..ROWS];
        // SAFETY: 16 f16 scales are exactly 32 bytes, the size of the load.
        let s = _mm512_cvtph_ps(unsafe { _mm256_loadu_si256(s.as_ptr().cast()) });
        for (i, acc_f) in sum.iter_mut().enumerate() {
            let at = (t0 + i) * bl + b;
            let xw = &x.words[at * 8..][..8];
            // Two accumulators halve the dependency chain of the multiply-adds.
            let mut a0 = _mm512_setzero_si512();
            let mut a1 = _mm512_setzero_si512();
            for k in (0..8).step_by(2) {
                a0 = _mm512_dpbusd_epi32(a0, w[k], _mm512_set1_epi32(xw[k]));
                a1 = _mm512_dpbusd_epi32(a1, w[k + 1], _mm512_set1_epi32(xw[k + 1]));
            }
            let acc = _mm512_sub_epi32(_mm512_add_epi32(a0, a1), _mm512_set1_epi32(x.corr[at]));
            *acc_f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_mul_ps(s, _mm512_set1_ps(x.d[at])), *acc_f);
        }
    }
    for (i, v) in sum.iter().enumerate() {
        let o = &mut out[i * ROWS..][..ROWS];
        // SAFETY: `o` is exactly 16 floats, the size of the store.
        unsafe { _mm512_storeu_ps(o.as_mut_ptr(), *v) };
    }
    T
}

/// Quantizes `x` (a multiple of 32 values) as [`super::quantize_block`] does, appending to
/// `words`, `d` and `corr`; false (nothing done) when the CPU lacks AVX-512.
pub(super) fn quantize_avx512(x: &[f32], words: &mut Vec<i32>, d: &mut Vec<f32>, corr: &mut Vec<i32>) -> bool {
    if !(is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw")) {
        return false;
    }
    // SAFETY: the CPU has every feature the function is compiled for (checked just above).
    unsafe { quantize512(x, words, d, corr) };
    true
}

#[target_feature(enable = "avx512f,avx512bw")]
fn quantize512(x: &[f32], words: &mut Vec<i32>, d: &mut Vec<f32>, corr: &mut Vec<i32>) {
    for c in x.chunks_exact(32) {
        let (c_lo, c_hi) = c.split_at(16);
        // SAFETY: each half is exactly 16 floats, the size of the load.
        let (lo, hi) = unsafe { (_mm512_loadu_ps(c_lo.as_ptr()), _mm512_loadu_ps(c_hi.as_ptr())) };
        let amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi)));
        let dd = amax / 127.0;
        let inv = _mm512_set1_ps(if dd > 0.0 { 1.0 / dd } else { 0.0 });
        // Rounds to nearest, ties to even (the default rounding mode), like `round_small`.
        let q_lo = _mm512_cvtps_epi32(_mm512_mul_ps(lo, inv));
        let q_hi = _mm512_cvtps_epi32(_mm512_mul_ps(hi, inv));
        let sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q_lo, q_hi));
        let mut packed = [0i32; 8];
        let (p_lo, p_hi) = packed.split_at_mut(4);
        // SAFETY: each half is exactly 16 bytes, the size of the store.
        unsafe {
            _mm_storeu_si128(p_lo.as_mut_ptr().cast(), _mm512_cvtsepi32_epi8(q_lo));
            _mm_storeu_si128(p_hi.as_mut_ptr().cast(), _mm512_cvtsepi32_epi8(q_hi));
        }
        words.extend_from_slice(&packed);
        d.push(half::f16::from_f32(dd).to_f32());
        corr.push(128 * sum);
    }
}

/// The two 256-bit kernels: each group's 16 rows as two halves of 8, one 32-byte slice each
/// per 4 columns. They differ only in how one slice's products are added (`$step`, given the
/// two accumulators, the two weight slices and the 4 activation bytes broadcast; constants it
/// needs are made once in `$setup`) and in whether the +128 weight offset is left in the sums
/// (`$offset`: subtract the block's correction).
macro_rules! kernel_256 {
    ($name:ident, $features:literal, offset: $offset:literal, setup { $($setup:tt)* } step($lo:ident, $hi:ident, $v_lo:ident, $v_hi:ident, $xv:ident) $step:block) => {
        #[target_feature(enable = $features)]
        fn $name(m: &QMatrix, x: &QActs, g0: usize, groups: usize, out: &mut [f32]) {
            $($setup)*
            let bl = m.blocks;
            for gi in 0..groups {
                let g = g0 + gi;
                let q = &m.quants[g * bl * GB..][..bl * GB];
                let sc = &m.scales[g * bl * ROWS..][..bl * ROWS];
                for t in 0..x.n {
                    let xw = &x.words[t * bl * 8..][..bl * 8];
                    let xd = &x.d[t * bl..][..bl];
                    let xc = &x.corr[t * bl..][..bl];
                    let mut sum_lo = _mm256_setzero_ps();
                    let mut sum_hi = _mm256_setzero_ps();
                    for b in 0..bl {
                        let qb = &q[b * GB..][..GB];
                        let w = &xw[b * 8..][..8];
                        let mut $lo = _mm256_setzero_si256();
                        let mut $hi = _mm256_setzero_si256();
                        for k in 0..8 {
                            let $xv = _mm256_set1_epi32(w[k]);
                            let s_lo = &qb[k * 64..][..32];
                            let s_hi = &qb[k * 64 + 32..][..32];
                            // SAFETY: each slice is exactly 32 bytes, the size of the load.
                            let ($v_lo, $v_hi) = unsafe {
                                (_mm256_loadu_si256(s_lo.as_ptr().cast()), _mm256_loadu_si256(s_hi.as_ptr().cast()))
                            };
                            $step
                        }
                        if $offset {
                            let c = _mm256_set1_epi32(xc[b]);
                            $lo = _mm256_sub_epi32($lo, c);
                            $hi = _mm256_sub_epi32($hi, c);
                        }
                        let dx = _mm256_set1_ps(xd[b]);
                        let s_lo = &sc[b * ROWS..][..8];
                        let s_hi = &sc[b * ROWS + 8..][..8];
                        // SAFETY: 8 f16 scales are exactly 16 bytes, the size of each load.
                        let (f_lo, f_hi) = unsafe {
                            (
                                _mm256_cvtph_ps(_mm_loadu_si128(s_lo.as_ptr().cast())),
                                _mm256_cvtph_ps(_mm_loadu_si128(s_hi.as_ptr().cast())),
                            )
                        };
                        sum_lo = _mm256_fmadd_ps(_mm256_cvtepi32_ps($lo), _mm256_mul_ps(f_lo, dx), sum_lo);
                        sum_hi = _mm256_fmadd_ps(_mm256_cvtepi32_ps($hi), _mm256_mul_ps(f_hi, dx), sum_hi);
                    }
                    let o = &mut out[(gi * x.n + t) * ROWS..][..ROWS];
                    let (o_lo, o_hi) = o.split_at_mut(8);
                    // SAFETY: each half is exactly 8 floats, the size of each store.
                    unsafe {
                        _mm256_storeu_ps(o_lo.as_mut_ptr(), sum_lo);
                        _mm256_storeu_ps(o_hi.as_mut_ptr(), sum_hi);
                    }
                }
            }
        }
    };
}

// AVX-VNNI: `vpdpbusd` on +128 weights, the offset subtracted per block.
kernel_256! {
    avx, "avx2,fma,f16c,avxvnni", offset: true,
    setup {}
    step(lo, hi, v_lo, v_hi, xv) {
        lo = _mm256_dpbusd_avx_epi32(lo, v_lo, xv);
        hi = _mm256_dpbusd_avx_epi32(hi, v_hi, xv);
    }
}

// AVX2 without VNNI: `vpmaddubsw` multiplies unsigned by signed bytes into 16-bit pair sums,
// which the +128 weights would overflow, so the weights are made signed again (`xor 0x80`),
// the activation's sign is moved onto them (`vpsignb`) and its magnitude (at most 127) is the
// unsigned operand: pair sums stay within ±32258, and no offset is left to subtract. Negating
// a weight cannot wrap because weights are at least -127 (`QMatrix` reads -128 as -127).
kernel_256! {
    avx2, "avx2,fma,f16c", offset: false,
    setup {
        let flip = _mm256_set1_epi8(i8::MIN);
        let ones = _mm256_set1_epi16(1);
    }
    step(lo, hi, v_lo, v_hi, xv) {
        let ax = _mm256_sign_epi8(xv, xv);
        let p_lo = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(_mm256_xor_si256(v_lo, flip), xv));
        let p_hi = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(_mm256_xor_si256(v_hi, flip), xv));
        lo = _mm256_add_epi32(lo, _mm256_madd_epi16(p_lo, ones));
        hi = _mm256_add_epi32(hi, _mm256_madd_epi16(p_hi, ones));
    }
}
