//! The x86_64 kernels of [`super`]: AVX-512 VNNI (16 rows per instruction) and AVX-VNNI (8).
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

/// Whether this CPU runs [`groups_avx`].
pub(super) fn has_avx_vnni() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
        && is_x86_feature_detected!("avxvnni")
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

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn avx512(m: &QMatrix, x: &QActs, g0: usize, groups: usize, out: &mut [f32]) {
    let bl = m.blocks;
    for gi in 0..groups {
        let g = g0 + gi;
        let q = &m.quants[g * bl * GB..][..bl * GB];
        let sc = &m.scales[g * bl * ROWS..][..bl * ROWS];
        for t in 0..x.n {
            let xw = &x.words[t * bl * 8..][..bl * 8];
            let xd = &x.d[t * bl..][..bl];
            let xc = &x.corr[t * bl..][..bl];
            let mut sum = _mm512_setzero_ps();
            for b in 0..bl {
                let qb = &q[b * GB..][..GB];
                let w = &xw[b * 8..][..8];
                // Two accumulators halve the dependency chain of the multiply-adds.
                let mut a0 = _mm512_setzero_si512();
                let mut a1 = _mm512_setzero_si512();
                for k in (0..8).step_by(2) {
                    let s0 = &qb[k * 64..][..64];
                    let s1 = &qb[(k + 1) * 64..][..64];
                    // SAFETY: each slice is exactly 64 bytes, the size of the load.
                    let (v0, v1) =
                        unsafe { (_mm512_loadu_si512(s0.as_ptr().cast()), _mm512_loadu_si512(s1.as_ptr().cast())) };
                    a0 = _mm512_dpbusd_epi32(a0, v0, _mm512_set1_epi32(w[k]));
                    a1 = _mm512_dpbusd_epi32(a1, v1, _mm512_set1_epi32(w[k + 1]));
                }
                let acc = _mm512_sub_epi32(_mm512_add_epi32(a0, a1), _mm512_set1_epi32(xc[b]));
                let s = &sc[b * ROWS..][..ROWS];
                // SAFETY: 16 f16 scales are exactly 32 bytes, the size of the load.
                let s = _mm512_cvtph_ps(unsafe { _mm256_loadu_si256(s.as_ptr().cast()) });
                let s = _mm512_mul_ps(s, _mm512_set1_ps(xd[b]));
                sum = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), s, sum);
            }
            let o = &mut out[(gi * x.n + t) * ROWS..][..ROWS];
            // SAFETY: `o` is exactly 16 floats, the size of the store.
            unsafe { _mm512_storeu_ps(o.as_mut_ptr(), sum) };
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c,avxvnni")]
fn avx(m: &QMatrix, x: &QActs, g0: usize, groups: usize, out: &mut [f32]) {
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
                let mut lo = _mm256_setzero_si256();
                let mut hi = _mm256_setzero_si256();
                for k in 0..8 {
                    let xv = _mm256_set1_epi32(w[k]);
                    let s_lo = &qb[k * 64..][..32];
                    let s_hi = &qb[k * 64 + 32..][..32];
                    // SAFETY: each slice is exactly 32 bytes, the size of the load.
                    let (v_lo, v_hi) =
                        unsafe { (_mm256_loadu_si256(s_lo.as_ptr().cast()), _mm256_loadu_si256(s_hi.as_ptr().cast())) };
                    lo = _mm256_dpbusd_avx_epi32(lo, v_lo, xv);
                    hi = _mm256_dpbusd_avx_epi32(hi, v_hi, xv);
                }
                let c = _mm256_set1_epi32(xc[b]);
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
                sum_lo = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(lo, c)), _mm256_mul_ps(f_lo, dx), sum_lo);
                sum_hi = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(hi, c)), _mm256_mul_ps(f_hi, dx), sum_hi);
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
