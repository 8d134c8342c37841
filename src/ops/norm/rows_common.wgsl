// Shared by rows_fwd.wgsl and rows_bwd.wgsl. The input is `rows` contiguous rows of
// `len` elements, one workgroup per row (a grid smaller than the rows loops on).
// Weight and bias are indexed through `param_index`: LayerNorm and RMSNorm
// (groups = run = 1) take element j's own; GroupNorm (groups = G, run = S) the
// channel's: row r is (sample, group r % G), and element j lies in channel
// (r % G) * (len / S) + j / S.

struct Params {
    rows: u32,
    len: u32,
    groups: u32,
    run: u32,
    center: u32,   // 0: RMSNorm (mean 0, var = mean(x^2))
    has_w: u32,
    has_b: u32,
    eps: f32,
};

@group(0) @binding(0) var<uniform> p: Params;

fn param_index(row: u32, j: u32) -> u32 {
    return (row % p.groups) * (p.len / p.run) + j / p.run;
}
