//! Fused kernels against naive references, and their backward against finite
//! differences of the forward (f64).

use super::*;
use crate::tensor::Tensor;

fn data(n: usize, seed: u64) -> Vec<f64> {
    // a small LCG: deterministic inputs without a dependency
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 1.5
        })
        .collect()
}

fn t(v: Vec<f64>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(v, shape).unwrap()
}

/// Naive normalisation of `x` viewed as (outer, len) rows, with per-element affine.
fn naive_rows(x: &[f64], len: usize, center: bool, eps: f64) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for (xr, yr) in x.chunks(len).zip(y.chunks_mut(len)) {
        let m = if center {
            xr.iter().sum::<f64>() / len as f64
        } else {
            0.0
        };
        let v = xr.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / len as f64;
        for (o, a) in yr.iter_mut().zip(xr) {
            *o = (a - m) / (v + eps).sqrt();
        }
    }
    y
}

fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "at {i}: {x} vs {y}");
    }
}

#[test]
fn layer_and_rms_norm_match_naive() {
    let x = data(6 * 37, 1);
    let w = data(37, 2);
    let b = data(37, 3);
    for center in [true, false] {
        let xt = t(x.clone(), &[2, 3, 37]);
        let y = if center {
            layer_norm(
                &xt,
                &[37],
                Some(&t(w.clone(), &[37])),
                Some(&t(b.clone(), &[37])),
                1e-5,
            )
        } else {
            rms_norm(&xt, &[37], Some(&t(w.clone(), &[37])), Some(1e-5))
                .map(|y| y.add(&t(b.clone(), &[37])).unwrap())
        }
        .unwrap();
        let mut r = naive_rows(&x, 37, center, 1e-5);
        for (i, v) in r.iter_mut().enumerate() {
            *v = *v * w[i % 37] + b[i % 37];
        }
        close(&y.to_vec::<f64>().unwrap(), &r, 1e-12);
    }
}

#[test]
fn group_norm_matches_naive() {
    let (n, c, s, g) = (2, 6, 5, 3);
    let x = data(n * c * s, 4);
    let w = data(c, 5);
    let b = data(c, 6);
    let y = group_norm(
        &t(x.clone(), &[n, c, s]),
        g,
        Some(&t(w.clone(), &[c])),
        Some(&t(b.clone(), &[c])),
        1e-5,
    )
    .unwrap();
    let mut r = naive_rows(&x, c / g * s, true, 1e-5);
    for (i, v) in r.iter_mut().enumerate() {
        let ch = (i / s) % c;
        *v = *v * w[ch] + b[ch];
    }
    close(&y.to_vec::<f64>().unwrap(), &r, 1e-12);
}

#[test]
fn batch_norm_matches_naive_and_thread_count_invariant() {
    for (n, c, s) in [(300, 7, 1), (4, 3, 10)] {
        let x = data(n * c * s, 7);
        let xt = t(x.clone(), &[n, c, s]);
        let y = batch_norm(&xt, None, None, None, None, true, 0.1, 1e-5).unwrap();
        // naive: per channel gather
        let mut r = vec![0.0; x.len()];
        for ch in 0..c {
            let idx: Vec<usize> = (0..n)
                .flat_map(|i| (0..s).map(move |j| (i * c + ch) * s + j))
                .collect();
            let vals: Vec<f64> = idx.iter().map(|&i| x[i]).collect();
            let m = vals.iter().sum::<f64>() / vals.len() as f64;
            let v = vals.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / vals.len() as f64;
            for &i in &idx {
                r[i] = (x[i] - m) / (v + 1e-5).sqrt();
            }
        }
        close(&y.to_vec::<f64>().unwrap(), &r, 1e-10);
        let xf = xt.to_dtype(crate::DType::F32).unwrap();
        crate::set_num_threads(1);
        let a = batch_norm(&xf, None, None, None, None, true, 0.1, 1e-5)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        crate::set_num_threads(2);
        let b = batch_norm(&xf, None, None, None, None, true, 0.1, 1e-5)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        crate::set_num_threads(0);
        assert_eq!(a, b);
    }
}

