//! Maps `ferrograd::Error` to the Python exception a NumPy/PyTorch user expects.

use crate::Error;
use pyo3::exceptions::{PyIndexError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use std::sync::atomic::{AtomicU64, Ordering};

/// Creates (once) the exception class `ferrograd.<name>` with the given bases.
fn exception_type<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
    bases: &[Bound<'py, PyType>],
    doc: &str,
) -> PyResult<&'py Bound<'py, PyType>> {
    cell.get_or_try_init(py, || {
        let ns = PyDict::new(py);
        ns.set_item("__module__", "ferrograd")?;
        ns.set_item("__doc__", doc)?;
        let bases = PyTuple::new(py, bases)?;
        let t = py.get_type::<PyType>().call1((name, bases, ns))?;
        Ok::<_, PyErr>(t.cast_into::<PyType>()?.unbind())
    })
    .map(|t| t.bind(py))
}

/// An instance of one of those classes carrying `msg`.
fn raise_as(make: fn(Python<'_>) -> PyResult<&Bound<'_, PyType>>, msg: String) -> PyErr {
    Python::attach(|py| match make(py) {
        Ok(t) => PyErr::from_type(t.clone(), msg),
        Err(e) => e,
    })
}

static AXIS_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `ferrograd.AxisError`: both a ValueError and an IndexError, like NumPy's.
pub fn axis_error_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    exception_type(
        py,
        &AXIS_ERROR,
        "AxisError",
        &[py.get_type::<PyValueError>(), py.get_type::<PyIndexError>()],
        "An axis argument is out of range for the tensor's dimensions.",
    )
}

static LINALG_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `ferrograd.linalg.LinAlgError`: a ValueError subclass, as NumPy's
/// `numpy.linalg.LinAlgError`, for a singular matrix, a matrix that is not
/// positive-definite, or one that is not square.
pub fn linalg_error_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    let t = exception_type(
        py,
        &LINALG_ERROR,
        "LinAlgError",
        &[py.get_type::<PyValueError>()],
        "A linear-algebra function failed: a singular matrix (inv, solve), one that is not \
         positive-definite (cholesky), or an input that is not a (square) matrix.",
    )?;
    t.setattr("__module__", "ferrograd.linalg")?;
    Ok(t)
}

static INTERNAL_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `ferrograd.InternalError`: a RuntimeError subclass for a bug in ferrograd (a Rust
/// panic caught at the boundary). Its own class, so tests can tell a bug from the
/// RuntimeError a bad argument gets.
pub fn internal_error_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    exception_type(
        py,
        &INTERNAL_ERROR,
        "InternalError",
        &[py.get_type::<PyRuntimeError>()],
        "A bug in ferrograd: an internal check failed. Please report it.",
    )
}

/// How many panics have been caught at the boundary since the module was loaded: the
/// test suite checks that no test raised one, however the test judged its exception.
static INTERNAL_ERRORS: AtomicU64 = AtomicU64::new(0);

#[pyfunction]
pub fn _internal_error_count() -> u64 {
    INTERNAL_ERRORS.load(Ordering::Relaxed)
}

/// Panics inside the boundary's guard, for the test that checks a caught panic becomes
/// `fg.InternalError` and is counted (nothing else calls it).
#[pyfunction]
pub fn _panic_for_testing(py: Python<'_>) -> PyResult<()> {
    super::tensor::run(py, 0, || -> crate::Result<()> {
        panic!("deliberate panic for the test suite")
    })
}

/// The InternalError for a caught panic's message.
pub fn internal_error(msg: String) -> PyErr {
    INTERNAL_ERRORS.fetch_add(1, Ordering::Relaxed);
    raise_as(internal_error_type, msg)
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        let msg = e.to_string();
        match e {
            Error::Shape(_) | Error::Value(_) => PyValueError::new_err(msg),
            Error::DType(_) => PyTypeError::new_err(msg),
            Error::Index(_) => PyIndexError::new_err(msg),
            Error::Axis(_) => raise_as(axis_error_type, msg),
            Error::Device(_) | Error::Runtime(_) => PyRuntimeError::new_err(msg),
            Error::Memory(_) => pyo3::exceptions::PyMemoryError::new_err(msg),
            Error::LinAlg(_) => raise_as(linalg_error_type, msg),
        }
    }
}
