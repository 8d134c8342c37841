// BatchNorm's elementwise passes over the contiguous (N, C, S) input, channel
// c = (i / S) % C, with a = rstd[c] * w[c]:
//   mode 0 (forward):           y  = (x - mean[c]) * a + b[c]
//   mode 1 (backward, training): dx = a * (dy - db[c] / M - xhat * dw[c] / M),
//                               xhat = (x - mean[c]) * rstd[c]
//   mode 2 (backward, eval):    dx = a * dy (the running statistics are constants)
// `shift` is b in mode 0 and dw in mode 1; dw and db are the per-channel sums of
// dy * xhat and dy (chan_finish.wgsl).

struct Params {
    total: u32,
    chans: u32,
    inner: u32,
    mode: u32,
    has_w: u32,
    has_b: u32,
    count: f32,
    _pad0: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@group(0) @binding(5) var<storage, read> w: array<f32>;
@group(0) @binding(6) var<storage, read> shift: array<f32>;
@group(0) @binding(7) var<storage, read> db: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;

// Per-channel reads, checked against the bound buffers (an unused binding holds x).
fn mean_at(c: u32) -> f32 { return select(0.0, mean[min(c, arrayLength(&mean) - 1u)], c < arrayLength(&mean)); }
fn rstd_at(c: u32) -> f32 { return select(0.0, rstd[min(c, arrayLength(&rstd) - 1u)], c < arrayLength(&rstd)); }
fn w_at(c: u32) -> f32 { return select(1.0, w[min(c, arrayLength(&w) - 1u)], c < arrayLength(&w)); }
fn shift_at(c: u32) -> f32 { return select(0.0, shift[min(c, arrayLength(&shift) - 1u)], c < arrayLength(&shift)); }
fn db_at(c: u32) -> f32 { return select(0.0, db[min(c, arrayLength(&db) - 1u)], c < arrayLength(&db)); }

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let stride = nwg.x * nwg.y * WG;
    for (var i = (wid.x + wid.y * nwg.x) * WG + lid; i < p.total; i = i + stride) {
        let c = (i / p.inner) % p.chans;
        let rs = rstd_at(c);
        var a = rs;
        if (p.has_w == 1u) {
            a = a * w_at(c);
        }
        if (p.mode == 0u) {
            var o = (x[i] - mean_at(c)) * a;
            if (p.has_b == 1u) {
                o = o + shift_at(c);
            }
            out[i] = o;
        } else if (p.mode == 1u) {
            let xh = (x[i] - mean_at(c)) * rs;
            let dw = shift_at(c);
            out[i] = a * (dy[i] - db_at(c) / p.count - xh * dw / p.count);
        } else {
            out[i] = a * dy[i];
        }
    }
}
