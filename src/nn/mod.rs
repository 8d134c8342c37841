//! Layers for Rust users: the same math as `fg.nn` (the fused kernels of `ops::norm`
//! and `ops::dropout`), behind a small `Module` trait.
//!
//! ```
//! use ferrograd::nn::{Linear, Module, ReLU, Sequential};
//! use ferrograd::{DType, Tensor};
//! let model = Sequential::new()
//!     .add(Linear::new(4, 8, true, DType::F32).unwrap())
//!     .add(ReLU)
//!     .add(Linear::new(8, 2, true, DType::F32).unwrap());
//! let y = model.forward(&Tensor::randn(&[3, 4], DType::F32).unwrap()).unwrap();
//! assert_eq!(y.shape(), &[3, 2]);
//! let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
//! assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
//! ```

mod activation;
mod container;
mod conv;
mod dropout;
mod linear;
mod norm;

pub use activation::{Flatten, Identity, LeakyReLU, ReLU, Sigmoid, Tanh, GELU};
pub use container::{Residual, Sequential};
pub use conv::{Conv2d, MaxPool2d};
pub use dropout::Dropout;
pub use linear::Linear;
pub use norm::{BatchNorm, GroupNorm, LayerNorm, RMSNorm};

use crate::tensor::shape::fmt_shape;
use crate::{bail, Device, Result, Tensor};

/// A layer: a forward function plus its named parameters and buffers (PyTorch's
/// dotted state-dict names).
pub trait Module: Send + Sync {
    fn forward(&self, x: &Tensor) -> Result<Tensor>;

    /// Trainable tensors with their dotted names, in registration order.
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![]
    }
    /// Non-trainable state (BatchNorm's running statistics).
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        vec![]
    }
    /// Training mode on or off (Dropout and BatchNorm behave differently).
    fn set_training(&mut self, _training: bool) {}
    /// Moves the parameters and buffers to `device` (`model.to("wgpu")` in Python).
    /// Parameters are replaced by new leaves on the device (their gradients dropped), so
    /// build the optimizer after moving the model. Layers without tensors keep this no-op.
    fn to_device(&mut self, _device: Device) -> Result<()> {
        Ok(())
    }

    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters()
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }
    fn train(&mut self) {
        self.set_training(true)
    }
    fn eval(&mut self) {
        self.set_training(false)
    }
    /// Drops every parameter's gradient (PyTorch's `zero_grad(set_to_none=True)`).
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.set_grad(None);
        }
    }
    /// Parameters then buffers, detached, by name (save it with `ferrograd::io::save`).
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut all = self.named_parameters();
        all.extend(self.named_buffers());
        all.into_iter().map(|(n, t)| (n, t.detach())).collect()
    }
    /// Copies values into the parameters and buffers by name; every name must match
    /// and every shape agree (nothing is written otherwise).
    fn load_state_dict(&self, state: &[(String, Tensor)]) -> Result<()> {
        let mut own = self.named_parameters();
        own.extend(self.named_buffers());
        let find = |name: &str| state.iter().find(|(n, _)| n == name).map(|(_, t)| t);
        let missing: Vec<&str> = own
            .iter()
            .filter(|(n, _)| find(n).is_none())
            .map(|(n, _)| n.as_str())
            .collect();
        let unexpected: Vec<&str> = state
            .iter()
            .filter(|(n, _)| !own.iter().any(|(o, _)| o == n))
            .map(|(n, _)| n.as_str())
            .collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            bail!(
                Value,
                "error loading state dict: missing keys {missing:?}, unexpected keys {unexpected:?}"
            )
        }
        for (name, t) in &own {
            let v = find(name).expect("checked above");
            if v.shape() != t.shape() {
                bail!(
                    Shape,
                    "size mismatch for {name}: copying a tensor of shape {} into one of shape {}",
                    fmt_shape(v.shape()),
                    fmt_shape(t.shape())
                )
            }
        }
        let _g = crate::autograd::no_grad();
        for (name, t) in &own {
            crate::ops::copy::assign(t, find(name).expect("checked above"))?;
        }
        Ok(())
    }
}

/// Prefixes a child's names with "prefix.".
pub(crate) fn prefixed(prefix: &str, v: Vec<(String, Tensor)>) -> Vec<(String, Tensor)> {
    v.into_iter()
        .map(|(n, t)| (format!("{prefix}.{n}"), t))
        .collect()
}

/// Replaces the parameter `p` by a trainable leaf on `device` (a no-op where it is).
pub(crate) fn move_parameter(p: &mut Tensor, device: Device) -> Result<()> {
    if p.device() != device {
        *p = parameter(p.to_device(device)?)?;
    }
    Ok(())
}

/// `move_parameter` for an optional one (a bias, an affine weight).
pub(crate) fn move_optional(p: &mut Option<Tensor>, device: Device) -> Result<()> {
    match p {
        Some(t) => move_parameter(t, device),
        None => Ok(()),
    }
}

/// A trainable leaf holding `t`'s values.
pub(crate) fn parameter(t: Tensor) -> Result<Tensor> {
    let p = t.detach();
    p.set_requires_grad(true)?;
    Ok(p)
}

#[cfg(all(test, feature = "wgpu"))]
mod wgpu_tests {
    use super::*;
    use crate::DType;

    /// `to_device` moves every parameter and buffer, keeps them trainable leaves, and
    /// round-trips the values exactly; layers without tensors are untouched.
    #[test]
    fn to_device_moves_parameters_and_buffers() {
        if !crate::device::wgpu::is_available() {
            return; // no adapter on this machine: nothing to move to
        }
        let mut model = Sequential::new()
            .add(Linear::new(3, 4, true, DType::F32).unwrap())
            .add(LayerNorm::new(&[4], 1e-5, true, DType::F32).unwrap())
            .add(ReLU)
            .add(BatchNorm::new(4, 1e-5, Some(0.1), true, DType::F32).unwrap());
        let before: Vec<Vec<f64>> = model
            .state_dict()
            .iter()
            .map(|(_, t)| t.astype(DType::F64).unwrap().to_vec::<f64>().unwrap())
            .collect();
        model.to_device(Device::Wgpu).unwrap();
        for (name, p) in model.named_parameters() {
            assert_eq!(p.device(), Device::Wgpu, "{name}");
            assert!(p.requires_grad() && p.is_leaf(), "{name}");
        }
        for (name, b) in model.named_buffers() {
            assert_eq!(b.device(), Device::Wgpu, "{name}");
        }
        model.to_device(Device::Cpu).unwrap();
        let after: Vec<Vec<f64>> = model
            .state_dict()
            .iter()
            .map(|(_, t)| {
                assert_eq!(t.device(), Device::Cpu);
                t.astype(DType::F64).unwrap().to_vec::<f64>().unwrap()
            })
            .collect();
        assert_eq!(before, after);
    }
}
