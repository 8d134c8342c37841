// How many keys are 0 (the non-zero elements of nonzero's input), read off the sorted
// permutation: the last position whose key is 0 writes its position + 1. out[0] starts
// at 0 (no non-zero element). One thread per position.

@group(0) @binding(0) var<uniform> p: CountParams;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> perm: array<u32>;
@group(0) @binding(3) var<storage, read> keys: array<i32>;

@compute @workgroup_size(256)
fn main(t: Thread) {
    let i = thread_index(t);
    if (i >= p.n) {
        return;
    }
    if (keys[perm[i]] == 0 && (i + 1u == p.n || keys[perm[i + 1u]] != 0)) {
        out[0] = i + 1u;
    }
}
