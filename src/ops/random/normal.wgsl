// float32 standard normals with integer arithmetic only: the same exact integer steps as
// src/ops/random/normal.rs (read its header for the method), so the same bits as the CPU.
// The two must change together. WGSL has no 64-bit integers: a 64-bit value is a
// vec2<u32> (high word, low word), and the CPU's 64-bit division and square root become
// bit-by-bit loops that give the same floors. Uses `mulhi` and `shl64` of philox.wgsl.

// A non-negative number m * 2^e with bit 31 of m set, or zero when m == 0.
struct Sf {
    m: u32,
    e: i32,
};

const LN2_Q32: u32 = 0xB17217F8u;                       // ln 2 * 2^32
const PI_4_M: u32 = 0xC90FDAA2u;                        // pi / 4 * 2^32 (exponent -32)
const SQRT2_Q63: vec2<u32> = vec2<u32>(0xB504F333u, 0xF9DE6484u);
const ATANH_Q31 = array<u32, 7>(0x80000000u, 0x2AAAAAABu, 0x1999999Au, 0x12492492u,
                                0x0E38E38Eu, 0x0BA2E8BAu, 0x09D89D8Au);
const SIN_Q32 = array<u32, 6>(0x2AAAAAABu, 0x0CCCCCCDu, 0x06186186u, 0x038E38E4u,
                              0x0253C825u, 0x01A41A42u);
const COS_Q32 = array<u32, 6>(0x80000000u, 0x15555555u, 0x08888889u, 0x04924925u,
                              0x02D82D83u, 0x01F07C1Fu);

fn mul64(a: u32, b: u32) -> vec2<u32> {
    return vec2<u32>(mulhi(a, b), a * b);
}

// v >> s for any s (0 from 64 on).
fn shr64(v: vec2<u32>, s: u32) -> vec2<u32> {
    if (s == 0u) {
        return v;
    }
    if (s >= 64u) {
        return vec2<u32>(0u, 0u);
    }
    if (s >= 32u) {
        return vec2<u32>(0u, v.x >> (s - 32u));
    }
    return vec2<u32>(v.x >> s, (v.y >> s) | (v.x << (32u - s)));
}

fn less64(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.x < b.x || (a.x == b.x && a.y < b.y);
}

fn sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    return vec2<u32>(a.x - b.x - select(0u, 1u, a.y < b.y), a.y - b.y);
}

fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.y + b.y;
    return vec2<u32>(a.x + b.x + select(0u, 1u, lo < a.y), lo);
}

// v * 2^e as an Sf, keeping the top 32 bits of v.
fn norm64(v: vec2<u32>, e: i32) -> Sf {
    if (v.x == 0u && v.y == 0u) {
        return Sf(0u, 0);
    }
    var z = countLeadingZeros(v.x);
    if (v.x == 0u) {
        z = 32u + countLeadingZeros(v.y);
    }
    return Sf(shl64(v.x, v.y, z).x, e - i32(z) + 32);
}

fn sf_mul(a: Sf, b: Sf) -> Sf {
    if (a.m == 0u || b.m == 0u) {
        return Sf(0u, 0);
    }
    return norm64(mul64(a.m, b.m), a.e + b.e);
}

// a + b or a - b for nonzero a > b with a.e >= b.e, aligned in 64 bits.
fn sf_add(a: Sf, b: Sf, subtract: bool) -> Sf {
    let x = vec2<u32>(a.m >> 1u, a.m << 31u);
    let y = shr64(vec2<u32>(b.m >> 1u, b.m << 31u), u32(a.e - b.e));
    var r = add64(x, y);
    if (subtract) {
        r = sub64(x, y);
    }
    return norm64(r, a.e - 31);
}

// floor(a^2 * 2^32) for a < 1 (so a.e <= -32).
fn square_q32(a: Sf) -> u32 {
    let s = u32(-2 * a.e - 32);                  // 32 or more
    if (s >= 64u) {
        return 0u;
    }
    return mulhi(a.m, a.m) >> (s - 32u);
}

// floor(n * 2^31 / d) for d >= 2^31 (so the quotient fits): restoring division of the
// 64-bit (n >> 1, n << 31) one bit at a time; the remainder stays below d.
fn div_q31(n: u32, d: u32) -> u32 {
    var r = n >> 1u;
    let lo = n << 31u;
    var q = 0u;
    for (var i = 0u; i < 32u; i++) {
        let carry = r >> 31u;
        r = (r << 1u) | ((lo >> (31u - i)) & 1u);
        q = q << 1u;
        if (carry != 0u || r >= d) {
            r = r - d;
            q = q | 1u;
        }
    }
    return q;
}

// floor(sqrt(x)) for a 64-bit x, bit by bit from the top.
fn isqrt64(x: vec2<u32>) -> u32 {
    var root = 0u;
    for (var i = 0u; i < 32u; i++) {
        let c = root | (0x80000000u >> i);
        if (!less64(x, mul64(c, c))) {
            root = c;
        }
    }
    return root;
}

