//! The caching allocator: device buffers freed by tensors are kept by size class and
//! handed out again, instead of creating (and zeroing) a new wgpu buffer per op.
//!
//! Reuse is safe without waiting for the GPU: every command is recorded into the one
//! lazy stream (see `stream.rs`) in program order, and wgpu orders the accesses of
//! commands within a submission and across submissions, so a buffer reused by a later
//! kernel is written only after the earlier kernels that read it. Uploads go through the
//! stream too (a copy from a fresh staging buffer), never `queue.write_buffer`, which
//! would jump ahead of commands still waiting in the stream.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Buffer sizes are rounded up to the next 2^k or 1.5 * 2^k bytes (at least 256), so a
/// class wastes at most a third of its size and a freed buffer fits many later requests.
pub(crate) fn size_class(bytes: u64) -> u64 {
    let b = bytes.max(256);
    let p = b.next_power_of_two();
    let three_quarters = p / 4 * 3;
    if b <= three_quarters {
        three_quarters
    } else {
        p
    }
}

/// Freed buffers by size class. Never shrinks by itself: `empty_cache` releases them.
pub(crate) struct BufferPool {
    free: Mutex<HashMap<u64, Vec<::wgpu::Buffer>>>,
    cached: AtomicU64,
}

impl BufferPool {
    pub(crate) fn new() -> BufferPool {
        BufferPool {
            free: Mutex::new(HashMap::new()),
            cached: AtomicU64::new(0),
        }
    }

    /// A cached buffer of exactly `class` bytes, if one is free.
    pub(crate) fn take(&self, class: u64) -> Option<::wgpu::Buffer> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let b = free.get_mut(&class)?.pop()?;
        self.cached.fetch_sub(class, Ordering::Relaxed);
        Some(b)
    }

    pub(crate) fn give(&self, buffer: ::wgpu::Buffer) {
        let class = buffer.size();
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        free.entry(class).or_default().push(buffer);
        self.cached.fetch_add(class, Ordering::Relaxed);
    }

    /// Bytes held by free buffers.
    pub(crate) fn cached_bytes(&self) -> u64 {
        self.cached.load(Ordering::Relaxed)
    }

    /// Drops every free buffer (wgpu releases the memory once no pending command uses it).
    pub(crate) fn clear(&self) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        free.clear();
        self.cached.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_waste_at_most_a_third() {
        assert_eq!(size_class(0), 256);
        assert_eq!(size_class(256), 256);
        assert_eq!(size_class(257), 384);
        assert_eq!(size_class(385), 512);
        assert_eq!(size_class(4 << 20), 4 << 20);
        for b in [1000u64, 4097, 1 << 20, (3 << 20) + 1, 123_456_789] {
            let c = size_class(b);
            assert!(c >= b && (c as f64) <= b as f64 * 1.5 + 1.0, "{b} -> {c}");
        }
    }
}
