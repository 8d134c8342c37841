// int64 arithmetic on 32-bit words, checked: a result outside the int32 range that the
// GPU stores int64 in sets bit 2 of the device-side error flag (`fr_flag`, bound by the
// map kernel; see device/wgpu/checks.rs), which the next read from the GPU raises. The
// CPU would have kept the 64-bit result, so the GPU's wrapped one must not pass silently.

const FR_I32_MIN: i32 = -2147483647 - 1;

fn fr_overflow() { atomicOr(&fr_flag[0], 2u); }

fn fr_iadd(a: i32, b: i32) -> i32 {
    let r = a + b;
    if (((a ^ r) & (b ^ r)) < 0) { fr_overflow(); }
    return r;
}

fn fr_isub(a: i32, b: i32) -> i32 {
    let r = a - b;
    if (((a ^ b) & (a ^ r)) < 0) { fr_overflow(); }
    return r;
}

fn fr_imul(a: i32, b: i32) -> i32 {
    let r = a * b;
    // WGSL defines FR_I32_MIN / -1 as FR_I32_MIN, so that pair is tested on its own.
    if ((a == -1 && b == FR_I32_MIN) || (b == -1 && a == FR_I32_MIN) || (a != 0 && r / a != b)) {
        fr_overflow();
    }
    return r;
}

fn fr_ineg(a: i32) -> i32 {
    if (a == FR_I32_MIN) { fr_overflow(); }
    return -a;
}

fn fr_iabs(a: i32) -> i32 {
    if (a == FR_I32_MIN) { fr_overflow(); }
    return abs(a);
}

fn fr_ifloordiv_c(a: i32, b: i32) -> i32 {
    if (a == FR_I32_MIN && b == -1) { fr_overflow(); }
    return fr_ifloordiv(a, b);
}

// Square-and-multiply that squares only while exponent bits remain: then every square
// divides the result (for |x| >= 2), so a square overflows only when the result would.
fn fr_ipow_c(x: i32, n: i32) -> i32 {
    var r = 1;
    var b = x;
    var e = u32(max(n, 0));
    loop {
        if ((e & 1u) == 1u) { r = fr_imul(r, b); }
        e = e >> 1u;
        if (e == 0u) { break; }
        b = fr_imul(b, b);
    }
    return r;
}

// float32 -> int64 as the CPU converts (NaN to 0), flagging values past int32.
fn fr_f2i_c(x: f32) -> i32 {
    if (fr_isnan(x)) { return 0; }
    if (x >= 2147483648.0 || x < -2147483648.0) {
        fr_overflow();
        return select(FR_I32_MIN, 2147483647, x > 0.0);
    }
    return i32(x);
}

// x << n for int64 in a 32-bit word: 0 for n past 63 (as the CPU), the overflow flag when
// the int64 result leaves int32.
fn fr_ishl_c(x: i32, n: i32) -> i32 {
    if (n < 0 || x == 0) { return x; }
    if (n >= 64) { return 0; }
    if (n >= 31) { fr_overflow(); return 0; }
    let r = x << u32(n);
    if ((r >> u32(n)) != x) { fr_overflow(); }
    return r;
}
