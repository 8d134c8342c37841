// The minimum and maximum of n int32 words from `offset` (out[0], out[1]), in one
// workgroup: each thread folds a strided share, then a tree in workgroup memory. For
// one_hot's validation, whose index tensors are small; n > 0.

struct Params {
    n: u32,
    offset: u32,
    _pad0: u32,
    _pad1: u32,
};
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
@group(0) @binding(2) var<storage, read> src: array<i32>;

var<workgroup> lo: array<i32, 256>;
var<workgroup> hi: array<i32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    let first = src[p.offset];
    var a = first;
    var b = first;
    for (var i = lid; i < p.n; i = i + 256u) {
        let v = src[p.offset + i];
        a = min(a, v);
        b = max(b, v);
    }
    lo[lid] = a;
    hi[lid] = b;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            lo[lid] = min(lo[lid], lo[lid + s]);
            hi[lid] = max(hi[lid], hi[lid + s]);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        out[0] = lo[0];
        out[1] = hi[0];
    }
}
