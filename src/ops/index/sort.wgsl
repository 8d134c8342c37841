// One compare-exchange step (j, k) of a bitonic sort of `perm` (npad entries, a power
// of two) by (keys[perm[i]], perm[i]): ties are broken by position, so the order is
// total and the result deterministic, like a stable sort. Entries >= n are padding and
// sort after every real one. The host launches the log2(npad) * (log2(npad) + 1) / 2
// steps in order; one thread per entry.

struct Params {
    j: u32,
    k: u32,
    n: u32,
    npad: u32,
};
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> perm: array<u32>;
@group(0) @binding(2) var<storage, read> keys: array<i32>;

fn less(a: u32, b: u32) -> bool {
    let pa = a >= p.n;
    let pb = b >= p.n;
    if (pa != pb) {
        return pb;
    }
    if (pa) {
        return a < b;
    }
    let ka = keys[a];
    let kb = keys[b];
    if (ka != kb) {
        return ka < kb;
    }
    return a < b;
}

@compute @workgroup_size(256)
fn main(t: Thread) {
    let i = thread_index(t);
    if (i >= p.npad) {
        return;
    }
    let l = i ^ p.j;
    if (l <= i) {
        return;
    }
    let a = perm[i];
    let b = perm[l];
    let ascending = (i & p.k) == 0u;
    if (select(less(a, b), less(b, a), ascending)) {
        perm[i] = b;
        perm[l] = a;
    }
}
