//! The Python `Tensor` class: thin wrappers over `crate::Tensor`. Work on large tensors
//! runs with the GIL released.

use super::convert::{
    parse_axes, parse_dtype, parse_index, parse_operand, parse_shape, parse_shape_args, to_tensor,
};
use super::dtype::{dtype_object, PyDType};
use crate::device::Device;
use crate::ops::{BinaryOp, Operand, UnaryOp};
use crate::tensor::{DType, Tensor};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::types::{PyDict, PyTuple};

/// Above this many elements a kernel releases the GIL (below it the release costs more
/// than it gains).
const DETACH_MIN: usize = 1 << 14;

/// Runs `f`, releasing the GIL when `work` is large, and maps the error (a failed
/// allocation is `Error::Memory`, a MemoryError). A panic is a bug: it becomes
/// `ferrograd.InternalError` instead of reaching Python as a PanicException.
pub fn run<R: Send>(
    py: Python<'_>,
    work: usize,
    f: impl FnOnce() -> crate::Result<R> + Send,
) -> PyResult<R> {
    let guarded = move || std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let r = if work >= DETACH_MIN {
        py.detach(guarded)
    } else {
        guarded()
    };
    match r {
        // A Python exception raised by an autograd.Function's backward during this call
        // is re-raised as it was, not as the RuntimeError the engine carried it in.
        Ok(r) => r.map_err(|e| super::custom_function::take_pending().unwrap_or_else(|| e.into())),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(super::errors::internal_error(format!(
                "internal error in ferrograd (please report it): {msg}"
            )))
        }
    }
}

#[pyclass(name = "Tensor", module = "ferrograd", frozen, weakref, subclass)]
pub struct PyTensor {
    pub t: Tensor,
}

pub fn wrap(py: Python<'_>, t: Tensor) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, PyTensor { t })?.into_any())
}

fn resolve_axis<'a, 'py>(
    axis: Option<&'a Bound<'py, PyAny>>,
    dim: Option<&'a Bound<'py, PyAny>>,
) -> PyResult<Option<&'a Bound<'py, PyAny>>> {
    match (axis, dim) {
        (Some(a), Some(d)) if !a.is_none() && !d.is_none() => {
            Err(PyTypeError::new_err("pass either axis or dim, not both"))
        }
        (Some(a), _) if !a.is_none() => Ok(Some(a)),
        (_, d) => Ok(d),
    }
}

fn one_axis(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<isize>> {
    match parse_axes(obj)? {
        None => Ok(None),
        Some(v) if v.len() == 1 && !obj.map(|o| o.is_instance_of::<PyTuple>()).unwrap_or(false) => {
            Ok(Some(v[0]))
        }
        Some(_) => Err(PyTypeError::new_err("axis must be an int or None")),
    }
}

macro_rules! unary_methods {
    ($($name:ident => $op:ident),* $(,)?) => {
        #[pymethods]
        impl PyTensor {
            $(
                fn $name(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                    let t = self.t.clone();
                    let r = run(py, t.numel(), move || t.unary(UnaryOp::$op))?;
                    wrap(py, r)
                }
            )*
        }
    };
}

unary_methods! {
    exp => Exp, log => Log, log1p => Log1p, expm1 => Expm1, sqrt => Sqrt, sin => Sin, cos => Cos,
    tanh => Tanh, sigmoid => Sigmoid, relu => Relu, erf => Erf, sign => Sign, floor => Floor,
    ceil => Ceil, round => Round, abs => Abs, neg => Neg, logical_not => LogicalNot,
    isnan => IsNan, isinf => IsInf, isfinite => IsFinite, tan => Tan, asin => Asin,
    acos => Acos, atan => Atan, sinh => Sinh, cosh => Cosh, asinh => Asinh, acosh => Acosh,
    atanh => Atanh, log2 => Log2, log10 => Log10, trunc => Trunc, signbit => Signbit,
    bitwise_not => BitNot, bitwise_invert => BitNot, conj => Conj,
}

/// The unary ops by their Python names (Array API and PyTorch spellings): the one table
/// behind `fg.<name>(x)` for every unary function.
const UNARY_OPS: &[(&str, UnaryOp)] = &[
    ("abs", UnaryOp::Abs),
    ("exp", UnaryOp::Exp),
    ("log", UnaryOp::Log),
    ("log1p", UnaryOp::Log1p),
    ("expm1", UnaryOp::Expm1),
    ("sqrt", UnaryOp::Sqrt),
    ("sin", UnaryOp::Sin),
    ("cos", UnaryOp::Cos),
    ("tan", UnaryOp::Tan),
    ("tanh", UnaryOp::Tanh),
    ("sinh", UnaryOp::Sinh),
    ("cosh", UnaryOp::Cosh),
    ("asin", UnaryOp::Asin),
    ("acos", UnaryOp::Acos),
    ("atan", UnaryOp::Atan),
    ("asinh", UnaryOp::Asinh),
    ("acosh", UnaryOp::Acosh),
    ("atanh", UnaryOp::Atanh),
    ("log2", UnaryOp::Log2),
    ("log10", UnaryOp::Log10),
    ("sigmoid", UnaryOp::Sigmoid),
    ("relu", UnaryOp::Relu),
    ("erf", UnaryOp::Erf),
    ("sign", UnaryOp::Sign),
    ("floor", UnaryOp::Floor),
    ("ceil", UnaryOp::Ceil),
    ("round", UnaryOp::Round),
    ("trunc", UnaryOp::Trunc),
    ("negative", UnaryOp::Neg),
    ("neg", UnaryOp::Neg),
    ("logical_not", UnaryOp::LogicalNot),
    ("isnan", UnaryOp::IsNan),
    ("isinf", UnaryOp::IsInf),
    ("isfinite", UnaryOp::IsFinite),
    ("signbit", UnaryOp::Signbit),
    ("bitwise_invert", UnaryOp::BitNot),
    ("bitwise_not", UnaryOp::BitNot),
    ("conj", UnaryOp::Conj),
    ("real", UnaryOp::Real),
    ("imag", UnaryOp::Imag),
];

/// The binary ops by their Python names, behind `fg.<name>(x1, x2)`.
const BINARY_OPS: &[(&str, BinaryOp)] = &[
    ("add", BinaryOp::Add),
    ("subtract", BinaryOp::Sub),
    ("multiply", BinaryOp::Mul),
    ("divide", BinaryOp::Div),
    ("floor_divide", BinaryOp::FloorDiv),
    ("remainder", BinaryOp::Rem),
    ("pow", BinaryOp::Pow),
    ("maximum", BinaryOp::Maximum),
    ("minimum", BinaryOp::Minimum),
    ("equal", BinaryOp::Eq),
    ("not_equal", BinaryOp::Ne),
    ("less", BinaryOp::Lt),
    ("less_equal", BinaryOp::Le),
    ("greater", BinaryOp::Gt),
    ("greater_equal", BinaryOp::Ge),
    ("logical_and", BinaryOp::LogicalAnd),
    ("logical_or", BinaryOp::LogicalOr),
    ("logical_xor", BinaryOp::LogicalXor),
    ("atan2", BinaryOp::Atan2),
    ("hypot", BinaryOp::Hypot),
    ("copysign", BinaryOp::Copysign),
    ("logaddexp", BinaryOp::LogAddExp),
    ("nextafter", BinaryOp::NextAfter),
    ("bitwise_and", BinaryOp::BitAnd),
    ("bitwise_or", BinaryOp::BitOr),
    ("bitwise_xor", BinaryOp::BitXor),
    ("bitwise_left_shift", BinaryOp::Shl),
    ("bitwise_right_shift", BinaryOp::Shr),
];

/// The unary op named `name` (for the functional API's table-built functions).
pub fn unary_op(name: &str) -> PyResult<UnaryOp> {
    UNARY_OPS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, op)| op)
        .ok_or_else(|| PyValueError::new_err(format!("unknown unary op {name}")))
}

