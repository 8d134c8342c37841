//! Float32 device buffers: the storage under a GPU tensor (views put a Layout on top).

use ::wgpu::util::DeviceExt;

use super::context::{context, WgpuContext};
use crate::{bail, Error, Result};

/// A float32 device buffer holding `len` elements.
///
/// The wgpu buffer is always at least 4 bytes, since wgpu rejects empty bindings; `len`
/// is the logical size. Not `Clone` on purpose: cloning a `wgpu::Buffer` aliases it, and
/// the tensor layer shares storage through its own `Arc`.
#[derive(Debug)]
pub struct WgpuStorage {
    pub(crate) buffer: ::wgpu::Buffer,
    len: usize,
}

/// Storage buffers are read by kernels, filled by uploads and copied out for reading back.
const USAGE: ::wgpu::BufferUsages = ::wgpu::BufferUsages::STORAGE
    .union(::wgpu::BufferUsages::COPY_SRC)
    .union(::wgpu::BufferUsages::COPY_DST);

/// Bytes for `len` floats, checked against what the device can allocate and bind.
fn byte_size(ctx: &WgpuContext, len: usize) -> Result<u64> {
    let bytes = (len as u64).saturating_mul(4);
    // (wgpu 30 made the binding limit a u64 like the buffer limit.)
    let max = ctx
        .limits
        .max_buffer_size
        .min(ctx.limits.max_storage_buffer_binding_size);
    // Kernels index with 32-bit integers; the binding limit keeps indices far below that.
    if bytes > max || len > i32::MAX as usize {
        bail!(
            Device,
            "a wgpu buffer of {len} float32 elements ({bytes} bytes) exceeds the device's limit of {max} bytes"
        )
    }
    Ok(bytes.max(4))
}

impl WgpuStorage {
    /// Uploads `data` into a new device buffer.
    pub fn from_host(data: &[f32]) -> Result<WgpuStorage> {
        if data.is_empty() {
            return WgpuStorage::zeros(0);
        }
        let ctx = context()?;
        byte_size(ctx, data.len())?;
        let buffer = ctx.scoped(|| {
            Ok(ctx
                .device
                .create_buffer_init(&::wgpu::util::BufferInitDescriptor {
                    label: Some("ferrograd tensor"),
                    contents: bytemuck::cast_slice(data),
                    usage: USAGE,
                }))
        })?;
        Ok(WgpuStorage {
            buffer,
            len: data.len(),
        })
    }

    /// A zero-filled buffer (wgpu guarantees new buffers read as zero).
    pub fn zeros(len: usize) -> Result<WgpuStorage> {
        let ctx = context()?;
        let size = byte_size(ctx, len)?;
        let buffer = ctx.scoped(|| {
            Ok(ctx.device.create_buffer(&::wgpu::BufferDescriptor {
                label: Some("ferrograd tensor"),
                size,
                usage: USAGE,
                mapped_at_creation: false,
            }))
        })?;
        Ok(WgpuStorage { buffer, len })
    }

    /// Number of float32 elements.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads the whole buffer back to the host: copies it into a mappable staging buffer,
    /// maps that and waits. This is the only place the host waits for the GPU.
    pub fn to_host(&self) -> Result<Vec<f32>> {
        if self.len == 0 {
            return Ok(Vec::new());
        }
        let ctx = context()?;
        let bytes = self.len as u64 * 4;
        let staging = ctx.scoped(|| {
            Ok(ctx.device.create_buffer(&::wgpu::BufferDescriptor {
                label: Some("ferrograd readback"),
                size: bytes,
                usage: ::wgpu::BufferUsages::MAP_READ | ::wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }))
        })?;
        ctx.submit("ferrograd readback", |enc| {
            enc.copy_buffer_to_buffer(&self.buffer, 0, &staging, 0, bytes);
            Ok(())
        })?;
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(::wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        ctx.device
            .poll(::wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Device(format!("waiting for the wgpu device failed: {e}")))?;
        rx.recv()
            .map_err(|_| Error::Device("wgpu dropped the buffer mapping callback".into()))?
            .map_err(|e| Error::Device(format!("mapping a wgpu buffer failed: {e}")))?;
        let out = {
            let view = staging
                .get_mapped_range(..)
                .map_err(|e| Error::Device(format!("reading a mapped wgpu buffer failed: {e}")))?;
            // Copies through an aligned Vec, so no alignment of the mapping is assumed.
            bytemuck::pod_collect_to_vec::<u8, f32>(&view)
        };
        staging.unmap();
        Ok(out)
    }
}
