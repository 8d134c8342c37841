//! The CPU side of the random fills: element i computed independently from the stream,
//! in parallel chunks (so the numbers do not depend on the thread count).

use super::normal::normal_pair_f32;
use super::RandomKernels;
use crate::backend::Cpu;
use crate::device::cpu::{for_each_chunk, SendPtr, GRAIN};
use crate::ops::copy::uninit_cpu;
use crate::random::{u32_to_unit_f32, u64_to_unit_f64, PhiloxStream};
use crate::tensor::creation::generate;
use crate::tensor::{DType, Element, Tensor};
use crate::{dispatch, dispatch_float, Result};

impl RandomKernels for Cpu {
    fn rand(&self, shape: &[usize], dtype: DType, s: PhiloxStream) -> Result<Tensor> {
        dispatch_float!(dtype, "rand", T => rand_from::<T>(shape, s))
    }

    fn randn(&self, shape: &[usize], dtype: DType, s: PhiloxStream) -> Result<Tensor> {
        if dtype == DType::F32 {
            return randn_f32(shape, s);
        }
        dispatch_float!(dtype, "randn", T => generate::<T>(shape, |i| {
            let b = s.block((i / 2) as u64);
            let u1 = 1.0 - u64_to_unit_f64(b[0], b[1]); // (0, 1]
            let u2 = u64_to_unit_f64(b[2], b[3]);
            let r = (-2.0 * u1.ln()).sqrt();
            let th = 2.0 * std::f64::consts::PI * u2;
            T::from_f64(if i % 2 == 0 { r * th.cos() } else { r * th.sin() })
        }))
    }

    fn randint(
        &self,
        low: i64,
        high: i64,
        shape: &[usize],
        dtype: DType,
        s: PhiloxStream,
    ) -> Result<Tensor> {
        let range = (high as i128 - low as i128) as u128;
        dispatch!(dtype, T => generate::<T>(shape, |i| {
            let b = s.block((i / 2) as u64);
            let w = if i % 2 == 0 { ((b[0] as u64) << 32) | b[1] as u64 } else { ((b[2] as u64) << 32) | b[3] as u64 };
            // Multiply-shift maps 64 random bits onto the range (bias below 2^-64 * range).
            T::from_i64((low as i128 + ((w as u128 * range) >> 64) as i128) as i64)
        }))
    }
}

/// float32 randn by the integer Box-Muller of `normal.rs` (the same bits as the GPU's):
/// elements 2j and 2j + 1 are block j's pair, computed once for both.
fn randn_f32(shape: &[usize], s: PhiloxStream) -> Result<Tensor> {
    let t = uninit_cpu(DType::F32, shape)?;
    let n = t.numel();
    let p = SendPtr(t.storage().cpu_ptr::<f32>());
    // SAFETY: t is a fresh contiguous tensor of n elements; the chunk of pairs a..b writes
    // only elements 2a..min(2b, n), which no other chunk touches.
    for_each_chunk(n.div_ceil(2), GRAIN / 2, |a, b| unsafe {
        let lo = 2 * a;
        let out = p.slice_mut(lo, (2 * b).min(n) - lo);
        for (j, pair) in out.chunks_mut(2).enumerate() {
            let z = normal_pair_f32(s.block((a + j) as u64));
            pair.copy_from_slice(&z[..pair.len()]);
        }
    });
    Ok(t)
}

fn rand_from<T: Element>(shape: &[usize], s: PhiloxStream) -> Result<Tensor> {
    if T::DTYPE == DType::F32 {
        generate::<T>(shape, |i| {
            T::from_f64(u32_to_unit_f32(s.word(i as u64)) as f64)
        })
    } else {
        generate::<T>(shape, |i| {
            let b = s.block((i / 2) as u64);
            let (hi, lo) = if i % 2 == 0 {
                (b[0], b[1])
            } else {
                (b[2], b[3])
            };
            T::from_f64(u64_to_unit_f64(hi, lo))
        })
    }
}
