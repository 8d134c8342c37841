//! CPU kernel benchmarks (criterion).
//!
//! Run (the default `wgpu` feature is not needed for CPU numbers):
//!
//! ```text
//! cargo bench --no-default-features --bench cpu_ops            # everything, < 3 min
//! cargo bench --no-default-features --bench cpu_ops -- matmul   # one group (a filter)
//! RAYON_NUM_THREADS=1 cargo bench --no-default-features --bench cpu_ops   # 1 thread
//! ```
//!
//! Groups:
//! * `elementwise`: add, mul, exp, relu on 2^24 f32 (throughput in elements/s).
//! * `reductions`: sum of all 2^24 elements, sum over the last axis of (4096, 4096),
//!   max of all elements.
//! * `matmul_f32`: 256^3, 1024^3 and 1024^3 with a transposed (strided) right operand.
//!   Throughput is set to 2*m*n*k "elements", so criterion's `Gelem/s` reads as GFLOP/s.
//!
//! Sample sizes are small (10 samples, flat sampling, ~2 s per benchmark): these are for
//! spotting regressions and order-of-magnitude comparisons, not for fine statistics.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use ferrograd::{DType, Tensor};

/// 2^24 elements = 64 MiB of f32: big enough to be memory-bound and to spread over threads.
const N: usize = 1 << 24;
/// Side of the square matrix used by the axis reduction (4096 * 4096 = 2^24 elements).
const SIDE: usize = 4096;

/// A group configured for short runs of heavy (multi-millisecond) operations.
fn short_group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g
}

fn rand(shape: &[usize]) -> Tensor {
    Tensor::rand(shape, DType::F32).expect("rand")
}

fn randn(shape: &[usize]) -> Tensor {
    Tensor::randn(shape, DType::F32).expect("randn")
}

fn elementwise(c: &mut Criterion) {
    let a = randn(&[N]);
    let b = randn(&[N]);
    let mut g = short_group(c, "elementwise");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("add", |bn| {
        bn.iter(|| black_box(&a).add(black_box(&b)).unwrap())
    });
    g.bench_function("mul", |bn| {
        bn.iter(|| black_box(&a).mul(black_box(&b)).unwrap())
    });
    g.bench_function("mul_scalar", |bn| {
        bn.iter(|| black_box(&a).mul(2.0).unwrap())
    });
    g.bench_function("exp", |bn| bn.iter(|| black_box(&a).exp().unwrap()));
    g.bench_function("relu", |bn| bn.iter(|| black_box(&a).relu().unwrap()));
    g.finish();
}

fn reductions(c: &mut Criterion) {
    let a = rand(&[N]);
    let m = rand(&[SIDE, SIDE]);
    let mut g = short_group(c, "reductions");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("sum_all", |bn| {
        bn.iter(|| black_box(&a).sum(None, false).unwrap())
    });
    g.bench_function("sum_last_axis_4096x4096", |bn| {
        bn.iter(|| black_box(&m).sum(Some(&[1]), false).unwrap())
    });
    g.bench_function("sum_first_axis_4096x4096", |bn| {
        bn.iter(|| black_box(&m).sum(Some(&[0]), false).unwrap())
    });
    g.bench_function("max_all", |bn| {
        bn.iter(|| black_box(&a).max(None, false).unwrap())
    });
    g.finish();
}

fn matmul(c: &mut Criterion) {
    let mut g = short_group(c, "matmul_f32");
    for n in [256usize, 1024] {
        let a = randn(&[n, n]);
        let b = randn(&[n, n]);
        g.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        g.bench_function(format!("{n}x{n}x{n}"), |bn| {
            bn.iter(|| black_box(&a).matmul(black_box(&b)).unwrap())
        });
        if n == 1024 {
            // b.t() is a strided view: the kernel must handle a non-contiguous operand.
            let bt = b.t();
            g.bench_function(format!("{n}x{n}x{n}_rhs_transposed"), |bn| {
                bn.iter(|| black_box(&a).matmul(black_box(&bt)).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, elementwise, reductions, matmul);
criterion_main!(benches);
