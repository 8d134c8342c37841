//! Bindings for the optimizer kernels (`crate::optim`): one fused in-place update of
//! one parameter per call. Param groups, state and schedules are in
//! `python/ferrograd/optim/`.

use super::tensor::{run, PyTensor};
use crate::optim::{adam_step, sgd_step, AdamConfig, SgdConfig};
use pyo3::prelude::*;

#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, first_step))]
fn _sgd_step(
    py: Python<'_>,
    param: PyRef<'_, PyTensor>,
    grad: PyRef<'_, PyTensor>,
    momentum_buffer: Option<PyRef<'_, PyTensor>>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
    first_step: bool,
) -> PyResult<()> {
    let c = SgdConfig {
        lr,
        momentum,
        dampening,
        weight_decay,
        nesterov,
    };
    let (p, g) = (param.t.clone(), grad.t.clone());
    let b = momentum_buffer.map(|b| b.t.clone());
    run(py, p.numel(), move || {
        sgd_step(&p, &g, b.as_ref(), &c, first_step)
    })
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled))]
fn _adam_step(
    py: Python<'_>,
    param: PyRef<'_, PyTensor>,
    grad: PyRef<'_, PyTensor>,
    exp_avg: PyRef<'_, PyTensor>,
    exp_avg_sq: PyRef<'_, PyTensor>,
    max_exp_avg_sq: Option<PyRef<'_, PyTensor>>,
    step: u64,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    amsgrad: bool,
    decoupled: bool,
) -> PyResult<()> {
    let c = AdamConfig {
        lr,
        betas: (beta1, beta2),
        eps,
        weight_decay,
        amsgrad,
        decoupled,
    };
    let (p, g, m, v) = (
        param.t.clone(),
        grad.t.clone(),
        exp_avg.t.clone(),
        exp_avg_sq.t.clone(),
    );
    let x = max_exp_avg_sq.map(|x| x.t.clone());
    run(py, p.numel(), move || {
        adam_step(&p, &g, &m, &v, x.as_ref(), step, &c)
    })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_sgd_step, m)?)?;
    m.add_function(wrap_pyfunction!(_adam_step, m)?)?;
    Ok(())
}
