//! Scalar math used by the elementwise kernels: the per-dtype arithmetic with Python's
//! floor semantics, and functions Rust's std lacks (erf).

use std::f64::consts::PI;

/// erf(x) to about 1e-15 relative error.
///
/// |x| < 2.5: erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)),
/// a series of positive terms, so no cancellation.
/// |x| >= 2.5: erfc from its continued fraction
/// erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
/// evaluated bottom-up with a fixed depth that converges for x >= 2.5.
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    if ax > 6.0 {
        return x.signum();
    }
    let r = if ax < 2.5 {
        let x2 = ax * ax;
        let mut term = ax;
        let mut sum = ax;
        let mut n = 0.0;
        while term > sum * 1e-17 {
            n += 1.0;
            term *= 2.0 * x2 / (2.0 * n + 1.0);
            sum += term;
        }
        2.0 / PI.sqrt() * (-x2).exp() * sum
    } else {
        let mut t = ax;
        for k in (1..=60).rev() {
            t = ax + (k as f64 * 0.5) / t;
        }
        1.0 - (-ax * ax).exp() / PI.sqrt() / t
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// log(exp(a) + exp(b)) without overflow: max + log1p(exp(-|a - b|)); equal infinities
/// give themselves (inf - inf would be NaN).
pub fn logaddexp(a: f64, b: f64) -> f64 {
    if a == b {
        return a + std::f64::consts::LN_2;
    }
    let m = a.max(b);
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    m + (-(a - b).abs()).exp().ln_1p()
}

/// GELU, exact form: x * Phi(x) = x/2 * (1 + erf(x/sqrt(2))).
pub fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + erf(x * std::f64::consts::FRAC_1_SQRT_2))
}

/// GELU, tanh approximation: x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))).
pub fn gelu_tanh(x: f64) -> f64 {
    let c = (2.0 / PI).sqrt();
    0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
}

/// Arithmetic whose semantics differ between dtypes (floor division, modulo, power),
/// following NumPy: integer division by zero gives 0 rather than trapping.
pub trait Arith: Copy {
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn floordiv(self, o: Self) -> Self;
    fn rem(self, o: Self) -> Self;
    fn pow(self, o: Self) -> Self;
    fn maximum(self, o: Self) -> Self;
    fn minimum(self, o: Self) -> Self;
}

macro_rules! float_arith {
    ($t:ty) => {
        impl Arith for $t {
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self + o
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                self - o
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self * o
            }
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                self / o
            }
            /// Python's and NumPy's float floor division: from the C remainder
            /// m = fmod(a, b) (exact, and finite for a finite a), (a - m) / b is an
            /// integer up to rounding, less 1 where m and b differ in sign. This keeps
            /// 1 // -inf = -1 and -1 // inf = -1 (a - m would be inf - inf with the
            /// floored remainder), and gives a zero quotient the sign of a / b.
            #[inline]
            fn floordiv(self, o: Self) -> Self {
                if o == 0.0 {
                    return self / o;
                }
                let m = self % o;
                let mut q = (self - m) / o;
                if m != 0.0 && ((o < 0.0) != (m < 0.0)) {
                    q -= 1.0;
                }
                if q == 0.0 {
                    return (0.0 as $t).copysign(self / o);
                }
                let f = q.floor();
                if q - f > 0.5 {
                    f + 1.0
                } else {
                    f
                }
            }
            #[inline]
            fn rem(self, o: Self) -> Self {
                let r = self % o;
                if r != 0.0 && ((r < 0.0) != (o < 0.0)) {
                    r + o
                } else if r == 0.0 {
                    (0.0 as $t).copysign(o)
                } else {
                    r
                }
            }
            #[inline]
            fn pow(self, o: Self) -> Self {
                self.powf(o)
            }
            #[inline(always)]
            fn maximum(self, o: Self) -> Self {
                if self.is_nan() || o.is_nan() {
                    <$t>::NAN
                } else if self > o {
                    self
                } else {
                    o
                }
            }
            #[inline(always)]
            fn minimum(self, o: Self) -> Self {
                if self.is_nan() || o.is_nan() {
                    <$t>::NAN
                } else if self < o {
                    self
                } else {
                    o
                }
            }
        }
    };
}
float_arith!(f32);
float_arith!(f64);

