// out[i] = a[view_a(i)] (op) b[view_b(i)] for a contiguous output of p.n elements.
// Both inputs are strided views walked along the (collapsed) output shape; a broadcast
// dim simply has stride 0. The op is a pipeline-overridable constant, so add and mul are
// two specialisations of this one shader with no per-element branch left after compiling.

struct Params {
    shape: array<vec4<u32>, 2>,     // output shape, innermost dim last, unused dims 1
    stride_a: array<vec4<i32>, 2>,  // element strides of a along the output shape
    stride_b: array<vec4<i32>, 2>,
    n: u32,                         // number of output elements
    offset_a: u32,
    offset_b: u32,
    _pad: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// 0 = add, 1 = mul.
override OP: u32 = 0u;
// Rank of the collapsed view. A constant, not a parameter, so the index loop has a fixed
// trip count the driver can unroll: a loop over a runtime rank made the CPU driver
// (lavapipe) about 1.5x slower even when it ran zero times.
override NDIM: i32 = 1;

const WG: u32 = 256u;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    // Workgroups are numbered across a 2-D grid so launches may exceed 65535 in x.
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if (i >= p.n) {
        return;
    }
    // Split i into per-dim indices, innermost first. What is left after the inner dims
    // is the outermost index, so a 1-D view (the usual case after merging) costs no
    // integer division at all, which matters: it is the slowest integer op on GPUs and
    // is not vectorised on CPU drivers.
    var rem = i;
    var ia = i32(p.offset_a);
    var ib = i32(p.offset_b);
    for (var d = NDIM - 1; d > 0; d = d - 1) {
        let s = p.shape[d / 4][d % 4];
        let q = rem / s;
        let idx = i32(rem - q * s);
        rem = q;
        ia = ia + idx * p.stride_a[d / 4][d % 4];
        ib = ib + idx * p.stride_b[d / 4][d % 4];
    }
    ia = ia + i32(rem) * p.stride_a[0].x;
    ib = ib + i32(rem) * p.stride_b[0].x;
    let x = a[u32(ia)];
    let y = b[u32(ib)];
    if (OP == 0u) {
        out[i] = x + y;
    } else {
        out[i] = x * y;
    }
}
