// max_pool2d's backward in gather form: one thread per input cell, which visits the
// windows containing it in increasing output order and adds gy where the saved position
// is this cell. Deterministic, and a corrupted position cannot send a write anywhere
// else: it just matches no cell.

struct Params {
    total: u32,   // planes * h * w
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
    off_gy: u32,
    off_idx: u32,
    _pad: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// The output coordinate whose window puts kernel offset `i` on input coordinate `at`,
// or `outs` when there is none.
fn source(at: u32, i: u32, pad: u32, stride: u32, dil: u32, outs: u32) -> u32 {
    let t = i32(at + pad) - i32(i * dil);
    if (t < 0 || u32(t) % stride != 0u) {
        return outs;
    }
    return min(u32(t) / stride, outs);
}

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
    let hw = p.h * p.w;
    let plane = e / hw;
    let pos = i32(e % hw);
    let iy = (e % hw) / p.w;
    let ix = e % p.w;
    let base = plane * p.oh * p.ow;
    var acc = 0.0;
    // Kernel offsets from the last down give output coordinates from the first up.
    for (var i = p.kh; i > 0u; i = i - 1u) {
        let oy = source(iy, i - 1u, p.ph, p.sh, p.dh, p.oh);
        if (oy >= p.oh) {
            continue;
        }
        for (var j = p.kw; j > 0u; j = j - 1u) {
            let ox = source(ix, j - 1u, p.pw, p.sw, p.dw, p.ow);
            if (ox >= p.ow) {
                continue;
            }
            let o = base + oy * p.ow + ox;
            if (idx[p.off_idx + o] == pos) {
                acc = acc + gy[p.off_gy + o];
            }
        }
    }
    dx[e] = acc;
}
