//! Every op against a plain host reference (f64 accumulation). Without an adapter the
//! tests print why and pass, so `cargo test` works on machines with no GPU driver.

use std::time::Instant;

use super::*;
use crate::tensor::layout::Layout;

/// True when a wgpu adapter is usable; otherwise says why the test is skipped.
fn gpu() -> bool {
    match context() {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipping wgpu test: {e}");
            false
        }
    }
}

macro_rules! require_gpu {
    () => {
        if !gpu() {
            return;
        }
    };
}

/// Deterministic values in [lo, hi) from a small LCG (no rand dependency).
fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (s >> 40) as f32 / (1u64 << 24) as f32;
            lo + (hi - lo) * u
        })
        .collect()
}

/// The elements of a view in row-major order, as f64.
fn gather(data: &[f32], l: &Layout) -> Vec<f64> {
    let n = l.numel();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; l.shape.len()];
    for _ in 0..n {
        let off: isize = l.offset as isize
            + idx
                .iter()
                .zip(&l.strides)
                .map(|(&i, &s)| i as isize * s)
                .sum::<isize>();
        out.push(data[off as usize] as f64);
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < l.shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

fn assert_close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= tol * (1.0 + w.abs()),
            "element {i}: got {g}, want {w}"
        );
    }
}

fn upload(data: &[f32]) -> WgpuStorage {
    WgpuStorage::from_host(data).unwrap()
}

// ---- context and storage ----

#[test]
fn context_reports_adapter() {
    require_gpu!();
    assert!(is_available());
    let limits = &context().unwrap().limits;
    println!(
        "wgpu adapter: {}; max storage binding {} bytes, max workgroups per dim {}",
        adapter_name().unwrap(),
        limits.max_storage_buffer_binding_size,
        limits.max_compute_workgroups_per_dimension
    );
}

#[test]
fn roundtrip_and_zeros() {
    require_gpu!();
    let data = values(1000, 1, -1.0, 1.0);
    assert_eq!(upload(&data).to_host().unwrap(), data);
    let z = WgpuStorage::zeros(17).unwrap();
    assert_eq!((z.len(), z.to_host().unwrap()), (17, vec![0.0; 17]));
    let e = WgpuStorage::from_host(&[]).unwrap();
    assert_eq!((e.len(), e.to_host().unwrap()), (0, vec![]));
    // beyond the device's binding limit: a clear error, not a wgpu panic
    assert!(matches!(
        WgpuStorage::zeros(1 << 40),
        Err(crate::Error::Device(_))
    ));
}

#[test]
fn view_outside_buffer_is_an_error() {
    require_gpu!();
    let a = upload(&[1.0; 6]);
    let l = Layout {
        shape: vec![2, 3],
        strides: vec![3, 1],
        offset: 1,
    };
    assert!(relu(&a, &l).is_err());
}

// ---- elementwise ----

fn binary_ref(op: BinaryOp, a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .map(|(x, y)| if op == BinaryOp::Add { x + y } else { x * y })
        .collect()
}

/// Runs `binary` on two views and checks it against the host reference.
fn check_binary(a: &[f32], la: &Layout, b: &[f32], lb: &Layout, out_shape: &[usize]) {
    let (ga, gb) = (upload(a), upload(b));
    let ra = gather(a, &la.broadcast_to(out_shape).unwrap());
    let rb = gather(b, &lb.broadcast_to(out_shape).unwrap());
    for op in [BinaryOp::Add, BinaryOp::Mul] {
        let out = binary(op, &ga, la, &gb, lb, out_shape).unwrap();
        assert_close(&out.to_host().unwrap(), &binary_ref(op, &ra, &rb), 1e-6);
    }
}

