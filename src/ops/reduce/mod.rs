//! Reductions over axes with `keepdims`: sum, mean, var/std (with `correction`), prod,
//! max/min, argmax/argmin, logsumexp, all/any. The front (here) validates axes and
//! empty reductions once and hands the rest to the backend's `ReduceKernels::reduce`:
//! the CPU accumulates floats in f64 (cpu.rs), wgpu runs one generated tree reduction
//! per op (wgpu.rs, reduce.wgsl).

mod backward;
mod complex;
mod cpu;
pub mod kernels;
#[cfg(feature = "wgpu")]
pub mod wgpu;
#[cfg(all(test, feature = "wgpu"))]
mod wgpu_tests;

use crate::tensor::shape::{fmt_shape, normalize_axes, normalize_axis};
use crate::tensor::Tensor;
use crate::{bail, Result};
use backward::Reduction;

/// A reduction a backend computes. Output dtypes follow NumPy: `Sum` and `Prod` keep
/// float dtypes and give int64 for int64 and bool; `Mean`, `Var` and `LogSumExp` give a
/// float (float64 only for float64); `Max`/`Min` keep the dtype; `ArgMax`/`ArgMin` give
/// int64 positions in the reduced index space (row-major over the reduced dims; the
/// first on ties, and the first NaN wins); `All`/`Any` give bool.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReduceOp {
    Sum,
    Mean,
    /// Divides the squared deviations by max(n - correction, 0).
    Var {
        correction: f64,
    },
    Prod,
    Max,
    Min,
    ArgMax,
    ArgMin,
    /// Shifted by the (finite) max, so large inputs don't overflow.
    LogSumExp,
    All,
    Any,
}

impl ReduceOp {
    /// The op's name in errors.
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Mean => "mean",
            ReduceOp::Var { .. } => "var",
            ReduceOp::Prod => "prod",
            ReduceOp::Max => "max",
            ReduceOp::Min => "min",
            ReduceOp::ArgMax => "argmax",
            ReduceOp::ArgMin => "argmin",
            ReduceOp::LogSumExp => "logsumexp",
            ReduceOp::All => "all",
            ReduceOp::Any => "any",
        }
    }
}

/// The reduction kernels a backend provides (see `backend`).
pub trait ReduceKernels {
    /// `op` over `axes` (sorted, unique, in range; possibly empty, possibly of size 0)
    /// of a strided view, into a new contiguous tensor of `shape` (the reduced shape,
    /// with or without kept dims). The caller has checked what is an error for `op`
    /// (an empty max, say); the kernel computes what the CPU computes for the rest.
    fn reduce(&self, op: ReduceOp, x: &Tensor, axes: &[usize], shape: &[usize]) -> Result<Tensor>;
}

/// Output shape of a reduction over sorted `axes`.
fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    let mut out = vec![];
    for (d, &n) in shape.iter().enumerate() {
        if axes.contains(&d) {
            if keepdims {
                out.push(1);
            }
        } else {
            out.push(n);
        }
    }
    out
}

impl Tensor {
    fn reduce_axes(&self, axes: Option<&[isize]>) -> Result<Vec<usize>> {
        normalize_axes(axes, self.ndim())
    }

    /// Runs `op` over `ax` on the tensor's backend.
    fn reduce_on_backend(&self, op: ReduceOp, ax: &[usize], shape: &[usize]) -> Result<Tensor> {
        crate::backend::for_tensors(op.name(), &[self])?.reduce(op, self, ax, shape)
    }

    /// `op` over `axes`, with `keepdims`: the common front of most reductions.
    fn reduce_fwd(&self, op: ReduceOp, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        let ax = self.reduce_axes(axes)?;
        let shape = reduced_shape(self.shape(), &ax, keepdims);
        self.reduce_on_backend(op, &ax, &shape)
    }

    pub fn std(&self, axes: Option<&[isize]>, correction: f64, keepdims: bool) -> Result<Tensor> {
        let var = self.var(axes, correction, keepdims)?;
        if !var.requires_grad() {
            return var.sqrt();
        }
        // Where var = 0, sqrt's derivative is infinite and var's gradient is 0: their
        // product is NaN. PyTorch masks std's gradient to 0 there; so does this: the sqrt
        // is taken of 1 at those entries and `where` sends them no gradient.
        let zero = var.eq_(0.0)?;
        let safe = Tensor::where_(&zero, 1.0, &var)?.sqrt()?;
        Tensor::where_(&zero, 0.0, &safe)
    }

    fn check_nonempty(&self, ax: &[usize], what: &str) -> Result<()> {
        if ax.iter().any(|&a| self.shape()[a] == 0)
            || (self.numel() == 0 && ax.is_empty() && self.ndim() == 0)
        {
            bail!(
                Value,
                "zero-size array to reduction operation {what} which has no identity (shape {})",
                fmt_shape(self.shape())
            )
        }
        Ok(())
    }