/// Integer arithmetic, wrapping as NumPy's; for unsigned types the sign tests are
/// constant false and fold away.
macro_rules! int_arith {
    ($($t:ty),*) => {$(
        #[allow(unused_comparisons)]
        impl Arith for $t {
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn div(self, o: Self) -> Self {
                self.floordiv(o)
            }
            #[inline]
            fn floordiv(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let q = self.wrapping_div(o);
                if self.wrapping_rem(o) != 0 && ((self < 0) != (o < 0)) {
                    q.wrapping_sub(1)
                } else {
                    q
                }
            }
            #[inline]
            fn rem(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let r = self.wrapping_rem(o);
                if r != 0 && ((r < 0) != (o < 0)) {
                    r.wrapping_add(o)
                } else {
                    r
                }
            }
            fn pow(self, o: Self) -> Self {
                // negative exponents are rejected before the kernel runs
                let e = if o < 0 { 0 } else if (o as u64) > u32::MAX as u64 { u32::MAX } else { o as u32 };
                self.wrapping_pow(e)
            }
            #[inline(always)]
            fn maximum(self, o: Self) -> Self {
                self.max(o)
            }
            #[inline(always)]
            fn minimum(self, o: Self) -> Self {
                self.min(o)
            }
        }
    )*};
}
int_arith!(i8, i16, i32, i64, u8, u16, u32, u64);

/// float16 and bfloat16 compute in float32 and round once on store.
macro_rules! half_arith {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            fn add(self, o: Self) -> Self {
                <$t>::from_f32(self.to_f32().add(o.to_f32()))
            }
            fn sub(self, o: Self) -> Self {
                <$t>::from_f32(self.to_f32().sub(o.to_f32()))
            }
            fn mul(self, o: Self) -> Self {
                <$t>::from_f32(self.to_f32().mul(o.to_f32()))
            }
            fn div(self, o: Self) -> Self {
                <$t>::from_f32(self.to_f32().div(o.to_f32()))
            }
            fn floordiv(self, o: Self) -> Self {
                <$t>::from_f32(self.to_f32().floordiv(o.to_f32()))
            }
            fn rem(self, o: Self) -> Self {
                <$t>::from_f32(self.to_f32().rem(o.to_f32()))
            }
            fn pow(self, o: Self) -> Self {
                <$t>::from_f32(Arith::pow(self.to_f32(), o.to_f32()))
            }
            fn maximum(self, o: Self) -> Self {
                <$t>::from_f32(Arith::maximum(self.to_f32(), o.to_f32()))
            }
            fn minimum(self, o: Self) -> Self {
                <$t>::from_f32(Arith::minimum(self.to_f32(), o.to_f32()))
            }
        }
    )*};
}
half_arith!(half::f16, half::bf16);

/// Complex arithmetic through num_complex. The orderings (floor division, remainder,
/// maximum, minimum) are not defined for complex numbers: the op layer rejects them
/// before a kernel runs, and these give NaN should one slip through.
macro_rules! complex_arith {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                <$t>::new(self.re + o.re, self.im + o.im)
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                <$t>::new(self.re - o.re, self.im - o.im)
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                <$t>::from_num(self.to_num() * o.to_num())
            }
            #[inline]
            fn div(self, o: Self) -> Self {
                <$t>::from_num(crate::ops::complex::div(self.to_num(), o.to_num()))
            }
            fn floordiv(self, _o: Self) -> Self {
                <$t>::new(f64::NAN as _, f64::NAN as _)
            }
            fn rem(self, _o: Self) -> Self {
                <$t>::new(f64::NAN as _, f64::NAN as _)
            }
            fn pow(self, o: Self) -> Self {
                <$t>::from_num(crate::ops::complex::pow(self.to_num(), o.to_num()))
            }
            fn maximum(self, _o: Self) -> Self {
                <$t>::new(f64::NAN as _, f64::NAN as _)
            }
            fn minimum(self, _o: Self) -> Self {
                <$t>::new(f64::NAN as _, f64::NAN as _)
            }
        }
    )*};
}
complex_arith!(crate::tensor::Complex64, crate::tensor::Complex128);

