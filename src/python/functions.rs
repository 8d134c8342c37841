//! Module-level functions of `ferrograd._core`: creation, joining, devices, threads, seeds.
//! The Python package wraps these with the NumPy/PyTorch argument conventions.

use super::convert::{parse_dtype, parse_operand, parse_shape, to_tensor};
use super::tensor::{run, wrap, PyTensor};
use crate::device::Device;
use crate::tensor::{DType, Scalar, Tensor};
use crate::Operand;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

#[pyclass(name = "device", module = "ferrograd", frozen, eq, hash)]
#[derive(PartialEq, Hash)]
pub struct PyDevice {
    pub d: Device,
}

#[pymethods]
impl PyDevice {
    #[new]
    fn new(name: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyDevice {
            d: parse_device(name)?,
        })
    }
    #[getter]
    fn r#type(&self) -> &'static str {
        self.d.name()
    }
    fn __repr__(&self) -> String {
        format!("device(type='{}')", self.d.name())
    }
    fn __str__(&self) -> &'static str {
        self.d.name()
    }
}

pub fn parse_device(obj: &Bound<'_, PyAny>) -> PyResult<Device> {
    if let Ok(d) = obj.extract::<PyRef<'_, PyDevice>>() {
        return Ok(d.d);
    }
    let s: String = obj
        .extract()
        .map_err(|_| PyTypeError::new_err("device must be a string like 'cpu' or 'wgpu'"))?;
    Ok(Device::parse(&s)?)
}

fn dev_of(device: Option<&Bound<'_, PyAny>>) -> PyResult<Device> {
    match device {
        Some(d) if !d.is_none() => parse_device(d),
        _ => Ok(Device::Cpu),
    }
}

fn finish(py: Python<'_>, t: Tensor, device: Device, requires_grad: bool) -> PyResult<Py<PyAny>> {
    let t = t.to_device(device)?;
    if requires_grad {
        t.set_requires_grad(true)?;
    }
    wrap(py, t)
}

