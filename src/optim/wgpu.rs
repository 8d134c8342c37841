//! The wgpu side of the per-tensor optimizer updates (`adam_step`, `sgd_step`): one fused
//! in-place kernel per update rule (sgd.wgsl, adam.wgsl), one dispatch per parameter
//! tensor. The optimizers use the grouped path instead (wgpu_many.rs: one dispatch per
//! group of tensors, the same arithmetic); this one serves single-tensor calls and is the
//! grouped kernels' bitwise reference. The operand checks below are shared by both.

use bytemuck::{Pod, Zeroable};

use super::{AdamConfig, OptimKernels, SgdConfig};
use crate::backend::Wgpu;
use crate::device::wgpu::dispatch::launch;
use crate::device::wgpu::map::PRELUDE;
use crate::device::wgpu::strided::to_u32;
use crate::device::wgpu::{context, WgpuStorage};
use crate::tensor::{DType, Tensor};
use crate::{bail, Result};

const SGD_WGSL: &str = include_str!("sgd.wgsl");
const ADAM_WGSL: &str = include_str!("adam.wgsl");
/// Invocations per workgroup (`@workgroup_size` in the kernels).
pub(super) const WORKGROUP: usize = 256;

/// Mirrors `Params` in sgd.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SgdParams {
    n: u32,
    p_off: u32,
    g_off: u32,
    b_off: u32,
    flags: u32,
    neg_lr: f32,
    wd: f32,
    mom: f32,
    damp1: f32,
    _pad: [u32; 3],
}

/// Mirrors `Params` in adam.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct AdamParams {
    n: u32,
    p_off: u32,
    g_off: u32,
    m_off: u32,
    v_off: u32,
    x_off: u32,
    flags: u32,
    _pad: u32,
    w1: f32,
    one_w1: f32,
    b2: f32,
    one_b2: f32,
    bc2_sqrt: f32,
    eps: f32,
    step_size: f32,
    wd: f32,
    decay: f32,
    _pad1: [u32; 3],
}

/// A float32 wgpu tensor's buffer and element offset, after checking that its `n`
/// elements from the offset lie inside the buffer (the kernels index offset + i, i < n).
pub(super) fn operand(t: &Tensor, n: usize) -> Result<(&WgpuStorage, u32)> {
    if t.dtype() != DType::F32 {
        bail!(
            DType,
            "optimizer updates on wgpu take float32 tensors, got {}",
            t.dtype()
        )
    }
    let s = t.storage().wgpu()?;
    if !t.is_contiguous() || t.offset() + n > s.len() {
        bail!(
            Runtime,
            "optimizer operand does not cover its buffer contiguously"
        )
    }
    Ok((s, to_u32(t.offset())?))
}

/// The update kernels write their operands through separate bindings, which must not
/// alias (WebGPU forbids a buffer bound writable twice in one dispatch).
pub(super) fn check_distinct(ts: &[&Tensor]) -> Result<()> {
    for (i, a) in ts.iter().enumerate() {
        if ts[i + 1..].iter().any(|b| a.shares_storage(b)) {
            bail!(
                Value,
                "optimizer parameter and state tensors must not share memory"
            )
        }
    }
    Ok(())
}

/// The gradient as a buffer the kernel may read while it writes the parameter: a copy
/// on the device when it shares the parameter's storage.
pub(super) fn readable_grad(grad: &Tensor, writes: &[&Tensor]) -> Result<Tensor> {
    if writes.iter().any(|w| w.shares_storage(grad)) {
        grad.deep_copy()
    } else {
        Ok(grad.clone())
    }
}

fn groups(n: usize) -> u64 {
    n.div_ceil(WORKGROUP) as u64
}

