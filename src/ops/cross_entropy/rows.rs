//! The per-row loops of the fused cross-entropy, written in fixed-size lanes so that
//! LLVM vectorises them (cpu.rs runs them under `with_simd!`). Every build does the
//! same arithmetic in the same order, so float32 results are bitwise the same under
//! SSE2, AVX2 and AVX-512.
//!
//! With d_k = x_k - max and the row's sum s = sum_k exp(d_k), -log p_k = ln s - d_k, so
//! a loss sum_k u_k (-log p_k) is `ln s * sum_k u_k - sum_k u_k d_k`: the forward needs
//! exp(d_k) and those two sums, accumulated in one pass as `lanes::sum_map` does (lanes
//! of T per block of `BLOCK`, f64 across blocks). The u_k: the class weights (or ones)
//! for the smoothing term of class-index targets, w_k t'_k for probability targets.
//! All d_k <= 0, so with u_k >= 0 neither sum cancels.

use crate::ops::elementwise::math::ExpLane;
use crate::ops::lanes::{fold, Real, BLOCK, LANES};

/// The float types the loops run on (f32: vectorised exp; f64: the library's).
pub(super) trait Float: Real + ExpLane {}
impl<T: Real + ExpLane> Float for T {}

/// One row's operands, each C long: logits, class weights and target probabilities. An
/// operand the loop's variant does not read (no weights, class-index targets) is given
/// as `x`, so that the loops can zip all three.
#[derive(Clone, Copy)]
pub(super) struct Row<'a, T> {
    pub x: &'a [T],
    pub w: &'a [T],
    pub t: &'a [T],
}

/// The smoothed target t' = om * t + ec (om = 1 - eps, ec = eps / C).
#[derive(Clone, Copy)]
pub(super) struct Smooth<T> {
    pub om: T,
    pub ec: T,
}

/// u_k of a class: w_k t'_k with probability targets (P), else w_k; unweighted (!W): 1.
#[inline(always)]
fn factor<T: Float, const W: bool, const P: bool>(w: T, t: T, sm: Smooth<T>) -> T {
    match (W, P) {
        (false, false) => T::one(),
        (true, false) => w,
        (false, true) => sm.om * t + sm.ec,
        (true, true) => w * (sm.om * t + sm.ec),
    }
}

/// x - mx in lanes (a loop: array::map does not inline into `with_simd!`'s builds).
#[inline(always)]
fn shifted<T: Float>(x: &[T; LANES], mx: T) -> [T; LANES] {
    let mut d = *x;
    for v in &mut d {
        *v = *v - mx;
    }
    d
}

/// [s, sum_k u_k d_k, sum_k u_k] of a row whose max is `mx`, in one pass: the second only
/// when S (smoothing or probability targets), the third only when P (else 0).
#[inline(always)]
pub(super) fn forward_sums<T: Float, const W: bool, const P: bool, const S: bool>(
    row: Row<'_, T>,
    mx: T,
    sm: Smooth<T>,
) -> [f64; 3] {
    let mut tot = [0f64; 3];
    let blocks = row.x.chunks(BLOCK).zip(row.w.chunks(BLOCK));
    for ((bx, bw), bt) in blocks.zip(row.t.chunks(BLOCK)) {
        let mut e = [T::zero(); LANES];
        let mut ud = [T::zero(); LANES];
        let mut u = [T::zero(); LANES];
        // Lane k takes d = x - mx, its exp ex and the class's w and t.
        let mut add = |k: usize, d: T, ex: T, w: T, t: T| {
            e[k] += ex;
            if S {
                let f = factor::<T, W, P>(w, t, sm);
                ud[k] += if W || P { f * d } else { d };
                if P {
                    u[k] += f;
                }
            }
        };
        let (mut ix, mut iw) = (bx.chunks_exact(LANES), bw.chunks_exact(LANES));
        let mut it = bt.chunks_exact(LANES);
        for ((cx, cw), ct) in (&mut ix).zip(&mut iw).zip(&mut it) {
            let cx: &[T; LANES] = cx.try_into().unwrap();
            let cw: &[T; LANES] = cw.try_into().unwrap();
            let ct: &[T; LANES] = ct.try_into().unwrap();
            let d = shifted(cx, mx);
            let ex = T::exp_lanes(d);
            for k in 0..LANES {
                add(k, d[k], ex[k], cw[k], ct[k]);
            }
        }
        let rest = ix.remainder().iter().zip(iw.remainder());
        for (k, ((&x, &w), &t)) in rest.zip(it.remainder()).enumerate() {
            let d = x - mx;
            add(k, d, T::exp_lane(d), w, t);
        }
        tot[0] += fold(e);
        if S {
            tot[1] += fold(ud);
        }
        if P {
            tot[2] += fold(u);
        }
    }
    tot
}

/// One row of the gradient: g_k = exp(d_k) * c1 - c2 * u_k.
#[inline(always)]
pub(super) fn backward_row<T: Float, const W: bool, const P: bool>(
    row: Row<'_, T>,
    g: &mut [T],
    mx: T,
    [c1, c2]: [T; 2],
    sm: Smooth<T>,
) {
    let grad = |ex: T, w: T, t: T| {
        if W || P {
            ex * c1 - c2 * factor::<T, W, P>(w, t, sm)
        } else {
            ex * c1 - c2
        }
    };
    let (mut ig, mut ix) = (g.chunks_exact_mut(LANES), row.x.chunks_exact(LANES));
    let (mut iw, mut it) = (row.w.chunks_exact(LANES), row.t.chunks_exact(LANES));
    for (((cg, cx), cw), ct) in (&mut ig).zip(&mut ix).zip(&mut iw).zip(&mut it) {
        let cx: &[T; LANES] = cx.try_into().unwrap();
        let cw: &[T; LANES] = cw.try_into().unwrap();
        let ct: &[T; LANES] = ct.try_into().unwrap();
        let ex = T::exp_lanes(shifted(cx, mx));
        for k in 0..LANES {
            cg[k] = grad(ex[k], cw[k], ct[k]);
        }
    }
    let rest = ix
        .remainder()
        .iter()
        .zip(iw.remainder())
        .zip(it.remainder());
    for (g, ((&x, &w), &t)) in ig.into_remainder().iter_mut().zip(rest) {
        *g = grad(T::exp_lane(x - mx), w, t);
    }
}
