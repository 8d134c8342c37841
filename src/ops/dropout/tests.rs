use super::cpu::{apply, bits16, keep_threshold};
use crate::device::cpu::GRAIN;
use crate::random::PhiloxStream;

#[test]
fn lockstep_kernel_matches_reference_bits() {
    let s = PhiloxStream {
        seed: 77,
        offset: 5,
    };
    let n = 2 * GRAIN + 1000 + 13; // parallel chunks, full groups and a ragged tail
    let x: Vec<f32> = (0..n).map(|i| 1.0 + i as f32).collect();
    let mut y = vec![0f32; n];
    let t = keep_threshold(0.3);
    apply(&x, &mut y, s, t, 2.0);
    for i in 0..n {
        let keep = bits16(&s, i as u64) >= t;
        assert_eq!(y[i], if keep { x[i] * 2.0 } else { 0.0 }, "element {i}");
    }
    let kept = y.iter().filter(|v| **v != 0.0).count() as f64 / n as f64;
    assert!((kept - 0.7).abs() < 0.01);
}

#[test]
fn thresholds() {
    assert_eq!(keep_threshold(0.0), 0);
    assert_eq!(keep_threshold(1.0), 65536);
    assert_eq!(keep_threshold(0.5), 32768);
}
