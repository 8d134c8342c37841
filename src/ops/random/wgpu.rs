//! The wgpu side of the random fills: one Philox kernel (`philox.wgsl`) per output kind,
//! each invocation computing one counter block. Nothing is uploaded: the stream travels
//! in the launch's parameter uniform.

use bytemuck::{Pod, Zeroable};

use super::RandomKernels;
use crate::backend::Wgpu;
use crate::device::wgpu::dispatch::launch;
use crate::device::wgpu::{context, WgpuStorage};
use crate::random::PhiloxStream;
use crate::tensor::shape::checked_numel;
use crate::tensor::{DType, Storage, Tensor};
use crate::{bail, Result};

/// Philox4x32-10 itself, shared with dropout's kernel.
pub(crate) const PHILOX_CORE_WGSL: &str = include_str!("philox_core.wgsl");
/// The Philox kernel with the integer Box-Muller of randn after it.
const PHILOX_WGSL: &str = concat!(
    include_str!("philox_core.wgsl"),
    "\n",
    include_str!("philox.wgsl"),
    "\n",
    include_str!("normal.wgsl")
);
/// Invocations per workgroup (`@workgroup_size` in philox.wgsl).
const WORKGROUP: u64 = 256;

/// What the kernel writes: `MODE` in philox.wgsl.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    Rand = 0,
    Randn = 1,
    RandintI32 = 2,
    RandintF32 = 3,
    RandintBool = 4,
    /// The Philox words themselves: only the tests read them.
    #[cfg_attr(not(test), allow(dead_code))]
    Raw = 5,
    /// randn of counter blocks the tests upload (see `normal_of_blocks`).
    #[cfg_attr(not(test), allow(dead_code))]
    NormalOfBlocks = 6,
}

impl Mode {
    /// Elements per counter block.
    fn per_block(self) -> usize {
        match self {
            Mode::Rand | Mode::Raw => 4,
            _ => 2,
        }
    }
}

/// Mirrors `Params` in philox.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    blocks: u32,
    seed_lo: u32,
    seed_hi: u32,
    offset_lo: u32,
    offset_hi: u32,
    first_lo: u32,
    first_hi: u32,
    low: i32,
    range: u32,
    _pad0: u32,
    _pad1: u32,
}

/// `n` words of `mode` from `stream`, element i from counter block `first_block + i /
/// per_block` (a fresh draw starts at block 0; tests start near 2^32 to cross the carry).
/// `low` and `range` (0 meaning 2^32) are randint's.
pub(crate) fn philox_fill(
    mode: Mode,
    n: usize,
    stream: PhiloxStream,
    first_block: u64,
    low: i32,
    range: u32,
) -> Result<WgpuStorage> {
    let out = WgpuStorage::uninit(n)?;
    if n == 0 {
        return Ok(out);
    }
    let blocks = n.div_ceil(mode.per_block());
    let p = Params {
        n: n as u32, // below 2^31: WgpuStorage::uninit checked it
        blocks: blocks as u32,
        seed_lo: stream.seed as u32,
        seed_hi: (stream.seed >> 32) as u32,
        offset_lo: stream.offset as u32,
        offset_hi: (stream.offset >> 32) as u32,
        first_lo: first_block as u32,
        first_hi: (first_block >> 32) as u32,
        low,
        range,
        _pad0: 0,
        _pad1: 0,
    };
    run(mode, &p, &out, blocks)?;
    Ok(out)
}

/// Launches the Philox kernel specialised to `mode`, one thread per counter block.
fn run(mode: Mode, p: &Params, out: &WgpuStorage, blocks: usize) -> Result<()> {
    let ctx = context()?;
    let key = format!("philox-{}", mode as u32);
    let pipeline = ctx.pipeline(
        &key,
        || PHILOX_WGSL.to_string(),
        &[("MODE", mode as u32 as f64)],
    )?;
    let groups = (blocks as u64).div_ceil(WORKGROUP);
    launch(
        ctx,
        &pipeline,
        bytemuck::bytes_of(p),
        &[&out.buffer],
        groups,
    )
}

/// The kernel's float32 randn pair (as bits) of each given block: the tests feed it
/// inputs that a stream reaches only once in 2^50 draws (u1 = 1, u2 on an octant edge).
#[cfg(test)]
pub(crate) fn normal_of_blocks(blocks: &[[u32; 4]]) -> Result<Vec<[u32; 2]>> {
    let words: Vec<u32> = blocks.iter().flatten().copied().collect();
    let buf = WgpuStorage::from_host(&words)?;
    if blocks.is_empty() {
        return Ok(Vec::new());
    }
    let p = Params {
        n: words.len() as u32,
        blocks: blocks.len() as u32,
        seed_lo: 0,
        seed_hi: 0,
        offset_lo: 0,
        offset_hi: 0,
        first_lo: 0,
        first_hi: 0,
        low: 0,
        range: 0,
        _pad0: 0,
        _pad1: 0,
    };
    run(Mode::NormalOfBlocks, &p, &buf, blocks.len())?;
    let out: Vec<u32> = buf.to_host()?;
    Ok(out.chunks(4).map(|c| [c[0], c[1]]).collect())
}

fn fill(
    shape: &[usize],
    dtype: DType,
    mode: Mode,
    stream: PhiloxStream,
    low: i32,
    range: u32,
) -> Result<Tensor> {
    let n = checked_numel(shape)?;
    let out = philox_fill(mode, n, stream, 0, low, range)?;
    Ok(Tensor::from_storage(
        Storage::from_wgpu(out, dtype, n),
        shape,
    ))
}

fn float32_only(what: &str, dtype: DType) -> Result<()> {
    if dtype != DType::F32 {
        bail!(
            DType,
            "{what} on wgpu supports float32 tensors, got {dtype}"
        )
    }
    Ok(())
}

impl RandomKernels for Wgpu {
    fn rand(&self, shape: &[usize], dtype: DType, stream: PhiloxStream) -> Result<Tensor> {
        float32_only("rand", dtype)?;
        fill(shape, dtype, Mode::Rand, stream, 0, 0)
    }

    fn randn(&self, shape: &[usize], dtype: DType, stream: PhiloxStream) -> Result<Tensor> {
        float32_only("randn", dtype)?;
        fill(shape, dtype, Mode::Randn, stream, 0, 0)
    }

    fn randint(
        &self,
        low: i64,
        high: i64,
        shape: &[usize],
        dtype: DType,
        stream: PhiloxStream,
    ) -> Result<Tensor> {
        self.check_randint(low, high, dtype)?;
        let mode = match dtype {
            DType::F32 => Mode::RandintF32,
            DType::Bool => Mode::RandintBool,
            _ => Mode::RandintI32,
        };
        // high - low is in 1..=2^32 (checked); 2^32 travels as 0.
        let range = (high - low) as u64 as u32;
        fill(shape, dtype, mode, stream, low as i32, range)
    }

    fn check_randint(&self, low: i64, high: i64, _dtype: DType) -> Result<()> {
        // The kernel draws int32 values (int64 tensors hold int32 words on the GPU).
        if low < i32::MIN as i64 || high > i32::MAX as i64 + 1 {
            bail!(
                Value,
                "randint on wgpu draws int32 values: low ({low}) and high - 1 ({}) must lie in [{}, {}]",
                high - 1,
                i32::MIN,
                i32::MAX
            )
        }
        Ok(())
    }
}
