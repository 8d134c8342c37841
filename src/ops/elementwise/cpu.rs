//! The CPU side of the elementwise family: the generic strided maps of `kernels.rs`
//! instantiated per op and dtype.

use super::kernels::{map_binary, map_unary, map_where};
use super::math::{self, Arith, FloatMath};
use super::{BinaryOp, ElementwiseKernels, UnaryOp};
use crate::backend::Cpu;
use crate::tensor::{DType, Element, Scalar, Tensor};
use crate::{dispatch, dispatch_numeric, Result};

impl ElementwiseKernels for Cpu {
    fn unary(&self, op: UnaryOp, x: &Tensor) -> Result<Tensor> {
        use UnaryOp::*;
        if x.dtype().is_complex() {
            return super::complex_cpu::unary(op, x);
        }
        match (op, x.dtype()) {
            (Neg, DType::I64) => map_unary::<i64, i64>(x, |v| v.wrapping_neg()),
            (Abs, DType::I64) => map_unary::<i64, i64>(x, |v| v.wrapping_abs()),
            (Sign, DType::I64) => map_unary::<i64, i64>(x, |v| v.signum()),
            (Relu, DType::I64) => map_unary::<i64, i64>(x, |v| v.max(0)),
            (BitNot, DType::I64) => map_unary::<i64, i64>(x, |v| !v),
            (Neg, DType::U64) => map_unary::<u64, u64>(x, |v| v.wrapping_neg()),
            (Abs | Relu, DType::U64) => map_unary::<u64, u64>(x, |v| v),
            (Sign, DType::U64) => map_unary::<u64, u64>(x, |v| v.min(1)),
            (BitNot, DType::U64) => map_unary::<u64, u64>(x, |v| !v),
            (LogicalNot, _) => map_unary::<bool, bool>(x, |v| !v),
            (Signbit, DType::F32) => map_unary::<f32, bool>(x, |v| v.is_sign_negative()),
            (Signbit, DType::F64) => map_unary::<f64, bool>(x, |v| v.is_sign_negative()),
            (Neg, DType::F32) => map_unary::<f32, f32>(x, |v| -v),
            (Neg, _) => map_unary::<f64, f64>(x, |v| -v),
            _ => dispatch_float_unary(op, x),
        }
    }

    fn binary(&self, op: BinaryOp, a: &Tensor, b: &Tensor, shape: &[usize]) -> Result<Tensor> {
        if op.is_logical() || (op.is_bitwise() && a.dtype() == DType::Bool) {
            logical_kernel(op, a, b, shape)
        } else if op.is_bitwise() {
            match a.dtype() {
                DType::U64 => bitwise_kernel::<u64>(op, a, b, shape),
                _ => bitwise_kernel::<i64>(op, a, b, shape),
            }
        } else if op.is_float_fn() {
            match a.dtype() {
                DType::F32 => float_binary::<f32>(op, a, b, shape),
                _ => float_binary::<f64>(op, a, b, shape),
            }
        } else {
            dispatch_numeric!(a.dtype(), T => binary_kernel::<T>(op, a, b, shape))
        }
    }

    fn where_(&self, cond: &Tensor, a: &Tensor, b: &Tensor, shape: &[usize]) -> Result<Tensor> {
        dispatch!(a.dtype(), T => map_where::<T>(cond, a, b, shape))
    }

    fn full(&self, shape: &[usize], value: Scalar, dtype: DType) -> Result<Tensor> {
        if value.cast::<f64>() == 0.0 && !value.cast::<f64>().is_sign_negative() {
            return Tensor::zeros_dtype(shape, dtype); // zeroed pages, no fill pass
        }
        Tensor::full(shape, value, dtype)
    }
}

