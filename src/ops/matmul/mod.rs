//! Matrix multiplication with NumPy's rules (1-D operands are promoted and the added dim
//! removed again; batch dims broadcast). Operands reach the backend as strided views, so
//! transposes are read in place on every device.

mod backward;
pub mod cpu;
mod linear;
#[cfg(target_arch = "x86_64")]
mod sgemm_avx2;
#[cfg(feature = "wgpu")]
pub mod wgpu;

use crate::tensor::shape::{broadcast_shapes, fmt_shape};
use crate::tensor::{DType, Tensor};
use crate::{bail, Result};

pub use linear::linear;

/// The matmul kernel a backend provides (see `backend`).
pub trait MatmulKernels {
    /// `a @ b` for a: (batch..., m, k) and b: (batch..., k, n), both already broadcast to
    /// the same batch dims and cast to one dtype (float32, float64 or int64); the result
    /// is contiguous with shape `out_shape` = (batch..., m, n).
    fn matmul(&self, a: &Tensor, b: &Tensor, out_shape: &[usize]) -> Result<Tensor>;
    /// `x @ w^T (+ bias)`, then ReLU when `relu`, for x: (..., k), w: (n, k) and bias:
    /// (n,) of one dtype (checked by `linear`), with the bias and activation fused into
    /// the GEMM's store; the result has shape (..., n). None where the backend has no
    /// fused kernel for these operands: the CPU's Linear stays its GEMM + add graph,
    /// bitwise as before.
    fn linear(
        &self,
        x: &Tensor,
        w: &Tensor,
        bias: Option<&Tensor>,
        relu: bool,
    ) -> Result<Option<Tensor>>;
}

impl Tensor {
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        let out = crate::autograd::untracked(|| self.matmul_fwd(other))?;
        Ok(backward::record_matmul(out, self, other))
    }

    fn matmul_fwd(&self, other: &Tensor) -> Result<Tensor> {
        let (a, b) = (self, other);
        for (i, t) in [a, b].iter().enumerate() {
            if t.ndim() == 0 {
                bail!(Value, "matmul: input operand {i} does not have enough dimensions (has 0, needs at least 1)")
            }
        }
        let backend = crate::backend::for_tensors("matmul", &[a, b])?;
        let dt = DType::promote(a.dtype(), b.dtype());
        if dt == DType::Bool {
            bail!(DType, "matmul is not supported for bool tensors")
        }
        let a2 = if a.ndim() == 1 {
            a.unsqueeze(0)?
        } else {
            a.clone()
        };
        let b2 = if b.ndim() == 1 {
            b.unsqueeze(-1)?
        } else {
            b.clone()
        };
        let (m, k) = (a2.shape()[a2.ndim() - 2], a2.shape()[a2.ndim() - 1]);
        let (k2, n) = (b2.shape()[b2.ndim() - 2], b2.shape()[b2.ndim() - 1]);
        if k != k2 {
            bail!(
                Shape,
                "matmul: input operand 1 has a mismatch in its core dimension 0 (size {k2} is different from {k}): shapes {} and {}",
                fmt_shape(a.shape()),
                fmt_shape(b.shape())
            )
        }
        let batch = broadcast_shapes(&a2.shape()[..a2.ndim() - 2], &b2.shape()[..b2.ndim() - 2])
            .map_err(|_| {
                crate::Error::Shape(format!(
                    "matmul: batch dimensions of shapes {} and {} cannot be broadcast",
                    fmt_shape(a.shape()),
                    fmt_shape(b.shape())
                ))
            })?;
        let mut out_shape = batch.clone();
        out_shape.extend([m, n]);
        // Cast first, then take the layouts: a cast makes a fresh contiguous tensor, and
        // the operand's own strides and offset do not apply to it.
        // Narrow dtypes multiply in their compute dtype (int64, float32) and round back.
        let (a2, b2) = (a2.to_dtype(dt.compute())?, b2.to_dtype(dt.compute())?);
        if batch.is_empty() && a.ndim() == 2 && b.ndim() == 2 {
            // Two matrices: no batch to broadcast and no dim to remove (the views and
            // reshapes below were most of an 8x8 product's time).
            return backend.matmul(&a2, &b2, &out_shape)?.to_dtype(dt);
        }
        let la = a2
            .layout()
            .broadcast_to(&[batch.clone(), vec![m, k]].concat())?;
        let lb = b2
            .layout()
            .broadcast_to(&[batch.clone(), vec![k, n]].concat())?;
        let (a2, b2) = (a2.view_with(la), b2.view_with(lb));
        let out = backend.matmul(&a2, &b2, &out_shape)?;
        // Remove the dims added for 1-D operands.
        let mut final_shape = batch;
        if a.ndim() > 1 {
            final_shape.push(m);
        }
        if b.ndim() > 1 {
            final_shape.push(n);
        }
        out.to_dtype(dt)?.reshape_usize(&final_shape)
    }
}
