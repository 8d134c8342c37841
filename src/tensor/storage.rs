//! Storage: the flat buffer behind one or more tensor views.
//!
//! CPU memory is either allocated here (64-byte aligned, so SIMD loads and `gemm` see
//! aligned rows) or borrowed from a foreign owner (a NumPy array, a DLPack producer) that
//! is kept alive for as long as the storage lives; that is what makes `from_numpy` and
//! `from_dlpack` zero-copy. Writes go through raw pointers: like PyTorch, views share
//! memory and in-place ops are not locked.

use super::buffer_cache;
use super::dtype::{DType, Element};
use crate::device::Device;
use crate::{Error, Result};
use std::alloc::Layout;
use std::any::Any;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// Cache-line alignment for buffers from SMALL_MAX bytes on.
const ALIGN: usize = 64;
/// Below this size a buffer gets malloc's own 16-byte alignment (enough for every
/// dtype, complex128 included): a 64-byte-aligned allocation goes through
/// posix_memalign, about 700 more instructions per call, which was a tenth of the time
/// of an 8x8 add from Python, while a buffer this small gains nothing from a line start.
const SMALL_MAX: usize = 4096;
const SMALL_ALIGN: usize = 16;
/// Buffers at least this large are aligned to, and advised as, 2 MiB huge pages: the
/// first touch of a fresh 64 MB output then costs 32 page faults instead of 16,384,
/// which is most of the time of a large elementwise op (NumPy does the same).
const HUGE_MIN: usize = 4 << 20;
const HUGE_ALIGN: usize = 2 << 20;

enum Owner {
    /// Memory from `std::alloc` with this layout (None for zero-size buffers).
    Alloc(Option<Layout>),
    /// Memory owned by someone else; dropping the box releases it.
    #[allow(dead_code)]
    Foreign(Box<dyn Any + Send + Sync>),
}

pub struct CpuStorage {
    ptr: NonNull<u8>,
    bytes: usize,
    owner: Owner,
}

// SAFETY: the buffer is plain memory; synchronisation of concurrent writes is the
// caller's business exactly as with PyTorch tensors.
unsafe impl Send for CpuStorage {}
unsafe impl Sync for CpuStorage {}

impl CpuStorage {
    /// A buffer of `bytes` bytes, or `Error::Memory` when the system refuses it (no
    /// panic, no abort: a huge request is bad input, not a bug).
    fn alloc(bytes: usize, zeroed: bool) -> Result<CpuStorage> {
        if bytes == 0 {
            return Ok(CpuStorage {
                ptr: dangling(),
                bytes,
                owner: Owner::Alloc(None),
            });
        }
        let align = match bytes {
            HUGE_MIN.. => HUGE_ALIGN,
            SMALL_MAX.. => ALIGN,
            _ => SMALL_ALIGN,
        };
        // Fails only when bytes rounded up to align exceeds isize::MAX.
        let layout = Layout::from_size_align(bytes, align).map_err(|_| alloc_error(bytes))?;
        let ptr = match buffer_cache::take(layout) {
            Some(p) => p,
            None => fresh(layout).ok_or_else(|| alloc_error(bytes))?,
        };
        let raw = ptr.as_ptr();
        if zeroed {
            let p = crate::device::cpu::SendPtr(raw);
            crate::device::cpu::for_each_chunk(bytes, 1 << 20, |s, e| {
                // SAFETY: s..e are disjoint ranges inside our fresh allocation of `bytes`.
                unsafe { p.slice_mut(s, e - s).fill(0) }
            });
        }
        Ok(CpuStorage {
            ptr,
            bytes,
            owner: Owner::Alloc(Some(layout)),
        })
    }

