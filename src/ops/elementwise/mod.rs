//! Elementwise operations: unary math, binary arithmetic and comparisons with NumPy
//! broadcasting and PyTorch's type promotion (Python scalars are "weak"), and `where`.

pub mod kernels;
pub mod math;

use crate::autograd::{formulas, untracked};
use crate::device::Device;
use crate::tensor::shape::broadcast_shapes;
use crate::tensor::{DType, Element, Scalar, Tensor};
use crate::{bail, dispatch, Result};
use kernels::{map_binary, map_unary, map_where};
use math::{Arith, FloatMath};

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
    let t = dispatch!(dtype, T => Tensor::scalar::<T>(s.cast::<T>()));
    t.to_device(device)
}

fn check_same_device(a: &Tensor, b: &Tensor) -> Result<()> {
    if a.device() != b.device() {
        bail!(
            Device,
            "expected all tensors to be on the same device, but found {} and {}",
            a.device(),
            b.device()
        )
    }
    Ok(())
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
        LogicalAnd | LogicalOr | LogicalXor => unreachable!("logical ops run on bool"),
    }
}

fn logical_kernel(op: BinaryOp, a: &Tensor, b: &Tensor, shape: &[usize]) -> Result<Tensor> {
    match op {
        BinaryOp::LogicalAnd => map_binary::<bool, bool>(a, b, shape, |x, y| x & y),
        BinaryOp::LogicalOr => map_binary::<bool, bool>(a, b, shape, |x, y| x | y),
        _ => map_binary::<bool, bool>(a, b, shape, |x, y| x ^ y),
    }
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
    #[cfg(feature = "wgpu")]
    if a.device() == Device::Wgpu {
        return crate::ops::gpu::binary(op, a, b, shape);
    }
    if op == BinaryOp::Pow {
        check_int_pow(b)?;
    }
    if op.is_logical() {
        logical_kernel(op, a, b, shape)
    } else {
        dispatch!(a.dtype(), T => binary_kernel::<T>(op, a, b, shape))
    }
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
                Ok(formulas::record_binary(out, op, self, &o))
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
        Ok(formulas::record_binary_scalar(out, op, self, s, reversed))
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
        Ok(formulas::record_unary(out, op, self))
    }

    fn unary_forward(&self, op: UnaryOp) -> Result<Tensor> {
        use UnaryOp::*;
        let dt = self.dtype();
        #[cfg(feature = "wgpu")]
        if self.device() == Device::Wgpu {
            return crate::ops::gpu::unary(op, self);
        }
        match op {
            Neg | Sign if dt == DType::Bool => bail!(
                DType,
                "the `{}` operator is not supported on bool tensors; use logical_not instead",
                if op == Neg { "-" } else { "sign" }
            ),
            Neg => match dt {
                DType::I64 => map_unary::<i64, i64>(self, |x| x.wrapping_neg()),
                DType::F32 => map_unary::<f32, f32>(self, |x| -x),
                _ => map_unary::<f64, f64>(self, |x| -x),
            },
            Abs | Sign | Relu | Floor | Ceil | Round if !dt.is_float() => match (op, dt) {
                (Abs, DType::I64) => map_unary::<i64, i64>(self, |x| x.wrapping_abs()),
                (Sign, DType::I64) => map_unary::<i64, i64>(self, |x| x.signum()),
                (Relu, DType::I64) => map_unary::<i64, i64>(self, |x| x.max(0)),
                (Relu, DType::Bool) => bail!(DType, "relu is not supported on bool tensors"),
                _ => self.deep_copy(),
            },
            LogicalNot => map_unary::<bool, bool>(&self.to_dtype(DType::Bool)?, |x| !x),
            IsNan | IsInf | IsFinite if !dt.is_float() => {
                let v = op == IsFinite;
                map_unary::<bool, bool>(&self.to_dtype(DType::Bool)?, move |_| v)
            }
            _ => {
                let x = self.to_dtype(dt.to_float())?;
                dispatch_float_unary(op, &x)
            }
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
        if dev != Device::Cpu {
            bail!(Device, "where is not implemented on {dev} yet")
        }
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
        let out = untracked(|| dispatch!(dt, T => map_where::<T>(&c, &a, &b, &shape)))?;
        Ok(formulas::record_where(
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
        Neg | LogicalNot => unreachable!("handled before dispatch"),
    }
}
