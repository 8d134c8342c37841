//! Backward of the reductions: the output gradient is expanded back over the reduced
//! axes, then weighted per reduction (1/count for mean, the centred input for var, the
//! arg-extreme mask split over ties for max/min, softmax for logsumexp, prod/x for prod).

use crate::autograd::{is_diff, record};
use crate::tensor::Tensor;
use crate::Result;

/// Expands a reduced gradient back over the reduced axes.
fn expand_reduced(g: &Tensor, x_shape: &[usize], axes: &[usize], keepdims: bool) -> Result<Tensor> {
    let mut g = g.clone();
    if !keepdims {
        for &a in axes {
            g = g.unsqueeze(a as isize)?;
        }
    }
    g.broadcast_to(x_shape)
}

/// Which reduction a node differentiates (the forward picks its kernel separately).
#[derive(Clone, Copy, Debug)]
pub(super) enum Reduction {
    Sum,
    Mean,
    Var(f64),
    Extreme(bool),
    LogSumExp,
    Prod,
}

pub(super) fn record_reduce(
    out: Tensor,
    kind: Reduction,
    x: &Tensor,
    axes: Vec<usize>,
    keepdims: bool,
) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let name = match kind {
        Reduction::Sum => "SumBackward",
        Reduction::Mean => "MeanBackward",
        Reduction::Var(_) => "VarBackward",
        Reduction::Extreme(true) => "MaxBackward",
        Reduction::Extreme(false) => "MinBackward",
        Reduction::LogSumExp => "LogsumexpBackward",
        Reduction::Prod => "ProdBackward",
    };
    if matches!(kind, Reduction::Sum | Reduction::Mean) {
        // Their gradients need only x's shape: keep x neither alive nor version-checked.
        let shape = x.shape().to_vec();
        let count: usize = axes.iter().map(|&a| shape[a]).product();
        let mean = matches!(kind, Reduction::Mean);
        return record(out, name, &[x], &[], move |g| {
            let ge = expand_reduced(g, &shape, &axes, keepdims)?;
            Ok(vec![Some(if mean { ge.div(count as f64)? } else { ge })])
        });
    }
    let x2 = x.clone();
    record(out, name, &[x], &[x], move |g| {
        let x = &x2;
        let ax: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        let count: usize = axes.iter().map(|&a| x.shape()[a]).product();
        let ge = expand_reduced(g, x.shape(), &axes, keepdims)?;
        let gx = match kind {
            Reduction::Sum | Reduction::Mean => unreachable!("recorded without saving x above"),
            Reduction::Var(c) => {
                let centered = x.sub(&x.mean(Some(&ax), true)?)?;
                ge.mul(&centered)?.mul(2.0 / (count as f64 - c))?
            }
            Reduction::Extreme(is_max) => {
                let m = if is_max {
                    x.max(Some(&ax), true)?
                } else {
                    x.min(Some(&ax), true)?
                };
                let mask = x.eq_(&m)?.to_dtype(x.dtype())?;
                let ties = mask.sum(Some(&ax), true)?;
                ge.mul(&mask)?.div(&ties)?
            }
            Reduction::LogSumExp => {
                let lse = x.logsumexp(Some(&ax), true)?;
                ge.mul(&x.sub(&lse)?.exp()?)?
            }
            Reduction::Prod => ge.mul(&x.prod(Some(&ax), true)?)?.div(x)?,
        };
        Ok(vec![Some(gx)])
    })
}
