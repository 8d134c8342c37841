//! The wgpu side of the norms (float32). Three kernel shapes serve all four:
//! - rows_fwd / rows_bwd.wgsl: a workgroup per row (LayerNorm, RMSNorm, GroupNorm's
//!   (sample, group)), statistics by the corrected two-pass algorithm;
//! - chan_partial + chan_finish.wgsl: deterministic two-stage sums per channel of an
//!   (outer, chans, inner) view (BatchNorm's statistics, every norm's dw and db);
//! - bn_apply.wgsl: BatchNorm's elementwise forward and dx.
//!
//! Nothing is read back: statistics, running stats and gradients stay on the device.

use bytemuck::{Pod, Zeroable};

use super::batch_norm::Geo as BatchGeo;
use super::{BatchMode, Grads, Kind, NormKernels, Stats};
use crate::backend::Wgpu;
use crate::device::wgpu::dispatch::launch;
use crate::device::wgpu::map::PRELUDE;
use crate::device::wgpu::strided::{to_i32, to_u32};
use crate::device::wgpu::{context, WgpuStorage};
use crate::ops::reduce::wgpu::capped;
use crate::tensor::{DType, Storage, Tensor};
use crate::{bail, Result};

const TREE: &str = include_str!("tree.wgsl");
const ROWS_COMMON: &str = include_str!("rows_common.wgsl");
const WG: usize = 256;

/// Mirrors `Params` in rows_common.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RowParams {
    rows: u32,
    len: u32,
    groups: u32,
    run: u32,
    center: u32,
    has_w: u32,
    has_b: u32,
    eps: f32,
}

/// Mirrors `Params` in chan_partial.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct PartialParams {
    outer: u32,
    chans: u32,
    inner: u32,
    chunk: u32,
    blocks: u32,
    stat_outer: u32,
    stat_div: u32,
    has_g: u32,
    has_mean: u32,
    has_rstd: u32,
    _pad: [u32; 2],
}

/// Mirrors `Params` in chan_finish.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct FinishParams {
    chans: u32,
    blocks: u32,
    mode: u32,
    has_running: u32,
    count: f32,
    eps: f32,
    momentum: f32,
    unbias: f32,
    rm_off: i32,
    rm_stride: i32,
    rv_off: i32,
    rv_stride: i32,
}

/// Mirrors `Params` in bn_apply.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ApplyParams {
    total: u32,
    chans: u32,
    inner: u32,
    mode: u32,
    has_w: u32,
    has_b: u32,
    count: f32,
    _pad: u32,
}

