//! `x[...]` and `x[...] = v` with NumPy's rules: ints, slices, None and Ellipsis give views;
//! boolean masks and integer arrays ("advanced" indices) gather into a new tensor.

use super::shape::{broadcast_shapes, fmt_shape};
use super::{DType, Tensor};
use crate::ops::copy::assign;
use crate::ops::index::{adv_gather, adv_scatter};
use crate::{bail, Result};

#[derive(Clone, Debug)]
pub enum TensorIndex {
    Int(isize),
    Slice(Option<isize>, Option<isize>, isize),
    NewAxis,
    Ellipsis,
    /// An integer (int64) or boolean array.
    Array(Tensor),
}

/// The result of applying the basic part of an index: a view, plus the advanced index
/// arrays and the view dims they apply to.
pub struct IndexPlan {
    pub view: Tensor,
    pub arrays: Vec<Tensor>,
    pub dims: Vec<usize>,
    pub bshape: Vec<usize>,
    /// Whether the advanced indices sit next to each other in the key (x[:, i, j]): their
    /// broadcast dims then keep their place in the result; separated ones (x[i, :, j],
    /// and x[:, i, ..., j] even where the ellipsis stands for no dim) move to the front,
    /// as in NumPy.
    pub adjacent: bool,
    /// The key with boolean masks replaced by their nonzero() arrays: it plans to the
    /// same indexing without looking at the masks again (the backward indexes with it,
    /// so a mask on the GPU is not counted, a readback, a second time).
    pub key: Vec<TensorIndex>,
}

