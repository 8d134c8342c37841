//! Creation functions: constants, ranges, identity and random tensors.

use super::shape::checked_numel;
use super::{DType, Element, Scalar, Storage, Tensor};
use crate::device::cpu::{for_each_chunk, SendPtr, GRAIN};
use crate::device::Device;
use crate::ops::copy::uninit_cpu;
use crate::{bail, dispatch, Result};

fn fill<T: Element>(t: &Tensor, v: T) {
    assert!(t.is_contiguous() && t.offset() == 0 && t.numel() <= t.storage().len());
    let p = SendPtr(t.storage().cpu_ptr::<T>());
    // SAFETY: t is a fresh contiguous tensor at offset 0 (asserted), so s..e < numel is
    // inside its storage, and each chunk writes only its own range.
    for_each_chunk(t.numel(), GRAIN, |s, e| unsafe {
        p.slice_mut(s, e - s).fill(v)
    });
}

/// Writes f(i) to element i of a fresh contiguous tensor, in parallel.
pub(crate) fn generate<T: Element>(
    shape: &[usize],
    f: impl Fn(usize) -> T + Sync + Send,
) -> Result<Tensor> {
    let t = uninit_cpu(T::DTYPE, shape)?;
    let p = SendPtr(t.storage().cpu_ptr::<T>());
    // SAFETY: t is a fresh contiguous tensor of numel elements; each chunk writes only
    // its own range s..e of it.
    for_each_chunk(t.numel(), GRAIN, |s, e| unsafe {
        for (j, d) in p.slice_mut(s, e - s).iter_mut().enumerate() {
            *d = f(s + j);
        }
    });
    Ok(t)
}

/// The constructors return `Error::Memory` (Python's MemoryError) when the buffer
/// cannot be allocated.
impl Tensor {
    pub fn zeros_dtype(shape: &[usize], dtype: DType) -> Result<Tensor> {
        let n = checked_numel(shape)?;
        Ok(Tensor::from_storage(Storage::cpu_zeroed(dtype, n)?, shape))
    }
    pub fn zeros(shape: &[usize]) -> Result<Tensor> {
        Tensor::zeros_dtype(shape, DType::F32)
    }
    pub fn ones(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::full(shape, Scalar::Int(1), dtype)
    }
    /// Uninitialised memory (like `torch.empty`).
    pub fn empty(shape: &[usize], dtype: DType) -> Result<Tensor> {
        uninit_cpu(dtype, shape)
    }
    /// `full` made on `device` by its own kernel: nothing crosses from the host.
    pub fn full_on(
        shape: &[usize],
        value: Scalar,
        dtype: DType,
        device: crate::device::Device,
    ) -> Result<Tensor> {
        let b = crate::backend::of(device)?;
        crate::backend::check_dtype(b, dtype)?;
        b.full(shape, value, dtype)
    }
    pub fn zeros_on(
        shape: &[usize],
        dtype: DType,
        device: crate::device::Device,
    ) -> Result<Tensor> {
        Tensor::full_on(shape, Scalar::Int(0), dtype, device)
    }
    pub fn full(shape: &[usize], value: Scalar, dtype: DType) -> Result<Tensor> {
        let t = uninit_cpu(dtype, shape)?;
        dispatch!(dtype, T => fill::<T>(&t, value.cast::<T>()));
        Ok(t)
    }

    /// Values start, start+step, ... below stop (above it for a negative step).
    pub fn arange(start: f64, stop: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if step == 0.0 {
            bail!(Value, "arange: step must be nonzero")
        }
        if !(start.is_finite() && stop.is_finite() && step.is_finite()) {
            bail!(Value, "arange: start, stop and step must be finite")
        }
        let n = ((stop - start) / step).ceil().max(0.0);
        if n > (isize::MAX as f64) / 8.0 {
            bail!(Value, "arange: {n} elements is too many")
        }
        let n = n as usize;
        dispatch!(dtype, T => generate::<T>(&[n], |i| T::from_f64(start + i as f64 * step)))
    }

