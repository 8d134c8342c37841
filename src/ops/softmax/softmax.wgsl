// softmax / log_softmax of a strided view along one axis: one workgroup per row (a row
// is the axis at one index of the other dims). Three sweeps over the row, each strided
// over the 256 threads and closed by a shared-memory tree: the max (NaN skipped), the
// sum of exp(x - max), then the outputs. The row is read from the input each time
// rather than staged in workgroup memory, so rows of any length work.

struct Params {
    kept_shape: array<vec4<u32>, 2>,    // the other dims, collapsed; unused dims 1
    in_strides: array<vec4<i32>, 2>,    // input strides of the kept dims
    out_strides: array<vec4<i32>, 2>,   // output (contiguous) strides of the kept dims
    n_rows: u32,
    n: u32,              // row length
    in_stride: i32,      // input stride along the axis
    out_stride: i32,     // output stride along the axis
    offset: u32,         // input offset in elements
    log: u32,            // 1: log_softmax
    _pad0: u32,
    _pad1: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override KEPT_NDIM: i32 = 1;
const WG: u32 = 256u;

var<workgroup> shared_v: array<f32, 256>;

// exp that keeps NaN, which a driver's exp need not.
fn exp_nan(d: f32) -> f32 {
    if (fr_isnan(d)) { return d; }
    return exp(d);
}

fn softmax_row(row: u32, lid: u32) {
    var rem = row;
    var ib = i32(p.offset);
    var ob = 0;
    for (var d = KEPT_NDIM - 1; d > 0; d = d - 1) {
        let s = p.kept_shape[d / 4][d % 4];
        let q = rem / s;
        let idx = i32(rem - q * s);
        ib = ib + idx * p.in_strides[d / 4][d % 4];
        ob = ob + idx * p.out_strides[d / 4][d % 4];
        rem = q;
    }
    ib = ib + i32(rem) * p.in_strides[0].x;
    ob = ob + i32(rem) * p.out_strides[0].x;

    // The max, NaN skipped as on the CPU (an all-NaN row keeps -inf).
    var m = -fr_inf();
    for (var j = lid; j < p.n; j = j + WG) {
        let v = src[u32(ib + i32(j) * p.in_stride)];
        if (v > m) { m = v; }
    }
    shared_v[lid] = m;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s && shared_v[lid + s] > shared_v[lid]) {
            shared_v[lid] = shared_v[lid + s];
        }
        workgroupBarrier();
    }
    let mx = shared_v[0];
    workgroupBarrier();

    // The sum of exp(x - max): >= 1 for a finite max, NaN for a row with NaN or +inf
    // (inf - inf) or only -inf (-inf - -inf).
    var acc = 0.0;
    for (var j = lid; j < p.n; j = j + WG) {
        acc = acc + exp_nan(src[u32(ib + i32(j) * p.in_stride)] - mx);
    }
    shared_v[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            shared_v[lid] = shared_v[lid] + shared_v[lid + s];
        }
        workgroupBarrier();
    }
    let sum = shared_v[0];

    if (p.log == 1u) {
        let ls = select(log(sum), sum, fr_isnan(sum));
        for (var j = lid; j < p.n; j = j + WG) {
            let v = src[u32(ib + i32(j) * p.in_stride)];
            out[u32(ob + i32(j) * p.out_stride)] = v - mx - ls;
        }
    } else {
        let inv = 1.0 / sum;
        for (var j = lid; j < p.n; j = j + WG) {
            let v = src[u32(ib + i32(j) * p.in_stride)];
            out[u32(ob + i32(j) * p.out_stride)] = exp_nan(v - mx) * inv;
        }
    }
    // Thread 0 writes shared_v[0] first thing in the next row: everyone has read
    // the sum by now.
    workgroupBarrier();
}

// One workgroup per row; a grid smaller than the rows (the host caps launches at what
// one grid holds) loops on by its size. The bounds are uniform, so the barriers are too.
@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    for (var row = wid.x + wid.y * nwg.x; row < p.n_rows; row = row + nwg.x * nwg.y) {
        softmax_row(row, lid);
    }
}
