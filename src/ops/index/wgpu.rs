//! The wgpu side of the indexing family.
//!
//! Advanced indexing runs in two steps, as on the CPU: the storage offset of each
//! position of the broadcast index (offsets.wgsl, one pass per index array), then a
//! gather through those offsets (gather.wgsl) or a scatter into them (scatter.wgsl).
//!
//! Scatter-add without float atomics: the positions are sorted by (offset, position)
//! with a bitonic sort (sort.wgsl) and the first thread of each run of equal offsets
//! sums the run in position order, which is the CPU's serial order, so the result is
//! deterministic and bitwise the CPU's. The cost is the sort, O(n log^2 n) for n index
//! positions in log^2 n launches, plus O(n * rest) for the sums; a compare-and-swap
//! loop on u32 bit patterns would be one pass but sums in a different order each run.
//!
//! Index checks: index arrays on the host (Python lists, NumPy arrays, ints) are
//! checked on the host, raising IndexError at once exactly like the CPU, then uploaded
//! (0-d ones fold into a constant offset instead). Index arrays on the GPU are checked
//! by the offsets kernel, which reports through the device-side flag at the next read
//! (`device::wgpu::checks`): forward and backward never wait for the GPU.
//!
//! Boolean masks (`nonzero`) have a data-dependent result size: the count of non-zero
//! elements is read back to the host (one readback of one word; PyTorch's CUDA backend
//! synchronises here too). one_hot reads back the min and max of its classes (two
//! words), which its ValueErrors and an inferred class count need.

use ::wgpu::ComputePipeline;
use bytemuck::{Pod, Zeroable};

use super::{
    normalize_index, one_hot_classes, prepare_value, rest_dims, to_result_order, IndexKernels,
};
use crate::backend::Wgpu;
use crate::device::wgpu::dispatch::launch;
use crate::device::wgpu::map::wgsl_type;
use crate::device::wgpu::strided::{
    check_view, collapse, pack_shape, pack_strides, to_i32, to_u32, MAX_DIMS,
};
use crate::device::wgpu::{checks, context, WgpuStorage};
use crate::device::Device;
use crate::tensor::index::IndexPlan;
use crate::tensor::shape::{checked_numel, numel};
use crate::tensor::{DType, Layout, Storage, Tensor};
use crate::Result;

/// Prepended to every kernel below (the thread numbering).
const COMMON: &str = include_str!("common.wgsl");
/// Prepended, after COMMON, to the kernels that walk a strided view.
const WALK: &str = include_str!("walk.wgsl");
const RAMP: &str = include_str!("ramp.wgsl");
const OFFSETS: &str = include_str!("offsets.wgsl");
const GATHER: &str = include_str!("gather.wgsl");
const SCATTER: &str = include_str!("scatter.wgsl");
const SORT: &str = include_str!("sort.wgsl");
const NZ_COUNT: &str = include_str!("nonzero_count.wgsl");
const NZ_COORDS: &str = include_str!("nonzero_coords.wgsl");
const MINMAX: &str = include_str!("minmax.wgsl");

/// Threads per workgroup in every kernel here.
const WG: usize = 256;

/// The pipeline of an index kernel, compiled once per `name` and `walk`: the rank
/// (NDIM) of the view the kernel walks, with walk.wgsl, or None.
fn kernel(name: &str, source: &str, walk: Option<usize>) -> Result<ComputePipeline> {
    let ctx = context()?;
    match walk {
        None => ctx.pipeline(name, || format!("{COMMON}{source}"), &[]),
        Some(ndim) => ctx.pipeline(
            &format!("{name}_{ndim}d"),
            || format!("{COMMON}{WALK}{source}"),
            &[("NDIM", ndim as f64)],
        ),
    }
}

/// Records `k` over `threads` threads, with the uniform `params` and `buffers` at
/// bindings 1.. in order.
fn run<P: Pod>(
    k: &ComputePipeline,
    params: &P,
    buffers: &[&WgpuStorage],
    threads: usize,
) -> Result<()> {
    let buffers: Vec<&::wgpu::Buffer> = buffers.iter().map(|b| &b.buffer).collect();
    let groups = threads.div_ceil(WG) as u64;
    launch(context()?, k, bytemuck::bytes_of(params), &buffers, groups)
}

