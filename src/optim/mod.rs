//! Optimizers (SGD, Adam, AdamW) usable from Rust without Python.
//!
//! Each update is one fused pass over a parameter's storage (chunked in parallel with
//! fixed boundaries, so results do not depend on the thread count), writing the
//! parameter and its state buffers in place with no temporaries. The parameter's
//! storage version is bumped so autograd notices graphs that saved its old value.
//! The per-parameter kernels [`sgd_step`] and [`adam_step`] are public: the Python
//! optimizers (param groups, state_dict) drive them one parameter at a time.

mod adam;
mod sgd;

pub use adam::{adam_step, Adam, AdamConfig};
pub use sgd::{sgd_step, Sgd, SgdConfig};

use crate::tensor::{DType, Element, Tensor};
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

/// Checks that `t` can be updated in place as a raw buffer like `param`.
fn check_buffer(what: &str, t: &Tensor, param: &Tensor) -> Result<()> {
    crate::backend::cpu_kernel_only(&format!("optimizer {what}"), &[t, param])?;
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

/// The gradient as a contiguous CPU tensor of the parameter's dtype (a copy only when
/// it is not one already).
fn grad_like(grad: &Tensor, param: &Tensor) -> Result<Tensor> {
    if grad.shape() != param.shape() {
        bail!(
            Shape,
            "gradient of shape {} for a parameter of shape {}",
            crate::tensor::shape::fmt_shape(grad.shape()),
            crate::tensor::shape::fmt_shape(param.shape())
        );
    }
    let _g = crate::autograd::no_grad();
    grad.detach()
        .to_device(Device::Cpu)?
        .to_dtype(param.dtype())?
        .contiguous()
}

fn check_param(param: &Tensor) -> Result<DType> {
    check_buffer("parameter", param, param)?;
    Ok(param.dtype())
}

/// A raw pointer to the first element of a contiguous CPU tensor.
fn ptr<T: Element>(t: &Tensor) -> crate::device::cpu::SendPtr<T> {
    // SAFETY: callers checked the tensor is contiguous on the CPU with dtype T.
    crate::device::cpu::SendPtr(unsafe { t.storage().cpu_ptr::<T>().add(t.offset()) })
}
