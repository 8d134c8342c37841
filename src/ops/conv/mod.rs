//! 2-D convolution and max pooling over NCHW tensors: PyTorch's `conv2d`,
//! `conv_transpose2d` and `max_pool2d`.
//!
//! Three kernels make convolution closed under differentiation: the forward
//! `conv2d(x, w)`, its transpose in x, `conv2d_input_grad(gy, w)` (which is also
//! `conv_transpose2d`), and its transpose in w, `conv2d_weight_grad(x, gy)`. Each is
//! bilinear, so the gradients of each are the other two (backward.rs) and higher-order
//! gradients need nothing more. Max pooling saves the position of each window's maximum;
//! its backward adds each gradient at that position, and the backward's own gradient is
//! a gather at the same positions.
//!
//! Argument checks live here, before any device is touched; the kernels get contiguous
//! float tensors and a shape record.

mod backward;
mod cpu;
mod shape;
#[cfg(feature = "wgpu")]
mod wgpu;
#[cfg(all(test, feature = "wgpu"))]
mod wgpu_tests;

pub use shape::{ConvShape, PoolShape, Window};

use crate::tensor::shape::fmt_shape;
use crate::tensor::{DType, Tensor};
use crate::{bail, Result};

/// The convolution and pooling kernels a backend provides (see `backend`). Tensors are
/// contiguous, of one float dtype, on the backend's device.
pub trait ConvKernels {
    /// y (N, O, OH, OW) from x (N, C, H, W) and w (O, C/groups, KH, KW); no bias.
    fn conv2d(&self, x: &Tensor, w: &Tensor, s: &ConvShape) -> Result<Tensor>;
    /// dx (N, C, H, W) from gy (N, O, OH, OW) and w: conv2d transposed in x.
    fn conv2d_input_grad(&self, gy: &Tensor, w: &Tensor, s: &ConvShape) -> Result<Tensor>;
    /// dw (O, C/groups, KH, KW) from x and gy: conv2d transposed in w.
    fn conv2d_weight_grad(&self, x: &Tensor, gy: &Tensor, s: &ConvShape) -> Result<Tensor>;
    /// The maximum of each window of x (N, C, H, W), skipping padding, as values
    /// (N, C, OH, OW) and int64 positions h * W + w within the plane (the first
    /// maximum; a NaN counts as the maximum, as in PyTorch).
    fn max_pool2d(&self, x: &Tensor, s: &PoolShape) -> Result<(Tensor, Tensor)>;
    /// dx (N, C, H, W): each element of gy (N, C, OH, OW) added at its position.
    fn max_pool2d_backward(&self, gy: &Tensor, idx: &Tensor, s: &PoolShape) -> Result<Tensor>;
}

/// Stride, padding and dilation of a 2-D window, as (height, width) pairs.
#[derive(Clone, Copy, Debug)]
pub struct ConvParams {
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
}

fn check_float(what: &str, ts: &[(&str, &Tensor)]) -> Result<DType> {
    let dt = ts[0].1.dtype();
    for (name, t) in ts {
        if !t.dtype().is_float() {
            bail!(
                DType,
                "{what}: {name} must be a float tensor, got {}",
                t.dtype()
            )
        }
        if t.dtype() != dt {
            bail!(
                DType,
                "{what}: {} ({}) and {name} ({}) must have the same dtype",
                ts[0].0,
                dt,
                t.dtype()
            )
        }
    }
    Ok(dt)
}

fn check_positive(what: &str, name: &str, v: (usize, usize)) -> Result<()> {
    if v.0 == 0 || v.1 == 0 {
        bail!(
            Value,
            "{what}: {name} must be positive, got ({}, {})",
            v.0,
            v.1
        )
    }
    Ok(())
}

impl Tensor {
    /// PyTorch's `conv2d` without the bias: x (N, C, H, W), weight (O, C/groups, KH, KW).
    pub fn conv2d(&self, weight: &Tensor, p: ConvParams) -> Result<Tensor> {
        let s = conv_shape("conv2d", self, weight, p)?;
        backward::conv2d(self, weight, s)
    }

