//! Generated strided elementwise kernels: `out[view_o(i)] = f(in0[view_0(i)], ...)`.
//!
//! Most of the tensor core on the GPU is this one loop with a different `f`: unary and
//! binary math, comparisons, `where`, casts, fills and writes into views. Rather than a
//! WGSL file per op, the kernel is generated from the element types and an expression,
//! compiled once per (expression, types, rank) and cached. Every operand (output
//! included) is a strided view walked along one shape, so transposes, slices, flips and
//! broadcasts (stride 0) are read in place, and a write into a view needs no copy.

use bytemuck::{Pod, Zeroable};

use super::context::context;
use super::dispatch::launch;
use super::storage::WgpuStorage;
use super::strided::{check_view, collapse, pack_shape, pack_strides, to_u32, MAX_DIMS};
use crate::tensor::layout::Layout;
use crate::tensor::DType;
use crate::{bail, Result};

/// Helpers every generated kernel may call.
pub(crate) const PRELUDE: &str = include_str!("prelude.wgsl");
/// The most inputs a map kernel takes.
pub(crate) const MAX_INPUTS: usize = 3;
/// Threads per workgroup.
const WG: u64 = 256;

/// The WGSL element type a dtype is stored as on the GPU.
pub(crate) fn wgsl_type(dtype: DType) -> Result<&'static str> {
    Ok(match dtype {
        DType::F32 => "f32",
        DType::I64 => "i32",
        DType::Bool => "u32",
        other => bail!(
            DType,
            "{other} tensors are not supported on wgpu: it holds float32, int64 and bool"
        ),
    })
}

/// Mirrors `Params` in the generated WGSL (uniform layout: 16-byte aligned arrays).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    shape: [u32; MAX_DIMS],
    /// [0] the output's strides, [1..] each input's, along `shape`.
    strides: [[i32; MAX_DIMS]; MAX_INPUTS + 1],
    offsets: [u32; MAX_INPUTS + 1],
    n: u32,
    /// A 32-bit constant for the expression (`p.value`), e.g. a fill value's bits.
    value: u32,
    _pad: [u32; 2],
}

/// One operand: its buffer, its view (already broadcast to the walked shape) and dtype.
pub(crate) struct View<'a> {
    pub storage: &'a WgpuStorage,
    pub layout: &'a Layout,
    pub dtype: DType,
}

/// A kernel: `expr` computes the output element from `x0`, `x1`, ... (the inputs'
/// elements) and `p.value`; `helpers` is extra WGSL (functions) it calls. `name` must
/// identify expr and helpers uniquely (it keys the pipeline cache).
pub(crate) struct MapKernel<'a> {
    pub name: &'a str,
    pub expr: &'a str,
    pub helpers: &'a str,
    /// Binds the device-side error flag as `fr_flag` (see `checks`), for expressions
    /// that report errors only the GPU can see (an int64 result past int32).
    pub checked: bool,
}

fn source(k: &MapKernel, out: &str, inputs: &[&str]) -> String {
    let mut s = String::with_capacity(4096);
    s.push_str(PRELUDE);
    s.push_str(k.helpers);
    s.push_str(&format!(
        "
struct Params {{
    shape: array<vec4<u32>, 2>,
    strides: array<array<vec4<i32>, 2>, {n}>,
    offsets: vec4<u32>,
    n: u32,
    value: u32,
    _pad0: u32,
    _pad1: u32,
}};
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<{to}>;
",
        n = MAX_INPUTS + 1,
        to = out
    ));
    let mut args = Vec::new();
    let mut params = Vec::new();
    for (j, t) in inputs.iter().enumerate() {
        s.push_str(&format!(
            "@group(0) @binding({}) var<storage, read> in{j}: array<{t}>;\n",
            j + 2
        ));
        params.push(format!("x{j}: {t}"));
        args.push(format!("in{j}[u32(o{})]", j + 1));
    }
    if k.checked {
        s.push_str(&format!(
            "@group(0) @binding({}) var<storage, read_write> fr_flag: array<atomic<u32>>;\n",
            inputs.len() + 2
        ));
    }
    s.push_str(&format!(
        "fn f({}) -> {} {{ return {}; }}\n",
        params.join(", "),
        out,
        k.expr
    ));
    let ops = inputs.len() + 1;
    let offs = ["x", "y", "z", "w"];
    let mut body = String::new();
    for j in 0..ops {
        body.push_str(&format!("    var o{j} = i32(p.offsets.{});\n", offs[j]));
    }
    body.push_str(
        "    var rem = i;\n    for (var d = NDIM - 1; d > 0; d = d - 1) {\n        let s = p.shape[d / 4][d % 4];\n        let q = rem / s;\n        let idx = i32(rem - q * s);\n        rem = q;\n",
    );
    for j in 0..ops {
        body.push_str(&format!(
            "        o{j} = o{j} + idx * p.strides[{j}][d / 4][d % 4];\n"
        ));
    }
    body.push_str("    }\n");
    for j in 0..ops {
        body.push_str(&format!(
            "    o{j} = o{j} + i32(rem) * p.strides[{j}][0].x;\n"
        ));
    }
    s.push_str(&format!(
        "
override NDIM: i32 = 1;
@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {{
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i >= p.n) {{
        return;
    }}
{body}    out[u32(o0)] = f({});
}}
",
        args.join(", ")
    ));
    s
}

