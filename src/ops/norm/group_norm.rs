//! GroupNorm: x is (N, C, *); the C channels form `num_groups` groups of C/G channels,
//! and each (sample, group) is normalised over its C/G channels x spatial elements, a
//! contiguous row of the (contiguous) input. The affine parameters are per channel, so
//! within a row each channel's run of S spatial elements shares one scale and shift.

use super::{
    channel_input, record_norm, rstd_of, sum_map, sum_map2, CompositeView, FusedBackward, Kind,
    Real, Saved, Stats,
};
use crate::device::cpu::{for_each_chunk, map_chunks, SendPtr, GRAIN};
use crate::tensor::shape::fmt_shape;
use crate::tensor::Tensor;
use crate::{bail, Result};

/// `torch.nn.functional.group_norm`.
pub fn group_norm(
    x: &Tensor,
    num_groups: usize,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    let op = "group_norm";
    let (n, c, s, w, b) = channel_input(op, x, weight, bias, eps)?;
    if num_groups == 0 || c % num_groups != 0 {
        bail!(
            Value,
            "group_norm: expected the number of channels in input ({c}) to be divisible by num_groups ({num_groups}), but got input of shape {}",
            fmt_shape(x.shape())
        )
    }
    let g = num_groups;
    let geo = Geo { g, cg: c / g, s };
    let kind = Kind::Group(geo);
    let (out, st) = crate::autograd::untracked(|| -> Result<_> {
        let xc = x.contiguous()?;
        let be = crate::backend::for_tensors(op, &[&xc])?;
        let (out, mean, rstd) = be.norm_rows(&xc, kind, w.as_ref(), b.as_ref(), eps)?;
        Ok((out, Stats { xc, mean, rstd }))
    })?;

    let cv = CompositeView {
        view: vec![n, g, c / g, s],
        axes: vec![2, 3],
        w_view: vec![1, g, c / g, 1],
        param: vec![c],
        center: true,
        eps,
        fixed: None,
    };
    let params = [w.as_ref(), b.as_ref()];
    Ok(record_norm(
        out,
        "NativeGroupNormBackward",
        x,
        params,
        st,
        kind,
        cv,
    ))
}

/// Groups, channels per group, spatial size.
#[derive(Clone, Copy, Debug)]
pub struct Geo {
    pub g: usize,
    pub cg: usize,
    pub s: usize,
}

