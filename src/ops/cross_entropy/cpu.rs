//! CPU kernels of the fused cross-entropy. Per row, the forward takes the row's max and
//! makes one fused pass (exp(x - max) and the loss's sums, rows.rs) and the backward one
//! pass writing the gradient; float32 rows compute in float32 lanes with the crate's
//! vectorised exp, as softmax does, and only the row's log calls the C library. Rows
//! run in parallel in chunks whose size depends only on the problem, so results are
//! bitwise the same for any thread count.

use super::rows::{backward_row, forward_sums, Float, Row, Smooth};
use crate::device::cpu::{for_each_chunk, map_chunks, SendPtr, GRAIN};
use crate::ops::copy::uninit_cpu;
use crate::ops::lanes::row_max;
use crate::ops::simd::{simd, Simd};
use crate::tensor::Tensor;
use crate::Result;

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

/// What the backward needs of a row: its max, s = sum exp(x - max), and a, the sum of
/// its weighted, smoothed target (the softmax's factor in the gradient).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct RowStat {
    mx: f64,
    s: f64,
    a: f64,
}

/// The forward's per-row results.
pub(super) struct Forward {
    pub loss: Vec<f64>,
    /// The row's weight in a 'mean' over class indices.
    pub rw: Vec<f64>,
    pub stats: Vec<RowStat>,
}

/// What the row loops share: the options in T and the class weights (empty: none).
struct Shared<'a, T> {
    p: &'a Params<'a>,
    w: Vec<T>,
    sm: Smooth<T>,
    smooth: f64,
    w_total: f64,
}

impl<'a, T: Float> Shared<'a, T> {
    fn new(p: &'a Params<'a>) -> Self {
        let smooth = p.eps / p.c.max(1) as f64;
        Shared {
            p,
            w: p.weight
                .map_or(vec![], |w| w.iter().map(|&v| T::from_f64(v)).collect()),
            sm: Smooth {
                om: T::from_f64(1.0 - p.eps),
                ec: T::from_f64(smooth),
            },
            smooth,
            w_total: p.w_total(),
        }
    }

    /// Row r's operands (weights and targets given as x where absent).
    #[inline(always)]
    fn row<'b>(&'b self, x: &'b [T], t: &'b Targets<'_, T>, r: usize) -> Row<'b, T> {
        let c = self.p.c;
        let x = &x[r * c..(r + 1) * c];
        let w = if self.w.is_empty() { x } else { &self.w };
        match t {
            Targets::Index(_) => Row { x, w, t: x },
            Targets::Prob(tp) => Row {
                x,
                w,
                t: &tp[r * c..(r + 1) * c],
            },
        }
    }
}

fn rows_per_task(c: usize) -> usize {
    (GRAIN / c.max(1)).max(1)
}

/// Runs `$f::<T, W, P, S>($args)` under `with_simd!`, the const flags picked from the
/// weights (W), the targets (P: probabilities) and the smoothing (S: eps > 0 or P).
macro_rules! variants {
    ($level:expr, $sh:expr, $t:expr, $f:ident::<$T:ty>($($arg:expr),*)) => {
        match ($t, $sh.w.is_empty(), $sh.p.eps > 0.0) {
            (Targets::Prob(_), true, _) => with_simd!($level, $f::<$T, false, true, true>($($arg),*)),
            (Targets::Prob(_), false, _) => with_simd!($level, $f::<$T, true, true, true>($($arg),*)),
            (Targets::Index(_), true, false) => with_simd!($level, $f::<$T, false, false, false>($($arg),*)),
            (Targets::Index(_), true, true) => with_simd!($level, $f::<$T, false, false, true>($($arg),*)),
            (Targets::Index(_), false, false) => with_simd!($level, $f::<$T, true, false, false>($($arg),*)),
            (Targets::Index(_), false, true) => with_simd!($level, $f::<$T, true, false, true>($($arg),*)),
        }
    };
}

/// Per row: the loss, the row's weight in a 'mean', and what the backward needs.
pub(super) fn forward<T: Float>(x: &[T], t: &Targets<'_, T>, p: &Params<'_>) -> Forward {
    let c = p.c;
    let m = if c == 0 { 0 } else { x.len() / c };
    let sh = Shared::<T>::new(p);
    let level = simd();
    let parts = map_chunks(m, rows_per_task(c), |s, e| {
        let mut out = Vec::with_capacity(e - s);
        variants!(level, sh, t, forward_rows::<T>(x, t, &sh, s..e, &mut out));
        out
    });
    let mut f = Forward {
        loss: Vec::with_capacity(m),
        rw: Vec::with_capacity(m),
        stats: Vec::with_capacity(m),
    };
    for (loss, rw, stat) in parts.into_iter().flatten() {
        f.loss.push(loss);
        f.rw.push(rw);
        f.stats.push(stat);
    }
    f
}

