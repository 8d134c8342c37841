//! The wgpu side of the fused cross-entropy: one kernel (cross_entropy.wgsl) in three
//! modes, a workgroup per row: the forward (loss, log-sum-exp and the row's weight), the
//! backward (the gradient from the saved log-sum-exp) and the target matrix T of class
//! indices (for the double-backward path). Nothing crosses to the host: class indices
//! are range-checked by the kernel (the device error flag), the 'mean' denominator and
//! the reductions are device tensors, and the backward reads its upstream gradient from
//! the device.

use bytemuck::{Pod, Zeroable};

use super::{CrossEntropyKernels, CrossEntropyOptions, Reduction};
use crate::autograd::{is_grad_enabled, record, untracked};
use crate::backend::Wgpu;
use crate::device::wgpu::dispatch::launch;
use crate::device::wgpu::map::PRELUDE;
use crate::device::wgpu::strided::{check_view, to_u32};
use crate::device::wgpu::{checks, context, WgpuStorage};
use crate::device::Device;
use crate::ops::reduce::wgpu::capped;
use crate::tensor::{DType, Storage, Tensor};
use crate::{bail, Result};

const CE_WGSL: &str = include_str!("cross_entropy.wgsl");

/// Mirrors `Params` in cross_entropy.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    m: u32,
    c: u32,
    ignore_index: i32,
    has_ignore: u32,
    eps: f32,
    weighted: u32,
    scale_per_row: u32,
    x_off: u32,
    t_off: u32,
    w_off: u32,
    s_off: u32,
    _pad: u32,
}

/// `MODE` in cross_entropy.wgsl.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward = 0,
    Backward = 1,
    Targets = 2,
}

/// The operands of one loss, shared by its forward and backward launches.
struct Rows {
    /// (M, C) contiguous logits (the graph's tensor: the double backward uses it).
    x: Tensor,
    /// (M) class indices (int32 words) or (M, C) float32 probabilities, contiguous.
    t: Tensor,
    /// (C) float32 class weights, contiguous.
    w: Option<Tensor>,
    probs: bool,
    eps: f64,
    ignore_index: i64,
    m: usize,
    c: usize,
}

fn f32_tensor(buf: WgpuStorage, shape: &[usize]) -> Tensor {
    let n = buf.len();
    Tensor::from_storage(Storage::from_wgpu(buf, DType::F32, n), shape)
}

impl Rows {
    /// One launch of `mode` writing a new buffer of `out_len` floats. `stats` is (2, M):
    /// written by the forward, read by the others. `scale` (backward) has one element
    /// or one per row.
    fn launch(
        &self,
        mode: Mode,
        stats: &WgpuStorage,
        scale: Option<&Tensor>,
        out_len: usize,
    ) -> Result<WgpuStorage> {
        let out = WgpuStorage::uninit(out_len)?;
        if self.m == 0 || self.c == 0 {
            return Ok(out);
        }
        // The kernel indexes rows as contiguous runs from each operand's offset.
        let operands = [Some(&self.x), Some(&self.t), self.w.as_ref(), scale];
        if operands.iter().flatten().any(|t| !t.is_contiguous()) {
            bail!(
                Runtime,
                "cross_entropy on wgpu: operands must be contiguous"
            )
        }
        let xs = self.x.storage().wgpu()?;
        check_view(xs, self.x.layout())?;
        let ts = self.t.storage().wgpu()?;
        check_view(ts, self.t.layout())?;
        let ws = match &self.w {
            Some(w) => {
                check_view(w.storage().wgpu()?, w.layout())?;
                Some(w.storage().wgpu()?)
            }
            None => None,
        };
        let ss = match scale {
            Some(s) => {
                check_view(s.storage().wgpu()?, s.layout())?;
                Some(s.storage().wgpu()?)
            }
            None => None,
        };
        if stats.len() < 2 * self.m {
            bail!(Runtime, "cross_entropy: the saved statistics are too short")
        }
        // An ignore_index outside int32 equals no target the GPU can hold.
        let (has_ignore, ignore_index) = match i32::try_from(self.ignore_index) {
            Ok(v) => (1, v),
            Err(_) => (0, 0),
        };
        let p = Params {
            m: to_u32(self.m)?,
            c: to_u32(self.c)?,
            ignore_index,
            has_ignore,
            eps: self.eps as f32,
            weighted: self.w.is_some() as u32,
            scale_per_row: scale.is_some_and(|s| s.numel() == self.m && self.m > 1) as u32,
            x_off: to_u32(self.x.layout().offset)?,
            t_off: to_u32(self.t.layout().offset)?,
            w_off: to_u32(self.w.as_ref().map_or(0, |w| w.layout().offset))?,
            s_off: to_u32(scale.map_or(0, |s| s.layout().offset))?,
            _pad: 0,
        };
        let ctx = context()?;
        let pipeline = ctx.pipeline(
            &format!("cross_entropy:{}:{}", mode as u32, self.probs as u32),
            || format!("{PRELUDE}{CE_WGSL}"),
            &[
                ("MODE", mode as u32 as f64),
                ("PROBS", self.probs as u32 as f64),
            ],
        )?;
        // Unused read-only bindings get the logits (bound read-only twice: allowed).
        let flag = checks::flag()?;
        let buffers = [
            &xs.buffer,
            &ts.buffer,
            &ws.unwrap_or(xs).buffer,
            &ss.unwrap_or(xs).buffer,
            &out.buffer,
            &stats.buffer,
            &flag.buffer,
        ];
        launch(
            ctx,
            &pipeline,
            bytemuck::bytes_of(&p),
            &buffers,
            capped(ctx, self.m as u64),
        )?;
        if mode == Mode::Forward && !self.probs {
            checks::arm();
        }
        Ok(out)
    }