#[test]
fn binary_broadcasts() {
    require_gpu!();
    let a = values(15, 2, -1.0, 1.0);
    let b = values(20, 3, -1.0, 1.0);
    check_binary(
        &a,
        &Layout::contiguous(&[3, 1, 5]),
        &b,
        &Layout::contiguous(&[4, 5]),
        &[3, 4, 5],
    );
    // a scalar on the right
    check_binary(
        &b,
        &Layout::contiguous(&[4, 5]),
        &a,
        &Layout::contiguous(&[]),
        &[4, 5],
    );
}

#[test]
fn binary_transposed_and_flipped() {
    require_gpu!();
    let a = values(24, 4, -1.0, 1.0);
    let b = values(24, 5, -1.0, 1.0);
    let transposed = Layout::contiguous(&[4, 6]).transpose(0, 1); // (6, 4)
    let flipped = Layout {
        shape: vec![6, 4],
        strides: vec![-4, 1],
        offset: 20,
    };
    check_binary(&a, &transposed, &b, &flipped, &[6, 4]);
    // flipped along both axes against a row broadcast
    let both = Layout {
        shape: vec![6, 4],
        strides: vec![-4, -1],
        offset: 23,
    };
    check_binary(
        &a,
        &both,
        &b,
        &Layout {
            shape: vec![4],
            strides: vec![-1],
            offset: 3,
        },
        &[6, 4],
    );
}

#[test]
fn binary_offset_views() {
    require_gpu!();
    let a = values(100, 6, -1.0, 1.0);
    let b = values(50, 7, -1.0, 1.0);
    let la = Layout {
        shape: vec![3, 4],
        strides: vec![10, 2],
        offset: 7,
    };
    let lb = Layout {
        shape: vec![],
        strides: vec![],
        offset: 42,
    };
    check_binary(&a, &la, &b, &lb, &[3, 4]);
    let lb = Layout {
        shape: vec![3, 1],
        strides: vec![5, 1],
        offset: 9,
    };
    check_binary(&a, &la, &b, &lb, &[2, 3, 4]);
}

#[test]
fn binary_zero_size() {
    require_gpu!();
    let a = upload(&[]);
    let b = upload(&[1.0, 2.0]);
    let out = binary(
        BinaryOp::Add,
        &a,
        &Layout::contiguous(&[0, 2]),
        &b,
        &Layout::contiguous(&[2]),
        &[0, 2],
    );
    assert_eq!(out.unwrap().len(), 0);
}

#[test]
fn binary_large_uses_2d_grid() {
    require_gpu!();
    // More than 65535 workgroups of 256 threads: the grid must spill into y.
    let n = 65535 * 256 + 1000;
    let a = values(n, 8, -1.0, 1.0);
    let la = Layout::contiguous(&[n]);
    let b = [0.5f32];
    let out = binary(
        BinaryOp::Mul,
        &upload(&a),
        &la,
        &upload(&b),
        &Layout::contiguous(&[1]),
        &[n],
    );
    let got = out.unwrap().to_host().unwrap();
    assert_eq!(got.len(), n);
    assert!(got.iter().zip(&a).all(|(g, x)| *g == x * 0.5));
}

#[test]
fn relu_of_strided_view() {
    require_gpu!();
    let mut a = values(60, 9, -1.0, 1.0);
    a[13] = f32::NAN;
    let l = Layout {
        shape: vec![5, 4],
        strides: vec![-1, 12],
        offset: 14,
    };
    let got = relu(&upload(&a), &l).unwrap().to_host().unwrap();
    let want = gather(&a, &l);
    for (g, w) in got.iter().zip(&want) {
        if w.is_nan() {
            assert!(g.is_nan());
        } else {
            assert_eq!(*g as f64, w.max(0.0));
        }
    }
    assert!(want.iter().any(|w| w.is_nan()));
}

