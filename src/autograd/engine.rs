//! The backward pass: topological order, gradient accumulation, graph freeing.

use super::{set_grad_enabled, Edge, GradModeGuard, Node};
use crate::tensor::Tensor;
use crate::{bail, Result};
use std::collections::HashMap;
use std::sync::Arc;

fn key(n: &Arc<Node>) -> usize {
    Arc::as_ptr(n) as usize
}

/// Nodes reachable from the roots, each after all nodes that consume its output.
fn topo_order(roots: &[Arc<Node>]) -> Vec<Arc<Node>> {
    let mut order = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Iterative post-order DFS (graphs can be deep: long training loops of ops).
    let mut stack: Vec<(Arc<Node>, bool)> = roots.iter().map(|n| (n.clone(), false)).collect();
    while let Some((n, expanded)) = stack.pop() {
        if expanded {
            order.push(n);
            continue;
        }
        if !seen.insert(key(&n)) {
            continue;
        }
        stack.push((n.clone(), true));
        for inp in &n.inputs {
            if let Edge::Node(c) = inp {
                if !seen.contains(&key(c)) {
                    stack.push((c.clone(), false));
                }
            }
        }
    }
    order.reverse();
    order
}

fn accumulate(slot: &mut Option<Tensor>, g: Tensor) -> Result<()> {
    *slot = Some(match slot.take() {
        Some(old) => old.add(&g)?,
        None => g,
    });
    Ok(())
}

fn default_root_grad(t: &Tensor) -> Result<Tensor> {
    if t.numel() != 1 {
        bail!(
            Runtime,
            "grad can be implicitly created only for scalar outputs (got shape {}); pass a gradient",
            crate::tensor::shape::fmt_shape(t.shape())
        )
    }
    // Seeded on the output's own device: the backward's kernels run where the graph is.
    Tensor::full_on(
        t.shape(),
        crate::tensor::Scalar::Int(1),
        t.dtype(),
        t.device(),
    )
}

struct Pass {
    /// Gradient flowing into each node's output.
    node_grads: HashMap<usize, Option<Tensor>>,
    /// Gradient reaching each leaf (keyed by its TensorImpl).
    leaf_grads: HashMap<usize, (Tensor, Option<Tensor>)>,
}