fn plan(x: &Tensor, idx: &[TensorIndex]) -> Result<IndexPlan> {
    // Expand boolean masks into integer arrays (one per mask dim).
    let mut items: Vec<TensorIndex> = Vec::with_capacity(idx.len());
    for it in idx {
        match it {
            TensorIndex::Array(t) if t.dtype() == DType::Bool => {
                if t.ndim() == 0 {
                    // A bool scalar is an advanced index on a new axis; see `bool_scalar`.
                    items.push(it.clone());
                    continue;
                }
                check_mask(x, idx, it, t)?;
                for nz in t.nonzero()? {
                    items.push(TensorIndex::Array(nz));
                }
            }
            TensorIndex::Array(t) if t.dtype().is_int() && t.dtype() != DType::I64 => {
                // any integer dtype indexes; the gathers read int64
                items.push(TensorIndex::Array(t.to_dtype(DType::I64)?));
            }
            TensorIndex::Array(t) if t.dtype() != DType::I64 => bail!(
                Index,
                "arrays used as indices must be of integer or boolean type, got {}",
                t.dtype()
            ),
            other => items.push(other.clone()),
        }
    }
    // With any array present, NumPy treats integer scalars as advanced indices too
    // (0-d arrays), which matters for where the broadcast dims land: x[1, :, [0, 4]].
    // NumPy decides where they land from the key as written, so adjacency is read off
    // the items before the ellipsis expands: an ellipsis or None between two advanced
    // indices separates them even when it stands for no dim.
    let key = items.clone();
    let has_array = items.iter().any(|i| matches!(i, TensorIndex::Array(_)));
    let advanced: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, i)| match i {
            TensorIndex::Array(_) => true,
            TensorIndex::Int(_) => has_array,
            _ => false,
        })
        .map(|(k, _)| k)
        .collect();
    let adjacent = advanced.windows(2).all(|w| w[1] == w[0] + 1);
    let consumed = items
        .iter()
        .filter(|i| match i {
            TensorIndex::Int(_) | TensorIndex::Slice(..) => true,
            TensorIndex::Array(t) => bool_scalar(t).is_none(),
            _ => false,
        })
        .count();
    let ellipses = items
        .iter()
        .filter(|i| matches!(i, TensorIndex::Ellipsis))
        .count();
    if ellipses > 1 {
        bail!(Index, "an index can only have a single ellipsis ('...')")
    }
    if consumed > x.ndim() {
        bail!(
            Index,
            "too many indices for tensor: tensor is {}-dimensional, but {consumed} were indexed",
            x.ndim()
        )
    }
    let fill = x.ndim() - consumed;
    let mut full = Vec::with_capacity(items.len() + fill);
    let mut filled = false;
    for it in items {
        if let TensorIndex::Ellipsis = it {
            full.extend(std::iter::repeat_n(TensorIndex::Slice(None, None, 1), fill));
            filled = true;
        } else {
            full.push(it);
        }
    }
    if !filled {
        full.extend(std::iter::repeat_n(TensorIndex::Slice(None, None, 1), fill));
    }

    let mut view = x.clone();
    // d: the dim of `view` the next item applies to; src: the dim of x (for messages).
    let (mut d, mut src) = (0usize, 0usize);
    let (mut arrays, mut dims) = (vec![], vec![]);
    for it in full {
        match it {
            TensorIndex::Int(i) if has_array => {
                // Checked here: the broadcast index may be empty (x[[], 7]), and
                // NumPy still refuses an integer out of range.
                let n = view.shape()[d] as isize;
                if !(-n..n).contains(&i) {
                    bail!(
                        Index,
                        "index {i} is out of bounds for axis {src} with size {n}"
                    )
                }
                arrays.push(Tensor::scalar(i as i64));
                dims.push(d);
                d += 1;
                src += 1;
            }
            TensorIndex::Int(i) => {
                view = view.select(d as isize, i)?;
                src += 1;
            }
            TensorIndex::Slice(a, b, s) => {
                view = view.slice(d as isize, a, b, s)?;
                d += 1;
                src += 1;
            }
            TensorIndex::NewAxis => {
                view = view.unsqueeze(d as isize)?;
                d += 1;
            }
            TensorIndex::Array(t) => {
                if let Some(b) = bool_scalar(&t) {
                    // NumPy: a new axis of length 1, indexed by [0] (True) or [] (False),
                    // so the result has an axis of length 1 or 0 placed by the advanced
                    // indexing rules (x[False] is (0, ...), x[True, [0, 1]] is (2, ...)).
                    view = view.unsqueeze(d as isize)?;
                    let pick: Vec<i64> = if b { vec![0] } else { vec![] };
                    let n = pick.len();
                    arrays.push(Tensor::from_vec(pick, &[n])?);
                } else {
                    arrays.push(t);
                    src += 1;
                }
                dims.push(d);
                d += 1;
            }
            TensorIndex::Ellipsis => unreachable!(),
        }
    }
    let mut bshape: Vec<usize> = vec![];
    for (k, a) in arrays.iter().enumerate() {
        bshape = if k == 0 {
            a.shape().to_vec()
        } else {
            broadcast_shapes(&bshape, a.shape()).map_err(|_| {
                crate::Error::Index(format!(
                    "shape mismatch: indexing arrays could not be broadcast together with shapes {}",
                    arrays.iter().map(|a| fmt_shape(a.shape())).collect::<Vec<_>>().join(" ")
                ))
            })?
        };
    }
    Ok(IndexPlan {
        view,
        arrays,
        dims,
        bshape,
        adjacent,
        key,
    })
}

/// The value of a 0-d bool index (a Python bool or a 0-d bool tensor); None for any other.
fn bool_scalar(t: &Tensor) -> Option<bool> {
    if t.ndim() == 0 && t.dtype() == DType::Bool {
        t.item().ok().map(|v| v != 0.0)
    } else {
        None
    }
}

