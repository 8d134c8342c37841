//! The recorded convolution and pooling ops. Convolution is bilinear in (x, w), so with
//! y = conv(x, w), dx = conv_input_grad(gy, w) and dw = conv_weight_grad(x, gy), and
//! <conv(x, w), gy> = <x, dx> = <w, dw>, the gradient of each of the three ops is made
//! of the other two:
//! - conv(x, w) with upstream g: x gets input_grad(g, w), w gets weight_grad(x, g);
//! - input_grad(gy, w) with upstream g (shaped like x): gy gets conv(g, w), w gets
//!   weight_grad(g, gy);
//! - weight_grad(x, gy) with upstream g (shaped like w): x gets input_grad(gy, g), gy
//!   gets conv(x, g).
//!
//! Backward closures call these recorded ops again, so create_graph differentiates them.

use super::{ConvShape, PoolShape};
use crate::autograd::{record, untracked};
use crate::backend::Backend;
use crate::tensor::Tensor;
use crate::Result;

/// The backend of a kernel's two operands, and the operands made contiguous.
fn operands(what: &str, a: &Tensor, b: &Tensor) -> Result<(&'static dyn Backend, Tensor, Tensor)> {
    let backend = crate::backend::for_tensors(what, &[a, b])?;
    Ok((backend, a.contiguous()?, b.contiguous()?))
}

pub(super) fn conv2d(x: &Tensor, w: &Tensor, s: ConvShape) -> Result<Tensor> {
    let out = untracked(|| {
        let (backend, x, w) = operands("conv2d", x, w)?;
        backend.conv2d(&x, &w, &s)
    })?;
    let (x2, w2) = (x.clone(), w.clone());
    Ok(record(out, "Conv2dBackward", &[x, w], &[x, w], move |g| {
        let gx = if x2.requires_grad() {
            Some(conv2d_input_grad(g, &w2, s)?)
        } else {
            None
        };
        let gw = if w2.requires_grad() {
            Some(conv2d_weight_grad(&x2, g, s)?)
        } else {
            None
        };
        Ok(vec![gx, gw])
    }))
}

pub(super) fn conv2d_input_grad(gy: &Tensor, w: &Tensor, s: ConvShape) -> Result<Tensor> {
    let out = untracked(|| {
        let (backend, gy, w) = operands("conv_transpose2d", gy, w)?;
        backend.conv2d_input_grad(&gy, &w, &s)
    })?;
    let (gy2, w2) = (gy.clone(), w.clone());
    Ok(record(
        out,
        "ConvTranspose2dBackward",
        &[gy, w],
        &[gy, w],
        move |g| {
            let ggy = if gy2.requires_grad() {
                Some(conv2d(g, &w2, s)?)
            } else {
                None
            };
            let gw = if w2.requires_grad() {
                Some(conv2d_weight_grad(g, &gy2, s)?)
            } else {
                None
            };
            Ok(vec![ggy, gw])
        },
    ))
}

pub(super) fn conv2d_weight_grad(x: &Tensor, gy: &Tensor, s: ConvShape) -> Result<Tensor> {
    let out = untracked(|| {
        let (backend, x, gy) = operands("conv2d weight gradient", x, gy)?;
        backend.conv2d_weight_grad(&x, &gy, &s)
    })?;
    let (x2, gy2) = (x.clone(), gy.clone());
    Ok(record(
        out,
        "Conv2dWeightGradBackward",
        &[x, gy],
        &[x, gy],
        move |g| {
            let gx = if x2.requires_grad() {
                Some(conv2d_input_grad(&gy2, g, s)?)
            } else {
                None
            };
            let ggy = if gy2.requires_grad() {
                Some(conv2d(&x2, g, s)?)
            } else {
                None
            };
            Ok(vec![gx, ggy])
        },
    ))
}

pub(super) fn max_pool2d(x: &Tensor, s: PoolShape) -> Result<(Tensor, Tensor)> {
    let (out, idx) = untracked(|| {
        let b = crate::backend::for_tensors("max_pool2d", &[x])?;
        b.max_pool2d(&x.contiguous()?, &s)
    })?;
    let idx2 = idx.clone();
    // The positions are saved: changing them in place is caught before the backward.
    let out = record(out, "MaxPool2dBackward", &[x], &[&idx], move |g| {
        Ok(vec![Some(max_pool2d_backward(g, &idx2, s)?)])
    });
    Ok((out, idx))
}

/// dx from gy and the saved positions; its own gradient gathers at the positions.
fn max_pool2d_backward(gy: &Tensor, idx: &Tensor, s: PoolShape) -> Result<Tensor> {
    let out = untracked(|| {
        let b = crate::backend::for_tensors("max_pool2d backward", &[gy, idx])?;
        b.max_pool2d_backward(&gy.contiguous()?, idx, &s)
    })?;
    let idx2 = idx.clone();
    Ok(record(
        out,
        "MaxPool2dBackwardBackward",
        &[gy],
        &[idx],
        move |g| {
            let planes = (s.n * s.c) as isize;
            let flat = g.reshape(&[planes, (s.h * s.w) as isize])?;
            // A zero column last: the position -1 of a window with no input (all
            // padding) gathers it, as take_along_axis counts -1 from the end.
            let zero = Tensor::zeros_on(&[s.n * s.c, 1], g.dtype(), g.device())?;
            let flat = Tensor::concat(&[flat, zero], Some(1))?;
            let at = idx2.reshape(&[planes, (s.oh * s.ow) as isize])?;
            let gathered = flat.take_along_axis(&at, 1)?;
            Ok(vec![Some(gathered.reshape_usize(&s.y_shape())?)])
        },
    ))
}
