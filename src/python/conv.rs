//! Bindings of the convolution and max-pooling kernels (`ferrograd._core.conv2d` etc.).
//! The Python layer (`nn.functional`) resolves PyTorch's argument forms (ints or pairs,
//! "same"/"valid", the bias, unbatched inputs) and passes plain pairs here.

use super::tensor::{run, wrap, PyTensor};
use crate::ops::conv::ConvParams;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A (height, width) pair of non-negative ints, or a ValueError naming `name`.
fn pair(what: &str, name: &str, v: (i64, i64)) -> PyResult<(usize, usize)> {
    if v.0 < 0 || v.1 < 0 {
        return Err(PyValueError::new_err(format!(
            "{what}: {name} must be non-negative, got ({}, {})",
            v.0, v.1
        )));
    }
    Ok((v.0 as usize, v.1 as usize))
}

fn params(
    what: &str,
    stride: (i64, i64),
    padding: (i64, i64),
    dilation: (i64, i64),
    groups: i64,
) -> PyResult<ConvParams> {
    if groups <= 0 {
        return Err(PyValueError::new_err(format!(
            "{what}: groups must be a positive integer, got {groups}"
        )));
    }
    Ok(ConvParams {
        stride: pair(what, "stride", stride)?,
        padding: pair(what, "padding", padding)?,
        dilation: pair(what, "dilation", dilation)?,
        groups: groups as usize,
    })
}

#[pyfunction]
#[pyo3(signature = (input, weight, stride, padding, dilation, groups))]
fn conv2d(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    weight: PyRef<'_, PyTensor>,
    stride: (i64, i64),
    padding: (i64, i64),
    dilation: (i64, i64),
    groups: i64,
) -> PyResult<Py<PyAny>> {
    let p = params("conv2d", stride, padding, dilation, groups)?;
    let (x, w) = (input.t.clone(), weight.t.clone());
    let work = x.numel() * w.numel();
    let r = run(py, work, move || x.conv2d(&w, p))?;
    wrap(py, r)
}

#[pyfunction]
#[pyo3(signature = (input, weight, stride, padding, output_padding, groups, dilation))]
#[allow(clippy::too_many_arguments)]
fn conv_transpose2d(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    weight: PyRef<'_, PyTensor>,
    stride: (i64, i64),
    padding: (i64, i64),
    output_padding: (i64, i64),
    groups: i64,
    dilation: (i64, i64),
) -> PyResult<Py<PyAny>> {
    let what = "conv_transpose2d";
    let p = params(what, stride, padding, dilation, groups)?;
    let op = pair(what, "output_padding", output_padding)?;
    let (x, w) = (input.t.clone(), weight.t.clone());
    let work = x.numel() * w.numel();
    let r = run(py, work, move || x.conv_transpose2d(&w, p, op))?;
    wrap(py, r)
}

/// (values, int64 positions within each plane).
#[pyfunction]
#[pyo3(signature = (input, kernel_size, stride, padding, dilation, ceil_mode))]
fn max_pool2d(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    kernel_size: (i64, i64),
    stride: (i64, i64),
    padding: (i64, i64),
    dilation: (i64, i64),
    ceil_mode: bool,
) -> PyResult<(Py<PyAny>, Py<PyAny>)> {
    let what = "max_pool2d";
    let k = pair(what, "kernel_size", kernel_size)?;
    let (s, p, d) = (
        pair(what, "stride", stride)?,
        pair(what, "padding", padding)?,
        pair(what, "dilation", dilation)?,
    );
    let x = input.t.clone();
    let (y, idx) = run(py, x.numel(), move || x.max_pool2d(k, s, p, d, ceil_mode))?;
    Ok((wrap(py, y)?, wrap(py, idx)?))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(conv2d, m)?)?;
    m.add_function(wrap_pyfunction!(conv_transpose2d, m)?)?;
    m.add_function(wrap_pyfunction!(max_pool2d, m)?)?;
    Ok(())
}
