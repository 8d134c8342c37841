//! Dense matrix algorithms in f64, one matrix at a time, on row-major slices: LU with
//! partial pivoting, Cholesky, Householder QR, the symmetric eigendecomposition
//! (Householder tridiagonalization + implicit QL, as EISPACK's tred2/tql2) and the SVD
//! (one-sided Jacobi after a column-pivoted QR). `mod.rs` batches them over the leading
//! dims with rayon.
//!
//! Every routine terminates on any input (NaN and infinities included: iteration counts
//! are capped), and each first scales the matrix by a power of two (exact, so results
//! are unchanged otherwise) so that finite inputs near the overflow or underflow
//! thresholds do not overflow or underflow in the intermediate steps.
//! Tests are written `!(x > t)` on purpose where a NaN must take the "stop" branch.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use rayon::prelude::*;

/// Above this many multiply-adds one elimination step splits its rows over threads.
const PAR_MIN: usize = 1 << 16;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four accumulators: the adds pipeline (and vectorize) without -ffast-math.
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut s = [0.0f64; 4];
    let chunks = n / 4;
    for i in 0..chunks {
        let j = 4 * i;
        s[0] += a[j] * b[j];
        s[1] += a[j + 1] * b[j + 1];
        s[2] += a[j + 2] * b[j + 2];
        s[3] += a[j + 3] * b[j + 3];
    }
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for j in 4 * chunks..n {
        t += a[j] * b[j];
    }
    t
}

/// y += alpha * x
fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// The largest |x|, NaN when any element is NaN.
pub(crate) fn amax(x: &[f64]) -> f64 {
    let mut m = 0.0f64;
    for &v in x {
        if v.is_nan() {
            return f64::NAN;
        }
        m = m.max(v.abs());
    }
    m
}

fn all_finite(x: &[f64]) -> bool {
    x.iter().all(|v| v.is_finite())
}

