//! SGD with momentum, dampening, Nesterov and L2 weight decay, PyTorch's rule:
//!   g = grad + wd * p
//!   buf = g (first step) | momentum * buf + (1 - dampening) * g
//!   g = g + momentum * buf (nesterov) | buf
//!   p -= lr * g

use super::{
    check_buffer, check_param, grad_like, ptr, sgd_step_many, zeros_like_param, Optimizer, Real,
    SgdParam,
};
use crate::backend::Backend;
use crate::device::cpu::{for_each_chunk, GRAIN};
use crate::tensor::Tensor;
use crate::{bail, dispatch_float, Result};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
}

impl SgdConfig {
    pub fn new(lr: f64) -> SgdConfig {
        SgdConfig {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }

    /// PyTorch's argument checks.
    pub fn validate(&self) -> Result<()> {
        if !(self.lr >= 0.0) {
            bail!(Value, "Invalid learning rate: {}", self.lr);
        }
        if !(self.momentum >= 0.0) {
            bail!(Value, "Invalid momentum value: {}", self.momentum);
        }
        if !(self.weight_decay >= 0.0) {
            bail!(Value, "Invalid weight_decay value: {}", self.weight_decay);
        }
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            bail!(
                Value,
                "Nesterov momentum requires a momentum and zero dampening"
            );
        }
        Ok(())
    }
}

/// One SGD update of `param` in place. `buf` is the momentum buffer (required when
/// momentum != 0); `first_step` initializes it to the gradient.
pub fn sgd_step(
    param: &Tensor,
    grad: &Tensor,
    buf: Option<&Tensor>,
    c: &SgdConfig,
    first_step: bool,
) -> Result<()> {
    let (backend, grad) = check(param, grad, buf, c)?;
    backend.sgd_step(param, &grad, buf, c, first_step)?;
    mark_modified(param, buf, c);
    Ok(())
}

/// The checks of one update (shared with `sgd_step_many`): the parameter's backend and
/// the gradient as a contiguous tensor like the parameter.
pub(super) fn check(
    param: &Tensor,
    grad: &Tensor,
    buf: Option<&Tensor>,
    c: &SgdConfig,
) -> Result<(&'static dyn Backend, Tensor)> {
    let backend = check_param(param)?;
    let grad = grad_like(grad, param)?;
    if c.momentum != 0.0 {
        match buf {
            Some(b) => check_buffer("momentum buffer", b, param)?,
            None => bail!(Value, "sgd_step: momentum != 0 needs a momentum buffer"),
        }
    }
    Ok((backend, grad))
}

/// Bumps the versions of what an update wrote.
pub(super) fn mark_modified(param: &Tensor, buf: Option<&Tensor>, c: &SgdConfig) {
    param.mark_modified();
    if let (Some(b), true) = (buf, c.momentum != 0.0) {
        b.mark_modified();
    }
}

/// The CPU update (operands checked by `sgd_step`).
pub(super) fn cpu_kernel(
    param: &Tensor,
    grad: &Tensor,
    buf: Option<&Tensor>,
    c: &SgdConfig,
    first_step: bool,
) -> Result<()> {
    dispatch_float!(param.dtype(), "sgd_step", T => kernel::<T>(param, grad, buf, c, first_step));
    Ok(())
}

fn kernel<T: Real>(
    param: &Tensor,
    grad: &Tensor,
    buf: Option<&Tensor>,
    c: &SgdConfig,
    first: bool,
) {
    let (p, g) = (ptr::<T>(param), ptr::<T>(grad));
    let b = buf.map(ptr::<T>);
    let f = T::from_f64;
    let (lr, wd, mom, damp1) = (
        f(-c.lr),
        f(c.weight_decay),
        f(c.momentum),
        f(1.0 - c.dampening),
    );
    let (use_wd, use_mom, nesterov) = (c.weight_decay != 0.0, c.momentum != 0.0, c.nesterov);
    for_each_chunk(param.numel(), GRAIN, |s, e| {
        // SAFETY: chunks are disjoint; all buffers hold numel elements.
        let (p, g) = unsafe {
            (
                p.slice_mut(s, e - s),
                std::slice::from_raw_parts(g.get().add(s), e - s),
            )
        };
        let mut b = b.map(|b| unsafe { b.slice_mut(s, e - s) });
        for i in 0..p.len() {
            let mut d = g[i];
            if use_wd {
                d = d + wd * p[i];
            }
            if use_mom {
                let bi = &mut b.as_mut().expect("checked")[i];
                *bi = if first { d } else { mom * *bi + damp1 * d };
                d = if nesterov { d + mom * *bi } else { *bi };
            }
            p[i] = p[i] + lr * d;
        }
    });
}

/// SGD over a list of parameters.
pub struct Sgd {
    params: Vec<Tensor>,
    pub config: SgdConfig,
    bufs: Vec<Option<Tensor>>,
}

impl Sgd {
    pub fn new(params: Vec<Tensor>, config: SgdConfig) -> Result<Sgd> {
        config.validate()?;
        let bufs = vec![None; params.len()];
        Ok(Sgd {
            params,
            config,
            bufs,
        })
    }
}

impl Optimizer for Sgd {
    fn params(&self) -> &[Tensor] {
        &self.params
    }
    fn step(&mut self) -> Result<()> {
        let mut grads = Vec::new();
        for (i, (p, buf)) in self.params.iter().zip(self.bufs.iter_mut()).enumerate() {
            let Some(g) = p.grad() else { continue };
            let first = buf.is_none();
            if self.config.momentum != 0.0 && buf.is_none() {
                *buf = Some(zeros_like_param(p)?);
            }
            grads.push((i, g, first));
        }
        let items: Vec<SgdParam<'_>> = grads
            .iter()
            .map(|(i, g, first)| SgdParam {
                param: &self.params[*i],
                grad: g,
                buf: self.bufs[*i].as_ref(),
                first_step: *first,
            })
            .collect();
        sgd_step_many(&items, &self.config)
    }
}
