// Random fills from Philox4x32-10, element for element the CPU's numbers (src/random.rs,
// src/ops/random/cpu.rs). The host prepends philox_core.wgsl (Philox itself, shared
// with dropout) and appends normal.wgsl (randn) to this source.
//
// Element i of a draw comes from counter block i / E of the stream (seed, offset), where
// E is 4 for rand (one 32-bit word each) and raw words, 2 for randn and randint (64 bits
// each). One invocation computes one block and writes its E elements.
//
// MODE (an override, so each pipeline keeps one branch):
//   0 rand float32: (w >> 8) * 2^-24, exact in f32, so bitwise the CPU's value
//   1 randn float32: Box-Muller in integers (normal.wgsl), bitwise the CPU's value
//   2 randint into int32 words (int64 on the GPU)  3 randint into float32
//   4 randint into bool                             5 the raw words (tests)
//   6 randn of blocks given in `out` (tests)

struct Params {
    n: u32,            // elements to write
    blocks: u32,       // counter blocks to compute (= ceil(n / E))
    seed_lo: u32,
    seed_hi: u32,
    offset_lo: u32,
    offset_hi: u32,
    first_lo: u32,     // counter of the first block (0 for a fresh draw; tests start high)
    first_hi: u32,
    low: i32,          // randint: the lowest value
    range: u32,        // randint: high - low, or 0 meaning 2^32
    _pad0: u32,
    _pad1: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

override MODE: u32 = 0u;

// ----------------------------------------------------------------------------- 64-bit

// Shifts the 64-bit value (hi, lo) left by s in 0..=63.
fn shl64(hi: u32, lo: u32, s: u32) -> vec2<u32> {
    if (s == 0u) {
        return vec2<u32>(hi, lo);
    }
    if (s >= 32u) {
        return vec2<u32>(lo << (s - 32u), 0u);
    }
    return vec2<u32>((hi << s) | (lo >> (32u - s)), lo << s);
}

// ----------------------------------------------------------------------------- randint

// floor(w * R / 2^64) for w = (hi:lo) and R = p.range (0 meaning 2^32), as the CPU's
// 128-bit multiply-shift: w * R = hi R 2^32 + lo R, and only the carry of the middle
// word reaches the top.
fn scale_range(hi: u32, lo: u32) -> u32 {
    let r = p.range;
    if (r == 0u) {
        return hi;
    }
    let pl = hi * r;
    let qh = mulhi(lo, r);
    return mulhi(hi, r) + select(0u, 1u, pl + qh < pl);
}

// int32 to float32 rounded to nearest even, as Rust's `as f32`: both halves convert
// exactly, the product is exact and the one addition rounds once.
fn i32_to_f32(v: i32) -> f32 {
    return f32(v >> 16u) * 65536.0 + f32(v & 0xffff);
}

fn randint_word(hi: u32, lo: u32) -> u32 {
    let v = bitcast<i32>(bitcast<u32>(p.low) + scale_range(hi, lo));
    if (MODE == 3u) {
        return bitcast<u32>(i32_to_f32(v));
    }
    if (MODE == 4u) {
        return select(0u, 1u, v != 0);
    }
    return bitcast<u32>(v);
}

// ----------------------------------------------------------------------------- main

fn put(i: u32, w: u32) {
    if (i < p.n) {
        out[i] = w;
    }
}

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
    if (MODE == 0u || MODE == 5u) {
        let i = 4u * j;
        for (var t = 0u; t < 4u; t++) {
            var w = b[t];
            if (MODE == 0u) {
                w = bitcast<u32>(f32(w >> 8u) * 5.9604645e-8);   // 2^-24
            }
            put(i + t, w);
        }
    } else if (MODE == 1u) {
        let z = normal_pair_bits(b);
        put(2u * j, z.x);
        put(2u * j + 1u, z.y);
    } else if (MODE == 6u) {
        // Tests: the block comes from out[4j..4j + 4], the pair goes to out[4j], out[4j + 1].
        let z = normal_pair_bits(vec4<u32>(out[4u * j], out[4u * j + 1u], out[4u * j + 2u], out[4u * j + 3u]));
        out[4u * j] = z.x;
        out[4u * j + 1u] = z.y;
    } else {
        put(2u * j, randint_word(b.x, b.y));
        put(2u * j + 1u, randint_word(b.z, b.w));
    }
}
