//! Devices: where a tensor's storage lives.
//!
//! The device is chosen at run time: a `Tensor` carries a `Device` value next to its
//! storage, and there are no backend type parameters on `Tensor` (no `Tensor<B>`). An op
//! checks its inputs once and then calls the backend for the device they share; a
//! device that has no kernel for an op gives a clear error from that one place. Generic
//! backends would make every op and every user type generic over the backend, which
//! multiplies compile times and error-message sizes for a choice that users make once,
//! at run time, with `.to("wgpu")`.
//!
//! `cpu` holds the CPU execution helpers (thread pools, deterministic chunking, strided
//! iteration); `wgpu` (behind the feature of the same name) the GPU backend.

pub mod cpu;
mod spin_pool;
#[cfg(feature = "wgpu")]
pub mod wgpu;

use crate::{bail, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
    Wgpu,
}

impl Device {
    /// Parses "cpu", "wgpu" (also "gpu" and "wgpu:0"). Asking for wgpu checks that an
    /// adapter exists, so the error comes at the point the user names the device.
    pub fn parse(name: &str) -> Result<Device> {
        match name.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "wgpu" | "gpu" | "wgpu:0" => {
                Device::Wgpu.check_available()?;
                Ok(Device::Wgpu)
            }
            // RuntimeError, as PyTorch's unknown or unavailable device (and like every
            // other device error here).
            other => bail!(Device, "unknown device '{other}': expected 'cpu' or 'wgpu'"),
        }
    }

    pub fn check_available(self) -> Result<()> {
        match self {
            Device::Cpu => Ok(()),
            #[cfg(feature = "wgpu")]
            Device::Wgpu => wgpu::context().map(|_| ()),
            #[cfg(not(feature = "wgpu"))]
            Device::Wgpu => bail!(Device, "ferrograd was built without the 'wgpu' feature"),
        }
    }

    /// Waits until the device has run every queued kernel (a no-op on the CPU, which
    /// runs eagerly). For timing GPU work, like `torch.cuda.synchronize`.
    pub fn synchronize(self) -> Result<()> {
        match self {
            Device::Cpu => Ok(()),
            #[cfg(feature = "wgpu")]
            Device::Wgpu => wgpu::context()?.synchronize(),
            #[cfg(not(feature = "wgpu"))]
            Device::Wgpu => self.check_available(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Wgpu => "wgpu",
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
