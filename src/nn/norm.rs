//! Normalization layers over the fused kernels of `ops::norm`.

use super::{move_optional, parameter, Module};
use crate::ops::norm::{batch_norm, group_norm, layer_norm, rms_norm};
use crate::{bail, DType, Device, Result, Tensor};

fn affine(shape: &[usize], dtype: DType, on: bool, value: f64) -> Result<Option<Tensor>> {
    if !on {
        return Ok(None);
    }
    parameter(Tensor::full(shape, value.into(), dtype)?).map(Some)
}

fn named(pairs: [(&str, &Option<Tensor>); 2]) -> Vec<(String, Tensor)> {
    pairs
        .into_iter()
        .filter_map(|(n, t)| t.as_ref().map(|t| (n.to_string(), t.clone())))
        .collect()
}

/// Normalises over the trailing `normalized_shape` dims (biased variance, eps inside
/// the square root), then scales and shifts per element.
pub struct LayerNorm {
    pub normalized_shape: Vec<usize>,
    pub eps: f64,
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
}

impl LayerNorm {
    pub fn new(normalized_shape: &[usize], eps: f64, affine_: bool, dtype: DType) -> Result<Self> {
        Ok(LayerNorm {
            normalized_shape: normalized_shape.to_vec(),
            eps,
            weight: affine(normalized_shape, dtype, affine_, 1.0)?,
            bias: affine(normalized_shape, dtype, affine_, 0.0)?,
        })
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        layer_norm(
            x,
            &self.normalized_shape,
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.eps,
        )
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        named([("weight", &self.weight), ("bias", &self.bias)])
    }
    fn to_device(&mut self, device: Device) -> Result<()> {
        move_optional(&mut self.weight, device)?;
        move_optional(&mut self.bias, device)
    }
}

/// x / sqrt(mean(x^2) + eps) * weight; eps None is the dtype's machine epsilon.
pub struct RMSNorm {
    pub normalized_shape: Vec<usize>,
    pub eps: Option<f64>,
    pub weight: Option<Tensor>,
}

impl RMSNorm {
    pub fn new(
        normalized_shape: &[usize],
        eps: Option<f64>,
        affine_: bool,
        dtype: DType,
    ) -> Result<Self> {
        Ok(RMSNorm {
            normalized_shape: normalized_shape.to_vec(),
            eps,
            weight: affine(normalized_shape, dtype, affine_, 1.0)?,
        })
    }
}

impl Module for RMSNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        rms_norm(x, &self.normalized_shape, self.weight.as_ref(), self.eps)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        named([("weight", &self.weight), ("bias", &None)])
    }
    fn to_device(&mut self, device: Device) -> Result<()> {
        move_optional(&mut self.weight, device)
    }
}

/// Statistics per sample over groups of channels of an (N, C, *) input.
pub struct GroupNorm {
    pub num_groups: usize,
    pub eps: f64,
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
}

impl GroupNorm {
    pub fn new(
        num_groups: usize,
        num_channels: usize,
        eps: f64,
        affine_: bool,
        dtype: DType,
    ) -> Result<Self> {
        if num_groups == 0 || num_channels % num_groups != 0 {
            bail!(
                Value,
                "num_channels must be divisible by num_groups (got {num_channels} channels, {num_groups} groups)"
            )
        }
        Ok(GroupNorm {
            num_groups,
            eps,
            weight: affine(&[num_channels], dtype, affine_, 1.0)?,
            bias: affine(&[num_channels], dtype, affine_, 0.0)?,
        })
    }
}

impl Module for GroupNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        group_norm(
            x,
            self.num_groups,
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.eps,
        )
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        named([("weight", &self.weight), ("bias", &self.bias)])
    }
    fn to_device(&mut self, device: Device) -> Result<()> {
        move_optional(&mut self.weight, device)?;
        move_optional(&mut self.bias, device)
    }
}

/// Per-channel statistics over the batch (and spatial dims) of an (N, C, *) input:
/// batch statistics in training (updating the running ones), running ones in eval.
pub struct BatchNorm {
    pub num_features: usize,
    pub eps: f64,
    /// None: a cumulative average (factor 1/num_batches_tracked), as PyTorch.
    pub momentum: Option<f64>,
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    pub running_mean: Tensor,
    pub running_var: Tensor,
    /// An int64 0-d tensor (a buffer, so it is saved and loaded with the rest).
    pub num_batches_tracked: Tensor,
    pub training: bool,
}

impl BatchNorm {
    pub fn new(
        num_features: usize,
        eps: f64,
        momentum: Option<f64>,
        affine_: bool,
        dtype: DType,
    ) -> Result<Self> {
        Ok(BatchNorm {
            num_features,
            eps,
            momentum,
            weight: affine(&[num_features], dtype, affine_, 1.0)?,
            bias: affine(&[num_features], dtype, affine_, 0.0)?,
            running_mean: Tensor::zeros_dtype(&[num_features], dtype)?,
            running_var: Tensor::ones(&[num_features], dtype)?,
            num_batches_tracked: Tensor::scalar(0i64),
            training: true,
        })
    }
}

impl Module for BatchNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let factor = if self.training {
            let _g = crate::autograd::no_grad();
            let count = &self.num_batches_tracked;
            match self.momentum {
                // The count is incremented where it lives: no readback on a GPU.
                Some(m) => {
                    crate::ops::copy::assign(count, &count.add(1i64)?)?;
                    m
                }
                // The cumulative average needs the count on the host.
                None => {
                    let n = count.item()? as i64 + 1;
                    let value = Tensor::scalar(n).to_device(count.device())?;
                    crate::ops::copy::assign(count, &value)?;
                    1.0 / n as f64
                }
            }
        } else {
            0.0
        };
        batch_norm(
            x,
            Some(&self.running_mean),
            Some(&self.running_var),
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.training,
            factor,
            self.eps,
        )
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        named([("weight", &self.weight), ("bias", &self.bias)])
    }
    fn to_device(&mut self, device: Device) -> Result<()> {
        move_optional(&mut self.weight, device)?;
        move_optional(&mut self.bias, device)?;
        for b in [
            &mut self.running_mean,
            &mut self.running_var,
            &mut self.num_batches_tracked,
        ] {
            *b = b.to_device(device)?;
        }
        Ok(())
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        vec![
            ("running_mean".into(), self.running_mean.clone()),
            ("running_var".into(), self.running_var.clone()),
            (
                "num_batches_tracked".into(),
                self.num_batches_tracked.clone(),
            ),
        ]
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}
