//! The GPU's Philox streams against the CPU's: raw words (with the counter crossing
//! 2^32), rand, randn and randint bit for bit. Skipped without an adapter.

use super::normal::normal_pair_f32_bits;
use super::normal_tests::block_of;
use super::wgpu::{normal_of_blocks, philox_fill, Mode};
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
fn randn_is_bitwise_the_cpu_across_the_counter_carry() {
    if !gpu() {
        return;
    }
    // 100,001 elements from blocks 2^32 - 20,000 on: the counter's low word wraps midway.
    let first = (1u64 << 32) - 20_000;
    let n = 100_001;
    let got: Vec<u32> = philox_fill(Mode::Randn, n, STREAM, first, 0, 0)
        .unwrap()
        .to_host()
        .unwrap();
    let want: Vec<u32> = (0..n as u64)
        .map(|j| normal_pair_f32_bits(STREAM.block(first + j / 2))[(j % 2) as usize])
        .collect();
    let differ = got.iter().zip(&want).filter(|(g, w)| g != w).count();
    assert_eq!(
        differ, 0,
        "{differ} of {n} randn values differ from the CPU's bits"
    );
    // And through the backends, from block 0 (70,001: several CPU chunks, odd length).
    for shape in [vec![70_001], vec![1001], vec![3, 5], vec![0], vec![]] {
        let c = Cpu.randn(&shape, DType::F32, STREAM).unwrap();
        let g = Wgpu.randn(&shape, DType::F32, STREAM).unwrap();
        assert_eq!(g.shape(), c.shape());
        assert_eq!(bits_f32(&g), bits_f32(&c), "shape {shape:?}");
    }
}

#[test]
fn randn_is_bitwise_the_cpu_on_rare_inputs() {
    if !gpu() {
        return;
    }
    // u1 = k 2^-53 and u2 = m 2^-53 over every binade of k and near every octant edge of
    // m, which a stream reaches only once in 2^50 draws or so.
    let mut blocks = Vec::new();
    for k in [
        1,
        2,
        3,
        1 << 52,
        (1 << 52) + 1,
        0x0016_A09E_667F_3BCC, // either side of sqrt(2) 2^52
        0x0016_A09E_667F_3BCD,
        (1 << 53) - 1,
        1 << 53,
    ] {
        for o in 0..8u64 {
            for m in [o << 50, (o << 50) + 1, ((o + 1) << 50) - 1] {
                blocks.push(block_of(k, m));
            }
        }
    }
    let mut x = 0x9E37_79B9_7F4A_7C15u64; // xorshift64
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..50_000 {
        let (a, b, c) = (next(), next(), next());
        let k = ((a >> 11) >> (c % 53)).max(1);
        let m = (b >> 61 << 50) | ((b << 3) >> 14 >> ((c >> 8) % 51));
        blocks.push(block_of(k, m));
    }
    let got = normal_of_blocks(&blocks).unwrap();
    for (b, g) in blocks.iter().zip(&got) {
        assert_eq!(*g, normal_pair_f32_bits(*b), "block {b:08x?}");
    }
}
