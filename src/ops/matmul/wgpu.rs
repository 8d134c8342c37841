//! The wgpu side of matmul: a shared-memory tiled kernel over strided 3-D views, so
//! transposed and broadcast operands are read in place.

use bytemuck::{Pod, Zeroable};

use super::MatmulKernels;
use crate::backend::Wgpu;
use crate::device::wgpu::dispatch::launch;
use crate::device::wgpu::strided::{check_view, to_i32, to_u32};
use crate::device::wgpu::{context, WgpuStorage};
use crate::tensor::layout::Layout;
use crate::tensor::shape::{fmt_shape, numel};
use crate::tensor::{DType, Storage, Tensor};
use crate::{bail, Result};

impl MatmulKernels for Wgpu {
    fn linear(
        &self,
        x: &Tensor,
        w: &Tensor,
        bias: Option<&Tensor>,
        relu: bool,
    ) -> Result<Option<Tensor>> {
        if x.dtype() != DType::F32 {
            return Ok(None);
        }
        self.linear_fused(x, w, bias, relu).map(Some)
    }
    fn matmul(&self, a: &Tensor, b: &Tensor, out_shape: &[usize]) -> Result<Tensor> {
        if a.dtype() != DType::F32 {
            bail!(
                DType,
                "matmul on wgpu supports float32 tensors, got {}",
                a.dtype()
            )
        }
        let nd = out_shape.len();
        let batch = numel(&out_shape[..nd - 2]);
        // Batch dims merge into one when their strides allow (always for broadcast or
        // contiguous batches); otherwise the operand is made contiguous on the GPU.
        let to3 = |t: &Tensor| -> Result<Tensor> {
            let (r, c) = (t.shape()[nd - 2], t.shape()[nd - 1]);
            match t.layout().reshape_view(&[batch, r, c]) {
                Some(l) => Ok(t.view_with(l)),
                None => t.contiguous()?.reshape_usize(&[batch, r, c]),
            }
        };
        let (a3, b3) = (to3(a)?, to3(b)?);
        let out = matmul3(
            a3.storage().wgpu()?,
            a3.layout(),
            b3.storage().wgpu()?,
            b3.layout(),
        )?;
        Ok(Tensor::from_storage(
            Storage::from_wgpu(out, DType::F32, numel(out_shape)),
            out_shape,
        ))
    }
}

impl Wgpu {
    /// Linear's forward on the GPU: one GEMM whose store adds the bias (and applies
    /// ReLU); the weight is read transposed in place. x: (..., k) is taken as m rows.
    fn linear_fused(
        &self,
        x: &Tensor,
        w: &Tensor,
        bias: Option<&Tensor>,
        relu: bool,
    ) -> Result<Tensor> {
        let (k, n) = (w.shape()[1], w.shape()[0]);
        let lead = &x.shape()[..x.ndim() - 1];
        let m: usize = lead.iter().product();
        let mut out_shape = lead.to_vec();
        out_shape.push(n);
        // A view where the strides allow, else a copy on the device.
        let x = x.reshape_usize(&[m, k])?;
        let lx = Layout {
            shape: smallvec::smallvec![1, m, k],
            strides: smallvec::smallvec![0, x.layout().strides[0], x.layout().strides[1]],
            offset: x.offset(),
        };
        // w^T as a (1, k, n) view of w's (n, k) storage.
        let lw = Layout {
            shape: smallvec::smallvec![1, k, n],
            strides: smallvec::smallvec![0, w.layout().strides[1], w.layout().strides[0]],
            offset: w.offset(),
        };
        let bias = match bias {
            Some(b) if !b.is_contiguous() => Some(b.contiguous()?),
            b => b.cloned(),
        };
        let epi = Epilogue {
            bias: match &bias {
                Some(b) => Some((b.storage().wgpu()?, b.offset())),
                None => None,
            },
            relu,
        };
        let out = gemm(x.storage().wgpu()?, &lx, w.storage().wgpu()?, &lw, epi)?;
        Ok(Tensor::from_storage(
            Storage::from_wgpu(out, DType::F32, m * n),
            &out_shape,
        ))
    }
}

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
    bias_offset: u32,
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

