//! Random fills: rand, randn and randint from the Philox4x32-10 streams of `crate::random`.
//!
//! Every draw takes one stream (seed, offset) from the global generator, whatever the
//! device, and element i of the result is a fixed function of (stream, i). So one seed
//! gives the same numbers on every device and thread count: the CPU (`cpu.rs`) and wgpu
//! (`wgpu.rs`, `philox.wgsl`) compute the same function of the same stream.
//!
//! Bitwise across devices: rand and randint are built from integer operations and one
//! exact float scaling, so the GPU's values are the CPU's bits. randn is Box-Muller on two
//! 53-bit uniforms. In float32 it is evaluated with integer arithmetic only (`normal.rs`
//! on the CPU, `normal.wgsl` on wgpu), so both devices give the same bits; float64 (CPU
//! only) evaluates it in float64 with the platform's libm.

pub mod cpu;
pub(crate) mod normal;
#[cfg(feature = "wgpu")]
pub mod wgpu;

use crate::device::Device;
use crate::random::{next_stream, PhiloxStream};
use crate::tensor::shape::checked_numel;
use crate::tensor::{DType, Tensor};
use crate::{bail, Result};

/// The random-fill kernels a backend provides (see `backend`). Each fills a new contiguous
/// tensor from `stream` (already taken from the generator by the caller).
pub trait RandomKernels {
    /// Uniform in [0, 1): float32 from word i (24 bits), float64 from the 64-bit half i
    /// of block i / 2 (53 bits).
    fn rand(&self, shape: &[usize], dtype: DType, stream: PhiloxStream) -> Result<Tensor>;
    /// Standard normal: Box-Muller on block i / 2, cosine for even i, sine for odd.
    fn randn(&self, shape: &[usize], dtype: DType, stream: PhiloxStream) -> Result<Tensor>;
    /// Integers uniform in [low, high) (high > low), by a 64-bit multiply-shift of the
    /// 64-bit half i % 2 of block i / 2.
    fn randint(
        &self,
        low: i64,
        high: i64,
        shape: &[usize],
        dtype: DType,
        stream: PhiloxStream,
    ) -> Result<Tensor>;
    /// Refuses a randint whose values this device cannot hold in `dtype` (called before
    /// the stream is taken). Every value fits on the CPU.
    fn check_randint(&self, _low: i64, _high: i64, _dtype: DType) -> Result<()> {
        Ok(())
    }
}

/// Checks what every device requires before a draw takes its stream, so a refused call
/// leaves the generator where it was.
fn prepare(
    what: &str,
    shape: &[usize],
    dtype: DType,
    device: Device,
    float: bool,
) -> Result<&'static dyn crate::backend::Backend> {
    let b = crate::backend::of(device)?;
    if float && !dtype.is_float() {
        bail!(DType, "{what} needs a floating-point tensor, got {dtype}")
    }
    crate::backend::check_dtype(b, dtype)?;
    checked_numel(shape)?;
    Ok(b)
}

/// Uniform samples in [0, 1) of a float dtype, made on `device`.
pub fn rand(shape: &[usize], dtype: DType, device: Device) -> Result<Tensor> {
    let b = prepare("rand", shape, dtype, device, true)?;
    b.rand(shape, dtype, next_stream())
}

/// Standard normal samples of a float dtype, made on `device`.
pub fn randn(shape: &[usize], dtype: DType, device: Device) -> Result<Tensor> {
    let b = prepare("randn", shape, dtype, device, true)?;
    b.randn(shape, dtype, next_stream())
}

/// Integers uniform in [low, high), made on `device`.
pub fn randint(
    low: i64,
    high: i64,
    shape: &[usize],
    dtype: DType,
    device: Device,
) -> Result<Tensor> {
    if high <= low {
        bail!(
            Value,
            "randint: high ({high}) must be greater than low ({low})"
        )
    }
    let b = prepare("randint", shape, dtype, device, false)?;
    b.check_randint(low, high, dtype)?;
    b.randint(low, high, shape, dtype, next_stream())
}

#[cfg(test)]
mod normal_tests;
#[cfg(all(test, feature = "wgpu"))]
mod tests;
