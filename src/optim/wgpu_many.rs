//! The grouped wgpu optimizer updates: one dispatch updates a group of up to G parameter
//! tensors, each with its own storage bindings and its own entry in the uniform (length,
//! element offsets, and Adam's per-tensor step size and bias correction, since every
//! parameter counts its own steps).
//!
//! The kernel is generated per group size from one per-tensor template (adam_many.wgsl,
//! sgd_many.wgsl) whose arithmetic is the per-tensor kernel's, so results are bitwise
//! those of `wgpu.rs`. The grid lays the tensors' elements one after another, each
//! rounded up to whole workgroups, so a workgroup belongs to one tensor and the if-chain
//! that picks the tensor's code branches uniformly.
//!
//! G is bounded by the adapter's storage-buffer limit (4-5 bindings a tensor for Adam,
//! 2-3 for SGD), by the 256-byte uniform slot every launch gets (stream.rs), and by
//! `MAX_GROUP`.

use super::wgpu::{check_distinct, operand, readable_grad, WORKGROUP};
use super::{AdamConfig, SgdConfig};
use crate::device::wgpu::dispatch::launch;
use crate::device::wgpu::map::PRELUDE;
use crate::device::wgpu::strided::to_u32;
use crate::device::wgpu::{context, WgpuContext};
use crate::tensor::Tensor;
use crate::Result;

const ADAM_TEMPLATE: &str = include_str!("adam_many.wgsl");
const SGD_TEMPLATE: &str = include_str!("sgd_many.wgsl");
/// The most tensors one dispatch updates.
const MAX_GROUP: usize = 8;
/// The smallest uniform slot a launch is given (stream.rs: max(alignment, 256) bytes).
const SLOT_BYTES: usize = 256;
/// Uniform layout: a 32-byte header of shared scalars, then one entry per tensor.
const HEAD_BYTES: usize = 32;
const ADAM_ENTRY_BYTES: usize = 32;
const SGD_ENTRY_BYTES: usize = 16;

/// One Adam update the caller has checked (see `foreach.rs`).
pub(super) struct AdamJob<'a> {
    pub param: &'a Tensor,
    pub grad: Tensor,
    pub exp_avg: &'a Tensor,
    pub exp_avg_sq: &'a Tensor,
    pub max_exp_avg_sq: Option<&'a Tensor>,
    pub step: u64,
}

/// One SGD update the caller has checked.
pub(super) struct SgdJob<'a> {
    pub param: &'a Tensor,
    pub grad: Tensor,
    pub buf: Option<&'a Tensor>,
    pub first_step: bool,
}

/// A tensor's operands (parameter first, then gradient, then its state, in binding
/// order), their element offsets, its length and its uniform entry's extra words.
struct Prep {
    ts: Vec<Tensor>,
    offs: Vec<u32>,
    n: usize,
    extra: [u32; 2],
    first: bool,
}

/// The group size for a kernel binding `per_tensor` storage buffers and `entry_bytes`
/// of uniform per tensor.
fn group_size_for(ctx: &WgpuContext, per_tensor: usize, entry_bytes: usize) -> usize {
    let by_bindings = ctx.limits.max_storage_buffers_per_shader_stage as usize / per_tensor;
    let by_uniform = (SLOT_BYTES - HEAD_BYTES) / entry_bytes;
    MAX_GROUP.min(by_bindings).min(by_uniform).max(1)
}

/// How many tensors one grouped dispatch updates: Adam (`state` = amsgrad) or SGD
/// (`state` = momentum). For tests and benchmarks.
pub fn group_size(adam: bool, state: bool) -> Result<usize> {
    let ctx = context()?;
    Ok(if adam {
        group_size_for(ctx, 4 + state as usize, ADAM_ENTRY_BYTES)
    } else {
        group_size_for(ctx, 2 + state as usize, SGD_ENTRY_BYTES)
    })
}

