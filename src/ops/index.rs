//! Gather/scatter for advanced indexing, and the ops built on them: nonzero, take,
//! take_along_axis, one_hot.

use crate::device::cpu::{for_each_chunk, NdIter, SendPtr, GRAIN};
use crate::ops::copy::uninit_cpu;
use crate::tensor::index::{IndexPlan, TensorIndex};
use crate::tensor::shape::{checked_numel, fmt_shape, normalize_axis, numel};
use crate::tensor::storage::try_vec;
use crate::tensor::{DType, Element, Layout, Tensor};
use crate::{bail, dispatch, Result};

/// Storage offset (relative to the view's offset) of each broadcast index position.
/// The list is as long as the broadcast index, which the caller may make huge
/// (`x[broadcast_to(i, (2**40,))]`): it is allocated fallibly, a MemoryError.
fn adv_offsets(p: &IndexPlan) -> Result<Vec<isize>> {
    let nb = checked_numel(&p.bshape)?;
    let mut offs = try_vec(nb, 0isize)?;
    for (a, &d) in p.arrays.iter().zip(&p.dims) {
        let size = p.view.shape()[d] as i64;
        let stride = p.view.strides()[d];
        let idx = a.broadcast_to(&p.bshape)?.contiguous()?;
        let idx = idx.contiguous_slice::<i64>().ok_or_else(|| {
            crate::Error::Runtime("index array is not a contiguous int64 CPU tensor".into())
        })?;
        for (o, &i) in offs.iter_mut().zip(idx) {
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
    if !p.adjacent || first == 0 {
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
    let out = uninit_cpu(p.view.dtype(), &shape)?;
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

/// Refuses a scatter into a broadcast view (see `inplace::refuse_internal_overlap`). A
/// repeated dim picked at one position by a 0-d index (an int, which NumPy makes an
/// advanced index next to arrays: `x[0, [1, 2]]`) writes no location twice: PyTorch
/// selects such a dim before its `index_put_`, so it allows this case too.
fn refuse_aliased_scatter(p: &IndexPlan) -> Result<()> {
    let v = &p.view;
    let picked_once = |d: usize| {
        p.dims
            .iter()
            .zip(&p.arrays)
            .any(|(&pd, a)| pd == d && a.ndim() == 0)
    };
    let aliased = (0..v.ndim()).any(|d| v.strides()[d] == 0 && v.shape()[d] > 1 && !picked_once(d));
    if aliased {
        // The same error (and wording) as every other in-place path.
        crate::autograd::inplace::refuse_internal_overlap(v)?;
    }
    Ok(())
}

/// Writes (or with `accumulate`, adds) value into the indexed positions.
pub(crate) fn adv_scatter(p: &IndexPlan, value: &Tensor, accumulate: bool) -> Result<()> {
    p.view.storage().cpu()?;
    refuse_aliased_scatter(p)?;
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

/// How many elements of `x` are non-zero. A broadcast dim (stride 0) repeats the same
/// elements, so it is walked once and its size multiplies the count: a huge broadcast
/// view costs what its data costs, and its output size is known before anything is
/// allocated.
fn count_nonzero<T: Element>(x: &Tensor) -> usize {
    let mut shape = x.shape().to_vec();
    let mut repeat = 1usize;
    for (d, &s) in shape.iter_mut().zip(x.strides()) {
        if s == 0 && *d > 1 {
            repeat *= *d;
            *d = 1;
        }
    }
    let n = numel(&shape);
    let mut count = 0usize;
    // SAFETY: the view's offset lies inside its storage, and NdIter only yields offsets
    // of elements of the view (shape reduced to a subset of it, same strides).
    let base = unsafe { x.storage().cpu_ptr::<T>().add(x.offset()) };
    NdIter::<1>::new(&shape, [x.strides()]).for_each_run(0, n, |o, len, st, _| {
        for i in 0..len {
            // SAFETY: an element of the view, as above.
            if unsafe { *base.offset(o[0] + i as isize * st[0]) } != T::zero() {
                count += 1;
            }
        }
    });
    count * repeat
}

/// Writes the coordinates of the first `count` non-zero elements of `x` (row-major
/// order) into `cols[d][..count]`; returns how many non-zero elements it saw.
fn nonzero_fill<T: Element>(x: &Tensor, cols: &[Tensor], count: usize) -> usize {
    let ptrs: Vec<*mut i64> = cols.iter().map(|c| c.storage().cpu_ptr::<i64>()).collect();
    let shape = x.shape();
    let (mut k, mut seen) = (0usize, 0usize);
    // SAFETY: as in `count_nonzero`.
    let base = unsafe { x.storage().cpu_ptr::<T>().add(x.offset()) };
    NdIter::<1>::new(shape, [x.strides()]).for_each_run(0, x.numel(), |o, len, st, pos| {
        for i in 0..len {
            // SAFETY: an element of the view, as above.
            let v = unsafe { *base.offset(o[0] + i as isize * st[0]) };
            if v == T::zero() {
                continue;
            }
            seen += 1;
            if k >= count {
                continue;
            }
            let mut rem = pos + i;
            for d in (0..shape.len()).rev() {
                // SAFETY: cols[d] is a fresh contiguous int64 tensor of `count`
                // elements and k < count.
                unsafe { *ptrs[d].add(k) = (rem % shape[d]) as i64 };
                rem /= shape[d];
            }
            if shape.is_empty() {
                // SAFETY: as above (a 0-d tensor has one column).
                unsafe { *ptrs[0].add(k) = 0 };
            }
            k += 1;
        }
    });
    seen
}

impl Tensor {
    /// Indices of the non-zero elements, one int64 tensor per dim (NumPy's `nonzero`).
    /// Counts first, so the output is allocated once (fallibly) at its final size.
    pub fn nonzero(&self) -> Result<Vec<Tensor>> {
        self.storage().cpu()?;
        let count = dispatch!(self.dtype(), T => count_nonzero::<T>(self));
        let cols = (0..self.ndim().max(1))
            .map(|_| uninit_cpu(DType::I64, &[count]))
            .collect::<Result<Vec<_>>>()?;
        if count > 0 {
            let found = dispatch!(self.dtype(), T => nonzero_fill::<T>(self, &cols, count));
            if found != count {
                // Only a concurrent write to the tensor can do this.
                bail!(Runtime, "nonzero: the tensor changed while it was read")
            }
        }
        Ok(cols)
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
        // Zeros of the final size, allocated fallibly: num_classes can be huge.
        let out = Tensor::zeros_dtype(&shape, DType::I64)?;
        let p = out.storage().cpu_ptr::<i64>();
        for (i, &k) in v.iter().enumerate() {
            // SAFETY: out is a fresh contiguous tensor of v.len() * c elements, 0 <= k < c.
            unsafe { *p.add(i * c + k as usize) = 1 };
        }
        Ok(out)
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
