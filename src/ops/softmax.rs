//! softmax and log_softmax along one axis, fused per row and stable for large logits:
//! softmax(x) = exp(x - max) / sum(exp(x - max)); log_softmax = x - max - log(sum(...)).

use crate::device::cpu::{for_each_chunk, SendPtr, GRAIN};
use crate::ops::elementwise::math::FloatMath;
use crate::tensor::shape::normalize_axis;
use crate::tensor::Tensor;
use crate::{dispatch_float, Result};

fn rows<T: FloatMath>(x: &Tensor, log: bool) -> Tensor {
    let out = crate::ops::copy::uninit_cpu(x.dtype(), x.shape());
    let n = *x.shape().last().unwrap_or(&1);
    let rows = if n == 0 { 0 } else { x.numel() / n };
    let src = SendPtr(unsafe { x.storage().cpu_ptr::<T>().add(x.offset()) });
    let dst = SendPtr(out.storage().cpu_ptr::<T>());
    for_each_chunk(rows, (GRAIN / n.max(1)).max(1), |s, e| {
        for r in s..e {
            let (xi, yo) = unsafe {
                (
                    std::slice::from_raw_parts(src.get().add(r * n), n),
                    dst.slice_mut(r * n, n),
                )
            };
            let mut mx = T::lowest();
            for &v in xi {
                mx = mx.maximum(v);
            }
            if !(mx.to_f64().is_finite()) {
                mx = if mx.is_nan() { mx } else { T::zero() };
            }
            for (y, &v) in yo.iter_mut().zip(xi) {
                *y = v.sub(mx);
            }
            T::exp_slice(yo);
            let mut sum = 0f64;
            for &e in yo.iter() {
                sum += e.to_f64();
            }
            if log {
                let ls = T::from_f64(sum.ln());
                for (y, &v) in yo.iter_mut().zip(xi) {
                    *y = v.sub(mx).sub(ls);
                }
            } else {
                let inv = T::from_f64(1.0 / sum);
                for y in yo.iter_mut() {
                    *y = y.mul(inv);
                }
            }
        }
    });
    out
}

impl Tensor {
    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        let out = crate::autograd::untracked(|| self.softmax_impl(axis, false))?;
        Ok(crate::autograd::formulas::record_softmax(
            out, self, axis, false,
        ))
    }
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        let out = crate::autograd::untracked(|| self.softmax_impl(axis, true))?;
        Ok(crate::autograd::formulas::record_softmax(
            out, self, axis, true,
        ))
    }

    fn softmax_impl(&self, axis: isize, log: bool) -> Result<Tensor> {
        self.storage().cpu()?;
        let x = self.to_dtype(self.dtype().to_float())?;
        if x.ndim() == 0 {
            return Tensor::scalar(1.0f32)
                .to_dtype(x.dtype())?
                .mul(if log { 0.0 } else { 1.0 });
        }
        let ax = normalize_axis(axis, x.ndim())?;
        let last = x.ndim() - 1;
        let moved = if ax == last {
            x.contiguous()?
        } else {
            x.transpose(ax as isize, last as isize)?.contiguous()?
        };
        let y = dispatch_float!(moved.dtype(), "softmax", T => rows::<T>(&moved, log));
        if ax == last {
            Ok(y)
        } else {
            y.transpose(ax as isize, last as isize)?.contiguous()
        }
    }
}
