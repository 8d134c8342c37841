//! The kernels against their defining identities (A = L U, Q R, V diag(w) V^T,
//! U diag(S) Vh; orthogonality), on random, rank-deficient and extreme matrices, and
//! the tensor ops' shapes, errors and gradients (against finite differences).

use super::kernels::{self, SvdVectors};
use crate::tensor::{DType, Tensor};

fn data(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// (m, k) @ (k, n), row-major.
fn mm(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for p in 0..k {
            for j in 0..n {
                c[i * n + j] += a[i * k + p] * b[p * n + j];
            }
        }
    }
    c
}

fn tr(a: &[f64], m: usize, n: usize) -> Vec<f64> {
    let mut t = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            t[j * m + i] = a[i * n + j];
        }
    }
    t
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn eye(n: usize) -> Vec<f64> {
    let mut e = vec![0.0; n * n];
    for i in 0..n {
        e[i * n + i] = 1.0;
    }
    e
}

/// Q^T Q = I for Q (m, c).
fn assert_orthonormal_columns(q: &[f64], m: usize, c: usize, tol: f64) {
    let qtq = mm(&tr(q, m, c), q, c, m, c);
    assert!(
        max_diff(&qtq, &eye(c)) < tol,
        "Q^T Q != I: {}",
        max_diff(&qtq, &eye(c))
    );
}

#[test]
fn lu_solves_and_inverts() {
    for n in [1, 2, 5, 17, 300] {
        let a = data(n * n, n as u64);
        let b = data(n * 3, 7);
        let f = kernels::lu(&a, n);
        assert!(f.zero_pivot.is_none());
        let x = f.solve(&b, 3);
        assert!(
            max_diff(&mm(&a, &x, n, n, 3), &b) < 1e-9 * n as f64,
            "n = {n}"
        );
        let inv = f.inverse();
        assert!(max_diff(&mm(&a, &inv, n, n, n), &eye(n)) < 1e-9 * n as f64);
    }
}

#[test]
fn lu_det_and_singular_matrices() {
    // det [[0, 1], [2, 3]] = -2: the pivot swap gives the sign.
    let f = kernels::lu(&[0.0, 1.0, 2.0, 3.0], 2);
    assert_eq!(f.det(), -2.0);
    let (sg, la) = f.slogdet();
    assert!(sg == -1.0 && (la - 2f64.ln()).abs() < 1e-15);
    let f = kernels::lu(&[1.0, 2.0, 2.0, 4.0], 2);
    assert_eq!(f.zero_pivot, Some(1));
    assert_eq!(f.det(), 0.0);
    assert_eq!(f.slogdet(), (0.0, f64::NEG_INFINITY));
    // Entries near the overflow threshold: the scaled elimination does not overflow.
    let big = [1e308, 1e308, 1e308, -1e308];
    let inv = kernels::lu(&big, 2).inverse();
    assert!(max_diff(&inv, &[5e-309, 5e-309, 5e-309, -5e-309]) < 1e-320);
    let (s, l) = kernels::lu(&big, 2).slogdet();
    assert_eq!(s, -1.0);
    // log|det| = ln(2e616)
    assert!((l - (2f64.ln() + 616.0 * 10f64.ln())).abs() < 1e-9);
}

#[test]
fn cholesky_reconstructs_and_refuses() {
    for n in [1, 3, 8, 70] {
        let b = data(n * n, 3 + n as u64);
        let mut a = mm(&b, &tr(&b, n, n), n, n, n);
        for i in 0..n {
            a[i * n + i] += n as f64;
        }
        let l = kernels::cholesky(&a, n).unwrap();
        for i in 0..n {
            for j in i + 1..n {
                assert_eq!(l[i * n + j], 0.0);
            }
        }
        assert!(max_diff(&mm(&l, &tr(&l, n, n), n, n, n), &a) < 1e-10 * n as f64);
    }
    assert_eq!(kernels::cholesky(&[1.0, 2.0, 2.0, 1.0], 2), Err(2));
    assert_eq!(kernels::cholesky(&[f64::NAN], 1), Err(1));
    // Only the lower triangle is read.
    let l = kernels::cholesky(&[4.0, 99.0, 2.0, 2.0], 2).unwrap();
    assert_eq!(l, vec![2.0, 0.0, 1.0, 1.0]);
}

