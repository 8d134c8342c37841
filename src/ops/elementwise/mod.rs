//! Elementwise operations: unary math, binary arithmetic and comparisons with NumPy
//! broadcasting and PyTorch's type promotion (Python scalars are "weak"), and `where`.

mod backward;
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
    /// (dtype the kernel computes in, dtype of the result) for operands promoted to `p`.
    fn dtypes(self, p: DType) -> Result<(DType, DType)> {
        use BinaryOp::*;
        Ok(match self {
            Sub if p == DType::Bool => bail!(
                DType,
                "subtracting bool tensors is not supported; use logical_xor (or ^) instead"
            ),
            Add | Sub | Mul | Maximum | Minimum => (p, p),
            Div => (p.to_float(), p.to_float()),
            FloorDiv | Rem | Pow => {
                let d = if p == DType::Bool { DType::I64 } else { p };
                (d, d)
            }
            Eq | Ne | Lt | Le | Gt | Ge => (p, DType::Bool),
            LogicalAnd | LogicalOr | LogicalXor => (DType::Bool, DType::Bool),
        })
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
                let (cd, _) = op.dtypes(DType::promote(self.dtype(), o.dtype()))?;
                let out =
                    untracked(|| run_binary(op, &self.to_dtype(cd)?, &o.to_dtype(cd)?, &shape))?;
                Ok(backward::record_binary(out, op, self, &o))
            }
            Operand::Scalar(s) => self.binary_scalar(s, op, false),
        }
    }

    /// `self (op) s`, or `s (op) self` when `reversed` (for Python's `__rsub__` etc.).
    pub fn binary_scalar(&self, s: Scalar, op: BinaryOp, reversed: bool) -> Result<Tensor> {
        let (cd, _) = op.dtypes(DType::promote_weak(self.dtype(), &s))?;
        let out = untracked(|| {
            let st = scalar_tensor(s, cd, self.device())?;
            let me = self.to_dtype(cd)?;
            if reversed {
                run_binary(op, &st, &me, self.shape())
            } else {
                run_binary(op, &me, &st, self.shape())
            }
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

    /// Picks the compute dtype (integers go to float for float functions), refuses what
    /// the op does not take, and hands the rest to the backend.
    fn unary_forward(&self, op: UnaryOp) -> Result<Tensor> {
        use UnaryOp::*;
        let dt = self.dtype();
        let backend = crate::backend::for_tensors(op.name(), &[self])?;
        match op {
            Neg | Sign if dt == DType::Bool => bail!(
                DType,
                "the `{}` operator is not supported on bool tensors; use logical_not instead",
                if op == Neg { "-" } else { "sign" }
            ),
            Relu if dt == DType::Bool => bail!(DType, "relu is not supported on bool tensors"),
            Neg | Abs | Sign | Relu if dt == DType::I64 => backend.unary(op, self),
            Abs | Floor | Ceil | Round if !dt.is_float() => self.deep_copy(),
            LogicalNot => backend.unary(op, &self.to_dtype(DType::Bool)?),
            _ => backend.unary(op, &self.to_dtype(dt.to_float())?),
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
        }
    }
}
