//! The dropout kernel: Philox4x32-10 evaluated for 8 counter blocks in lockstep
//! (structure of arrays, so the 32x32->64-bit multiplies vectorise; compiled for AVX2
//! when the CPU has it), each block giving 8 16-bit values for 8 elements.

use super::super::norm::Real;
use super::{DropoutKernels, Mask};
use crate::backend::Cpu;
use crate::device::cpu::{for_each_chunk, SendPtr, GRAIN};
use crate::ops::copy::uninit_cpu;
use crate::ops::util::{slice, slice_mut};
use crate::random::PhiloxStream;
use crate::tensor::{Element, Tensor};
use crate::{dispatch_float, Result};

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Elements per block (4 words x 2 halves) and per lockstep group of 8 blocks.
const PER_BLOCK: usize = 8;
const GROUP: usize = 64;
// Chunks must start on a group boundary so every element sees the same counter.
const _: () = assert!(GRAIN % GROUP == 0);

/// Keep when the 16-bit value r >= this (65536 for p = 1: nothing is kept).
pub(crate) fn keep_threshold(p: f64) -> u32 {
    (p * 65536.0).round() as u32
}

/// The 16-bit random value of element i (the reference definition). Elements come in
/// groups of 64 backed by 8 consecutive Philox blocks; inside a group, element
/// e = half * 32 + word * 8 + lane takes 16-bit half `half` of word `word` of block
/// `lane`. This lane-major order lets the SIMD kernel turn one vector of 8 words into
/// 8 consecutive keep bits without shuffles.
#[inline]
pub(crate) fn bits16(stream: &PhiloxStream, i: u64) -> u32 {
    let (g, e) = (i / GROUP as u64, (i % GROUP as u64) as usize);
    let w = stream.block(g * 8 + (e % 8) as u64)[(e % 32) / 8];
    (w >> (16 * (e / 32))) & 0xFFFF
}

/// Philox4x32-10 of blocks first..first+8 of the stream, as [word][lane]
/// (`first` is a multiple of 8, so the low counter word never carries).
#[inline(always)]
fn philox8(stream: &PhiloxStream, first: u64) -> [[u32; 8]; 4] {
    #[cfg(target_arch = "x86_64")]
    if cfg!(target_feature = "avx2") || std::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is available (checked just above).
        return unsafe { philox8_avx2(stream, first) };
    }
    philox8_portable(stream, first)
}

/// Philox with 8 lanes in AVX2 registers: _mm256_mul_epu32 gives the 64-bit products of
/// the even lanes; the odd lanes are shifted down and multiplied likewise.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn philox8_avx2(stream: &PhiloxStream, first: u64) -> [[u32; 8]; 4] {
    use std::arch::x86_64::*;
    #[inline(always)]
    unsafe fn mulhilo(a: __m256i, m: __m256i) -> (__m256i, __m256i) {
        let pe = _mm256_mul_epu32(a, m);
        let po = _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), m);
        let hi = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(pe), po);
        let lo = _mm256_blend_epi32::<0b1010_1010>(pe, _mm256_slli_epi64::<32>(po));
        (hi, lo)
    }
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let mut c0 = _mm256_add_epi32(_mm256_set1_epi32(first as u32 as i32), lanes);
    let mut c1 = _mm256_set1_epi32((first >> 32) as u32 as i32);
    let mut c2 = _mm256_set1_epi32(stream.offset as u32 as i32);
    let mut c3 = _mm256_set1_epi32((stream.offset >> 32) as u32 as i32);
    let (m0, m1) = (_mm256_set1_epi32(M0 as i32), _mm256_set1_epi32(M1 as i32));
    let (mut k0, mut k1) = (stream.seed as u32, (stream.seed >> 32) as u32);
    for _ in 0..10 {
        let (hi0, lo0) = mulhilo(c0, m0);
        let (hi1, lo1) = mulhilo(c2, m1);
        let n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(k0 as i32));
        let n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(k1 as i32));
        (c0, c1, c2, c3) = (n0, lo1, n2, lo0);
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    let mut out = [[0u32; 8]; 4];
    for (o, v) in out.iter_mut().zip([c0, c1, c2, c3]) {
        _mm256_storeu_si256(o.as_mut_ptr() as *mut __m256i, v);
    }
    out
}