fn binary_kernel<T: Element + Arith>(
    op: BinaryOp,
    a: &Tensor,
    b: &Tensor,
    shape: &[usize],
) -> Result<Tensor> {
    use BinaryOp::*;
    match op {
        Add => map_binary::<T, T>(a, b, shape, |x, y| x.add(y)),
        Sub => map_binary::<T, T>(a, b, shape, |x, y| x.sub(y)),
        Mul => map_binary::<T, T>(a, b, shape, |x, y| x.mul(y)),
        Div => map_binary::<T, T>(a, b, shape, |x, y| x.div(y)),
        FloorDiv => map_binary::<T, T>(a, b, shape, |x, y| x.floordiv(y)),
        Rem => map_binary::<T, T>(a, b, shape, |x, y| x.rem(y)),
        Pow => map_binary::<T, T>(a, b, shape, |x, y| x.pow(y)),
        Maximum => map_binary::<T, T>(a, b, shape, |x, y| x.maximum(y)),
        Minimum => map_binary::<T, T>(a, b, shape, |x, y| x.minimum(y)),
        Eq => map_binary::<T, bool>(a, b, shape, |x, y| x == y),
        Ne => map_binary::<T, bool>(a, b, shape, |x, y| x != y),
        Lt => map_binary::<T, bool>(a, b, shape, |x, y| x < y),
        Le => map_binary::<T, bool>(a, b, shape, |x, y| x <= y),
        Gt => map_binary::<T, bool>(a, b, shape, |x, y| x > y),
        Ge => map_binary::<T, bool>(a, b, shape, |x, y| x >= y),
        _ => unreachable!("{} has its own kernel", op.name()),
    }
}

/// Bitwise ops on the integer compute dtypes. Shifts follow NumPy: a left shift by the
/// width or more gives 0, a right shift by that much the sign (0 or -1); a negative
/// count shifts by 0.
fn bitwise_kernel<T: Bits>(
    op: BinaryOp,
    a: &Tensor,
    b: &Tensor,
    shape: &[usize],
) -> Result<Tensor> {
    use BinaryOp::*;
    match op {
        BitAnd => map_binary::<T, T>(a, b, shape, |x, y| x & y),
        BitOr => map_binary::<T, T>(a, b, shape, |x, y| x | y),
        BitXor => map_binary::<T, T>(a, b, shape, |x, y| x ^ y),
        Shl => map_binary::<T, T>(a, b, shape, |x, y| x.shl_(y)),
        _ => map_binary::<T, T>(a, b, shape, |x, y| x.shr_(y)),
    }
}

pub(crate) trait Bits:
    Element
    + std::ops::BitAnd<Output = Self>
    + std::ops::BitOr<Output = Self>
    + std::ops::BitXor<Output = Self>
{
    fn shl_(self, n: Self) -> Self;
    fn shr_(self, n: Self) -> Self;
}

impl Bits for i64 {
    fn shl_(self, n: Self) -> Self {
        if n >= 64 {
            0
        } else {
            self << n.max(0)
        }
    }
    fn shr_(self, n: Self) -> Self {
        self >> n.clamp(0, 63)
    }
}

impl Bits for u64 {
    fn shl_(self, n: Self) -> Self {
        if n >= 64 {
            0
        } else {
            self << n
        }
    }
    fn shr_(self, n: Self) -> Self {
        if n >= 64 {
            0
        } else {
            self >> n
        }
    }
}

/// The two-argument real functions, computed in f64 (exact for f64, one rounding for
/// f32), except nextafter, which steps in the operands' own precision.
fn float_binary<T: FloatMath>(
    op: BinaryOp,
    a: &Tensor,
    b: &Tensor,
    shape: &[usize],
) -> Result<Tensor> {
    use BinaryOp::*;
    let f: fn(f64, f64) -> f64 = match op {
        Atan2 => f64::atan2,
        Hypot => f64::hypot,
        Copysign => f64::copysign,
        LogAddExp => math::logaddexp,
        _ => return map_binary::<T, T>(a, b, shape, |x, y| x.next_after_(y)),
    };
    map_binary::<T, T>(a, b, shape, move |x, y| {
        T::from_f64(f(x.to_f64(), y.to_f64()))
    })
}

fn logical_kernel(op: BinaryOp, a: &Tensor, b: &Tensor, shape: &[usize]) -> Result<Tensor> {
    match op {
        BinaryOp::LogicalAnd | BinaryOp::BitAnd => {
            map_binary::<bool, bool>(a, b, shape, |x, y| x & y)
        }
        BinaryOp::LogicalOr | BinaryOp::BitOr => {
            map_binary::<bool, bool>(a, b, shape, |x, y| x | y)
        }
        _ => map_binary::<bool, bool>(a, b, shape, |x, y| x ^ y),
    }
}

