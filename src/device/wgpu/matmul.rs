//! Batched matrix multiply: a shared-memory tiled kernel over strided 3-D views.

use bytemuck::{Pod, Zeroable};

use super::context::context;
use super::dispatch::dispatch;
use super::storage::WgpuStorage;
use super::strided::{check_view, to_i32, to_u32};
use crate::tensor::layout::Layout;
use crate::tensor::shape::fmt_shape;
use crate::{bail, Result};

const MATMUL_WGSL: &str = include_str!("matmul.wgsl");
/// Output tile side computed by one workgroup (BM = BN in matmul.wgsl).
const TILE: usize = 64;

/// Mirrors `Params` in matmul.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    batch: u32,
    m: u32,
    n: u32,
    k: u32,
    a_offset: i32,
    a_sb: i32,
    a_sm: i32,
    a_sk: i32,
    b_offset: i32,
    b_sb: i32,
    b_sk: i32,
    b_sn: i32,
    tiles_m: u32,
    tiles_n: u32,
    _pad0: u32,
    _pad1: u32,
}

/// The three strides of a 3-D view, with size-1 dims' strides zeroed: they are never
/// stepped along, and may hold any value (even one too large for the kernel's i32).
fn strides3(l: &Layout) -> Result<[i32; 3]> {
    let s = |d: usize| {
        if l.shape[d] == 1 {
            Ok(0)
        } else {
            to_i32(l.strides[d])
        }
    };
    Ok([s(0)?, s(1)?, s(2)?])
}

/// `C[b] = A[b] @ B[b]` for `a` of layout (batch, m, k) and `b` of layout (batch, k, n),
/// both any strided views (a batch stride of 0 broadcasts). Output contiguous (batch, m, n).
pub fn matmul(a: &WgpuStorage, la: &Layout, b: &WgpuStorage, lb: &Layout) -> Result<WgpuStorage> {
    if la.shape.len() != 3 || lb.shape.len() != 3 {
        bail!(
            Shape,
            "wgpu matmul takes 3-D (batch, m, k) @ (batch, k, n) views, got {} and {}",
            fmt_shape(&la.shape),
            fmt_shape(&lb.shape)
        )
    }
    let (batch, m, k) = (la.shape[0], la.shape[1], la.shape[2]);
    let n = lb.shape[2];
    if lb.shape[0] != batch || lb.shape[1] != k {
        bail!(
            Shape,
            "matmul: shapes {} and {} do not fit (batch, m, k) @ (batch, k, n)",
            fmt_shape(&la.shape),
            fmt_shape(&lb.shape)
        )
    }
    let ctx = context()?;
    check_view(a, la)?;
    check_view(b, lb)?;
    let out = WgpuStorage::zeros(batch * m * n)?;
    // An empty output needs nothing; k = 0 leaves the zeros the buffer starts with.
    if batch * m * n == 0 || k == 0 {
        return Ok(out);
    }
    let [a_sb, a_sm, a_sk] = strides3(la)?;
    let [b_sb, b_sk, b_sn] = strides3(lb)?;
    let (tiles_m, tiles_n) = (m.div_ceil(TILE), n.div_ceil(TILE));
    let p = Params {
        batch: to_u32(batch)?,
        m: to_u32(m)?,
        n: to_u32(n)?,
        k: to_u32(k)?,
        a_offset: to_i32(la.offset as isize)?,
        a_sb,
        a_sm,
        a_sk,
        b_offset: to_i32(lb.offset as isize)?,
        b_sb,
        b_sk,
        b_sn,
        tiles_m: to_u32(tiles_m)?,
        tiles_n: to_u32(tiles_n)?,
        _pad0: 0,
        _pad1: 0,
    };
    let pipeline = ctx.pipeline("matmul", MATMUL_WGSL, &[])?;
    let groups = (batch * tiles_m * tiles_n) as u64;
    ctx.submit("matmul", |enc| {
        let bufs = [&a.buffer, &b.buffer, &out.buffer];
        dispatch(ctx, enc, &pipeline, bytemuck::bytes_of(&p), &bufs, groups)
    })?;
    Ok(out)
}
