//! Linear: `y = x @ w^T + bias` (optionally followed by ReLU), with x: (..., k),
//! w: (n, k) and bias: (n,).
//!
//! A backend with a fused kernel (wgpu: the bias and ReLU applied in the GEMM's store)
//! runs it as one op with its own backward; the CPU keeps its GEMM + add (+ relu) graph
//! unchanged, so its results and gradients stay bitwise what they were.

use crate::autograd::{is_diff, record, untracked};
use crate::tensor::Tensor;
use crate::Result;

/// `relu(x @ w^T + bias)` when `relu`, else `x @ w^T + bias`; `bias` is optional.
pub fn linear(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, relu: bool) -> Result<Tensor> {
    if let Some(y) = fused(x, w, bias, relu)? {
        return Ok(y);
    }
    let y = x.matmul(&w.t())?;
    let y = match bias {
        Some(b) => y.add(b)?,
        None => y,
    };
    if relu {
        y.relu()
    } else {
        Ok(y)
    }
}

/// The fused op, or None where it does not apply (a backend without the kernel, or
/// operands outside its contract: those take the general path, which also words the
/// errors of bad shapes and dtypes).
fn fused(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, relu: bool) -> Result<Option<Tensor>> {
    let (xd, wd) = (x.ndim(), w.ndim());
    if xd == 0 || wd != 2 || x.shape()[xd - 1] != w.shape()[1] {
        return Ok(None);
    }
    let n = w.shape()[0];
    if bias.is_some_and(|b| b.shape() != [n]) {
        return Ok(None);
    }
    let all: Vec<&Tensor> = [x, w].into_iter().chain(bias).collect();
    if all
        .iter()
        .any(|t| t.device() != x.device() || t.dtype() != x.dtype())
    {
        return Ok(None);
    }
    let backend = crate::backend::for_tensors("linear", &all)?;
    let Some(y) = untracked(|| backend.linear(x, w, bias, relu))? else {
        return Ok(None);
    };
    debug_assert_eq!(y.shape()[..xd - 1], x.shape()[..xd - 1]);
    debug_assert_eq!(y.shape()[xd - 1], n);
    Ok(Some(record_linear(y, x, w, bias, relu)))
}

/// The backward: with gm = dy (masked by y > 0 after ReLU) as (m, n) rows,
/// dx = gm @ w, dw = gm^T @ x, dbias = the column sums of gm. Tensor ops on the
/// output's device (GEMMs read the transposed views in place), so create_graph
/// differentiates them in turn.
fn record_linear(y: Tensor, x: &Tensor, w: &Tensor, bias: Option<&Tensor>, relu: bool) -> Tensor {
    if !is_diff(&y) {
        return y;
    }
    let (x2, w2) = (x.clone(), w.clone());
    let has_bias = bias.is_some();
    // After ReLU the mask comes from the output (y > 0 exactly where the pre-activation
    // was): a second handle on its storage, without the grad_fn, so no reference cycle.
    let y_mask = relu.then(|| y.clone());
    let mut inputs: Vec<&Tensor> = vec![x, w];
    inputs.extend(bias);
    let mut saved: Vec<&Tensor> = vec![x, w];
    saved.extend(y_mask.as_ref());
    let y_saved = y_mask.clone();
    record(y, "LinearBackward", &inputs, &saved, move |g| {
        let (x, w) = (&x2, &w2);
        let (n, k) = (w.shape()[0], w.shape()[1]);
        let gm = match &y_saved {
            Some(y) => g.mul(&y.gt(0.0)?.to_dtype(g.dtype())?)?,
            None => g.clone(),
        };
        let m: usize = x.shape()[..x.ndim() - 1].iter().product();
        let g2 = gm.reshape_usize(&[m, n])?;
        let xr = x.reshape_usize(&[m, k])?;
        let dx = g2.matmul(w)?.reshape_usize(x.shape())?;
        let dw = g2.mt()?.matmul(&xr)?;
        let mut grads = vec![Some(dx), Some(dw)];
        if has_bias {
            grads.push(Some(g2.sum(Some(&[0]), false)?));
        }
        Ok(grads)
    })
}