/// 2^e as an f64 (e clamped to the normal range, so the value is exact).
fn pow2(e: i32) -> f64 {
    let e = e.clamp(-1022, 1023);
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// The exponent e with 2^e near max|x| (0 when the max is 0 or not finite), even when
/// `even` (a Cholesky factor scales by the square root).
fn scale_exponent(x: &[f64], even: bool) -> i32 {
    let m = amax(x);
    if !(m.is_finite() && m > 0.0) {
        return 0;
    }
    let e = (m.log2().round() as i32).clamp(-1000, 1000);
    if even {
        e & !1
    } else {
        e
    }
}

/// Euclidean norm, safe from overflow and underflow.
fn norm2(x: &[f64]) -> f64 {
    let m = amax(x);
    if !(m.is_finite() && m > 0.0) {
        return m;
    }
    let inv = 1.0 / m;
    if !inv.is_finite() {
        // m is subnormal: scale by a power of two instead.
        let s = pow2(600);
        let ss: f64 = x.iter().map(|v| (v * s) * (v * s)).sum();
        return ss.sqrt() / s;
    }
    let ss: f64 = x.iter().map(|v| (v * inv) * (v * inv)).sum();
    m * ss.sqrt()
}

// ----------------------------------------------------------------------------- LU

/// An LU factorization with partial pivoting, P A = L U (L unit lower, U upper, both
/// stored in `lu`); `perm[i]` is the row of A that became row i.
pub(crate) struct Lu {
    pub lu: Vec<f64>,
    pub perm: Vec<usize>,
    pub n: usize,
    /// +1 or -1: the permutation's parity.
    pub sign: f64,
    /// The first exactly zero pivot (the matrix is singular), if any.
    pub zero_pivot: Option<usize>,
    /// The factors are those of A / 2^scale (exact; keeps huge or tiny entries from
    /// overflowing or underflowing during the elimination).
    pub scale: i32,
}

pub(crate) fn lu(a: &[f64], n: usize) -> Lu {
    let scale = scale_exponent(a, false);
    let s = pow2(-scale);
    let mut lu: Vec<f64> = a.iter().map(|v| v * s).collect();
    let mut perm: Vec<usize> = (0..n).collect();
    let mut sign = 1.0;
    let mut zero_pivot = None;
    for k in 0..n {
        let mut p = k;
        let mut best = lu[k * n + k].abs();
        for i in k + 1..n {
            let v = lu[i * n + k].abs();
            if v > best {
                best = v;
                p = i;
            }
        }
        if p != k {
            for j in 0..n {
                lu.swap(k * n + j, p * n + j);
            }
            perm.swap(k, p);
            sign = -sign;
        }
        let piv = lu[k * n + k];
        if piv == 0.0 {
            zero_pivot.get_or_insert(k);
            continue;
        }
        let (top, bottom) = lu.split_at_mut((k + 1) * n);
        let rowk = &top[k * n..];
        let eliminate = |rowi: &mut [f64]| {
            let l = rowi[k] / piv;
            rowi[k] = l;
            if l != 0.0 {
                axpy(-l, &rowk[k + 1..], &mut rowi[k + 1..]);
            }
        };
        if (n - k) * (n - k) >= PAR_MIN {
            bottom.par_chunks_mut(n).for_each(eliminate);
        } else {
            bottom.chunks_mut(n).for_each(eliminate);
        }
    }
    Lu {
        lu,
        perm,
        n,
        sign,
        zero_pivot,
        scale,
    }
}

impl Lu {
    /// Solves A X = B for B of shape (n, k) row-major; a zero pivot gives inf/NaN.
    pub(crate) fn solve(&self, b: &[f64], k: usize) -> Vec<f64> {
        let n = self.n;
        let mut x = vec![0.0; n * k];
        for i in 0..n {
            x[i * k..(i + 1) * k].copy_from_slice(&b[self.perm[i] * k..(self.perm[i] + 1) * k]);
        }
        // Forward substitution with the unit lower factor.
        for i in 0..n {
            let (done, rest) = x.split_at_mut(i * k);
            let xi = &mut rest[..k];
            for j in 0..i {
                let l = self.lu[i * n + j];
                if l != 0.0 {
                    axpy(-l, &done[j * k..(j + 1) * k], xi);
                }
            }
        }
        // Back substitution with the upper factor.
        for i in (0..n).rev() {
            let (head, tail) = x.split_at_mut((i + 1) * k);
            let xi = &mut head[i * k..];
            for j in i + 1..n {
                let u = self.lu[i * n + j];
                if u != 0.0 {
                    axpy(-u, &tail[(j - i - 1) * k..(j - i) * k], xi);
                }
            }
            let d = self.lu[i * n + i];
            for v in xi.iter_mut() {
                *v /= d;
            }
        }
        // A = 2^scale A'  =>  X = A'^-1 B 2^-scale
        if self.scale != 0 {
            let back = pow2(-self.scale);
            x.iter_mut().for_each(|v| *v *= back);
        }
        x
    }

    pub(crate) fn inverse(&self) -> Vec<f64> {
        let n = self.n;
        let mut eye = vec![0.0; n * n];
        for i in 0..n {
            eye[i * n + i] = 1.0;
        }
        self.solve(&eye, n)
    }

    pub(crate) fn det(&self) -> f64 {
        let n = self.n;
        let f = pow2(self.scale);
        // det A = det A' 2^(scale n): one exact factor per pivot (overflow is real).
        (0..n).fold(self.sign, |d, i| d * self.lu[i * n + i] * f)
    }

    /// (sign, log|det|): (0, -inf) for a singular matrix, NaN for a NaN one.
    pub(crate) fn slogdet(&self) -> (f64, f64) {
        let n = self.n;
        let mut sign = self.sign;
        let mut logabs = 0.0;
        for i in 0..n {
            let d = self.lu[i * n + i];
            if d.is_nan() {
                return (f64::NAN, f64::NAN);
            }
            if d == 0.0 {
                sign = 0.0;
                logabs = f64::NEG_INFINITY;
                continue;
            }
            if sign != 0.0 {
                sign *= d.signum();
                logabs += d.abs().ln();
            }
        }
        if sign != 0.0 {
            logabs += (n as f64) * (self.scale as f64) * std::f64::consts::LN_2;
        }
        (sign, logabs)
    }
}

// ----------------------------------------------------------------------- Cholesky

/// The lower Cholesky factor of the symmetric matrix whose lower triangle is `a`, or the
/// order of the first leading minor that is not positive-definite (1-based).
pub(crate) fn cholesky(a: &[f64], n: usize) -> Result<Vec<f64>, usize> {
    let e = scale_exponent(a, true);
    let s = pow2(-e);
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let (head, rest) = l.split_at_mut((j + 1) * n);
        let rowj = &mut head[j * n..];
        let d = a[j * n + j] * s - dot(&rowj[..j], &rowj[..j]);
        if !(d > 0.0 && d.is_finite()) {
            return Err(j + 1);
        }
        let d = d.sqrt();
        rowj[j] = d;
        let rowj = &head[j * n..j * n + j];
        // Rows below: L[i, j] = (A[i, j] - L[i, :j] . L[j, :j]) / L[j, j].
        let fill = |(r, rowi): (usize, &mut [f64])| {
            let i = j + 1 + r;
            rowi[j] = (a[i * n + j] * s - dot(&rowi[..j], rowj)) / d;
        };
        if (n - j) * j >= PAR_MIN {
            rest.par_chunks_mut(n).enumerate().for_each(fill);
        } else {
            rest.chunks_mut(n).enumerate().for_each(fill);
        }
    }
    let back = pow2(e / 2);
    if back != 1.0 {
        for v in l.iter_mut() {
            *v *= back;
        }
    }
    Ok(l)
}

