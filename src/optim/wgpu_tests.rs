//! The Rust optimizers and Linear on wgpu against the CPU, from Rust alone: a few steps
//! of a tiny Linear regression with each optimizer, state created on the GPU. Skipped
//! without an adapter.

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
    let xs: Vec<f32> = (0..1200).map(|i| ((i * 37 % 101) as f32 - 50.0) / 60.0).collect();
    let x = Tensor::from_vec(xs, &[4, 300]).unwrap().to_device(dev).unwrap();
    let mut opt = make(params.clone());
    for _ in 0..4 {
        opt.zero_grad();
        let y = lin.forward(&x).unwrap();
        assert_eq!(y.device(), dev);
        y.mul(&y).unwrap().mean(None, false).unwrap().backward().unwrap();
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
