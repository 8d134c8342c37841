//! Strided copies: making a view contiguous, casting between dtypes, writing into a
//! view (setitem, concat), and moving between devices.

pub(crate) mod backward;
pub mod cpu;
#[cfg(feature = "wgpu")]
pub mod wgpu;

use crate::device::Device;
use crate::tensor::{DType, Storage, Tensor};
use crate::{bail, Result};

/// The copy kernels a backend provides (see `backend`).
pub trait CopyKernels {
    /// A new contiguous tensor holding `src` converted to `dtype` (NumPy's casting rules:
    /// floats to ints truncate toward zero, nonzero is true).
    fn cast(&self, src: &Tensor, dtype: DType) -> Result<Tensor>;
    /// Writes `src` (already of `dst`'s shape, not overlapping it) into the view `dst`,
    /// converting to `dst`'s dtype.
    fn assign(&self, dst: &Tensor, src: &Tensor) -> Result<()>;
    /// A new contiguous tensor whose elements are unspecified: for outputs that are
    /// written in full before anyone reads them.
    fn empty(&self, shape: &[usize], dtype: DType) -> Result<Tensor>;
}

/// A fresh CPU tensor of `dtype` and `shape` whose elements are uninitialised; the
/// caller must write every element before exposing it. `Error::Memory` when the
/// buffer cannot be allocated.
pub(crate) fn uninit_cpu(dtype: DType, shape: &[usize]) -> Result<Tensor> {
    let n = crate::tensor::shape::checked_numel(shape)?;
    Ok(Tensor::from_storage(Storage::cpu_uninit(dtype, n)?, shape))
}

pub fn to_contiguous(src: &Tensor) -> Result<Tensor> {
    cast(src, src.dtype())
}

pub fn cast(src: &Tensor, dtype: DType) -> Result<Tensor> {
    let b = crate::backend::for_tensors("astype", &[src])?;
    crate::backend::check_dtype(b, dtype)?;
    b.cast(src, dtype)
}

/// Writes `value` (broadcast to `dst`'s shape, cast to its dtype) into the view `dst`,
/// recording the write for autograd when needed (see `autograd::inplace`).
pub fn assign(dst: &Tensor, value: &Tensor) -> Result<()> {
    crate::autograd::inplace::write(dst, &[], Some(value), || assign_raw(dst, value))
}

/// `assign` without autograd bookkeeping.
pub(crate) fn assign_raw(dst: &Tensor, value: &Tensor) -> Result<()> {
    let b = crate::backend::for_tensors("assignment", &[dst, value])?;
    crate::autograd::inplace::refuse_internal_overlap(dst)?;
    let v = value.broadcast_to(dst.shape()).map_err(|_| {
        crate::Error::Shape(format!(
            "could not broadcast input array from shape {} into shape {}",
            crate::tensor::shape::fmt_shape(value.shape()),
            crate::tensor::shape::fmt_shape(dst.shape())
        ))
    })?;
    // A source overlapping the destination (t[1:] = t[:-1]) must be read before writing.
    let v = if v.shares_storage(dst) {
        v.deep_copy()?
    } else {
        v
    };
    b.assign(dst, &v)?;
    dst.mark_modified();
    Ok(())
}

pub fn to_device(src: &Tensor, device: Device) -> Result<Tensor> {
    match (src.device(), device) {
        (a, b) if a == b => Ok(src.clone()),
        #[cfg(feature = "wgpu")]
        (Device::Cpu, Device::Wgpu) => wgpu::upload(src),
        #[cfg(feature = "wgpu")]
        (Device::Wgpu, Device::Cpu) => wgpu::download(src),
        (_, d) => {
            d.check_available()?;
            bail!(Device, "cannot move a {} tensor to {d}", src.device())
        }
    }
}
