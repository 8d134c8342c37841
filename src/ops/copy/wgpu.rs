//! The wgpu side of the copy family: casts and writes into views as generated map
//! kernels, and the host transfers (the only place tensor data crosses to or from the
//! GPU). int64 travels as int32: an upload checks every value fits.

use super::CopyKernels;
use crate::backend::Wgpu;
use crate::device::wgpu::map::{map_new, run, MapKernel, View};
use crate::device::wgpu::WgpuStorage;
use crate::tensor::{DType, Storage, Tensor};
use crate::{bail, Result};

const MATH: &str = concat!(
    include_str!("../elementwise/math.wgsl"),
    include_str!("../elementwise/checked.wgsl")
);

/// The WGSL expression converting an element `x0` of `from` to `to`.
fn cast_expr(from: DType, to: DType) -> &'static str {
    use DType::*;
    match (from, to) {
        (F32, I64) => "fr_f2i_c(x0)",
        (F32, Bool) => "u32(x0 != 0.0)",
        (I64, F32) | (Bool, F32) => "f32(x0)",
        (I64, Bool) => "u32(x0 != 0)",
        (Bool, I64) => "i32(x0)",
        _ => "x0",
    }
}

fn kernel(from: DType, to: DType) -> MapKernel<'static> {
    let expr = cast_expr(from, to);
    let checked = (from, to) == (DType::F32, DType::I64);
    MapKernel {
        name: if expr == "x0" { "copy" } else { expr },
        expr,
        // Only the float -> int64 conversion can overflow (and binds the error flag).
        helpers: if checked { MATH } else { "" },
        checked,
    }
}

impl CopyKernels for Wgpu {
    fn cast(&self, src: &Tensor, dtype: DType) -> Result<Tensor> {
        let n = src.numel();
        let s = src.storage().wgpu()?;
        // One run of memory in the same dtype: a plain buffer copy.
        let out = if dtype == src.dtype() && src.is_contiguous() && n > 0 {
            src.check_in_bounds()?;
            let out = WgpuStorage::uninit(n)?;
            let ctx = crate::device::wgpu::context()?;
            ctx.record(|enc| {
                enc.copy_buffer_to_buffer(
                    &s.buffer,
                    src.offset() as u64 * 4,
                    &out.buffer,
                    0,
                    n as u64 * 4,
                );
                Ok(())
            })?;
            out
        } else {
            let v = View {
                storage: s,
                layout: src.layout(),
                dtype: src.dtype(),
            };
            map_new(&kernel(src.dtype(), dtype), src.shape(), dtype, &[v], 0)?
        };
        Ok(Tensor::from_storage(
            Storage::from_wgpu(out, dtype, n),
            src.shape(),
        ))
    }

    fn assign(&self, dst: &Tensor, src: &Tensor) -> Result<()> {
        let out = View {
            storage: dst.storage().wgpu()?,
            layout: dst.layout(),
            dtype: dst.dtype(),
        };
        let input = View {
            storage: src.storage().wgpu()?,
            layout: src.layout(),
            dtype: src.dtype(),
        };
        run(
            &kernel(src.dtype(), dst.dtype()),
            dst.shape(),
            &out,
            &[input],
            0,
        )
    }

    fn empty(&self, shape: &[usize], dtype: DType) -> Result<Tensor> {
        crate::device::wgpu::map::wgsl_type(dtype)?;
        let n = crate::tensor::shape::checked_numel(shape)?;
        Ok(Tensor::from_storage(
            Storage::from_wgpu(WgpuStorage::uninit(n)?, dtype, n),
            shape,
        ))
    }
}

/// Copies a CPU tensor to the GPU (float32 as is, int64 checked into int32, bool as 0/1
/// words); float64 is refused with the dtypes wgpu holds.
pub(crate) fn upload(src: &Tensor) -> Result<Tensor> {
    crate::backend::check_dtype(
        crate::backend::of(crate::device::Device::Wgpu)?,
        src.dtype(),
    )?;
    let c = src.contiguous()?;
    let n = c.numel();
    let w = match c.dtype() {
        DType::F32 => WgpuStorage::from_host(c.contiguous_slice::<f32>().expect("contiguous"))?,
        DType::I64 => {
            let v = c.contiguous_slice::<i64>().expect("contiguous");
            let mut words = crate::tensor::storage::try_with_capacity::<i32>(n)?;
            for &x in v {
                match i32::try_from(x) {
                    Ok(w) => words.push(w),
                    Err(_) => bail!(
                        Value,
                        "int64 value {x} does not fit on wgpu, which stores int64 tensors in 32 bits (range [-2147483648, 2147483647])"
                    ),
                }
            }
            WgpuStorage::from_host(&words)?
        }
        DType::Bool => {
            let v = c.contiguous_slice::<bool>().expect("contiguous");
            let mut words = crate::tensor::storage::try_with_capacity::<u32>(n)?;
            words.extend(v.iter().map(|&b| b as u32));
            WgpuStorage::from_host(&words)?
        }
        other => unreachable!("check_dtype refuses {other} on wgpu"),
    };
    Ok(Tensor::from_storage(
        Storage::from_wgpu(w, c.dtype(), n),
        src.shape(),
    ))
}

/// Copies a GPU tensor to the CPU, widening int32 words back to int64.
pub(crate) fn download(src: &Tensor) -> Result<Tensor> {
    if src.numel() == 0 {
        // A zero-size view may keep an offset past the end of its (maybe empty) buffer:
        // there is nothing to read.
        return Tensor::zeros_dtype(src.shape(), src.dtype());
    }
    let c = src.contiguous()?;
    let w = c.storage().wgpu()?;
    let (start, n) = (c.offset(), c.numel());
    match c.dtype() {
        DType::F32 => Tensor::from_vec(w.read_range::<f32>(start, n)?, src.shape()),
        DType::I64 => {
            let words = w.read_range::<i32>(start, n)?;
            Tensor::from_vec(words.into_iter().map(i64::from).collect(), src.shape())
        }
        DType::Bool => {
            let words = w.read_range::<u32>(start, n)?;
            Tensor::from_vec(words.into_iter().map(|x| x != 0).collect(), src.shape())
        }
        other => unreachable!("wgpu holds no {other}"),
    }
}
