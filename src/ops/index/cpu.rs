//! The CPU side of the indexing family: gathers and scatters through a list of
//! storage offsets, nonzero and one_hot, as rayon-parallel (or, where order matters,
//! serial) loops over host memory.

use super::{
    normalize_index, one_hot_classes, prepare_value, rest_dims, to_result_order, IndexKernels,
};
use crate::backend::Cpu;
use crate::device::cpu::{for_each_chunk, NdIter, SendPtr, GRAIN};
use crate::ops::copy::uninit_cpu;
use crate::tensor::index::IndexPlan;
use crate::tensor::shape::{checked_numel, numel};
use crate::tensor::storage::try_vec;
use crate::tensor::{DType, Element, Layout, Tensor};
use crate::{bail, dispatch, Result};

impl IndexKernels for Cpu {
    fn gather(&self, p: &IndexPlan) -> Result<Tensor> {
        adv_gather(p)
    }
    fn scatter(&self, p: &IndexPlan, value: &Tensor, accumulate: bool) -> Result<()> {
        adv_scatter(p, value, accumulate)
    }
    fn nonzero(&self, x: &Tensor) -> Result<Vec<Tensor>> {
        nonzero(x)
    }
    fn one_hot(&self, idx: &Tensor, num_classes: Option<usize>) -> Result<Tensor> {
        one_hot(idx, num_classes)
    }
    fn index_ramp(&self, n: usize) -> Result<Tensor> {
        Tensor::arange(0.0, n as f64, 1.0, DType::I64)
    }
}

/// Storage offset (relative to the view's offset) of each broadcast index position.
/// The list is as long as the broadcast index, which the caller may make huge
/// (`x[broadcast_to(i, (2**40,))]`): it is allocated fallibly, a MemoryError.
pub(crate) fn adv_offsets(p: &IndexPlan) -> Result<Vec<isize>> {
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
            *o += normalize_index(i, d, size)? as isize * stride;
        }
    }
    Ok(offs)
}

fn adv_gather(p: &IndexPlan) -> Result<Tensor> {
    p.view.storage().cpu()?;
    let offs = adv_offsets(p)?;
    let (rsh, rst) = rest_dims(p);
    let r = numel(&rsh);
    let mut shape = p.bshape.clone();
    shape.extend(&rsh);
    let out = uninit_cpu(p.view.dtype(), &shape)?;
    // SAFETY: `offs` holds checked in-bounds offsets of the view's indexed dims and
    // NdIter yields offsets of its rest dims, so every read is an element of the view;
    // `out` is a fresh contiguous tensor of nb * r elements, written once each.
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
    to_result_order(p, out, rsh.len())
}

/// Writes (or with `accumulate`, adds) value into the indexed positions.
fn adv_scatter(p: &IndexPlan, value: &Tensor, accumulate: bool) -> Result<()> {
    p.view.storage().cpu()?;
    let offs = adv_offsets(p)?;
    let (rsh, rst) = rest_dims(p);
    let v = prepare_value(p, value)?;
    let nb = p.bshape.len();
    let r = numel(&rsh);
    let v_outer = Layout {
        shape: p.bshape[..].into(),
        strides: v.strides()[..nb].into(),
        offset: 0,
    };
    let v_rest_strides = v.strides()[nb..].to_vec();
    // SAFETY: as in `adv_gather`, every write is an element of the view and every read
    // one of `v`, a view of shape [B..., rest...] walked with its own strides.
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

/// Indices of the non-zero elements, one int64 tensor per dim (NumPy's `nonzero`).
/// Counts first, so the output is allocated once (fallibly) at its final size.
fn nonzero(x: &Tensor) -> Result<Vec<Tensor>> {
    x.storage().cpu()?;
    let count = dispatch!(x.dtype(), T => count_nonzero::<T>(x));
    let cols = (0..x.ndim().max(1))
        .map(|_| uninit_cpu(DType::I64, &[count]))
        .collect::<Result<Vec<_>>>()?;
    if count > 0 {
        let found = dispatch!(x.dtype(), T => nonzero_fill::<T>(x, &cols, count));
        if found != count {
            // Only a concurrent write to the tensor can do this.
            bail!(Runtime, "nonzero: the tensor changed while it was read")
        }
    }
    Ok(cols)
}

/// One-hot encoding of int64 class indices: shape `indices.shape + (num_classes,)`,
/// int64 like PyTorch. `num_classes` None means max + 1.
fn one_hot(idx: &Tensor, num_classes: Option<usize>) -> Result<Tensor> {
    let v = idx.contiguous()?.to_vec::<i64>()?;
    let mx = v.iter().max().copied().unwrap_or(-1);
    let c = one_hot_classes(v.iter().min().copied(), mx, num_classes)?;
    let mut shape = idx.shape().to_vec();
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
