//! The wgpu convolution and max pooling (float32).
//!
//! The three convolution kernels are one implicit GEMM with a variant per kernel that
//! reads its operands straight from the tensors: the unfolded input (im2col) is never
//! materialised, so no batch chunking is needed to bound memory, and groups (depthwise
//! too) are just more GEMMs in one launch. The GEMM runs on one of two cores: tiled in
//! shared memory like matmul.wgsl (igemm.wgsl), or, for GEMMs of fewer than 16 rows
//! (depthwise and other thin groups), a thread per 4 rows of a column (direct.wgsl).
//! The existing matmul pipeline was not reused because a grouped convolution needs a
//! weight offset per (sample, group) that one batch stride cannot express, and the
//! im2col buffer it would need costs memory and a pass.
//! - conv2d: per (sample, group), W (og x cg*kh*kw) @ patches (cg*kh*kw x oh*ow).
//! - conv2d_input_grad: per (sample, group), W^T @ gy gathered per input pixel (each
//!   input pixel sums the window cells that cover it: no scatter, no atomics).
//! - conv2d_weight_grad: per (part of the batch, group), gy @ patches^T summed over the
//!   part's samples and pixels, then the parts added in order (sum_parts.wgsl). The
//!   parts depend on the shape only, so repeated runs are bitwise equal.
//!
//! Max pooling runs one thread per output; its backward one thread per input cell,
//! gathering from the windows that contain it. Nothing is read back to the host.

use bytemuck::{Pod, Zeroable};

use super::{ConvKernels, ConvShape, PoolShape, Window};
use crate::backend::Wgpu;
use crate::device::wgpu::dispatch::launch;
use crate::device::wgpu::map::PRELUDE;
use crate::device::wgpu::strided::to_u32;
use crate::device::wgpu::{context, WgpuStorage};
use crate::tensor::{DType, Storage, Tensor};
use crate::{bail, Result};

const COMMON: &str = include_str!("conv_common.wgsl");
const X_PATCH: &str = include_str!("x_patch.wgsl");
/// Output tile side of one igemm workgroup (BM = BN in igemm.wgsl).
const TILE: usize = 64;
/// GEMMs with fewer rows than this run on the direct core: a 64-row tile would compute
/// mostly zeros (a depthwise convolution has one row).
const THIN_ROWS: usize = 16;
/// Threads per workgroup of the elementwise-shaped kernels (pooling, sum_parts).
const WG: usize = 256;
/// The weight gradient splits the batch into parts until about this many workgroups
/// run (enough to fill a large GPU; on lavapipe the extra partial sums cost little).
const TARGET_WORKGROUPS: usize = 256;
/// The most memory the weight gradient's partial sums may take.
const MAX_PARTIAL_BYTES: usize = 64 << 20;

/// Mirrors `Params` in conv_common.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct GemmParams {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    o: u32,
    groups: u32,
    cg: u32,
    og: u32,
    win: [u32; 8],
    oh: u32,
    ow: u32,
    m: u32,
    cols: u32,
    k: u32,
    batch: u32,
    tiles_m: u32,
    tiles_n: u32,
    off1: u32,
    off2: u32,
    spp: u32,
    _pad: [u32; 5],
}

/// Mirrors `Params` in max_pool.wgsl and max_pool_backward.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct PoolParams {
    total: u32,
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    win: [u32; 8],
    off_in: u32,
    off_idx: u32,
    _pad: u32,
}

/// Mirrors `Params` in sum_parts.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SumParams {
    len: u32,
    parts: u32,
    _pad: [u32; 2],
}

/// A window as the kernels' (kh, kw, sh, sw, ph, pw, dh, dw).
fn window_words(w: &Window) -> Result<[u32; 8]> {
    let mut out = [0; 8];
    for (o, v) in out
        .iter_mut()
        .zip([w.kh, w.kw, w.sh, w.sw, w.ph, w.pw, w.dh, w.dw])
    {
        *o = to_u32(v)?;
    }
    Ok(out)
}