/// The grouped kernel for `k` tensors: the uniform and bindings declared in `head`'s
/// style, the template copied per tensor (lines marked `marker` kept only when `state`),
/// and a `main` that finds the workgroup's tensor. `n_expr` reads tensor `$K`'s length.
fn generate(
    k: usize,
    head: &str,
    template: &str,
    marker: &str,
    state: bool,
    names: &[&str],
    n_expr: &str,
) -> String {
    let mut s = format!("{PRELUDE}\n{}", head.replace("$G", &k.to_string()));
    let body = &template[template.find("fn upd_").expect("template has its function")..];
    let body: String = body
        .lines()
        .filter_map(|l| match l.trim_start().strip_prefix(marker) {
            Some(rest) if state => Some(format!("    {rest}\n")),
            Some(_) => None,
            None => Some(format!("{l}\n")),
        })
        .collect();
    let per = names.len() - usize::from(!state);
    for t in 0..k {
        for (j, name) in names[..per].iter().enumerate() {
            let access = if j == 1 { "read" } else { "read_write" };
            s += &format!(
                "@group(0) @binding({}) var<storage, {access}> {name}_{t}: array<f32>;\n",
                1 + t * per + j
            );
        }
        s += &body.replace("$K", &t.to_string());
    }
    s += "\n@compute @workgroup_size(256, 1, 1)\nfn main(\n    @builtin(workgroup_id) wid: vec3<u32>,\n    @builtin(num_workgroups) nwg: vec3<u32>,\n    @builtin(local_invocation_index) li: u32,\n) {\n    let w = wid.x + wid.y * nwg.x;\n    var base = 0u;\n    var n = 0u;\n    var nw = 0u;\n";
    for t in 0..k {
        // n / 256 rounded up without overflowing n + 255.
        s += &format!(
            "    n = {};\n    nw = n / 256u + select(0u, 1u, n % 256u != 0u);\n    if (w < base + nw) {{\n        upd_{t}((w - base) * 256u + li);\n        return;\n    }}\n    base = base + nw;\n",
            n_expr.replace("$K", &t.to_string())
        );
    }
    s += "}\n";
    s
}

const ADAM_HEAD: &str = "struct Entry { a: vec4<u32>, b: vec4<u32> };
struct Params {
    flags: u32, // bit 0: decoupled decay, bit 1: L2 term, bit 3: lerp's 2nd form
    w1: f32,
    one_w1: f32,
    b2: f32,
    one_b2: f32,
    eps: f32,
    wd: f32,
    decay: f32,
    t: array<Entry, $G>,
};
@group(0) @binding(0) var<uniform> u: Params;
";

const SGD_HEAD: &str = "struct Params {
    flags: u32, // bit 0: weight decay, bit 2: nesterov
    firsts: u32, // bit k: tensor k's first momentum step
    neg_lr: f32,
    wd: f32,
    mom: f32,
    damp1: f32,
    _pad0: u32,
    _pad1: u32,
    t: array<vec4<u32>, $G>,
};
@group(0) @binding(0) var<uniform> u: Params;
";

/// Splits the tensors into consecutive groups of at most `g`, starting a new group
/// where a tensor shares storage with one already in the group (a dispatch must not
/// bind one buffer both writable and again).
fn split(preps: &[Prep], g: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..preps.len() {
        let clash = preps[start..i].iter().any(|q| {
            q.ts.iter()
                .any(|a| preps[i].ts.iter().any(|b| a.shares_storage(b)))
        });
        if i - start == g || clash {
            out.push(start..i);
            start = i;
        }
    }
    if start < preps.len() {
        out.push(start..preps.len());
    }
    out
}

/// Records one grouped launch: `head` words, then per tensor its offsets entry.
fn launch_group(
    ctx: &WgpuContext,
    pipeline: &::wgpu::ComputePipeline,
    head: [u32; 8],
    group: &[Prep],
    entry: impl Fn(&Prep) -> Vec<u32>,
) -> Result<()> {
    let mut words = head.to_vec();
    for p in group {
        words.extend(entry(p));
    }
    let mut bufs = Vec::new();
    for p in group {
        for t in &p.ts {
            bufs.push(&t.storage().wgpu()?.buffer);
        }
    }
    let groups: u64 = group.iter().map(|p| p.n.div_ceil(WORKGROUP) as u64).sum();
    launch(ctx, pipeline, bytemuck::cast_slice(&words), &bufs, groups)
}

/// The operands of one update as the per-tensor path checks them; `None` when the
/// tensor is empty (nothing to launch).
fn prep(writes: &[&Tensor], grad: &Tensor, extra: [u32; 2], first: bool) -> Result<Option<Prep>> {
    check_distinct(writes)?;
    let grad = readable_grad(grad, writes)?;
    let n = writes[0].numel();
    to_u32(n)?;
    let mut ts = vec![writes[0].clone(), grad];
    ts.extend(writes[1..].iter().map(|t| (*t).clone()));
    let offs = ts
        .iter()
        .map(|t| operand(t, n).map(|(_, o)| o))
        .collect::<Result<Vec<u32>>>()?;
    Ok((n > 0).then_some(Prep {
        ts,
        offs,
        n,
        extra,
        first,
    }))
}

