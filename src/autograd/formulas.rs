//! The generic recorder for views and shape changes, whose backward is another view or
//! reshape of the output gradient. The op families' backward formulas live beside their
//! forwards, in src/ops/<family>/backward.rs.

use super::{is_diff, record};
use crate::tensor::Tensor;
use crate::Result;

/// A view or shape change whose backward is another view or reshape of `g`.
pub(crate) fn record_view(
    out: Tensor,
    name: &'static str,
    x: &Tensor,
    back: impl Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static,
) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    record(out, name, &[x], &[], move |g| Ok(vec![Some(back(g)?)]))
}
