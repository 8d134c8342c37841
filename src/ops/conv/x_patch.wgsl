// The input value under patch row `k` (channel, kernel row, kernel column) at output
// pixel `pix` of the plane group starting at `base` in x, or 0 in the padding. Appended
// for the variants that read x (they bind it as `x`).
fn x_patch(base: u32, k: u32, pix: u32) -> f32 {
    let khw = p.kh * p.kw;
    let ci = k / khw;
    let r = k % khw;
    let iy = i32((pix / p.ow) * p.sh + (r / p.kw) * p.dh) - i32(p.ph);
    let ix = i32((pix % p.ow) * p.sw + (r % p.kw) * p.dw) - i32(p.pw);
    if (iy < 0 || ix < 0 || u32(iy) >= p.h || u32(ix) >= p.w) {
        return 0.0;
    }
    return x[base + (ci * p.h + u32(iy)) * p.w + u32(ix)];
}
