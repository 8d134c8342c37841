//! float32 standard normals that every device computes to the same bits.
//!
//! Box-Muller on one Philox block, as the float64 path does: u1 = k 2^-53 in (0, 1] with
//! k = 2^53 - (b0:b1 >> 11), u2 = m 2^-53 in [0, 1) with m = b2:b3 >> 11, and the pair
//! (r cos 2 pi u2, r sin 2 pi u2) with r = sqrt(-2 ln u1). WGSL has no float64, its
//! log/sin/cos/sqrt/division are not correctly rounded and a driver may fuse a * b + c,
//! so float arithmetic cannot give the same bits on every device. This evaluates the
//! formula with integers only: every step is an exact integer function (products,
//! floor divisions, floor square roots, shifts that drop low bits), so the GPU
//! (`normal.wgsl`, which emulates the 64-bit steps with 32-bit words) lands on the same
//! bits as this file. The two must change together.
//!
//! Numbers are small software floats [`Sf`]: a 32-bit mantissa with its top bit set and a
//! binary exponent, so tiny radii and angles keep their relative precision. Every step
//! truncates to 32 bits (a relative error below 2^-31 each); the result is within about
//! 2^-28 relative of the exact Box-Muller value before the final rounding to float32
//! (round half up on the 32-bit mantissa), so within 0.6 ulp of it.
//!
//! - ln: k = K 2^(msb - 63) with K's top bit at 63; against the reference A = 2^63 (when
//!   K < sqrt(2) 2^63) or A = 2^64, u1 = (K / A) 2^-n, so -ln u1 = n ln 2 + 2 atanh(s)
//!   with s = (A - K) / (A + K), |s| <= 0.172. A - K is exact, so u1 near 1 keeps its
//!   relative precision; atanh is its Taylor series to s^13 (error below 2^-36).
//! - sqrt: the floor square root of the mantissa widened to 64 bits.
//! - cos/sin: the top three bits of m pick the octant exactly; the angle left, a in
//!   [0, pi/4], goes through Taylor series to a^13 (sin) and a^12 (cos), written as nested
//!   1 - (a^2 / c)(...) factors so every partial value lies in [0, 1] (unsigned).

/// A non-negative number `m * 2^e`, with bit 31 of `m` set, or zero when `m == 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sf {
    pub m: u32,
    pub e: i32,
}

const ZERO: Sf = Sf { m: 0, e: 0 };
/// ln 2 * 2^32, rounded.
const LN2_Q32: u64 = 0xB172_17F8;
/// pi / 4 as an [`Sf`]: round(pi / 4 * 2^32) * 2^-32.
const PI_4: Sf = Sf {
    m: 0xC90F_DAA2,
    e: -32,
};
/// floor(sqrt(2) * 2^63): K below it is measured from 2^63, K at or above from 2^64.
const SQRT2_Q63: u64 = 0xB504_F333_F9DE_6484;
/// round(2^31 / (2j + 1)) for j = 0..=6: atanh(s) / s = sum z^j / (2j + 1), z = s^2.
const ATANH_Q31: [u32; 7] = [
    0x8000_0000,
    0x2AAA_AAAB,
    0x1999_999A,
    0x1249_2492,
    0x0E38_E38E,
    0x0BA2_E8BA,
    0x09D8_9D8A,
];
/// round(2^32 / ((2j)(2j + 1))) for j = 1..=6: sin a / a = 1 - z/6 (1 - z/20 (1 - ...)).
const SIN_Q32: [u32; 6] = [
    0x2AAA_AAAB,
    0x0CCC_CCCD,
    0x0618_6186,
    0x038E_38E4,
    0x0253_C825,
    0x01A4_1A42,
];
/// round(2^32 / ((2j - 1)(2j))) for j = 1..=6: cos a = 1 - z/2 (1 - z/12 (1 - ...)).
const COS_Q32: [u32; 6] = [
    0x8000_0000,
    0x1555_5555,
    0x0888_8889,
    0x0492_4925,
    0x02D8_2D83,
    0x01F0_7C1F,
];

/// `x * 2^e` as an [`Sf`], keeping the top 32 bits of `x`.
pub(crate) fn norm64(x: u64, e: i32) -> Sf {
    if x == 0 {
        return ZERO;
    }
    let z = x.leading_zeros();
    Sf {
        m: ((x << z) >> 32) as u32,
        e: e - z as i32 + 32,
    }
}

fn mul(a: Sf, b: Sf) -> Sf {
    if a.m == 0 || b.m == 0 {
        return ZERO;
    }
    norm64(a.m as u64 * b.m as u64, a.e + b.e)
}

/// `a + b` or `a - b` for nonzero a > b with `a.e >= b.e`, aligned in 64 bits.
fn add(a: Sf, b: Sf, subtract: bool) -> Sf {
    let x = (a.m as u64) << 31;
    let y = ((b.m as u64) << 31)
        .checked_shr((a.e - b.e) as u32)
        .unwrap_or(0);
    norm64(if subtract { x - y } else { x + y }, a.e - 31)
}

/// floor(a^2 * 2^32) for a < 1 (so `a.e <= -32`).
fn square_q32(a: Sf) -> u32 {
    let p = a.m as u64 * a.m as u64;
    p.checked_shr((-2 * a.e - 32) as u32).unwrap_or(0) as u32
}

