//! Unary math on complex tensors (CPU only: wgpu holds no complex dtype). The
//! elementary functions come from complex_special (C99 Annex G special values,
//! principal branches with signed zeros on the cuts). abs, real and imag give the
//! component dtype; isnan, isinf and isfinite give bool.

use super::complex_special as cs;
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
                Exp => m(cs::exp),
                Expm1 => m(cs::expm1),
                Log => m(cs::log),
                Log1p => m(cs::log1p),
                Log2 => m(|z| cs::log(z) / std::f64::consts::LN_2 as $F),
                Log10 => m(|z| cs::log(z) / std::f64::consts::LN_10 as $F),
                Sqrt => m(cs::sqrt),
                Sin => m(cs::sin),
                Cos => m(cs::cos),
                Tan => m(cs::tan),
                Sinh => m(cs::sinh),
                Cosh => m(cs::cosh),
                Tanh => m(cs::tanh),
                Asin => m(cs::asin),
                Acos => m(cs::acos),
                Atan => m(cs::atan),
                Asinh => m(cs::asinh),
                Acosh => m(cs::acosh),
                Atanh => m(cs::atanh),
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
