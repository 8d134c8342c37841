//! The wgpu runtime: the device, its memory and the command stream. Kernels live with
//! their op families (`ops/<family>/wgpu.rs` and the `.wgsl` beside it); this folder has
//! what they share.
//!
//! The tensor layer keeps shapes and views on the host (`Layout`) and hands kernels a
//! buffer plus a layout per operand; kernels read strided views directly, so transposes,
//! slices, flips and broadcasts reach the GPU without a copy.
//!
//! Layout of this folder: `context` (the global device and pipeline cache), `allocator`
//! (the caching allocator), `stream` (the lazy command stream), `storage` (buffers and
//! host transfers), `dispatch` (binding and grid conventions), `checks` (errors found by kernels), `strided` (layout
//! packing) and `map` (the generated strided elementwise kernel).

mod allocator;
pub(crate) mod checks;
mod context;
pub(crate) mod dispatch;
pub(crate) mod map;
mod storage;
mod stream;
pub(crate) mod strided;

pub use context::{adapter_name, context, is_available, started, WgpuContext};
pub use storage::WgpuStorage;
