// out[b, r] = src[base + offs[b] + rest(r)]: the gather of advanced indexing, with
// out contiguous in [B..., rest...] order (r runs over the view dims that no index
// array replaces, walked with the view's strides). Elements are copied as 32-bit
// words, so one kernel serves every dtype. One thread per output element.

struct Params {
    rshape: array<vec4<u32>, 2>,
    rstrides: array<vec4<i32>, 2>,
    n: u32,
    r: u32,
    base: i32,
    _pad0: u32,
};
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;
@group(0) @binding(3) var<storage, read> offs: array<i32>;

override RNDIM: i32 = 1;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i >= p.n) {
        return;
    }
    let b = i / p.r;
    var rem = i - b * p.r;
    var o = p.base + offs[b];
    for (var d = RNDIM - 1; d > 0; d = d - 1) {
        let s = p.rshape[d / 4][d % 4];
        let q = rem / s;
        o = o + i32(rem - q * s) * p.rstrides[d / 4][d % 4];
        rem = q;
    }
    o = o + i32(rem) * p.rstrides[0].x;
    out[i] = src[u32(o)];
}
