// out[b, r] = src[base + offs[b] + rest(r)]: the gather of advanced indexing, with
// out contiguous in [B..., rest...] order (r runs over the view dims that no index
// array replaces, walked with the view's strides). Elements are copied as 32-bit
// words, so one kernel serves every dtype. One thread per output element.

@group(0) @binding(0) var<uniform> p: RestParams;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;
@group(0) @binding(3) var<storage, read> offs: array<i32>;

@compute @workgroup_size(256)
fn main(t: Thread) {
    let i = thread_index(t);
    if (i >= p.n) {
        return;
    }
    let b = i / p.r;
    let o = view_offset(i - b * p.r, p.base + offs[b]);
    out[i] = src[u32(o)];
}