/// The kernels take float32 only (float64 cannot live on wgpu).
fn f32_only(op: &str, ts: &[&Tensor]) -> Result<()> {
    for t in ts {
        if t.dtype() != DType::F32 {
            bail!(
                DType,
                "{op} on wgpu takes float32 tensors, got {}",
                t.dtype()
            )
        }
    }
    Ok(())
}

fn storage(t: &Tensor) -> Result<&WgpuStorage> {
    t.storage().wgpu()
}

fn tensor(s: WgpuStorage, dtype: DType, shape: &[usize]) -> Tensor {
    let n = s.len();
    Tensor::from_storage(Storage::from_wgpu(s, dtype, n), shape)
}

/// Which convolution kernel an igemm launch runs.
#[derive(Clone, Copy)]
enum Variant {
    Forward,
    InputGrad,
    WeightGrad,
}

/// How a launch computes its GEMMs: shared-memory tiles (igemm.wgsl), or one thread
/// per 4 rows of a column (direct.wgsl) when there are few rows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Core {
    Tiled,
    Direct,
}

impl Core {
    pub(super) fn for_rows(m: usize) -> Core {
        if m < THIN_ROWS {
            Core::Direct
        } else {
            Core::Tiled
        }
    }

    /// The (tiles_m, tiles_n) parameters of one m x cols GEMM (see conv_common.wgsl).
    fn tiles(self, m: usize, cols: usize) -> (usize, usize) {
        match self {
            Core::Tiled => (m.div_ceil(TILE), cols.div_ceil(TILE)),
            Core::Direct => (m.div_ceil(4), cols),
        }
    }

    /// Workgroups for `batch` GEMMs of m x cols.
    fn workgroups(self, batch: usize, m: usize, cols: usize) -> usize {
        let (tm, tn) = self.tiles(m, cols);
        match self {
            Core::Tiled => batch * tm * tn,
            Core::Direct => (batch * tm * tn).div_ceil(WG),
        }
    }
}

impl Variant {
    fn pipeline(self, core: Core) -> Result<::wgpu::ComputePipeline> {
        let (key, body, reads_x) = match self {
            Variant::Forward => ("conv_forward", include_str!("conv_forward.wgsl"), true),
            Variant::InputGrad => (
                "conv_input_grad",
                include_str!("conv_input_grad.wgsl"),
                false,
            ),
            Variant::WeightGrad => (
                "conv_weight_grad",
                include_str!("conv_weight_grad.wgsl"),
                true,
            ),
        };
        let patch = if reads_x { X_PATCH } else { "" };
        let (key, main) = match core {
            Core::Tiled => (format!("{key}_tiled"), include_str!("igemm.wgsl")),
            Core::Direct => (format!("{key}_direct"), include_str!("direct.wgsl")),
        };
        context()?.pipeline(&key, || format!("{COMMON}{main}{patch}{body}"), &[])
    }
}

/// One igemm launch: `batch` GEMMs of (m x k) @ (k x cols) into `out` (batch, m, cols),
/// reading `in1` and `in2` (contiguous, at their offsets) as the variant says.
#[allow(clippy::too_many_arguments)]
fn igemm(
    v: Variant,
    s: &ConvShape,
    (batch, m, k, cols): (usize, usize, usize, usize),
    spp: usize,
    in1: &Tensor,
    in2: &Tensor,
    out: &WgpuStorage,
) -> Result<()> {
    let core = Core::for_rows(m);
    let (tiles_m, tiles_n) = core.tiles(m, cols);
    let p = GemmParams {
        n: to_u32(s.n)?,
        c: to_u32(s.c)?,
        h: to_u32(s.h)?,
        w: to_u32(s.w)?,
        o: to_u32(s.o)?,
        groups: to_u32(s.groups)?,
        cg: to_u32(s.cg())?,
        og: to_u32(s.og())?,
        win: window_words(&s.win)?,
        oh: to_u32(s.oh)?,
        ow: to_u32(s.ow)?,
        m: to_u32(m)?,
        cols: to_u32(cols)?,
        k: to_u32(k)?,
        batch: to_u32(batch)?,
        tiles_m: to_u32(tiles_m)?,
        tiles_n: to_u32(tiles_n)?,
        off1: to_u32(in1.offset())?,
        off2: to_u32(in2.offset())?,
        spp: to_u32(spp)?,
        _pad: [0; 5],
    };
    // Every index the kernels form stays below the largest tensor's size: check they
    // fit the kernels' u32 arithmetic (the partial sums included).
    for len in [
        in1.offset() + in1.numel(),
        in2.offset() + in2.numel(),
        out.len(),
    ] {
        to_u32(len)?;
    }
    to_u32(batch * tiles_m * tiles_n)?; // the direct core's thread count
    let bufs = [&storage(in1)?.buffer, &storage(in2)?.buffer, &out.buffer];
    let groups = core.workgroups(batch, m, cols) as u64;
    launch(
        context()?,
        &v.pipeline(core)?,
        bytemuck::bytes_of(&p),
        &bufs,
        groups,
    )
}

