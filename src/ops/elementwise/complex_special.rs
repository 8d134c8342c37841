//! Complex elementary functions with C99 Annex G / Array API special values.
//!
//! num_complex evaluates textbook formulas (e.g. asin(z) = -i ln(iz + sqrt(1 - z^2)))
//! that give NaN for most infinite inputs, drop the sign of zero on branch cuts,
//! overflow early (tanh(400 + 1j) is NaN) and lose all precision for small |z|
//! (asin(1e-9j) in f32 is 0). The functions here take the non-finite and signed-zero
//! cases from the tables of C99 Annex G (which the Array API standard copies) and
//! use cancellation-free formulas for finite inputs:
//!
//! * asin, acos, acosh: W. Kahan, "Branch cuts for complex elementary functions, or
//!   much ado about nothing's sign bit" (1987), which write them through two square
//!   roots whose signed zeros put the result on the right side of every cut;
//! * tanh: Kahan's formula from the same paper, with the large-|re| limit;
//! * atanh: 1/4 log1p(4x / ((1-x)^2 + y^2)) + i/2 atan2(2y, (1-x)(1+x) - y^2),
//!   with 1/z + i pi/2 when |z| is so large that the squares would overflow;
//! * exp, sinh, cosh: exp(x/2)^2 scaling past the overflow threshold of exp(x).
//!
//! asin, atan, asinh, sin, cos and tan come from their hyperbolic or circular
//! partners through the identities C99 defines them by (asin(z) = -i asinh(iz),
//! sin(z) = -i sinh(iz), cos(z) = cosh(iz), ...), so the tables hold for them too.
//! Every function is generic over f32 and f64.

use num_complex::Complex;
use num_traits::{Float, FloatConst};

#[inline]
fn c<T>(re: T, im: T) -> Complex<T> {
    Complex::new(re, im)
}

#[inline]
fn nan2<T: Float>() -> Complex<T> {
    c(T::nan(), T::nan())
}

#[inline]
fn two<T: Float>() -> T {
    T::one() + T::one()
}

/// ln(T::MAX) - 1: past it exp(x) overflows although exp(x) * cos(y) may not.
#[inline]
fn exp_overflow<T: Float>() -> T {
    T::max_value().ln() - T::one()
}

/// i * z, written out so that signed zeros come out as C99's (-y, x).
#[inline]
fn mul_i<T: Float>(z: Complex<T>) -> Complex<T> {
    c(-z.im, z.re)
}

/// -i * z = (y, -x).
#[inline]
fn mul_neg_i<T: Float>(z: Complex<T>) -> Complex<T> {
    c(z.im, -z.re)
}

pub fn sqrt<T: Float>(z: Complex<T>) -> Complex<T> {
    let (x, y) = (z.re, z.im);
    if y.is_infinite() {
        return c(T::infinity(), y); // whatever x is, NaN included
    }
    if x.is_nan() {
        return nan2();
    }
    if x.is_infinite() {
        return if y.is_nan() {
            if x > T::zero() {
                c(x, y)
            } else {
                // sign unspecified; y's (NaN) sign bit keeps sqrt(conj z) = conj sqrt(z)
                c(y, T::infinity().copysign(y))
            }
        } else if x > T::zero() {
            c(x, T::zero().copysign(y))
        } else {
            c(T::zero(), T::infinity().copysign(y))
        };
    }
    if y.is_nan() {
        return nan2();
    }
    if x == T::zero() && y == T::zero() {
        return c(T::zero(), y);
    }
    // t = sqrt((|x| + |z|) / 2) has no cancellation; the other component is
    // y / (2t). Scale huge inputs down by 4 (result by 2) so |x| + |z| stays
    // finite, and tiny ones up by an even power of two so sqrt keeps full precision
    // instead of starting from a subnormal.
    let m = x.abs().max(y.abs());
    let eps = T::epsilon();
    let (x, y, back) = if m > T::max_value() / (two::<T>() * two::<T>()) {
        let q = two::<T>() * two::<T>();
        (x / q, y / q, two::<T>())
    } else if m < T::min_positive_value() / eps {
        let up = T::one() / (eps * eps);
        (x * up, y * up, eps)
    } else {
        (x, y, T::one())
    };
    let t = ((x.abs() + x.hypot(y)) / two()).sqrt();
    let u = y.abs() / (two::<T>() * t);
    if x >= T::zero() {
        c(t * back, (y / (two::<T>() * t)) * back)
    } else {
        c(u * back, t.copysign(y) * back)
    }
}

