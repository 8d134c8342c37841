//! Routes ops on wgpu tensors to the WGSL kernels in `device::wgpu`. The GPU backend is
//! a first slice: float32 add, mul, relu, sum and matmul; anything else says so clearly.

use crate::device::wgpu as gpu;
use crate::ops::{BinaryOp, UnaryOp};
use crate::tensor::shape::numel;
use crate::tensor::{Storage, Tensor};
use crate::{bail, Result};

fn wrap(s: gpu::WgpuStorage, shape: &[usize]) -> Tensor {
    Tensor::from_storage(Storage::from_wgpu(s, numel(shape)), shape)
}

fn not_yet(what: &str) -> crate::Error {
    crate::Error::Device(format!(
        "{what} is not implemented on wgpu yet (the GPU backend has float32 add, mul, relu, sum and matmul); move the tensor with .to(\"cpu\")"
    ))
}

pub fn binary(op: BinaryOp, a: &Tensor, b: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let gop = match op {
        BinaryOp::Add => gpu::BinaryOp::Add,
        BinaryOp::Mul => gpu::BinaryOp::Mul,
        other => return Err(not_yet(&format!("{other:?}"))),
    };
    let out = gpu::binary(
        gop,
        a.storage().wgpu()?,
        a.layout(),
        b.storage().wgpu()?,
        b.layout(),
        shape,
    )?;
    Ok(wrap(out, shape))
}

pub fn unary(op: UnaryOp, x: &Tensor) -> Result<Tensor> {
    match op {
        UnaryOp::Relu => Ok(wrap(gpu::relu(x.storage().wgpu()?, x.layout())?, x.shape())),
        other => Err(not_yet(&format!("{other:?}"))),
    }
}

/// a: (batch..., m, k), b: (batch..., k, n), both already broadcast to the same batch.
pub fn matmul(a: &Tensor, b: &Tensor, out_shape: &[usize]) -> Result<Tensor> {
    let nd = out_shape.len();
    let batch = numel(&out_shape[..nd - 2]);
    let to3 = |t: &Tensor| -> Result<Tensor> {
        let (r, c) = (t.shape()[nd - 2] as isize, t.shape()[nd - 1] as isize);
        match t.layout().reshape_view(&[batch, r as usize, c as usize]) {
            Some(l) => Ok(t.view_with(l)),
            // Batch dims that can't merge into one stride: materialise on the GPU.
            None => t.contiguous()?.reshape(&[batch as isize, r, c]),
        }
    };
    let (a3, b3) = (to3(a)?, to3(b)?);
    if a3.ndim() != 3 || b3.ndim() != 3 {
        bail!(Device, "wgpu matmul needs 3-D operands")
    }
    let out = gpu::matmul(
        a3.storage().wgpu()?,
        a3.layout(),
        b3.storage().wgpu()?,
        b3.layout(),
    )?;
    Ok(wrap(out, out_shape))
}
