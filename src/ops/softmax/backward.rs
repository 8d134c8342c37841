//! Backward of softmax and log_softmax, built from softmax itself, a sum and
//! elementwise ops, so it runs wherever they do.

use crate::autograd::{fit, is_diff, record};
use crate::tensor::Tensor;

pub(super) fn record_softmax(out: Tensor, x: &Tensor, axis: isize, log: bool) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let x2 = x.clone();
    let name = if log {
        "LogSoftmaxBackward"
    } else {
        "SoftmaxBackward"
    };
    record(out, name, &[x], &[x], move |g| {
        let y = x2.softmax(axis)?;
        let gx = if log {
            g.sub(&y.mul(&g.sum(Some(&[axis]), true)?)?)?
        } else {
            y.mul(&g.sub(&g.mul(&y)?.sum(Some(&[axis]), true)?)?)?
        };
        Ok(vec![Some(fit(gx, &x2)?)])
    })
}
