//! GPU backend: float32 tensors in wgpu buffers, computed by WGSL compute shaders.
//!
//! The tensor layer keeps shapes and views on the host (`Layout`) and hands this module
//! a buffer plus a layout per operand; every kernel reads strided views directly, so
//! transposes, slices, flips and broadcasts reach the GPU without a copy, and every op
//! writes a new contiguous buffer. Each op records its dispatches into one command
//! encoder and submits without waiting; only `WgpuStorage::to_host` waits for the GPU.
//!
//! Layout of this folder: `context` (the global device and pipeline cache), `storage`
//! (buffers and host transfers), `dispatch` (binding and grid conventions), `strided`
//! (layout packing), then one file per kernel family with its `.wgsl` beside it.

mod context;
mod dispatch;
mod elementwise;
mod matmul;
mod reduce;
mod storage;
mod strided;

#[cfg(test)]
mod tests;

pub use context::{adapter_name, context, is_available, WgpuContext};
pub use elementwise::{binary, contiguous, relu, BinaryOp};
pub use matmul::matmul;
pub use reduce::sum;
pub use storage::WgpuStorage;
