// max_pool2d: one thread per output; the value and int64 position (one 32-bit word on
// wgpu) iy * w + ix of its window's maximum. PyTorch's rule: the position starts at the
// first in-bounds cell, and a larger value or a NaN takes it.

struct Params {
    total: u32,   // planes * oh * ow
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    dh: u32,
    dw: u32,
    off_x: u32,
    _pad0: u32,
    _pad1: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> idx: array<i32>;

@compute @workgroup_size(256, 1, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let e = (wid.x + wid.y * nwg.x) * 256u + li;
    if (e >= p.total) {
        return;
    }
    let ohw = p.oh * p.ow;
    let plane = e / ohw;
    let oy = (e % ohw) / p.ow;
    let ox = e % p.ow;
    let base = p.off_x + plane * p.h * p.w;
    var best = -fr_inf();
    var at = -1;
    for (var i = 0u; i < p.kh; i = i + 1u) {
        let iy = i32(oy * p.sh + i * p.dh) - i32(p.ph);
        if (iy < 0 || u32(iy) >= p.h) {
            continue;
        }
        for (var j = 0u; j < p.kw; j = j + 1u) {
            let ix = i32(ox * p.sw + j * p.dw) - i32(p.pw);
            if (ix < 0 || u32(ix) >= p.w) {
                continue;
            }
            let pos = iy * i32(p.w) + ix;
            let v = x[base + u32(pos)];
            if (at < 0) {
                at = pos;
            }
            if (v > best || fr_isnan(v)) {
                best = v;
                at = pos;
            }
        }
    }
    y[e] = best;
    // -1: a window entirely in the padding (possible with dilation); the backward
    // never matches it, as on the CPU.
    idx[e] = at;
}
