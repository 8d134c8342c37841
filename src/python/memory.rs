//! Caches and device synchronisation: `empty_cache`, `cached_bytes`, `synchronize`, and
//! the GPU's test hooks (`_wgpu_stats`, `_wgpu_set_grid_limit`).

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::device::Device;

/// The device named by an optional string (None: every device).
fn devices(device: Option<&str>) -> PyResult<Vec<Device>> {
    Ok(match device {
        None => vec![Device::Cpu, Device::Wgpu],
        Some(name) => vec![Device::parse(name)?],
    })
}

/// Returns cached freed buffers to the system: large CPU buffers and the GPU's caching
/// allocator (a GPU that was never used is not started for this).
#[pyfunction]
#[pyo3(signature = (device=None))]
pub fn empty_cache(device: Option<&str>) -> PyResult<()> {
    for d in devices(device)? {
        match d {
            Device::Cpu => crate::tensor::buffer_cache::empty_cache(),
            #[cfg(feature = "wgpu")]
            Device::Wgpu => {
                if let Some(ctx) = crate::device::wgpu::started() {
                    ctx.empty_cache()
                }
            }
            #[cfg(not(feature = "wgpu"))]
            Device::Wgpu => {}
        }
    }
    Ok(())
}

/// Bytes of freed buffers kept for reuse, on `device` or on all devices.
#[pyfunction]
#[pyo3(signature = (device=None))]
pub fn cached_bytes(device: Option<&str>) -> PyResult<u64> {
    let mut total = 0u64;
    for d in devices(device)? {
        total += match d {
            Device::Cpu => crate::tensor::buffer_cache::cached_bytes() as u64,
            #[cfg(feature = "wgpu")]
            Device::Wgpu => crate::device::wgpu::started().map_or(0, |c| c.cached_bytes()),
            #[cfg(not(feature = "wgpu"))]
            Device::Wgpu => 0,
        };
    }
    Ok(total)
}

/// Waits until the device has finished all queued work (the CPU runs eagerly, so only
/// the GPU ever waits), like `torch.cuda.synchronize`.
#[pyfunction]
#[pyo3(signature = (device=None))]
pub fn synchronize(device: Option<&str>) -> PyResult<()> {
    for d in devices(device)? {
        #[cfg(feature = "wgpu")]
        if d == Device::Wgpu {
            if let Some(ctx) = crate::device::wgpu::started() {
                ctx.synchronize()?;
            }
        }
        let _ = d;
    }
    Ok(())
}

/// Cumulative GPU counters: uploads, readbacks (host transfers), submits, dispatches and
/// buffers created (the caching allocator's misses). For tests and benchmarks.
#[pyfunction]
pub fn _wgpu_stats(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    #[cfg(feature = "wgpu")]
    for (k, v) in crate::device::wgpu::context()?.stats() {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// Lowers the GPU's per-dimension workgroup limit (0 restores the adapter's) so that
/// small launches take the 2-D grid path that only huge tensors reach otherwise.
#[pyfunction]
pub fn _wgpu_set_grid_limit(limit: u32) -> PyResult<()> {
    #[cfg(feature = "wgpu")]
    crate::device::wgpu::context()?.set_grid_limit(limit);
    let _ = limit;
    Ok(())
}

/// Destroys the GPU device as a driver reset would, for testing the lost-device errors.
/// The GPU stays unusable for the rest of the process.
#[pyfunction]
pub fn _wgpu_lose_device_for_testing() -> PyResult<()> {
    #[cfg(feature = "wgpu")]
    crate::device::wgpu::context()?.lose_for_testing();
    Ok(())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(empty_cache, m)?)?;
    m.add_function(wrap_pyfunction!(cached_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(synchronize, m)?)?;
    m.add_function(wrap_pyfunction!(_wgpu_stats, m)?)?;
    m.add_function(wrap_pyfunction!(_wgpu_set_grid_limit, m)?)?;
    m.add_function(wrap_pyfunction!(_wgpu_lose_device_for_testing, m)?)?;
    Ok(())
}
