//! Device-side checks: errors found by a kernel rather than by the host.
//!
//! A kernel cannot raise. Where only the GPU can see that an input is bad (an index
//! tensor on the GPU holding an index outside its axis), validating on the host would
//! mean waiting for the GPU and reading the data back inside forward or backward, which
//! the lazy stream exists to avoid. Instead such a kernel sets a flag word on the device
//! and carries on with a safe substitute (index 0), and the next read from the device
//! (`WgpuStorage::read_range`: `.numpy()`, `.item()`, `.to("cpu")`, printing) copies the
//! flag along with its data, in the same transfer, and raises the error there; CUDA
//! reports its device-side asserts the same way, at the next synchronisation. Values
//! computed from the bad index are unspecified.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use super::storage::WgpuStorage;
use crate::{Error, Result};

/// Bits of the flag word: what a kernel found.
pub(crate) const INDEX_OUT_OF_BOUNDS: u32 = 1;
pub(crate) const INT32_OVERFLOW: u32 = 2;

/// One u32 word: 0, or the bits of what kernels found since the last check.
static FLAG: OnceLock<WgpuStorage> = OnceLock::new();
/// Whether a kernel that may set the flag was recorded since the last read checked it
/// (reads skip the extra word otherwise).
static ARMED: AtomicBool = AtomicBool::new(false);

/// The flag buffer, to bind to a checking kernel (created zeroed on first use).
pub(crate) fn flag() -> Result<&'static WgpuStorage> {
    if let Some(f) = FLAG.get() {
        return Ok(f);
    }
    let f = WgpuStorage::zeros(1)?;
    // A racing thread may have set it first: its buffer wins and ours goes back.
    let _ = FLAG.set(f);
    Ok(FLAG.get().expect("set above"))
}

/// Call after recording a kernel bound to `flag()`: the next read checks the flag.
pub(crate) fn arm() {
    ARMED.store(true, Ordering::Release);
}

/// The flag buffer when a checking kernel ran since the last check (disarming it: the
/// caller copies and clears the flag in the same recorded commands).
pub(crate) fn take_armed() -> Option<&'static WgpuStorage> {
    if ARMED.swap(false, Ordering::AcqRel) {
        FLAG.get()
    } else {
        None
    }
}

/// The error a set flag word stands for (an index error first: it also makes the
/// values unspecified).
pub(crate) fn error(bits: u32) -> Error {
    if bits & INDEX_OUT_OF_BOUNDS == 0 && bits & INT32_OVERFLOW != 0 {
        return Error::Runtime(
            "int64 overflow on wgpu: a kernel produced an integer outside [-2147483648, \
             2147483647], the 32 bits the GPU stores int64 in (found by a kernel, so \
             reported at this first read from the device after it; the CPU keeps 64 bits)"
                .into(),
        );
    }
    Error::Index(
        "index out of bounds: an index tensor on wgpu held a value outside [-size, size) of \
         the axis it indexes (found by a kernel, so reported at this first read from the \
         device after it; values computed from that index are unspecified)"
            .into(),
    )
}