impl Arith for bool {
    fn add(self, o: Self) -> Self {
        self | o
    }
    fn sub(self, o: Self) -> Self {
        self ^ o
    }
    fn mul(self, o: Self) -> Self {
        self & o
    }
    fn div(self, o: Self) -> Self {
        self & o
    }
    fn floordiv(self, o: Self) -> Self {
        self & o
    }
    fn rem(self, _o: Self) -> Self {
        false
    }
    fn pow(self, o: Self) -> Self {
        self | !o
    }
    fn maximum(self, o: Self) -> Self {
        self | o
    }
    fn minimum(self, o: Self) -> Self {
        self & o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        // erf(0.5), erf(1), erf(2), erf(3) to 15 digits (Abramowitz & Stegun table 7.1)
        let cases = [
            (0.5, 0.520499877813047),
            (1.0, 0.842700792949715),
            (2.0, 0.995322265018953),
            (3.0, 0.999977909503001),
        ];
        for (x, want) in cases {
            assert!((erf(x) - want).abs() < 1e-14, "erf({x}) = {}", erf(x));
            assert!((erf(-x) + want).abs() < 1e-14);
        }
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(10.0), 1.0);
    }

    #[test]
    fn floor_semantics_match_python() {
        assert_eq!((-7i64).floordiv(2), -4);
        assert_eq!((-7i64).rem(2), 1);
        assert_eq!(7i64.rem(-2), -1);
        assert_eq!(5i64.floordiv(0), 0);
        assert_eq!((-7.0f64).floordiv(2.0), -4.0);
        assert_eq!((-7.0f64).rem(2.0), 1.0);
        assert_eq!((7.5f64).rem(-2.0), -0.5);
    }

    #[test]
    fn float_floordiv_matches_python_at_infinities_and_zeros() {
        let inf = f64::INFINITY;
        // (a, b, a // b in Python)
        let cases = [
            (1.0, -inf, -1.0),
            (-1.0, inf, -1.0),
            (1.0, inf, 0.0),
            (-1.0, -inf, 0.0),
            (7.0, 2.0, 3.0),
            (-7.0, 2.0, -4.0),
            (7.0, -2.0, -4.0),
            (1e308, 1e-308, inf),
        ];
        for (a, b, want) in cases {
            assert_eq!(a.floordiv(b), want, "{a} // {b}");
            assert_eq!(
                (a as f32).floordiv(b as f32),
                want as f32,
                "{a} // {b} (f32)"
            );
        }
        assert!(0.0f64.floordiv(-inf).is_sign_negative());
        assert!((-1.0f64).floordiv(-inf).is_sign_positive());
        assert!(inf.floordiv(1.0).is_nan());
        assert!(f64::NAN.floordiv(1.0).is_nan());
    }
}

/// Float functions for f32 and f64 (f32 uses the f32 libm routines directly, except erf
/// which is computed in f64).
pub trait FloatMath: crate::tensor::Element + Arith + ExpSlice {
    fn exp_(self) -> Self;
    fn ln_(self) -> Self;
    fn ln_1p_(self) -> Self;
    fn exp_m1_(self) -> Self;
    fn sqrt_(self) -> Self;
    fn sin_(self) -> Self;
    fn cos_(self) -> Self;
    fn tanh_(self) -> Self;
    fn floor_(self) -> Self;
    fn ceil_(self) -> Self;
    fn round_(self) -> Self;
    fn abs_(self) -> Self;
    fn sign_(self) -> Self;
    fn sigmoid_(self) -> Self;
    fn erf_(self) -> Self;
    fn gelu_(self) -> Self;
    fn gelu_tanh_(self) -> Self;
    fn is_inf_(self) -> bool;
    fn is_finite_(self) -> bool;
    /// The next representable value after self toward o (C's nextafter).
    fn next_after_(self, o: Self) -> Self;
}

