//! Run-time SIMD dispatch. The crate is built for the baseline x86-64 target (SSE2),
//! so that one wheel runs on any x86-64 CPU. Hot loops are written as plain slices of
//! fixed-size lanes that LLVM vectorises, and `with_simd!` compiles such a loop three
//! times: for the baseline, for AVX2 (8 f32 lanes) and for AVX-512 (16 lanes), and
//! runs the best build the CPU supports.

use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Simd {
    Base = 1,
    Avx2 = 2,
    Avx512 = 3,
}

/// 0 until the first call detects the level.
static LEVEL: AtomicU8 = AtomicU8::new(0);

/// The widest instruction set the CPU has, detected once.
pub(crate) fn simd() -> Simd {
    match LEVEL.load(Ordering::Relaxed) {
        1 => Simd::Base,
        2 => Simd::Avx2,
        3 => Simd::Avx512,
        _ => {
            let level = detect();
            LEVEL.store(level as u8, Ordering::Relaxed);
            level
        }
    }
}

/// The CPU's level, lowered by `FERROGRAD_CPU_CAPABILITY` (`default`, `avx2` or
/// `avx512`, like PyTorch's `ATEN_CPU_CAPABILITY`): for comparing the builds, or for
/// ruling one out when chasing a numerical difference. It can't raise the level.
fn detect() -> Simd {
    let cpu = cpu_level();
    let asked = match std::env::var("FERROGRAD_CPU_CAPABILITY").as_deref() {
        Ok("default") => Simd::Base,
        Ok("avx2") => Simd::Avx2,
        _ => Simd::Avx512,
    };
    if (asked as u8) < (cpu as u8) {
        asked
    } else {
        cpu
    }
}

fn cpu_level() -> Simd {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx2") && has!("fma") {
            return Simd::Avx512;
        }
        if has!("avx2") && has!("fma") {
            return Simd::Avx2;
        }
    }
    Simd::Base
}

/// The transpose of an 8x8 float32 block held as 8 rows: unpack pairs of rows, shuffle
/// pairs of pairs, then swap 128-bit halves. SAFETY: the CPU must have AVX.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx")]
pub(crate) unsafe fn transpose8_ps(
    r: [std::arch::x86_64::__m256; 8],
) -> [std::arch::x86_64::__m256; 8] {
    use std::arch::x86_64::*;
    let t = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    let u = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
    ];
    std::array::from_fn(|i| {
        if i < 4 {
            _mm256_permute2f128_ps::<0x20>(u[i], u[i + 4])
        } else {
            _mm256_permute2f128_ps::<0x31>(u[i - 4], u[i])
        }
    })
}

/// The level in use, by the name `FERROGRAD_CPU_CAPABILITY` takes.
pub fn cpu_capability() -> &'static str {
    match simd() {
        Simd::Base => "default",
        Simd::Avx2 => "avx2",
        Simd::Avx512 => "avx512",
    }
}

/// Runs `$body` (calls of `#[inline(always)]` fns) compiled for the given `Simd` level.
macro_rules! with_simd {
    ($level:expr, $body:expr) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,avx2,fma")]
            unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            match $level {
                // SAFETY: `simd()` checked that the CPU has these features.
                $crate::ops::simd::Simd::Avx512 => unsafe {
                    avx512(
                        #[inline(always)]
                        || $body,
                    )
                },
                $crate::ops::simd::Simd::Avx2 => unsafe {
                    avx2(
                        #[inline(always)]
                        || $body,
                    )
                },
                $crate::ops::simd::Simd::Base => $body,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = $level;
            $body
        }
    }};
}
