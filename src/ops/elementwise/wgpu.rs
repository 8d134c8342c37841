//! The wgpu side of the elementwise family: each op is a WGSL expression run by the
//! generated strided map kernel (`device::wgpu::map`), with the special values of the
//! CPU kernels spelled out in math.wgsl.

use super::{BinaryOp, ElementwiseKernels, UnaryOp};
use crate::backend::Wgpu;
use crate::device::wgpu::map::{map_new, MapKernel, View};
use crate::tensor::{DType, Scalar, Storage, Tensor};
use crate::{bail, Result};

/// WGSL helpers for the expressions below.
const MATH: &str = include_str!("math.wgsl");
/// MATH plus the overflow-checked int64 helpers, for kernels that bind the error flag.
const MATH_CHECKED: &str = concat!(include_str!("math.wgsl"), include_str!("checked.wgsl"));

/// Whether an expression calls the checked int64 helpers (and so needs the flag bound).
fn is_checked(expr: &str) -> bool {
    ["fr_iadd", "fr_isub", "fr_imul", "fr_ineg", "fr_iabs", "_c("]
        .iter()
        .any(|f| expr.contains(f))
}

/// A view of `t` broadcast to `shape`, as a map-kernel operand.
fn view<'a>(t: &'a Tensor, layout: &'a crate::tensor::Layout) -> Result<View<'a>> {
    Ok(View {
        storage: t.storage().wgpu()?,
        layout,
        dtype: t.dtype(),
    })
}

/// Runs `expr` over `inputs` broadcast to `shape`, into a new `out_dtype` tensor.
pub(crate) fn map_tensors(
    name: &str,
    expr: &str,
    inputs: &[&Tensor],
    shape: &[usize],
    out_dtype: DType,
) -> Result<Tensor> {
    let layouts = inputs
        .iter()
        .map(|t| t.layout().broadcast_to(shape))
        .collect::<Result<Vec<_>>>()?;
    let views = inputs
        .iter()
        .zip(&layouts)
        .map(|(t, l)| view(t, l))
        .collect::<Result<Vec<_>>>()?;
    let checked = is_checked(expr);
    let kernel = MapKernel {
        name,
        expr,
        helpers: if checked { MATH_CHECKED } else { MATH },
        checked,
    };
    let storage = map_new(&kernel, shape, out_dtype, &views, 0)?;
    let n = crate::tensor::shape::numel(shape);
    Ok(Tensor::from_storage(
        Storage::from_wgpu(storage, out_dtype, n),
        shape,
    ))
}

/// The WGSL expression of a unary op on an element `x0` of `dtype`.
fn unary_expr(op: UnaryOp, dtype: DType) -> Result<&'static str> {
    use UnaryOp::*;
    Ok(match (op, dtype) {
        (Neg, DType::F32) => "-x0",
        (Abs, DType::F32) => "abs(x0)",
        (Neg, DType::I64) => "fr_ineg(x0)",
        (Abs, DType::I64) => "fr_iabs(x0)",
        (Sign, DType::I64) => "sign(x0)",
        (Relu, DType::I64) => "max(x0, 0)",
        (LogicalNot, DType::Bool) => "u32(x0 == 0u)",
        (Sign, DType::F32) => "fr_sign(x0)",
        (Floor, DType::F32) => "floor(x0)",
        (Ceil, DType::F32) => "ceil(x0)",
        (Round, DType::F32) => "round(x0)", // WGSL rounds half to even, like NumPy
        (Exp, DType::F32) => "exp(x0)",
        (Log, DType::F32) => "fr_log(x0)",
        (Log1p, DType::F32) => "fr_log1p(x0)",
        (Expm1, DType::F32) => "fr_expm1(x0)",
        (Sqrt, DType::F32) => "fr_sqrt(x0)",
        (Sin, DType::F32) => "sin(x0)",
        (Cos, DType::F32) => "cos(x0)",
        (Tanh, DType::F32) => "fr_tanh(x0)",
        (Sigmoid, DType::F32) => "fr_sigmoid(x0)",
        (Relu, DType::F32) => "fr_relu(x0)",
        (Gelu, DType::F32) => "fr_gelu(x0)",
        (GeluTanh, DType::F32) => "fr_gelu_tanh(x0)",
        (Erf, DType::F32) => "fr_erf(x0)",
        (IsNan, DType::F32) => "u32(fr_isnan(x0))",
        (IsInf, DType::F32) => "u32(fr_isinf(x0))",
        (IsFinite, DType::F32) => "u32(!fr_isnan(x0) && !fr_isinf(x0))",
        (Signbit, DType::F32) => "u32((bitcast<u32>(x0) >> 31u) == 1u)",
        (BitNot, DType::I64) => "~x0",
        (Tan, DType::F32) => "sin(x0) / cos(x0)",
        (Asin, DType::F32) => "fr_asin(x0)",
        (Acos, DType::F32) => "fr_acos(x0)",
        (Atan, DType::F32) => "fr_atan(x0)",
        (Sinh, DType::F32) => "fr_sinh(x0)",
        (Cosh, DType::F32) => "fr_cosh(x0)",
        (Asinh, DType::F32) => "fr_asinh(x0)",
        (Acosh, DType::F32) => "fr_acosh(x0)",
        (Atanh, DType::F32) => "fr_atanh(x0)",
        (Log2, DType::F32) => "fr_log2(x0)",
        (Log10, DType::F32) => "fr_log2(x0) * 0.30102999566398120",
        (Trunc, DType::F32) => "trunc(x0)",
        (op, dt) => bail!(DType, "{} is not defined for {dt} on wgpu", op.name()),
    })
}

