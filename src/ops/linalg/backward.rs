//! Gradients of the decompositions, PyTorch's formulas written in tensor ops.
//!
//! A closure that needs the op's output keeps a detached copy (no reference cycle) for a
//! plain backward, and recomputes it from the input with recorded ops when the backward
//! itself is being recorded (create_graph), so inv, det, slogdet, solve and cholesky
//! have higher-order gradients. The eigh, svd and qr closures use their detached outputs
//! either way (their gradients are first-order only).
//!
//! Multi-output ops (eigh, svd, qr) record one node per output; each computes that
//! output's share of the input gradient (the formulas are linear in the output
//! gradients), and the engine sums the shares.

use super::{all_invertible, cofactors, constant_like, solve_core};
use crate::autograd::{is_diff, is_grad_enabled, record};
use crate::tensor::Tensor;
use crate::{bail, Result};

/// An (n, n) mask: 1 where `keep(row, col)`, else 0.
fn mask(x: &Tensor, n: usize, keep: impl Fn(usize, usize) -> bool) -> Result<Tensor> {
    let v = (0..n * n)
        .map(|i| if keep(i / n, i % n) { 1.0 } else { 0.0 })
        .collect();
    constant_like(x, v, &[n, n])
}

fn last(x: &Tensor) -> usize {
    x.shape()[x.ndim() - 1]
}

/// X R^-T for an upper-triangular (invertible) R, via R Z = X^T.
fn times_inv_rt(x: &Tensor, r: &Tensor) -> Result<Tensor> {
    r.solve_impl(&x.mt()?, false)?.mt()
}

pub(super) fn record_det(out: Tensor, a: &Tensor) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let a2 = a.clone();
    record(out, "LinalgDetBackward", &[a], &[a], move |g| {
        let a = &a2;
        let gg = g.unsqueeze(-1)?.unsqueeze(-1)?;
        // d det / dA = det A A^-T (the cofactor matrix). Recorded when differentiating
        // the backward; a singular matrix takes the SVD formula, as a constant.
        if is_grad_enabled() && all_invertible(a)? {
            let d = a.det()?.unsqueeze(-1)?.unsqueeze(-1)?;
            return Ok(vec![Some(gg.mul(&d)?.mul(&a.inv_impl(false)?.mt()?)?)]);
        }
        Ok(vec![Some(gg.mul(&cofactors(a)?)?)])
    })
}

pub(super) fn record_slogdet(logabs: Tensor, a: &Tensor) -> Tensor {
    if !is_diff(&logabs) {
        return logabs;
    }
    let a2 = a.clone();
    record(logabs, "LinalgSlogdetBackward", &[a], &[a], move |g| {
        // d log|det A| / dA = A^-T
        let gg = g.unsqueeze(-1)?.unsqueeze(-1)?;
        Ok(vec![Some(gg.mul(&a2.inv_impl(false)?.mt()?)?)])
    })
}

pub(super) fn record_inv(out: Tensor, a: &Tensor) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let a2 = a.clone();
    let saved = out.detach();
    let keep = saved.clone();
    record(out, "LinalgInvBackward", &[a], &[a, &keep], move |g| {
        // d inv = -A^-1 dA A^-1  =>  gA = -A^-T g A^-T
        let ai = if is_grad_enabled() {
            a2.inv_impl(false)?
        } else {
            saved.clone()
        };
        let ait = ai.mt()?;
        Ok(vec![Some(ait.matmul(g)?.matmul(&ait)?.neg()?)])
    })
}

pub(super) fn record_solve(x: Tensor, a: &Tensor, b: &Tensor) -> Tensor {
    if !is_diff(&x) {
        return x;
    }
    let (a2, b2) = (a.clone(), b.clone());
    let saved = x.detach();
    let keep = saved.clone();
    record(
        x,
        "LinalgSolveBackward",
        &[a, b],
        &[a, b, &keep],
        move |g| {
            // X = A^-1 B:  gB = A^-T g,  gA = -gB X^T
            let x = if is_grad_enabled() {
                solve_core(&a2, &b2, false)?
            } else {
                saved.clone()
            };
            let gb = solve_core(&a2.mt()?, g, false)?;
            let ga = gb.matmul(&x.mt()?)?.neg()?;
            Ok(vec![Some(ga), Some(gb)])
        },
    )
}