/// d sum(f(x, w, b) * v) / d{x, w, b} by the fused backward vs central differences.
fn fd_check(f: &dyn Fn(&Tensor, &Tensor, &Tensor) -> Tensor, xs: &[usize], ws: &[usize]) {
    let nx: usize = xs.iter().product();
    let nw: usize = ws.iter().product();
    let (x0, w0, b0) = (data(nx, 11), data(nw, 12), data(nw, 13));
    let v = data(nx, 14);
    let loss = |x: &[f64], w: &[f64], b: &[f64]| -> f64 {
        let y = f(&t(x.to_vec(), xs), &t(w.to_vec(), ws), &t(b.to_vec(), ws))
            .to_vec::<f64>()
            .unwrap();
        y.iter().zip(&v).map(|(a, b)| a * b).sum()
    };
    let (x, w, b) = (t(x0.clone(), xs), t(w0.clone(), ws), t(b0.clone(), ws));
    for p in [&x, &w, &b] {
        p.set_requires_grad(true).unwrap();
    }
    f(&x, &w, &b)
        .mul(&t(v.clone(), xs))
        .unwrap()
        .sum(None, false)
        .unwrap()
        .backward()
        .unwrap();
    let h = 1e-6;
    for (k, (p, base)) in [(&x, &x0), (&w, &w0), (&b, &b0)].into_iter().enumerate() {
        let g = p.grad().unwrap().to_vec::<f64>().unwrap();
        for i in 0..base.len() {
            let mut args = [x0.clone(), w0.clone(), b0.clone()];
            args[k][i] += h;
            let up = loss(&args[0], &args[1], &args[2]);
            args[k][i] -= 2.0 * h;
            let dn = loss(&args[0], &args[1], &args[2]);
            let num = (up - dn) / (2.0 * h);
            assert!(
                (g[i] - num).abs() < 1e-6 * (1.0 + num.abs()),
                "input {k} elem {i}: {} vs {num}",
                g[i]
            );
        }
    }
}

#[test]
fn backward_matches_finite_differences() {
    fd_check(
        &|x, w, b| layer_norm(x, &[5], Some(w), Some(b), 1e-5).unwrap(),
        &[3, 5],
        &[5],
    );
    fd_check(
        &|x, w, b| rms_norm(x, &[5], Some(w), None).unwrap().mul(b).unwrap(),
        &[3, 5],
        &[5],
    );
    fd_check(
        &|x, w, b| group_norm(x, 2, Some(w), Some(b), 1e-5).unwrap(),
        &[2, 4, 3],
        &[4],
    );
    fd_check(
        &|x, w, b| batch_norm(x, None, None, Some(w), Some(b), true, 0.1, 1e-5).unwrap(),
        &[5, 3],
        &[3],
    );
    fd_check(
        &|x, w, b| batch_norm(x, None, None, Some(w), Some(b), true, 0.1, 1e-5).unwrap(),
        &[3, 2, 4],
        &[2],
    );
}

#[test]
fn errors_not_panics() {
    let x = t(data(12, 1), &[3, 4]);
    assert!(matches!(
        layer_norm(&x, &[3], None, None, 1e-5),
        Err(crate::Error::Shape(_))
    ));
    assert!(matches!(
        group_norm(&x.reshape_usize(&[1, 4, 3]).unwrap(), 3, None, None, 1e-5),
        Err(crate::Error::Value(_))
    ));
    let one = t(vec![1.0, 2.0], &[1, 2]);
    match batch_norm(&one, None, None, None, None, true, 0.1, 1e-5) {
        Err(crate::Error::Value(m)) => {
            assert!(m.starts_with("Expected more than 1 value per channel when training"))
        }
        other => panic!("{other:?}"),
    }
}
