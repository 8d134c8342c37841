//! Elementwise operations: unary math, binary arithmetic and comparisons with NumPy
//! broadcasting and PyTorch's type promotion (Python scalars are "weak"), and `where`.

mod backward;
mod complex_cpu;
mod complex_special;
pub mod cpu;
pub mod kernels;
pub mod math;
#[cfg(feature = "wgpu")]
pub mod wgpu;

use crate::autograd::untracked;
use crate::device::Device;
use crate::tensor::shape::broadcast_shapes;
use crate::tensor::{DType, Scalar, Tensor};
use crate::{bail, dispatch, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Abs,
    Sign,
    Floor,
    Ceil,
    Round,
    Exp,
    Log,
    Log1p,
    Expm1,
    Sqrt,
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Relu,
    Gelu,
    GeluTanh,
    Erf,
    LogicalNot,
    IsNan,
    IsInf,
    IsFinite,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Asinh,
    Acosh,
    Atanh,
    Log2,
    Log10,
    Trunc,
    /// True where the sign bit is set (-0.0 and -NaN included).
    Signbit,
    /// `~x` on integers (and logical not on bools).
    BitNot,
    Conj,
    /// The real part of a complex tensor (a real tensor's copy).
    Real,
    /// The imaginary part of a complex tensor (zeros for a real one).
    Imag,
}

impl UnaryOp {
    /// Ops whose result is bool whatever the input.
    pub fn returns_bool(self) -> bool {
        use UnaryOp::*;
        matches!(self, IsNan | IsInf | IsFinite | Signbit | LogicalNot)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Rem,
    Pow,
    Maximum,
    Minimum,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LogicalAnd,
    LogicalOr,
    LogicalXor,
    Atan2,
    Hypot,
    Copysign,
    LogAddExp,
    NextAfter,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
}

impl BinaryOp {
    pub fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(self, Eq | Ne | Lt | Le | Gt | Ge)
    }
    pub fn is_logical(self) -> bool {
        use BinaryOp::*;
        matches!(self, LogicalAnd | LogicalOr | LogicalXor)
    }
    pub fn is_bitwise(self) -> bool {
        use BinaryOp::*;
        matches!(self, BitAnd | BitOr | BitXor | Shl | Shr)
    }
    /// The real-float functions of two arguments.
    pub fn is_float_fn(self) -> bool {
        use BinaryOp::*;
        matches!(self, Atan2 | Hypot | Copysign | LogAddExp | NextAfter)
    }
    /// Ops that need an order, which complex numbers lack.
    fn needs_order(self) -> bool {
        use BinaryOp::*;
        matches!(self, FloorDiv | Rem | Maximum | Minimum | Lt | Le | Gt | Ge) || self.is_float_fn()
    }

    /// (dtype the kernel computes in, dtype of the result) for operands promoted to `p`.
    /// The kernel's dtype is the result's compute dtype (see `DType::compute`): the
    /// result is cast back after the kernel.
    fn dtypes(self, p: DType) -> Result<(DType, DType)> {
        use BinaryOp::*;
        if p.is_complex() && (self.needs_order() || self.is_bitwise()) {
            bail!(DType, "{} is not defined for complex tensors", self.name())
        }
        let result = match self {
            Sub if p == DType::Bool => bail!(
                DType,
                "subtracting bool tensors is not supported; use logical_xor (or ^) instead"
            ),
            Add | Sub | Mul | Maximum | Minimum => p,
            Div => p.to_float(),
            FloorDiv | Rem | Pow => {
                if p == DType::Bool {
                    DType::I64
                } else {
                    p
                }
            }
            NextAfter if matches!(p, DType::F16 | DType::BF16) => bail!(
                DType,
                "nextafter is not supported for {p}: its steps are float32's once computed in float32"
            ),
            Atan2 | Hypot | Copysign | LogAddExp | NextAfter => p.to_float(),
            BitAnd | BitOr | BitXor if p.is_inexact() => bail!(
                DType,
                "{} needs integer or bool tensors, got {p}",
                self.name()
            ),
            Shl | Shr if !p.is_int() => bail!(
                DType,
                "{} needs integer tensors, got {p}",
                self.name()
            ),
            BitAnd | BitOr | BitXor | Shl | Shr => p,
            Eq | Ne | Lt | Le | Gt | Ge => return Ok((p.compute(), DType::Bool)),
            LogicalAnd | LogicalOr | LogicalXor => return Ok((DType::Bool, DType::Bool)),
        };
        Ok((result.compute(), result))
    }
}

/// The right-hand side of a binary op: a tensor or a (weak) Python-style scalar.
#[derive(Clone, Debug)]
pub enum Operand {
    Tensor(Tensor),
    Scalar(Scalar),
}