pub fn exp<T: Float>(z: Complex<T>) -> Complex<T> {
    let (x, y) = (z.re, z.im);
    if x.is_nan() {
        return if y == T::zero() { c(x, y) } else { nan2() };
    }
    if x.is_infinite() {
        if x > T::zero() {
            if y == T::zero() {
                return c(x, y);
            }
            if y.is_finite() {
                return c(x * y.cos(), x * y.sin());
            }
            return c(x, T::nan()); // sign of the real part unspecified
        }
        if y.is_finite() {
            return c(T::zero() * y.cos(), T::zero() * y.sin());
        }
        return c(T::zero(), T::zero().copysign(y)); // signs unspecified; keep conj symmetry
    }
    if !y.is_finite() {
        return nan2();
    }
    if y == T::zero() {
        return c(x.exp(), y); // exact real result, sign of the zero kept
    }
    if x > exp_overflow() || x < T::min_positive_value().ln() {
        // exp(x) overflows while exp(x) * cos(y) may not, or exp(x) is subnormal and
        // a second rounding in the subnormal range would lose digits
        let h = (x / two()).exp();
        return c(h * y.cos() * h, h * y.sin() * h);
    }
    let e = x.exp();
    c(e * y.cos(), e * y.sin())
}

pub fn expm1<T: Float>(z: Complex<T>) -> Complex<T> {
    let (x, y) = (z.re, z.im);
    if !x.is_finite() || !y.is_finite() || x > exp_overflow() {
        // exp(z) - 1 is the standard's definition; the 1 only matters at -inf.
        let w = exp(z);
        return c(w.re - T::one(), w.im);
    }
    if y == T::zero() {
        // The standard gives +0 (not -0) for expm1(-0 + 0j), as exp(z) - 1 would.
        let re = if x == T::zero() {
            T::zero()
        } else {
            x.exp_m1()
        };
        return c(re, y);
    }
    // exp(z) - 1 = (expm1(x) cos y - 2 sin^2(y/2)) + i exp(x) sin y: the real part
    // avoids the cancellation of cos(y) - 1 for small y.
    let s = (y / two()).sin();
    c(x.exp_m1() * y.cos() - two::<T>() * s * s, x.exp() * y.sin())
}

pub fn log<T: Float + FloatConst>(z: Complex<T>) -> Complex<T> {
    let (x, y) = (z.re, z.im);
    if x.is_nan() || y.is_nan() {
        return if x.is_infinite() || y.is_infinite() {
            c(T::infinity(), T::nan())
        } else {
            nan2()
        };
    }
    if x.is_infinite() || y.is_infinite() {
        return c(T::infinity(), y.atan2(x)); // atan2 gives pi/4, 3pi/4, 0, pi, ...
    }
    if x == T::zero() && y == T::zero() {
        return c(T::neg_infinity(), y.atan2(x)); // atan2(+0, -0) = pi
    }
    let (a, b) = (x.abs().max(y.abs()), x.abs().min(y.abs()));
    let half = T::one() / two();
    let re = if a >= half && a <= two() {
        // near |z| = 1, log|z| = 1/2 log1p((a-1)(a+1) + b^2) keeps the digits that
        // ln(hypot) loses; a - 1 is exact here (Sterbenz)
        half * ((a - T::one()) * (a + T::one()) + b * b).ln_1p()
    } else {
        x.hypot(y).ln()
    };
    c(re, y.atan2(x))
}

pub fn log1p<T: Float + FloatConst>(z: Complex<T>) -> Complex<T> {
    let (x, y) = (z.re, z.im);
    let half = T::one() / two();
    if x.is_finite() && y.is_finite() && x.abs() < half && y.abs() < half {
        // |1+z|^2 = 1 + (2x + x^2 + y^2): log1p of the small part, not ln of ~1
        let re = half * (x * (two::<T>() + x) + y * y).ln_1p();
        return c(re, y.atan2(T::one() + x));
    }
    // 1 + z with the imaginary part untouched keeps its sign of zero
    log(c(T::one() + x, y))
}

