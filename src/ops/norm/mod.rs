//! Fused normalization layers: LayerNorm, RMSNorm, GroupNorm, BatchNorm.
//!
//! All four compute `y = (x - mean) * rstd * w + b` with `rstd = 1 / sqrt(var + eps)`
//! (RMSNorm: mean = 0, var = mean(x^2)); they differ only in which elements share the
//! statistics:
//!
//! | op         | statistics over                       | affine per      | file             |
//! |------------|---------------------------------------|-----------------|------------------|
//! | layer_norm | the trailing `normalized_shape` dims  | element of row  | `layer_norm.rs`  |
//! | rms_norm   | same, no centring                     | element of row  | `layer_norm.rs`  |
//! | group_norm | (sample, group): C/G channels x spatial| channel        | `group_norm.rs`  |
//! | batch_norm | channel: N x spatial                  | channel         | `batch_norm.rs`  |
//!
//! Each forward is one fused CPU kernel that saves the per-row (or per-channel) `mean`
//! and `rstd` (llm.c style); each backward is a fused kernel reading x, dy, mean, rstd
//! once or twice. Under `create_graph` the backward instead runs the composite formula
//! of `composite_grads` in differentiable tensor ops, so second derivatives work.
//! Work is chunked with `device::cpu` helpers (fixed chunk boundaries, partial sums
//! combined in chunk order), so results are bitwise identical for any thread count.