// ----------------------------------------------------------------------------- QR

/// Householder reflections of an (m, n) matrix: `work` holds R in its upper triangle
/// (the rest is zero) and `vs[j]` the unit vector of reflection j acting on rows j..m
/// (empty for an identity step).
pub(crate) struct Householder {
    pub work: Vec<f64>,
    pub vs: Vec<Vec<f64>>,
    pub m: usize,
    pub n: usize,
    /// With column pivoting, column j of R belongs to column `perm[j]` of A
    /// (A P = Q R); the identity otherwise.
    pub perm: Vec<usize>,
}

pub(crate) fn householder(a: &[f64], m: usize, n: usize) -> Householder {
    householder_impl(a, m, n, false)
}

/// `householder` with column pivoting: at each step the remaining column of largest
/// norm comes first, so R's diagonal decreases in magnitude.
pub(crate) fn householder_pivoted(a: &[f64], m: usize, n: usize) -> Householder {
    householder_impl(a, m, n, true)
}

fn householder_impl(a: &[f64], m: usize, n: usize, pivot: bool) -> Householder {
    let e = scale_exponent(a, false);
    let s = pow2(-e);
    let mut w: Vec<f64> = a.iter().map(|v| v * s).collect();
    let k = m.min(n);
    let mut vs = Vec::with_capacity(k);
    let mut acc = vec![0.0; n];
    let mut perm: Vec<usize> = (0..n).collect();
    let mut seg = vec![0.0; m];
    for j in 0..k {
        if pivot {
            let mut best = (j, -1.0);
            for c in j..n {
                for (r, x) in seg[..m - j].iter_mut().enumerate() {
                    *x = w[(j + r) * n + c];
                }
                let nrm = norm2(&seg[..m - j]);
                if nrm > best.1 {
                    best = (c, nrm);
                }
            }
            let c = best.0;
            if c != j {
                for i in 0..m {
                    w.swap(i * n + j, i * n + c);
                }
                perm.swap(j, c);
            }
        }
        let col: Vec<f64> = (j..m).map(|i| w[i * n + j]).collect();
        let xmax = amax(&col);
        if !(xmax.is_finite() && xmax > 0.0) {
            vs.push(Vec::new());
            continue;
        }
        let mut v: Vec<f64> = col.iter().map(|x| x / xmax).collect();
        let nrm = norm2(&v);
        let alpha = if v[0] >= 0.0 { -nrm } else { nrm };
        v[0] -= alpha;
        let vn = norm2(&v);
        if !(vn > 0.0) {
            vs.push(Vec::new());
            continue;
        }
        v.iter_mut().for_each(|x| *x /= vn);
        // W[j.., j+1..] -= 2 v (v^T W[j.., j+1..]), row by row.
        let acc = &mut acc[j + 1..];
        acc.iter_mut().for_each(|x| *x = 0.0);
        for (r, vi) in v.iter().enumerate() {
            let i = j + r;
            axpy(*vi, &w[i * n + j + 1..(i + 1) * n], acc);
        }
        for (r, vi) in v.iter().enumerate() {
            let i = j + r;
            axpy(-2.0 * vi, acc, &mut w[i * n + j + 1..(i + 1) * n]);
        }
        w[j * n + j] = alpha * xmax;
        for i in j + 1..m {
            w[i * n + j] = 0.0;
        }
        vs.push(v);
    }
    // R: the upper triangle, unscaled; exact zeros below the diagonal.
    let back = pow2(e);
    for i in 0..m {
        for jj in 0..n {
            let v = &mut w[i * n + jj];
            *v = if jj < i { 0.0 } else { *v * back };
        }
    }
    Householder {
        work: w,
        vs,
        m,
        n,
        perm,
    }
}

