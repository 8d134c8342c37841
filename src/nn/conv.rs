use super::{move_optional, move_parameter, parameter, Module};
use crate::ops::conv::ConvParams;
use crate::{DType, Device, Result, Tensor};

/// 2-D convolution over (N, C, H, W): weight (out, in / groups, kh, kw) and an optional
/// bias (out,), both initialised like PyTorch's Conv2d: uniform in +-1/sqrt(fan_in)
/// with fan_in = in / groups * kh * kw.
pub struct Conv2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub params: ConvParams,
}

impl Conv2d {
    /// `kernel`, and `params`' stride, padding and dilation, are (height, width).
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        params: ConvParams,
        bias: bool,
        dtype: DType,
    ) -> Result<Self> {
        let g = params.groups.max(1);
        if in_channels % g != 0 || out_channels % g != 0 {
            crate::bail!(
                Value,
                "Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({g})"
            )
        }
        let fan_in = in_channels / g * kernel.0 * kernel.1;
        let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
        let uniform = |shape: &[usize]| -> Result<Tensor> {
            let _g = crate::autograd::no_grad();
            parameter(Tensor::rand(shape, dtype)?.mul(2.0 * bound)?.sub(bound)?)
        };
        Ok(Conv2d {
            weight: uniform(&[out_channels, in_channels / g, kernel.0, kernel.1])?,
            bias: if bias {
                Some(uniform(&[out_channels])?)
            } else {
                None
            },
            params,
        })
    }
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.conv2d(&self.weight, self.params)?;
        match &self.bias {
            Some(b) => y.add(&b.reshape(&[1, -1, 1, 1])?),
            None => Ok(y),
        }
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = vec![("weight".to_string(), self.weight.clone())];
        if let Some(b) = &self.bias {
            v.push(("bias".to_string(), b.clone()));
        }
        v
    }
    fn to_device(&mut self, device: Device) -> Result<()> {
        move_parameter(&mut self.weight, device)?;
        move_optional(&mut self.bias, device)
    }
}

/// Max pooling over (N, C, H, W) windows (no padding, dilation 1), PyTorch's MaxPool2d.
pub struct MaxPool2d {
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
}

impl Module for MaxPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(
            x.max_pool2d(self.kernel, self.stride, (0, 0), (1, 1), false)?
                .0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_pool_stack_shapes_and_init() {
        let p = ConvParams {
            stride: (1, 1),
            padding: (1, 1),
            dilation: (1, 1),
            groups: 1,
        };
        let conv = Conv2d::new(3, 8, (3, 3), p, true, DType::F32).unwrap();
        let w = conv.weight.to_vec::<f32>().unwrap();
        let bound = 1.0 / (27f32).sqrt();
        assert!(w.iter().all(|v| v.abs() <= bound) && w.iter().any(|v| v.abs() > 0.5 * bound));
        let x = Tensor::rand(&[2, 3, 10, 10], DType::F32).unwrap();
        let y = conv.forward(&x).unwrap();
        assert_eq!(y.shape(), &[2, 8, 10, 10]);
        let pool = MaxPool2d {
            kernel: (2, 2),
            stride: (2, 2),
        };
        assert_eq!(pool.forward(&y).unwrap().shape(), &[2, 8, 5, 5]);
        let bad = Conv2d::new(
            3,
            8,
            (3, 3),
            ConvParams { groups: 2, ..p },
            true,
            DType::F32,
        );
        assert!(bad.is_err());
    }
}
