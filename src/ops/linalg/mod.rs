//! Linear algebra on stacks of matrices (..., M, N): Cholesky, LU (det, slogdet, inv,
//! solve), Householder QR, the symmetric eigendecomposition and the SVD.
//!
//! The algorithms (`kernels.rs`) are written here, in f64, without LAPACK; each matrix
//! of a stack is factored on its own thread (rayon). They run on the CPU whatever the
//! input's device: a tensor on the GPU is copied to the host, factored, and the results
//! copied back to its device (in its dtype), so `x.inv()` of a wgpu tensor is a wgpu
//! tensor. Float32 inputs are computed in f64 and rounded once at the end; integer
//! inputs are promoted to float32 (the default float, as `exp` does); bool is refused.
//!
//! Gradients (`backward.rs`) follow PyTorch's formulas: solve, inv, det, slogdet,
//! cholesky, eigh/eigvalsh, svd/svdvals and qr are all differentiable.

mod backward;
pub(crate) mod kernels;
#[cfg(test)]
mod tests;

use crate::device::Device;
use crate::tensor::shape::{broadcast_shapes, fmt_shape, numel};
use crate::tensor::{DType, Tensor};
use crate::{bail, Result};
use kernels::SvdVectors;
use rayon::prelude::*;

/// A stack of matrices read into host memory as f64 for the kernels.
pub(crate) struct Stack {
    pub data: Vec<f64>,
    pub batch: Vec<usize>,
    pub m: usize,
    pub n: usize,
    /// The input's float dtype and device: the results go back to them.
    pub dtype: DType,
    pub device: Device,
}

impl Stack {
    pub(crate) fn read(name: &str, x: &Tensor) -> Result<Stack> {
        check_matrix(name, x)?;
        let dtype = float_dtype(name, x.dtype())?;
        let nd = x.ndim();
        let data = x
            .to_device(Device::Cpu)?
            .to_dtype(DType::F64)?
            .to_vec::<f64>()?;
        Ok(Stack {
            data,
            batch: x.shape()[..nd - 2].to_vec(),
            m: x.shape()[nd - 2],
            n: x.shape()[nd - 1],
            dtype,
            device: x.device(),
        })
    }

    fn count(&self) -> usize {
        numel(&self.batch)
    }

    fn mat(&self, b: usize) -> &[f64] {
        let mn = self.m * self.n;
        &self.data[b * mn..(b + 1) * mn]
    }

    /// The shape `batch + tail`.
    fn shape(&self, tail: &[usize]) -> Vec<usize> {
        [&self.batch[..], tail].concat()
    }

    /// A result of this stack's dtype and device from f64 values.
    fn output(&self, data: Vec<f64>, tail: &[usize]) -> Result<Tensor> {
        Tensor::from_vec(data, &self.shape(tail))?
            .to_dtype(self.dtype)?
            .to_device(self.device)
    }

    /// Runs `f` on each matrix of the stack in parallel, results in order.
    fn map<R: Send>(&self, f: impl Fn(&[f64]) -> R + Sync + Send) -> Vec<R> {
        (0..self.count())
            .into_par_iter()
            .map(|b| f(self.mat(b)))
            .collect()
    }
}

/// Checks that `x` is at least 2-D (a matrix or a stack of them).
fn check_matrix(name: &str, x: &Tensor) -> Result<()> {
    if x.ndim() < 2 {
        bail!(
            LinAlg,
            "{name}: {}-dimensional array given; the input must have at least 2 dimensions (..., M, N)",
            x.ndim()
        )
    }
    Ok(())
}

/// Checks that `x` is a (stack of) square matrices; returns M.
fn check_square(name: &str, x: &Tensor) -> Result<usize> {
    check_matrix(name, x)?;
    let s = x.shape();
    let (m, n) = (s[s.len() - 2], s[s.len() - 1]);
    if m != n {
        bail!(
            LinAlg,
            "{name}: the last 2 dimensions of the input must be square, got shape {}",
            fmt_shape(s)
        )
    }
    Ok(n)
}

/// The float dtype a linear-algebra op computes in for an input of dtype `dt`.
pub(crate) fn float_dtype(name: &str, dt: DType) -> Result<DType> {
    if dt.is_float() {
        Ok(dt)
    } else if dt.is_int() {
        Ok(DType::F32)
    } else {
        bail!(DType, "{name}: not supported for {dt} tensors")
    }
}

/// `x` cast to its float dtype (integers become float32).
fn as_float(name: &str, x: &Tensor) -> Result<Tensor> {
    x.to_dtype(float_dtype(name, x.dtype())?)
}

/// " (matrix i of the stack)" for a stack, "" for a single matrix.
fn which(batch: &[usize], b: usize) -> String {
    if batch.is_empty() {
        String::new()
    } else {
        format!(" (matrix {b} of the stack of shape {})", fmt_shape(batch))
    }
}

