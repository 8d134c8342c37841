//! The Rust API on its own (no Python): values, views, errors, determinism.

use ferrograd::{DType, Error, Scalar, Tensor, TensorIndex};

mod common;
use common::rng_lock;

fn t(v: Vec<f64>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(v, shape).unwrap()
}

#[test]
fn broadcasting_arithmetic_and_promotion() {
    let a = t(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = t(vec![10.0, 20.0, 30.0], &[3]);
    assert_eq!(
        a.add(&b).unwrap().to_vec::<f64>().unwrap(),
        vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]
    );
    // weak scalars keep the tensor's dtype; int tensor * float scalar becomes float32
    let i = Tensor::arange(0.0, 4.0, 1.0, DType::I64).unwrap();
    assert_eq!(i.add(Scalar::Int(1)).unwrap().dtype(), DType::I64);
    assert_eq!(i.mul(2.5).unwrap().dtype(), DType::F32);
    assert_eq!(
        i.div(Scalar::Int(2)).unwrap().to_vec::<f32>().unwrap(),
        vec![0.0, 0.5, 1.0, 1.5]
    );
    let e = a.add(&t(vec![1.0; 4], &[4])).unwrap_err();
    assert!(
        matches!(e, Error::Shape(ref m) if m.contains("(2, 3)") && m.contains("(4,)")),
        "{e}"
    );
}

#[test]
fn views_share_storage_and_copy_only_when_needed() {
    let a = Tensor::arange(0.0, 12.0, 1.0, DType::F32)
        .unwrap()
        .reshape(&[3, 4])
        .unwrap();
    let tr = a.t();
    assert!(tr.shares_storage(&a) && !tr.is_contiguous());
    assert_eq!(
        tr.contiguous().unwrap().to_vec::<f32>().unwrap()[..4],
        [0.0, 4.0, 8.0, 1.0]
    );
    let flipped = a.flip(Some(&[1])).unwrap();
    assert_eq!(
        flipped.select(0, 0).unwrap().to_vec::<f32>().unwrap(),
        vec![3.0, 2.0, 1.0, 0.0]
    );
    let sl = a.slice(1, Some(1), None, 2).unwrap();
    assert_eq!(
        sl.to_vec::<f32>().unwrap(),
        vec![1.0, 3.0, 5.0, 7.0, 9.0, 11.0]
    );
    // writing through a view is visible in the base
    sl.index_put(&[TensorIndex::Int(0)], &Tensor::scalar(-1.0f32))
        .unwrap();
    assert_eq!(
        a.select(0, 0).unwrap().to_vec::<f32>().unwrap(),
        vec![0.0, -1.0, 2.0, -1.0]
    );
}

#[test]
fn reductions_match_hand_results() {
    let a = t(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!(
        a.sum(Some(&[0]), false).unwrap().to_vec::<f64>().unwrap(),
        vec![5.0, 7.0, 9.0]
    );
    assert_eq!(a.mean(Some(&[1]), true).unwrap().shape(), &[2, 1]);
    let v = a.var(None, 1.0, false).unwrap().item().unwrap();
    assert!((v - 3.5).abs() < 1e-12);
    assert_eq!(
        a.argmax(Some(1), false).unwrap().to_vec::<i64>().unwrap(),
        vec![2, 2]
    );
    assert!(matches!(a.sum(Some(&[2]), false), Err(Error::Axis(_))));
    assert!(matches!(
        Tensor::zeros(&[0]).unwrap().max(None, false),
        Err(Error::Value(_))
    ));
}

#[test]
fn matmul_follows_numpy_rules() {
    let a = Tensor::arange(0.0, 6.0, 1.0, DType::F64)
        .unwrap()
        .reshape(&[2, 3])
        .unwrap();
    let v = t(vec![1.0, 1.0, 1.0], &[3]);
    assert_eq!(
        a.matmul(&v).unwrap().to_vec::<f64>().unwrap(),
        vec![3.0, 12.0]
    );
    assert_eq!(v.matmul(&v).unwrap().shape(), &[] as &[usize]);
    let batched = Tensor::ones(&[4, 1, 2, 3], DType::F64)
        .unwrap()
        .matmul(&Tensor::ones(&[5, 3, 2], DType::F64).unwrap())
        .unwrap();
    assert_eq!(batched.shape(), &[4, 5, 2, 2]);
    assert!(matches!(a.matmul(&a), Err(Error::Shape(_))));
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let _rng = rng_lock();
    ferrograd::manual_seed(7);
    let x = Tensor::rand(&[1 << 22], DType::F32).unwrap();
    let m = Tensor::randn(&[300, 500], DType::F32).unwrap();
    let big = Tensor::randn(&[3000, 700], DType::F32).unwrap();
    let run = || {
        (
            x.sum(None, false).unwrap().to_vec::<f32>().unwrap(),
            x.exp()
                .unwrap()
                .sum(None, false)
                .unwrap()
                .to_vec::<f32>()
                .unwrap(),
            m.matmul(&m.t()).unwrap().to_vec::<f32>().unwrap(),
            // the column path of reductions (sum over the leading axis)
            big.sum(Some(&[0]), false).unwrap().to_vec::<f32>().unwrap(),
        )
    };
    ferrograd::set_num_threads(1);
    let one = run();
    ferrograd::set_num_threads(2);
    let two = run();
    ferrograd::set_num_threads(0);
    assert_eq!(one.0, two.0);
    assert_eq!(one.1, two.1);
    assert_eq!(one.2, two.2);
    assert_eq!(one.3, two.3);
}

#[test]
fn seeded_randomness_is_reproducible() {
    let _rng = rng_lock();
    ferrograd::manual_seed(123);
    let a = Tensor::randn(&[1000], DType::F64)
        .unwrap()
        .to_vec::<f64>()
        .unwrap();
    ferrograd::manual_seed(123);
    let b = Tensor::randn(&[1000], DType::F64)
        .unwrap()
        .to_vec::<f64>()
        .unwrap();
    assert_eq!(a, b);
    let mean = a.iter().sum::<f64>() / 1000.0;
    assert!(mean.abs() < 0.15, "mean {mean}");
}

#[test]
fn advanced_indexing_gathers_like_numpy() {
    let a = Tensor::arange(0.0, 12.0, 1.0, DType::I64)
        .unwrap()
        .reshape(&[3, 4])
        .unwrap();
    let rows = Tensor::from_vec(vec![2i64, 0], &[2]).unwrap();
    let g = a
        .index(&[TensorIndex::Array(rows), TensorIndex::Slice(None, None, 2)])
        .unwrap();
    assert_eq!(g.to_vec::<i64>().unwrap(), vec![8, 10, 0, 2]);
    let mask = a.gt(Scalar::Int(9)).unwrap();
    assert_eq!(
        a.index(&[TensorIndex::Array(mask)])
            .unwrap()
            .to_vec::<i64>()
            .unwrap(),
        vec![10, 11]
    );
    let bad = Tensor::from_vec(vec![5i64], &[1]).unwrap();
    assert!(matches!(
        a.index(&[TensorIndex::Array(bad)]),
        Err(Error::Index(_))
    ));
}
