//! Backward of matmul: g @ b^T and a^T @ g on the promoted (batched 2-D) operands,
//! summed over broadcast batch dims and reshaped back to each operand.

use crate::autograd::{is_diff, record, sum_to};
use crate::tensor::Tensor;

pub(super) fn record_matmul(out: Tensor, a: &Tensor, b: &Tensor) -> Tensor {
    if !is_diff(&out) {
        return out;
    }
    let (a2, b2) = (a.clone(), b.clone());
    record(out, "MmBackward", &[a, b], &[a, b], move |g| {
        let (a, b) = (&a2, &b2);
        let a1 = if a.ndim() == 1 {
            a.unsqueeze(0)?
        } else {
            a.clone()
        };
        let b1 = if b.ndim() == 1 {
            b.unsqueeze(-1)?
        } else {
            b.clone()
        };
        // g in the (batch..., m, n) shape of the promoted product.
        let mut full: Vec<usize> = crate::tensor::shape::broadcast_shapes(
            &a1.shape()[..a1.ndim() - 2],
            &b1.shape()[..b1.ndim() - 2],
        )?;
        full.extend([a1.shape()[a1.ndim() - 2], b1.shape()[b1.ndim() - 1]]);
        let g1 = g.reshape_usize(&full)?;
        // Transposed views go straight into the GEMM (no copies).
        let ga = sum_to(&g1.matmul(&b1.mt()?)?, a1.shape())?.reshape_usize(a.shape())?;
        let gb = sum_to(&a1.mt()?.matmul(&g1)?, b1.shape())?.reshape_usize(b.shape())?;
        Ok(vec![
            Some(ga.to_dtype(a.dtype())?),
            Some(gb.to_dtype(b.dtype())?),
        ])
    })
}
