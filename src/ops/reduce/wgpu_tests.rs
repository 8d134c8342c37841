//! The wgpu reductions against the CPU's, on the paths the Python parity suite's small
//! shapes do not reach: several passes (chunked partials), argmax ties and NaNs that
//! straddle chunk boundaries, and int64/bool inputs. Skipped without an adapter.

use crate::device::Device;
use crate::tensor::{DType, Tensor};

fn gpu() -> bool {
    crate::device::wgpu::is_available()
}

fn f32s(t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>().unwrap()
}

/// Values in [-1, 1) from a small LCG, so that runs and devices agree.
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

fn on_gpu(t: &Tensor) -> Tensor {
    t.to_device(Device::Wgpu).unwrap()
}

fn close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = (g.is_nan() && w.is_nan()) || (g - w).abs() <= tol * (1.0 + w.abs());
        assert!(ok, "element {i}: wgpu {g}, cpu {w}");
    }
}

#[test]
fn long_reductions_take_several_passes() {
    if !gpu() {
        return;
    }
    // 2 x 300_000: chunked first pass, then a pass over the partials.
    let x = Tensor::from_vec(values(600_000, 1), &[2, 300_000]).unwrap();
    let g = on_gpu(&x);
    let ax = Some(&[1isize][..]);
    close(
        &f32s(&g.sum(ax, false).unwrap()),
        &f32s(&x.sum(ax, false).unwrap()),
        1e-3,
    );
    close(
        &f32s(&g.mean(ax, false).unwrap()),
        &f32s(&x.mean(ax, false).unwrap()),
        1e-3,
    );
    close(
        &f32s(&g.var(ax, 1.0, false).unwrap()),
        &f32s(&x.var(ax, 1.0, false).unwrap()),
        1e-4,
    );
    close(
        &f32s(&g.max(ax, true).unwrap()),
        &f32s(&x.max(ax, true).unwrap()),
        0.0,
    );
    close(
        &f32s(&g.logsumexp(None, false).unwrap()),
        &f32s(&x.logsumexp(None, false).unwrap()),
        1e-5,
    );
}

#[test]
fn argmax_over_chunks_keeps_the_first_tie_and_the_first_nan() {
    if !gpu() {
        return;
    }
    let n = 100_000;
    let mut v = values(n, 2);
    // Equal maxima far apart (different chunks): the first wins.
    v[70_000] = 5.0;
    v[5_000] = 5.0;
    v[90_000] = -5.0;
    v[20_000] = -5.0;
    let x = Tensor::from_vec(v.clone(), &[n]).unwrap();
    let g = on_gpu(&x);
    for (got, want) in [
        (g.argmax(None, false).unwrap(), 5_000i64),
        (g.argmin(None, false).unwrap(), 20_000),
    ] {
        assert_eq!(got.dtype(), DType::I64);
        assert_eq!(got.to_vec::<i64>().unwrap(), vec![want]);
    }
    // A NaN beats every number, and the first NaN wins; max propagates it.
    v[80_000] = f32::NAN;
    v[60_000] = f32::NAN;
    let g = on_gpu(&Tensor::from_vec(v, &[n]).unwrap());
    assert_eq!(
        g.argmax(None, false).unwrap().to_vec::<i64>().unwrap(),
        vec![60_000]
    );
    assert_eq!(
        g.argmin(None, false).unwrap().to_vec::<i64>().unwrap(),
        vec![60_000]
    );
    assert!(f32s(&g.max(None, false).unwrap())[0].is_nan());
}

#[test]
fn int_and_bool_reductions_match_the_cpu() {
    if !gpu() {
        return;
    }
    let v: Vec<i64> = (0..5000).map(|i| (i * 7919 % 201) - 100).collect();
    let x = Tensor::from_vec(v, &[50, 100]).unwrap();
    let g = on_gpu(&x);
    for ax in [None, Some(&[0isize][..]), Some(&[1isize][..])] {
        for (a, b) in [
            (g.sum(ax, false), x.sum(ax, false)),
            (g.max(ax, false), x.max(ax, false)),
            (g.min(ax, false), x.min(ax, false)),
        ] {
            let (a, b) = (a.unwrap(), b.unwrap());
            assert_eq!(a.dtype(), DType::I64);
            assert_eq!(a.to_vec::<i64>().unwrap(), b.to_vec::<i64>().unwrap());
        }
    }
    let m = x.gt(0.0).unwrap();
    let gm = on_gpu(&m);
    let s = gm.sum(None, false).unwrap();
    assert_eq!(s.dtype(), DType::I64);
    assert_eq!(
        s.to_vec::<i64>().unwrap(),
        m.sum(None, false).unwrap().to_vec::<i64>().unwrap()
    );
    for ax in [None, Some(&[1isize][..])] {
        for (a, b) in [
            (gm.all(ax, false), m.all(ax, false)),
            (gm.any(ax, false), m.any(ax, false)),
        ] {
            let (a, b) = (a.unwrap(), b.unwrap());
            assert_eq!(a.dtype(), DType::Bool);
            assert_eq!(a.to_vec::<bool>().unwrap(), b.to_vec::<bool>().unwrap());
        }
    }
}

#[test]
fn empty_reductions_give_the_identity_or_the_cpu_error() {
    if !gpu() {
        return;
    }
    let x = Tensor::from_vec(Vec::<f32>::new(), &[0, 3]).unwrap();
    let g = on_gpu(&x);
    let ax = Some(&[0isize][..]);
    assert_eq!(f32s(&g.sum(ax, false).unwrap()), vec![0.0; 3]);
    assert_eq!(f32s(&g.prod(ax, false).unwrap()), vec![1.0; 3]);
    assert!(f32s(&g.mean(ax, false).unwrap()).iter().all(|v| v.is_nan()));
    assert_eq!(
        f32s(&g.logsumexp(ax, false).unwrap()),
        vec![f32::NEG_INFINITY; 3]
    );
    let (e_gpu, e_cpu) = (g.max(ax, false).unwrap_err(), x.max(ax, false).unwrap_err());
    assert_eq!(e_gpu.to_string(), e_cpu.to_string());
    let (e_gpu, e_cpu) = (
        g.argmax(Some(0), false).unwrap_err(),
        x.argmax(Some(0), false).unwrap_err(),
    );
    assert_eq!(e_gpu.to_string(), e_cpu.to_string());
}
