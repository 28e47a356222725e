//! The aarch64 kernels of [`super`] (ARM servers, Apple silicon): NEON, with the `sdot`
//! instruction where the CPU has the dot-product extension (Armv8.4, and most Armv8.2 cores:
//! Apple M1 and later, Graviton 2 and later, Cortex-A76 and later).
//!
//! The weights are stored +128 as unsigned bytes for the x86 kernels; here each 16-byte load is
//! XORed with `0x80`, which gives back the signed weight exactly, so signed × signed products
//! need no offset correction. One 16-byte vector of a 64-byte slice holds 4 rows × 4 columns;
//! `sdot` with the 4 activation bytes repeated adds each row's 4 products into its 32-bit lane.
//! Without `sdot`, two widening multiplies (`smull`, `smull2`), a pairwise add in 16 bits and a
//! pairwise add-accumulate into 32 bits do the same (a pair of products of bytes at most 127 in
//! magnitude on one side fits in 16 bits).
//!
//! `unsafe` is used for three things only, each in a block with its reason:
//! - calling a `#[target_feature]` function, after the run-time check that the CPU has those
//!   features (the check is in the same function, right before the call);
//! - SIMD loads and stores, always from a sub-slice taken with bounds-checked indexing whose
//!   length is exactly the vector's size;
//! - the `sdot` instruction itself (inline assembly: its Rust intrinsic is not stable yet),
//!   which reads and writes only its three vector registers.
#![allow(unsafe_code)]

use std::arch::aarch64::*;

use half::slice::HalfFloatSliceExt;

use super::{GB, QActs, QMatrix, ROWS};

/// Whether this CPU runs the `sdot` kernel.
pub(super) fn has_dotprod() -> bool {
    std::arch::is_aarch64_feature_detected!("dotprod")
}

/// Groups `g0..g0 + groups` of `m` times every vector of `x`, into `out` (`[group][token][16]`),
/// with `sdot`.
pub(super) fn groups_dotprod(m: &QMatrix, x: &QActs, g0: usize, groups: usize, out: &mut [f32]) {
    if has_dotprod() {
        // SAFETY: the CPU has every feature the function is compiled for (checked just above).
        unsafe { dotprod(m, x, g0, groups, out) }
    } else {
        groups_neon(m, x, g0, groups, out);
    }
}

/// As [`groups_dotprod`], with base NEON (every aarch64 CPU has it).
pub(super) fn groups_neon(m: &QMatrix, x: &QActs, g0: usize, groups: usize, out: &mut [f32]) {
    if std::arch::is_aarch64_feature_detected!("neon") {
        // SAFETY: the CPU has every feature the function is compiled for (checked just above).
        unsafe { neon(m, x, g0, groups, out) }
    } else {
        super::groups_portable(m, x, g0, groups, out);
    }
}

#[target_feature(enable = "neon,dotprod")]
fn dotprod(m: &QMatrix, x: &QActs, g0: usize, groups: usize, out: &mut [f32]) {
    groups_with::<true>(m, x, g0, groups, out);
}

#[target_feature(enable = "neon")]
fn neon(m: &QMatrix, x: &QActs, g0: usize, groups: usize, out: &mut [f32]) {
    groups_with::<false>(m, x, g0, groups, out);
}

/// The body of both kernels, inlined into each (`DOT`: whether to use `sdot`).
#[inline(always)]
fn groups_with<const DOT: bool>(m: &QMatrix, x: &QActs, g0: usize, groups: usize, out: &mut [f32]) {
    let bl = m.blocks;
    super::for_each_tile(m, x, g0, groups, out, |q, sc, t, left, o| {
        // SAFETY: callers are `#[target_feature]` functions of at least these features,
        // entered after the run-time check.
        unsafe {
            match left {
                1 => tile::<1, DOT>(q, sc, bl, x, t, o),
                2 => tile::<2, DOT>(q, sc, bl, x, t, o),
                3 => tile::<3, DOT>(q, sc, bl, x, t, o),
                _ => tile::<4, DOT>(q, sc, bl, x, t, o),
            }
        }
    });
}

/// The 4 rows' dot products of `w` (4 rows × 4 signed bytes) with `x` (4 bytes repeated),
/// added to `acc`.
#[inline(always)]
fn dot4<const DOT: bool>(acc: int32x4_t, w: int8x16_t, x: int8x16_t) -> int32x4_t {
    if DOT {
        let mut acc = acc;
        // SAFETY: `sdot` reads its three vector registers and writes only `acc`; this runs only
        // inside `dotprod`, entered after the CPU was found to have the instruction.
        unsafe {
            std::arch::asm!(
                "sdot {acc:v}.4s, {w:v}.16b, {x:v}.16b",
                acc = inout(vreg) acc,
                w = in(vreg) w,
                x = in(vreg) x,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        acc
    } else {
        // SAFETY: base NEON, which the calling kernel was entered with.
        unsafe {
            let lo = vmull_s8(vget_low_s8(w), vget_low_s8(x));
            let hi = vmull_high_s8(w, x);
            vpadalq_s16(acc, vpaddq_s16(lo, hi))
        }
    }
}

/// One group of 16 rows times tokens `t0..t0 + T` into `out` (`T × 16` floats); returns `T`.
#[inline(always)]
unsafe fn tile<const T: usize, const DOT: bool>(
    q: &[u8],
    sc: &[half::f16],
    bl: usize,
    x: &QActs,
    t0: usize,
    out: &mut [f32],
) -> usize {
    // SAFETY (whole function): base NEON, which the calling kernel was entered with; every
    // load and store is from a bounds-checked sub-slice of exactly the vector's size.
    unsafe {
        let flip = vdupq_n_u8(0x80);
        let mut sum = [[vdupq_n_f32(0.0); 4]; T];
        let mut scf = [0f32; ROWS];
        for b in 0..bl {
            let qb = &q[b * GB..][..GB];
            sc[b * ROWS..][..ROWS].convert_to_f32_slice(&mut scf);
            let s: [float32x4_t; 4] = std::array::from_fn(|v| vld1q_f32(scf[v * 4..][..4].as_ptr()));
            let mut acc = [[vdupq_n_s32(0); 4]; T];
            for k in 0..8 {
                let sl = &qb[k * 64..][..64];
                let w: [int8x16_t; 4] =
                    std::array::from_fn(|v| vreinterpretq_s8_u8(veorq_u8(vld1q_u8(sl[v * 16..][..16].as_ptr()), flip)));
                for (i, a) in acc.iter_mut().enumerate() {
                    let xv = vreinterpretq_s8_s32(vdupq_n_s32(x.words[((t0 + i) * bl + b) * 8 + k]));
                    for (av, wv) in a.iter_mut().zip(&w) {
                        *av = dot4::<DOT>(*av, *wv, xv);
                    }
                }
            }
            for (i, (a, sm)) in acc.iter().zip(sum.iter_mut()).enumerate() {
                let dx = vdupq_n_f32(x.d[(t0 + i) * bl + b]);
                for v in 0..4 {
                    sm[v] = vfmaq_f32(sm[v], vcvtq_f32_s32(a[v]), vmulq_f32(s[v], dx));
                }
            }
        }
        for (i, sm) in sum.iter().enumerate() {
            for (v, vec) in sm.iter().enumerate() {
                vst1q_f32(out[i * ROWS + v * 4..][..4].as_mut_ptr(), *vec);
            }
        }
    }
    T
}
