//! The CPU side of the norms: the fused kernels of rows.rs, group_norm.rs and
//! batch_norm.rs behind `NormKernels`.

use super::batch_norm::{self, batch_stats, channel_apply, read_f64, update_running};
use super::{
    group_norm, rows, rstd_of, slice, slice_mut, BatchMode, FusedBackward, Grads, Kind,
    NormKernels, Real, Saved, Stats,
};
use crate::backend::Cpu;
use crate::ops::copy::uninit_cpu;
use crate::tensor::shape::numel;
use crate::tensor::{Element, Tensor};
use crate::{bail, dispatch_float, Result};

impl NormKernels for Cpu {
    fn norm_rows(
        &self,
        xc: &Tensor,
        kind: Kind,
        w: Option<&Tensor>,
        b: Option<&Tensor>,
        eps: f64,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let rows = match kind {
            Kind::Rows { rows, .. } => rows,
            Kind::Group(geo) => xc.shape()[0] * geo.g,
            Kind::Batch { .. } => bail!(Runtime, "norm_rows: BatchNorm has no row kernel"),
        };
        let out = uninit_cpu(xc.dtype(), xc.shape())?;
        let mean = uninit_cpu(xc.dtype(), &[rows])?;
        let rstd = uninit_cpu(xc.dtype(), &[rows])?;
        dispatch_float!(xc.dtype(), "norm", T => match kind {
            Kind::Rows { len, center, .. } => {
                let p = rows::Fwd { x: slice(xc), len, w: w.map(slice::<T>), b: b.map(slice::<T>), center, eps };
                rows::forward::<T>(&p, slice_mut(&out), slice_mut(&mean), slice_mut(&rstd))
            }
            Kind::Group(geo) => group_norm::forward::<T>(
                slice(xc), geo, w.map(slice::<T>), b.map(slice::<T>), eps,
                slice_mut(&out), slice_mut(&mean), slice_mut(&rstd),
            ),
            Kind::Batch { .. } => unreachable!("refused above"),
        });
        Ok((out, mean, rstd))
    }

    fn batch_norm(
        &self,
        xc: &Tensor,
        geo: batch_norm::Geo,
        w: Option<&Tensor>,
        b: Option<&Tensor>,
        mode: BatchMode<'_>,
        eps: f64,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let (op, c, m_count) = ("batch_norm", geo.c, geo.n * geo.s);
        let out = uninit_cpu(xc.dtype(), xc.shape())?;
        let (mean_f, var_f) = if mode.training {
            if m_count == 0 {
                (vec![f64::NAN; c], vec![f64::NAN; c])
            } else {
                let (m, v) = dispatch_float!(xc.dtype(), op, T => batch_stats::<T>(slice(xc), geo));
                if let Some((rm, rv)) = mode.running {
                    let unbias = m_count as f64 / (m_count - 1) as f64;
                    update_running(rm, &m, mode.momentum, 1.0)?;
                    update_running(rv, &v, mode.momentum, unbias)?;
                }
                (m, v)
            }
        } else {
            let Some((rm, rv)) = mode.running else {
                bail!(Value, "batch_norm: eval mode needs the running statistics")
            };
            (read_f64(rm)?, read_f64(rv)?)
        };
        let rs: Vec<f64> = var_f.iter().map(|&v| rstd_of(v, eps)).collect();
        let (mean, rstd) = dispatch_float!(xc.dtype(), op, T => {
            let mt: Vec<T> = mean_f.iter().map(|&v| T::from_f64(v)).collect();
            let a: Vec<T> = (0..c).map(|j| T::from_f64(rs[j] * w.map_or(1.0, |w| slice::<T>(w)[j].to_f64()))).collect();
            let sh: Vec<T> = match b { Some(b) => slice::<T>(b).to_vec(), None => vec![T::zero(); c] };
            channel_apply::<T>(slice(xc), None, geo, None, &a, &mt, &sh, slice_mut(&out));
            (Tensor::from_vec(mt, &[c])?, Tensor::from_vec(rs.iter().map(|&v| T::from_f64(v)).collect::<Vec<T>>(), &[c])?)
        });
        Ok((out, mean, rstd))
    }

    fn norm_backward(
        &self,
        kind: Kind,
        st: &Stats,
        w: Option<&Tensor>,
        g: &Tensor,
        want_params: bool,
        param: &[usize],
    ) -> Result<Grads> {
        match kind {
            Kind::Rows { len, center, .. } => {
                let k = rows::Backward {
                    len,
                    center,
                    want_params,
                };
                backward(k, st, w, g, param)
            }
            Kind::Group(geo) => {
                backward(group_norm::Backward { geo, want_params }, st, w, g, param)
            }
            Kind::Batch { geo, training } => {
                let k = batch_norm::Backward {
                    geo,
                    training,
                    want_params,
                };
                backward(k, st, w, g, param)
            }
        }
    }
}

/// Runs a fused CPU backward kernel on the saved tensors.
fn backward(
    kernel: impl FusedBackward,
    st: &Stats,
    w: Option<&Tensor>,
    g: &Tensor,
    param_shape: &[usize],
) -> Result<Grads> {
    let Stats { xc, mean, rstd } = st;
    let g = g.contiguous()?;
    let dx = uninit_cpu(xc.dtype(), xc.shape())?;
    let (dw, db) = dispatch_float!(xc.dtype(), "norm backward", T => {
        let s = Saved {
            x: slice(xc),
            w: w.map(slice::<T>),
            mean: slice(mean),
            rstd: slice(rstd),
        };
        let (dw, db) = kernel.backward::<T>(&s, slice(&g), slice_mut(&dx));
        (param::<T>(dw, param_shape)?, param::<T>(db, param_shape)?)
    });
    Ok((dx, dw, db))
}

/// A parameter gradient from a kernel's Vec (None when the kernel skipped it).
fn param<T: Real>(v: Vec<T>, shape: &[usize]) -> Result<Option<Tensor>> {
    if v.is_empty() && numel(shape) != 0 {
        return Ok(None);
    }
    Tensor::from_vec(v, shape).map(Some)
}
