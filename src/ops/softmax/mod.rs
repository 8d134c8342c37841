//! softmax and log_softmax along one axis, fused per row and stable for large logits:
//! softmax(x) = exp(x - max) / sum(exp(x - max)); log_softmax = x - max - log(sum(...)).
//! The backward (backward.rs) is built from softmax itself, a sum and elementwise ops,
//! so it runs wherever they do.

mod backward;
mod cpu;
#[cfg(feature = "wgpu")]
mod wgpu;
#[cfg(all(test, feature = "wgpu"))]
mod wgpu_tests;

use crate::tensor::shape::normalize_axis;
use crate::tensor::Tensor;
use crate::Result;

/// The softmax kernel a backend provides (see `backend`).
pub trait SoftmaxKernels {
    /// softmax (log_softmax when `log`) of the float tensor `x`, any strided view with
    /// at least one dim, along `axis` (in range), into a new contiguous tensor of x's
    /// shape. Rows with +inf, NaN or only -inf give NaN, as PyTorch's do.
    fn softmax(&self, x: &Tensor, axis: usize, log: bool) -> Result<Tensor>;
}

impl Tensor {
    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        self.softmax_recorded(axis, false)
    }
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        self.softmax_recorded(axis, true)
    }

    fn softmax_recorded(&self, axis: isize, log: bool) -> Result<Tensor> {
        if self.ndim() == 0 {
            // PyTorch takes a 0-d tensor as one element (dims -1 and 0 only) through the
            // same formula: 1 (log: 0) for a finite value, NaN for an infinite or NaN
            // one. As a (1,) view, so that the backward has an axis to sum over.
            normalize_axis(axis, 1)?;
            return self.reshape(&[1])?.softmax_recorded(0, log)?.reshape(&[]);
        }
        let out = crate::autograd::untracked(|| self.softmax_impl(axis, log))?;
        Ok(backward::record_softmax(out, self, axis, log))
    }

    fn softmax_impl(&self, axis: isize, log: bool) -> Result<Tensor> {
        let what = if log { "log_softmax" } else { "softmax" };
        let b = crate::backend::for_tensors(what, &[self])?;
        let x = self.to_dtype(self.dtype().to_float())?;
        let ax = normalize_axis(axis, x.ndim())?;
        b.softmax(&x, ax, log)
    }
}
