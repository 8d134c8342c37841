//! Dropout: during training each element is zeroed with probability `p` and the kept
//! ones are scaled by 1 / (1 - p); identity in eval mode or for p = 0.
//!
//! The mask is never stored. One Philox stream is taken from the global generator per
//! call (so `manual_seed` makes it reproducible), and element i's keep bit comes from
//! 16 bits of that stream at a counter computed from i alone (block (i / 64) * 8 + i % 8,
//! see `cpu::bits16`): it is the same for any thread count, and the backward regenerates
//! it from the 16-byte stream key instead of keeping a mask.
//!
//! Resolution: an element is kept when its 16-bit random value r >= round(p * 65536),
//! so the drop probability actually used is p rounded to a multiple of 2^-16
//! (|error| <= 7.6e-6; p < 7.6e-6 drops nothing, p > 1 - 7.6e-6 drops everything but
//! p = 1 exactly zeroes all). The scale is exactly 1 / (1 - p), as PyTorch's.

mod cpu;
#[cfg(test)]
mod tests;
#[cfg(feature = "wgpu")]
mod wgpu;
#[cfg(all(test, feature = "wgpu"))]
mod wgpu_tests;

use crate::autograd::{is_grad_enabled, record, untracked};
use crate::random::{next_stream, PhiloxStream};
use crate::tensor::{Scalar, Tensor};
use crate::{bail, Result};

pub(crate) use cpu::keep_threshold;

/// The dropout kernel a backend provides (see `backend`).
pub trait DropoutKernels {
    /// `x * (keep ? scale : 0)` for a float tensor `x` of any layout, into a new
    /// contiguous tensor of x's shape; element i (row-major) is kept when
    /// `cpu::bits16(stream, i) >= threshold`, on every device.
    fn dropout(&self, x: &Tensor, mask: &Mask) -> Result<Tensor>;
}

/// `torch.nn.functional.dropout` (p = drop probability).
pub fn dropout(x: &Tensor, p: f64, training: bool) -> Result<Tensor> {
    if !(0.0..=1.0).contains(&p) {
        bail!(
            Value,
            "dropout probability has to be between 0 and 1, but got {p}"
        )
    }
    crate::backend::for_tensors("dropout", &[x])?;
    if !x.dtype().is_float() {
        bail!(
            DType,
            "dropout needs a floating-point input (float32 or float64), got {}",
            x.dtype()
        )
    }
    if !training || p == 0.0 {
        return Ok(x.clone());
    }
    let mask = Mask {
        stream: next_stream(),
        threshold: keep_threshold(p),
        scale: if p == 1.0 { 0.0 } else { 1.0 / (1.0 - p) },
    };
    let out = untracked(|| mask.apply(x))?;
    Ok(record(out, "NativeDropoutBackward", &[x], &[], move |g| {
        let dx = if is_grad_enabled() {
            // create_graph: g * mask in tensor ops, so the result is differentiable in g.
            let ones = Tensor::full_on(g.shape(), Scalar::Int(1), g.dtype(), g.device())?;
            let m = untracked(|| mask.apply(&ones))?;
            g.mul(&m)?
        } else {
            // the same mask and scale applied to the gradient
            mask.apply(g)?
        };
        Ok(vec![Some(dx)])
    }))
}

/// Everything needed to regenerate a dropout mask (24 bytes, instead of a copy).
#[derive(Clone, Copy, Debug)]
pub struct Mask {
    pub stream: PhiloxStream,
    pub threshold: u32,
    pub scale: f64,
}

impl Mask {
    /// y = x * scale where kept, 0 * x where dropped (NaN stays NaN, as in PyTorch).
    pub(crate) fn apply(&self, x: &Tensor) -> Result<Tensor> {
        crate::backend::for_tensors("dropout", &[x])?.dropout(x, self)
    }
}

/// Test hook (`_core._dropout_at`): float32 dropout of `x` with the stream (seed, offset),
/// element i using the mask bit of element `first_group * 64 + i`, so a test crosses the
/// Philox counter's 2^32-block carry without 2^38 elements. On the CPU it evaluates the
/// reference definition (`cpu::bits16`) element by element.
#[doc(hidden)]
pub fn dropout_at(x: &Tensor, p: f64, seed: u64, offset: u64, first_group: u64) -> Result<Tensor> {
    if !(0.0..1.0).contains(&p) || x.dtype() != crate::tensor::DType::F32 {
        bail!(Value, "_dropout_at takes a float32 tensor and p in [0, 1)")
    }
    let mask = Mask {
        stream: PhiloxStream { seed, offset },
        threshold: keep_threshold(p),
        scale: 1.0 / (1.0 - p),
    };
    let x = x.detach().contiguous()?;
    match x.device() {
        #[cfg(feature = "wgpu")]
        crate::device::Device::Wgpu => {
            let out = wgpu::apply(x.storage().wgpu()?, x.layout(), &mask, first_group)?;
            let n = out.len();
            let s = crate::tensor::Storage::from_wgpu(out, crate::tensor::DType::F32, n);
            Ok(Tensor::from_storage(s, x.shape()))
        }
        _ => {
            let scale = mask.scale as f32;
            let v: Vec<f32> = x
                .to_vec::<f32>()?
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let e = first_group.wrapping_mul(64).wrapping_add(i as u64);
                    v * if cpu::bits16(&mask.stream, e) >= mask.threshold {
                        scale
                    } else {
                        0.0
                    }
                })
                .collect();
            Tensor::from_vec(v, x.shape())
        }
    }
}
