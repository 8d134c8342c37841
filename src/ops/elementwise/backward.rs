//! Backward of the elementwise family: binary ops (tensor-tensor and tensor-scalar),
//! unary math, and `where`. Each closure computes the input gradients from the output
//! gradient `g` with tensor ops (so create_graph differentiates it again), casting the
//! saved inputs to `g`'s dtype and fitting each gradient back to its input's shape and
//! dtype (undoing broadcasting and type promotion).

use super::{BinaryOp, UnaryOp};
use crate::autograd::{fit, fit_to, is_diff, record, records};
use crate::tensor::{Scalar, Tensor};
use crate::Result;

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
        Atan2 => "Atan2Backward",
        Hypot => "HypotBackward",
        Copysign => "CopysignBackward",
        LogAddExp => "LogaddexpBackward",
        NextAfter => "NextafterBackward",
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
        Atan2 => {
            // atan2(a, b) is the angle of (b, a): d/da = b/r^2, d/db = -a/r^2
            let r2 = a.mul(a)?.add(&b.mul(b)?)?;
            (Some(g.mul(b)?.div(&r2)?), Some(g.mul(a)?.div(&r2)?.neg()?))
        }
        Hypot => {
            let h = a.binary(b, Hypot)?;
            (Some(g.mul(a)?.div(&h)?), Some(g.mul(b)?.div(&h)?))
        }
        Copysign => {
            // |a| sgn(b): d/da = sgn(a) sgn(b) (signs by the sign bit), nothing for b
            let one = g.mul(0.0)?.add(1.0)?;
            let s = one.binary(a, Copysign)?.mul(&one.binary(b, Copysign)?)?;
            (Some(g.mul(&s)?), Some(g.mul(0.0)?))
        }
        LogAddExp => (
            Some(g.mul(&a.sub(b)?.sigmoid()?)?),
            Some(g.mul(&b.sub(a)?.sigmoid()?)?),
        ),
        NextAfter => (Some(g.clone()), Some(g.mul(0.0)?)),
        _ => (None, None),
    })
}

pub(super) fn record_binary(out: Tensor, op: BinaryOp, a: &Tensor, b: &Tensor) -> Tensor {
    if !is_diff(&out) || !records(&[a, b]) {
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

pub(super) fn record_binary_scalar(
    out: Tensor,
    op: BinaryOp,
    x: &Tensor,
    s: Scalar,
    reversed: bool,
) -> Tensor {
    if !is_diff(&out) || !records(&[x]) {
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
        let st = super::scalar_tensor(s, g.dtype(), g.device())?;
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
        Tan => {
            let t = x.unary(Tan)?;
            g.mul(&t.mul(&t)?.add(1.0)?)
        }
        // asin' = 1/sqrt(1 - x^2), acos' = -asin', atan' = 1/(1 + x^2)
        Asin => g.div(&x.mul(x)?.neg()?.add(1.0)?.sqrt()?),
        Acos => g.div(&x.mul(x)?.neg()?.add(1.0)?.sqrt()?)?.neg(),
        Atan => g.div(&x.mul(x)?.add(1.0)?),
        Sinh => g.mul(&x.unary(Cosh)?),
        Cosh => g.mul(&x.unary(Sinh)?),
        // asinh' = 1/sqrt(x^2 + 1), acosh' = 1/sqrt(x^2 - 1), atanh' = 1/(1 - x^2)
        Asinh => g.div(&x.mul(x)?.add(1.0)?.sqrt()?),
        Acosh => g.div(&x.mul(x)?.sub(1.0)?.sqrt()?),
        Atanh => g.div(&x.mul(x)?.neg()?.add(1.0)?),
        Log2 => g.div(&x.mul(std::f64::consts::LN_2)?),
        Log10 => g.div(&x.mul(std::f64::consts::LN_10)?),
        // real and conj of a real tensor are copies
        Real | Conj => Ok(g.clone()),
        Sign | Floor | Ceil | Round | Trunc | Imag => g.mul(0.0),
        LogicalNot | IsNan | IsInf | IsFinite | Signbit | BitNot => {
            unreachable!("bool and integer outputs are not recorded")
        }
    }
}

pub(super) fn record_unary(out: Tensor, op: UnaryOp, x: &Tensor) -> Tensor {
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
        Tan => "TanBackward",
        Asin => "AsinBackward",
        Acos => "AcosBackward",
        Atan => "AtanBackward",
        Sinh => "SinhBackward",
        Cosh => "CoshBackward",
        Asinh => "AsinhBackward",
        Acosh => "AcoshBackward",
        Atanh => "AtanhBackward",
        Log2 => "Log2Backward",
        Log10 => "Log10Backward",
        Real => "RealBackward",
        Conj => "ConjBackward",
        _ => "RoundingBackward",
    }
}

pub(super) fn record_where(
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