fn mulhi(a: u32, b: u32) -> u32 {
    ((a as u64 * b as u64) >> 32) as u32
}

/// sqrt(-2 ln(k 2^-53)) for 1 <= k <= 2^53.
pub(crate) fn radius(k: u64) -> Sf {
    let lz = k.leading_zeros();
    let msb = 63 - lz as i32;
    let kk = k << lz;
    // u1 = (K / A) 2^-n; N = |A - K| exactly; D = A + K as its top 32 bits (D >> 33).
    let (n, big_n, d, m_below_1) = if kk < SQRT2_Q63 {
        (
            53 - msb,
            kk - (1 << 63),
            (1u32 << 30) + (kk >> 33) as u32,
            false,
        )
    } else {
        (
            52 - msb,
            kk.wrapping_neg(),
            (1u32 << 31) + (kk >> 33) as u32,
            true,
        )
    };
    // t = 2 atanh(s) = -ln(K / A) in magnitude (negative when K / A >= 1).
    let t = if big_n == 0 {
        ZERO
    } else {
        let nn = norm64(big_n, 0);
        // floor(Nm 2^31 / Dm) lies in [2^30, 2^32): Nm and Dm both have bit 31 set.
        let q = (((nn.m as u64) << 31) / d as u64) as u32;
        let s = norm64(q as u64, nn.e - 64);
        let z = square_q32(s);
        let mut p = ATANH_Q31[6];
        for c in ATANH_Q31[..6].iter().rev() {
            p = c + mulhi(z, p);
        }
        mul(s, Sf { m: p, e: -30 }) // 2 s p, p in [2^31, 1.01 * 2^31)
    };
    let l = if n == 0 {
        t // here K / A <= 1, so t >= 0
    } else {
        let nl = norm64(n as u64 * LN2_Q32, -32);
        if t.m == 0 {
            nl
        } else {
            // n ln 2 >= 0.69 > |t|: nl is the larger, with the larger exponent.
            add(nl, t, !m_below_1)
        }
    };
    if l.m == 0 {
        return ZERO;
    }
    // sqrt(2 l): an even exponent, the mantissa widened to 64 bits, its floor square root.
    let e = l.e + 1;
    let (x, re) = if e & 1 == 0 {
        ((l.m as u64) << 32, (e - 32) / 2)
    } else {
        ((l.m as u64) << 31, (e - 31) / 2)
    };
    Sf {
        m: x.isqrt() as u32,
        e: re,
    }
}

/// (cos, sin) of 2 pi m 2^-53 for m < 2^53, each as (magnitude, negative).
pub(crate) fn turn(m: u64) -> [(Sf, bool); 2] {
    let o = (m >> 50) as u32;
    let rem = m & ((1 << 50) - 1);
    // The angle is q pi/2 + sigma a: odd octants measure back from the next multiple of
    // pi/4 (2^50 - rem is exact), so a stays in [0, pi/4].
    let (f, q, flip) = if o & 1 == 1 {
        ((1 << 50) - rem, o.div_ceil(2), true)
    } else {
        (rem, o / 2, false)
    };
    let a = mul(norm64(f, -50), PI_4);
    let z = if a.m == 0 { 0 } else { square_q32(a) };
    let mut s = 1u32 << 31;
    for g in SIN_Q32.iter().rev() {
        s = (1 << 31) - mulhi(mulhi(z, *g), s);
    }
    let mut c = 1u32 << 31;
    for g in COS_Q32.iter().rev() {
        c = (1 << 31) - mulhi(mulhi(z, *g), c);
    }
    let sin_a = mul(a, norm64(s as u64, -31));
    let cos_a = norm64(c as u64, -31);
    match q & 3 {
        0 => [(cos_a, false), (sin_a, flip)],
        1 => [(sin_a, !flip), (cos_a, false)],
        2 => [(cos_a, true), (sin_a, !flip)],
        _ => [(sin_a, flip), (cos_a, true)],
    }
}

/// The float32 bits of +-x, rounding the 32-bit mantissa half up; zero is +0.0.
pub(crate) fn f32_bits(x: Sf, negative: bool) -> u32 {
    if x.m == 0 {
        return 0;
    }
    let mut mant = (x.m >> 8) + ((x.m >> 7) & 1);
    let mut e = x.e;
    if mant == 1 << 24 {
        mant = 1 << 23;
        e += 1;
    }
    // x = 1.f * 2^(e + 31): biased exponent e + 31 + 127 (radii and angles keep it in
    // range: |x| < 9 and |x| > 2^-78).
    ((negative as u32) << 31) | (((e + 158) as u32) << 23) | (mant & 0x7f_ffff)
}

/// The float32 pair (r cos 2 pi u2, r sin 2 pi u2) of one Philox block, as bits.
pub fn normal_pair_f32_bits(b: [u32; 4]) -> [u32; 2] {
    let m1 = (((b[0] as u64) << 32) | b[1] as u64) >> 11;
    let m2 = (((b[2] as u64) << 32) | b[3] as u64) >> 11;
    let r = radius((1 << 53) - m1);
    turn(m2).map(|(v, neg)| f32_bits(mul(r, v), neg))
}

/// The float32 pair of one Philox block.
pub fn normal_pair_f32(b: [u32; 4]) -> [f32; 2] {
    normal_pair_f32_bits(b).map(f32::from_bits)
}
