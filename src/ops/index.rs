//! Gather/scatter for advanced indexing, and the ops built on them: nonzero, take,
//! take_along_axis, one_hot.

use crate::device::cpu::{for_each_chunk, NdIter, SendPtr, GRAIN};
use crate::ops::copy::uninit_cpu;
use crate::tensor::index::{IndexPlan, TensorIndex};
use crate::tensor::shape::{fmt_shape, normalize_axis, numel};
use crate::tensor::{DType, Element, Layout, Tensor};
use crate::{bail, dispatch, Result};

/// Storage offset (relative to the view's offset) of each broadcast index position.
fn adv_offsets(p: &IndexPlan) -> Result<Vec<isize>> {
    let nb = numel(&p.bshape);
    let mut offs = vec![0isize; nb];
    for (a, &d) in p.arrays.iter().zip(&p.dims) {
        let size = p.view.shape()[d] as i64;
        let stride = p.view.strides()[d];
        let idx = a.broadcast_to(&p.bshape)?.contiguous()?.to_vec::<i64>()?;
        for (o, &i) in offs.iter_mut().zip(&idx) {
            let j = if i < 0 { i + size } else { i };
            if j < 0 || j >= size {
                bail!(
                    Index,
                    "index {i} is out of bounds for axis {d} with size {size}"
                )
            }
            *o += j as isize * stride;
        }
    }
    Ok(offs)
}

/// (shape, strides) of the view dims not consumed by advanced indices.
fn rest_dims(p: &IndexPlan) -> (Vec<usize>, Vec<isize>) {
    let (mut sh, mut st) = (vec![], vec![]);
    for d in 0..p.view.ndim() {
        if !p.dims.contains(&d) {
            sh.push(p.view.shape()[d]);
            st.push(p.view.strides()[d]);
        }
    }
    (sh, st)
}

/// The permutation from [B..., rest...] order to NumPy's result order.
fn result_perm(p: &IndexPlan, rest_ndim: usize) -> Option<Vec<usize>> {
    let nb = p.bshape.len();
    let first = p.dims[0];
    if !p.adjacent() || first == 0 {
        return None;
    }
    let mut perm: Vec<usize> = (nb..nb + first).collect();
    perm.extend(0..nb);
    perm.extend(nb + first..nb + rest_ndim);
    Some(perm)
}

pub(crate) fn adv_gather(p: &IndexPlan) -> Result<Tensor> {
    p.view.storage().cpu()?;
    let offs = adv_offsets(p)?;
    let (rsh, rst) = rest_dims(p);
    let r = numel(&rsh);
    let mut shape = p.bshape.clone();
    shape.extend(&rsh);
    let out = uninit_cpu(p.view.dtype(), &shape);
    dispatch!(out.dtype(), T => unsafe {
        let src = SendPtr(p.view.storage().cpu_ptr::<T>().add(p.view.offset()));
        let dst = SendPtr(out.storage().cpu_ptr::<T>());
        let it = NdIter::<1>::new(&rsh, [&rst]);
        let offs = &offs;
        for_each_chunk(offs.len(), (GRAIN / r.max(1)).max(1), |s, e| {
            for b in s..e {
                let base = src.get().offset(offs[b]);
                let mut k = b * r;
                it.for_each_run(0, r, |o, len, st, _| {
                    for i in 0..len as isize {
                        *dst.get().add(k) = *base.offset(o[0] + i * st[0]);
                        k += 1;
                    }
                });
            }
        });
    });
    match result_perm(p, rsh.len()) {
        Some(perm) => Ok(out.view_with(out.layout().permute(&perm)?)),
        None => Ok(out),
    }
}

/// Writes (or with `accumulate`, adds) value into the indexed positions.
pub(crate) fn adv_scatter(p: &IndexPlan, value: &Tensor, accumulate: bool) -> Result<()> {
    p.view.storage().cpu()?;
    let offs = adv_offsets(p)?;
    let (rsh, rst) = rest_dims(p);
    let mut order_shape = p.bshape.clone();
    order_shape.extend(&rsh);
    let perm = result_perm(p, rsh.len());
    let final_shape: Vec<usize> = match &perm {
        Some(pm) => pm.iter().map(|&i| order_shape[i]).collect(),
        None => order_shape.clone(),
    };
    let v = value.to_dtype(p.view.dtype())?.broadcast_to(&final_shape).map_err(|_| {
        crate::Error::Shape(format!(
            "shape mismatch: value array of shape {} could not be broadcast to indexing result of shape {}",
            fmt_shape(value.shape()),
            fmt_shape(&final_shape)
        ))
    })?;
    let v = if v.shares_storage(&p.view) {
        v.deep_copy()?
    } else {
        v
    };
    // Back to [B..., rest...] order.
    let v = match &perm {
        Some(pm) => {
            let mut inv = vec![0usize; pm.len()];
            for (i, &j) in pm.iter().enumerate() {
                inv[j] = i;
            }
            v.view_with(v.layout().permute(&inv)?)
        }
        None => v,
    };
    let nb = p.bshape.len();
    let r = numel(&rsh);
    let v_outer = Layout {
        shape: p.bshape.clone(),
        strides: v.strides()[..nb].to_vec(),
        offset: 0,
    };
    let v_rest_strides = v.strides()[nb..].to_vec();
    dispatch!(p.view.dtype(), T => unsafe {
        let dst = p.view.storage().cpu_ptr::<T>().add(p.view.offset());
        let src = v.storage().cpu_ptr::<T>().add(v.offset());
        let it = NdIter::<2>::new(&rsh, [&rst, &v_rest_strides]);
        // Serial over index positions so that repeated indices keep the last write.
        let outer = NdIter::<1>::new(&v_outer.shape, [&v_outer.strides]);
        let mut b = 0usize;
        outer.for_each_run(0, offs.len(), |vo, len, vs, _| {
            for j in 0..len as isize {
                let (d, s) = (dst.offset(offs[b]), src.offset(vo[0] + j * vs[0]));
                it.for_each_run(0, r, |o, n, st, _| {
                    for i in 0..n as isize {
                        let (dst, src) = (d.offset(o[0] + i * st[0]), *s.offset(o[1] + i * st[1]));
                        *dst = if accumulate { crate::ops::elementwise::math::Arith::add(*dst, src) } else { src };
                    }
                });
                b += 1;
            }
        });
    });
    Ok(())
}