/// Runs `k` over `shape`, writing the view `out` from the views `inputs` (each already
/// broadcast to `shape`). `out` must not share a buffer with an input.
pub(crate) fn run(
    k: &MapKernel,
    shape: &[usize],
    out: &View,
    inputs: &[View],
    value: u32,
) -> Result<()> {
    assert!(
        inputs.len() <= MAX_INPUTS,
        "map kernels take at most {MAX_INPUTS} inputs"
    );
    let n = out.layout.numel();
    if n == 0 {
        return Ok(());
    }
    check_view(out.storage, out.layout)?;
    for v in inputs {
        check_view(v.storage, v.layout)?;
    }
    let mut strides: Vec<&[isize]> = vec![&out.layout.strides];
    strides.extend(inputs.iter().map(|v| &v.layout.strides[..]));
    let c = collapse(shape, &strides);
    let mut p = Params {
        shape: pack_shape(&c.shape)?,
        strides: [[0; MAX_DIMS]; MAX_INPUTS + 1],
        offsets: [0; MAX_INPUTS + 1],
        n: to_u32(n)?,
        value,
        _pad: [0; 2],
    };
    p.offsets[0] = to_u32(out.layout.offset)?;
    p.strides[0] = pack_strides(&c.strides[0])?;
    for (j, v) in inputs.iter().enumerate() {
        p.offsets[j + 1] = to_u32(v.layout.offset)?;
        p.strides[j + 1] = pack_strides(&c.strides[j + 1])?;
    }
    let ndim = c.shape.len().max(1);
    let in_types: Vec<DType> = inputs.iter().map(|v| v.dtype).collect();
    let key = format!(
        "map:{}:{}:{:?}:{:?}:{ndim}",
        k.name, k.checked, out.dtype, in_types
    );
    let ctx = context()?;
    let out_t = wgsl_type(out.dtype)?;
    let in_t = in_types
        .iter()
        .map(|d| wgsl_type(*d))
        .collect::<Result<Vec<_>>>()?;
    let pipeline = ctx.pipeline(&key, || source(k, out_t, &in_t), &[("NDIM", ndim as f64)])?;
    let mut bufs = vec![&out.storage.buffer];
    bufs.extend(inputs.iter().map(|v| &v.storage.buffer));
    if k.checked {
        bufs.push(&super::checks::flag()?.buffer);
    }
    let groups = (n as u64).div_ceil(WG);
    launch(ctx, &pipeline, bytemuck::bytes_of(&p), &bufs, groups)?;
    if k.checked {
        super::checks::arm();
    }
    Ok(())
}

/// A fresh contiguous output of `shape` computed by `k` from `inputs`.
pub(crate) fn map_new(
    k: &MapKernel,
    shape: &[usize],
    out_dtype: DType,
    inputs: &[View],
    value: u32,
) -> Result<WgpuStorage> {
    let n = crate::tensor::shape::checked_numel(shape)?;
    let storage = WgpuStorage::uninit(n)?;
    let layout = Layout::contiguous(shape);
    run(
        k,
        shape,
        &View {
            storage: &storage,
            layout: &layout,
            dtype: out_dtype,
        },
        inputs,
        value,
    )?;
    Ok(storage)
}
