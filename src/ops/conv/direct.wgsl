// The direct core, for thin GEMMs (few rows: depthwise and other small-group
// convolutions, whose 64-row tiles would mostly compute zeros): one thread per block of
// 4 rows at one column of C[z], summing over k in increasing order (deterministic).
// Each B element is read once per block; the A elements are the same for neighbouring
// threads.

@compute @workgroup_size(256, 1, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    // tiles_m: blocks of 4 rows; tiles_n = cols.
    let t = (wid.x + wid.y * nwg.x) * 256u + li;
    let per_z = p.tiles_m * p.cols;
    if (t >= p.batch * per_z) {
        return;
    }
    let z = t / per_z;
    let row = 4u * ((t % per_z) / p.cols);
    let col = t % p.cols;
    var acc = vec4<f32>(0.0);
    for (var k = 0u; k < p.k; k = k + 1u) {
        let b = load_b(z, k, col);
        let a = vec4<f32>(
            a_at(z, row, k),
            a_at(z, row + 1u, k),
            a_at(z, row + 2u, k),
            a_at(z, row + 3u, k),
        );
        acc = fma(a, vec4<f32>(b), acc);
    }
    for (var r = 0u; r < 4u; r = r + 1u) {
        if (row + r < p.m) {
            out[(z * p.m + row + r) * p.cols + col] = acc[r];
        }
    }
}