/// The identity epilogue of plain matmul.
const EPILOGUE_NONE: &str = "\nfn epilogue(col: u32, v: f32) -> f32 { return v; }\n";
/// Linear's epilogues: the bias (binding 4, read at `bias_offset + col`, col < n) and/or
/// ReLU applied to each output element as it is stored.
const EPILOGUE_BIAS: &str = "\n@group(0) @binding(4) var<storage, read> bias: array<f32>;
fn epilogue(col: u32, v: f32) -> f32 { return v + bias[p.bias_offset + col]; }\n";
const EPILOGUE_BIAS_RELU: &str = "\n@group(0) @binding(4) var<storage, read> bias: array<f32>;
fn epilogue(col: u32, v: f32) -> f32 { return max(v + bias[p.bias_offset + col], 0.0); }\n";
const EPILOGUE_RELU: &str = "\nfn epilogue(col: u32, v: f32) -> f32 { return max(v, 0.0); }\n";

/// What the GEMM does to each output element as it stores it.
#[derive(Clone, Copy)]
pub(super) struct Epilogue<'a> {
    /// A contiguous bias of n elements from this offset of the buffer.
    pub bias: Option<(&'a WgpuStorage, usize)>,
    pub relu: bool,
}

impl Epilogue<'_> {
    const NONE: Epilogue<'static> = Epilogue {
        bias: None,
        relu: false,
    };
}

/// `C[b] = A[b] @ B[b]` for `a` of layout (batch, m, k) and `b` of layout (batch, k, n),
/// both any strided views (a batch stride of 0 broadcasts). Output contiguous (batch, m, n).
fn matmul3(a: &WgpuStorage, la: &Layout, b: &WgpuStorage, lb: &Layout) -> Result<WgpuStorage> {
    gemm(a, la, b, lb, Epilogue::NONE)
}

/// `matmul3` with `epi` applied to every output element as the kernel stores it.
pub(super) fn gemm(
    a: &WgpuStorage,
    la: &Layout,
    b: &WgpuStorage,
    lb: &Layout,
    epi: Epilogue<'_>,
) -> Result<WgpuStorage> {
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
    let plain = epi.bias.is_none() && !epi.relu;
    // An empty output needs nothing; k = 0 is all zeros (with an epilogue the kernel
    // still runs: its k loop is empty and it stores epilogue(0)).
    if batch * m * n == 0 || (k == 0 && plain) {
        return WgpuStorage::zeros(batch * m * n);
    }
    if let Some((bias, off)) = epi.bias {
        if off.checked_add(n).is_none_or(|e| e > bias.len()) {
            bail!(
                Runtime,
                "linear bias of {n} elements reaches outside its buffer"
            )
        }
    }
    let out = WgpuStorage::uninit(batch * m * n)?;
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
        bias_offset: to_u32(epi.bias.map_or(0, |(_, o)| o))?,
        _pad1: 0,
    };
    let (key, tail) = match (epi.bias.is_some(), epi.relu) {
        (false, false) => ("matmul", EPILOGUE_NONE),
        (true, false) => ("matmul:bias", EPILOGUE_BIAS),
        (true, true) => ("matmul:bias_relu", EPILOGUE_BIAS_RELU),
        (false, true) => ("matmul:relu", EPILOGUE_RELU),
    };
    let pipeline = ctx.pipeline(key, || format!("{MATMUL_WGSL}{tail}"), &[])?;
    let groups = (batch * tiles_m * tiles_n) as u64;
    let mut bufs = vec![&a.buffer, &b.buffer, &out.buffer];
    if let Some((bias, _)) = epi.bias {
        bufs.push(&bias.buffer);
    }
    launch(ctx, &pipeline, bytemuck::bytes_of(&p), &bufs, groups)?;
    Ok(out)
}
