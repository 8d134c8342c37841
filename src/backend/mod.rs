//! The one dispatch point between ops and devices.
//!
//! An op validates its arguments (shapes, dtypes, promotion) without looking at the
//! device, then asks `for_tensors` for the backend of its operands and calls one of its
//! kernels. The kernel interface is split by op family, each trait living in its family's
//! folder beside the CPU and wgpu implementations (`ops/elementwise/{mod,cpu,wgpu}.rs`
//! and so on); `Backend` is just their sum. So adding an op family means one trait and
//! two impls, and a device without a kernel is a compile error rather than a branch.
//!
//! The backend is picked at run time from the tensor's `Device` (see `device/mod.rs` for
//! why tensors carry no backend type parameter).

use crate::device::Device;
use crate::ops::conv::ConvKernels;
use crate::ops::copy::CopyKernels;
use crate::ops::cross_entropy::CrossEntropyKernels;
use crate::ops::dropout::DropoutKernels;
use crate::ops::elementwise::ElementwiseKernels;
use crate::ops::index::IndexKernels;
use crate::ops::matmul::MatmulKernels;
use crate::ops::norm::NormKernels;
use crate::ops::random::RandomKernels;
use crate::ops::reduce::ReduceKernels;
use crate::ops::softmax::SoftmaxKernels;
use crate::optim::OptimKernels;
use crate::tensor::{DType, Tensor};
use crate::{bail, Result};

/// Every kernel family a device implements.
pub trait Backend:
    ElementwiseKernels
    + CopyKernels
    + ReduceKernels
    + SoftmaxKernels
    + MatmulKernels
    + IndexKernels
    + RandomKernels
    + NormKernels
    + OptimKernels
    + DropoutKernels
    + CrossEntropyKernels
    + ConvKernels
    + Sync
{
    fn device(&self) -> Device;
    /// The dtypes tensors on this device may hold.
    fn dtypes(&self) -> &'static [DType];
}

/// The CPU backend: rayon-parallel kernels over host memory.
pub struct Cpu;

impl Backend for Cpu {
    fn device(&self) -> Device {
        Device::Cpu
    }
    fn dtypes(&self) -> &'static [DType] {
        &DType::ALL
    }
}

/// The GPU backend: WGSL compute shaders through wgpu (runtime in `device/wgpu`).
#[cfg(feature = "wgpu")]
pub struct Wgpu;

#[cfg(feature = "wgpu")]
impl Backend for Wgpu {
    fn device(&self) -> Device {
        Device::Wgpu
    }
    fn dtypes(&self) -> &'static [DType] {
        // WGSL has no 64-bit types: int64 lives in 32-bit words (checked on upload).
        &[DType::F32, DType::I64, DType::Bool]
    }
}

/// The backend of `device`.
pub fn of(device: Device) -> Result<&'static dyn Backend> {
    match device {
        Device::Cpu => Ok(&Cpu),
        #[cfg(feature = "wgpu")]
        Device::Wgpu => {
            device.check_available()?;
            Ok(&Wgpu)
        }
        #[cfg(not(feature = "wgpu"))]
        Device::Wgpu => {
            device.check_available()?;
            bail!(Device, "ferrograd was built without the 'wgpu' feature")
        }
    }
}

/// The backend shared by `tensors`, after checking that they sit on one device and that
/// it holds their dtypes. `what` names the op in the error.
pub fn for_tensors(what: &str, tensors: &[&Tensor]) -> Result<&'static dyn Backend> {
    let Some(first) = tensors.first() else {
        return of(Device::Cpu);
    };
    let device = first.device();
    for t in &tensors[1..] {
        check_same_device(what, device, t.device())?;
    }
    let b = of(device)?;
    for t in tensors {
        check_dtype(b, t.dtype())?;
    }
    Ok(b)
}

/// PyTorch's wording for operands on two devices (a RuntimeError).
pub fn check_same_device(what: &str, a: Device, b: Device) -> Result<()> {
    if a != b {
        bail!(
            Device,
            "{what}: expected all tensors to be on the same device, but found at least two devices, {a} and {b}"
        )
    }
    Ok(())
}

/// A TypeError naming the dtypes `b`'s device holds.
pub fn check_dtype(b: &dyn Backend, dtype: DType) -> Result<()> {
    if !b.dtypes().contains(&dtype) {
        let names: Vec<String> = b.dtypes().iter().map(|d| d.to_string()).collect();
        bail!(
            DType,
            "{dtype} tensors are not supported on {}: it holds {}",
            b.device(),
            names.join(", ")
        )
    }
    Ok(())
}