macro_rules! float_math {
    ($t:ty) => {
        impl FloatMath for $t {
            #[inline(always)]
            fn exp_(self) -> Self {
                self.exp()
            }
            #[inline(always)]
            fn ln_(self) -> Self {
                self.ln()
            }
            #[inline(always)]
            fn ln_1p_(self) -> Self {
                self.ln_1p()
            }
            #[inline(always)]
            fn exp_m1_(self) -> Self {
                self.exp_m1()
            }
            #[inline(always)]
            fn sqrt_(self) -> Self {
                self.sqrt()
            }
            #[inline(always)]
            fn sin_(self) -> Self {
                self.sin()
            }
            #[inline(always)]
            fn cos_(self) -> Self {
                self.cos()
            }
            #[inline(always)]
            fn tanh_(self) -> Self {
                self.tanh()
            }
            #[inline(always)]
            fn floor_(self) -> Self {
                self.floor()
            }
            #[inline(always)]
            fn ceil_(self) -> Self {
                self.ceil()
            }
            #[inline(always)]
            fn round_(self) -> Self {
                self.round_ties_even()
            }
            #[inline(always)]
            fn abs_(self) -> Self {
                self.abs()
            }
            #[inline(always)]
            fn sign_(self) -> Self {
                if self > 0.0 {
                    1.0
                } else if self < 0.0 {
                    -1.0
                } else if self == 0.0 {
                    0.0 // +0 for -0 too: the Array API (and NumPy) give sign(-0) = 0
                } else {
                    self // NaN
                }
            }
            #[inline(always)]
            fn sigmoid_(self) -> Self {
                1.0 / (1.0 + (-self).exp())
            }
            #[inline]
            fn erf_(self) -> Self {
                erf(self as f64) as $t
            }
            #[inline]
            fn gelu_(self) -> Self {
                gelu(self as f64) as $t
            }
            #[inline]
            fn gelu_tanh_(self) -> Self {
                gelu_tanh(self as f64) as $t
            }
            #[inline(always)]
            fn is_inf_(self) -> bool {
                self.is_infinite()
            }
            #[inline(always)]
            fn is_finite_(self) -> bool {
                self.is_finite()
            }
            fn next_after_(self, o: Self) -> Self {
                if self.is_nan() || o.is_nan() {
                    return <$t>::NAN;
                }
                if self == o {
                    return o; // also carries o's sign for +-0
                }
                if self == 0.0 {
                    let tiny = <$t>::from_bits(1);
                    return if o > 0.0 { tiny } else { -tiny };
                }
                let bits = self.to_bits();
                // Away from zero is one more in the magnitude bits, toward zero one less.
                let away = (o > self) == (self > 0.0);
                <$t>::from_bits(if away { bits + 1 } else { bits - 1 })
            }
        }
    };
}
float_math!(f32);
float_math!(f64);

/// exp over a float32 slice, branch-free so that it vectorises (`with_simd!`: 4, 8 or
/// 16 lanes by CPU).
///
/// exp(x) = 2^n * e^r with n = round(x log2 e) and r = x - n ln 2 (ln 2 split in a high
/// part exact in float32 and a low correction, Cody & Waite), |r| <= ln(2)/2. e^r is
/// its Taylor polynomial to degree 7 (truncation error < 5e-9 relative), and 2^n is
/// built from the exponent bits. Rounding uses the 1.5 * 2^23 trick, which needs no
/// rounding instruction. Inputs outside [-87.3, 88.0] (results that overflow, are
/// subnormal, or NaN) are redone with the library exp, block by block.
pub fn exp_f32_slice(src: &[f32], dst: &mut [f32]) {
    exp_f32_shifted(src, 0.0, dst)
}

/// dst = exp(src - shift), the subtraction fused in (softmax's exp(x - max)).
pub fn exp_f32_shifted(src: &[f32], shift: f32, dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len());
    with_simd!(crate::ops::simd::simd(), {
        for (s, d) in src.chunks(EXP_BLOCK).zip(dst.chunks_mut(EXP_BLOCK)) {
            exp_block(s, shift, d)
        }
    })
}

