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
//! The kernels sit behind `NormKernels` (CPU: rows.rs, group_norm.rs and batch_norm.rs,
//! wired in cpu.rs; wgpu: wgpu.rs and its .wgsl files, float32). Each forward saves the
//! per-row (or per-channel) `mean` and `rstd` (llm.c style); each backward is a fused
//! kernel reading x, dy, mean, rstd once or twice. Under `create_graph` the backward instead runs the composite formula
//! of `composite_grads` in differentiable tensor ops, so second derivatives work.
//! On the CPU, work is chunked with `device::cpu` helpers (fixed chunk boundaries, partial
//! sums combined in chunk order), so results are bitwise identical for any thread count;
//! on wgpu, every sum runs over blocks fixed by the shape and a fixed tree.

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
mod cpu;
pub mod group_norm;
pub mod layer_norm;
mod rows;
#[cfg(test)]
mod tests;
#[cfg(feature = "wgpu")]
mod wgpu;

pub use batch_norm::batch_norm;
pub use group_norm::group_norm;
pub use layer_norm::{layer_norm, rms_norm};

use crate::autograd::{record, sum_to};
pub(crate) use crate::ops::lanes::{shifted_sums, sum_map, sum_map2, Real};
pub(crate) use crate::ops::util::{slice, slice_mut};
use crate::tensor::shape::{fmt_shape, numel};
use crate::tensor::Tensor;
use crate::{bail, Result};

/// Which elements share statistics, as the backends' kernels see a norm (its input
/// viewed contiguous).
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// LayerNorm (`center`) and RMSNorm: `rows` rows of `len` elements, affine per
    /// element.
    Rows {
        rows: usize,
        len: usize,
        center: bool,
    },
    /// GroupNorm: rows of (sample, group), affine per channel.
    Group(group_norm::Geo),
    /// BatchNorm: statistics per channel, batch ones in `training`, running otherwise.
    Batch {
        geo: batch_norm::Geo,
        training: bool,
    },
}

/// BatchNorm's statistics: from the batch in training (then the running ones, when
/// given, are updated in place with `momentum` and the unbiased variance), the running
/// ones `(mean, var)` in eval.
#[derive(Clone, Copy)]
pub struct BatchMode<'a> {
    pub training: bool,
    pub running: Option<(&'a Tensor, &'a Tensor)>,
    pub momentum: f64,
}

/// The norm kernels a backend provides (see `backend`). Inputs are checked by the ops:
/// `xc` is contiguous, weight and bias are contiguous and of the parameters' shape, all
/// on one device with one float dtype.
pub trait NormKernels {
    /// LayerNorm, RMSNorm (`Kind::Rows`) or GroupNorm (`Kind::Group`) forward of `xc`:
    /// (y, per-row mean, per-row rstd).
    fn norm_rows(
        &self,
        xc: &Tensor,
        kind: Kind,
        w: Option<&Tensor>,
        b: Option<&Tensor>,
        eps: f64,
    ) -> Result<(Tensor, Tensor, Tensor)>;
    /// BatchNorm forward of `xc`: (y, per-channel mean, per-channel rstd).
    fn batch_norm(
        &self,
        xc: &Tensor,
        geo: batch_norm::Geo,
        w: Option<&Tensor>,
        b: Option<&Tensor>,
        mode: BatchMode<'_>,
        eps: f64,
    ) -> Result<(Tensor, Tensor, Tensor)>;
    /// The fused backward: dx (contiguous, x's shape) and, when `want_params`, dw and
    /// db in the parameters' shape `param`.
    fn norm_backward(
        &self,
        kind: Kind,
        st: &Stats,
        w: Option<&Tensor>,
        g: &Tensor,
        want_params: bool,
        param: &[usize],
    ) -> Result<Grads>;
}

/// A norm's input: a float tensor on any device that holds its dtype.
pub(crate) fn check_input(op: &str, x: &Tensor) -> Result<()> {
    crate::backend::for_tensors(op, &[x])?;
    if !x.dtype().is_float() {
        bail!(
            DType,
            "{op} needs a floating-point input (float32 or float64), got {}",
            x.dtype()
        )
    }
    Ok(())
}

/// `v` clamped at 0 from below (a variance computed as E[x^2] - E[x]^2 can round to a
/// tiny negative), NaN kept: a row or channel holding inf or NaN has a NaN variance and
/// must normalise to NaN, as in PyTorch (`f64::max` would turn NaN into 0 and give
/// +-inf outputs).
#[inline]
pub(crate) fn nonneg(v: f64) -> f64 {
    if v < 0.0 {
        0.0
    } else {
        v
    }
}