impl Geo {
    fn len(&self) -> usize {
        self.cg * self.s
    }
    fn rows_per_chunk(&self) -> usize {
        (GRAIN / self.len().max(1)).max(1)
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn forward<T: Real>(
    x: &[T],
    geo: Geo,
    w: Option<&[T]>,
    b: Option<&[T]>,
    eps: f64,
    y: &mut [T],
    mean: &mut [T],
    rstd: &mut [T],
) {
    let (len, s) = (geo.len(), geo.s);
    let (yp, mp, rp) = (
        SendPtr(y.as_mut_ptr()),
        SendPtr(mean.as_mut_ptr()),
        SendPtr(rstd.as_mut_ptr()),
    );
    for_each_chunk(mean.len(), geo.rows_per_chunk(), |r0, r1| {
        for r in r0..r1 {
            let xr = &x[r * len..(r + 1) * len];
            let m = sum_map(xr, |v| v) / len as f64;
            let mt = T::from_f64(m);
            let rs = rstd_of(sum_map(xr, |v| (v - mt) * (v - mt)) / len as f64, eps);
            // SAFETY: each row is written by one task only.
            let yr = unsafe {
                *mp.get().add(r) = mt;
                *rp.get().add(r) = T::from_f64(rs);
                yp.slice_mut(r * len, len)
            };
            let c0 = (r % geo.g) * geo.cg;
            for j in 0..geo.cg {
                let a = T::from_f64(rs * w.map_or(1.0, |w| w[c0 + j].to_f64()));
                let sh = b.map_or(T::zero(), |b| b[c0 + j]);
                for (y, &v) in yr[j * s..(j + 1) * s]
                    .iter_mut()
                    .zip(&xr[j * s..(j + 1) * s])
                {
                    *y = (v - mt) * a + sh;
                }
            }
        }
    });
}

/// Per row (n, g) and channel c of it: sdy_c = sum dy, sdyx_c = sum dy * (x - mean).
/// Then dw_c += sdyx_c * rstd, db_c += sdy_c (summed over n in order) and
/// dx = rstd * (dy * w_c - mean(dn) - xhat * mean(dn * xhat)) with dn = dy * w.
#[derive(Clone, Copy)]
pub(crate) struct Backward {
    pub geo: Geo,
    pub want_params: bool,
}

impl FusedBackward for Backward {
    fn backward<T: Real>(&self, sv: &Saved<'_, T>, dy: &[T], dx: &mut [T]) -> (Vec<T>, Vec<T>) {
        let Backward { geo, want_params } = *self;
        let Saved { x, w, mean, rstd } = *sv;
        let (len, s, cg) = (geo.len(), geo.s, geo.cg);
        let rows = mean.len();
        let dxp = SendPtr(dx.as_mut_ptr());
        // per (row, channel-in-group): (sdyx * rstd, sdy), in row order
        let parts = map_chunks(rows, geo.rows_per_chunk(), |r0, r1| {
            let mut p = Vec::with_capacity((r1 - r0) * cg);
            let mut sums = vec![(0f64, 0f64); cg];
            for r in r0..r1 {
                let (xr, gr) = (&x[r * len..(r + 1) * len], &dy[r * len..(r + 1) * len]);
                let (m, rs) = (mean[r], rstd[r]);
                let c0 = (r % geo.g) * cg;
                let (mut sdn, mut sdnx) = (0f64, 0f64);
                for j in 0..cg {
                    let (xs, gs) = (&xr[j * s..(j + 1) * s], &gr[j * s..(j + 1) * s]);
                    let sdy = sum_map(gs, |g| g);
                    let sdyx = sum_map2(gs, xs, |g, v| g * (v - m));
                    let wc = w.map_or(1.0, |w| w[c0 + j].to_f64());
                    sdn += wc * sdy;
                    sdnx += wc * sdyx * rs.to_f64();
                    sums[j] = (sdyx * rs.to_f64(), sdy);
                }
                let rsf = rs.to_f64();
                let bcoef = T::from_f64(-rsf * rsf * sdnx / len as f64);
                let c1 = T::from_f64(-rsf * sdn / len as f64);
                // SAFETY: each row is written by one task only.
                let dxr = unsafe { dxp.slice_mut(r * len, len) };
                for j in 0..cg {
                    let a = T::from_f64(rsf * w.map_or(1.0, |w| w[c0 + j].to_f64()));
                    let it = dxr[j * s..(j + 1) * s]
                        .iter_mut()
                        .zip(&gr[j * s..(j + 1) * s]);
                    for ((d, &g), &v) in it.zip(&xr[j * s..(j + 1) * s]) {
                        *d = a * g + bcoef * (v - m) + c1;
                    }
                }
                if want_params {
                    p.extend_from_slice(&sums);
                }
            }
            p
        });
        if !want_params {
            return (vec![], vec![]);
        }
        let c = geo.g * cg;
        let (mut dw, mut db) = (vec![0f64; c], vec![0f64; c]);
        // parts hold (row, channel-in-group) pairs in row order: add them up per channel.
        for (i, &(pw, pb)) in parts.iter().flatten().enumerate() {
            let ch = ((i / cg) % geo.g) * cg + i % cg;
            dw[ch] += pw;
            db[ch] += pb;
        }
        (
            dw.into_iter().map(T::from_f64).collect(),
            db.into_iter().map(T::from_f64).collect(),
        )
    }
}
