//! Creation functions: constants, ranges, identity and random tensors.

use super::shape::checked_numel;
use super::{DType, Element, Scalar, Storage, Tensor};
use crate::device::cpu::{for_each_chunk, SendPtr, GRAIN};
use crate::ops::copy::uninit_cpu;
use crate::random::{next_stream, u32_to_unit_f32, u64_to_unit_f64, PhiloxStream};
use crate::{bail, dispatch, dispatch_float, Result};

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
fn generate<T: Element>(shape: &[usize], f: impl Fn(usize) -> T + Sync + Send) -> Result<Tensor> {
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

    /// Uniform in [0, 1).
    pub fn rand(shape: &[usize], dtype: DType) -> Result<Tensor> {
        let s = next_stream();
        dispatch_float!(dtype, "rand", T => rand_from::<T>(shape, s))
    }

    /// Standard normal (Box-Muller on pairs of uniforms).
    pub fn randn(shape: &[usize], dtype: DType) -> Result<Tensor> {
        let s = next_stream();
        dispatch_float!(dtype, "randn", T => generate::<T>(shape, |i| {
            let b = s.block((i / 2) as u64);
            let u1 = 1.0 - u64_to_unit_f64(b[0], b[1]); // (0, 1]
            let u2 = u64_to_unit_f64(b[2], b[3]);
            let r = (-2.0 * u1.ln()).sqrt();
            let th = 2.0 * std::f64::consts::PI * u2;
            T::from_f64(if i % 2 == 0 { r * th.cos() } else { r * th.sin() })
        }))
    }

    /// Integers uniform in [low, high).
    pub fn randint(low: i64, high: i64, shape: &[usize], dtype: DType) -> Result<Tensor> {
        if high <= low {
            bail!(
                Value,
                "randint: high ({high}) must be greater than low ({low})"
            )
        }
        let range = (high as i128 - low as i128) as u128;
        let s = next_stream();
        dispatch!(dtype, T => generate::<T>(shape, |i| {
            let b = s.block((i / 2) as u64);
            let w = if i % 2 == 0 { ((b[0] as u64) << 32) | b[1] as u64 } else { ((b[2] as u64) << 32) | b[3] as u64 };
            // Multiply-shift maps 64 random bits onto the range (bias below 2^-64 * range).
            T::from_i64((low as i128 + ((w as u128 * range) >> 64) as i128) as i64)
        }))
    }
}

pub(crate) fn rand_from<T: Element>(shape: &[usize], s: PhiloxStream) -> Result<Tensor> {
    if T::DTYPE == DType::F32 {
        generate::<T>(shape, |i| {
            T::from_f64(u32_to_unit_f32(s.word(i as u64)) as f64)
        })
    } else {
        generate::<T>(shape, |i| {
            let b = s.block((i / 2) as u64);
            let (hi, lo) = if i % 2 == 0 {
                (b[0], b[1])
            } else {
                (b[2], b[3])
            };
            T::from_f64(u64_to_unit_f64(hi, lo))
        })
    }
}