pub(super) fn record_cholesky(l: Tensor, a: &Tensor) -> Tensor {
    if !is_diff(&l) {
        return l;
    }
    let a2 = a.clone();
    let saved = l.detach();
    let keep = saved.clone();
    record(l, "LinalgCholeskyBackward", &[a], &[a, &keep], move |g| {
        // PyTorch's formula (Murray 2016): P = tril(L^T gL),
        // gA = L^-T (P + tril(P, -1)^T) / 2 L^-1, a symmetric matrix.
        let l = if is_grad_enabled() {
            a2.cholesky(false)?
        } else {
            saved.clone()
        };
        let n = last(&l);
        let p = l.mt()?.matmul(g)?.mul(&mask(&l, n, |r, c| c <= r)?)?;
        let strict = p.mul(&mask(&l, n, |r, c| c < r)?)?;
        let phi = p.add(&strict.mt()?)?.mul(0.5)?;
        let lt = l.mt()?;
        let y = lt.solve_impl(&phi, false)?; // L^-T phi
        let ga = lt.solve_impl(&y.mt()?, false)?.mt()?; // y L^-1
        Ok(vec![Some(ga)])
    })
}

pub(super) fn record_eigvalsh(w: Tensor, a: &Tensor) -> Tensor {
    if !is_diff(&w) {
        return w;
    }
    let a2 = a.clone();
    record(w, "LinalgEigvalshBackward", &[a], &[a], move |g| {
        // gA = V diag(g) V^T
        let (_, v) = a2.eigh()?;
        Ok(vec![Some(v.mul(&g.unsqueeze(-2)?)?.matmul(&v.mt()?)?)])
    })
}

pub(super) fn record_eigh(w: Tensor, v: Tensor, a: &Tensor) -> (Tensor, Tensor) {
    if !is_diff(&w) {
        return (w, v);
    }
    let (ws, vs) = (w.detach(), v.detach());
    let (v1, w2, v2) = (vs.clone(), ws.clone(), vs.clone());
    let w = record(w, "LinalgEighBackward", &[a], &[&vs], move |g| {
        // eigenvalues: gA = V diag(gw) V^T
        Ok(vec![Some(v1.mul(&g.unsqueeze(-2)?)?.matmul(&v1.mt()?)?)])
    });
    let v = record(v, "LinalgEighBackward", &[a], &[&ws, &vs], move |g| {
        // eigenvectors: gA = V (F o V^T gV) V^T, F[i, j] = 1 / (w_j - w_i) off the
        // diagonal, 0 on it (infinite for repeated eigenvalues, as in PyTorch).
        let n = last(&w2);
        let e = w2.unsqueeze(-2)?.sub(&w2.unsqueeze(-1)?)?;
        let eye = mask(&w2, n, |r, c| r == c)?;
        let f = Tensor::where_(&eye.gt(0.0)?, 0.0, e.add(&eye)?.pow(-1.0)?)?;
        let inner = v2.mt()?.matmul(g)?.mul(&f)?;
        Ok(vec![Some(v2.matmul(&inner)?.matmul(&v2.mt()?)?)])
    });
    (w, v)
}

pub(super) fn record_svdvals(s: Tensor, a: &Tensor) -> Tensor {
    if !is_diff(&s) {
        return s;
    }
    let a2 = a.clone();
    record(s, "LinalgSvdvalsBackward", &[a], &[a], move |g| {
        // gA = U diag(gS) Vh
        let (u, _, vh) = a2.svd(false)?;
        Ok(vec![Some(u.mul(&g.unsqueeze(-2)?)?.matmul(&vh)?)])
    })
}