/// Asks the CPU to start loading `x` into cache, one request per 64-byte line: the row
/// kernel calls it on the head of the next row before the current row's output pass,
/// so that those reads overlap this row's arithmetic and stores.
#[inline(always)]
pub(crate) fn prefetch<T>(x: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let (p, bytes) = (x.as_ptr() as *const i8, std::mem::size_of_val(x));
        for off in (0..bytes).step_by(64) {
            // SAFETY: prefetch never faults, and the address lies inside `x`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.add(off)) }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

pub mod batch_norm;
pub mod group_norm;
pub mod layer_norm;
mod rows;
#[cfg(test)]
mod tests;

pub use batch_norm::batch_norm;
pub use group_norm::group_norm;
pub use layer_norm::{layer_norm, rms_norm};

use crate::autograd::{record, sum_to};
use crate::device::Device;
pub(crate) use crate::ops::lanes::{shifted_sums, sum_map, sum_map2, Real};
use crate::tensor::shape::fmt_shape;
use crate::tensor::{Element, Tensor};
use crate::{bail, Result};

/// `1 / sqrt(var + eps)`, computed in f64.
#[inline]
pub(crate) fn rstd_of(var: f64, eps: f64) -> f64 {
    1.0 / (var.max(0.0) + eps).sqrt()
}

/// The input checks every norm shares: a CPU float tensor.
pub(crate) fn check_input(op: &str, x: &Tensor) -> Result<()> {
    if x.device() != Device::Cpu {
        bail!(
            Runtime,
            "{op} is CPU-only for now: got a tensor on {}; move it with .to('cpu')",
            x.device().name()
        )
    }
    if !x.dtype().is_float() {
        bail!(
            DType,
            "{op} needs a floating-point input (float32 or float64), got {}",
            x.dtype()
        )
    }
    Ok(())
}

/// Checks an optional parameter (weight, bias, running stat) against its expected shape
/// and the input's dtype and device; returns it contiguous.
pub(crate) fn check_param(
    op: &str,
    what: &str,
    p: Option<&Tensor>,
    shape: &[usize],
    x: &Tensor,
) -> Result<Option<Tensor>> {
    let Some(p) = p else { return Ok(None) };
    if p.device() != Device::Cpu {
        bail!(
            Runtime,
            "{op} is CPU-only for now: {what} is on {}; move it with .to('cpu')",
            p.device().name()
        )
    }
    if p.shape() != shape {
        bail!(
            Shape,
            "{op}: {what} should have shape {} but has shape {}",
            fmt_shape(shape),
            fmt_shape(p.shape())
        )
    }
    if p.dtype() != x.dtype() {
        bail!(
            DType,
            "{op}: {what} has dtype {} but the input has dtype {}; convert one of them",
            p.dtype(),
            x.dtype()
        )
    }
    Ok(Some(p.contiguous()?))
}

/// A contiguous slice of a CPU tensor of element type T (callers checked dtype/device).
pub(crate) fn slice<T: Element>(t: &Tensor) -> &[T] {
    t.contiguous_slice::<T>()
        .expect("norm kernels get contiguous CPU tensors of their dtype")
}

/// A writable slice of a tensor this op just allocated.
#[allow(clippy::mut_from_ref)]
pub(crate) fn slice_mut<T: Element>(t: &Tensor) -> &mut [T] {
    // SAFETY: `t` is a fresh contiguous CPU tensor that nothing else references yet.
    unsafe { std::slice::from_raw_parts_mut(t.storage().cpu_ptr::<T>(), t.numel()) }
}

/// The composite (differentiable) backward shared by all norms, for create_graph.
///
/// `x` and `g` are viewed so that the statistics run over `axes` (keepdims) and
/// `w` (already reshaped to broadcast) applies elementwise. With `fixed` = (mean, rstd)
/// the statistics are constants (BatchNorm in eval mode); otherwise they are recomputed
/// from `x` with tensor ops, so that the result is differentiable in x as well.
/// Returns (dx, g * xhat); the caller sums the latter (and g) to get dw (and db).
pub(crate) fn composite_grads(
    x: &Tensor,
    g: &Tensor,
    w: Option<&Tensor>,
    axes: &[isize],
    center: bool,
    eps: f64,
    fixed: Option<(&Tensor, &Tensor)>,
) -> Result<(Tensor, Tensor)> {
    let dn = match w {
        Some(w) => g.mul(w)?,
        None => g.clone(),
    };
    if let Some((mean, rstd)) = fixed {
        let xhat = x.sub(mean)?.mul(rstd)?;
        return Ok((dn.mul(rstd)?, g.mul(&xhat)?));
    }
    let xc = if center {
        x.sub(&x.mean(Some(axes), true)?)?
    } else {
        x.clone()
    };
    let var = xc.mul(&xc)?.mean(Some(axes), true)?;
    let rstd = var.add(eps)?.sqrt()?.binary_scalar(
        crate::tensor::Scalar::Float(1.0),
        crate::BinaryOp::Div,
        true,
    )?;
    let xhat = xc.mul(&rstd)?;
    let mut inner = dn.sub(&xhat.mul(&dn.mul(&xhat)?.mean(Some(axes), true)?)?)?;
    if center {
        inner = inner.sub(&dn.mean(Some(axes), true)?)?;
    }
    Ok((inner.mul(&rstd)?, g.mul(&xhat)?))
}

/// dw and db of a composite backward: `gxhat` and `g` summed down to `view` (the shape
/// w was broadcast from), then given the parameter's own shape.
pub(crate) fn param_grads(
    gxhat: &Tensor,
    g: &Tensor,
    view: &[usize],
    shape: &[usize],
) -> Result<(Tensor, Tensor)> {
    Ok((
        sum_to(gxhat, view)?.reshape_usize(shape)?,
        sum_to(g, view)?.reshape_usize(shape)?,
    ))
}

/// Gradients (dx, dw, db) from either backward.
pub(crate) type Grads = (Tensor, Option<Tensor>, Option<Tensor>);

/// Records one node for a norm: inputs [x, w?, b?]. The backward calls `fused` when
/// grad mode is off (the normal backward) and `composite` when it is on (create_graph).
/// `saved` must not contain the output (the node would keep itself alive).
pub(crate) fn record_norm(
    out: Tensor,
    name: &'static str,
    x: &Tensor,
    w: Option<&Tensor>,
    b: Option<&Tensor>,
    saved: &[&Tensor],
    fused: impl Fn(&Tensor) -> Result<Grads> + Send + Sync + 'static,
    composite: impl Fn(&Tensor) -> Result<Grads> + Send + Sync + 'static,
) -> Tensor {
    let inputs: Vec<&Tensor> = std::iter::once(x).chain(w).chain(b).collect();
    let (has_w, has_b) = (w.is_some(), b.is_some());
    let xshape = x.shape().to_vec();
    record(out, name, &inputs, saved, move |g| {
        let (dx, dw, db) = if crate::autograd::is_grad_enabled() {
            composite(g)?
        } else {
            fused(&g.contiguous()?)?
        };
        debug_assert_eq!(dx.shape(), &xshape[..]);
        let mut grads = vec![Some(dx)];
        if has_w {
            grads.push(dw);
        }
        if has_b {
            grads.push(db);
        }
        Ok(grads)
    })
}
