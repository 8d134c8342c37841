// Random fills from Philox4x32-10, element for element the CPU's numbers (src/random.rs,
// src/ops/random/cpu.rs).
//
// Element i of a draw comes from counter block i / E of the stream (seed, offset), where
// E is 4 for rand (one 32-bit word each) and raw words, 2 for randn and randint (64 bits
// each). One invocation computes one block and writes its E elements. WGSL has no 64-bit
// integers: the counter is two u32 words with a hand-made carry, and Philox's 32x32->64
// products are built from 16-bit halves.
//
// MODE (an override, so each pipeline keeps one branch):
//   0 rand float32: (w >> 8) * 2^-24, exact in f32, so bitwise the CPU's value
//   1 randn float32: Box-Muller in f32 (see randn_pair; within ~1e-6 of the CPU's f64)
//   2 randint into int32 words (int64 on the GPU)  3 randint into float32
//   4 randint into bool                             5 the raw words (tests)

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

const M0: u32 = 0xD2511F53u;
const M1: u32 = 0xCD9E8D57u;
const W0: u32 = 0x9E3779B9u;
const W1: u32 = 0xBB67AE85u;

// The high 32 bits of the 64-bit product a * b (the low ones are plain a * b).
fn mulhi(a: u32, b: u32) -> u32 {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    // Bits 16..31 of the product plus their carry: three terms below 2^16, no overflow.
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    return a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}

fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var r = 0u; r < 10u; r++) {
        let hi0 = mulhi(M0, c.x);
        let lo0 = M0 * c.x;
        let hi1 = mulhi(M1, c.z);
        let lo1 = M1 * c.z;
        c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k = k + vec2<u32>(W0, W1);
    }
    return c;
}

// ----------------------------------------------------------------------------- randn

const LN2_HI: f32 = 6.9313812256e-01;   // 0x3f317180: 17 bits, so n * LN2_HI is exact
const LN2_LO: f32 = 9.0580006145e-06;   // ln 2 - LN2_HI
const SQRT2: f32 = 1.41421356;
const PIO4: f32 = 0.785398163397;

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

// -ln(k * 2^-53) for an integer 1 <= k <= 2^53 given as (hi, lo) words, with a relative
// error of a few f32 ulps. The exponent of k is exact (an integer); its leading 48 bits
// become m_hi + m_lo (each exact in f32), and ln(m_hi) is 2 atanh(s), s = (m-1)/(m+1).
fn neg_ln_u53(hi: u32, lo: u32) -> f32 {
    var e: i32;
    if (hi != 0u) {
        e = i32(firstLeadingBit(hi)) + 32;
    } else {
        e = i32(firstLeadingBit(lo));
    }
    let nrm = shl64(hi, lo, u32(63 - e));           // leading bit at 63
    var m_hi = f32(nrm.x >> 8u) * 1.1920929e-7;      // top 24 bits, in [1, 2)
    var m_lo = f32(((nrm.x & 0xffu) << 16u) | (nrm.y >> 16u)) * 7.1054274e-15; // * 2^-47
    if (m_hi > SQRT2) {
        m_hi = m_hi * 0.5;
        m_lo = m_lo * 0.5;
        e = e + 1;
    }
    let s2 = 2.0 * (m_hi - 1.0) / (m_hi + 1.0);      // m_hi - 1 is exact
    let z = 0.25 * s2 * s2;
    let poly = z * (1.0 / 3.0 + z * (1.0 / 5.0 + z * (1.0 / 7.0 + z * (1.0 / 9.0 + z * (1.0 / 11.0)))));
    let ln_m = s2 + s2 * poly + m_lo / m_hi;         // ln(m_hi + m_lo)
    let n = f32(53 - e);
    return (n * LN2_HI - ln_m) + n * LN2_LO;
}

// sin and cos of a in [-pi/4, pi/4] (Taylor to a^9 and a^10: error below 2e-9).
fn sincos_small(a: f32) -> vec2<f32> {
    let z = a * a;
    let s = a + a * z * (-1.0 / 6.0 + z * (1.0 / 120.0 + z * (-1.0 / 5040.0 + z * (1.0 / 362880.0))));
    let c = 1.0 - 0.5 * z + z * z * (1.0 / 24.0 + z * (-1.0 / 720.0 + z * (1.0 / 40320.0 + z * (-1.0 / 3628800.0))));
    return vec2<f32>(s, c);
}

// (cos, sin) of 2 pi m * 2^-53 for a 53-bit integer m = (hi: 21 bits, lo). The octant is
// read off the top three bits exactly, so only an angle below pi/4 meets f32 rounding.
fn turn_cos_sin(hi: u32, lo: u32) -> vec2<f32> {
    let o = hi >> 18u;
    var rh = hi & 0x3ffffu;                          // 50 bits left: rh * 2^32 + rl
    var rl = lo;
    var q = o / 2u;
    var sign = 1.0;
    if ((o & 1u) == 1u) {
        // Measure from the next multiple of pi/4 backwards: 2^50 - rem, exactly.
        rh = 0x40000u - rh - select(0u, 1u, rl != 0u);
        rl = 0u - rl;
        q = q + 1u;
        sign = -1.0;
    }
    let f = f32(rh) * 3.8146973e-6 + f32(rl) * 8.8817842e-16;   // 2^-18, 2^-50
    let sc = sincos_small(sign * PIO4 * f);
    let s = sc.x;
    let c = sc.y;
    switch (q & 3u) {
        case 0u: { return vec2<f32>(c, s); }
        case 1u: { return vec2<f32>(-s, c); }
        case 2u: { return vec2<f32>(-c, -s); }
        default: { return vec2<f32>(s, -c); }
    }
}

// The CPU's randn pair from one block: u1 = 1 - (b0:b1 >> 11) * 2^-53 in (0, 1],
// u2 = (b2:b3 >> 11) * 2^-53, r = sqrt(-2 ln u1), (r cos 2 pi u2, r sin 2 pi u2).
fn randn_pair(b: vec4<u32>) -> vec2<f32> {
    // k = 2^53 - m1 with m1 = (b0:b1) >> 11, as (hi, lo) words.
    let mh = b.x >> 11u;
    let ml = (b.x << 21u) | (b.y >> 11u);
    let kl = 0u - ml;
    let kh = 0x200000u - mh - select(0u, 1u, ml != 0u);
    let r = sqrt(2.0 * neg_ln_u53(kh, kl));
    let cs = turn_cos_sin(b.z >> 11u, (b.z << 21u) | (b.w >> 11u));
    return r * cs;
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
    // Counter = first + j over 64 bits.
    let c_lo = p.first_lo + j;
    let c_hi = p.first_hi + select(0u, 1u, c_lo < j);
    let b = philox(vec4<u32>(c_lo, c_hi, p.offset_lo, p.offset_hi), vec2<u32>(p.seed_lo, p.seed_hi));
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
        let z = randn_pair(b);
        put(2u * j, bitcast<u32>(z.x));
        put(2u * j + 1u, bitcast<u32>(z.y));
    } else {
        put(2u * j, randint_word(b.x, b.y));
        put(2u * j + 1u, randint_word(b.z, b.w));
    }
}
