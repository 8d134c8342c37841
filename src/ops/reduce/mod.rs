//! Reductions over axes with `keepdims`: sum, mean, var/std (with `correction`), prod,
//! max/min, argmax/argmin, logsumexp, all/any. Floats accumulate in f64.

pub mod kernels;
#[cfg(feature = "wgpu")]
pub mod wgpu;

use crate::autograd::formulas::Reduction;
use crate::device::Device;
use crate::tensor::shape::{fmt_shape, normalize_axes, normalize_axis};
use crate::tensor::storage::{try_vec, try_with_capacity};
use crate::tensor::{DType, Element, Tensor};
use crate::{bail, dispatch, Result};
use kernels::*;

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

/// The output tensor of a reduction from its accumulators (one per output element).
/// `from_vec` copies into a fresh storage, which can fail for a huge output.
fn from_accs<U: Element>(v: Vec<U>, shape: Vec<usize>) -> Result<Tensor> {
    Tensor::from_vec(v, &shape)
}

/// f64 accumulators as `U`, fallibly: the length is the output's, which a broadcast view
/// makes as large as the caller likes.
fn cast_vec<U: Element>(v: Vec<f64>) -> Result<Vec<U>> {
    map_vec(&v, |&s| U::from_f64(s))
}

/// `v.iter().map(f).collect()` with a fallible allocation.
fn map_vec<A, B>(v: &[A], f: impl Fn(&A) -> B) -> Result<Vec<B>> {
    let mut out = try_with_capacity(v.len())?;
    out.extend(v.iter().map(f));
    Ok(out)
}

impl Tensor {
    fn reduce_axes(&self, axes: Option<&[isize]>) -> Result<Vec<usize>> {
        normalize_axes(axes, self.ndim())
    }

    fn cpu_only(&self, what: &str) -> Result<()> {
        if self.device() != Device::Cpu {
            bail!(
                Device,
                "{what} is not implemented on {} yet; move the tensor with .to(\"cpu\")",
                self.device()
            )
        }
        Ok(())
    }

    /// Sums per output over `axes` as f64 (floats) — shared by sum, mean and var.
    fn sum_f64(&self, axes: &[usize]) -> Result<Vec<f64>> {
        dispatch!(self.dtype(), T => reduce::<T, _>(self, axes, &SumF))
    }

    fn sum_fwd(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        let ax = self.reduce_axes(axes)?;
        let shape = reduced_shape(self.shape(), &ax, keepdims);
        crate::backend::for_tensors("sum", &[self])?.sum(self, &ax, &shape)
    }

    /// The CPU sum: floats accumulate in f64.
    pub(crate) fn sum_cpu(&self, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
        match self.dtype() {
            DType::F32 => from_accs(cast_vec::<f32>(self.sum_f64(ax)?)?, shape),
            DType::F64 => from_accs(self.sum_f64(ax)?, shape),
            dt => from_accs(dispatch!(dt, T => reduce::<T, _>(self, ax, &SUM_I))?, shape),
        }
    }

    fn mean_fwd(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.cpu_only("mean")?;
        let ax = self.reduce_axes(axes)?;
        let count: usize = ax.iter().map(|&a| self.shape()[a]).product();
        let shape = reduced_shape(self.shape(), &ax, keepdims);
        let mut sums = self.sum_f64(&ax)?;
        sums.iter_mut().for_each(|s| *s /= count as f64);
        float_out(self.dtype(), sums, shape)
    }

