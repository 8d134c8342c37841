//! Backward formulas, one recorder per op family. Each closure computes the gradients
//! of the op's inputs from the output gradient `g` with tensor ops, so that running it
//! with recording on (create_graph) makes it differentiable in turn. Closures recompute
//! what they need from the inputs rather than holding the output, which would make a
//! reference cycle (output -> node -> output).

use super::{fit, fit_to, record, sum_to};
use crate::ops::{BinaryOp, UnaryOp};
use crate::tensor::index::TensorIndex;
use crate::tensor::{DType, Scalar, Tensor};
use crate::Result;

fn is_diff(t: &Tensor) -> bool {
    t.dtype().is_float()
}

fn binary_name(op: BinaryOp) -> &'static str {
    use BinaryOp::*;
    match op {
        Add => "AddBackward",
        Sub => "SubBackward",
        Mul => "MulBackward",
        Div => "DivBackward",
        Pow => "PowBackward",
        Maximum => "MaximumBackward",
        Minimum => "MinimumBackward",
        Rem => "RemainderBackward",
        FloorDiv => "FloorDivideBackward",
        _ => "ComparisonBackward",
    }
}

/// d(a op b)/da * g and d(a op b)/db * g, in the output's shape.
fn binary_grads(
    op: BinaryOp,
    a: &Tensor,
    b: &Tensor,
    g: &Tensor,
) -> Result<(Option<Tensor>, Option<Tensor>)> {
    use BinaryOp::*;
    Ok(match op {
        Add => (Some(g.clone()), Some(g.clone())),
        Sub => (Some(g.clone()), Some(g.neg()?)),
        Mul => (Some(g.mul(b)?), Some(g.mul(a)?)),
        Div => (Some(g.div(b)?), Some(g.mul(a)?.div(&b.mul(b)?)?.neg()?)),
        Pow => {
            // d/da a^b = b a^(b-1), and 0 where b = 0 (a^0 is constant even at a = 0,
            // where b a^(b-1) would be 0 * inf); d/db a^b = a^b ln a (where a > 0; 0
            // elsewhere).
            let ga = g.mul(&Tensor::where_(
                &b.eq_(0.0)?,
                0.0,
                b.mul(&a.pow(&b.sub(1.0)?)?)?,
            )?)?;
            let safe_log = Tensor::where_(&a.gt(0.0)?, a.log()?, 0.0)?;
            let gb = g.mul(&a.pow(b)?.mul(&safe_log)?)?;
            (Some(ga), Some(gb))
        }
        Maximum | Minimum => {
            // The larger (smaller) input takes the gradient; ties split it evenly.
            let (win, tie) = if op == Maximum {
                (a.gt(b)?, a.eq_(b)?)
            } else {
                (a.lt(b)?, a.eq_(b)?)
            };
            let wa =
                Tensor::where_(&win, 1.0, Tensor::where_(&tie, 0.5, 0.0)?)?.to_dtype(g.dtype())?;
            let ga = g.mul(&wa)?;
            let gb = g.mul(&wa.neg()?.add(1.0)?)?;
            (Some(ga), Some(gb))
        }
        Rem => (
            Some(g.clone()),
            Some(g.mul(&a.binary(b, FloorDiv)?)?.neg()?),
        ),
        FloorDiv => (Some(g.mul(0.0)?), Some(g.mul(0.0)?)),
        _ => (None, None),
    })
}

pub(crate) fn record_binary(out: Tensor, op: BinaryOp, a: &Tensor, b: &Tensor) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let (sa, da, sb, db) = (a.shape().to_vec(), a.dtype(), b.shape().to_vec(), b.dtype());
    if matches!(op, BinaryOp::Add | BinaryOp::Sub) {
        // Their gradients don't read the inputs: keep nothing alive, check nothing.
        let neg = op == BinaryOp::Sub;
        return record(out, binary_name(op), &[a, b], &[], move |g| {
            let gb = if neg { g.neg()? } else { g.clone() };
            Ok(vec![
                Some(fit_to(g.clone(), &sa, da)?),
                Some(fit_to(gb, &sb, db)?),
            ])
        });
    }
    let (a2, b2) = (a.clone(), b.clone());
    record(out, binary_name(op), &[a, b], &[a, b], move |g| {
        let cd = g.dtype();
        let (ga, gb) = binary_grads(op, &a2.to_dtype(cd)?, &b2.to_dtype(cd)?, g)?;
        Ok(vec![
            ga.map(|x| fit_to(x, &sa, da)).transpose()?,
            gb.map(|x| fit_to(x, &sb, db)).transpose()?,
        ])
    })
}