impl From<&Tensor> for Operand {
    fn from(t: &Tensor) -> Self {
        Operand::Tensor(t.clone())
    }
}
impl From<Tensor> for Operand {
    fn from(t: Tensor) -> Self {
        Operand::Tensor(t)
    }
}
impl From<f64> for Operand {
    fn from(v: f64) -> Self {
        Operand::Scalar(Scalar::Float(v))
    }
}
impl From<i64> for Operand {
    fn from(v: i64) -> Self {
        Operand::Scalar(Scalar::Int(v))
    }
}
impl From<Scalar> for Operand {
    fn from(s: Scalar) -> Self {
        Operand::Scalar(s)
    }
}

/// A 0-d tensor holding `s` as `dtype` on `device`.
pub(crate) fn scalar_tensor(s: Scalar, dtype: DType, device: Device) -> Result<Tensor> {
    if device == Device::Cpu {
        return Ok(dispatch!(dtype, T => Tensor::scalar::<T>(s.cast::<T>())));
    }
    Tensor::full_on(&[], s, dtype, device)
}

fn check_same_device(a: &Tensor, b: &Tensor) -> Result<()> {
    crate::backend::check_same_device("elementwise op", a.device(), b.device())
}

fn check_int_pow(exponent: &Tensor) -> Result<()> {
    if exponent.dtype() == DType::I64 && exponent.numel() > 0 && exponent.min_all()?.item()? < 0.0 {
        bail!(
            Value,
            "Integers to negative integer powers are not allowed."
        )
    }
    Ok(())
}

/// Runs a binary op on two tensors already cast to the compute dtype.
fn run_binary(op: BinaryOp, a: &Tensor, b: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let backend = crate::backend::for_tensors(op.name(), &[a, b])?;
    if op == BinaryOp::Pow && b.dtype() == DType::I64 {
        check_int_pow(b)?;
    }
    backend.binary(op, a, b, shape)
}

impl Tensor {
    /// `self (op) other` with broadcasting and type promotion.
    pub fn binary(&self, other: impl Into<Operand>, op: BinaryOp) -> Result<Tensor> {
        match other.into() {
            Operand::Tensor(o) => {
                check_same_device(self, &o)?;
                let shape = broadcast_shapes(self.shape(), o.shape())?;
                let (cd, rd) = op.dtypes(DType::promote(self.dtype(), o.dtype()))?;
                let out = untracked(|| {
                    run_binary(op, &self.to_dtype(cd)?, &o.to_dtype(cd)?, &shape)?.to_dtype(rd)
                })?;
                Ok(backward::record_binary(out, op, self, &o))
            }
            Operand::Scalar(s) => self.binary_scalar(s, op, false),
        }
    }

    /// `self (op) s`, or `s (op) self` when `reversed` (for Python's `__rsub__` etc.).
    pub fn binary_scalar(&self, s: Scalar, op: BinaryOp, reversed: bool) -> Result<Tensor> {
        let (cd, rd) = op.dtypes(DType::promote_weak(self.dtype(), &s))?;
        let out = untracked(|| {
            let st = scalar_tensor(s, cd, self.device())?;
            let me = self.to_dtype(cd)?;
            let out = if reversed {
                run_binary(op, &st, &me, self.shape())?
            } else {
                run_binary(op, &me, &st, self.shape())?
            };
            out.to_dtype(rd)
        })?;
        Ok(backward::record_binary_scalar(out, op, self, s, reversed))
    }

    pub fn add(&self, o: impl Into<Operand>) -> Result<Tensor> {
        self.binary(o, BinaryOp::Add)
    }
    pub fn sub(&self, o: impl Into<Operand>) -> Result<Tensor> {
        self.binary(o, BinaryOp::Sub)
    }
    pub fn mul(&self, o: impl Into<Operand>) -> Result<Tensor> {
        self.binary(o, BinaryOp::Mul)
    }
    pub fn div(&self, o: impl Into<Operand>) -> Result<Tensor> {
        self.binary(o, BinaryOp::Div)
    }
    pub fn pow(&self, o: impl Into<Operand>) -> Result<Tensor> {
        self.binary(o, BinaryOp::Pow)
    }
    pub fn maximum(&self, o: impl Into<Operand>) -> Result<Tensor> {
        self.binary(o, BinaryOp::Maximum)
    }
    pub fn minimum(&self, o: impl Into<Operand>) -> Result<Tensor> {
        self.binary(o, BinaryOp::Minimum)
    }
    pub fn eq_(&self, o: impl Into<Operand>) -> Result<Tensor> {
        self.binary(o, BinaryOp::Eq)
    }
    pub fn lt(&self, o: impl Into<Operand>) -> Result<Tensor> {
        self.binary(o, BinaryOp::Lt)
    }
    pub fn gt(&self, o: impl Into<Operand>) -> Result<Tensor> {
        self.binary(o, BinaryOp::Gt)
    }

