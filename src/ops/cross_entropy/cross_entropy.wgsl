// Fused softmax cross-entropy on (M, C) rows: one workgroup per row, the row read from
// the input in strided sweeps over the 256 threads (rows of any length), each sweep
// closed by a shared-memory tree. The formulas are the CPU's (cpu.rs, mod.rs):
//   T[k] = w[k] * ((1 - eps) * onehot(y)[k] + eps / C)     (class index y)
//   T[k] = w[k] * ((1 - eps) * t[k] + eps / C)              (probabilities t)
//   loss = sum_k T[k] * (lse - x[k]),   grad[k] = scale * (softmax[k] * sum_k T[k] - T[k])
// For class indices a term with T[k] = 0 is skipped, as the CPU skips the smoothing sum
// at eps = 0 (so a -inf logit of another class stays a masked class, not 0 * inf).
//
// MODE (an override): 0 forward: out[row] = loss, stats[row] = lse, stats[M + row] =
// the row's weight in a 'mean' (w[y], 0 when ignored); 1 backward: out = grad, reading
// lse from stats and the upstream gradient from `scale`; 2 T itself (class indices, for
// the double-backward path). PROBS: 1 for probability targets. A class index outside
// [0, C) that is not ignore_index sets bit 1 of the device error flag (IndexError at the
// next read) and its row counts as ignored: nothing is read out of bounds.
//
// Every thread runs every sweep and barrier (row validity only selects values), so the
// barriers stay in uniform control flow.

struct Params {
    m: u32,              // rows
    c: u32,              // classes
    ignore_index: i32,
    has_ignore: u32,     // 0: ignore_index lies outside int32, no target can equal it
    eps: f32,            // label smoothing
    weighted: u32,       // 1: class weights in `w`
    scale_per_row: u32,  // 1: scale[row] ('none'), 0: one scale for all rows
    x_off: u32,          // offsets in elements of the operands
    t_off: u32,
    w_off: u32,
    s_off: u32,
    _pad: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> tgt: array<u32>;    // i32 indices or f32 probabilities
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;
@group(0) @binding(7) var<storage, read_write> flag: array<atomic<u32>>;

override MODE: u32 = 0u;
override PROBS: u32 = 0u;
const WG: u32 = 256u;

var<workgroup> sh: array<f32, 256>;

// exp that keeps NaN, which a driver's exp need not.
fn exp_nan(d: f32) -> f32 {
    if (fr_isnan(d)) { return d; }
    return exp(d);
}

fn reduce_sum(v: f32, lid: u32) -> f32 {
    sh[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            sh[lid] = sh[lid] + sh[lid + s];
        }
        workgroupBarrier();
    }
    let r = sh[0];
    workgroupBarrier();
    return r;
}

// The max skipping NaN, as the CPU's f64::max (an all-NaN row keeps -inf).
fn reduce_max(v: f32, lid: u32) -> f32 {
    sh[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s && sh[lid + s] > sh[lid]) {
            sh[lid] = sh[lid + s];
        }
        workgroupBarrier();
    }
    let r = sh[0];
    workgroupBarrier();
    return r;
}

fn weight(k: u32) -> f32 {
    if (p.weighted == 1u) {
        return w[p.w_off + k];
    }
    return 1.0;
}

// T[k] of a row (see the top). `y` is the row's class index (unused for PROBS).
fn target_term(row: u32, k: u32, y: i32) -> f32 {
    let spread = p.eps / f32(p.c);
    if (PROBS == 1u) {
        let t = bitcast<f32>(tgt[p.t_off + row * p.c + k]);
        return weight(k) * ((1.0 - p.eps) * t + spread);
    }
    return weight(k) * (select(0.0, 1.0 - p.eps, i32(k) == y) + spread);
}

fn ce_row(row: u32, lid: u32) {
    let base = p.x_off + row * p.c;
    // The class index and whether the row counts (PROBS: always).
    var y = -1;
    var valid = true;
    if (PROBS == 0u) {
        y = bitcast<i32>(tgt[p.t_off + row]);
        let ignored = p.has_ignore == 1u && y == p.ignore_index;
        let bad = !ignored && (y < 0 || u32(y) >= p.c);
        if (MODE == 0u && bad && lid == 0u) {
            atomicOr(&flag[0], 1u);
        }
        valid = !ignored && !bad;
    }

    if (MODE == 0u) {
        var m = -fr_inf();
        for (var k = lid; k < p.c; k = k + WG) {
            let v = x[base + k];
            if (v > m) { m = v; }
        }
        let mx = reduce_max(m, lid);
        // >= 1 for a finite max; NaN for a row with NaN, +inf or only -inf, as the CPU.
        var acc = 0.0;
        for (var k = lid; k < p.c; k = k + WG) {
            acc = acc + exp_nan(x[base + k] - mx);
        }
        let sum = reduce_sum(acc, lid);
        let lse = mx + select(log(sum), sum, fr_isnan(sum));
        var l = 0.0;
        for (var k = lid; k < p.c; k = k + WG) {
            let tk = target_term(row, k, y);
            if (PROBS == 1u || tk != 0.0) {
                l = l + tk * (lse - x[base + k]);
            }
        }
        let loss = reduce_sum(l, lid);
        if (lid == 0u) {
            var rw = 1.0;
            if (PROBS == 0u) {
                rw = select(0.0, weight(select(0u, u32(y), valid)), valid);
            }
            out[row] = select(0.0, loss, valid);
            stats[row] = lse;
            stats[p.m + row] = rw;
        }
        return;
    }

    // MODE 1 and 2: row r of the gradient (or of T), zero for an ignored row.
    var a = 0.0;
    if (MODE == 1u) {
        var part = 0.0;
        for (var k = lid; k < p.c; k = k + WG) {
            part = part + target_term(row, k, y);
        }
        a = reduce_sum(part, lid);
    }
    let lse = stats[row];
    let sc = scale[p.s_off + select(0u, row, p.scale_per_row == 1u)];
    for (var k = lid; k < p.c; k = k + WG) {
        let tk = target_term(row, k, y);
        var g = tk;
        if (MODE == 1u) {
            g = sc * (exp_nan(x[base + k] - lse) * a - tk);
        }
        out[row * p.c + k] = select(0.0, g, valid);
    }
}

// One workgroup per row; a grid smaller than the rows (the host caps launches at what
// one grid holds) loops on by its size. The bounds are uniform, so the barriers are too.
@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    for (var row = wid.x + wid.y * nwg.x; row < p.m; row = row + nwg.x * nwg.y) {
        ce_row(row, lid);
    }
}