// sqrt(-2 ln(k 2^-53)) for 1 <= k <= 2^53, k = (hi, lo).
fn radius(k: vec2<u32>) -> Sf {
    var lz = countLeadingZeros(k.x);
    if (k.x == 0u) {
        lz = 32u + countLeadingZeros(k.y);
    }
    let msb = 63 - i32(lz);
    let kk = shl64(k.x, k.y, lz);
    var n: i32;
    var big_n: vec2<u32>;
    var d: u32;
    let below = !less64(kk, SQRT2_Q63);          // K / A < 1, measured from A = 2^64
    if (below) {
        n = 52 - msb;
        big_n = sub64(vec2<u32>(0u, 0u), kk);    // 2^64 - K
        d = 0x80000000u + (kk.x >> 1u);
    } else {
        n = 53 - msb;
        big_n = vec2<u32>(kk.x - 0x80000000u, kk.y);
        d = 0x40000000u + (kk.x >> 1u);
    }
    var t = Sf(0u, 0);
    if (big_n.x != 0u || big_n.y != 0u) {
        let nn = norm64(big_n, 0);
        let q = div_q31(nn.m, d);
        let s = norm64(vec2<u32>(0u, q), nn.e - 64);
        let z = square_q32(s);
        var p = ATANH_Q31[6];
        for (var j = 5i; j >= 0; j--) {
            p = ATANH_Q31[j] + mulhi(z, p);
        }
        t = sf_mul(s, Sf(p, -30));
    }
    var l = t;
    if (n != 0) {
        let nl = norm64(mul64(u32(n), LN2_Q32), -32);
        if (t.m == 0u) {
            l = nl;
        } else {
            l = sf_add(nl, t, !below);
        }
    }
    if (l.m == 0u) {
        return Sf(0u, 0);
    }
    let e = l.e + 1;
    if ((e & 1) == 0) {
        return Sf(isqrt64(vec2<u32>(l.m, 0u)), (e - 32) / 2);
    }
    return Sf(isqrt64(vec2<u32>(l.m >> 1u, l.m << 31u)), (e - 31) / 2);
}

// A magnitude and whether it is negative.
struct Signed {
    v: Sf,
    neg: bool,
};

// (cos, sin) of 2 pi m 2^-53 for m = (hi: 21 bits, lo) below 2^53.
fn turn(m: vec2<u32>) -> array<Signed, 2> {
    let o = m.x >> 18u;
    let rem = vec2<u32>(m.x & 0x3FFFFu, m.y);
    var f = rem;
    var q = o / 2u;
    let flip = (o & 1u) == 1u;
    if (flip) {
        f = sub64(vec2<u32>(0x40000u, 0u), rem);   // 2^50 - rem
        q = (o + 1u) / 2u;
    }
    let a = sf_mul(norm64(f, -50), Sf(PI_4_M, -32));
    var z = 0u;
    if (a.m != 0u) {
        z = square_q32(a);
    }
    var s = 0x80000000u;
    var c = 0x80000000u;
    for (var j = 5i; j >= 0; j--) {
        s = 0x80000000u - mulhi(mulhi(z, SIN_Q32[j]), s);
        c = 0x80000000u - mulhi(mulhi(z, COS_Q32[j]), c);
    }
    let sin_a = sf_mul(a, norm64(vec2<u32>(0u, s), -31));
    let cos_a = norm64(vec2<u32>(0u, c), -31);
    switch (q & 3u) {
        case 0u: { return array<Signed, 2>(Signed(cos_a, false), Signed(sin_a, flip)); }
        case 1u: { return array<Signed, 2>(Signed(sin_a, !flip), Signed(cos_a, false)); }
        case 2u: { return array<Signed, 2>(Signed(cos_a, true), Signed(sin_a, !flip)); }
        default: { return array<Signed, 2>(Signed(sin_a, flip), Signed(cos_a, true)); }
    }
}

// The float32 bits of +-x, rounding the 32-bit mantissa half up; zero is +0.0.
fn f32_bits(x: Sf, neg: bool) -> u32 {
    if (x.m == 0u) {
        return 0u;
    }
    var mant = (x.m >> 8u) + ((x.m >> 7u) & 1u);
    var e = x.e;
    if (mant == 0x1000000u) {
        mant = 0x800000u;
        e = e + 1;
    }
    return select(0u, 0x80000000u, neg) | (u32(e + 158) << 23u) | (mant & 0x7FFFFFu);
}

// The float32 pair (r cos 2 pi u2, r sin 2 pi u2) of one Philox block, as bits:
// u1 = 1 - (b0:b1 >> 11) 2^-53, u2 = (b2:b3 >> 11) 2^-53.
fn normal_pair_bits(b: vec4<u32>) -> vec2<u32> {
    // k = 2^53 - m1 with m1 = (b0:b1) >> 11.
    let m1 = vec2<u32>(b.x >> 11u, (b.x << 21u) | (b.y >> 11u));
    let k = sub64(vec2<u32>(0x200000u, 0u), m1);
    let r = radius(k);
    let cs = turn(vec2<u32>(b.z >> 11u, (b.z << 21u) | (b.w >> 11u)));
    return vec2<u32>(f32_bits(sf_mul(r, cs[0].v), cs[0].neg), f32_bits(sf_mul(r, cs[1].v), cs[1].neg));
}
