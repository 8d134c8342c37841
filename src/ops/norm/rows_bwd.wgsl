// LayerNorm / RMSNorm / GroupNorm backward of one row (dx only; dw and db come from
// the channel reduction in chan_partial.wgsl): with xhat = (x - mean) * rstd and
// dn = dy * w, dx = rstd * (dn - mean(dn) - xhat * mean(dn * xhat)), RMSNorm without
// the mean(dn) term.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

fn dn_at(row: u32, j: u32, g: f32) -> f32 {
    let k = param_index(row, j);
    if (p.has_w == 1u && k < arrayLength(&w)) {
        return g * w[k];
    }
    return g;
}

fn row_backward(row: u32, lid: u32) {
    let base = row * p.len;
    let n = f32(p.len);
    let m = mean[row];
    let rs = rstd[row];
    var acc = vec2<f32>(0.0, 0.0);
    for (var j = lid; j < p.len; j = j + WG) {
        let xh = (x[base + j] - m) * rs;
        let dn = dn_at(row, j, dy[base + j]);
        acc = acc + vec2<f32>(dn, dn * xh);
    }
    let t = tree_sum(acc, lid);
    let mdn = select(0.0, t.x / n, p.center == 1u);
    let mdnx = t.y / n;
    for (var j = lid; j < p.len; j = j + WG) {
        let xh = (x[base + j] - m) * rs;
        let dn = dn_at(row, j, dy[base + j]);
        dx[base + j] = (dn - mdn - xh * mdnx) * rs;
    }
}

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    for (var row = wid.x + wid.y * nwg.x; row < p.rows; row = row + nwg.x * nwg.y) {
        row_backward(row, lid);
    }
}
