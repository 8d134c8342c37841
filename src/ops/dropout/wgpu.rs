//! The wgpu side of dropout: one Philox kernel (dropout.wgsl) that regenerates the mask
//! from the stream and applies it, so neither the forward nor the backward stores a mask
//! or uploads anything (the stream travels in the launch's parameter uniform).

use bytemuck::{Pod, Zeroable};

use super::{DropoutKernels, Mask};
use crate::backend::Wgpu;
use crate::device::wgpu::dispatch::launch;
use crate::device::wgpu::strided::{check_view, to_u32};
use crate::device::wgpu::{context, WgpuStorage};
use crate::ops::random::wgpu::PHILOX_CORE_WGSL;
use crate::tensor::layout::Layout;
use crate::tensor::{DType, Storage, Tensor};
use crate::{bail, Result};

const DROPOUT_WGSL: &str = include_str!("dropout.wgsl");
/// Invocations per workgroup (`@workgroup_size` in dropout.wgsl).
const WORKGROUP: u64 = 256;
/// Elements per group of 8 Philox blocks (`cpu::bits16`).
const GROUP: usize = 64;

/// Mirrors `Params` in dropout.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    blocks: u32,
    seed_lo: u32,
    seed_hi: u32,
    offset_lo: u32,
    offset_hi: u32,
    first_lo: u32,
    first_hi: u32,
    threshold: u32,
    scale: f32,
    src_offset: u32,
    _pad: u32,
}

impl DropoutKernels for Wgpu {
    fn dropout(&self, x: &Tensor, mask: &Mask) -> Result<Tensor> {
        if x.dtype() != DType::F32 {
            bail!(
                DType,
                "dropout on wgpu takes float32 tensors, got {}",
                x.dtype()
            )
        }
        // A strided view is made contiguous on the GPU first (the mask is defined on
        // the row-major element order, as on the CPU).
        let xc = x.contiguous()?;
        let out = apply(xc.storage().wgpu()?, xc.layout(), mask, 0)?;
        let n = out.len();
        Ok(Tensor::from_storage(
            Storage::from_wgpu(out, DType::F32, n),
            x.shape(),
        ))
    }
}

/// The dropped-out copy of the contiguous view `l` of `src`, element i using the mask
/// bit of element `first_group * 64 + i` of the stream (0 for a real dropout; the tests
/// start near 2^32 counter blocks to cross the carry).
pub(crate) fn apply(
    src: &WgpuStorage,
    l: &Layout,
    mask: &Mask,
    first_group: u64,
) -> Result<WgpuStorage> {
    check_view(src, l)?;
    let n = l.numel();
    let out = WgpuStorage::uninit(n)?;
    if n == 0 {
        return Ok(out);
    }
    let blocks = n.div_ceil(GROUP) * 8;
    let first = first_group.wrapping_mul(8);
    let s = mask.stream;
    let p = Params {
        n: to_u32(n)?,
        blocks: to_u32(blocks)?,
        seed_lo: s.seed as u32,
        seed_hi: (s.seed >> 32) as u32,
        offset_lo: s.offset as u32,
        offset_hi: (s.offset >> 32) as u32,
        first_lo: first as u32,
        first_hi: (first >> 32) as u32,
        threshold: mask.threshold,
        // The CPU kernel multiplies by T::from_f64(scale): the same f32.
        scale: mask.scale as f32,
        src_offset: to_u32(l.offset)?,
        _pad: 0,
    };
    let ctx = context()?;
    let pipeline = ctx.pipeline(
        "dropout",
        || format!("{PHILOX_CORE_WGSL}\n{DROPOUT_WGSL}"),
        &[],
    )?;
    launch(
        ctx,
        &pipeline,
        bytemuck::bytes_of(&p),
        &[&src.buffer, &out.buffer],
        (blocks as u64).div_ceil(WORKGROUP),
    )?;
    Ok(out)
}
