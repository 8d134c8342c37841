//! Updating many parameters in one call: `adam_step_many` / `sgd_step_many` check every
//! parameter exactly as `adam_step` / `sgd_step` do (all of them before any update), then
//! update the CPU ones one by one with the per-tensor kernel (CPU results and speed are
//! unchanged) and the wgpu ones in groups, one dispatch per group (wgpu_many.rs).

use super::{adam, sgd, AdamConfig, SgdConfig};
use crate::tensor::Tensor;
use crate::Result;

/// One parameter of an Adam/AdamW step: its gradient, its state and its 1-based step
/// count after this update (`max_exp_avg_sq` is required with amsgrad).
pub struct AdamParam<'a> {
    pub param: &'a Tensor,
    pub grad: &'a Tensor,
    pub exp_avg: &'a Tensor,
    pub exp_avg_sq: &'a Tensor,
    pub max_exp_avg_sq: Option<&'a Tensor>,
    pub step: u64,
}

/// One parameter of an SGD step: its gradient, its momentum buffer (required when
/// momentum != 0) and whether this is the buffer's first step.
pub struct SgdParam<'a> {
    pub param: &'a Tensor,
    pub grad: &'a Tensor,
    pub buf: Option<&'a Tensor>,
    pub first_step: bool,
}

#[cfg(feature = "wgpu")]
fn on_wgpu(t: &Tensor) -> bool {
    t.device() == crate::Device::Wgpu
}
#[cfg(not(feature = "wgpu"))]
fn on_wgpu(_: &Tensor) -> bool {
    false
}

/// `adam_step` for every item, the wgpu ones grouped into few dispatches.
pub fn adam_step_many(items: &[AdamParam<'_>], c: &AdamConfig) -> Result<()> {
    let checked = items
        .iter()
        .map(|it| {
            let (b, g, x) = adam::check(
                it.param,
                it.grad,
                it.exp_avg,
                it.exp_avg_sq,
                it.max_exp_avg_sq,
                it.step,
                c,
            )?;
            Ok((b, g, x))
        })
        .collect::<Result<Vec<_>>>()?;
    #[cfg(feature = "wgpu")]
    let mut gpu = Vec::new();
    for (it, (backend, grad, vmax)) in items.iter().zip(checked) {
        if on_wgpu(it.param) {
            #[cfg(feature = "wgpu")]
            gpu.push(super::wgpu_many::AdamJob {
                param: it.param,
                grad,
                exp_avg: it.exp_avg,
                exp_avg_sq: it.exp_avg_sq,
                max_exp_avg_sq: vmax,
                step: it.step,
            });
            continue;
        }
        backend.adam_step(it.param, &grad, it.exp_avg, it.exp_avg_sq, vmax, it.step, c)?;
    }
    #[cfg(feature = "wgpu")]
    super::wgpu_many::adam_many(&gpu, c)?;
    for it in items {
        let vmax = if c.amsgrad { it.max_exp_avg_sq } else { None };
        for t in [it.param, it.exp_avg, it.exp_avg_sq]
            .into_iter()
            .chain(vmax)
        {
            t.mark_modified();
        }
    }
    Ok(())
}

/// `sgd_step` for every item, the wgpu ones grouped into few dispatches.
pub fn sgd_step_many(items: &[SgdParam<'_>], c: &SgdConfig) -> Result<()> {
    let checked = items
        .iter()
        .map(|it| sgd::check(it.param, it.grad, it.buf, c))
        .collect::<Result<Vec<_>>>()?;
    #[cfg(feature = "wgpu")]
    let mut gpu = Vec::new();
    for (it, (backend, grad)) in items.iter().zip(checked) {
        if on_wgpu(it.param) {
            #[cfg(feature = "wgpu")]
            gpu.push(super::wgpu_many::SgdJob {
                param: it.param,
                grad,
                buf: it.buf,
                first_step: it.first_step,
            });
            continue;
        }
        backend.sgd_step(it.param, &grad, it.buf, c, it.first_step)?;
    }
    #[cfg(feature = "wgpu")]
    super::wgpu_many::sgd_many(&gpu, c)?;
    for it in items {
        sgd::mark_modified(it.param, it.buf, c);
    }
    Ok(())
}
