//! `ferrograd.float32` etc.: dtype objects that compare equal to NumPy's
//! (`t.dtype == np.float32` is True).

use super::convert::numpy;
use crate::tensor::DType;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

#[pyclass(name = "dtype", module = "ferrograd", frozen)]
pub struct PyDType {
    pub dt: DType,
}

static DTYPES: PyOnceLock<[Py<PyDType>; 4]> = PyOnceLock::new();

/// The shared dtype object for `dt` (so `t.dtype is fg.float32`).
pub fn dtype_object(py: Python<'_>, dt: DType) -> PyResult<Py<PyDType>> {
    let all = DTYPES.get_or_try_init(py, || {
        Ok::<_, PyErr>([
            Py::new(py, PyDType { dt: DType::Bool })?,
            Py::new(py, PyDType { dt: DType::I64 })?,
            Py::new(py, PyDType { dt: DType::F32 })?,
            Py::new(py, PyDType { dt: DType::F64 })?,
        ])
    })?;
    let i = match dt {
        DType::Bool => 0,
        DType::I64 => 1,
        DType::F32 => 2,
        DType::F64 => 3,
    };
    Ok(all[i].clone_ref(py))
}

#[pymethods]
impl PyDType {
    #[getter]
    fn name(&self) -> &'static str {
        self.dt.name()
    }
    #[getter]
    fn itemsize(&self) -> usize {
        self.dt.size()
    }
    #[getter]
    fn is_floating_point(&self) -> bool {
        self.dt.is_float()
    }
    /// The equivalent NumPy dtype (`np.dtype(fg.float32)` also works through this).
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        numpy(py)?.call_method1("dtype", (self.dt.name(),))
    }
    fn __repr__(&self) -> String {
        format!("ferrograd.{}", self.dt.name())
    }
    fn __str__(&self) -> &'static str {
        self.dt.name()
    }
    fn __hash__(&self) -> u64 {
        self.dt as u64 + 0x5eed
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match super::convert::parse_dtype(Some(other)) {
            Ok(Some(d)) => d == self.dt,
            _ => false,
        }
    }
    fn __reduce__(&self, py: Python<'_>) -> PyResult<(Py<PyAny>, (&'static str,))> {
        Ok((
            py.import("ferrograd")?
                .getattr("_dtype_from_name")?
                .unbind(),
            (self.dt.name(),),
        ))
    }
}
