// Elementwise math for generated kernels, with the CPU's (NumPy's and PyTorch's) special
// values spelled out: WGSL leaves log of a negative, sqrt of a negative, pow of a
// negative base and min/max with NaN up to the driver.

fn fr_log(x: f32) -> f32 {
    if (x < 0.0) { return fr_nan(); }
    if (x == 0.0) { return -fr_inf(); }
    return log(x);
}

fn fr_sqrt(x: f32) -> f32 {
    if (x < 0.0) { return fr_nan(); }
    return sqrt(x);
}

// log(1 + x) without losing x when it is tiny: log(u) * x / (u - 1) cancels the rounding
// of u = 1 + x (Goldberg's trick).
fn fr_log1p(x: f32) -> f32 {
    if (x < -1.0) { return fr_nan(); }
    if (x == -1.0) { return -fr_inf(); }
    let u = 1.0 + x;
    if (u == 1.0 || fr_isnan(x)) { return x; }
    if (fr_isinf(u)) { return u; }
    return log(u) * (x / (u - 1.0));
}

// exp(x) - 1 for small x by the same cancellation of rounding (Kahan).
fn fr_expm1(x: f32) -> f32 {
    let u = exp(x);
    if (u == 1.0 || fr_isnan(x)) { return x; }
    let um1 = u - 1.0;
    if (um1 == -1.0) { return -1.0; }
    if (fr_isinf(u)) { return u; }
    return um1 * x / log(u);
}

fn fr_tanh(x: f32) -> f32 {
    // Some drivers build tanh from exp(2x), which overflows to inf/inf = NaN.
    if (abs(x) > 10.0) { return sign(x); }
    return tanh(x);
}

fn fr_sign(x: f32) -> f32 {
    if (x > 0.0) { return 1.0; }
    if (x < 0.0) { return -1.0; }
    if (x == 0.0) { return 0.0; } // +0 for -0 too, as on the CPU (Array API)
    return x; // NaN
}

fn fr_sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

// erfc(z) for z >= 0, Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7): computing
// the complement directly keeps small results exact where 1 - erf would cancel.
fn fr_erfc_pos(z: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.3275911 * z);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return poly * exp(-z * z);
}

fn fr_erf(x: f32) -> f32 {
    if (fr_isnan(x)) { return x; }
    let e = 1.0 - fr_erfc_pos(abs(x));
    return select(e, -e, x < 0.0);
}

// x * Phi(x) = x/2 * erfc(-x / sqrt 2), through erfc on the side where it is small.
fn fr_gelu(x: f32) -> f32 {
    let z = x * 0.70710678118654752;
    if (z < 0.0) { return 0.5 * x * fr_erfc_pos(-z); }
    return 0.5 * x * (2.0 - fr_erfc_pos(z));
}

