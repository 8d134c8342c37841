// Batched matmul C[b] = A[b] @ B[b] on strided views, C contiguous (batch, m, n).
//
// Each workgroup of 16x16 threads computes a 64x64 tile of C, each thread a 4x4 block
// of it. The k axis is walked in steps of 16: the workgroup stages a 64x16 slice of A
// and a 16x64 slice of B in shared memory (each element is read from global memory once
// per workgroup instead of 64 times), then every thread runs 16 rank-1 updates from it.
// Loads past m, n or k read 0, so any size works; stores past m or n are skipped. A and
// B are read through their strides, so transposed or batch-broadcast (stride 0) operands
// need no copy.
//
// `epilogue(col, value)` is appended by the host: the identity for matmul, or Linear's
// fused bias add (and ReLU) applied while the tile is written (see wgpu.rs).

struct Params {
    batch: u32,
    m: u32,
    n: u32,
    k: u32,
    a_offset: i32,
    a_sb: i32,     // A strides: batch, row (m), column (k)
    a_sm: i32,
    a_sk: i32,
    b_offset: i32,
    b_sb: i32,     // B strides: batch, row (k), column (n)
    b_sk: i32,
    b_sn: i32,
    tiles_m: u32,
    tiles_n: u32,
    bias_offset: u32, // element offset of the bias (the linear epilogue only)
    _pad1: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const BM: u32 = 64u;   // tile rows (16 threads x 4 rows)
const BN: u32 = 64u;   // tile columns (16 threads x 4 columns)
const BK: u32 = 16u;   // k per shared-memory step

// Shared tiles hold vec4s so the inner loop needs two shared loads per 16 FMAs:
// tile_a[kk * 16 + q] = A[row0 + 4q .. 4q + 4, k0 + kk] (4 rows at one k),
// tile_b[kk * 16 + q] = B[k0 + kk, col0 + 4q .. 4q + 4] (4 columns at one k).
var<workgroup> tile_a: array<vec4<f32>, 256>;
var<workgroup> tile_b: array<vec4<f32>, 256>;

// A[row, k] or 0 outside the matrix.
fn load_a(base: i32, row: u32, k: u32) -> f32 {
    if (row < p.m && k < p.k) {
        return a[u32(base + i32(row) * p.a_sm + i32(k) * p.a_sk)];
    }
    return 0.0;
}

// B[k, col] or 0 outside the matrix.
fn load_b(base: i32, k: u32, col: u32) -> f32 {
    if (k < p.k && col < p.n) {
        return b[u32(base + i32(k) * p.b_sk + i32(col) * p.b_sn)];
    }
    return 0.0;
}

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
    let bi = wg / tiles;
    let t = wg % tiles;
    let row0 = (t / p.tiles_n) * BM;
    let col0 = (t % p.tiles_n) * BN;
    let a_base = p.a_offset + i32(bi) * p.a_sb;
    let b_base = p.b_offset + i32(bi) * p.b_sb;

    // acc<r>[s] is C[row0 + 4 lid.y + r, col0 + 4 lid.x + s]. Four vec4 registers rather
    // than an indexed array: drivers may put a dynamically indexed array in memory.
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);

    // Which vec4 of each tile this thread stages: for A consecutive threads walk k (A's
    // usual fast axis), for B they walk column groups.
    let a_kk = li % BK;
    let a_row = row0 + 4u * (li / BK);
    let b_kk = li / 16u;
    let b_col = col0 + 4u * (li % 16u);

    for (var k0 = 0u; k0 < p.k; k0 = k0 + BK) {
        let ka = k0 + a_kk;
        tile_a[a_kk * 16u + li / BK] = vec4<f32>(
            load_a(a_base, a_row, ka),
            load_a(a_base, a_row + 1u, ka),
            load_a(a_base, a_row + 2u, ka),
            load_a(a_base, a_row + 3u, ka),
        );
        let kb = k0 + b_kk;
        tile_b[li] = vec4<f32>(
            load_b(b_base, kb, b_col),
            load_b(b_base, kb, b_col + 1u),
            load_b(b_base, kb, b_col + 2u),
            load_b(b_base, kb, b_col + 3u),
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

    let c_base = bi * p.m * p.n;
    let row = row0 + 4u * lid.y;
    let col = col0 + 4u * lid.x;
    store_row(c_base, row, col, acc0);
    store_row(c_base, row + 1u, col, acc1);
    store_row(c_base, row + 2u, col, acc2);
    store_row(c_base, row + 3u, col, acc3);
}

// Writes v to C[row, col .. col + 4], skipping what lies outside the m x n matrix.
fn store_row(c_base: u32, row: u32, col: u32, v: vec4<f32>) {
    if (row >= p.m) {
        return;
    }
    let base = c_base + row * p.n + col;
    for (var s = 0u; s < 4u; s = s + 1u) {
        if (col + s < p.n) {
            c[base + s] = epilogue(col + s, v[s]);
        }
    }
}