/// The names of every unary and binary op, for the Python side to bind.
#[pyfunction]
pub fn _op_names() -> (Vec<&'static str>, Vec<&'static str>) {
    (
        UNARY_OPS.iter().map(|(n, _)| *n).collect(),
        BINARY_OPS.iter().map(|(n, _)| *n).collect(),
    )
}

/// Reductions sharing NumPy's (`axis`, `keepdims`) and PyTorch's (`dim`, `keepdim`)
/// arguments, all through `PyTensor::reduce`: `reduce_methods!([extra: type, ...] =>
/// correction; names)` defines one method per name, with the extra keyword-only
/// arguments (each `Option<type>`, default None) from which `correction` is computed.
macro_rules! reduce_methods {
    (@one $name:ident [$($kw:ident: $ty:ty),*] $c:expr) => {
        #[pymethods]
        impl PyTensor {
            #[pyo3(signature = (axis=None, keepdims=false, *, dim=None, keepdim=None $(, $kw=None)*))]
            #[allow(clippy::too_many_arguments)]
            fn $name(
                &self,
                py: Python<'_>,
                axis: Option<&Bound<'_, PyAny>>,
                keepdims: bool,
                dim: Option<&Bound<'_, PyAny>>,
                keepdim: Option<bool>,
                $($kw: Option<$ty>,)*
            ) -> PyResult<Py<PyAny>> {
                self.reduce(py, stringify!($name), resolve_axis(axis, dim)?, keepdim.unwrap_or(keepdims), $c)
            }
        }
    };
    ($kws:tt => $c:expr; $($name:ident),* $(,)?) => {
        $(reduce_methods!(@one $name $kws $c);)*
    };
}

reduce_methods!([] => 0.0; sum, mean, prod, max, min, logsumexp, all, any, argmax, argmin);
// The degrees-of-freedom correction of var and std: the Array API's `correction` (0
// biased, 1 unbiased; the default 0 is NumPy's) or PyTorch's `unbiased=`.
reduce_methods!(
    [correction: f64, unbiased: bool] =>
        correction.unwrap_or(if unbiased == Some(true) { 1.0 } else { 0.0 });
    var, std
);

