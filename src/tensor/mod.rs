//! The `Tensor` handle: a cheap-to-clone reference to shared storage plus a layout.

pub mod buffer_cache;
pub mod complex;
pub mod creation;
pub mod dtype;
pub mod element;
pub mod index;
pub mod layout;
#[cfg(feature = "ndarray")]
mod ndarray_interop;
pub mod reinterpret;
pub mod shape;
pub mod storage;
mod views;

pub use dtype::{Complex128, Complex64, DType, Element, Scalar};
pub use layout::Layout;
pub use storage::Storage;

use crate::device::Device;
use crate::{bail, Result};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// An n-dimensional array on a device. Cloning is cheap (an `Arc` bump); views created by
/// reshape, permute, slicing or broadcasting share the storage of their base.
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<TensorImpl>);

pub struct TensorImpl {
    pub(crate) storage: Arc<Storage>,
    pub(crate) layout: Layout,
    pub(crate) requires_grad: AtomicBool,
    pub(crate) grad: Mutex<Option<Tensor>>,
    /// The op that produced this tensor (None for leaves). Mutable: an in-place op
    /// rebases the tensor onto a new node while its identity stays the same.
    pub(crate) grad_fn: Mutex<Option<Arc<crate::autograd::Node>>>,
    pub(crate) retains_grad: AtomicBool,
    /// For a view: the tensor whose storage it views (never itself a view), so an
    /// in-place write through the view can rebase the base's graph.
    pub(crate) base: Option<Tensor>,
    /// The storage version this view's grad_fn reflects; when the base has been
    /// modified in place since, the view's grad_fn is regenerated from the base's.
    pub(crate) view_version: AtomicU64,
}

impl Tensor {
    pub(crate) fn from_parts(storage: Arc<Storage>, layout: Layout) -> Tensor {
        Tensor::new_impl(storage, layout, None, None)
    }

    fn new_impl(
        storage: Arc<Storage>,
        layout: Layout,
        grad_fn: Option<Arc<crate::autograd::Node>>,
        base: Option<Tensor>,
    ) -> Tensor {
        let version = storage.version();
        Tensor(Arc::new(TensorImpl {
            storage,
            layout,
            requires_grad: AtomicBool::new(grad_fn.is_some()),
            grad: Mutex::new(None),
            grad_fn: Mutex::new(grad_fn),
            retains_grad: AtomicBool::new(false),
            base,
            view_version: AtomicU64::new(version),
        }))
    }

    /// The same data (and view base), produced by `node` (requires grad).
    pub(crate) fn with_grad_fn(t: Tensor, node: Arc<crate::autograd::Node>) -> Tensor {
        Tensor::new_impl(
            t.0.storage.clone(),
            t.0.layout.clone(),
            Some(node),
            t.0.base.clone(),
        )
    }

