use super::{move_optional, move_parameter, parameter, Module};
use crate::{DType, Device, Result, Tensor};

/// `y = x @ weight.T + bias`, weight of shape (out_features, in_features), initialised
/// like PyTorch: weight and bias uniform in +-1/sqrt(in_features).
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl Linear {
    pub fn new(in_features: usize, out_features: usize, bias: bool, dtype: DType) -> Result<Self> {
        let bound = 1.0 / (in_features.max(1) as f64).sqrt();
        let uniform = |shape: &[usize]| -> Result<Tensor> {
            let _g = crate::autograd::no_grad();
            parameter(Tensor::rand(shape, dtype)?.mul(2.0 * bound)?.sub(bound)?)
        };
        Ok(Linear {
            weight: uniform(&[out_features, in_features])?,
            bias: if bias {
                Some(uniform(&[out_features])?)
            } else {
                None
            },
        })
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // One GEMM with the bias added in its store on the GPU; on the CPU the
        // transposed weight is a view that matmul reads without a copy, then the add.
        crate::ops::matmul::linear(x, &self.weight, self.bias.as_ref(), false)
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
