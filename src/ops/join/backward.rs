//! Backward of concat: each input's gradient is its slice of g along the join axis.

use crate::autograd::{is_diff, record};
use crate::tensor::{DType, Tensor};

pub(super) fn record_concat(out: Tensor, inputs: &[Tensor], axis: usize) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let sizes: Vec<(usize, DType)> = inputs
        .iter()
        .map(|t| (t.shape()[axis], t.dtype()))
        .collect();
    let refs: Vec<&Tensor> = inputs.iter().collect();
    record(out, "CatBackward", &refs, &[], move |g| {
        let mut start = 0usize;
        let mut grads = vec![];
        for &(n, dt) in &sizes {
            grads.push(Some(
                g.slice(
                    axis as isize,
                    Some(start as isize),
                    Some((start + n) as isize),
                    1,
                )?
                .to_dtype(dt)?,
            ));
            start += n;
        }
        Ok(grads)
    })
}