impl Householder {
    /// The first `cols` columns of Q = H_0 H_1 ... H_{k-1} (m, cols), row-major.
    pub(crate) fn q(&self, cols: usize) -> Vec<f64> {
        let m = self.m;
        let mut q = vec![0.0; m * cols];
        for i in 0..m.min(cols) {
            q[i * cols + i] = 1.0;
        }
        let mut acc = vec![0.0; cols];
        for (j, v) in self.vs.iter().enumerate().rev() {
            if v.is_empty() {
                continue;
            }
            acc.iter_mut().for_each(|x| *x = 0.0);
            for (r, vi) in v.iter().enumerate() {
                let i = j + r;
                axpy(*vi, &q[i * cols..(i + 1) * cols], &mut acc);
            }
            for (r, vi) in v.iter().enumerate() {
                let i = j + r;
                axpy(-2.0 * vi, &acc, &mut q[i * cols..(i + 1) * cols]);
            }
        }
        q
    }

    /// The first `rows` rows of R (rows, n), row-major.
    pub(crate) fn r(&self, rows: usize) -> Vec<f64> {
        let n = self.n;
        let mut r = vec![0.0; rows * n];
        let have = rows.min(self.m);
        r[..have * n].copy_from_slice(&self.work[..have * n]);
        r
    }
}

/// QR of an (m, n) matrix: Q (m, m) and R (m, n) when `complete`, else Q (m, k) and
/// R (k, n) with k = min(m, n).
pub(crate) fn qr(a: &[f64], m: usize, n: usize, complete: bool) -> (Vec<f64>, Vec<f64>) {
    let h = householder(a, m, n);
    let c = if complete { m } else { m.min(n) };
    (h.q(c), h.r(c))
}

// ------------------------------------------------------- symmetric eigenproblem

