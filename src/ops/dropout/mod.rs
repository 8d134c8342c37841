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

use crate::autograd::{is_grad_enabled, record, untracked};
use crate::ops::copy::uninit_cpu;
use crate::ops::util::{check_input, slice, slice_mut};
use crate::random::{next_stream, PhiloxStream};
use crate::tensor::{Element, Tensor};
use crate::{bail, dispatch_float, Result};

pub(crate) use cpu::keep_threshold;

/// `torch.nn.functional.dropout` (p = drop probability).
pub fn dropout(x: &Tensor, p: f64, training: bool) -> Result<Tensor> {
    if !(0.0..=1.0).contains(&p) {
        bail!(
            Value,
            "dropout probability has to be between 0 and 1, but got {p}"
        )
    }
    check_input("dropout", x)?;
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
            let m = untracked(|| mask.apply(&Tensor::ones(g.shape(), g.dtype())?))?;
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
pub(crate) struct Mask {
    pub stream: PhiloxStream,
    pub threshold: u32,
    pub scale: f64,
}

impl Mask {
    /// y = x * scale where kept, 0 * x where dropped (NaN stays NaN, as in PyTorch).
    pub(crate) fn apply(&self, x: &Tensor) -> Result<Tensor> {
        crate::backend::cpu_kernel_only("dropout", &[x])?;
        let xc = x.contiguous()?;
        let out = uninit_cpu(xc.dtype(), xc.shape())?;
        dispatch_float!(xc.dtype(), "dropout", T => cpu::apply::<T>(
            slice(&xc), slice_mut(&out), self.stream, self.threshold, T::from_f64(self.scale),
        ));
        Ok(out)
    }
}
