//! Gather/scatter for advanced indexing, and the ops built on them: nonzero, take,
//! take_along_axis, one_hot.
//!
//! `tensor/index.rs` turns a key into an `IndexPlan`: a view (the basic part of the key
//! applied) plus k integer index arrays broadcast together to a shape B, each replacing
//! one dim of the view. The backends implement the two primitives over such a plan:
//! a gather (`out[b, r] = view[i_1[b], ..., i_k[b], r]`, r running over the dims no
//! array replaces) and its scatter (put or add). take and take_along_axis are keys of
//! that form, and the backward of indexing is the scatter-add, so these two cover the
//! whole family; nonzero (boolean masks), one_hot and the index ramps take_along_axis
//! needs are the rest of the trait.

pub(crate) mod backward;
pub mod cpu;
#[cfg(feature = "wgpu")]
pub mod wgpu;

use crate::device::Device;
use crate::tensor::index::{IndexPlan, TensorIndex};
use crate::tensor::shape::{fmt_shape, normalize_axis};
use crate::tensor::{DType, Layout, Tensor};
use crate::{bail, Result};

/// The indexing kernels a backend provides (see `backend`).
pub trait IndexKernels {
    /// `p.view[arrays]`: a new tensor in NumPy's result order (see `result_perm`). An
    /// index outside its axis is an IndexError (on wgpu, for index arrays that live on
    /// the GPU, one reported at the next read from the device: see `wgpu.rs`).
    fn gather(&self, p: &IndexPlan) -> Result<Tensor>;
    /// `p.view[arrays] = value` (`+=` with `accumulate`), `value` broadcast to the
    /// indexing result's shape (`prepare_value`). Repeated positions keep the last
    /// write, or add up in index order, as a serial loop would.
    fn scatter(&self, p: &IndexPlan, value: &Tensor, accumulate: bool) -> Result<()>;
    /// Coordinates of the non-zero elements of `x`, one int64 tensor per dim
    /// (`max(ndim, 1)` of them), in row-major order.
    fn nonzero(&self, x: &Tensor) -> Result<Vec<Tensor>>;
    /// One-hot rows of the int64 class indices `idx` (validated: non-negative and below
    /// `num_classes`, which None infers as max + 1).
    fn one_hot(&self, idx: &Tensor, num_classes: Option<usize>) -> Result<Tensor>;
    /// int64 0, 1, ..., n - 1 on this device.
    fn index_ramp(&self, n: usize) -> Result<Tensor>;
}

/// (shape, strides) of the view dims not consumed by advanced indices.
pub(crate) fn rest_dims(p: &IndexPlan) -> (Vec<usize>, Vec<isize>) {
    let (mut sh, mut st) = (vec![], vec![]);
    for d in 0..p.view.ndim() {
        if !p.dims.contains(&d) {
            sh.push(p.view.shape()[d]);
            st.push(p.view.strides()[d]);
        }
    }
    (sh, st)
}

/// Index `i` into `axis` of `size`, a negative one counting from the end; outside
/// [-size, size) the IndexError both backends raise for index arrays on the host.
pub(crate) fn normalize_index(i: i64, axis: usize, size: i64) -> Result<i64> {
    let j = if i < 0 { i + size } else { i };
    if j < 0 || j >= size {
        bail!(
            Index,
            "index {i} is out of bounds for axis {axis} with size {size}"
        )
    }
    Ok(j)
}

/// one_hot's class count, after checking the class values' min (None when there are
/// none) and max (-1 when there are none): `num_classes`, or max + 1 when None.
pub(crate) fn one_hot_classes(
    min: Option<i64>,
    max: i64,
    num_classes: Option<usize>,
) -> Result<usize> {
    if let Some(min) = min {
        if min < 0 {
            bail!(
                Value,
                "one_hot: class values must be non-negative (got {min})"
            )
        }
    }
    match num_classes {
        Some(c) if max >= c as i64 => bail!(
            Value,
            "one_hot: class values must be smaller than num_classes ({c}), got {max}"
        ),
        Some(c) => Ok(c),
        None => Ok((max + 1).max(0) as usize),
    }
}