fn check_mask(x: &Tensor, idx: &[TensorIndex], it: &TensorIndex, mask: &Tensor) -> Result<()> {
    // The dim a mask starts at: count dims consumed before it (assumes no Ellipsis before it
    // or an Ellipsis that expands before; good enough for the check of sizes).
    let mut start = 0usize;
    for prev in idx {
        if std::ptr::eq(prev, it) {
            break;
        }
        match prev {
            TensorIndex::Int(_) | TensorIndex::Slice(..) => start += 1,
            TensorIndex::Array(t) => {
                start += if t.dtype() == DType::Bool {
                    t.ndim()
                } else {
                    1
                }
            }
            TensorIndex::Ellipsis => {
                let after: usize = idx
                    .iter()
                    .skip_while(|p| !std::ptr::eq(*p, prev))
                    .skip(1)
                    .map(|p| match p {
                        TensorIndex::Int(_) | TensorIndex::Slice(..) => 1,
                        TensorIndex::Array(t) if t.dtype() == DType::Bool => t.ndim(),
                        TensorIndex::Array(_) => 1,
                        _ => 0,
                    })
                    .sum();
                start = x.ndim().saturating_sub(after);
            }
            TensorIndex::NewAxis => {}
        }
    }
    for (k, &m) in mask.shape().iter().enumerate() {
        let d = start + k;
        if d >= x.ndim() || x.shape()[d] != m {
            bail!(
                Index,
                "boolean index did not match indexed tensor along axis {d}; size of axis is {} but size of corresponding boolean axis is {m}",
                x.shape().get(d).copied().unwrap_or(0)
            )
        }
    }
    Ok(())
}

/// In-place writes into a tensor that requires grad would silently break its gradient;
/// PyTorch rebases the graph, ferrograd (for now) refuses unless recording is off.
/// `index_add` is the backward of indexing, not a recorded op: refuse it while recording.
fn check_unrecorded(t: &Tensor, value: &Tensor) -> Result<()> {
    if crate::autograd::is_grad_enabled() && (t.requires_grad() || value.requires_grad()) {
        bail!(
            Runtime,
            "index_add is not differentiable; call it under no_grad or on tensors that don't require grad"
        )
    }
    Ok(())
}

/// The value of an indexed write, on the destination's device. A 0-d value moves across
/// (PyTorch copies a scalar between devices); a larger one on another device is refused,
/// before any kernel would read it through the wrong kind of storage.
fn same_device(dst: &Tensor, value: &Tensor) -> Result<Tensor> {
    if value.device() == dst.device() {
        return Ok(value.clone());
    }
    if value.ndim() == 0 {
        return value.to_device(dst.device());
    }
    bail!(
        Device,
        "indexed assignment: the value is on {} but the tensor is on {}; move one with .to(...) first",
        value.device(),
        dst.device()
    )
}

impl Tensor {
    /// `x[idx]`.
    pub fn index(&self, idx: &[TensorIndex]) -> Result<Tensor> {
        let (out, key) = crate::autograd::untracked(|| {
            let p = plan(self, idx)?;
            if p.arrays.is_empty() {
                return Ok((p.view, p.key));
            }
            Ok((adv_gather(&p)?, p.key))
        })?;
        Ok(crate::ops::index::backward::record_index(out, self, key))
    }

    /// `x[idx] += value`, adding repeated indices up (the backward of indexing).
    pub fn index_add(&self, idx: &[TensorIndex], value: &Tensor) -> Result<()> {
        check_unrecorded(self, value)?;
        let value = &same_device(self, value)?;
        let p = plan(self, idx)?;
        if p.arrays.is_empty() {
            let sum = p.view.add(value)?;
            return assign(&p.view, &sum);
        }
        adv_scatter(&p, value, true)?;
        self.mark_modified();
        Ok(())
    }

    /// `x[idx] = value` (value broadcast to the indexed shape and cast to x's dtype).
    pub fn index_put(&self, idx: &[TensorIndex], value: &Tensor) -> Result<()> {
        let value = &same_device(self, value)?;
        let p = crate::autograd::untracked(|| plan(self, idx))?;
        if p.arrays.is_empty() {
            return assign(&p.view, value);
        }
        crate::autograd::inplace::write(self, idx, Some(value), || {
            adv_scatter(&p, value, false)?;
            self.mark_modified();
            Ok(())
        })
    }
}