impl PyTensor {
    fn bin(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        op: BinaryOp,
        reversed: bool,
    ) -> PyResult<Py<PyAny>> {
        if let Some(r) = self.oversized_int_bin(py, other, op, reversed)? {
            return Ok(r);
        }
        let Some(o) = parse_operand(py, other)? else {
            return Ok(py.NotImplemented());
        };
        let a = self.t.clone();
        let r = run(py, a.numel(), move || match o {
            Operand::Tensor(b) if reversed => b.binary(&a, op),
            Operand::Tensor(b) => a.binary(b, op),
            Operand::Scalar(s) => a.binary_scalar(s, op, reversed),
        })?;
        wrap(py, r)
    }

    /// `self op v` for a Python int v outside int64, as NumPy does it: v becomes a float
    /// for a float tensor; an int64 tensor compares exactly (`x < 2**63` is all True,
    /// `x == 2**70` all False); arithmetic with an int64 or bool tensor overflows. None
    /// when `other` is not such an int.
    fn oversized_int_bin(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        op: BinaryOp,
        reversed: bool,
    ) -> PyResult<Option<Py<PyAny>>> {
        use pyo3::types::{PyBool, PyInt};
        if !other.is_instance_of::<PyInt>()
            || other.is_instance_of::<PyBool>()
            || other.extract::<i64>().is_ok()
        {
            return Ok(None);
        }
        let dt = self.t.dtype();
        if dt.is_float() {
            let s = crate::tensor::Scalar::Float(other.extract::<f64>()?);
            let a = self.t.clone();
            let r = run(py, a.numel(), move || a.binary_scalar(s, op, reversed))?;
            return Ok(Some(wrap(py, r)?));
        }
        // Is the tensor's side the smaller one? Every int64 is below 2**63 and above -2**63 - 1.
        let below = other.gt(0)? != reversed;
        let constant = match op {
            _ if dt != DType::I64 => None,
            BinaryOp::Lt | BinaryOp::Le => Some(below),
            BinaryOp::Gt | BinaryOp::Ge => Some(!below),
            BinaryOp::Eq => Some(false),
            BinaryOp::Ne => Some(true),
            _ => None,
        };
        match constant {
            Some(c) => {
                let shape = self.t.shape().to_vec();
                let r = run(py, self.t.numel(), move || {
                    let s = crate::tensor::Scalar::Bool(c);
                    crate::ops::elementwise::scalar_tensor(s, DType::Bool, Device::Cpu)?
                        .broadcast_to(&shape)?
                        .contiguous()
                })?;
                Ok(Some(wrap(py, r)?))
            }
            None => Err(pyo3::exceptions::PyOverflowError::new_err(format!(
                "Python integer {other} out of bounds for {}",
                dt.name()
            ))),
        }
    }

    /// In-place `self op= other`: computes, then writes back into self's memory.
    fn ibin(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, op: BinaryOp) -> PyResult<()> {
        let py = slf.py();
        let me = slf.get();
        let Some(o) = parse_operand(py, other)? else {
            return Err(PyTypeError::new_err(format!(
                "unsupported operand type for in-place op: {}",
                other.get_type().name()?
            )));
        };
        let a = me.t.clone();
        run(py, a.numel(), move || a.binary_inplace(&o, op))
    }

    fn reduce(
        &self,
        py: Python<'_>,
        name: &str,
        axis: Option<&Bound<'_, PyAny>>,
        keepdims: bool,
        correction: f64,
    ) -> PyResult<Py<PyAny>> {
        // argmax and argmin take one axis (or None); the others any number of them.
        let arg = matches!(name, "argmax" | "argmin");
        let (axes, one) = if arg {
            (None, one_axis(axis)?)
        } else {
            (parse_axes(axis)?, None)
        };
        let t = self.t.clone();
        let name = name.to_string();
        let r = run(py, t.numel(), move || {
            let ax = axes.as_deref();
            match name.as_str() {
                "argmax" => t.argmax(one, keepdims),
                "argmin" => t.argmin(one, keepdims),
                "sum" => t.sum(ax, keepdims),
                "mean" => t.mean(ax, keepdims),
                "var" => t.var(ax, correction, keepdims),
                "std" => t.std(ax, correction, keepdims),
                "prod" => t.prod(ax, keepdims),
                "max" => t.max(ax, keepdims),
                "min" => t.min(ax, keepdims),
                "logsumexp" => t.logsumexp(ax, keepdims),
                "all" => t.all(ax, keepdims),
                _ => t.any(ax, keepdims),
            }
        })?;
        wrap(py, r)
    }
}

