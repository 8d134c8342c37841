// One Adam/AdamW update, in place, one invocation per element; the arithmetic and its
// order follow the CPU kernel (src/optim/adam.rs), the scalars come from the host in
// float32 exactly as the CPU kernel rounds them. Buffers are read through their element
// offsets; every index is checked against n (and the offsets were checked against the
// buffers' lengths on the host).

struct Params {
    n: u32,
    p_off: u32,
    g_off: u32,
    m_off: u32,
    v_off: u32,
    x_off: u32,
    flags: u32,      // bit 0: decoupled decay, bit 1: L2 term, bit 2: amsgrad, bit 3: lerp's 2nd form
    _pad: u32,
    w1: f32,         // 1 - beta1 (lerp weight)
    one_w1: f32,     // beta1 as 1 - w1, for lerp's second form
    b2: f32,
    one_b2: f32,
    bc2_sqrt: f32,
    eps: f32,
    step_size: f32,  // -lr / (1 - beta1^t)
    wd: f32,
    decay: f32,      // 1 - lr * weight_decay
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
};

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> vmax: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let i = (wid.x + wid.y * nwg.x) * 256u + li;
    if (i >= u.n) {
        return;
    }
    var pi = p[u.p_off + i];
    var gi = g[u.g_off + i];
    if ((u.flags & 1u) != 0u) {
        pi = pi * u.decay;
    }
    if ((u.flags & 2u) != 0u) {
        gi = gi + u.wd * pi;
    }
    var mi = m[u.m_off + i];
    if ((u.flags & 8u) == 0u) {
        mi = mi + u.w1 * (gi - mi);
    } else {
        mi = gi - u.one_w1 * (gi - mi);
    }
    let vi = v[u.v_off + i] * u.b2 + u.one_b2 * gi * gi;
    m[u.m_off + i] = mi;
    v[u.v_off + i] = vi;
    var vv = vi;
    if ((u.flags & 4u) != 0u) {
        let old = vmax[u.x_off + i];
        // NaN propagates, as torch.maximum (and the CPU kernel).
        if (fr_isnan(old) || fr_isnan(vi)) {
            vv = fr_nan();
        } else {
            vv = max(old, vi);
        }
        vmax[u.x_off + i] = vv;
    }
    let denom = sqrt(vv) / u.bc2_sqrt + u.eps;
    p[u.p_off + i] = pi + u.step_size * (mi / denom);
}