/// Mirrors the four-word uniforms of ramp and nonzero_count (`CountParams` in
/// common.wgsl), sort and minmax.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Words([u32; 4]);

/// Mirrors `Strided` in walk.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Strided {
    shape: [u32; MAX_DIMS],
    strides: [i32; MAX_DIMS],
}

impl Strided {
    /// The view `shape` walked with `strides`, its dims merged, and the merged rank
    /// (NDIM for the kernel that walks it).
    fn new(shape: &[usize], strides: &[isize]) -> Result<(Self, usize)> {
        let c = collapse(shape, &[strides]);
        let packed = Strided {
            shape: pack_shape(&c.shape)?,
            strides: pack_strides(&c.strides[0])?,
        };
        Ok((packed, c.shape.len().max(1)))
    }
}

/// Mirrors `Params` in offsets.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct OffsetParams {
    view: Strided,
    n: u32,
    idx_offset: u32,
    size: i32,
    stride: i32,
    accumulate: u32,
    _pad: [u32; 3],
}

/// Mirrors `RestParams` in walk.wgsl (gather and scatter).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RestParams {
    view: Strided,
    n: u32,
    r: u32,
    base: i32,
    accumulate: u32,
}

/// Mirrors `Params` in nonzero_coords.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct CoordParams {
    shape: [u32; MAX_DIMS],
    count: u32,
    ndim: u32,
    _pad: [u32; 2],
}

/// `out[i] = i` for i < n, into a buffer of at least n words.
fn ramp_into(out: &WgpuStorage, n: usize) -> Result<()> {
    let p = Words([to_u32(n)?, 0, 0, 0]);
    run(&kernel("index_ramp", RAMP, None)?, &p, &[out], n)
}

/// The positions 0..n sorted by (keys[i], i): a buffer of n.next_power_of_two() words
/// whose first n are the sorted positions (see sort.wgsl).
fn sort_by_key(keys: &WgpuStorage, n: usize) -> Result<WgpuStorage> {
    let npad = n.next_power_of_two();
    let perm = WgpuStorage::uninit(npad)?;
    ramp_into(&perm, npad)?;
    let sort = kernel("index_sort", SORT, None)?;
    let (n32, npad32) = (to_u32(n)?, to_u32(npad)?);
    let mut k = 2u32;
    while k <= npad32 {
        let mut j = k / 2;
        while j > 0 {
            let p = Words([j, k, n32, npad32]);
            run(&sort, &p, &[&perm, keys], npad)?;
            j /= 2;
        }
        k *= 2;
    }
    Ok(perm)
}

/// The storage offsets of an advanced index: `offs` (int32, contiguous over B) plus
/// `base`, a constant every position adds (the view's offset and the 0-d indices).
struct Offsets {
    offs: WgpuStorage,
    base: isize,
}

