// out[i] = f(a[view_a(i)]) for a contiguous output of p.n elements: a strided gather with
// an optional element function. OP is a pipeline-overridable constant: 0 = copy (used by
// .contiguous() for views that are not one run of memory), 1 = relu.

struct Params {
    shape: array<vec4<u32>, 2>,     // output shape, innermost dim last, unused dims 1
    stride_a: array<vec4<i32>, 2>,  // element strides of a along the output shape
    stride_b: array<vec4<i32>, 2>,  // unused (the block is shared with binary.wgsl)
    n: u32,
    offset_a: u32,
    offset_b: u32,
    _pad: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// 0 = copy, 1 = relu.
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
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if (i >= p.n) {
        return;
    }
    // Innermost dims first; the remainder is the outermost index (see binary.wgsl).
    var rem = i;
    var ia = i32(p.offset_a);
    for (var d = NDIM - 1; d > 0; d = d - 1) {
        let s = p.shape[d / 4][d % 4];
        let q = rem / s;
        ia = ia + i32(rem - q * s) * p.stride_a[d / 4][d % 4];
        rem = q;
    }
    ia = ia + i32(rem) * p.stride_a[0].x;
    let x = a[u32(ia)];
    if (OP == 1u) {
        // max() would turn NaN into 0; relu should keep NaN, as NumPy and PyTorch do.
        out[i] = select(x, 0.0, x < 0.0);
    } else {
        out[i] = x;
    }
}
