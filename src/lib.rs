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
//!
//! ## Features
//!
//! - `wgpu` (default): the GPU backend, `Device::Wgpu`.
//! - `python`: the PyO3 bindings (maturin turns it on; a stable-ABI extension for
//!   CPython 3.9 and later).
//! - `ndarray`: conversions to and from the [`ndarray`](https://docs.rs/ndarray) crate,
//!   re-exported as `ferrograd::ndarray`. `Tensor::from(array)` adopts an owned array's
//!   buffer without copying (any strides); `Tensor::to_ndarray` copies any tensor, on
//!   any device, into a standard-layout `ArrayD`; `Tensor::as_ndarray_view` borrows a
//!   CPU tensor as an `ArrayViewD` with the tensor's own strides.
//!
//! ```
//! # #[cfg(feature = "ndarray")] {
//! use ferrograd::ndarray::{array, Axis};
//! use ferrograd::Tensor;
//! let a = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! let t = Tensor::from(a.clone()); // no copy: the tensor owns the array's Vec now
//! let tt = t.t();                  // a transposed view
//! assert_eq!(tt.as_ndarray_view::<f32>().unwrap(), a.t().into_dyn()); // zero-copy view
//! assert_eq!(tt.to_ndarray::<f32>().unwrap().index_axis(Axis(0), 2), array![3.0, 6.0].into_dyn());
//! assert!(t.to_ndarray::<f64>().is_err()); // the element type must be the dtype
//! # }
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
/// The `ndarray` crate this build converts to and from (feature `ndarray`), so callers
/// name the same version: `ferrograd::ndarray::ArrayD`.
#[cfg(feature = "ndarray")]
pub use ndarray;
pub use ops::dropout::dropout;
pub use ops::norm::{batch_norm, group_norm, layer_norm, rms_norm};
pub use ops::simd::cpu_capability;
pub use ops::{BinaryOp, Operand, UnaryOp};
pub use random::manual_seed;
pub use tensor::buffer_cache::empty_cache;
pub use tensor::index::TensorIndex;
pub use tensor::{DType, Element, Layout, Scalar, Tensor};