fn offsets(p: &IndexPlan) -> Result<Offsets> {
    let nb = checked_numel(&p.bshape)?;
    let mut base = p.view.offset() as isize;
    if p.arrays.iter().all(|a| a.device() == Device::Cpu) {
        // Everything on the host: the CPU's own offsets (checked there), one upload.
        let host = super::cpu::adv_offsets(p)?;
        let words = host
            .iter()
            .map(|&o| to_i32(o))
            .collect::<Result<Vec<i32>>>()?;
        return Ok(Offsets {
            offs: WgpuStorage::from_host(&words)?,
            base,
        });
    }
    let flag = checks::flag()?;
    let offs = WgpuStorage::uninit(nb)?;
    let mut first = true;
    for (a, &d) in p.arrays.iter().zip(&p.dims) {
        let size = p.view.shape()[d];
        let stride = p.view.strides()[d];
        let uploaded;
        let g = if a.device() == Device::Cpu {
            // Checked on the host, raising at once as the CPU does.
            let v = a.contiguous()?.to_vec::<i64>()?;
            let v = v
                .iter()
                .map(|&i| normalize_index(i, d, size as i64))
                .collect::<Result<Vec<i64>>>()?;
            if a.ndim() == 0 {
                base += v[0] as isize * stride;
                continue;
            }
            uploaded = a.to_device(Device::Wgpu)?;
            &uploaded
        } else {
            a
        };
        let l = g.layout().broadcast_to(&p.bshape)?;
        let s = g.storage().wgpu()?;
        check_view(s, &l)?;
        let (view, ndim) = Strided::new(&p.bshape, &l.strides)?;
        let params = OffsetParams {
            view,
            n: to_u32(nb)?,
            idx_offset: to_u32(l.offset)?,
            size: to_i32(size as isize)?,
            stride: to_i32(stride)?,
            accumulate: u32::from(!first),
            _pad: [0; 3],
        };
        let k = kernel("index_offsets", OFFSETS, Some(ndim))?;
        run(&k, &params, &[&offs, s, flag], nb)?;
        checks::arm();
        first = false;
    }
    if first {
        // Not reached (some array is on the GPU, so a pass ran), but an all-host key
        // folded into `base` would mean offsets of zero.
        return Ok(Offsets {
            offs: WgpuStorage::zeros(nb)?,
            base,
        });
    }
    Ok(Offsets { offs, base })
}

/// The rest dims (those no index array replaces) as kernel parameters, with NDIM.
fn rest_params(
    rsh: &[usize],
    rst: &[isize],
    n: usize,
    base: isize,
    accumulate: bool,
) -> Result<(RestParams, usize)> {
    let (view, ndim) = Strided::new(rsh, rst)?;
    let params = RestParams {
        view,
        n: to_u32(n)?,
        r: to_u32(numel(rsh))?,
        base: to_i32(base)?,
        accumulate: u32::from(accumulate),
    };
    Ok((params, ndim))
}

impl IndexKernels for Wgpu {
    fn gather(&self, p: &IndexPlan) -> Result<Tensor> {
        let src = p.view.storage().wgpu()?;
        let (rsh, rst) = rest_dims(p);
        let nb = checked_numel(&p.bshape)?;
        let n = checked_numel(&[nb, numel(&rsh)])?;
        let mut shape = p.bshape.clone();
        shape.extend(&rsh);
        let out = WgpuStorage::uninit(n)?;
        // Offsets first even with nothing to gather: host indices are still checked.
        let o = offsets(p)?;
        if n > 0 {
            check_view(src, p.view.layout())?;
            let (params, ndim) = rest_params(&rsh, &rst, n, o.base, false)?;
            let k = kernel("index_gather", GATHER, Some(ndim))?;
            run(&k, &params, &[&out, src, &o.offs], n)?;
        }
        let out = Tensor::from_storage(Storage::from_wgpu(out, p.view.dtype(), n), &shape);
        to_result_order(p, out, rsh.len())
    }

    fn scatter(&self, p: &IndexPlan, value: &Tensor, accumulate: bool) -> Result<()> {
        let dst = p.view.storage().wgpu()?;
        let o = offsets(p)?;
        let (rsh, rst) = rest_dims(p);
        // The value contiguous in [B..., rest...] order, from element 0 of its buffer.
        let v = prepare_value(p, value)?.contiguous()?;
        let v = if v.offset() != 0 { v.deep_copy()? } else { v };
        let nb = checked_numel(&p.bshape)?;
        let n = checked_numel(&[nb, numel(&rsh)])?;
        if n == 0 {
            return Ok(());
        }
        check_view(dst, p.view.layout())?;
        let vs = v.storage().wgpu()?;
        let perm = sort_by_key(&o.offs, nb)?;
        let (params, ndim) = rest_params(&rsh, &rst, nb, o.base, accumulate)?;
        let elem = wgsl_type(p.view.dtype())?;
        // Bool accumulates as or, like the CPU's.
        let combine = match p.view.dtype() {
            DType::Bool => "a | b",
            _ => "a + b",
        };
        let source = SCATTER.replace("ELEM", elem).replace("COMBINE", combine);
        let k = kernel(&format!("index_scatter_{elem}"), &source, Some(ndim))?;
        run(&k, &params, &[dst, vs, &o.offs, &perm], n)
    }

