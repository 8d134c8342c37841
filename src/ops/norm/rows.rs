//! Row kernels for LayerNorm and RMSNorm: each row of `len` contiguous elements gets
//! its own statistics, and the affine parameters apply per element of the row.
//! Rows are split into chunks of about `GRAIN` elements; a row of a few thousand floats
//! stays in L1 between the statistics pass and the output pass.

use super::{rstd_of, sum_map, sum_map2, Real};
use crate::device::cpu::{for_each_chunk, map_chunks, SendPtr, GRAIN};

/// Rows per parallel task.
fn rows_per_chunk(len: usize) -> usize {
    (GRAIN / len.max(1)).max(1)
}

/// Forward: y, and per-row mean and rstd (mean = 0 when `!center`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward<T: Real>(
    x: &[T],
    len: usize,
    w: Option<&[T]>,
    b: Option<&[T]>,
    center: bool,
    eps: f64,
    y: &mut [T],
    mean: &mut [T],
    rstd: &mut [T],
) {
    let rows = mean.len();
    let (yp, mp, rp) = (
        SendPtr(y.as_mut_ptr()),
        SendPtr(mean.as_mut_ptr()),
        SendPtr(rstd.as_mut_ptr()),
    );
    for_each_chunk(rows, rows_per_chunk(len), |s, e| {
        for r in s..e {
            let xr = &x[r * len..(r + 1) * len];
            // SAFETY: each row is written by one task only.
            let yr = unsafe { yp.slice_mut(r * len, len) };
            let n = len as f64;
            let m = if center { sum_map(xr, |v| v) / n } else { 0.0 };
            let mt = T::from_f64(m);
            let var = sum_map(xr, |v| (v - mt) * (v - mt)) / n;
            let rs = rstd_of(var, eps);
            unsafe {
                *mp.get().add(r) = mt;
                *rp.get().add(r) = T::from_f64(rs);
            }
            let rs = T::from_f64(rs);
            match (w, b) {
                (Some(w), Some(b)) => {
                    for (((y, &v), &w), &b) in yr.iter_mut().zip(xr).zip(w).zip(b) {
                        *y = (v - mt) * rs * w + b;
                    }
                }
                (Some(w), None) => {
                    for ((y, &v), &w) in yr.iter_mut().zip(xr).zip(w) {
                        *y = (v - mt) * rs * w;
                    }
                }
                (None, Some(b)) => {
                    for ((y, &v), &b) in yr.iter_mut().zip(xr).zip(b) {
                        *y = (v - mt) * rs + b;
                    }
                }
                (None, None) => {
                    for (y, &v) in yr.iter_mut().zip(xr) {
                        *y = (v - mt) * rs;
                    }
                }
            }
        }
    });
}

/// Backward (llm.c's layernorm_backward, per row, two passes over the row in cache):
/// with dn = dy * w and xhat = (x - mean) * rstd,
///   dx = rstd * (dn - mean(dn) - xhat * mean(dn * xhat))   (RMSNorm: no mean(dn) term)
///   dw = sum_rows dy * xhat,  db = sum_rows dy.
/// dw/db are summed per chunk of rows, then across chunks in chunk order (f64).
/// Returns (dw, db) when `want_params` (length `len` each).
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<T: Real>(
    x: &[T],
    dy: &[T],
    len: usize,
    w: Option<&[T]>,
    mean: &[T],
    rstd: &[T],
    center: bool,
    want_params: bool,
    dx: &mut [T],
) -> (Vec<T>, Vec<T>) {
    let rows = mean.len();
    let dxp = SendPtr(dx.as_mut_ptr());
    let n = len as f64;
    let parts = map_chunks(rows, rows_per_chunk(len), |s, e| {
        let (mut dw, mut db) = if want_params {
            (vec![T::zero(); len], vec![T::zero(); len])
        } else {
            (vec![], vec![])
        };
        for r in s..e {
            let (xr, gr) = (&x[r * len..(r + 1) * len], &dy[r * len..(r + 1) * len]);
            let (m, rs) = (mean[r], rstd[r]);
            // sums of dn and dn * xhat over the row
            let (sdn, sdnx) = match w {
                Some(w) => (sum_map2(gr, w, |g, w| g * w), row_dot3(gr, w, xr, m, rs)),
                None => (
                    sum_map(gr, |g| g),
                    sum_map2(gr, xr, |g, v| g * ((v - m) * rs)),
                ),
            };
            let mdn = if center {
                T::from_f64(sdn / n)
            } else {
                T::zero()
            };
            let mdnx = T::from_f64(sdnx / n);
            // SAFETY: each row is written by one task only.
            let dxr = unsafe { dxp.slice_mut(r * len, len) };
            match w {
                Some(w) => {
                    for (((d, &g), &w), &v) in dxr.iter_mut().zip(gr).zip(w).zip(xr) {
                        *d = (g * w - mdn - (v - m) * rs * mdnx) * rs;
                    }
                }
                None => {
                    for ((d, &g), &v) in dxr.iter_mut().zip(gr).zip(xr) {
                        *d = (g - mdn - (v - m) * rs * mdnx) * rs;
                    }
                }
            }
            if want_params {
                for (((dw, db), &g), &v) in dw.iter_mut().zip(db.iter_mut()).zip(gr).zip(xr) {
                    *dw += g * ((v - m) * rs);
                    *db += g;
                }
            }
        }
        (dw, db)
    });
    if !want_params {
        return (vec![], vec![]);
    }
    let (mut dw, mut db) = (vec![0f64; len], vec![0f64; len]);
    for (pw, pb) in &parts {
        for j in 0..len {
            dw[j] += pw[j].to_f64();
            db[j] += pb[j].to_f64();
        }
    }
    (
        dw.into_iter().map(T::from_f64).collect(),
        db.into_iter().map(T::from_f64).collect(),
    )
}

/// sum_j g_j * w_j * (x_j - m) * rs over a row (blocks as in `sum_map`).
#[inline(always)]
fn row_dot3<T: Real>(g: &[T], w: &[T], x: &[T], m: T, rs: T) -> f64 {
    let mut total = 0f64;
    for ((bg, bw), bx) in g.chunks(512).zip(w.chunks(512)).zip(x.chunks(512)) {
        let mut acc = [T::zero(); 8];
        let (mut ig, mut iw, mut ix) = (bg.chunks_exact(8), bw.chunks_exact(8), bx.chunks_exact(8));
        for ((cg, cw), cx) in (&mut ig).zip(&mut iw).zip(&mut ix) {
            for k in 0..8 {
                acc[k] += cg[k] * cw[k] * ((cx[k] - m) * rs);
            }
        }
        let rem = ig
            .remainder()
            .iter()
            .zip(iw.remainder())
            .zip(ix.remainder());
        for (k, ((&g, &w), &v)) in rem.enumerate() {
            acc[k] += g * w * ((v - m) * rs);
        }
        let s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        total += s.to_f64();
    }
    total
}
