//! Converting Python arguments: dtypes, shapes, axes, scalars, array-likes, indices.

use super::tensor::PyTensor;
use crate::tensor::index::TensorIndex;
use crate::tensor::storage::CpuStorage;
use crate::tensor::{DType, Layout, Scalar, Storage, Tensor};
use crate::Operand;
use pyo3::exceptions::{PyIndexError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyComplex, PyDict, PyEllipsis, PyFloat, PyInt, PyList, PySlice, PyString, PyTuple,
};
use std::sync::Arc;

static NUMPY: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

pub fn numpy(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    NUMPY
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("numpy")?.unbind()))
        .map(|m| m.bind(py))
}

/// Parses a dtype argument: a ferrograd dtype, a NumPy dtype or type, a string, or the
/// Python types bool/int/float. None gives None.
pub fn parse_dtype(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<DType>> {
    let Some(obj) = obj else { return Ok(None) };
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(d) = obj.extract::<PyRef<'_, super::dtype::PyDType>>() {
        return Ok(Some(d.dt));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        // to_cow, not to_str: the limited API before 3.10 has no borrowed UTF-8 view.
        return Ok(Some(DType::from_name(&s.to_cow()?)?));
    }
    let py = obj.py();
    let name: String = numpy(py)?
        .call_method1("dtype", (obj,))
        .map_err(|_| {
            PyTypeError::new_err(format!(
                "cannot interpret {} as a dtype",
                obj.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        })?
        .getattr("name")?
        .extract()?;
    Ok(Some(DType::from_name(&name)?))
}

/// A Python int outside isize (2**63, -2**100), as its decimal text; None for anything else.
fn oversized_int(obj: &Bound<'_, PyAny>) -> Option<String> {
    if obj.is_instance_of::<PyInt>()
        && !obj.is_instance_of::<PyBool>()
        && obj.extract::<isize>().is_err()
    {
        return obj.str().ok().map(|s| s.to_string());
    }
    None
}

/// The error for an int outside isize where `what` (see `ints_from`) was expected: an axis
/// that large is out of range of any tensor; a size that large cannot be allocated.
fn oversized_error(what: &str, v: &str) -> PyErr {
    if what == "axes" {
        crate::Error::Axis(format!("axis {v} is out of bounds")).into()
    } else if v.starts_with('-') {
        PyValueError::new_err(format!("negative dimensions are not allowed (got {v})"))
    } else {
        PyValueError::new_err(format!(
            "array is too big: {what} must be below 2**63, got {v}"
        ))
    }
}

fn ints_from(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<isize>> {
    if let Some(v) = oversized_int(obj) {
        return Err(oversized_error(what, &v));
    }
    if let Ok(i) = obj.extract::<isize>() {
        if obj.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err(format!(
                "{what} must be integers, got a bool"
            )));
        }
        return Ok(vec![i]);
    }
    if let Ok(t) = obj.extract::<PyRef<'_, PyTensor>>() {
        if t.t.ndim() <= 1 && t.t.dtype().is_int() {
            return Ok(t
                .t
                .to_dtype(DType::I64)?
                .to_vec::<i64>()?
                .into_iter()
                .map(|v| v as isize)
                .collect());
        }
    }
    let seq = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!("{what} must be an int or a sequence of ints"))
    })?;
    seq.map(|v| {
        let v = v?;
        if let Some(big) = oversized_int(&v) {
            return Err(oversized_error(what, &big));
        }
        v.extract::<isize>().map_err(|_| {
            PyTypeError::new_err(format!(
                "{what} must be integers, got {}",
                v.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })
    })
    .collect()
}

/// A shape: an int or a sequence of non-negative ints.
pub fn parse_shape(obj: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    let v = ints_from(obj, "shape entries")?;
    let shape = v
        .iter()
        .map(|&d| {
            if d < 0 {
                Err(PyValueError::new_err(format!(
                    "negative dimensions are not allowed (got {d})"
                )))
            } else {
                Ok(d as usize)
            }
        })
        .collect::<PyResult<Vec<usize>>>()?;
    crate::tensor::shape::checked_numel(&shape)?;
    Ok(shape)
}

/// A reshape target given as varargs (`t.reshape(2, -1)`) or one sequence (`t.reshape((2, -1))`).
pub fn parse_shape_args(args: &Bound<'_, PyTuple>) -> PyResult<Vec<isize>> {
    if args.len() == 1 {
        return ints_from(&args.get_item(0)?, "shape entries");
    }
    ints_from(args.as_any(), "shape entries")
}

/// Axes: None, an int, or a sequence of ints.
pub fn parse_axes(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<isize>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => Ok(Some(ints_from(o, "axes")?)),
    }
}

