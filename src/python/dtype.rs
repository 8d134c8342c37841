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

static DTYPES: PyOnceLock<Vec<Py<PyDType>>> = PyOnceLock::new();

/// The shared dtype object for `dt` (so `t.dtype is fg.float32`).
pub fn dtype_object(py: Python<'_>, dt: DType) -> PyResult<Py<PyDType>> {
    let all = DTYPES.get_or_try_init(py, || {
        DType::ALL
            .iter()
            .map(|&dt| Py::new(py, PyDType { dt }))
            .collect::<PyResult<Vec<_>>>()
    })?;
    let i = DType::ALL
        .iter()
        .position(|&d| d == dt)
        .expect("every dtype is in ALL");
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
    #[getter]
    fn is_complex(&self) -> bool {
        self.dt.is_complex()
    }
    #[getter]
    fn is_signed(&self) -> bool {
        !matches!(
            self.dt.kind(),
            crate::tensor::dtype::Kind::Bool | crate::tensor::dtype::Kind::UnsignedInt
        )
    }
    /// NumPy's one-letter kind: b, i, u, f or c.
    #[getter]
    fn kind(&self) -> &'static str {
        use crate::tensor::dtype::Kind;
        match self.dt.kind() {
            Kind::Bool => "b",
            Kind::SignedInt => "i",
            Kind::UnsignedInt => "u",
            Kind::Float => "f",
            Kind::Complex => "c",
        }
    }
    /// The equivalent NumPy dtype (`np.dtype(fg.float32)` also works through this).
    /// NumPy has no bfloat16: ml_dtypes' when it is installed, else a TypeError.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if self.dt == DType::BF16 {
            let ml = py.import("ml_dtypes").map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(
                    "NumPy has no bfloat16 dtype; install ml_dtypes for one, or use .view(fg.uint16) / .float()",
                )
            })?;
            return numpy(py)?.call_method1("dtype", (ml.getattr("bfloat16")?,));
        }
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
