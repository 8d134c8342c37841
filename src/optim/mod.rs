//! Optimizers (SGD, Adam, AdamW) usable from Rust without Python.
//!
//! Each update is one fused pass over a parameter's storage (chunked in parallel with
//! fixed boundaries, so results do not depend on the thread count), writing the
//! parameter and its state buffers in place with no temporaries. The parameter's
//! storage version is bumped so autograd notices graphs that saved its old value.
//! The per-parameter kernels [`sgd_step`] and [`adam_step`] are public, and so are
//! [`sgd_step_many`] and [`adam_step_many`], which the optimizers (Rust and Python, one
//! call per param group) use so that wgpu updates a group of tensors per dispatch.

mod adam;
mod foreach;
mod sgd;
#[cfg(feature = "wgpu")]
mod wgpu;
#[cfg(feature = "wgpu")]
mod wgpu_many;
#[cfg(all(test, feature = "wgpu"))]
mod wgpu_tests;

pub use adam::{adam_step, Adam, AdamConfig};
pub use foreach::{adam_step_many, sgd_step_many, AdamParam, SgdParam};
pub use sgd::{sgd_step, Sgd, SgdConfig};
#[cfg(feature = "wgpu")]
pub use wgpu_many::group_size as wgpu_group_size;

use crate::tensor::{Element, Tensor};
use crate::{bail, Device, Result};

/// An optimizer over a fixed list of parameters.
pub trait Optimizer {
    fn params(&self) -> &[Tensor];
    /// One update of every parameter that has a gradient (others are skipped).
    fn step(&mut self) -> Result<()>;
    /// Drops the gradients (PyTorch's `set_to_none=True`).
    fn zero_grad(&mut self) {
        for p in self.params() {
            p.set_grad(None);
        }
    }
}

/// The float arithmetic the update kernels need, done in the parameter's own dtype
/// (each operation rounds as PyTorch's per-op updates do).
pub(crate) trait Real:
    Element
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
{
    fn sqrt(self) -> Self;
    fn max(self, o: Self) -> Self;
}
impl Real for f32 {
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    fn max(self, o: Self) -> Self {
        // NaN propagates, as torch.maximum.
        if self.is_nan() || o.is_nan() {
            f32::NAN
        } else {
            f32::max(self, o)
        }
    }
}
impl Real for f64 {
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    fn max(self, o: Self) -> Self {
        if self.is_nan() || o.is_nan() {
            f64::NAN
        } else {
            f64::max(self, o)
        }
    }
}

/// The update kernels a backend provides (see `backend`). The public `sgd_step` and
/// `adam_step` check their operands (same device, shapes, dtypes, contiguity) and bump
/// the storage versions; a kernel only updates the buffers in place.
pub trait OptimKernels {
    fn sgd_step(
        &self,
        param: &Tensor,
        grad: &Tensor,
        buf: Option<&Tensor>,
        c: &SgdConfig,
        first_step: bool,
    ) -> Result<()>;
    #[allow(clippy::too_many_arguments)]
    fn adam_step(
        &self,
        param: &Tensor,
        grad: &Tensor,
        exp_avg: &Tensor,
        exp_avg_sq: &Tensor,
        max_exp_avg_sq: Option<&Tensor>,
        step: u64,
        c: &AdamConfig,
    ) -> Result<()>;
}

impl OptimKernels for crate::backend::Cpu {
    fn sgd_step(
        &self,
        param: &Tensor,
        grad: &Tensor,
        buf: Option<&Tensor>,
        c: &SgdConfig,
        first_step: bool,
    ) -> Result<()> {
        sgd::cpu_kernel(param, grad, buf, c, first_step)
    }
    fn adam_step(
        &self,
        param: &Tensor,
        grad: &Tensor,
        exp_avg: &Tensor,
        exp_avg_sq: &Tensor,
        max_exp_avg_sq: Option<&Tensor>,
        step: u64,
        c: &AdamConfig,
    ) -> Result<()> {
        adam::cpu_kernel(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, c)
    }
}

/// Zeroed optimizer state beside its parameter (same device and dtype).
fn zeros_like_param(p: &Tensor) -> Result<Tensor> {
    match p.device() {
        // The CPU keeps its zero-initialised allocation.
        Device::Cpu => Tensor::zeros_dtype(p.shape(), p.dtype()),
        d => Tensor::zeros_on(p.shape(), p.dtype(), d),
    }
}

/// Checks that `t` can be updated in place as a raw buffer like `param`.
fn check_buffer(what: &str, t: &Tensor, param: &Tensor) -> Result<()> {
    crate::backend::check_same_device(&format!("optimizer {what}"), param.device(), t.device())?;
    if t.shape() != param.shape() {
        bail!(
            Shape,
            "optimizer {what} has shape {}, the parameter {}",
            crate::tensor::shape::fmt_shape(t.shape()),
            crate::tensor::shape::fmt_shape(param.shape())
        );
    }
    if t.dtype() != param.dtype() || !t.dtype().is_float() {
        bail!(
            DType,
            "optimizer {what} has dtype {}, the parameter {}",
            t.dtype(),
            param.dtype()
        );
    }
    if !t.is_contiguous() {
        bail!(Value, "optimizer {what} must be contiguous");
    }
    Ok(())
}

/// The gradient as a contiguous tensor of the parameter's dtype on its device (a copy
/// only when it is not one already).
fn grad_like(grad: &Tensor, param: &Tensor) -> Result<Tensor> {
    crate::backend::check_same_device("optimizer gradient", param.device(), grad.device())?;
    if grad.shape() != param.shape() {
        bail!(
            Shape,
            "gradient of shape {} for a parameter of shape {}",
            crate::tensor::shape::fmt_shape(grad.shape()),
            crate::tensor::shape::fmt_shape(param.shape())
        );
    }
    let _g = crate::autograd::no_grad();
    grad.detach().to_dtype(param.dtype())?.contiguous()
}

/// The backend that updates `param`, after checking it.
fn check_param(param: &Tensor) -> Result<&'static dyn crate::backend::Backend> {
    let b = crate::backend::for_tensors("optimizer step", &[param])?;
    check_buffer("parameter", param, param)?;
    Ok(b)
}

/// A raw pointer to the first element of a contiguous CPU tensor.
fn ptr<T: Element>(t: &Tensor) -> crate::device::cpu::SendPtr<T> {
    // SAFETY: callers checked the tensor is contiguous on the CPU with dtype T.
    crate::device::cpu::SendPtr(unsafe { t.storage().cpu_ptr::<T>().add(t.offset()) })
}
