//! The wgpu backend from Rust (no Python): each op family on the GPU against the CPU,
//! forward and backward, over views and broadcasts, plus the int64/bool storage and the
//! dtype errors. Every test returns early when no wgpu adapter exists (a machine
//! without a GPU driver); CI installs lavapipe, so there they run.

use ferrograd::{DType, Device, Tensor};

fn gpu() -> bool {
    Device::Wgpu.check_available().is_ok()
}

/// Deterministic values in [-2, 2).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
        })
        .collect()
}

fn cpu_tensor(shape: &[usize], seed: u64) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(values(n, seed), shape).unwrap()
}

fn host(t: &Tensor) -> Vec<f32> {
    assert_eq!(t.device(), Device::Wgpu, "the result left the GPU");
    t.to_device(Device::Cpu).unwrap().to_vec::<f32>().unwrap()
}

fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = (g - w).abs() <= tol * (1.0 + w.abs()) || (g.is_nan() && w.is_nan());
        assert!(ok, "element {i}: {g} vs {w}");
    }
}

/// Runs `f` on CPU inputs and on their GPU copies, compares the outputs and the
/// gradients of sum(out * out) with respect to every input.
fn parity(shapes: &[&[usize]], tol: f32, f: impl Fn(&[Tensor]) -> Tensor) {
    let run = |dev: Device| {
        let leaves: Vec<Tensor> = shapes
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let t = cpu_tensor(s, i as u64 + 1).to_device(dev).unwrap();
                t.set_requires_grad(true).unwrap();
                t
            })
            .collect();
        let out = f(&leaves);
        out.mul(&out)
            .unwrap()
            .sum(None, false)
            .unwrap()
            .backward()
            .unwrap();
        let grads: Vec<Tensor> = leaves.iter().map(|l| l.grad().unwrap()).collect();
        (out, grads)
    };
    let (c_out, c_grads) = run(Device::Cpu);
    let (g_out, g_grads) = run(Device::Wgpu);
    assert_close(&host(&g_out), &c_out.to_vec::<f32>().unwrap(), tol);
    for (g, c) in g_grads.iter().zip(&c_grads) {
        assert_close(&host(g), &c.to_vec::<f32>().unwrap(), tol);
    }
}

#[test]
fn elementwise_math_and_broadcasting() {
    if !gpu() {
        return;
    }
    parity(&[&[5, 7], &[7]], 1e-5, |t| {
        t[0].mul(&t[1]).unwrap().add(&t[0]).unwrap()
    });
    parity(&[&[6, 4]], 1e-5, |t| t[0].exp().unwrap().tanh().unwrap());
    parity(&[&[6, 4]], 1e-5, |t| {
        t[0].sigmoid().unwrap().relu().unwrap()
    });
    parity(&[&[3, 5]], 1e-5, |t| {
        t[0].t().abs().unwrap().sqrt().unwrap()
    });
    parity(&[&[4, 3], &[4, 1]], 1e-5, |t| t[0].maximum(&t[1]).unwrap());
    parity(&[&[8]], 1e-5, |t| {
        let c = t[0].gt(0.5).unwrap();
        Tensor::where_(&c, &t[0], 0.0).unwrap()
    });
}

#[test]
fn matmul_transposed_and_batched() {
    if !gpu() {
        return;
    }
    parity(&[&[9, 5], &[5, 7]], 1e-4, |t| t[0].matmul(&t[1]).unwrap());
    parity(&[&[5, 9], &[7, 5]], 1e-4, |t| {
        t[0].t().matmul(&t[1].t()).unwrap()
    });
    parity(&[&[2, 3, 4, 5], &[5, 6]], 1e-4, |t| {
        t[0].matmul(&t[1]).unwrap()
    });
}

#[test]
fn sums_over_axes() {
    if !gpu() {
        return;
    }
    parity(&[&[4, 5, 6]], 1e-5, |t| {
        t[0].sum(Some(&[1]), false).unwrap()
    });
    parity(&[&[4, 5, 6]], 1e-5, |t| {
        t[0].sum(Some(&[0, 2]), true).unwrap()
    });
    parity(&[&[300, 70]], 1e-4, |t| t[0].sum(None, false).unwrap());
}

