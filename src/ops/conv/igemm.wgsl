// The tiled core: C[z] = A[z] @ B[z] for z in 0..batch (see conv_common.wgsl).
//
// The tiling is matmul.wgsl's: a workgroup of 16x16 threads computes a 64x64 tile of
// C, each thread a 4x4 block, staging 64x16 of A and 16x64 of B in shared memory per
// step (8 KiB). Each output element is one thread's sum in increasing k, so results
// are the same on every run.

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;

// tile_a[kk * 16 + q] = A[row0 + 4q .. 4q + 4, k0 + kk]; tile_b[kk * 16 + q] =
// B[k0 + kk, col0 + 4q .. 4q + 4].
var<workgroup> tile_a: array<vec4<f32>, 256>;
var<workgroup> tile_b: array<vec4<f32>, 256>;

@compute @workgroup_size(16, 16, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    // Uniform per workgroup, so returning keeps the barriers below uniform.
    let wg = wid.x + wid.y * nwg.x;
    let tiles = p.tiles_m * p.tiles_n;
    if (wg >= p.batch * tiles) {
        return;
    }
    let z = wg / tiles;
    let t = wg % tiles;
    let row0 = (t / p.tiles_n) * BM;
    let col0 = (t % p.tiles_n) * BN;

    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);

    let a_kk = li % BK;
    let a_row = row0 + 4u * (li / BK);
    let b_kk = li / 16u;
    let b_col = col0 + 4u * (li % 16u);

    for (var k0 = 0u; k0 < p.k; k0 = k0 + BK) {
        let ka = k0 + a_kk;
        tile_a[a_kk * 16u + li / BK] = vec4<f32>(
            a_at(z, a_row, ka),
            a_at(z, a_row + 1u, ka),
            a_at(z, a_row + 2u, ka),
            a_at(z, a_row + 3u, ka),
        );
        let kb = k0 + b_kk;
        tile_b[li] = vec4<f32>(
            b_at(z, kb, b_col),
            b_at(z, kb, b_col + 1u),
            b_at(z, kb, b_col + 2u),
            b_at(z, kb, b_col + 3u),
        );
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk = kk + 1u) {
            let av = tile_a[kk * 16u + lid.y];
            let bv = tile_b[kk * 16u + lid.x];
            acc0 = fma(vec4<f32>(av.x), bv, acc0);
            acc1 = fma(vec4<f32>(av.y), bv, acc1);
            acc2 = fma(vec4<f32>(av.z), bv, acc2);
            acc3 = fma(vec4<f32>(av.w), bv, acc3);
        }
        workgroupBarrier();
    }

    let row = row0 + 4u * lid.y;
    let col = col0 + 4u * lid.x;
    store_row(z, row, col, acc0);
    store_row(z, row + 1u, col, acc1);
    store_row(z, row + 2u, col, acc2);
    store_row(z, row + 3u, col, acc3);
}

// C[z][row, col .. col + 4], skipping what lies outside the m x cols matrix.
fn store_row(z: u32, row: u32, col: u32, v: vec4<f32>) {
    if (row >= p.m) {
        return;
    }
    let base = (z * p.m + row) * p.cols + col;
    for (var s = 0u; s < 4u; s = s + 1u) {
        if (col + s < p.cols) {
            out[base + s] = v[s];
        }
    }
}