pub(crate) fn record_binary_scalar(
    out: Tensor,
    op: BinaryOp,
    x: &Tensor,
    s: Scalar,
    reversed: bool,
) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    if matches!(op, BinaryOp::Add | BinaryOp::Sub) {
        let (sx, dx) = (x.shape().to_vec(), x.dtype());
        let neg = op == BinaryOp::Sub && reversed;
        return record(out, binary_name(op), &[x], &[], move |g| {
            let gx = if neg { g.neg()? } else { g.clone() };
            Ok(vec![Some(fit_to(gx, &sx, dx)?)])
        });
    }
    let x2 = x.clone();
    record(out, binary_name(op), &[x], &[x], move |g| {
        let st = crate::ops::elementwise::scalar_tensor(s, g.dtype(), g.device())?;
        let xc = x2.to_dtype(g.dtype())?;
        let (ga, gb) = if reversed {
            binary_grads(op, &st, &xc, g)?
        } else {
            binary_grads(op, &xc, &st, g)?
        };
        let gx = if reversed { gb } else { ga };
        Ok(vec![gx.map(|t| fit(t, &x2)).transpose()?])
    })
}

fn unary_grad(op: UnaryOp, x: &Tensor, g: &Tensor) -> Result<Tensor> {
    use UnaryOp::*;
    let sqrt_2_over_pi = (2.0 / std::f64::consts::PI).sqrt();
    match op {
        Neg => g.neg(),
        Abs => g.mul(&x.unary(Sign)?),
        Exp | Expm1 => g.mul(&x.exp()?),
        Log => g.div(x),
        Log1p => g.div(&x.add(1.0)?),
        Sqrt => g.div(&x.sqrt()?.mul(2.0)?),
        Sin => g.mul(&x.unary(Cos)?),
        Cos => g.mul(&x.unary(Sin)?.neg()?),
        Tanh => {
            let t = x.tanh()?;
            g.mul(&t.mul(&t)?.neg()?.add(1.0)?)
        }
        Sigmoid => {
            let s = x.sigmoid()?;
            g.mul(&s.mul(&s.neg()?.add(1.0)?)?)
        }
        Relu => g.mul(&x.gt(0.0)?.to_dtype(g.dtype())?),
        Erf => g.mul(
            &x.mul(x)?
                .neg()?
                .exp()?
                .mul(2.0 / std::f64::consts::PI.sqrt())?,
        ),
        Gelu => {
            // d/dx x Phi(x) = Phi(x) + x phi(x)
            let cdf = x
                .mul(std::f64::consts::FRAC_1_SQRT_2)?
                .unary(Erf)?
                .add(1.0)?
                .mul(0.5)?;
            let pdf = x
                .mul(x)?
                .mul(-0.5)?
                .exp()?
                .mul(1.0 / (2.0 * std::f64::consts::PI).sqrt())?;
            g.mul(&cdf.add(&x.mul(&pdf)?)?)
        }
        GeluTanh => {
            // u = c (x + k x^3), y = x/2 (1 + tanh u)
            // dy/dx = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) c (1 + 3 k x^2)
            let k = 0.044715;
            let x2 = x.mul(x)?;
            let t = x.add(&x2.mul(x)?.mul(k)?)?.mul(sqrt_2_over_pi)?.tanh()?;
            let left = t.add(1.0)?.mul(0.5)?;
            let sech2 = t.mul(&t)?.neg()?.add(1.0)?;
            let right = x
                .mul(0.5)?
                .mul(&sech2)?
                .mul(&x2.mul(3.0 * k)?.add(1.0)?.mul(sqrt_2_over_pi)?)?;
            g.mul(&left.add(&right)?)
        }
        Sign | Floor | Ceil | Round => g.mul(0.0),
        LogicalNot | IsNan | IsInf | IsFinite => unreachable!("bool outputs are not recorded"),
    }
}

pub(crate) fn record_unary(out: Tensor, op: UnaryOp, x: &Tensor) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let x2 = x.clone();
    record(out, unary_name(op), &[x], &[x], move |g| {
        Ok(vec![Some(fit(
            unary_grad(op, &x2.to_dtype(g.dtype())?, g)?,
            &x2,
        )?)])
    })
}

fn unary_name(op: UnaryOp) -> &'static str {
    use UnaryOp::*;
    match op {
        Neg => "NegBackward",
        Abs => "AbsBackward",
        Exp => "ExpBackward",
        Expm1 => "Expm1Backward",
        Log => "LogBackward",
        Log1p => "Log1pBackward",
        Sqrt => "SqrtBackward",
        Sin => "SinBackward",
        Cos => "CosBackward",
        Tanh => "TanhBackward",
        Sigmoid => "SigmoidBackward",
        Relu => "ReluBackward",
        Erf => "ErfBackward",
        Gelu | GeluTanh => "GeluBackward",
        _ => "RoundingBackward",
    }
}

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

#[derive(Clone, Copy, Debug)]
pub(crate) enum Reduction {
    Sum,
    Mean,
    Var(f64),
    Extreme(bool),
    LogSumExp,
    Prod,
}

pub(crate) fn record_reduce(
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

/// A view or shape change whose backward is another view or reshape of `g`.
pub(crate) fn record_view(
    out: Tensor,
    name: &'static str,
    x: &Tensor,
    back: impl Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static,
) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    record(out, name, &[x], &[], move |g| Ok(vec![Some(back(g)?)]))
}