    fn var_fwd(&self, axes: Option<&[isize]>, correction: f64, keepdims: bool) -> Result<Tensor> {
        self.cpu_only("var")?;
        let ax = self.reduce_axes(axes)?;
        let count: usize = ax.iter().map(|&a| self.shape()[a]).product();
        let shape = reduced_shape(self.shape(), &ax, keepdims);
        let mut means = self.sum_f64(&ax)?;
        means.iter_mut().for_each(|s| *s /= count as f64);
        let mut ss = dispatch!(self.dtype(), T => reduce::<T, _>(self, &ax, &SumShifted { shift: &means, exp: false }))?;
        // NumPy divides by max(n - correction, 0): with no degrees of freedom left the
        // variance is inf (or NaN where the squared deviations sum to 0 or NaN).
        let denom = (count as f64 - correction).max(0.0);
        ss.iter_mut().for_each(|s| *s /= denom);
        float_out(self.dtype(), ss, shape)
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

    fn prod_fwd(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.cpu_only("prod")?;
        let ax = self.reduce_axes(axes)?;
        let shape = reduced_shape(self.shape(), &ax, keepdims);
        match self.dtype() {
            DType::F32 => from_accs(
                cast_vec::<f32>(reduce::<f32, _>(self, &ax, &PROD_F)?)?,
                shape,
            ),
            DType::F64 => from_accs(reduce::<f64, _>(self, &ax, &PROD_F)?, shape),
            dt => from_accs(
                dispatch!(dt, T => reduce::<T, _>(self, &ax, &PROD_I))?,
                shape,
            ),
        }
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
            t.extreme::<true>(axes, keepdims, "maximum")
        })
    }
    pub fn min(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.recorded(axes, keepdims, Reduction::Extreme(false), |t| {
            t.extreme::<false>(axes, keepdims, "minimum")
        })
    }
    pub fn sum(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.recorded(axes, keepdims, Reduction::Sum, |t| {
            t.sum_fwd(axes, keepdims)
        })
    }
    pub fn mean(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.recorded(axes, keepdims, Reduction::Mean, |t| {
            t.mean_fwd(axes, keepdims)
        })
    }
    pub fn prod(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.recorded(axes, keepdims, Reduction::Prod, |t| {
            t.prod_fwd(axes, keepdims)
        })
    }
    pub fn logsumexp(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.recorded(axes, keepdims, Reduction::LogSumExp, |t| {
            t.logsumexp_fwd(axes, keepdims)
        })
    }
    /// Variance with `correction` (0: biased, 1: unbiased), computed in two passes.
    pub fn var(&self, axes: Option<&[isize]>, correction: f64, keepdims: bool) -> Result<Tensor> {
        self.recorded(axes, keepdims, Reduction::Var(correction), |t| {
            t.var_fwd(axes, correction, keepdims)
        })
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
        Ok(crate::autograd::formulas::record_reduce(
            out, kind, self, ax, keepdims,
        ))
    }
    /// Minimum over all elements (a 0-d tensor).
    pub fn min_all(&self) -> Result<Tensor> {
        self.min(None, false)
    }

    fn extreme<const MAX: bool>(
        &self,
        axes: Option<&[isize]>,
        keepdims: bool,
        what: &str,
    ) -> Result<Tensor> {
        self.cpu_only(what)?;
        let ax = self.reduce_axes(axes)?;
        self.check_nonempty(&ax, what)?;
        let shape = reduced_shape(self.shape(), &ax, keepdims);
        dispatch!(self.dtype(), T => from_accs(reduce::<T, _>(self, &ax, &Extreme::<MAX>)?, shape))
    }

    pub fn argmax(&self, axis: Option<isize>, keepdims: bool) -> Result<Tensor> {
        self.arg_extreme::<true>(axis, keepdims, "argmax")
    }
    pub fn argmin(&self, axis: Option<isize>, keepdims: bool) -> Result<Tensor> {
        self.arg_extreme::<false>(axis, keepdims, "argmin")
    }

    fn arg_extreme<const MAX: bool>(
        &self,
        axis: Option<isize>,
        keepdims: bool,
        what: &str,
    ) -> Result<Tensor> {
        self.cpu_only(what)?;
        if self.numel() == 0 && axis.is_none() {
            bail!(Value, "attempt to get {what} of an empty sequence")
        }
        let (src, ax) = match axis {
            // Over all elements: positions are in the flattened row-major order.
            None => (self.clone(), (0..self.ndim()).collect::<Vec<_>>()),
            Some(a) => (self.clone(), vec![normalize_axis(a, self.ndim())?]),
        };
        src.check_nonempty(&ax, what)?;
        let shape = if axis.is_none() && keepdims {
            vec![1; self.ndim()]
        } else {
            reduced_shape(self.shape(), &ax, keepdims)
        };
        let pos: Vec<i64> = dispatch!(src.dtype(), T => map_vec(
            &reduce::<T, _>(&src, &ax, &ArgExtreme::<MAX>)?,
            |&(_, p)| p as i64,
        )?);
        from_accs(pos, shape)
    }

    /// log(sum(exp(x))) over axes, shifted by the max so large logits don't overflow.
    fn logsumexp_fwd(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.cpu_only("logsumexp")?;
        let ax = self.reduce_axes(axes)?;
        let shape = reduced_shape(self.shape(), &ax, keepdims);
        let x = self.to_dtype(self.dtype().to_float())?;
        // The max of each output, or 0 where it is not finite (or the reduced dims are
        // empty): the shift subtracted before exp.
        let shift: Vec<f64> = if ax.iter().any(|&a| x.shape()[a] == 0) {
            try_vec(crate::tensor::shape::numel(&shape), 0.0)?
        } else {
            dispatch!(x.dtype(), T => map_vec(&reduce::<T, _>(&x, &ax, &Extreme::<true>)?, |v| {
                let m = v.to_f64();
                if m.is_finite() { m } else { 0.0 }
            })?)
        };
        let mut sums = dispatch!(x.dtype(), T => reduce::<T, _>(&x, &ax, &SumShifted { shift: &shift, exp: true }))?;
        sums.iter_mut()
            .zip(&shift)
            .for_each(|(s, &c)| *s = s.ln() + c);
        float_out(x.dtype(), sums, shape)
    }

    pub fn all(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.cpu_only("all")?;
        let ax = self.reduce_axes(axes)?;
        let shape = reduced_shape(self.shape(), &ax, keepdims);
        dispatch!(self.dtype(), T => from_accs(reduce::<T, _>(self, &ax, &Logical::<true>)?, shape))
    }

    pub fn any(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
        self.cpu_only("any")?;
        let ax = self.reduce_axes(axes)?;
        let shape = reduced_shape(self.shape(), &ax, keepdims);
        dispatch!(self.dtype(), T => from_accs(reduce::<T, _>(self, &ax, &Logical::<false>)?, shape))
    }
}

