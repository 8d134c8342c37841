//! CPU kernels of the fused cross-entropy: one pass per row computes the row's
//! log-sum-exp and loss (forward) or its gradient (backward). Rows run in parallel in
//! chunks whose size depends only on the problem, and all accumulation is in f64, so
//! results are bitwise the same for any thread count.

use crate::device::cpu::{for_each_chunk, map_chunks, SendPtr, GRAIN};
use crate::tensor::Element;

/// Targets of the rows: class indices, or probabilities laid out like the input.
pub(super) enum Targets<'a, T> {
    Index(&'a [i64]),
    Prob(&'a [T]),
}

/// The loss options a kernel needs, resolved to plain numbers.
pub(super) struct Params<'a> {
    pub c: usize,
    pub eps: f64,
    pub ignore_index: i64,
    /// Per-class weights (None: all ones).
    pub weight: Option<&'a [f64]>,
}

impl Params<'_> {
    #[inline]
    fn w(&self, k: usize) -> f64 {
        self.weight.map_or(1.0, |w| w[k])
    }
    fn w_total(&self) -> f64 {
        self.weight.map_or(self.c as f64, |w| w.iter().sum())
    }
}

fn rows_per_task(c: usize) -> usize {
    (GRAIN / c.max(1)).max(1)
}

fn log_sum_exp<T: Element>(row: &[T]) -> f64 {
    // The max skips NaN (f64::max). As in PyTorch's log_softmax, a +inf logit makes
    // x - max NaN there and an all -inf row makes it NaN everywhere, so the log-sum-exp
    // and every loss and gradient of that row are NaN; a NaN logit propagates through the
    // sum. A -inf logit next to finite ones is an ordinary masked class.
    let mut mx = f64::NEG_INFINITY;
    for &v in row {
        mx = mx.max(v.to_f64());
    }
    let mut s = 0.0;
    for &v in row {
        s += (v.to_f64() - mx).exp();
    }
    mx + s.ln()
}

/// Per row: (loss, log-sum-exp, the row's weight in a 'mean' over class indices).
pub(super) fn forward<T: Element>(
    x: &[T],
    t: &Targets<'_, T>,
    p: &Params<'_>,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let c = p.c;
    let m = if c == 0 { 0 } else { x.len() / c };
    let parts = map_chunks(m, rows_per_task(c), |s, e| {
        let mut out = Vec::with_capacity((e - s) * 3);
        for r in s..e {
            let row = &x[r * c..(r + 1) * c];
            let lse = log_sum_exp(row);
            let (loss, rw) = match t {
                Targets::Index(y) => {
                    let y = y[r];
                    if y == p.ignore_index {
                        (0.0, 0.0)
                    } else {
                        let y = y as usize;
                        let wy = p.w(y);
                        let mut loss = (1.0 - p.eps) * wy * (lse - row[y].to_f64());
                        if p.eps > 0.0 {
                            let mut smooth = 0.0;
                            for (k, &v) in row.iter().enumerate() {
                                smooth += p.w(k) * (lse - v.to_f64());
                            }
                            loss += p.eps / c as f64 * smooth;
                        }
                        (loss, wy)
                    }
                }
                Targets::Prob(tp) => {
                    let tr = &tp[r * c..(r + 1) * c];
                    let mut loss = 0.0;
                    for k in 0..c {
                        let tk = (1.0 - p.eps) * tr[k].to_f64() + p.eps / c as f64;
                        loss += p.w(k) * tk * (lse - row[k].to_f64());
                    }
                    (loss, 1.0)
                }
            };
            out.extend_from_slice(&[loss, lse, rw]);
        }
        out
    });
    let mut loss = Vec::with_capacity(m);
    let mut lse = Vec::with_capacity(m);
    let mut rw = Vec::with_capacity(m);
    for part in parts {
        for v in part.chunks_exact(3) {
            loss.push(v[0]);
            lse.push(v[1]);
            rw.push(v[2]);
        }
    }
    (loss, lse, rw)
}

/// d loss / d x: per row, `scale * (softmax * a - T)` where `T` is the weighted,
/// smoothed target row and `a` its sum. `scale` has one entry per row, or one for all.
pub(super) fn backward<T: Element>(
    x: &[T],
    t: &Targets<'_, T>,
    p: &Params<'_>,
    lse: &[f64],
    scale: &[f64],
) -> Vec<T> {
    let c = p.c;
    let m = lse.len();
    let mut grad = vec![T::zero(); m * c];
    let dst = SendPtr(grad.as_mut_ptr());
    let w_total = p.w_total();
    let smooth = p.eps / c.max(1) as f64;
    for_each_chunk(m, rows_per_task(c), |s, e| {
        for r in s..e {
            let row = &x[r * c..(r + 1) * c];
            // SAFETY: each row is written by exactly one task.
            let g = unsafe { dst.slice_mut(r * c, c) };
            let sc = if scale.len() == 1 { scale[0] } else { scale[r] };
            match t {
                Targets::Index(y) => {
                    let y = y[r];
                    if y == p.ignore_index {
                        continue; // already zero
                    }
                    let y = y as usize;
                    let hard = (1.0 - p.eps) * p.w(y);
                    let a = hard + smooth * w_total;
                    for k in 0..c {
                        let pk = (row[k].to_f64() - lse[r]).exp();
                        let tk = smooth * p.w(k) + if k == y { hard } else { 0.0 };
                        g[k] = T::from_f64(sc * (pk * a - tk));
                    }
                }
                Targets::Prob(tp) => {
                    let tr = &tp[r * c..(r + 1) * c];
                    let tw = |k: usize| p.w(k) * ((1.0 - p.eps) * tr[k].to_f64() + smooth);
                    let a: f64 = (0..c).map(tw).sum();
                    for k in 0..c {
                        let pk = (row[k].to_f64() - lse[r]).exp();
                        g[k] = T::from_f64(sc * (pk * a - tw(k)));
                    }
                }
            }
        }
    });
    grad
}
