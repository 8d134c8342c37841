//! Operations, one module per family.

#[macro_use]
pub(crate) mod simd;
pub mod complex;
pub mod conv;
pub mod copy;
pub mod cross_entropy;
pub mod dropout;
pub mod elementwise;
pub mod index;
pub mod join;
pub(crate) mod lanes;
pub mod linalg;
pub mod matmul;
pub mod norm;
pub mod random;
pub mod reduce;
pub mod softmax;
pub(crate) mod util;

pub use elementwise::{BinaryOp, Operand, UnaryOp};