    fn nonzero(&self, x: &Tensor) -> Result<Vec<Tensor>> {
        let n = x.numel();
        let nd = x.ndim().max(1);
        let mut shape = x.shape().to_vec();
        if shape.is_empty() {
            shape.push(1);
        }
        let shape_params = pack_shape(&shape)?;
        let count = if n == 0 {
            0
        } else {
            // Key 0 for a non-zero element, 1 otherwise: sorted, the non-zero elements
            // come first, in increasing linear index.
            // A float is tested on its bits: NaN is non-zero, and a driver compiling
            // with relaxed float rules may treat `NaN != 0.0` as false.
            let (name, expr) = match x.dtype() {
                DType::F32 => (
                    "nonzero_key_f32",
                    "select(1i, 0i, (bitcast<u32>(x0) & 0x7fffffffu) != 0u)",
                ),
                _ => ("nonzero_key", "select(1i, 0i, x0 != 0)"),
            };
            let keys = crate::ops::elementwise::wgpu::map_tensors(
                name,
                expr,
                &[x],
                x.shape(),
                DType::I64,
            )?;
            let ks = keys.storage().wgpu()?;
            let perm = sort_by_key(ks, n)?;
            let cnt = WgpuStorage::zeros(1)?;
            let p = Words([to_u32(n)?, 0, 0, 0]);
            let k = kernel("index_nonzero_count", NZ_COUNT, None)?;
            run(&k, &p, &[&cnt, &perm, ks], n)?;
            // The output size depends on the data: one word crosses to the host.
            let count = cnt.read_range::<u32>(0, 1)?[0] as usize;
            let cols = WgpuStorage::uninit(checked_numel(&[nd, count])?)?;
            let p = CoordParams {
                shape: shape_params,
                count: to_u32(count)?,
                ndim: to_u32(shape.len())?,
                _pad: [0; 2],
            };
            let k = kernel("index_nonzero_coords", NZ_COORDS, None)?;
            run(&k, &p, &[&cols, &perm], count)?;
            return Ok(columns(cols, nd, count));
        };
        Ok(columns(WgpuStorage::uninit(0)?, nd, count))
    }

    fn one_hot(&self, idx: &Tensor, num_classes: Option<usize>) -> Result<Tensor> {
        let n = idx.numel();
        let (mn, mx) = if n == 0 {
            (None, -1)
        } else {
            let c = idx.contiguous()?;
            let s = c.storage().wgpu()?;
            let out = WgpuStorage::uninit(2)?;
            let p = Words([to_u32(n)?, to_u32(c.offset())?, 0, 0]);
            // One workgroup: WG threads.
            run(&kernel("index_minmax", MINMAX, None)?, &p, &[&out, s], WG)?;
            // The checks below need the values on the host: two words cross.
            let v = out.read_range::<i32>(0, 2)?;
            (Some(v[0] as i64), v[1] as i64)
        };
        let c = one_hot_classes(mn, mx, num_classes)?;
        let classes = self.index_ramp(c)?;
        idx.detach()
            .unsqueeze(-1)?
            .eq_(&classes)?
            .astype(DType::I64)
    }

    fn index_ramp(&self, n: usize) -> Result<Tensor> {
        let out = WgpuStorage::uninit(n)?;
        ramp_into(&out, n)?;
        Ok(Tensor::from_storage(
            Storage::from_wgpu(out, DType::I64, n),
            &[n],
        ))
    }
}

/// `nd` int64 columns of `count` elements, views into one buffer (column d at d * count).
fn columns(cols: WgpuStorage, nd: usize, count: usize) -> Vec<Tensor> {
    let all = Tensor::from_storage(
        Storage::from_wgpu(cols, DType::I64, nd * count),
        &[nd * count],
    );
    (0..nd)
        .map(|d| {
            all.view_with(Layout {
                shape: smallvec::smallvec![count],
                strides: smallvec::smallvec![1],
                offset: d * count,
            })
        })
        .collect()
}
