//! LayerNorm and RMSNorm over the trailing `normalized_shape` dims.
//!
//! layer_norm: y = (x - mean) / sqrt(var + eps) * w + b, biased variance per row.
//! rms_norm:   y = x / sqrt(mean(x^2) + eps) * w; eps None = the dtype's machine epsilon.
//! The input is viewed as (rows, len) with len = prod(normalized_shape); the kernels are
//! in `rows.rs`.

use super::{check_eps, check_input, check_param, record_norm, CompositeView, Kind, Real, Stats};
use crate::tensor::shape::{fmt_shape, numel};
use crate::tensor::{DType, Tensor};
use crate::{bail, Result};

/// `torch.nn.functional.layer_norm`.
pub fn layer_norm(
    x: &Tensor,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    row_norm("layer_norm", x, normalized_shape, weight, bias, eps, true)
}

/// `torch.nn.functional.rms_norm`.
pub fn rms_norm(
    x: &Tensor,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    eps: Option<f64>,
) -> Result<Tensor> {
    let eps = eps.unwrap_or(match x.dtype() {
        DType::F64 => <f64 as Real>::EPSILON,
        _ => <f32 as Real>::EPSILON,
    });
    row_norm("rms_norm", x, normalized_shape, weight, None, eps, false)
}

fn row_norm(
    op: &'static str,
    x: &Tensor,
    ns: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
    center: bool,
) -> Result<Tensor> {
    check_input(op, x)?;
    if ns.is_empty() {
        bail!(Value, "{op}: expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, but got normalized_shape = []")
    }
    let nd = x.ndim();
    if nd < ns.len() || x.shape()[nd - ns.len()..] != *ns {
        bail!(
            Shape,
            "{op}: given normalized_shape={}, expected input with shape (*, {}), but got input of size {}",
            fmt_shape(ns),
            ns.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "),
            fmt_shape(x.shape())
        )
    }
    check_eps(op, eps)?;
    let w = check_param(op, "weight", weight, ns, x)?;
    let b = check_param(op, "bias", bias, ns, x)?;
    let len = numel(ns);
    let rows = numel(&x.shape()[..nd - ns.len()]);
    let kind = Kind::Rows { rows, len, center };
    let (out, st) = crate::autograd::untracked(|| -> Result<_> {
        let xc = x.contiguous()?;
        let be = crate::backend::for_tensors(op, &[&xc])?;
        let (out, mean, rstd) = be.norm_rows(&xc, kind, w.as_ref(), b.as_ref(), eps)?;
        Ok((out, Stats { xc, mean, rstd }))
    })?;

    let name = if center {
        "LayerNormBackward"
    } else {
        "RmsNormBackward"
    };
    let cv = CompositeView {
        view: vec![rows, len],
        axes: vec![1],
        w_view: vec![1, len],
        param: ns.to_vec(),
        center,
        eps,
        fixed: None,
    };
    Ok(record_norm(
        out,
        name,
        x,
        [w.as_ref(), b.as_ref()],
        st,
        kind,
        cv,
    ))
}