/// A Python (or NumPy) scalar as a weak `Scalar`, if it is one.
pub fn parse_scalar(obj: &Bound<'_, PyAny>) -> Option<Scalar> {
    if obj.is_instance_of::<PyBool>() {
        return obj.extract::<bool>().ok().map(Scalar::Bool);
    }
    if obj.is_instance_of::<PyInt>() {
        return obj.extract::<i64>().ok().map(Scalar::Int);
    }
    if obj.is_instance_of::<PyFloat>() {
        return obj.extract::<f64>().ok().map(Scalar::Float);
    }
    if let Ok(c) = obj.cast::<PyComplex>() {
        return Some(Scalar::Complex(c.real(), c.imag()));
    }
    // NumPy scalars (np.float32(2), np.int64(3), np.bool_(True)).
    if obj.hasattr("dtype").unwrap_or(false)
        && obj.getattr("ndim").and_then(|n| n.extract::<usize>()).ok() == Some(0)
        && !obj.is_instance_of::<PyTensor>()
    {
        let kind: String = obj
            .getattr("dtype")
            .and_then(|d| d.getattr("kind"))
            .and_then(|k| k.extract())
            .ok()?;
        return match kind.as_str() {
            "b" => obj
                .call_method0("item")
                .ok()?
                .extract::<bool>()
                .ok()
                .map(Scalar::Bool),
            "i" | "u" => obj
                .call_method0("item")
                .ok()?
                .extract::<i64>()
                .ok()
                .map(Scalar::Int),
            "f" => obj
                .call_method0("item")
                .ok()?
                .extract::<f64>()
                .ok()
                .map(Scalar::Float),
            "c" => {
                let item = obj.call_method0("item").ok()?;
                let c = item.cast::<PyComplex>().ok()?;
                Some(Scalar::Complex(c.real(), c.imag()))
            }
            _ => None,
        };
    }
    None
}

/// Refuses a scalar that an integer tensor cannot hold instead of wrapping it: NaN,
/// infinity or a float beyond int64 (NumPy raises the same errors; a cast would give 0
/// or 2**63 - 1).
pub fn check_fits(s: Scalar, dt: DType) -> PyResult<()> {
    if let (Scalar::Float(f), DType::I64) = (s, dt) {
        if f.is_nan() {
            return Err(PyValueError::new_err("cannot convert float NaN to integer"));
        }
        if f.is_infinite() {
            return Err(PyOverflowError::new_err(
                "cannot convert float infinity to integer",
            ));
        }
        // i64 holds [-2**63, 2**63); i64::MIN as f64 is -2**63 exactly.
        let limit = -(i64::MIN as f64);
        if !(-limit..limit).contains(&f) {
            return Err(PyOverflowError::new_err(format!(
                "value {f} is out of bounds for int64"
            )));
        }
    }
    Ok(())
}

/// A scalar written into a tensor of dtype `dt` (`t[i] = v`, `t.fill_(v)`), or None when
/// `obj` is not a scalar. An int beyond int64 becomes a float for a float tensor and is
/// refused for the others, as in NumPy.
pub fn scalar_for(obj: &Bound<'_, PyAny>, dt: DType) -> PyResult<Option<Scalar>> {
    if let Some(v) = oversized_int(obj) {
        if dt.is_float() {
            return Ok(Some(Scalar::Float(obj.extract::<f64>()?)));
        }
        return Err(PyOverflowError::new_err(format!(
            "Python integer {v} out of bounds for {}",
            dt.name()
        )));
    }
    let Some(s) = parse_scalar(obj) else {
        return Ok(None);
    };
    check_fits(s, dt)?;
    Ok(Some(s))
}

