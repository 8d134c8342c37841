use super::Module;
use crate::{bail, Result, Tensor};

/// Zeroes each element with probability `p` in training (scaling the rest by
/// 1/(1-p)); the identity in eval mode.
pub struct Dropout {
    pub p: f64,
    pub training: bool,
}

impl Dropout {
    pub fn new(p: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            bail!(
                Value,
                "dropout probability has to be between 0 and 1, but got {p}"
            )
        }
        Ok(Dropout { p, training: true })
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        crate::ops::dropout::dropout(x, self.p, self.training)
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}