#[test]
fn qr_reconstructs() {
    for (m, n) in [(1, 1), (5, 3), (3, 5), (6, 6), (40, 25), (4, 0), (0, 4)] {
        let a = data(m * n, (m * 31 + n) as u64);
        for complete in [false, true] {
            let (q, r) = kernels::qr(&a, m, n, complete);
            let c = if complete { m } else { m.min(n) };
            assert_eq!((q.len(), r.len()), (m * c, c * n));
            assert_orthonormal_columns(&q, m, c, 1e-13);
            assert!(max_diff(&mm(&q, &r, m, c, n), &a) < 1e-13, "{m}x{n}");
            for i in 0..c {
                for j in 0..i.min(n) {
                    assert_eq!(r[i * n + j], 0.0);
                }
            }
        }
    }
}

#[test]
fn eigh_reconstructs() {
    for n in [1, 2, 3, 10, 60] {
        let b = data(n * n, 11 + n as u64);
        let a: Vec<f64> = (0..n * n).map(|i| b[i] + b[(i % n) * n + i / n]).collect();
        let (w, v) = kernels::eigh(&a, n, true);
        assert!(w.windows(2).all(|p| p[0] <= p[1]));
        assert_orthonormal_columns(&v, n, n, 1e-12);
        let mut vw = v.clone();
        for i in 0..n {
            for j in 0..n {
                vw[i * n + j] *= w[j];
            }
        }
        assert!(max_diff(&mm(&vw, &tr(&v, n, n), n, n, n), &a) < 1e-12 * n as f64);
        let (w2, none) = kernels::eigh(&a, n, false);
        assert!(none.is_empty() && max_diff(&w, &w2) < 1e-12 * n as f64);
    }
    // Repeated eigenvalues and a NaN.
    let (w, _) = kernels::eigh(&eye(4), 4, true);
    assert_eq!(w, vec![1.0; 4]);
    assert!(kernels::eigh(&[f64::NAN, 0.0, 0.0, 1.0], 2, true).0[0].is_nan());
}

fn check_svd(a: &[f64], m: usize, n: usize) {
    let k = m.min(n);
    for want in [SvdVectors::Reduced, SvdVectors::Full] {
        let (s, u, vh) = kernels::svd(a, m, n, want);
        let (uc, vr) = if want == SvdVectors::Full {
            (m, n)
        } else {
            (k, k)
        };
        assert_eq!((s.len(), u.len(), vh.len()), (k, m * uc, vr * n));
        assert!(s.windows(2).all(|p| p[0] >= p[1]) && s.iter().all(|&x| x >= 0.0));
        assert_orthonormal_columns(&u, m, uc, 1e-12);
        assert_orthonormal_columns(&tr(&vh, vr, n), n, vr, 1e-12);
        // U[:, :k] diag(S) Vh[:k]
        let mut us = vec![0.0; m * k];
        for i in 0..m {
            for j in 0..k {
                us[i * k + j] = u[i * uc + j] * s[j];
            }
        }
        let rec = mm(&us, &vh[..k * n], m, k, n);
        assert!(max_diff(&rec, a) < 1e-12 * (1 + m + n) as f64, "{m}x{n}");
        let (s2, _, _) = kernels::svd(a, m, n, SvdVectors::None);
        assert!(max_diff(&s, &s2) < 1e-12);
    }
}

#[test]
fn svd_reconstructs() {
    for (m, n) in [
        (1, 1),
        (4, 3),
        (3, 4),
        (7, 7),
        (30, 12),
        (12, 30),
        (5, 0),
        (0, 5),
    ] {
        check_svd(&data(m * n, (m * 13 + n) as u64), m, n);
    }
    // Rank-deficient: the null-space columns of U are completed, not duplicated.
    check_svd(&[1.0, 2.0, 3.0, 2.0, 4.0, 6.0, 1.0, 0.0, 1.0], 3, 3);
    check_svd(&[1.0; 12], 3, 4);
    check_svd(&[0.0; 12], 4, 3);
    // Graded: tiny singular values keep their relative accuracy.
    let (s, _, _) = kernels::svd(&[1.0, 0.0, 0.0, 1e-200], 2, 2, SvdVectors::None);
    assert_eq!(s, vec![1.0, 1e-200]);
}

#[test]
fn cofactor_matches_minors() {
    let a = [1.0, 2.0, 3.0, 2.0, 4.0, 6.0, 1.0, 0.0, 1.0]; // singular
    let cof = kernels::cofactor(&a, 3);
    let expect = [4.0, 4.0, -4.0, -2.0, -2.0, 2.0, 0.0, 0.0, 0.0];
    assert!(max_diff(&cof, &expect) < 1e-13, "{cof:?}");
}

fn t64(v: Vec<f64>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(v, shape).unwrap()
}