impl OptimKernels for Wgpu {
    fn sgd_step(
        &self,
        param: &Tensor,
        grad: &Tensor,
        buf: Option<&Tensor>,
        c: &SgdConfig,
        first_step: bool,
    ) -> Result<()> {
        let n = param.numel();
        let use_mom = c.momentum != 0.0;
        let buf = if use_mom { buf } else { None };
        let writes: Vec<&Tensor> = [param].into_iter().chain(buf).collect();
        check_distinct(&writes)?;
        let grad = readable_grad(grad, &writes)?;
        let (ps, p_off) = operand(param, n)?;
        let (gs, g_off) = operand(&grad, n)?;
        // Without momentum the buffer binding is never read: a one-word placeholder.
        let dummy;
        let (bs, b_off) = match buf {
            Some(b) => operand(b, n)?,
            None => {
                dummy = WgpuStorage::uninit(1)?;
                (&dummy, 0)
            }
        };
        if n == 0 {
            return Ok(());
        }
        let f = |x: f64| x as f32;
        let flags = (c.weight_decay != 0.0) as u32
            | (use_mom as u32) << 1
            | (c.nesterov as u32) << 2
            | (first_step as u32) << 3;
        let u = SgdParams {
            n: to_u32(n)?,
            p_off,
            g_off,
            b_off,
            flags,
            neg_lr: f(-c.lr),
            wd: f(c.weight_decay),
            mom: f(c.momentum),
            damp1: f(1.0 - c.dampening),
            _pad: [0; 3],
        };
        let ctx = context()?;
        let pipeline = ctx.pipeline("optim:sgd", || SGD_WGSL.to_string(), &[])?;
        let bufs = [&ps.buffer, &gs.buffer, &bs.buffer];
        launch(ctx, &pipeline, bytemuck::bytes_of(&u), &bufs, groups(n))
    }

    fn adam_step(
        &self,
        param: &Tensor,
        grad: &Tensor,
        exp_avg: &Tensor,
        exp_avg_sq: &Tensor,
        max_exp_avg_sq: Option<&Tensor>,
        step: u64,
        c: &AdamConfig,
    ) -> Result<()> {
        let n = param.numel();
        let writes: Vec<&Tensor> = [param, exp_avg, exp_avg_sq]
            .into_iter()
            .chain(max_exp_avg_sq)
            .collect();
        check_distinct(&writes)?;
        let grad = readable_grad(grad, &writes)?;
        let (ps, p_off) = operand(param, n)?;
        let (gs, g_off) = operand(&grad, n)?;
        let (ms, m_off) = operand(exp_avg, n)?;
        let (vs, v_off) = operand(exp_avg_sq, n)?;
        let dummy;
        let (xs, x_off) = match max_exp_avg_sq {
            Some(x) => operand(x, n)?,
            None => {
                dummy = WgpuStorage::uninit(1)?;
                (&dummy, 0)
            }
        };
        if n == 0 {
            return Ok(());
        }
        // The scalars exactly as the CPU kernel computes and rounds them (f64 on the
        // host, then float32), so both devices run the same float32 arithmetic.
        let f = |x: f64| x as f32;
        let (b1, b2) = c.betas;
        let bc1 = 1.0 - b1.powi(step as i32);
        let bc2_sqrt = (1.0 - b2.powi(step as i32)).sqrt();
        let w1 = 1.0 - b1;
        let l2 = c.weight_decay != 0.0 && !c.decoupled;
        let decoupled = c.weight_decay != 0.0 && c.decoupled;
        let flags = decoupled as u32
            | (l2 as u32) << 1
            | (max_exp_avg_sq.is_some() as u32) << 2
            | ((w1 >= 0.5) as u32) << 3;
        let u = AdamParams {
            n: to_u32(n)?,
            p_off,
            g_off,
            m_off,
            v_off,
            x_off,
            flags,
            _pad: 0,
            w1: f(w1),
            one_w1: f(1.0 - w1),
            b2: f(b2),
            one_b2: f(1.0 - b2),
            bc2_sqrt: f(bc2_sqrt),
            eps: f(c.eps),
            step_size: f(-(c.lr / bc1)),
            wd: f(c.weight_decay),
            decay: f(1.0 - c.lr * c.weight_decay),
            _pad1: [0; 3],
        };
        let ctx = context()?;
        let pipeline = ctx.pipeline("optim:adam", || format!("{PRELUDE}{ADAM_WGSL}"), &[])?;
        let bufs = [&ps.buffer, &gs.buffer, &ms.buffer, &vs.buffer, &xs.buffer];
        launch(ctx, &pipeline, bytemuck::bytes_of(&u), &bufs, groups(n))
    }
}