/// The share of gA from gU or gVh (one of them) for the reduced SVD (u (m, k), s (k),
/// vh (k, n)), PyTorch's svd_backward.
fn svd_vectors_grad(
    u: &Tensor,
    s: &Tensor,
    vh: &Tensor,
    gu: Option<&Tensor>,
    gvh: Option<&Tensor>,
) -> Result<Tensor> {
    let (m, n, k) = (u.shape()[u.ndim() - 2], last(vh), last(s));
    let s2 = s.mul(s)?;
    let eye = mask(s, k, |r, c| r == c)?;
    // E[j, l] = s_l^2 - s_j^2, 1 on the diagonal
    let e = s2.unsqueeze(-2)?.sub(&s2.unsqueeze(-1)?)?.add(&eye)?;
    let skew = |x: Tensor| -> Result<Tensor> { x.sub(&x.mt()?) };
    let inner = match (gu, gvh) {
        (Some(gu), _) => skew(u.mt()?.matmul(gu)?)?.mul(&s.unsqueeze(-2)?)?,
        (_, Some(gvh)) => s.unsqueeze(-1)?.mul(&skew(vh.matmul(&gvh.mt()?)?)?)?,
        _ => bail!(Runtime, "svd backward: no gradient given"),
    };
    let inner = inner.div(&e)?;
    if let (Some(gu), true) = (gu, m > k) {
        // + (I - U U^T) gU S^-1, then times Vh
        let gus = gu.div(&s.unsqueeze(-2)?)?;
        let proj = gus.sub(&u.matmul(&u.mt()?.matmul(&gus)?)?)?;
        return u.matmul(&inner)?.add(&proj)?.matmul(vh);
    }
    if let (Some(gvh), true) = (gvh, n > k) {
        // + S^-1 gV^T (I - V V^T), after U
        let v = vh.mt()?;
        let gvs = gvh.mt()?.div(&s.unsqueeze(-2)?)?.mt()?; // (k, n)
        let proj = gvs.sub(&gvs.matmul(&v)?.matmul(vh)?)?;
        return u.matmul(&inner.matmul(vh)?.add(&proj)?);
    }
    u.matmul(&inner)?.matmul(vh)
}

pub(super) fn record_svd(
    u: Tensor,
    s: Tensor,
    vh: Tensor,
    a: &Tensor,
    full: bool,
) -> (Tensor, Tensor, Tensor) {
    if !is_diff(&s) {
        return (u, s, vh);
    }
    let (us, ss, vhs) = (u.detach(), s.detach(), vh.detach());
    let k = last(&ss);
    let (m, n) = (us.shape()[us.ndim() - 2], last(&vhs));
    // The first k singular vectors (all of them unless full_matrices with M != N).
    let narrow = move |x: &Tensor, axis: isize| -> Result<Tensor> {
        x.slice(axis, Some(0), Some(k as isize), 1)
    };
    let non_unique = full && m != n;
    let refuse = || -> Result<Vec<Option<Tensor>>> {
        bail!(
            Runtime,
            "linalg.svd: the gradient of U or Vh with full_matrices=True is not defined when M != N \
             (the extra singular vectors are not unique); use full_matrices=False"
        )
    };
    let (u1, vh1) = (us.clone(), vhs.clone());
    let s = record(s, "LinalgSvdBackward", &[a], &[&us, &vhs], move |g| {
        let (u, vh) = (narrow(&u1, -1)?, narrow(&vh1, -2)?);
        Ok(vec![Some(u.mul(&g.unsqueeze(-2)?)?.matmul(&vh)?)])
    });
    let (u2, s2, vh2) = (us.clone(), ss.clone(), vhs.clone());
    let u = record(u, "LinalgSvdBackward", &[a], &[&us, &ss, &vhs], move |g| {
        if non_unique {
            return refuse();
        }
        Ok(vec![Some(svd_vectors_grad(&u2, &s2, &vh2, Some(g), None)?)])
    });
    let (u3, s3, vh3) = (us.clone(), ss.clone(), vhs.clone());
    let vh = record(vh, "LinalgSvdBackward", &[a], &[&us, &ss, &vhs], move |g| {
        if non_unique {
            return refuse();
        }
        Ok(vec![Some(svd_vectors_grad(&u3, &s3, &vh3, None, Some(g))?)])
    });
    (u, s, vh)
}

/// The share of gA from gQ or gR (one of them) for A = Q R with Q (m, m) and R (m, m)
/// square (M >= N reduced, after narrowing): PyTorch's formula
/// gA = [gQ + Q syminvadj(triu(gR R^T - Q^T gQ))] R^-T,
/// syminvadj(X) = X + X^T - diag(X).
fn qr_square_grad(
    q: &Tensor,
    r: &Tensor,
    gq: Option<&Tensor>,
    gr: Option<&Tensor>,
) -> Result<Tensor> {
    let n = last(r);
    let m0 = match (gq, gr) {
        (Some(gq), Some(gr)) => gr.matmul(&r.mt()?)?.sub(&q.mt()?.matmul(gq)?)?,
        (Some(gq), None) => q.mt()?.matmul(gq)?.neg()?,
        (None, Some(gr)) => gr.matmul(&r.mt()?)?,
        (None, None) => bail!(Runtime, "qr backward: no gradient given"),
    };
    let t = m0.mul(&mask(&m0, n, |row, c| c >= row)?)?;
    let sym = t
        .add(&t.mt()?)?
        .sub(&t.mul(&mask(&m0, n, |row, c| row == c)?)?)?;
    let mut ga = q.matmul(&sym)?;
    if let Some(gq) = gq {
        ga = ga.add(gq)?;
    }
    times_inv_rt(&ga, r)
}

