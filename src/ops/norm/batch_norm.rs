//! BatchNorm: x is (N, C, *) with S = prod(*) spatial elements; statistics per channel
//! over the M = N * S elements of that channel.
//!
//! Training normalises with the biased batch variance and, when running stats are
//! given, updates them in place (not recorded by autograd):
//!   running_mean = (1 - momentum) * running_mean + momentum * mean
//!   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
//! Eval normalises with the running statistics.
//!
//! Kernels. The statistics are one pass with shifted sums (shift = the channel's first
//! element, so E[(x-k)^2] - E[x-k]^2 does not cancel catastrophically), the output a
//! second pass. For (N, C) the reduction runs down the columns: blocks of rows produce
//! per-channel partial sums that are combined in block order. For S > 1 each task
//! owns whole channels. The backward is the same pair of passes (sums of dy and
//! dy * (x - mean), then dx).

use super::{
    channel_input, record_norm, slice, sum_map, sum_map2, BatchMode, CompositeView, FusedBackward,
    Kind, Real, Saved, Stats,
};
use crate::device::cpu::{for_each_chunk, map_chunks, SendPtr, GRAIN};
use crate::ops::simd::simd;
use crate::tensor::shape::fmt_shape;
use crate::tensor::{Element, Tensor};
use crate::{bail, dispatch, Result};

/// `torch.nn.functional.batch_norm`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm(
    x: &Tensor,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    training: bool,
    momentum: f64,
    eps: f64,
) -> Result<Tensor> {
    let op = "batch_norm";
    let (n, c, s, w, b) = channel_input(op, x, weight, bias, eps)?;
    let geo = Geo { n, c, s };
    check_running("running_mean", running_mean, c)?;
    check_running("running_var", running_var, c)?;
    if running_mean.is_some() != running_var.is_some() {
        bail!(
            Value,
            "batch_norm: running_mean and running_var must be given together (or both None)"
        )
    }
    if !training && running_mean.is_none() {
        bail!(Value, "batch_norm: running_mean and running_var must be given when training=False (eval mode normalises with them)")
    }
    let m_count = n * s;
    if training && m_count == 1 {
        bail!(
            Value,
            "Expected more than 1 value per channel when training, got input size {}. If this is the last, smaller batch of \
             a data loader, pass drop_last=True to the DataLoader (or use eval mode)",
            fmt_shape(x.shape())
        )
    }

    let running = running_mean.zip(running_var);
    for (what, t) in [("running_mean", running_mean), ("running_var", running_var)] {
        if let Some(t) = t {
            crate::backend::check_same_device(&format!("{op} ({what})"), x.device(), t.device())?;
        }
    }
    let (out, st) = crate::autograd::untracked(|| -> Result<_> {
        let xc = x.contiguous()?;
        let be = crate::backend::for_tensors(op, &[&xc])?;
        let mode = BatchMode {
            training,
            running,
            momentum,
        };
        let (out, mean, rstd) = be.batch_norm(&xc, geo, w.as_ref(), b.as_ref(), mode, eps)?;
        Ok((out, Stats { xc, mean, rstd }))
    })?;

    let kind = Kind::Batch { geo, training };
    // In eval mode the statistics are the running ones: constants of the graph.
    let fixed = if training {
        None
    } else {
        Some((
            st.mean.reshape_usize(&[1, c, 1])?,
            st.rstd.reshape_usize(&[1, c, 1])?,
        ))
    };
    let cv = CompositeView {
        view: vec![n, c, s],
        axes: vec![0, 2],
        w_view: vec![1, c, 1],
        param: vec![c],
        center: true,
        eps,
        fixed,
    };
    let params = [w.as_ref(), b.as_ref()];
    Ok(record_norm(
        out,
        "NativeBatchNormBackward",
        x,
        params,
        st,
        kind,
        cv,
    ))
}

fn check_running(what: &str, t: Option<&Tensor>, c: usize) -> Result<()> {
    let Some(t) = t else { return Ok(()) };
    if t.shape() != [c] {
        bail!(
            Shape,
            "batch_norm: {what} should have shape ({c},) but has shape {}",
            fmt_shape(t.shape())
        )
    }
    if !t.dtype().is_float() {
        bail!(
            DType,
            "batch_norm: {what} must be a floating-point tensor, got {}",
            t.dtype()
        )
    }
    Ok(())
}

/// The values of a 1-D CPU float tensor (any strides) as f64.
pub(crate) fn read_f64(t: &Tensor) -> Result<Vec<f64>> {
    let t = t.contiguous()?;
    Ok(dispatch!(t.dtype(), T => slice::<T>(&t).iter().map(|v| v.to_f64()).collect()))
}

