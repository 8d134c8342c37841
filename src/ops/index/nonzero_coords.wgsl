// The coordinates of the count first entries of the sorted permutation (the non-zero
// elements' linear indices, in increasing order): cols[d * count + s] is dim d of
// element perm[s]. One thread per non-zero element.

struct Params {
    shape: array<vec4<u32>, 2>,
    count: u32,
    ndim: u32,
    _pad0: u32,
    _pad1: u32,
};
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> cols: array<u32>;
@group(0) @binding(2) var<storage, read> perm: array<u32>;

@compute @workgroup_size(256)
fn main(t: Thread) {
    let i = thread_index(t);
    if (i >= p.count) {
        return;
    }
    var rem = perm[i];
    for (var d = i32(p.ndim) - 1; d >= 0; d = d - 1) {
        let s = p.shape[d / 4][d % 4];
        cols[u32(d) * p.count + i] = rem % s;
        rem = rem / s;
    }
}