/// The share of gA from gQ or gR for the reduced QR of an (m, n) matrix (Q (m, k),
/// R (k, n)); for M < N, A = [A1 A2] with A1 = Q R1 square and R2 = Q^T A2.
fn qr_grad(
    a: &Tensor,
    q: &Tensor,
    r: &Tensor,
    gq: Option<&Tensor>,
    gr: Option<&Tensor>,
) -> Result<Tensor> {
    let (m, n) = (q.shape()[q.ndim() - 2], last(r));
    if m >= n {
        return qr_square_grad(q, r, gq, gr);
    }
    let mi = m as isize;
    let r1 = r.slice(-1, Some(0), Some(mi), 1)?;
    let a2 = a.slice(-1, Some(mi), None, 1)?;
    match (gq, gr) {
        (Some(gq), _) => {
            let g1 = qr_square_grad(q, &r1, Some(gq), None)?;
            let zeros = a2.mul(0.0)?;
            Tensor::concat(&[g1, zeros], Some(-1))
        }
        (None, Some(gr)) => {
            let gr1 = gr.slice(-1, Some(0), Some(mi), 1)?;
            let gr2 = gr.slice(-1, Some(mi), None, 1)?;
            // R2 = Q^T A2: gA2 = Q gR2, and gQ gets A2 gR2^T.
            let gq_from_r2 = a2.matmul(&gr2.mt()?)?;
            let g1 = qr_square_grad(q, &r1, Some(&gq_from_r2), Some(&gr1))?;
            let g2 = q.matmul(&gr2)?;
            Tensor::concat(&[g1, g2], Some(-1))
        }
        (None, None) => bail!(Runtime, "qr backward: no gradient given"),
    }
}

pub(super) fn record_qr(q: Tensor, r: Tensor, a: &Tensor, complete: bool) -> (Tensor, Tensor) {
    if !is_diff(&q) {
        return (q, r);
    }
    let (qs, rs) = (q.detach(), r.detach());
    let (m, n) = (a.shape()[a.ndim() - 2], last(a));
    let k = m.min(n);
    let ad = a.detach();
    // complete with M > N: Q's extra columns are not unique (PyTorch refuses too); R's
    // extra rows are zeros, so R's gradient uses its first N rows and Q's first N columns.
    let q_refused = complete && m > n;
    let narrowed = move |qs: &Tensor, rs: &Tensor| -> Result<(Tensor, Tensor)> {
        Ok((
            qs.slice(-1, Some(0), Some(k as isize), 1)?,
            rs.slice(-2, Some(0), Some(k as isize), 1)?,
        ))
    };
    let (q1, r1, a1) = (qs.clone(), rs.clone(), ad.clone());
    let q = record(q, "LinalgQrBackward", &[a], &[a, &qs, &rs], move |g| {
        if q_refused {
            bail!(
                Runtime,
                "linalg.qr: the gradient of Q with mode='complete' is not defined when M > N \
                 (the extra columns are not unique); use mode='reduced'"
            )
        }
        let (qn, rn) = narrowed(&q1, &r1)?;
        Ok(vec![Some(qr_grad(&a1, &qn, &rn, Some(g), None)?)])
    });
    let (q2, r2, a2) = (qs.clone(), rs.clone(), ad);
    let r = record(r, "LinalgQrBackward", &[a], &[a, &qs, &rs], move |g| {
        let (qn, rn) = narrowed(&q2, &r2)?;
        let gn = g.slice(-2, Some(0), Some(k as isize), 1)?;
        Ok(vec![Some(qr_grad(&a2, &qn, &rn, None, Some(&gn))?)])
    });
    (q, r)
}