/// Elements per block: the out-of-range check runs once a block.
const EXP_BLOCK: usize = 256;

#[inline(always)]
fn exp_block(src: &[f32], shift: f32, dst: &mut [f32]) {
    const LO: f32 = -87.3;
    // n = round(x log2 e) must stay <= 127 for the exponent bits: 88.0 gives 127.
    const HI: f32 = 88.0;
    let mut out_of_range = false;
    for (y, &v) in dst.iter_mut().zip(src) {
        let x = v - shift;
        out_of_range |= !(x >= LO && x <= HI);
        *y = exp_f32_core(x.clamp(LO, HI));
    }
    if out_of_range {
        for (y, &v) in dst.iter_mut().zip(src) {
            let x = v - shift;
            if !(x >= LO && x <= HI) {
                *y = x.exp();
            }
        }
    }
}

/// exp(src - shift) into dst: the vectorised path for f32, libm for f64.
pub trait ExpSlice: Sized {
    fn exp_shifted(src: &[Self], shift: Self, dst: &mut [Self]);
}
impl ExpSlice for f32 {
    fn exp_shifted(src: &[f32], shift: f32, dst: &mut [f32]) {
        exp_f32_shifted(src, shift, dst)
    }
}
impl ExpSlice for f64 {
    fn exp_shifted(src: &[f64], shift: f64, dst: &mut [f64]) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = (s - shift).exp();
        }
    }
}

/// exp inside a caller's lane loop, of shifted logits (x <= 0, or NaN), so that the loop
/// stays branch-free and vectorises: for f32 the polynomial below, with results at the
/// bottom of f32's normal range (x < -87.3, exp about 2^-126 or less) taken as 0, so a
/// -inf logit gives exactly 0; for f64 the library exp.
pub(crate) trait ExpLane: Sized + Copy {
    fn exp_lane(x: Self) -> Self;
    /// exp_lane of each of `N` values, bitwise the same results; f32 evaluates it one
    /// step at a time across the N values, which LLVM turns into whole-vector operations
    /// (measured faster than a per-value loop in the cross-entropy backward).
    #[inline(always)]
    fn exp_lanes<const N: usize>(x: [Self; N]) -> [Self; N] {
        // Loops, not array::map, which does not inline into `with_simd!`'s builds.
        let mut y = x;
        for v in &mut y {
            *v = Self::exp_lane(*v);
        }
        y
    }
}
/// exp_block's LO: below about -87.68, n = round(x log2 e) < -126 and exp_f32_core's
/// exponent bits no longer make 2^n.
const EXP_LANE_LO: f32 = -87.3;
impl ExpLane for f32 {
    #[inline(always)]
    fn exp_lane(x: f32) -> f32 {
        // Out of range (x < LO, -inf included) the polynomial's exponent bits are garbage
        // and the select drops them; NaN fails the comparison and propagates.
        let e = exp_f32_core(x);
        if x < EXP_LANE_LO {
            0.0
        } else {
            e
        }
    }
    #[inline(always)]
    fn exp_lanes<const N: usize>(x: [f32; N]) -> [f32; N] {
        // exp_f32_core's operations in the same order for each value.
        let (mut t, mut r) = ([0f32; N], [0f32; N]);
        for k in 0..N {
            t[k] = x[k] * EXP_LOG2E + EXP_ROUND;
        }
        for k in 0..N {
            let n = t[k] - EXP_ROUND;
            r[k] = (x[k] - n * EXP_LN2_HI) - n * EXP_LN2_LO;
        }
        let mut p = [EXP_POLY[0]; N];
        for &c in &EXP_POLY[1..] {
            for k in 0..N {
                p[k] = c + r[k] * p[k];
            }
        }
        let mut y = [0f32; N];
        for k in 0..N {
            let ni = t[k].to_bits().wrapping_sub(EXP_ROUND.to_bits()) as i32;
            let e = p[k] * f32::from_bits((ni.wrapping_add(127) << 23) as u32);
            y[k] = if x[k] < EXP_LANE_LO { 0.0 } else { e };
        }
        y
    }
}
impl ExpLane for f64 {
    #[inline(always)]
    fn exp_lane(x: f64) -> f64 {
        x.exp()
    }
}

