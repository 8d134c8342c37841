//! In-place writes under autograd (`x[i] = v`, `x += y`, `v.fill_(0)` on a view).
//!
//! A write changes the data of a tensor that earlier ops may have read, so the graph
//! is rebased, as PyTorch does: the written tensor's *base* (the tensor that owns the
//! storage, the tensor itself when it is not a view) gets a new `CopySlices` node whose
//! inputs are the base's old graph and the written value. Its backward hands the
//! written region's gradient to the value and the rest to the old base. The view that
//! was written through, and later any other view of the same base, take their gradient
//! from the base's new node (`AsStridedBackward`). Nodes recorded before the write keep
//! their edges to the old graph, and any of them that saved the overwritten data fails
//! the version check instead of returning a wrong gradient.

use super::{fit_to, is_grad_enabled, new_node, Edge, Node};
use crate::ops::{BinaryOp, Operand};
use crate::tensor::index::TensorIndex;
use crate::tensor::{DType, Layout, Tensor};
use crate::{bail, Result};
use std::sync::Arc;

/// Whether a write into `target` (of `value`) must be recorded; errors for writes
/// autograd forbids (into a leaf that requires grad, or a view of one).
pub(crate) fn must_record(target: &Tensor, value: Option<&Tensor>) -> Result<bool> {
    if !is_grad_enabled() || !target.dtype().is_float() {
        return Ok(false);
    }
    let base = target.view_base();
    if let Some(b) = base {
        if b.is_leaf() && b.requires_grad() {
            bail!(
                Runtime,
                "a view of a leaf Variable that requires grad is being used in an in-place operation; \
                 update it under fg.no_grad() (e.g. a parameter update) or clone() it first"
            )
        }
    } else if target.is_leaf() && target.requires_grad() {
        bail!(
            Runtime,
            "a leaf Variable that requires grad is being used in an in-place operation; \
             update it under fg.no_grad() (e.g. a parameter update) or clone() it first"
        )
    }
    let record = target.requires_grad()
        || base.is_some_and(|b| b.requires_grad())
        || value.is_some_and(|v| v.requires_grad());
    if record {
        refuse_internal_overlap(target)?;
    }
    Ok(record)
}

/// Refuses a write into `target` when several of its elements share one memory
/// location (a broadcast/expanded view: stride 0 on a dim of size > 1), as PyTorch
/// does: the result would depend on write order, and a huge broadcast view would
/// spin through all its aliases (`broadcast_to(zeros(1), (2**40,)).fill_(1)`).
/// Only the O(ndim) stride-0 test, like PyTorch's `has_internal_overlap` answering YES;
/// other overlaps (e.g. as_strided tricks) are not constructible here.
pub(crate) fn refuse_internal_overlap(target: &Tensor) -> Result<()> {
    let aliased = target
        .strides()
        .iter()
        .zip(target.shape())
        .any(|(&s, &n)| s == 0 && n > 1);
    if aliased {
        bail!(
            Runtime,
            "unsupported operation: more than one element of the written-to tensor refers to a single memory \
             location. Please clone() the tensor before performing the operation."
        )
    }
    Ok(())
}

/// Runs `write` (which stores `value`, or a constant when None, into `target[index]`,
/// the whole target when `index` is empty) and records it in the graph when needed.
pub(crate) fn write(
    target: &Tensor,
    index: &[TensorIndex],
    value: Option<&Tensor>,
    write: impl FnOnce() -> Result<()>,
) -> Result<()> {
    if !must_record(target, value)? {
        return write();
    }
    let root = target
        .view_base()
        .cloned()
        .unwrap_or_else(|| target.clone());
    let view = match target.view_base() {
        Some(_) => Some(relative_layout(target, &root)?),
        None => None,
    };
    // Edges to the graph as it was before the write.
    let whole = view.is_none() && index.is_empty();
    let root_edge = if whole { Edge::None } else { Edge::of(&root) };
    let value_edge = value.map_or(Edge::None, Edge::of);
    write()?;

    let index = index.to_vec();
    let meta = value.map(|v| (v.shape().to_vec(), v.dtype()));
    let view2 = view.clone();
    let node = new_node("CopySlices", vec![root_edge, value_edge], &[], move |g| {
        let written = match &view2 {
            Some(l) => strided_view(g, l)?,
            None => g.clone(),
        };
        let gv = match &meta {
            Some((shape, dt)) => {
                let gw = if index.is_empty() {
                    written
                } else {
                    written.index(&index)?
                };
                Some(fit_to(gw, shape, *dt)?)
            }
            None => None,
        };
        let groot = if whole {
            None
        } else {
            // The old base keeps the gradient outside the overwritten region.
            let c = g.deep_copy()?;
            let region = match &view2 {
                Some(l) => strided_view(&c, l)?,
                None => c.clone(),
            };
            let zero = Tensor::zeros_on(&[], c.dtype(), c.device())?;
            if index.is_empty() {
                crate::ops::copy::assign(&region, &zero)?;
            } else {
                region.index_put(&index, &zero)?;
            }
            Some(c)
        };
        Ok(vec![groot, gv])
    });
    root.set_grad_fn(node.clone());
    node.set_output(&root);
    if let Some(l) = view {
        target.set_grad_fn(as_strided_node(&root, l));
    }
    Ok(())
}

