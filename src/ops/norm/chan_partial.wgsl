// Stage 1 of the deterministic per-channel reductions (BatchNorm statistics, and the
// dw/db of every norm). The contiguous input is viewed as (outer, chans, inner); the
// elements of channel c are the outer * inner = M elements (i, c, k), numbered
// m = i * inner + k. Thread t takes channel t % chans and block t / chans, the m in
// [block * chunk, (block + 1) * chunk), sums them in order and writes its two partial
// sums; chan_finish.wgsl adds the blocks up over a fixed tree. The blocking depends on
// the shape only, so the sums do not depend on scheduling.
//
// Each element gives d = (x - mean[s]) * rstd[s] (either factor optional), where the
// statistics index is s = i * stat_outer + c / stat_div (LayerNorm: the row i;
// GroupNorm: (sample, group); BatchNorm: the channel). Without dy the pair summed is
// (d, d^2); with dy it is (dy, dy * d).

struct Params {
    outer: u32,
    chans: u32,
    inner: u32,
    chunk: u32,
    blocks: u32,
    stat_outer: u32,
    stat_div: u32,
    has_g: u32,
    has_mean: u32,
    has_rstd: u32,
    _pad0: u32,
    _pad1: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;

const WG: u32 = 256u;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    if (t >= p.chans * p.blocks) {
        return;
    }
    let c = t % p.chans;
    let blk = t / p.chans;
    let m0 = blk * p.chunk;
    let m1 = min(m0 + p.chunk, p.outer * p.inner);
    var i = m0 / p.inner;
    var k = m0 - i * p.inner;
    var acc = vec2<f32>(0.0, 0.0);
    for (var m = m0; m < m1; m = m + 1u) {
        let idx = (i * p.chans + c) * p.inner + k;
        let s = i * p.stat_outer + c / p.stat_div;
        var d = x[idx];
        if (p.has_mean == 1u && s < arrayLength(&mean)) {
            d = d - mean[s];
        }
        if (p.has_rstd == 1u && s < arrayLength(&rstd)) {
            d = d * rstd[s];
        }
        if (p.has_g == 1u) {
            let gv = g[idx];
            acc = acc + vec2<f32>(gv, gv * d);
        } else {
            acc = acc + vec2<f32>(d, d * d);
        }
        k = k + 1u;
        if (k == p.inner) {
            k = 0u;
            i = i + 1u;
        }
    }
    part[blk * p.chans + c] = acc.x;
    part[(p.blocks + blk) * p.chans + c] = acc.y;
}
