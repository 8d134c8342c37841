//! Backward of indexing (x[key], and the slice/select views recorded the same way): the gradient
//! is a scatter-add of g into zeros, itself recorded so that its backward indexes again.

use crate::autograd::{is_diff, no_grad, record};
use crate::tensor::index::TensorIndex;
use crate::tensor::{DType, Tensor};
use crate::Result;

/// x[idx]: the gradient is g scattered (added, for repeated indices) into zeros.
pub(crate) fn record_index(out: Tensor, x: &Tensor, idx: Vec<TensorIndex>) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let (shape, dt) = (x.shape().to_vec(), x.dtype());
    record(out, "IndexBackward", &[x], &[], move |g| {
        Ok(vec![Some(index_backward(&shape, dt, &idx, g)?)])
    })
}

/// zeros(shape) with g added at idx; differentiable (its backward indexes again).
fn index_backward(shape: &[usize], dt: DType, idx: &[TensorIndex], g: &Tensor) -> Result<Tensor> {
    let out = {
        let _ng = no_grad();
        let z = Tensor::zeros_on(shape, dt, g.device())?;
        z.index_add(idx, &g.detach())?;
        z
    };
    let idx2 = idx.to_vec();
    Ok(record(out, "IndexPutBackward", &[g], &[], move |gg| {
        Ok(vec![Some(gg.index(&idx2)?)])
    }))
}
