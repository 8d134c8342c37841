// Sum of a strided view over some of its axes. The host splits the view's dims into kept
// dims (one output each) and reduced dims, each group collapsed and at most 8 dims long.
//
// MODE 0, one workgroup per (output, chunk): the 256 threads stride through the chunk,
// then a shared-memory tree adds their 256 partial sums. With chunks > 1 the host adds
// a second pass over the per-chunk partials, so a single output over millions of
// elements still spreads over many workgroups.
// MODE 1, one thread per output: for short reductions (a few elements each) where a
// whole workgroup per output would leave most threads idle.

struct Params {
    out_shape: array<vec4<u32>, 2>,    // kept dims, unused dims 1
    out_strides: array<vec4<i32>, 2>,  // input strides of the kept dims
    red_shape: array<vec4<u32>, 2>,    // reduced dims
    red_strides: array<vec4<i32>, 2>,
    n_out: u32,
    n_red: u32,
    offset: u32,      // input offset in elements
    chunks: u32,      // MODE 0: workgroups per output (each writes one partial)
    chunk_len: u32,   // MODE 0: reduced elements per chunk
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override MODE: u32 = 0u;
// Ranks of the kept and reduced groups, constants so the index loops can be unrolled.
override OUT_NDIM: i32 = 1;
override RED_NDIM: i32 = 1;

const WG: u32 = 256u;

var<workgroup> partial: array<f32, 256>;

// Input offset of the first element reduced into output o. Inner dims are split off
// by division; the remainder is the outermost index, so 1-D groups (the usual case
// after merging) divide not at all.
fn out_base(o: u32) -> i32 {
    var rem = o;
    var off = i32(p.offset);
    for (var d = OUT_NDIM - 1; d > 0; d = d - 1) {
        let s = p.out_shape[d / 4][d % 4];
        let q = rem / s;
        off = off + i32(rem - q * s) * p.out_strides[d / 4][d % 4];
        rem = q;
    }
    return off + i32(rem) * p.out_strides[0].x;
}

// Offset of the r-th reduced element relative to out_base.
fn red_offset(r: u32) -> i32 {
    var rem = r;
    var off = 0;
    for (var d = RED_NDIM - 1; d > 0; d = d - 1) {
        let s = p.red_shape[d / 4][d % 4];
        let q = rem / s;
        off = off + i32(rem - q * s) * p.red_strides[d / 4][d % 4];
        rem = q;
    }
    return off + i32(rem) * p.red_strides[0].x;
}

// `wg` is the same for the whole workgroup, so the early return keeps barriers uniform.
fn reduce_workgroup(wg: u32, lid: u32) {
    if (wg >= p.n_out * p.chunks) {
        return;
    }
    let o = wg / p.chunks;
    let start = (wg % p.chunks) * p.chunk_len;
    let end = min(start + p.chunk_len, p.n_red);
    let base = out_base(o);
    var acc = 0.0;
    for (var r = start + lid; r < end; r = r + WG) {
        acc = acc + src[u32(base + red_offset(r))];
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            partial[lid] = partial[lid] + partial[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        out[wg] = partial[0];   // = out[o * chunks + chunk]
    }
}

fn reduce_thread(i: u32) {
    if (i >= p.n_out) {
        return;
    }
    let base = out_base(i);
    var acc = 0.0;
    for (var r = 0u; r < p.n_red; r = r + 1u) {
        acc = acc + src[u32(base + red_offset(r))];
    }
    out[i] = acc;
}

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let wg = wid.x + wid.y * nwg.x;
    if (MODE == 0u) {
        reduce_workgroup(wg, lid);
    } else {
        reduce_thread(wg * WG + lid);
    }
}