/// Runs the backward pass from `roots` (tensor, gradient). With `capture`, returns the
/// gradients reaching those tensors; otherwise accumulates into the leaves' `.grad`.
fn run(
    roots: Vec<(Tensor, Tensor)>,
    capture: Option<&[Tensor]>,
    retain_graph: bool,
    create_graph: bool,
) -> Result<Vec<Option<Tensor>>> {
    let _mode: GradModeGuard = GradModeGuard(set_grad_enabled(create_graph));
    let mut pass = Pass {
        node_grads: HashMap::new(),
        leaf_grads: HashMap::new(),
    };
    let mut root_nodes = vec![];
    for (t, g) in roots {
        if !t.requires_grad() {
            bail!(
                Runtime,
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        }
        if g.device() != t.device() {
            bail!(
                Device,
                "invalid gradient: expected a gradient on device {} (where the output lives), but got one on {}",
                t.device(),
                g.device()
            )
        }
        if g.shape() != t.shape() {
            bail!(
                Runtime,
                "mismatch in shape: grad_output has shape {} but the output has shape {}",
                crate::tensor::shape::fmt_shape(g.shape()),
                crate::tensor::shape::fmt_shape(t.shape())
            )
        }
        match t.grad_fn() {
            Some(n) => {
                accumulate(
                    pass.node_grads.entry(key(&n)).or_default(),
                    g.to_dtype(t.dtype())?,
                )?;
                root_nodes.push(n);
            }
            None => {
                let e = pass
                    .leaf_grads
                    .entry(t.impl_key())
                    .or_insert((t.clone(), None));
                accumulate(&mut e.1, g)?;
            }
        }
    }
    let capture_nodes: HashMap<usize, usize> = capture
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.grad_fn().map(|n| (key(&n), i)))
        .collect();
    let mut captured: Vec<Option<Tensor>> = vec![None; capture.map_or(0, |c| c.len())];

    for node in topo_order(&root_nodes) {
        let Some(g) = pass.node_grads.remove(&key(&node)).flatten() else {
            continue;
        };
        if let Some(&i) = capture_nodes.get(&key(&node)) {
            captured[i] = Some(g.clone());
        }
        if capture.is_none() {
            if let Some(out) = node.output() {
                if out.retains_grad() {
                    let detached = if create_graph { g.clone() } else { g.detach() };
                    let mut slot = out.grad();
                    accumulate(&mut slot, detached)?;
                    out.set_grad(slot);
                }
            }
        }
        node.check_saved()?;
        let grads = node.run(&g)?;
        if !retain_graph {
            node.free();
        }
        for (inp, ig) in node.inputs.iter().zip(grads) {
            let Some(ig) = ig else { continue };
            match inp {
                Edge::None => {}
                Edge::Node(n) => accumulate(pass.node_grads.entry(key(n)).or_default(), ig)?,
                Edge::Leaf(leaf) => {
                    let e = pass
                        .leaf_grads
                        .entry(leaf.impl_key())
                        .or_insert((leaf.clone(), None));
                    accumulate(&mut e.1, ig)?;
                }
            }
        }
    }

    if let Some(inputs) = capture {
        for (i, t) in inputs.iter().enumerate() {
            if t.grad_fn().is_none() {
                captured[i] = pass.leaf_grads.get(&t.impl_key()).and_then(|e| e.1.clone());
            }
        }
        return Ok(captured);
    }
    for (_, (leaf, g)) in pass.leaf_grads {
        if let Some(g) = g {
            let g = if create_graph { g } else { g.detach() };
            let mut slot = leaf.grad();
            accumulate(&mut slot, g)?;
            leaf.set_grad(slot);
        }
    }
    Ok(vec![])
}

/// `t.backward(gradient)`: accumulates d(sum(t * gradient))/d(leaf) into each leaf's `.grad`.
pub fn backward(
    t: &Tensor,
    gradient: Option<&Tensor>,
    retain_graph: bool,
    create_graph: bool,
) -> Result<()> {
    let g = match gradient {
        Some(g) => g.clone(),
        None => default_root_grad(t)?,
    };
    run(
        vec![(t.clone(), g)],
        None,
        retain_graph || create_graph,
        create_graph,
    )
    .map(|_| ())
}

/// Gradients of sum(outputs[i] * grad_outputs[i]) with respect to `inputs`, without
/// touching any `.grad`. An input the outputs don't depend on gives None (an error
/// unless `allow_unused`).
pub fn grad(
    outputs: &[Tensor],
    inputs: &[Tensor],
    grad_outputs: &[Option<Tensor>],
    retain_graph: bool,
    create_graph: bool,
    allow_unused: bool,
) -> Result<Vec<Option<Tensor>>> {
    if grad_outputs.len() != outputs.len() {
        bail!(
            Runtime,
            "grad_outputs has {} entries but there are {} outputs",
            grad_outputs.len(),
            outputs.len()
        )
    }
    for t in inputs {
        if !t.requires_grad() {
            bail!(
                Runtime,
                "one of the differentiated tensors does not require grad"
            )
        }
    }
    let roots = outputs
        .iter()
        .zip(grad_outputs)
        .map(|(o, g)| {
            Ok((
                o.clone(),
                match g {
                    Some(g) => g.clone(),
                    None => default_root_grad(o)?,
                },
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let out = run(roots, Some(inputs), retain_graph, create_graph)?;
    if !allow_unused && out.iter().any(|g| g.is_none()) {
        bail!(
            Runtime,
            "one of the differentiated tensors appears to not have been used in the graph; set allow_unused=True if this is the desired behavior"
        )
    }
    Ok(out)
}
