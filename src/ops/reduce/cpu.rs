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

/// Float-valued results from f64 accumulators, rounded once: float64, float16 and
/// bfloat16 inputs keep their dtype; float32, integers and bools give float32.
fn float_out(dt: DType, v: Vec<f64>, shape: Vec<usize>) -> Result<Tensor> {
    match dt {
        DType::F64 => from_accs(v, shape),
        DType::F16 => from_accs(cast_vec::<crate::tensor::dtype::f16>(v)?, shape),
        DType::BF16 => from_accs(cast_vec::<crate::tensor::dtype::bf16>(v)?, shape),
        _ => from_accs(cast_vec::<f32>(v)?, shape),
    }
}

/// Integer sums and products accumulate in (wrapping) 64 bits: int64 for signed
/// integers and bools, uint64 for unsigned ones (the standard's default for each; the
/// wrapped bits are the same either way).
fn int_out(dt: DType, v: Vec<i64>, shape: Vec<usize>) -> Result<Tensor> {
    if dt.is_unsigned() {
        from_accs(map_vec(&v, |&s| s as u64)?, shape)
    } else {
        from_accs(v, shape)
    }
}

fn refuse_complex(x: &Tensor, what: &str) -> Result<()> {
    if x.dtype().is_complex() {
        crate::bail!(DType, "{what} is not supported for complex tensors")
    }
    Ok(())
}

/// Sums per output over `axes` as f64 (floats): shared by sum, mean and var.
fn sum_f64(x: &Tensor, axes: &[usize]) -> Result<Vec<f64>> {
    dispatch!(x.dtype(), T => reduce::<T, _>(x, axes, &SumF))
}

/// Floats accumulate in f64; integers and bools sum to int64 (wrapping, as NumPy).
fn sum(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    refuse_complex(
        x,
        "sum (the op layer sums complex tensors as pairs of reals)",
    )?;
    match x.dtype() {
        dt if dt.is_float() => float_out(dt, sum_f64(x, ax)?, shape),
        dt => int_out(
            dt,
            dispatch!(dt, T => reduce::<T, _>(x, ax, &SUM_I))?,
            shape,
        ),
    }
}

fn mean(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    refuse_complex(
        x,
        "mean (the op layer averages complex tensors as pairs of reals)",
    )?;
    let count: usize = ax.iter().map(|&a| x.shape()[a]).product();
    let mut sums = sum_f64(x, ax)?;
    sums.iter_mut().for_each(|s| *s /= count as f64);
    float_out(x.dtype(), sums, shape)
}

/// Two passes: the means, then the squared deviations from them.
fn var(x: &Tensor, ax: &[usize], correction: f64, shape: Vec<usize>) -> Result<Tensor> {
    refuse_complex(x, "var")?;
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
    if x.dtype().is_complex() {
        return super::complex::prod(x, ax, shape);
    }
    match x.dtype() {
        dt if dt.is_float() => float_out(
            dt,
            dispatch!(dt, T => reduce::<T, _>(x, ax, &PROD_F))?,
            shape,
        ),
        dt => int_out(
            dt,
            dispatch!(dt, T => reduce::<T, _>(x, ax, &PROD_I))?,
            shape,
        ),
    }
}

fn extreme<const MAX: bool>(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    refuse_complex(x, if MAX { "max" } else { "min" })?;
    dispatch!(x.dtype(), T => from_accs(reduce::<T, _>(x, ax, &Extreme::<MAX>)?, shape))
}

/// Positions in the reduced index space (row-major over the reduced dims).
fn arg_extreme<const MAX: bool>(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    refuse_complex(x, if MAX { "argmax" } else { "argmin" })?;
    let pos: Vec<i64> = dispatch!(x.dtype(), T => map_vec(
        &reduce::<T, _>(x, ax, &ArgExtreme::<MAX>)?,
        |&(_, p)| p as i64,
    )?);
    from_accs(pos, shape)
}

/// log(sum(exp(x))) over axes, shifted by the max so large logits don't overflow.
fn logsumexp(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    refuse_complex(x, "logsumexp")?;
    let out_dt = x.dtype().to_float();
    let x = x.to_dtype(out_dt.compute())?;
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
    float_out(out_dt, sums, shape)
}

/// all (ALL) / any of truthiness, as bool.
fn logical<const ALL: bool>(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    dispatch!(x.dtype(), T => from_accs(reduce::<T, _>(x, ax, &Logical::<ALL>)?, shape))
}