    pub fn max(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.recorded(axes, keepdims, Reduction::Extreme(true), |t| {
            t.extreme(ReduceOp::Max, axes, keepdims, "maximum")
        })
    }
    pub fn min(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.recorded(axes, keepdims, Reduction::Extreme(false), |t| {
            t.extreme(ReduceOp::Min, axes, keepdims, "minimum")
        })
    }
    pub fn sum(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        if self.dtype().is_complex() {
            return self.complex_as_pairs(axes, |r, ax| r.sum(Some(ax), keepdims));
        }
        self.recorded(axes, keepdims, Reduction::Sum, |t| {
            t.reduce_fwd(ReduceOp::Sum, axes, keepdims)
        })
    }
    pub fn mean(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        if self.dtype().is_complex() {
            return self.complex_as_pairs(axes, |r, ax| r.mean(Some(ax), keepdims));
        }
        self.recorded(axes, keepdims, Reduction::Mean, |t| {
            t.reduce_fwd(ReduceOp::Mean, axes, keepdims)
        })
    }
    pub fn prod(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.recorded(axes, keepdims, Reduction::Prod, |t| {
            t.reduce_fwd(ReduceOp::Prod, axes, keepdims)
        })
    }
    /// log(sum(exp(x))) over axes, shifted by the max so large logits don't overflow.
    pub fn logsumexp(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.recorded(axes, keepdims, Reduction::LogSumExp, |t| {
            t.reduce_fwd(ReduceOp::LogSumExp, axes, keepdims)
        })
    }
    /// Variance with `correction` (0: biased, 1: unbiased), computed in two passes.
    pub fn var(&self, axes: Option<&[isize]>, correction: f64, keepdims: bool) -> Result<Tensor> {
        self.recorded(axes, keepdims, Reduction::Var(correction), |t| {
            t.reduce_fwd(ReduceOp::Var { correction }, axes, keepdims)
        })
    }

    /// A linear reduction of a complex tensor: `f` reduces the (real, imaginary) pairs
    /// over the same axes, and the pairs of the result are read back as complex.
    fn complex_as_pairs(
        &self,
        axes: Option<&[isize]>,
        f: impl FnOnce(&Tensor, &[isize]) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let ax: Vec<isize> = self
            .reduce_axes(axes)?
            .iter()
            .map(|&a| a as isize)
            .collect();
        let pairs = f(&self.view_as_real()?, &ax)?;
        pairs.contiguous()?.view_as_complex()
    }

    /// Runs a reduction's forward untracked and records it as one node.
    fn recorded(
        &self,
        axes: Option<&[isize]>,
        keepdims: bool,
        kind: Reduction,
        f: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let ax = self.reduce_axes(axes)?;
        let out = crate::autograd::untracked(|| f(self))?;
        Ok(backward::record_reduce(out, kind, self, ax, keepdims))
    }
    /// Minimum over all elements (a 0-d tensor).
    pub fn min_all(&self) -> Result<Tensor> {
        self.min(None, false)
    }

    /// max or min: an error for an empty reduction (there is no identity).
    fn extreme(
        &self,
        op: ReduceOp,
        axes: Option<&[isize]>,
        keepdims: bool,
        what: &str,
    ) -> Result<Tensor> {
        let ax = self.reduce_axes(axes)?;
        self.check_nonempty(&ax, what)?;
        let shape = reduced_shape(self.shape(), &ax, keepdims);
        self.reduce_on_backend(op, &ax, &shape)
    }

    pub fn argmax(&self, axis: Option<isize>, keepdims: bool) -> Result<Tensor> {
        self.arg_extreme(ReduceOp::ArgMax, axis, keepdims, "argmax")
    }
    pub fn argmin(&self, axis: Option<isize>, keepdims: bool) -> Result<Tensor> {
        self.arg_extreme(ReduceOp::ArgMin, axis, keepdims, "argmin")
    }

    fn arg_extreme(
        &self,
        op: ReduceOp,
        axis: Option<isize>,
        keepdims: bool,
        what: &str,
    ) -> Result<Tensor> {
        if self.numel() == 0 && axis.is_none() {
            bail!(Value, "attempt to get {what} of an empty sequence")
        }
        // Over all elements, positions are in the flattened row-major order.
        let ax = match axis {
            None => (0..self.ndim()).collect::<Vec<_>>(),
            Some(a) => vec![normalize_axis(a, self.ndim())?],
        };
        self.check_nonempty(&ax, what)?;
        let shape = if axis.is_none() && keepdims {
            vec![1; self.ndim()]
        } else {
            reduced_shape(self.shape(), &ax, keepdims)
        };
        self.reduce_on_backend(op, &ax, &shape)
    }

    pub fn all(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.reduce_fwd(ReduceOp::All, axes, keepdims)
    }

    pub fn any(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.reduce_fwd(ReduceOp::Any, axes, keepdims)
    }
}
