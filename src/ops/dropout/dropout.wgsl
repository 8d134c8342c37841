// Dropout of a contiguous float32 run: out[i] = src[off + i] * (keep_i ? scale : 0),
// keep_i = bits16(stream, i) >= threshold, the CPU's mask bit for bit (ops/dropout/cpu.rs,
// whose `bits16` defines it). The host prepends philox_core.wgsl.
//
// Elements come in groups of 64 backed by 8 consecutive Philox blocks: element
// e = half * 32 + word * 8 + lane of group g takes 16-bit half `half` of word `word` of
// block g * 8 + lane. One invocation computes one block (invocation j: group j / 8,
// lane j % 8) and writes its 8 elements; neighbouring invocations write neighbouring
// elements. Dropped elements are src * 0, so NaN and inf give NaN as on the CPU.

struct Params {
    n: u32,           // elements
    blocks: u32,      // invocations = ceil(n / 64) * 8
    seed_lo: u32,
    seed_hi: u32,
    offset_lo: u32,
    offset_hi: u32,
    first_lo: u32,    // counter of block 0 (0 except in tests that cross 2^32)
    first_hi: u32,
    threshold: u32,   // keep when the 16-bit value >= this (65536: keep nothing)
    scale: f32,       // 1 / (1 - p), rounded to f32 as the CPU does
    src_offset: u32,  // the input's offset in elements
    _pad: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let j = (wid.x + wid.y * nwg.x) * 256u + li;
    if (j >= p.blocks) {
        return;
    }
    let c = counter_add(p.first_lo, p.first_hi, j);
    let b = philox(vec4<u32>(c.x, c.y, p.offset_lo, p.offset_hi), vec2<u32>(p.seed_lo, p.seed_hi));
    let base = (j / 8u) * 64u + (j % 8u);
    for (var h = 0u; h < 2u; h++) {
        for (var w = 0u; w < 4u; w++) {
            let i = base + h * 32u + w * 8u;
            if (i < p.n) {
                let r = (b[w] >> (16u * h)) & 0xffffu;
                out[i] = src[p.src_offset + i] * select(0.0, p.scale, r >= p.threshold);
            }
        }
    }
}