#[inline(always)]
fn philox8_portable(stream: &PhiloxStream, first: u64) -> [[u32; 8]; 4] {
    let mut c0 = [0u32; 8];
    let mut c1 = [0u32; 8];
    let c2 = [stream.offset as u32; 8];
    let c3 = [(stream.offset >> 32) as u32; 8];
    let (mut c2, mut c3) = (c2, c3);
    for l in 0..8 {
        let b = first + l as u64;
        c0[l] = b as u32;
        c1[l] = (b >> 32) as u32;
    }
    let (mut k0, mut k1) = (stream.seed as u32, (stream.seed >> 32) as u32);
    for _ in 0..10 {
        let mut n0 = [0u32; 8];
        let mut n1 = [0u32; 8];
        let mut n2 = [0u32; 8];
        let mut n3 = [0u32; 8];
        for l in 0..8 {
            let p0 = M0 as u64 * c0[l] as u64;
            let p1 = M1 as u64 * c2[l] as u64;
            n0[l] = (p1 >> 32) as u32 ^ c1[l] ^ k0;
            n1[l] = p1 as u32;
            n2[l] = (p0 >> 32) as u32 ^ c3[l] ^ k1;
            n3[l] = p0 as u32;
        }
        (c0, c1, c2, c3) = (n0, n1, n2, n3);
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    [c0, c1, c2, c3]
}

/// y[start..end] from x with elements start.. of the stream (start % GROUP == 0).
#[inline(always)]
fn run<T: Real>(x: &[T], y: &mut [T], start: usize, stream: &PhiloxStream, t: u32, scale: T) {
    let n = x.len();
    let full = n / GROUP * GROUP;
    let zero = T::zero();
    for g in (0..full).step_by(GROUP) {
        let words = philox8(stream, ((start + g) / PER_BLOCK) as u64);
        let mut f = [zero; GROUP];
        for h in 0..2 {
            for (w, lanes) in words.iter().enumerate() {
                let fw = &mut f[h * 32 + w * 8..h * 32 + w * 8 + 8];
                for (f, &v) in fw.iter_mut().zip(lanes) {
                    *f = if (v >> (16 * h)) & 0xFFFF >= t {
                        scale
                    } else {
                        zero
                    };
                }
            }
        }
        for ((y, &x), &f) in y[g..g + GROUP].iter_mut().zip(&x[g..g + GROUP]).zip(&f) {
            *y = x * f;
        }
    }
    for i in full..n {
        let keep = bits16(stream, (start + i) as u64) >= t;
        y[i] = x[i] * if keep { scale } else { zero };
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2<T: Real>(
    x: &[T],
    y: &mut [T],
    start: usize,
    s: &PhiloxStream,
    t: u32,
    scale: T,
) {
    run(x, y, start, s, t, scale)
}

/// y = x * (keep_i ? scale : 0), in parallel chunks of GRAIN elements.
pub(crate) fn apply<T: Real>(x: &[T], y: &mut [T], stream: PhiloxStream, t: u32, scale: T) {
    let yp = SendPtr(y.as_mut_ptr());
    #[cfg(target_arch = "x86_64")]
    let avx2 = std::arch::is_x86_feature_detected!("avx2");
    for_each_chunk(x.len(), GRAIN, |s, e| {
        // SAFETY: each chunk is written by one task only.
        let yc = unsafe { yp.slice_mut(s, e - s) };
        #[cfg(target_arch = "x86_64")]
        if avx2 {
            // SAFETY: the CPU supports AVX2 (checked above).
            return unsafe { run_avx2(&x[s..e], yc, s, &stream, t, scale) };
        }
        run(&x[s..e], yc, s, &stream, t, scale)
    });
}

impl DropoutKernels for Cpu {
    fn dropout(&self, x: &Tensor, mask: &Mask) -> Result<Tensor> {
        let xc = x.contiguous()?;
        let out = uninit_cpu(xc.dtype(), xc.shape())?;
        dispatch_float!(xc.dtype(), "dropout", T => apply::<T>(
            slice(&xc), slice_mut(&out), mask.stream, mask.threshold, T::from_f64(mask.scale),
        ));
        Ok(out)
    }
}
