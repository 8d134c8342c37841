// The driver of every reduction of a strided view over some of its axes. The host splits
// the view's dims into kept dims (one output each) and reduced dims, each group collapsed
// and at most 8 dims long.
//
// What is reduced is generated per op and pass (wgpu.rs) and prepended to this file:
//   Acc                      the accumulator type (a scalar or a struct)
//   ident() -> Acc           the identity of comb
//   comb(a, b) -> Acc        associative and commutative (argmax/argmin order ties by
//                            the positions they carry), so any tree order gives one result
//   fetch(o, r, idx) -> Acc  the r-th reduced element of output o, at word idx of src:
//                            an input element lifted into an Acc (first pass) or a
//                            partial Acc of the pass before
//   emit(i, o, a)            writes output slot i: the finished value (last pass) or
//                            the Acc itself (a partial for the next pass)
//
// MODE 0, one workgroup per (output, chunk): the 256 threads stride through the chunk,
// then a shared-memory tree combines their 256 partials. With chunks > 1 the host adds
// a pass over the per-chunk partials, so a single output over millions of elements
// still spreads over many workgroups.
// MODE 1, one thread per output: for short reductions (a few elements each, or none)
// where a whole workgroup per output would leave most threads idle.

struct Params {
    out_shape: array<vec4<u32>, 2>,    // kept dims, unused dims 1
    out_strides: array<vec4<i32>, 2>,  // src strides of the kept dims
    red_shape: array<vec4<u32>, 2>,    // reduced dims
    red_strides: array<vec4<i32>, 2>,
    n_out: u32,
    n_red: u32,
    offset: u32,      // src offset in elements
    chunks: u32,      // MODE 0: workgroups per output (each writes one partial)
    chunk_len: u32,   // MODE 0: reduced elements per chunk
    scale: f32,       // the divisor of mean and var
    _pad0: u32,
    _pad1: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

override MODE: u32 = 0u;
// Ranks of the kept and reduced groups, constants so the index loops can be unrolled.
override OUT_NDIM: i32 = 1;
override RED_NDIM: i32 = 1;

const WG: u32 = 256u;

var<workgroup> partial: array<Acc, 256>;

// a / s with the CPU's (IEEE) answers for s = 0, which WGSL leaves to the driver.
fn fr_div(a: f32, s: f32) -> f32 {
    if (s == 0.0) {
        if (fr_isnan(a) || a == 0.0) { return fr_nan(); }
        return select(-fr_inf(), fr_inf(), a > 0.0);
    }
    return a / s;
}

// log of a sum of exps (>= 0 or NaN), with log(0) = -inf spelled out.
fn fr_log_sum(a: f32) -> f32 {
    if (fr_isnan(a) || fr_isinf(a)) { return a; }
    if (a == 0.0) { return -fr_inf(); }
    return log(a);
}

// max/min that propagate NaN, as NumPy's reductions do.
fn fr_max_nan(a: f32, b: f32) -> f32 {
    if (fr_isnan(a)) { return a; }
    if (fr_isnan(b)) { return b; }
    return select(a, b, b > a);
}
fn fr_min_nan(a: f32, b: f32) -> f32 {
    if (fr_isnan(a)) { return a; }
    if (fr_isnan(b)) { return b; }
    return select(a, b, b < a);
}

// Src offset of the first element reduced into output o. Inner dims are split off
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

// One (output, chunk) slot; `wg` is the same for the whole workgroup. Only thread 0
// reads partial[0] at the end, and only it writes partial[0] next, so a workgroup
// looping on to its next slot needs no extra barrier.
fn reduce_workgroup(wg: u32, lid: u32) {
    let o = wg / p.chunks;
    let start = (wg % p.chunks) * p.chunk_len;
    let end = min(start + p.chunk_len, p.n_red);
    let base = out_base(o);
    var acc = ident();
    for (var r = start + lid; r < end; r = r + WG) {
        acc = comb(acc, fetch(o, r, u32(base + red_offset(r))));
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            partial[lid] = comb(partial[lid], partial[lid + s]);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        emit(wg, o, partial[0]);   // slot o * chunks + chunk
    }
}

fn reduce_thread(i: u32) {
    if (i >= p.n_out) {
        return;
    }
    let base = out_base(i);
    var acc = ident();
    for (var r = 0u; r < p.n_red; r = r + 1u) {
        acc = comb(acc, fetch(i, r, u32(base + red_offset(r))));
    }
    emit(i, i, acc);
}

// The grid may hold fewer workgroups than there is work (the host caps launches at
// what one grid holds): each workgroup loops on, by the grid's size. The loops' bounds
// are uniform, so the barriers inside stay uniform.
@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let stride = nwg.x * nwg.y;
    if (MODE == 0u) {
        for (var wg = wid.x + wid.y * nwg.x; wg < p.n_out * p.chunks; wg = wg + stride) {
            reduce_workgroup(wg, lid);
        }
    } else {
        for (var g = wid.x + wid.y * nwg.x; g * WG < p.n_out; g = g + stride) {
            reduce_thread(g * WG + lid);
        }
    }
}
