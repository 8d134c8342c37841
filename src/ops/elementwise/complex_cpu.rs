//! Unary math on complex tensors (CPU only: wgpu holds no complex dtype), through
//! num_complex's principal branches. abs, real and imag give the component dtype;
//! isnan, isinf and isfinite give bool.

use super::kernels::map_unary;
use super::UnaryOp;
use crate::tensor::{Complex128, Complex64, DType, Tensor};
use crate::{bail, Result};

macro_rules! complex_unary {
    ($fname:ident, $C:ty, $F:ty) => {
        fn $fname(op: UnaryOp, x: &Tensor) -> Result<Tensor> {
            use UnaryOp::*;
            type N = num_complex::Complex<$F>;
            let m = |f: fn(N) -> N| map_unary::<$C, $C>(x, move |v| <$C>::from_num(f(v.to_num())));
            match op {
                Neg => m(|z| -z),
                Conj => m(|z| z.conj()),
                Exp => m(|z| z.exp()),
                Expm1 => m(|z| {
                    // exp(z) - 1 = expm1(re) cos(im) - 2 sin^2(im/2)... kept simple and
                    // exact near 0 by the real expm1 for a real argument
                    if z.im == 0.0 {
                        N::new(z.re.exp_m1(), z.im)
                    } else {
                        z.exp() - N::new(1.0, 0.0)
                    }
                }),
                Log => m(|z| z.ln()),
                Log1p => m(|z| {
                    if z.im == 0.0 && z.re > -1.0 {
                        N::new(z.re.ln_1p(), z.im)
                    } else {
                        (z + N::new(1.0, 0.0)).ln()
                    }
                }),
                Log2 => m(|z| z.ln() / std::f64::consts::LN_2 as $F),
                Log10 => m(|z| z.ln() / std::f64::consts::LN_10 as $F),
                Sqrt => m(|z| z.sqrt()),
                Sin => m(|z| z.sin()),
                Cos => m(|z| z.cos()),
                Tan => m(|z| z.tan()),
                Sinh => m(|z| z.sinh()),
                Cosh => m(|z| z.cosh()),
                Tanh => m(|z| z.tanh()),
                Asin => m(|z| z.asin()),
                Acos => m(|z| z.acos()),
                Atan => m(|z| z.atan()),
                Asinh => m(|z| z.asinh()),
                Acosh => m(|z| z.acosh()),
                Atanh => m(|z| z.atanh()),
                Sign => m(|z| {
                    let r = z.norm();
                    if r == 0.0 {
                        N::new(0.0, 0.0)
                    } else if r.is_nan() {
                        N::new(<$F>::NAN, <$F>::NAN)
                    } else {
                        z / r
                    }
                }),
                Round => m(|z| N::new(z.re.round_ties_even(), z.im.round_ties_even())),
                Abs => map_unary::<$C, $F>(x, |v| v.re.hypot(v.im)),
                Real => map_unary::<$C, $F>(x, |v| v.re),
                Imag => map_unary::<$C, $F>(x, |v| v.im),
                IsNan => map_unary::<$C, bool>(x, |v| v.re.is_nan() || v.im.is_nan()),
                IsInf => map_unary::<$C, bool>(x, |v| v.re.is_infinite() || v.im.is_infinite()),
                IsFinite => map_unary::<$C, bool>(x, |v| v.re.is_finite() && v.im.is_finite()),
                other => bail!(DType, "{} is not defined for complex tensors", other.name()),
            }
        }
    };
}

complex_unary!(unary_c64, Complex64, f32);
complex_unary!(unary_c128, Complex128, f64);

pub(super) fn unary(op: UnaryOp, x: &Tensor) -> Result<Tensor> {
    match x.dtype() {
        DType::C64 => unary_c64(op, x),
        _ => unary_c128(op, x),
    }
}
