//! Elementwise kernels over strided views: broadcasting add/mul, relu and the strided copy
//! behind `.contiguous()`. All write a new contiguous buffer, one thread per element.

use bytemuck::{Pod, Zeroable};

use super::context::context;
use super::dispatch::dispatch;
use super::storage::WgpuStorage;
use super::strided::{check_view, collapse, pack_shape, pack_strides, to_u32, MAX_DIMS};
use crate::tensor::layout::Layout;
use crate::tensor::shape::numel;
use crate::Result;

const BINARY_WGSL: &str = include_str!("binary.wgsl");
const UNARY_WGSL: &str = include_str!("unary.wgsl");
/// Threads per workgroup in binary.wgsl and unary.wgsl.
const WG: u64 = 256;

/// The elementwise operations with two inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Mul,
}

/// Mirrors `Params` in binary.wgsl / unary.wgsl (std140-compatible: 16-byte arrays first).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    shape: [u32; MAX_DIMS],
    stride_a: [i32; MAX_DIMS],
    stride_b: [i32; MAX_DIMS],
    n: u32,
    offset_a: u32,
    offset_b: u32,
    _pad: u32,
}

/// Parameters for walking `shape` (the output shape) with one or two input views whose
/// strides are already expressed along that shape, and the collapsed rank (the shader's
/// NDIM constant).
fn params(shape: &[usize], la: &Layout, lb: Option<&Layout>) -> Result<(Params, usize)> {
    let c = match lb {
        Some(lb) => collapse(shape, &[&la.strides, &lb.strides]),
        None => collapse(shape, &[&la.strides]),
    };
    let p = Params {
        shape: pack_shape(&c.shape)?,
        stride_a: pack_strides(&c.strides[0])?,
        stride_b: pack_strides(c.strides.get(1).map_or(&[][..], |s| &s[..]))?,
        n: to_u32(numel(shape))?,
        offset_a: to_u32(la.offset)?,
        offset_b: to_u32(lb.map_or(0, |l| l.offset))?,
        _pad: 0,
    };
    Ok((p, c.shape.len()))
}

/// `out = a (op) b` with NumPy broadcasting onto `out_shape`; output contiguous.
pub fn binary(
    op: BinaryOp,
    a: &WgpuStorage,
    la: &Layout,
    b: &WgpuStorage,
    lb: &Layout,
    out_shape: &[usize],
) -> Result<WgpuStorage> {
    let ctx = context()?;
    // Broadcasting is just stride 0 on the stretched dims.
    let la = la.broadcast_to(out_shape)?;
    let lb = lb.broadcast_to(out_shape)?;
    check_view(a, &la)?;
    check_view(b, &lb)?;
    let n = numel(out_shape);
    let out = WgpuStorage::zeros(n)?;
    if n == 0 {
        return Ok(out);
    }
    let (p, ndim) = params(out_shape, &la, Some(&lb))?;
    let (name, code) = match op {
        BinaryOp::Add => ("add", 0.0),
        BinaryOp::Mul => ("mul", 1.0),
    };
    let key = format!("binary_{name}_{ndim}d");
    let pipeline = ctx.pipeline(&key, BINARY_WGSL, &[("OP", code), ("NDIM", ndim as f64)])?;
    ctx.submit(&key, |enc| {
        let bufs = [&a.buffer, &b.buffer, &out.buffer];
        dispatch(
            ctx,
            enc,
            &pipeline,
            bytemuck::bytes_of(&p),
            &bufs,
            (n as u64).div_ceil(WG),
        )
    })?;
    Ok(out)
}

/// A unary kernel of unary.wgsl (`code` selects copy or relu) over a strided view.
fn unary(name: &str, code: f64, a: &WgpuStorage, la: &Layout) -> Result<WgpuStorage> {
    let ctx = context()?;
    check_view(a, la)?;
    let n = la.numel();
    let out = WgpuStorage::zeros(n)?;
    if n == 0 {
        return Ok(out);
    }
    let (p, ndim) = params(&la.shape, la, None)?;
    let key = format!("{name}_{ndim}d");
    let pipeline = ctx.pipeline(&key, UNARY_WGSL, &[("OP", code), ("NDIM", ndim as f64)])?;
    ctx.submit(&key, |enc| {
        let bufs = [&a.buffer, &out.buffer];
        dispatch(
            ctx,
            enc,
            &pipeline,
            bytemuck::bytes_of(&p),
            &bufs,
            (n as u64).div_ceil(WG),
        )
    })?;
    Ok(out)
}

/// relu of a strided view; output contiguous with shape `la.shape`. NaN stays NaN.
pub fn relu(a: &WgpuStorage, la: &Layout) -> Result<WgpuStorage> {
    unary("relu", 1.0, a, la)
}

/// Copy of a strided view into a new contiguous buffer. A view that is already one run
/// of memory is a plain buffer-to-buffer copy; anything else goes through the gather kernel.
pub fn contiguous(a: &WgpuStorage, la: &Layout) -> Result<WgpuStorage> {
    let n = la.numel();
    if n == 0 || !la.is_contiguous() {
        return unary("copy", 0.0, a, la);
    }
    check_view(a, la)?;
    let ctx = context()?;
    let out = WgpuStorage::zeros(n)?;
    ctx.submit("copy", |enc| {
        enc.copy_buffer_to_buffer(
            &a.buffer,
            la.offset as u64 * 4,
            &out.buffer,
            0,
            n as u64 * 4,
        );
        Ok(())
    })?;
    Ok(out)
}