    pub fn grad_fn(&self) -> Option<Arc<crate::autograd::Node>> {
        self.sync_view();
        self.0
            .grad_fn
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    /// Rebases this tensor onto `node` (after an in-place op): it now requires grad.
    pub(crate) fn set_grad_fn(&self, node: Arc<crate::autograd::Node>) {
        *self.0.grad_fn.lock().unwrap_or_else(|e| e.into_inner()) = Some(node);
        self.0.requires_grad.store(true, Ordering::Relaxed);
        self.0
            .view_version
            .store(self.0.storage.version(), Ordering::Relaxed);
    }
    /// The tensor this one is a view of (None when it is not a view).
    pub(crate) fn view_base(&self) -> Option<&Tensor> {
        self.0.base.as_ref()
    }
    /// A view whose base was modified in place (through another view or directly)
    /// takes its gradient from the base's new graph, as PyTorch regenerates views.
    fn sync_view(&self) {
        let Some(base) = &self.0.base else { return };
        let v = self.0.storage.version();
        if self.0.view_version.load(Ordering::Relaxed) == v {
            return;
        }
        self.0.view_version.store(v, Ordering::Relaxed);
        if base.requires_grad() && !base.is_leaf() {
            if let Ok(node) = crate::autograd::inplace::view_of_base(self, base) {
                *self.0.grad_fn.lock().unwrap_or_else(|e| e.into_inner()) = Some(node);
                self.0.requires_grad.store(true, Ordering::Relaxed);
            }
        }
    }
    /// A leaf: not produced by a recorded op (user-created, or not requiring grad).
    pub fn is_leaf(&self) -> bool {
        self.grad_fn().is_none()
    }
    /// A view of the same data outside the graph.
    pub fn detach(&self) -> Tensor {
        Tensor::from_parts(self.0.storage.clone(), self.0.layout.clone())
    }
    /// Keeps `.grad` for a non-leaf tensor after backward.
    pub fn retain_grad(&self) -> Result<()> {
        if !self.requires_grad() {
            bail!(
                Runtime,
                "can't retain_grad on a tensor that has requires_grad=False"
            )
        }
        self.0.retains_grad.store(true, Ordering::Relaxed);
        Ok(())
    }
    pub fn retains_grad(&self) -> bool {
        self.0.retains_grad.load(Ordering::Relaxed)
    }
    /// Identity of this handle's tensor (for gradient bookkeeping).
    pub(crate) fn impl_key(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
    /// `t.backward()`: accumulates gradients into the leaves' `.grad`.
    pub fn backward(&self) -> Result<()> {
        crate::autograd::backward(self, None, false, false)
    }

    /// A contiguous tensor over a fresh storage.
    pub(crate) fn from_storage(storage: Storage, shape: &[usize]) -> Tensor {
        Tensor::from_parts(Arc::new(storage), Layout::contiguous(shape))
    }

    /// A view of the same storage with another layout (remembering the base).
    pub(crate) fn view_with(&self, layout: Layout) -> Tensor {
        let base = self.0.base.clone().unwrap_or_else(|| self.clone());
        Tensor::new_impl(self.0.storage.clone(), layout, None, Some(base))
    }

    /// Builds a CPU tensor from a vector and a shape.
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        let n = shape::numel(shape);
        if n != data.len() {
            bail!(
                Shape,
                "cannot make a tensor of shape {} from {} values",
                shape::fmt_shape(shape),
                data.len()
            )
        }
        Ok(Tensor::from_storage(Storage::from_vec(data)?, shape))
    }

    /// A 0-d tensor. Infallible like `vec![v]`: a one-element allocation that fails
    /// aborts, as every small Rust allocation does.
    pub fn scalar<T: Element>(v: T) -> Tensor {
        let s = Storage::from_vec(vec![v])
            .unwrap_or_else(|_| std::alloc::handle_alloc_error(std::alloc::Layout::new::<T>()));
        Tensor::from_storage(s, &[])
    }

    pub fn shape(&self) -> &[usize] {
        &self.0.layout.shape
    }
    pub fn strides(&self) -> &[isize] {
        &self.0.layout.strides
    }
    pub fn layout(&self) -> &Layout {
        &self.0.layout
    }
    pub fn offset(&self) -> usize {
        self.0.layout.offset
    }
    pub fn ndim(&self) -> usize {
        self.0.layout.ndim()
    }
    pub fn numel(&self) -> usize {
        self.0.layout.numel()
    }
    pub fn dtype(&self) -> DType {
        self.0.storage.dtype
    }
    pub fn device(&self) -> Device {
        self.0.storage.device()
    }
    pub fn storage(&self) -> &Arc<Storage> {
        &self.0.storage
    }
    pub fn is_contiguous(&self) -> bool {
        self.0.layout.is_contiguous()
    }
    /// True when two tensors are views of the same storage.
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0.storage, &other.0.storage)
    }

    pub fn requires_grad(&self) -> bool {
        self.sync_view();
        self.0.requires_grad.load(Ordering::Relaxed)
    }
    pub fn set_requires_grad(&self, on: bool) -> Result<()> {
        if !self.is_leaf() {
            bail!(
                Runtime,
                "you can only change requires_grad flags of leaf tensors; use .detach() to get a leaf"
            )
        }
        if on && !self.dtype().is_float() {
            bail!(
                Runtime,
                "only tensors of floating point dtype can require gradients (got {})",
                self.dtype()
            )
        }
        self.0.requires_grad.store(on, Ordering::Relaxed);
        Ok(())
    }
    pub fn grad(&self) -> Option<Tensor> {
        self.0
            .grad
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    pub fn set_grad(&self, g: Option<Tensor>) {
        *self.0.grad.lock().unwrap_or_else(|e| e.into_inner()) = g;
    }

    /// Elements in row-major order as a Vec (copies; CPU tensors of dtype T only).
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        if T::DTYPE != self.dtype() {
            bail!(DType, "to_vec::<{}> of a {} tensor", T::DTYPE, self.dtype())
        }
        let t = self.to_device(Device::Cpu)?.contiguous()?;
        let n = t.numel();
        let ptr = t.0.storage.cpu_ptr::<T>();
        let mut v = storage::try_with_capacity(n)?;
        // SAFETY: contiguous view of n elements starting at offset.
        v.extend_from_slice(unsafe { std::slice::from_raw_parts(ptr.add(t.offset()), n) });
        Ok(v)
    }

    /// The single value of a one-element tensor, as f64.
    pub fn item(&self) -> Result<f64> {
        Ok(self.item_parts()?.0)
    }

    /// The one element as (real, imaginary, i64, u64) (`Element::to_complex_parts`), with one
    /// read from the device.
    pub fn item_parts(&self) -> Result<(f64, f64, i64, u64)> {
        if self.numel() != 1 {
            bail!(
                Value,
                "only a tensor with one element can be converted to a scalar, got shape {}",
                shape::fmt_shape(self.shape())
            )
        }
        let t = self.to_device(Device::Cpu)?;
        t.check_in_bounds()?;
        let off = t.offset();
        // SAFETY: t holds exactly one element, at `off`, inside its CPU storage (checked).
        Ok(crate::dispatch!(t.dtype(), T => unsafe {
            (*t.0.storage.cpu_ptr::<T>().add(off)).to_complex_parts()
        }))
    }

    /// A read-only slice of a contiguous CPU tensor's elements.
    pub(crate) fn contiguous_slice<T: Element>(&self) -> Option<&[T]> {
        if !self.is_contiguous() || self.device() != Device::Cpu || T::DTYPE != self.dtype() {
            return None;
        }
        let ptr = self.0.storage.cpu_ptr::<T>();
        // SAFETY: contiguous CPU view; storage outlives &self.
        Some(unsafe { std::slice::from_raw_parts(ptr.add(self.offset()), self.numel()) })
    }

    /// Checks that every element this view addresses lies inside its storage. Kernels
    /// that walk raw pointers with a view's strides and offset call this first, so a
    /// layout that does not belong to its buffer is an error, never an out-of-bounds read.
    pub(crate) fn check_in_bounds(&self) -> Result<()> {
        let (lo, hi) = self.layout().storage_span();
        let len = self.0.storage.len() as isize;
        // An empty view spans nothing (lo == hi) and touches no memory.
        if lo < hi && (lo < 0 || hi > len) {
            bail!(
                Runtime,
                "internal layout error: a view of shape {} addresses elements {lo}..{hi} of a storage of {len}",
                shape::fmt_shape(self.shape())
            )
        }
        Ok(())
    }

    /// Marks an in-place write (bumps the storage version).
    pub(crate) fn mark_modified(&self) {
        self.0.storage.bump_version();
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tensor(shape={}, dtype={}, device={})",
            shape::fmt_shape(self.shape()),
            self.dtype(),
            self.device()
        )
    }
}