/// Float-valued results: float32 for float32/int/bool inputs, float64 for float64.
fn float_out(dt: DType, v: Vec<f64>, shape: Vec<usize>) -> Result<Tensor> {
    if dt == DType::F64 {
        from_accs(v, shape)
    } else {
        from_accs(cast_vec::<f32>(v)?, shape)
    }
}

/// The reduction kernels a backend provides (see `backend`).
pub trait ReduceKernels {
    /// Sum over `axes` (sorted, unique) into a contiguous tensor of `shape` (the
    /// reduced shape, with or without kept dims).
    fn sum(&self, x: &Tensor, axes: &[usize], shape: &[usize]) -> Result<Tensor>;
}

impl ReduceKernels for crate::backend::Cpu {
    fn sum(&self, x: &Tensor, axes: &[usize], shape: &[usize]) -> Result<Tensor> {
        x.sum_cpu(axes, shape.to_vec())
    }
}

#[cfg(feature = "wgpu")]
impl ReduceKernels for crate::backend::Wgpu {
    fn sum(&self, x: &Tensor, axes: &[usize], shape: &[usize]) -> Result<Tensor> {
        if x.dtype() != DType::F32 {
            bail!(
                DType,
                "sum on wgpu supports float32 tensors, got {}",
                x.dtype()
            )
        }
        if axes.is_empty() {
            return crate::ops::copy::to_contiguous(x)?.reshape_usize(shape);
        }
        let out = wgpu::sum(x.storage().wgpu()?, x.layout(), axes)?;
        let n = crate::tensor::shape::numel(shape);
        Ok(Tensor::from_storage(
            crate::tensor::Storage::from_wgpu(out, DType::F32, n),
            shape,
        ))
    }
}
