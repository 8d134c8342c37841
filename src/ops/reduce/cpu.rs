//! The CPU side of reductions: the `Reducer`s of `kernels.rs` driven over a strided
//! view. Floats accumulate in f64 and are rounded to the output dtype at the end.

use super::kernels::*;
use super::{ReduceKernels, ReduceOp};
use crate::backend::Cpu;
use crate::tensor::shape::numel;
use crate::tensor::storage::{try_vec, try_with_capacity};
use crate::tensor::{DType, Element, Tensor};
use crate::{dispatch, Result};

impl ReduceKernels for Cpu {
    fn reduce(&self, op: ReduceOp, x: &Tensor, axes: &[usize], shape: &[usize]) -> Result<Tensor> {
        let shape = shape.to_vec();
        match op {
            ReduceOp::Sum => sum(x, axes, shape),
            ReduceOp::Mean => mean(x, axes, shape),
            ReduceOp::Var { correction } => var(x, axes, correction, shape),
            ReduceOp::Prod => prod(x, axes, shape),
            ReduceOp::Max => extreme::<true>(x, axes, shape),
            ReduceOp::Min => extreme::<false>(x, axes, shape),
            ReduceOp::ArgMax => arg_extreme::<true>(x, axes, shape),
            ReduceOp::ArgMin => arg_extreme::<false>(x, axes, shape),
            ReduceOp::LogSumExp => logsumexp(x, axes, shape),
            ReduceOp::All => logical::<true>(x, axes, shape),
            ReduceOp::Any => logical::<false>(x, axes, shape),
        }
    }
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

/// Float-valued results: float32 for float32/int/bool inputs, float64 for float64.
fn float_out(dt: DType, v: Vec<f64>, shape: Vec<usize>) -> Result<Tensor> {
    if dt == DType::F64 {
        from_accs(v, shape)
    } else {
        from_accs(cast_vec::<f32>(v)?, shape)
    }
}

/// Sums per output over `axes` as f64 (floats): shared by sum, mean and var.
fn sum_f64(x: &Tensor, axes: &[usize]) -> Result<Vec<f64>> {
    dispatch!(x.dtype(), T => reduce::<T, _>(x, axes, &SumF))
}

/// Floats accumulate in f64; integers and bools sum to int64 (wrapping, as NumPy).
fn sum(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    match x.dtype() {
        DType::F32 => from_accs(cast_vec::<f32>(sum_f64(x, ax)?)?, shape),
        DType::F64 => from_accs(sum_f64(x, ax)?, shape),
        dt => from_accs(dispatch!(dt, T => reduce::<T, _>(x, ax, &SUM_I))?, shape),
    }
}

fn mean(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    let count: usize = ax.iter().map(|&a| x.shape()[a]).product();
    let mut sums = sum_f64(x, ax)?;
    sums.iter_mut().for_each(|s| *s /= count as f64);
    float_out(x.dtype(), sums, shape)
}

/// Two passes: the means, then the squared deviations from them.
fn var(x: &Tensor, ax: &[usize], correction: f64, shape: Vec<usize>) -> Result<Tensor> {
    let count: usize = ax.iter().map(|&a| x.shape()[a]).product();
    let mut means = sum_f64(x, ax)?;
    means.iter_mut().for_each(|s| *s /= count as f64);
    let mut ss = dispatch!(x.dtype(), T => reduce::<T, _>(x, ax, &SumShifted { shift: &means, exp: false }))?;
    // NumPy divides by max(n - correction, 0): with no degrees of freedom left the
    // variance is inf (or NaN where the squared deviations sum to 0 or NaN).
    let denom = (count as f64 - correction).max(0.0);
    ss.iter_mut().for_each(|s| *s /= denom);
    float_out(x.dtype(), ss, shape)
}

fn prod(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    match x.dtype() {
        DType::F32 => from_accs(cast_vec::<f32>(reduce::<f32, _>(x, ax, &PROD_F)?)?, shape),
        DType::F64 => from_accs(reduce::<f64, _>(x, ax, &PROD_F)?, shape),
        dt => from_accs(dispatch!(dt, T => reduce::<T, _>(x, ax, &PROD_I))?, shape),
    }
}

fn extreme<const MAX: bool>(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    dispatch!(x.dtype(), T => from_accs(reduce::<T, _>(x, ax, &Extreme::<MAX>)?, shape))
}

/// Positions in the reduced index space (row-major over the reduced dims).
fn arg_extreme<const MAX: bool>(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    let pos: Vec<i64> = dispatch!(x.dtype(), T => map_vec(
        &reduce::<T, _>(x, ax, &ArgExtreme::<MAX>)?,
        |&(_, p)| p as i64,
    )?);
    from_accs(pos, shape)
}

/// log(sum(exp(x))) over axes, shifted by the max so large logits don't overflow.
fn logsumexp(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    let x = x.to_dtype(x.dtype().to_float())?;
    // The max of each output, or 0 where it is not finite (or the reduced dims are
    // empty): the shift subtracted before exp.
    let shift: Vec<f64> = if ax.iter().any(|&a| x.shape()[a] == 0) {
        try_vec(numel(&shape), 0.0)?
    } else {
        dispatch!(x.dtype(), T => map_vec(&reduce::<T, _>(&x, ax, &Extreme::<true>)?, |v| {
            let m = v.to_f64();
            if m.is_finite() { m } else { 0.0 }
        })?)
    };
    let mut sums = dispatch!(x.dtype(), T => reduce::<T, _>(&x, ax, &SumShifted { shift: &shift, exp: true }))?;
    sums.iter_mut()
        .zip(&shift)
        .for_each(|(s, &c)| *s = s.ln() + c);
    float_out(x.dtype(), sums, shape)
}

/// all (ALL) / any of truthiness, as bool.
fn logical<const ALL: bool>(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    dispatch!(x.dtype(), T => from_accs(reduce::<T, _>(x, ax, &Logical::<ALL>)?, shape))
}