    pub fn linspace(
        start: f64,
        stop: f64,
        num: usize,
        endpoint: bool,
        dtype: DType,
    ) -> Result<Tensor> {
        let div = if endpoint { num.saturating_sub(1) } else { num };
        let step = if div > 0 {
            (stop - start) / div as f64
        } else {
            0.0
        };
        dispatch!(dtype, T => generate::<T>(&[num], |i| {
            if endpoint && num > 1 && i == num - 1 { T::from_f64(stop) } else { T::from_f64(start + i as f64 * step) }
        }))
    }

    /// Ones on the k-th diagonal of an n x m matrix.
    pub fn eye(n: usize, m: Option<usize>, k: isize, dtype: DType) -> Result<Tensor> {
        let m = m.unwrap_or(n);
        dispatch!(dtype, T => generate::<T>(&[n, m], |i| {
            let (r, c) = ((i / m.max(1)) as isize, (i % m.max(1)) as isize);
            if c - r == k { T::one() } else { T::zero() }
        }))
    }

    /// Uninitialised memory on `device` (the backend's own allocation, nothing uploaded).
    pub fn empty_on(shape: &[usize], dtype: DType, device: Device) -> Result<Tensor> {
        let b = crate::backend::of(device)?;
        crate::backend::check_dtype(b, dtype)?;
        checked_numel(shape)?;
        b.empty(shape, dtype)
    }

    /// `eye` made on `device` by its kernels: zeros, then ones written through a strided
    /// view of the diagonal (stride m + 1), so nothing crosses from the host.
    pub fn eye_on(
        n: usize,
        m: Option<usize>,
        k: isize,
        dtype: DType,
        device: Device,
    ) -> Result<Tensor> {
        let m = m.unwrap_or(n);
        let out = Tensor::zeros_on(&[n, m], dtype, device)?;
        // The diagonal starts at (0, k) above the main one, at (-k, 0) below it.
        let (r0, c0) = if k >= 0 {
            (0, k.unsigned_abs())
        } else {
            (k.unsigned_abs(), 0)
        };
        let len = n.saturating_sub(r0).min(m.saturating_sub(c0));
        if len > 0 {
            let diag = out.view_with(super::Layout {
                shape: smallvec::smallvec![len],
                strides: smallvec::smallvec![m as isize + 1],
                offset: r0 * m + c0,
            });
            let one = Tensor::full_on(&[], Scalar::Int(1), dtype, device)?;
            crate::ops::copy::assign_raw(&diag, &one)?;
        }
        Ok(out)
    }

    /// Uniform in [0, 1) on `device`: the same numbers on every device for one seed.
    pub fn rand_on(shape: &[usize], dtype: DType, device: Device) -> Result<Tensor> {
        crate::ops::random::rand(shape, dtype, device)
    }

    /// Standard normal on `device` (see `ops::random` for how close the devices agree).
    pub fn randn_on(shape: &[usize], dtype: DType, device: Device) -> Result<Tensor> {
        crate::ops::random::randn(shape, dtype, device)
    }

    /// Integers uniform in [low, high) on `device`: the same numbers on every device.
    pub fn randint_on(
        low: i64,
        high: i64,
        shape: &[usize],
        dtype: DType,
        device: Device,
    ) -> Result<Tensor> {
        crate::ops::random::randint(low, high, shape, dtype, device)
    }

    /// Uniform in [0, 1), on the CPU (`crate::ops::random::rand` takes a device).
    pub fn rand(shape: &[usize], dtype: DType) -> Result<Tensor> {
        crate::ops::random::rand(shape, dtype, Device::Cpu)
    }

    /// Standard normal (Box-Muller on pairs of uniforms), on the CPU.
    pub fn randn(shape: &[usize], dtype: DType) -> Result<Tensor> {
        crate::ops::random::randn(shape, dtype, Device::Cpu)
    }

    /// Integers uniform in [low, high), on the CPU.
    pub fn randint(low: i64, high: i64, shape: &[usize], dtype: DType) -> Result<Tensor> {
        crate::ops::random::randint(low, high, shape, dtype, Device::Cpu)
    }
}
