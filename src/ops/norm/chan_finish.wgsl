// Stage 2 of the per-channel reductions: one workgroup per channel adds up the
// blocks' partial pairs of chan_partial.wgsl over a fixed tree, then thread 0 writes,
// by `mode`:
//   0: out1 = sum of the second values (dw = sum dy * xhat), out2 = sum of the first (db);
//   1: out1 = the first sum / count (BatchNorm's first-pass mean m0);
//   2: BatchNorm's second pass, run with mean = m0 (out1): mean = m0 + s1 / count,
//      var = s2 / count - (s1 / count)^2 (corrected two-pass), out1 = mean,
//      out2 = rstd, and with `has_running` the running statistics updated in place:
//      rm = (1 - momentum) * rm + momentum * mean,
//      rv = (1 - momentum) * rv + momentum * var * unbias   (unbias = M / (M - 1)).

struct Params {
    chans: u32,
    blocks: u32,
    mode: u32,
    has_running: u32,
    count: f32,
    eps: f32,
    momentum: f32,
    unbias: f32,
    rm_off: i32,
    rm_stride: i32,
    rv_off: i32,
    rv_stride: i32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out1: array<f32>;
@group(0) @binding(3) var<storage, read_write> out2: array<f32>;
@group(0) @binding(4) var<storage, read_write> rm: array<f32>;
@group(0) @binding(5) var<storage, read_write> rv: array<f32>;

fn update(old: f32, stat: f32) -> f32 {
    return (1.0 - p.momentum) * old + p.momentum * stat;
}

fn finish(c: u32, lid: u32) {
    var acc = vec2<f32>(0.0, 0.0);
    for (var b = lid; b < p.blocks; b = b + WG) {
        acc = acc + vec2<f32>(part[b * p.chans + c], part[(p.blocks + b) * p.chans + c]);
    }
    let t = tree_sum(acc, lid);
    if (lid != 0u) {
        return;
    }
    if (p.mode == 0u) {
        out1[c] = t.y;
        out2[c] = t.x;
    } else if (p.count == 0.0) {
        // An empty batch: NaN statistics (0 / 0), as on the CPU.
        out1[c] = fr_nan();
        out2[c] = fr_nan();
    } else if (p.mode == 1u) {
        out1[c] = t.x / p.count;
    } else {
        let d = t.x / p.count;
        let mean = out1[c] + d;
        let v = nonneg(t.y / p.count - d * d);
        out1[c] = mean;
        out2[c] = 1.0 / sqrt(v + p.eps);
        if (p.has_running == 1u) {
            let im = u32(p.rm_off + i32(c) * p.rm_stride);
            let iv = u32(p.rv_off + i32(c) * p.rv_stride);
            if (im < arrayLength(&rm) && iv < arrayLength(&rv)) {
                rm[im] = update(rm[im], mean);
                rv[iv] = update(rv[iv], v * p.unbias);
            }
        }
    }
}

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    for (var c = wid.x + wid.y * nwg.x; c < p.chans; c = c + nwg.x * nwg.y) {
        finish(c, lid);
    }
}