    /// PyTorch's `conv_transpose2d` without the bias: x (N, C_in, H, W),
    /// weight (C_in, C_out/groups, KH, KW); the output is (N, C_out, H_out, W_out) with
    /// H_out = (H - 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1.
    pub fn conv_transpose2d(
        &self,
        weight: &Tensor,
        p: ConvParams,
        output_padding: (usize, usize),
    ) -> Result<Tensor> {
        let s = transpose_shape(self, weight, p, output_padding)?;
        backward::conv2d_input_grad(self, weight, s)
    }

    /// PyTorch's `max_pool2d` with `return_indices=True` on x (N, C, H, W).
    pub fn max_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        dilation: (usize, usize),
        ceil_mode: bool,
    ) -> Result<(Tensor, Tensor)> {
        let what = "max_pool2d";
        check_float(what, &[("input", self)])?;
        if self.ndim() != 4 {
            bail!(
                Value,
                "{what}: expected a 4-d input (N, C, H, W), got shape {}",
                fmt_shape(self.shape())
            )
        }
        check_positive(what, "kernel_size", kernel)?;
        check_positive(what, "stride", stride)?;
        check_positive(what, "dilation", dilation)?;
        if 2 * padding.0 > kernel.0 || 2 * padding.1 > kernel.1 {
            bail!(
                Value,
                "{what}: padding {padding:?} must be at most half of kernel_size {kernel:?}"
            )
        }
        let sh = self.shape();
        let win = Window::new(kernel, stride, padding, dilation);
        let (oh, ow) = win.out_size((sh[2], sh[3]), ceil_mode);
        if oh == 0 || ow == 0 {
            bail!(
                Value,
                "{what}: the output would be empty: input {}, kernel_size {kernel:?}, stride {stride:?}, padding {padding:?}, dilation {dilation:?}",
                fmt_shape(sh)
            )
        }
        let s = PoolShape {
            n: sh[0],
            c: sh[1],
            h: sh[2],
            w: sh[3],
            win,
            oh,
            ow,
        };
        backward::max_pool2d(self, s)
    }
}

/// Checks conv2d's operands and computes the output size.
fn conv_shape(what: &str, x: &Tensor, w: &Tensor, p: ConvParams) -> Result<ConvShape> {
    check_float(what, &[("input", x), ("weight", w)])?;
    if x.ndim() != 4 {
        bail!(
            Value,
            "{what}: expected a 4-d input (N, C, H, W), got shape {}",
            fmt_shape(x.shape())
        )
    }
    if w.ndim() != 4 {
        bail!(
            Value,
            "{what}: expected a 4-d weight (O, C/groups, KH, KW), got shape {}",
            fmt_shape(w.shape())
        )
    }
    check_positive(what, "stride", p.stride)?;
    check_positive(what, "dilation", p.dilation)?;
    let (xs, ws) = (x.shape(), w.shape());
    let (xs_s, ws_s) = (fmt_shape(xs), fmt_shape(ws));
    let g = p.groups;
    if g == 0 {
        bail!(Value, "{what}: groups must be positive, got 0")
    }
    if ws[0] % g != 0 {
        bail!(
            Value,
            "{what}: weight {ws_s} has {} output channels, not divisible by groups={g}",
            ws[0]
        )
    }
    if ws[1] * g != xs[1] {
        bail!(
            Value,
            "{what}: input {xs_s} has {} channels, but weight {ws_s} with groups={g} expects {}",
            xs[1],
            ws[1] * g
        )
    }
    check_positive(what, "kernel size (weight's last two dims)", (ws[2], ws[3]))?;
    let win = Window::new((ws[2], ws[3]), p.stride, p.padding, p.dilation);
    let (eh, ew) = win.extent();
    let (ph, pw) = (xs[2] + 2 * p.padding.0, xs[3] + 2 * p.padding.1);
    if eh > ph || ew > pw {
        bail!(
            Value,
            "{what}: the kernel ({eh}, {ew}) (dilated) is larger than the padded input ({ph}, {pw}); input {xs_s}, weight {ws_s}, padding {:?}",
            p.padding
        )
    }
    let (oh, ow) = win.out_size((xs[2], xs[3]), false);
    Ok(ConvShape {
        n: xs[0],
        c: xs[1],
        h: xs[2],
        w: xs[3],
        o: ws[0],
        groups: g,
        win,
        oh,
        ow,
    })
}

