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

pub struct Node {
    pub(crate) name: &'static str,
    pub(crate) inputs: Vec<Tensor>,
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

    fn output(&self) -> Option<Tensor> {
        self.output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .upgrade()
            .map(Tensor)
    }
}

/// Records `out` as produced by a differentiable op when grad mode is on and an input
/// requires grad; otherwise returns `out` unchanged. `saved` are the tensors the
/// backward closure reads (checked for in-place modification before it runs).
pub(crate) fn record(
    out: Tensor,
    name: &'static str,
    inputs: &[&Tensor],
    saved: &[&Tensor],
    backward: impl Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
) -> Tensor {
    if !is_grad_enabled() || !inputs.iter().any(|t| t.requires_grad()) {
        return out;
    }
    let node = Arc::new(Node {
        name,
        inputs: inputs.iter().map(|t| (*t).clone()).collect(),
        saved: Mutex::new(
            saved
                .iter()
                .map(|t| ((*t).clone(), t.storage().version()))
                .collect(),
        ),
        backward: Mutex::new(Some(Box::new(backward))),
        output: Mutex::new(Weak::new()),
    });
    let t = Tensor::with_grad_fn(out, node.clone());
    *node.output.lock().unwrap_or_else(|e| e.into_inner()) = Arc::downgrade(&t.0);
    t
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

/// Brings a gradient to an input's shape and dtype.
pub(crate) fn fit(g: Tensor, input: &Tensor) -> Result<Tensor> {
    fit_to(g, input.shape(), input.dtype())
}

/// `fit` for an input known only by its shape and dtype (so the node need not keep it).
pub(crate) fn fit_to(g: Tensor, shape: &[usize], dt: crate::DType) -> Result<Tensor> {
    sum_to(&g, shape)?.to_dtype(dt)
}