/// `target op= other`: computes the result out of place (so the op's usual backward
/// applies), writes it into `target` and rebases the graph.
pub(crate) fn binary_inplace(target: &Tensor, other: &Operand, op: BinaryOp) -> Result<()> {
    let other_t = match other {
        Operand::Tensor(t) => Some(t),
        Operand::Scalar(_) => None,
    };
    // Before computing anything: the out-of-place result of a huge broadcast target
    // would be allocated (and computed) only to be refused on writing.
    refuse_internal_overlap(target)?;
    let record = must_record(target, other_t)?;
    // Ops other than + and - save their inputs, which the write is about to change:
    // compute from copies (PyTorch saves `original_self` the same way).
    let copy = record && !matches!(op, BinaryOp::Add | BinaryOp::Sub);
    let src = if copy {
        target.deep_copy()?
    } else {
        target.clone()
    };
    let result = match other {
        Operand::Tensor(b) if copy && b.shares_storage(target) => {
            src.binary(&b.deep_copy()?, op)?
        }
        Operand::Tensor(b) => src.binary(b, op)?,
        Operand::Scalar(s) => src.binary_scalar(*s, op, false)?,
    };
    if result.shape() != target.shape() {
        bail!(
            Shape,
            "output with shape {} doesn't match the broadcast shape {}",
            crate::tensor::shape::fmt_shape(target.shape()),
            crate::tensor::shape::fmt_shape(result.shape())
        )
    }
    let (rd, td) = (result.dtype(), target.dtype());
    if rd != td && !(td.is_float() || rd == DType::Bool) {
        bail!(
            DType,
            "result type {rd} can't be cast to the desired output type {td}"
        )
    }
    if !record {
        return crate::ops::copy::assign_raw(target, &result);
    }
    let result = result.to_dtype(td)?;
    match (target.view_base(), result.grad_fn()) {
        // A whole non-view tensor simply becomes the result: its grad_fn is the op's.
        (None, Some(node)) => {
            crate::ops::copy::assign_raw(target, &result)?;
            target.set_grad_fn(node.clone());
            node.set_output(target);
            Ok(())
        }
        _ => write(target, &[], Some(&result), || {
            crate::ops::copy::assign_raw(target, &result)
        }),
    }
}

/// The grad_fn of a view whose base has a (new) graph: the gradient of the view,
/// scattered into the base's shape.
pub(crate) fn view_of_base(view: &Tensor, base: &Tensor) -> Result<Arc<Node>> {
    Ok(as_strided_node(base, relative_layout(view, base)?))
}

fn as_strided_node(base: &Tensor, l: Layout) -> Arc<Node> {
    let shape = base.shape().to_vec();
    new_node("AsStridedBackward", vec![Edge::of(base)], &[], move |g| {
        Ok(vec![Some(scatter(g, &shape, &l)?)])
    })
}

/// The layout of `view` over a contiguous tensor of `base`'s shape.
fn relative_layout(view: &Tensor, base: &Tensor) -> Result<Layout> {
    if !base.is_contiguous() || view.offset() < base.offset() {
        bail!(
            Runtime,
            "in-place writes through a view of a non-contiguous tensor can't be recorded for autograd; \
             call .contiguous() on the tensor before taking the view"
        )
    }
    Ok(Layout {
        shape: view.shape().into(),
        strides: view.strides().into(),
        offset: view.offset() - base.offset(),
    })
}

/// The view `l` of a contiguous version of `t` (differentiable: its backward scatters).
fn strided_view(t: &Tensor, l: &Layout) -> Result<Tensor> {
    let c = t.contiguous()?;
    let mut at = l.clone();
    at.offset += c.offset();
    let out = c.view_with(at);
    let (shape, l) = (c.shape().to_vec(), l.clone());
    Ok(super::formulas::record_view(
        out,
        "AsStridedBackward",
        &c,
        move |g| scatter(g, &shape, &l),
    ))
}

/// A zero tensor of `shape` with `g` written at the view `l`; positions the view
/// repeats (broadcast dimensions, stride 0) receive the sum of their gradients.
fn scatter(g: &Tensor, shape: &[usize], l: &Layout) -> Result<Tensor> {
    let mut l = l.clone();
    let repeated: Vec<isize> = (0..l.ndim())
        .filter(|&i| l.strides[i] == 0 && l.shape[i] > 1)
        .map(|i| i as isize)
        .collect();
    let g = if repeated.is_empty() {
        g.clone()
    } else {
        for &i in &repeated {
            l.shape[i as usize] = 1;
        }
        g.sum(Some(&repeated), true)?
    };
    let z = Tensor::zeros_on(shape, g.dtype(), g.device())?;
    crate::ops::copy::assign(&z.view_with(l), &g)?;
    Ok(z)
}

impl Tensor {
    /// `self op= other` (`+=`, `*=`, ...): the result is cast to self's dtype and must
    /// have self's shape. Recorded for autograd like PyTorch's in-place ops.
    pub fn binary_inplace(&self, other: &Operand, op: BinaryOp) -> Result<()> {
        binary_inplace(self, other, op)
    }
}
