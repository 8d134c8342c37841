// out[e] = sum over parts q (in order) of parts[q * len + e]: the fixed-order second
// stage of the weight gradient.

struct Params {
    len: u32,
    parts: u32,
    _pad0: u32,
    _pad1: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> parts: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let e = (wid.x + wid.y * nwg.x) * 256u + li;
    if (e >= p.len) {
        return;
    }
    var acc = parts[e];
    for (var q = 1u; q < p.parts; q = q + 1u) {
        acc = acc + parts[q * p.len + e];
    }
    out[e] = acc;
}
