//! The wgpu side of softmax: one fused kernel (softmax.wgsl), a workgroup per row,
//! reading the input view in place along any axis and writing a contiguous output.

use bytemuck::{Pod, Zeroable};

use super::SoftmaxKernels;
use crate::backend::Wgpu;
use crate::device::wgpu::dispatch::launch;
use crate::device::wgpu::map::PRELUDE;
use crate::device::wgpu::strided::{
    check_view, collapse, pack_shape, pack_strides, to_i32, to_u32, MAX_DIMS,
};
use crate::device::wgpu::{context, WgpuStorage};
use crate::tensor::layout::Layout;
use crate::tensor::{DType, Storage, Tensor};
use crate::{bail, Result};

const SOFTMAX_WGSL: &str = include_str!("softmax.wgsl");

/// Mirrors `Params` in softmax.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    kept_shape: [u32; MAX_DIMS],
    in_strides: [i32; MAX_DIMS],
    out_strides: [i32; MAX_DIMS],
    n_rows: u32,
    n: u32,
    in_stride: i32,
    out_stride: i32,
    offset: u32,
    log: u32,
    _pad: [u32; 2],
}

impl SoftmaxKernels for Wgpu {
    fn softmax(&self, x: &Tensor, axis: usize, log: bool) -> Result<Tensor> {
        if x.dtype() != DType::F32 {
            bail!(
                DType,
                "softmax on wgpu takes float32 tensors, got {}",
                x.dtype()
            )
        }
        let shape = x.shape().to_vec();
        let out = softmax(x.storage().wgpu()?, x.layout(), axis, log)?;
        let n = out.len();
        Ok(Tensor::from_storage(
            Storage::from_wgpu(out, DType::F32, n),
            &shape,
        ))
    }
}

/// softmax (log_softmax when `log`) of a strided float32 view along `axis`, into a
/// contiguous buffer of the view's shape.
pub(crate) fn softmax(a: &WgpuStorage, la: &Layout, axis: usize, log: bool) -> Result<WgpuStorage> {
    let ndim = la.shape.len();
    if axis >= ndim {
        bail!(Axis, "softmax axis {axis} is out of range for {ndim} dims")
    }
    check_view(a, la)?;
    let total = la.numel();
    let out = WgpuStorage::uninit(total)?;
    if total == 0 {
        return Ok(out);
    }
    let contiguous = Layout::contiguous(&la.shape);
    let (mut ks, mut it, mut ot) = (vec![], vec![], vec![]);
    for d in (0..ndim).filter(|&d| d != axis) {
        ks.push(la.shape[d]);
        it.push(la.strides[d]);
        ot.push(contiguous.strides[d]);
    }
    let kept = collapse(&ks, &[&it, &ot]);
    let n_rows = total / la.shape[axis];
    let p = Params {
        kept_shape: pack_shape(&kept.shape)?,
        in_strides: pack_strides(&kept.strides[0])?,
        out_strides: pack_strides(&kept.strides[1])?,
        n_rows: to_u32(n_rows)?,
        n: to_u32(la.shape[axis])?,
        in_stride: to_i32(la.strides[axis])?,
        out_stride: to_i32(contiguous.strides[axis])?,
        offset: to_u32(la.offset)?,
        log: log as u32,
        _pad: [0; 2],
    };
    let ctx = context()?;
    let k = kept.shape.len();
    let pipeline = ctx.pipeline(
        &format!("softmax:{k}d"),
        || format!("{PRELUDE}{SOFTMAX_WGSL}"),
        &[("KEPT_NDIM", k as f64)],
    )?;
    launch(
        ctx,
        &pipeline,
        bytemuck::bytes_of(&p),
        &[&a.buffer, &out.buffer],
        crate::ops::reduce::wgpu::capped(ctx, n_rows as u64),
    )?;
    Ok(out)
}
