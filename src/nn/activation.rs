//! Parameter-free layers.

use super::Module;
use crate::{Result, Tensor, UnaryOp};

pub struct Identity;
pub struct ReLU;
pub struct Tanh;
pub struct Sigmoid;
/// `GELU { tanh: false }` is the exact erf form, `true` the tanh approximation.
pub struct GELU {
    pub tanh: bool,
}
pub struct LeakyReLU {
    pub negative_slope: f64,
}
/// Flattens every dimension from 1 on: (N, ...) -> (N, prod(...)).
pub struct Flatten;

impl Module for Identity {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.clone())
    }
}
impl Module for ReLU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.relu()
    }
}
impl Module for Tanh {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.tanh()
    }
}
impl Module for Sigmoid {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.sigmoid()
    }
}
impl Module for GELU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.unary(if self.tanh {
            UnaryOp::GeluTanh
        } else {
            UnaryOp::Gelu
        })
    }
}
impl Module for LeakyReLU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Tensor::where_(&x.gt(0.0)?, x, x.mul(self.negative_slope)?)
    }
}
impl Module for Flatten {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.ndim() < 2 {
            return Ok(x.clone());
        }
        x.reshape(&[x.shape()[0] as isize, -1])
    }
}