/// How many parts the weight gradient splits the batch into, and the samples per part:
/// enough workgroups to fill the device, within the memory cap. Depends on the shape
/// only, so the summation order is the same on every run.
pub(super) fn weight_grad_parts(s: &ConvShape) -> (usize, usize) {
    let (m, cols) = (s.og(), s.patch());
    let per_part = Core::for_rows(m).workgroups(s.groups, m, cols);
    let wlen = s.o * s.patch();
    let by_memory = (MAX_PARTIAL_BYTES / (4 * wlen).max(1)).max(1);
    let want = TARGET_WORKGROUPS
        .div_ceil(per_part.max(1))
        .min(by_memory)
        .clamp(1, s.n.max(1));
    let spp = s.n.div_ceil(want).max(1);
    (s.n.div_ceil(spp).max(1), spp)
}

impl ConvKernels for Wgpu {
    fn conv2d(&self, x: &Tensor, w: &Tensor, s: &ConvShape) -> Result<Tensor> {
        f32_only("conv2d", &[x, w])?;
        let (l, k) = (s.oh * s.ow, s.patch());
        let len = s.n * s.o * l;
        if len == 0 || k == 0 {
            return Ok(tensor(WgpuStorage::zeros(len)?, DType::F32, &s.y_shape()));
        }
        let y = WgpuStorage::uninit(len)?;
        let dims = (s.n * s.groups, s.og(), k, l);
        igemm(Variant::Forward, s, dims, 0, x, w, &y)?;
        Ok(tensor(y, DType::F32, &s.y_shape()))
    }

    fn conv2d_input_grad(&self, gy: &Tensor, w: &Tensor, s: &ConvShape) -> Result<Tensor> {
        f32_only("conv_transpose2d", &[gy, w])?;
        let (hw, k) = (s.h * s.w, s.og() * s.win.kh * s.win.kw);
        let len = s.n * s.c * hw;
        if len == 0 || k == 0 || s.oh * s.ow == 0 {
            return Ok(tensor(WgpuStorage::zeros(len)?, DType::F32, &s.x_shape()));
        }
        let dx = WgpuStorage::uninit(len)?;
        let dims = (s.n * s.groups, s.cg(), k, hw);
        igemm(Variant::InputGrad, s, dims, 0, gy, w, &dx)?;
        Ok(tensor(dx, DType::F32, &s.x_shape()))
    }

