// LayerNorm / RMSNorm / GroupNorm forward of one row: the statistics by the corrected
// two-pass algorithm (m0 = the mean; then s1 = sum(x - m0), s2 = sum((x - m0)^2);
// mean = m0 + s1/n, var = s2/n - (s1/n)^2). The correction s1/n is tiny, so nothing
// cancels catastrophically as in E[x^2] - E[x]^2, and it recovers the rounding of m0.
// An empty row gets NaN statistics. Then y = (x - mean) * rstd * w + b; mean and rstd are saved for the backward.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd_out: array<f32>;

fn row_forward(row: u32, lid: u32) {
    let base = row * p.len;
    let n = f32(p.len);
    var m0 = 0.0;
    if (p.center == 1u) {
        var s = 0.0;
        for (var j = lid; j < p.len; j = j + WG) {
            s = s + x[base + j];
        }
        m0 = tree_sum(vec2<f32>(s, 0.0), lid).x / n;
    }
    var acc = vec2<f32>(0.0, 0.0);
    for (var j = lid; j < p.len; j = j + WG) {
        let d = x[base + j] - m0;
        acc = acc + vec2<f32>(d, d * d);
    }
    let t = tree_sum(acc, lid);
    var mean = 0.0;
    var v = t.y / n;
    if (p.center == 1u) {
        let c = t.x / n;
        mean = m0 + c;
        v = v - c * c;
    }
    var rs = 1.0 / sqrt(nonneg(v) + p.eps);
    if (p.len == 0u) {
        // 0 / 0, as on the CPU: an empty row has NaN statistics.
        mean = select(0.0, fr_nan(), p.center == 1u);
        rs = fr_nan();
    }
    if (lid == 0u) {
        mean_out[row] = mean;
        rstd_out[row] = rs;
    }
    let nw = arrayLength(&w);
    let nb = arrayLength(&b);
    for (var j = lid; j < p.len; j = j + WG) {
        let k = param_index(row, j);
        var o = (x[base + j] - mean) * rs;
        if (p.has_w == 1u && k < nw) {
            o = o * w[k];
        }
        if (p.has_b == 1u && k < nb) {
            o = o + b[k];
        }
        y[base + j] = o;
    }
}

// The row bounds are uniform, so the barriers inside are too.
@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    for (var row = wid.x + wid.y * nwg.x; row < p.rows; row = row + nwg.x * nwg.y) {
        row_forward(row, lid);
    }
}
