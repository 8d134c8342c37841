//! The same kernels timed on the CPU and on the GPU (wgpu), so that a Rust user compares
//! the backends without Python (criterion).
//!
//! ```text
//! cargo bench --bench device_ops                       # both devices
//! cargo bench --bench device_ops -- wgpu               # GPU only (a filter)
//! FERROGRAD_BENCH_LOG2N=18 cargo bench --bench device_ops   # smaller, for software GPUs
//! ```
//!
//! Every GPU iteration ends with `Device::synchronize`, so a sample measures the kernels'
//! run time and not just the host recording them. Groups: `elementwise/<device>` (add,
//! mul, exp on 2^LOG2N f32; default 2^24), `reductions/<device>` (sum, max of all, sum
//! of the last axis), `matmul/<device>` (256^3 and 1024^3; Gelem/s reads as GFLOP/s) and
//! `small_op_chain/<device>` (100 ops on an (8, 8) tensor: host cost per op). Without a
//! wgpu adapter the GPU groups are left out with a note.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use ferrograd::{DType, Device, Tensor};

fn log2n() -> u32 {
    std::env::var("FERROGRAD_BENCH_LOG2N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

fn devices() -> Vec<Device> {
    match Device::Wgpu.check_available() {
        Ok(()) => vec![Device::Cpu, Device::Wgpu],
        Err(e) => {
            eprintln!("device_ops: no wgpu adapter ({e}); timing the CPU only");
            vec![Device::Cpu]
        }
    }
}

fn group<'a>(c: &'a mut Criterion, name: &str, dev: Device) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(format!("{name}/{dev}"));
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    g
}

fn randn(shape: &[usize], dev: Device) -> Tensor {
    Tensor::randn(shape, DType::F32)
        .and_then(|t| t.to_device(dev))
        .expect("randn")
}

/// Runs `f` and waits for the device.
fn timed(dev: Device, f: impl Fn() -> Tensor) -> Tensor {
    let out = f();
    dev.synchronize().expect("synchronize");
    out
}

fn elementwise(c: &mut Criterion) {
    let n = 1usize << log2n();
    for dev in devices() {
        let (a, b) = (randn(&[n], dev), randn(&[n], dev));
        let mut g = group(c, "elementwise", dev);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("add", |bn| {
            bn.iter(|| timed(dev, || black_box(&a).add(black_box(&b)).unwrap()))
        });
        g.bench_function("mul", |bn| {
            bn.iter(|| timed(dev, || black_box(&a).mul(black_box(&b)).unwrap()))
        });
        g.bench_function("exp", |bn| {
            bn.iter(|| timed(dev, || black_box(&a).exp().unwrap()))
        });
        g.finish();
    }
}

fn reductions(c: &mut Criterion) {
    let n = 1usize << log2n();
    let side = 1usize << (log2n() / 2);
    for dev in devices() {
        let a = randn(&[n], dev);
        let m = randn(&[side, n / side], dev);
        let mut g = group(c, "reductions", dev);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("sum_all", |bn| {
            bn.iter(|| timed(dev, || black_box(&a).sum(None, false).unwrap()))
        });
        g.bench_function("sum_last_axis", |bn| {
            bn.iter(|| timed(dev, || black_box(&m).sum(Some(&[1]), false).unwrap()))
        });
        g.bench_function("max_all", |bn| {
            bn.iter(|| timed(dev, || black_box(&a).max(None, false).unwrap()))
        });
        g.finish();
    }
}

fn matmul(c: &mut Criterion) {
    for dev in devices() {
        let mut g = group(c, "matmul", dev);
        for n in [256usize, 1024] {
            let (a, b) = (randn(&[n, n], dev), randn(&[n, n], dev));
            g.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
            g.bench_function(format!("{n}x{n}x{n}"), |bn| {
                bn.iter(|| timed(dev, || black_box(&a).matmul(black_box(&b)).unwrap()))
            });
        }
        g.finish();
    }
}

fn small_op_chain(c: &mut Criterion) {
    const OPS: u64 = 100;
    for dev in devices() {
        let x = randn(&[8, 8], dev);
        let mut g = group(c, "small_op_chain", dev);
        g.throughput(Throughput::Elements(OPS));
        g.bench_function("add_mul_x50", |bn| {
            bn.iter(|| {
                timed(dev, || {
                    let mut y = x.clone();
                    for _ in 0..OPS / 2 {
                        y = y.add(&x).unwrap().mul(&x).unwrap();
                    }
                    y
                })
            })
        });
        g.finish();
    }
}

criterion_group!(benches, elementwise, reductions, matmul, small_op_chain);
criterion_main!(benches);