    /// T (M, C) of class indices, a constant (see cross_entropy.wgsl).
    fn target_matrix(&self, stats: &WgpuStorage) -> Result<Tensor> {
        let buf = self.launch(Mode::Targets, stats, None, self.m * self.c)?;
        Ok(f32_tensor(buf, &[self.m, self.c]))
    }
}

impl CrossEntropyKernels for Wgpu {
    fn cross_entropy_rows(
        &self,
        x: Tensor,
        t: Tensor,
        probs: bool,
        o: &CrossEntropyOptions,
    ) -> Result<Tensor> {
        if x.dtype() != DType::F32 {
            bail!(
                DType,
                "cross_entropy on wgpu takes float32 logits, got {}",
                x.dtype()
            )
        }
        let w = match &o.weight {
            Some(w) => Some(w.detach().to_dtype(DType::F32)?.contiguous()?),
            None => None,
        };
        let (m, c) = (x.shape()[0], x.shape()[1]);
        let (eps, reduction) = (o.label_smoothing, o.reduction);
        let rows = Rows {
            x: x.clone(),
            t: t.clone(),
            w,
            probs,
            eps,
            ignore_index: o.ignore_index,
            m,
            c,
        };
        let stats_buf = WgpuStorage::uninit(2 * m)?;
        let loss = f32_tensor(rows.launch(Mode::Forward, &stats_buf, None, m)?, &[m]);
        let stats = f32_tensor(stats_buf, &[2, m]);
        // 'mean' divides by the summed row weights (indices) or the row count (probs),
        // a device scalar either way.
        let (out, denom) = untracked(|| -> Result<(Tensor, Option<Tensor>)> {
            let denom = match reduction {
                Reduction::Mean if !probs => Some(stats.select(0, 1)?.sum(None, false)?),
                _ => None,
            };
            let out = match reduction {
                Reduction::None => loss,
                Reduction::Sum => loss.sum(None, false)?,
                Reduction::Mean => match &denom {
                    Some(d) => loss.sum(None, false)?.div(d)?,
                    None => loss.sum(None, false)?.div(m as f64)?,
                },
            };
            Ok((out, denom))
        })?;
        Ok(record(
            out,
            "CrossEntropyBackward",
            &[&x, &t],
            &[&x, &t],
            move |g| {
                let g = if g.device() == Device::Wgpu {
                    g.clone()
                } else {
                    g.to_device(Device::Wgpu)?
                };
                let scale_of = |g: &Tensor| -> Result<Tensor> {
                    match (reduction, &denom) {
                        (Reduction::None, _) => g.reshape(&[-1, 1]),
                        (Reduction::Sum, _) => Ok(g.clone()),
                        (Reduction::Mean, Some(d)) => g.div(d),
                        (Reduction::Mean, None) => g.div(m as f64),
                    }
                };
                let (x, t, w) = (&rows.x, &rows.t, &rows.w);
                let stats_buf = stats.storage().wgpu()?;
                let gx = if is_grad_enabled() {
                    // create_graph: the same math in differentiable tensor ops.
                    let tm = if probs {
                        let tp = t.mul(1.0 - eps)?.add(eps / c as f64)?;
                        match w {
                            Some(w) => tp.mul(w)?,
                            None => tp,
                        }
                    } else {
                        rows.target_matrix(stats_buf)?
                    };
                    let a = tm.sum(Some(&[-1]), true)?;
                    x.softmax(-1)?.mul(&a)?.sub(&tm)?.mul(&scale_of(&g)?)?
                } else {
                    let s = scale_of(&g)?.contiguous()?;
                    let buf = rows.launch(Mode::Backward, stats_buf, Some(&s), m * c)?;
                    f32_tensor(buf, &[m, c])
                };
                // Probability targets are differentiable too: d/dt = -(1-eps) w log p * scale.
                let gt = if probs && t.requires_grad() {
                    let mut lp = x.log_softmax(-1)?.mul(-(1.0 - eps))?;
                    if let Some(w) = w {
                        lp = lp.mul(w)?;
                    }
                    Some(lp.mul(&scale_of(&g)?)?)
                } else {
                    None
                };
                Ok(vec![Some(gx), gt])
            },
        ))
    }
}
