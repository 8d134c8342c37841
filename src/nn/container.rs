use super::{prefixed, Module};
use crate::{Device, Result, Tensor};

/// Layers applied in order; parameter names are "<index>.<name>".
#[derive(Default)]
pub struct Sequential {
    pub layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends a layer (builder style).
    pub fn add(mut self, layer: impl Module + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }
    pub fn push(&mut self, layer: Box<dyn Module>) {
        self.layers.push(layer);
    }
}

impl Module for Sequential {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(&h)?;
        }
        Ok(h)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let it = self.layers.iter().enumerate();
        it.flat_map(|(i, l)| prefixed(&i.to_string(), l.named_parameters()))
            .collect()
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let it = self.layers.iter().enumerate();
        it.flat_map(|(i, l)| prefixed(&i.to_string(), l.named_buffers()))
            .collect()
    }
    fn set_training(&mut self, training: bool) {
        for l in &mut self.layers {
            l.set_training(training);
        }
    }
    fn to_device(&mut self, device: Device) -> Result<()> {
        self.layers.iter_mut().try_for_each(|l| l.to_device(device))
    }
}

/// `x + fn(x)`, the skip connection of residual networks; names are "fn.<name>".
pub struct Residual {
    pub inner: Box<dyn Module>,
}

impl Residual {
    pub fn new(inner: impl Module + 'static) -> Self {
        Residual {
            inner: Box::new(inner),
        }
    }
}

impl Module for Residual {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.add(&self.inner.forward(x)?)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        prefixed("fn", self.inner.named_parameters())
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        prefixed("fn", self.inner.named_buffers())
    }
    fn set_training(&mut self, training: bool) {
        self.inner.set_training(training);
    }
    fn to_device(&mut self, device: Device) -> Result<()> {
        self.inner.to_device(device)
    }
}
