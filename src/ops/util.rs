//! Small helpers shared by unrelated CPU kernels (the norms, dropout): slices of
//! contiguous host tensors.

use crate::tensor::{Element, Tensor};

/// A contiguous slice of a CPU tensor of element type T (callers checked dtype/device).
pub(crate) fn slice<T: Element>(t: &Tensor) -> &[T] {
    t.contiguous_slice::<T>()
        .expect("fused CPU kernels get contiguous CPU tensors of their dtype")
}

/// A writable slice of a tensor this op just allocated.
#[allow(clippy::mut_from_ref)]
pub(crate) fn slice_mut<T: Element>(t: &Tensor) -> &mut [T] {
    // SAFETY: `t` is a fresh contiguous CPU tensor that nothing else references yet.
    unsafe { std::slice::from_raw_parts_mut(t.storage().cpu_ptr::<T>(), t.numel()) }
}
