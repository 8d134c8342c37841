//! Bindings for the optimizer kernels (`crate::optim`): one fused in-place update of
//! one parameter per call (`_sgd_step`, `_adam_step`), or of a list of parameters
//! (`_sgd_step_many`, `_adam_step_many`: the optimizers call these once per param
//! group, so wgpu updates a group of tensors per dispatch). Param groups, state and
//! schedules are in `python/ferrograd/optim/`.

use super::tensor::{run, PyTensor};
use crate::optim::{
    adam_step, adam_step_many, sgd_step, sgd_step_many, AdamConfig, AdamParam, SgdConfig, SgdParam,
};
use crate::tensor::Tensor;
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

fn tensors(xs: &[PyRef<'_, PyTensor>]) -> Vec<Tensor> {
    xs.iter().map(|x| x.t.clone()).collect()
}

fn opt_tensors(xs: &[Option<PyRef<'_, PyTensor>>]) -> Vec<Option<Tensor>> {
    xs.iter().map(|x| x.as_ref().map(|x| x.t.clone())).collect()
}

fn check_lengths(what: &str, n: usize, lens: &[usize]) -> PyResult<()> {
    if lens.iter().any(|&l| l != n) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{what}: the per-parameter lists must have equal lengths, got {lens:?} for {n} parameters"
        )));
    }
    Ok(())
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (params, grads, momentum_buffers, first_steps, lr, momentum, dampening, weight_decay, nesterov))]
fn _sgd_step_many(
    py: Python<'_>,
    params: Vec<PyRef<'_, PyTensor>>,
    grads: Vec<PyRef<'_, PyTensor>>,
    momentum_buffers: Vec<Option<PyRef<'_, PyTensor>>>,
    first_steps: Vec<bool>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
) -> PyResult<()> {
    let n = params.len();
    let lens = [grads.len(), momentum_buffers.len(), first_steps.len()];
    check_lengths("_sgd_step_many", n, &lens)?;
    let c = SgdConfig {
        lr,
        momentum,
        dampening,
        weight_decay,
        nesterov,
    };
    let (p, g, b) = (
        tensors(&params),
        tensors(&grads),
        opt_tensors(&momentum_buffers),
    );
    let work = p.iter().map(Tensor::numel).sum();
    run(py, work, move || {
        let items: Vec<SgdParam<'_>> = (0..n)
            .map(|i| SgdParam {
                param: &p[i],
                grad: &g[i],
                buf: b[i].as_ref(),
                first_step: first_steps[i],
            })
            .collect();
        sgd_step_many(&items, &c)
    })
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled))]
fn _adam_step_many(
    py: Python<'_>,
    params: Vec<PyRef<'_, PyTensor>>,
    grads: Vec<PyRef<'_, PyTensor>>,
    exp_avgs: Vec<PyRef<'_, PyTensor>>,
    exp_avg_sqs: Vec<PyRef<'_, PyTensor>>,
    max_exp_avg_sqs: Vec<Option<PyRef<'_, PyTensor>>>,
    steps: Vec<u64>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    amsgrad: bool,
    decoupled: bool,
) -> PyResult<()> {
    let n = params.len();
    let lens = [
        grads.len(),
        exp_avgs.len(),
        exp_avg_sqs.len(),
        max_exp_avg_sqs.len(),
        steps.len(),
    ];
    check_lengths("_adam_step_many", n, &lens)?;
    let c = AdamConfig {
        lr,
        betas: (beta1, beta2),
        eps,
        weight_decay,
        amsgrad,
        decoupled,
    };
    let (p, g) = (tensors(&params), tensors(&grads));
    let (m, v, x) = (
        tensors(&exp_avgs),
        tensors(&exp_avg_sqs),
        opt_tensors(&max_exp_avg_sqs),
    );
    let work = p.iter().map(Tensor::numel).sum();
    run(py, work, move || {
        let items: Vec<AdamParam<'_>> = (0..n)
            .map(|i| AdamParam {
                param: &p[i],
                grad: &g[i],
                exp_avg: &m[i],
                exp_avg_sq: &v[i],
                max_exp_avg_sq: x[i].as_ref(),
                step: steps[i],
            })
            .collect();
        adam_step_many(&items, &c)
    })
}

/// How many tensors one grouped wgpu optimizer dispatch updates (`kind` "adam" or
/// "sgd"; `state`: amsgrad / momentum). For tests.
#[pyfunction]
fn _wgpu_optim_group_size(kind: &str, state: bool) -> PyResult<usize> {
    let adam = match kind {
        "adam" => true,
        "sgd" => false,
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unknown optimizer kind {kind:?}"
            )))
        }
    };
    #[cfg(feature = "wgpu")]
    return Ok(crate::optim::wgpu_group_size(adam, state)?);
    #[cfg(not(feature = "wgpu"))]
    {
        let _ = (adam, state);
        Err(pyo3::exceptions::PyRuntimeError::new_err(
            "ferrograd was built without wgpu",
        ))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_sgd_step, m)?)?;
    m.add_function(wrap_pyfunction!(_adam_step, m)?)?;
    m.add_function(wrap_pyfunction!(_sgd_step_many, m)?)?;
    m.add_function(wrap_pyfunction!(_adam_step_many, m)?)?;
    m.add_function(wrap_pyfunction!(_wgpu_optim_group_size, m)?)?;
    Ok(())
}