/// A (stack of) identity-shaped constant(s) from row-major f64 values of `x`'s dtype and
/// device (masks for the backward formulas).
pub(crate) fn constant_like(x: &Tensor, data: Vec<f64>, shape: &[usize]) -> Result<Tensor> {
    Tensor::from_vec(data, shape)?
        .to_dtype(x.dtype())?
        .to_device(x.device())
}

impl Tensor {
    /// The lower Cholesky factor L of a (stack of) symmetric positive-definite matrix,
    /// A = L L^T, read from the lower triangle; the upper factor U = L^T with `upper`.
    /// A matrix that is not positive-definite is an `Error::LinAlg`.
    pub fn cholesky(&self, upper: bool) -> Result<Tensor> {
        let x = as_float("linalg.cholesky", self)?;
        check_square("linalg.cholesky", &x)?;
        let l = crate::autograd::untracked(|| cholesky_fwd(&x))?;
        let l = backward::record_cholesky(l, &x);
        if upper {
            l.mt()?.contiguous()
        } else {
            Ok(l)
        }
    }

    /// The determinant of each matrix, shape (...).
    pub fn det(&self) -> Result<Tensor> {
        let x = as_float("linalg.det", self)?;
        check_square("linalg.det", &x)?;
        let d = crate::autograd::untracked(|| {
            let s = Stack::read("linalg.det", &x)?;
            let n = s.n;
            let v = s.map(|a| kernels::lu(a, n).det());
            s.output(v, &[])
        })?;
        Ok(backward::record_det(d, &x))
    }

    /// (sign, log|det|) of each matrix, shapes (...): (0, -inf) for a singular one.
    /// Only log|det| carries a gradient.
    pub fn slogdet(&self) -> Result<(Tensor, Tensor)> {
        let x = as_float("linalg.slogdet", self)?;
        check_square("linalg.slogdet", &x)?;
        let (sign, logabs) = crate::autograd::untracked(|| {
            let s = Stack::read("linalg.slogdet", &x)?;
            let n = s.n;
            let (sg, la): (Vec<f64>, Vec<f64>) =
                s.map(|a| kernels::lu(a, n).slogdet()).into_iter().unzip();
            Ok::<_, crate::Error>((s.output(sg, &[])?, s.output(la, &[])?))
        })?;
        Ok((sign, backward::record_slogdet(logabs, &x)))
    }

    /// The inverse of each matrix; a singular one (an exactly zero pivot) is an
    /// `Error::LinAlg`.
    pub fn inv(&self) -> Result<Tensor> {
        self.inv_impl(true)
    }

    /// `inv` that returns inf/NaN for a singular matrix instead of an error (the
    /// backward formulas use it).
    pub(crate) fn inv_impl(&self, check: bool) -> Result<Tensor> {
        let x = as_float("linalg.inv", self)?;
        check_square("linalg.inv", &x)?;
        let out = crate::autograd::untracked(|| {
            let s = Stack::read("linalg.inv", &x)?;
            let n = s.n;
            let res = s.map(|a| {
                let f = kernels::lu(a, n);
                (f.zero_pivot, f.inverse())
            });
            let mut v = Vec::with_capacity(s.data.len());
            for (b, (zp, inv)) in res.into_iter().enumerate() {
                if let (true, Some(k)) = (check, zp) {
                    bail!(
                        LinAlg,
                        "linalg.inv: the matrix is singular (pivot {} is exactly zero){}",
                        k + 1,
                        which(&s.batch, b)
                    )
                }
                v.extend(inv);
            }
            s.output(v, &[n, n])
        })?;
        Ok(backward::record_inv(out, &x))
    }

    /// The solution X of A X = B (A = self, (..., M, M)). B is a vector (M,) (the result
    /// is then (..., M)) or a stack of matrices (..., M, K) whose batch dims broadcast
    /// against A's. A singular A is an `Error::LinAlg`.
    pub fn solve(&self, b: &Tensor) -> Result<Tensor> {
        self.solve_impl(b, true)
    }