fn nonzero_positions<T: Element>(x: &Tensor) -> Vec<usize> {
    let mut out = vec![];
    let base = unsafe { x.storage().cpu_ptr::<T>().add(x.offset()) };
    NdIter::<1>::new(x.shape(), [x.strides()]).for_each_run(0, x.numel(), |o, len, st, pos| {
        for i in 0..len {
            if unsafe { *base.offset(o[0] + i as isize * st[0]) } != T::zero() {
                out.push(pos + i);
            }
        }
    });
    out
}

impl Tensor {
    /// Indices of the non-zero elements, one int64 tensor per dim (NumPy's `nonzero`).
    pub fn nonzero(&self) -> Result<Vec<Tensor>> {
        self.storage().cpu()?;
        let flat = dispatch!(self.dtype(), T => nonzero_positions::<T>(self));
        let nd = self.ndim().max(1);
        let mut cols: Vec<Vec<i64>> = vec![Vec::with_capacity(flat.len()); nd];
        for &f in &flat {
            let mut rem = f;
            for d in (0..self.ndim()).rev() {
                cols[d].push((rem % self.shape()[d]) as i64);
                rem /= self.shape()[d];
            }
            if self.ndim() == 0 {
                cols[0].push(0);
            }
        }
        cols.into_iter()
            .map(|c| {
                let n = c.len();
                Tensor::from_vec(c, &[n])
            })
            .collect()
    }

    /// NumPy's `take`: along `axis`, or over the flattened tensor when None.
    pub fn take(&self, indices: &Tensor, axis: Option<isize>) -> Result<Tensor> {
        check_int_indices(indices, "take")?;
        match axis {
            None => self
                .flatten()?
                .index(&[TensorIndex::Array(indices.clone())]),
            Some(a) => {
                let ax = normalize_axis(a, self.ndim())?;
                let mut idx = vec![TensorIndex::Slice(None, None, 1); ax];
                idx.push(TensorIndex::Array(indices.clone()));
                self.index(&idx)
            }
        }
    }

    /// NumPy's `take_along_axis`: out[..., j, ...] = x[..., indices[..., j, ...], ...].
    pub fn take_along_axis(&self, indices: &Tensor, axis: isize) -> Result<Tensor> {
        check_int_indices(indices, "take_along_axis")?;
        if indices.ndim() != self.ndim() {
            bail!(
                Value,
                "take_along_axis: indices and tensor must have the same number of dimensions (got {} and {})",
                indices.ndim(),
                self.ndim()
            )
        }
        let ax = normalize_axis(axis, self.ndim())?;
        let nd = self.ndim();
        let mut idx = Vec::with_capacity(nd);
        for d in 0..nd {
            if d == ax {
                idx.push(TensorIndex::Array(indices.clone()));
            } else {
                let mut shape = vec![1usize; nd];
                shape[d] = self.shape()[d];
                let ar = Tensor::arange(0.0, self.shape()[d] as f64, 1.0, DType::I64)?
                    .reshape_usize(&shape)?;
                idx.push(TensorIndex::Array(ar));
            }
        }
        self.index(&idx)
    }

    /// One-hot encoding of int64 class indices: shape `indices.shape + (num_classes,)`,
    /// int64 like PyTorch. `num_classes` None means max + 1.
    pub fn one_hot(&self, num_classes: Option<usize>) -> Result<Tensor> {
        check_int_indices(self, "one_hot")?;
        let v = self.contiguous()?.to_vec::<i64>()?;
        if let Some(&mn) = v.iter().min() {
            if mn < 0 {
                bail!(
                    Value,
                    "one_hot: class values must be non-negative (got {mn})"
                )
            }
        }
        let mx = v.iter().max().copied().unwrap_or(-1);
        let c = match num_classes {
            Some(c) => {
                if mx >= c as i64 {
                    bail!(
                        Value,
                        "one_hot: class values must be smaller than num_classes ({c}), got {mx}"
                    )
                }
                c
            }
            None => (mx + 1).max(0) as usize,
        };
        let mut shape = self.shape().to_vec();
        shape.push(c);
        let mut out = vec![0i64; v.len() * c];
        for (i, &k) in v.iter().enumerate() {
            out[i * c + k as usize] = 1;
        }
        Tensor::from_vec(out, &shape)
    }
}

fn check_int_indices(t: &Tensor, what: &str) -> Result<()> {
    if t.dtype() != DType::I64 {
        bail!(
            DType,
            "{what}: indices must be an int64 tensor, got {}",
            t.dtype()
        )
    }
    Ok(())
}