/// running = (1 - momentum) * running + momentum * stat * scale, written in place
/// through the tensor's own (1-D, possibly strided) layout; bumps its version.
pub(crate) fn update_running(t: &Tensor, stat: &[f64], momentum: f64, scale: f64) -> Result<()> {
    let (off, stride) = (t.offset() as isize, t.strides()[0]);
    dispatch!(t.dtype(), T => {
        let p = t.storage().cpu_ptr::<T>();
        for (j, &v) in stat.iter().enumerate() {
            // SAFETY: j < shape[0], so the element is inside the tensor's storage span.
            unsafe {
                let e = p.offset(off + j as isize * stride);
                *e = T::from_f64((1.0 - momentum) * (*e).to_f64() + momentum * v * scale);
            }
        }
    });
    t.mark_modified();
    Ok(())
}

/// Batch size, channels, spatial size.
#[derive(Clone, Copy, Debug)]
pub struct Geo {
    pub n: usize,
    pub c: usize,
    pub s: usize,
}

/// Rows of a 2-D (N, C) input per task of the column sums: about 4 * GRAIN elements,
/// at most 128 rows so that the per-block partial sums (in T) stay short. Each block
/// returns two length-C partials that the caller adds up serially, so blocks much
/// smaller than this make that combine (and the partials' allocation) a visible part
/// of the time.
fn rows_per_block(c: usize) -> usize {
    (4 * GRAIN / c.max(1)).clamp(1, 128)
}

/// Per-channel sums: with `g` None, (sum (x - k), sum (x - k)^2); with `g`,
/// (sum g, sum g * (x - k)). Combined in a fixed order (f64).
pub(crate) fn channel_sums<T: Real>(
    x: &[T],
    g: Option<&[T]>,
    geo: Geo,
    k: &[T],
) -> (Vec<f64>, Vec<f64>) {
    let Geo { n, c, s } = geo;
    let (mut s1, mut s2) = (vec![0f64; c], vec![0f64; c]);
    if s == 1 {
        let level = simd();
        let parts = map_chunks(n, rows_per_block(c), |r0, r1| {
            with_simd!(level, column_sums(x, g, k, c, r0, r1))
        });
        for (a, q) in &parts {
            for j in 0..c {
                s1[j] += a[j].to_f64();
                s2[j] += q[j].to_f64();
            }
        }
    } else {
        let parts = map_chunks(c, (GRAIN / (n * s).max(1)).max(1), |c0, c1| {
            (c0..c1)
                .map(|ch| {
                    let kc = k[ch];
                    let (mut a, mut q) = (0f64, 0f64);
                    for i in 0..n {
                        let base = (i * c + ch) * s;
                        let xs = &x[base..base + s];
                        match g {
                            None => {
                                a += sum_map(xs, |v| v - kc);
                                q += sum_map(xs, |v| (v - kc) * (v - kc));
                            }
                            Some(g) => {
                                let gs = &g[base..base + s];
                                a += sum_map(gs, |v| v);
                                q += sum_map2(gs, xs, |gv, v| gv * (v - kc));
                            }
                        }
                    }
                    (a, q)
                })
                .collect::<Vec<_>>()
        });
        for (j, (a, q)) in parts.into_iter().flatten().enumerate() {
            s1[j] = a;
            s2[j] = q;
        }
    }
    (s1, s2)
}

/// Batch mean and biased variance per channel (M = n * s > 0).
pub(crate) fn batch_stats<T: Real>(x: &[T], geo: Geo) -> (Vec<f64>, Vec<f64>) {
    let Geo { n: _, c, s } = geo;
    let m = (geo.n * s) as f64;
    // shift: the first element of each channel (sample 0)
    let k: Vec<T> = (0..c).map(|j| x[j * s]).collect();
    let (a, q) = channel_sums(x, None, geo, &k);
    let mut mean = vec![0f64; c];
    let mut var = vec![0f64; c];
    for j in 0..c {
        let d = a[j] / m;
        mean[j] = k[j].to_f64() + d;
        var[j] = super::nonneg(q[j] / m - d * d);
    }
    (mean, var)
}