/// Eigenvalues (ascending) and eigenvectors (the columns of the (n, n) row-major
/// matrix) of the symmetric matrix whose lower triangle is `a`. Without `vectors` the
/// second result is empty. A matrix with a NaN or infinity gives all NaN.
pub(crate) fn eigh(a: &[f64], n: usize, vectors: bool) -> (Vec<f64>, Vec<f64>) {
    if !all_finite(a) {
        let vecs = if vectors {
            vec![f64::NAN; n * n]
        } else {
            Vec::new()
        };
        return (vec![f64::NAN; n], vecs);
    }
    if n == 0 {
        return (Vec::new(), Vec::new());
    }
    let ex = scale_exponent(a, false);
    let s = pow2(-ex);
    // V is column-major: V(r, c) = v[r + c n]. Symmetric from the lower triangle.
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let x = a[i * n + j] * s;
            v[i + j * n] = x;
            v[j + i * n] = x;
        }
    }
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    tred2(n, &mut v, &mut d, &mut e);
    tql2(n, &mut v, &mut d, &mut e, vectors);
    let back = pow2(ex);
    d.iter_mut().for_each(|x| *x *= back);
    if !vectors {
        return (d, Vec::new());
    }
    // Column-major V -> row-major with the same meaning (columns are eigenvectors).
    let mut q = vec![0.0; n * n];
    for r in 0..n {
        for c in 0..n {
            q[r * n + c] = v[r + c * n];
        }
    }
    (d, q)
}