/// The WGSL expression of `x0 (op) x1` for elements of `dtype`.
fn binary_expr(op: BinaryOp, dtype: DType) -> Result<&'static str> {
    use BinaryOp::*;
    let float = dtype == DType::F32;
    let int = dtype == DType::I64;
    let b = dtype == DType::Bool;
    Ok(match op {
        Add if b => "x0 | x1",
        Mul if b => "x0 & x1",
        Maximum if b => "x0 | x1",
        Minimum if b => "x0 & x1",
        Add if int => "fr_iadd(x0, x1)",
        Sub if int => "fr_isub(x0, x1)",
        Mul if int => "fr_imul(x0, x1)",
        Add => "x0 + x1",
        Sub if !b => "x0 - x1",
        Mul => "x0 * x1",
        Div if float => "x0 / x1",
        FloorDiv if float => "fr_floordiv(x0, x1)",
        FloorDiv if int => "fr_ifloordiv_c(x0, x1)",
        Rem if float => "fr_rem(x0, x1)",
        Rem if int => "fr_irem(x0, x1)",
        Pow if float => "fr_pow(x0, x1)",
        Pow if int => "fr_ipow_c(x0, x1)",
        Maximum if float => "fr_maximum(x0, x1)",
        Minimum if float => "fr_minimum(x0, x1)",
        Maximum => "max(x0, x1)",
        Minimum => "min(x0, x1)",
        Eq => "u32(x0 == x1)",
        Ne => "u32(x0 != x1)",
        Lt => "u32(x0 < x1)",
        Le => "u32(x0 <= x1)",
        Gt => "u32(x0 > x1)",
        Ge => "u32(x0 >= x1)",
        LogicalAnd if b => "x0 & x1",
        LogicalOr if b => "x0 | x1",
        LogicalXor if b => "x0 ^ x1",
        BitAnd => "x0 & x1",
        BitOr => "x0 | x1",
        BitXor => "x0 ^ x1",
        // int64 lives in 32-bit words: shifts past 31 are the word's limits, and a left
        // shift that leaves int32 is checked like the other int64 arithmetic
        Shl if int => "fr_ishl_c(x0, x1)",
        Shr if int => "(x0 >> u32(clamp(x1, 0, 31)))",
        Atan2 if float => "fr_atan2(x0, x1)",
        Hypot if float => "fr_hypot(x0, x1)",
        Copysign if float => {
            "bitcast<f32>((bitcast<u32>(x0) & 0x7fffffffu) | (bitcast<u32>(x1) & 0x80000000u))"
        }
        LogAddExp if float => "fr_logaddexp(x0, x1)",
        NextAfter if float => "fr_nextafter(x0, x1)",
        _ => bail!(DType, "{} is not defined for {dtype} on wgpu", op.name()),
    })
}

/// The dtype of `op`'s result for operands of `dtype`.
fn binary_out(op: BinaryOp, dtype: DType) -> DType {
    if op.is_comparison() {
        DType::Bool
    } else {
        dtype
    }
}

/// The bits of `value` as a 32-bit GPU element of `dtype`, checked to fit.
pub(crate) fn scalar_bits(value: Scalar, dtype: DType) -> Result<u32> {
    Ok(match dtype {
        DType::F32 => (value.cast::<f32>()).to_bits(),
        DType::I64 => {
            let v = value.cast::<i64>();
            i32::try_from(v).map_err(|_| {
                crate::Error::Value(format!(
                    "int64 value {v} does not fit in the 32 bits that wgpu tensors store int64 in ([-2147483648, 2147483647])"
                ))
            })? as u32
        }
        DType::Bool => value.cast::<bool>() as u32,
        other => {
            crate::device::wgpu::map::wgsl_type(other)?;
            unreachable!("wgsl_type refuses {other}")
        }
    })
}

impl ElementwiseKernels for Wgpu {
    fn unary(&self, op: UnaryOp, x: &Tensor) -> Result<Tensor> {
        let expr = unary_expr(op, x.dtype())?;
        let out = if op.returns_bool() {
            DType::Bool
        } else {
            x.dtype()
        };
        map_tensors(&format!("{op:?}"), expr, &[x], x.shape(), out)
    }

    fn binary(&self, op: BinaryOp, a: &Tensor, b: &Tensor, shape: &[usize]) -> Result<Tensor> {
        let expr = binary_expr(op, a.dtype())?;
        map_tensors(
            &format!("{op:?}"),
            expr,
            &[a, b],
            shape,
            binary_out(op, a.dtype()),
        )
    }

    fn where_(&self, cond: &Tensor, a: &Tensor, b: &Tensor, shape: &[usize]) -> Result<Tensor> {
        map_tensors(
            "where",
            "select(x2, x1, x0 != 0u)",
            &[cond, a, b],
            shape,
            a.dtype(),
        )
    }

    fn full(&self, shape: &[usize], value: Scalar, dtype: DType) -> Result<Tensor> {
        let bits = scalar_bits(value, dtype)?;
        let ty = crate::device::wgpu::map::wgsl_type(dtype)?;
        let expr = format!("bitcast<{ty}>(p.value)");
        let kernel = MapKernel {
            name: "fill",
            expr: &expr,
            helpers: "",
            checked: false,
        };
        let storage = map_new(&kernel, shape, dtype, &[], bits)?;
        let n = crate::tensor::shape::numel(shape);
        Ok(Tensor::from_storage(
            Storage::from_wgpu(storage, dtype, n),
            shape,
        ))
    }
}
