//! Conversions between tensors and the `ndarray` crate's arrays (feature `ndarray`).
//!
//! - `Tensor::from(Array<T, D>)` takes over the array's `Vec` without copying, whatever
//!   its strides: an owned ndarray array always addresses elements inside its own
//!   `Vec`, and a tensor layout can express any such strides (negative ones included).
//! - `tensor.to_ndarray::<T>()` copies into a standard-layout `ArrayD<T>`, from any
//!   layout and any device (a GPU tensor is read back).
//! - `tensor.as_ndarray_view::<T>()` borrows a CPU tensor's memory as an `ArrayViewD`
//!   with the tensor's own strides (transposed, sliced, flipped and broadcast views
//!   all map onto ndarray strides, so no layout needs a copy).
//!
//! Like the tensor's own views, an ndarray view is not a lock: an in-place op on a
//! tensor that shares the storage is seen through it (and, as with any shared memory,
//! must not run while another thread reads the view).

use super::{shape, Element, Layout, Storage, Tensor};
use crate::device::Device;
use crate::tensor::storage::CpuStorage;
use crate::{bail, Result};
use ndarray::{Array, ArrayD, ArrayViewD, Axis, Dimension, IxDyn, ShapeBuilder};
use std::sync::Arc;

impl<T: Element, D: Dimension> From<Array<T, D>> for Tensor {
    /// Wraps the array's buffer in a CPU tensor without copying; the tensor keeps the
    /// array's shape and strides (so `is_contiguous()` tells whether it was standard
    /// layout), and the `Vec` is freed when the last view of the tensor goes.
    fn from(array: Array<T, D>) -> Tensor {
        let shape = array.shape().to_vec();
        let strides = array.strides().to_vec();
        let (mut data, first) = array.into_raw_vec_and_offset();
        let layout = match first {
            Some(offset) => Layout {
                shape: shape.into(),
                strides: strides.into(),
                offset,
            },
            // An empty array: no element is ever addressed, so its strides are moot.
            None => Layout::contiguous(&shape),
        };
        let len = data.len();
        // ndarray's safe API only builds owned arrays that address elements inside their
        // own Vec; checked anyway (O(ndim)) because the unsafe wrap below relies on it.
        // A failure is a broken invariant of the dependency, not bad input.
        let (lo, hi) = layout.storage_span();
        assert!(
            layout.numel() == 0 || (lo >= 0 && hi as usize <= len),
            "an owned ndarray array addresses elements {lo}..{hi} outside its Vec of {len}"
        );
        let ptr = data.as_mut_ptr() as *mut u8;
        // SAFETY: `ptr` is the Vec's buffer (non-null, aligned for T, dangling only when
        // len is 0, and then never dereferenced). It stays valid while the Vec lives,
        // which the storage guarantees by owning the Vec: moving a Vec into a Box moves
        // only its header, never its heap buffer. Every element the layout addresses is
        // inside the buffer's `len` initialised elements (asserted just above), and
        // nothing reads or writes through the Vec itself again: it is only dropped.
        let cpu =
            unsafe { CpuStorage::foreign(ptr, std::mem::size_of_val(&data[..]), Box::new(data)) };
        Tensor::from_parts(Arc::new(Storage::from_cpu(cpu, T::DTYPE, len)), layout)
    }
}

impl Tensor {
    /// A standard-layout copy of the tensor as an `ArrayD<T>`, from any layout and any
    /// device (a wgpu tensor is read back). A `T` that is not the tensor's dtype is a
    /// `DType` error: convert with `astype` first.
    pub fn to_ndarray<T: Element>(&self) -> Result<ArrayD<T>> {
        check_dtype::<T>(self, "to_ndarray")?;
        let data = self.to_vec::<T>()?;
        ArrayD::from_shape_vec(IxDyn(self.shape()), data).map_err(|e| {
            crate::Error::Runtime(format!(
                "to_ndarray: shape {} does not fit its own data: {e}",
                shape::fmt_shape(self.shape())
            ))
        })
    }

    /// A zero-copy `ArrayViewD<T>` of a CPU tensor, with the tensor's strides (negative
    /// and zero strides included), borrowing the storage for as long as `self` lives.
    /// Errors: the tensor is on a GPU (`Device`; copy it with `to_device` first), or
    /// `T` is not its dtype (`DType`).
    pub fn as_ndarray_view<T: Element>(&self) -> Result<ArrayViewD<'_, T>> {
        check_dtype::<T>(self, "as_ndarray_view")?;
        if self.device() != Device::Cpu {
            bail!(
                Device,
                "as_ndarray_view needs a CPU tensor, this one is on {}; use to_device(Device::Cpu) or to_ndarray() to copy it",
                self.device()
            )
        }
        let shape = self.shape();
        if self.numel() == 0 {
            // Nothing to address: an empty view of the right shape needs no pointer.
            return ArrayViewD::from_shape(IxDyn(shape), &[]).map_err(|e| {
                crate::Error::Runtime(format!("as_ndarray_view of an empty tensor: {e}"))
            });
        }
        self.check_in_bounds()?;
        // ndarray builds views from raw parts with non-negative strides only, so start
        // at the lowest address the view touches with |stride| on every axis, then
        // invert the axes whose stride is negative (which is safe and exact).
        let (lo, _) = self.layout().storage_span();
        let abs: Vec<usize> = self.strides().iter().map(|s| s.unsigned_abs()).collect();
        let base = self.storage().cpu_ptr::<T>();
        // SAFETY: check_in_bounds proved that the span [lo, hi) of elements this
        // non-empty view addresses lies inside the storage, so lo >= 0 and base + lo is
        // inside the allocation (or exactly its start).
        let start = unsafe { base.add(lo as usize) };
        // SAFETY: with strides |s| from `start`, every element addressed is
        // start + sum(i_k * |s_k|) <= start + (hi - 1 - lo), inside the storage, whose
        // size in bytes fits in isize (it was allocated or wrapped as one buffer). The
        // storage lives as long as `self`, which the returned lifetime borrows. The
        // memory is not mutably borrowed by Rust code anywhere: tensor writes go
        // through raw pointers (see the module docs on in-place ops).
        let mut view = unsafe {
            ArrayViewD::from_shape_ptr(IxDyn(shape).strides(IxDyn(&abs)), start as *const T)
        };
        for (ax, &s) in self.strides().iter().enumerate() {
            if s < 0 {
                view.invert_axis(Axis(ax));
            }
        }
        Ok(view)
    }
}

fn check_dtype<T: Element>(t: &Tensor, what: &str) -> Result<()> {
    if T::DTYPE != t.dtype() {
        bail!(
            DType,
            "{what}::<{}> of a {} tensor: the element type must match the dtype (use astype({}) first)",
            T::DTYPE,
            t.dtype(),
            T::DTYPE
        )
    }
    Ok(())
}
