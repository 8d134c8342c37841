//! Device buffers: the storage under a GPU tensor (views put a Layout on top).
//!
//! Every GPU element is one 32-bit word: float32 as f32, int64 as i32 (checked on the
//! way in: a value outside the int32 range is an error, not a wrapped number) and bool as
//! u32 0/1. The tensor's dtype lives in `Storage`; this type only holds words.

use ::wgpu::util::DeviceExt;

use super::allocator::size_class;
use super::context::{context, WgpuContext};
use super::stream::Stats;
use crate::{bail, Error, Result};

/// A device buffer holding `len` 32-bit elements.
///
/// The wgpu buffer comes from the caching allocator and may be larger than `len` words
/// (its size class); kernels never read past `len`. Not `Clone` on purpose: the tensor
/// layer shares storage through its own `Arc`, and dropping returns the buffer to the
/// cache.
#[derive(Debug)]
pub struct WgpuStorage {
    pub(crate) buffer: ::wgpu::Buffer,
    len: usize,
}

/// Storage buffers are read by kernels, filled by uploads and copied out for reading back.
const USAGE: ::wgpu::BufferUsages = ::wgpu::BufferUsages::STORAGE
    .union(::wgpu::BufferUsages::COPY_SRC)
    .union(::wgpu::BufferUsages::COPY_DST);

/// Bytes for `len` words, checked against what the device can allocate and bind.
fn byte_size(ctx: &WgpuContext, len: usize) -> Result<u64> {
    let bytes = (len as u64).saturating_mul(4);
    let max = ctx
        .limits
        .max_buffer_size
        .min(ctx.limits.max_storage_buffer_binding_size);
    // Kernels index with 32-bit integers; the binding limit keeps indices far below that.
    if bytes > max || len > i32::MAX as usize {
        bail!(
            Memory,
            "a wgpu buffer of {len} elements ({bytes} bytes) exceeds the device's limit of {max} bytes"
        )
    }
    Ok(bytes)
}

impl WgpuStorage {
    /// `len` words whose contents are unspecified (a reused buffer keeps old data): for
    /// outputs that a kernel writes in full.
    pub fn uninit(len: usize) -> Result<WgpuStorage> {
        let ctx = context()?;
        let class = size_class(byte_size(ctx, len)?);
        if let Some(buffer) = ctx.pool.take(class) {
            return Ok(WgpuStorage { buffer, len });
        }
        Stats::bump(&ctx.stats.buffers_created);
        let create = || {
            ctx.scoped(|| {
                Ok(ctx.device.create_buffer(&::wgpu::BufferDescriptor {
                    label: Some("ferrograd tensor"),
                    size: class,
                    usage: USAGE,
                    mapped_at_creation: false,
                }))
            })
        };
        // Out of memory with buffers sitting in the cache: release them and try again.
        let buffer = match create() {
            Ok(b) => b,
            Err(_) if ctx.pool.cached_bytes() > 0 => {
                ctx.pool.clear();
                create()?
            }
            Err(e) => return Err(e),
        };
        Ok(WgpuStorage { buffer, len })
    }

    /// `len` zero words (all-zero bits: 0.0, 0 and false alike).
    pub fn zeros(len: usize) -> Result<WgpuStorage> {
        let out = WgpuStorage::uninit(len)?;
        if len > 0 {
            let ctx = context()?;
            ctx.record(|enc| {
                enc.clear_buffer(&out.buffer, 0, Some(len as u64 * 4));
                Ok(())
            })?;
        }
        Ok(out)
    }

    /// Uploads 32-bit host values into a new device buffer. The copy is recorded into
    /// the stream (from a fresh staging buffer), so it lands after every command already
    /// recorded, whichever cached buffer it reuses.
    pub fn from_host<T: bytemuck::Pod>(data: &[T]) -> Result<WgpuStorage> {
        assert_eq!(std::mem::size_of::<T>(), 4, "GPU elements are 32-bit words");
        let out = WgpuStorage::uninit(data.len())?;
        if data.is_empty() {
            return Ok(out);
        }
        let ctx = context()?;
        Stats::bump(&ctx.stats.uploads);
        let staging = ctx.scoped(|| {
            Ok(ctx
                .device
                .create_buffer_init(&::wgpu::util::BufferInitDescriptor {
                    label: Some("ferrograd upload"),
                    contents: bytemuck::cast_slice(data),
                    usage: ::wgpu::BufferUsages::COPY_SRC,
                }))
        })?;
        ctx.record(|enc| {
            enc.copy_buffer_to_buffer(&staging, 0, &out.buffer, 0, data.len() as u64 * 4);
            Ok(())
        })?;
        Ok(out)
    }

    /// Number of 32-bit elements.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads the whole buffer back to the host.
    pub fn to_host<T: bytemuck::Pod>(&self) -> Result<Vec<T>> {
        self.read_range(0, self.len)
    }

    /// Reads `count` words from element `start` back to the host: copies them into a
    /// mappable staging buffer, submits the stream and waits. Reading is the only place
    /// (with `synchronize`) where the host waits for the GPU.
    pub fn read_range<T: bytemuck::Pod>(&self, start: usize, count: usize) -> Result<Vec<T>> {
        assert_eq!(std::mem::size_of::<T>(), 4, "GPU elements are 32-bit words");
        if start.checked_add(count).is_none_or(|e| e > self.len) {
            bail!(
                Runtime,
                "reading {count} elements from {start} of a wgpu buffer of {}",
                self.len
            )
        }
        if count == 0 {
            return Ok(Vec::new());
        }
        let ctx = context()?;
        Stats::bump(&ctx.stats.readbacks);
        let bytes = count as u64 * 4;
        // A device-side check pending (see `checks`): its flag word rides along after
        // the data, in the same transfer, and is cleared for the next check.
        let check = super::checks::take_armed();
        let extra = if check.is_some() { 4 } else { 0 };
        let staging = ctx.scoped(|| {
            Ok(ctx.device.create_buffer(&::wgpu::BufferDescriptor {
                label: Some("ferrograd readback"),
                size: bytes + extra,
                usage: ::wgpu::BufferUsages::MAP_READ | ::wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }))
        })?;
        ctx.record(|enc| {
            enc.copy_buffer_to_buffer(&self.buffer, start as u64 * 4, &staging, 0, bytes);
            if let Some(flag) = check {
                enc.copy_buffer_to_buffer(&flag.buffer, 0, &staging, bytes, 4);
                enc.clear_buffer(&flag.buffer, 0, Some(4));
            }
            Ok(())
        })?;
        ctx.flush()?;
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
            if check.is_some() {
                let flag = bytemuck::pod_collect_to_vec::<u8, u32>(&view[bytes as usize..]);
                if flag[0] != 0 {
                    drop(view);
                    staging.unmap();
                    return Err(super::checks::error(flag[0]));
                }
            }
            // Copies through an aligned Vec, so no alignment of the mapping is assumed.
            bytemuck::pod_collect_to_vec::<u8, T>(&view[..bytes as usize])
        };
        staging.unmap();
        Ok(out)
    }
}

impl Drop for WgpuStorage {
    fn drop(&mut self) {
        // The context exists: this buffer was made by it.
        if let Ok(ctx) = context() {
            ctx.pool.give(self.buffer.clone());
        }
    }
}