/// The other operand of a binary op: a tensor, a scalar, or an array-like (converted).
/// None means "not ours" so the dunder can return NotImplemented.
pub fn parse_operand(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Option<Operand>> {
    if let Ok(t) = obj.extract::<PyRef<'_, PyTensor>>() {
        return Ok(Some(Operand::Tensor(t.t.clone())));
    }
    if let Some(s) = parse_scalar(obj) {
        return Ok(Some(Operand::Scalar(s)));
    }
    if obj.is_instance_of::<PyList>()
        || obj.is_instance_of::<PyTuple>()
        || obj.hasattr("__array_interface__")?
        || obj.hasattr("__array__")?
    {
        return Ok(Some(Operand::Tensor(to_tensor(py, obj, None, false)?)));
    }
    Ok(None)
}

/// Holds a NumPy array (or other owner) alive while a tensor uses its memory.
struct PyOwner(#[allow(dead_code)] Py<PyAny>);

/// Wraps the memory of a NumPy array (via `__array_interface__`) without copying.
/// Returns None when its dtype is not one of ours or its memory is read-only.
pub fn wrap_numpy(arr: &Bound<'_, PyAny>) -> PyResult<Option<Tensor>> {
    wrap_numpy_as(arr, None)
}

/// `wrap_numpy`, reading the elements as `as_dtype` (of the same size) when given: how
/// ml_dtypes' bfloat16 arrays, viewed as uint16 first, come in.
pub fn wrap_numpy_as(arr: &Bound<'_, PyAny>, as_dtype: Option<DType>) -> PyResult<Option<Tensor>> {
    let iface = arr.getattr("__array_interface__")?;
    let iface = iface.cast::<PyDict>()?;
    let typestr: String = iface
        .get_item("typestr")?
        .map(|v| v.extract())
        .transpose()?
        .unwrap_or_default();
    let Some(dt) = DType::ALL
        .into_iter()
        .find(|&d| d != DType::BF16 && super::interop::typestr(d) == typestr)
    else {
        return Ok(None);
    };
    let dt = match as_dtype {
        Some(d) if d.size() == dt.size() => d,
        _ => dt,
    };
    let (addr, readonly): (usize, bool) = iface
        .get_item("data")?
        .ok_or_else(|| PyTypeError::new_err("array interface without data"))?
        .extract()?;
    if readonly {
        return Ok(None);
    }
    let shape: Vec<usize> = iface
        .get_item("shape")?
        .ok_or_else(|| PyTypeError::new_err("array interface without shape"))?
        .extract()?;
    let item = dt.size() as isize;
    let strides: crate::tensor::layout::Strides = match iface.get_item("strides")? {
        Some(s) if !s.is_none() => {
            let bs: Vec<isize> = s.extract()?;
            if bs.iter().any(|b| b % item != 0) || addr % dt.size() != 0 {
                return Ok(None); // unaligned: copy instead
            }
            bs.iter().map(|b| b / item).collect()
        }
        _ => crate::tensor::layout::contiguous_strides(&shape),
    };
    if addr % dt.size() != 0 {
        return Ok(None);
    }
    let mut layout = Layout {
        shape: shape.into(),
        strides,
        offset: 0,
    };
    let (lo, hi) = layout.storage_span();
    let len = (hi - lo).max(0) as usize;
    layout.offset = (-lo) as usize;
    let base = (addr as isize + lo * item) as *mut u8;
    // SAFETY: the array owns [base, base + len*item) and stays alive inside the owner.
    let cpu = unsafe {
        CpuStorage::foreign(
            base,
            len * dt.size(),
            Box::new(PyOwner(arr.clone().unbind())),
        )
    };
    Ok(Some(Tensor::from_parts(
        Arc::new(Storage::from_cpu(cpu, dt, len)),
        layout,
    )))
}

/// The ferrograd dtype NumPy data of `name` converts to (None: unsupported).
fn convertible(kind: &str, itemsize: usize) -> Option<DType> {
    use DType::*;
    Some(match (kind, itemsize) {
        ("b", _) => Bool,
        ("i", 1) => I8,
        ("i", 2) => I16,
        ("i", 4) => I32,
        ("i", _) => I64,
        ("u", 1) => U8,
        ("u", 2) => U16,
        ("u", 4) => U32,
        ("u", _) => U64,
        ("f", 2) => F16,
        ("f", 4) => F32,
        ("f", _) => F64, // float64, and long double rounded to it
        ("c", 8) => C64,
        ("c", _) => C128,
        _ => return None,
    })
}

/// NumPy's uint64 -> int64 cast wraps 2**64 - 1 to -1: a Python int above int64's range
/// (which NumPy stores as uint64) is an error rather than a silently different number.
fn check_uint64_fits(arr: &Bound<'_, PyAny>) -> PyResult<()> {
    if arr.getattr("size")?.extract::<usize>()? == 0 {
        return Ok(());
    }
    let max = arr.call_method0("max")?;
    if max.gt(i64::MAX)? {
        return Err(PyOverflowError::new_err(format!(
            "Python int {max} does not fit in int64; pass dtype=fg.uint64 or dtype=float64"
        )));
    }
    Ok(())
}

/// What the elements of an object array are (see `settle_big_ints`).
struct Numbers {
    /// The first int beyond int64, as text for a message: its value, or its size when
    /// the value would be too long to read.
    oversized: Option<String>,
    any_float: bool,
    all_numbers: bool,
}

fn scan_numbers(np: &Bound<'_, PyModule>, objs: &Bound<'_, PyAny>) -> PyResult<Numbers> {
    let np_float = np.getattr("floating")?;
    let np_int = np.getattr("integer")?;
    let mut n = Numbers {
        oversized: None,
        any_float: false,
        all_numbers: true,
    };
    for item in objs.getattr("flat")?.try_iter()? {
        let item = item?;
        if item.is_instance_of::<PyInt>() {
            if n.oversized.is_none() && item.extract::<i64>().is_err() {
                let bits: usize = item.call_method0("bit_length")?.extract()?;
                n.oversized = Some(if bits <= 128 {
                    item.str()?.to_string()
                } else {
                    format!("of {bits} bits")
                });
            }
        } else if item.is_instance_of::<PyFloat>() || item.is_instance(&np_float)? {
            n.any_float = true;
        } else if !item.is_instance(&np_int)? {
            n.all_numbers = false;
        }
    }
    Ok(n)
}

/// Python ints beyond int64 in data that is not a NumPy array. NumPy keeps such an int as
/// an object (`[2**70]`, also beside a float: `[1.5, 2**70]`) or, mixed with negative
/// ints, turns all the ints into float64 (`[2**64 - 1, -1]`). PyTorch, whose ints are
/// int64, raises OverflowError for ints alone and makes a float tensor when a float is
/// present or a float dtype is asked for; so does ferrograd. Returns the array to use
/// (`arr` itself when nothing changes).
fn settle_big_ints<'py>(
    np: &Bound<'py, PyModule>,
    obj: &Bound<'py, PyAny>,
    arr: &Bound<'py, PyAny>,
    kind: &str,
    dtype: Option<DType>,
) -> PyResult<Bound<'py, PyAny>> {
    let float_asked = dtype.is_some_and(|d| d.is_float());
    let overflow = |v: String| {
        PyOverflowError::new_err(format!(
            "Python int {v} is too large to convert to int64; pass dtype=float64 to get floats"
        ))
    };
    match kind {
        "O" if float_asked => return np.call_method1("asarray", (obj, "float64")),
        "O" => {
            let n = scan_numbers(np, arr)?;
            if dtype.is_none() && n.any_float && n.all_numbers {
                return np.call_method1("asarray", (obj, "float64"));
            }
            if let Some(v) = n.oversized {
                return Err(overflow(v));
            }
        }
        // Floats this large are rare, so the element scan runs only then.
        "f" if !float_asked
            && (obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>())
            && arr.getattr("size")?.extract::<usize>()? > 0
            && np
                .call_method1("abs", (arr,))?
                .call_method0("max")?
                .ge(9.223_372_036_854_775_808e18)? =>
        {
            let objs = np.call_method1("array", (obj, "object"))?;
            let n = scan_numbers(np, &objs)?;
            if let (false, Some(v)) = (n.any_float, n.oversized) {
                return Err(overflow(v));
            }
        }
        _ => {}
    }
    Ok(arr.clone())
}