    fn conv2d_weight_grad(&self, x: &Tensor, gy: &Tensor, s: &ConvShape) -> Result<Tensor> {
        f32_only("conv2d weight gradient", &[x, gy])?;
        let (l, wlen) = (s.oh * s.ow, s.o * s.patch());
        if wlen == 0 || s.n * l == 0 {
            return Ok(tensor(WgpuStorage::zeros(wlen)?, DType::F32, &s.w_shape()));
        }
        let (parts, spp) = weight_grad_parts(s);
        let dims = (parts * s.groups, s.og(), spp * l, s.patch());
        let dw = WgpuStorage::uninit(wlen)?;
        if parts == 1 {
            igemm(Variant::WeightGrad, s, dims, spp, x, gy, &dw)?;
            return Ok(tensor(dw, DType::F32, &s.w_shape()));
        }
        let partial = WgpuStorage::uninit(parts * wlen)?;
        igemm(Variant::WeightGrad, s, dims, spp, x, gy, &partial)?;
        let p = SumParams {
            len: to_u32(wlen)?,
            parts: to_u32(parts)?,
            _pad: [0; 2],
        };
        let ctx = context()?;
        let pipeline = ctx.pipeline(
            "conv_sum_parts",
            || include_str!("sum_parts.wgsl").to_string(),
            &[],
        )?;
        launch(
            ctx,
            &pipeline,
            bytemuck::bytes_of(&p),
            &[&partial.buffer, &dw.buffer],
            wlen.div_ceil(WG) as u64,
        )?;
        Ok(tensor(dw, DType::F32, &s.w_shape()))
    }

    fn max_pool2d(&self, x: &Tensor, s: &PoolShape) -> Result<(Tensor, Tensor)> {
        f32_only("max_pool2d", &[x])?;
        let total = s.n * s.c * s.oh * s.ow;
        let y = WgpuStorage::uninit(total)?;
        let idx = WgpuStorage::uninit(total)?;
        let p = pool_params(s, total, x.offset(), 0)?;
        to_u32(x.offset() + x.numel())?;
        let ctx = context()?;
        let pipeline = ctx.pipeline(
            "max_pool2d",
            || format!("{PRELUDE}{}", include_str!("max_pool.wgsl")),
            &[],
        )?;
        let bufs = [&storage(x)?.buffer, &y.buffer, &idx.buffer];
        launch(
            ctx,
            &pipeline,
            bytemuck::bytes_of(&p),
            &bufs,
            total.div_ceil(WG) as u64,
        )?;
        Ok((
            tensor(y, DType::F32, &s.y_shape()),
            tensor(idx, DType::I64, &s.y_shape()),
        ))
    }

    fn max_pool2d_backward(&self, gy: &Tensor, idx: &Tensor, s: &PoolShape) -> Result<Tensor> {
        f32_only("max_pool2d backward", &[gy])?;
        if idx.dtype() != DType::I64 {
            bail!(
                DType,
                "max_pool2d backward: the saved indices must be int64, got {}",
                idx.dtype()
            )
        }
        if idx.shape() != s.y_shape() || gy.shape() != s.y_shape() {
            bail!(
                Shape,
                "max_pool2d backward: gradient {:?} and indices {:?} must both have the output shape {:?}",
                gy.shape(),
                idx.shape(),
                s.y_shape()
            )
        }
        let idx = idx.contiguous()?;
        let total = s.n * s.c * s.h * s.w;
        let dx = WgpuStorage::uninit(total)?;
        let p = pool_params(s, total, gy.offset(), idx.offset())?;
        to_u32(gy.offset() + gy.numel())?;
        to_u32(idx.offset() + idx.numel())?;
        let ctx = context()?;
        let pipeline = ctx.pipeline(
            "max_pool2d_backward",
            || include_str!("max_pool_backward.wgsl").to_string(),
            &[],
        )?;
        let bufs = [&storage(gy)?.buffer, &storage(&idx)?.buffer, &dx.buffer];
        launch(
            ctx,
            &pipeline,
            bytemuck::bytes_of(&p),
            &bufs,
            total.div_ceil(WG) as u64,
        )?;
        Ok(tensor(dx, DType::F32, &s.x_shape()))
    }
}

fn pool_params(s: &PoolShape, total: usize, off_in: usize, off_idx: usize) -> Result<PoolParams> {
    Ok(PoolParams {
        total: to_u32(total)?,
        h: to_u32(s.h)?,
        w: to_u32(s.w)?,
        oh: to_u32(s.oh)?,
        ow: to_u32(s.ow)?,
        win: window_words(&s.win)?,
        off_in: to_u32(off_in)?,
        off_idx: to_u32(off_idx)?,
        _pad: 0,
    })
}