    /// Applies a unary op. Float functions (exp, log, ...) promote integers to float32.
    pub fn unary(&self, op: UnaryOp) -> Result<Tensor> {
        let out = untracked(|| self.unary_forward(op))?;
        Ok(backward::record_unary(out, op, self))
    }

    /// Picks the compute dtype (integers go to float for float functions, narrow types
    /// to their kind's compute dtype), refuses what the op does not take, hands the rest
    /// to the backend and casts the result back to the op's result dtype.
    fn unary_forward(&self, op: UnaryOp) -> Result<Tensor> {
        use UnaryOp::*;
        let dt = self.dtype();
        let backend = crate::backend::for_tensors(op.name(), &[self])?;
        if dt.is_complex() {
            return match op {
                Relu | Sigmoid | Gelu | GeluTanh | Erf | Floor | Ceil | Trunc | Signbit
                | BitNot => bail!(DType, "{} is not defined for complex tensors", op.name()),
                LogicalNot => backend.unary(op, &self.to_dtype(DType::Bool)?),
                _ => backend.unary(op, self),
            };
        }
        // Runs the kernel on x cast to `cd`, and casts a non-bool result to `out`.
        let run = |cd: DType, out: DType| -> Result<Tensor> {
            let y = backend.unary(op, &self.to_dtype(cd)?)?;
            if op.returns_bool() {
                Ok(y)
            } else {
                y.to_dtype(out)
            }
        };
        match op {
            Neg | Sign if dt == DType::Bool => bail!(
                DType,
                "the `{}` operator is not supported on bool tensors; use logical_not instead",
                if op == Neg { "-" } else { "sign" }
            ),
            Relu if dt == DType::Bool => bail!(DType, "relu is not supported on bool tensors"),
            BitNot if dt == DType::Bool => backend.unary(LogicalNot, self),
            BitNot if !dt.is_int() => {
                bail!(
                    DType,
                    "bitwise_invert needs integer or bool tensors, got {dt}"
                )
            }
            Neg | Abs | Sign | Relu | BitNot if dt.is_int() => run(dt.compute(), dt),
            Abs | Floor | Ceil | Round | Trunc | Real | Conj if !dt.is_float() => self.deep_copy(),
            Real | Conj => self.deep_copy(),
            // made on the tensor's device (no host round trip for a wgpu tensor)
            Imag => Tensor::full_on(self.shape(), Scalar::Int(0), dt, self.device()),
            Signbit if !dt.is_float() => self.binary_scalar(Scalar::Int(0), BinaryOp::Lt, false),
            LogicalNot => backend.unary(op, &self.to_dtype(DType::Bool)?),
            _ => run(dt.to_float().compute(), dt.to_float()),
        }
    }

    pub fn neg(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Neg)
    }
    pub fn exp(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Exp)
    }
    pub fn log(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Log)
    }
    pub fn sqrt(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sqrt)
    }
    pub fn tanh(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Tanh)
    }
    pub fn relu(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Relu)
    }
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sigmoid)
    }
    pub fn abs(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Abs)
    }

    /// `cond ? a : b` with broadcasting; a and b are promoted together.
    pub fn where_(cond: &Tensor, a: impl Into<Operand>, b: impl Into<Operand>) -> Result<Tensor> {
        let (a, b) = (a.into(), b.into());
        let dev = cond.device();
        let dt = match (&a, &b) {
            (Operand::Tensor(x), Operand::Tensor(y)) => DType::promote(x.dtype(), y.dtype()),
            (Operand::Tensor(x), Operand::Scalar(s)) | (Operand::Scalar(s), Operand::Tensor(x)) => {
                DType::promote_weak(x.dtype(), s)
            }
            (Operand::Scalar(s), Operand::Scalar(t)) => {
                DType::promote(s.kind_dtype(), t.kind_dtype())
            }
        };
        let to_t = |o: Operand| -> Result<Tensor> {
            match o {
                Operand::Tensor(t) => {
                    check_same_device(cond, &t)?;
                    t.to_dtype(dt)
                }
                Operand::Scalar(s) => scalar_tensor(s, dt, dev),
            }
        };
        let a_in = match &a {
            Operand::Tensor(t) => Some(t.clone()),
            _ => None,
        };
        let b_in = match &b {
            Operand::Tensor(t) => Some(t.clone()),
            _ => None,
        };
        let (a, b) = untracked(|| Ok::<_, crate::Error>((to_t(a)?, to_t(b)?)))?;
        let shape = broadcast_shapes(&broadcast_shapes(cond.shape(), a.shape())?, b.shape())?;
        let c = cond.to_dtype(DType::Bool)?;
        let backend = crate::backend::for_tensors("where", &[&c, &a, &b])?;
        let out = untracked(|| backend.where_(&c, &a, &b, &shape))?;
        Ok(backward::record_where(
            out,
            cond,
            a_in.as_ref(),
            b_in.as_ref(),
        ))
    }

    /// Clamps to [min, max] (either may be absent): minimum(maximum(x, min), max).
    pub fn clip(&self, min: Option<Operand>, max: Option<Operand>) -> Result<Tensor> {
        if min.is_none() && max.is_none() {
            return self.deep_copy(); // NumPy 2: clip(x, None, None) is a copy
        }
        let mut out = self.clone();
        if let Some(lo) = min {
            out = out.binary(lo, BinaryOp::Maximum)?;
        }
        if let Some(hi) = max {
            out = out.binary(hi, BinaryOp::Minimum)?;
        }
        Ok(out)
    }
}