/// conv_transpose2d's operands as the conv2d whose input gradient it is.
fn transpose_shape(
    x: &Tensor,
    w: &Tensor,
    p: ConvParams,
    output_padding: (usize, usize),
) -> Result<ConvShape> {
    let what = "conv_transpose2d";
    check_float(what, &[("input", x), ("weight", w)])?;
    if x.ndim() != 4 {
        bail!(
            Value,
            "{what}: expected a 4-d input (N, C_in, H, W), got shape {}",
            fmt_shape(x.shape())
        )
    }
    if w.ndim() != 4 {
        bail!(
            Value,
            "{what}: expected a 4-d weight (C_in, C_out/groups, KH, KW), got shape {}",
            fmt_shape(w.shape())
        )
    }
    check_positive(what, "stride", p.stride)?;
    check_positive(what, "dilation", p.dilation)?;
    let (xs, ws) = (x.shape(), w.shape());
    let (xs_s, ws_s) = (fmt_shape(xs), fmt_shape(ws));
    if xs[2] == 0 || xs[3] == 0 {
        bail!(Value, "{what}: input {xs_s} has an empty spatial size")
    }
    let g = p.groups;
    if g == 0 {
        bail!(Value, "{what}: groups must be positive, got 0")
    }
    if ws[0] != xs[1] {
        bail!(
            Value,
            "{what}: input {xs_s} has {} channels, but weight {ws_s} expects {}",
            xs[1],
            ws[0]
        )
    }
    if ws[0] % g != 0 {
        bail!(
            Value,
            "{what}: weight {ws_s} has {} input channels, not divisible by groups={g}",
            ws[0]
        )
    }
    check_positive(what, "kernel size (weight's last two dims)", (ws[2], ws[3]))?;
    let op = output_padding;
    if op.0 >= p.stride.0.max(p.dilation.0) || op.1 >= p.stride.1.max(p.dilation.1) {
        bail!(
            Value,
            "{what}: output_padding {op:?} must be smaller than stride {:?} or dilation {:?}",
            p.stride,
            p.dilation
        )
    }
    let win = Window::new((ws[2], ws[3]), p.stride, p.padding, p.dilation);
    let (eh, ew) = win.extent();
    let full = |i: usize, s: usize, e: usize, o: usize, pad: usize| -> Option<usize> {
        ((i.max(1) - 1) * s + e + o)
            .checked_sub(2 * pad)
            .filter(|&v| v > 0)
    };
    let (Some(h), Some(wd)) = (
        full(xs[2], p.stride.0, eh, op.0, p.padding.0),
        full(xs[3], p.stride.1, ew, op.1, p.padding.1),
    ) else {
        bail!(
            Value,
            "{what}: the output would be empty: input {xs_s}, weight {ws_s}, stride {:?}, padding {:?}",
            p.stride,
            p.padding
        )
    };
    // The conv2d of an (h, wd) input has x's spatial size, or more when output_padding
    // reaches the stride (allowed below the dilation): the shape names the outputs, and
    // the kernels compute just those.
    Ok(ConvShape {
        n: xs[0],
        c: ws[1] * g,
        h,
        w: wd,
        o: ws[0],
        groups: g,
        win,
        oh: xs[2],
        ow: xs[3],
    })
}
