//! Complex products (sums and means run on the pairs of reals, see `reduce/mod.rs`).

use crate::ops::elementwise::math::Arith;
use crate::tensor::{DType, Element, Tensor};
use crate::Result;

/// The product over `ax`, multiplying in index order.
pub(super) fn prod(x: &Tensor, ax: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    let n = x.ndim();
    let kept: Vec<usize> = (0..n).filter(|d| !ax.contains(d)).collect();
    let perm: Vec<isize> = kept.iter().chain(ax).map(|&d| d as isize).collect();
    let moved = x.permute(&perm)?.contiguous()?;
    let row: usize = ax.iter().map(|&a| x.shape()[a]).product();
    match x.dtype() {
        DType::C64 => rows::<crate::tensor::Complex64>(&moved, row, &shape),
        _ => rows::<crate::tensor::Complex128>(&moved, row, &shape),
    }
}

fn rows<T: Element + Arith>(moved: &Tensor, row: usize, shape: &[usize]) -> Result<Tensor> {
    let src = moved.contiguous_slice::<T>().expect("contiguous");
    let outs = crate::tensor::shape::numel(shape);
    let mut out = crate::tensor::storage::try_with_capacity::<T>(outs)?;
    for r in 0..outs {
        let vals = &src[r * row..(r + 1) * row];
        out.push(vals.iter().fold(T::one(), |acc, &v| acc.mul(v)));
    }
    Tensor::from_vec(out, shape)
}