/// The elementwise kernels a backend provides (see `backend`). Operands arrive already
/// validated, on this backend's device, and cast to the op's compute dtype.
pub trait ElementwiseKernels {
    /// `op(x)`: x is float for the float functions, int64 for neg/abs/sign/relu on
    /// integers, bool for logical_not. The result is x's dtype (bool for isnan & co).
    fn unary(&self, op: UnaryOp, x: &Tensor) -> Result<Tensor>;
    /// `a (op) b` broadcast to `shape`; a and b share the compute dtype of `op`.
    fn binary(&self, op: BinaryOp, a: &Tensor, b: &Tensor, shape: &[usize]) -> Result<Tensor>;
    /// `cond ? a : b` broadcast to `shape`; cond is bool, a and b share a dtype.
    fn where_(&self, cond: &Tensor, a: &Tensor, b: &Tensor, shape: &[usize]) -> Result<Tensor>;
    /// A new contiguous tensor of `shape` filled with `value` as `dtype`.
    fn full(&self, shape: &[usize], value: Scalar, dtype: DType) -> Result<Tensor>;
}

impl UnaryOp {
    /// The op's name in error messages.
    pub fn name(self) -> &'static str {
        use UnaryOp::*;
        match self {
            Neg => "neg",
            Abs => "abs",
            Sign => "sign",
            Floor => "floor",
            Ceil => "ceil",
            Round => "round",
            Exp => "exp",
            Log => "log",
            Log1p => "log1p",
            Expm1 => "expm1",
            Sqrt => "sqrt",
            Sin => "sin",
            Cos => "cos",
            Tanh => "tanh",
            Sigmoid => "sigmoid",
            Relu => "relu",
            Gelu => "gelu",
            GeluTanh => "gelu",
            Erf => "erf",
            LogicalNot => "logical_not",
            IsNan => "isnan",
            IsInf => "isinf",
            IsFinite => "isfinite",
            Tan => "tan",
            Asin => "asin",
            Acos => "acos",
            Atan => "atan",
            Sinh => "sinh",
            Cosh => "cosh",
            Asinh => "asinh",
            Acosh => "acosh",
            Atanh => "atanh",
            Log2 => "log2",
            Log10 => "log10",
            Trunc => "trunc",
            Signbit => "signbit",
            BitNot => "bitwise_invert",
            Conj => "conj",
            Real => "real",
            Imag => "imag",
        }
    }
}

impl BinaryOp {
    /// The op's name in error messages.
    pub fn name(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "add",
            Sub => "sub",
            Mul => "mul",
            Div => "div",
            FloorDiv => "floor_divide",
            Rem => "remainder",
            Pow => "pow",
            Maximum => "maximum",
            Minimum => "minimum",
            Eq => "eq",
            Ne => "ne",
            Lt => "lt",
            Le => "le",
            Gt => "gt",
            Ge => "ge",
            LogicalAnd => "logical_and",
            LogicalOr => "logical_or",
            LogicalXor => "logical_xor",
            Atan2 => "atan2",
            Hypot => "hypot",
            Copysign => "copysign",
            LogAddExp => "logaddexp",
            NextAfter => "nextafter",
            BitAnd => "bitwise_and",
            BitOr => "bitwise_or",
            BitXor => "bitwise_xor",
            Shl => "bitwise_left_shift",
            Shr => "bitwise_right_shift",
        }
    }
}
