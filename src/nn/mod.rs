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
mod dropout;
mod linear;
mod norm;

pub use activation::{Flatten, Identity, LeakyReLU, ReLU, Sigmoid, Tanh, GELU};
pub use container::{Residual, Sequential};
pub use dropout::Dropout;
pub use linear::Linear;
pub use norm::{BatchNorm, GroupNorm, LayerNorm, RMSNorm};

use crate::tensor::shape::fmt_shape;
use crate::{bail, Result, Tensor};

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

/// A trainable leaf holding `t`'s values.
pub(crate) fn parameter(t: Tensor) -> Result<Tensor> {
    let p = t.detach();
    p.set_requires_grad(true)?;
    Ok(p)
}