/// The permutation from [B..., rest...] order to NumPy's result order.
pub(crate) fn result_perm(p: &IndexPlan, rest_ndim: usize) -> Option<Vec<usize>> {
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

/// `out`, a gather result in [B..., rest...] order, in NumPy's order (a view).
pub(crate) fn to_result_order(p: &IndexPlan, out: Tensor, rest_ndim: usize) -> Result<Tensor> {
    match result_perm(p, rest_ndim) {
        Some(perm) => Ok(out.view_with(out.layout().permute(&perm)?)),
        None => Ok(out),
    }
}

/// The value of a scatter: cast to the destination's dtype, broadcast to the indexing
/// result's shape, copied when it shares the destination's memory, and viewed in
/// [B..., rest...] order.
pub(crate) fn prepare_value(p: &IndexPlan, value: &Tensor) -> Result<Tensor> {
    let (rsh, _) = rest_dims(p);
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
    Ok(match &perm {
        Some(pm) => {
            let mut inv = vec![0usize; pm.len()];
            for (i, &j) in pm.iter().enumerate() {
                inv[j] = i;
            }
            v.view_with(v.layout().permute(&inv)?)
        }
        None => v,
    })
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

/// The backend of an indexing op. Index arrays given on the host (Python lists, NumPy
/// arrays, ints) index a tensor on any device, as in PyTorch (the GPU backend uploads
/// them); an index array on the GPU cannot index a CPU tensor.
fn backend_for(what: &str, p: &IndexPlan) -> Result<&'static dyn crate::backend::Backend> {
    let b = crate::backend::for_tensors(what, &[&p.view])?;
    for a in &p.arrays {
        if a.device() != Device::Cpu {
            crate::backend::check_same_device(what, p.view.device(), a.device())?;
        }
    }
    Ok(b)
}

pub(crate) fn adv_gather(p: &IndexPlan) -> Result<Tensor> {
    backend_for("indexing", p)?.gather(p)
}

/// Writes (or with `accumulate`, adds) value into the indexed positions.
pub(crate) fn adv_scatter(p: &IndexPlan, value: &Tensor, accumulate: bool) -> Result<()> {
    let b = backend_for("indexed assignment", p)?;
    refuse_aliased_scatter(p)?;
    b.scatter(p, value, accumulate)
}

impl Tensor {
    /// Indices of the non-zero elements, one int64 tensor per dim (NumPy's `nonzero`).
    pub fn nonzero(&self) -> Result<Vec<Tensor>> {
        crate::backend::for_tensors("nonzero", &[self])?.nonzero(self)
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
    /// Index and tensor must share a device, as in PyTorch's `take_along_dim`.
    pub fn take_along_axis(&self, indices: &Tensor, axis: isize) -> Result<Tensor> {
        check_int_indices(indices, "take_along_axis")?;
        let b = crate::backend::for_tensors("take_along_axis", &[self, indices])?;
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
                // A ramp along dim d, on the tensor's device (no upload).
                let mut shape = vec![1usize; nd];
                shape[d] = self.shape()[d];
                let ar = b
                    .index_ramp(self.shape()[d])?
                    .view_with(Layout::contiguous(&shape));
                idx.push(TensorIndex::Array(ar));
            }
        }
        self.index(&idx)
    }

    /// One-hot encoding of int64 class indices: shape `indices.shape + (num_classes,)`,
    /// int64 like PyTorch. `num_classes` None means max + 1.
    pub fn one_hot(&self, num_classes: Option<usize>) -> Result<Tensor> {
        check_int_indices(self, "one_hot")?;
        crate::backend::for_tensors("one_hot", &[self])?.one_hot(self, num_classes)
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
