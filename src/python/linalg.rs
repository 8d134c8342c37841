//! Bindings of the decompositions (`crate::ops::linalg`): `_core._linalg_*`. The
//! Python module `ferrograd.linalg` converts array-likes, builds the named tuples and
//! writes the composite functions (norms, trace, cross, pinv, ...) on top of these.

use super::tensor::{run, wrap, PyTensor};
use pyo3::prelude::*;

type Py2 = (Py<PyAny>, Py<PyAny>);

/// Work estimate for the GIL release: an O(n^3) factorization of each matrix.
fn work(t: &crate::Tensor) -> usize {
    let n = t.shape().last().copied().unwrap_or(1);
    t.numel().saturating_mul(n.max(1))
}

#[pyfunction]
fn _linalg_cholesky(py: Python<'_>, x: PyRef<'_, PyTensor>, upper: bool) -> PyResult<Py<PyAny>> {
    let x = x.t.clone();
    let r = run(py, work(&x), move || x.cholesky(upper))?;
    wrap(py, r)
}

#[pyfunction]
fn _linalg_det(py: Python<'_>, x: PyRef<'_, PyTensor>) -> PyResult<Py<PyAny>> {
    let x = x.t.clone();
    let r = run(py, work(&x), move || x.det())?;
    wrap(py, r)
}

#[pyfunction]
fn _linalg_slogdet(py: Python<'_>, x: PyRef<'_, PyTensor>) -> PyResult<Py2> {
    let x = x.t.clone();
    let (s, l) = run(py, work(&x), move || x.slogdet())?;
    Ok((wrap(py, s)?, wrap(py, l)?))
}

#[pyfunction]
fn _linalg_inv(py: Python<'_>, x: PyRef<'_, PyTensor>) -> PyResult<Py<PyAny>> {
    let x = x.t.clone();
    let r = run(py, work(&x), move || x.inv())?;
    wrap(py, r)
}

#[pyfunction]
fn _linalg_solve(
    py: Python<'_>,
    a: PyRef<'_, PyTensor>,
    b: PyRef<'_, PyTensor>,
) -> PyResult<Py<PyAny>> {
    let (a, b) = (a.t.clone(), b.t.clone());
    let r = run(py, work(&a) + b.numel(), move || a.solve(&b))?;
    wrap(py, r)
}

#[pyfunction]
fn _linalg_qr(py: Python<'_>, x: PyRef<'_, PyTensor>, complete: bool) -> PyResult<Py2> {
    let x = x.t.clone();
    let (q, r) = run(py, work(&x), move || x.qr(complete))?;
    Ok((wrap(py, q)?, wrap(py, r)?))
}

#[pyfunction]
fn _linalg_eigh(py: Python<'_>, x: PyRef<'_, PyTensor>) -> PyResult<Py2> {
    let x = x.t.clone();
    let (w, v) = run(py, work(&x), move || x.eigh())?;
    Ok((wrap(py, w)?, wrap(py, v)?))
}

#[pyfunction]
fn _linalg_eigvalsh(py: Python<'_>, x: PyRef<'_, PyTensor>) -> PyResult<Py<PyAny>> {
    let x = x.t.clone();
    let r = run(py, work(&x), move || x.eigvalsh())?;
    wrap(py, r)
}

#[pyfunction]
fn _linalg_svd(
    py: Python<'_>,
    x: PyRef<'_, PyTensor>,
    full_matrices: bool,
) -> PyResult<(Py<PyAny>, Py<PyAny>, Py<PyAny>)> {
    let x = x.t.clone();
    let (u, s, vh) = run(py, work(&x), move || x.svd(full_matrices))?;
    Ok((wrap(py, u)?, wrap(py, s)?, wrap(py, vh)?))
}

#[pyfunction]
fn _linalg_svdvals(py: Python<'_>, x: PyRef<'_, PyTensor>) -> PyResult<Py<PyAny>> {
    let x = x.t.clone();
    let r = run(py, work(&x), move || x.svdvals())?;
    wrap(py, r)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("LinAlgError", super::errors::linalg_error_type(m.py())?)?;
    m.add_function(wrap_pyfunction!(_linalg_cholesky, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_det, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_slogdet, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_inv, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_solve, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_qr, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_eigh, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_eigvalsh, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_svd, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_svdvals, m)?)?;
    Ok(())
}
