// One SGD update, in place, one invocation per element; the arithmetic and its order
// follow the CPU kernel (src/optim/sgd.rs), the scalars come from the host in float32
// as the CPU kernel rounds them. Every index is checked against n (and the offsets were
// checked against the buffers' lengths on the host).

struct Params {
    n: u32,
    p_off: u32,
    g_off: u32,
    b_off: u32,
    flags: u32,      // bit 0: weight decay, bit 1: momentum, bit 2: nesterov, bit 3: first step
    neg_lr: f32,
    wd: f32,
    mom: f32,
    damp1: f32,      // 1 - dampening
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
};

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> buf: array<f32>;

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
    let pi = p[u.p_off + i];
    var d = g[u.g_off + i];
    if ((u.flags & 1u) != 0u) {
        d = d + u.wd * pi;
    }
    if ((u.flags & 2u) != 0u) {
        var bi = d;
        if ((u.flags & 8u) == 0u) {
            bi = u.mom * buf[u.b_off + i] + u.damp1 * d;
        }
        buf[u.b_off + i] = bi;
        if ((u.flags & 4u) != 0u) {
            d = d + u.mom * bi;
        } else {
            d = bi;
        }
    }
    p[u.p_off + i] = pi + u.neg_lr * d;
}