#[pymethods]
impl PyTensor {
    /// `Tensor(data, requires_grad=False)`: a leaf sharing `data`'s memory when `data`
    /// is a tensor (a detached alias, like PyTorch's `_make_subclass`), else a copy of
    /// the array-like. This is the constructor Python subclasses (`nn.Parameter`) call.
    #[new]
    #[pyo3(signature = (data, requires_grad=false))]
    fn py_new(py: Python<'_>, data: &Bound<'_, PyAny>, requires_grad: bool) -> PyResult<Self> {
        let t = match data.extract::<PyRef<'_, PyTensor>>() {
            Ok(src) => src.t.detach(),
            Err(_) => to_tensor(py, data, None, true)?,
        };
        t.set_requires_grad(requires_grad)?;
        Ok(PyTensor { t })
    }

    // ----- attributes -----
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.t.shape())
    }
    #[getter]
    fn ndim(&self) -> usize {
        self.t.ndim()
    }
    #[getter]
    fn size(&self) -> usize {
        self.t.numel()
    }
    fn numel(&self) -> usize {
        self.t.numel()
    }
    /// Bytes of one element (NumPy's `itemsize`, PyTorch's `element_size()`).
    #[getter]
    fn itemsize(&self) -> usize {
        self.t.dtype().size()
    }
    fn element_size(&self) -> usize {
        self.t.dtype().size()
    }
    /// Bytes the elements of this view take (numel * itemsize), as in NumPy and PyTorch.
    #[getter]
    fn nbytes(&self) -> usize {
        self.t.numel() * self.t.dtype().size()
    }
    fn dim(&self) -> usize {
        self.t.ndim()
    }
    #[getter]
    fn dtype(&self, py: Python<'_>) -> PyResult<Py<PyDType>> {
        dtype_object(py, self.t.dtype())
    }
    #[getter]
    fn device(&self, py: Python<'_>) -> PyResult<Py<super::functions::PyDevice>> {
        Py::new(py, super::functions::PyDevice { d: self.t.device() })
    }
    #[getter]
    fn is_cuda(&self) -> bool {
        false
    }
    #[getter(T)]
    fn t_prop(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.t())
    }
    #[getter(mT)]
    fn mt_prop(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.mt()?)
    }
    #[getter]
    fn requires_grad(&self) -> bool {
        self.t.requires_grad()
    }
    #[setter]
    fn set_requires_grad(&self, v: bool) -> PyResult<()> {
        Ok(self.t.set_requires_grad(v)?)
    }
    #[pyo3(signature = (requires_grad=true))]
    fn requires_grad_(slf: &Bound<'_, Self>, requires_grad: bool) -> PyResult<Py<PyAny>> {
        slf.get().t.set_requires_grad(requires_grad)?;
        Ok(slf.clone().into_any().unbind())
    }
    #[getter]
    fn grad(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.t.grad().map(|g| wrap(py, g)).transpose()
    }
    #[setter]
    fn set_grad(&self, g: Option<PyRef<'_, PyTensor>>) -> PyResult<()> {
        if let Some(g) = &g {
            if g.t.shape() != self.t.shape() {
                return Err(PyValueError::new_err(format!(
                    "assigned grad has shape {} but the tensor has shape {}",
                    crate::tensor::shape::fmt_shape(g.t.shape()),
                    crate::tensor::shape::fmt_shape(self.t.shape())
                )));
            }
        }
        self.t.set_grad(g.map(|g| g.t.clone()));
        Ok(())
    }
    fn is_contiguous(&self) -> bool {
        self.t.is_contiguous()
    }
    /// Strides in elements (PyTorch's convention).
    fn stride<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.t.strides())
    }
    fn storage_offset(&self) -> usize {
        self.t.offset()
    }
    fn _shares_storage(&self, other: PyRef<'_, PyTensor>) -> bool {
        self.t.shares_storage(&other.t)
    }

    // ----- conversion -----
    fn item(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        use crate::tensor::dtype::Kind;
        let (re, im, i, u) = self.t.item_parts()?;
        let c = &self.t;
        Ok(match c.dtype().kind() {
            Kind::Bool => (i != 0).into_pyobject(py)?.to_owned().into_any().unbind(),
            Kind::SignedInt => i.into_pyobject(py)?.into_any().unbind(),
            Kind::UnsignedInt => u.into_pyobject(py)?.into_any().unbind(),
            Kind::Float => re.into_pyobject(py)?.into_any().unbind(),
            Kind::Complex => pyo3::types::PyComplex::from_doubles(py, re, im)
                .into_any()
                .unbind(),
        })
    }
    fn __float__(&self) -> PyResult<f64> {
        Ok(self.t.item()?)
    }
    fn __int__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let v = self.item(py)?;
        Ok(v.bind(py).call_method0("__int__")?.unbind())
    }
    fn __index__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if !self.t.dtype().is_int() || self.t.numel() != 1 {
            return Err(PyTypeError::new_err(
                "only integer tensors of a single element can be converted to an index",
            ));
        }
        self.item(py)
    }
    fn __bool__(&self) -> PyResult<bool> {
        if self.t.numel() != 1 {
            return Err(PyValueError::new_err(format!(
                "the truth value of a tensor with {} elements is ambiguous; use .any() or .all()",
                self.t.numel()
            )));
        }
        let (re, im, _, _) = self.t.item_parts()?;
        Ok(re != 0.0 || im != 0.0)
    }
    fn __len__(&self) -> PyResult<usize> {
        self.t
            .shape()
            .first()
            .copied()
            .ok_or_else(|| PyTypeError::new_err("len() of a 0-d tensor"))
    }
    fn __hash__(slf: &Bound<'_, Self>) -> isize {
        slf.as_ptr() as isize
    }

    /// `t.to("wgpu")`, `t.to(fg.float64)`, `t.to("cpu", dtype=...)`.
    #[pyo3(signature = (*args, dtype=None, device=None))]
    fn to(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        dtype: Option<&Bound<'_, PyAny>>,
        device: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let mut dt = parse_dtype(dtype)?;
        let mut dev = device.map(super::functions::parse_device).transpose()?;
        for a in args.iter() {
            if a.is_instance_of::<super::functions::PyDevice>() {
                dev = Some(super::functions::parse_device(&a)?);
            } else if a.is_instance_of::<pyo3::types::PyString>() {
                // A device, else a dtype; a string that is neither gets the device's error
                // (x.to('cuda') is about devices) unless NumPy knows it as a dtype ('int32').
                match super::functions::parse_device(&a) {
                    Ok(d) => dev = Some(d),
                    Err(dev_err) => match parse_dtype(Some(&a)) {
                        Ok(d) => dt = d.or(dt),
                        Err(e) => {
                            let np = super::convert::numpy(py)?;
                            return Err(if np.call_method1("dtype", (&a,)).is_ok() {
                                e
                            } else {
                                dev_err
                            });
                        }
                    },
                }
            } else if let Some(d) = parse_dtype(Some(&a))? {
                dt = Some(d);
            }
        }
        let t = self.t.clone();
        let r = run(py, t.numel(), move || {
            let mut r = t;
            if let Some(d) = dt {
                if r.device() == Device::Cpu {
                    r = r.to_dtype(d)?;
                }
            }
            if let Some(d) = dev {
                r = r.to_device(d)?;
            }
            if let Some(d) = dt {
                r = r.to_dtype(d)?;
            }
            Ok(r)
        })?;
        wrap(py, r)
    }
    fn cpu(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.to_device(Device::Cpu)?)
    }
    #[pyo3(signature = (dtype, copy=true))]
    fn astype(&self, py: Python<'_>, dtype: &Bound<'_, PyAny>, copy: bool) -> PyResult<Py<PyAny>> {
        let dt = parse_dtype(Some(dtype))?
            .ok_or_else(|| PyTypeError::new_err("astype needs a dtype"))?;
        let t = self.t.clone();
        let r = run(py, t.numel(), move || {
            if !copy {
                t.to_dtype(dt)
            } else {
                t.astype(dt)
            }
        })?;
        wrap(py, r)
    }
    fn float(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.to_dtype(DType::F32)?)
    }
    fn double(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.to_dtype(DType::F64)?)
    }
    fn long(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.to_dtype(DType::I64)?)
    }
    fn half(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.to_dtype(DType::F16)?)
    }
    fn bfloat16(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.to_dtype(DType::BF16)?)
    }
    fn int(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.to_dtype(DType::I32)?)
    }
    fn short(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.to_dtype(DType::I16)?)
    }
    fn byte(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.to_dtype(DType::U8)?)
    }
    fn cfloat(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.to_dtype(DType::C64)?)
    }
    fn contiguous(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let t = self.t.clone();
        let r = run(py, t.numel(), move || t.contiguous())?;
        wrap(py, r)
    }
    fn clone(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let t = self.t.clone();
        let r = run(py, t.numel(), move || t.deep_copy())?;
        wrap(py, r)
    }
    fn copy(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.clone(py)
    }
    /// A view of the same data outside the graph (does not require grad).
    fn detach(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.detach())
    }
    /// The name of the op that produced this tensor (None for leaves).
    #[getter]
    fn grad_fn(&self) -> Option<&'static str> {
        self.t.grad_fn().map(|n| n.name())
    }
    #[getter]
    fn is_leaf(&self) -> bool {
        self.t.is_leaf()
    }
    fn retain_grad(&self) -> PyResult<()> {
        Ok(self.t.retain_grad()?)
    }
    #[getter]
    fn retains_grad(&self) -> bool {
        self.t.retains_grad()
    }
    /// Accumulates d(sum(self * gradient))/d(leaf) into each leaf's `.grad`.
    #[pyo3(signature = (gradient=None, retain_graph=None, create_graph=false))]
    fn backward(
        &self,
        py: Python<'_>,
        gradient: Option<&Bound<'_, PyAny>>,
        retain_graph: Option<bool>,
        create_graph: bool,
    ) -> PyResult<()> {
        let g = match gradient {
            Some(g) if !g.is_none() => Some(to_tensor(py, g, None, false)?),
            _ => None,
        };
        let t = self.t.clone();
        let retain = retain_graph.unwrap_or(create_graph);
        run(py, t.numel(), move || {
            crate::autograd::backward(&t, g.as_ref(), retain, create_graph)
        })
    }

    // ----- views -----
    #[pyo3(signature = (*shape))]
    fn reshape(&self, py: Python<'_>, shape: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let s = parse_shape_args(shape)?;
        let t = self.t.clone();
        let r = run(py, t.numel(), move || t.reshape(&s))?;
        wrap(py, r)
    }
    #[pyo3(signature = (*shape))]
    fn view(&self, py: Python<'_>, shape: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        if shape.len() == 1 {
            let arg = shape.get_item(0)?;
            if arg.is_instance_of::<super::dtype::PyDType>() {
                // t.view(dtype): the same bytes read as another dtype of the same width
                let dt = super::convert::parse_dtype(Some(&arg))?.expect("a dtype object");
                return wrap(py, self.t.view_bits(dt)?);
            }
        }
        let s = parse_shape_args(shape)?;
        let target = crate::tensor::shape::infer_reshape(&s, self.t.numel(), self.t.shape())?;
        match self.t.layout().reshape_view(&target) {
            Some(_) => wrap(py, self.t.reshape(&s)?),
            None => Err(pyo3::exceptions::PyRuntimeError::new_err(
                "view size is not compatible with input tensor's size and stride; use .reshape(...) instead",
            )),
        }
    }
    #[pyo3(signature = (*axes))]
    fn permute(&self, py: Python<'_>, axes: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let a = parse_shape_args(axes)?;
        wrap(py, self.t.permute(&a)?)
    }
    #[pyo3(signature = (dim0=0, dim1=1))]
    fn transpose(&self, py: Python<'_>, dim0: isize, dim1: isize) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.transpose(dim0, dim1)?)
    }
    #[pyo3(signature = (start_dim=0, end_dim=-1))]
    fn flatten(&self, py: Python<'_>, start_dim: isize, end_dim: isize) -> PyResult<Py<PyAny>> {
        let n = self.t.ndim();
        if n == 0 {
            // PyTorch: a 0-d tensor takes dims in [-1, 0] only, like a 1-d one.
            crate::tensor::shape::normalize_axis(start_dim, 1)?;
            crate::tensor::shape::normalize_axis(end_dim, 1)?;
            return wrap(py, self.t.reshape(&[1])?);
        }
        let s = crate::tensor::shape::normalize_axis(start_dim, n)?;
        let e = crate::tensor::shape::normalize_axis(end_dim, n)?;
        if s > e {
            return Err(PyValueError::new_err(
                "flatten: start_dim cannot come after end_dim",
            ));
        }
        let mut shape: Vec<isize> = self.t.shape()[..s].iter().map(|&d| d as isize).collect();
        shape.push(self.t.shape()[s..=e].iter().product::<usize>() as isize);
        shape.extend(self.t.shape()[e + 1..].iter().map(|&d| d as isize));
        let t = self.t.clone();
        let r = run(py, t.numel(), move || t.reshape(&shape))?;
        wrap(py, r)
    }
    fn unsqueeze(&self, py: Python<'_>, dim: isize) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.unsqueeze(dim)?)
    }
    #[pyo3(signature = (axis=None, *, dim=None))]
    fn squeeze(
        &self,
        py: Python<'_>,
        axis: Option<&Bound<'_, PyAny>>,
        dim: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let axes = parse_axes(resolve_axis(axis, dim)?)?;
        wrap(py, self.t.squeeze(axes.as_deref())?)
    }
    fn broadcast_to(&self, py: Python<'_>, shape: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.broadcast_to(&parse_shape(shape)?)?)
    }
    /// PyTorch's `expand`: -1 keeps a dim.
    #[pyo3(signature = (*sizes))]
    fn expand(&self, py: Python<'_>, sizes: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let s = parse_shape_args(sizes)?;
        let nd = self.t.ndim();
        if s.len() < nd {
            return Err(PyValueError::new_err(format!(
                "expand: the number of sizes provided ({}) must be greater or equal to the number of dimensions in the tensor ({nd})",
                s.len()
            )));
        }
        let lead = s.len() - nd;
        let shape = s
            .iter()
            .enumerate()
            .map(|(i, &d)| match d {
                -1 if i >= lead => Ok(self.t.shape()[i - lead]),
                -1 => Err(PyValueError::new_err(format!(
                    "expand: the size -1 isn't allowed in a leading, non-existing dimension {i}"
                ))),
                d if d < 0 => Err(PyValueError::new_err(format!(
                    "expand: negative size {d} at dimension {i} (only -1, to keep a dimension, is allowed)"
                ))),
                d => Ok(d as usize),
            })
            .collect::<PyResult<Vec<usize>>>()?;
        wrap(py, self.t.broadcast_to(&shape)?)
    }
    #[pyo3(signature = (axis=None, *, dims=None))]
    fn flip(
        &self,
        py: Python<'_>,
        axis: Option<&Bound<'_, PyAny>>,
        dims: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let axes = parse_axes(resolve_axis(axis, dims)?)?;
        wrap(py, self.t.flip(axes.as_deref())?)
    }

    // ----- indexing -----
    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        // Fast path for `t[i]` with a Python int. Not for a tensor key: a one-element
        // tensor converts through `__index__`, but `t[fg.tensor([0])]` is an index
        // array (shape (1, ...)), not `t[0]`; parse_index tells the two apart.
        let plain_int = key.is_instance_of::<pyo3::types::PyInt>()
            && !key.is_instance_of::<pyo3::types::PyBool>();
        if plain_int {
            if let Ok(i) = key.extract::<isize>() {
                if self.t.ndim() == 0 {
                    return Err(pyo3::exceptions::PyIndexError::new_err(
                        "invalid index of a 0-dim tensor",
                    ));
                }
                return wrap(py, self.t.select(0, i)?);
            }
        }
        let idx = parse_index(py, key)?;
        let t = self.t.clone();
        let r = run(py, t.numel(), move || t.index(&idx))?;
        wrap(py, r)
    }
    fn __setitem__(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let idx = parse_index(py, key)?;
        let v = match super::convert::scalar_for(value, self.t.dtype())? {
            Some(s) => crate::ops::elementwise::scalar_tensor(s, self.t.dtype(), Device::Cpu)?,
            None => to_tensor(py, value, None, false)?,
        };
        let t = self.t.clone();
        run(py, t.numel(), move || t.index_put(&idx, &v))
    }

    // ----- arithmetic -----
    fn __add__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Add, false)
    }
    fn __radd__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Add, true)
    }
    fn __sub__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Sub, false)
    }
    fn __rsub__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Sub, true)
    }
    fn __mul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Mul, false)
    }
    fn __rmul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Mul, true)
    }
    fn __truediv__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Div, false)
    }
    fn __rtruediv__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Div, true)
    }
    fn __floordiv__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::FloorDiv, false)
    }
    fn __rfloordiv__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::FloorDiv, true)
    }
    fn __mod__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Rem, false)
    }
    fn __rmod__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Rem, true)
    }
    fn __pow__(
        &self,
        py: Python<'_>,
        o: &Bound<'_, PyAny>,
        _modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Pow, false)
    }
    fn __rpow__(
        &self,
        py: Python<'_>,
        o: &Bound<'_, PyAny>,
        _modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Pow, true)
    }
    fn __and__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::BitAnd, false)
    }
    fn __rand__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::BitAnd, true)
    }
    fn __or__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::BitOr, false)
    }
    fn __ror__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::BitOr, true)
    }
    fn __xor__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::BitXor, false)
    }
    fn __rxor__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::BitXor, true)
    }
    fn __lshift__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Shl, false)
    }
    fn __rlshift__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Shl, true)
    }
    fn __rshift__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Shr, false)
    }
    fn __rrshift__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.bin(py, o, BinaryOp::Shr, true)
    }
    fn __invert__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.unary(UnaryOp::BitNot)?)
    }
    fn __ifloordiv__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::ibin(slf, o, BinaryOp::FloorDiv)
    }
    fn __imod__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::ibin(slf, o, BinaryOp::Rem)
    }
    fn __ipow__(
        slf: &Bound<'_, Self>,
        o: &Bound<'_, PyAny>,
        _modulo: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        Self::ibin(slf, o, BinaryOp::Pow)
    }
    fn __iand__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::ibin(slf, o, BinaryOp::BitAnd)
    }
    fn __ior__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::ibin(slf, o, BinaryOp::BitOr)
    }
    fn __ixor__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::ibin(slf, o, BinaryOp::BitXor)
    }
    fn __ilshift__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::ibin(slf, o, BinaryOp::Shl)
    }
    fn __irshift__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::ibin(slf, o, BinaryOp::Shr)
    }
    /// `x.real`: the real part, a view of a complex tensor's real components (the tensor
    /// itself for a real tensor, as NumPy's and PyTorch's).
    #[getter]
    fn real(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.part(py, 0)
    }
    #[getter]
    fn imag(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.part(py, 1)
    }
    fn __iadd__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::ibin(slf, o, BinaryOp::Add)
    }
    fn __isub__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::ibin(slf, o, BinaryOp::Sub)
    }
    fn __imul__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::ibin(slf, o, BinaryOp::Mul)
    }
    fn __itruediv__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::ibin(slf, o, BinaryOp::Div)
    }
    fn __neg__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.neg(py)
    }
    fn __pos__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wrap(py, self.t.clone())
    }
    fn __abs__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.abs(py)
    }
    fn __matmul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Some(Operand::Tensor(b)) = parse_operand(py, o)? else {
            return Ok(py.NotImplemented());
        };
        let a = self.t.clone();
        let work = a.numel().max(b.numel());
        let r = run(py, work, move || a.matmul(&b))?;
        wrap(py, r)
    }
    fn __rmatmul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Some(Operand::Tensor(b)) = parse_operand(py, o)? else {
            return Ok(py.NotImplemented());
        };
        let a = self.t.clone();
        let r = run(py, a.numel(), move || b.matmul(&a))?;
        wrap(py, r)
    }
    fn matmul(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.__matmul__(py, o)
    }
    fn __richcmp__(
        &self,
        py: Python<'_>,
        o: &Bound<'_, PyAny>,
        op: CompareOp,
    ) -> PyResult<Py<PyAny>> {
        let bop = match op {
            CompareOp::Eq => BinaryOp::Eq,
            CompareOp::Ne => BinaryOp::Ne,
            CompareOp::Lt => BinaryOp::Lt,
            CompareOp::Le => BinaryOp::Le,
            CompareOp::Gt => BinaryOp::Gt,
            CompareOp::Ge => BinaryOp::Ge,
        };
        self.bin(py, o, bop, false)
    }

    /// The Python-facing unary op by name (used by the functional API).
    fn _unary(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        let op = unary_op(name)?;
        let t = self.t.clone();
        let r = run(py, t.numel(), move || t.unary(op))?;
        wrap(py, r)
    }

    /// The Python-facing binary op by name (used by the functional API).
    fn _binary(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        name: &str,
        reversed: bool,
    ) -> PyResult<Py<PyAny>> {
        let op = BINARY_OPS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, op)| op)
            .ok_or_else(|| PyValueError::new_err(format!("unknown binary op {name}")))?;
        let r = self.bin(py, other, op, reversed)?;
        if r.is(&py.NotImplemented()) {
            return Err(PyTypeError::new_err(format!(
                "unsupported operand for {name}: {}",
                other.get_type().name()?
            )));
        }
        Ok(r)
    }
    #[pyo3(signature = (approximate="none"))]
    fn gelu(&self, py: Python<'_>, approximate: &str) -> PyResult<Py<PyAny>> {
        let op = match approximate {
            "none" => UnaryOp::Gelu,
            "tanh" => UnaryOp::GeluTanh,
            other => {
                return Err(PyValueError::new_err(format!(
                    "approximate must be 'none' or 'tanh', got '{other}'"
                )))
            }
        };
        let t = self.t.clone();
        let r = run(py, t.numel(), move || t.unary(op))?;
        wrap(py, r)
    }
    #[pyo3(signature = (min=None, max=None))]
    fn clip(
        &self,
        py: Python<'_>,
        min: Option<&Bound<'_, PyAny>>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let conv = |o: Option<&Bound<'_, PyAny>>| -> PyResult<Option<Operand>> {
            match o {
                Some(v) if !v.is_none() => parse_operand(py, v)?
                    .map(Some)
                    .ok_or_else(|| PyTypeError::new_err("clip bounds must be numbers or tensors")),
                _ => Ok(None),
            }
        };
        let (lo, hi) = (conv(min)?, conv(max)?);
        let t = self.t.clone();
        let r = run(py, t.numel(), move || t.clip(lo, hi))?;
        wrap(py, r)
    }
    #[pyo3(signature = (min=None, max=None))]
    fn clamp(
        &self,
        py: Python<'_>,
        min: Option<&Bound<'_, PyAny>>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.clip(py, min, max)
    }

    // ----- reductions: see reduce_methods! -----
    #[pyo3(signature = (axis=-1, *, dim=None))]
    fn softmax(&self, py: Python<'_>, axis: isize, dim: Option<isize>) -> PyResult<Py<PyAny>> {
        let t = self.t.clone();
        let ax = dim.unwrap_or(axis);
        let r = run(py, t.numel(), move || t.softmax(ax))?;
        wrap(py, r)
    }
    #[pyo3(signature = (axis=-1, *, dim=None))]
    fn log_softmax(&self, py: Python<'_>, axis: isize, dim: Option<isize>) -> PyResult<Py<PyAny>> {
        let t = self.t.clone();
        let ax = dim.unwrap_or(axis);
        let r = run(py, t.numel(), move || t.log_softmax(ax))?;
        wrap(py, r)
    }
    #[pyo3(signature = (indices, axis=None))]
    fn take(
        &self,
        py: Python<'_>,
        indices: &Bound<'_, PyAny>,
        axis: Option<isize>,
    ) -> PyResult<Py<PyAny>> {
        let idx = to_tensor(py, indices, None, false)?;
        wrap(py, self.t.take(&idx, axis)?)
    }
    fn nonzero<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let cols = self.t.nonzero()?;
        PyTuple::new(py, cols.into_iter().map(|c| PyTensor { t: c }))
    }

    // ----- interop (see interop.rs for the helpers) -----
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        super::interop::array_interface(py, &self.t)
    }
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<&Bound<'py, PyAny>>,
        max_version: Option<&Bound<'py, PyAny>>,
        dl_device: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = (stream, max_version, dl_device);
        let t = if copy == Some(true) {
            self.t.deep_copy()?
        } else {
            self.t.clone()
        };
        super::interop::to_dlpack(py, &t)
    }
    fn __dlpack_device__(&self) -> PyResult<(i32, i32)> {
        match self.t.device() {
            Device::Cpu => Ok((1, 0)),
            d => Err(pyo3::exceptions::PyBufferError::new_err(format!(
                "DLPack export of {d} tensors is not supported; call .to('cpu') first"
            ))),
        }
    }
    #[pyo3(signature = (api_version=None))]
    fn __array_namespace__(
        &self,
        py: Python<'_>,
        api_version: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        if let Some(v) = api_version {
            if !v.starts_with("202") {
                return Err(PyValueError::new_err(format!(
                    "unsupported array API version {v}"
                )));
            }
        }
        Ok(py.import("ferrograd")?.into_any().unbind())
    }
    fn _fill_scalar(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let s = super::convert::scalar_for(value, self.t.dtype())?
            .ok_or_else(|| PyTypeError::new_err("fill value must be a number"))?;
        // The value is made on the tensor's device (by a fill kernel there), so filling
        // a GPU tensor uploads nothing.
        let v = crate::ops::elementwise::scalar_tensor(s, self.t.dtype(), self.t.device())?;
        Ok(crate::ops::copy::assign(&self.t, &v)?)
    }
}

impl PyTensor {
    /// The real (0) or imaginary (1) part: for a complex tensor a view of its
    /// components, as NumPy's and PyTorch's; for a real tensor the tensor itself or zeros.
    fn part(&self, py: Python<'_>, which: isize) -> PyResult<Py<PyAny>> {
        let t = &self.t;
        let r = if t.dtype().is_complex() {
            let pairs = t.view_as_real()?;
            let n = pairs.ndim() as isize;
            pairs.select(n - 1, which)?
        } else if which == 0 {
            t.clone()
        } else {
            t.unary(UnaryOp::Imag)?
        };
        wrap(py, r)
    }
}