#[inline(always)]
fn forward_rows<T: Float, const W: bool, const P: bool, const S: bool>(
    x: &[T],
    t: &Targets<'_, T>,
    sh: &Shared<'_, T>,
    rows: std::ops::Range<usize>,
    out: &mut Vec<(f64, f64, RowStat)>,
) {
    let p = sh.p;
    for r in rows {
        // As PyTorch's log_softmax: the max skips NaN, so a +inf logit makes x - max NaN
        // there and an all -inf row makes it NaN everywhere; the sum s, and with it every
        // loss and gradient of the row, is then NaN, as with a NaN logit. A -inf logit
        // next to finite ones is an ordinary masked class (its exp is 0).
        let y = match t {
            Targets::Index(ys) if ys[r] == p.ignore_index => {
                out.push((0.0, 0.0, RowStat::default()));
                continue;
            }
            Targets::Index(ys) => ys[r] as usize,
            Targets::Prob(_) => 0,
        };
        let row = sh.row(x, t, r);
        let mx = row_max(row.x);
        let [s, ud, u] = forward_sums::<T, W, P, S>(row, mx, sh.sm);
        let (mxf, ls) = (mx.to_f64(), s.ln());
        let (loss, rw, a) = if P {
            (ls * u - ud, 1.0, u)
        } else {
            let wy = p.w(y);
            let hard = (1.0 - p.eps) * wy;
            let mut loss = hard * (ls - (row.x[y].to_f64() - mxf));
            if S {
                loss += sh.smooth * (sh.w_total * ls - ud);
            }
            (loss, wy, hard + sh.smooth * sh.w_total)
        };
        out.push((loss, rw, RowStat { mx: mxf, s, a }));
    }
}

/// d loss / d x, an (M, C) tensor: per row, `scale * (softmax * a - T)` where `T` is the
/// weighted, smoothed target row and `a` its sum. `scale` has one entry per row, or one
/// for all.
pub(super) fn backward<T: Float>(
    x: &[T],
    t: &Targets<'_, T>,
    p: &Params<'_>,
    stats: &[RowStat],
    scale: &[f64],
) -> Result<Tensor> {
    let c = p.c;
    let m = stats.len();
    // Written once by the rows below (no zero-fill, no copy into a tensor afterwards).
    let grad = uninit_cpu(T::DTYPE, &[m, c])?;
    let dst = SendPtr(grad.storage().cpu_ptr::<T>());
    let sh = Shared::<T>::new(p);
    let level: Simd = simd();
    for_each_chunk(m, rows_per_task(c), |s, e| {
        // SAFETY: `grad` is a fresh contiguous CPU tensor of m * c elements of T and s..e
        // is this task's range of rows, which no other task touches, so the slice is in
        // bounds and not aliased; the rows write every element of it before it is read.
        let g = unsafe { dst.slice_mut(s * c, (e - s) * c) };
        variants!(
            level,
            sh,
            t,
            backward_rows::<T>(x, t, &sh, stats, scale, s, g)
        );
    });
    Ok(grad)
}

#[inline(always)]
fn backward_rows<T: Float, const W: bool, const P: bool, const S: bool>(
    x: &[T],
    t: &Targets<'_, T>,
    sh: &Shared<'_, T>,
    stats: &[RowStat],
    scale: &[f64],
    first: usize,
    g: &mut [T],
) {
    let p = sh.p;
    let c = p.c;
    for (i, g) in g.chunks_exact_mut(c).enumerate() {
        let r = first + i;
        let y = match t {
            Targets::Index(ys) if ys[r] == p.ignore_index => {
                g.fill(T::zero());
                continue;
            }
            Targets::Index(ys) => ys[r] as usize,
            Targets::Prob(_) => 0,
        };
        let st = stats[r];
        let sc = if scale.len() == 1 { scale[0] } else { scale[r] };
        // softmax_k * a * sc = exp(d_k) * c1; the target's part is c2 * u_k.
        let c1 = sc * st.a / st.s;
        let c2 = if P { sc } else { sc * sh.smooth };
        let (row, mx) = (sh.row(x, t, r), T::from_f64(st.mx));
        let cs = [T::from_f64(c1), T::from_f64(c2)];
        backward_row::<T, W, P>(row, g, mx, cs, sh.sm);
        if !P {
            // The target class also has the hard part of its target.
            let e = T::exp_lane(row.x[y] - mx).to_f64();
            let ty = sh.smooth * p.w(y) + (1.0 - p.eps) * p.w(y);
            g[y] = T::from_f64(e * c1 - sc * ty);
        }
    }
}
