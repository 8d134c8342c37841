//! Backward of the casting copies (to_dtype, to_device): the gradient goes back to the
//! input's device and dtype.

use crate::autograd::{is_diff, record};
use crate::tensor::Tensor;

/// to_dtype / to_device, recorded only between float dtypes (ints and bools carry no
/// gradient).
pub(crate) fn record_cast(out: Tensor, x: &Tensor) -> Tensor {
    if !is_diff(&out) || !is_diff(x) {
        return out;
    }
    let (dt, dev) = (x.dtype(), x.device());
    record(out, "ToCopyBackward", &[x], &[], move |g| {
        Ok(vec![Some(g.to_device(dev)?.to_dtype(dt)?)])
    })
}