    /// Wraps foreign memory. SAFETY: `ptr` must be valid for `bytes` bytes, aligned for
    /// the element type, and stay valid until `owner` is dropped.
    pub unsafe fn foreign(
        ptr: *mut u8,
        bytes: usize,
        owner: Box<dyn Any + Send + Sync>,
    ) -> CpuStorage {
        let ptr = NonNull::new(ptr).unwrap_or_else(dangling);
        CpuStorage {
            ptr,
            bytes,
            owner: Owner::Foreign(owner),
        }
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// An aligned non-null pointer for zero-size buffers: never read or written through.
fn dangling() -> NonNull<u8> {
    // SAFETY: ALIGN is not zero, so the pointer is not null.
    unsafe { NonNull::new_unchecked(std::ptr::without_provenance_mut(ALIGN)) }
}

/// The error for an allocation of `bytes` that failed (or whose size overflows).
pub(crate) fn alloc_error(bytes: usize) -> Error {
    Error::Memory(format!("memory allocation of {bytes} bytes failed"))
}

/// A new buffer from the system allocator; when that fails, after returning the cached
/// buffers, a second try. None when both fail.
fn fresh(layout: Layout) -> Option<NonNull<u8>> {
    let bytes = layout.size();
    // SAFETY: `alloc` only calls this with a non-zero size; a null result is handled.
    let raw = NonNull::new(unsafe { std::alloc::alloc(layout) }).or_else(|| {
        buffer_cache::empty_cache();
        // SAFETY: as above.
        NonNull::new(unsafe { std::alloc::alloc(layout) })
    })?;
    if bytes >= HUGE_MIN {
        // Before the first touch, or the pages are already small ones.
        advise_huge_pages(raw.as_ptr(), bytes);
    }
    Some(raw)
}

/// `vec![value; n]`, or `Error::Memory` instead of an abort when it cannot be had:
/// for index lists and other buffers whose length comes from the caller.
pub fn try_vec<T: Clone>(n: usize, value: T) -> Result<Vec<T>> {
    let mut v = try_with_capacity(n)?;
    v.resize(n, value);
    Ok(v)
}

/// `Vec::with_capacity(n)`, or `Error::Memory` when it cannot be had.
pub fn try_with_capacity<T>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| alloc_error(n.saturating_mul(std::mem::size_of::<T>())))?;
    Ok(v)
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, bytes: usize) {
    // SAFETY: the range lies inside our allocation; madvise only changes paging policy,
    // and a failure (THP disabled) just leaves normal pages.
    unsafe {
        libc::madvise(
            ptr as *mut libc::c_void,
            bytes & !(HUGE_ALIGN - 1),
            libc::MADV_HUGEPAGE,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *mut u8, _bytes: usize) {}

impl Drop for CpuStorage {
    fn drop(&mut self) {
        if let Owner::Alloc(Some(layout)) = self.owner {
            // SAFETY: allocated in `alloc` with this layout, and unused from here on.
            unsafe { buffer_cache::give(layout, self.ptr) }
        }
    }
}

fn byte_size(dtype: DType, len: usize) -> Result<usize> {
    len.checked_mul(dtype.size())
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| {
            Error::Memory(format!(
                "memory allocation of {len} elements of {dtype} failed (size overflow)"
            ))
        })
}

pub enum StorageKind {
    Cpu(CpuStorage),
    #[cfg(feature = "wgpu")]
    Wgpu(crate::device::wgpu::WgpuStorage),
}

/// A typed buffer plus a version counter that in-place writes bump (autograd uses it to
/// detect a tensor saved for backward being modified).
pub struct Storage {
    pub(crate) kind: StorageKind,
    pub(crate) dtype: DType,
    /// Number of elements.
    pub(crate) len: usize,
    version: AtomicU64,
}

impl Storage {
    /// `len` uninitialised elements; `Error::Memory` if they cannot be allocated.
    pub fn cpu_uninit(dtype: DType, len: usize) -> Result<Storage> {
        let cpu = CpuStorage::alloc(byte_size(dtype, len)?, false)?;
        Ok(Storage::from_cpu(cpu, dtype, len))
    }
    /// `len` zero elements; `Error::Memory` if they cannot be allocated.
    pub fn cpu_zeroed(dtype: DType, len: usize) -> Result<Storage> {
        let cpu = CpuStorage::alloc(byte_size(dtype, len)?, true)?;
        Ok(Storage::from_cpu(cpu, dtype, len))
    }
    pub fn from_cpu(cpu: CpuStorage, dtype: DType, len: usize) -> Storage {
        Storage {
            kind: StorageKind::Cpu(cpu),
            dtype,
            len,
            version: AtomicU64::new(0),
        }
    }
    pub fn from_vec<T: Element>(v: Vec<T>) -> Result<Storage> {
        let s = Storage::cpu_uninit(T::DTYPE, v.len())?;
        // SAFETY: fresh buffer of exactly v.len() elements of T, disjoint from v.
        unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), s.cpu_ptr::<T>(), v.len()) };
        Ok(s)
    }
    #[cfg(feature = "wgpu")]
    pub fn from_wgpu(w: crate::device::wgpu::WgpuStorage, dtype: DType, len: usize) -> Storage {
        debug_assert!(dtype != DType::F64, "wgpu holds no float64");
        Storage {
            kind: StorageKind::Wgpu(w),
            dtype,
            len,
            version: AtomicU64::new(0),
        }
    }

    pub fn device(&self) -> Device {
        match self.kind {
            StorageKind::Cpu(_) => Device::Cpu,
            #[cfg(feature = "wgpu")]
            StorageKind::Wgpu(_) => Device::Wgpu,
        }
    }

    /// Typed base pointer of CPU memory. Panics on a GPU storage or wrong type: callers
    /// dispatch on device and dtype first, so that would be a bug here, not bad input.
    pub fn cpu_ptr<T: Element>(&self) -> *mut T {
        assert_eq!(T::DTYPE, self.dtype, "storage dtype mismatch");
        match &self.kind {
            StorageKind::Cpu(c) => c.as_ptr() as *mut T,
            #[cfg(feature = "wgpu")]
            _ => panic!("cpu_ptr on a GPU storage"),
        }
    }

    /// Untyped base pointer of CPU memory (for byte copies that work for any dtype).
    /// Panics on a GPU storage, as `cpu_ptr`.
    pub fn cpu_byte_ptr(&self) -> *mut u8 {
        match &self.kind {
            StorageKind::Cpu(c) => c.as_ptr(),
            #[cfg(feature = "wgpu")]
            _ => panic!("cpu_byte_ptr on a GPU storage"),
        }
    }

    pub fn cpu(&self) -> Result<&CpuStorage> {
        match &self.kind {
            StorageKind::Cpu(c) => Ok(c),
            #[cfg(feature = "wgpu")]
            _ => crate::bail!(Device, "expected a CPU tensor"),
        }
    }

    #[cfg(feature = "wgpu")]
    pub fn wgpu(&self) -> Result<&crate::device::wgpu::WgpuStorage> {
        match &self.kind {
            StorageKind::Wgpu(w) => Ok(w),
            _ => crate::bail!(Device, "expected a wgpu tensor"),
        }
    }

    /// Number of elements the buffer holds.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }
    pub fn bump_version(&self) {
        self.version.fetch_add(1, Ordering::Relaxed);
    }
}