/// (exp(a)/2 cos y, exp(a)/2 sin y) for a past exp's overflow threshold, with the
/// exponential split in two halves so that a finite product stays finite.
fn half_exp<T: Float>(a: T, y: T) -> (T, T) {
    let h = (a / two()).exp();
    let half = T::one() / two();
    (h * y.cos() * half * h, h * y.sin() * half * h)
}

pub fn sinh<T: Float>(z: Complex<T>) -> Complex<T> {
    let (x, y) = (z.re, z.im);
    if x.is_finite() && y.is_finite() {
        if y == T::zero() {
            return c(x.sinh(), y); // cosh(x) * 0 would be NaN once cosh overflows
        }
        if x.abs() > exp_overflow() {
            // sinh(x) and cosh(x) are both +-exp(|x|)/2 here; split the exponential
            let (hc, hs) = half_exp(x.abs(), y);
            return c(if x < T::zero() { -hc } else { hc }, hs);
        }
        return c(x.sinh() * y.cos(), x.cosh() * y.sin());
    }
    if x.is_nan() {
        return if y == T::zero() { c(x, y) } else { nan2() };
    }
    if x.is_infinite() {
        if y == T::zero() {
            return c(x, y);
        }
        if y.is_finite() {
            // sinh(+-inf) = +-inf, cosh(+-inf) = +inf
            return c(x * y.cos(), T::infinity() * y.sin());
        }
        return c(x, T::nan()); // sign of the real part unspecified
    }
    // x finite, y infinite or NaN
    if x == T::zero() {
        c(x, T::nan()) // sign of the zero unspecified
    } else {
        nan2()
    }
}

pub fn cosh<T: Float>(z: Complex<T>) -> Complex<T> {
    let (x, y) = (z.re, z.im);
    if x.is_finite() && y.is_finite() {
        if y == T::zero() {
            // sinh(x) * y, but with the sign alone: sinh may overflow to inf * 0
            return c(x.cosh(), y * x.signum());
        }
        if x.abs() > exp_overflow() {
            let (hc, hs) = half_exp(x.abs(), y);
            return c(hc, if x < T::zero() { -hs } else { hs });
        }
        return c(x.cosh() * y.cos(), x.sinh() * y.sin());
    }
    if x.is_nan() {
        return if y == T::zero() { c(x, y) } else { nan2() }; // sign of 0 unspecified
    }
    if x.is_infinite() {
        if y == T::zero() {
            return c(T::infinity(), y * x.signum());
        }
        if y.is_finite() {
            return c(T::infinity() * y.cos(), x * y.sin());
        }
        return c(T::infinity(), T::nan()); // sign of the real part unspecified
    }
    // x finite, y infinite or NaN
    if x == T::zero() {
        c(T::nan(), T::zero()) // sign of the zero unspecified
    } else {
        nan2()
    }
}

pub fn tanh<T: Float>(z: Complex<T>) -> Complex<T> {
    let (x, y) = (z.re, z.im);
    if x.is_nan() {
        return if y == T::zero() { c(x, y) } else { nan2() };
    }
    if x.is_infinite() {
        // +-1 + 0i whatever y is; the standard takes the zero's sign from y
        // (tanh(conj z) = conj tanh(z)) where C99 allows sin(2y)'s
        return c(T::one().copysign(x), T::zero().copysign(y));
    }
    if !y.is_finite() {
        return if x == T::zero() {
            c(x, T::nan())
        } else {
            nan2()
        };
    }
    // Past |x| = ln(1/eps) tanh(x) rounds to +-1 and the imaginary part is
    // sin(2y) / (cosh(2x) + cos(2y)) = 4 sin(y) cos(y) exp(-2|x|) to working precision;
    // cosh(2x) itself would overflow long before this matters.
    if x.abs() > T::epsilon().recip().ln() {
        let e = (-two::<T>() * x.abs()).exp();
        return c(
            T::one().copysign(x),
            two::<T>() * two::<T>() * y.sin() * y.cos() * e,
        );
    }
    // Kahan: with t = tan y, b = 1 + t^2, s = sinh x, r = sqrt(1 + s^2),
    // tanh z = (b r s + i t) / (1 + b s^2). No cancellation anywhere; keeps +-0.
    let t = y.tan();
    let b = T::one() + t * t;
    let s = x.sinh();
    let r = (T::one() + s * s).sqrt();
    let d = T::one() + b * s * s;
    c(b * r * s / d, t / d)
}