    pub(crate) fn solve_impl(&self, b: &Tensor, check: bool) -> Result<Tensor> {
        let name = "linalg.solve";
        let dt = DType::promote(
            float_dtype(name, self.dtype())?,
            float_dtype(name, b.dtype())?,
        );
        if self.device() != b.device() {
            bail!(
                Device,
                "{name}: expected both operands on one device, got {} and {}",
                self.device(),
                b.device()
            )
        }
        let (a, b) = (self.to_dtype(dt)?, b.to_dtype(dt)?);
        let m = check_square(name, &a)?;
        let abatch = a.shape()[..a.ndim() - 2].to_vec();
        if b.ndim() == 0 {
            bail!(
                LinAlg,
                "{name}: the right-hand side must have at least 1 dimension"
            )
        }
        if b.ndim() == 1 {
            if b.shape()[0] != m {
                bail!(
                    Shape,
                    "{name}: incompatible shapes {} and {} (the vector must have {m} elements)",
                    fmt_shape(a.shape()),
                    fmt_shape(b.shape())
                )
            }
            let bm = b
                .unsqueeze(-1)?
                .broadcast_to(&[&abatch[..], &[m, 1]].concat())?;
            return solve_core(&a, &bm, check)?.squeeze(Some(&[-1]));
        }
        let nb = b.ndim();
        let (bm, k) = (b.shape()[nb - 2], b.shape()[nb - 1]);
        if bm != m {
            bail!(
                Shape,
                "{name}: incompatible shapes {} and {} (B must have {m} rows)",
                fmt_shape(a.shape()),
                fmt_shape(b.shape())
            )
        }
        let batch = broadcast_shapes(&abatch, &b.shape()[..nb - 2]).map_err(|_| {
            crate::Error::Shape(format!(
                "{name}: the batch dimensions of shapes {} and {} cannot be broadcast",
                fmt_shape(a.shape()),
                fmt_shape(b.shape())
            ))
        })?;
        let fit = |t: &Tensor, tail: [usize; 2]| -> Result<Tensor> {
            let shape = [&batch[..], &tail].concat();
            if t.shape() == &shape[..] {
                Ok(t.clone())
            } else {
                t.broadcast_to(&shape)
            }
        };
        solve_core(&fit(&a, [m, m])?, &fit(&b, [m, k])?, check)
    }

    /// QR: Q (..., M, K) with orthonormal columns and upper-triangular R (..., K, N),
    /// K = min(M, N); with `complete`, Q (..., M, M) and R (..., M, N). Householder
    /// reflections (R's diagonal may be negative, as LAPACK's).
    pub fn qr(&self, complete: bool) -> Result<(Tensor, Tensor)> {
        let x = as_float("linalg.qr", self)?;
        let (q, r) = crate::autograd::untracked(|| {
            let s = Stack::read("linalg.qr", &x)?;
            let (m, n) = (s.m, s.n);
            let c = if complete { m } else { m.min(n) };
            let res = s.map(|a| kernels::qr(a, m, n, complete));
            let (mut qv, mut rv) = (Vec::new(), Vec::new());
            for (q, r) in res {
                qv.extend(q);
                rv.extend(r);
            }
            Ok::<_, crate::Error>((s.output(qv, &[m, c])?, s.output(rv, &[c, n])?))
        })?;
        Ok(backward::record_qr(q, r, &x, complete))
    }

    /// Eigenvalues (ascending, (..., M)) and eigenvectors (the columns of (..., M, M)) of
    /// a (stack of) symmetric matrix, read from its lower triangle.
    pub fn eigh(&self) -> Result<(Tensor, Tensor)> {
        let x = as_float("linalg.eigh", self)?;
        check_square("linalg.eigh", &x)?;
        let (w, v) = crate::autograd::untracked(|| eigh_fwd(&x, true))?;
        let v = v.expect("eigh_fwd with vectors");
        Ok(backward::record_eigh(w, v, &x))
    }

    /// The eigenvalues (ascending) of a (stack of) symmetric matrix.
    pub fn eigvalsh(&self) -> Result<Tensor> {
        let x = as_float("linalg.eigvalsh", self)?;
        check_square("linalg.eigvalsh", &x)?;
        let (w, _) = crate::autograd::untracked(|| eigh_fwd(&x, false))?;
        Ok(backward::record_eigvalsh(w, &x))
    }

    /// The SVD A = U diag(S) Vh: S (..., K) descending; U (..., M, M) and Vh (..., N, N)
    /// with `full_matrices`, else U (..., M, K) and Vh (..., K, N).
    pub fn svd(&self, full_matrices: bool) -> Result<(Tensor, Tensor, Tensor)> {
        let x = as_float("linalg.svd", self)?;
        let want = if full_matrices {
            SvdVectors::Full
        } else {
            SvdVectors::Reduced
        };
        let (u, s, vh) = crate::autograd::untracked(|| svd_fwd(&x, want))?;
        let (u, vh) = (u.expect("svd vectors"), vh.expect("svd vectors"));
        Ok(backward::record_svd(u, s, vh, &x, full_matrices))
    }

    /// The singular values (..., K), descending.
    pub fn svdvals(&self) -> Result<Tensor> {
        let x = as_float("linalg.svdvals", self)?;
        let (_, s, _) = crate::autograd::untracked(|| svd_fwd(&x, SvdVectors::None))?;
        Ok(backward::record_svdvals(s, &x))
    }
}