#[test]
fn contiguous_copies_views() {
    require_gpu!();
    let a = values(60, 10, -1.0, 1.0);
    let g = upload(&a);
    for l in [
        Layout {
            shape: vec![3, 4, 5],
            strides: vec![1, 3, 12],
            offset: 0,
        },
        Layout {
            shape: vec![2, 5],
            strides: vec![5, 1],
            offset: 13,
        }, // one run: buffer copy
        Layout {
            shape: vec![6, 5],
            strides: vec![-10, -2],
            offset: 59,
        },
        Layout {
            shape: vec![2, 3, 1, 2, 1, 2, 2, 1, 2],
            strides: vec![30, 10, 99, 5, 99, 2, 1, 99, 0],
            offset: 0,
        },
        Layout::contiguous(&[0, 3]),
    ] {
        let got = contiguous(&g, &l).unwrap().to_host().unwrap();
        assert_close(&got, &gather(&a, &l), 0.0);
    }
}

// ---- sum ----

/// Host sum of a view over `axes` (f64), output in row-major order of the kept dims.
fn sum_ref(data: &[f32], l: &Layout, axes: &[usize]) -> Vec<f64> {
    let kept: Vec<usize> = (0..l.shape.len()).filter(|d| !axes.contains(d)).collect();
    let out_shape: Vec<usize> = kept.iter().map(|&d| l.shape[d]).collect();
    let mut out = vec![0.0; out_shape.iter().product()];
    let flat = gather(data, l);
    let mut idx = vec![0usize; l.shape.len()];
    for v in flat {
        let mut o = 0;
        for &d in &kept {
            o = o * l.shape[d] + idx[d];
        }
        out[o] += v;
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < l.shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

fn check_sum(data: &[f32], l: &Layout, axes: &[usize], tol: f64) {
    let got = sum(&upload(data), l, axes).unwrap().to_host().unwrap();
    assert_close(&got, &sum_ref(data, l, axes), tol);
}

#[test]
fn sum_all_of_a_million() {
    require_gpu!();
    let n = 1 << 20;
    let a = values(n, 11, 0.0, 1.0);
    let got = sum(&upload(&a), &Layout::contiguous(&[n]), &[0])
        .unwrap()
        .to_host()
        .unwrap();
    let want: f64 = a.iter().map(|&x| x as f64).sum();
    let rel = (got[0] as f64 - want).abs() / want;
    assert!(rel < 1e-5, "sum {} vs {want}: relative error {rel}", got[0]);
    // the same over all axes of a 3-D view
    let l = Layout::contiguous(&[64, 128, 128]);
    let got = sum(&upload(&a), &l, &[0, 1, 2]).unwrap().to_host().unwrap();
    assert!((got[0] as f64 - want).abs() / want < 1e-5);
}

#[test]
fn sum_over_axes() {
    require_gpu!();
    let a = values(37 * 50 * 23, 12, -1.0, 1.0);
    let l = Layout::contiguous(&[37, 50, 23]);
    check_sum(&a, &l, &[0], 1e-5);
    check_sum(&a, &l, &[2], 1e-5);
    check_sum(&a, &l, &[0, 2], 1e-5);
    check_sum(&a, &l, &[1], 1e-5);
    check_sum(&a, &l, &[0, 1, 2], 1e-4);
    // a permuted, flipped view
    let v = Layout {
        shape: vec![23, 50, 37],
        strides: vec![1, -23, 1150],
        offset: 49 * 23,
    };
    check_sum(&a, &v, &[0, 2], 1e-5);
    check_sum(&a, &v, &[1], 1e-5);
}

#[test]
fn sum_shapes_that_pick_each_strategy() {
    require_gpu!();
    let a = values(200_000, 13, -1.0, 1.0);
    // many outputs, few elements each: one thread per output
    check_sum(&a, &Layout::contiguous(&[50_000, 4]), &[1], 1e-5);
    // few outputs, many elements each: chunked two-pass
    check_sum(&a, &Layout::contiguous(&[100_000, 2]), &[0], 1e-4);
    // a broadcast (stride 0) axis summed
    check_sum(
        &a,
        &Layout {
            shape: vec![3, 1000],
            strides: vec![1, 0],
            offset: 5,
        },
        &[1],
        1e-5,
    );
}

#[test]
fn sum_empty_axes_and_zero_size() {
    require_gpu!();
    let a = values(12, 14, -1.0, 1.0);
    let l = Layout::contiguous(&[3, 4]).transpose(0, 1);
    check_sum(&a, &l, &[], 0.0);
    let e = upload(&[]);
    assert_eq!(
        sum(&e, &Layout::contiguous(&[0]), &[0])
            .unwrap()
            .to_host()
            .unwrap(),
        vec![0.0]
    );
    assert_eq!(
        sum(&e, &Layout::contiguous(&[0, 5]), &[0])
            .unwrap()
            .to_host()
            .unwrap(),
        vec![0.0; 5]
    );
    assert_eq!(
        sum(&e, &Layout::contiguous(&[0, 5]), &[1]).unwrap().len(),
        0
    );
    assert!(sum(&e, &Layout::contiguous(&[0, 5]), &[2]).is_err());
}

// ---- matmul ----

/// Host batched matmul of two 3-D views.
fn matmul_ref(a: &[f32], la: &Layout, b: &[f32], lb: &Layout) -> Vec<f64> {
    let (batch, m, k, n) = (la.shape[0], la.shape[1], la.shape[2], lb.shape[2]);
    let (ga, gb) = (gather(a, la), gather(b, lb));
    let mut out = vec![0.0; batch * m * n];
    for p in 0..batch {
        for i in 0..m {
            for j in 0..n {
                out[(p * m + i) * n + j] = (0..k)
                    .map(|t| ga[(p * m + i) * k + t] * gb[(p * k + t) * n + j])
                    .sum();
            }
        }
    }
    out
}

fn check_matmul(a: &[f32], la: &Layout, b: &[f32], lb: &Layout) {
    let got = matmul(&upload(a), la, &upload(b), lb)
        .unwrap()
        .to_host()
        .unwrap();
    assert_close(
        &got,
        &matmul_ref(a, la, b, lb),
        2e-6 * (la.shape[2] as f64).max(1.0),
    );
}

#[test]
fn matmul_sizes() {
    require_gpu!();
    for (m, k, n) in [(1, 1, 1), (37, 53, 29), (128, 256, 64), (65, 17, 130)] {
        let a = values(m * k, 15, -1.0, 1.0);
        let b = values(k * n, 16, -1.0, 1.0);
        check_matmul(
            &a,
            &Layout::contiguous(&[1, m, k]),
            &b,
            &Layout::contiguous(&[1, k, n]),
        );
    }
}

#[test]
fn matmul_batched_with_broadcast_batch() {
    require_gpu!();
    let (batch, m, k, n) = (3, 20, 33, 70);
    let a = values(m * k, 17, -1.0, 1.0);
    let b = values(batch * k * n, 18, -1.0, 1.0);
    let la = Layout {
        shape: vec![batch, m, k],
        strides: vec![0, k as isize, 1],
        offset: 0,
    };
    check_matmul(&a, &la, &b, &Layout::contiguous(&[batch, k, n]));
}

#[test]
fn matmul_transposed_operands() {
    require_gpu!();
    let (batch, m, k, n) = (2, 45, 70, 31);
    let a = values(batch * k * m, 19, -1.0, 1.0);
    let b = values(n * k + 3, 20, -1.0, 1.0);
    // A stored as (batch, k, m), B as (n, k) with an offset, shared across the batch.
    let la = Layout::contiguous(&[batch, k, m]).transpose(1, 2);
    let lb = Layout {
        shape: vec![batch, k, n],
        strides: vec![0, 1, k as isize],
        offset: 3,
    };
    check_matmul(&a, &la, &b, &lb);
}

#[test]
fn matmul_zero_size() {
    require_gpu!();
    let e = upload(&[]);
    let out = matmul(
        &e,
        &Layout::contiguous(&[2, 3, 0]),
        &e,
        &Layout::contiguous(&[2, 0, 4]),
    )
    .unwrap();
    assert_eq!(out.to_host().unwrap(), vec![0.0; 24]);
    let out = matmul(
        &e,
        &Layout::contiguous(&[1, 0, 5]),
        &upload(&[1.0; 10]),
        &Layout::contiguous(&[1, 5, 2]),
    );
    assert_eq!(out.unwrap().len(), 0);
    let bad = matmul(
        &e,
        &Layout::contiguous(&[1, 0, 5]),
        &e,
        &Layout::contiguous(&[1, 4, 0]),
    );
    assert!(bad.is_err());
}

// ---- 2-D grids ----

#[test]
fn every_kernel_on_a_2d_grid() {
    require_gpu!();
    // With at most 7 workgroups per dimension every launch below (8 to 40 workgroups)
    // spills into y and leaves a few workgroups past the end, which must do nothing.
    super::dispatch::TEST_GRID_LIMIT.with(|c| c.set(Some(7)));
    let a = values(20_000, 26, -1.0, 1.0);
    let b = values(40, 27, -1.0, 1.0);
    let la = Layout::contiguous(&[100, 40]);
    check_binary(&a, &la, &b, &Layout::contiguous(&[40]), &[100, 40]);
    let flipped = Layout {
        shape: vec![40, 100],
        strides: vec![-1, 40],
        offset: 39,
    };
    let got = relu(&upload(&a), &flipped).unwrap().to_host().unwrap();
    let want: Vec<f64> = gather(&a, &flipped).iter().map(|x| x.max(0.0)).collect();
    assert_close(&got, &want, 0.0);
    check_sum(&a, &Layout::contiguous(&[2000, 2]), &[1], 1e-5); // thread per output
    check_sum(&a, &Layout::contiguous(&[40, 100]), &[1], 1e-5); // workgroup per output
    check_sum(&a, &Layout::contiguous(&[20_000]), &[0], 1e-5); // 10 chunks, then 1 thread
    let (batch, m, k, n) = (3, 70, 9, 130);
    let ma = values(batch * m * k, 28, -1.0, 1.0);
    let mb = values(batch * k * n, 29, -1.0, 1.0);
    let (lma, lmb) = (
        Layout::contiguous(&[batch, m, k]),
        Layout::contiguous(&[batch, k, n]),
    );
    check_matmul(&ma, &lma, &mb, &lmb);
    super::dispatch::TEST_GRID_LIMIT.with(|c| c.set(None));
}

// ---- timings (printed, not asserted) ----

/// Best of a few runs of `f`, which must wait for its result, after one warm-up run.
fn best_of(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn timing_matmul_1024() {
    require_gpu!();
    let n = 1024;
    let a = upload(&values(n * n, 21, -1.0, 1.0));
    let b = upload(&values(n * n, 22, -1.0, 1.0));
    let l = Layout::contiguous(&[1, n, n]);
    let one = Layout::contiguous(&[1]);
    let secs = best_of(1, || {
        let c = matmul(&a, &l, &b, &l).unwrap();
        // read back one element to wait for the GPU without timing a 4 MiB transfer
        contiguous(&c, &one).unwrap().to_host().unwrap();
    });
    let gflops = 2.0 * (n * n * n) as f64 / secs / 1e9;
    println!(
        "timing: matmul 1024x1024x1024 on {}: {:.1} ms ({gflops:.2} GFLOP/s)",
        adapter_name().unwrap(),
        secs * 1e3
    );
}

#[test]
fn timing_sum_16m() {
    require_gpu!();
    let n = 1 << 24;
    let a = upload(&values(n, 23, 0.0, 1.0));
    let l = Layout::contiguous(&[n]);
    let secs = best_of(3, || {
        sum(&a, &l, &[0]).unwrap().to_host().unwrap();
    });
    let gbs = (n * 4) as f64 / secs / 1e9;
    println!(
        "timing: sum of 2^24 floats on {}: {:.1} ms ({gbs:.2} GB/s)",
        adapter_name().unwrap(),
        secs * 1e3
    );
}