/// Householder reduction of the symmetric V to tridiagonal form (d: diagonal, e:
/// subdiagonal in e[1..]), accumulating the transformation in V (EISPACK tred2, as in
/// JAMA; V column-major).
fn tred2(n: usize, v: &mut [f64], d: &mut [f64], e: &mut [f64]) {
    let ix = |r: usize, c: usize| r + c * n;
    for j in 0..n {
        d[j] = v[ix(n - 1, j)];
    }
    for i in (1..n).rev() {
        let mut scale = 0.0;
        let mut h = 0.0;
        for dk in d.iter().take(i) {
            scale += dk.abs();
        }
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[ix(i - 1, j)];
                v[ix(i, j)] = 0.0;
                v[ix(j, i)] = 0.0;
            }
        } else {
            for dk in d.iter_mut().take(i) {
                *dk /= scale;
                h += *dk * *dk;
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for ej in e.iter_mut().take(i) {
                *ej = 0.0;
            }
            for j in 0..i {
                f = d[j];
                v[ix(j, i)] = f;
                g = e[j] + v[ix(j, j)] * f;
                for k in j + 1..i {
                    g += v[ix(k, j)] * d[k];
                    e[k] += v[ix(k, j)] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[ix(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[ix(i - 1, j)];
                v[ix(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    // Accumulate the transformations.
    for i in 0..n - 1 {
        v[ix(n - 1, i)] = v[ix(i, i)];
        v[ix(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[ix(k, i + 1)] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += v[ix(k, i + 1)] * v[ix(k, j)];
                }
                for k in 0..=i {
                    v[ix(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[ix(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[ix(n - 1, j)];
        v[ix(n - 1, j)] = 0.0;
    }
    v[ix(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
}

/// Implicit QL iterations on the tridiagonal (d, e), rotating V's columns when
/// `vectors`; sorts the eigenvalues ascending (EISPACK tql2, as in JAMA).
fn tql2(n: usize, v: &mut [f64], d: &mut [f64], e: &mut [f64], vectors: bool) {
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 {
            if e[m].abs() <= eps * tst1 {
                break;
            }
            m += 1;
        }
        if m > l {
            let mut iter = 0;
            loop {
                iter += 1;
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in d.iter_mut().take(n).skip(l + 2) {
                    *di -= h;
                }
                f += h;
                p = d[m];
                let mut c = 1.0;
                let mut c2 = c;
                let mut c3 = c;
                let el1 = e[l + 1];
                let mut s = 0.0;
                let mut s2 = 0.0;
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    if vectors {
                        // Columns i and i+1 of V are contiguous (column-major).
                        let (left, right) = v.split_at_mut((i + 1) * n);
                        let vi = &mut left[i * n..];
                        let vi1 = &mut right[..n];
                        for k in 0..n {
                            let hk = vi1[k];
                            vi1[k] = s * vi[k] + c * hk;
                            vi[k] = c * vi[k] - s * hk;
                        }
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                // NaN compares false: the loop ends.
                if !(e[l].abs() > eps * tst1) || iter >= 60 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    // Selection sort, ascending (n swaps at most).
    for i in 0..n.saturating_sub(1) {
        let mut k = i;
        let mut p = d[i];
        for (j, &dj) in d.iter().enumerate().skip(i + 1) {
            if dj < p {
                k = j;
                p = dj;
            }
        }
        if k != i {
            d[k] = d[i];
            d[i] = p;
            if vectors {
                for r in 0..n {
                    v.swap(r + i * n, r + k * n);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------- SVD

/// What an SVD computes besides the singular values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SvdVectors {
    None,
    /// U (m, k) and Vh (k, n), k = min(m, n).
    Reduced,
    /// U (m, m) and Vh (n, n).
    Full,
}

/// Singular values (descending) and, as asked, U (row-major, m rows) and Vh (row-major,
/// n columns) of an (m, n) matrix, by the preconditioned one-sided Jacobi method
/// (Drmač and Veselić): the taller orientation B (p, q) is factored B P = Q R with
/// column pivoting, then one-sided Jacobi rotations orthogonalize the columns of R^T,
/// R^T Z = W diag(s); so B = (Q Z) diag(s) (P W)^T. The pivoted QR makes the sweeps
/// converge fast, and the Jacobi method gives small singular values to high relative
/// accuracy when the columns of B are badly scaled.
pub(crate) fn svd(
    a: &[f64],
    m: usize,
    n: usize,
    want: SvdVectors,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let k = m.min(n);
    let (ucols, vrows) = match want {
        SvdVectors::None => (0, 0),
        SvdVectors::Reduced => (k, k),
        SvdVectors::Full => (m, n),
    };
    if !all_finite(a) {
        return (
            vec![f64::NAN; k],
            vec![f64::NAN; m * ucols],
            vec![f64::NAN; vrows * n],
        );
    }
    let transposed = m < n;
    let (p, q) = if transposed { (n, m) } else { (m, n) };
    let b = if transposed { tr(a, m, n) } else { a.to_vec() };
    let h = householder_pivoted(&b, p, q);
    // X = R^T by columns: column j of X is row j of R, contiguous in `work`.
    let mut x = h.work[..q * q].to_vec();
    let ex = scale_exponent(&x, false);
    let sc = pow2(-ex);
    x.iter_mut().for_each(|v| *v *= sc);
    let vectors = want != SvdVectors::None;
    let mut z = if vectors { eye(q) } else { Vec::new() };
    jacobi_sweeps(&mut x, q, q, if vectors { Some(&mut z) } else { None });
    let norms: Vec<f64> = (0..q).map(|c| norm2(&x[c * q..(c + 1) * q])).collect();
    let mut order: Vec<usize> = (0..q).collect();
    order.sort_by(|&i, &j| norms[j].total_cmp(&norms[i]));
    let back = pow2(ex);
    let sv: Vec<f64> = order.iter().map(|&c| norms[c] * back).collect();
    if !vectors {
        return (sv, Vec::new(), Vec::new());
    }
    // W (q, q) row-major: the normalized columns of X in singular-value order.
    let w = unit_columns(&x, q, &order, &norms);
    // V_B = P W: row perm[i] of V_B is row i of W.
    let mut vb = vec![0.0; q * q];
    for i in 0..q {
        let r = h.perm[i];
        vb[r * q..(r + 1) * q].copy_from_slice(&w[i * q..(i + 1) * q]);
    }
    // U_B = Q [Z 0; 0 I]: (p, need) with the columns of Z in the same order.
    let need = if want == SvdVectors::Full { p } else { q };
    let qm = h.q(need);
    let mut ub = vec![0.0; p * need];
    for r in 0..p {
        let qrow = &qm[r * need..(r + 1) * need];
        let urow = &mut ub[r * need..(r + 1) * need];
        for (j, &c) in order.iter().enumerate() {
            // (Q Z)[r, j] = sum_l Q[r, l] Z[l, c], Z column-major: Z[l, c] = z[c q + l]
            urow[j] = dot(&qrow[..q], &z[c * q..(c + 1) * q]);
        }
        urow[q..].copy_from_slice(&qrow[q..]);
    }
    if !transposed {
        // A = B: U = ub (m, need), Vh = vb^T (q rows, n = q columns).
        (sv, ub, tr(&vb, q, q))
    } else {
        // A = B^T = vb S ub^T: U = vb (m = q, q), Vh = ub^T (need rows, n = p columns).
        (sv, vb, tr(&ub, p, need))
    }
}

/// (n, n) identity, row-major (also column-major).
fn eye(n: usize) -> Vec<f64> {
    let mut e = vec![0.0; n * n];
    for i in 0..n {
        e[i * n + i] = 1.0;
    }
    e
}

/// The transpose of an (m, n) row-major matrix.
fn tr(a: &[f64], m: usize, n: usize) -> Vec<f64> {
    let mut t = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            t[j * m + i] = a[i * n + j];
        }
    }
    t
}

/// The columns `order[j]` of G (dim, q, column-major) normalized, as the columns of a
/// (dim, q) row-major matrix with orthonormal columns: each is re-orthogonalized
/// (twice, Gram-Schmidt) against those before it; one whose norm underflowed or that
/// was not orthogonal to the others (a null-space column of rounding noise, whose
/// singular value is at noise level) is replaced by a vector of the orthogonal
/// complement.
fn unit_columns(g: &[f64], dim: usize, order: &[usize], norms: &[f64]) -> Vec<f64> {
    let q = order.len();
    let mut accepted: Vec<(usize, Vec<f64>)> = Vec::with_capacity(q);
    for (j, &c) in order.iter().enumerate() {
        if !(norms[c] >= f64::MIN_POSITIVE) {
            continue;
        }
        let inv = 1.0 / norms[c];
        let mut u: Vec<f64> = g[c * dim..(c + 1) * dim].iter().map(|x| x * inv).collect();
        for _ in 0..2 {
            for (_, w) in &accepted {
                let d = dot(&u, w);
                axpy(-d, w, &mut u);
            }
        }
        let r = norm2(&u);
        if r >= 0.5 {
            u.iter_mut().for_each(|x| *x /= r);
            accepted.push((j, u));
        }
    }
    let mut out = vec![0.0; dim * q];
    let mut filled = vec![false; q];
    for (j, u) in &accepted {
        for r in 0..dim {
            out[r * q + j] = u[r];
        }
        filled[*j] = true;
    }
    let valid = accepted.len();
    if valid < q {
        // The complement: columns valid.. of the Q of the accepted columns' QR.
        let mut uv = vec![0.0; dim * valid];
        for (i, (_, u)) in accepted.iter().enumerate() {
            for r in 0..dim {
                uv[r * valid + i] = u[r];
            }
        }
        let qm = householder(&uv, dim, valid).q(q);
        let mut next = valid;
        for j in 0..q {
            if !filled[j] {
                for r in 0..dim {
                    out[r * q + j] = qm[r * q + next];
                }
                next += 1;
            }
        }
    }
    out
}

/// Rotates pairs of columns of G (p, q, column-major) until every pair is orthogonal to
/// working precision, applying the same rotations to V (q, q, column-major) if given.
fn jacobi_sweeps(g: &mut [f64], p: usize, q: usize, mut v: Option<&mut Vec<f64>>) {
    const MAX_SWEEPS: usize = 80;
    // Below this squared norm a column's dot products may underflow: its rotations
    // are computed from scaled copies.
    const TINY: f64 = 1e-200;
    let eps = f64::EPSILON;
    let mut sq = vec![0.0; q];
    let mut scratch = (vec![0.0; p], vec![0.0; p]);
    for _ in 0..MAX_SWEEPS {
        for (c, x) in sq.iter_mut().enumerate() {
            *x = dot(&g[c * p..(c + 1) * p], &g[c * p..(c + 1) * p]);
        }
        let mut rotated = false;
        for i in 0..q {
            for j in i + 1..q {
                let (left, right) = g.split_at_mut(j * p);
                let gi = &mut left[i * p..(i + 1) * p];
                let gj = &mut right[..p];
                let (alpha, beta) = (sq[i], sq[j]);
                // Norms and the cosine of the angle between the columns.
                let (ni, nj, cos, gamma) = if alpha > TINY && beta > TINY {
                    let gamma = dot(gi, gj);
                    let (ni, nj) = (alpha.sqrt(), beta.sqrt());
                    (ni, nj, gamma / (ni * nj), gamma)
                } else {
                    let (ni, nj) = (norm2(gi), norm2(gj));
                    if !(ni > 0.0 && nj > 0.0) {
                        continue;
                    }
                    // Exact power-of-two scalings of both columns to unit size.
                    let (fi, fj) = (
                        pow2(-ni.log2().round() as i32),
                        pow2(-nj.log2().round() as i32),
                    );
                    for (r, (x, y)) in gi.iter().zip(gj.iter()).enumerate() {
                        scratch.0[r] = x * fi;
                        scratch.1[r] = y * fj;
                    }
                    let c = dot(&scratch.0, &scratch.1) / ((ni * fi) * (nj * fj));
                    (ni, nj, c, f64::NAN)
                };
                if !(cos.abs() > eps) {
                    continue;
                }
                rotated = true;
                // zeta = (|gj|^2 - |gi|^2) / (2 gi.gj), from the ratio of the norms.
                let rho = nj / ni;
                let zeta = (rho - 1.0 / rho) / (2.0 * cos);
                let t = zeta.signum() / (zeta.abs() + zeta.hypot(1.0));
                let c = 1.0 / t.hypot(1.0);
                let s = c * t;
                for r in 0..p {
                    let (x, y) = (gi[r], gj[r]);
                    gi[r] = c * x - s * y;
                    gj[r] = s * x + c * y;
                }
                if gamma.is_nan() {
                    sq[i] = dot(gi, gi);
                    sq[j] = dot(gj, gj);
                } else {
                    // The rotation moves t * gamma of squared norm from column i to j.
                    sq[i] = (alpha - t * gamma).max(0.0);
                    sq[j] = beta + t * gamma;
                }
                if let Some(v) = v.as_deref_mut() {
                    let (left, right) = v.split_at_mut(j * q);
                    let vi = &mut left[i * q..(i + 1) * q];
                    let vj = &mut right[..q];
                    for r in 0..q {
                        let (x, y) = (vi[r], vj[r]);
                        vi[r] = c * x - s * y;
                        vj[r] = s * x + c * y;
                    }
                }
            }
        }
        if !rotated {
            break;
        }
    }
}

/// The cofactor matrix of A (the gradient of det A), computed from the SVD so that it is
/// right for singular matrices too: A = U S V^T gives
/// cof(A) = det(U) det(V) U diag(prod_{j != i} s_j) V^T.
pub(crate) fn cofactor(a: &[f64], n: usize) -> Vec<f64> {
    let (s, u, vh) = svd(a, n, n, SvdVectors::Full);
    let du = lu(&u, n).det().signum();
    let dv = lu(&vh, n).det().signum();
    let mut out = vec![0.0; n * n];
    let w: Vec<f64> = (0..n)
        .map(|i| {
            let p: f64 = s
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, x)| x)
                .product();
            p * du * dv
        })
        .collect();
    for r in 0..n {
        for c in 0..n {
            let mut acc = 0.0;
            for i in 0..n {
                acc += u[r * n + i] * w[i] * vh[i * n + c];
            }
            out[r * n + c] = acc;
        }
    }
    out
}