#[pyfunction]
#[pyo3(signature = (data, dtype=None, copy=true, device=None, requires_grad=false))]
pub fn _tensor(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    copy: bool,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyAny>> {
    let t = to_tensor(py, data, parse_dtype(dtype)?, copy)?;
    finish(py, t, dev_of(device)?, requires_grad)
}

#[pyfunction]
pub fn from_numpy(py: Python<'_>, array: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let np = super::convert::numpy(py)?;
    if !array.is_instance(&np.getattr("ndarray")?)? {
        return Err(PyTypeError::new_err(format!(
            "from_numpy expects a numpy.ndarray, got {}",
            array.get_type().name()?
        )));
    }
    match super::convert::wrap_numpy(array)? {
        Some(t) => wrap(py, t),
        None => Err(PyTypeError::new_err(format!(
            "from_numpy: can't share memory with an array of dtype {} (or a read-only/unaligned one); ferrograd supports bool, int64, float32 and float64 — use fg.tensor(...) to copy",
            array.getattr("dtype")?.str()?
        ))),
    }
}

#[pyfunction]
pub fn from_dlpack(py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    wrap(py, super::interop::from_dlpack(py, x)?)
}

fn dtype_or(dtype: Option<&Bound<'_, PyAny>>, default: DType) -> PyResult<DType> {
    Ok(parse_dtype(dtype)?.unwrap_or(default))
}

#[pyfunction]
#[pyo3(signature = (shape, fill_value, dtype=None, device=None, requires_grad=false))]
pub fn full(
    py: Python<'_>,
    shape: &Bound<'_, PyAny>,
    fill_value: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyAny>> {
    let s = super::convert::parse_scalar(fill_value)
        .ok_or_else(|| PyTypeError::new_err("fill_value must be a number or bool"))?;
    let dt = dtype_or(dtype, s.kind_dtype())?;
    super::convert::check_fits(s, dt)?;
    let (shape, dev) = (parse_shape(shape)?, dev_of(device)?);
    let t = run(py, crate::tensor::shape::numel(&shape), move || {
        Tensor::full_on(&shape, s, dt, dev)
    })?;
    finish(py, t, dev, requires_grad)
}

/// The constructors that take (shape, dtype=None, device=None, requires_grad=False), with
/// float32 as the default dtype: one definition, instantiated per name with the `Tensor`
/// constructor it calls. Each makes its tensor on the device itself (no host buffer and
/// upload).
macro_rules! shape_constructors {
    ($($(#[$doc:meta])* $name:ident => $make:expr;)*) => {$(
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = (shape, dtype=None, device=None, requires_grad=false))]
        pub fn $name(
            py: Python<'_>,
            shape: &Bound<'_, PyAny>,
            dtype: Option<&Bound<'_, PyAny>>,
            device: Option<&Bound<'_, PyAny>>,
            requires_grad: bool,
        ) -> PyResult<Py<PyAny>> {
            let make: fn(&[usize], DType, Device) -> crate::Result<Tensor> = $make;
            let (shape, dt) = (parse_shape(shape)?, dtype_or(dtype, DType::F32)?);
            let dev = dev_of(device)?;
            let t = run(py, crate::tensor::shape::numel(&shape), move || make(&shape, dt, dev))?;
            finish(py, t, dev, requires_grad)
        }
    )*};
}

shape_constructors! {
    /// A tensor of zeros.
    zeros => Tensor::zeros_on;
    /// A tensor of ones.
    ones => |s, dt, dev| Tensor::full_on(s, Scalar::Int(1), dt, dev);
    /// An uninitialised tensor.
    empty => Tensor::empty_on;
    /// Uniform samples from [0, 1).
    rand => Tensor::rand_on;
    /// Standard normal samples.
    randn => Tensor::randn_on;
}

#[pyfunction]
#[pyo3(signature = (start, stop=None, step=None, dtype=None, device=None, requires_grad=false))]
pub fn arange(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    stop: Option<&Bound<'_, PyAny>>,
    step: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyAny>> {
    let num = |o: &Bound<'_, PyAny>| -> PyResult<Scalar> {
        super::convert::parse_scalar(o)
            .ok_or_else(|| PyTypeError::new_err("arange arguments must be numbers"))
    };
    let mut vals = vec![num(start)?];
    if let Some(s) = stop.filter(|s| !s.is_none()) {
        vals.push(num(s)?);
    }
    let st = match step.filter(|s| !s.is_none()) {
        Some(s) => num(s)?,
        None => Scalar::Int(1),
    };
    let (a, b) = if vals.len() == 1 {
        (Scalar::Int(0), vals[0])
    } else {
        (vals[0], vals[1])
    };
    let any_float = [a, b, st].iter().any(|s| matches!(s, Scalar::Float(_)));
    let dt = dtype_or(dtype, if any_float { DType::F32 } else { DType::I64 })?;
    // Built on the host and moved (an upload on wgpu): each value is start + i * step in
    // float64 rounded once to dtype, which float32 arithmetic on the GPU cannot reproduce.
    let t = run(py, 0, move || {
        Tensor::arange(a.to_f64(), b.to_f64(), st.to_f64(), dt)
    })?;
    finish(py, t, dev_of(device)?, requires_grad)
}

#[pyfunction]
#[pyo3(signature = (start, stop, num, endpoint=true, dtype=None, device=None, requires_grad=false))]
pub fn linspace(
    py: Python<'_>,
    start: f64,
    stop: f64,
    num: i64,
    endpoint: bool,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyAny>> {
    if num < 0 {
        return Err(PyValueError::new_err(format!(
            "number of samples, {num}, must be non-negative"
        )));
    }
    let dt = dtype_or(dtype, DType::F32)?;
    // Host-built and moved, as arange (float64 values rounded once).
    let t = run(py, num as usize, move || {
        Tensor::linspace(start, stop, num as usize, endpoint, dt)
    })?;
    finish(py, t, dev_of(device)?, requires_grad)
}

#[pyfunction]
#[pyo3(signature = (n, m=None, k=0, dtype=None, device=None, requires_grad=false))]
pub fn eye(
    py: Python<'_>,
    n: i64,
    m: Option<i64>,
    k: isize,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyAny>> {
    if n < 0 || m.unwrap_or(0) < 0 {
        return Err(PyValueError::new_err("eye: n and m must be non-negative"));
    }
    let dt = dtype_or(dtype, DType::F32)?;
    crate::tensor::shape::checked_numel(&[n as usize, m.unwrap_or(n) as usize])?;
    let dev = dev_of(device)?;
    let t = run(py, n as usize, move || {
        let m = m.map(|v| v as usize);
        match dev {
            Device::Cpu => Tensor::eye(n as usize, m, k, dt),
            // Zeros and a diagonal write, both on the device.
            _ => Tensor::eye_on(n as usize, m, k, dt, dev),
        }
    })?;
    finish(py, t, dev, requires_grad)
}

#[pyfunction]
#[pyo3(signature = (low, high, shape, dtype=None, device=None))]
pub fn randint(
    py: Python<'_>,
    low: i64,
    high: i64,
    shape: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let (shape, dt) = (parse_shape(shape)?, dtype_or(dtype, DType::I64)?);
    let dev = dev_of(device)?;
    let t = run(py, crate::tensor::shape::numel(&shape), move || {
        Tensor::randint_on(low, high, &shape, dt, dev)
    })?;
    finish(py, t, dev, false)
}

fn tensors_of(py: Python<'_>, seq: &Bound<'_, PyAny>) -> PyResult<Vec<Tensor>> {
    seq.try_iter()
        .map_err(|_| PyTypeError::new_err("expected a sequence of tensors"))?
        .map(|x| to_tensor(py, &x?, None, false))
        .collect()
}

#[pyfunction]
#[pyo3(signature = (arrays, axis=Some(0)))]
pub fn concat(
    py: Python<'_>,
    arrays: &Bound<'_, PyAny>,
    axis: Option<isize>,
) -> PyResult<Py<PyAny>> {
    let ts = tensors_of(py, arrays)?;
    let work: usize = ts.iter().map(|t| t.numel()).sum();
    let r = run(py, work, move || Tensor::concat(&ts, axis))?;
    wrap(py, r)
}

#[pyfunction]
#[pyo3(signature = (arrays, axis=0))]
pub fn stack(py: Python<'_>, arrays: &Bound<'_, PyAny>, axis: isize) -> PyResult<Py<PyAny>> {
    let ts = tensors_of(py, arrays)?;
    let work: usize = ts.iter().map(|t| t.numel()).sum();
    let r = run(py, work, move || Tensor::stack(&ts, axis))?;
    wrap(py, r)
}

#[pyfunction]
#[pyo3(name = "where")]
pub fn where_(
    py: Python<'_>,
    condition: &Bound<'_, PyAny>,
    x1: &Bound<'_, PyAny>,
    x2: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let c = to_tensor(py, condition, None, false)?;
    let op = |o: &Bound<'_, PyAny>| -> PyResult<Operand> {
        parse_operand(py, o)?.ok_or_else(|| {
            PyTypeError::new_err("where: x1 and x2 must be tensors, arrays or numbers")
        })
    };
    let (a, b) = (op(x1)?, op(x2)?);
    let r = run(py, c.numel(), move || Tensor::where_(&c, a, b))?;
    wrap(py, r)
}

#[pyfunction]
#[pyo3(signature = (x, indices_or_sections, axis=0))]
pub fn split(
    py: Python<'_>,
    x: PyRef<'_, PyTensor>,
    indices_or_sections: &Bound<'_, PyAny>,
    axis: isize,
) -> PyResult<Vec<Py<PyAny>>> {
    let parts = if let Ok(n) = indices_or_sections.extract::<i64>() {
        if n <= 0 {
            return Err(PyValueError::new_err(
                "number sections must be larger than 0",
            ));
        }
        x.t.split_sections(n as usize, axis)?
    } else {
        let pts: Vec<i64> = indices_or_sections.extract().map_err(|_| {
            PyTypeError::new_err("indices_or_sections must be an int or a list of ints")
        })?;
        let ax = crate::tensor::shape::normalize_axis(axis, x.t.ndim())?;
        let n = x.t.shape()[ax] as i64;
        let pts: Vec<usize> = pts
            .iter()
            .map(|&p| (if p < 0 { p + n } else { p }).clamp(0, n) as usize)
            .collect();
        x.t.split_at(&pts, axis)?
    };
    parts.into_iter().map(|t| wrap(py, t)).collect()
}

#[pyfunction]
#[pyo3(signature = (indices, num_classes=-1))]
pub fn one_hot(
    py: Python<'_>,
    indices: &Bound<'_, PyAny>,
    num_classes: i64,
) -> PyResult<Py<PyAny>> {
    let t = to_tensor(py, indices, None, false)?;
    wrap(
        py,
        t.one_hot(if num_classes < 0 {
            None
        } else {
            Some(num_classes as usize)
        })?,
    )
}

#[pyfunction]
pub fn take_along_axis(
    py: Python<'_>,
    x: PyRef<'_, PyTensor>,
    indices: &Bound<'_, PyAny>,
    axis: isize,
) -> PyResult<Py<PyAny>> {
    let idx = to_tensor(py, indices, None, false)?;
    wrap(py, x.t.take_along_axis(&idx, axis)?)
}

/// The engine behind `ferrograd.autograd.grad`.
#[pyfunction]
#[pyo3(signature = (outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused))]
pub fn _grad(
    py: Python<'_>,
    outputs: Vec<PyRef<'_, PyTensor>>,
    inputs: Vec<PyRef<'_, PyTensor>>,
    grad_outputs: Vec<Option<PyRef<'_, PyTensor>>>,
    retain_graph: bool,
    create_graph: bool,
    allow_unused: bool,
) -> PyResult<Vec<Option<Py<PyAny>>>> {
    let outs: Vec<Tensor> = outputs.iter().map(|t| t.t.clone()).collect();
    let ins: Vec<Tensor> = inputs.iter().map(|t| t.t.clone()).collect();
    let gos: Vec<Option<Tensor>> = grad_outputs
        .iter()
        .map(|g| g.as_ref().map(|g| g.t.clone()))
        .collect();
    let work = outs.iter().map(|t| t.numel()).sum();
    let grads = run(py, work, move || {
        crate::autograd::grad(&outs, &ins, &gos, retain_graph, create_graph, allow_unused)
    })?;
    grads
        .into_iter()
        .map(|g| g.map(|g| wrap(py, g)).transpose())
        .collect()
}

#[pyfunction]
pub fn _set_grad_enabled(on: bool) -> bool {
    crate::autograd::set_grad_enabled(on)
}

#[pyfunction]
pub fn _is_grad_enabled() -> bool {
    crate::autograd::is_grad_enabled()
}

/// Seeds the global generator. As PyTorch, any int in [-2**63, 2**64) is a seed, a
/// negative one taken modulo 2**64, so `manual_seed(initial_seed())` always works.
#[pyfunction]
pub fn manual_seed(seed: &Bound<'_, PyAny>) -> PyResult<()> {
    let s = match (seed.extract::<u64>(), seed.extract::<i64>()) {
        (Ok(u), _) => u,
        (_, Ok(i)) => i as u64,
        _ if seed.is_instance_of::<pyo3::types::PyInt>() => {
            return Err(PyValueError::new_err(format!(
                "manual_seed: seed must be in [-2**63, 2**64), got {seed}"
            )))
        }
        _ => {
            return Err(PyTypeError::new_err(format!(
                "manual_seed: seed must be an int, got {}",
                seed.get_type().name()?
            )))
        }
    };
    crate::random::manual_seed(s);
    Ok(())
}

#[pyfunction]
pub fn initial_seed() -> u64 {
    crate::random::initial_seed()
}

#[pyfunction]
pub fn set_num_threads(n: i64) -> PyResult<()> {
    if n < 1 {
        return Err(PyValueError::new_err(format!(
            "set_num_threads expects a positive integer, got {n}"
        )));
    }
    crate::set_num_threads(n as usize);
    Ok(())
}

#[pyfunction]
pub fn get_num_threads() -> usize {
    crate::num_threads()
}

/// The SIMD build the CPU kernels run: "default", "avx2" or "avx512" (PyTorch's
/// torch.backends.cpu.get_cpu_capability).
#[pyfunction]
pub fn get_cpu_capability() -> &'static str {
    crate::cpu_capability()
}

#[pyfunction]
pub fn wgpu_is_available() -> bool {
    Device::Wgpu.check_available().is_ok()
}

#[pyfunction]
pub fn wgpu_adapter_name() -> PyResult<String> {
    #[cfg(feature = "wgpu")]
    {
        Ok(crate::device::wgpu::adapter_name()?)
    }
    #[cfg(not(feature = "wgpu"))]
    {
        Err(pyo3::exceptions::PyRuntimeError::new_err(
            "ferrograd was built without the 'wgpu' feature",
        ))
    }
}
