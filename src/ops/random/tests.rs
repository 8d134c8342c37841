//! The GPU's Philox streams against the CPU's: raw words (with the counter crossing
//! 2^32), rand and randint bit for bit, randn within 1e-6. Skipped without an adapter.

use super::wgpu::{philox_fill, Mode};
use super::RandomKernels;
use crate::backend::{Cpu, Wgpu};
use crate::random::PhiloxStream;
use crate::tensor::{DType, Tensor};

fn gpu() -> bool {
    crate::device::wgpu::is_available()
}

const STREAM: PhiloxStream = PhiloxStream {
    seed: 0x0123_4567_89ab_cdef,
    offset: 0x1_0000_0007, // both offset words nonzero
};

#[test]
fn raw_words_match_across_the_counter_carry() {
    if !gpu() {
        return;
    }
    // Blocks 2^32 - 3 .. 2^32 + 7: the low counter word wraps and the high one carries.
    let first = (1u64 << 32) - 3;
    let n = 4 * 10 + 2; // a partial last block
    let got: Vec<u32> = philox_fill(Mode::Raw, n, STREAM, first, 0, 0)
        .unwrap()
        .to_host()
        .unwrap();
    let want: Vec<u32> = (0..n as u64)
        .map(|j| STREAM.block(first + j / 4)[(j % 4) as usize])
        .collect();
    assert_eq!(got, want);
}

fn bits_f32(t: &Tensor) -> Vec<u32> {
    t.to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

#[test]
fn rand_is_bitwise_the_cpu() {
    if !gpu() {
        return;
    }
    for shape in [vec![1001], vec![3, 5], vec![0], vec![]] {
        let c = Cpu.rand(&shape, DType::F32, STREAM).unwrap();
        let g = Wgpu.rand(&shape, DType::F32, STREAM).unwrap();
        assert_eq!(g.shape(), c.shape());
        assert_eq!(bits_f32(&g), bits_f32(&c), "shape {shape:?}");
    }
}

#[test]
fn randint_is_bitwise_the_cpu() {
    if !gpu() {
        return;
    }
    let full = (i32::MIN as i64, i32::MAX as i64 + 1); // range 2^32
    for (low, high) in [
        (-5, 5),
        (0, 1),
        (3, 1000),
        (-7, 1 << 30),
        full,
        (i32::MIN as i64, 0),
    ] {
        let c = Cpu.randint(low, high, &[777], DType::I64, STREAM).unwrap();
        let g = Wgpu.randint(low, high, &[777], DType::I64, STREAM).unwrap();
        assert_eq!(
            g.to_vec::<i64>().unwrap(),
            c.to_vec::<i64>().unwrap(),
            "[{low}, {high})"
        );
        // float32 rounds values past 2^24 to nearest even, as Rust's `as f32`.
        let c = Cpu.randint(low, high, &[777], DType::F32, STREAM).unwrap();
        let g = Wgpu.randint(low, high, &[777], DType::F32, STREAM).unwrap();
        assert_eq!(bits_f32(&g), bits_f32(&c), "float32 [{low}, {high})");
        let c = Cpu.randint(low, high, &[777], DType::Bool, STREAM).unwrap();
        let g = Wgpu
            .randint(low, high, &[777], DType::Bool, STREAM)
            .unwrap();
        assert_eq!(
            g.to_vec::<bool>().unwrap(),
            c.to_vec::<bool>().unwrap(),
            "bool [{low}, {high})"
        );
    }
}

#[test]
fn randint_refuses_values_past_int32() {
    if !gpu() {
        return;
    }
    assert!(Wgpu
        .check_randint(0, i32::MAX as i64 + 2, DType::I64)
        .is_err());
    assert!(Wgpu
        .check_randint(i32::MIN as i64 - 1, 0, DType::I64)
        .is_err());
    assert!(Wgpu
        .check_randint(i32::MIN as i64, i32::MAX as i64 + 1, DType::I64)
        .is_ok());
}

#[test]
fn randn_within_1e6_of_the_cpu() {
    if !gpu() {
        return;
    }
    let n = 1 << 18;
    let c = Cpu
        .randn(&[n], DType::F32, STREAM)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let g = Wgpu
        .randn(&[n], DType::F32, STREAM)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let (mut worst, mut equal) = (0f32, 0usize);
    for (a, b) in g.iter().zip(&c) {
        let err = (a - b).abs() / b.abs().max(1.0);
        worst = worst.max(err);
        equal += (a.to_bits() == b.to_bits()) as usize;
    }
    eprintln!("randn: max |gpu - cpu| / max(|cpu|, 1) = {worst:e}, {equal} of {n} bitwise equal");
    assert!(worst <= 1e-6, "randn differs by {worst:e}");
}
