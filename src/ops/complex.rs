//! Complex scalar math beyond what `num_complex` gets right at the edges.

use num_complex::Complex;
use num_traits::Float;

/// a / b by Smith's algorithm (scaling by the larger component of b), which does not
/// overflow or underflow where |b|^2 would.
pub fn div<T: Float>(a: Complex<T>, b: Complex<T>) -> Complex<T> {
    if b.re.is_nan() || b.im.is_nan() {
        return Complex::new(T::nan(), T::nan());
    }
    if b.re.abs() >= b.im.abs() {
        if b.re == T::zero() {
            // a / 0: each component divided by zero, as NumPy (inf or nan)
            return Complex::new(a.re / b.re.abs(), a.im / b.re.abs());
        }
        let r = b.im / b.re;
        let d = b.re + b.im * r;
        Complex::new((a.re + a.im * r) / d, (a.im - a.re * r) / d)
    } else {
        let r = b.re / b.im;
        let d = b.re * r + b.im;
        Complex::new((a.re * r + a.im) / d, (a.im * r - a.re) / d)
    }
}

/// a ** b: exp(b log a), with x ** 0 = 1 and 0 ** b = 0 for a real positive b.
pub fn pow<T: Float>(a: Complex<T>, b: Complex<T>) -> Complex<T> {
    if b.re == T::zero() && b.im == T::zero() {
        return Complex::new(T::one(), T::zero());
    }
    if a.re == T::zero() && a.im == T::zero() {
        if b.im == T::zero() && b.re > T::zero() {
            return Complex::new(T::zero(), T::zero());
        }
        return Complex::new(T::nan(), T::nan());
    }
    if b.im == T::zero() && b.re == b.re.round() && b.re.abs() <= T::from(64).unwrap() {
        // small integer powers by repeated multiplication: exact where exp/log is not
        let n = b.re.to_i32().unwrap();
        let mut acc = Complex::new(T::one(), T::zero());
        for _ in 0..n.unsigned_abs() {
            acc = acc * a;
        }
        return if n < 0 {
            div(Complex::new(T::one(), T::zero()), acc)
        } else {
            acc
        };
    }
    (b * a.ln()).exp()
}
