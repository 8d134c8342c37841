//! The engine half of `ferrograd.autograd.Function`: a graph node whose backward calls
//! back into Python. The Python half (python/ferrograd/autograd_function.py) runs the
//! user's `forward` under no_grad, then asks `_record_function` to attach a node to its
//! output; when the engine reaches that node it calls the Python `backward` with the
//! output's gradient and checks what comes back before the gradients flow on.

use super::tensor::{wrap, PyTensor};
use crate::tensor::shape::fmt_shape;
use crate::tensor::{DType, Tensor};
use pyo3::prelude::*;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Mutex;

thread_local! {
    /// The Python exception a user's backward raised, kept so the boundary re-raises it
    /// unchanged (its type and traceback) instead of a RuntimeError carrying its text.
    /// The engine runs the node on the thread that called backward, so the boundary
    /// that started the pass finds it here.
    static PENDING: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

/// The Python exception raised inside a backward callback during the pass that just
/// failed, if any (taken: a later failure does not see it).
pub fn take_pending() -> Option<PyErr> {
    PENDING.with(|p| p.borrow_mut().take())
}

/// Node names are `&'static str`; a Function class's name is known only at run time.
/// Each distinct name is leaked once (one per Function class, so the set stays small).
fn intern(name: String) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut guard = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let set = guard.get_or_insert_with(HashSet::new);
    if let Some(&s) = set.get(name.as_str()) {
        return s;
    }
    let s: &'static str = Box::leak(name.into_boxed_str());
    set.insert(s);
    s
}

/// What the node remembers of an input to check its gradient (not the tensor itself).
struct InputMeta {
    shape: Vec<usize>,
    dtype: DType,
    device: crate::device::Device,
}

/// Checks one gradient returned by a Python backward against its input.
fn check_grad(name: &str, i: usize, g: Tensor, m: &InputMeta) -> crate::Result<Tensor> {
    if g.shape() != m.shape.as_slice() {
        crate::bail!(
            Runtime,
            "Function {name} returned an invalid gradient at index {i}: got shape {} but expected shape {}",
            fmt_shape(g.shape()),
            fmt_shape(&m.shape)
        )
    }
    if g.device() != m.device {
        crate::bail!(
            Device,
            "Function {name} returned an invalid gradient at index {i}: expected device {} but got {}",
            m.device,
            g.device()
        )
    }
    if !g.dtype().is_float() {
        crate::bail!(
            DType,
            "Function {name} returned an invalid gradient at index {i}: expected a floating point gradient, got {}",
            g.dtype().name()
        )
    }
    g.to_dtype(m.dtype)
}

/// Calls the Python backward and turns its answer into one gradient per input.
fn call_backward(
    py: Python<'_>,
    name: &str,
    callback: &Py<PyAny>,
    metas: &[InputMeta],
    grad: &Tensor,
) -> PyResult<Vec<Option<Tensor>>> {
    let g = wrap(py, grad.clone())?;
    let answer = callback.bind(py).call1((g,))?;
    let items: Vec<Bound<'_, PyAny>> = answer.try_iter()?.collect::<PyResult<_>>()?;
    if items.len() != metas.len() {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "Function {name} returned {} gradients for its {} tensor inputs",
            items.len(),
            metas.len()
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, (item, m)) in items.iter().zip(metas).enumerate() {
        if item.is_none() {
            out.push(None);
            continue;
        }
        let t = item.cast::<PyTensor>().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "Function {name} returned a {} as gradient {i}; expected a Tensor or None",
                item.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        out.push(Some(check_grad(name, i, t.get().t.clone(), m)?));
    }
    Ok(out)
}

/// Attaches a node named `<name>Backward` to `output`, with `inputs` as its inputs and
/// `saved` checked for in-place edits before `backward(grad)` runs. `backward` must
/// return one Tensor-or-None per input. Returns `output` itself (as a new tensor sharing
/// its storage) when no input requires grad or grad mode is off.
#[pyfunction]
#[pyo3(signature = (name, output, inputs, saved, backward))]
pub fn _record_function(
    py: Python<'_>,
    name: String,
    output: PyRef<'_, PyTensor>,
    inputs: Vec<PyRef<'_, PyTensor>>,
    saved: Vec<PyRef<'_, PyTensor>>,
    backward: Py<PyAny>,
) -> PyResult<Py<PyAny>> {
    let name = intern(format!("{name}Backward"));
    let ins: Vec<Tensor> = inputs.iter().map(|t| t.t.clone()).collect();
    let saved: Vec<Tensor> = saved.iter().map(|t| t.t.clone()).collect();
    let out = output.t.clone();
    if !out.dtype().is_float() {
        return wrap(py, out);
    }
    let metas: Vec<InputMeta> = ins
        .iter()
        .map(|t| InputMeta {
            shape: t.shape().to_vec(),
            dtype: t.dtype(),
            device: t.device(),
        })
        .collect();
    let in_refs: Vec<&Tensor> = ins.iter().collect();
    let saved_refs: Vec<&Tensor> = saved.iter().collect();
    let recorded = crate::autograd::record(out, name, &in_refs, &saved_refs, move |g| {
        // The engine may run with the GIL released (large passes); attach re-takes it.
        Python::attach(|py| {
            call_backward(py, name, &backward, &metas, g).map_err(|e| {
                let msg = format!("in {name}: {e}");
                PENDING.with(|p| *p.borrow_mut() = Some(e));
                crate::Error::Runtime(msg)
            })
        })
    });
    wrap(py, recorded)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_record_function, m)?)
}
