//! Bindings of the fused normalization and dropout kernels (`ferrograd._core.layer_norm`
//! etc.), with PyTorch's `torch.nn.functional` signatures. The nn modules in the Python
//! package call these.

use super::convert::parse_shape;
use super::tensor::{run, wrap, PyTensor};
use crate::ops::{dropout as drop_op, norm};
use crate::Tensor;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

fn opt(t: &Option<PyRef<'_, PyTensor>>) -> Option<Tensor> {
    t.as_ref().map(|t| t.t.clone())
}

#[pyfunction]
#[pyo3(signature = (input, normalized_shape, weight=None, bias=None, eps=1e-5))]
fn layer_norm(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    normalized_shape: &Bound<'_, PyAny>,
    weight: Option<PyRef<'_, PyTensor>>,
    bias: Option<PyRef<'_, PyTensor>>,
    eps: f64,
) -> PyResult<Py<PyAny>> {
    let ns = parse_shape(normalized_shape)?;
    let (x, w, b) = (input.t.clone(), opt(&weight), opt(&bias));
    let r = run(py, x.numel(), move || {
        norm::layer_norm(&x, &ns, w.as_ref(), b.as_ref(), eps)
    })?;
    wrap(py, r)
}

#[pyfunction]
#[pyo3(signature = (input, normalized_shape, weight=None, eps=None))]
fn rms_norm(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    normalized_shape: &Bound<'_, PyAny>,
    weight: Option<PyRef<'_, PyTensor>>,
    eps: Option<f64>,
) -> PyResult<Py<PyAny>> {
    let ns = parse_shape(normalized_shape)?;
    let (x, w) = (input.t.clone(), opt(&weight));
    let r = run(py, x.numel(), move || {
        norm::rms_norm(&x, &ns, w.as_ref(), eps)
    })?;
    wrap(py, r)
}

#[pyfunction]
#[pyo3(signature = (input, num_groups, weight=None, bias=None, eps=1e-5))]
fn group_norm(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    num_groups: i64,
    weight: Option<PyRef<'_, PyTensor>>,
    bias: Option<PyRef<'_, PyTensor>>,
    eps: f64,
) -> PyResult<Py<PyAny>> {
    if num_groups <= 0 {
        return Err(PyValueError::new_err(format!(
            "group_norm: num_groups must be a positive integer, got {num_groups}"
        )));
    }
    let (x, w, b) = (input.t.clone(), opt(&weight), opt(&bias));
    let r = run(py, x.numel(), move || {
        norm::group_norm(&x, num_groups as usize, w.as_ref(), b.as_ref(), eps)
    })?;
    wrap(py, r)
}

#[pyfunction]
#[pyo3(signature = (input, running_mean, running_var, weight=None, bias=None, training=false, momentum=0.1, eps=1e-5))]
#[allow(clippy::too_many_arguments)]
fn batch_norm(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    running_mean: Option<PyRef<'_, PyTensor>>,
    running_var: Option<PyRef<'_, PyTensor>>,
    weight: Option<PyRef<'_, PyTensor>>,
    bias: Option<PyRef<'_, PyTensor>>,
    training: bool,
    momentum: f64,
    eps: f64,
) -> PyResult<Py<PyAny>> {
    let x = input.t.clone();
    let (rm, rv, w, b) = (
        opt(&running_mean),
        opt(&running_var),
        opt(&weight),
        opt(&bias),
    );
    let r = run(py, x.numel(), move || {
        norm::batch_norm(
            &x,
            rm.as_ref(),
            rv.as_ref(),
            w.as_ref(),
            b.as_ref(),
            training,
            momentum,
            eps,
        )
    })?;
    wrap(py, r)
}

#[pyfunction]
#[pyo3(signature = (input, p=0.5, training=true))]
fn dropout(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    p: f64,
    training: bool,
) -> PyResult<Py<PyAny>> {
    let x = input.t.clone();
    let r = run(py, x.numel(), move || drop_op::dropout(&x, p, training))?;
    wrap(py, r)
}

/// `x @ w^T (+ bias)` (then ReLU when `relu`) as one fused op where the device has it
/// (wgpu: bias and ReLU in the GEMM's store); elsewhere the GEMM + add graph.
/// `nn.functional.linear` calls this for GPU tensors.
#[pyfunction]
#[pyo3(signature = (input, weight, bias=None, relu=false))]
fn _linear(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    weight: PyRef<'_, PyTensor>,
    bias: Option<PyRef<'_, PyTensor>>,
    relu: bool,
) -> PyResult<Py<PyAny>> {
    let (x, w, b) = (input.t.clone(), weight.t.clone(), opt(&bias));
    let y = run(py, x.numel(), move || {
        crate::ops::matmul::linear(&x, &w, b.as_ref(), relu)
    })?;
    wrap(py, y)
}

/// Test hook: dropout with an explicit Philox stream and first counter group (see
/// `ops::dropout::dropout_at`).
#[pyfunction]
fn _dropout_at(
    input: PyRef<'_, PyTensor>,
    p: f64,
    seed: u64,
    offset: u64,
    first_group: u64,
) -> PyResult<Py<PyAny>> {
    let r = drop_op::dropout_at(&input.t, p, seed, offset, first_group)?;
    wrap(input.py(), r)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_linear, m)?)?;
    m.add_function(wrap_pyfunction!(_dropout_at, m)?)?;
    m.add_function(wrap_pyfunction!(layer_norm, m)?)?;
    m.add_function(wrap_pyfunction!(rms_norm, m)?)?;
    m.add_function(wrap_pyfunction!(group_norm, m)?)?;
    m.add_function(wrap_pyfunction!(batch_norm, m)?)?;
    m.add_function(wrap_pyfunction!(dropout, m)?)?;
    Ok(())
}
