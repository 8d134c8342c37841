// How many keys are 0 (the non-zero elements of nonzero's input), read off the sorted
// permutation: the last position whose key is 0 writes its position + 1. out[0] starts
// at 0 (no non-zero element). One thread per position.

struct Params {
    n: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
};
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> perm: array<u32>;
@group(0) @binding(3) var<storage, read> keys: array<i32>;

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
    if (keys[perm[i]] == 0 && (i + 1u == p.n || keys[perm[i + 1u]] != 0)) {
        out[0] = i + 1u;
    }
}