/// `1 / sqrt(var + eps)`, computed in f64.
#[inline]
pub(crate) fn rstd_of(var: f64, eps: f64) -> f64 {
    1.0 / (nonneg(var) + eps).sqrt()
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
    crate::backend::check_same_device(&format!("{op} ({what})"), x.device(), p.device())?;
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

/// An (N, C, *) input of batch_norm and group_norm with per-channel weight and bias:
/// the shared checks, then (n, c, s = the spatial size, weight, bias).
pub(crate) fn channel_input(
    op: &str,
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<(usize, usize, usize, Option<Tensor>, Option<Tensor>)> {
    check_input(op, x)?;
    if x.ndim() < 2 {
        bail!(
            Value,
            "{op}: expected an input of shape (N, C) or (N, C, *) with at least 2 dims, got {}",
            fmt_shape(x.shape())
        )
    }
    check_eps(op, eps)?;
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let w = check_param(op, "weight", weight, &[c], x)?;
    let b = check_param(op, "bias", bias, &[c], x)?;
    Ok((n, c, numel(&x.shape()[2..]), w, b))
}

/// eps must be a non-negative number (NaN is rejected too).
pub(crate) fn check_eps(op: &str, eps: f64) -> Result<()> {
    if !(eps >= 0.0) {
        bail!(Value, "{op}: eps must be non-negative, got {eps}")
    }
    Ok(())
}

/// The composite (differentiable) backward shared by all norms, for create_graph.
///
/// `x` and `g` are viewed so that the statistics run over `axes` (keepdims) and
/// `w` (already reshaped to broadcast) applies elementwise. With `fixed` = (mean, rstd)
/// the statistics are constants (BatchNorm in eval mode); otherwise they are recomputed
/// from `x` with tensor ops, so that the result is differentiable in x as well.
/// Returns (dx, g * xhat); the caller sums the latter (and g) to get dw (and db).
fn composite_grads(
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
fn param_grads(
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
pub type Grads = (Tensor, Option<Tensor>, Option<Tensor>);

/// How a norm's composite (create_graph) backward sees its input: x and dy are viewed
/// as `view`, the statistics run over `axes` of it (centred or not), the weight
/// broadcasts from `w_view`, and dw and db come back in the parameters' shape `param`.
/// `fixed` = (mean, rstd), shaped like `w_view`, makes the statistics constants
/// (BatchNorm in eval mode).
pub(crate) struct CompositeView {
    pub view: Vec<usize>,
    pub axes: Vec<isize>,
    pub w_view: Vec<usize>,
    pub param: Vec<usize>,
    pub center: bool,
    pub eps: f64,
    pub fixed: Option<(Tensor, Tensor)>,
}

impl CompositeView {
    fn grads(&self, xc: &Tensor, w: Option<&Tensor>, g: &Tensor) -> Result<Grads> {
        let (xv, gv) = (xc.reshape_usize(&self.view)?, g.reshape_usize(&self.view)?);
        let wv = w.map(|w| w.reshape_usize(&self.w_view)).transpose()?;
        let fixed = self.fixed.as_ref().map(|(m, r)| (m, r));
        let (dx, gxhat) = composite_grads(
            &xv,
            &gv,
            wv.as_ref(),
            &self.axes,
            self.center,
            self.eps,
            fixed,
        )?;
        let (dw, db) = param_grads(&gxhat, &gv, &self.w_view, &self.param)?;
        Ok((dx.reshape_usize(xc.shape())?, Some(dw), Some(db)))
    }
}

/// What a norm's forward saved for its fused backward, as slices of element type T:
/// the contiguous input, the weight, and the per-row (or per-channel) mean and rstd.
#[derive(Clone, Copy)]
pub(crate) struct Saved<'a, T> {
    pub x: &'a [T],
    pub w: Option<&'a [T]>,
    pub mean: &'a [T],
    pub rstd: &'a [T],
}

/// A norm's fused backward kernel (its geometry and flags are the implementing value):
/// writes dx, contiguous like x, and returns dw and db as Vecs in the parameters'
/// element order, empty when they are not wanted.
pub(crate) trait FusedBackward: Send + Sync + 'static {
    fn backward<T: Real>(&self, s: &Saved<'_, T>, dy: &[T], dx: &mut [T]) -> (Vec<T>, Vec<T>);
}

/// What a norm's forward keeps for its backward: the contiguous input `xc` (the input
/// itself when it was contiguous) and the per-row (or per-channel) mean and rstd.
pub struct Stats {
    pub xc: Tensor,
    pub mean: Tensor,
    pub rstd: Tensor,
}

/// Records one node for a norm: inputs [x, w?, b?] (`params` = [w, b]). Its backward
/// runs the backend's fused kernel for `kind` when grad mode is off (the normal
/// backward), and the composite formula of `cv` when it is on (create_graph).
pub(crate) fn record_norm(
    out: Tensor,
    name: &'static str,
    x: &Tensor,
    params: [Option<&Tensor>; 2],
    st: Stats,
    kind: Kind,
    cv: CompositeView,
) -> Tensor {
    let [w, b] = params;
    let inputs: Vec<&Tensor> = std::iter::once(x).chain(w).chain(b).collect();
    // Never the output: the node would keep itself alive.
    let kept = [Some(&st.xc), w, Some(&st.mean), Some(&st.rstd)].map(|t| t.cloned());
    let saved: Vec<&Tensor> = kept.iter().flatten().collect();
    let (has_w, has_b, w) = (w.is_some(), b.is_some(), w.cloned());
    record(out, name, &inputs, &saved, move |g| {
        let (dx, dw, db) = if crate::autograd::is_grad_enabled() {
            cv.grads(&st.xc, w.as_ref(), g)?
        } else {
            let be = crate::backend::for_tensors(name, &[&st.xc, g])?;
            be.norm_backward(kind, &st, w.as_ref(), g, has_w || has_b, &cv.param)?
        };
        debug_assert_eq!(dx.shape(), st.xc.shape());
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
