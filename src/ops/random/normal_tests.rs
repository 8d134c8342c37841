//! The integer float32 Box-Muller (`normal.rs`) against float64 Box-Muller, on edge
//! inputs and on a Philox stream, and the statistics of the normals it gives.

use super::normal::normal_pair_f32;
use super::RandomKernels;
use crate::backend::Cpu;
use crate::random::PhiloxStream;
use crate::tensor::DType;
use std::f64::consts::PI;

/// The block whose u1 is k 2^-53 and whose u2 is m 2^-53.
pub(super) fn block_of(k: u64, m: u64) -> [u32; 4] {
    let m1 = ((1u64 << 53) - k) << 11;
    let m2 = m << 11;
    [(m1 >> 32) as u32, m1 as u32, (m2 >> 32) as u32, m2 as u32]
}

/// Box-Muller in float64 for u1 = k 2^-53, u2 = m 2^-53 (both exact in f64). The angle is
/// reduced to the octant exactly first, so tiny sines keep their relative precision.
fn reference(k: u64, m: u64) -> [f64; 2] {
    let r = (-2.0 * (k as f64 / (1u64 << 53) as f64).ln()).sqrt();
    let o = m >> 50;
    let rem = m & ((1 << 50) - 1);
    let (f, q, sigma) = if o % 2 == 1 {
        ((1u64 << 50) - rem, o.div_ceil(2), -1.0)
    } else {
        (rem, o / 2, 1.0)
    };
    let a = PI / 4.0 * (f as f64 / (1u64 << 50) as f64);
    let (s, c) = (sigma * a.sin(), a.cos());
    let (x, y) = match q % 4 {
        0 => (c, s),
        1 => (-s, c),
        2 => (-c, -s),
        _ => (s, -c),
    };
    [r * x, r * y]
}

/// The largest |got - want| / |want| over the pair (0 where both are 0).
fn rel_err(k: u64, m: u64) -> f64 {
    let got = normal_pair_f32(block_of(k, m));
    let want = reference(k, m);
    let mut worst = 0f64;
    for (g, w) in got.iter().zip(want) {
        let err = if w == 0.0 {
            assert_eq!(g.to_bits(), 0, "k {k} m {m}: zero must be +0.0");
            0.0
        } else {
            (*g as f64 - w).abs() / w.abs()
        };
        worst = worst.max(err);
    }
    worst
}

/// 0.6 float32 ulp at the bottom of a binade: the final rounding plus the integer steps.
const BOUND: f64 = 0.6 * f32::EPSILON as f64;

#[test]
fn edge_inputs_match_float64() {
    let ks = [
        1,
        2,
        3,
        1 << 20,
        (1 << 52) - 1,
        1 << 52,
        (1 << 52) + 1,
        0x0016_A09E_667F_3BCC, // the two sides of sqrt(2) 2^52, where the log switches reference
        0x0016_A09E_667F_3BCD,
        (1 << 53) - (1 << 30),
        (1 << 53) - 2,
        (1 << 53) - 1,
    ];
    let mut ms: Vec<u64> = vec![0, 1, 2, (1 << 53) - 1, (1 << 53) - 2, 12345];
    for o in 0..8u64 {
        ms.extend([
            o << 50,
            (o << 50) + 1,
            ((o + 1) << 50) - 1,
            (o << 50) + (1 << 49),
        ]);
    }
    let mut worst = 0f64;
    for &k in &ks {
        for &m in &ms {
            worst = worst.max(rel_err(k, m));
        }
    }
    // Every binade of k and of the angle within its octant.
    let mut x = 0x2545_F491_4F6C_DD1Du64; // xorshift64
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let k = ((x >> 11) >> (x % 53)).max(1);
        let m = ((x >> 3) & ((1 << 53) - 1)) >> (x.rotate_left(17) % 51);
        let o = x.rotate_left(29) >> 61;
        worst = worst.max(rel_err(k, (o << 50) | (m & ((1 << 50) - 1))));
    }
    assert!(worst <= BOUND, "worst relative error {worst:e}");
    // u1 = 1 gives r = 0, so +0.0 for both, and u2 = 0 gives (r, +0.0).
    assert_eq!(normal_pair_f32(block_of(1 << 53, 777)), [0.0, 0.0]);
    let [x, y] = normal_pair_f32(block_of(1, 0));
    assert_eq!(y.to_bits(), 0);
    assert!((x as f64 - (106.0 * 2f64.ln()).sqrt()).abs() < 1e-6);
}

#[test]
fn stream_matches_float64() {
    let s = PhiloxStream {
        seed: 42,
        offset: 3,
    };
    let mut worst = 0f64;
    for i in 0..(1u64 << 19) {
        let b = s.block(i);
        let m1 = (((b[0] as u64) << 32) | b[1] as u64) >> 11;
        let m2 = (((b[2] as u64) << 32) | b[3] as u64) >> 11;
        worst = worst.max(rel_err((1 << 53) - m1, m2));
    }
    eprintln!("integer randn: worst relative error against float64 {worst:e}");
    assert!(worst <= BOUND, "worst relative error {worst:e}");
}

/// The standard normal CDF, from erfc by Abramowitz and Stegun 7.1.26 (error below 1.5e-7,
/// far under the KS bound below).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / 2f64.sqrt();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-z * z).exp();
    if x >= 0.0 {
        1.0 - 0.5 * erfc
    } else {
        0.5 * erfc
    }
}

#[test]
fn float32_randn_is_standard_normal() {
    let n = 1_000_000usize;
    let stream = PhiloxStream {
        seed: 2024,
        offset: 0,
    };
    let t = Cpu.randn(&[n], DType::F32, stream).unwrap();
    let mut x: Vec<f64> = t
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|&v| v as f64)
        .collect();
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let m2 = x.iter().map(|v| v * v).sum::<f64>() / nf;
    let m4 = x.iter().map(|v| v.powi(4)).sum::<f64>() / nf;
    let beyond = |c: f64| x.iter().filter(|v| v.abs() > c).count() as f64 / nf;
    let (p2, p3) = (beyond(2.0), beyond(3.0));
    // Bounds at about five standard errors: sd(mean) = 1/sqrt(n), sd(E x^2) = sqrt(2/n),
    // sd(E x^4) = sqrt(96/n), sd(p) = sqrt(p (1 - p) / n).
    assert!(mean.abs() < 5.0 / nf.sqrt(), "mean {mean}");
    assert!((m2 - 1.0).abs() < 5.0 * (2.0 / nf).sqrt(), "E x^2 {m2}");
    assert!((m4 - 3.0).abs() < 5.0 * (96.0 / nf).sqrt(), "E x^4 {m4}");
    for (p, want) in [(p2, 0.045_500_263_9), (p3, 0.002_699_796_1)] {
        let sd = (want * (1.0 - want) / nf).sqrt();
        assert!((p - want).abs() < 5.0 * sd, "tail {p}, want {want}");
    }
    // Kolmogorov-Smirnov against the normal CDF: sqrt(n) D below 1.95 (p = 0.001).
    x.sort_by(f64::total_cmp);
    let mut d = 0f64;
    for (i, v) in x.iter().enumerate() {
        let f = normal_cdf(*v);
        d = d.max(f - i as f64 / nf).max((i + 1) as f64 / nf - f);
    }
    eprintln!(
        "randn statistics: mean {mean:e}, E x^2 {m2}, E x^4 {m4}, tails {p2} {p3}, sqrt(n) D {}",
        d * nf.sqrt()
    );
    assert!(d * nf.sqrt() < 1.95, "KS sqrt(n) D = {}", d * nf.sqrt());
}
