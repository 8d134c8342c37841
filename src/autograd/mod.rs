//! Reverse-mode automatic differentiation (define-by-run).
//!
//! A differentiable op whose inputs require grad returns a tensor carrying a `Node`: the
//! op's inputs, the tensors its backward reads (with their storage versions, to detect
//! in-place edits), and a backward closure written in tensor ops. `backward` walks the
//! nodes in reverse topological order and accumulates gradients. Because backward
//! closures are ordinary tensor ops, running them with grad recording on
//! (`create_graph`) records a graph of the backward pass: higher-order gradients.

mod engine;
pub(crate) mod formulas;
pub(crate) mod inplace;

pub use engine::{backward, grad};

use crate::tensor::{Tensor, TensorImpl};
use crate::{bail, Result};
use std::cell::Cell;
use std::sync::{Arc, Mutex, Weak};

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops record the graph on this thread.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Turns recording on or off, returning the previous state.
pub fn set_grad_enabled(on: bool) -> bool {
    GRAD_ENABLED.with(|g| g.replace(on))
}

/// Restores the previous grad mode when dropped (`let _g = no_grad();`).
pub struct GradModeGuard(bool);
impl Drop for GradModeGuard {
    fn drop(&mut self) {
        set_grad_enabled(self.0);
    }
}

pub fn no_grad() -> GradModeGuard {
    GradModeGuard(set_grad_enabled(false))
}

pub fn enable_grad() -> GradModeGuard {
    GradModeGuard(set_grad_enabled(true))
}

/// Runs an op's forward computation without recording its internal steps (the op then
/// records itself once, as a whole).
pub(crate) fn untracked<R>(f: impl FnOnce() -> R) -> R {
    if !is_grad_enabled() {
        return f();
    }
    let _g = no_grad();
    f()
}

/// Gradients of an op's inputs given the gradient of its output (None: no gradient).
pub type BackwardFn = Box<dyn Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync>;

/// Where an input's gradient goes, fixed when the op is recorded (an in-place op may
/// later rebase the input tensor onto a new node; this op still used the old value).
#[derive(Clone)]
pub(crate) enum Edge {
    /// The input does not require grad.
    None,
    /// The input was produced by this node.
    Node(Arc<Node>),
    /// The input is a leaf that requires grad: its `.grad` accumulates.
    Leaf(Tensor),
}

impl Edge {
    pub(crate) fn of(t: &Tensor) -> Edge {
        if !t.requires_grad() {
            return Edge::None;
        }
        match t.grad_fn() {
            Some(n) => Edge::Node(n),
            None => Edge::Leaf(t.clone()),
        }
    }
}

pub struct Node {
    pub(crate) name: &'static str,
    pub(crate) inputs: Vec<Edge>,
    saved: Mutex<Vec<(Tensor, u64)>>,
    backward: Mutex<Option<BackwardFn>>,
    /// The tensor this node produced (weak: the tensor owns the node).
    output: Mutex<Weak<TensorImpl>>,
}

impl Node {
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn check_saved(&self) -> Result<()> {
        for (t, v) in self.saved.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            if t.storage().version() != *v {
                bail!(
                    Runtime,
                    "one of the variables needed for gradient computation has been modified by an inplace operation: \
                     a tensor of shape {} saved by {} is at version {} but version {} was expected",
                    crate::tensor::shape::fmt_shape(t.shape()),
                    self.name,
                    t.storage().version(),
                    v
                )
            }
        }
        Ok(())
    }

    fn run(&self, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let f = self.backward.lock().unwrap_or_else(|e| e.into_inner());
        match f.as_ref() {
            Some(f) => f(grad),
            None => bail!(
                Runtime,
                "trying to backward through the graph a second time (or directly access saved tensors after they have \
                 already been freed): the graph was freed by the first backward; pass retain_graph=True to the first \
                 backward (or autograd.grad) if you need to backward twice"
            ),
        }
    }

    fn free(&self) {
        *self.backward.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.saved.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Points the node at the tensor that now carries it (an in-place op's target).
    pub(crate) fn set_output(&self, t: &Tensor) {
        *self.output.lock().unwrap_or_else(|e| e.into_inner()) = Arc::downgrade(&t.0);
    }

    fn output(&self) -> Option<Tensor> {
        self.output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .upgrade()
            .map(Tensor)
    }
}

/// Whether an op on these inputs is recorded (grad mode on and one of them requires
/// grad): for ops that would otherwise build their backward's captures first.
pub(crate) fn records(inputs: &[&Tensor]) -> bool {
    is_grad_enabled() && inputs.iter().any(|t| t.requires_grad())
}

/// Records `out` as produced by a differentiable op when grad mode is on and an input
/// requires grad; otherwise returns `out` unchanged. `saved` are the tensors the
/// backward closure reads (checked for in-place modification before it runs).
///
/// Backward closures (the op families' `backward.rs`) compute input gradients from the
/// output gradient with tensor ops, so running them under create_graph differentiates
/// them in turn. They recompute what they need from the inputs rather than holding the
/// output, which would make a reference cycle (output -> node -> output).
pub(crate) fn record(
    out: Tensor,
    name: &'static str,
    inputs: &[&Tensor],
    saved: &[&Tensor],
    backward: impl Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
) -> Tensor {
    if !records(inputs) {
        return out;
    }
    let node = new_node(
        name,
        inputs.iter().map(|t| Edge::of(t)).collect(),
        saved,
        backward,
    );
    let t = Tensor::with_grad_fn(out, node.clone());
    node.set_output(&t);
    t
}

/// A node over explicit edges (in-place ops build theirs by hand).
pub(crate) fn new_node(
    name: &'static str,
    inputs: Vec<Edge>,
    saved: &[&Tensor],
    backward: impl Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
) -> Arc<Node> {
    Arc::new(Node {
        name,
        inputs,
        saved: Mutex::new(
            saved
                .iter()
                .map(|t| ((*t).clone(), t.storage().version()))
                .collect(),
        ),
        backward: Mutex::new(Some(Box::new(backward))),
        output: Mutex::new(Weak::new()),
    })
}

/// Sums a gradient down to `shape` (undoing broadcasting).
pub(crate) fn sum_to(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if g.shape() == shape {
        return Ok(g.clone());
    }
    let lead = g.ndim() - shape.len();
    let mut axes: Vec<isize> = (0..lead as isize).collect();
    for (i, &d) in shape.iter().enumerate() {
        if d == 1 && g.shape()[lead + i] != 1 {
            axes.push((lead + i) as isize);
        }
    }
    g.sum(Some(&axes), true)?.reshape_usize(shape)
}

/// Whether gradients flow through a tensor of this dtype (floats only: integer and bool
/// results are never recorded).
pub(crate) fn is_diff(t: &Tensor) -> bool {
    t.dtype().is_float()
}

/// Brings a gradient to an input's shape and dtype.
pub(crate) fn fit(g: Tensor, input: &Tensor) -> Result<Tensor> {
    fit_to(g, input.shape(), input.dtype())
}

/// `fit` for an input known only by its shape and dtype (so the node need not keep it).
pub(crate) fn fit_to(g: Tensor, shape: &[usize], dt: crate::DType) -> Result<Tensor> {
    sum_to(&g, shape)?.to_dtype(dt)
}