/// exp of a contiguous float32 tensor through the vectorised kernel.
fn exp_f32_contiguous(x: &Tensor) -> Result<Tensor> {
    let out = crate::ops::copy::uninit_cpu(DType::F32, x.shape())?;
    let src = x.contiguous_slice::<f32>().expect("contiguous f32");
    let dst = crate::device::cpu::SendPtr(out.storage().cpu_ptr::<f32>());
    crate::device::cpu::for_each_chunk(src.len(), crate::device::cpu::GRAIN, |s, e| {
        // SAFETY: disjoint chunks of the fresh output.
        math::exp_f32_slice(&src[s..e], unsafe { dst.slice_mut(s, e - s) })
    });
    Ok(out)
}

fn dispatch_float_unary(op: UnaryOp, x: &Tensor) -> Result<Tensor> {
    if op == UnaryOp::Exp && x.dtype() == DType::F32 && x.is_contiguous() {
        return exp_f32_contiguous(x);
    }
    match x.dtype() {
        DType::F32 => float_unary::<f32>(op, x),
        _ => float_unary::<f64>(op, x),
    }
}

fn float_unary<T: FloatMath>(op: UnaryOp, x: &Tensor) -> Result<Tensor> {
    use UnaryOp::*;
    match op {
        Abs => map_unary::<T, T>(x, |v| v.abs_()),
        Sign => map_unary::<T, T>(x, |v| v.sign_()),
        Floor => map_unary::<T, T>(x, |v| v.floor_()),
        Ceil => map_unary::<T, T>(x, |v| v.ceil_()),
        Round => map_unary::<T, T>(x, |v| v.round_()),
        Exp => map_unary::<T, T>(x, |v| v.exp_()),
        Log => map_unary::<T, T>(x, |v| v.ln_()),
        Log1p => map_unary::<T, T>(x, |v| v.ln_1p_()),
        Expm1 => map_unary::<T, T>(x, |v| v.exp_m1_()),
        Sqrt => map_unary::<T, T>(x, |v| v.sqrt_()),
        Sin => map_unary::<T, T>(x, |v| v.sin_()),
        Cos => map_unary::<T, T>(x, |v| v.cos_()),
        Tanh => map_unary::<T, T>(x, |v| v.tanh_()),
        Sigmoid => map_unary::<T, T>(x, |v| v.sigmoid_()),
        Relu => map_unary::<T, T>(x, |v| {
            if v > T::zero() || v.is_nan() {
                v
            } else {
                T::zero()
            }
        }),
        Gelu => map_unary::<T, T>(x, |v| v.gelu_()),
        GeluTanh => map_unary::<T, T>(x, |v| v.gelu_tanh_()),
        Erf => map_unary::<T, T>(x, |v| v.erf_()),
        IsNan => map_unary::<T, bool>(x, |v| v.is_nan()),
        IsInf => map_unary::<T, bool>(x, |v| v.is_inf_()),
        IsFinite => map_unary::<T, bool>(x, |v| v.is_finite_()),
        Tan | Asin | Acos | Atan | Sinh | Cosh | Asinh | Acosh | Atanh | Log2 | Log10 | Trunc => {
            let f: fn(f64) -> f64 = match op {
                Tan => f64::tan,
                Asin => f64::asin,
                Acos => f64::acos,
                Atan => f64::atan,
                Sinh => f64::sinh,
                Cosh => f64::cosh,
                Asinh => f64::asinh,
                Acosh => f64::acosh,
                Atanh => f64::atanh,
                Log2 => f64::log2,
                Log10 => f64::log10,
                _ => f64::trunc,
            };
            // f32 through f64: one rounding of the exact function value
            map_unary::<T, T>(x, move |v| T::from_f64(f(v.to_f64())))
        }
        _ => unreachable!("{} is handled before dispatch", op.name()),
    }
}