pub fn sin<T: Float>(z: Complex<T>) -> Complex<T> {
    mul_neg_i(sinh(mul_i(z)))
}

pub fn cos<T: Float>(z: Complex<T>) -> Complex<T> {
    cosh(mul_i(z))
}

pub fn tan<T: Float>(z: Complex<T>) -> Complex<T> {
    mul_neg_i(tanh(mul_i(z)))
}

/// Kahan's asin for finite z: with s1 = sqrt(1 - z), s2 = sqrt(1 + z),
/// asin z = atan2(x, Re(s1 s2)) + i asinh(Im(conj(s1) s2)).
/// 1 - z is formed as (1 - x) - iy so that a zero imaginary part flips sign and
/// z on either cut lands on the matching side.
fn asin_finite<T: Float>(z: Complex<T>) -> Complex<T> {
    let s1 = sqrt(c(T::one() - z.re, -z.im));
    let s2 = sqrt(c(T::one() + z.re, z.im));
    c(
        z.re.atan2(s1.re * s2.re - s1.im * s2.im),
        (s1.re * s2.im - s1.im * s2.re).asinh(),
    )
}

pub fn asinh<T: Float + FloatConst>(z: Complex<T>) -> Complex<T> {
    let (x, y) = (z.re, z.im);
    if x.is_finite() && y.is_finite() {
        // asinh z = -i asin(iz)
        return mul_neg_i(asin_finite(mul_i(z)));
    }
    if x.is_nan() {
        return if y == T::zero() {
            c(x, y)
        } else if y.is_infinite() {
            // sign unspecified; x's (NaN) sign bit keeps asinh odd
            c(T::infinity().copysign(x), T::nan())
        } else {
            nan2()
        };
    }
    if y.is_nan() {
        return if x.is_infinite() { c(x, y) } else { nan2() };
    }
    // at least one infinity, no NaN; odd in z and conjugate-symmetric
    if x.is_infinite() && y.is_infinite() {
        c(x, T::FRAC_PI_4().copysign(y))
    } else if x.is_infinite() {
        c(x, T::zero().copysign(y))
    } else {
        c(T::infinity().copysign(x), T::FRAC_PI_2().copysign(y))
    }
}

pub fn asin<T: Float + FloatConst>(z: Complex<T>) -> Complex<T> {
    if z.re.is_finite() && z.im.is_finite() {
        return asin_finite(z);
    }
    // C99 defines casin(z) = -i casinh(iz), which carries asinh's table over
    mul_neg_i(asinh(mul_i(z)))
}

pub fn acos<T: Float + FloatConst>(z: Complex<T>) -> Complex<T> {
    let (x, y) = (z.re, z.im);
    if x.is_finite() && y.is_finite() {
        // Kahan: 2 atan2(Re s1, Re s2) + i asinh(Im(conj(s2) s1)), s1 = sqrt(1 - z),
        // s2 = sqrt(1 + z)
        let s1 = sqrt(c(T::one() - x, -y));
        let s2 = sqrt(c(T::one() + x, y));
        return c(
            two::<T>() * s1.re.atan2(s2.re),
            (s2.re * s1.im - s2.im * s1.re).asinh(),
        );
    }
    // The table for Im z >= +0; acos(conj z) = conj acos(z) gives the rest, which is
    // why every infinite imaginary part below is -y or -inf with y's sign.
    if x.is_nan() {
        return if y.is_infinite() { c(x, -y) } else { nan2() };
    }
    if y.is_nan() {
        return if x.is_infinite() {
            // sign unspecified; as the other rows, -y's sign (conj symmetry)
            c(T::nan(), -T::infinity().copysign(y))
        } else if x == T::zero() {
            c(T::FRAC_PI_2(), y)
        } else {
            nan2()
        };
    }
    let neg_inf = -T::infinity().copysign(y);
    if x.is_infinite() && y.is_infinite() {
        let re = if x > T::zero() {
            T::FRAC_PI_4()
        } else {
            T::PI() - T::FRAC_PI_4()
        };
        c(re, neg_inf)
    } else if x.is_infinite() {
        c(if x > T::zero() { T::zero() } else { T::PI() }, neg_inf)
    } else {
        c(T::FRAC_PI_2(), neg_inf)
    }
}