#[test]
fn int64_and_bool_live_on_the_gpu() {
    if !gpu() {
        return;
    }
    let edge = vec![i32::MIN as i64, -1, 0, 7, i32::MAX as i64];
    let t = Tensor::from_vec(edge.clone(), &[5]).unwrap();
    let g = t.to_device(Device::Wgpu).unwrap();
    assert_eq!((g.device(), g.dtype()), (Device::Wgpu, DType::I64));
    let back = g.to_device(Device::Cpu).unwrap();
    assert_eq!(back.to_vec::<i64>().unwrap(), edge);
    // Past int32 the upload refuses rather than wrap.
    let big = Tensor::from_vec(vec![1i64 << 31], &[1]).unwrap();
    let err = big.to_device(Device::Wgpu).unwrap_err().to_string();
    assert!(
        err.contains("2147483648") && err.contains("32 bits"),
        "{err}"
    );
    // Comparisons make bool tensors on the GPU; casts go both ways.
    let x = cpu_tensor(&[10], 3);
    let m = x.to_device(Device::Wgpu).unwrap().gt(0.0).unwrap();
    assert_eq!((m.device(), m.dtype()), (Device::Wgpu, DType::Bool));
    let want: Vec<bool> = x
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|&v| v > 0.0)
        .collect();
    assert_eq!(
        m.to_device(Device::Cpu).unwrap().to_vec::<bool>().unwrap(),
        want
    );
    let as_int = m
        .to_dtype(DType::I64)
        .unwrap()
        .to_device(Device::Cpu)
        .unwrap();
    let want_int: Vec<i64> = want.iter().map(|&b| b as i64).collect();
    assert_eq!(as_int.to_vec::<i64>().unwrap(), want_int);
}

#[test]
fn float64_and_mixed_devices_are_clean_errors() {
    if !gpu() {
        return;
    }
    let d = Tensor::from_vec(vec![1.0f64, 2.0], &[2]).unwrap();
    let err = d.to_device(Device::Wgpu).unwrap_err();
    assert!(matches!(err, ferrograd::Error::DType(_)), "{err}");
    assert!(err.to_string().contains("float32, int64, bool"), "{err}");
    let a = cpu_tensor(&[3], 1);
    let b = a.to_device(Device::Wgpu).unwrap();
    let err = a.add(&b).unwrap_err().to_string();
    assert!(err.contains("cpu") && err.contains("wgpu"), "{err}");
}

#[test]
fn matmul_sizes_around_the_tile_edges() {
    if !gpu() {
        return;
    }
    // The kernel computes 64x64 output tiles in 4-wide columns: sizes on both sides of
    // each edge, a k of zero, and vectors.
    for (m, k, n) in [
        (1, 1, 1),
        (63, 65, 64),
        (65, 3, 129),
        (7, 130, 5),
        (64, 64, 64),
    ] {
        parity(&[&[m, k], &[k, n]], 1e-4, |t| t[0].matmul(&t[1]).unwrap());
    }
    let a = cpu_tensor(&[3, 0], 1).to_device(Device::Wgpu).unwrap();
    let b = cpu_tensor(&[0, 4], 2).to_device(Device::Wgpu).unwrap();
    assert_eq!(host(&a.matmul(&b).unwrap()), vec![0.0; 12]);
    parity(&[&[9], &[9, 4]], 1e-4, |t| t[0].matmul(&t[1]).unwrap());
    parity(&[&[4, 9], &[9]], 1e-4, |t| t[0].matmul(&t[1]).unwrap());
}

#[test]
fn a_launch_past_65535_workgroups_spills_into_a_second_dimension() {
    if !gpu() {
        return;
    }
    // 2^24 + 1000 elements: 65,540 workgroups of 256 threads, past the per-dimension
    // limit of every adapter, without the test hook that lowers it.
    let n = (1usize << 24) + 1000;
    let host: Vec<f32> = (0..n).map(|i| (i % 1024) as f32).collect();
    let x = Tensor::from_vec(host, &[n])
        .unwrap()
        .to_device(Device::Wgpu)
        .unwrap();
    let y = x.mul(2.0).unwrap().add(1.0).unwrap();
    let back = y.to_device(Device::Cpu).unwrap().to_vec::<f32>().unwrap();
    for i in [0, 65_535 * 256 - 1, 65_535 * 256, 65_535 * 256 + 1, n - 1] {
        assert_eq!(back[i], (i % 1024) as f32 * 2.0 + 1.0, "element {i}");
    }
    assert!(back
        .iter()
        .enumerate()
        .all(|(i, &v)| v == (i % 1024) as f32 * 2.0 + 1.0));
}