/// Converts any array-like to a tensor. `copy=false` shares memory where possible.
/// Python floats (and lists of them) become float32, ints int64, as in PyTorch.
pub fn to_tensor(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    dtype: Option<DType>,
    copy: bool,
) -> PyResult<Tensor> {
    if let Ok(t) = obj.extract::<PyRef<'_, PyTensor>>() {
        // A copy is a new leaf outside the graph (torch.tensor(t)); without a copy the
        // tensor itself comes back (torch.as_tensor).
        let t = if copy { t.t.detach() } else { t.t.clone() };
        return Ok(match dtype {
            Some(d) if d != t.dtype() => t.astype(d)?,
            _ if copy => t.deep_copy()?,
            _ => t,
        });
    }
    let np = numpy(py)?;
    let is_ndarray =
        obj.is_instance(&np.getattr("ndarray")?)? || obj.is_instance(&np.getattr("generic")?)?;
    let mut arr =
        if obj.hasattr("__dlpack__")? && !is_ndarray && !obj.hasattr("__array_interface__")? {
            np.call_method1("from_dlpack", (obj,))?
        } else {
            np.call_method1("asarray", (obj,))?
        };
    let mut npdt = arr.getattr("dtype")?;
    let mut kind: String = npdt.getattr("kind")?.extract()?;
    if !is_ndarray {
        let settled = settle_big_ints(np, obj, &arr, &kind, dtype)?;
        if !settled.is(&arr) {
            arr = settled;
            npdt = arr.getattr("dtype")?;
            kind = npdt.getattr("kind")?.extract()?;
        }
    }
    let itemsize: usize = npdt.getattr("itemsize")?.extract()?;
    let np_name: String = npdt.getattr("name")?.extract()?;
    let natural = if np_name == "bfloat16" {
        Some(DType::BF16) // ml_dtypes' bfloat16 (kind "V")
    } else {
        convertible(&kind, itemsize)
    };
    let natural = natural.ok_or_else(|| {
        PyTypeError::new_err(format!(
            "unsupported dtype {}: ferrograd supports bool, int8/16/32/64, uint8/16/32/64, float16, bfloat16, float32, float64, complex64 and complex128",
            npdt.str().map(|s| s.to_string()).unwrap_or_default()
        ))
    })?;
    // Python numbers (not NumPy arrays) take PyTorch's defaults: floats float32, complex
    // complex64, ints int64 (an int above int64 is refused below, not made uint64).
    let natural = match natural {
        DType::F64 if !is_ndarray => DType::F32,
        DType::C128 if !is_ndarray => DType::C64,
        DType::U64 if !is_ndarray => DType::I64,
        d => d,
    };
    let target = dtype.unwrap_or(natural);
    if kind == "u" && itemsize == 8 && target == DType::I64 && !is_ndarray {
        check_uint64_fits(&arr)?;
    }
    let (arr, as_dtype) = if target == DType::BF16 {
        // NumPy can't cast to bfloat16 without ml_dtypes: round through our own cast
        let raw = if np_name == "bfloat16" {
            arr.call_method1("view", ("uint16",))?
        } else {
            let t = to_tensor(py, &arr, None, false)?.astype(DType::BF16)?;
            return Ok(t);
        };
        (raw, Some(DType::BF16))
    } else if np_name != target.name() {
        (arr.call_method1("astype", (target.name(),))?, None)
    } else {
        (arr, None)
    };
    let wrapped = wrap_numpy_as(&arr, as_dtype)?;
    match wrapped {
        Some(t) if !copy => Ok(t),
        Some(t) => Ok(t.deep_copy()?),
        None => {
            let c = np.call_method1("array", (arr,))?; // writable, aligned copy
            Ok(wrap_numpy_as(&c, as_dtype)?
                .ok_or_else(|| PyTypeError::new_err("could not convert array"))?
                .deep_copy()?)
        }
    }
}