pub fn acosh<T: Float + FloatConst>(z: Complex<T>) -> Complex<T> {
    let (x, y) = (z.re, z.im);
    if x.is_finite() && y.is_finite() {
        // Kahan: asinh(Re(conj(s1) s2)) + 2i atan2(Im s1, Re s2), s1 = sqrt(z - 1),
        // s2 = sqrt(z + 1)
        let s1 = sqrt(c(x - T::one(), y));
        let s2 = sqrt(c(x + T::one(), y));
        return c(
            (s1.re * s2.re + s1.im * s2.im).asinh(),
            two::<T>() * s1.im.atan2(s2.re),
        );
    }
    // The table for Im z >= +0, conjugate-symmetric
    if x.is_nan() {
        return if y.is_infinite() {
            c(T::infinity(), x)
        } else {
            nan2()
        };
    }
    if y.is_nan() {
        return if x.is_infinite() {
            c(T::infinity(), y)
        } else if x == T::zero() {
            c(y, T::FRAC_PI_2().copysign(y)) // sign unspecified; conj-symmetric
        } else {
            nan2()
        };
    }
    let im = if x.is_infinite() && y.is_infinite() {
        if x > T::zero() {
            T::FRAC_PI_4()
        } else {
            T::PI() - T::FRAC_PI_4()
        }
    } else if x.is_infinite() {
        if x > T::zero() {
            T::zero()
        } else {
            T::PI()
        }
    } else {
        T::FRAC_PI_2()
    };
    c(T::infinity(), im.copysign(y))
}

pub fn atanh<T: Float + FloatConst>(z: Complex<T>) -> Complex<T> {
    let (x, y) = (z.re, z.im);
    if x.is_nan() {
        return if y.is_infinite() {
            // sign of the real part unspecified; x's (NaN) sign bit keeps atanh odd
            c(T::zero().copysign(x), T::FRAC_PI_2().copysign(y))
        } else {
            nan2()
        };
    }
    if y.is_nan() {
        return if x.is_infinite() {
            c(T::zero().copysign(x), y)
        } else if x == T::zero() {
            c(x, y)
        } else {
            nan2()
        };
    }
    if x.is_infinite() || y.is_infinite() {
        // odd and conjugate-symmetric: +-0 +- i pi/2
        return c(T::zero().copysign(x), T::FRAC_PI_2().copysign(y));
    }
    // Odd symmetry: work on |x| so 4x / ((1-x)^2 + y^2) is never -inf (atanh(-1) =
    // -inf needs log1p(+inf), not log1p(-inf))
    let ax = x.abs();
    let big = T::epsilon().sqrt().recip();
    let (re, im) = if ax > big || y.abs() > big {
        // (1-x)^2 + y^2 may overflow; atanh z = 1/z + i pi/2 sgn(y) + O(1/z^3), and
        // 1/z^3 is below the rounding of 1/z here. 1/z through a scaled |z|^2.
        let s = ax.max(y.abs());
        let (xs, ys) = (ax / s, y / s);
        let d = xs * xs + ys * ys;
        (xs / d / s, T::FRAC_PI_2().copysign(y) - ys / d / s)
    } else {
        let one = T::one();
        let four = two::<T>() * two::<T>();
        let om = one - ax;
        let re = (four * ax / (om * om + y * y)).ln_1p() / four;
        let im = (two::<T>() * y).atan2(om * (one + ax) - y * y) / two();
        (re, im)
    };
    c(re.copysign(x), im)
}

pub fn atan<T: Float + FloatConst>(z: Complex<T>) -> Complex<T> {
    // C99 defines catan(z) = -i catanh(iz)
    mul_neg_i(atanh(mul_i(z)))
}
