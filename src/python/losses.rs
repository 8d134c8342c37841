//! Bindings for the fused losses (`crate::ops::cross_entropy`): `_core.cross_entropy`.
//! The argument defaults and module classes live in `python/ferrograd/nn/`.

use super::tensor::{run, wrap, PyTensor};
use crate::ops::cross_entropy::{cross_entropy as ce, CrossEntropyOptions, Reduction};
use pyo3::prelude::*;

#[pyfunction]
#[pyo3(signature = (input, target, weight, ignore_index, reduction, label_smoothing))]
fn cross_entropy(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    target: PyRef<'_, PyTensor>,
    weight: Option<PyRef<'_, PyTensor>>,
    ignore_index: i64,
    reduction: &str,
    label_smoothing: f64,
) -> PyResult<Py<PyAny>> {
    let o = CrossEntropyOptions {
        weight: weight.map(|w| w.t.clone()),
        ignore_index,
        reduction: Reduction::parse(reduction)?,
        label_smoothing,
    };
    let (x, t) = (input.t.clone(), target.t.clone());
    // py.detach (large inputs) runs on this thread, so the grad mode carries over.
    let out = run(py, x.numel(), move || ce(&x, &t, &o))?;
    wrap(py, out)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cross_entropy, m)?)?;
    Ok(())
}