/// A slice bound or step: None, or an integer (anything with `__index__`). Python and
/// NumPy clamp an integer beyond isize to the extreme index, so `x[2**100:]` is empty and
/// `x[-2**100:]` is all of x; a step is clamped to +-isize::MAX as in CPython.
fn slice_int(obj: &Bound<'_, PyAny>, is_step: bool) -> PyResult<Option<isize>> {
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(v) = obj.extract::<isize>() {
        return Ok(Some(v));
    }
    let int = if obj.is_instance_of::<PyInt>() {
        obj.clone()
    } else if obj.hasattr("__index__")? {
        obj.call_method0("__index__")?
    } else {
        return Err(PyTypeError::new_err(format!(
            "slice indices must be integers or None or have an __index__ method, got {}",
            obj.get_type().name()?
        )));
    };
    if let Ok(v) = int.extract::<isize>() {
        return Ok(Some(v));
    }
    Ok(Some(match (int.lt(0)?, is_step) {
        (false, _) => isize::MAX,
        (true, true) => -isize::MAX,
        (true, false) => isize::MIN,
    }))
}

fn parse_index_item(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<TensorIndex> {
    if obj.is_none() {
        return Ok(TensorIndex::NewAxis);
    }
    if obj.is_instance_of::<PyEllipsis>() {
        return Ok(TensorIndex::Ellipsis);
    }
    if let Ok(s) = obj.cast::<PySlice>() {
        let step = slice_int(&s.getattr("step")?, true)?.unwrap_or(1);
        return Ok(TensorIndex::Slice(
            slice_int(&s.getattr("start")?, false)?,
            slice_int(&s.getattr("stop")?, false)?,
            step,
        ));
    }
    if obj.is_instance_of::<PyBool>() {
        return Ok(TensorIndex::Array(Tensor::scalar(obj.extract::<bool>()?)));
    }
    if obj.is_instance_of::<PyInt>() {
        return match oversized_int(obj) {
            Some(v) => Err(PyIndexError::new_err(format!(
                "index {v} is out of bounds (indices must lie in [-2**63, 2**63))"
            ))),
            None => Ok(TensorIndex::Int(obj.extract::<isize>()?)),
        };
    }
    if let Ok(t) = obj.extract::<PyRef<'_, PyTensor>>() {
        if t.t.ndim() == 0 && t.t.dtype().is_int() {
            return Ok(TensorIndex::Int(t.t.item_parts()?.2 as isize));
        }
        return Ok(TensorIndex::Array(t.t.clone()));
    }
    if obj.is_instance_of::<PyFloat>() {
        return Err(PyIndexError::new_err(
            "only integers, slices (`:`), ellipsis (`...`), None and integer or boolean arrays are valid indices",
        ));
    }
    let t = to_tensor(py, obj, None, false).map_err(|_| {
        PyIndexError::new_err("only integers, slices (`:`), ellipsis (`...`), None and integer or boolean arrays are valid indices")
    })?;
    // NumPy reads an empty list (or tuple) as an empty integer index, though
    // `np.asarray([])` is float: x[[]] is x's first dim taken nowhere, shape (0, ...).
    // An empty float *array* stays an error, as in NumPy.
    let t = if t.dtype().is_float()
        && t.numel() == 0
        && (obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>())
    {
        t.astype(DType::I64)?
    } else {
        t
    };
    if t.dtype().is_float() {
        return Err(PyIndexError::new_err(
            "arrays used as indices must be of integer or boolean type",
        ));
    }
    if t.ndim() == 0 && t.dtype() == DType::I64 {
        return Ok(TensorIndex::Int(t.item()? as isize));
    }
    Ok(TensorIndex::Array(t))
}

/// Parses the key of `t[key]`.
pub fn parse_index(py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Vec<TensorIndex>> {
    if let Ok(tup) = key.cast::<PyTuple>() {
        return tup.iter().map(|it| parse_index_item(py, &it)).collect();
    }
    Ok(vec![parse_index_item(py, key)?])
}
