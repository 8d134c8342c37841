//! A cache of large freed CPU buffers, reused by later allocations of the same layout.
//!
//! Why: a fresh multi-megabyte buffer is mapped anew by the system allocator and every
//! page of it faults on first touch (with huge pages, the kernel may also compact memory
//! to find one). On a 16 MB LayerNorm output that costs 2 to 10 ms, several times the
//! kernel itself, and it repeats on every call of a training loop, which allocates the
//! same shapes step after step. Reusing a freed buffer skips all of it. glibc's heap
//! sometimes does this by luck (its mmap threshold adapts after a free); the cache makes
//! it deterministic.
//!
//! Only buffers of at least `MIN_BYTES` are cached, matched by exact layout (size and
//! alignment), most recently freed first. The cache holds at most a byte budget
//! (`FERROGRAD_CPU_CACHE_MB`, default 1024; 0 turns it off) and evicts the oldest
//! buffers beyond it. `empty_cache` returns everything to the system allocator, and an
//! allocation that fails empties the cache and tries once more.

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::{Mutex, OnceLock};

/// Smaller buffers come from the allocator's own free lists cheaply.
pub const MIN_BYTES: usize = 1 << 20;

struct Block {
    layout: Layout,
    ptr: NonNull<u8>,
}

// SAFETY: a cached block is plain memory that nothing references.
unsafe impl Send for Block {}

struct Cache {
    /// Oldest first.
    blocks: Vec<Block>,
    bytes: usize,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    blocks: Vec::new(),
    bytes: 0,
});

/// The byte budget, read once from FERROGRAD_CPU_CACHE_MB.
fn budget() -> usize {
    static BUDGET: OnceLock<usize> = OnceLock::new();
    *BUDGET.get_or_init(|| {
        std::env::var("FERROGRAD_CPU_CACHE_MB")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(1024)
            .saturating_mul(1 << 20)
    })
}

fn lock() -> std::sync::MutexGuard<'static, Cache> {
    // A panic while holding the lock cannot leave the list inconsistent (each change
    // is one push or remove plus a counter update), so a poisoned lock is still usable.
    CACHE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A cached buffer with exactly this layout, if there is one.
pub(crate) fn take(layout: Layout) -> Option<NonNull<u8>> {
    if layout.size() < MIN_BYTES {
        return None;
    }
    let mut c = lock();
    let i = c.blocks.iter().rposition(|b| b.layout == layout)?;
    let b = c.blocks.remove(i);
    c.bytes -= layout.size();
    Some(b.ptr)
}

/// Frees a buffer allocated with `std::alloc::alloc(layout)`, keeping it for reuse when
/// it is large and fits the budget.
///
/// # Safety
/// `ptr` was returned by `std::alloc::alloc(layout)` (or by `take(layout)`) and is not
/// used after this call.
pub(crate) unsafe fn give(layout: Layout, ptr: NonNull<u8>) {
    let size = layout.size();
    let limit = budget();
    if size < MIN_BYTES || size > limit {
        std::alloc::dealloc(ptr.as_ptr(), layout);
        return;
    }
    let evicted = {
        let mut c = lock();
        let mut evicted = Vec::new();
        while c.bytes + size > limit {
            let old = c.blocks.remove(0);
            c.bytes -= old.layout.size();
            evicted.push(old);
        }
        c.blocks.push(Block { layout, ptr });
        c.bytes += size;
        evicted
    };
    // Outside the lock: munmap can take a while.
    for b in evicted {
        std::alloc::dealloc(b.ptr.as_ptr(), b.layout);
    }
}

/// Returns every cached buffer to the system allocator.
pub fn empty_cache() {
    let blocks = {
        let mut c = lock();
        c.bytes = 0;
        std::mem::take(&mut c.blocks)
    };
    for b in blocks {
        // SAFETY: cached blocks came from `std::alloc::alloc(b.layout)` and are unused.
        unsafe { std::alloc::dealloc(b.ptr.as_ptr(), b.layout) }
    }
}

/// Bytes held by the cache now.
pub fn cached_bytes() -> usize {
    lock().bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_same_layout_and_respects_the_budget() {
        // Other tests allocate concurrently, so only facts about our own block hold:
        // a freed block of an unusual layout comes back for that layout only.
        let layout = Layout::from_size_align(MIN_BYTES + 4160, 64).unwrap();
        let other = Layout::from_size_align(MIN_BYTES + 4224, 64).unwrap();
        let p = NonNull::new(unsafe { std::alloc::alloc(layout) }).unwrap();
        unsafe { give(layout, p) };
        assert!(take(other).is_none());
        let q = take(layout).expect("the freed block is cached");
        assert_eq!(p, q);
        assert!(take(layout).is_none(), "a block is handed out once");
        unsafe { give(layout, q) };
        empty_cache();
        assert!(take(layout).is_none());
        // Small buffers are never cached.
        let small = Layout::from_size_align(4096, 64).unwrap();
        let s = NonNull::new(unsafe { std::alloc::alloc(small) }).unwrap();
        unsafe { give(small, s) };
        assert!(take(small).is_none());
    }
}