/// The norm kernels take float32 only (float64 cannot live on wgpu; this catches
/// anything else that slipped past the op's checks).
fn f32_only(op: &str, ts: &[Option<&Tensor>]) -> Result<()> {
    for t in ts.iter().flatten() {
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

/// `t` contiguous from element 0 of its storage, as the kernels index it (a
/// contiguous view with an offset is copied on the device).
fn dense(t: &Tensor) -> Result<Tensor> {
    if t.is_contiguous() && t.offset() == 0 {
        return Ok(t.clone());
    }
    crate::ops::copy::to_contiguous(t)
}

fn buf(t: &Tensor) -> Result<&::wgpu::Buffer> {
    Ok(&t.storage().wgpu()?.buffer)
}

fn tensor(s: WgpuStorage, shape: &[usize]) -> Tensor {
    let n = s.len();
    Tensor::from_storage(Storage::from_wgpu(s, DType::F32, n), shape)
}

fn rows_pipeline(which: &str, body: &'static str) -> Result<::wgpu::ComputePipeline> {
    context()?.pipeline(
        &format!("norm_rows_{which}"),
        || format!("{PRELUDE}{TREE}{ROWS_COMMON}{body}"),
        &[],
    )
}

/// Row geometry of a row kind: (rows, len, groups, run, center).
fn row_geo(xc: &Tensor, kind: Kind) -> Result<(usize, usize, usize, usize, bool)> {
    Ok(match kind {
        Kind::Rows { rows, len, center } => (rows, len, 1, 1, center),
        Kind::Group(g) => (xc.shape()[0] * g.g, g.cg * g.s, g.g, g.s.max(1), true),
        Kind::Batch { .. } => bail!(Runtime, "norm_rows: BatchNorm has no row kernel"),
    })
}

impl NormKernels for Wgpu {
    fn norm_rows(
        &self,
        xc: &Tensor,
        kind: Kind,
        w: Option<&Tensor>,
        b: Option<&Tensor>,
        eps: f64,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        f32_only("norm", &[Some(xc), w, b])?;
        let (rows, len, groups, run, center) = row_geo(xc, kind)?;
        let (x, w, b) = (
            dense(xc)?,
            w.map(dense).transpose()?,
            b.map(dense).transpose()?,
        );
        let y = WgpuStorage::uninit(rows * len)?;
        let (mean, rstd) = (WgpuStorage::uninit(rows)?, WgpuStorage::uninit(rows)?);
        let p = RowParams {
            rows: to_u32(rows)?,
            len: to_u32(len)?,
            groups: to_u32(groups)?,
            run: to_u32(run)?,
            center: center as u32,
            has_w: w.is_some() as u32,
            has_b: b.is_some() as u32,
            eps: eps as f32,
        };
        let xb = buf(&x)?;
        // An absent parameter binds x (read-only too); the flags keep it unread.
        let wb = w.as_ref().map_or(Ok(xb), buf)?;
        let bb = b.as_ref().map_or(Ok(xb), buf)?;
        let ctx = context()?;
        let pipeline = rows_pipeline("fwd", include_str!("rows_fwd.wgsl"))?;
        let bufs = [xb, wb, bb, &y.buffer, &mean.buffer, &rstd.buffer];
        launch(
            ctx,
            &pipeline,
            bytemuck::bytes_of(&p),
            &bufs,
            capped(ctx, rows as u64),
        )?;
        Ok((
            tensor(y, xc.shape()),
            tensor(mean, &[rows]),
            tensor(rstd, &[rows]),
        ))
    }

    fn batch_norm(
        &self,
        xc: &Tensor,
        geo: BatchGeo,
        w: Option<&Tensor>,
        b: Option<&Tensor>,
        mode: BatchMode<'_>,
        eps: f64,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let (rm, rv) = (mode.running.map(|r| r.0), mode.running.map(|r| r.1));
        f32_only("batch_norm", &[Some(xc), w, b, rm, rv])?;
        let (x, w, b) = (
            dense(xc)?,
            w.map(dense).transpose()?,
            b.map(dense).transpose()?,
        );
        let c = geo.c;
        let (mean, rstd) = if mode.training {
            batch_stats(&x, geo, mode, eps)?
        } else {
            let Some((rm, rv)) = mode.running else {
                bail!(Value, "batch_norm: eval mode needs the running statistics")
            };
            // Copies: the running buffers change in place later, the saved stats must not.
            let rstd = rv.add(eps)?.sqrt()?.binary_scalar(
                crate::tensor::Scalar::Float(1.0),
                crate::BinaryOp::Div,
                true,
            )?;
            (crate::ops::copy::to_contiguous(rm)?, dense(&rstd)?)
        };
        let y = WgpuStorage::uninit(x.numel())?;
        let xb = buf(&x)?;
        let bufs = [
            xb,
            xb,
            buf(&mean)?,
            buf(&rstd)?,
            w.as_ref().map_or(Ok(xb), buf)?,
            b.as_ref().map_or(Ok(xb), buf)?,
            xb,
            &y.buffer,
        ];
        apply(geo, 0, w.is_some(), b.is_some(), &bufs)?;
        debug_assert_eq!(mean.shape(), [c]);
        Ok((tensor(y, xc.shape()), mean, rstd))
    }

    fn norm_backward(
        &self,
        kind: Kind,
        st: &Stats,
        w: Option<&Tensor>,
        g: &Tensor,
        want_params: bool,
        param: &[usize],
    ) -> Result<Grads> {
        f32_only("norm backward", &[Some(&st.xc), w, Some(g)])?;
        let (x, g) = (dense(&st.xc)?, dense(g)?);
        let (mean, rstd) = (dense(&st.mean)?, dense(&st.rstd)?);
        let w = w.map(dense).transpose()?;
        let dx = WgpuStorage::uninit(x.numel())?;
        let xb = buf(&x)?;
        let wb = w.as_ref().map_or(Ok(xb), buf)?;
        // The per-channel view of dw/db: (outer, chans, inner) and the statistics index.
        let (view, stat) = match kind {
            Kind::Rows { rows, len, center } => {
                let p = RowParams {
                    rows: to_u32(rows)?,
                    len: to_u32(len)?,
                    groups: 1,
                    run: 1,
                    center: center as u32,
                    has_w: w.is_some() as u32,
                    has_b: 0,
                    eps: 0.0,
                };
                row_backward(&p, [xb, wb, buf(&mean)?, buf(&rstd)?, buf(&g)?, &dx.buffer])?;
                ((rows, len, 1), (1, len.max(1)))
            }
            Kind::Group(geo) => {
                let (n, _, _, _, _) = row_geo(&x, kind)?;
                let p = RowParams {
                    rows: to_u32(n)?,
                    len: to_u32(geo.cg * geo.s)?,
                    groups: to_u32(geo.g)?,
                    run: to_u32(geo.s.max(1))?,
                    center: 1,
                    has_w: w.is_some() as u32,
                    has_b: 0,
                    eps: 0.0,
                };
                row_backward(&p, [xb, wb, buf(&mean)?, buf(&rstd)?, buf(&g)?, &dx.buffer])?;
                let n = x.shape()[0];
                ((n, geo.g * geo.cg, geo.s), (geo.g, geo.cg.max(1)))
            }
            Kind::Batch { geo, training } => {
                // dw and db feed dx in training, so they are always computed there.
                // The statistics index of a channel is the channel: (stat_outer, div) = (0, 1).
                let sums = if training || want_params {
                    let view = (geo.n, geo.c, geo.s);
                    Some(chan_sums_stat(&x, &g, &mean, &rstd, view, (0, 1))?)
                } else {
                    None
                };
                let (dwb, dbb) = match &sums {
                    Some((dw, db)) => (&dw.buffer, &db.buffer),
                    None => (xb, xb),
                };
                let mode = if training { 1 } else { 2 };
                let bufs = [
                    xb,
                    buf(&g)?,
                    buf(&mean)?,
                    buf(&rstd)?,
                    wb,
                    dwb,
                    dbb,
                    &dx.buffer,
                ];
                apply(geo, mode, w.is_some(), false, &bufs)?;
                let dx = tensor(dx, x.shape());
                return Ok(match sums.filter(|_| want_params) {
                    Some((dw, db)) => (dx, Some(tensor(dw, param)), Some(tensor(db, param))),
                    None => (dx, None, None),
                });
            }
        };
        let dx = tensor(dx, x.shape());
        if !want_params {
            return Ok((dx, None, None));
        }
        let (dw, db) = chan_sums_stat(&x, &g, &mean, &rstd, view, stat)?;
        Ok((dx, Some(tensor(dw, param)), Some(tensor(db, param))))
    }
}

fn row_backward(p: &RowParams, bufs: [&::wgpu::Buffer; 6]) -> Result<()> {
    let ctx = context()?;
    let pipeline = rows_pipeline("bwd", include_str!("rows_bwd.wgsl"))?;
    let groups = capped(ctx, p.rows as u64);
    launch(ctx, &pipeline, bytemuck::bytes_of(p), &bufs, groups)
}

/// BatchNorm's elementwise pass `mode` (see bn_apply.wgsl) over the 8 bindings.
fn apply(
    geo: BatchGeo,
    mode: u32,
    has_w: bool,
    has_b: bool,
    bufs: &[&::wgpu::Buffer; 8],
) -> Result<()> {
    let total = geo.n * geo.c * geo.s;
    let p = ApplyParams {
        total: to_u32(total)?,
        chans: to_u32(geo.c)?,
        inner: to_u32(geo.s.max(1))?,
        mode,
        has_w: has_w as u32,
        has_b: has_b as u32,
        count: (geo.n * geo.s) as f32,
        _pad: 0,
    };
    let ctx = context()?;
    let pipeline = ctx.pipeline(
        "norm_bn_apply",
        || include_str!("bn_apply.wgsl").to_string(),
        &[],
    )?;
    let groups = capped(ctx, total.div_ceil(WG) as u64);
    launch(ctx, &pipeline, bytemuck::bytes_of(&p), bufs, groups)
}

/// The blocking of chan_partial.wgsl for `m` elements per channel: about 64K threads
/// in all, at least 16 elements each. A function of the shape only (determinism).
fn blocking(m: usize, chans: usize) -> (usize, usize) {
    let want = (65536 / chans.max(1)).max(1);
    let chunk = m.div_ceil(want).max(16);
    (chunk, m.div_ceil(chunk).max(1))
}

/// Stage 1: the partial pairs of `x` (and `g`) over blocks of each channel of the
/// (outer, chans, inner) view, the statistics indexed by `stat` = (stat_outer,
/// stat_div). Returns the partials and the block count.
#[allow(clippy::too_many_arguments)]
fn partials(
    x: &Tensor,
    g: Option<&Tensor>,
    mean: Option<&::wgpu::Buffer>,
    rstd: Option<&::wgpu::Buffer>,
    view: (usize, usize, usize),
    stat: (usize, usize),
) -> Result<(WgpuStorage, usize)> {
    let (outer, chans, inner) = view;
    let (chunk, blocks) = blocking(outer * inner, chans);
    let part = WgpuStorage::uninit(2 * blocks * chans)?;
    let p = PartialParams {
        outer: to_u32(outer)?,
        chans: to_u32(chans)?,
        inner: to_u32(inner.max(1))?,
        chunk: to_u32(chunk)?,
        blocks: to_u32(blocks)?,
        stat_outer: to_u32(stat.0)?,
        stat_div: to_u32(stat.1.max(1))?,
        has_g: g.is_some() as u32,
        has_mean: mean.is_some() as u32,
        has_rstd: rstd.is_some() as u32,
        _pad: [0; 2],
    };
    let xb = buf(x)?;
    let bufs = [
        xb,
        g.map_or(Ok(xb), buf)?,
        mean.unwrap_or(xb),
        rstd.unwrap_or(xb),
        &part.buffer,
    ];
    let ctx = context()?;
    let pipeline = ctx.pipeline(
        "norm_chan_partial",
        || include_str!("chan_partial.wgsl").to_string(),
        &[],
    )?;
    let threads = to_u32(blocks * chans)? as u64;
    launch(
        ctx,
        &pipeline,
        bytemuck::bytes_of(&p),
        &bufs,
        threads.div_ceil(WG as u64),
    )?;
    Ok((part, blocks))
}

/// Stage 2 (chan_finish.wgsl) over `chans` channels.
fn finish(p: &FinishParams, part: &WgpuStorage, outs: [&::wgpu::Buffer; 4]) -> Result<()> {
    let ctx = context()?;
    let pipeline = ctx.pipeline(
        "norm_chan_finish",
        || format!("{PRELUDE}{TREE}{}", include_str!("chan_finish.wgsl")),
        &[],
    )?;
    let bufs = [&part.buffer, outs[0], outs[1], outs[2], outs[3]];
    let groups = capped(ctx, p.chans as u64);
    launch(ctx, &pipeline, bytemuck::bytes_of(p), &bufs, groups)
}

fn finish_params(chans: usize, blocks: usize, mode: u32, count: usize) -> Result<FinishParams> {
    Ok(FinishParams {
        chans: to_u32(chans)?,
        blocks: to_u32(blocks)?,
        mode,
        has_running: 0,
        count: count as f32,
        eps: 0.0,
        momentum: 0.0,
        unbias: 0.0,
        rm_off: 0,
        rm_stride: 0,
        rv_off: 0,
        rv_stride: 0,
    })
}

/// (dw, db) per channel: sums of dy * xhat and dy, xhat from the statistics at `stat`.
fn chan_sums_stat(
    x: &Tensor,
    g: &Tensor,
    mean: &Tensor,
    rstd: &Tensor,
    view: (usize, usize, usize),
    stat: (usize, usize),
) -> Result<(WgpuStorage, WgpuStorage)> {
    let (part, blocks) = partials(x, Some(g), Some(buf(mean)?), Some(buf(rstd)?), view, stat)?;
    let chans = view.1;
    let (dw, db) = (WgpuStorage::uninit(chans)?, WgpuStorage::uninit(chans)?);
    let (d1, d2) = (WgpuStorage::uninit(1)?, WgpuStorage::uninit(1)?);
    let p = finish_params(chans, blocks, 0, view.0 * view.2)?;
    finish(&p, &part, [&dw.buffer, &db.buffer, &d1.buffer, &d2.buffer])?;
    Ok((dw, db))
}

/// BatchNorm's batch statistics (two passes: the mean, then the corrected variance),
/// the running statistics updated in place on the way.
fn batch_stats(
    x: &Tensor,
    geo: BatchGeo,
    mode: BatchMode<'_>,
    eps: f64,
) -> Result<(Tensor, Tensor)> {
    let (c, m) = (geo.c, geo.n * geo.s);
    let view = (geo.n, c, geo.s);
    let (mean, rstd) = (WgpuStorage::uninit(c)?, WgpuStorage::uninit(c)?);
    let (d1, d2, d3) = (
        WgpuStorage::uninit(1)?,
        WgpuStorage::uninit(1)?,
        WgpuStorage::uninit(1)?,
    );
    let (part, blocks) = partials(x, None, None, None, view, (0, 1))?;
    let p = finish_params(c, blocks, 1, m)?;
    finish(
        &p,
        &part,
        [&mean.buffer, &d1.buffer, &d2.buffer, &d3.buffer],
    )?;
    let (part, blocks) = partials(x, None, Some(&mean.buffer), None, view, (0, 1))?;
    let mut p = finish_params(c, blocks, 2, m)?;
    p.eps = eps as f32;
    // An empty batch leaves the running statistics alone, as on the CPU.
    let running = mode.running.filter(|_| m > 0);
    let (rmb, rvb) = match running {
        Some((rm, rv)) => {
            p.has_running = 1;
            p.momentum = mode.momentum as f32;
            p.unbias = (m as f64 / (m as f64 - 1.0)) as f32;
            p.rm_off = to_i32(rm.offset() as isize)?;
            p.rm_stride = to_i32(rm.strides()[0])?;
            p.rv_off = to_i32(rv.offset() as isize)?;
            p.rv_stride = to_i32(rv.strides()[0])?;
            (buf(rm)?, buf(rv)?)
        }
        None => (&d2.buffer, &d3.buffer),
    };
    finish(&p, &part, [&mean.buffer, &rstd.buffer, rmb, rvb])?;
    if let Some((rm, rv)) = running {
        rm.mark_modified();
        rv.mark_modified();
    }
    Ok((tensor(mean, &[c]), tensor(rstd, &[c])))
}
