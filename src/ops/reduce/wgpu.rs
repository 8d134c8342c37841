//! The wgpu side of reductions: a parallel tree reduction, in as many passes as it
//! takes (see reduce.wgsl).

use bytemuck::{Pod, Zeroable};

use crate::device::wgpu::dispatch::launch;
use crate::device::wgpu::strided::{
    check_view, collapse, pack_shape, pack_strides, to_u32, Collapsed, MAX_DIMS,
};
use crate::device::wgpu::{context, WgpuContext, WgpuStorage};
use crate::tensor::layout::Layout;
use crate::tensor::shape::numel;
use crate::{bail, Result};

const REDUCE_WGSL: &str = include_str!("reduce.wgsl");
/// Threads per workgroup in reduce.wgsl.
const WG: u64 = 256;
/// Reductions this short run one thread per output (a workgroup each would idle).
const THREAD_MAX_RED: usize = 32;
/// Enough workgroups in flight to fill a large GPU; splitting further only adds passes.
const TARGET_GROUPS: usize = 1024;
/// The fewest elements worth a workgroup of their own (8 per thread).
const MIN_CHUNK: usize = 2048;

/// Mirrors `Params` in reduce.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    out_shape: [u32; MAX_DIMS],
    out_strides: [i32; MAX_DIMS],
    red_shape: [u32; MAX_DIMS],
    red_strides: [i32; MAX_DIMS],
    n_out: u32,
    n_red: u32,
    offset: u32,
    chunks: u32,
    chunk_len: u32,
    _pad: [u32; 3],
}

/// One pass: reduce `red` (per output of `kept`) from a buffer, writing `chunks` partial
/// sums per output.
struct Pass {
    kept: Collapsed,
    red: Collapsed,
    offset: usize,
    n_out: usize,
    n_red: usize,
}

impl Pass {
    fn params(&self, chunks: usize, chunk_len: usize) -> Result<Params> {
        Ok(Params {
            out_shape: pack_shape(&self.kept.shape)?,
            out_strides: pack_strides(&self.kept.strides[0])?,
            red_shape: pack_shape(&self.red.shape)?,
            red_strides: pack_strides(&self.red.strides[0])?,
            n_out: to_u32(self.n_out)?,
            n_red: to_u32(self.n_red)?,
            offset: to_u32(self.offset)?,
            chunks: to_u32(chunks)?,
            chunk_len: to_u32(chunk_len)?,
            _pad: [0; 3],
        })
    }

    /// The pipeline for `mode` (0 = workgroup per output, 1 = thread per output),
    /// specialised to this pass's ranks.
    fn pipeline(&self, ctx: &WgpuContext, mode: u32) -> Result<::wgpu::ComputePipeline> {
        let (o, r) = (self.kept.shape.len(), self.red.shape.len());
        let name = if mode == 0 { "workgroup" } else { "thread" };
        let key = format!("sum_{name}_{o}d_{r}d");
        let constants = [
            ("MODE", mode as f64),
            ("OUT_NDIM", o as f64),
            ("RED_NDIM", r as f64),
        ];
        ctx.pipeline(&key, || REDUCE_WGSL.to_string(), &constants)
    }

    /// Chunks per output and elements per chunk: only split when there are too few
    /// outputs to fill the GPU, and never into chunks below MIN_CHUNK elements.
    fn chunking(&self) -> (usize, usize) {
        let chunks = if self.n_out >= TARGET_GROUPS {
            1
        } else {
            self.n_red
                .div_ceil(MIN_CHUNK)
                .min(TARGET_GROUPS.div_ceil(self.n_out))
                .max(1)
        };
        let chunk_len = self.n_red.div_ceil(chunks);
        (self.n_red.div_ceil(chunk_len), chunk_len)
    }
}

/// Sum over `axes` (sorted, unique, in range) of a strided view; the output is
/// contiguous with the reduced axes removed. Empty `axes` is a copy; an empty
/// reduction gives zeros.
pub(crate) fn sum(a: &WgpuStorage, la: &Layout, axes: &[usize]) -> Result<WgpuStorage> {
    let ndim = la.shape.len();
    if axes.windows(2).any(|w| w[0] >= w[1]) || axes.iter().any(|&ax| ax >= ndim) {
        bail!(
            Axis,
            "sum axes {axes:?} must be sorted, unique and below {ndim}"
        )
    }
    if axes.is_empty() {
        bail!(
            Runtime,
            "sum over no axes reached the wgpu kernel (the caller copies)"
        )
    }
    check_view(a, la)?;
    let ctx = context()?;
    let (mut ks, mut kt, mut rs, mut rt) = (vec![], vec![], vec![], vec![]);
    for d in 0..ndim {
        if axes.contains(&d) {
            rs.push(la.shape[d]);
            rt.push(la.strides[d]);
        } else {
            ks.push(la.shape[d]);
            kt.push(la.strides[d]);
        }
    }
    let (n_out, n_red) = (numel(&ks), numel(&rs));
    if n_out == 0 || n_red == 0 {
        return WgpuStorage::zeros(n_out);
    }
    let first = Pass {
        kept: collapse(&ks, &[&kt]),
        red: collapse(&rs, &[&rt]),
        offset: la.offset,
        n_out,
        n_red,
    };
    record(ctx, &a.buffer, first)
}

/// Records passes until one writes a single value per output; each later pass reduces
/// the contiguous (n_out, chunks) partials of the one before.
fn record(ctx: &WgpuContext, input: &::wgpu::Buffer, mut pass: Pass) -> Result<WgpuStorage> {
    // The partials of the previous pass stay owned here while the next pass reads them,
    // so the caching allocator cannot hand their buffer to that pass's output.
    let mut prev: Option<WgpuStorage> = None;
    loop {
        let src = prev.as_ref().map_or(input, |p| &p.buffer);
        if pass.n_red <= THREAD_MAX_RED {
            let out = WgpuStorage::uninit(pass.n_out)?;
            let p = pass.params(1, pass.n_red)?;
            let pipeline = pass.pipeline(ctx, 1)?;
            let groups = (pass.n_out as u64).div_ceil(WG);
            launch(
                ctx,
                &pipeline,
                bytemuck::bytes_of(&p),
                &[src, &out.buffer],
                groups,
            )?;
            return Ok(out);
        }
        let (chunks, chunk_len) = pass.chunking();
        let out = WgpuStorage::uninit(pass.n_out * chunks)?;
        let p = pass.params(chunks, chunk_len)?;
        let pipeline = pass.pipeline(ctx, 0)?;
        let groups = (pass.n_out * chunks) as u64;
        launch(
            ctx,
            &pipeline,
            bytemuck::bytes_of(&p),
            &[src, &out.buffer],
            groups,
        )?;
        if chunks == 1 {
            return Ok(out);
        }
        let n_out = pass.n_out;
        pass = Pass {
            kept: collapse(&[n_out], &[&[chunks as isize][..]]),
            red: collapse(&[chunks], &[&[1isize][..]]),
            offset: 0,
            n_out,
            n_red: chunks,
        };
        prev = Some(out);
    }
}