const EXP_LOG2E: f32 = std::f32::consts::LOG2_E;
const EXP_LN2_HI: f32 = 0.693_359_4;
const EXP_LN2_LO: f32 = -2.121_944_4e-4;
const EXP_ROUND: f32 = 12_582_912.0; // 1.5 * 2^23
/// e^r's Taylor coefficients, highest degree first (Horner's order).
const EXP_POLY: [f32; 8] = [
    1.0 / 5040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
    1.0,
    1.0,
];

#[inline(always)]
fn exp_f32_core(x: f32) -> f32 {
    let t = x * EXP_LOG2E + EXP_ROUND;
    let n = t - EXP_ROUND;
    let r = (x - n * EXP_LN2_HI) - n * EXP_LN2_LO;
    let p = EXP_POLY[1..].iter().fold(EXP_POLY[0], |p, &c| c + r * p);
    // t and ROUND share their exponent, so n is also the difference of their bits: an
    // integer subtraction that vectorises (`n as i32` is a saturating cast, which LLVM
    // does lane by lane).
    let ni = t.to_bits().wrapping_sub(EXP_ROUND.to_bits()) as i32;
    let scale = f32::from_bits((ni.wrapping_add(127) << 23) as u32);
    p * scale
}

#[cfg(test)]
mod exp_tests {
    use super::{exp_f32_slice, ExpLane};

    #[test]
    fn exp_lanes_is_exp_lane_is_exp_f32_slice() {
        let mut xs: Vec<f32> = (0..=40_000).map(|i| i as f32 * -2.5e-3).collect(); // [-100, 0]
        xs.extend([
            -87.3,
            -87.299_99,
            -87.300_01,
            f32::NEG_INFINITY,
            f32::NAN,
            -0.0,
        ]);
        xs.extend(xs.clone().iter().map(|x| x.next_down()));
        let mut lib = vec![0f32; xs.len()];
        exp_f32_slice(&xs, &mut lib);
        for (ci, c) in xs.chunks(32).enumerate() {
            let mut a = [0f32; 32];
            a[..c.len()].copy_from_slice(c);
            let ys = f32::exp_lanes(a);
            for (k, &x) in c.iter().enumerate() {
                let one = f32::exp_lane(x);
                assert_eq!(ys[k].to_bits(), one.to_bits(), "exp_lanes({x})");
                if x >= -87.3 {
                    let lib = lib[ci * 32 + k];
                    assert_eq!(one.to_bits(), lib.to_bits(), "exp_lane({x})");
                } else if x < -87.3 {
                    assert_eq!(one, 0.0);
                } else {
                    assert!(one.is_nan());
                }
            }
        }
    }

    #[test]
    fn fast_exp_matches_libm_to_a_few_ulp() {
        let xs: Vec<f32> = (-200_000..=200_000).map(|i| i as f32 * 4.5e-4).collect(); // [-90, 90]
        let mut ys = vec![0f32; xs.len()];
        exp_f32_slice(&xs, &mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            let want = (x as f64).exp();
            if want > f32::MAX as f64 {
                assert!(y.is_infinite(), "exp({x}) = {y}");
            } else if want >= f32::MIN_POSITIVE as f64 {
                let rel = ((y as f64 - want) / want).abs();
                assert!(
                    rel < 4.0 * f32::EPSILON as f64,
                    "exp({x}) = {y}, want {want}, rel {rel}"
                );
            } else {
                assert!(
                    (y as f64 - want).abs() < 1e-44,
                    "exp({x}) = {y}, want {want}"
                );
            }
        }
        let special = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -1000.0,
            1000.0,
            0.0,
            -0.0,
        ];
        let mut out = [0f32; 7];
        exp_f32_slice(&special, &mut out);
        assert!(out[0].is_nan());
        assert_eq!(
            &out[1..],
            &[f32::INFINITY, 0.0, 0.0, f32::INFINITY, 1.0, 1.0]
        );
    }
}