fn cholesky_fwd(x: &Tensor) -> Result<Tensor> {
    let s = Stack::read("linalg.cholesky", x)?;
    let n = s.n;
    let res = s.map(|a| kernels::cholesky(a, n));
    let mut v = Vec::with_capacity(s.data.len());
    for (b, r) in res.into_iter().enumerate() {
        match r {
            Ok(l) => v.extend(l),
            Err(k) => bail!(
                LinAlg,
                "linalg.cholesky: the input is not positive-definite (the leading minor of order {k} is not positive-definite){}",
                which(&s.batch, b)
            ),
        }
    }
    s.output(v, &[n, n])
}

/// A X = B for A (batch, M, M) and B (batch, M, K) with the same batch dims, recorded.
fn solve_core(a: &Tensor, b: &Tensor, check: bool) -> Result<Tensor> {
    let x = crate::autograd::untracked(|| {
        let sa = Stack::read("linalg.solve", a)?;
        let sb = Stack::read("linalg.solve", b)?;
        let (m, k) = (sb.m, sb.n);
        let res: Vec<(Option<usize>, Vec<f64>)> = (0..sa.count())
            .into_par_iter()
            .map(|i| {
                let f = kernels::lu(sa.mat(i), m);
                (f.zero_pivot, f.solve(sb.mat(i), k))
            })
            .collect();
        let mut v = Vec::with_capacity(sb.data.len());
        for (i, (zp, xs)) in res.into_iter().enumerate() {
            if let (true, Some(p)) = (check, zp) {
                bail!(
                    LinAlg,
                    "linalg.solve: the matrix A is singular (pivot {} is exactly zero){}",
                    p + 1,
                    which(&sa.batch, i)
                )
            }
            v.extend(xs);
        }
        sb.output(v, &[m, k])
    })?;
    Ok(backward::record_solve(x, a, b))
}

fn eigh_fwd(x: &Tensor, vectors: bool) -> Result<(Tensor, Option<Tensor>)> {
    let s = Stack::read("linalg.eigh", x)?;
    let n = s.n;
    let res = s.map(|a| kernels::eigh(a, n, vectors));
    let (mut wv, mut vv) = (Vec::new(), Vec::new());
    for (w, v) in res {
        wv.extend(w);
        vv.extend(v);
    }
    let w = s.output(wv, &[n])?;
    let v = if vectors {
        Some(s.output(vv, &[n, n])?)
    } else {
        None
    };
    Ok((w, v))
}

#[allow(clippy::type_complexity)]
fn svd_fwd(x: &Tensor, want: SvdVectors) -> Result<(Option<Tensor>, Tensor, Option<Tensor>)> {
    let s = Stack::read("linalg.svd", x)?;
    let (m, n) = (s.m, s.n);
    let k = m.min(n);
    let res = s.map(|a| kernels::svd(a, m, n, want));
    let (mut sv, mut uv, mut vv) = (Vec::new(), Vec::new(), Vec::new());
    for (sg, u, vh) in res {
        sv.extend(sg);
        uv.extend(u);
        vv.extend(vh);
    }
    let sing = s.output(sv, &[k])?;
    let (uc, vr) = match want {
        SvdVectors::None => return Ok((None, sing, None)),
        SvdVectors::Reduced => (k, k),
        SvdVectors::Full => (m, n),
    };
    Ok((
        Some(s.output(uv, &[m, uc])?),
        sing,
        Some(s.output(vv, &[vr, n])?),
    ))
}

/// The cofactor matrices of a stack (the gradient of det), as constants: det A A^-T
/// for an invertible matrix, the SVD formula for a singular one.
pub(crate) fn cofactors(x: &Tensor) -> Result<Tensor> {
    crate::autograd::untracked(|| {
        let s = Stack::read("linalg.det", x)?;
        let n = s.n;
        let res = s.map(|a| {
            let f = kernels::lu(a, n);
            if f.zero_pivot.is_none() {
                let d = f.det();
                let inv = f.inverse();
                if d != 0.0 && d.is_finite() && inv.iter().all(|v| v.is_finite()) {
                    // (det A^-T)[r, c] = det * inv[c, r]
                    let mut out = vec![0.0; n * n];
                    for r in 0..n {
                        for c in 0..n {
                            out[r * n + c] = d * inv[c * n + r];
                        }
                    }
                    return out;
                }
            }
            kernels::cofactor(a, n)
        });
        s.output(res.concat(), &[n, n])
    })
}

/// Whether every matrix of the stack has an LU without a zero pivot.
pub(crate) fn all_invertible(x: &Tensor) -> Result<bool> {
    crate::autograd::untracked(|| {
        let s = Stack::read("linalg", x)?;
        let n = s.n;
        Ok(s.map(|a| kernels::lu(a, n).zero_pivot.is_none())
            .into_iter()
            .all(|ok| ok))
    })
}