fn fr_gelu_tanh(x: f32) -> f32 {
    return 0.5 * x * (1.0 + fr_tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

fn fr_relu(x: f32) -> f32 {
    if (x > 0.0 || fr_isnan(x)) { return x; }
    return 0.0;
}

fn fr_maximum(x: f32, y: f32) -> f32 {
    if (fr_isnan(x) || fr_isnan(y)) { return fr_nan(); }
    return select(y, x, x > y);
}

fn fr_minimum(x: f32, y: f32) -> f32 {
    if (fr_isnan(x) || fr_isnan(y)) { return fr_nan(); }
    return select(y, x, x < y);
}

// Python's floored modulo: the result takes the divisor's sign.
fn fr_rem(a: f32, b: f32) -> f32 {
    let r = a % b;
    if (r != 0.0 && ((r < 0.0) != (b < 0.0))) { return r + b; }
    if (r == 0.0) { return select(0.0, -0.0, b < 0.0); }
    return r;
}

// Python's floor division from the remainder, as the CPU computes it.
fn fr_floordiv(a: f32, b: f32) -> f32 {
    if (b == 0.0) { return a / b; }
    let m = a % b;
    var q = (a - m) / b;
    if (m != 0.0 && ((b < 0.0) != (m < 0.0))) { q = q - 1.0; }
    if (q == 0.0) {
        let s = a / b;
        return select(0.0, -0.0, s < 0.0 || (s == 0.0 && (bitcast<u32>(s) >> 31u) == 1u));
    }
    let f = floor(q);
    return select(f, f + 1.0, q - f > 0.5);
}

fn fr_is_odd_int(y: f32) -> bool {
    return floor(y) == y && abs(y) < 16777216.0 && (i32(abs(y)) & 1) == 1;
}

// x^n for a whole n >= 0 by repeated squaring (exact for the small powers people write).
fn fr_powi(x: f32, n: u32) -> f32 {
    var r = 1.0;
    var b = x;
    var e = n;
    loop {
        if (e == 0u) { break; }
        if ((e & 1u) == 1u) { r = r * b; }
        b = b * b;
        e = e >> 1u;
    }
    return r;
}

// C's pow, special cases and all.
fn fr_pow(x: f32, y: f32) -> f32 {
    if (y == 0.0 || x == 1.0) { return 1.0; }
    if (fr_isnan(x) || fr_isnan(y)) { return fr_nan(); }
    if (fr_isinf(y)) {
        if (abs(x) == 1.0) { return 1.0; }
        if ((abs(x) > 1.0) == (y > 0.0)) { return fr_inf(); }
        return 0.0;
    }
    let yint = floor(y) == y;
    let odd = fr_is_odd_int(y);
    if (x == 0.0) {
        if (y > 0.0) { return select(0.0, x, odd); }
        return select(fr_inf(), 1.0 / x, odd);
    }
    if (fr_isinf(x)) {
        let mag = select(0.0, fr_inf(), y > 0.0);
        if (x < 0.0 && odd) { return -mag; }
        return mag;
    }
    if (yint && abs(y) <= 64.0) {
        let r = fr_powi(x, u32(abs(y)));
        return select(r, 1.0 / r, y < 0.0);
    }
    if (x < 0.0) {
        if (!yint) { return fr_nan(); }
        let r = exp2(y * log2(-x));
        return select(r, -r, odd);
    }
    return exp2(y * log2(x));
}

// Integer floor division and modulo with Python's signs; division by zero gives 0 (NumPy).
fn fr_ifloordiv(a: i32, b: i32) -> i32 {
    if (b == 0) { return 0; }
    if (b == -1) { return -a; } // wraps like the CPU for the most negative value
    let q = a / b;
    if ((a % b) != 0 && ((a < 0) != (b < 0))) { return q - 1; }
    return q;
}

fn fr_irem(a: i32, b: i32) -> i32 {
    if (b == 0 || b == -1) { return 0; }
    let r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) { return r + b; }
    return r;
}

// Inverse trigonometric and hyperbolic functions with the CPU's domains: WGSL leaves
// asin/acos outside [-1, 1], acosh below 1 and atanh outside (-1, 1) to the driver.
// atan by range reduction to |t| <= tan(pi/8) and the odd Taylor series to t^15
// (truncation below 2e-8): Vulkan lets the builtin be thousands of ulps off.
fn fr_atan(x: f32) -> f32 {
    if (fr_isnan(x)) { return x; }
    var a = abs(x);
    var base = 0.0;
    if (a > 1.0) { a = 1.0 / a; base = 1.5707963267948966; }
    var off = 0.0;
    var t = a;
    if (a > 0.41421356) { t = (a - 1.0) / (a + 1.0); off = 0.7853981633974483; }
    let t2 = t * t;
    let s = t * (1.0 + t2 * (-1.0 / 3.0 + t2 * (0.2 + t2 * (-1.0 / 7.0 + t2 * (1.0 / 9.0
        + t2 * (-1.0 / 11.0 + t2 * (1.0 / 13.0 + t2 * (-1.0 / 15.0))))))));
    var r = off + s;
    if (base != 0.0) { r = base - r; }
    return select(r, -r, x < 0.0);
}

fn fr_asin(x: f32) -> f32 {
    if (abs(x) > 1.0) { return fr_nan(); }
    if (abs(x) == 1.0) { return x * 1.5707963267948966; }
    return fr_atan(x / sqrt((1.0 - x) * (1.0 + x)));
}

fn fr_acos(x: f32) -> f32 {
    if (abs(x) > 1.0) { return fr_nan(); }
    if (x == -1.0) { return 3.141592653589793; }
    return 2.0 * fr_atan(sqrt((1.0 - x) / (1.0 + x)));
}

fn fr_acosh(x: f32) -> f32 {
    if (x < 1.0) { return fr_nan(); }
    if (x > 1e18) { return log(x) + 0.6931471805599453; } // (x-1)(x+1) would overflow
    return log(x + sqrt((x - 1.0) * (x + 1.0)));
}

fn fr_asinh(x: f32) -> f32 {
    let a = abs(x);
    if (fr_isinf(a) || fr_isnan(a)) { return x; }
    // ln(a + sqrt(a^2 + 1)) as log1p(a + a^2 / (1 + sqrt(1 + a^2))): no cancellation
    // for small a, and for large a the square would overflow: ln(2a) there.
    var r: f32;
    if (a > 1e18) { r = log(a) + 0.6931471805599453; } else { r = fr_log1p(a + a * a / (1.0 + sqrt(1.0 + a * a))); }
    return select(r, -r, x < 0.0);
}

fn fr_atanh(x: f32) -> f32 {
    let a = abs(x);
    if (a > 1.0) { return fr_nan(); }
    if (a == 1.0) { return select(fr_inf(), -fr_inf(), x < 0.0); }
    let r = 0.5 * fr_log1p(2.0 * a / (1.0 - a));
    return select(r, -r, x < 0.0);
}

fn fr_sinh(x: f32) -> f32 {
    if (abs(x) < 1e-4) { return x; } // sinh x = x + x^3/6: exact in float32 there
    if (abs(x) > 89.0) { return select(fr_inf(), -fr_inf(), x < 0.0); }
    return sinh(x);
}

fn fr_cosh(x: f32) -> f32 {
    if (abs(x) > 89.0) { return fr_inf(); }
    return cosh(x);
}

fn fr_log2(x: f32) -> f32 {
    if (x < 0.0) { return fr_nan(); }
    if (x == 0.0) { return -fr_inf(); }
    return log2(x);
}

fn fr_atan2(y: f32, x: f32) -> f32 {
    if (fr_isnan(x) || fr_isnan(y)) { return fr_nan(); }
    return atan2(y, x);
}

fn fr_hypot(x: f32, y: f32) -> f32 {
    let a = abs(x);
    let b = abs(y);
    if (fr_isinf(a) || fr_isinf(b)) { return fr_inf(); }
    if (fr_isnan(a) || fr_isnan(b)) { return fr_nan(); }
    let m = max(a, b);
    if (m == 0.0) { return 0.0; }
    let r = min(a, b) / m; // scaled: no overflow of the squares
    return m * sqrt(1.0 + r * r);
}

fn fr_logaddexp(a: f32, b: f32) -> f32 {
    if (fr_isnan(a) || fr_isnan(b)) { return fr_nan(); }
    if (a == b) { return a + 0.6931471805599453; }
    return max(a, b) + fr_log1p(exp(-abs(a - b)));
}

fn fr_nextafter(x: f32, y: f32) -> f32 {
    if (fr_isnan(x) || fr_isnan(y)) { return fr_nan(); }
    if (x == y) { return y; }
    if (x == 0.0) { return select(-bitcast<f32>(1u), bitcast<f32>(1u), y > 0.0); }
    let bits = bitcast<u32>(x);
    let away = (y > x) == (x > 0.0);
    return bitcast<f32>(select(bits - 1u, bits + 1u, away));
}