#[test]
fn tensor_ops_shapes_dtypes_and_errors() {
    let a = t64(data(2 * 3 * 3, 5), &[2, 3, 3])
        .to_dtype(DType::F32)
        .unwrap();
    assert_eq!(a.det().unwrap().shape(), &[2]);
    assert_eq!(a.det().unwrap().dtype(), DType::F32);
    assert_eq!(a.inv().unwrap().shape(), &[2, 3, 3]);
    let (q, r) = a.qr(true).unwrap();
    assert_eq!((q.shape(), r.shape()), (&[2, 3, 3][..], &[2, 3, 3][..]));
    let (u, s, vh) = t64(data(12, 1), &[4, 3]).svd(false).unwrap();
    assert_eq!(
        (u.shape(), s.shape(), vh.shape()),
        (&[4, 3][..], &[3][..], &[3, 3][..])
    );
    let b = t64(vec![1.0, 2.0, 3.0], &[3]);
    assert_eq!(a.solve(&b).unwrap().shape(), &[2, 3]);
    assert_eq!(
        a.solve(&t64(data(12, 2), &[4, 1, 3, 1])).unwrap().shape(),
        &[4, 2, 3, 1]
    );
    let bad = [
        t64(vec![1.0, 2.0, 2.0, 4.0], &[2, 2]).inv(),
        t64(vec![1.0, 2.0, 2.0, 1.0], &[2, 2]).cholesky(false),
        t64(vec![1.0; 6], &[2, 3]).det(),
        t64(vec![1.0; 3], &[3]).det(),
    ];
    for e in bad {
        assert!(matches!(e, Err(crate::Error::LinAlg(_))), "{e:?}");
    }
    let ints = Tensor::from_vec(vec![1i64, 2, 3, 4], &[2, 2]).unwrap();
    assert_eq!(ints.det().unwrap().dtype(), DType::F32);
    let bools = Tensor::from_vec(vec![true, false, false, true], &[2, 2]).unwrap();
    assert!(matches!(bools.det(), Err(crate::Error::DType(_))));
}

/// The gradient of sum(f(x) * w) against central differences, f64.
fn check_grad(f: impl Fn(&Tensor) -> Tensor, x: Vec<f64>, shape: &[usize]) {
    let n = x.len();
    let xt = t64(x.clone(), shape);
    xt.set_requires_grad(true).unwrap();
    let y = f(&xt);
    let w = t64(data(y.numel(), 99), y.shape());
    y.mul(&w)
        .unwrap()
        .sum(None, false)
        .unwrap()
        .backward()
        .unwrap();
    let g = xt.grad().unwrap().to_vec::<f64>().unwrap();
    let eps = 1e-6;
    for i in 0..n {
        let mut xp = x.clone();
        let mut xm = x.clone();
        xp[i] += eps;
        xm[i] -= eps;
        let fp: f64 = f(&t64(xp, shape))
            .mul(&w)
            .unwrap()
            .sum(None, false)
            .unwrap()
            .item()
            .unwrap();
        let fm: f64 = f(&t64(xm, shape))
            .mul(&w)
            .unwrap()
            .sum(None, false)
            .unwrap()
            .item()
            .unwrap();
        let num = (fp - fm) / (2.0 * eps);
        assert!(
            (num - g[i]).abs() < 1e-5 * (1.0 + num.abs()),
            "element {i}: {} vs {num}",
            g[i]
        );
    }
}

#[test]
fn gradients_match_finite_differences() {
    let mut a = data(2 * 3 * 3, 21);
    for b in 0..2 {
        for i in 0..3 {
            a[b * 9 + i * 4] += 3.0;
        }
    }
    let shape = [2, 3, 3];
    check_grad(|x| x.inv().unwrap(), a.clone(), &shape);
    check_grad(|x| x.det().unwrap(), a.clone(), &shape);
    check_grad(|x| x.slogdet().unwrap().1, a.clone(), &shape);
    let rhs = t64(data(6, 4), &[3, 2]);
    check_grad(move |x| x.solve(&rhs).unwrap(), a.clone(), &shape);
    // cholesky of x x^T + 3 I (a symmetric positive-definite function of x)
    check_grad(
        |x| {
            let s = x
                .matmul(&x.mt().unwrap())
                .unwrap()
                .add(
                    &Tensor::eye(3, None, 0, DType::F64)
                        .unwrap()
                        .mul(3.0)
                        .unwrap(),
                )
                .unwrap();
            s.cholesky(false).unwrap()
        },
        a,
        &shape,
    );
}
