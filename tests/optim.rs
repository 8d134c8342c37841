//! The optimizers from Rust, without Python: fixed-gradient trajectories against the
//! update rules written out by hand, and version bumps on the parameter.

use ferrograd::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use ferrograd::Tensor;

fn param(v: &[f64]) -> Tensor {
    let p = Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap();
    p.set_requires_grad(true).unwrap();
    p
}

fn set_grad(p: &Tensor, g: &[f64]) {
    p.set_grad(Some(Tensor::from_vec(g.to_vec(), &[g.len()]).unwrap()));
}

#[test]
fn sgd_l2_worked_example() {
    // 2.0 - 0.1 * (1.5 + 0.01 * 2.0) = 1.848
    let p = param(&[2.0]);
    let mut opt = Sgd::new(
        vec![p.clone()],
        SgdConfig {
            weight_decay: 0.01,
            ..SgdConfig::new(0.1)
        },
    )
    .unwrap();
    set_grad(&p, &[1.5]);
    let v0 = p.storage().version();
    opt.step().unwrap();
    assert!((p.to_vec::<f64>().unwrap()[0] - 1.848).abs() < 1e-15);
    assert!(p.storage().version() > v0);
    opt.zero_grad();
    assert!(p.grad().is_none());
}

#[test]
fn sgd_nesterov_momentum_trajectory() {
    let p = param(&[1.0]);
    let c = SgdConfig {
        momentum: 0.9,
        nesterov: true,
        ..SgdConfig::new(0.1)
    };
    let mut opt = Sgd::new(vec![p.clone()], c).unwrap();
    let (mut w, mut buf) = (1.0f64, None::<f64>);
    for g in [0.5, -1.0, 2.0] {
        set_grad(&p, &[g]);
        opt.step().unwrap();
        let b = match buf {
            None => g,
            Some(b) => 0.9 * b + g,
        };
        buf = Some(b);
        w -= 0.1 * (g + 0.9 * b);
    }
    assert!((p.to_vec::<f64>().unwrap()[0] - w).abs() < 1e-14);
}

#[test]
fn adamw_trajectory_and_skips_params_without_grad() {
    let p = param(&[1.0, -2.0]);
    let q = param(&[3.0]);
    let c = AdamConfig {
        lr: 0.1,
        ..AdamConfig::adamw()
    };
    let mut opt = Adam::new(vec![p.clone(), q.clone()], c).unwrap();
    let (mut w, mut m, mut v) = ([1.0f64, -2.0], [0.0f64; 2], [0.0f64; 2]);
    for (t, g) in [[0.5, -1.0], [0.2, 0.3]].iter().enumerate() {
        set_grad(&p, g);
        opt.step().unwrap();
        let t = (t + 1) as i32;
        for i in 0..2 {
            w[i] *= 1.0 - 0.1 * 0.01;
            m[i] += 0.1 * (g[i] - m[i]);
            v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
            let denom = v[i].sqrt() / (1.0 - 0.999f64.powi(t)).sqrt() + 1e-8;
            w[i] -= 0.1 / (1.0 - 0.9f64.powi(t)) * m[i] / denom;
        }
    }
    let got = p.to_vec::<f64>().unwrap();
    for i in 0..2 {
        assert!((got[i] - w[i]).abs() < 1e-14, "{got:?} vs {w:?}");
    }
    assert_eq!(q.to_vec::<f64>().unwrap(), vec![3.0]);
}

#[test]
fn invalid_configs_are_errors() {
    assert!(Sgd::new(vec![], SgdConfig::new(-1.0)).is_err());
    assert!(Sgd::new(
        vec![],
        SgdConfig {
            nesterov: true,
            ..SgdConfig::new(0.1)
        }
    )
    .is_err());
    assert!(Adam::new(
        vec![],
        AdamConfig {
            betas: (1.0, 0.9),
            ..AdamConfig::adam()
        }
    )
    .is_err());
}
