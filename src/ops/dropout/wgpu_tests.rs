//! Dropout on wgpu against the CPU's reference mask (`cpu::bits16`), including a run
//! whose Philox block counter crosses 2^32 (the carry into the counter's high word).

use super::cpu::{bits16, keep_threshold};
use super::{wgpu::apply, Mask};
use crate::device::wgpu::WgpuStorage;
use crate::random::PhiloxStream;
use crate::tensor::layout::Layout;

fn gpu_dropout(x: &[f32], mask: &Mask, first_group: u64) -> Vec<f32> {
    let src = WgpuStorage::from_host(x).unwrap();
    let out = apply(&src, &Layout::contiguous(&[x.len()]), mask, first_group).unwrap();
    out.to_host().unwrap()
}

fn check(n: usize, p: f64, stream: PhiloxStream, first_group: u64) {
    let mask = Mask {
        stream,
        threshold: keep_threshold(p),
        scale: 1.0 / (1.0 - p),
    };
    let x: Vec<f32> = (0..n).map(|i| 0.5 + i as f32).collect();
    let y = gpu_dropout(&x, &mask, first_group);
    let mut kept = 0;
    for i in 0..n {
        let keep = bits16(&stream, first_group * 64 + i as u64) >= mask.threshold;
        let want = if keep { x[i] * mask.scale as f32 } else { 0.0 };
        assert_eq!(y[i].to_bits(), want.to_bits(), "element {i} of {n}");
        kept += keep as usize;
    }
    assert!(
        kept > 0 && kept < n,
        "a mask of all or nothing tests nothing"
    );
}

#[test]
fn matches_reference_bits() {
    let s = PhiloxStream {
        seed: 0x1234_5678_9abc_def0,
        offset: 3,
    };
    check(1000 + 13, 0.3, s, 0);
}

#[test]
fn counter_carries_past_2_pow_32_blocks() {
    // Group 2^29 - 2 starts at block 2^32 - 16: the run crosses into the high word.
    let s = PhiloxStream {
        seed: 99,
        offset: (1 << 32) + 7,
    };
    check(64 * 5 + 9, 0.5, s, (1 << 29) - 2);
}