/// out = a[c] * g + b[c] * (x - m[c]) + sh[c]   (without g: b[c] * (x - m[c]) + sh[c]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn channel_apply<T: Real>(
    x: &[T],
    g: Option<&[T]>,
    geo: Geo,
    a: Option<&[T]>,
    b: &[T],
    m: &[T],
    sh: &[T],
    out: &mut [T],
) {
    let Geo { n, c, s } = geo;
    let op = SendPtr(out.as_mut_ptr());
    if s == 1 {
        let level = simd();
        for_each_chunk(n, (GRAIN / c.max(1)).max(1), |r0, r1| {
            with_simd!(level, apply_rows(x, g, c, a, b, m, sh, r0, r1, op))
        });
    } else {
        for_each_chunk(n * c, (GRAIN / s.max(1)).max(1), |r0, r1| {
            for r in r0..r1 {
                let ch = r % c;
                let xs = &x[r * s..(r + 1) * s];
                // SAFETY: each run is written by one task only.
                let os = unsafe { op.slice_mut(r * s, s) };
                let (bc, mc, shc) = (b[ch], m[ch], sh[ch]);
                match (g, a) {
                    (Some(g), Some(a)) => {
                        let ac = a[ch];
                        for ((o, &v), &gv) in os.iter_mut().zip(xs).zip(&g[r * s..(r + 1) * s]) {
                            *o = ac * gv + bc * (v - mc) + shc;
                        }
                    }
                    _ => {
                        for (o, &v) in os.iter_mut().zip(xs) {
                            *o = bc * (v - mc) + shc;
                        }
                    }
                }
            }
        });
    }
}

/// dw = sum dy * xhat, db = sum dy; dx = a * (dy - db/M - xhat * dw/M) in training
/// (a = w * rstd), dx = a * dy in eval (the statistics are constants there).
#[derive(Clone, Copy)]
pub(crate) struct Backward {
    pub geo: Geo,
    pub training: bool,
    pub want_params: bool,
}

impl FusedBackward for Backward {
    fn backward<T: Real>(&self, s: &Saved<'_, T>, dy: &[T], dx: &mut [T]) -> (Vec<T>, Vec<T>) {
        let Backward {
            geo,
            training,
            want_params,
        } = *self;
        let Saved { x, w, mean, rstd } = *s;
        let c = geo.c;
        let m = (geo.n * geo.s) as f64;
        let (sdy, sdyx) = channel_sums(x, Some(dy), geo, mean);
        let (mut a, mut bx, mut c1) = (vec![T::zero(); c], vec![T::zero(); c], vec![T::zero(); c]);
        for j in 0..c {
            let rs = rstd[j].to_f64();
            let aj = rs * w.map_or(1.0, |w| w[j].to_f64());
            a[j] = T::from_f64(aj);
            if training && m > 0.0 {
                bx[j] = T::from_f64(-aj * rs * rs * sdyx[j] / m);
                c1[j] = T::from_f64(-aj * sdy[j] / m);
            }
        }
        channel_apply(x, Some(dy), geo, Some(&a), &bx, mean, &c1, dx);
        if !want_params {
            return (vec![], vec![]);
        }
        (
            (0..c)
                .map(|j| T::from_f64(sdyx[j] * rstd[j].to_f64()))
                .collect(),
            sdy.into_iter().map(T::from_f64).collect(),
        )
    }
}

/// Partial column sums of rows r0..r1 of a 2-D input (see `channel_sums`).
#[inline(always)]
fn column_sums<T: Real>(
    x: &[T],
    g: Option<&[T]>,
    k: &[T],
    c: usize,
    r0: usize,
    r1: usize,
) -> (Vec<T>, Vec<T>) {
    let (mut a, mut q) = (vec![T::zero(); c], vec![T::zero(); c]);
    for r in r0..r1 {
        let xr = &x[r * c..(r + 1) * c];
        match g {
            None => {
                for (((a, q), &v), &k) in a.iter_mut().zip(q.iter_mut()).zip(xr).zip(k) {
                    let d = v - k;
                    *a += d;
                    *q += d * d;
                }
            }
            Some(g) => {
                let gr = &g[r * c..(r + 1) * c];
                for ((((a, q), &v), &k), &gv) in
                    a.iter_mut().zip(q.iter_mut()).zip(xr).zip(k).zip(gr)
                {
                    *a += gv;
                    *q += gv * (v - k);
                }
            }
        }
    }
    (a, q)
}

/// Rows r0..r1 of a 2-D input for `channel_apply`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn apply_rows<T: Real>(
    x: &[T],
    g: Option<&[T]>,
    c: usize,
    a: Option<&[T]>,
    b: &[T],
    m: &[T],
    sh: &[T],
    r0: usize,
    r1: usize,
    op: SendPtr<T>,
) {
    let (b, m, sh) = (&b[..c], &m[..c], &sh[..c]);
    for r in r0..r1 {
        let xr = &x[r * c..(r + 1) * c];
        // SAFETY: each row is written by one task only.
        let orow = unsafe { op.slice_mut(r * c, c) };
        match (g, a) {
            (Some(g), Some(a)) => {
                let (gr, a) = (&g[r * c..(r + 1) * c], &a[..c]);
                for j in 0..c {
                    orow[j] = a[j] * gr[j] + b[j] * (xr[j] - m[j]) + sh[j];
                }
            }
            _ => {
                for j in 0..c {
                    orow[j] = b[j] * (xr[j] - m[j]) + sh[j];
                }
            }
        }
    }
}
