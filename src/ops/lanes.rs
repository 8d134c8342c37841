//! Sums (and the max) over slices in independent lanes, so that LLVM vectorises them (run
//! them under `with_simd!` for AVX2/AVX-512): used by the norms, softmax, cross-entropy
//! and the float reductions.
//!
//! Accuracy: lanes of T add up blocks of `BLOCK` elements (for f32, each lane sums 16
//! values), and block sums are added in f64, so a long f32 row keeps about f32 accuracy
//! per block instead of losing digits with its length, at f32 speed.

use crate::tensor::Element;
use std::ops::{Add, AddAssign, Div, Mul, Sub};

/// The float element types the kernels are generic over (f32, f64).
pub(crate) trait Real:
    Element
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + AddAssign
{
    /// Machine epsilon (RMSNorm's default eps, as PyTorch's finfo(dtype).eps).
    const EPSILON: f64;
}
impl Real for f32 {
    const EPSILON: f64 = f32::EPSILON as f64;
}
impl Real for f64 {
    const EPSILON: f64 = f64::EPSILON;
}

/// Elements summed in `T` (LANES lanes, so the loop vectorises) before a block's sum joins
/// an f64 total: f32 speed with long rows still accurate.
pub(crate) const BLOCK: usize = 512;
/// Independent accumulators: 4 AVX2 vectors of f32, enough to hide the add latency
/// (one 8-lane accumulator would make the row sums latency-bound).
pub(crate) const LANES: usize = 32;

/// Sums the lanes in a fixed tree order.
#[inline(always)]
pub(crate) fn fold<T: Real>(acc: [T; LANES]) -> f64 {
    let mut h = acc;
    let mut n = LANES;
    while n > 1 {
        n /= 2;
        for k in 0..n {
            h[k] = h[k] + h[k + n];
        }
    }
    h[0].to_f64()
}

/// sum_i f(x_i), accumulated in 8 lanes of T per block of `BLOCK` and across blocks in f64.
#[inline(always)]
pub(crate) fn sum_map<T: Real>(x: &[T], f: impl Fn(T) -> T) -> f64 {
    let mut total = 0f64;
    for blk in x.chunks(BLOCK) {
        let mut acc = [T::zero(); LANES];
        let mut it = blk.chunks_exact(LANES);
        for c in &mut it {
            let c: &[T; LANES] = c.try_into().unwrap();
            for k in 0..LANES {
                acc[k] += f(c[k]);
            }
        }
        for (k, &v) in it.remainder().iter().enumerate() {
            acc[k] += f(v);
        }
        total += fold(acc);
    }
    total
}

/// (sum (x_i - k), sum (x_i - k)^2) in one pass, accumulated like `sum_map`.
#[inline(always)]
pub(crate) fn shifted_sums<T: Real>(x: &[T], k: T) -> (f64, f64) {
    let (mut s1, mut s2) = (0f64, 0f64);
    for blk in x.chunks(BLOCK) {
        let (mut a, mut q) = ([T::zero(); LANES], [T::zero(); LANES]);
        let mut it = blk.chunks_exact(LANES);
        for c in &mut it {
            let c: &[T; LANES] = c.try_into().unwrap();
            for j in 0..LANES {
                let d = c[j] - k;
                a[j] += d;
                q[j] += d * d;
            }
        }
        for (j, &v) in it.remainder().iter().enumerate() {
            let d = v - k;
            a[j] += d;
            q[j] += d * d;
        }
        s1 += fold(a);
        s2 += fold(q);
    }
    (s1, s2)
}

/// sum_i f(a_i, b_i) over two equally long slices, accumulated like `sum_map`.
#[inline(always)]
pub(crate) fn sum_map2<T: Real>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> f64 {
    let mut total = 0f64;
    for (ba, bb) in a.chunks(BLOCK).zip(b.chunks(BLOCK)) {
        let mut acc = [T::zero(); LANES];
        let (mut ia, mut ib) = (ba.chunks_exact(LANES), bb.chunks_exact(LANES));
        for (ca, cb) in (&mut ia).zip(&mut ib) {
            let (ca, cb): (&[T; LANES], &[T; LANES]) =
                (ca.try_into().unwrap(), cb.try_into().unwrap());
            for k in 0..LANES {
                acc[k] += f(ca[k], cb[k]);
            }
        }
        for (k, (&u, &v)) in ia.remainder().iter().zip(ib.remainder()).enumerate() {
            acc[k] += f(u, v);
        }
        total += fold(acc);
    }
    total
}

/// The largest element, NaN ignored (-inf for an all-NaN or empty slice), in `LANES`
/// independent lanes so that the loop vectorises.
#[inline(always)]
pub(crate) fn row_max<T: Real>(x: &[T]) -> T {
    let max = |a: T, b: T| if b > a { b } else { a };
    let mut acc = [T::lowest(); LANES];
    let mut it = x.chunks_exact(LANES);
    for c in &mut it {
        let c: &[T; LANES] = c.try_into().unwrap();
        for k in 0..LANES {
            acc[k] = max(acc[k], c[k]);
        }
    }
    for (k, &v) in it.remainder().iter().enumerate() {
        acc[k] = max(acc[k], v);
    }
    acc.into_iter().fold(T::lowest(), max)
}