pub(crate) fn record_cast(out: Tensor, x: &Tensor) -> Tensor {
    if !is_diff(&out) || !is_diff(x) {
        return out;
    }
    let (dt, dev) = (x.dtype(), x.device());
    record(out, "ToCopyBackward", &[x], &[], move |g| {
        Ok(vec![Some(g.to_device(dev)?.to_dtype(dt)?)])
    })
}

pub(crate) fn record_matmul(out: Tensor, a: &Tensor, b: &Tensor) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let (a2, b2) = (a.clone(), b.clone());
    record(out, "MmBackward", &[a, b], &[a, b], move |g| {
        let (a, b) = (&a2, &b2);
        let a1 = if a.ndim() == 1 {
            a.unsqueeze(0)?
        } else {
            a.clone()
        };
        let b1 = if b.ndim() == 1 {
            b.unsqueeze(-1)?
        } else {
            b.clone()
        };
        // g in the (batch..., m, n) shape of the promoted product.
        let mut full: Vec<usize> = crate::tensor::shape::broadcast_shapes(
            &a1.shape()[..a1.ndim() - 2],
            &b1.shape()[..b1.ndim() - 2],
        )?;
        full.extend([a1.shape()[a1.ndim() - 2], b1.shape()[b1.ndim() - 1]]);
        let g1 = g.reshape_usize(&full)?;
        // Transposed views go straight into the GEMM (no copies).
        let ga = sum_to(&g1.matmul(&b1.mt()?)?, a1.shape())?.reshape_usize(a.shape())?;
        let gb = sum_to(&a1.mt()?.matmul(&g1)?, b1.shape())?.reshape_usize(b.shape())?;
        Ok(vec![
            Some(ga.to_dtype(a.dtype())?),
            Some(gb.to_dtype(b.dtype())?),
        ])
    })
}

/// x[idx]: the gradient is g scattered (added, for repeated indices) into zeros.
pub(crate) fn record_index(out: Tensor, x: &Tensor, idx: Vec<TensorIndex>) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let (shape, dt) = (x.shape().to_vec(), x.dtype());
    record(out, "IndexBackward", &[x], &[], move |g| {
        Ok(vec![Some(index_backward(&shape, dt, &idx, g)?)])
    })
}

/// zeros(shape) with g added at idx; differentiable (its backward indexes again).
fn index_backward(shape: &[usize], dt: DType, idx: &[TensorIndex], g: &Tensor) -> Result<Tensor> {
    let out = {
        let _ng = super::no_grad();
        let z = Tensor::zeros_on(shape, dt, g.device())?;
        z.index_add(idx, &g.detach())?;
        z
    };
    let idx2 = idx.to_vec();
    Ok(record(out, "IndexPutBackward", &[g], &[], move |gg| {
        Ok(vec![Some(gg.index(&idx2)?)])
    }))
}

pub(crate) fn record_concat(out: Tensor, inputs: &[Tensor], axis: usize) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let sizes: Vec<(usize, DType)> = inputs
        .iter()
        .map(|t| (t.shape()[axis], t.dtype()))
        .collect();
    let refs: Vec<&Tensor> = inputs.iter().collect();
    record(out, "CatBackward", &refs, &[], move |g| {
        let mut start = 0usize;
        let mut grads = vec![];
        for &(n, dt) in &sizes {
            grads.push(Some(
                g.slice(
                    axis as isize,
                    Some(start as isize),
                    Some((start + n) as isize),
                    1,
                )?
                .to_dtype(dt)?,
            ));
            start += n;
        }
        Ok(grads)
    })
}

pub(crate) fn record_softmax(out: Tensor, x: &Tensor, axis: isize, log: bool) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let x2 = x.clone();
    let name = if log {
        "LogSoftmaxBackward"
    } else {
        "SoftmaxBackward"
    };
    record(out, name, &[x], &[x], move |g| {
        let y = x2.softmax(axis)?;
        let gx = if log {
            g.sub(&y.mul(&g.sum(Some(&[axis]), true)?)?)?
        } else {
            y.mul(&g.sub(&g.mul(&y)?.sum(Some(&[axis]), true)?)?)?
        };
        Ok(vec![Some(fit(gx, &x2)?)])
    })
}

pub(crate) fn record_where(
    out: Tensor,
    cond: &Tensor,
    a: Option<&Tensor>,
    b: Option<&Tensor>,
) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let c = cond.clone();
    let (a2, b2) = (a.cloned(), b.cloned());
    let inputs: Vec<&Tensor> = a.into_iter().chain(b).collect();
    record(out, "WhereBackward", &inputs, &[cond], move |g| {
        let mut grads = vec![];
        if let Some(a) = &a2 {
            grads.push(Some(fit(Tensor::where_(&c, g, 0.0)?, a)?));
        }
        if let Some(b) = &b2 {
            grads.push(Some(fit(Tensor::where_(&c, 0.0, g)?, b)?));
        }
        Ok(grads)
    })
}
