// Shared by the norm kernels that run one workgroup per row or channel: the
// workgroup's sum of a pair of values, over a fixed tree, so the result does not
// depend on scheduling. Call it in uniform control flow; every thread gets the sum.

const WG: u32 = 256u;

var<workgroup> red: array<vec2<f32>, 256>;

fn tree_sum(v: vec2<f32>, lid: u32) -> vec2<f32> {
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            red[lid] = red[lid] + red[lid + s];
        }
        workgroupBarrier();
    }
    let t = red[0];
    // Everyone has read red[0] before the next call overwrites it.
    workgroupBarrier();
    return t;
}

// A variance that rounded below zero is 0; NaN stays NaN (a row holding inf or NaN
// must normalise to NaN, as on the CPU).
fn nonneg(v: f32) -> f32 {
    return select(v, 0.0, v < 0.0);
}
