//! The Rust optimizers and Linear on wgpu against the CPU, from Rust alone: a few steps
//! of a tiny Linear regression with each optimizer, state created on the GPU; and the
//! grouped updates against the per-tensor kernels. Skipped without an adapter.

use super::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use crate::device::Device;
use crate::nn::{Linear, Module};
use crate::tensor::{DType, Tensor};

fn close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
            "{what} element {i}: wgpu {g}, cpu {w}"
        );
    }
}

/// Four steps of `opt` on a 300 -> 3 Linear (a weight row longer than a workgroup)
/// under a squared-error loss, on `dev`; returns the parameters' values.
fn train(dev: Device, make: &dyn Fn(Vec<Tensor>) -> Box<dyn Optimizer>) -> Vec<Vec<f32>> {
    crate::random::manual_seed(5);
    let mut lin = Linear::new(300, 3, true, DType::F32).unwrap();
    let params: Vec<Tensor> = lin
        .named_parameters()
        .into_iter()
        .map(|(_, p)| {
            let q = p.detach().to_device(dev).unwrap();
            q.set_requires_grad(true).unwrap();
            q
        })
        .collect();
    lin.weight = params[0].clone();
    lin.bias = Some(params[1].clone());
    let xs: Vec<f32> = (0..1200)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 60.0)
        .collect();
    let x = Tensor::from_vec(xs, &[4, 300])
        .unwrap()
        .to_device(dev)
        .unwrap();
    let mut opt = make(params.clone());
    for _ in 0..4 {
        opt.zero_grad();
        let y = lin.forward(&x).unwrap();
        assert_eq!(y.device(), dev);
        y.mul(&y)
            .unwrap()
            .mean(None, false)
            .unwrap()
            .backward()
            .unwrap();
        opt.step().unwrap();
    }
    params.iter().map(|p| p.to_vec::<f32>().unwrap()).collect()
}

#[test]
fn rust_optimizers_train_linear_on_wgpu_like_the_cpu() {
    if !crate::device::wgpu::is_available() {
        return;
    }
    let sgd = |ps: Vec<Tensor>| -> Box<dyn Optimizer> {
        let c = SgdConfig {
            momentum: 0.9,
            nesterov: true,
            weight_decay: 0.01,
            ..SgdConfig::new(0.1)
        };
        Box::new(Sgd::new(ps, c).unwrap())
    };
    let adamw = |ps: Vec<Tensor>| -> Box<dyn Optimizer> {
        let c = AdamConfig {
            lr: 0.01,
            amsgrad: true,
            ..AdamConfig::adamw()
        };
        Box::new(Adam::new(ps, c).unwrap())
    };
    for (name, make) in [
        ("sgd", &sgd as &dyn Fn(Vec<Tensor>) -> Box<dyn Optimizer>),
        ("adamw", &adamw),
    ] {
        let gpu = train(Device::Wgpu, make);
        let cpu = train(Device::Cpu, make);
        for (g, c) in gpu.iter().zip(&cpu) {
            close(g, c, name);
        }
    }
}

/// `adam_step_many` / `sgd_step_many` on wgpu: bitwise the per-tensor kernels, with
/// per-tensor step counts and first steps. (The dispatch count is checked in
/// tests/python/test_wgpu_foreach.py: here other tests dispatch concurrently.)
#[test]
fn grouped_updates_match_the_per_tensor_kernels_bitwise() {
    use super::{adam_step, adam_step_many, sgd_step, sgd_step_many, AdamParam, SgdParam};
    if !crate::device::wgpu::is_available() {
        return;
    }
    let sizes = [15usize, 300, 0, 1, 1000, 17, 256, 257, 2, 5, 1];
    let make = |seed: usize| -> Vec<Tensor> {
        sizes
            .iter()
            .map(|&n| {
                let v: Vec<f32> = (0..n)
                    .map(|i| (((i + seed) * 7919) % 1000) as f32 / 500.0 - 1.0)
                    .collect();
                Tensor::from_vec(v, &[n])
                    .unwrap()
                    .to_device(Device::Wgpu)
                    .unwrap()
            })
            .collect()
    };
    let bits = |ts: &[Tensor]| -> Vec<Vec<u32>> {
        ts.iter()
            .map(|t| {
                t.to_vec::<f32>()
                    .unwrap()
                    .iter()
                    .map(|x| x.to_bits())
                    .collect()
            })
            .collect()
    };
    let c = AdamConfig {
        lr: 0.01,
        amsgrad: true,
        ..AdamConfig::adamw()
    };
    let grads = make(3);
    let mut out = Vec::new();
    for grouped in [true, false] {
        let (ps, ms, vs, xs) = (make(0), make(1), make(2), make(4));
        let steps: Vec<u64> = (0..sizes.len() as u64).map(|i| 1 + i % 3).collect();
        if grouped {
            let items: Vec<AdamParam<'_>> = (0..sizes.len())
                .map(|i| AdamParam {
                    param: &ps[i],
                    grad: &grads[i],
                    exp_avg: &ms[i],
                    exp_avg_sq: &vs[i],
                    max_exp_avg_sq: Some(&xs[i]),
                    step: steps[i],
                })
                .collect();
            adam_step_many(&items, &c).unwrap();
        } else {
            for i in 0..sizes.len() {
                adam_step(
                    &ps[i],
                    &grads[i],
                    &ms[i],
                    &vs[i],
                    Some(&xs[i]),
                    steps[i],
                    &c,
                )
                .unwrap();
            }
        }
        out.push([bits(&ps), bits(&ms), bits(&vs), bits(&xs)]);
    }
    assert_eq!(out[0], out[1]);

    let c = SgdConfig {
        momentum: 0.9,
        weight_decay: 0.01,
        ..SgdConfig::new(0.1)
    };
    let mut out = Vec::new();
    for grouped in [true, false] {
        let (ps, bufs) = (make(0), make(1));
        let first: Vec<bool> = (0..sizes.len()).map(|i| i % 2 == 0).collect();
        if grouped {
            let items: Vec<SgdParam<'_>> = (0..sizes.len())
                .map(|i| SgdParam {
                    param: &ps[i],
                    grad: &grads[i],
                    buf: Some(&bufs[i]),
                    first_step: first[i],
                })
                .collect();
            sgd_step_many(&items, &c).unwrap();
        } else {
            for i in 0..sizes.len() {
                sgd_step(&ps[i], &grads[i], Some(&bufs[i]), &c, first[i]).unwrap();
            }
        }
        out.push([bits(&ps), bits(&bufs)]);
    }
    assert_eq!(out[0], out[1]);
}
