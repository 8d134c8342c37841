// The per-tensor body of the grouped Adam/AdamW kernel (wgpu_many.rs): the generator
// copies it once per tensor K of the group, replacing `$K` with the tensor's index, so
// every tensor has its own bindings. The arithmetic and its order are exactly adam.wgsl's
// (results bitwise equal to the per-tensor kernel). Tensor K's entry in the uniform:
//   a = (n, p_off, g_off, m_off), b = (v_off, x_off, step_size bits, bc2_sqrt bits).

fn upd_$K(i: u32) {
    let t = u.t[$K];
    if (i >= t.a.x) {
        return;
    }
    let step_size = bitcast<f32>(t.b.z);
    let bc2_sqrt = bitcast<f32>(t.b.w);
    var pi = p_$K[t.a.y + i];
    var gi = g_$K[t.a.z + i];
    if ((u.flags & 1u) != 0u) {
        pi = pi * u.decay;
    }
    if ((u.flags & 2u) != 0u) {
        gi = gi + u.wd * pi;
    }
    var mi = m_$K[t.a.w + i];
    if ((u.flags & 8u) == 0u) {
        mi = mi + u.w1 * (gi - mi);
    } else {
        mi = gi - u.one_w1 * (gi - mi);
    }
    let vi = v_$K[t.b.x + i] * u.b2 + u.one_b2 * gi * gi;
    m_$K[t.a.w + i] = mi;
    v_$K[t.b.x + i] = vi;
    var vv = vi;
    //AMS    let old = x_$K[t.b.y + i];
    //AMS    // NaN propagates, as torch.maximum (and the CPU kernel).
    //AMS    if (fr_isnan(old) || fr_isnan(vi)) {
    //AMS        vv = fr_nan();
    //AMS    } else {
    //AMS        vv = max(old, vi);
    //AMS    }
    //AMS    x_$K[t.b.y + i] = vv;
    let denom = sqrt(vv) / bc2_sqrt + u.eps;
    p_$K[t.a.y + i] = pi + step_size * (mi / denom);
}
