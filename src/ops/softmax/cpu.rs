//! The CPU side of softmax: the axis is moved last (a contiguous copy), then each row
//! is one fused pass over L1-resident data.

use super::SoftmaxKernels;
use crate::backend::Cpu;
use crate::device::cpu::{for_each_chunk, SendPtr, GRAIN};
use crate::ops::elementwise::math::FloatMath;
use crate::ops::lanes::{row_max, sum_map, Real};
use crate::ops::simd::simd;
use crate::tensor::Tensor;
use crate::{dispatch_float, Result};

fn rows<T: FloatMath + Real>(x: &Tensor, log: bool) -> Result<Tensor> {
    let out = crate::ops::copy::uninit_cpu(x.dtype(), x.shape())?;
    let n = *x.shape().last().unwrap_or(&1);
    let rows = if n == 0 { 0 } else { x.numel() / n };
    // SAFETY: x is a contiguous CPU tensor (made so by the caller) whose offset lies
    // inside its storage.
    let src = SendPtr(unsafe { x.storage().cpu_ptr::<T>().add(x.offset()) });
    let dst = SendPtr(out.storage().cpu_ptr::<T>());
    let level = simd();
    for_each_chunk(rows, (GRAIN / n.max(1)).max(1), |s, e| {
        // SAFETY: rows s..e of the contiguous input, and of the fresh output, which only
        // this task writes.
        let (xs, ys) = unsafe {
            (
                std::slice::from_raw_parts(src.get().add(s * n), (e - s) * n),
                dst.slice_mut(s * n, (e - s) * n),
            )
        };
        with_simd!(level, softmax_rows(xs, ys, n, log))
    });
    Ok(out)
}

#[inline(always)]
fn softmax_rows<T: FloatMath + Real>(xs: &[T], ys: &mut [T], n: usize, log: bool) {
    for (xi, yo) in xs.chunks_exact(n).zip(ys.chunks_exact_mut(n)) {
        softmax_row(xi, yo, log)
    }
}

/// One row: max, exp(x - max) into the output, its sum, then the scaling (or, for
/// log_softmax, x - max - log(sum)). A row of a few thousand floats stays in L1.
#[inline(always)]
fn softmax_row<T: FloatMath + Real>(xi: &[T], yo: &mut [T], log: bool) {
    // Non-finite rows give what PyTorch gives: a +inf in the row makes the max +inf and
    // x - max NaN at that element, so the sum and with it the whole row become NaN; a
    // NaN is skipped by the max but propagates through the sum; an all -inf row has
    // x - max = -inf - -inf = NaN everywhere. -inf next to finite values is an ordinary
    // (masked) logit: its exp is 0.
    let mx = row_max(xi);
    T::exp_shifted(xi, mx, yo);
    let sum = sum_map(yo, |v| v);
    if log {
        let ls = T::from_f64(sum.ln());
        for (y, &v) in yo.iter_mut().zip(xi) {
            *y = v - mx - ls;
        }
    } else {
        let inv = T::from_f64(1.0 / sum);
        for y in yo.iter_mut() {
            *y = *y * inv;
        }
    }
}

impl SoftmaxKernels for Cpu {
    fn softmax(&self, x: &Tensor, ax: usize, log: bool) -> Result<Tensor> {
        let last = x.ndim() - 1;
        let moved = if ax == last {
            x.contiguous()?
        } else {
            x.transpose(ax as isize, last as isize)?.contiguous()?
        };
        let y = dispatch_float!(moved.dtype(), "softmax", T => rows::<T>(&moved, log))?;
        if ax == last {
            Ok(y)
        } else {
            y.transpose(ax as isize, last as isize)?.contiguous()
        }
    }
}
