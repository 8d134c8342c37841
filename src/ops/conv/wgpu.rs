//! TEMPORARY: the wgpu convolution kernels are being written (helper WGPU replaces this).

use super::{ConvKernels, ConvShape, PoolShape};
use crate::backend::Wgpu;
use crate::tensor::Tensor;
use crate::{bail, Result};

impl ConvKernels for Wgpu {
    fn conv2d(&self, _: &Tensor, _: &Tensor, _: &ConvShape) -> Result<Tensor> {
        bail!(Device, "conv2d is not yet implemented on wgpu")
    }
    fn conv2d_input_grad(&self, _: &Tensor, _: &Tensor, _: &ConvShape) -> Result<Tensor> {
        bail!(Device, "conv_transpose2d is not yet implemented on wgpu")
    }
    fn conv2d_weight_grad(&self, _: &Tensor, _: &Tensor, _: &ConvShape) -> Result<Tensor> {
        bail!(Device, "conv2d is not yet implemented on wgpu")
    }
    fn max_pool2d(&self, _: &Tensor, _: &PoolShape) -> Result<(Tensor, Tensor)> {
        bail!(Device, "max_pool2d is not yet implemented on wgpu")
    }
    fn max_pool2d_backward(&self, _: &Tensor, _: &Tensor, _: &PoolShape) -> Result<Tensor> {
        bail!(Device, "max_pool2d is not yet implemented on wgpu")
    }
}