pub(super) fn adam_many(jobs: &[AdamJob<'_>], c: &AdamConfig) -> Result<()> {
    let f = |x: f64| x as f32;
    let (b1, b2) = c.betas;
    let mut preps = Vec::new();
    for j in jobs {
        // Per-tensor scalars exactly as wgpu.rs (and the CPU kernel) round them.
        let bc1 = 1.0 - b1.powi(j.step as i32);
        let bc2_sqrt = (1.0 - b2.powi(j.step as i32)).sqrt();
        let extra = [f(-(c.lr / bc1)).to_bits(), f(bc2_sqrt).to_bits()];
        let writes: Vec<&Tensor> = [j.param, j.exp_avg, j.exp_avg_sq]
            .into_iter()
            .chain(j.max_exp_avg_sq)
            .collect();
        preps.extend(prep(&writes, &j.grad, extra, false)?);
    }
    if preps.is_empty() {
        return Ok(());
    }
    let ams = jobs.iter().any(|j| j.max_exp_avg_sq.is_some());
    let w1 = 1.0 - b1;
    let l2 = c.weight_decay != 0.0 && !c.decoupled;
    let decoupled = c.weight_decay != 0.0 && c.decoupled;
    let flags = decoupled as u32 | (l2 as u32) << 1 | ((w1 >= 0.5) as u32) << 3;
    let head = [
        flags,
        f(w1).to_bits(),
        f(1.0 - w1).to_bits(),
        f(b2).to_bits(),
        f(1.0 - b2).to_bits(),
        f(c.eps).to_bits(),
        f(c.weight_decay).to_bits(),
        f(1.0 - c.lr * c.weight_decay).to_bits(),
    ];
    let ctx = context()?;
    for r in split(&preps, group_size(true, ams)?) {
        let k = r.len();
        let pipeline = ctx.pipeline(
            &format!("optim:adam_many:{k}:{ams}"),
            || {
                let names = ["p", "g", "m", "v", "x"];
                generate(
                    k,
                    ADAM_HEAD,
                    ADAM_TEMPLATE,
                    "//AMS",
                    ams,
                    &names,
                    "u.t[$K].a.x",
                )
            },
            &[],
        )?;
        launch_group(ctx, &pipeline, head, &preps[r], |p| {
            let o = |i: usize| p.offs.get(i).copied().unwrap_or(0);
            vec![
                p.n as u32,
                o(0),
                o(1),
                o(2),
                o(3),
                o(4),
                p.extra[0],
                p.extra[1],
            ]
        })?;
    }
    Ok(())
}

pub(super) fn sgd_many(jobs: &[SgdJob<'_>], c: &SgdConfig) -> Result<()> {
    let use_mom = c.momentum != 0.0;
    let mut preps = Vec::new();
    for j in jobs {
        let buf = if use_mom { j.buf } else { None };
        let writes: Vec<&Tensor> = [j.param].into_iter().chain(buf).collect();
        preps.extend(prep(&writes, &j.grad, [0; 2], j.first_step)?);
    }
    if preps.is_empty() {
        return Ok(());
    }
    let f = |x: f64| x as f32;
    let flags = (c.weight_decay != 0.0) as u32 | (c.nesterov as u32) << 2;
    let ctx = context()?;
    for r in split(&preps, group_size(false, use_mom)?) {
        let k = r.len();
        let firsts = preps[r.clone()]
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, p)| acc | (p.first as u32) << i);
        let head = [
            flags,
            firsts,
            f(-c.lr).to_bits(),
            f(c.weight_decay).to_bits(),
            f(c.momentum).to_bits(),
            f(1.0 - c.dampening).to_bits(),
            0,
            0,
        ];
        let pipeline = ctx.pipeline(
            &format!("optim:sgd_many:{k}:{use_mom}"),
            || {
                let names = ["p", "g", "buf"];
                generate(
                    k,
                    SGD_HEAD,
                    SGD_TEMPLATE,
                    "//MOM",
                    use_mom,
                    &names,
                    "u.t[$K].x",
                )
            },
            &[],
        )?;
        launch_group(ctx, &pipeline, head, &preps[r], |p| {
            let o = |i: usize| p.offs.get(i).copied().unwrap_or(0);
            vec![p.n as u32, o(0), o(1), o(2)]
        })?;
    }
    Ok(())
}
