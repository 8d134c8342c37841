//! The layers from Rust, without Python: a small network trained with plain gradient
//! descent, BatchNorm's running statistics, Dropout's modes and a state-dict round trip.

use ferrograd::nn::{BatchNorm, Dropout, LayerNorm, Linear, Module, ReLU, Residual, Sequential};
use ferrograd::{autograd, DType, Tensor};

mod common;
use common::rng_lock;

fn mse(a: &Tensor, b: &Tensor) -> Tensor {
    let d = a.sub(b).unwrap();
    d.mul(&d).unwrap().mean(None, false).unwrap()
}

#[test]
fn mlp_with_layernorm_and_dropout_learns() {
    let _rng = rng_lock();
    ferrograd::manual_seed(0);
    let mut model = Sequential::new()
        .add(Linear::new(2, 32, true, DType::F32).unwrap())
        .add(LayerNorm::new(&[32], 1e-5, true, DType::F32).unwrap())
        .add(ReLU)
        .add(Dropout::new(0.1).unwrap())
        .add(Residual::new(
            Linear::new(32, 32, true, DType::F32).unwrap(),
        ))
        .add(Linear::new(32, 1, true, DType::F32).unwrap());
    let names: Vec<String> = model
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            "0.weight",
            "0.bias",
            "1.weight",
            "1.bias",
            "4.fn.weight",
            "4.fn.bias",
            "5.weight",
            "5.bias"
        ]
    );
    let x = Tensor::randn(&[128, 2], DType::F32).unwrap();
    // target: x0 * x1 (not linear)
    let y = x
        .select(1, 0)
        .unwrap()
        .mul(&x.select(1, 1).unwrap())
        .unwrap()
        .unsqueeze(1)
        .unwrap();
    // The loss is judged in eval mode, without dropout's noise.
    let eval_loss = |model: &mut Sequential| {
        model.eval();
        let _g = autograd::no_grad();
        let loss = mse(&model.forward(&x).unwrap(), &y).item().unwrap();
        model.train();
        loss
    };
    let first = eval_loss(&mut model);
    for _ in 0..300 {
        model.zero_grad();
        let loss = mse(&model.forward(&x).unwrap(), &y);
        loss.backward().unwrap();
        let _g = autograd::no_grad();
        for p in model.parameters() {
            let step = p.grad().unwrap().mul(0.05).unwrap();
            p.binary_inplace(&step.into(), ferrograd::BinaryOp::Sub)
                .unwrap();
        }
    }
    let last = eval_loss(&mut model);
    assert!(last < first * 0.2, "loss {first} -> {last}");
}

#[test]
fn batchnorm_updates_running_stats_and_uses_them_in_eval() {
    let mut bn = BatchNorm::new(3, 1e-5, Some(0.1), true, DType::F64).unwrap();
    let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 3.0, 6.0, 9.0], &[2, 3]).unwrap();
    bn.forward(&x).unwrap();
    // batch mean [2, 4, 6], unbiased var [2, 8, 18]
    let rm = bn.running_mean.to_vec::<f64>().unwrap();
    let rv = bn.running_var.to_vec::<f64>().unwrap();
    for (i, (m, v)) in [(2.0, 2.0), (4.0, 8.0), (6.0, 18.0)].iter().enumerate() {
        assert!((rm[i] - 0.1 * m).abs() < 1e-12);
        assert!((rv[i] - (0.9 + 0.1 * v)).abs() < 1e-12);
    }
    assert_eq!(bn.num_batches_tracked.item().unwrap(), 1.0);
    bn.eval();
    let y = bn.forward(&x).unwrap().to_vec::<f64>().unwrap();
    let expect = (1.0 - rm[0]) / (rv[0] + 1e-5).sqrt();
    assert!((y[0] - expect).abs() < 1e-12);
    assert_eq!(bn.num_batches_tracked.item().unwrap(), 1.0);
}

#[test]
fn dropout_is_the_identity_in_eval() {
    let _rng = rng_lock();
    let mut d = Dropout::new(0.5).unwrap();
    let x = Tensor::ones(&[1000], DType::F32).unwrap();
    let kept = d.forward(&x).unwrap().to_vec::<f32>().unwrap();
    assert!(kept.iter().all(|&v| v == 0.0 || v == 2.0));
    d.eval();
    assert_eq!(
        d.forward(&x).unwrap().to_vec::<f32>().unwrap(),
        vec![1.0; 1000]
    );
    assert!(Dropout::new(1.5).is_err());
}

#[test]
fn state_dict_round_trips_through_safetensors() {
    let _rng = rng_lock();
    let a = Sequential::new()
        .add(Linear::new(3, 4, true, DType::F32).unwrap())
        .add(BatchNorm::new(4, 1e-5, None, true, DType::F32).unwrap());
    a.forward(&Tensor::randn(&[5, 3], DType::F32).unwrap())
        .unwrap();
    let path = std::env::temp_dir().join(format!("fg_nn_{}.safetensors", std::process::id()));
    ferrograd::io::save(&path, &a.state_dict()).unwrap();
    let b = Sequential::new()
        .add(Linear::new(3, 4, true, DType::F32).unwrap())
        .add(BatchNorm::new(4, 1e-5, None, true, DType::F32).unwrap());
    b.load_state_dict(&ferrograd::io::load(&path).unwrap())
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    for ((na, ta), (nb, tb)) in a.state_dict().iter().zip(b.state_dict().iter()) {
        assert_eq!(na, nb);
        assert_eq!(
            ta.astype(DType::F64).unwrap().to_vec::<f64>().unwrap(),
            tb.astype(DType::F64).unwrap().to_vec::<f64>().unwrap()
        );
    }
    // A wrong shape is refused by name.
    let c = Sequential::new().add(Linear::new(3, 5, true, DType::F32).unwrap());
    let sd: Vec<_> = a
        .state_dict()
        .into_iter()
        .filter(|(n, _)| n.starts_with("0."))
        .collect();
    let err = c.load_state_dict(&sd).unwrap_err().to_string();
    assert!(err.contains("0.weight"), "{err}");
}
