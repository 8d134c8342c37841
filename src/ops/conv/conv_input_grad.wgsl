// conv2d's input gradient (conv_transpose2d) in gather form: z = (sample, group);
// C[z] (cg x h*w) = W[group]^T @ G, where row (o, i, j) of G at input pixel (iy, ix) is
// gy[o] at the output pixel whose window puts kernel cell (i, j) on (iy, ix), or 0 when
// none does. Each input pixel sums what reaches it: no scatter, no atomics.

@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// k = (output channel in the group, kernel row, kernel column).
fn load_a(z: u32, row: u32, k: u32) -> f32 {
    let khw = p.kh * p.kw;
    let g = z % p.groups;
    let oc = k / khw;
    return wt[p.off2 + ((g * p.og + oc) * p.cg + row) * khw + k % khw];
}

// The output coordinate whose window puts kernel offset `i` on input coordinate `at`
// (at + pad = out * stride + i * dil), or `outs` (out of range) when there is none.
fn source(at: u32, i: u32, pad: u32, stride: u32, dil: u32, outs: u32) -> u32 {
    let t = i32(at + pad) - i32(i * dil);
    if (t < 0 || u32(t) % stride != 0u) {
        return outs;
    }
    return min(u32(t) / stride, outs);
}

fn load_b(z: u32, k: u32, col: u32) -> f32 {
    let khw = p.kh * p.kw;
    let oc = k / khw;
    let r = k % khw;
    let oy = source(col / p.w, r / p.kw, p.ph, p.sh, p.dh, p.oh);
    let ox = source(col % p.w, r % p.kw, p.pw, p.sw, p.dw, p.ow);
    if (oy >= p.oh || ox >= p.ow) {
        return 0.0;
    }
    return gy[p.off1 + ((z * p.og + oc) * p.oh + oy) * p.ow + ox];
}
