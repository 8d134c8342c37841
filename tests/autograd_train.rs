//! The autograd engine from Rust: gradients of small expressions against hand-derived
//! values, and a two-layer network fitted to a nonlinear target with gradient descent.

use ferrograd::{autograd, DType, Tensor};

fn leaf(v: Vec<f64>, shape: &[usize]) -> Tensor {
    let t = Tensor::from_vec(v, shape).unwrap();
    t.set_requires_grad(true).unwrap();
    t
}

#[test]
fn gradients_of_a_small_expression() {
    // f = sum(x * y + exp(x)), df/dx = y + exp(x), df/dy = x
    let x = leaf(vec![0.5, -1.0, 2.0], &[3]);
    let y = leaf(vec![1.5, 2.0, -3.0], &[3]);
    let f = x
        .mul(&y)
        .unwrap()
        .add(&x.exp().unwrap())
        .unwrap()
        .sum(None, false)
        .unwrap();
    assert_eq!(f.grad_fn().unwrap().name(), "SumBackward");
    f.backward().unwrap();
    let gx = x.grad().unwrap().to_vec::<f64>().unwrap();
    for (i, (&xv, &yv)) in [0.5f64, -1.0, 2.0]
        .iter()
        .zip(&[1.5, 2.0, -3.0])
        .enumerate()
    {
        assert!((gx[i] - (yv + xv.exp())).abs() < 1e-12);
    }
    assert_eq!(
        y.grad().unwrap().to_vec::<f64>().unwrap(),
        vec![0.5, -1.0, 2.0]
    );
    // a second backward through the freed graph is an error naming retain_graph
    let err = f.backward().unwrap_err().to_string();
    assert!(err.contains("retain_graph"), "{err}");
}

#[test]
fn broadcasting_is_summed_back_and_matmul_uses_transposes() {
    let a = leaf(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let bias = leaf(vec![0.1, 0.2, 0.3], &[3]);
    let w = leaf(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2]);
    let out = a
        .add(&bias)
        .unwrap()
        .matmul(&w)
        .unwrap()
        .sum(None, false)
        .unwrap();
    out.backward().unwrap();
    assert_eq!(bias.grad().unwrap().shape(), &[3]);
    // d/dbias = sum over rows of (ones(2,2) @ w.T) = 2 * row sums of w
    assert_eq!(
        bias.grad().unwrap().to_vec::<f64>().unwrap(),
        vec![2.0, 2.0, 4.0]
    );
    assert_eq!(w.grad().unwrap().shape(), &[3, 2]);
}

#[test]
fn no_grad_records_nothing() {
    let x = leaf(vec![1.0, 2.0], &[2]);
    let y = {
        let _g = autograd::no_grad();
        x.mul(2.0).unwrap()
    };
    assert!(!y.requires_grad() && y.grad_fn().is_none());
}

#[test]
fn two_layer_network_fits_a_nonlinear_target() {
    ferrograd::manual_seed(0);
    let n = 128;
    let x = Tensor::linspace(-2.0, 2.0, n, true, DType::F64)
        .unwrap()
        .reshape(&[n as isize, 1])
        .unwrap();
    let y = x.mul(&x).unwrap(); // y = x^2
    let w1 = Tensor::randn(&[1, 32], DType::F64).unwrap();
    let b1 = Tensor::zeros_dtype(&[32], DType::F64).unwrap();
    let w2 = Tensor::randn(&[32, 1], DType::F64)
        .unwrap()
        .mul(0.1)
        .unwrap();
    let b2 = Tensor::zeros_dtype(&[1], DType::F64).unwrap();
    let params = [w1, b1, w2, b2];
    for p in &params {
        p.set_requires_grad(true).unwrap();
    }
    let loss_of = |p: &[Tensor]| -> Tensor {
        let h = x.matmul(&p[0]).unwrap().add(&p[1]).unwrap().tanh().unwrap();
        let pred = h.matmul(&p[2]).unwrap().add(&p[3]).unwrap();
        let err = pred.sub(&y).unwrap();
        err.mul(&err).unwrap().mean(None, false).unwrap()
    };
    let first = loss_of(&params).item().unwrap();
    for _ in 0..1500 {
        let loss = loss_of(&params);
        loss.backward().unwrap();
        let _g = autograd::no_grad();
        for p in &params {
            let g = p.grad().unwrap();
            let updated = p.sub(&g.mul(0.05).unwrap()).unwrap();
            ferrograd::ops::copy::assign(p, &updated).unwrap();
            p.set_grad(None);
        }
    }
    let last = loss_of(&params).item().unwrap();
    assert!(
        last < 0.01 && last < first / 20.0,
        "loss went from {first} to {last}"
    );
}

#[test]
fn inplace_ops_rebase_the_graph() {
    use ferrograd::{BinaryOp, Operand, TensorIndex};
    // y = x * x; y[1] = w; y *= 3 -> d sum(y)/dx = [6 x0, 0, 6 x2], d/dw = 3
    let x = leaf(vec![1.0, 2.0, 3.0], &[3]);
    let w = leaf(vec![5.0], &[]);
    let y = x.mul(&x).unwrap();
    y.index_put(&[TensorIndex::Int(1)], &w).unwrap();
    assert_eq!(y.grad_fn().unwrap().name(), "CopySlices");
    y.binary_inplace(&Operand::Scalar(3.0.into()), BinaryOp::Mul)
        .unwrap();
    assert_eq!(y.to_vec::<f64>().unwrap(), vec![3.0, 15.0, 27.0]);
    y.sum(None, false).unwrap().backward().unwrap();
    assert_eq!(
        x.grad().unwrap().to_vec::<f64>().unwrap(),
        vec![6.0, 0.0, 18.0]
    );
    assert_eq!(w.grad().unwrap().to_vec::<f64>().unwrap(), vec![3.0]);
    // A leaf that requires grad can't be written in place while recording.
    let err = x
        .binary_inplace(&Operand::Scalar(1.0.into()), BinaryOp::Add)
        .unwrap_err();
    assert!(err.to_string().contains("leaf Variable"), "{err}");
}
