//! # ferrograd
//!
//! A small deep-learning library: n-dimensional tensors with NumPy semantics on the CPU
//! (parallelised with rayon) and on the GPU (wgpu compute shaders), with a Python front
//! (`import ferrograd as fg`, feature `python`) and a Rust API that stands alone.
//!
//! ```
//! use ferrograd::{Tensor, DType};
//! let a = Tensor::arange(0.0, 6.0, 1.0, DType::F32).unwrap().reshape(&[2, 3]).unwrap();
//! let b = a.matmul(&a.t()).unwrap();
//! assert_eq!(b.shape(), &[2, 2]);
//! assert_eq!(b.to_vec::<f32>().unwrap(), vec![5.0, 14.0, 14.0, 50.0]);
//! ```

pub mod autograd;
pub mod backend;
pub mod device;
mod error;
pub mod io;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod random;
pub mod tensor;

#[cfg(feature = "python")]
mod python;

pub use device::cpu::{num_threads, set_num_threads};
pub use device::Device;
pub use error::{Error, Result};
pub use ops::dropout::dropout;
pub use ops::norm::{batch_norm, group_norm, layer_norm, rms_norm};
pub use ops::simd::cpu_capability;
pub use ops::{BinaryOp, Operand, UnaryOp};
pub use random::manual_seed;
pub use tensor::buffer_cache::empty_cache;
pub use tensor::index::TensorIndex;
pub use tensor::{DType, Element, Layout, Scalar, Tensor};
